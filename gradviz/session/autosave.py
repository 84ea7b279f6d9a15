"""Crash recovery: the session written to a recovery file after each change.

Each running gradviz owns one recovery file, ``recovery/recovery-<pid>-<token>.gradviz`` in the
data directory (same format as a saved session), and a small ``.json`` beside it that says which
process wrote it, when, and which document it was editing. A clean save, a clean close, or
opening another document deletes it, so a recovery file that is still there when gradviz
starts, and whose process is no longer running, was left by a crash (or a kill -9): that is
what :func:`find_recovery` reports.

Writes are debounced: about ``delay`` (1 s) after the last change, and never more than
``max_delay`` (1.5 s) after the first change not yet written, so steady typing cannot postpone
the file; a crash loses at most the last second or two. Without threads, the app drives it:
connect its own timer to :meth:`Autosaver.flush`, or call :meth:`Autosaver.poll` now and then.
With ``threaded=True`` (the default) a :class:`Debouncer` on ``threading.Timer`` does it. The
snapshot of the session (a tuple of the log's immutable entries) is taken on the thread that
changed it; encoding, compressing and writing happen on the timer's thread.

A write that fails (disk full, folder read-only) is retried every ``retry`` seconds, and
:attr:`Autosaver.problem_changed` tells the app, so that it can say that recovery is not being
saved and why, and take it back once a write succeeds.

The data directory is ``$GRADVIZ_DATA_DIR`` if set, else the platform's user data folder
(``$XDG_DATA_HOME/gradviz`` or ``~/.local/share/gradviz`` on Linux).
"""

from __future__ import annotations

import contextlib
import copy
import errno
import json
import os
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import gradviz

from .document import DEFAULT_MAX_ELEMENTS, Session
from .events import Event
from .fileformat import (
    Document,
    SessionFileError,
    load,
    load_document,
    load_document_into,
    to_bytes,
    write_atomic,
)
from .log import Entry

ENV_VAR = "GRADVIZ_DATA_DIR"
RECOVERY = "recovery"
_FILE = re.compile(r"^recovery-(\d+)-([0-9a-f]+)\.gradviz$")


def data_dir() -> Path:
    """Where gradviz keeps its own files (recovery, recent files)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.environ.get("APPDATA") or str(home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = str(home / "Library" / "Application Support")
    else:
        xdg = os.environ.get("XDG_DATA_HOME", "")
        base = xdg if os.path.isabs(xdg) else str(home / ".local" / "share")  # the XDG rule: absolute only
    return Path(base) / "gradviz"


def recovery_dir() -> Path:
    return data_dir() / RECOVERY


# --- the owner of a recovery file --------------------------------------------------------------------
def _start_time(pid: int) -> str | None:
    """The process's start time where the system tells it (Linux), to tell a reused pid apart."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("ascii", "replace")
        return stat[stat.rindex(")") + 2 :].split()[19]
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int, started: str | None) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":
        return False  # os.kill(pid, 0) would end the process there; offer the file instead
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # somebody else's process: alive
    except OSError:
        return False
    now = _start_time(pid)
    return started is None or now is None or now == started


# --- finding what a crash left ------------------------------------------------------------------------
@dataclass
class Recovery:
    """A recovery file left by a gradviz that did not exit cleanly."""

    path: Path
    time: datetime  # when it was last written
    document: str | None  # the file that session was saved as or opened from, if any
    pid: int

    def load(self, max_elements: int = DEFAULT_MAX_ELEMENTS) -> tuple[list[Entry], dict[str, Any]]:
        return load(self.path, max_elements=max_elements)

    def open_into(self, session: Session, autosaver: Autosaver | None = None) -> None:
        """Restore into ``session``; it stays dirty, since nothing restored is saved yet.

        With the session's ``autosaver``, the restored state goes into its own recovery file
        at once and this one is deleted, so a second crash loses nothing either.
        """
        doc: Document = load_document(self.path, max_elements=session.max_elements)
        load_document_into(session, doc, self.path.name)
        session.dirty = True
        if autosaver is not None:
            autosaver.set_document(self.document)
            autosaver.mark_changed()
            if autosaver.flush():
                self.discard()

    def discard(self) -> None:
        for p in (self.path, self.path.with_suffix(".json")):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            meta = json.loads(f.read(64 * 1024).decode("utf-8"))
        return meta if isinstance(meta, dict) else {}
    except (OSError, ValueError):
        return {}


def find_recoveries(directory: str | os.PathLike[str] | None = None) -> list[Recovery]:
    """Recovery files whose gradviz is no longer running, newest first."""
    directory = Path(directory) if directory is not None else recovery_dir()
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    out = []
    now = time.time()
    for name in names:
        path = directory / name
        if name.startswith(".recovery-") and name.endswith(".tmp"):
            # a write that a crash interrupted; its owner can't be trusted to finish it
            with contextlib.suppress(OSError):
                if now - path.stat().st_mtime > 3600:
                    path.unlink()
            continue
        m = _FILE.match(name)
        if not m:
            continue
        pid = int(m.group(1))
        meta = _read_meta(path.with_suffix(".json"))
        started = meta.get("started") if isinstance(meta.get("started"), str) else None
        if pid == os.getpid() or _alive(pid, started):
            continue  # ours, or another running gradviz's
        try:
            mtime = path.stat().st_mtime
        except OSError:
            continue
        doc = meta.get("document") if isinstance(meta.get("document"), str) else None
        out.append(Recovery(path, datetime.fromtimestamp(mtime, timezone.utc), doc, pid))
    out.sort(key=lambda r: r.time, reverse=True)
    return out


def find_recovery(directory: str | os.PathLike[str] | None = None) -> Recovery | None:
    """The newest recovery file left by a crash, or None after clean exits."""
    found = find_recoveries(directory)
    return found[0] if found else None


# --- debouncing --------------------------------------------------------------------------------------
class Debouncer:
    """Call ``fn`` once, ``delay`` seconds after the last :meth:`trigger`, on a timer thread.

    A steady stream of triggers still calls ``fn`` at least every ``max_delay`` seconds.
    """

    def __init__(self, delay: float, fn: Callable[[], Any], max_delay: float | None = None) -> None:
        self.delay = delay
        self.max_delay = max_delay if max_delay is not None else max(10 * delay, delay)
        self._fn = fn
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._first: float | None = None

    def trigger(self) -> None:
        with self._lock:
            now = time.monotonic()
            if self._first is None:
                self._first = now
            self._start(max(0.0, min(self.delay, self._first + self.max_delay - now)))

    def retry_in(self, wait: float) -> None:
        """Call ``fn`` again in ``wait`` seconds unless a call is already scheduled sooner."""
        with self._lock:
            if self._timer is None:
                self._first = time.monotonic()
                self._start(wait)

    def _start(self, wait: float) -> None:
        # call holding the lock
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(wait, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if self._timer is not threading.current_thread():
                return  # cancelled or replaced after it started
            self._timer = None
            self._first = None
        self._fn()

    @property
    def scheduled(self) -> bool:
        return self._timer is not None

    def cancel(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = None
            self._first = None


# --- the autosaver -------------------------------------------------------------------------------------
def describe_error(error: BaseException, where: str | os.PathLike[str] | None = None) -> str:
    """Why a write failed, in a few plain words and with the place (for the status bar)."""
    if isinstance(error, OSError):
        if error.errno == errno.ENOSPC:
            what = "the disk is full"
        elif error.errno == errno.EDQUOT:
            what = "the disk quota is used up"
        elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            what = "no permission to write there"
        else:
            what = error.strerror or str(error) or type(error).__name__
        place = error.filename if error.filename is not None else where
        return f"{what} ({os.fspath(place)})" if place is not None else what
    return str(error) or type(error).__name__


class Autosaver:
    """Keeps a recovery file of ``session`` up to date, ``delay`` seconds after each change
    (``max_delay`` at most while changes keep coming).

    Changes that make the session dirty schedule a write; a change that leaves it clean (opening
    a file) and :meth:`discard` (call it after a clean save) remove the recovery file.
    :meth:`close` stops it; a clean close discards the file.
    """

    def __init__(
        self,
        session: Session,
        directory: str | os.PathLike[str] | None = None,
        *,
        delay: float = 1.0,
        max_delay: float = 1.5,
        retry: float = 5.0,
        document: str | os.PathLike[str] | None = None,
        threaded: bool = True,
    ) -> None:
        self.session = session
        self.directory = Path(directory) if directory is not None else recovery_dir()
        self.delay = delay
        self.retry = retry
        self.document = None if document is None else os.fspath(document)
        token = secrets.token_hex(4)
        self.path = self.directory / f"recovery-{os.getpid()}-{token}.gradviz"
        self.meta_path = self.path.with_suffix(".json")
        self.last_error: Exception | None = None
        #: why the changes are not reaching the recovery file, or "" while they are
        self.problem = ""
        #: emitted after each write with the recovery file's path (on the writing thread)
        self.saved = Event()
        #: emitted with :attr:`problem` each time it changes (on the writing thread)
        self.problem_changed = Event()
        self.generation = 0  # counts changes seen
        self.written_generation = 0  # the change the file on disk holds
        self._lock = threading.Lock()  # guards the pending snapshot
        self._write_lock = threading.Lock()  # one write at a time
        self._pending: tuple[int, tuple[Entry, ...], dict[str, Any], dict[str, Any]] | None = None
        self._last_change = 0.0
        self._closed = False
        self._discard_after_write = False  # discard() came while a write was running
        self._debouncer = Debouncer(delay, self.flush, max_delay) if threaded else None
        session.changed.connect(self._on_changed)

    # --- driving it ---
    def _on_changed(self, change: Any = None) -> None:
        if self.session.dirty:
            self.mark_changed()
        else:
            self.discard()  # a freshly opened document: nothing to recover

    def mark_changed(self) -> None:
        """Snapshot the session now and schedule a write."""
        if self._closed:
            return
        with self._lock:
            self.generation += 1
            # The transcript's cells and the undo steps are never changed once made: copies of
            # the lists are a snapshot.
            work = {"transcript": list(self.session.transcript), "undo": self.session.undo_steps()}
            self._pending = (self.generation, self.session.entries, copy.deepcopy(self.session.view), work)
            self._last_change = time.monotonic()
        if self._debouncer is not None:
            self._debouncer.trigger()

    @property
    def pending(self) -> bool:
        return self._pending is not None

    def due(self, now: float | None = None) -> bool:
        """True when a change is waiting and ``delay`` has passed since the last one."""
        now = time.monotonic() if now is None else now
        return self._pending is not None and now - self._last_change >= self.delay

    def poll(self, now: float | None = None) -> bool:
        """Write if due (for an app that polls instead of using threads)."""
        return self.flush() if self.due(now) else False

    def flush(self) -> bool:
        """Write the pending change now; True if a file was written."""
        with self._write_lock:
            with self._lock:
                snapshot, self._pending = self._pending, None
            if snapshot is None or self._closed:
                return False
            generation, entries, view, work = snapshot
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                write_atomic(self.path, to_bytes(entries, view, **work))
                meta = {
                    "pid": os.getpid(),
                    "started": _start_time(os.getpid()),
                    "document": self.document,
                    "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "app_version": gradviz.__version__,
                }
                write_atomic(self.meta_path, json.dumps(meta).encode("utf-8"))
            except (OSError, SessionFileError) as e:
                self.last_error = e
                with self._lock:  # keep it for the next try unless a newer change came
                    obsolete = self._discard_after_write
                    if not obsolete and self._pending is None:
                        self._pending = snapshot
                if obsolete:  # discarded meanwhile: nothing to retry, nothing to recover
                    self._delete_files()
                    return False
                if self._debouncer is not None and not self._closed:
                    self._debouncer.retry_in(self.retry)  # the disk may be freed without a change
                self._set_problem(describe_error(e, self.directory))
                return False
            self.last_error = None
            self._set_problem("")
            self.written_generation = generation
            with self._lock:
                obsolete = self._discard_after_write
            if obsolete:  # discarded while it was written: it must not be offered as a recovery
                self._delete_files()
                return False
        self.saved.emit(self.path)
        return True

    def _set_problem(self, problem: str) -> None:
        if problem != self.problem:
            self.problem = problem
            self.problem_changed.emit(problem)

    def discard(self) -> None:
        """Drop the pending change and delete the recovery file (after a clean save). Doesn't
        wait for a write in progress (a big session takes seconds): the writer deletes after it."""
        if self._debouncer is not None:
            self._debouncer.cancel()
        with self._lock:
            self._pending = None
            self._discard_after_write = True
        self._set_problem("")  # nothing unsaved is left to recover
        if self._write_lock.acquire(blocking=False):
            try:
                self._delete_files()
            finally:
                self._write_lock.release()

    def _delete_files(self) -> None:
        """Delete the recovery file; call holding the write lock."""
        with self._lock:
            self._discard_after_write = False
        for p in (self.path, self.meta_path):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()

    def set_document(self, path: str | os.PathLike[str] | None) -> None:
        """The file the session is now saved as (shown when offering recovery)."""
        self.document = None if path is None else os.fspath(path)

    def close(self, clean: bool = True) -> None:
        """Stop. A clean close deletes the recovery file; otherwise the last change is written."""
        self.session.changed.disconnect(self._on_changed)
        if self._debouncer is not None:
            self._debouncer.cancel()
        if clean:
            self.discard()
        else:
            self.flush()
        self._closed = True


__all__ = [
    "ENV_VAR",
    "Autosaver",
    "Debouncer",
    "Recovery",
    "data_dir",
    "describe_error",
    "find_recoveries",
    "find_recovery",
    "recovery_dir",
]
