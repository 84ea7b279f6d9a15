"""The overview in the canvas's corner: the whole graph small, the visible part framed.

It appears when the graph does not fit the view. Clicking or dragging in it moves the view there.
The small picture is rendered once per change of the graph, not per frame of panning.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from .canvas import GraphCanvas

MAX_W, MAX_H = 210, 150
PAD = 6


class Minimap(QWidget):
    def __init__(self, canvas: GraphCanvas) -> None:
        super().__init__(canvas.viewport())
        self.canvas = canvas
        self._pixmap: QPixmap | None = None
        self._src = QRectF()
        self._scale = 1.0
        self._dirty = True
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Overview: click or drag to move around the graph")
        self.setAccessibleName("Minimap")
        self.hide()

    def picture_changed(self) -> None:
        self._dirty = True
        src = self.canvas.content_rect().adjusted(-12, -12, 12, 12)
        if src.isEmpty():
            return
        self._src = src
        self._scale = min((MAX_W - 2 * PAD) / src.width(), (MAX_H - 2 * PAD) / src.height())
        w = max(60, round(src.width() * self._scale) + 2 * PAD)
        h = max(40, round(src.height() * self._scale) + 2 * PAD)
        self.resize(w, h)
        self.update()

    def place(self, viewport: QRect, margin: int) -> None:
        self.move(viewport.width() - self.width() - margin, viewport.height() - self.height() - margin)

    def _offset(self) -> QPointF:
        w = self._src.width() * self._scale
        h = self._src.height() * self._scale
        return QPointF((self.width() - w) / 2, (self.height() - h) / 2)

    def _render(self) -> None:
        self._dirty = False
        if self._src.isEmpty():
            self._pixmap = None
            return
        dpr = self.devicePixelRatioF()
        w, h = self._src.width() * self._scale, self._src.height() * self._scale
        pm = QPixmap(max(1, round(w * dpr)), max(1, round(h * dpr)))
        pm.setDevicePixelRatio(dpr)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.canvas.scene().render(p, QRectF(0, 0, w, h), self._src, Qt.AspectRatioMode.KeepAspectRatio)
        p.end()
        self._pixmap = pm

    def paintEvent(self, event: Any) -> None:
        if self._dirty:
            self._render()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        bg = QColor(self.canvas.background)
        bg.setAlpha(235)
        frame = QColor(self.palette().color(self.palette().ColorRole.Mid))
        p.setPen(QPen(frame, 1))
        p.setBrush(bg)
        p.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 5, 5)
        off = self._offset()
        if self._pixmap is not None:
            p.drawPixmap(off, self._pixmap)
        vis = self.canvas.visible_scene_rect()
        r = QRectF(
            off.x() + (vis.x() - self._src.x()) * self._scale,
            off.y() + (vis.y() - self._src.y()) * self._scale,
            vis.width() * self._scale,
            vis.height() * self._scale,
        ).intersected(QRectF(self.rect()).adjusted(1, 1, -1, -1))
        accent = QColor(self.canvas.selection_color)
        fill = QColor(accent)
        fill.setAlpha(40)
        p.setPen(QPen(accent, 1.5))
        p.setBrush(fill)
        p.drawRect(r)
        p.end()

    def scene_point(self, pos: QPointF) -> QPointF:
        off = self._offset()
        return QPointF(
            self._src.x() + (pos.x() - off.x()) / self._scale,
            self._src.y() + (pos.y() - off.y()) / self._scale,
        )

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.canvas.centerOn(self.scene_point(event.position()))
            self.update()
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.canvas.centerOn(self.scene_point(event.position()))
            self.update()
        event.accept()
