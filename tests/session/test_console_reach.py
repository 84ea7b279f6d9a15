"""What of ``import gradviz as torch`` the console reaches: every exported name is a member of the
console's ``torch``, or is listed below with the reason it is not. Ops with tuple or int results
(sort, topk, max(dim=), chunk, nonzero, stride(), numel ...) work there as in torch."""

from __future__ import annotations

import pytest
import torch

import gradviz
from gradviz.session.console import Console, namespaces
from gradviz.session.document import Session

NOT_IN_CONSOLE = {
    # modules and classes: the console offers torch.nn and F, not the engine's internals
    "linalg": "torch.linalg.* is not in the catalogue (norm is, as torch.norm)",
    "random": "the generator's module; torch.manual_seed is offered",
    "__version__": "the console's whitelist refuses dunder names",
    "AccumulateGrad": "an engine node class: grad_fn and next_functions show nodes",
    "Function": "custom autograd Functions are classes, which the console can't define",
    "Node": "an engine node class: grad_fn shows nodes",
    "Size": "shapes come from x.shape and x.size(); Size(...) is not needed to make one",
    "Tensor": "the console makes tensors with torch.tensor and the constructors",
    "bool_": "gradviz's alias of torch.bool, which the console offers",
    "dtype": "the dtype class: the dtypes themselves (torch.float32 ...) are offered",
    # grad modes and global state
    "inference_mode": "the console offers with torch.no_grad(); inference tensors would not replay",
    "set_grad_enabled": "the console's grad mode is fixed (on); torch.is_grad_enabled() answers",
    "set_default_dtype": "a session replays with float32 as the default; get_default_dtype answers",
    "grad": "torch.autograd.grad is offered, under its own path",
    # randomness beyond the seeded constructors: the session replays from its seed
    "Generator": "explicit generators: a session replays random constructors from manual_seed",
    "default_generator": "explicit generators: a session replays random constructors from manual_seed",
    "seed": "a random seed would not replay: the session uses torch.manual_seed",
    "initial_seed": "the session's seed is the one given to torch.manual_seed",
    "get_rng_state": "the generator's state is the session's, replayed from manual_seed",
    "set_rng_state": "the generator's state is the session's, replayed from manual_seed",
    "bernoulli": "no constructor entry for it in session/constructors.py yet",
    "multinomial": "no constructor entry for it in session/constructors.py yet",
    "normal": "no constructor entry for it in session/constructors.py yet",
    "randperm": "no constructor entry for it in session/constructors.py yet",
    "randint_like": "no constructor entry for it in session/constructors.py yet",
    "logspace": "no constructor entry for it in session/constructors.py yet",
    "empty_like": "no constructor entry for it in session/constructors.py yet (zeros_like is offered)",
    "is_storage": "the console has no storages",
}


def test_every_export_is_in_the_console_or_excluded_for_a_reason() -> None:
    members = namespaces.build().globals["torch"].members
    missing = [n for n in gradviz.__all__ if n not in members and n not in NOT_IN_CONSOLE]
    assert not missing, f"neither in the console's torch nor excluded: {missing}"
    stale = [n for n in NOT_IN_CONSOLE if n in members or n not in gradviz.__all__]
    assert not stale, f"excluded but in the console (or not exported): {stale}"


SETUP = "x = torch.tensor([[3., 1., 2.], [0.5, 5., 4.]], requires_grad=True)"
# Statements and the names they define; each name's value must be the torch program's.
PROGRAMS = [
    ("v, i = torch.sort(x)", ("v", "i")),
    ("v, i = x.sort(dim=0, descending=True)", ("v", "i")),
    ("vals, idx = x.topk(2)", ("vals", "idx")),
    ("vals = torch.topk(x, 1, dim=0).values", ("vals",)),
    ("m, j = x.max(dim=0)", ("m", "j")),
    ("m = x.max(dim=1).values", ("m",)),
    ("m, j = x.max(axis=0, keepdims=True)", ("m", "j")),
    ("j = x.min(1).indices", ("j",)),
    ("m, j = torch.median(x, dim=1)", ("m", "j")),
    ("a, b = x.chunk(2)", ("a", "b")),
    ("a, b = torch.chunk(x, 2, dim=1)", ("a", "b")),
    ("c = x.chunk(3, axis=1)[2]", ("c",)),
    ("k = torch.nonzero(x > 2)", ("k",)),
    ("r, q = torch.nonzero(x > 2, as_tuple=True)", ("r", "q")),
    ("k = x.argmax()", ("k",)),
    ("k = torch.argmin(x, dim=1, keepdim=True)", ("k",)),
    ("k = x.argsort(dim=1)", ("k",)),
    ("n = torch.isnan(x).logical_not()", ("n",)),
    ("s = x.stride()", ("s",)),
    ("s = x.stride(1)", ("s",)),
    ("s = x.numel()", ("s",)),
    ("s = x.dim()", ("s",)),
    ("s = x.size()", ("s",)),
    ("s = x.size(axis=1)", ("s",)),
    ("s = torch.equal(x, x)", ("s",)),
    ("s = torch.is_tensor(x)", ("s",)),
    ("s = torch.cuda.is_available()", ("s",)),
    ("s = torch.backends.mps.is_available()", ("s",)),
    ("s = torch.device('cuda' if torch.cuda.is_available() else 'cpu')", ("s",)),
    ("s = x.is_inference()", ("s",)),
    ("s = torch.sum(x, axis=0, keepdims=True)", ("s",)),
    ("s = x.mean(axis=1)", ("s",)),
]


def _text(v: object) -> str:
    return repr(v).replace("gradviz", "torch")


@pytest.mark.parametrize(("src", "names"), PROGRAMS, ids=[p[0] for p in PROGRAMS])
def test_tuple_and_int_results_in_the_console_are_torchs(src: str, names: tuple[str, ...]) -> None:
    c = Console(Session())
    r = c.run(f"{SETUP}\n{src}")
    assert r.ok, r.text
    ns: dict = {"torch": torch}
    exec(f"{SETUP}\n{src}", ns)
    for n in names:
        got = c.run(n)
        assert got.ok, got.text
        assert got.output.strip().replace("gradviz", "torch") == _text(ns[n]).strip(), n


def test_what_the_console_cannot_hold_is_refused_clearly() -> None:
    c = Console(Session())
    assert c.run(SETUP).ok
    refusals = {
        "m = x.max(dim=0)": "use .values or unpack it",
        "p = x.chunk(2)": "give each tensor its own name",
        "x.chunk(2, piece=1)": "unexpected keyword argument 'piece'",
        "torch.split(x, 1)": "returns several tensors",
        "torch.device('cuda')": "the console computes on the CPU only",
        "x.to('cuda')": "Torch not compiled with CUDA enabled",
        "x.to(0)": "Cannot access accelerator device when none is available",
        "x.to('mps')": "PyTorch is not linked with support for mps devices",
        "torch.zeros(2, device='cuda')": "Torch not compiled with CUDA enabled",
        "F.softmax(x, axis=0)": "unexpected keyword argument 'axis'",
        "x.sum(dim=0, axis=1)": "unexpected keyword argument 'axis'",
        "x.norm(axis=0)": "unexpected keyword argument 'axis'",
    }
    for src, words in refusals.items():
        r = c.run(src)
        assert not r.ok and words in r.text, (src, r.text)


def test_chunk_pieces_keep_their_gradient_and_replay() -> None:
    c = Console(Session())
    assert c.run(f"{SETUP}\na, b = x.chunk(2, dim=1)\n(a * 2).sum().backward()").ok
    t = torch.tensor([[3.0, 1.0, 2.0], [0.5, 5.0, 4.0]], requires_grad=True)
    ta, _ = t.chunk(2, dim=1)
    (ta * 2).sum().backward()
    assert c.run("x.grad").output.strip() == _text(t.grad)
    assert c.session.tensor("b").grad_fn.name() == "SplitBackward0"
    fresh = Session()
    fresh.load_entries(c.session.entries)
    assert repr(fresh.tensor("b")) == repr(c.session.tensor("b"))
