"""Every intermediate of a drawn graph is coloured: the engine keeps the gradient each node
received in backward() (``Node.kept_grad``), without the user calling ``retain_grad()``.

The oracle is PyTorch with ``retain_grad()`` on every intermediate: what gradviz keeps must be
what those ``.grad`` fields hold. ``.grad`` itself stays PyTorch's: None, with its warning.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gradviz as gv
from gradviz.__main__ import main
from gradviz.engine.autograd import KEEP_MAX, keep_grads
from gradviz.graph.colors import FINITE, PENDING
from gradviz.graph.draw import draw
from gradviz.graph.model import build_graph
from gradviz.graph.source import TensorsSource
from gradviz.graph.style import as_pytorch


def chain(lib):
    x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
    w = lib.tensor([0.3, 0.8, -0.4], requires_grad=True)
    mids = {}
    y = x
    for i in range(4):
        mids[f"m{i}"] = y * w
        mids[f"s{i}"] = mids[f"m{i}"] + x
        y = mids[f"y{i}"] = mids[f"s{i}"].tanh()
    loss = mids["loss"] = y.sum()
    return loss, mids


def fan_out(lib):
    x = lib.tensor([[1.0, 2.0], [3.0, -1.0]], requires_grad=True)
    b = lib.tensor([0.5, -0.5], requires_grad=True)
    h = x * b  # broadcast
    e = h.exp()
    q = h * h  # h used twice here and once above: its gradient sums three paths
    r = (e + q).relu()
    loss = r.mean()
    return loss, {"h": h, "e": e, "q": q, "r": r, "loss": loss}


def calls(lib):
    rng = np.random.default_rng(3)
    X = lib.tensor(rng.standard_normal((5, 4)).astype(np.float32))
    W = lib.tensor(rng.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    b = lib.tensor(rng.standard_normal(3).astype(np.float32), requires_grad=True)
    target = lib.tensor([0, 2, 1, 1, 0])
    z = lib.nn.functional.linear(X, W, b)  # one call, two backward nodes
    a = z.sigmoid() @ lib.tensor(rng.standard_normal((3, 3)).astype(np.float32))
    loss = lib.nn.functional.cross_entropy(a, target)
    return loss, {"z": z, "a": a, "loss": loss}


def in_place(lib):
    x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x * 2
    y.add_(1)  # y is now the result of add_: its gradient is the one retain_grad follows
    loss = (y * y * x).sum()
    return loss, {"y": y, "loss": loss}


PROGRAMS = [chain, fan_out, calls, in_place]


def _torch_grads(program) -> dict[str, np.ndarray]:
    loss, mids = program(torch)
    for t in mids.values():
        t.retain_grad()
    loss.backward()
    return {k: t.grad.numpy() for k, t in mids.items()}


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__)
def test_kept_gradients_are_pytorchs_retained_ones(program) -> None:
    expected = _torch_grads(program)
    loss, mids = program(gv)
    loss.backward()
    for name, t in mids.items():
        np.testing.assert_allclose(t.grad_fn.kept_grad(), expected[name], rtol=1e-5, atol=1e-7, err_msg=name)
        with pytest.warns(UserWarning, match="non-leaf Tensor"):
            assert t.grad is None, name  # PyTorch's semantics: still None, still warned about
        assert not t.retains_grad


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__)
def test_every_intermediate_of_a_drawing_is_coloured_and_marked(program) -> None:
    expected = _torch_grads(program)
    loss, mids = program(gv)
    loss.backward()
    g = build_graph(loss, names=mids)
    by_name = {a["name"]: a for _, a in g.nodes(data=True) if a.get("type") == "tensor" and a["name"]}
    for name in mids:
        a = by_name[name]
        assert a["grad_stats"].state == FINITE and a["kept_by_gradviz"], name
        assert a["grad_stats"].norm == pytest.approx(float(np.linalg.norm(expected[name])), rel=1e-5)
    unnamed = [a for _, a in g.nodes(data=True) if a.get("kind") == "intermediate" and not a["name"]]
    assert all(a["grad_stats"].state != PENDING for a in unnamed)
    # "Show grads as PyTorch would": the kept ones read None again, the leaves keep theirs
    as_pytorch(g)
    assert all(by_name[n]["grad_stats"].state == PENDING for n in mids)
    leaves = [a for _, a in g.nodes(data=True) if a.get("kind") == "leaf"]
    assert leaves and all(a["grad_stats"].state == FINITE for a in leaves)


def test_two_backward_calls_add_up_as_retain_grad_does() -> None:
    def run(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        h = x * 3
        y = (h * h).sum()
        return x, h, y

    tx, th, ty = run(torch)
    th.retain_grad()
    ty.backward(retain_graph=True)
    ty.backward()
    x, h, y = run(gv)
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(h.grad_fn.kept_grad(), th.grad.numpy())
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


def test_a_hook_changes_what_is_kept_as_it_changes_a_retained_grad() -> None:
    def run(lib):
        x = lib.tensor([1.0, -1.0], requires_grad=True)
        h = x.exp()
        h.register_hook(lambda grad: grad * 10)
        return x, h, (h * 2).sum()

    _, th, ty = run(torch)
    th.retain_grad()
    ty.backward()
    _, h, y = run(gv)
    y.backward()
    np.testing.assert_allclose(h.grad_fn.kept_grad(), th.grad.numpy())


def test_a_kept_gradient_never_shares_memory_with_a_leafs_grad() -> None:
    # Add passes its gradient on unchanged, so h's gradient is the very array that x.grad would
    # take; a later backward adds into x.grad in place, which must not change what h kept.
    x = gv.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x + gv.tensor([1.0, 1.0, 1.0])
    (h * h).sum().backward()
    first = np.array(h.grad_fn.kept_grad())
    (x * 5).sum().backward()
    np.testing.assert_array_equal(h.grad_fn.kept_grad(), first)
    np.testing.assert_array_equal(x.grad.numpy(), first + 5)


def test_autograd_grad_and_keep_grads_false_keep_nothing() -> None:
    x = gv.tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    (gx,) = gv.autograd.grad(h.sum(), x, retain_graph=True)
    assert h.grad_fn.kept_grad() is None and gx.tolist() == [2.0, 4.0]
    with keep_grads(False):
        h.sum().backward()
    assert h.grad_fn.kept_grad() is None and x.grad.tolist() == [2.0, 4.0]
    g = build_graph(h)
    (out,) = g.graph["outputs"]
    assert g.nodes[out]["grad_stats"].state == PENDING and not g.nodes[out]["kept_by_gradviz"]


def test_a_failed_backward_keeps_nothing() -> None:
    x = gv.tensor([1.0, 2.0], requires_grad=True)
    h = x.exp()
    y = (h * 2).sum()
    y.backward()
    kept = np.array(h.grad_fn.kept_grad())
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()
    np.testing.assert_array_equal(h.grad_fn.kept_grad(), kept)


def test_draw_and_show_colour_every_intermediate() -> None:
    loss, _ = chain(gv)
    loss.backward()
    model = draw(loss).model
    show_model, _ = TensorsSource(loss).snapshot()("tensors")
    for g in (model, show_model):
        inter = [a for _, a in g.nodes(data=True) if a.get("kind") in ("intermediate", "output")]
        assert len(inter) == 13
        assert all(a["grad_stats"].state == FINITE and a["kept_by_gradviz"] for a in inter)


def test_render_colours_every_intermediate_of_a_script(tmp_path) -> None:
    script = tmp_path / "chain.py"
    script.write_text(
        "import gradviz as torch\n"
        "x = torch.tensor([0.5, -1.0], requires_grad=True)\n"
        "w = torch.tensor([0.3, 0.8], requires_grad=True)\n"
        "y = x\n"
        "for _ in range(5):\n"
        "    y = torch.tanh(y * w + x)\n"
        "loss = y.sum()\n"
        "loss.backward()\n"
    )
    out = tmp_path / "chain.svg"
    assert main(["render", str(script), "-o", str(out)]) == 0
    svg = out.read_text()
    assert "grad not retained" not in svg and "kept by gradviz" in svg
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # rendering reads no .grad of a non-leaf
        assert main(["render", str(script), "-o", str(tmp_path / "again.svg")]) == 0


def test_large_gradients_are_kept_only_when_asked() -> None:
    n = KEEP_MAX + 1
    x = gv.ones(n, requires_grad=True)
    h = x * 2
    (h * h).sum().backward()
    assert h.grad_fn.kept_grad() is None  # holding it would slow backward() down
    y = x * 3
    with gv.keep_grads():
        (y * y).sum().backward()
    np.testing.assert_array_equal(y.grad_fn.kept_grad(), np.full(n, 6.0, np.float32))
    small = gv.ones(KEEP_MAX, requires_grad=True) * 2
    small.sum().backward()
    assert small.grad_fn.kept_grad() is not None


def test_render_keeps_large_gradients_too(tmp_path) -> None:
    script = tmp_path / "big.py"
    script.write_text(
        "import gradviz as torch\n"
        f"x = torch.ones({KEEP_MAX * 2}, requires_grad=True)\n"
        "h = (x * 2).tanh()\n"
        "h.sum().backward()\n"
    )
    out = tmp_path / "big.svg"
    assert main(["render", str(script), "-o", str(out)]) == 0
    assert "grad not retained" not in out.read_text()
    x = gv.ones(KEEP_MAX * 2, requires_grad=True)  # render's "keep all" ends with the script
    h = x * 2
    h.sum().backward()
    assert h.grad_fn.kept_grad() is None


def test_a_retained_grad_is_not_kept_twice() -> None:
    # The session retains every intermediate: its .grad is drawn, and nothing is held twice.
    x = gv.tensor([1.0, 2.0], requires_grad=True)
    h = x.exp()
    h.retain_grad()
    y = (h * 3).sum()
    y.backward()
    assert h.grad_fn.kept_grad() is None and h.grad.tolist() == [3.0, 3.0]
    g = build_graph(y, names={"h": h})
    (a,) = [a for _, a in g.nodes(data=True) if a.get("name") == "h"]
    assert a["grad_stats"].state == FINITE and not a["kept_by_gradviz"]
