"""Check a gradient by nudging: central finite differences in float64, beside autograd's value.

micrograd's lesson ("nudge the input, watch the output") and PyTorch's ``gradcheck``, for one
tensor of a graph the learner built: the forward pass from that tensor to the output is run
again from the recorded graph, each time with one element of the tensor moved by ±eps, all in
float64 (so the check is not drowned by float32 rounding). Nothing the learner made changes:
the re-run computes on copies, from each node's own inputs and parameters. It needs no saved
buffers, so it works after a ``backward()`` freed them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import grad_mode
from .function import _DISCARD, AccumulateGrad, Node

if TYPE_CHECKING:
    from .tensor import Tensor

EPS = 1e-6
MAX_ELEMENTS = 64  # a tensor larger than this is checked on a sample of its elements
RTOL, ATOL = 1e-4, 1e-6


@dataclass(frozen=True)
class GradientCheck:
    """The numeric derivative of ``output`` with respect to chosen elements of a tensor, beside
    autograd's. ``indices``: the elements checked (all of them, or a sample of a large tensor)."""

    indices: tuple[tuple[int, ...], ...]
    numeric: np.ndarray  # one value per index
    analytic: np.ndarray  # autograd's, at the same indices
    total: int  # the tensor's element count

    @property
    def sampled(self) -> bool:
        return len(self.indices) < self.total

    @property
    def abs_error(self) -> np.ndarray:
        return np.abs(self.numeric - self.analytic)

    @property
    def rel_error(self) -> float:
        """The largest |numeric - analytic|, relative to the largest gradient checked (an
        element whose gradient is nearly 0 must not make a float32 rounding look like 100%)."""
        if not len(self.indices):
            return 0.0
        scale = max(float(np.max(np.abs(self.numeric))), float(np.max(np.abs(self.analytic))), 1e-12)
        return float(np.max(self.abs_error)) / scale

    @property
    def ok(self) -> bool:
        return bool(np.all(self.abs_error <= ATOL + RTOL * np.abs(self.numeric)))


def evaluate(output: Tensor, overrides: dict[Node, np.ndarray] | None = None) -> np.ndarray:
    """``output``'s value computed again from its graph in float64, with the values of some
    nodes replaced (a leaf is overridden through its AccumulateGrad node, an intermediate
    tensor through its ``grad_fn``)."""
    root = output._grad_node()
    if root is None:
        raise RuntimeError("the output does not require grad: it has no graph to run again")
    memo: dict[Node, np.ndarray] = dict(overrides or {})
    prev = grad_mode.state.enabled
    grad_mode.state.enabled = False
    try:
        with np.errstate(all="ignore"):
            return _value(root, memo)
    finally:
        grad_mode.state.enabled = prev


def _value(root: Node, memo: dict[Node, np.ndarray]) -> np.ndarray:
    # Iterative post-order: a deep chain (thousands of nodes) must not hit Python's recursion limit.
    stack = [root]
    while stack:
        node = stack[-1]
        if node in memo:
            stack.pop()
            continue
        if type(node) is AccumulateGrad:
            memo[node] = _widen(node.variable._data)
            stack.pop()
            continue
        missing = [n for n, _ in node.next_functions if n is not None and n not in memo]
        if missing:
            stack.extend(missing)
            continue
        arrays = [
            memo[n] if n is not None else _widen(t._data)
            for (n, _), t in zip(node.next_functions, node.inputs)
        ]
        params = {k: (np.float64 if k == "dtype" and _is_float(v) else v) for k, v in node.params.items()}
        memo[node] = np.asarray(node._fn.forward(_DISCARD, *arrays, **params))
        stack.pop()
    return memo[root]


def analytic_gradient(output: Tensor, target: Tensor) -> np.ndarray:
    """autograd's ∂output/∂target (of the sum of ``output``'s elements) in float64, from a
    fresh copy of the graph: what one ``backward()`` would give, whatever the learner's
    ``.grad`` has accumulated, and after the original graph's buffers were freed."""
    from .autograd import grad
    from .tensor import Tensor as Made

    root, want = output._grad_node(), node_of(target)
    if root is None:
        raise RuntimeError("the output does not require grad: it has no graph to run again")
    made: dict[Node, Any] = {}
    prev = grad_mode.state.enabled
    grad_mode.state.enabled = True
    try:
        with np.errstate(all="ignore"):
            for node in _in_order(root):
                if type(node) is AccumulateGrad:
                    made[node] = Made(_widen(node.variable._data), requires_grad=True)
                    continue
                inputs = [
                    made[n] if n is not None else Made(_widen(t._data))
                    for (n, _), t in zip(node.next_functions, node.inputs)
                ]
                params = {
                    k: (np.float64 if k == "dtype" and _is_float(v) else v) for k, v in node.params.items()
                }
                made[node] = node._fn.apply(*inputs, **params)
            if want not in made:
                return np.zeros(target._data.shape)  # the output does not depend on it
            (g,) = grad(made[root].sum(), made[want], allow_unused=True)
    finally:
        grad_mode.state.enabled = prev
    return np.zeros(target._data.shape) if g is None else np.asarray(g._data, dtype=np.float64)


def _in_order(root: Node) -> list[Node]:
    """The nodes ``root`` depends on, each after all of its inputs."""
    order: list[Node] = []
    seen: set[Node] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        if type(node) is not AccumulateGrad:
            stack.extend((n, False) for n, _ in node.next_functions if n is not None and n not in seen)
    return order


def _widen(a: Any) -> np.ndarray:
    a = np.asarray(a)
    return a.astype(np.float64) if a.dtype.kind == "f" else a


def _is_float(dtype: Any) -> bool:
    try:
        return np.dtype(getattr(dtype, "numpy_dtype", dtype)).kind == "f"
    except TypeError:
        return False


def node_of(t: Tensor) -> Node:
    """The node whose value is ``t``'s: its grad_fn, or a leaf's AccumulateGrad."""
    node = t.grad_fn or t._grad_node()
    if node is None:
        raise RuntimeError("the tensor does not require grad: there is no gradient to check")
    return node


def check_indices(shape: tuple[int, ...], limit: int = MAX_ELEMENTS, seed: int = 0) -> list[tuple[int, ...]]:
    """Every element of a tensor up to ``limit``; above that a fixed random sample of ``limit``."""
    n = int(np.prod(shape, dtype=np.int64))
    flat = range(n) if n <= limit else sorted(np.random.default_rng(seed).choice(n, limit, replace=False))
    return [tuple(int(i) for i in np.unravel_index(k, shape)) for k in flat] if shape else [()] * min(n, 1)


def numeric_gradient(
    output: Tensor,
    target: Tensor,
    indices: list[tuple[int, ...]],
    eps: float = EPS,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """∂output/∂target at ``indices`` by central differences, (f(x+eps) - f(x-eps)) / 2eps,
    for a scalar ``output`` (or the sum of its elements). ``progress(done, total)`` is called
    after each element; it may raise to stop."""
    node = node_of(target)
    # The value the graph computed for it, in float64 (not ``target``'s data, which an in-place
    # op may have changed since).
    prev = grad_mode.state.enabled
    grad_mode.state.enabled = False
    try:
        with np.errstate(all="ignore"):
            base = _value(node, {})
    finally:
        grad_mode.state.enabled = prev
    out = np.empty(len(indices))
    for k, idx in enumerate(indices):
        values = []
        for sign in (1.0, -1.0):
            nudged = np.array(base, dtype=np.float64, copy=True)
            nudged[idx] += sign * eps
            values.append(float(np.sum(evaluate(output, {node: nudged}))))
        out[k] = (values[0] - values[1]) / (2 * eps)
        if progress is not None:
            progress(k + 1, len(indices))
    return out


def check_gradient(
    output: Tensor,
    target: Tensor,
    analytic: Any = None,
    limit: int = MAX_ELEMENTS,
    eps: float = EPS,
    progress: Callable[[int, int], None] | None = None,
) -> GradientCheck:
    """Compare autograd's ∂output/∂target (``analytic``, in target's shape; by default computed
    afresh in float64, see :func:`analytic_gradient`) with the numeric derivative, on every
    element up to ``limit`` and a sample above."""
    shape = tuple(target._data.shape)
    if analytic is None:
        analytic = analytic_gradient(output, target)
    indices = check_indices(shape, limit)
    numeric = numeric_gradient(output, target, indices, eps, progress)
    a = np.asarray(analytic, dtype=np.float64).reshape(shape)
    return GradientCheck(tuple(indices), numeric, np.array([a[i] for i in indices]), int(np.prod(shape)))
