"""micrograd's two classic test programs, run with gradviz and with PyTorch.

The programs follow Karpathy's micrograd ``test/test_engine.py``: ``test_sanity_check`` and
``test_more_ops``. micrograd checks its scalar ``Value`` against PyTorch; here the same programs
run on 0-d gradviz tensors and 0-d torch tensors (float64), and every value and gradient must agree.
The ``c += ...`` lines are in-place ops on tensors inside the graph, which PyTorch allows.
"""

from __future__ import annotations

import math

import pytest
import torch

import gradviz

TOL = 1e-10


def sanity_check(lib):
    x = lib.tensor(-4.0, dtype=lib.float64, requires_grad=True)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    return {"x": x, "y": y}


def more_ops(lib):
    a = lib.tensor(-4.0, dtype=lib.float64, requires_grad=True)
    b = lib.tensor(2.0, dtype=lib.float64, requires_grad=True)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    return {"a": a, "b": b, "g": g}


def _close(x: float, y: float) -> bool:
    return math.isclose(x, y, rel_tol=TOL, abs_tol=TOL)


@pytest.mark.parametrize("program", [sanity_check, more_ops], ids=["sanity_check", "more_ops"])
def test_values_and_grads_match_torch(program):
    ours, theirs = program(gradviz), program(torch)
    for name in ours:
        assert _close(ours[name].item(), theirs[name].item()), name
        if ours[name].is_leaf:
            assert ours[name].grad is not None, name
            assert ours[name].grad.dtype == gradviz.float64
            assert _close(ours[name].grad.item(), theirs[name].grad.item()), name


def test_sanity_check_known_numbers():
    # micrograd's forward pass and gradient for this program, worked out by hand.
    out = sanity_check(gradviz)
    assert out["y"].item() == -20.0
    assert out["x"].grad.item() == 46.0


def test_more_ops_known_numbers():
    out = more_ops(gradviz)
    assert math.isclose(out["g"].item(), 24.70408163265306, rel_tol=1e-12)
    assert math.isclose(out["a"].grad.item(), 138.83381924198252, rel_tol=1e-12)
    assert math.isclose(out["b"].grad.item(), 645.5772594752186, rel_tol=1e-12)


def test_inplace_on_graph_tensors_rebases_history():
    # ``c += ...`` on a non-leaf keeps the same Python object but gives it a new grad_fn,
    # exactly as PyTorch records it.
    for lib in (gradviz, torch):
        a = lib.tensor(-4.0, dtype=lib.float64, requires_grad=True)
        c = a + 1
        first = c.grad_fn
        ident = id(c)
        c += c + 1
        assert id(c) == ident
        assert c.grad_fn is not first
        assert c.grad_fn.name() == "AddBackward0"
        assert not c.is_leaf and c.requires_grad
        # The in-place add's node reaches back to the add that produced c before it changed.
        assert any(fn is first for fn, _ in c.grad_fn.next_functions)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_programs_in_other_dtypes(dtype):
    # The same programs with float32 leaves: gradients keep the leaves' dtype.
    def sanity(lib):
        x = lib.tensor(-4.0, dtype=getattr(lib, dtype), requires_grad=True)
        z = 2 * x + 2 + x
        q = z.relu() + z * x
        h = (z * z).relu()
        y = h + q + q * x
        y.backward()
        return x

    ours, theirs = sanity(gradviz), sanity(torch)
    assert str(ours.grad.dtype).split(".")[-1] == dtype
    assert ours.grad.item() == pytest.approx(theirs.grad.item(), rel=1e-6)
