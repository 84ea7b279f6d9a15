"""The stepper's words for matrix products state each input's adjoint formula with its shapes,
in the session's names: ``to W: ∂L/∂W = xᵀ · ∂L/∂y : [4, 8] = [4, 5] · [5, 8] = ...``.

Each case runs the same program in gradviz and in torch: the shapes the line states are torch's
(of the gradient ``torch.autograd.grad`` gives, of the operands and of ∂L/∂y), and the
contribution the step sends is torch's gradient through that node."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch

import gradviz
from gradviz.engine.trace import NODE
from gradviz.graph.colors import format_number
from gradviz.graph.stepping import describe_step

RNG = np.random.default_rng(13)
DATA = {
    "x": RNG.standard_normal((5, 4)),
    "W": RNG.standard_normal((4, 8)),
    "Wl": RNG.standard_normal((8, 4)),  # F.linear's weight: [out, in]
    "v": RNG.standard_normal(4),
    "u": RNG.standard_normal(4),
    "M": RNG.standard_normal((5, 4)),
    "a": RNG.standard_normal((3, 5, 4)),
    "b": RNG.standard_normal((3, 4, 2)),
    "bias": RNG.standard_normal(8),
}


def leaf(m: Any, key: str) -> Any:
    return m.tensor(DATA[key].astype(np.float32).tolist(), requires_grad=True)


def shape(s: Any) -> str:
    return "scalar" if len(s) == 0 else "[" + ", ".join(str(n) for n in s) + "]"


@dataclass
class Case:
    """A program ``y = make(m, leaves)``; ``node`` the matrix product's backward node; ``expect``
    maps each operand (PyTorch's name) to its words (``to W: ∂L/∂W = xᵀ · ∂L/∂y``), the shapes of
    its factors and its contribution, as functions of torch's leaves, y and gradients."""

    leaves: tuple[str, ...]
    make: Callable[..., Any]
    node: str
    expect: dict[str, tuple[str, Callable[..., list], Callable[..., Any]]]
    names: tuple[str, ...] = ()  # the leaves the session names (default: all)


T = torch.Tensor


def mT(t: T) -> T:
    return t.transpose(-1, -2)


CASES = {
    "x @ W": Case(
        ("x", "W"),
        lambda m, x, W: x @ W,
        "MmBackward0",
        {
            "input": ("to x: ∂L/∂x = ∂L/∂y · Wᵀ", lambda t, y: [y.shape, mT(t["W"]).shape], lambda g: g["x"]),
            "mat2": ("to W: ∂L/∂W = xᵀ · ∂L/∂y", lambda t, y: [mT(t["x"]).shape, y.shape], lambda g: g["W"]),
        },
    ),
    "mm": Case(
        ("x", "W"),
        lambda m, x, W: m.mm(x, W),
        "MmBackward0",
        {"mat2": ("to W: ∂L/∂W = xᵀ · ∂L/∂y", lambda t, y: [mT(t["x"]).shape, y.shape], lambda g: g["W"])},
    ),
    "1-D @ 2-D": Case(  # matmul unsqueezes v to a row: the node's input has no name
        ("v", "W"),
        lambda m, v, W: m.matmul(v, W),
        "MmBackward0",
        {
            "input": (
                "to input: ∂L/∂input = ∂L/∂result · Wᵀ",
                lambda t, y: [(1, *y.shape), mT(t["W"]).shape],
                lambda g: g["v"].reshape(1, -1),
            ),
            "mat2": (
                "to W: ∂L/∂W = inputᵀ · ∂L/∂result",
                lambda t, y: [(t["v"].shape[0], 1), (1, *y.shape)],
                lambda g: g["W"],
            ),
        },
    ),
    "3-D @ 2-D": Case(  # the batch folded into one mm, as PyTorch does
        ("a", "W"),
        lambda m, a, W: a @ W,
        "MmBackward0",
        {
            "mat2": (
                "to W: ∂L/∂W = inputᵀ · ∂L/∂result",
                lambda t, y: [(4, 15), (15, 8)],
                lambda g: g["W"],
            ),
            "input": (
                "to input: ∂L/∂input = ∂L/∂result · Wᵀ",
                lambda t, y: [(15, 8), mT(t["W"]).shape],
                lambda g: g["a"].reshape(15, 4),
            ),
        },
    ),
    "3-D @ 3-D": Case(  # expanded, reshaped, bmm
        ("a", "b"),
        lambda m, a, b: a @ b,
        "BmmBackward0",
        {
            "input": (
                "to input: ∂L/∂input = ∂L/∂result · mat2ᵀ",
                lambda t, y: [y.shape, mT(t["b"]).shape],
                lambda g: g["a"],
            ),
            "mat2": (
                "to mat2: ∂L/∂mat2 = inputᵀ · ∂L/∂result",
                lambda t, y: [mT(t["a"]).shape, y.shape],
                lambda g: g["b"],
            ),
        },
    ),
    "bmm": Case(
        ("a", "b"),
        lambda m, a, b: m.bmm(a, b),
        "BmmBackward0",
        {
            "input": ("to a: ∂L/∂a = ∂L/∂y · bᵀ", lambda t, y: [y.shape, mT(t["b"]).shape], lambda g: g["a"]),
            "mat2": ("to b: ∂L/∂b = aᵀ · ∂L/∂y", lambda t, y: [mT(t["a"]).shape, y.shape], lambda g: g["b"]),
        },
    ),
    "mv": Case(
        ("M", "v"),
        lambda m, M, v: m.mv(M, v),
        "MvBackward0",
        {
            "input": ("to M: ∂L/∂M = ∂L/∂y ⊗ v", lambda t, y: [y.shape, t["v"].shape], lambda g: g["M"]),
            "vec": ("to v: ∂L/∂v = Mᵀ · ∂L/∂y", lambda t, y: [mT(t["M"]).shape, y.shape], lambda g: g["v"]),
        },
    ),
    "dot": Case(
        ("u", "v"),
        lambda m, u, v: m.dot(u, v),
        "DotBackward0",
        {
            "input": ("to u: ∂L/∂u = ∂L/∂y · v", lambda t, y: [y.shape, t["v"].shape], lambda g: g["u"]),
            "tensor": ("to v: ∂L/∂v = ∂L/∂y · u", lambda t, y: [y.shape, t["u"].shape], lambda g: g["v"]),
        },
    ),
    "addmm": Case(
        ("bias", "x", "W"),
        lambda m, bias, x, W: m.addmm(bias, x, W),
        "AddmmBackward0",
        {
            "mat2": ("to W: ∂L/∂W = xᵀ · ∂L/∂y", lambda t, y: [mT(t["x"]).shape, y.shape], lambda g: g["W"]),
            "mat1": ("to x: ∂L/∂x = ∂L/∂y · Wᵀ", lambda t, y: [y.shape, mT(t["W"]).shape], lambda g: g["x"]),
            "input": (
                "to bias: ∂L/∂bias = ∂L/∂y summed to bias's shape",
                lambda t, y: [y.shape],
                lambda g: g["bias"],
            ),
        },
    ),
    "F.linear": Case(  # AddmmBackward0 of x and Wl.t(), then TBackward0
        ("x", "Wl", "bias"),
        lambda m, x, Wl, bias: m.nn.functional.linear(x, Wl, bias),
        "AddmmBackward0",
        {
            "mat2": (
                "to Wlᵀ: ∂L/∂Wlᵀ = xᵀ · ∂L/∂y",
                lambda t, y: [mT(t["x"]).shape, y.shape],
                lambda g: g["Wl"].T,
            ),
            "mat1": ("to x: ∂L/∂x = ∂L/∂y · Wl", lambda t, y: [y.shape, t["Wl"].shape], lambda g: g["x"]),
            "input": (
                "to bias: ∂L/∂bias = ∂L/∂y summed to bias's shape",
                lambda t, y: [y.shape],
                lambda g: g["bias"],
            ),
        },
    ),
    "nn.Linear, weights unnamed": Case(  # a layer's parameters the session has no name for
        ("x", "Wl", "bias"),
        lambda m, x, Wl, bias: m.nn.functional.linear(x, Wl, bias),
        "AddmmBackward0",
        {
            "mat2": (
                "to mat2: ∂L/∂mat2 = xᵀ · ∂L/∂y",
                lambda t, y: [mT(t["x"]).shape, y.shape],
                lambda g: g["Wl"].T,
            ),
            "mat1": ("to x: ∂L/∂x = ∂L/∂y · mat2ᵀ", lambda t, y: [y.shape, t["Wl"].shape], lambda g: g["x"]),
        },
        names=("x",),
    ),
}


def run(m: Any, case: Case) -> tuple[dict[str, Any], Any, Any]:
    leaves = {k: leaf(m, k) for k in case.leaves}
    y = case.make(m, *leaves.values())
    weights = m.tensor(np.linspace(-1.0, 2.0, int(np.prod(tuple(y.shape)))).astype(np.float32).tolist())
    loss = (y * weights.reshape(tuple(y.shape))).sum()  # ∂L/∂y not all ones: a wrong product shows
    return leaves, y, loss


def parse(line: str) -> tuple[str, str, list[str], str]:
    """``to W: ∂L/∂W = xᵀ · ∂L/∂y : [4, 8] = [4, 5] · [5, 8] = [4, 8], ‖·‖ = ...`` as the words,
    the result's shape, the factors' shapes and the value's text."""
    words, _, shapes = line.partition(" : ")
    result, factors, value = shapes.split(" = ", 2)
    return words, result, re.findall(r"\[[\d, ]*\]|scalar", factors), value


@pytest.mark.parametrize("name", CASES)
def test_a_matrix_product_step_says_its_formula_with_the_true_shapes(name: str) -> None:
    case = CASES[name]
    ours, y, loss = run(gradviz, case)
    theirs, ty, tloss = run(torch, case)
    tgrads = dict(zip(theirs, torch.autograd.grad(tloss, list(theirs.values()))))
    named = case.names or case.leaves
    name_of = {id(ours[k]): k for k in named} | {id(y): "y", id(loss): "L"}

    trace = gradviz.autograd.trace_backward(loss)
    (k,) = [i for i, s in enumerate(trace) if s.kind == NODE and s.name == case.node]
    lines = describe_step(trace, k, name_of)
    said = {parse(line)[0]: parse(line)[1:] for line in lines if line.startswith("to ") and " : " in line}
    sent = {c.operand: c for c in trace[k].contributions}
    for operand, (words, factors, grad) in case.expect.items():
        assert words in said, (words, lines)
        result, shown, value = said[words]
        want = grad(tgrads).detach().numpy()
        assert result == shape(want.shape), (words, result)
        assert shown == [shape(s) for s in factors(theirs, ty)], (words, shown)
        np.testing.assert_allclose(sent[operand].value, want, rtol=1e-5, atol=1e-5)
        norm = format_number(float(np.sqrt(np.sum(want.astype(np.float64) ** 2))))
        assert f"‖·‖ = {norm}" in value or want.size <= 4, value
    if "bias" in case.leaves:  # [8] broadcast over the 5 rows: its gradient sums them
        (line,) = [line for line in lines if "summed to" in line]
        assert ": [8] = [5, 8] summed over dim 0 = " in line
