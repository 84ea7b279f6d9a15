"""Draw the primitives of a :class:`gradviz.graph.scene.Scene` with QPainter.

The canvas, its legend and its minimap draw the very shapes the PNG, SVG and PDF writers draw, so
the window shows what an export shows. Text uses the font the scene was measured with (DejaVu
Sans) where it can be loaded, and is squeezed to the measured width where it cannot, so text
always fits its box.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontDatabase,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPen,
    QPolygonF,
)

from ..graph import fonts
from ..graph.scene import Item, Path, Polygon, Rect, Text

FONT_PX = 20.0  # text is laid out at this pixel size and scaled to the scene's point size
LOD_TEXT = 0.38  # below this zoom, text is too small to read: skip it (fast panning of big graphs)


@cache
def font_family() -> str:
    """The family to draw node text with: DejaVu Sans (loaded from its file if need be)."""
    for bold in (False, True):
        path = fonts.font_file(bold)
        if path:
            QFontDatabase.addApplicationFont(path)
    if "DejaVu Sans" in QFontDatabase.families():
        return "DejaVu Sans"
    return QFont().defaultFamily()


@cache
def qfont(bold: bool = False) -> QFont:
    f = QFont(font_family())
    f.setPixelSize(int(FONT_PX))
    f.setBold(bold)
    f.setHintingPreference(QFont.HintingPreference.PreferNoHinting)  # widths scale linearly
    f.setKerning(True)
    return f


@cache
def _metrics(bold: bool) -> QFontMetricsF:
    return QFontMetricsF(qfont(bold))


@cache
def qcolor(name: str) -> QColor:
    return QColor(name)


def _pen(color: str, width: float, dashed: bool = False) -> QPen:
    pen = QPen(qcolor(color), width)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    pen.setCapStyle(Qt.PenCapStyle.FlatCap if dashed else Qt.PenCapStyle.RoundCap)
    if dashed:
        w = max(width, 0.1)
        pen.setDashPattern([4 / w, 3 / w])  # the SVG writer's 4,3, in pen widths
    return pen


def _restyled(pen: QPen, recolor: dict[str, str] | None, scale: float) -> QPen:
    pen = QPen(pen)
    if recolor:
        name = pen.color().name()
        pen.setColor(qcolor(recolor.get(name, name)))
    if scale != 1.0:
        dashes = pen.dashPattern() if pen.style() == Qt.PenStyle.CustomDashLine else None
        pen.setWidthF(pen.widthF() * scale)
        if dashes:  # the pattern is in pen widths: keep the dashes as long as they were
            pen.setDashPattern([d / scale for d in dashes])
    return pen


@dataclass
class Op:
    """One primitive, turned into Qt objects once so that painting is cheap."""

    kind: str  # "rect", "text", "path", "poly"
    data: tuple
    color: str = ""  # the primitive's own colour (edges may be recoloured for a dark canvas)


def compile_items(items: Iterable[Item], dx: float = 0.0, dy: float = 0.0) -> list[Op]:
    """Scene primitives, moved by (dx, dy), as paint operations."""
    out: list[Op] = []
    for it in items:
        if isinstance(it, Rect):
            rect = QRectF(it.x + dx, it.y + dy, it.w, it.h)
            brush = QBrush(qcolor(it.fill)) if it.fill else QBrush(Qt.BrushStyle.NoBrush)
            pen = (
                _pen(it.stroke, it.stroke_width, it.dashed)
                if it.stroke and it.stroke_width > 0
                else QPen(Qt.PenStyle.NoPen)
            )
            out.append(Op("rect", (rect, brush, pen, it.radius), it.fill or it.stroke or ""))
        elif isinstance(it, Text):
            if not it.text:
                continue
            m = _metrics(it.bold)
            scale = it.size / FONT_PX
            width = m.horizontalAdvance(it.text) * scale
            target = fonts.text_width(it.text, it.size, it.bold)  # the width the box was sized for
            squeeze = min(1.0, target * 1.03 / width) if width > 0 else 1.0
            width *= squeeze
            x = it.x + dx
            if it.anchor == "middle":
                x -= width / 2
            elif it.anchor == "end":
                x -= width
            out.append(
                Op("text", (QPointF(x, it.y + dy), it.text, scale, squeeze, it.bold, it.size), it.color)
            )
        elif isinstance(it, Path):
            pts = it.points
            if len(pts) < 2:
                continue
            path = QPainterPath(QPointF(pts[0][0] + dx, pts[0][1] + dy))
            if it.curve and len(pts) >= 4:
                for i in range(1, len(pts) - 2, 3):
                    (ax, ay), (bx, by), (cx, cy) = pts[i], pts[i + 1], pts[i + 2]
                    path.cubicTo(ax + dx, ay + dy, bx + dx, by + dy, cx + dx, cy + dy)
            else:
                for x, y in pts[1:]:
                    path.lineTo(x + dx, y + dy)
            out.append(Op("path", (path, it.width, it.dashed), it.stroke))
        elif isinstance(it, Polygon):
            poly = QPolygonF([QPointF(x + dx, y + dy) for x, y in it.points])
            out.append(Op("poly", (poly,), it.fill))
    return out


def bounds(ops: Sequence[Op]) -> QRectF:
    r = QRectF()
    for op in ops:
        if op.kind == "rect":
            r = r.united(op.data[0])
        elif op.kind == "path" or op.kind == "poly":
            r = r.united(op.data[0].boundingRect())
    return r


def paint_ops(
    painter: QPainter,
    ops: Sequence[Op],
    lod: float = 1.0,
    recolor: dict[str, str] | None = None,
    override: tuple[str, float] | None = None,
    *,
    outline_recolor: dict[str, str] | None = None,
    line_scale: float = 1.0,
) -> None:
    """Draw ``ops``. ``recolor`` swaps colours (edges on a dark canvas); ``override`` draws every
    line and arrowhead in one colour and width factor (a highlighted path). ``outline_recolor``
    and ``line_scale`` restyle boxes' outlines and every line (a high-contrast canvas)."""
    for op in ops:
        kind = op.kind
        if kind == "rect":
            rect, brush, pen, radius = op.data
            painter.setBrush(brush)
            if (outline_recolor or line_scale != 1.0) and pen.style() != Qt.PenStyle.NoPen:
                pen = _restyled(pen, outline_recolor, line_scale)
            painter.setPen(pen)
            if radius > 0:
                painter.drawRoundedRect(rect, radius, radius)
            else:
                painter.drawRect(rect)
        elif kind == "text":
            if lod < LOD_TEXT:
                continue
            pos, text, scale, squeeze, bold, _ = op.data
            color = recolor.get(op.color, op.color) if recolor else op.color
            painter.save()
            painter.translate(pos)
            painter.scale(scale * squeeze, scale)
            painter.setFont(qfont(bold))
            painter.setPen(qcolor(color))
            painter.drawText(QPointF(0, 0), text)
            painter.restore()
        elif kind == "path":
            path, width, dashed = op.data
            color = op.color
            if override is not None:
                color, factor = override
                width *= factor
            elif recolor:
                color = recolor.get(color, color)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(_pen(color, width * line_scale, dashed))
            painter.drawPath(path)
        elif kind == "poly":
            color = op.color
            if override is not None:
                color = override[0]
            elif recolor:
                color = recolor.get(color, color)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(qcolor(color))
            painter.drawPolygon(op.data[0])
