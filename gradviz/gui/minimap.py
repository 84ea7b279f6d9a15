"""The overview in the canvas's corner: the whole graph small, the visible part framed.

It appears when the graph does not fit the view. Clicking or dragging in it moves the view there.
The small picture is drawn with each new layout, on the layout's thread, not per frame of panning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QWidget

from .painting import Op

if TYPE_CHECKING:
    from .canvas import GraphCanvas

MAX_W, MAX_H = 210, 150
PAD = 6


@dataclass
class Overview:
    """The whole graph drawn small (made off the GUI thread: QImage, not QPixmap)."""

    image: QImage
    src: QRectF  # the part of the scene it shows
    scale: float  # image pixels (logical) per scene unit


def render_overview(
    nodes: dict[str, tuple],
    edges: dict[Any, tuple[list[Op], QRectF]],
    dpr: float = 1.0,
    extent: tuple[float, float, float, float] | None = None,
) -> Overview | None:
    """Nodes as their fill colours and edges as thin lines, fitted in MAX_W x MAX_H. ``extent``:
    what they cover (x0, y0, x1, y1), if the caller knows it."""
    if extent is None:
        boxes = [(x, y, x + w, y + h) for _ops, x, y, w, h, *_ in nodes.values()]
        boxes += [(r.left(), r.top(), r.right(), r.bottom()) for _ops, r in edges.values() if not r.isNull()]
        if not boxes:
            return None
        extent = (
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        )
    x0, y0, x1, y1 = extent
    src = QRectF(x0, y0, x1 - x0, y1 - y0)
    if src.isEmpty():
        return None
    src = src.adjusted(-12, -12, 12, 12)
    scale = min((MAX_W - 2 * PAD) / src.width(), (MAX_H - 2 * PAD) / src.height())
    w, h = src.width() * scale, src.height() * scale
    img = QImage(
        max(1, math.ceil(w * dpr)), max(1, math.ceil(h * dpr)), QImage.Format.Format_ARGB32_Premultiplied
    )
    img.setDevicePixelRatio(dpr)
    img.fill(Qt.GlobalColor.transparent)
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.scale(scale, scale)
    p.translate(-src.x(), -src.y())
    edge_pen = QPen(QColor(128, 128, 128, 170), 1.0)
    edge_pen.setCosmetic(True)
    p.setPen(edge_pen)
    p.setBrush(Qt.BrushStyle.NoBrush)
    for ops, _rect in edges.values():
        for op in ops:
            if op.kind == "path":
                p.drawPath(op.data[0])
    border = QPen(QColor(90, 90, 90, 200), 1.0)
    border.setCosmetic(True)
    p.setPen(border)
    by_fill: dict[str, list[QRectF]] = {}  # drawn a colour at a time: one call for each
    for ops, x, y, w_, h_, *_ in nodes.values():
        fill = ops[0].color if ops and ops[0].kind == "rect" and ops[0].color else "#dddddd"
        by_fill.setdefault(fill, []).append(QRectF(x, y, w_, h_))
    for fill, rects in by_fill.items():
        p.setBrush(QColor(fill))
        p.drawRects(rects)
    p.end()
    return Overview(img, src, scale)


class Minimap(QWidget):
    def __init__(self, canvas: GraphCanvas) -> None:
        super().__init__(canvas)  # not the viewport: scrolling would carry it along
        self.canvas = canvas
        self.overview: Overview | None = None
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Overview: click or drag to move around the graph")
        self.setAccessibleName("Minimap")
        self.hide()

    def set_overview(self, overview: Overview | None) -> None:
        self.overview = overview
        if overview is not None:
            w = max(60, round(overview.src.width() * overview.scale) + 2 * PAD)
            h = max(40, round(overview.src.height() * overview.scale) + 2 * PAD)
            self.resize(w, h)
        self.update()

    def place(self, viewport: QRect, margin: int, corner: str = "bottom-right") -> None:
        """In ``corner`` of ``viewport`` (given in the canvas's coordinates)."""
        left = corner.endswith("left")
        top = corner.startswith("top")
        self.move(
            viewport.left() + margin if left else viewport.right() + 1 - self.width() - margin,
            viewport.top() + margin if top else viewport.bottom() + 1 - self.height() - margin,
        )

    def _offset(self) -> QPointF:
        ov = self.overview
        w = ov.src.width() * ov.scale
        h = ov.src.height() * ov.scale
        return QPointF((self.width() - w) / 2, (self.height() - h) / 2)

    def paintEvent(self, event: Any) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        bg = QColor(self.canvas.background)
        bg.setAlpha(238)
        frame = QColor(self.palette().color(self.palette().ColorRole.Mid))
        p.setPen(QPen(frame, 1))
        p.setBrush(bg)
        p.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 5, 5)
        ov = self.overview
        if ov is None:
            p.end()
            return
        off = self._offset()
        p.drawImage(off, ov.image)
        vis = self.canvas.visible_scene_rect()
        r = QRectF(
            off.x() + (vis.x() - ov.src.x()) * ov.scale,
            off.y() + (vis.y() - ov.src.y()) * ov.scale,
            vis.width() * ov.scale,
            vis.height() * ov.scale,
        ).intersected(QRectF(self.rect()).adjusted(1, 1, -1, -1))
        accent = QColor(self.canvas.selection_color)
        fill = QColor(accent)
        fill.setAlpha(40)
        p.setPen(QPen(accent, 1.5))
        p.setBrush(fill)
        p.drawRect(r)
        p.end()

    def scene_point(self, pos: QPointF) -> QPointF:
        ov = self.overview
        off = self._offset()
        return QPointF(
            ov.src.x() + (pos.x() - off.x()) / ov.scale, ov.src.y() + (pos.y() - off.y()) / ov.scale
        )

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.overview is not None:
            self.canvas.centerOn(self.scene_point(event.position()))
            self.update()
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton and self.overview is not None:
            self.canvas.centerOn(self.scene_point(event.position()))
            self.update()
        event.accept()
