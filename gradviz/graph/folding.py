"""Fold the runs that ``repeats.py`` finds: each drawn as one group node "× 300", with the
gradient norm entering each repetition kept for a sparkline, and opened on request.

:class:`FoldState` says what is open: whole runs, or single repetitions of a run (the rest of
the run stays folded, before and after the open one). :func:`fold` returns a new model graph;
nodes it keeps keep their ids and attributes, so a layout can keep their places across a fold
and unfold. A group's id comes from the first node of its first repetition (``repeat:op7``):
the same run folds to the same id every time. Edges into and out of a group are kept once
each, so a shared input such as ``w`` has one edge to the group, not three hundred.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from .colors import FINITE, ZERO
from .repeats import Run, find_repeats

REPEAT = "repeat"  # the node type of a group
# Graphs up to this size are drawn whole by default: a teaching example of twelve layers is
# read node by node (each layer's colour is the lesson), and dot lays it out in a moment.
# Above it the picture stops fitting a screen, and a loop is better read as "× 300".
FOLD_MIN_NODES = 150
BODY_TEXT_MAX = 34


@dataclass
class FoldState:
    """Which runs are shown whole (``open``) and which single repetitions (``open_reps``)."""

    open: set[str] = field(default_factory=set)
    open_reps: dict[str, set[int]] = field(default_factory=dict)
    closed_modules: set[str] = field(default_factory=set)  # module calls drawn as one box (ids)

    def expand(self, run: str) -> None:
        self.open.add(run)
        self.open_reps.pop(run, None)

    def expand_one(self, run: str, index: int) -> None:
        self.open_reps.setdefault(run, set()).add(index)

    def collapse(self, run: str) -> None:
        self.open.discard(run)
        self.open_reps.pop(run, None)

    def collapse_module(self, gid: str) -> None:
        self.closed_modules.add(gid)

    def expand_module(self, gid: str) -> None:
        self.closed_modules.discard(gid)

    def copy(self) -> FoldState:
        return FoldState(
            set(self.open), {k: set(v) for k, v in self.open_reps.items()}, set(self.closed_modules)
        )

    def key(self) -> tuple:
        """Hashable: the same state, the same key (a layout can be kept per state)."""
        return (
            frozenset(self.open),
            frozenset((k, frozenset(v)) for k, v in self.open_reps.items() if v),
            frozenset(self.closed_modules),
        )


def group_id(run: Run, start: int) -> str:
    """The id of the group that folds repetitions ``start``.. of ``run``: the run's own id for
    the whole run (or its start), else marked with where it starts."""
    return run.id if start == 0 else f"{run.id}@{start}"


def _norm(a: Mapping[str, Any] | None) -> float | None:
    s = (a or {}).get("grad_stats")
    if s is None or s.state not in (FINITE, ZERO):
        return None
    return float(s.value("norm"))


def carry_norm(
    g: nx.DiGraph, v: Hashable, grads: Mapping[Hashable, float | None] | None = None
) -> float | None:
    """The L2 norm of the gradient that node ``v`` (a repetition's last step) receives: its own
    for a tensor, its result's for an op, ``grads[v]`` for what has none (the autograd view)."""
    a = g.nodes[v]
    if a.get("type") == "tensor":
        return _norm(a)
    if a.get("type") == "op":
        for s in g.successors(v):
            if g.nodes[s].get("type") == "tensor":
                return _norm(g.nodes[s])
    return grads.get(v) if grads else None


def op_grad_norms(tensors_graph: nx.DiGraph) -> dict[Hashable, float | None]:
    """``{op id: its result's grad norm}`` from a Tensors-view graph, for the autograd view of
    the same computation (built with the same ids: a backward node has its op's id)."""
    out: dict[Hashable, float | None] = {}
    for v, a in tensors_graph.nodes(data=True):
        if a.get("type") == "op":
            out[v] = carry_norm(tensors_graph, v)
    return out


def body_ops(g: nx.DiGraph, block: Iterable[Hashable]) -> list[str]:
    """The op names of one repetition in the order they ran."""
    order = list(nx.lexicographical_topological_sort(g.subgraph(block), key=str))
    ops = [v for v in order if g.nodes[v].get("type") in ("op", "backward", "accumulate")]
    return [str(g.nodes[v].get("op") or g.nodes[v].get("label", "")) for v in ops]


def body_text(ops: list[str], limit: int = BODY_TEXT_MAX) -> str:
    """``mul → add → tanh``; a step repeated inside reads ``(mul → tanh) ×5``."""
    parts: list[str] = []
    i = 0
    while i < len(ops):
        best = (1, 1)  # (period, count)
        for p in range(1, 5):
            c = 1
            while ops[i + c * p : i + (c + 1) * p] == ops[i : i + p] and i + (c + 1) * p <= len(ops):
                c += 1
            if c > 1 and c * p > best[0] * best[1]:
                best = (p, c)
        p, c = best
        unit = " → ".join(ops[i : i + p])
        parts.append(unit if c == 1 else (f"({unit}) ×{c}" if p > 1 else f"{unit} ×{c}"))
        i += p * c
    text = " → ".join(parts)
    return text if len(text) <= limit else text[: limit - 1].rstrip(" →") + "…"


MODULE = "module"  # the node type of a collapsed nn.Module call


@dataclass(frozen=True)
class ModuleGroup:
    """What one ``nn.Module`` call made: its ops, the tensors used only inside it, and its
    parameters when nothing else uses them. Its result stays outside, drawn as before."""

    key: str  # the call, from the ops' ``scope`` (see model.scope_levels)
    label: str  # ``fc1 (Linear)``
    depth: int  # 0 for the outermost module
    id: str  # ``module:``, its first node and its depth: what FoldState.closed_modules holds
    nodes: tuple[Hashable, ...]


def _is_parameter(a: Mapping[str, Any]) -> bool:
    """An ``nn.Parameter``, or a session tensor its source marks as a module's (``parameter``)."""
    return bool(a.get("parameter")) or type(a.get("tensor")).__name__ == "Parameter"


def module_groups(g: nx.DiGraph) -> list[ModuleGroup]:
    """Every module call in ``g`` (ops carry their calls as ``scope``), outermost first."""
    ops: dict[str, list[Hashable]] = {}
    info: dict[str, tuple[str, int]] = {}
    for v, a in g.nodes(data=True):
        for depth, (key, label) in enumerate(a.get("scope") or ()):
            ops.setdefault(key, []).append(v)
            info[key] = (label, depth)
    if not ops:
        return []
    topo = {v: i for i, v in enumerate(nx.topological_sort(g))}
    out = []
    for key, members in ops.items():
        inside = set(members)
        for op in members:  # tensors made and used only inside
            for t in g.successors(op):
                a = g.nodes[t]
                internal = a.get("type") == "tensor" and not a.get("is_output") and not a.get("name")
                if internal and g.out_degree(t) and all(s in inside for s in g.successors(t)):
                    inside.add(t)
        for op in members:  # its parameters (and their AccumulateGrad), if only it uses them
            for u in list(g.predecessors(op)):
                a = g.nodes[u]
                if a.get("type") == "accumulate" and all(s in inside for s in g.successors(u)):
                    leaf = next(iter(g.predecessors(u)), None)
                    if leaf is not None and _is_parameter(g.nodes[leaf]) and g.out_degree(leaf) == 1:
                        inside.update((u, leaf))
                elif _is_parameter(a) and all(s in inside for s in g.successors(u)):
                    inside.add(u)
        nodes = tuple(sorted(inside, key=topo.__getitem__))
        label, depth = info[key]
        # Named by its first node, which a replay keeps (the call's key does not), and depth.
        out.append(ModuleGroup(key, label, depth, f"{MODULE}:{nodes[0]}:{depth}", nodes))
    return sorted(out, key=lambda m: (m.depth, topo[m.nodes[0]]))


def _module_attrs(g: nx.DiGraph, m: ModuleGroup) -> dict[str, Any]:
    # What the call computed: its parameters' AccumulateGrad sinks are counted as parameters.
    ops = body_ops(g, [v for v in m.nodes if g.nodes[v].get("type") != "accumulate"])
    params = sum(1 for v in m.nodes if _is_parameter(g.nodes[v]))
    counts = f"{len(ops)} op{'s' if len(ops) != 1 else ''}" + (
        f", {params} parameter{'s' if params != 1 else ''}" if params else ""
    )
    return {
        "type": MODULE,
        "kind": MODULE,
        "label": m.label,
        "name": "",
        "key": m.key,
        "module": m.id,
        "body": tuple(ops),
        "body_text": body_text(ops),
        "counts": counts,
        "nodes": len(m.nodes),
        "tooltip": f"{m.label}: {' → '.join(ops)} ({counts})",
    }


def active_runs(runs: list[Run], state: FoldState) -> list[Run]:
    """The runs that show: the outermost, and those inside an open run or repetition."""
    by_id = {r.id: r for r in runs}

    def shown(r: Run) -> bool:
        if r.parent is None:
            return True
        pid, i = r.parent
        p = by_id.get(pid)
        return p is not None and shown(p) and (pid in state.open or i in state.open_reps.get(pid, ()))

    return [r for r in runs if shown(r)]


def fold(
    g: nx.DiGraph,
    runs: list[Run] | None = None,
    state: FoldState | None = None,
    grads: Mapping[Hashable, float | None] | None = None,
    min_nodes: int = 0,
) -> nx.DiGraph:
    """``g`` with each closed run (or stretch of closed repetitions) replaced by a group node.
    ``runs``: from :func:`find_repeats` (found here when None); ``grads``: see :func:`carry_norm`;
    ``min_nodes``: a graph this small or smaller is returned as it is."""
    if g.number_of_nodes() <= min_nodes:
        return g
    runs = find_repeats(g) if runs is None else runs
    state = state or FoldState()
    hidden: dict[Hashable, str] = {}
    groups: dict[str, dict[str, Any]] = {}
    for run in active_runs(runs, state):
        if run.id in state.open:
            continue
        opened = state.open_reps.get(run.id, set())
        i = 0
        while i < run.count:
            if i in opened:
                i += 1
                continue
            j = i
            while j < run.count and j not in opened:
                j += 1
            gid = group_id(run, i)
            for b in run.blocks[i:j]:
                for v in b:
                    hidden.setdefault(v, gid)
            groups[gid] = _group_attrs(g, run, i, j, grads)
            i = j
    if state.closed_modules:
        for m in module_groups(g):
            # Not one already folded (all or part of it) into a loop, or into an outer module.
            if m.id in state.closed_modules and not any(v in hidden for v in m.nodes):
                for v in m.nodes:
                    hidden[v] = m.id
                groups[m.id] = _module_attrs(g, m)
    if not groups:
        return g
    out = nx.DiGraph()
    out.graph.update(g.graph)
    out.graph["folded"] = True
    for v, a in g.nodes(data=True):
        if v in hidden:
            gid = hidden[v]
            if gid not in out:
                out.add_node(gid, **groups[gid])
        else:
            out.add_node(v, **a)
    for u, v, a in g.edges(data=True):
        su, sv = hidden.get(u, u), hidden.get(v, v)
        if su == sv:
            continue
        if out.has_edge(su, sv):
            out.edges[su, sv]["bundled"] += 1
        else:
            out.add_edge(su, sv, **{**a, "bundled": 1})
    out.graph["outputs"] = [hidden.get(v, v) for v in g.graph.get("outputs", [])]
    out.graph["folded_into"] = hidden  # node -> the group drawn for it
    return out


def _group_attrs(
    g: nx.DiGraph, run: Run, start: int, stop: int, grads: Mapping[Hashable, float | None] | None
) -> dict[str, Any]:
    ops = body_ops(g, run.blocks[start])
    norms = tuple(carry_norm(g, run.carries[i], grads) for i in range(start, stop))
    known = [v for v in norms if v is not None and math.isfinite(v)]
    n = stop - start
    where = "" if (start, stop) == (0, run.count) else f" (repetitions {start + 1}–{stop} of {run.count})"
    carry = g.nodes[run.carries[start]]
    return {
        "type": REPEAT,
        "kind": REPEAT,
        "label": f"× {n}",
        "name": "",
        "run": run.id,
        "start": start,
        "stop": stop,
        "total": run.count,
        "count": n,
        "nodes": sum(len(b) for b in run.blocks[start:stop]),
        "body": tuple(ops),
        "body_text": body_text(ops),
        "grad_norms": norms,
        "grad_first": known[0] if known else None,
        "grad_last": known[-1] if known else None,
        "shape": tuple(carry.get("shape") or ()),
        "tooltip": f"{n} repetitions of {' → '.join(ops)}{where}",
    }


def folded_view(
    g: nx.DiGraph,
    state: FoldState | None = None,
    tensors_graph: nx.DiGraph | None = None,
    runs: list[Run] | None = None,
    min_nodes: int = FOLD_MIN_NODES,
) -> nx.DiGraph:
    """:func:`fold` for either view, graphs larger than ``min_nodes`` only: the autograd view
    reads its sparklines from ``tensors_graph`` (the Tensors view of the same computation, with
    the same ids)."""
    if g.number_of_nodes() <= min_nodes:
        return g
    grads = op_grad_norms(tensors_graph) if tensors_graph is not None and tensors_graph is not g else None
    return fold(g, runs, state, grads)
