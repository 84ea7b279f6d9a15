"""The ``.gradviz`` file: a session saved as data, safe to open from anyone.

A ``.gradviz`` file is a zip holding three members, and up to three optional ones:

``manifest.json``
    ``{"format": "gradviz-session", "format_version": 2, "app_version": "0.1.0", "time": ISO 8601}``
    (version 1 when the file has none of the optional members, so older gradviz opens it; 3 when
    its log or undo history holds a ``loop`` entry, and only then; 4 when an op holds a ``scope``
    or a loop opens a name scope)
``session.json``
    ``{"entries": [...], "view": {...}}``: the op log in order and the view settings. Each entry
    is an object with a ``kind`` (leaf, op, backward, zero_grad, retain_grad, requires_grad, rename,
    delete, write, loop) and
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

A ``.gradviz`` file may instead hold a PyTorch snapshot (manifest format
``gradviz-pytorch-snapshot``: a script's graph as data, viewable, not replayable); it is read and
written by :mod:`.snapshot_file`, which describes it.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import tempfile
import threading
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

from . import codec
from . import console as _console  # noqa: F401 - registers how a "loop" entry replays
from . import limits as table
from .codec import (
    DTYPES,
    Limits,
    Obj,
    SessionFileError,
    Unchecked,
    decode_entries,
    decode_entry,
    encode_entry,
    fail,
)
from .console.loop_entry import uses_name_scope
from .document import (
    DEFAULT_MAX_ELEMENTS,
    ReplayCancelledError,
    Session,
    SessionError,
    UndoStep,
)
from .log import Entry, Loop, Op, describe, live_names
from .param_kinds import is_int, json_type_name, short
from .safe_zip import (
    ARRAYS,
    DAMAGE,
    MANIFEST,
    check_members,
    guarded,
    json_bytes,
    load_arrays,
    open_archive,
    open_regular,
    parse_json,
    read_member,
)
from .transcript import CELL_KINDS, Cell, to_plain

FORMAT_NAME = "gradviz-session"
# 2 added the optional members; a version 1 file is a version 2 file without them. 3 added the
# "loop" entry (a console for loop as one step): only a file that holds one is version 3, so
# older gradviz refuses it by its version ("made by a newer gradviz") and opens all others.
# 4 added an op's "scope" (the module calls and name scopes it was made in), the same way, and
# name scopes in a loop's source (which an older console can't run).
FORMAT_VERSION = 4
SNAPSHOT_FORMAT_NAME = "gradviz-pytorch-snapshot"  # the other kind of .gradviz file (.snapshot_file)
SUFFIX = ".gradviz"

SESSION = "session.json"
MEMBERS = (MANIFEST, SESSION, ARRAYS)
# The learner's work besides the log. Each may be missing (older files); one that can't be
# read is left out with a problem reported, and the rest of the file still opens.
TRANSCRIPT = "transcript.json"
UNDO = "undo.json"
UNDO_ARRAYS = "undo.npz"
OPTIONAL_MEMBERS = (TRANSCRIPT, UNDO, UNDO_ARRAYS)


# The limits are one table (limits.py) that the session, this writer and this reader read.
MAX_TOTAL_BYTES = table.MAX_TOTAL_BYTES
MAX_MANIFEST_BYTES = table.MAX_MANIFEST_BYTES
MAX_SESSION_BYTES = table.MAX_SESSION_BYTES
MAX_RATIO = table.MAX_RATIO
MAX_ENTRIES = table.MAX_ENTRIES
MAX_JSON_DEPTH = table.MAX_JSON_DEPTH
MAX_VIEW_BYTES = table.MAX_VIEW_BYTES
MAX_INT = table.INT_MAX
MAX_NPY_HEADER = table.MAX_NPY_HEADER

VIEW_MODES = ("tensors", "autograd")


# --- writing -----------------------------------------------------------------------------------
def _check_written(session_json: bytes, max_elements: int) -> None:
    """Read what the writer wrote with the reader's own checks: a file is written only if it
    can be opened again."""
    if len(session_json) > MAX_SESSION_BYTES:
        raise SessionFileError(
            f"can't save: the log takes {len(session_json):,} bytes of {SESSION}, more than the "
            f"{MAX_SESSION_BYTES:,} a .gradviz file holds"
        )
    try:
        doc = parse_json(session_json, SESSION)
        entries, _ = decode_entries(doc["entries"], Limits(max_elements, MAX_TOTAL_BYTES))
        _check_view(doc["view"], live_names(entries))
    except SessionFileError as e:
        raise SessionFileError(f"can't save, the file could not be opened again: {e}") from None


def _encode_transcript(cells: Iterable[Cell]) -> bytes | None:
    """transcript.json: the newest cells that fit the file's bounds (None for no cells)."""
    kept: list[dict[str, Any]] = []
    size = 0
    for cell in reversed(list(cells)[-table.MAX_TRANSCRIPT_CELLS :]):
        plain = to_plain(cell)
        n = len(json_bytes(plain, "the transcript")) + 4
        if size + n > table.MAX_TRANSCRIPT_BYTES - 64:
            break
        kept.append(plain)
        size += n
    return json_bytes({"cells": kept[::-1]}, "the transcript") if kept else None


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
                new_pool.append(encode_entry(k, e, new_arrays))
                index[id(e)] = k
            refs.append(k)
        step = {"entries": _runs(refs), "next_uid": int(uid), "label": str(label)[: table.MAX_UNDO_LABEL]}
        more_json = len(json_bytes([step, new_pool], "the undo history"))
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
    return json_bytes({"pool": pool, "steps": kept[::-1]}, "the undo history"), npz.getvalue()


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
    encoded = [encode_entry(i, e, arrays) for i, e in enumerate(entries)]
    view = dict(view or {})
    if isinstance(view.get("selection"), list):  # a tensor deleted since it was selected
        live = live_names(entries)
        view["selection"] = [n for n in view["selection"] if n in live]
    session_json = json_bytes({"entries": encoded, "view": view}, "the session")
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
    undo = list(undo)
    every = [*entries, *(e for step in undo for e in step[0])]
    has_loop = any(isinstance(e, Loop) for e in every)
    # An op made in a module call or name scope; a loop whose replay opens a name scope.
    has_scope = any(
        (isinstance(e, Op) and e.scope) or (isinstance(e, Loop) and uses_name_scope(e)) for e in every
    )
    history = _encode_undo(entries, undo)
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
        "format_version": 4 if has_scope else 3 if has_loop else 2 if extra else 1,
        "app_version": gradviz.__version__,
        "time": when,
    }
    manifest_json = json_bytes(manifest, "the manifest")
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
# --- reading: the view and the manifest --------------------------------------------------------
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
        raise fail(where, f"expected an object, found {json_type_name(view)}")
    if not _json_depth_ok(view) or len(json.dumps(view)) > MAX_VIEW_BYTES:
        raise fail(where, "settings nested too deeply or too large")
    obj = Obj(view, where, (), view.keys())
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
                raise fail(where, f"selection names '{short(n).strip(chr(34))}', which is not defined")
    return view


def _check_manifest(raw: Any) -> dict[str, Any]:
    fmt = raw.get("format") if isinstance(raw, dict) else None
    if fmt == SNAPSHOT_FORMAT_NAME:  # named before its fields are: a snapshot's differ
        raise fail(
            MANIFEST,
            "this is a PyTorch snapshot (a script's graph, viewable, not replayable), not a "
            "gradviz session: open it with File ▸ Open, which shows it in a window of its own, "
            "or draw it with gradviz render",
        )
    obj = Obj(raw, MANIFEST, ("format", "format_version", "app_version", "time"))
    if fmt != FORMAT_NAME:
        raise fail(MANIFEST, f"format is {short(fmt)}, not {FORMAT_NAME!r}: this is not a gradviz session")
    version = obj.integer("format_version", 1, MAX_INT)
    if version > FORMAT_VERSION:
        raise fail(
            MANIFEST,
            f"made by a newer gradviz (format {version}); this version reads up to {FORMAT_VERSION}. "
            "Update gradviz to open it",
        )
    obj.text("app_version", table.MAX_MANIFEST_TEXT)
    when = obj.text("time", table.MAX_MANIFEST_TEXT)
    try:
        datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        raise fail(MANIFEST, f"'time' {short(when)} is not an ISO 8601 time") from None
    return raw


# --- reading: the arrays ----------------------------------------------------------------------------
# --- reading: putting it together ---------------------------------------------------------------
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
    raw = parse_json(read_member(zf, info, table.MAX_TRANSCRIPT_BYTES, TRANSCRIPT), TRANSCRIPT)
    doc = Obj(raw, TRANSCRIPT, ("cells",))
    cells = doc.get("cells", lambda x: isinstance(x, list), "a list")
    if len(cells) > table.MAX_TRANSCRIPT_CELLS:
        raise fail(TRANSCRIPT, f"{len(cells):,} cells, more than the {table.MAX_TRANSCRIPT_CELLS:,} allowed")
    out = []
    big = table.MAX_TRANSCRIPT_BYTES
    for k, c in enumerate(cells):
        where = f"{TRANSCRIPT}: cell {k + 1}"
        obj = Obj(c, where, ("number", "source"), ("printed", "result", "error", "note", "warnings", "kind"))
        kind = obj.text("kind", 20, "code")
        if kind not in CELL_KINDS:
            raise fail(where, f"kind {short(kind)} is not one of {', '.join(CELL_KINDS)}")
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
    limits: Limits,
    budget: list[int],
) -> list[UndoStep]:
    """The undo steps, each checked as a log is (fields, names, references), oldest first."""
    if UNDO_ARRAYS not in infos:
        raise fail(UNDO, f"{UNDO_ARRAYS} is missing beside it")
    raw = parse_json(read_member(zf, infos[UNDO], table.MAX_UNDO_BYTES, UNDO), UNDO)
    doc = Obj(raw, UNDO, ("pool", "steps"))
    pool_raw = doc.get("pool", lambda x: isinstance(x, list), "a list")
    steps_raw = doc.get("steps", lambda x: isinstance(x, list), "a list")
    if len(steps_raw) > table.MAX_UNDO_STEPS:
        raise fail(UNDO, f"{len(steps_raw):,} steps, more than the {table.MAX_UNDO_STEPS:,} kept")
    if len(pool_raw) > MAX_ENTRIES:
        raise fail(UNDO, f"{len(pool_raw):,} entries, more than the {MAX_ENTRIES:,} allowed")
    n = len(live)
    decoded, specs = [], []
    for j, r in enumerate(pool_raw):
        try:
            entry, new = decode_entry(n + j, r, Unchecked(), limits)
        except SessionFileError as e:
            raise fail(UNDO, f"pool {str(e).removeprefix(SESSION + ': ')}") from None
        decoded.append(entry)
        specs.extend(new)
    held = sum(spec.nbytes + table.NPY_OVERHEAD for spec in specs)
    if held > table.UNDO_MEMORY:
        raise fail(UNDO, f"its arrays take {held:,} bytes, more than the {table.UNDO_MEMORY:,} undo keeps")
    npz = read_member(zf, infos[UNDO_ARRAYS], table.UNDO_MEMORY + 2**20, UNDO_ARRAYS)
    pool = live + codec.build(decoded, load_arrays(npz, specs, limits, budget, UNDO_ARRAYS))
    steps: list[UndoStep] = []
    for k, r in enumerate(steps_raw):
        where = f"{UNDO}: step {k + 1}"
        obj = Obj(r, where, ("entries", "next_uid", "label"))
        runs = obj.get("entries", lambda x: isinstance(x, list), "a list of [start, stop] runs")
        log: list[Entry] = []
        for run in runs:
            if not (isinstance(run, list) and len(run) == 2 and all(is_int(x) for x in run)):
                raise fail(where, f"run {short(run)} must be [start, stop]")
            a, b = run
            if not 0 <= a < b <= len(pool) or len(log) + b - a > MAX_ENTRIES:
                raise fail(where, f"run {short(run)} is outside the {len(pool):,} entries")
            log.extend(pool[a:b])
        prefix = len(runs) <= 1 and (not runs or (runs[0][0] == 0 and runs[0][1] <= n))
        if not prefix:  # a prefix of the live log is a log already checked; others are checked here
            arrays: dict[str, np.ndarray] = {}
            try:
                decode_entries([encode_entry(i, e, arrays) for i, e in enumerate(log)], limits)
            except SessionFileError as e:
                raise fail(where, str(e).removeprefix(SESSION + ": ")) from None
        uid = obj.integer("next_uid", 1, table.MAX_UID + 1)
        steps.append((tuple(log), uid, obj.text("label", table.MAX_UNDO_LABEL)))
    return steps


def _optional_part(what: str, read: Callable[[], Any], problems: list[str], default: Any) -> Any:
    """Read an optional part; if it is damaged, say so in ``problems`` and go on without it."""
    try:
        return read()
    except SessionFileError as e:
        problems.append(f"its {what} could not be read and was left out ({e})")
    except (*DAMAGE, RecursionError) as e:
        problems.append(f"its {what} is damaged and was left out ({type(e).__name__}: {e})")
    return default


def _load_zip(source: IO[bytes], limits: Limits) -> Document:
    with open_archive(
        source, MEMBERS, limits, _check_manifest, what="a gradviz session", optional=OPTIONAL_MEMBERS
    ) as archive:
        zf, infos, budget, manifest = archive.zf, archive.infos, archive.budget, archive.manifest
        doc = Obj(archive.json(SESSION, MAX_SESSION_BYTES), SESSION, ("entries", "view"))
        entries, specs = decode_entries(doc.value["entries"], limits)
        view = _check_view(doc.value["view"], live_names(entries))
        npz = read_member(zf, infos[ARRAYS], limits.max_total_bytes, ARRAYS)
        arrays = load_arrays(npz, specs, limits, budget)
        log = codec.build(entries, arrays)
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


def loads(
    data: bytes,
    *,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    max_total_bytes: int = MAX_TOTAL_BYTES,
    name: str = "",
) -> tuple[list[Entry], dict[str, Any]]:
    """:func:`load` from bytes in memory."""
    limits = Limits(max_elements, max_total_bytes)
    if len(data) > max_total_bytes:
        raise SessionFileError(
            f"{name + ': ' if name else ''}{len(data):,} bytes, more than the {max_total_bytes:,} allowed"
        )
    doc = guarded(name, lambda: _load_zip(io.BytesIO(data), limits))
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
    limits = Limits(max_elements, max_total_bytes)

    def read() -> Document:
        with open_regular(path, max_total_bytes) as f:
            return _load_zip(f, limits)

    return guarded(name, read)


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
        with open_regular(path, MAX_TOTAL_BYTES) as f, zipfile.ZipFile(f) as zf:
            info = zf.getinfo(MANIFEST)
            check_members(
                zf, MEMBERS, "", Limits(DEFAULT_MAX_ELEMENTS, MAX_TOTAL_BYTES), [0], OPTIONAL_MEMBERS
            )
            return _check_manifest(parse_json(read_member(zf, info, MAX_MANIFEST_BYTES, MANIFEST), MANIFEST))

    return guarded(name, read)


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
    data = json_bytes(encode_entry(i, entry, arrays), f"entry {i + 1}")
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
    uid = entry.last_uid()  # (a Loop: the last of the uids it took)
    if uid is not None and not 1 <= uid <= table.MAX_UID:
        raise LimitError(
            f"{describe(entry)}: this session has used up its {table.MAX_UID:,} tensor ids; "
            "save it and open it again to go on"
        )
    try:
        data, json_bytes, array_bytes = _entry_sizes(i, entry)
        decode_entry(i, parse_json(data, SESSION), Unchecked(), Limits(session.max_elements, MAX_TOTAL_BYTES))
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
