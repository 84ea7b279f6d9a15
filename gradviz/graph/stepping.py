"""Backward, drawn one step at a time: the graph as it stands after step K of a trace.

``gradviz.autograd.trace_backward`` gives the steps in the engine's order. Here each step becomes
a model graph (either view): tensors the gradient has not reached yet have none (drawn neutral),
the others show what has arrived so far (a leaf: what its ``.grad`` would hold), the node of the
step is marked ``step="current"``, and each edge carrying one of its contributions gets
``flow`` (a label: the value, or its shape and norm) and ``flow_value``. The canvas, ``gradviz
render --step`` and the animation export draw these the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from ..engine.function import AccumulateGrad, Node
from ..engine.tensor import Tensor
from ..engine.trace import ACCUMULATE, NODE, START, BackwardTrace, Contribution, Step, operand_names
from .colors import PENDING, format_number, grad_stats
from .model import AUTOGRAD, TENSORS, NodeIds, build_graph, preview, shape_text

SMALL = 4  # a contribution with at most this many elements is labelled with its numbers


def receiver_key(node: Node | None, tensor: Tensor) -> object:
    """The key of the tensor a gradient flows into: a leaf itself, else the node that made it."""
    if node is None or isinstance(node, AccumulateGrad):
        return tensor
    return node


def step_grads(trace: BackwardTrace, k: int) -> dict[int, np.ndarray]:
    """``{id(key): gradient}`` after steps 0..k: intermediates show the running total of what
    reached them; a leaf what its ``.grad`` would hold (what it held before, plus what arrived)."""
    shown: dict[int, np.ndarray] = {}
    before: dict[int, np.ndarray | None] = {}
    for step in trace.steps:
        if step.kind == ACCUMULATE and step.variable is not None:
            before[id(step.variable)] = step.grad_before
    for leaf_id, g in before.items():
        if g is not None:
            shown[leaf_id] = g
    for step in trace.steps[: k + 1]:
        if step.kind == START:
            shown[id(step.node)] = step.incoming
        elif step.kind == NODE:
            for c in step.contributions:
                key = receiver_key(c.receiver, c.tensor)
                held = before.get(id(key)) if isinstance(key, Tensor) else None
                shown[id(key)] = c.total if held is None else held + c.total
        elif step.kind == ACCUMULATE and step.variable is not None and step.grad_after is not None:
            shown[id(step.variable)] = step.grad_after
    return shown


def flow_text(value: np.ndarray) -> str:
    """A contribution as an edge label: its numbers when small, else its shape and norm."""
    a = np.asarray(value)
    if a.size <= SMALL:
        return preview(a, SMALL)
    return f"{shape_text(tuple(a.shape))}, ‖·‖ = {format_number(float(np.sqrt(np.sum(a.astype(np.float64) ** 2))))}"


def drawn_node(trace: BackwardTrace) -> dict[int, Node]:
    """``{id(node): the node drawn for it}``: a node inside a composite call (F.linear's
    TBackward0) is drawn as the call, which the call's last node stands for."""
    out: dict[int, Node] = {}
    for step in trace.steps:
        c = step.node.composite
        if c is not None:
            for inner in c.internal_nodes(step.node):
                out[id(inner)] = step.node
    return out


@dataclass
class StepChange:
    """What moving a built step graph to another step changed: the nodes and edges to redraw."""

    nodes: set[str] = field(default_factory=set)
    edges: set[tuple[str, str]] = field(default_factory=set)


@dataclass(frozen=True)
class StepMarks:
    """Where each step of a trace shows in one built graph, noted as it is built, so that the
    graph can be moved to another step by changing only what differs (:func:`move_step`)."""

    current: list[str]  # the node each step marks current
    receivers: list[list[tuple[str, int]]]  # the tensor nodes it gives a gradient: (node id, id(key))
    flows: list[list[tuple[tuple[str, str], Contribution]]]  # the edges its contributions travel

    @classmethod
    def of(cls, trace: BackwardTrace, ids: NodeIds, view: str) -> StepMarks:
        drawn = drawn_node(trace)
        marks = cls([], [], [])
        for step in trace.steps:
            node = drawn.get(id(step.node), step.node)
            receivers: list[tuple[str, int]] = []
            if view == AUTOGRAD:
                current = _autograd_id(ids, node)
            elif step.kind == START:
                current = ids.get(step.node, "t")  # the output tensor, keyed by the node that made it
            elif step.kind == ACCUMULATE and step.variable is not None:
                current = ids.get(step.variable, "t")
            else:
                current = ids.get(node, "op")
            if step.kind == START:
                receivers.append((ids.get(step.node, "t"), id(step.node)))
            elif step.kind == ACCUMULATE and step.variable is not None:
                receivers.append((ids.get(step.variable, "t"), id(step.variable)))
            flows = []
            for c in step.contributions:
                key = receiver_key(c.receiver, c.tensor)
                receivers.append((ids.get(key, "t"), id(key)))
                if view == AUTOGRAD:
                    flows.append(((_autograd_id(ids, c.receiver), current), c))
                else:
                    flows.append(((ids.get(key, "t"), current), c))
            marks.current.append(current)
            marks.receivers.append(receivers)
            marks.flows.append(flows)
        return marks


def step_graph(
    outputs: Tensor | Iterable[Tensor] | Mapping[str, Tensor],
    trace: BackwardTrace,
    k: int,
    *,
    view: str = TENSORS,
    names: Mapping[str, Tensor] | Mapping[int, str] | None = None,
    ids: NodeIds | None = None,
) -> nx.DiGraph:
    """The model graph of ``outputs`` as it stands after step ``k`` of ``trace``."""
    k = max(0, min(k, len(trace) - 1))
    ids = ids if ids is not None else NodeIds()
    shown = step_grads(trace, k)
    g = build_graph(outputs, view=view, names=names, ids=ids, grads=lambda key: shown.get(id(key)))
    for a in g.nodes.values():
        if a.get("type") == "tensor" and a["requires_grad"] and a["grad_stats"].state == PENDING:
            a["step"] = "pending"  # not "not retained": the gradient has not got there yet
    marks = StepMarks.of(trace, ids, view)
    _mark(g, marks, k)
    g.graph["step"] = (k, len(trace))
    g.graph["step_marks"] = marks
    return g


def move_step(g: nx.DiGraph, trace: BackwardTrace, k: int) -> StepChange:
    """Take a graph made by :func:`step_graph` to step ``k`` of the same trace in place, changing
    only the nodes and edges the steps between touch; what changed. The graph is then what
    ``step_graph(..., k)`` would build."""
    marks: StepMarks = g.graph["step_marks"]
    j, count = g.graph["step"]
    k = max(0, min(k, count - 1))
    change = StepChange()
    if j == k:
        return change
    cur = marks.current[j]
    if cur in g and g.nodes[cur].get("step") == "current":
        del g.nodes[cur]["step"]
        change.nodes.add(cur)
    for edge, _c in marks.flows[j]:
        if g.has_edge(*edge):
            a = g.edges[edge]
            a.pop("flow", None)
            a.pop("flow_value", None)
            change.edges.add(edge)
    shown = step_grads(trace, k)
    for i in {*range(min(j, k) + 1, max(j, k) + 1), j, k}:
        for nid, key in marks.receivers[i]:
            a = g.nodes.get(nid)
            if a is None or a.get("type") != "tensor" or not a["requires_grad"] or a.get("stale"):
                continue  # no gradient to show here, at any step
            grad = shown.get(key)
            a["grad"] = "None" if grad is None else preview(grad)
            a["grad_stats"] = grad_stats(grad, True)
            if a["grad_stats"].state == PENDING:
                a["step"] = "pending"
            else:
                a.pop("step", None)
            change.nodes.add(nid)
    change.nodes |= _mark(g, marks, k)
    change.edges |= {edge for edge, _c in marks.flows[k] if g.has_edge(*edge)}
    g.graph["step"] = (k, count)
    return change


def final_scale(
    outputs: Any, trace: BackwardTrace, *, view: str = TENSORS, names: Any = None, **options: Any
) -> Any:
    """The colour scale of the trace's last step, held for every step: a colour means the same
    gradient from the first step to the last (as Lock Scale holds it)."""
    from .style import fit_scale

    return fit_scale(step_graph(outputs, trace, len(trace) - 1, view=view, names=names), **options)


def _mark(g: nx.DiGraph, marks: StepMarks, k: int) -> set[str]:
    """Mark the node of step ``k`` current and label the edges its contributions travel."""
    current = marks.current[k]
    if current in g:
        g.nodes[current]["step"] = "current"
    for edge, c in marks.flows[k]:
        if g.has_edge(*edge):
            a = g.edges[edge]
            total = c.value if "flow_value" not in a else a["flow_value"] + c.value  # x * x: both
            a["flow_value"] = total
            a["flow"] = f"{_grad_of(g, edge[0])} += {flow_text(total)}"
    return {current} if current in g else set()


def _grad_of(g: nx.DiGraph, nid: str) -> str:
    """``∂L/∂w``: the gradient a node receives, named after its tensor where it is short (an
    AccumulateGrad after its leaf)."""
    a = g.nodes[nid]
    if a.get("type") == "accumulate":
        leaf = next((p for p in g.predecessors(nid) if g.nodes[p].get("type") == "tensor"), None)
        a = g.nodes[leaf] if leaf is not None else a
    name = a.get("name") or a.get("expr") or a.get("tensor_name") or ""
    if " " in name:
        name = f"({name})"
    return f"∂L/∂{name}" if name and len(name) <= 14 else "∂L"


def _autograd_id(ids: NodeIds, node: Any) -> str:
    return ids.get(node, "acc") if isinstance(node, AccumulateGrad) else ids.get(node, "op")


def describe_step(trace: BackwardTrace, k: int, name_of: Mapping[int, str]) -> list[str]:
    """Step ``k`` in words, one line per fact, as the stepper's panel and the animation say it:
    what arrived, each input's local derivative (its formula, then its numbers), the product
    sent down, and where a tensor's contributions add up, the running total. ``name_of``:
    ``{id(tensor): name}``."""
    step = trace[k]

    def called(t: Tensor | None, fallback: str) -> str:
        return name_of.get(id(t), fallback) if t is not None else fallback

    head = f"Step {step.index} of {len(trace) - 1}"
    if step.kind == START:
        out = called(trace.output, "")
        if step.incoming.size == 1 and float(step.incoming) == 1.0:
            one = f"∂{out}/∂{out} = 1" if out else "1"
            return [f"{head}: {out or 'the output'} receives its starting gradient, {one}"]
        out = out or "the output"
        return [f"{head}: {out} receives the gradient given to backward(), {flow_text(step.incoming)}"]
    if step.kind == ACCUMULATE:
        leaf = called(step.variable, "the leaf")
        after = flow_text(step.grad_after) if step.grad_after is not None else "?"
        if step.grad_before is None:
            sum_line = f"{leaf}.grad = {after} (it was None)"
        else:
            sum_line = f"{leaf}.grad = {flow_text(step.grad_before)} + {flow_text(step.incoming)} = {after}"
        return [f"{head}: AccumulateGrad adds what reached {leaf} into {leaf}.grad", sum_line]
    lines = [f"{head}: {step.name} receives ∂L/∂result = {flow_text(step.incoming)}"]
    if step.formula is not None and step.formula.statement:
        lines.append(step.formula.statement)
    elif step.formula is not None and step.formula.text:
        lines.append(step.formula.text)  # a rule in words (sum: copied to every element)
    for c in step.contributions:
        who = called(c.tensor, c.operand)
        if c.local is not None and c.formula:
            lines.append(
                f"to {who}: ∂result/∂{c.operand} = {c.formula} = {flow_text(c.local)}; "
                f"{flow_text(step.incoming)} × {flow_text(c.local)} = {flow_text(c.value)}"
            )
        elif c.formula and step.formula is not None and not step.formula.adjoint:
            # Elementwise, but the input was broadcast: the products are summed back to its shape.
            dims = summed_dims(tuple(step.incoming.shape), tuple(c.value.shape))
            lines.append(
                f"to {who}: ∂result/∂{c.operand} = {c.formula}; the products are summed over the "
                f"broadcast dims {dims} back to {shape_text(tuple(c.value.shape))}: {flow_text(c.value)}"
            )
        elif c.formula:
            shapes = shape_equation(c.formula, step, c.operand)
            lines.append(f"to {who}: ∂L/∂{c.operand} = {c.formula}{shapes} = {flow_text(c.value)}")
        else:
            lines.append(f"to {who}: {flow_text(c.value)}")
        if not c.first:
            lines.append(f"    {who} has now received {flow_text(c.total)} in all (+=)")
    return lines


def summed_dims(out_shape: tuple[int, ...], in_shape: tuple[int, ...]) -> list[int]:
    """The dims of the result a broadcast input did not have (or had as 1): its gradient is
    summed over them."""
    lead = len(out_shape) - len(in_shape)
    return [d for d in range(len(out_shape)) if d < lead or (in_shape[d - lead] == 1 and out_shape[d] != 1)]


_TOKEN = re.compile(r"∂L/∂result|[A-Za-z_][A-Za-z0-9_]*ᵀ?")


def shape_equation(expr: str, step: Step, operand: str) -> str:
    """``∂L/∂mat2 = inputᵀ·∂L/∂result`` with shapes: ``: [8, 3] = [8, 5] · [5, 3]``, from the
    formula's own words (each operand's shape, ᵀ swapping the last two); '' when a word is not
    a tensor of the node."""
    names = operand_names(step.node)
    shapes = {n: tuple(t.shape) for n, t in zip(names, step.node.inputs)}
    shapes["∂L/∂result"] = tuple(step.incoming.shape)
    parts: list[str] = []
    for token in _TOKEN.findall(expr):
        base = token.removesuffix("ᵀ")
        if base not in shapes or len(shapes[base]) == 0:
            return ""
        shape = shapes[base]
        if token.endswith("ᵀ") and len(shape) >= 2:
            shape = (*shape[:-2], shape[-1], shape[-2])
        parts.append(shape_text(shape))
    if len(parts) < 2:
        return ""
    mine = next((c for c in step.contributions if c.operand == operand), None)
    result = shape_text(tuple(mine.value.shape)) if mine is not None else "?"
    return f" : {result} = {' · '.join(parts)}"


# --- what a stepper steps through ---------------------------------------------------------------


@dataclass(frozen=True)
class BackwardPlan:
    """The steps of a backward pass, for the stepper: how many, their words, their graphs."""

    trace: BackwardTrace
    name_of: Mapping[int, str]

    @property
    def count(self) -> int:
        return len(self.trace)

    def words(self, k: int) -> list[str]:
        return describe_step(self.trace, k, self.name_of)

    def graph(self, outputs: Any, view: str, ids: NodeIds, k: int) -> nx.DiGraph:
        return step_graph(outputs, self.trace, k, view=view, ids=ids)

    def move(self, g: nx.DiGraph, k: int) -> StepChange:
        return move_step(g, self.trace, k)
