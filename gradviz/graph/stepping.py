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


def told(value: np.ndarray) -> str:
    """A gradient in the step's words: as on its edge, and when too big for its numbers, also
    the range of its values (the shape and norm alone hide a sign or an outlier)."""
    a = np.asarray(value)
    text = flow_text(a)
    if a.size <= SMALL or a.dtype.kind not in "fiu":
        return text
    finite = a[np.isfinite(a)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (None, None)
    if lo is not None and lo == hi:
        text += f", every element {format_number(lo)}"
    elif lo is not None:
        text += f", min {format_number(lo)}, max {format_number(hi)}"
    return text


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
        return [f"{head}: {out} receives the gradient given to backward(), {told(step.incoming)}"]
    if step.kind == ACCUMULATE:
        leaf = called(step.variable, "the leaf")
        after = told(step.grad_after) if step.grad_after is not None else "?"
        if step.grad_before is None:
            sum_line = f"{leaf}.grad = {after} (it was None)"
        else:
            sum_line = f"{leaf}.grad = {flow_text(step.grad_before)} + {flow_text(step.incoming)} = {after}"
        return [f"{head}: AccumulateGrad adds what reached {leaf} into {leaf}.grad", *_hooked(step), sum_line]
    lines = [f"{head}: {step.name} receives ∂L/∂result = {told(step.incoming)}", *_hooked(step)]
    if step.formula is not None and step.formula.statement:
        lines.append(step.formula.statement)
    elif step.formula is not None and step.formula.text:
        lines.append(step.formula.text)  # a rule in words (sum: copied to every element)
    for c in step.contributions:
        who = spoken(c.tensor, name_of) or c.operand
        if c.local is not None and c.formula:
            lines.append(
                f"to {who}: ∂result/∂{c.operand} = {c.formula} = {flow_text(c.local)}; "
                f"{flow_text(step.incoming)} × {flow_text(c.local)} = {told(c.value)}"
            )
        elif c.formula and step.formula is not None and not step.formula.adjoint:
            # Elementwise, but the input was broadcast: the products are summed back to its shape.
            dims = summed_dims(tuple(step.incoming.shape), tuple(c.value.shape))
            lines.append(
                f"to {who}: ∂result/∂{c.operand} = {c.formula}; the products are summed over the "
                f"broadcast dims {dims} back to {shape_text(tuple(c.value.shape))}: {told(c.value)}"
            )
        elif c.formula:
            shapes = shape_equation(c.formula, step, c.operand)
            # With shapes, the formula is all tensors: say it in the session's names.
            wrt, expr = (who, in_names(c.formula, step, name_of)) if shapes else (c.operand, c.formula)
            lines.append(f"to {who}: ∂L/∂{wrt} = {expr}{shapes} = {told(c.value)}")
        else:
            lines.append(f"to {who}: {told(c.value)}")
        if not c.first:
            lines.append(f"    {who} has now received {told(c.total)} in all (+=)")
    return lines


def _hooked(step: Step) -> list[str]:
    """A hook's change to what arrived, said: it is what travels on."""
    if step.before_hooks is None:
        return []
    return [
        f"a hook (register_hook) changed it from {flow_text(step.before_hooks)} to {flow_text(step.incoming)}"
    ]


def summed_dims(out_shape: tuple[int, ...], in_shape: tuple[int, ...]) -> list[int]:
    """The dims of the result a broadcast input did not have (or had as 1): its gradient is
    summed over them."""
    lead = len(out_shape) - len(in_shape)
    return [d for d in range(len(out_shape)) if d < lead or (in_shape[d - lead] == 1 and out_shape[d] != 1)]


_TOKEN = re.compile(r"∂L/∂result|[A-Za-z_][A-Za-z0-9_]*ᵀ?")


def _node_shapes(step: Step) -> dict[str, tuple[int, ...]]:
    shapes = {n: tuple(t.shape) for n, t in zip(operand_names(step.node), step.node.inputs)}
    shapes["∂L/∂result"] = tuple(step.incoming.shape)
    return shapes


def shape_equation(expr: str, step: Step, operand: str) -> str:
    """``∂L/∂mat2 = inputᵀ · ∂L/∂result`` with shapes: `` : [8, 3] = [8, 5] · [5, 3]``, each of
    the formula's tensors replaced by its shape (ᵀ swapping the last two dims), its operators
    kept; ``∂L/∂result summed to input's shape``: `` : [8] = [5, 8] summed over dim 0``.
    '' when a word of the formula is not a tensor of the node."""
    shapes = _node_shapes(step)
    mine = next((c for c in step.contributions if c.operand == operand), None)
    result = tuple(mine.value.shape) if mine is not None else None
    tokens = _TOKEN.findall(expr)
    words = [t for t in tokens if t.removesuffix("ᵀ") not in shapes]
    if words:
        incoming = shapes["∂L/∂result"]
        if "summed" in words and "∂L/∂result" in tokens and result is not None and result != incoming:
            dims = summed_dims(incoming, result)
            over = f"dim {dims[0]}" if len(dims) == 1 else "dims " + ", ".join(map(str, dims))
            return f" : {shape_text(result)} = {shape_text(incoming)} summed over {over}"
        return ""
    if len(tokens) < 2:
        return ""

    def shaped(m: re.Match[str]) -> str:
        token = m.group(0)
        shape = shapes[token.removesuffix("ᵀ")]
        if token.endswith("ᵀ") and len(shape) >= 2:
            shape = (*shape[:-2], shape[-1], shape[-2])
        return shape_text(shape)

    return f" : {shape_text(result) if result is not None else '?'} = {_TOKEN.sub(shaped, expr)}"


def in_names(expr: str, step: Step, name_of: Mapping[int, str]) -> str:
    """The formula in the session's names: ``inputᵀ · ∂L/∂result`` becomes ``xᵀ · ∂L/∂y`` for
    ``y = x @ W``; a word with no name (an intermediate) keeps its operand name."""
    said = {n: spoken(t, name_of) for n, t in zip(operand_names(step.node), step.node.inputs)}
    result = result_name(step, name_of)
    if result:
        said["∂L/∂result"] = f"∂L/∂{result}"

    def named(m: re.Match[str]) -> str:
        token = m.group(0)
        base, t = token.removesuffix("ᵀ"), token.endswith("ᵀ")
        name = said.get(base)
        if not name:
            return token
        if t:  # (Wᵀ)ᵀ is W
            return name.removesuffix("ᵀ") if name.endswith("ᵀ") else name + "ᵀ"
        return name

    return _TOKEN.sub(named, expr)


def result_name(step: Step, name_of: Mapping[int, str]) -> str:
    """What the session calls the tensor the step's node made ('' when it has no name, is gone,
    or was changed in place since, as matmul's squeeze changes its mm's result)."""
    out = step.node.output()
    shape, _ = step.node.output_meta
    if out is None or out.grad_fn is not step.node or tuple(out.shape) != tuple(shape):
        return ""
    return spoken(out, name_of)


def spoken(t: Tensor, name_of: Mapping[int, str]) -> str:
    """What the session calls ``t``: its name, or ``Wᵀ`` for the transpose of a named ``W``
    (F.linear's ``W.t()``); '' for another unnamed tensor."""
    if id(t) in name_of:
        return name_of[id(t)]
    f = t.grad_fn
    if f is not None and f.name() == "TBackward0" and f.inputs and id(f.inputs[0]) in name_of:
        return f"{name_of[id(f.inputs[0])]}ᵀ"
    return ""


@dataclass(frozen=True)
class Pictured:
    """A gradient of a step too big to read as numbers, to draw as a heatmap: ``caption`` says
    what it is and its shape (``∂L/∂y arriving [5, 8]``), ``value`` is 2-D (or 1-D)."""

    caption: str
    value: np.ndarray


def pictured(value: np.ndarray) -> bool:
    """Whether a gradient is drawn as a heatmap: 2-D or more, or more elements than its words
    give as numbers."""
    a = np.asarray(value)
    return a.size > 0 and (a.ndim >= 2 or a.size > SMALL)


def _as_picture(caption: str, value: np.ndarray) -> Pictured:
    a = np.asarray(value)
    shape = shape_text(tuple(a.shape))
    if a.ndim > 2:  # the leading dims become rows
        a = a.reshape(-1, a.shape[-1])
        shape += f" as {a.shape[0]} × {a.shape[1]}"
    return Pictured(f"{caption} {shape}", a)


def step_pictures(trace: BackwardTrace, k: int, name_of: Mapping[int, str]) -> list[Pictured]:
    """The gradients of step ``k`` worth a picture: what arrived, each input's local derivative
    and what it is sent (a leaf's step: its ``.grad`` after); none when all are small."""
    step = trace[k]
    if step.kind == START:
        out = name_of.get(id(trace.output), "the output")
        shown = [(f"∂L/∂{out} given", step.incoming)]
    elif step.kind == ACCUMULATE:
        leaf = name_of.get(id(step.variable), "leaf")
        shown = [(f"{leaf}.grad", step.grad_after)]
        if step.grad_before is not None:  # else what arrived is what .grad holds: once is enough
            shown = [(f"arriving at {leaf}", step.incoming), (f"{leaf}.grad after +=", step.grad_after)]
    else:
        result = result_name(step, name_of) or "result"
        shown = [(f"∂L/∂{result} arriving", step.incoming)]
        twice = len({id(c.tensor) for c in step.contributions}) < len(step.contributions)
        for c in step.contributions:
            who = spoken(c.tensor, name_of) or c.operand
            if twice and who != c.operand:  # x * x: which of its two roles
                who += f" as {c.operand}"
            if c.local is not None:
                shown.append((f"local ∂{result}/∂{who}", c.local))
            shown.append((f"to {who}", c.value))
    return [_as_picture(caption, v) for caption, v in shown if v is not None and pictured(v)]


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

    def pictures(self, k: int) -> list[Pictured]:
        return step_pictures(self.trace, k, self.name_of)

    def graph(self, outputs: Any, view: str, ids: NodeIds, k: int) -> nx.DiGraph:
        return step_graph(outputs, self.trace, k, view=view, ids=ids)

    def move(self, g: nx.DiGraph, k: int) -> StepChange:
        return move_step(g, self.trace, k)
