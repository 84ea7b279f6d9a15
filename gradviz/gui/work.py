"""Long work off the GUI thread: a job that reports progress and can be cancelled, and a filter
that drops the person's input while the window waits for it.

``WorkerJob`` is the one job class for all of it: replaying a log, laying out the graph and
exporting an image each run a plain function as its task.

Opening a file and replaying a long log (undo, redo, an edit) run as a ``WorkerJob`` while the
window spins a local event loop: it keeps painting, shows progress and answers Cancel, but other
clicks and keys are dropped (text typed ahead into the console is kept, and what is entered
there is queued or kept by the console), so nothing can change the document under the
worker's feet.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, QRunnable, Qt, Signal
from PySide6.QtWidgets import QWidget

from ..graph.checkpoint import checking

Progress = Callable[[int, int], None]

WORKER_SWITCH_S = 0.001  # the interpreter's thread switch interval while any job runs


class _QuickSwitching:
    """While any job runs, the interpreter hands over between threads every millisecond
    rather than every 5: the worker runs Python too, and a redraw of the window that needs
    the interpreter many times would wait that long as often (a layout's worker made the GUI
    thread wait 25-45 ms at a time)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._before = sys.getswitchinterval()

    def __enter__(self) -> None:
        with self._lock:
            if self._running == 0:
                self._before = sys.getswitchinterval()
                sys.setswitchinterval(min(self._before, WORKER_SWITCH_S))
            self._running += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._running -= 1
            if self._running == 0:
                sys.setswitchinterval(self._before)


quick_switching = _QuickSwitching()


class WorkCancelledError(Exception):
    """Raised in the worker, from its progress callback, once the person has pressed Cancel."""


class _Signals(QObject):
    progressed = Signal(object, int, int)  # the job, steps done, steps in all
    finished = Signal(object)  # the job


class WorkerJob(QRunnable):
    """Runs ``task(progress)`` on a pool thread and keeps its result or exception for the GUI."""

    def __init__(
        self, task: Callable[[Progress], Any], *, cancellable: bool = True, context: Any = None
    ) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the window keeps it until its signal has surely been sent
        self.task = task
        self.cancellable = cancellable  # False for a rollback, which must finish
        self.context = context  # what the caller needs back with the result (a path, say)
        self.cancelled = False
        self.done_steps, self.total = 0, 0
        self.result: Any = None
        self.error: BaseException | None = None
        self.signals = _Signals()
        self.finished = threading.Event()

    def cancel(self) -> None:
        """Ask the worker to stop at its next progress report (unless it may not be cancelled)."""
        if self.cancellable:
            self.cancelled = True

    def progress(self, done: int, total: int) -> None:
        if self.cancelled:
            raise WorkCancelledError
        self.done_steps, self.total = done, total
        self.signals.progressed.emit(self, done, total)

    def check(self) -> None:
        """Stop the task here if the person has pressed Cancel (a checkpoint of long graph work)."""
        if self.cancelled:
            raise WorkCancelledError

    def run(self) -> None:
        try:
            with quick_switching, checking(self.check):  # the layout's loops stop at their next checkpoint
                self.result = self.task(self.progress)
        except BaseException as e:  # handed to the GUI thread, which decides what to say
            self.error = e
        # What the job made lives on (a picture of 10,000 nodes is half a million objects): out
        # of the cyclic collector's sight, its next pass on the GUI thread does not walk it all
        # (see gc_guard; freezing collects nothing, so no Qt object dies on this thread).
        gc.freeze()
        self.signals.finished.emit(self)
        self.finished.set()


# Input a person gives to a widget; paint, timer, hover and layout events still flow.
_INPUT = frozenset(
    {
        # Releases pass: one alone clicks nothing, and a press made before the work began
        # must end (a drag on the canvas, a scroll bar).
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonDblClick,
        QEvent.Type.KeyPress,
        QEvent.Type.InputMethod,
        QEvent.Type.Wheel,
        QEvent.Type.ContextMenu,
        QEvent.Type.Drop,
        QEvent.Type.TouchBegin,
        QEvent.Type.TouchUpdate,
        QEvent.Type.TouchEnd,
        QEvent.Type.NativeGesture,
        QEvent.Type.Gesture,
    }
)


# Keys that would complete or recall input rather than type it. Enter passes: the console
# queues or keeps what is entered while work runs, and says so.
_NOT_TYPING = frozenset(
    {
        Qt.Key.Key_Tab,
        Qt.Key.Key_Backtab,
        Qt.Key.Key_Up,
        Qt.Key.Key_Down,
        Qt.Key.Key_Escape,
    }
)


class InputBlocker(QObject):
    """An application event filter that drops input to everything but ``allowed`` (the Cancel
    buttons) and text typed into ``typing`` (the console, which queues or keeps what is entered
    meanwhile rather than running it), makes Escape
    call ``on_cancel``, turns a close of ``window`` into ``on_close`` and refuses to close any
    other window (a dialog whose action is running)."""

    def __init__(
        self,
        window: QWidget,
        allowed: QWidget | tuple[QWidget, ...],
        on_cancel: Callable[[], None],
        on_close: Callable[[], None],
        typing: QWidget | None = None,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.allowed = allowed if isinstance(allowed, tuple) else (allowed,)
        self.on_cancel, self.on_close = on_cancel, on_close
        self.typing = typing  # a text box one may type ahead into (it decides what Enter does)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Shortcut:  # sent to actions, not widgets: no menu command now
            return True
        if kind == QEvent.Type.ShortcutOverride:  # accepted: the key goes to the widget, below
            event.accept()
            return True
        if not isinstance(watched, QWidget):  # the native window forwards input to its widgets
            return False
        if kind == QEvent.Type.Close and watched.isWindow():
            event.ignore()
            if watched is self.window:
                self.on_close()
            return True  # a dialog whose action runs can't go from under it
        if kind not in _INPUT:
            return False
        if any(watched is a or a.isAncestorOf(watched) for a in self.allowed):
            return False
        if watched is self.typing and (
            kind == QEvent.Type.InputMethod
            or (kind == QEvent.Type.KeyPress and event.key() not in _NOT_TYPING)  # type: ignore[attr-defined]
        ):
            return False
        if kind == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Escape:  # type: ignore[attr-defined]
            self.on_cancel()
        return True
