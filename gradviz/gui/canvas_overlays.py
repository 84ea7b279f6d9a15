"""Widgets laid over the canvas's viewport: the colour legend, message bubbles, the busy
card and the hint an empty canvas shows. They stay put whatever the zoom."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter, QPalette, QPen
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QToolButton, QWidget

from ..graph import colors
from ..graph.scene import legend_items
from .painting import Op, compile_items, paint_ops


class LegendOverlay(QWidget):
    """The colour legend, fixed in the top-right corner whatever the zoom."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._ops: list[Op] = []
        self._zoom = 1.0
        self.legend: colors.Legend | None = None
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)

    @property
    def zoom(self) -> float:
        return self._zoom

    def set_legend(self, legend: colors.Legend | None, zoom: float) -> None:
        self.legend = legend
        self._zoom = zoom
        if legend is None:
            self._ops = []
            self.resize(0, 0)
            return
        items, w, h = legend_items(legend, 0.5, 0.5)
        self._ops = compile_items(items)
        self.resize(math.ceil((w + 1) * zoom), math.ceil((h + 1) * zoom))
        self.update()

    def paintEvent(self, event: Any) -> None:
        if not self._ops:
            return
        p = QPainter(self)
        p.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        p.scale(self._zoom, self._zoom)
        if self.palette().color(QPalette.ColorRole.Window).lightness() < 128:
            self._paint_dark(p)
        else:
            paint_ops(p, self._ops)
        p.end()

    def _paint_dark(self, p: QPainter) -> None:
        """The legend is drawn for a white page (as exported): on a dark canvas its card takes
        the palette's colours and its text goes light; the swatches keep the nodes' colours."""
        frame, rest = self._ops[0], self._ops[1:]
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.Text).name()
        p.setBrush(pal.color(QPalette.ColorRole.Base).lighter(115))
        p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), frame.data[2].widthF()))
        p.drawRoundedRect(frame.data[0], frame.data[3], frame.data[3])
        paint_ops(
            p, rest, recolor={"#000000": text, "#5a5a5a": "#b9bcc2"}, outline_recolor={"#5a5a5a": "#b9bcc2"}
        )


class Bubble(QFrame):
    """A small card over the canvas: the local derivative of an op, a message, progress."""

    def __init__(self, parent: QWidget, closable: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("canvasBubble")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setStyleSheet(
            "QFrame#canvasBubble { background: palette(base); border: 1px solid palette(mid); border-radius: 6px; }"
        )
        lay = QHBoxLayout(self)
        lay.setContentsMargins(12, 8, 8, 8)
        lay.setSpacing(8)
        self.label = QLabel(self)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.label, 1)
        self.close_button = None
        if closable:
            b = QToolButton(self)
            b.setText("×")
            b.setAutoRaise(True)
            b.setToolTip("Close")
            b.clicked.connect(self.hide)
            lay.addWidget(b, 0, Qt.AlignmentFlag.AlignTop)
            self.close_button = b
        self.hide()

    def show_text(self, html: str, width: int = 380) -> None:
        self.label.setText(html)
        self.label.setMinimumWidth(min(width, 300))
        self.setMaximumWidth(width + 40)
        self.adjustSize()
        self.show()
        self.raise_()


class BusyOverlay(QFrame):
    """What a canvas behind its model shows: what it is doing, a busy bar, Cancel."""

    def __init__(self, parent: QWidget, cancel: Callable[[], None]) -> None:
        super().__init__(parent)
        self.setObjectName("canvasBusy")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setStyleSheet(
            "QFrame#canvasBusy { background: palette(base); border: 1px solid palette(mid); border-radius: 6px; }"
        )
        lay = QHBoxLayout(self)
        lay.setContentsMargins(12, 6, 6, 6)
        self.label = QLabel("Laying out the graph…", self)
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 0)  # busy: dot gives no progress to report
        self.bar.setFixedWidth(120)
        self.bar.setTextVisible(False)
        self.button = QPushButton("Cancel", self)
        self.button.setToolTip("Stop laying out; the graph keeps its last picture")
        self.button.clicked.connect(cancel)
        lay.addWidget(self.label)
        lay.addWidget(self.bar)
        lay.addWidget(self.button)
        self.hide()

    def set_state(self, what: str, can_cancel: bool, tip: str) -> None:
        self.label.setText(what)
        self.button.setEnabled(can_cancel)
        self.button.setToolTip(tip if can_cancel else "This can't be stopped; it ends soon")
        self.adjustSize()

    def fit(self, width: int) -> None:
        """At most ``width`` wide: a long text wraps rather than push Cancel out of sight."""
        self.label.setWordWrap(False)
        self.label.setMaximumWidth(16777215)
        self.adjustSize()
        if self.width() > width:
            self.label.setWordWrap(True)
            self.label.setMaximumWidth(max(120, width - (self.width() - self.label.width())))
            self.adjustSize()


class EmptyHint(QLabel):
    """What an empty canvas says; links in it (examples) are announced by ``linkActivated``."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
