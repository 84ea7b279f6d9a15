"""View ▸ Training: what a training loop typed in the console did, step by step.

Four plots (pyqtgraph) share the step axis: the loss, each parameter's gradient norm, its value
range (min to max, filled) and the size of the update the loop made to it. They fill while the
loop runs (the loop runs on a worker; a timer reads its record). A scrubber (slider, ◀ ▶, a
click or drag on any plot) picks a step: the canvas, the inspector and the tensors panel then
show the values and gradients of that step's ``backward()``, on the graph of the last one (the
same body builds the same graph every step, as PyTorch rebuilds it). **Now** goes back to the
session as it stands.

pyqtgraph takes a fifth of a second to import, so the app starts without it. It is imported on
the GUI thread when a cell that looks like a training loop is about to run, before the loop's
worker competes for the interpreter (imported meanwhile, it froze the window for most of a
second). Not on a thread of its own: most of the import is PySide6 making its Qt types, which is
not thread-safe (a background import crashed the app while the canvas was being drawn).
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..graph.colors import format_number
from ..session.training import TrainingRun

pg: Any = None  # pyqtgraph, once the first plot is made (see TrainingPanel._ensure_plots)


# Okabe and Ito's colour-blind-safe palette: one colour per parameter, the same in every plot.
PARAM_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999")
LOSS_COLOUR = "#D55E00"
TRAINING_DOCK_HEIGHT = 360  # the dock's first height: two rows of plots, readable
LIVE_MS = 200  # how often a running loop's loss is redrawn (each redraw competes with the loop)
LIVE_FULL = 4  # ... and every how many redraws the parameters' plots too
PLOTS = (
    ("loss", "Loss"),
    ("grad_norm", "Gradient norm ‖∂L/∂p‖"),
    ("range", "Value range (min to max)"),
    ("update", "Update size ‖Δp‖"),
)


def _positive(y: np.ndarray) -> np.ndarray:
    """For a log axis: what can't be drawn there (0, negative, nan) is a gap, not an error."""
    y = np.array(y, dtype=float)
    y[~(y > 0)] = np.nan
    return y


class TrainingPanel(QWidget):
    """The Training dock's widget. ``step_chosen(k)``: -1 is Now."""

    step_chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainingPanel")
        self.run: TrainingRun | None = None
        self.step = -1  # the step shown; -1: the session as it stands
        self._drawn = -1  # steps drawn so far
        self._polls = 0  # redraws of the loop under way
        self._curves: dict[tuple[str, str], Any] = {}
        self._cursors: list[Any] = []

        self.title = QLabel("Run a training loop in the console (a for loop that calls backward()).")
        self.title.setObjectName("trainingTitle")
        self.title.setWordWrap(True)
        self.legend = QLabel("")  # each parameter's colour, the same in every plot
        self.legend.setObjectName("trainingLegend")
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.plots: Any = None  # made with the first run to draw (_ensure_plots)
        self.plot: dict[str, Any] = {}

        self.log_loss = QCheckBox("log scale")
        self.log_loss.setToolTip("Draw the loss on a logarithmic axis: a steady fall is a straight line")
        self.log_loss.toggled.connect(lambda on: self.plot["loss"].setLogMode(x=False, y=on))
        self.back = QToolButton(text="◀")
        self.back.setToolTip("The step before (←)")
        self.back.clicked.connect(lambda: self.choose(max(0, self._current() - 1)))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("trainingScrubber")
        self.slider.setToolTip("Scrub through the steps: the graph shows each step's values and gradients")
        self.slider.valueChanged.connect(self._slid)
        self.forward = QToolButton(text="▶")
        self.forward.setToolTip("The step after (→)")
        self.forward.clicked.connect(lambda: self.choose(self._current() + 1))
        self.spin = QSpinBox()
        self.spin.setObjectName("trainingStep")
        self.spin.setPrefix("step ")
        self.spin.editingFinished.connect(lambda: self.choose(self.spin.value()))
        self.now = QPushButton("Now")
        self.now.setObjectName("trainingNow")
        self.now.setToolTip("Show the session as it stands, after the loop")
        self.now.setCheckable(True)
        self.now.clicked.connect(lambda: self.choose(-1))
        self.showing = QLabel("")
        self.showing.setObjectName("trainingShowing")

        controls = QHBoxLayout()
        for w in (self.back, self.slider, self.forward, self.spin, self.now, self.log_loss):
            controls.addWidget(w)
        controls.setStretch(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.legend)
        layout.addStretch(1)  # where the plots go (_ensure_plots)
        layout.addLayout(controls)
        layout.addWidget(self.showing)
        self._apply_palette()
        self._enable(False)
        self.timer = QTimer(self)
        self.timer.setInterval(LIVE_MS)
        self.live: Any = None  # a callable giving the running loop's record, while one runs
        self.timer.timeout.connect(self._poll)

    def _ensure_plots(self) -> None:
        """Import pyqtgraph and make the four plots, the first time there is something to plot."""
        global pg
        if self.plots is not None:
            return
        if pg is None:
            import pyqtgraph

            pg = pyqtgraph
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setObjectName("trainingPlots")
        self.plots.setMinimumHeight(200)  # with a two-line title, the controls still fit a 360 px dock
        self.plot = {}
        for i, (key, label) in enumerate(PLOTS):
            p = self.plots.addPlot(row=i // 2, col=i % 2, title=label)
            p.showGrid(x=True, y=True, alpha=0.25)
            if i >= 2:  # the bottom row says what the shared axis counts
                p.setLabel("bottom", "step")
            p.setMouseEnabled(x=False, y=False)
            p.hideButtons()
            if key != "loss":
                p.setXLink(self.plot["loss"])
            if key in ("grad_norm", "update"):
                p.setLogMode(x=False, y=True)
            cursor = pg.InfiniteLine(0, angle=90, movable=True, pen=pg.mkPen("#888888", width=1.5))
            cursor.setVisible(False)
            cursor.sigDragged.connect(lambda line: self.choose(round(line.value())))
            p.addItem(cursor, ignoreBounds=True)
            self._cursors.append(cursor)
            self.plot[key] = p
        self.plots.scene().sigMouseClicked.connect(self._clicked)

        layout = self.layout()  # the plots take the stretch's place, under the legend
        stretch = layout.itemAt(2)
        layout.removeItem(stretch)
        layout.insertWidget(2, self.plots, 1)
        self._apply_palette()

    # --- what is shown --------------------------------------------------------------------------------
    def set_run(self, run: TrainingRun | None) -> None:
        """Show ``run`` (None: nothing recorded), at Now."""
        self.run, self.step, self._drawn = run, -1, -1
        self._reset_plots()
        self._draw()

    def finished_drawn(self) -> bool:
        """Whether the plot shows its run whole, as it ended (not a live part of it)."""
        return self.run is not None and self.run.finished and self._drawn == self.run.steps

    def watch(self, live: Any, prepare: bool = False) -> None:
        """While a cell runs: ``live()`` gives the record of the loop under way (or None).
        ``prepare``: the cell looks like a training loop, so the plots are made now, before the
        loop's worker competes with the window for the interpreter (made meanwhile, they froze
        the window for a third of a second)."""
        if prepare:
            self._ensure_plots()
        self.live = live
        self._polls = 0
        self.timer.start()

    def unwatch(self) -> None:
        self.timer.stop()
        self.live = None

    def forget(self, why: str) -> None:
        self.set_run(None)
        self.title.setText(why)

    def choose(self, k: int) -> None:
        """Show step ``k`` (clamped to the recorded ones); -1 shows Now."""
        if self.run is None or self.run.steps == 0:
            return
        k = -1 if k < 0 else min(k, self.run.steps - 1)
        if k == self.step:
            return
        self.step = k
        self._show_step()
        self.step_chosen.emit(k)

    def showing_step(self, shown: int) -> None:
        """The window shows step ``shown`` (the nearest one with a picture, perhaps)."""
        if shown < 0 or self.run is None:
            what = "model" if self.run is not None and self.run.pictured == "parameters" else "session"
            self.showing.setText(f"Showing the {what} as it stands now.")
            return
        loss = self.run.loss[shown] if shown < len(self.run.loss) else math.nan
        note = (
            "" if shown == self.step else f" (the nearest step kept: every {self.run.pictures.stride}th is)"
        )
        if self.run.pictured == "parameters":  # a PyTorch run's (gradviz.watch)
            what, rest = (
                "the parameters' values and gradients",
                "The graph and its other tensors are the last step's.",
            )
        else:
            what, rest = (
                "values and gradients",
                "The graph is the last step's, which every step rebuilds alike.",
            )
        self.showing.setText(
            f"Showing step {shown}{note}: {what} at its backward(), loss = {format_number(loss)}. {rest}"
        )

    # --- drawing ----------------------------------------------------------------------------------------
    def _reset_plots(self) -> None:
        if self.plots is None:
            return
        for p in self.plot.values():
            for item in list(p.listDataItems()):
                p.removeItem(item)
            for item in [i for i in p.items if isinstance(i, pg.FillBetweenItem)]:
                p.removeItem(item)
        self.legend.setText("")
        self._curves.clear()

    def _poll(self) -> None:
        run = self.live() if self.live is not None else None
        if run is not None and run is not self.run:
            self.set_run(run)
        elif run is not None:
            # While the loop runs: the loss at every poll, the parameters' plots at every
            # LIVE_FULL-th (each redraw waits for the interpreter as often as it calls Qt).
            self._polls += 1
            self._draw(full=self._polls % LIVE_FULL == 0)

    def _draw(self, full: bool = True) -> None:
        run = self.run
        if run is None:
            self._enable(False)
            self.title.setText("Run a training loop in the console (a for loop that calls backward()).")
            self.showing.setText("")
            return
        n = run.steps
        if n == self._drawn:
            return
        self._drawn = n
        x = np.arange(n)
        self._curve("loss", "loss", LOSS_COLOUR, "loss").setData(x, run.losses(n))
        if not full:
            self._drawn = -1  # (the rest is still to draw)
            return
        for i, name in enumerate(list(run.params)):
            colour = PARAM_COLOURS[i % len(PARAM_COLOURS)]
            self._curve("grad_norm", name, colour).setData(x, _positive(run.series(name, "grad_norm", n)))
            self._curve("update", name, colour).setData(x, _positive(run.series(name, "update", n)))
            lo = self._curve("range", name + ":min", colour)
            hi = self._curve("range", name + ":max", colour)
            lo.setData(x, run.series(name, "value_min", n))
            hi.setData(x, run.series(name, "value_max", n))
            if ("fill", name) not in self._curves:
                fill = QColor(colour)
                fill.setAlpha(60)
                self._curves["fill", name] = pg.FillBetweenItem(lo, hi, brush=fill)
                self.plot["range"].addItem(self._curves["fill", name])
        frozen = [f for f in run.frozen if f not in run.params]
        self.legend.setText(
            "Parameters: "
            + " &nbsp; ".join(
                f"<span style='color:{PARAM_COLOURS[i % len(PARAM_COLOURS)]}; font-size:14pt'>■</span> {escape(name)}"
                for i, name in enumerate(run.params)
            )
            + (f" &nbsp; Frozen (not plotted): {escape(', '.join(frozen))}" if frozen else "")
        )
        if n:
            self.title.setText(self._title(run, n))
        self._enable(n > 0)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, n - 1))
        self.slider.blockSignals(False)
        self.spin.setRange(0, max(0, n - 1))
        self._show_step()

    def _title(self, run: TrainingRun, n: int) -> str:
        """What the run did: its steps, its loss from first to last, and where it stopped being
        finite (a diverged run's every loss may be NaN)."""
        losses = run.losses(n)
        finite = losses[np.isfinite(losses)]
        line = run.source.strip().splitlines()[0] if run.source.strip() else ""
        what = f"“{line}”: " if line else ""
        done = (
            f"{'Training' if not run.finished else 'Trained'} {what}{n:,} step{'s' if n != 1 else ''} "
            f"(backward() from {run.loss_name})"
        )
        bad = np.flatnonzero(~np.isfinite(losses))
        blew = (
            f"the loss is not finite from step {bad[0]} on ({format_number(losses[bad[0]])}: a learning "
            "rate too large? a NaN in the data?)"
            if bad.size
            else ""
        )
        if not finite.size:
            return f"{done}: {blew}"
        trend = f"loss {format_number(finite[0])} → {format_number(finite[-1])}"
        return f"{done}, {trend}" + (f"; {blew}" if blew else "")

    def curve(self, plot: str, key: str) -> Any:
        """The curve of ``key`` ("loss", a parameter's name, "w:min") in ``plot`` ("loss",
        "grad_norm", "range", "update"), made empty if it isn't drawn yet."""
        return self._curve(plot, key, LOSS_COLOUR if key == "loss" else PARAM_COLOURS[0], key)

    def _curve(self, plot: str, key: str, colour: str, label: str | None = None) -> Any:
        c = self._curves.get((plot, key))
        if c is None:
            self._ensure_plots()
            c = self.plot[plot].plot(pen=pg.mkPen(colour, width=2), connect="finite", name=label)
            self._curves[plot, key] = c
        return c

    def _show_step(self) -> None:
        shown = self.step >= 0
        for cursor in self._cursors:
            cursor.setVisible(shown)
            if shown:
                cursor.blockSignals(True)
                cursor.setValue(self.step)
                cursor.blockSignals(False)
        self.now.setChecked(not shown)
        self.slider.blockSignals(True)
        self.slider.setValue(self.step if shown else self.slider.maximum())
        self.slider.blockSignals(False)
        self.spin.blockSignals(True)
        self.spin.setValue(self.step if shown else self.spin.maximum())
        self.spin.blockSignals(False)
        if not shown:
            self.showing_step(-1)

    def _enable(self, on: bool) -> None:
        for w in (self.back, self.slider, self.forward, self.spin, self.now):
            w.setEnabled(on)

    def _current(self) -> int:
        return self.step if self.step >= 0 else (self.run.steps - 1 if self.run is not None else 0)

    def _slid(self, k: int) -> None:
        self.choose(k)

    def _clicked(self, event: Any) -> None:
        for p in self.plot.values():
            if p.sceneBoundingRect().contains(event.scenePos()):
                x = p.vb.mapSceneToView(event.scenePos()).x()
                self.choose(max(0, round(x)))
                return

    def keyPressEvent(self, e: Any) -> None:
        if e.key() == Qt.Key.Key_Left:
            self.choose(max(0, self._current() - 1))
        elif e.key() == Qt.Key.Key_Right:
            self.choose(self._current() + 1)
        else:
            super().keyPressEvent(e)

    def _apply_palette(self) -> None:
        if self.plots is None:
            return
        pal = self.palette()
        self.plots.setBackground(pal.color(QPalette.ColorRole.Base))
        ink = pal.color(QPalette.ColorRole.Text)
        for p in self.plot.values():
            p.setTitle(p.titleLabel.text, color=ink.name(), size="9pt")
            for axis in ("left", "bottom"):
                p.getAxis(axis).setPen(pg.mkPen(ink))
                p.getAxis(axis).setTextPen(pg.mkPen(ink))

    def changeEvent(self, event: Any) -> None:
        from PySide6.QtCore import QEvent

        if event.type() == QEvent.Type.PaletteChange:
            self._apply_palette()
        super().changeEvent(event)
