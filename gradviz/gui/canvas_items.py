"""The canvas's items: one per node and per edge of the laid-out scene, painting the scene's
own shapes (the ones the exporters draw) and showing selection, hover and highlighted paths."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from .painting import Op, bounds, paint_ops
from .plain import plain_tip

if TYPE_CHECKING:
    from .canvas import GraphCanvas

ACCENT = "#e8590c"  # paths from a selected leaf to the output
LOD_DOT = 0.15  # below this zoom a node is a dot of its colour and lines are drawn unsmoothed


class NodeItem(QGraphicsItem):
    """One node: the scene's shapes for it, a selection ring, a tooltip."""

    def __init__(self, canvas: GraphCanvas, nid: str) -> None:
        super().__init__()
        self.canvas = canvas
        self.nid = nid
        self.name = ""  # the session name of the tensor it stands for ('' for ops)
        self.attrs: dict[str, Any] = {}
        self._ops: list[Op] = []
        self._rect = QRectF()
        self._bounds = QRectF()
        self._radius = 0.0
        self.fill = ""
        self.tip = ""
        self.selected = False
        self.hovered = False
        self.dimmed = False
        self.setAcceptHoverEvents(True)
        self.setZValue(2)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    @property
    def kind(self) -> str:
        return self.attrs.get("type", "")

    def set_content(
        self, ops: list[Op], w: float, h: float, attrs: dict[str, Any], name: str, tooltip: str
    ) -> None:
        if ops is self._ops and tooltip == self.tip and name == self.name:
            self.attrs = attrs  # it paints and says the same: no repaint (one op on a big graph)
            return
        self.prepareGeometryChange()
        self._ops = ops
        self._rect = QRectF(0, 0, w, h)
        self._bounds = self._rect.adjusted(-6, -6, 6, 6)  # asked for often: made once
        first = ops[0] if ops and ops[0].kind == "rect" else None
        self._radius = first.data[3] if first else 0.0
        self.fill = first.color if first else ""
        self.attrs = attrs
        self.name = name
        self.tip = tooltip  # what it says changes with its value and gradient
        self.setToolTip(plain_tip(tooltip))  # names and values: text, not HTML
        self.update()

    @property
    def ops(self) -> list[Op]:
        """What it paints (in its own coordinates)."""
        return self._ops

    def size(self) -> tuple[float, float]:
        """Its box's width and height."""
        return self._rect.width(), self._rect.height()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(self._rect, self._radius, self._radius)
        return path

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < LOD_DOT and self.fill:  # a dot of colour: all one can see at this size
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)  # a pixel or two wide
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(self.fill))
            painter.drawRect(self._rect)
        else:
            c = self.canvas
            paint_ops(painter, self._ops, lod, outline_recolor=c.outline_recolor, line_scale=c.line_scale)
        if self.selected or self.hovered:
            ring = QColor(self.canvas.selection_color)
            if not self.selected:
                ring.setAlpha(110)
            pen = QPen(ring, 3.0 if self.selected else 2.0)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            r = self._rect.adjusted(-3.5, -3.5, 3.5, 3.5)
            painter.drawRoundedRect(r, self._radius + 3, self._radius + 3)

    def set_selected(self, on: bool) -> None:
        if on != self.selected:
            self.selected = on
            self.update()

    def set_dimmed(self, on: bool) -> None:
        if on != self.dimmed:
            self.dimmed = on
            self.setOpacity(0.4 if on else 1.0)

    def hoverEnterEvent(self, event: Any) -> None:
        self.hovered = True
        self.update()

    def hoverLeaveEvent(self, event: Any) -> None:
        self.hovered = False
        self.update()


class RefItem(NodeItem):
    """A reference badge of a shared input ("→ w", see ``graph/shared.py``): it stands for the
    node ``nid`` (w), so a click selects w and hovering shows w's tooltip."""

    def __init__(self, canvas: GraphCanvas, bid: str, nid: str) -> None:
        super().__init__(canvas, nid)
        self.bid = bid
        self.setZValue(2.5)  # over the edges that pass by


def edge_bounds(ops: list[Op]) -> QRectF:
    """What an edge's route, arrowhead and label cover."""
    r = bounds(ops).adjusted(-4, -4, 4, 4)
    for op in ops:
        if op.kind == "text":
            pos = op.data[0]
            r = r.united(QRectF(pos.x() - 2, pos.y() - op.data[5] * 1.2, 120, op.data[5] * 1.6))
    return r


class EdgeItem(QGraphicsItem):
    """One edge: its route and arrowhead (and label), highlighted when on a selected path."""

    def __init__(self, canvas: GraphCanvas, key: tuple[str, str]) -> None:
        super().__init__()
        self.canvas = canvas
        self.key = key
        self._ops: list[Op] = []
        self._bounds = QRectF()
        self.shapes: list[Any] | None = None  # the scene's shapes its paint ops were made from
        self.highlighted = False
        self.setZValue(1)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def set_content(self, ops: list[Op], rect: QRectF | None = None) -> None:
        if ops is self._ops:  # the same edge as before, the same place (a cached drawing)
            return
        self.prepareGeometryChange()
        self._ops = ops
        self._bounds = rect if rect is not None else edge_bounds(ops)
        self.update()

    @property
    def ops(self) -> list[Op]:
        """What it paints (in scene coordinates)."""
        return self._ops

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        override = (ACCENT, 2.2) if self.highlighted else None
        if lod < LOD_DOT:  # hairlines a pixel wide: smoothing them costs more than it shows
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        paint_ops(
            painter, self._ops, lod, self.canvas.edge_recolor, override, line_scale=self.canvas.line_scale
        )

    def set_highlighted(self, on: bool, dim: bool) -> None:
        if on != self.highlighted:
            self.highlighted = on
            self.setZValue(1.5 if on else 1)
            self.update()
        self.setOpacity(0.3 if dim else 1.0)
