"""The ``.gradviz`` file: a session saved as data, safe to open from anyone.

A ``.gradviz`` file is a zip holding three members, and up to three optional ones:

``manifest.json``
    ``{"format": "gradviz-session", "format_version": 2, "app_version": "0.1.0", "time": ISO 8601}``
    (version 1 when the file has none of the optional members, so older gradviz opens it)
``session.json``
    ``{"entries": [...], "view": {...}}``: the op log in order and the view settings. Each entry
    is an object with a ``kind`` (leaf, op, backward, zero_grad, retain_grad, requires_grad, rename,
    delete) and
    that kind's fields. Arrays are not inlined: a leaf's ``value`` and a backward's ``gradient``
    are ``{"array": KEY, "dtype": NAME, "shape": [...]}``, where KEY is ``e<i>`` or ``g<i>`` for
    the entry at index ``i``.
``arrays.npz``
    every array, written with ``np.savez`` and read with ``np.load(allow_pickle=False)``.
``transcript.json`` (optional)
    ``{"cells": [{"number", "kind" ("code" or "action"), "source", "printed", "result", "error",
    "note", "warnings"}, ...]}``: the console's cells as text, the newest within
    ``limits.MAX_TRANSCRIPT_CELLS`` and ``MAX_TRANSCRIPT_BYTES``.
``undo.json`` and ``undo.npz`` (optional, together)
    ``{"pool": [entry, ...], "steps": [{"entries": [[start, stop], ...], "next_uid", "label"}, ...]}``:
    the undo steps, oldest first. A step's log is runs of a pool whose first entries are the live
    log's (0..n-1, stored once, in session.json) and then ``pool``, the entries only undo steps
    hold, encoded as in session.json with array keys ``e<k>``/``g<k>`` for pool index ``k`` in
    ``undo.npz``. The newest steps within ``MAX_UNDO_STEPS``, ``UNDO_MEMORY`` (their arrays) and
    ``MAX_UNDO_BYTES`` are written; each step is checked as a log is.

An optional member that can't be read is left out and named in ``Document.problems``; the rest
of the file opens.

Loading trusts nothing. Sizes and compression ratios are checked from the zip directory
before anything is decompressed, and every read is capped; then every field, type, name,
reference, op, parameter, dtype and shape is checked, and each array's ``.npy`` header is read
and compared with what ``session.json`` declared before its data is read. Anything wrong is a
:class:`SessionFileError` saying what and where; nothing is built until all of it passed, and
:func:`open_into` replaces the open session only once the log has replayed.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import keyword
import math
import os
import re
import stat
import struct
import tempfile
import threading
import tokenize
import weakref
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import numpy as np

import gradviz
from gradviz.graph.colors import STATS

from . import catalogue, param_kinds
from . import limits as table
from .document import (
    DEFAULT_MAX_ELEMENTS,
    RESERVED_NAMES,
    ReplayCancelledError,
    Session,
    SessionError,
    UndoStep,
)
from .log import Backward, Delete, Entry, Leaf, Op, Rename, RetainGrad, SetRequiresGrad, ZeroGrad, describe
from .transcript import CELL_KINDS, Cell, to_plain

FORMAT_NAME = "gradviz-session"
FORMAT_VERSION = 2  # 2 added the optional members; a version 1 file is a version 2 file without them
SUFFIX = ".gradviz"

MANIFEST = "manifest.json"
SESSION = "session.json"
ARRAYS = "arrays.npz"
MEMBERS = (MANIFEST, SESSION, ARRAYS)
# The learner's work besides the log. Each may be missing (older files); one that can't be
# read is left out with a problem reported, and the rest of the file still opens.
TRANSCRIPT = "transcript.json"
UNDO = "undo.json"
UNDO_ARRAYS = "undo.npz"
OPTIONAL_MEMBERS = (TRANSCRIPT, UNDO, UNDO_ARRAYS)

#: The dtypes gradviz has; nothing else is read or written.
DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64")

# The limits are one table (limits.py) that the session, this writer and this reader read.
MAX_TOTAL_BYTES = table.MAX_TOTAL_BYTES
MAX_MANIFEST_BYTES = table.MAX_MANIFEST_BYTES
MAX_SESSION_BYTES = table.MAX_SESSION_BYTES
MAX_RATIO = table.MAX_RATIO
MAX_ENTRIES = table.MAX_ENTRIES
MAX_NDIM = table.MAX_NDIM
MAX_NAME = table.MAX_NAME
MAX_SOURCE = table.MAX_SOURCE
MAX_JSON_DEPTH = table.MAX_JSON_DEPTH
MAX_VIEW_BYTES = table.MAX_VIEW_BYTES
MAX_INT = table.INT_MAX
MAX_NPY_HEADER = table.MAX_NPY_HEADER

VIEW_MODES = ("tensors", "autograd")


class SessionFileError(SessionError):
    """A file that can't be opened (or saved). The message says what is wrong and where."""

    def __init__(self, message: str, *, internal: bool = False) -> None:
        super().__init__(message)
        #: True when the refusal came from an unexpected exception rather than a check.
        self.internal = internal


def _fail(where: str, message: str) -> SessionFileError:
    return SessionFileError(f"{where}: {message}" if where else message)


# --- writing -----------------------------------------------------------------------------------
def _array_key(kind: str, index: int) -> str:
    return f"{kind}{index}"


def _dtype_name(arr: np.ndarray, where: str) -> str:
    name = arr.dtype.name
    if name not in DTYPES or arr.dtype.hasobject:
        raise SessionFileError(f"can't save {where}: dtype {arr.dtype} is not one of gradviz's dtypes")
    return name


def _array_ref(arr: np.ndarray, key: str, arrays: dict[str, np.ndarray], where: str) -> dict[str, Any]:
    if not isinstance(arr, np.ndarray):
        raise SessionFileError(f"can't save {where}: its value is not an array")
    name = _dtype_name(arr, where)
    arrays[key] = np.asarray(arr, dtype=arr.dtype.newbyteorder("<"), order="C")
    return {"array": key, "dtype": name, "shape": [int(d) for d in arr.shape]}


def _encode_entry(i: int, entry: Entry, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    where = f"entry {i + 1}"
    if isinstance(entry, Leaf):
        return {
            "kind": "leaf",
            "uid": entry.uid,
            "name": entry.name,
            "value": _array_ref(entry.value, _array_key("e", i), arrays, where),
            "requires_grad": bool(entry.requires_grad),
            "source": entry.source,
        }
    if isinstance(entry, Op):
        return {
            "kind": "op",
            "uid": entry.uid,
            "name": entry.name,
            "op": entry.op,
            "args": [[k, v] for k, v in entry.args],
            "params": dict(entry.params),
            "hidden": bool(entry.hidden),
        }
    if isinstance(entry, Backward):
        grad = (
            None if entry.gradient is None else _array_ref(entry.gradient, _array_key("g", i), arrays, where)
        )
        return {
            "kind": "backward",
            "target": entry.target,
            "gradient": grad,
            "retain_graph": bool(entry.retain_graph),
        }
    if isinstance(entry, ZeroGrad):
        names = None if entry.names is None else list(entry.names)
        return {"kind": "zero_grad", "names": names, "set_to_none": bool(entry.set_to_none)}
    if isinstance(entry, RetainGrad):
        return {"kind": "retain_grad", "name": entry.name}
    if isinstance(entry, SetRequiresGrad):
        return {"kind": "requires_grad", "name": entry.name, "requires_grad": bool(entry.requires_grad)}
    if isinstance(entry, Rename):
        return {"kind": "rename", "old": entry.old, "new": entry.new}
    if isinstance(entry, Delete):
        return {"kind": "delete", "name": entry.name}
    raise SessionFileError(f"can't save {where}: unknown entry {type(entry).__name__}")


def _json_bytes(obj: Any, what: str) -> bytes:
    try:
        return json.dumps(obj, ensure_ascii=False, indent=1, allow_nan=True).encode("utf-8")
    except (TypeError, ValueError) as e:
        raise SessionFileError(f"can't save: {what} holds something that is not plain data ({e})") from None


def _live_names(entries: Iterable[Entry]) -> set[str]:
    live: set[str] = set()
    for e in entries:
        if isinstance(e, (Leaf, Op)):
            live.add(e.name)
        elif isinstance(e, Rename):
            live.discard(e.old)
            live.add(e.new)
        elif isinstance(e, Delete):
            live.discard(e.name)
    return live


def _check_written(session_json: bytes, max_elements: int) -> None:
    """Read what the writer wrote with the reader's own checks: a file is written only if it
    can be opened again."""
    if len(session_json) > MAX_SESSION_BYTES:
        raise SessionFileError(
            f"can't save: the log takes {len(session_json):,} bytes of {SESSION}, more than the "
            f"{MAX_SESSION_BYTES:,} a .gradviz file holds"
        )
    try:
        doc = _parse_json(session_json, SESSION)
        entries, _ = _decode_entries(doc["entries"], _Limits(max_elements, MAX_TOTAL_BYTES))
        _check_view(doc["view"], _live_decoded(entries))
    except SessionFileError as e:
        raise SessionFileError(f"can't save, the file could not be opened again: {e}") from None


def _encode_transcript(cells: Iterable[Cell]) -> bytes | None:
    """transcript.json: the newest cells that fit the file's bounds (None for no cells)."""
    kept: list[dict[str, Any]] = []
    size = 0
    for cell in reversed(list(cells)[-table.MAX_TRANSCRIPT_CELLS :]):
        plain = to_plain(cell)
        n = len(_json_bytes(plain, "the transcript")) + 4
        if size + n > table.MAX_TRANSCRIPT_BYTES - 64:
            break
        kept.append(plain)
        size += n
    return _json_bytes({"cells": kept[::-1]}, "the transcript") if kept else None


def _runs(indices: list[int]) -> list[list[int]]:
    """[0, 1, 2, 7, 8] -> [[0, 3], [7, 9]]: a step's log as runs of the pool (most steps are
    one run, a prefix of the live log)."""
    out: list[list[int]] = []
    for i in indices:
        if out and out[-1][1] == i:
            out[-1][1] = i + 1
        else:
            out.append([i, i + 1])
    return out


def _encode_undo(live: list[Entry], steps: list[UndoStep]) -> tuple[bytes, bytes] | None:
    """undo.json and undo.npz: the newest undo steps within MAX_UNDO_STEPS, UNDO_MEMORY (the
    arrays only they hold) and MAX_UNDO_BYTES. A step names its entries by their place in the
    pool: the live log's entries first (0..n-1, stored once, in session.json), then the entries
    only undo steps hold (stored here, their arrays keyed by pool index)."""
    index = {id(e): i for i, e in enumerate(live)}
    pool: list[dict[str, Any]] = []
    arrays: dict[str, np.ndarray] = {}
    kept: list[dict[str, Any]] = []
    json_size = array_size = 0
    for entries, uid, label in reversed(steps[-table.MAX_UNDO_STEPS :]):
        new_pool: list[dict[str, Any]] = []
        new_arrays: dict[str, np.ndarray] = {}
        refs = []
        for e in entries:
            k = index.get(id(e))
            if k is None:
                k = len(live) + len(pool) + len(new_pool)
                new_pool.append(_encode_entry(k, e, new_arrays))
                index[id(e)] = k
            refs.append(k)
        step = {"entries": _runs(refs), "next_uid": int(uid), "label": str(label)[: table.MAX_UNDO_LABEL]}
        more_json = len(_json_bytes([step, new_pool], "the undo history"))
        more_arrays = sum(a.nbytes + table.NPY_OVERHEAD for a in new_arrays.values())
        if json_size + more_json > table.MAX_UNDO_BYTES - 64 or array_size + more_arrays > table.UNDO_MEMORY:
            break  # this step and the older ones are left out
        pool.extend(new_pool)
        arrays.update(new_arrays)
        kept.append(step)
        json_size += more_json
        array_size += more_arrays
    if not kept:
        return None
    npz = io.BytesIO()
    np.savez(npz, **arrays)
    return _json_bytes({"pool": pool, "steps": kept[::-1]}, "the undo history"), npz.getvalue()


def to_bytes(
    entries: Iterable[Entry],
    view: dict[str, Any] | None = None,
    *,
    time: datetime | None = None,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    transcript: Iterable[Cell] = (),
    undo: Iterable[UndoStep] = (),
) -> bytes:
    """The bytes of a ``.gradviz`` file holding ``entries`` and ``view``, and the console's
    ``transcript`` and the ``undo`` steps (oldest first) as far as the file's bounds allow;
    raises :class:`SessionFileError` rather than write a file that :func:`load` would refuse
    (opened with ``max_elements``)."""
    entries = list(entries)
    if len(entries) > MAX_ENTRIES:
        raise SessionFileError(
            f"can't save: {len(entries):,} entries, more than the {MAX_ENTRIES:,} a .gradviz file holds"
        )
    arrays: dict[str, np.ndarray] = {}
    encoded = [_encode_entry(i, e, arrays) for i, e in enumerate(entries)]
    view = dict(view or {})
    if isinstance(view.get("selection"), list):  # a tensor deleted since it was selected
        live = _live_names(entries)
        view["selection"] = [n for n in view["selection"] if n in live]
    session_json = _json_bytes({"entries": encoded, "view": view}, "the session")
    _check_written(session_json, max_elements)
    npz = io.BytesIO()
    np.savez(npz, **arrays)
    # What the reader counts against MAX_TOTAL_BYTES: each member, and each array in arrays.npz
    # (the manifest, a few hundred bytes, is counted after).
    with zipfile.ZipFile(npz) as inner:
        unpacked = sum(i.file_size for i in inner.infolist())
    unpacked += len(session_json) + npz.getbuffer().nbytes
    extra: list[tuple[str, bytes]] = []
    text = _encode_transcript(transcript)
    if text is not None and unpacked + len(text) + MAX_MANIFEST_BYTES <= MAX_TOTAL_BYTES:
        extra.append((TRANSCRIPT, text))
        unpacked += len(text)
    history = _encode_undo(entries, list(undo))
    if history is not None:
        with zipfile.ZipFile(io.BytesIO(history[1])) as inner:
            undo_unpacked = sum(i.file_size for i in inner.infolist()) + sum(map(len, history))
        if unpacked + undo_unpacked + MAX_MANIFEST_BYTES <= MAX_TOTAL_BYTES:  # else the log goes alone
            extra += [(UNDO, history[0]), (UNDO_ARRAYS, history[1])]
            unpacked += undo_unpacked
    when = (time or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    manifest = {
        "format": FORMAT_NAME,
        # A file without the optional members is a version 1 file, which older gradviz opens.
        "format_version": FORMAT_VERSION if extra else 1,
        "app_version": gradviz.__version__,
        "time": when,
    }
    manifest_json = _json_bytes(manifest, "the manifest")
    unpacked += len(manifest_json)
    if unpacked > MAX_TOTAL_BYTES:
        raise SessionFileError(
            f"can't save: the file would unpack to {unpacked:,} bytes, more than the "
            f"{MAX_TOTAL_BYTES:,} a .gradviz file may (its arrays count twice: arrays.npz and "
            "each array in it)"
        )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(MANIFEST, manifest_json)
        zf.writestr(SESSION, session_json)
        # In 1 MB pieces: zlib and BytesIO copy their whole output holding the GIL, which for
        # a big session froze the GUI thread for half a second during an autosave.
        buf = npz.getbuffer()
        member = zipfile.ZipInfo(ARRAYS, date_time=datetime.now().timetuple()[:6])
        member.compress_type = _array_compression(buf)
        with zf.open(member, "w", force_zip64=len(buf) >= zipfile.ZIP64_LIMIT) as dest:
            for i in range(0, len(buf), 2**20):
                dest.write(buf[i : i + 2**20])
            del buf  # the BytesIO can't be closed while a view of it is alive
        for name, data in extra:
            zf.writestr(name, data)
    return out.getvalue()


def _array_compression(buf: memoryview) -> int:
    """Deflate arrays that shrink (zeros, ones, small ints); store the ones that don't (random
    floats shrink by 7% at the cost of half a second per 16 MB, which delays every autosave)."""
    sample = bytes(buf[: 2**20])
    if sample and len(zlib.compress(sample, 1)) > 0.85 * len(sample):
        return zipfile.ZIP_STORED
    return zipfile.ZIP_DEFLATED


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old file or the new one:
    a temporary file beside the target, flushed to disk, then renamed over it. Through a
    symlink, the file it points to is replaced, and the link stays a link."""
    path = Path(os.path.realpath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(OSError):
            # Keep the permissions of the file being replaced (mkstemp makes it 0600).
            os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
        with contextlib.suppress(OSError):
            dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)


def _read_umask() -> int:
    # Read once, at import: os.umask() can only be read by setting it, which would race with
    # files other threads create (the autosave writes from a timer thread).
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def save(session: Session, path: str | os.PathLike[str]) -> None:
    """Save ``session`` to ``path`` atomically; the session is clean afterwards."""
    data = to_bytes(
        session.entries,
        session.view,
        max_elements=session.max_elements,
        transcript=session.transcript,
        undo=session.undo_steps(),
    )
    try:
        write_atomic(path, data)
    except OSError as e:
        raise SessionFileError(f"can't save {os.fspath(path)}: {e.strerror or e}") from None
    session.dirty = False


# --- reading: the zip ----------------------------------------------------------------------------
@dataclass
class _Limits:
    max_elements: int
    max_total_bytes: int


def _check_members(
    zf: zipfile.ZipFile,
    expected: Iterable[str],
    where: str,
    limits: _Limits,
    budget: list[int],
    optional: Iterable[str] = (),
) -> dict[str, zipfile.ZipInfo]:
    """Check a zip's directory before reading anything: names, methods, sizes and ratios."""
    expected, optional = list(expected), list(optional)
    every = expected + optional
    allowed = ", ".join(every[:6]) + (f" and {len(every) - 6} more" if len(every) > 6 else "")
    allowed = f"only {allowed} belong here" if every else "nothing belongs here"
    wanted = set(every)
    infos: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        name = info.filename
        shown = name if len(name) <= 80 else name[:77] + "..."
        if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") or ":" in name:
            raise _fail(where, f"member {shown!r} is a path outside the file; refused")
        if info.is_dir() or "/" in name or "\\" in name:
            raise _fail(where, f"unexpected member {shown!r} ({allowed})")
        if name not in wanted:
            raise _fail(where, f"unexpected member {shown!r} ({allowed})")
        if name in infos:
            raise _fail(where, f"member {shown!r} appears twice")
        if info.flag_bits & 0x1:
            raise _fail(where, f"member {shown!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _fail(
                where,
                f"member {shown!r} uses compression method {info.compress_type}; only stored and deflated are read",
            )
        if info.file_size < 0 or info.compress_size < 0:
            raise _fail(where, f"member {shown!r} has a negative size")
        if info.file_size > 0 and (
            info.compress_size == 0 or info.file_size / info.compress_size > MAX_RATIO
        ):
            ratio = "∞" if info.compress_size == 0 else f"{info.file_size / info.compress_size:,.0f}"
            raise _fail(
                where,
                f"member {shown!r} claims {info.file_size:,} bytes from {info.compress_size:,} "
                f"(ratio {ratio}:1, more than deflate can do): a zip bomb? refused",
            )
        budget[0] += info.file_size
        if budget[0] > limits.max_total_bytes:
            raise _fail(
                where,
                f"the file would unpack to more than {limits.max_total_bytes:,} bytes "
                f"(member {shown!r} alone claims {info.file_size:,}); refused",
            )
        infos[name] = info
    missing = [n for n in expected if n not in infos]
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise _fail(where, f"missing {', '.join(missing[:5])}{more}")
    return infos


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, where: str) -> bytes:
    if info.file_size > cap:
        raise _fail(where, f"{info.file_size:,} bytes, more than the {cap:,} allowed")
    with zf.open(info) as f:
        data = f.read(cap + 1)
    if len(data) != info.file_size:
        raise _fail(
            where, f"holds {len(data):,} bytes but its directory says {info.file_size:,}: the file is damaged"
        )
    return data


def _parse_json(data: bytes, where: str) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _fail(where, f"not UTF-8 text (byte {e.start})") from None

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in pairs:
            if k in out:
                raise _fail(where, f"key {k!r} appears twice in one object")
            out[k] = v
        return out

    try:
        return json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as e:
        raise _fail(where, f"invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise _fail(where, "JSON nested too deeply") from None
    except ValueError as e:  # e.g. an integer with thousands of digits
        raise _fail(where, f"invalid JSON: {e}") from None


# --- reading: fields ---------------------------------------------------------------------------------
_type_name = param_kinds.json_type_name
_short = param_kinds.short
_is_int = param_kinds.is_int


class _Obj:
    """One JSON object being read: typed access with messages that say where."""

    def __init__(self, value: Any, where: str, keys: Iterable[str], optional: Iterable[str] = ()) -> None:
        if not isinstance(value, dict):
            raise _fail(where, f"expected an object, found {_type_name(value)}")
        keys, optional = set(keys), set(optional)
        for k in value:
            if k not in keys and k not in optional:
                raise _fail(where, f"unknown field {_short(k)}")
        for k in sorted(keys):
            if k not in value:
                raise _fail(where, f"missing field '{k}'")
        self.value, self.where = value, where

    def has(self, key: str) -> bool:
        return key in self.value

    def get(self, key: str, check: Callable[[Any], bool], expected: str, default: Any = None) -> Any:
        if key not in self.value:
            return default
        v = self.value[key]
        if not check(v):
            raise _fail(self.where, f"'{key}' must be {expected}, found {_type_name(v)} {_short(v)}")
        return v

    def text(self, key: str, max_len: int = MAX_NAME, default: Any = None) -> str:
        v = self.get(key, lambda x: isinstance(x, str), "a string", default)
        if isinstance(v, str) and len(v) > max_len:
            raise _fail(self.where, f"'{key}' is longer than {max_len:,} characters")
        return v

    def flag(self, key: str, default: Any = None) -> bool:
        return self.get(key, lambda x: isinstance(x, bool), "true or false", default)

    def integer(self, key: str, lo: int = 0, hi: int = MAX_INT) -> int:
        v = self.get(key, _is_int, "an integer")
        if not lo <= v <= hi:
            raise _fail(self.where, f"'{key}' is {v}, outside {lo}..{hi}")
        return v


def _check_name(name: str, where: str, what: str, *, hidden: bool = False) -> None:
    """Names as Session.check_name allows them; hidden intermediates may start with _."""
    if not name.isidentifier() or keyword.iskeyword(name):
        raise _fail(where, f"{what} {_short(name)} is not a valid name")
    if not hidden and name.startswith("_"):
        raise _fail(where, f"{what} {_short(name)} starts with _, which is reserved for hidden intermediates")
    if name in RESERVED_NAMES:
        raise _fail(where, f"{what} {_short(name)} is reserved")


_elements = param_kinds.elements


@dataclass
class _ArraySpec:
    key: str
    dtype: np.dtype
    shape: tuple[int, ...]
    where: str

    @property
    def nbytes(self) -> int:
        return _elements(self.shape) * self.dtype.itemsize


def _array_spec(value: Any, key: str, where: str, limits: _Limits, field: str = "value") -> _ArraySpec:
    label = where.removeprefix(f"{SESSION}: ")
    where = f"{where}: {field}"
    obj = _Obj(value, where, ("array", "dtype", "shape"))
    got = obj.text("array")
    if got != key:
        raise _fail(where, f"array key must be {key!r}, found {_short(got)}")
    dt = obj.text("dtype")
    if dt not in DTYPES:
        raise _fail(where, f"dtype {_short(dt)} is not one of gradviz's dtypes ({', '.join(DTYPES)})")
    shape = obj.get("shape", lambda x: isinstance(x, list), "a list of sizes")
    if len(shape) > MAX_NDIM:
        raise _fail(where, f"shape has {len(shape)} dimensions, more than {MAX_NDIM}")
    for d in shape:
        if not _is_int(d) or d < 0:
            raise _fail(where, f"shape {_short(shape)} must hold sizes ≥ 0")
    n = _elements(shape)
    if n > limits.max_elements:
        raise _fail(
            where,
            f"shape {_short(shape)} has {n:,} elements, more than this session's limit of {limits.max_elements:,}",
        )
    return _ArraySpec(key, np.dtype(dt), tuple(shape), f"{label} {field}")


# --- reading: the op log ---------------------------------------------------------------------------
def _check_int(v: Any, where: str, what: str) -> None:
    try:
        param_kinds.check_int(v, where, what)
    except param_kinds.ParamError as e:
        raise SessionFileError(str(e)) from None


def _check_param(p: catalogue.Param, v: Any, where: str, n_operands: int, limits: _Limits) -> None:
    kind = param_kinds.KINDS.get(p.kind)
    if kind is None:  # a kind the catalogue added and this reader does not know
        raise _fail(where, f"parameter '{p.name}' has kind {p.kind!r}, which this version can't check")
    try:
        kind.validate(v, where, p, n_operands=n_operands, max_elements=limits.max_elements)
    except param_kinds.ParamError as e:
        raise SessionFileError(str(e)) from None


def _entry_label(i: int, raw: Any) -> str:
    """'entry 7 (op 'mul')', from whatever the raw entry holds, for messages."""
    base = f"entry {i + 1}"
    if not isinstance(raw, dict):
        return base
    kind = raw.get("kind")

    def s(k: str) -> str:
        v = raw.get(k)
        return _short(v).strip('"') if isinstance(v, str) else "?"

    if kind == "op":
        return f"{base} (op '{s('op')}')"
    if kind == "leaf":
        return f"{base} (leaf '{s('name')}')"
    if kind == "backward":
        return f"{base} (backward of '{s('target')}')"
    if kind in ("retain_grad", "requires_grad", "delete"):
        return f"{base} ({kind} of '{s('name')}')"
    if kind == "rename":
        return f"{base} (rename '{s('old')}')"
    if isinstance(kind, str) and len(kind) < 40:
        return f"{base} ({kind})"
    return base


class _Names:
    """The names the log defines as it runs, for checking references before replay."""

    def __init__(self, raw_entries: list[Any]) -> None:
        self.live: dict[str, int] = {}  # name -> uid
        self.live_uids: set[int] = set()
        self.users: dict[int, set[int]] = {}  # uid -> uids of live ops that use it
        self.uids: set[int] = set()
        # Where each name is defined later in the log, to call a forward reference a cycle.
        self.defined_at: dict[str, list[int]] = {}
        for j, raw in enumerate(raw_entries):
            if (
                isinstance(raw, dict)
                and raw.get("kind") in ("leaf", "op")
                and isinstance(raw.get("name"), str)
            ):
                self.defined_at.setdefault(raw["name"], []).append(j)
            if isinstance(raw, dict) and raw.get("kind") == "rename" and isinstance(raw.get("new"), str):
                self.defined_at.setdefault(raw["new"], []).append(j)

    def need(self, name: str, i: int, where: str, what: str, *, own: str | None = None) -> int:
        if name in self.live:
            return self.live[name]
        if own is not None and name == own:
            raise _fail(where, f"{what} '{name}' is the op's own result: a cycle")
        later = [j for j in self.defined_at.get(name, []) if j > i]
        if later:
            raise _fail(
                where,
                f"{what} '{name}' is not defined yet (entry {later[0] + 1} defines it): a cycle or a log out of order",
            )
        raise _fail(where, f"{what} '{name}' is not defined")

    def define(self, name: str, uid: int, where: str) -> None:
        if name in self.live:
            raise _fail(where, f"the name '{name}' is already taken")
        self.live[name] = uid
        self.live_uids.add(uid)

    def drop(self, name: str) -> None:
        self.live_uids.discard(self.live.pop(name))


def _decode_entry(
    i: int, raw: Any, names: _Names, limits: _Limits
) -> tuple[dict[str, Any], list[_ArraySpec]]:
    """Check entry ``i`` of a log (its fields, and its references against ``names``)."""
    specs: list[_ArraySpec] = []
    where = f"{SESSION}: {_entry_label(i, raw)}"
    if not isinstance(raw, dict):
        raise _fail(where, f"expected an object, found {_type_name(raw)}")
    kind = raw.get("kind")
    if not isinstance(kind, str) or kind not in _FIELDS:
        raise _fail(where, f"unknown kind {_short(kind)}; expected one of {', '.join(_FIELDS)}")
    obj = _Obj(raw, where, ("kind", *_FIELDS[kind]))
    entry: dict[str, Any] = {"kind": kind}
    if kind in ("leaf", "op"):
        uid = obj.integer("uid", 1, table.MAX_UID)
        if uid in names.uids:
            raise _fail(where, f"uid {uid} is used twice")
        names.uids.add(uid)
        # A hidden op, a hidden leaf (a constant never named) and a tensor renamed away
        # (Session.hide) carry reserved _N names; a named op may not.
        hidden = obj.flag("hidden") if kind == "op" else False
        name = obj.text("name")
        _check_name(name, where, "name", hidden=hidden or kind == "leaf")
        entry.update(uid=uid, name=name)
    if kind == "leaf":
        spec = _array_spec(raw["value"], _array_key("e", i), where, limits)
        specs.append(spec)
        entry.update(
            value=spec, requires_grad=obj.flag("requires_grad"), source=obj.text("source", MAX_SOURCE)
        )
        names.define(name, uid, where)
    elif kind == "op":
        op = obj.text("op")
        try:
            opspec = catalogue.get(op)
        except KeyError:
            raise _fail(where, f"unknown operation {_short(op)}") from None
        args = obj.get("args", lambda x: isinstance(x, list), "a list")
        if len(args) > table.MAX_OPERANDS:
            raise _fail(where, f"{len(args):,} operands, more than the {table.MAX_OPERANDS:,} allowed")
        decoded_args: list[tuple[str, Any]] = []
        used: list[int] = []
        for a in args:
            if not (isinstance(a, list) and len(a) == 2 and a[0] in ("ref", "const")):
                raise _fail(where, f'operand {_short(a)} must be ["ref", name] or ["const", number]')
            k, v = a
            if k == "ref":
                if not isinstance(v, str) or len(v) > MAX_NAME:
                    raise _fail(where, f"operand {_short(v)} must be a tensor's name")
                used.append(names.need(v, i, where, "operand", own=name))
            else:
                if not isinstance(v, (bool, int, float)):
                    raise _fail(where, f"constant operand {_short(v)} must be a number")
                if not opspec.scalar_operands:
                    raise _fail(where, f"{op} takes tensors only, not the constant {_short(v)}")
                if _is_int(v):
                    _check_int(v, where, "constant operand")
            decoded_args.append((k, v))
        n = len(decoded_args)
        if opspec.arity is not None and n != opspec.arity:
            raise _fail(
                where, f"{op} takes {opspec.arity} operand{'s' if opspec.arity != 1 else ''}, found {n}"
            )
        if (opspec.name == "linear" and n not in (2, 3)) or (opspec.arity is None and n < 1):
            raise _fail(where, f"{op} can't take {n} operands")
        if not used and opspec.arity is not None and opspec.arity > 0:
            raise _fail(where, f"{op} needs at least one tensor operand")
        params = obj.get("params", lambda x: isinstance(x, dict), "an object")
        for pname, pvalue in params.items():
            try:
                p = opspec.param(pname)
            except KeyError:
                raise _fail(where, f"{op} has no parameter {_short(pname)}") from None
            _check_param(p, pvalue, where, n, limits)
        for p in opspec.params:
            if p.required and p.name not in params:
                raise _fail(where, f"{op} needs parameter '{p.name}'")
        names.define(name, uid, where)
        for u in used:
            names.users.setdefault(u, set()).add(uid)
        entry.update(op=op, args=tuple(decoded_args), params=params, hidden=hidden)
    elif kind == "backward":
        target = obj.text("target")
        names.need(target, i, where, "target")
        grad = raw["gradient"]
        if grad is not None:
            grad = _array_spec(grad, _array_key("g", i), where, limits, "gradient")
            specs.append(grad)
        entry.update(target=target, gradient=grad, retain_graph=obj.flag("retain_graph"))
    elif kind == "zero_grad":
        tnames = obj.get("names", lambda x: x is None or isinstance(x, list), "null or a list of names")
        if tnames is not None:
            for n_ in tnames:
                if not isinstance(n_, str) or len(n_) > MAX_NAME:
                    raise _fail(where, f"'names' must hold tensor names, found {_short(n_)}")
                names.need(n_, i, where, "name")
            tnames = tuple(tnames)
        entry.update(names=tnames, set_to_none=obj.flag("set_to_none"))
    elif kind in ("retain_grad", "delete"):
        n_ = obj.text("name")
        uid = names.need(n_, i, where, "name")
        if kind == "delete":
            users = [u for u in names.users.get(uid, ()) if u in names.live_uids]
            if users:
                by_uid = {u: k for k, u in names.live.items()}
                who = ", ".join(f"'{by_uid[u]}'" for u in sorted(users))
                raise _fail(
                    where, f"deletes '{n_}', which {who} still depend{'s' if len(users) == 1 else ''} on"
                )
            names.drop(n_)
        entry.update(name=n_)
    elif kind == "requires_grad":
        n_ = obj.text("name")
        names.need(n_, i, where, "name")
        entry.update(name=n_, requires_grad=obj.flag("requires_grad"))
    elif kind == "rename":
        old, new = obj.text("old"), obj.text("new")
        uid = names.need(old, i, where, "name")
        _check_name(new, where, "new name", hidden=True)
        names.define(new, uid, where)  # renaming to itself: "already taken", as replay says
        names.live.pop(old, None)  # the uid lives on under its new name
        entry.update(old=old, new=new)
    return entry, specs


def _decode_entries(raw_entries: Any, limits: _Limits) -> tuple[list[dict[str, Any]], list[_ArraySpec]]:
    """Check the log's structure and references; returns normalized entries and array specs."""
    if not isinstance(raw_entries, list):
        raise _fail(SESSION, f"'entries' must be a list, found {_type_name(raw_entries)}")
    if len(raw_entries) > MAX_ENTRIES:
        raise _fail(SESSION, f"{len(raw_entries):,} entries, more than the {MAX_ENTRIES:,} allowed")
    names = _Names(raw_entries)
    out: list[dict[str, Any]] = []
    specs: list[_ArraySpec] = []
    total = 0
    for i, raw in enumerate(raw_entries):
        entry, new = _decode_entry(i, raw, names, limits)
        for spec in new:
            specs.append(spec)
            total += spec.nbytes
        if total > limits.max_total_bytes:
            where = f"{SESSION}: {_entry_label(i, raw)}"
            raise _fail(where, f"the arrays would take more than {limits.max_total_bytes:,} bytes")
        out.append(entry)
    return out, specs


class _Unchecked(_Names):
    """No references checked: for one entry being appended, which the session checks itself."""

    def __init__(self) -> None:
        super().__init__([])

    def need(self, name: str, i: int, where: str, what: str, *, own: str | None = None) -> int:
        return 0

    def define(self, name: str, uid: int, where: str) -> None:
        pass

    def drop(self, name: str) -> None:
        pass


_FIELDS: dict[str, tuple[str, ...]] = {
    "leaf": ("uid", "name", "value", "requires_grad", "source"),
    "op": ("uid", "name", "op", "args", "params", "hidden"),
    "backward": ("target", "gradient", "retain_graph"),
    "zero_grad": ("names", "set_to_none"),
    "retain_grad": ("name",),
    "requires_grad": ("name", "requires_grad"),
    "rename": ("old", "new"),
    "delete": ("name",),
}


def _json_depth_ok(v: Any, depth: int = 0) -> bool:
    if depth > MAX_JSON_DEPTH:
        return False
    if isinstance(v, dict):
        return all(isinstance(k, str) and _json_depth_ok(x, depth + 1) for k, x in v.items())
    if isinstance(v, list):
        return all(_json_depth_ok(x, depth + 1) for x in v)
    return v is None or isinstance(v, (bool, int, float, str))


def _check_view(view: Any, live: Iterable[str]) -> dict[str, Any]:
    where = f"{SESSION}: view"
    if not isinstance(view, dict):
        raise _fail(where, f"expected an object, found {_type_name(view)}")
    if not _json_depth_ok(view) or len(json.dumps(view)) > MAX_VIEW_BYTES:
        raise _fail(where, "settings nested too deeply or too large")
    obj = _Obj(view, where, (), view.keys())
    obj.get("mode", lambda x: isinstance(x, str) and x in VIEW_MODES, f"one of {', '.join(VIEW_MODES)}")
    obj.get("statistic", lambda x: isinstance(x, str) and x in STATS, f"one of {', '.join(STATS)}")
    obj.get(
        "colormap",
        lambda x: x is None or (isinstance(x, str) and len(x) <= table.MAX_COLORMAP_NAME),
        "null or a colour map's name",
    )
    obj.flag("log_scale")
    for key in ("auto_scale", "lock_scale", "pytorch_grads"):
        obj.flag(key)
    obj.get(
        "locked_range",
        lambda x: (
            isinstance(x, list)
            and len(x) == 3
            and x[0] in ("linear", "log")
            and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in x[1:]
            )
            and (0 < x[1] < x[2] if x[0] == "log" else x[1] < x[2])
        ),
        '["linear" or "log", low, high] with low below high (and above 0 on a log scale)',
    )
    sel = obj.get(
        "selection", lambda x: isinstance(x, list) and all(isinstance(n, str) for n in x), "a list of names"
    )
    if sel is not None:
        live = set(live)
        for n in sel:
            if n not in live:
                raise _fail(where, f"selection names '{_short(n).strip(chr(34))}', which is not defined")
    return view


def _check_manifest(raw: Any) -> dict[str, Any]:
    obj = _Obj(raw, MANIFEST, ("format", "format_version", "app_version", "time"))
    fmt = raw.get("format")
    if fmt != FORMAT_NAME:
        raise _fail(MANIFEST, f"format is {_short(fmt)}, not {FORMAT_NAME!r}: this is not a gradviz session")
    version = obj.integer("format_version", 1, MAX_INT)
    if version > FORMAT_VERSION:
        raise _fail(
            MANIFEST,
            f"made by a newer gradviz (format {version}); this version reads up to {FORMAT_VERSION}. "
            "Update gradviz to open it",
        )
    obj.text("app_version", table.MAX_MANIFEST_TEXT)
    when = obj.text("time", table.MAX_MANIFEST_TEXT)
    try:
        datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        raise _fail(MANIFEST, f"'time' {_short(when)} is not an ISO 8601 time") from None
    return raw


# --- reading: the arrays ----------------------------------------------------------------------------
def _read_npy_header(f: IO[bytes], where: str) -> tuple[np.dtype, tuple[int, ...], bool]:
    fmt = np.lib.format
    try:
        version = fmt.read_magic(f)
    except ValueError as e:
        raise _fail(where, f"not a .npy array ({e})") from None
    try:
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(f, max_header_size=MAX_NPY_HEADER)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(f, max_header_size=MAX_NPY_HEADER)
        else:
            raise _fail(where, f".npy version {version} is not read")
    except (ValueError, SyntaxError, TypeError, struct.error, tokenize.TokenError, RecursionError) as e:
        raise _fail(where, f"damaged .npy header ({type(e).__name__}: {str(e)[:100]})") from None
    return dtype, tuple(shape), bool(fortran)


def _load_arrays(
    npz_bytes: bytes, specs: list[_ArraySpec], limits: _Limits, budget: list[int], member: str = ARRAYS
) -> dict[str, np.ndarray]:
    ARRAYS = member  # noqa: N806 (the member named in every message below)
    want = {s.key + ".npy": s for s in specs}
    if not npz_bytes.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        raise _fail(ARRAYS, "not a .npz archive (it does not start like a zip)")
    try:
        inner = zipfile.ZipFile(io.BytesIO(npz_bytes))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as e:
        raise _fail(ARRAYS, f"not a valid .npz archive ({e})") from None
    with inner:
        infos = _check_members(inner, want, ARRAYS, limits, budget)
        for member, spec in want.items():
            where = f"{ARRAYS}: {spec.key}, the {spec.where}"
            info = infos[member]
            with inner.open(info) as f:
                dtype, shape, _ = _read_npy_header(f, where)
                offset = f.tell()
            if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
                raise _fail(where, f"holds Python objects (dtype {dtype}); pickled data is never loaded")
            if dtype.newbyteorder("=") != spec.dtype.newbyteorder("=") or dtype.kind != spec.dtype.kind:
                raise _fail(where, f"dtype is {dtype}, but {SESSION} says {spec.dtype}")
            if shape != spec.shape:
                raise _fail(where, f"shape is {list(shape)}, but {SESSION} says {list(spec.shape)}")
            if info.file_size != offset + spec.nbytes:
                raise _fail(
                    where,
                    f"holds {info.file_size - offset:,} data bytes where {spec.nbytes:,} belong: the file is damaged",
                )
        try:
            with np.load(io.BytesIO(npz_bytes), allow_pickle=False) as npz:
                arrays = {}
                for spec in specs:
                    arr = npz[spec.key]
                    if arr.dtype.newbyteorder("=") != spec.dtype or arr.shape != spec.shape:
                        raise _fail(ARRAYS, f"array {spec.key} changed while it was read")
                    arr = arr.astype(spec.dtype, order="C", copy=False)  # native byte order
                    if not (arr.flags.c_contiguous and arr.flags.writeable and arr.flags.owndata):
                        arr = arr.copy(order="C")
                    arrays[spec.key] = arr
        except ValueError as e:
            if "allow_pickle" in str(e):
                raise _fail(ARRAYS, "holds pickled Python objects; pickled data is never loaded") from None
            raise _fail(ARRAYS, f"damaged array data ({e})") from None
    return arrays


# --- reading: putting it together ---------------------------------------------------------------
def _build(entries: list[dict[str, Any]], arrays: dict[str, np.ndarray]) -> list[Entry]:
    out: list[Entry] = []
    for e in entries:
        kind = e["kind"]
        if kind == "leaf":
            out.append(Leaf(e["uid"], e["name"], arrays[e["value"].key], e["requires_grad"], e["source"]))
        elif kind == "op":
            out.append(Op(e["uid"], e["name"], e["op"], e["args"], e["params"], e["hidden"]))
        elif kind == "backward":
            g = e["gradient"]
            out.append(Backward(e["target"], None if g is None else arrays[g.key], e["retain_graph"]))
        elif kind == "zero_grad":
            out.append(ZeroGrad(e["names"], e["set_to_none"]))
        elif kind == "retain_grad":
            out.append(RetainGrad(e["name"]))
        elif kind == "requires_grad":
            out.append(SetRequiresGrad(e["name"], e["requires_grad"]))
        elif kind == "rename":
            out.append(Rename(e["old"], e["new"]))
        else:
            out.append(Delete(e["name"]))
    return out


def _live_decoded(entries: list[dict[str, Any]]) -> set[str]:
    """The names alive at the end of a decoded log, for the view's selection."""
    live: set[str] = set()
    for e in entries:
        if e["kind"] in ("leaf", "op"):
            live.add(e["name"])
        elif e["kind"] == "rename":
            live.discard(e["old"])
            live.add(e["new"])
        elif e["kind"] == "delete":
            live.discard(e["name"])
    return live


@dataclass
class Document:
    """What a file holds: the log and view, and what it kept of the learner's work (the
    console's transcript, the undo steps oldest first). ``problems`` says which optional part
    could not be read and was left out."""

    entries: list[Entry]
    view: dict[str, Any]
    transcript: list[Cell]
    undo: list[UndoStep]
    problems: list[str]
    manifest: dict[str, Any]


def _text_or_null(v: Any) -> bool:
    return v is None or isinstance(v, str)


def _read_transcript(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> list[Cell]:
    raw = _parse_json(_read_member(zf, info, table.MAX_TRANSCRIPT_BYTES, TRANSCRIPT), TRANSCRIPT)
    doc = _Obj(raw, TRANSCRIPT, ("cells",))
    cells = doc.get("cells", lambda x: isinstance(x, list), "a list")
    if len(cells) > table.MAX_TRANSCRIPT_CELLS:
        raise _fail(TRANSCRIPT, f"{len(cells):,} cells, more than the {table.MAX_TRANSCRIPT_CELLS:,} allowed")
    out = []
    big = table.MAX_TRANSCRIPT_BYTES
    for k, c in enumerate(cells):
        where = f"{TRANSCRIPT}: cell {k + 1}"
        obj = _Obj(c, where, ("number", "source"), ("printed", "result", "error", "note", "warnings", "kind"))
        kind = obj.text("kind", 20, "code")
        if kind not in CELL_KINDS:
            raise _fail(where, f"kind {_short(kind)} is not one of {', '.join(CELL_KINDS)}")
        warns = obj.get(
            "warnings",
            lambda x: isinstance(x, list) and all(isinstance(w, str) for w in x),
            "a list of text",
            [],
        )
        out.append(
            Cell(
                obj.integer("number", 0, table.MAX_ENTRIES),
                obj.text("source", big),
                obj.text("printed", big, ""),
                obj.get("result", _text_or_null, "text or null"),
                obj.get("error", _text_or_null, "text or null"),
                obj.text("note", big, ""),
                list(warns),
                kind,
            )
        )
    return out


def _read_undo(
    zf: zipfile.ZipFile,
    infos: dict[str, zipfile.ZipInfo],
    live: list[Entry],
    limits: _Limits,
    budget: list[int],
) -> list[UndoStep]:
    """The undo steps, each checked as a log is (fields, names, references), oldest first."""
    if UNDO_ARRAYS not in infos:
        raise _fail(UNDO, f"{UNDO_ARRAYS} is missing beside it")
    raw = _parse_json(_read_member(zf, infos[UNDO], table.MAX_UNDO_BYTES, UNDO), UNDO)
    doc = _Obj(raw, UNDO, ("pool", "steps"))
    pool_raw = doc.get("pool", lambda x: isinstance(x, list), "a list")
    steps_raw = doc.get("steps", lambda x: isinstance(x, list), "a list")
    if len(steps_raw) > table.MAX_UNDO_STEPS:
        raise _fail(UNDO, f"{len(steps_raw):,} steps, more than the {table.MAX_UNDO_STEPS:,} kept")
    if len(pool_raw) > MAX_ENTRIES:
        raise _fail(UNDO, f"{len(pool_raw):,} entries, more than the {MAX_ENTRIES:,} allowed")
    n = len(live)
    decoded, specs = [], []
    for j, r in enumerate(pool_raw):
        try:
            entry, new = _decode_entry(n + j, r, _Unchecked(), limits)
        except SessionFileError as e:
            raise _fail(UNDO, f"pool {str(e).removeprefix(SESSION + ': ')}") from None
        decoded.append(entry)
        specs.extend(new)
    held = sum(spec.nbytes + table.NPY_OVERHEAD for spec in specs)
    if held > table.UNDO_MEMORY:
        raise _fail(UNDO, f"its arrays take {held:,} bytes, more than the {table.UNDO_MEMORY:,} undo keeps")
    npz = _read_member(zf, infos[UNDO_ARRAYS], table.UNDO_MEMORY + 2**20, UNDO_ARRAYS)
    pool = live + _build(decoded, _load_arrays(npz, specs, limits, budget, UNDO_ARRAYS))
    steps: list[UndoStep] = []
    for k, r in enumerate(steps_raw):
        where = f"{UNDO}: step {k + 1}"
        obj = _Obj(r, where, ("entries", "next_uid", "label"))
        runs = obj.get("entries", lambda x: isinstance(x, list), "a list of [start, stop] runs")
        log: list[Entry] = []
        for run in runs:
            if not (isinstance(run, list) and len(run) == 2 and all(_is_int(x) for x in run)):
                raise _fail(where, f"run {_short(run)} must be [start, stop]")
            a, b = run
            if not 0 <= a < b <= len(pool) or len(log) + b - a > MAX_ENTRIES:
                raise _fail(where, f"run {_short(run)} is outside the {len(pool):,} entries")
            log.extend(pool[a:b])
        prefix = len(runs) <= 1 and (not runs or (runs[0][0] == 0 and runs[0][1] <= n))
        if not prefix:  # a prefix of the live log is a log already checked; others are checked here
            arrays: dict[str, np.ndarray] = {}
            try:
                _decode_entries([_encode_entry(i, e, arrays) for i, e in enumerate(log)], limits)
            except SessionFileError as e:
                raise _fail(where, str(e).removeprefix(SESSION + ": ")) from None
        uid = obj.integer("next_uid", 1, table.MAX_UID + 1)
        steps.append((tuple(log), uid, obj.text("label", table.MAX_UNDO_LABEL)))
    return steps


def _optional_part(what: str, read: Callable[[], Any], problems: list[str], default: Any) -> Any:
    """Read an optional part; if it is damaged, say so in ``problems`` and go on without it."""
    try:
        return read()
    except SessionFileError as e:
        problems.append(f"its {what} could not be read and was left out ({e})")
    except (*_DAMAGE, RecursionError) as e:
        problems.append(f"its {what} is damaged and was left out ({type(e).__name__}: {e})")
    return default


def _load_zip(source: IO[bytes], limits: _Limits) -> Document:
    try:
        zf = zipfile.ZipFile(source)
    except zipfile.BadZipFile as e:
        raise SessionFileError(f"not a gradviz session: not a zip file, or a damaged one ({e})") from None
    with zf:
        budget = [0]
        infos = _check_members(zf, MEMBERS, "", limits, budget, OPTIONAL_MEMBERS)
        manifest = _check_manifest(
            _parse_json(_read_member(zf, infos[MANIFEST], MAX_MANIFEST_BYTES, MANIFEST), MANIFEST)
        )
        doc = _Obj(
            _parse_json(_read_member(zf, infos[SESSION], MAX_SESSION_BYTES, SESSION), SESSION),
            SESSION,
            ("entries", "view"),
        )
        entries, specs = _decode_entries(doc.value["entries"], limits)
        view = _check_view(doc.value["view"], _live_decoded(entries))
        npz = _read_member(zf, infos[ARRAYS], limits.max_total_bytes, ARRAYS)
        arrays = _load_arrays(npz, specs, limits, budget)
        log = _build(entries, arrays)
        problems: list[str] = []
        transcript = []
        if TRANSCRIPT in infos:
            transcript = _optional_part(
                "console transcript", lambda: _read_transcript(zf, infos[TRANSCRIPT]), problems, []
            )
        undo = []
        if UNDO in infos:
            undo = _optional_part(
                "undo history", lambda: _read_undo(zf, infos, log, limits, budget), problems, []
            )
    return Document(log, view, transcript, undo, problems, manifest)


# Exceptions a damaged zip or array can raise from the standard library and numpy. Every one of
# them means "this file is broken", never "gradviz is broken".
_DAMAGE = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    struct.error,
    OverflowError,
)


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO), not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a file"
    return "is not a regular file"


def _open_regular(path: str | os.PathLike[str], max_bytes: int) -> IO[bytes]:
    """Open ``path`` for reading only if it is a regular file (a symlink to one is fine): a
    FIFO would block the open or the read forever and /dev/zero never ends. O_NONBLOCK makes
    opening a FIFO return at once; fstat then looks at what was really opened."""
    flags = (
        os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    )
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SessionFileError(f"{_file_kind(st.st_mode)}; only regular files are opened")
        if st.st_size > max_bytes:
            raise SessionFileError(f"{st.st_size:,} bytes, more than the {max_bytes:,} allowed")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)  # no effect on a regular file; plain reads from here
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _guarded(name: str, read: Callable[[], Any]) -> Any:
    try:
        return read()
    except SessionFileError as e:
        if name and not str(e).startswith(name):
            raise SessionFileError(f"{name}: {e}", internal=e.internal) from None
        raise
    except FileNotFoundError:
        raise SessionFileError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise SessionFileError(f"{name}: is a folder, not a file") from None
    except PermissionError:
        raise SessionFileError(f"{name}: permission denied") from None
    except OSError as e:
        if e.errno == errno.ENXIO:  # a socket: nothing to open
            raise SessionFileError(f"{name}: is not a regular file; only regular files are opened") from None
        raise SessionFileError(
            f"{name}: the file is damaged or could not be read ({type(e).__name__}: {e})"
        ) from None
    except MemoryError:
        raise SessionFileError(f"{name}: not enough memory to open it") from None
    except _DAMAGE as e:
        raise SessionFileError(
            f"{name}: the file is damaged or truncated ({type(e).__name__}: {e})"
        ) from None
    except RecursionError:
        raise SessionFileError(f"{name}: nested too deeply") from None
    except Exception as e:  # a stranger's file must never crash the app
        raise SessionFileError(
            f"{name}: could not read the file (internal error {type(e).__name__}: {e})", internal=True
        ) from None


def loads(
    data: bytes,
    *,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    max_total_bytes: int = MAX_TOTAL_BYTES,
    name: str = "",
) -> tuple[list[Entry], dict[str, Any]]:
    """:func:`load` from bytes in memory."""
    limits = _Limits(max_elements, max_total_bytes)
    if len(data) > max_total_bytes:
        raise SessionFileError(
            f"{name + ': ' if name else ''}{len(data):,} bytes, more than the {max_total_bytes:,} allowed"
        )
    doc = _guarded(name, lambda: _load_zip(io.BytesIO(data), limits))
    return doc.entries, doc.view


def load_document(
    path: str | os.PathLike[str],
    *,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    max_total_bytes: int = MAX_TOTAL_BYTES,
) -> Document:
    """Read and check a ``.gradviz`` file: its log, view, transcript and undo history.

    Raises :class:`SessionFileError` for anything wrong with the log or the view; a damaged
    transcript or undo history is left out and named in ``Document.problems``. The entries are
    checked for structure and references; whether they replay (shapes, dtypes) is found by
    replaying them, as :func:`open_into` does.
    """
    name = os.path.basename(os.fspath(path))
    limits = _Limits(max_elements, max_total_bytes)

    def read() -> Document:
        with _open_regular(path, max_total_bytes) as f:
            return _load_zip(f, limits)

    return _guarded(name, read)


def load(
    path: str | os.PathLike[str],
    *,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    max_total_bytes: int = MAX_TOTAL_BYTES,
) -> tuple[list[Entry], dict[str, Any]]:
    """Just the log entries and view settings of :func:`load_document`."""
    doc = load_document(path, max_elements=max_elements, max_total_bytes=max_total_bytes)
    return doc.entries, doc.view


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Just the checked manifest (format, version, app version, time)."""
    name = os.path.basename(os.fspath(path))

    def read() -> dict[str, Any]:
        with _open_regular(path, MAX_TOTAL_BYTES) as f, zipfile.ZipFile(f) as zf:
            info = zf.getinfo(MANIFEST)
            _check_members(
                zf, MEMBERS, "", _Limits(DEFAULT_MAX_ELEMENTS, MAX_TOTAL_BYTES), [0], OPTIONAL_MEMBERS
            )
            return _check_manifest(
                _parse_json(_read_member(zf, info, MAX_MANIFEST_BYTES, MANIFEST), MANIFEST)
            )

    return _guarded(name, read)


def load_into(
    session: Session,
    entries: list[Entry],
    view: dict[str, Any],
    name: str = "",
    *,
    state: Any = None,
    transcript: list[Cell] | None = None,
    undo: list[UndoStep] | None = None,
) -> None:
    """Replace ``session`` by checked entries; a log that does not replay leaves it untouched.
    ``state`` is a replay of the same entries made earlier by :func:`prepare`."""
    where = f"{name}: {SESSION}" if name else SESSION
    before = session.entries
    try:
        session.load_entries(entries, view, state=state, transcript=transcript or (), undo=undo or ())
    except (SessionFileError, ReplayCancelledError):  # the file's fault, or the person's Cancel
        raise
    except Exception as e:  # a stranger's file must never crash the app
        if session.entries != before:  # the log replayed; a listener of the session failed
            raise
        if isinstance(e, SessionError):
            raise SessionFileError(f"{where}: {e}") from None
        if isinstance(e, RecursionError):
            raise SessionFileError(f"{where}: the graph is too deep to replay") from None
        raise SessionFileError(
            f"{where}: the log does not replay ({type(e).__name__}: {e})", internal=True
        ) from None


def load_document_into(session: Session, doc: Document, name: str = "", *, state: Any = None) -> None:
    """:func:`load_into` with all that ``doc`` holds: the transcript and undo history too."""
    load_into(session, doc.entries, doc.view, name, state=state, transcript=doc.transcript, undo=doc.undo)


def prepare(
    session: Session, path: str | os.PathLike[str], progress: Callable[[int, int], None] | None = None
) -> tuple[list[Entry], dict[str, Any], Any]:
    """Read, check and replay ``path`` without touching ``session`` (safe on a worker thread):
    returns what :func:`load_into` needs. ``progress(done, total)`` may raise to cancel."""
    doc, state = prepare_document(session, path, progress)
    return doc.entries, doc.view, state


def prepare_document(
    session: Session, path: str | os.PathLike[str], progress: Callable[[int, int], None] | None = None
) -> tuple[Document, Any]:
    """:func:`prepare`, keeping all the document holds, for :func:`load_document_into`."""
    doc = load_document(path, max_elements=session.max_elements)
    entries = doc.entries
    where = f"{os.path.basename(os.fspath(path))}: {SESSION}"
    cancel: list[BaseException] = []  # what progress raised: the person's Cancel, let through

    def report(done: int, total: int) -> None:
        try:
            if progress is not None:
                progress(done, total)
        except BaseException as e:
            cancel.append(e)
            raise

    try:
        state = session.replay(entries, report)
    except ReplayCancelledError:
        raise
    except SessionError as e:
        raise SessionFileError(f"{where}: {e}") from None
    except RecursionError:
        raise SessionFileError(f"{where}: the graph is too deep to replay") from None
    except MemoryError:
        raise SessionFileError(f"{where}: not enough memory to replay it") from None
    except Exception as e:
        if cancel and e is cancel[0]:
            raise
        raise SessionFileError(
            f"{where}: the log does not replay ({type(e).__name__}: {e})", internal=True
        ) from None
    return doc, state


def open_into(session: Session, path: str | os.PathLike[str]) -> None:
    """Open ``path`` into ``session``, replacing its document; on any error the session is
    left exactly as it was and :class:`SessionFileError` says why."""
    doc = load_document(path, max_elements=session.max_elements)
    load_document_into(session, doc, os.path.basename(os.fspath(path)))


# --- what a file can hold, checked as each entry is appended ---------------------------------------
class LimitError(SessionError):
    """An entry the session refuses because a ``.gradviz`` file could not hold it."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="ValueError")


# Room left in session.json beside the entries: the view settings and the document's own braces.
_SESSION_RESERVE = 4 * table.MAX_VIEW_BYTES + 1024
_PREFIX = re.compile(r"^session\.json: entry \d+(?: \((.*?)\))?: ")


def _entry_sizes(i: int, entry: Entry) -> tuple[bytes, int, int]:
    """Entry ``i`` as :func:`to_bytes` encodes it, the bytes it takes in session.json (where
    each of its lines is indented two more, plus a separator) and the bytes of its arrays."""
    arrays: dict[str, np.ndarray] = {}
    data = _json_bytes(_encode_entry(i, entry, arrays), f"entry {i + 1}")
    in_doc = len(data) + 2 * (data.count(b"\n") + 1) + 2
    return data, in_doc, sum(a.nbytes + table.NPY_OVERHEAD for a in arrays.values())


@dataclass
class _Tally:
    """What a log already takes in a file, kept as it grows so that checking an append costs
    only the new entry: ``log`` is the list last seen and ``n`` its length then."""

    log: list[Entry]
    n: int
    last: Entry | None
    json_bytes: int = 0
    array_bytes: int = 0


_sizes: weakref.WeakKeyDictionary[Entry, tuple[int, int]] = weakref.WeakKeyDictionary()
_tallies: weakref.WeakKeyDictionary[Session, _Tally] = weakref.WeakKeyDictionary()
_tally_lock = threading.Lock()


def _sizes_of(i: int, entry: Entry) -> tuple[int, int]:
    got = _sizes.get(entry)
    if got is None:
        try:
            _, json_bytes, array_bytes = _entry_sizes(i, entry)
        except SessionFileError:  # not plain data: refused when it is appended or saved
            json_bytes, array_bytes = 0, 0
        got = _sizes[entry] = (json_bytes, array_bytes)
    return got


def _tally(session: Session, log: list[Entry]) -> _Tally:
    t = _tallies.get(session)
    fresh = t is None or t.log is not log or len(log) < t.n or (t.n and log[t.n - 1] is not t.last)
    if fresh:  # the log was replaced (undo, an edit, a rollback): count it again, once
        t = _tallies[session] = _Tally(log, 0, None)
    for i in range(t.n, len(log)):
        j, a = _sizes_of(i, log[i])
        t.json_bytes += j
        t.array_bytes += a
    t.n, t.last = len(log), log[-1] if log else None
    return t


def check_appendable(session: Session, log: list[Entry], entry: Entry) -> None:
    """Refuse (:class:`LimitError`) ``entry``, about to be appended to ``session``'s ``log``,
    if a ``.gradviz`` file could not hold the log with it: checked by the reader's own checks
    on the entry as the writer encodes it, and against the totals the reader allows."""
    i = len(log)
    if i + 1 > table.MAX_ENTRIES:
        raise LimitError(
            f"{describe(entry)}: the log would have more than {table.MAX_ENTRIES:,} entries, "
            "the most a .gradviz file holds; nothing was done"
        )
    if isinstance(entry, (Leaf, Op)) and not 1 <= entry.uid <= table.MAX_UID:
        raise LimitError(
            f"{describe(entry)}: this session has used up its {table.MAX_UID:,} tensor ids; "
            "save it and open it again to go on"
        )
    try:
        data, json_bytes, array_bytes = _entry_sizes(i, entry)
        _decode_entry(
            i, _parse_json(data, SESSION), _Unchecked(), _Limits(session.max_elements, MAX_TOTAL_BYTES)
        )
    except SessionFileError as e:
        m = _PREFIX.match(str(e))
        what = m.group(1) if m and m.group(1) else describe(entry)
        detail = str(e)[m.end() :] if m else str(e).removeprefix("can't save ")
        raise LimitError(
            f"{what}: {detail}. A .gradviz file can't hold that, so it could never be saved: "
            "refused, nothing was done"
        ) from None
    with _tally_lock:
        t = _tally(session, log)
        if t.json_bytes + json_bytes > MAX_SESSION_BYTES - _SESSION_RESERVE:
            raise LimitError(
                f"{describe(entry)}: the log would take more than {MAX_SESSION_BYTES:,} bytes "
                f"of {SESSION} (names, sources and parameters), the most a .gradviz file holds; "
                "nothing was done"
            )
        if t.array_bytes + array_bytes > table.MAX_ARRAY_BYTES:
            raise LimitError(
                f"{describe(entry)}: the log's arrays (leaf values and backward gradients) would "
                f"take {t.array_bytes + array_bytes:,} bytes, more than the {table.MAX_ARRAY_BYTES:,} "
                "a .gradviz file holds; nothing was done"
            )
        _sizes[entry] = (json_bytes, array_bytes)


__all__ = [
    "ARRAYS",
    "DTYPES",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MANIFEST",
    "OPTIONAL_MEMBERS",
    "SESSION",
    "SUFFIX",
    "TRANSCRIPT",
    "UNDO",
    "UNDO_ARRAYS",
    "Document",
    "LimitError",
    "SessionFileError",
    "check_appendable",
    "load",
    "load_document",
    "load_document_into",
    "load_into",
    "loads",
    "open_into",
    "prepare",
    "prepare_document",
    "read_manifest",
    "save",
    "to_bytes",
    "write_atomic",
]
