"""A PyTorch snapshot saved as a ``.gradviz`` file: viewable, not replayable.

File ▸ Open PyTorch Script runs a script that uses real PyTorch in a process of its own and
keeps what it left behind as a :class:`~gradviz.graph.snapshot.Snapshot`: the graph as it was
drawn, and each tensor's value, gradient, dtype, shape and PyTorch's repr. Such a file holds no
log, so nothing in it is run again: opening it reads data, never code, and never needs torch.
It is a zip, as a session file is, told apart by its manifest's ``format``:

``manifest.json``
    ``{"format": "gradviz-pytorch-snapshot", "format_version": 1, "app_version", "time",
    "script": "mlp.py", "torch_version": "2.13.0"}``
``snapshot.json``
    ``{"tensors": [...], "named": [[name, index], ...], "views": {"tensors": VIEW, "autograd": VIEW}}``.
    A tensor is ``{"value": ARRAY, "dtype": "float32", "shape": [...], "text": repr,
    "is_leaf", "requires_grad", "retains_grad", "parameter", "grad_fn": name or null,
    "grad": null or {"value": ARRAY, "dtype", "shape", "text"}, "kept": null or ARRAY}``
    (``dtype`` is torch's name, ``kept`` the gradient a capture kept for an intermediate).
    ARRAY is ``{"array": "a<k>", "dtype": numpy's name, "shape": [...]}``, its data in
    ``arrays.npz``. ``named`` lists the tensors the panel shows, in the script's order.
    A VIEW is ``{"outputs": [node id, ...], "nodes": [[id, ATTRS], ...], "edges": [[from, to,
    ATTRS], ...], "names": {node id: name}}``: the model graph's node and edge attributes as the
    graph builder made them (:mod:`gradviz.graph.model`), where a tensor node's ``tensor`` is an
    index into ``tensors`` (or null) and its ``grad_array`` an ARRAY (or null); a tuple is
    written ``{"tuple": [...]}``. Gradient statistics are not stored: they are computed on load.
``arrays.npz``
    every array, read with ``np.load(allow_pickle=False)`` after its ``.npy`` header was
    compared with what ``snapshot.json`` declared.

Loading trusts nothing, as a session's loading does (the zip's directory, sizes, ratios, JSON,
every attribute a drawing reads, every reference, every array, and every declared shape against
its array: a value's, a grad's, a kept gradient's and a node's ``grad_array``), with the zip
checks a session's loading uses (:mod:`.safe_zip`); anything wrong is a
:class:`SessionFileError` that says what and where.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

import gradviz
from gradviz.graph.model import VIEWS
from gradviz.graph.snapshot import Snapshot, SnapshotTensor, colour, stand_in

from . import fileformat as ff
from . import limits as table
from . import safe_zip as sz
from .codec import ArraySpec, Limits, Obj, SessionFileError, array_ref, array_spec, fail
from .document import DEFAULT_MAX_ELEMENTS
from .param_kinds import is_int, short

FORMAT_NAME = ff.SNAPSHOT_FORMAT_NAME
FORMAT_VERSION = 1
SNAPSHOT = "snapshot.json"
MEMBERS = (sz.MANIFEST, SNAPSHOT, sz.ARRAYS)
MAX_NODES = 200_000  # in one view
MAX_TEXT = 1_000_000  # characters of one repr (PyTorch summarises large tensors)
MAX_ID = 100  # characters of a node id
NODE_TYPES = ("tensor", "op", "backward", "accumulate")
TENSOR_KINDS = ("leaf", "constant", "intermediate", "output")
_KEY = re.compile(r"a\d{1,9}\Z")


def is_snapshot(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a PyTorch snapshot by its manifest (False for anything else, a damaged
    file included: opening it as a session then says what is wrong)."""
    try:
        with sz.open_regular(path, ff.MAX_TOTAL_BYTES) as f, zipfile.ZipFile(f) as zf:
            info = zf.getinfo(sz.MANIFEST)
            if info.file_size > ff.MAX_MANIFEST_BYTES:
                return False
            raw = sz.parse_json(sz.read_member(zf, info, ff.MAX_MANIFEST_BYTES, sz.MANIFEST), sz.MANIFEST)
    except Exception:
        return False
    return isinstance(raw, dict) and raw.get("format") == FORMAT_NAME


# --- writing ------------------------------------------------------------------------------------


class _Writer:
    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self._keys: dict[int, dict[str, Any]] = {}  # id(array) -> its reference, each array once
        self._held: list[np.ndarray] = []  # keeps the ids above unique

    def array(self, arr: np.ndarray | None, where: str) -> dict[str, Any] | None:
        if arr is None:
            return None
        ref = self._keys.get(id(arr))
        if ref is None:
            ref = self._keys[id(arr)] = array_ref(np.asarray(arr), f"a{len(self._keys)}", self.arrays, where)
            self._held.append(arr)
        return ref

    def tensor(self, t: SnapshotTensor, where: str) -> dict[str, Any]:
        grad = None
        if t.grad is not None:
            g = t.grad
            grad = {
                "value": self.array(g.array, f"{where}'s grad"),
                "dtype": g.dtype_name,
                "shape": list(g.shape),
                "text": g.text,
            }
        return {
            "value": self.array(t.array, where),
            "dtype": t.dtype_name,
            "shape": list(t.shape),
            "text": t.text,
            "is_leaf": t.is_leaf,
            "requires_grad": t.requires_grad,
            "retains_grad": t.retains_grad,
            "parameter": t.parameter,
            "grad_fn": t.grad_fn_name,
            "grad": grad,
            "kept": self.array(t.kept, f"{where}'s kept gradient"),
        }


def _plain(v: Any, where: str) -> Any:
    """An attribute as JSON: tuples tagged, so that they come back as tuples."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    if isinstance(v, tuple):
        return {"tuple": [_plain(x, where) for x in v]}
    if isinstance(v, list):
        return [_plain(x, where) for x in v]
    raise SessionFileError(f"can't save {where}: {type(v).__name__} is not plain data")


def to_bytes(snap: Snapshot, *, time: datetime | None = None) -> bytes:
    """The bytes of a ``.gradviz`` file holding ``snap``; refuses what :func:`load` would refuse."""
    w = _Writer()
    tensors = snap.tensors()
    index = {id(t): i for i, t in enumerate(tensors)}
    encoded_tensors = [w.tensor(t, f"tensor {i}") for i, t in enumerate(tensors)]
    views: dict[str, Any] = {}
    for view, (g, names) in snap.views.items():
        nodes = []
        for nid, a in g.nodes(data=True):
            where = f"{view} view: node {nid}"
            attrs: dict[str, Any] = {}
            for k, v in a.items():
                if k == "grad_stats":
                    continue  # derived: computed on load
                if k == "tensor":
                    attrs[k] = None if v is None else index[id(v)]
                elif k == "grad_array":
                    attrs[k] = w.array(v, f"{where}'s gradient")
                else:
                    attrs[k] = _plain(v, f"{where}: {k}")
            nodes.append([nid, attrs])
        edges = [
            [u, v, {k: _plain(x, f"{view} view: edge {u} -> {v}") for k, x in a.items()}]
            for u, v, a in g.edges(data=True)
        ]
        views[view] = {
            "outputs": list(g.graph.get("outputs", [])),
            "nodes": nodes,
            "edges": edges,
            "names": dict(names),
        }
    doc = {
        "tensors": encoded_tensors,
        "named": [[n, index[id(t)]] for n, t in snap.named.items()],
        "views": views,
    }
    body = sz.json_bytes(doc, "the snapshot")
    if len(body) > ff.MAX_SESSION_BYTES:
        raise SessionFileError(
            f"can't save: the snapshot's graph takes {len(body):,} bytes, more than the "
            f"{ff.MAX_SESSION_BYTES:,} a file holds"
        )
    npz = io.BytesIO()
    np.savez(npz, **w.arrays)
    when = (time or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "app_version": gradviz.__version__,
        "time": when,
        "script": snap.script,
        "torch_version": snap.torch_version,
    }
    unpacked = len(body) + 2 * npz.getbuffer().nbytes
    if unpacked > ff.MAX_TOTAL_BYTES:
        raise SessionFileError(
            f"can't save: the snapshot would unpack to {unpacked:,} bytes, more than the "
            f"{ff.MAX_TOTAL_BYTES:,} a .gradviz file may"
        )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(sz.MANIFEST, sz.json_bytes(manifest, "the manifest"))
        zf.writestr(SNAPSHOT, body)
        zf.writestr(sz.ARRAYS, npz.getvalue())
    return out.getvalue()


def save(snap: Snapshot, path: str | os.PathLike[str]) -> None:
    """Save ``snap`` to ``path`` atomically."""
    data = to_bytes(snap)
    try:
        ff.write_atomic(path, data)
    except OSError as e:
        raise SessionFileError(f"can't save {os.fspath(path)}: {e.strerror or e}") from None


# --- reading --------------------------------------------------------------------------------------


def _is_str(x: Any) -> bool:
    return isinstance(x, str)


def _is_bool(x: Any) -> bool:
    return isinstance(x, bool)


def _is_sizes(x: Any) -> bool:
    return isinstance(x, tuple) and len(x) <= table.MAX_NDIM and all(is_int(d) and d >= 0 for d in x)


def _is_ints(x: Any) -> bool:
    return isinstance(x, tuple) and all(is_int(d) for d in x)


def _is_strs(x: Any) -> bool:
    return isinstance(x, (tuple, list)) and all(isinstance(s, str) for s in x)


def _is_scope(x: Any) -> bool:
    return isinstance(x, tuple) and all(
        isinstance(s, tuple) and len(s) == 2 and all(isinstance(p, str) for p in s) for s in x
    )


def _is_saved(x: Any) -> bool:
    return isinstance(x, list) and all(_is_sizes(s) for s in x)


# What a drawing reads of each node type, and what it must be: checked on load.
_TENSOR = {
    "kind": (lambda x: x in TENSOR_KINDS, f"one of {', '.join(TENSOR_KINDS)}"),
    "is_output": (_is_bool, "true or false"),
    "name": (_is_str, "a string"),
    "label": (_is_str, "a string"),
    "shape": (_is_sizes, "a tuple of sizes"),
    "dtype": (_is_str, "a string"),
    "requires_grad": (_is_bool, "true or false"),
    "is_leaf": (_is_bool, "true or false"),
    "retains_grad": (_is_bool, "true or false"),
    "stale": (_is_bool, "true or false"),
    "value": (_is_str, "a string"),
    "grad": (_is_str, "a string"),
    "kept_by_gradviz": (_is_bool, "true or false"),
}
_OP = {
    "name": (_is_str, "a string"),
    "label": (_is_str, "a string"),
    "op": (_is_str, "a string"),
    "params": (_is_str, "a string"),
    "shape": (_is_sizes, "a tuple of sizes"),
    "saved": (_is_saved, "a list of shapes"),
    "saved_names": (_is_strs, "a list of strings"),
    "saved_freed": (_is_bool, "true or false"),
    "scope": (_is_scope, "a tuple of (key, label) pairs"),
    "parts": (_is_strs, "a tuple of strings"),
}
_ACCUMULATE = {
    "name": (_is_str, "a string"),
    "label": (_is_str, "a string"),
    "saved": (_is_saved, "a list of shapes"),
    "saved_freed": (_is_bool, "true or false"),
}
_NODE_FIELDS = {"tensor": _TENSOR, "op": _OP, "backward": _OP, "accumulate": _ACCUMULATE}
_EDGE = {
    "kind": (_is_str, "a string"),
    "args": (_is_ints, "a tuple of integers"),
    "shape": (_is_sizes, "a tuple of sizes"),
}


def _decode(v: Any, where: str, depth: int = 0) -> Any:
    """An attribute read back: plain JSON, with ``{"tuple": [...]}`` a tuple again."""
    if depth > table.MAX_JSON_DEPTH:
        raise fail(where, "nested too deeply")
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, list):
        return [_decode(x, where, depth + 1) for x in v]
    if isinstance(v, dict) and set(v) == {"tuple"} and isinstance(v["tuple"], list):
        return tuple(_decode(x, where, depth + 1) for x in v["tuple"])
    raise fail(where, f"{short(v)} is not an attribute value")


def _check_fields(attrs: dict[str, Any], spec: dict[str, Any], where: str) -> None:
    for key, (ok, expected) in spec.items():
        if key not in attrs:
            raise fail(where, f"missing attribute '{key}'")
        if not ok(attrs[key]):
            raise fail(where, f"'{key}' must be {expected}, found {short(attrs[key])}")


class _Reader:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.specs: dict[str, ArraySpec] = {}

    def array(self, raw: Any, where: str, field: str = "value", optional: bool = False) -> str | None:
        """Check an array reference; its key (None for an optional null)."""
        if raw is None and optional:
            return None
        key = raw.get("array") if isinstance(raw, dict) else None
        if not isinstance(key, str) or not _KEY.match(key):
            raise fail(
                f"{where}: {field}",
                f"expected an array reference {{'array': 'a<k>', ...}}, found {short(raw)}",
            )
        spec = array_spec(raw, key, where, self.limits, field)
        known = self.specs.get(key)
        if known is not None and (known.dtype != spec.dtype or known.shape != spec.shape):
            raise fail(
                f"{where}: {field}",
                f"array {key} is declared twice, as {known.dtype} {list(known.shape)} and {spec.dtype} {list(spec.shape)}",
            )
        self.specs.setdefault(key, spec)
        return key

    def tensor(self, raw: Any, where: str) -> dict[str, Any]:
        fields = (
            "value",
            "dtype",
            "shape",
            "text",
            "is_leaf",
            "requires_grad",
            "retains_grad",
            "parameter",
            "grad_fn",
            "grad",
            "kept",
        )
        obj = Obj(raw, where, fields)
        out = {
            "value": self.array(raw["value"], where),
            "dtype_name": obj.text("dtype", 40),
            "shape_": self.shape(obj, where),
            "text": obj.text("text", MAX_TEXT),
            "is_leaf": obj.flag("is_leaf"),
            "requires_grad": obj.flag("requires_grad"),
            "retains_grad": obj.flag("retains_grad"),
            "parameter": obj.flag("parameter"),
            "grad_fn_name": obj.get(
                "grad_fn", lambda x: x is None or (isinstance(x, str) and len(x) <= 200), "null or a name"
            ),
            "kept": self.array(raw["kept"], where, "kept", optional=True),
            "grad": None,
        }
        if raw["grad"] is not None:
            gw = f"{where}: grad"
            g = Obj(raw["grad"], gw, ("value", "dtype", "shape", "text"))
            out["grad"] = {
                "value": self.array(raw["grad"]["value"], gw),
                "dtype_name": g.text("dtype", 40),
                "shape_": self.shape(g, gw),
                "text": g.text("text", MAX_TEXT),
            }
        return out

    @staticmethod
    def shape(obj: Obj, where: str) -> tuple[int, ...]:
        shape = obj.get(
            "shape",
            lambda x: (
                isinstance(x, list) and len(x) <= table.MAX_NDIM and all(is_int(d) and d >= 0 for d in x)
            ),
            "a list of sizes",
        )
        return tuple(shape)


def _read_view(raw: Any, view: str, reader: _Reader, n_tensors: int) -> tuple[dict[str, Any], str]:
    where = f"{SNAPSHOT}: {view} view"
    obj = Obj(raw, where, ("outputs", "nodes", "edges", "names"))
    nodes_raw = obj.get("nodes", lambda x: isinstance(x, list), "a list")
    edges_raw = obj.get("edges", lambda x: isinstance(x, list), "a list")
    if len(nodes_raw) > MAX_NODES or len(edges_raw) > 4 * MAX_NODES:
        raise fail(
            where, f"{len(nodes_raw):,} nodes and {len(edges_raw):,} edges, more than a snapshot holds"
        )
    nodes: dict[str, dict[str, Any]] = {}
    for i, item in enumerate(nodes_raw):
        w = f"{where}: node {i + 1}"
        if not (
            isinstance(item, list)
            and len(item) == 2
            and isinstance(item[0], str)
            and isinstance(item[1], dict)
        ):
            raise fail(w, f"expected [id, attributes], found {short(item)}")
        nid, attrs_raw = item
        if not nid or len(nid) > MAX_ID:
            raise fail(w, f"id {short(nid)} must be 1 to {MAX_ID} characters")
        if nid in nodes:
            raise fail(w, f"id {short(nid)} appears twice")
        w = f"{where}: node {nid}"
        attrs = {}
        for k, v in attrs_raw.items():
            if k == "tensor":
                if v is not None and not (is_int(v) and 0 <= v < n_tensors):
                    raise fail(w, f"'tensor' must be null or an index below {n_tensors}, found {short(v)}")
                attrs[k] = v
            elif k == "grad_array":
                attrs[k] = reader.array(v, w, "grad_array", optional=True)
            else:
                attrs[k] = _decode(v, f"{w}: {k}")
        kind = attrs.get("type")
        if kind not in NODE_TYPES:
            raise fail(w, f"'type' must be one of {', '.join(NODE_TYPES)}, found {short(kind)}")
        _check_fields(attrs, _NODE_FIELDS[kind], w)
        if kind == "tensor":
            attrs.setdefault("tensor", None)
            attrs.setdefault("grad_array", None)
        nodes[nid] = attrs
    edges = []
    for i, item in enumerate(edges_raw):
        w = f"{where}: edge {i + 1}"
        if not (isinstance(item, list) and len(item) == 3 and isinstance(item[2], dict)):
            raise fail(w, f"expected [from, to, attributes], found {short(item)}")
        u, v, a = item
        for end in (u, v):
            if end not in nodes:
                raise fail(w, f"names node {short(end)}, which is not in the view")
        attrs = {k: _decode(x, f"{w}: {k}") for k, x in a.items()}
        _check_fields(attrs, _EDGE, w)
        edges.append((u, v, attrs))
    outputs = obj.get(
        "outputs",
        lambda x: isinstance(x, list) and all(isinstance(n, str) and n in nodes for n in x),
        "a list of node ids in the view",
    )
    names = obj.get(
        "names",
        lambda x: isinstance(x, dict) and all(k in nodes and isinstance(n, str) for k, n in x.items()),
        "{node id: name} for nodes of the view",
    )
    return {"nodes": nodes, "edges": edges, "outputs": outputs, "names": names}, where


def _build(doc: dict[str, Any], arrays: dict[str, np.ndarray], manifest: dict[str, Any]) -> Snapshot:
    def make(fields: dict[str, Any]) -> SnapshotTensor:
        grad = fields["grad"]
        g = None
        if grad is not None:
            g = SnapshotTensor(arrays[grad["value"]], grad["dtype_name"], grad["text"], shape_=grad["shape_"])
        kept = arrays[fields["kept"]] if fields["kept"] is not None else None
        rest = {k: v for k, v in fields.items() if k not in ("value", "grad", "kept")}
        return stand_in(array=arrays[fields["value"]], grad=g, kept=kept, **rest)

    tensors = [make(t) for t in doc["tensors"]]
    views = {}
    for view, v in doc["views"].items():
        g = nx.DiGraph(view=view, outputs=list(v["outputs"]), source="torch")
        for nid, attrs in v["nodes"].items():
            attrs = dict(attrs)
            if attrs.get("type") == "tensor":
                attrs["tensor"] = None if attrs["tensor"] is None else tensors[attrs["tensor"]]
                attrs["grad_array"] = None if attrs["grad_array"] is None else arrays[attrs["grad_array"]]
            g.add_node(nid, **attrs)
        for u, w, attrs in v["edges"]:
            g.add_edge(u, w, **attrs)
        colour(g)
        views[view] = (g, dict(v["names"]))
    named = {n: tensors[i] for n, i in doc["named"]}
    return Snapshot(
        views, named, script=manifest.get("script", ""), torch_version=manifest.get("torch_version", "")
    )


def _check_manifest(raw: Any) -> dict[str, Any]:
    obj = Obj(
        raw, sz.MANIFEST, ("format", "format_version", "app_version", "time", "script", "torch_version")
    )
    if raw.get("format") != FORMAT_NAME:
        raise fail(
            sz.MANIFEST,
            f"format is {short(raw.get('format'))}, not {FORMAT_NAME!r}: this is not a PyTorch snapshot",
        )
    version = obj.integer("format_version", 1, ff.MAX_INT)
    if version > FORMAT_VERSION:
        raise fail(
            sz.MANIFEST,
            f"made by a newer gradviz (snapshot format {version}); this version reads up to "
            f"{FORMAT_VERSION}. Update gradviz to open it",
        )
    for key in ("app_version", "time", "torch_version"):
        obj.text(key, table.MAX_MANIFEST_TEXT)
    obj.text("script", 1000)
    return raw


def _load_zip(source: Any, limits: Limits) -> Snapshot:
    with sz.open_archive(source, MEMBERS, limits, _check_manifest, what="a gradviz file") as archive:
        manifest = archive.manifest
        raw = archive.json(SNAPSHOT, ff.MAX_SESSION_BYTES)
        top = Obj(raw, SNAPSHOT, ("tensors", "named", "views"))
        reader = _Reader(limits)
        tensors_raw = top.get("tensors", lambda x: isinstance(x, list), "a list")
        if len(tensors_raw) > MAX_NODES:
            raise fail(SNAPSHOT, f"{len(tensors_raw):,} tensors, more than a snapshot holds")
        tensors = [reader.tensor(t, f"{SNAPSHOT}: tensor {i}") for i, t in enumerate(tensors_raw)]
        n = len(tensors)
        named = top.get(
            "named",
            lambda x: (
                isinstance(x, list)
                and all(
                    isinstance(p, list)
                    and len(p) == 2
                    and isinstance(p[0], str)
                    and len(p[0]) <= table.MAX_NAME
                    and is_int(p[1])
                    and 0 <= p[1] < n
                    for p in x
                )
            ),
            f"a list of [name, tensor index below {n}] pairs",
        )
        views_raw = top.get(
            "views",
            lambda x: isinstance(x, dict) and set(x) == set(VIEWS),
            f"an object with the views {', '.join(VIEWS)}",
        )
        views = {}
        for view in VIEWS:
            views[view], where = _read_view(views_raw[view], view, reader, n)
            shown = set(views[view]["names"].values())
            unknown = shown - {p[0] for p in named}
            if unknown:
                raise fail(where, f"names {short(sorted(unknown)[0])}, which 'named' does not list")
        npz = sz.read_member(archive.zf, archive.infos[sz.ARRAYS], limits.max_total_bytes, sz.ARRAYS)
        arrays = sz.load_arrays(
            npz, list(reader.specs.values()), limits, archive.budget, declared_in=SNAPSHOT
        )
        _check_shapes(tensors, views, arrays)
        doc = {"tensors": tensors, "named": named, "views": views}
    return _build(doc, arrays, manifest)


def _check_shapes(
    tensors: list[dict[str, Any]], views: dict[str, Any], arrays: dict[str, np.ndarray]
) -> None:
    """Every shape the snapshot declares against the array it describes: a tensor's value, its
    grad's value and its kept gradient, and each tensor node's ``grad_array`` against the
    node's shape (a gradient has its tensor's shape): the inspector shows what was declared."""

    def same(declared: tuple[int, ...], key: str | None, where: str, field: str) -> None:
        if key is not None and tuple(arrays[key].shape) != tuple(declared):
            raise fail(
                f"{where}: {field}",
                f"shape {list(declared)} but its array {key} is {list(arrays[key].shape)}",
            )

    for i, t in enumerate(tensors):
        where = f"{SNAPSHOT}: tensor {i}"
        same(t["shape_"], t["value"], where, "value")
        if t["grad"] is not None:
            same(t["grad"]["shape_"], t["grad"]["value"], where, "grad")
            if t["grad"]["shape_"] != t["shape_"]:
                raise fail(
                    f"{where}: grad",
                    f"shape {list(t['grad']['shape_'])} but the tensor's is {list(t['shape_'])}",
                )
        same(t["shape_"], t["kept"], where, "kept")
    for view, v in views.items():
        for nid, a in v["nodes"].items():
            if a.get("type") != "tensor":
                continue
            same(a["shape"], a["grad_array"], f"{SNAPSHOT}: {view} view: node {nid}", "grad_array")


def loads(data: bytes, *, name: str = "", max_elements: int = DEFAULT_MAX_ELEMENTS) -> Snapshot:
    """:func:`load` from bytes in memory."""
    limits = Limits(max_elements, ff.MAX_TOTAL_BYTES)
    return sz.guarded(name, lambda: _load_zip(io.BytesIO(data), limits))


def load(path: str | os.PathLike[str], *, max_elements: int = DEFAULT_MAX_ELEMENTS) -> Snapshot:
    """Read and check a PyTorch snapshot file; :class:`SessionFileError` says what is wrong."""
    name = Path(path).name
    limits = Limits(max_elements, ff.MAX_TOTAL_BYTES)

    def read() -> Snapshot:
        with sz.open_regular(path, ff.MAX_TOTAL_BYTES) as f:
            return _load_zip(f, limits)

    return sz.guarded(name, read)
