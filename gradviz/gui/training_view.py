"""The Training panel's link to the window: it watches console cells for training loops, and
shows a scrubbed step on the canvas, the inspector and the tensors panel.

A step is shown on one colour scale for every step (the widest of the first and the last step's,
held as Lock Scale holds one), so gradients that shrink as the loss falls are seen to fade.
Any change to the session goes back to Now (what a past step showed would be out of date), and
an undo of the loop, or another file, forgets its record. A window on a real PyTorch run
(``gradviz.show(run)`` after ``gradviz.watch``) has no session: its steps show the model's
parameters (and the loss) as they were, by name.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..graph.colouring import scale_for
from ..graph.model import TENSORS
from ..graph.source import SessionSource, TensorsSource
from ..session.training import Past, TrainingRun, pictured_at, values_at

if TYPE_CHECKING:
    from .main_window import MainWindow


class TrainingView:
    """Connects ``window.training`` (the panel) to the console and the views."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.panel = window.training
        self.shown = -1  # the step the views show; -1: the session as it stands
        self._saved_scale: tuple[bool, Any] | None = None
        self.panel.step_chosen.connect(self.show_step)

    def _console(self) -> Any:
        widget = self.window.console
        return None if widget is None else widget.console

    # --- console cells ------------------------------------------------------------------------------------
    @contextmanager
    def watching(self) -> Iterator[None]:
        """While a cell runs on its worker: the panel plots a loop's record as it grows."""
        console = self._console()
        if console is None:
            yield
            return
        if self.shown >= 0 or self._saved_scale is not None or getattr(self.window.source, "past", None):
            self.show_step(-1)  # back to the present (already there: nothing to redraw)
        source = self.window.console.running_source
        self.panel.watch(
            lambda: console.recording.run if console.recording is not None else None,
            prepare="for " in source and "backward" in source,  # (or a function it calls: made later)
        )
        try:
            yield
        finally:
            self.panel.unwatch()

    def latest(self) -> TrainingRun | None:
        """The last loop the session still holds: run in the console, or by a replay (an
        opened file, an undo)."""
        console, session = self._console(), self.window.session
        if session is None:
            return None
        runs = [
            r for r in (None if console is None else console.last_training, session.replayed_training) if r
        ]
        runs = [r for r in runs if r.stands_in(session)]
        position = {id(e): k for k, e in enumerate(session.entries)}
        # (the one whose entry stands last; a Loop entry is its own mark, a typed loop's the
        # input's last entry)
        return max(runs, key=lambda r: position.get(id(r.mark), -1), default=None)

    def ran(self) -> None:
        """After a cell: the last loop the session still holds, drawn whole (or nothing)."""
        last = self.latest()
        if last is None:
            if self.panel.run is not None:  # (a failed loop's live plot, say)
                self.panel.forget("No training loop in this session yet.")
            return
        fresh = last is not self.panel.run or not self.panel.finished_drawn()
        self.panel.set_run(last)
        if fresh:
            self.window.training_dock.show()
            self.window.training_dock.raise_()

    def show_run(self, run: TrainingRun) -> None:
        """A run recorded outside the console (``gradviz.watch``): plotted, at Now."""
        self.panel.set_run(run)
        self.window.training_dock.show()
        self.window.training_dock.raise_()

    # --- showing a step ---------------------------------------------------------------------------------
    def _past(self, run: TrainingRun, k: int) -> tuple[int, Past]:
        """The step shown for ``k`` and what its tensors held then."""
        if self.window.session is None:
            return pictured_at(run, k)
        return values_at(self.window.session, run, k)

    def show_step(self, k: int) -> None:
        w = self.window
        source = w.source
        run = self.panel.run
        # a session's steps, or those of a PyTorch run in a window of its own
        if not (
            (isinstance(source, SessionSource) and w.session is not None) or isinstance(source, TensorsSource)
        ):
            return
        if k < 0 or run is None:
            source.past = None
            self.shown = -1
            self._restore_scale()
        else:
            if self._saved_scale is None:
                self._hold_scale(run)
            self.shown, source.past = self._past(run, k)
        self.panel.showing_step(self.shown)
        w.canvas.refresh()
        w.panel.refresh()
        w.inspector.refresh()

    def session_changed(self, label: str = "") -> None:
        """The session changed: a past step is out of date, and the loop may be undone (or
        another file opened, whose loop a replay recorded)."""
        if self.shown >= 0:
            self.panel.choose(-1)
        run, session = self.panel.run, self.window.session
        if session is None:
            return
        latest = self.latest()
        if latest is not None and latest is not run and not self.window.console.running_source:
            self.panel.set_run(latest)
            if label == "open":
                self.window.training_dock.show()
        elif run is not None and not run.stands_in(session):
            self.panel.forget("The training loop was undone (or another session opened): nothing to plot.")

    def _hold_scale(self, run: TrainingRun) -> None:
        c = self.window.canvas
        self._saved_scale = (c.lock_scale, c.locked_range)
        if c.lock_scale:
            return  # the learner's own lock stands
        settings = c.scale_settings()
        scales = []
        for k in sorted({0, run.steps - 1}):
            g, _ = self.window.source.with_past(self._past(run, k)[1]).snapshot()(TENSORS)
            scales.append(scale_for(g, settings))
        first = scales[0]
        c.lock_scale = True
        c.locked_range = (first.scale, min(s.vmin for s in scales), max(s.vmax for s in scales))

    def _restore_scale(self) -> None:
        if self._saved_scale is not None:
            c = self.window.canvas
            c.lock_scale, c.locked_range = self._saved_scale
            self._saved_scale = None
