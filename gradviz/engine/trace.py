"""``trace_backward``: the steps of a backward pass, in the engine's own order, changing nothing.

The stepper, the animation export and the tests read this. Each step is one backward node: the
gradient that reached it, the local derivative of each input (the op's formula from the
registry), and the contribution it sends to each input, with the running total at that input
after the ``+=``. A leaf's AccumulateGrad step says what ``.grad`` held before and after, so
accumulation across two ``backward()`` calls shows too. No tensor, ``.grad`` or saved buffer is
touched: ``backward()`` after a trace does exactly what it would have done.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any

import numpy as np

from . import dual, grad_mode
from .autograd import _root_grads, _run_hooks
from .function import AccumulateGrad, Node
from .registry import REGISTRY, Formula, formula_for, node_class

if TYPE_CHECKING:
    from .tensor import Tensor

START, NODE, ACCUMULATE = "start", "node", "accumulate"


@dataclass(frozen=True)
class Contribution:
    """What one node sends to one of its inputs: ``value`` (the product of the gradient from
    above and the local derivative), and ``total``, the input's gradient so far after ``+=``."""

    index: int  # which input of the node
    operand: str  # its name in PyTorch's words (input, other, mat2, ...)
    tensor: Tensor  # the input tensor itself
    receiver: Node | None  # the node it flows into (its grad_fn or AccumulateGrad)
    formula: str  # ∂result/∂operand (or ∂L/∂operand for an adjoint formula), "" when unknown
    local: np.ndarray | None  # the local derivative's values, for an elementwise input
    value: np.ndarray
    total: np.ndarray
    first: bool  # the first gradient to reach ``receiver`` (else it was added to earlier ones)


@dataclass(frozen=True)
class Step:
    """One step of backward. ``kind``: START (the output receives its starting gradient),
    NODE (a backward node runs) or ACCUMULATE (a leaf's AccumulateGrad adds into ``.grad``)."""

    index: int
    kind: str
    node: Node
    incoming: np.ndarray  # the whole gradient that reached the node (all contributions summed)
    formula: Formula | None = None
    contributions: tuple[Contribution, ...] = ()
    variable: Tensor | None = None  # ACCUMULATE: the leaf
    grad_before: np.ndarray | None = None  # ACCUMULATE: the leaf's .grad before (None: none yet)
    grad_after: np.ndarray | None = None
    before_hooks: np.ndarray | None = None  # what arrived before the tensor's hooks changed it
    retains: tuple[Tensor, ...] = ()  # tensors whose retain_grad() keeps ``incoming``

    @property
    def name(self) -> str:
        return self.node.name()


@dataclass(frozen=True)
class BackwardTrace:
    """The ordered steps of ``output.backward(gradient)`` and the gradients it would leave."""

    output: Tensor
    steps: tuple[Step, ...]

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def __getitem__(self, k: int) -> Step:
        return self.steps[k]

    def grads(self, upto: int | None = None) -> dict[int, tuple[Tensor, np.ndarray]]:
        """``{id(leaf): (leaf, grad)}``: each leaf's ``.grad`` after the steps up to ``upto``
        (all of them by default), counting what it held before the trace."""
        out: dict[int, tuple[Tensor, np.ndarray]] = {}
        for step in self.steps[: None if upto is None else upto + 1]:
            if step.kind == ACCUMULATE and step.variable is not None and step.grad_after is not None:
                out[id(step.variable)] = (step.variable, step.grad_after)
        return out


def trace_backward(output: Tensor, gradient: Any = None) -> BackwardTrace:
    """The steps ``output.backward(gradient)`` takes, in the engine's order, without running it.

    Raises what ``backward()`` would raise before changing anything: an output that doesn't
    require grad, a non-scalar output without ``gradient``, a graph already freed. Tensor hooks
    (``register_hook``) run, as in backward, and their gradients travel on; post-accumulate
    hooks do not (they act, an optimizer's step say, where the trace must change nothing)."""
    root = output._grad_node()
    if root is None:
        raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
    (g0,) = _root_grads([output], None if gradient is None else [gradient], False)
    steps: list[Step] = [Step(0, START, root, _array(g0), retains=_retained_by(root))]
    pending: dict[Node, Any] = {root: g0}
    heap: list = [(-root._seq, id(root), root)]
    prev = grad_mode.state.enabled
    grad_mode.state.enabled = False
    try:
        with np.errstate(all="ignore"):
            while heap:
                node = heappop(heap)[2]
                g = pending.pop(node)
                before_hooks = None
                if node._hooks:  # register_hook: backward passes on what the hooks return
                    before_hooks = _array(g)
                    g = _run_hooks(node, g, False)
                    if np.array_equal(before_hooks, _array(g)):
                        before_hooks = None
                if type(node) is AccumulateGrad:
                    step = _accumulate_step(len(steps), node, g)
                else:
                    step = _node_step(len(steps), node, g, pending, heap)
                steps.append(replace(step, before_hooks=before_hooks) if before_hooks is not None else step)
    finally:
        grad_mode.state.enabled = prev
    return BackwardTrace(output, tuple(steps))


def _node_step(index: int, node: Node, g: Any, pending: dict[Node, Any], heap: list) -> Step:
    formula = formula_for(node.name())
    names = operand_names(node)
    grads = node._fn.backward(node, g)
    contributions = []
    for i, (gi, (nxt, _), t) in enumerate(zip(grads, node.next_functions, node.inputs)):
        if gi is None or nxt is None:
            continue
        gi = dual.fit(gi, (t._data.shape, t._data.dtype))
        before = pending.get(nxt)
        total = gi if before is None else before + gi
        if before is None:
            heappush(heap, (-nxt._seq, id(nxt), nxt))
        pending[nxt] = total
        part = formula.parts.get(names[i], "") if formula is not None else ""
        contributions.append(
            Contribution(
                index=i,
                operand=names[i],
                tensor=t,
                receiver=nxt,
                formula=part,
                local=_local(node, i, formula, part),
                value=_array(gi),
                total=_array(total),
                first=before is None,
            )
        )
    return Step(index, NODE, node, _array(g), formula, tuple(contributions), retains=_retained_by(node))


def _accumulate_step(index: int, node: AccumulateGrad, g: Any) -> Step:
    leaf = node.variable
    before = None if leaf._grad is None else np.array(leaf._grad._data)
    incoming = _array(g)
    after = incoming.astype(leaf._data.dtype, copy=True) if before is None else before + incoming
    return Step(
        index,
        ACCUMULATE,
        node,
        incoming,
        formula_for("AccumulateGrad"),
        variable=leaf,
        grad_before=before,
        grad_after=np.asarray(after),
    )


def operand_names(node: Node) -> list[str]:
    """PyTorch's names for the node's inputs: its formula's operands when they match in number,
    else those of the op that records it, else ``input 1``, ``input 2``."""
    n = len(node.inputs)
    formula = formula_for(node.name())
    if formula is not None and len(formula.parts) == n:
        return list(formula.parts)
    cls = node_class(node.name())
    for info in REGISTRY.values():
        if cls is not None and cls in info.nodes and len(info.operand_names) >= n:
            return list(info.operand_names[:n])
    return ["input"] if n == 1 else [f"input {i + 1}" for i in range(n)]


def _local(node: Node, i: int, formula: Formula | None, part: str) -> np.ndarray | None:
    """The local derivative ∂result/∂input as numbers, for an input of the result's own shape
    whose formula is elementwise: backward run on a gradient of ones gives it exactly."""
    if formula is None or formula.adjoint or not part:
        return None
    shape, dtype = node.output_meta
    t = node.inputs[i]
    if tuple(t._data.shape) != tuple(shape):
        return None
    grads = node._fn.backward(node, np.ones(shape, dtype=dtype) if shape else dtype.type(1))
    gi = grads[i]
    return None if gi is None else _array(gi)


def _retained_by(node: Node) -> tuple[Tensor, ...]:
    refs = node._retained or ()
    return tuple(t for t in (r() for r in refs) if t is not None)


def _array(g: Any) -> np.ndarray:
    """A gradient as an array of its own (a numpy scalar becomes a 0-d array)."""
    return np.array(g._data if hasattr(g, "_data") else g)


def leaves_of(trace: BackwardTrace) -> Sequence[Tensor]:
    """The leaves the trace writes ``.grad`` of, in the order it reaches them."""
    return [s.variable for s in trace.steps if s.kind == ACCUMULATE and s.variable is not None]
