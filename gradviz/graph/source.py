"""Where a graph's tensors come from: a session's named tensors, or tensors handed in from
outside (``gradviz.show(t)``). Each source takes a snapshot on the caller's thread and returns a
builder that makes the networkx model on any thread, with node ids that stay the same across a
replay, so a canvas can keep nodes in their places. Qt-free: the GUI and headless tools share it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import networkx as nx
import numpy as np

from ..engine.function import AccumulateGrad, Node
from ..engine.tensor import Tensor
from .colors import grad_stats
from .model import TENSORS, NodeIds, build_graph, preview
from .torch_graph import ReadMemo, torch_outputs


class SessionLike(Protocol):
    """What a :class:`SessionSource` reads of a session (the session layer sits above this one)."""

    def tensors(self, include_hidden: bool = True) -> dict[str, Tensor]: ...
    def tensor(self, name: str) -> Tensor: ...
    def names(self) -> list[str]: ...
    def info(self, name: str) -> Any: ...
    def __contains__(self, name: object) -> bool: ...


class BuildIds(NodeIds):
    """Node ids for one build: ``t:7``, ``op:7``, ``acc:3`` from the session's uids, so that a node
    keeps its id across undo, redo and edits (which replay the log into new tensor objects).
    Nodes no session tensor owns (the steps inside ``linear``, wrapped numbers) are named by
    their path from one that does (``op:7.2``), which a replay keeps too."""

    def __init__(
        self, fallback: NodeIds, lock: threading.Lock, uids: dict[int, int], paths: dict[int, str]
    ) -> None:
        super().__init__()
        self.fallback, self.lock, self.uids, self.paths = fallback, lock, uids, paths

    def get(self, obj: object, prefix: str) -> str:
        key = obj.variable if isinstance(obj, AccumulateGrad) else obj
        uid: int | str | None = self.uids.get(id(key)) if isinstance(key, Tensor) else None
        if uid is None and isinstance(key, Node) and not isinstance(key, AccumulateGrad):
            out = key.output()
            if out is not None and out.grad_fn is key:
                uid = self.uids.get(id(out))
        if uid is None:
            uid = self.paths.get(id(key))
        if uid is not None:
            return f"{prefix}:{uid}"
        with self.lock:
            return self.fallback.get(obj, prefix)


def _paths(roots: list[tuple[int, Tensor]], uids: dict[int, int]) -> dict[int, str]:
    """``id(node or tensor) -> path`` for what the session's tensors were computed through."""
    paths: dict[int, str] = {}
    for uid, t in sorted(roots, key=lambda r: r[0]):
        if t.grad_fn is None:
            continue
        stack = [(t.grad_fn, str(uid))]
        while stack:
            node, path = stack.pop()
            for i, x in enumerate(node.inputs):
                if id(x) not in uids and id(x) not in paths:
                    paths[id(x)] = f"{path}<{i}"
            for i, (fn, _) in enumerate(node.next_functions):
                if fn is None or isinstance(fn, AccumulateGrad) or id(fn) in paths:
                    continue
                out = fn.output()
                if out is not None and out.grad_fn is fn and id(out) in uids:
                    continue
                paths[id(fn)] = f"{path}.{i}"
                stack.append((fn, f"{path}.{i}"))
    return paths


Builder = Callable[[str], "tuple[nx.DiGraph, dict[str, str]]"]

GROWING_ENTRIES = frozenset({"leaf", "op"})  # log entries that only add tensors (Entry.kind)


class _Drawn:
    """What a session's last tensors-view graph was built from: the log, and each tensor's
    uid, object and visibility. A session whose log has only grown since by leaves and ops
    (no undo, edit, rename, delete, backward or loop, each of which replays or changes what
    is there), or not at all (a colour setting changed), still holds those very tensors,
    unchanged: their nodes can be kept."""

    def __init__(
        self, entries: tuple, everything: dict[str, Tensor], uid_of: dict[str, int], visible: set[str]
    ):
        self.entries = entries
        self.tensors = {n: (uid_of[n], t, n in visible) for n, t in everything.items()}

    def grown_into(
        self, entries: tuple, everything: dict[str, Tensor], uid_of: dict[str, int], visible: set[str]
    ) -> bool:
        old = self.entries
        if len(entries) < len(old) or any(a is not b for a, b in zip(old, entries)):
            return False
        if any(getattr(e, "kind", None) not in GROWING_ENTRIES for e in entries[len(old) :]):
            return False
        for n, (uid, t, shown) in self.tensors.items():
            if everything.get(n) is not t or uid_of[n] != uid or (n in visible) != shown:
                return False
        return True


class _GrowingGraph:
    """A session's tensors-view model graph, kept between builds and grown by the entries
    added since (``build_graph(grow=)``) instead of built again: one op more on a session of
    thousands of nodes makes a few nodes, not all of them. The kept graph is private; each
    build hands out a copy, which the canvas and its colouring may change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._graph: nx.DiGraph | None = None
        self._drawn: _Drawn | None = None

    def build(
        self, drawn: _Drawn, grows: Callable[[_Drawn], bool], make: Callable[[nx.DiGraph | None], nx.DiGraph]
    ) -> nx.DiGraph:
        """``make(None)``: the graph built afresh; ``make(g)``: ``g`` grown. ``grows(last)``:
        whether what is drawn now grew from ``last``."""
        with self._lock:
            last, g = self._drawn, self._graph
            self._graph = self._drawn = None  # until this build is done (it may fail)
            g = make(g if last is not None and g is not None and grows(last) else None)
            self._graph, self._drawn = g, drawn
            return g.copy()


class SessionSource:
    """The canvas's view of a :class:`Session`: every named tensor, and what each node is called."""

    editable = True

    def __init__(self, session: SessionLike) -> None:
        self.session = session
        self._fallback = NodeIds()
        self._lock = threading.Lock()
        # Gradients checked by nudging: name -> True (agrees) or False; drawn as a badge.
        self.checks: dict[str, bool] = {}
        # A past training step shown instead of the present (the Training panel's scrubber):
        # name -> that step's value and gradient, or None for a tensor that step did not make.
        # The graph's shape stays the present one.
        self.past: dict[str, tuple[np.ndarray, np.ndarray | None] | None] | None = None
        self._growing = _GrowingGraph()

    def with_past(self, past: dict[str, tuple[np.ndarray, np.ndarray | None] | None]) -> SessionSource:
        """The same session, showing ``past`` (a training step's values) instead of the present."""
        other = SessionSource(self.session)
        other.past = past
        return other

    def snapshot(self) -> Builder:
        """On the GUI thread: what the session holds now. The returned builder makes the graph
        (on any thread) from that snapshot, whatever the session does meanwhile."""
        s = self.session
        everything = s.tensors(include_hidden=True)
        uid_of = {n: s.info(n).uid for n in everything}
        visible = s.tensors(include_hidden=False)
        kept = {uid_of[n] for n in everything if s.info(n).session_retained}
        checked = {uid_of[n]: ok for n, ok in self.checks.items() if n in uid_of}
        params = {uid_of[n] for n in everything if getattr(s.info(n), "is_parameter", False)}
        fallback, lock = self._fallback, self._lock
        past = {
            n: None if vg is None else everything[n].as_of(*vg)
            for n, vg in (self.past or {}).items()
            if n in everything
        }

        entries = getattr(s, "entries", None)  # a session's log (SessionLike need not have one)
        shown = set(visible)

        def build(view: str) -> tuple[nx.DiGraph, dict[str, str]]:
            uids = {id(t): uid_of[n] for n, t in everything.items()}
            name_of = {uid_of[n]: n for n in everything}
            ids = BuildIds(
                fallback, lock, uids, _paths([(uid_of[n], t) for n, t in everything.items()], uids)
            )
            if view == TENSORS and entries is not None and type(self).graph is SessionSource.graph:
                g = self._growing.build(
                    _Drawn(entries, everything, uid_of, shown),
                    lambda last: last.grown_into(entries, everything, uid_of, shown),
                    lambda grow: build_graph(visible, view=view, ids=ids, grow=grow),
                )
            else:
                g = self.graph(visible, view, ids)
            names = {}
            for nid in g:
                _, sep, uid = nid.partition(":")
                if sep and uid.isdigit() and int(uid) in name_of and g.nodes[nid].get("type") != "op":
                    names[nid] = name_of[int(uid)]
                    if int(uid) in kept and g.nodes[nid].get("type") == "tensor":
                        g.nodes[nid]["kept_by_gradviz"] = True  # PyTorch would not keep it
                    if int(uid) in checked and g.nodes[nid].get("type") == "tensor":
                        g.nodes[nid]["grad_check"] = checked[int(uid)]
                    if int(uid) in params and g.nodes[nid].get("type") == "tensor":
                        g.nodes[nid]["parameter"] = True  # a module's: its box holds it
            for nid, name in names.items():
                if name in past and g.nodes[nid].get("type") == "tensor":
                    show_as_of(g.nodes[nid], past[name])
            return g, names

        return build

    def graph(self, visible: dict[str, Tensor], view: str, ids: NodeIds) -> nx.DiGraph:
        """The model graph of the session's visible tensors (on the builder's thread)."""
        return build_graph(visible, view=view, ids=ids)

    def tensor(self, name: str) -> Tensor | None:
        if name not in self.session:
            return None
        t = self.session.tensor(name)
        if self.past is not None and self.past.get(name) is not None:
            return t.as_of(*self.past[name])
        return t

    def names(self) -> list[str]:
        """Visible names in the order the tensors were made (a rename keeps the place)."""
        s = self.session
        return sorted(s.names(), key=lambda n: s.info(n).uid)

    def info(self, name: str) -> Any:
        return self.session.info(name) if name in self.session else None


def show_as_of(attrs: dict[str, Any], then: Tensor | None) -> None:
    """A tensor node's attributes showing ``then`` (a past step's stand-in) instead of the
    present; None: that step did not make this tensor (an ``if`` made its graph otherwise)."""
    if then is None:
        attrs.update(value="(not made at this step)", grad="None", grad_stats=grad_stats(None, False))
        attrs["tensor"] = None
        return
    grad = then.peek_grad()
    garr = None if grad is None else grad.peek_array()
    attrs["value"] = preview(then.peek_array())
    attrs["grad"] = "None" if garr is None else preview(garr)
    attrs["grad_stats"] = grad_stats(garr, attrs.get("requires_grad", True))
    attrs["tensor"] = then


class TensorsSource:
    """Tensors from outside a session (``gradviz.show(t)``): drawn, never edited. ``record``:
    what a ``gradviz.capture`` saw of a PyTorch graph (by default the last capture's)."""

    editable = False
    session = None

    def __init__(
        self,
        outputs: Any,
        names: Mapping[str, Tensor] | None = None,
        record: Any = None,
        ids: NodeIds | None = None,
    ) -> None:
        self.outputs = outputs
        self.named: dict[str, Tensor] = dict(names or {})
        if isinstance(outputs, Mapping):
            self.named.update(outputs)
        self.record = record
        self._ids = ids if ids is not None else NodeIds()
        self._lock = threading.Lock()
        # A past training step (``gradviz.watch``'s scrubber): name -> that step's value and
        # gradient, shown instead of the present; the graph and the other tensors stay as they are.
        self.past: dict[str, tuple[np.ndarray, np.ndarray | None] | None] | None = None

    def with_past(self, past: dict[str, tuple[np.ndarray, np.ndarray | None] | None]) -> TensorsSource:
        """The same tensors, showing ``past`` (a step's values) instead of the present."""
        other = TensorsSource(self.outputs, self.named, self.record)
        other.past = past
        return other

    def snapshot(self) -> Builder:
        # PyTorch's: the views of one snapshot read each node and leaf once (the window builds
        # the Tensors view beside the autograd one, for its colours).
        memo = ReadMemo() if torch_outputs(self.outputs) else None
        past = {
            n: self.tensor(n) for n, vg in (self.past or {}).items() if vg is not None and n in self.named
        }

        def build(view: str) -> tuple[nx.DiGraph, dict[str, str]]:
            with self._lock:
                if self.record is not None:
                    from .torch_graph import build_torch_graph

                    g = build_torch_graph(
                        self.outputs,
                        view=view,
                        names=self.named,
                        ids=self._ids,
                        record=self.record,
                        memo=memo,
                    )
                else:
                    g = build_graph(self.outputs, view=view, names=self.named, ids=self._ids, memo=memo)
            by_id = {id(t): n for n, t in self.named.items()}
            names = {}
            for nid, a in g.nodes(data=True):
                # A PyTorch tensor's node holds its stand-in (torch_graph.TorchTensorView).
                t = getattr(a.get("tensor"), "torch_tensor", a.get("tensor"))
                if t is not None and id(t) in by_id:
                    names[nid] = by_id[id(t)]
            for nid, name in names.items():
                if name in past and g.nodes[nid].get("type") == "tensor":
                    show_as_of(g.nodes[nid], past[name])
            return g, names

        return build

    def tensor(self, name: str) -> Tensor | None:
        t = self.named.get(name)
        if t is not None and not isinstance(t, Tensor):  # PyTorch's: shown through its stand-in
            from .torch_graph import view_of

            t = view_of(t)
        if t is not None and self.past is not None and self.past.get(name) is not None:
            return t.as_of(*self.past[name])
        return t

    def names(self) -> list[str]:
        return list(self.named)

    def info(self, name: str) -> Any:
        return None


class StepSource(SessionSource):
    """A session drawn as it stands after step ``k`` of a plan (``stepping.BackwardPlan``: each
    tensor shows what has reached it so far, the step's node is marked and its contributions
    label their edges; ``ForwardPlan``: what is computed so far). Nothing is edited meanwhile."""

    editable = False

    def __init__(self, session: SessionLike, plan: Any, k: int = 0) -> None:
        super().__init__(session)
        self.plan = plan
        self.k = k

    def graph(self, visible: dict[str, Tensor], view: str, ids: NodeIds) -> nx.DiGraph:
        return self.plan.graph(visible, view, ids, self.k)
