"""Files the system asks the running app to open.

On macOS a double-click on a ``.gradviz`` file in the Finder, a file dropped on the Dock icon,
and (when it does not come in ``argv``) the file gradviz was launched with all reach the app as
a ``QEvent.FileOpen`` sent to the QApplication. :class:`FileOpenHandler` catches them: before
the main window exists it remembers the file, and once a window is attached it opens the file
there as File ▸ Open would, asking about unsaved changes first and answering a bad file with the
usual message (``MainWindow.open_path``).

A file is opened from the top-level event loop only: while the window waits for a worker (a
file opening, a long undo) or a dialog is open, the request waits its turn. The window holds
one session, so a newer request replaces one still waiting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QThread, QTimer
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication

RETRY_MS = 100  # how soon to look again while the window is busy


class FileOpenHandler(QObject):
    """An application event filter for ``QEvent.FileOpen``; see the module's docstring."""

    def __init__(self, app: QCoreApplication) -> None:
        super().__init__(app)
        self.window: Any = None  # the MainWindow files open in (None until attached)
        self.pending: Path | None = None  # a file asked for and not opened yet
        self._scheduled = False
        app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.FileOpen or not isinstance(event, QFileOpenEvent):
            return False  # every event of the app passes here: keep this quick
        path = event.file()  # '' for a URL that is not a local file: not ours to open
        if not path:
            return False
        self.request(path)
        return True

    def request(self, path: str | Path) -> None:
        """Open ``path`` in the attached window as soon as it can (remember it until then)."""
        self.pending = Path(path)
        self._schedule(0)

    def attach(self, window: Any) -> None:
        """Files open in ``window`` from now on, starting with one that arrived before it."""
        self.window = window
        window.closed.connect(self._window_closed)
        self._schedule(0)

    def close(self) -> None:
        """Stop handling file-open events."""
        app = QCoreApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self.window = None

    def _window_closed(self) -> None:
        self.window = None
        self.pending = None

    def _schedule(self, msecs: int) -> None:
        if self.window is None or self.pending is None or self._scheduled:
            return
        self._scheduled = True
        QTimer.singleShot(msecs, self, self._open_pending)

    def _ready(self) -> bool:
        """Is the window waiting for nothing (no worker, no dialog, no menu)?"""
        # QApplication.exec() is loop level 1; a worker being waited for, a dialog's exec() or a
        # menu runs a local loop above it.
        return QThread.currentThread().loopLevel() <= 1 and QApplication.activeModalWidget() is None

    def _open_pending(self) -> None:
        self._scheduled = False
        window, path = self.window, self.pending
        if window is None or path is None:
            return
        if not self._ready():
            self._schedule(RETRY_MS)
            return
        self.pending = None
        if window.isMinimized():
            window.showNormal()
        window.raise_()
        window.activateWindow()
        if window.path is not None and _same_file(window.path, path):
            return  # already open: the double-click just brings the window forward
        window.open_path(path)
        self._schedule(0)  # a request that came while this one was opening


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
