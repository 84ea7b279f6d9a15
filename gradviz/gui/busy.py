"""The busy runner: long work (a file opened, a log replayed, a console cell, an action) runs
as a :class:`WorkerJob` while the window spins a local event loop, so it keeps painting, shows
progress and answers Cancel; other input is dropped meanwhile (see :class:`InputBlocker`)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEventLoop, QObject, Qt, QThread, QThreadPool, QTimer
from PySide6.QtWidgets import QApplication

from ..session.document import SessionError
from ..session.train_code import loop_length
from .work import InputBlocker, Progress, WorkCancelledError, WorkerJob

if TYPE_CHECKING:
    from .main_window import MainWindow


class BusyRunner(QObject):
    """Runs one job at a time for ``window``."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.job: WorkerJob | None = None  # a file being opened or a log being replayed
        self.last_job: WorkerJob | None = None
        self.close_after = False  # the window was asked to close meanwhile
        self.pool = QThreadPool(self)
        # One worker: a job can only start once the last one has left run(), so keeping the
        # last job alive is enough to keep its signal object alive.
        self.pool.setMaxThreadCount(1)
        self.steps: tuple[int, int] | None = None  # a console loop's (iterations done, in all)

    @contextlib.contextmanager
    def counting_steps(self, console: Any, source: str) -> Iterator[None]:
        """While a console cell runs, each loop iteration and call lets the window have the
        interpreter (so it paints and hears Stop); for a cell that is one ``for`` over a range
        (Train's loop, or one typed) they are the progress: the bar fills, the status says
        "step k of N"; otherwise it counts "k iterations"."""
        if console is None:
            yield
            return
        total = loop_length(source)  # 0: not one loop over a range (a DataLoader, nested loops)

        def tick(k: int) -> None:  # on the worker: plain data the GUI's timer reads
            self.steps = (min(k, total) if total else k, total)
            time.sleep(0)  # let the GUI thread have the GIL: it paints the progress, hears Stop

        self.steps, console.on_tick = (0, total), tick
        try:
            yield
        finally:
            self.steps, console.on_tick = None, None

    def stop_requested(self) -> bool:
        """Asked by the session, on the worker, between ops: did the person press Stop?"""
        job = self.job
        return job is not None and job.cancelled

    def run(
        self,
        task: Callable[[Progress], Any],
        what: str,
        *,
        cancellable: bool = True,
        progress_after_ms: int = 0,
    ) -> Any:
        """Run ``task(progress)`` on a worker while the window keeps painting, and return its
        result (or raise what it raised; WorkCancelledError after Cancel or Escape).

        Meanwhile other input is dropped, so nothing can change the document under the worker,
        and a second request (from a menu the filter can't see) is refused. The progress bar,
        Cancel (if ``cancellable``) and a busy cursor appear after ``progress_after_ms``, so
        quick work doesn't flicker. Called on a worker already (an action inside a console cell,
        a cell's rollback), it runs the task right there."""
        w = self.window
        if QThread.currentThread() is not w.thread():
            return task(lambda done, total: None)
        if self.job is not None:
            raise SessionError(f"gradviz is still busy ({w.status_action.text()}); try again when it is done")
        job = WorkerJob(task, cancellable=cancellable)
        loop = QEventLoop()
        job.signals.finished.connect(loop.quit, Qt.ConnectionType.QueuedConnection)
        blocker = InputBlocker(
            w,
            (w.progress_cancel, w.canvas.busy.button),
            w.cancel_work,
            self.close_when_done,
            typing=w.console.input if w.console is not None else None,
        )
        app = QApplication.instance()
        app.installEventFilter(blocker)
        self.job = job
        # No snapshot of the session while the worker changes it; the canvas says what it waits for.
        w.canvas.hold(True, what, w.cancel_work if cancellable else None)
        if w.console is not None:
            w.console.input.busy = True
        ticker, delay = QTimer(w), QTimer(w)
        ticker.setInterval(100)
        delay.setSingleShot(True)
        shown = False

        def show_progress() -> None:
            nonlocal shown
            if self.job is not job:  # done already
                return
            if not shown:
                shown = True
                w.progress.setRange(0, 0)
                w.progress.show()
                w.progress_cancel.setVisible(cancellable)
                w.say(what)
                QApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)
            steps = self.steps
            if steps is not None and steps[1]:
                w.progress.setRange(0, steps[1])
                w.progress.setValue(steps[0])
                w.say(f"{what.rstrip(':')}: step {steps[0]:,} of {steps[1]:,}")
            elif steps is not None and steps[0]:  # no total known: iterations and calls so far
                w.say(f"{what.rstrip(':')}: {steps[0]:,} iterations")
            elif job.total:
                w.progress.setRange(0, job.total)
                w.progress.setValue(job.done_steps)

        ticker.timeout.connect(show_progress)
        delay.timeout.connect(show_progress)
        if progress_after_ms <= 0:
            show_progress()
        else:
            delay.start(progress_after_ms)
        self.pool.start(job)
        ticker.start()
        try:  # (while the job runs, threads switch quickly: work.quick_switching)
            loop.exec()  # the finished signal is queued, so it quits this loop even if already sent
            if not job.finished.wait(10):  # the loop was ended from outside (the app quits)
                job.cancel()
                job.finished.wait(10)
        finally:
            for timer in (ticker, delay):
                timer.stop()
                timer.deleteLater()
            app.removeEventFilter(blocker)
            blocker.deleteLater()
            w.canvas.hold(False)
            if w.console is not None:
                w.console.input.busy = False
            self.job = None
            self.last_job = job  # the pool thread may still be leaving run()
            if shown:
                QApplication.restoreOverrideCursor()
                w.show_background_progress()
        if self.close_after:
            self.close_after = False
            QTimer.singleShot(0, w.close)
        if not job.finished.is_set():
            raise WorkCancelledError
        error, result = job.error, job.result
        job.result = job.error = None
        if error is not None:
            raise error
        return result

    def close_when_done(self) -> None:
        """The window was asked to close (or Quit) while waiting for a worker: close once it
        is done. It isn't cancelled: the person may still say Cancel to the save question."""
        self.close_after = True
        cancellable = self.job is not None and self.job.cancellable
        self.window.say(
            "gradviz closes when this work is done" + (" (Cancel stops it)" if cancellable else "")
        )
