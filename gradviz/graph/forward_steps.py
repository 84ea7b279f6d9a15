"""The forward pass, drawn one op at a time: the graph after the first K ops ran, in the order
the engine ran them (values appear as they are computed; nothing has a gradient yet).

A built graph notes which nodes each op marks (``g.graph["forward_marks"]``), so that
:func:`move_forward` takes it to another step by changing only those: the stepper's canvas
redraws a handful of nodes, not the whole graph.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx

from ..engine.function import AccumulateGrad, Node
from ..engine.tensor import Tensor
from .model import TENSORS, NodeIds, build_graph, op_label, preview, shape_text
from .stepping import SMALL, Pictured, StepChange


def forward_ops(outputs: Tensor | Iterable[Tensor] | Mapping[str, Tensor]) -> list[Node]:
    """The ops that computed ``outputs``, in the order they ran (the engine numbers nodes as it
    makes them); a composite call (F.linear) is one op, as the Tensors view draws it."""
    roots = (
        list(outputs.values())
        if isinstance(outputs, Mapping)
        else ([outputs] if isinstance(outputs, Tensor) else list(outputs))
    )
    seen: dict[int, Node] = {}
    stack = [t.grad_fn for t in roots if t.grad_fn is not None]
    while stack:
        n = stack.pop()
        if n is None or id(n) in seen or isinstance(n, AccumulateGrad):
            continue
        seen[id(n)] = n
        stack.extend(f for f, _ in n.next_functions)
    inside = {id(m) for n in seen.values() if n.composite is not None for m in n.composite.internal_nodes(n)}
    return sorted((n for n in seen.values() if id(n) not in inside), key=lambda n: n._seq)


def forward_graph(
    outputs: Tensor | Iterable[Tensor] | Mapping[str, Tensor],
    ops: list[Node],
    k: int,
    *,
    view: str = TENSORS,
    names: Mapping[str, Tensor] | Mapping[int, str] | None = None,
    ids: NodeIds | None = None,
) -> nx.DiGraph:
    """The graph after ``k`` ops of the forward pass ran (0: only the leaves are there): the
    results not computed yet are marked ``step="future"``, the op that just ran ``current``.
    Gradients are not shown: forward makes none."""
    ids = ids if ids is not None else NodeIds()
    g = build_graph(outputs, view=view, names=names, ids=ids, grads=lambda key: None)
    at = {id(n): i for i, n in enumerate(ops)}
    marks = ForwardMarks([ids.get(n, "op") for n in ops], [[] for _ in ops])
    for nid, a in g.nodes.items():
        a.pop("kept_by_gradviz", None)
        key = a.get("tensor")
        if a.get("type") == "tensor" and key is not None and id(key.grad_fn) in at:
            marks.results[at[id(key.grad_fn)]].append(nid)
    g.graph["forward_marks"] = marks
    k = max(0, min(k, len(ops)))
    for a in g.nodes.values():
        if a.get("type") == "tensor":
            a["step"] = "computed"  # forward makes no gradients: its nodes say none
    for i in range(len(ops)):
        _mark_op(g, marks, i, k)
    g.graph["step"] = (k, len(ops) + 1)
    return g


@dataclass(frozen=True)
class ForwardMarks:
    """Where each op of the forward pass shows in one built graph: its node, and the tensor
    nodes of its result."""

    ops: list[str]
    results: list[list[str]]


def _mark_op(g: nx.DiGraph, marks: ForwardMarks, i: int, k: int) -> set[str]:
    """Give op ``i`` and its results the marks of step ``k``; the node ids marked."""
    oid = marks.ops[i]
    marked = set(marks.results[i])
    if oid in g:
        marked.add(oid)
        a = g.nodes[oid]
        if i >= k:
            a["step"] = "future"
        elif i == k - 1:
            a["step"] = "current"
        else:
            a.pop("step", None)
    for nid in marks.results[i]:
        g.nodes[nid]["step"] = "future" if i >= k else "computed"
    return marked


def move_forward(g: nx.DiGraph, k: int) -> StepChange:
    """Take a graph made by :func:`forward_graph` to step ``k`` in place; what changed."""
    marks: ForwardMarks = g.graph["forward_marks"]
    j, count = g.graph["step"]
    k = max(0, min(k, count - 1))
    change = StepChange()
    if j == k:
        return change
    touched = set(range(min(j, k), max(j, k))) | {j - 1, k - 1}
    for i in sorted(touched):
        if 0 <= i < len(marks.ops):
            change.nodes |= _mark_op(g, marks, i, k)
    g.graph["step"] = (k, count)
    return change


def describe_forward(ops: list[Node], k: int, name_of: Mapping[int, str]) -> list[str]:
    """Forward step ``k`` in words: which op ran, on what, and the value it made."""
    total = len(ops)
    if k == 0:
        return [f"Forward, step 0 of {total}: the leaves hold their values; nothing is computed yet"]
    n = ops[k - 1]
    out = n.output()
    who = name_of.get(id(out), "") if out is not None else ""
    label = n.composite.name if n.composite is not None else op_label(n.name())

    def spelled(t: Tensor, depth: int) -> str:  # an unnamed input as the call that made it
        if id(t) in name_of:
            return name_of[id(t)]
        f = t.grad_fn
        if f is None or depth > 2:
            return preview(t.peek_array(), 1) if t.numel() == 1 else shape_text(tuple(t.shape))
        return f"{op_label(f.name())}({', '.join(spelled(x, depth + 1) for x in f.inputs)})"

    inputs = ", ".join(spelled(t, 0) for t in n.inputs)
    value = preview(out.peek_array(), SMALL) if out is not None else "(changed in place since)"
    made = f"{who} = {value}" if who else value
    return [f"Forward, step {k} of {total}: {label}({inputs}) computes {made}"]


@dataclass(frozen=True)
class ForwardPlan:
    """The steps of the forward pass: step 0 holds the leaves, step k the first k ops' results."""

    ops: list[Node]
    name_of: Mapping[int, str]

    @property
    def count(self) -> int:
        return len(self.ops) + 1

    def words(self, k: int) -> list[str]:
        return describe_forward(self.ops, k, self.name_of)

    def pictures(self, k: int) -> list[Pictured]:
        return []  # forward makes no gradients

    def graph(self, outputs: Any, view: str, ids: NodeIds, k: int) -> nx.DiGraph:
        return forward_graph(outputs, self.ops, k, view=view, ids=ids)

    def move(self, g: nx.DiGraph, k: int) -> StepChange:
        return move_forward(g, k)
