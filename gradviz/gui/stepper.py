"""Backward ▸ Step Through: ``backward()`` one node at a time, in the engine's own order.

:class:`StepperPanel` is the dock: what the current step does in words (the gradient from
above, each input's local derivative as a formula and in numbers, their product, running
totals where contributions add up, AccumulateGrad's before and after) and the controls: start,
back, play/pause with a speed, next, end, a scrubber; keys → ← Space Home End. The canvas draws
the same step (``graph.source.StepSource``) on one colour scale held for every step.

:class:`BackwardStepper` runs it. Leaving (Done, or Escape) leaves the session exactly as a
plain ``backward()`` would: a backward that has not run yet is run then; one the log already
holds (stepped through again, replayed from just before it) changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QComboBox,
    QDockWidget,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..graph.colouring import scale_for
from ..graph.forward_steps import ForwardPlan, forward_ops
from ..graph.model import TENSORS, NodeIds
from ..graph.source import StepSource
from ..graph.stepping import BackwardPlan, Pictured
from ..session.backward_steps import BackwardSteps, last_backward, steps_from
from ..session.document import Session, SessionError
from ..session.log import Backward, Loop
from .bridge import SessionBridge
from .heatmap import Heatmap

if TYPE_CHECKING:
    from .main_window import MainWindow

SPEEDS = (("0.5×", 0.5), ("1×", 1.0), ("2×", 2.0), ("4×", 4.0))
STEP_MS = 1400  # one step at 1×: time to read what it says
DOCK_HEIGHT = 330  # the dock's first height: a step's words and a row of its pictures, unscrolled
PICTURE_GRID = 64  # the tallest a picture's grid gets (px): the dock stays short
PICTURE_CELL = 14
WORDS_MIN = 380  # the words keep this width beside the pictures, else the pictures go under them
STEP_KEYS = (
    Qt.Key.Key_Right,
    Qt.Key.Key_Left,
    Qt.Key.Key_Space,
    Qt.Key.Key_Home,
    Qt.Key.Key_End,
    Qt.Key.Key_Escape,
)


class StepPicture(QWidget):
    """One gradient of a step as a small heatmap (with its colour bar and range) under its
    caption, ``∂L/∂y arriving [5, 8]``; hovering a cell tells its value."""

    def __init__(self, picture: Pictured, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("stepPicture")
        self.caption = QLabel(picture.caption, self)
        self.caption.setObjectName("stepPictureCaption")
        self.heatmap = Heatmap(self)
        a = picture.value
        rows, cols = (min(n, PICTURE_GRID) for n in ((1, a.shape[0]) if a.ndim == 1 else a.shape))
        cell = max(1.0, min(PICTURE_CELL, PICTURE_GRID / rows))
        self.heatmap.max_cell = cell
        self.heatmap.max_side = PICTURE_GRID  # a big gradient: every k-th row and column, 1 px each
        self.heatmap.setFixedWidth(int(max(150, min(260, cols * cell + 2))))
        self.heatmap.set_tensor(a, picture.caption.rsplit(" [", 1)[0] + " ")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.caption)
        layout.addWidget(self.heatmap)
        layout.addStretch(1)


class StepperPanel(QWidget):
    """The stepper's dock contents: the step in words, and its controls. The stepping keys
    pressed here (or on the canvas, see :class:`BackwardStepper`) come out as ``key``."""

    key = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("stepperPanel")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.title = QLabel(self)
        self.title.setObjectName("stepTitle")
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.title.setFont(font)
        self.title.setWordWrap(True)
        self.words = QLabel(self)
        self.words.setObjectName("stepWords")
        self.words.setTextFormat(Qt.TextFormat.RichText)
        self.words.setWordWrap(True)
        self.words.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note = QLabel(self)
        self.note.setObjectName("stepNote")
        self.note.setWordWrap(True)
        self.note.setVisible(False)

        def button(name: str, glyph: str, tip: str) -> QToolButton:
            b = QToolButton(self)
            b.setObjectName(name)
            b.setText(glyph)
            b.setToolTip(tip)
            b.setAutoRaise(True)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the panel keeps the keys (Space plays)
            return b

        self.home = button("stepHome", "⇤", "First step (Home)")
        self.back = button("stepBack", "◀", "Previous step (←)")
        self.play = button("stepPlay", "▷", "Play (Space)")
        self.next = button("stepNext", "▶", "Next step (→)")
        self.end = button("stepEnd", "⇥", "Last step (End)")
        self.speed = QComboBox(self)
        self.speed.setObjectName("stepSpeed")
        self.speed.setToolTip("Playing speed")
        for label, _ in SPEEDS:
            self.speed.addItem(label)
        self.speed.setCurrentIndex(1)
        self.scrubber = QSlider(Qt.Orientation.Horizontal, self)
        self.scrubber.setObjectName("stepScrubber")
        self.scrubber.setToolTip("Drag to any step")
        self.counter = QLabel(self)
        self.counter.setObjectName("stepCounter")
        self.done = QPushButton("Done", self)
        self.done.setObjectName("stepDone")
        self.done.setToolTip("Leave the steps: the session is as after backward() (Escape)")

        controls = QHBoxLayout()
        for w in (self.home, self.back, self.play, self.next, self.end, self.speed):
            controls.addWidget(w)
        controls.addWidget(self.scrubber, 1)
        controls.addWidget(self.counter)
        controls.addWidget(self.done)
        # A step of a big op says a lot: its words scroll rather than being cut off.
        body = QWidget(self)
        column = QVBoxLayout()
        column.addWidget(self.words)
        column.addWidget(self.note)
        column.addStretch(1)
        # Beside the words: the step's big gradients as heatmaps (see show_pictures).
        self.pictures = QWidget(body)
        self.pictures.setObjectName("stepPictures")
        self._picture_grid = QGridLayout(self.pictures)
        self._picture_grid.setContentsMargins(0, 0, 0, 0)
        self.pictures.setVisible(False)
        self._shown: list[StepPicture] = []
        self._body_layout = QBoxLayout(QBoxLayout.Direction.LeftToRight, body)
        self._body_layout.setContentsMargins(0, 0, 0, 0)
        self._body_layout.addLayout(column, 1)
        self._body_layout.addWidget(self.pictures, 0, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.scroll = QScrollArea(self)
        self.scroll.setObjectName("stepScroll")
        self.scroll.setWidget(body)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.installEventFilter(self)  # a new width may put the pictures beside or under
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.scroll, 1)
        layout.addLayout(controls)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in STEP_KEYS and not event.modifiers():
            self.key.emit(event.key())
            return
        super().keyPressEvent(event)

    def show_step(self, lines: list[str], k: int, n: int) -> None:
        head, rest = (lines[0], lines[1:]) if lines else ("", [])
        self.title.setText(head)
        self.words.setText("<br>".join(escape(line).replace("    ", "&nbsp;" * 6) for line in rest))
        self.counter.setText(f"{k} / {n - 1}")
        self.scrubber.blockSignals(True)
        self.scrubber.setRange(0, n - 1)
        self.scrubber.setValue(k)
        self.scrubber.blockSignals(False)
        self.home.setEnabled(k > 0)
        self.back.setEnabled(k > 0)
        self.next.setEnabled(k < n - 1)
        self.end.setEnabled(k < n - 1)

    def show_pictures(self, pictures: list[Pictured]) -> None:
        """The step's gradients too big to read as numbers, as captioned heatmaps (none: the
        words take the whole width)."""
        while (item := self._picture_grid.takeAt(0)) is not None:
            if item.widget() is not None:
                item.widget().hide()
                item.widget().deleteLater()
        self._shown = [StepPicture(picture, self.pictures) for picture in pictures]
        self._reflow()
        self.pictures.setVisible(bool(pictures))

    def _reflow(self) -> None:
        """Beside the words when the dock is wide enough for both, else in rows under them."""
        if not self._shown:
            return
        # The scroll area's own width, less a scroll bar's either way: a scroll bar coming or
        # going must not flip the layout (and flip it back).
        bar = self.scroll.verticalScrollBar().sizeHint().width()
        grid, width = self._picture_grid, self.scroll.width() - bar
        wide = max(p.sizeHint().width() for p in self._shown) + grid.horizontalSpacing()
        beside = width - WORDS_MIN
        if beside >= wide:
            self._body_layout.setDirection(QBoxLayout.Direction.LeftToRight)
            columns = beside // wide
        else:
            self._body_layout.setDirection(QBoxLayout.Direction.TopToBottom)
            columns = width // wide
        columns = max(1, min(columns, len(self._shown)))
        for p in self._shown:
            grid.removeWidget(p)
        for i, p in enumerate(self._shown):
            grid.addWidget(p, *divmod(i, columns))
            p.show()  # now, not when the layout's queued show comes round

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.scroll and event.type() == QEvent.Type.Resize:
            self._reflow()
        return super().eventFilter(obj, event)

    def shown_pictures(self) -> list[StepPicture]:
        """The pictures the panel shows now, in order."""
        return list(self._shown)

    def set_playing(self, on: bool) -> None:
        self.play.setText("❚❚" if on else "▷")  # glyphs DejaVu Sans has
        self.play.setToolTip("Pause (Space)" if on else "Play (Space)")


class BackwardStepper(QObject):
    """One stepping session on a window: the plan (``graph.stepping.BackwardPlan`` or
    ``ForwardPlan``), the current step, play, and the way out (``on_leave``: what a plain run
    would have done, e.g. the backward itself)."""

    moved = Signal(int)
    finished = Signal()

    def __init__(
        self,
        window: MainWindow,
        plan: Any,
        session: Session,
        title: str,
        on_leave: Callable[[], None] | None = None,
        note: str = "",
    ) -> None:
        super().__init__(window)
        self.window, self.plan, self.title, self.on_leave, self.note = window, plan, title, on_leave, note
        self.k = 0
        self.source = StepSource(session, plan, 0)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self.panel = window.stepper_dock().widget()
        self._bridge = SessionBridge(window.session, self)
        self._bridge.changed.connect(lambda *_: self.leave(run_backward=False, why="the session changed"))
        self._saved_scale = (window.canvas.lock_scale, window.canvas.locked_range)
        self._connect()

    # --- the way in and out -------------------------------------------------------------------------
    def start(self) -> None:
        w, c = self.window, self.window.canvas
        if isinstance(self.plan, BackwardPlan):
            # One scale for every step: the last step's, held as Lock Scale holds a range.
            visible = self.source.session.tensors(include_hidden=False)
            last = self.plan.graph(visible, TENSORS, NodeIds(), self.plan.count - 1)
            cs = scale_for(last, c.scale_settings())
            c.lock_scale, c.locked_range = True, (cs.scale, cs.vmin, cs.vmax)
        c.set_source(self.source)
        dock = w.stepper_dock()
        dock.setWindowTitle(f"Steps: {self.title}")
        self.panel.note.setVisible(bool(self.note))
        self.panel.note.setText(self.note)
        dock.show()
        dock.raise_()
        self.go(0)
        self.panel.setFocus()
        w.say(f"Stepping through {self.title}: → next, ← back, Space plays, Escape leaves")

    def leave(self, run_backward: bool = True, why: str = "") -> None:
        """Back to the session: as after a plain backward() (run now if it had not run)."""
        if self.window.stepper is not self:
            return
        w, c = self.window, self.window.canvas
        self.timer.stop()
        self._bridge.close()
        self.window.canvas.removeEventFilter(self)
        for signal, slot in self._wired:
            signal.disconnect(slot)
        w.stepper = None
        c.lock_scale, c.locked_range = self._saved_scale
        c.set_source(w.source)
        w.stepper_dock().hide()
        if run_backward and self.on_leave is not None:
            self.on_leave()
        if why:
            w.say(f"Stopped stepping: {why}")
        w.update_actions()
        self.finished.emit()

    # --- moving -------------------------------------------------------------------------------------
    def go(self, k: int) -> None:
        n = self.plan.count
        self.k = max(0, min(k, n - 1))
        self.window.canvas.step_to(self.source, self.k)
        self.panel.show_step(self.plan.words(self.k), self.k, n)
        if self.k == n - 1:
            self.pause()
        self.moved.emit(self.k)

    def next(self) -> None:
        self.go(self.k + 1)

    def back(self) -> None:
        self.go(self.k - 1)

    def home(self) -> None:
        self.go(0)

    def end(self) -> None:
        self.go(self.plan.count - 1)

    def play(self) -> None:
        if self.k >= self.plan.count - 1:
            self.go(0)
        self.timer.start(self._interval())
        self.panel.set_playing(True)

    def pause(self) -> None:
        self.timer.stop()
        self.panel.set_playing(False)

    def toggle_play(self) -> None:
        self.pause() if self.timer.isActive() else self.play()

    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    def _interval(self) -> int:
        return round(STEP_MS / SPEEDS[self.panel.speed.currentIndex()][1])

    def _tick(self) -> None:
        self.next()

    def _connect(self) -> None:
        """Wire the (shared) panel to this stepper; :meth:`leave` unwires it, so a second
        stepping session never drives the first one's steps."""
        p = self.panel
        self._wired = [
            (p.home.clicked, self.home),
            (p.back.clicked, self.back),
            (p.next.clicked, self.next),
            (p.end.clicked, self.end),
            (p.play.clicked, self.toggle_play),
            (p.done.clicked, self._done),
            (p.scrubber.valueChanged, self.go),
            (p.speed.currentIndexChanged, self._speed_changed),
            (p.key, self._key),
            (self.moved, self._show_pictures),  # after go() says the step: its pictures
        ]
        for signal, slot in self._wired:
            signal.connect(slot)
        self.window.canvas.installEventFilter(self)  # the same keys on the graph

    def _done(self) -> None:
        self.leave()

    def _show_pictures(self, k: int) -> None:
        self.panel.show_pictures(self.plan.pictures(k))

    def _speed_changed(self, _index: int) -> None:
        self.timer.setInterval(self._interval())

    def _key(self, key: int) -> None:
        actions: dict[int, Callable[[], None]] = {
            Qt.Key.Key_Right: self.next,
            Qt.Key.Key_Left: self.back,
            Qt.Key.Key_Space: self.toggle_play,
            Qt.Key.Key_Home: self.home,
            Qt.Key.Key_End: self.end,
            Qt.Key.Key_Escape: self.leave,
        }
        actions[key]()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in STEP_KEYS
            and not event.modifiers()
        ):
            self._key(event.key())
            return True
        return super().eventFilter(obj, event)


def make_stepper_dock(window: QWidget) -> QDockWidget:
    dock = QDockWidget("Backward Steps", window)
    dock.setObjectName("stepperDock")
    dock.setWidget(StepperPanel(dock))
    dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)  # left by Done, not a close box
    return dock


def backward_stepper(window: MainWindow) -> BackwardStepper:
    """Step Through Backward: the backward the Backward button would run, run on leaving (or
    one the log ran already, replayed; leaving it changes nothing)."""
    steps, fresh = steps_for(window)
    target = steps.target
    note = (
        ""
        if fresh
        else f"{target}.backward() ran already: these are its steps, replayed from just before it. "
        "Leaving changes nothing."
    )
    leave = (lambda: window.commands.run_backward(target)) if fresh else None
    plan = BackwardPlan(steps.trace, steps.names())
    return BackwardStepper(window, plan, steps.session, f"{target}.backward()", leave, note)


def forward_stepper(window: MainWindow) -> BackwardStepper:
    """Step Through Forward: the session's ops in the order they ran, values appearing."""
    session = window.session
    visible = session.tensors(include_hidden=False)
    ops = forward_ops(visible)
    if not ops:
        raise SessionError("nothing to step through: no tensor is computed from another yet")
    names = {id(t): n for n, t in visible.items()}
    return BackwardStepper(window, ForwardPlan(ops, names), session, "the forward pass")


def steps_for(window: MainWindow) -> tuple[BackwardSteps, bool]:
    """What Step Through shows: the backward the Backward button would run (and run it on
    leaving), or, when that graph was freed by a backward in the log, that backward replayed."""
    session = window.session
    target = window.backward_target()
    if not target:
        raise SessionError("nothing to step through: no result requires grad (make one, then step)")
    try:
        return steps_from(session, target), True
    except SessionError:
        if any(isinstance(e, (Backward, Loop)) for e in session.entries):
            return last_backward(session), False
        raise
