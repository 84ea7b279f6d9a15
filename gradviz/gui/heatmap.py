"""A 1-D or 2-D tensor as a grid of coloured cells, with the colour bar it was painted with.

Signed data goes through the diverging map the graph uses for signed statistics (white at zero),
non-negative data through the sequential one, both from :mod:`gradviz.graph.colors`; NaN and Inf
get the graph's loud NaN colour. Cells big enough to read show their numbers; hovering any cell
tells its index and value.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QLinearGradient, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from ..graph import colors

MAX_SIDE = 512  # larger arrays are shown every k-th element
CELL_MAX = 36.0  # at the usual font size; cells grow with the font (presentation mode)


def _fmt(v: float) -> str:
    return colors.format_number(float(v), 3)


class Heatmap(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(True)
        self.setAccessibleName("Heatmap")
        self.array: np.ndarray | None = None  # 2-D, float64, possibly strided
        self.stride = (1, 1)
        self.scale: colors.ColorScale | None = None
        self._image: QImage | None = None
        self._rgb: np.ndarray | None = None
        self.index_prefix = ""
        self.max_cell: float | None = None  # a cap on the cell size, for a small map (the stepper's)
        self.max_side = MAX_SIDE  # rows or columns beyond it: every k-th is shown
        self.setFixedHeight(0)

    # --- data ---
    def set_array(self, arr: Any, index_prefix: str = "") -> None:
        """Show ``arr`` (0-D hides the map, 1-D is one row, 2-D a matrix)."""
        self.index_prefix = index_prefix
        if arr is None:
            self.array = None
            self._image = None
            self.setFixedHeight(0)
            self.update()
            return
        a = np.asarray(arr)
        if a.ndim == 0 or a.size == 0:
            self.array = None
            self._image = None
            self.setFixedHeight(0)
            return
        if a.ndim == 1:
            a = a[None, :]
        a = a.astype(np.float64)
        sr = max(1, math.ceil(a.shape[0] / self.max_side))
        sc = max(1, math.ceil(a.shape[1] / self.max_side))
        self.stride = (sr, sc)
        a = a[::sr, ::sc]
        self.array = a
        finite = a[np.isfinite(a)]
        lo = float(finite.min()) if finite.size else 0.0
        hi = float(finite.max()) if finite.size else 0.0
        if lo < 0:
            m = max(abs(lo), abs(hi)) or 1.0
            self.scale = colors.ColorScale("mean", None, "linear", -m, m)
            t = 0.5 + 0.5 * np.clip(a / m, -1, 1)
        else:
            top = hi or 1.0
            self.scale = colors.ColorScale("norm", None, "linear", 0.0, top)
            t = np.clip(a / top, 0, 1)
        lut = np.array(
            [QColor(self.scale.color_at(i / 255)).getRgb()[:3] for i in range(256)], dtype=np.uint8
        )
        idx = np.nan_to_num(np.round(t * 255), nan=0).astype(np.int64)
        rgb = lut[np.clip(idx, 0, 255)]
        bad = ~np.isfinite(a)
        if bad.any():
            rgb[bad] = QColor(self.scale.nonfinite_paint.fill).getRgb()[:3]
        self._rgb = np.ascontiguousarray(rgb)
        h, w = a.shape
        self._image = QImage(self._rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        self._fit_height()
        self.update()

    # --- geometry ---
    def cell_size(self, width: int | None = None) -> float:
        if self.array is None:
            return 0.0
        rows, cols = self.array.shape
        width = self.width() if width is None else width
        biggest = max(CELL_MAX, 2.5 * self.fontMetrics().height())
        if self.max_cell is not None:
            biggest = min(biggest, self.max_cell)
        return max(1.0, min(biggest, (width - 2) / cols, 300 / rows * biggest / CELL_MAX))

    def _fit_height(self) -> None:
        if self.array is None:
            self.setFixedHeight(0)
            return
        c = self.cell_size()
        self.setFixedHeight(math.ceil(self.array.shape[0] * c + self._bar_height()) + 6)

    def _tick_font(self) -> QFont:
        f = QFont(self.font())
        f.setPointSizeF(max(6.5, self.font().pointSizeF() - 1.5))
        return f

    def _bar_height(self) -> float:
        """The colour bar under the grid and its numbers, as tall as their font needs."""
        return 8 + 8 + QFontMetricsF(self._tick_font()).height() + 2

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._fit_height()

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._fit_height()

    def sizeHint(self) -> QSize:
        return QSize(240, self.height())

    def grid_rect(self) -> QRectF:
        rows, cols = self.array.shape
        c = self.cell_size()
        return QRectF(1, 1, cols * c, rows * c)

    # --- painting ---
    def paintEvent(self, event: Any) -> None:
        if self.array is None or self._image is None:
            return
        p = QPainter(self)
        r = self.grid_rect()
        c = self.cell_size()
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        p.drawImage(r, self._image)
        rows, cols = self.array.shape
        frame = self.palette().color(self.palette().ColorRole.Mid)
        if c >= 9:
            p.setPen(QPen(self.palette().color(self.palette().ColorRole.Base), 1))
            for i in range(1, cols):
                x = r.left() + i * c
                p.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()))
            for j in range(1, rows):
                y = r.top() + j * c
                p.drawLine(QPointF(r.left(), y), QPointF(r.right(), y))
        labels = None
        if c >= 26 and rows * cols <= 400:
            f = p.font()
            f.setPointSizeF(max(6.5, f.pointSizeF() - 2))
            p.setFont(f)
            labels = [[_fmt(v) if math.isfinite(v) else str(v) for v in row] for row in self.array]
            widest = max(p.fontMetrics().horizontalAdvance(t) for row in labels for t in row)
            if widest > c - 4:
                labels = None  # numbers that do not fit are noise: hovering tells them
        if labels is not None:
            p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
            for j in range(rows):
                for i in range(cols):
                    cell = QRectF(r.left() + i * c, r.top() + j * c, c, c)
                    p.setPen(QColor(colors.text_color("#{:02x}{:02x}{:02x}".format(*tuple(self._rgb[j, i])))))
                    p.drawText(cell, Qt.AlignmentFlag.AlignCenter, labels[j][i])
        p.setPen(QPen(frame, 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(r)
        # the colour bar
        bar = QRectF(1, r.bottom() + 8, min(max(r.width(), 160), self.width() - 2), 8)
        grad = QLinearGradient(bar.topLeft(), bar.topRight())
        for k in range(17):
            grad.setColorAt(k / 16, QColor(self.scale.color_at(k / 16)))
        p.fillRect(bar, grad)
        p.drawRect(bar)
        p.setPen(self.palette().color(self.palette().ColorRole.WindowText))
        p.setFont(self._tick_font())
        ty = bar.bottom() + 2 + p.fontMetrics().ascent()
        p.drawText(QPointF(bar.left(), ty), _fmt(self.scale.vmin))
        right = _fmt(self.scale.vmax)
        p.drawText(QPointF(bar.right() - p.fontMetrics().horizontalAdvance(right), ty), right)
        if self.scale.signed:
            mid = "0"
            p.drawText(QPointF(bar.center().x() - p.fontMetrics().horizontalAdvance(mid) / 2, ty), mid)
        p.end()

    # --- hovering ---
    def cell_at(self, pos: QPointF) -> tuple[int, int] | None:
        if self.array is None:
            return None
        r = self.grid_rect()
        if not r.contains(pos):
            return None
        c = self.cell_size()
        return int((pos.y() - r.top()) // c), int((pos.x() - r.left()) // c)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        hit = self.cell_at(event.position())
        if hit is None:
            QToolTip.hideText()
            return
        j, i = hit
        v = self.array[j, i]
        rj, ri = j * self.stride[0], i * self.stride[1]
        one_d = self.array.shape[0] == 1 and self.stride[0] == 1 and self._one_d
        where = f"[{ri}]" if one_d else f"[{rj}, {ri}]"
        QToolTip.showText(event.globalPosition().toPoint(), f"{self.index_prefix}{where} = {v!r}"[:80], self)

    _one_d = False

    def set_tensor(self, arr: Any, index_prefix: str = "") -> None:
        a = np.asarray(arr) if arr is not None else None
        self._one_d = a is not None and a.ndim == 1
        self.set_array(a, index_prefix)
