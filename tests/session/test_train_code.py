"""Train's generated loop (session/train_code.py): run through the console it leaves the leaves
exactly where the same loop run by PyTorch leaves them, and what can't train is refused with a
reason, not an exception."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from gradviz.session import examples
from gradviz.session import train_code as tc
from gradviz.session.backward_plan import default_target
from gradviz.session.console import Console
from gradviz.session.document import Session


def torch_namespace(s: Session) -> dict:
    """The session's named tensors as torch tensors: leaves that require grad as leaves (their
    .grad as the session holds it), everything else as a constant of its value."""
    ns: dict = {"torch": torch, "F": torch.nn.functional}
    for n, t in s.tensors(include_hidden=False).items():
        x = torch.from_numpy(t.detach().numpy().copy())
        if s.info(n).is_leaf_entry and t.requires_grad:
            x.requires_grad_(True)
            if t.peek_grad() is not None:
                x.grad = torch.from_numpy(t.peek_grad().numpy().copy())
        ns[n] = x
    return ns


def train_both(s: Session, output: str, plan: tc.TrainPlan) -> tuple[dict, str]:
    """Run the generated loop in the console and under torch; the torch namespace after it."""
    code = tc.train_code(s, output, plan)
    assert code.ok, code.refusal
    ns = torch_namespace(s)
    exec(code.source, ns)
    r = Console(s).run(code.source)
    assert r.ok, (r.error_type, r.error, code.source)
    return ns, code.source


def assert_same(s: Session, ns: dict, names: list[str], exact: bool = True) -> None:
    for n in names:
        ours, theirs = s.tensor(n).detach().numpy(), ns[n].detach().numpy()
        assert ours.dtype == theirs.dtype, n
        if exact:
            np.testing.assert_array_equal(ours, theirs, err_msg=n)
        else:
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6, err_msg=n)


def grad_leaves(s: Session) -> list[str]:
    return [n for n in tc.trainable(s) if s.tensor(n).requires_grad]


# --- the shipped examples ------------------------------------------------------------------------
@pytest.mark.parametrize("name", [ex.name for ex in examples.EXAMPLES])
def test_each_example_trains_as_torch_does(name: str) -> None:
    s = next(ex for ex in examples.EXAMPLES if ex.name == name).build()
    out = default_target(s)
    leaves = grad_leaves(s)
    lr = 1e-5 if name in ("linear_regression", "linear_nn") else 0.01  # (their inputs are in the tens)
    ns, _ = train_both(s, out, tc.TrainPlan(tuple(leaves), tc.SGD, lr, 20))
    # + - * and sigmoid are exact; tanh, exp and log may differ from torch's libm by an ulp, and
    # a matmul or sum of many terms may add them in another order
    exact = name in ("linear", "broadcasting", "vanishing_gradients")
    assert_same(s, ns, [*leaves, out], exact=exact)
    for n in leaves:  # zeroed at the end of each step, as the loop says
        assert s.tensor(n).grad is not None and not s.tensor(n).grad.numpy().any()


def test_linear_is_the_hand_written_torch_loop_bit_for_bit() -> None:
    s = examples.linear()
    code = tc.train_code(s, "y", tc.TrainPlan(("w", "b"), tc.SGD, 0.1, 100))
    assert code.source.splitlines()[2:] == [
        "for step in range(100):",
        "    y = w * x + b",
        "    y.backward()",
        "    with torch.no_grad():",
        "        w -= 0.1 * w.grad",
        "        b -= 0.1 * b.grad",
        "    w.grad.zero_()",
        "    b.grad.zero_()",
    ]
    assert Console(s).run(code.source).ok
    x = torch.tensor(3.0)
    w = torch.tensor(4.0, requires_grad=True)
    b = torch.tensor(5.0, requires_grad=True)
    for _ in range(100):
        y = w * x + b
        y.backward()
        with torch.no_grad():
            w -= 0.1 * w.grad
            b -= 0.1 * b.grad
        w.grad.zero_()
        b.grad.zero_()
    assert s.tensor("w").item() == w.item() and s.tensor("b").item() == b.item()
    assert s.tensor("y").item() == y.item()


def test_only_the_chosen_leaves_change_and_the_rest_stays() -> None:
    s = examples.linear()
    ns, source = train_both(s, "y", tc.TrainPlan(("b",), tc.SGD, 0.5, 7))
    assert s.tensor("w").item() == 4.0 and s.tensor("b").item() == 5.0 - 7 * 0.5
    assert_same(s, ns, ["w", "b", "y"])
    assert "w -=" not in source and "w.grad = None" not in source


def test_the_loop_is_one_undo_step() -> None:
    s = examples.linear()
    before = {n: s.tensor(n).item() for n in ("w", "b", "y")}
    Console(s).run(tc.train_code(s, "y", tc.TrainPlan(("w", "b"), tc.SGD, 0.1, 30)).source)
    assert s.tensor("w").item() != before["w"]
    s.undo()
    assert {n: s.tensor(n).item() for n in ("w", "b", "y")} == before
    assert s.tensor("w").grad.item() == 3.0  # the gradient it had, too


# --- sessions built other ways --------------------------------------------------------------------
def api_session(dtype: str) -> Session:
    """A least-squares fit built through the Session API: loss = ((w*x + b - t)**2).mean()."""
    s = Session()
    dt = np.float64 if dtype == "float64" else np.float32
    s.add_leaf("x", np.array([1.0, 2.0, 3.0, 4.0], dtype=dt))
    s.add_leaf("t", np.array([3.0, 5.1, 6.9, 9.2], dtype=dt))
    s.add_leaf("w", np.array(0.5, dtype=dt), requires_grad=True)
    s.add_leaf("b", np.array(0.0, dtype=dt), requires_grad=True)
    s.apply("mul", ["w", "x"], hidden=True, name="_h1")
    s.apply("add", ["_h1", "b"], name="pred")
    s.apply("sub", ["pred", "t"], hidden=True, name="_h2")
    s.apply("pow", ["_h2", 2], hidden=True, name="_h3")
    s.apply("mean", ["_h3"], name="loss")
    return s


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_session_built_through_the_api_trains_exactly(dtype: str) -> None:
    s = api_session(dtype)
    ns, source = train_both(s, "loss", tc.TrainPlan(("w", "b"), tc.SGD, 0.05, 50))
    assert "    loss = ((pred - t) ** 2).mean()" in source.splitlines()
    assert_same(s, ns, ["w", "b", "pred", "loss"])
    assert s.tensor("loss").item() < 0.1  # it did fit


def console_session(source: str) -> Session:
    s = Session()
    r = Console(s).run(source)
    assert r.ok, r.error
    return s


def test_rebound_names_constants_and_indexing_are_written_as_torch_reads_them() -> None:
    # y = y * 2 leaves the first y unnamed in the graph; torch.tensor(2.) is an unnamed
    # constant; h[0] and h[1:] are index ops; -(...) ** 2 needs its parentheses.
    s = console_session(
        "torch.manual_seed(0)\n"
        "w = torch.randn(3, requires_grad=True)\n"
        "c = torch.tensor([1., -2., 0.5])\n"
        "y = w * c\n"
        "y = y * torch.tensor(2.)\n"
        "h = y.exp() - (-w) ** 2\n"
        "loss = h[0] + h[1:].sum() / 4 - torch.tanh(w).sum()"
    )
    ns, source = train_both(s, "loss", tc.TrainPlan(("w",), tc.SGD, 0.01, 10))
    assert "    y = w * c * torch.tensor(2.)" in source
    assert "(-w) ** 2" in source and "h[0]" in source and "h[1:]" in source
    assert_same(s, ns, ["w", "y", "h", "loss"], exact=False)


def test_what_does_not_depend_on_the_leaves_is_not_computed_again() -> None:
    s = console_session(
        "x = torch.tensor([1., 2., 3.])\nscale = x.exp()\nw = torch.tensor(0.5, requires_grad=True)\n"
        "loss = (w * scale).sum()"
    )
    code = tc.train_code(s, "loss", tc.TrainPlan(("w",), tc.SGD, 0.1, 3))
    assert code.forward == ("loss",)
    assert "scale =" not in code.source and "    loss = (w * scale).sum()" in code.source


# --- refusals -------------------------------------------------------------------------------------
def refusal(s: Session, output: str, **kw) -> str:
    plan = tc.TrainPlan(**{"leaves": ("w",), "optimiser": tc.SGD, "lr": 0.1, "steps": 10, **kw})
    code = tc.train_code(s, output, plan)
    assert not code.ok and code.source == ""
    return code.refusal


def test_refusals_say_why() -> None:
    s = console_session(
        "x = torch.tensor([1., 2.])\nw = torch.tensor([0.5, 1.], requires_grad=True)\n"
        "k = torch.tensor(2.)\nn = torch.tensor(3)\nv = w * x\nloss = v.sum()\nother = (k * 2).sum()"
    )
    assert "2 elements" in refusal(s, "v") and "v.sum()" in refusal(s, "v")
    assert "no grad_fn" in refusal(s, "other", leaves=("k",))
    assert "choose an output" in refusal(s, "nope")
    assert "at least one leaf" in refusal(s, "loss", leaves=())
    assert "x doesn't require grad" in refusal(s, "loss", leaves=("w", "x"))
    assert "v is not a leaf" in refusal(s, "loss", leaves=("v",))
    assert "integer tensor" in refusal(s, "loss", leaves=("n",))
    assert "name 'q' is not defined" in refusal(s, "loss", leaves=("q",))
    assert "1 to 10,000" in refusal(s, "loss", steps=0)
    assert "1 to 10,000" in refusal(s, "loss", steps=10_001)
    assert "1 to 10,000" in refusal(s, "loss", steps=2.5)
    for lr in (0.0, -0.1, float("nan"), float("inf"), 11.0):
        assert "learning rate" in refusal(s, "loss", lr=lr)
    assert "unknown optimiser" in refusal(s, "loss", optimiser="LBFGS")
    s2 = console_session(
        "w = torch.tensor(1., requires_grad=True)\nu = torch.tensor(2., requires_grad=True)\nloss = w * 3"
    )
    assert "loss doesn't depend on u" in refusal(s2, "loss", leaves=("w", "u"))


def test_a_snapshot_or_random_constant_is_refused() -> None:
    s = console_session("w = torch.tensor(1., requires_grad=True)\n(w * 2).backward()\nloss = w * w.grad")
    assert "made by w.grad" in refusal(s, "loss")
    s = console_session("w = torch.tensor(1., requires_grad=True)\nloss = (w * torch.randn(3)).sum()")
    assert "made by torch.randn(3)" in refusal(s, "loss")


def test_thousands_of_steps_are_one_loop_entry_in_the_log() -> None:
    # (a loop is one Loop entry, however many steps it runs: no log limit to refuse it for)
    s = examples.linear()
    code = tc.train_code(s, "y", tc.TrainPlan(("w", "b"), tc.SGD, 1e-4, 2_000))
    assert code.ok, code.refusal
    before = len(s.entries)
    assert Console(s).run(code.source).ok
    assert len(s.entries) - before <= 3  # the .grad = None lines and the loop


def test_the_refusals_never_raise_for_any_leaf_choice() -> None:
    s = examples.mlp()
    for n in s.names():
        code = tc.train_code(s, "loss", tc.TrainPlan((n,), tc.SGD, 0.1, 3))
        assert code.ok == (n in ("W1", "b1", "W2", "b2")), (n, code.refusal)


# --- torch.optim (SGD with momentum, Adam) -----------------------------------------------------------
@pytest.mark.parametrize("optimiser", [tc.MOMENTUM, tc.ADAM])
def test_optimiser_code_is_torch_optim(optimiser: str) -> None:
    s = examples.linear()
    code = tc.train_code(s, "y", tc.TrainPlan(("w", "b"), optimiser, 0.01, 5))
    lines = code.source.splitlines()
    want = (
        "opt = torch.optim.SGD([w, b], lr=0.01, momentum=0.9)"
        if optimiser == tc.MOMENTUM
        else "opt = torch.optim.Adam([w, b], lr=0.01)"
    )
    assert lines[0] == want
    assert lines[1:] == ["for step in range(5):", "    opt.zero_grad()", "    y = w * x + b", "    y.backward()",
                         "    opt.step()"]  # fmt: skip


@pytest.mark.parametrize("optimiser", [tc.MOMENTUM, tc.ADAM])
@pytest.mark.parametrize("name", ["linear", "broadcasting", "mlp"])
def test_optimisers_train_as_torch_does(optimiser: str, name: str) -> None:
    s = next(ex for ex in examples.EXAMPLES if ex.name == name).build()
    out = default_target(s)
    leaves = grad_leaves(s)
    ns, _ = train_both(s, out, tc.TrainPlan(tuple(leaves), optimiser, 0.01, 15))
    assert_same(s, ns, [*leaves, out], exact=False)


def test_a_stop_in_the_loops_backward_is_a_keyboard_interrupt_and_keeps_nothing() -> None:
    s = examples.mlp()
    entries = s.entries
    backwards = [0]

    def stop() -> bool:  # Stop pressed while the 3rd step's backward runs
        frame = sys._getframe(1)
        while frame is not None and not frame.f_code.co_filename.endswith("engine/autograd.py"):
            frame = frame.f_back
        backwards[0] += frame is not None
        return backwards[0] > 2 * 9 + 3  # (9 nodes each backward)

    code = tc.train_code(s, "loss", tc.TrainPlan(("W1", "b1", "W2", "b2"), tc.SGD, 0.1, 50))
    s.stop_requested = stop
    r = Console(s).run(code.source)
    s.stop_requested = None
    assert r.error_type == "KeyboardInterrupt" and "stopped" in r.error
    assert s.entries == entries


def test_loop_length_counts_one_loop_over_a_range() -> None:
    assert tc.loop_length("w.grad = None\nfor step in range(40):\n    y = w * x\n    y.backward()") == 40
    assert tc.loop_length("for i in range(2, 12, 3):\n    pass") == 4
    for source in (
        "y = w * x",
        "for i in range(n):\n    pass",
        "for i in range(3):\n    for j in range(3):\n        pass",
        "for i in range(3):\n    pass\nfor j in range(3):\n    pass",
        "def f(a):\n    return a\nfor i in range(3):\n    f(i)",
        "for i in range(1, 5, 0):\n    pass",
        "for i in [1, 2]:\n    pass",
        "for i in range(",
    ):
        assert tc.loop_length(source) == 0, source


FORWARDS = [
    "a, b2 = w.chunk(2)\nloss = (a * b2).sum()",
    "m = w.max(dim=0).values\nloss = m * 2",
    "s, i = w.sort()\nloss = (s * torch.tensor([1., 2., 3., 4.])).sum()",
    "loss = w.topk(2).values.sum() + w.min(dim=0).values",
    "loss = w.reshape(2, 2).T.sum() + w.view(2, 2).t()[0, 1]",
    "loss = torch.cat([w, w * 2]).mean() + torch.stack([w, w], dim=1).sum(dim=(0, 1))",
    "loss = w.softmax(dim=0)[0] + F.log_softmax(w, dim=-1)[1]",
    "loss = F.mse_loss(w, torch.zeros(4)) + w.clamp(min=0.5).norm()",
    "loss = w.to(torch.float64).sum()",
    "loss = torch.where(w > 2, w, w * 0).sum()",
    "loss = w.unsqueeze(0).squeeze(0).flip(0).cumsum(0)[-1] + w.unsqueeze(1).transpose(0, 1).sum()",
    "loss = w @ w + w.var() + w.std(correction=0)",
    "loss = w[w > 2].sum() + w[[0, 2]].sum() + w[1:3].prod()",
    "loss = (w.exp() - 1).log().mean() + torch.tanh(w).sum() + F.relu(w - 2).sum()",
    "loss = w.abs().sqrt().sum() / w.numel() + (w % 3).sum()",
    "loss = F.cross_entropy(w.reshape(1, 4), torch.tensor([2]))",
]


@pytest.mark.parametrize("forward", FORWARDS)
def test_the_forward_pass_of_many_ops_is_code_torch_runs(forward: str) -> None:
    s = console_session("w = torch.tensor([1., 2., 3.5, 4.], requires_grad=True)\n" + forward)
    ns, _ = train_both(s, "loss", tc.TrainPlan(("w",), tc.SGD, 0.01, 3))
    assert_same(s, ns, ["w", "loss"], exact=False)


def test_an_unnamed_tensor_read_twice_gets_a_name_not_two_computations() -> None:
    # Each y = y * y leaves the old y unnamed and read twice: inline, the graph would double
    # at every step (2**30 multiplications for 30 of them).
    s = console_session(
        "w = torch.tensor(1., requires_grad=True)\ny = w * 1.0\nfor i in range(30):\n    y = y * y\nloss = y * 1.0"
    )
    code = tc.train_code(s, "loss", tc.TrainPlan(("w",), tc.SGD, 1e-12, 2))
    assert code.ok, code.refusal
    body = [line.strip() for line in code.source.splitlines()[1:] if " = " in line and "grad" not in line]
    assert len(body) == 32 and body[0] == "t1 = w * 1.0" and body[1] == "t2 = t1 * t1"
    assert body[-2] == "y = t30 * t30" and body[-1] == "loss = y * 1.0"
    ns, _ = train_both(s, "loss", tc.TrainPlan(("w",), tc.SGD, 1e-12, 2))
    assert_same(s, ns, ["w", "loss"])


def test_the_loop_keeps_off_the_console_s_own_names() -> None:
    # the XOR example's console has its own `opt` (Adam, with its moments): Train's must not replace it
    s = examples.xor_mlp()
    leaves = tuple(n for n in tc.trainable(s) if s.tensor(n).requires_grad)
    code = tc.train_code(
        s, "loss", tc.TrainPlan(leaves, tc.ADAM, 0.05, 3), in_use=["opt", "model", "loss_fn"]
    )
    assert code.ok, code.refusal
    first = code.source.splitlines()[0]
    assert first.startswith("optimizer = torch.optim.Adam(") and "opt." not in code.source
