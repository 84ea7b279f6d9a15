"""A PyTorch snapshot: what a real PyTorch graph looked like, kept as plain data.

:func:`take_snapshot` reads live torch tensors (in the process that ran the user's script) into
a :class:`Snapshot`: the model graph of both views, as :class:`~gradviz.graph.source.TensorsSource`
draws them, with each torch tensor replaced by a :class:`SnapshotTensor` (its value and gradient
as numpy arrays, its dtype, shape and PyTorch's own repr text). A snapshot needs no torch to be
drawn: :class:`SnapshotSource` shows it in the window, viewable but not replayable (nothing in it
can be run again or edited). ``gradviz.session.snapshot_file`` saves and reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from .colors import grad_stats
from .model import VIEWS, NodeIds
from .source import TensorsSource
from .torch_capture import last_record
from .torch_graph import _Output, to_numpy

NOTE = "PyTorch snapshot — viewable, not replayable"


# --- the stand-ins ---------------------------------------------------------------------------------


class SnapshotDtype:
    """A torch dtype by name: prints as PyTorch does (``torch.float32``)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SnapshotDtype) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)


class SnapshotSize(tuple):
    """A shape that prints as ``torch.Size([5, 3])``."""

    def __repr__(self) -> str:
        return f"torch.Size([{', '.join(str(s) for s in self)}])"


class _FnName:
    """A backward node's name and the gradient gradviz kept for its tensor (the inspector's note)."""

    def __init__(self, name: str, kept: np.ndarray | None) -> None:
        self._name, self._kept = name, kept

    def name(self) -> str:
        return self._name

    def kept_grad(self, tensor: Any = None) -> np.ndarray | None:
        return self._kept


@dataclass(eq=False)
class SnapshotTensor:
    """A PyTorch tensor as it was: the methods the inspector and panels call on a tensor
    (``peek_array``, ``peek_grad``, ``is_leaf`` ...), answered from what was kept. ``repr`` is
    the text PyTorch printed for it."""

    array: np.ndarray
    dtype_name: str
    text: str  # repr(tensor), as PyTorch printed it
    is_leaf: bool = True
    requires_grad: bool = False
    retains_grad: bool = False
    grad_fn_name: str | None = None
    grad: SnapshotTensor | None = None  # its .grad (a leaf's, or after retain_grad())
    kept: np.ndarray | None = None  # the gradient a capture kept for an intermediate
    parameter: bool = False  # an nn.Parameter (the folding code groups them)
    shape_: tuple[int, ...] | None = None  # None: the array's (a bfloat16 read as float64 keeps it)

    @property
    def shape(self) -> SnapshotSize:
        return SnapshotSize(self.array.shape if self.shape_ is None else self.shape_)

    @property
    def dtype(self) -> SnapshotDtype:
        return SnapshotDtype(self.dtype_name)

    @property
    def ndim(self) -> int:
        return self.array.ndim

    @property
    def grad_fn(self) -> _FnName | None:
        return None if self.grad_fn_name is None else _FnName(self.grad_fn_name, self.kept)

    def numel(self) -> int:
        return int(self.array.size)

    def peek_array(self) -> np.ndarray:
        return self.array

    def peek_grad(self) -> SnapshotTensor | None:
        return self.grad

    def __repr__(self) -> str:
        return self.text


class Parameter(SnapshotTensor):
    """An ``nn.Parameter`` kept: the folding code knows parameters by this class name."""


def stand_in(**fields: Any) -> SnapshotTensor:
    """A :class:`SnapshotTensor`, or a :class:`Parameter` when ``parameter`` is true."""
    return (Parameter if fields.get("parameter") else SnapshotTensor)(**fields)


# --- the snapshot ----------------------------------------------------------------------------------


@dataclass
class Snapshot:
    """Both views' graphs (``{view: (graph, {node id: name})}``; a tensor node's ``tensor`` is
    its :class:`SnapshotTensor` or None, its ``grad_array`` the gradient it is coloured by), and
    the named tensors, in the script's order. ``script``: the script's file name."""

    views: dict[str, tuple[nx.DiGraph, dict[str, str]]]
    named: dict[str, SnapshotTensor]
    script: str = ""
    torch_version: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def tensors(self) -> list[SnapshotTensor]:
        """Every stand-in the snapshot holds, each once (their ``.grad`` not among them)."""
        seen: dict[int, SnapshotTensor] = {}
        for g, _ in self.views.values():
            for _, a in g.nodes(data=True):
                t = a.get("tensor")
                if t is not None:
                    seen.setdefault(id(t), t)
        for t in self.named.values():
            seen.setdefault(id(t), t)
        return list(seen.values())


class _RecordingIds(NodeIds):
    """Node ids that remember what each id was given for (a torch node, or one of its outputs)."""

    def __init__(self) -> None:
        super().__init__()
        self.objects: dict[str, Any] = {}

    def get(self, obj: object, prefix: str) -> str:
        sid = super().get(obj, prefix)
        self.objects.setdefault(sid, obj)
        return sid


def take_snapshot(outputs: Mapping[str, Any], names: Mapping[str, Any], *, script: str = "") -> Snapshot:
    """A :class:`Snapshot` of live torch tensors ``outputs`` (``{name: tensor}``), labelled by
    ``names`` (``{name: tensor}``), with what the last :class:`capture` kept."""
    import torch

    ids = _RecordingIds()
    build = TensorsSource(dict(outputs), dict(names), ids=ids).snapshot()
    record = last_record()
    made: dict[int, SnapshotTensor] = {}

    def grad_of(t: Any) -> SnapshotTensor | None:
        g = t.grad if (t.is_leaf or t.retains_grad) else None
        if g is None:
            return None
        return SnapshotTensor(to_numpy(g).copy(), _dtype(g), repr(g), shape_=tuple(g.shape))

    def convert(view: Any) -> SnapshotTensor:
        t = view.torch_tensor
        st = made.get(id(t))
        if st is None:
            st = made[id(t)] = stand_in(
                array=to_numpy(t).copy(),
                dtype_name=_dtype(t),
                text=repr(t),
                is_leaf=bool(t.is_leaf),
                requires_grad=bool(t.requires_grad),
                retains_grad=bool(t.retains_grad),
                grad_fn_name=None if t.grad_fn is None else t.grad_fn.name(),
                grad=grad_of(t),
                parameter=isinstance(t, torch.nn.Parameter),
                shape_=tuple(t.shape),
            )
        kept = view.grad_fn.kept_grad() if view.grad_fn is not None else None
        if kept is not None and st.kept is None:
            st.kept = np.array(kept, copy=True)
        return st

    views: dict[str, tuple[nx.DiGraph, dict[str, str]]] = {}
    for view in VIEWS:
        g, node_names = build(view)
        for nid, a in g.nodes(data=True):
            if a.get("type") != "tensor":
                continue
            v = a.get("tensor")
            st = convert(v) if v is not None else None
            a["tensor"] = st
            a["grad_array"] = _node_grad(nid, st, ids, record)
        for _, a in g.nodes(data=True):  # addresses in the process that ran the script
            a.pop("torch_id", None)
            a.pop("torch_ids", None)
        views[view] = (g, node_names)
    shown = {n for _, node_names in views.values() for n in node_names.values()}
    # the script's order; only the names the graph shows (each one's node holds its stand-in)
    named = {n: made[id(t)] for n, t in {**names, **outputs}.items() if n in shown and id(t) in made}
    return Snapshot(views, named, script=script, torch_version=str(torch.__version__))


def _dtype(t: Any) -> str:
    return str(t.dtype).removeprefix("torch.")


def _node_grad(nid: str, st: SnapshotTensor | None, ids: _RecordingIds, record: Any) -> Any:
    """The gradient a tensor node is coloured by, as the torch graph builder chose it: its
    ``.grad``, the gradient a capture kept for it, or (a tensor no capture saw) the record's."""
    if st is not None:
        if st.grad is not None:
            return st.grad.array
        return st.kept
    if record is None:
        return None
    obj = ids.objects.get(nid)
    if obj is None:
        return None
    fn, nr = (obj.fn, obj.nr) if isinstance(obj, _Output) else (obj, 0)
    g = record.grads.get((id(fn), nr))
    return None if g is None else to_numpy(g).copy()


def colour(g: nx.DiGraph) -> None:
    """Give each tensor node of a read snapshot its gradient statistics (what the colours are
    made of), from its ``grad_array``: derived data is computed, not read from a file."""
    for _, a in g.nodes(data=True):
        if a.get("type") == "tensor":
            a["grad_stats"] = grad_stats(a.get("grad_array"), bool(a.get("requires_grad", True)))


# --- in the window ---------------------------------------------------------------------------------


class SnapshotSource:
    """A :class:`Snapshot` as the canvas, the panels and the inspector read a source: drawn,
    never edited, never run."""

    editable = False
    session = None

    def __init__(self, snapshot: Snapshot) -> None:
        self.snap = snapshot

    def snapshot(self) -> Any:
        views = self.snap.views

        def build(view: str) -> tuple[nx.DiGraph, dict[str, str]]:
            g, names = views[view]
            return g.copy(), dict(names)

        return build

    def tensor(self, name: str) -> SnapshotTensor | None:
        return self.snap.named.get(name)

    def names(self) -> list[str]:
        return list(self.snap.named)

    def info(self, name: str) -> Any:
        return None
