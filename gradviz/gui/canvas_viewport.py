"""The canvas's viewport: zoom, Fit (clear of the legend, legible on a long chain), the scene
rect and scroll bars, and where the fixed overlays sit (the legend, the minimap, the busy
card, notices and the explanation bubble, each in a corner that hides the fewest nodes).

A mixin of :class:`~gradviz.gui.canvas.GraphCanvas`, which owns the state it reads (the items,
the overlays, the chosen corners); it keeps that view's geometry in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QTransform
from PySide6.QtWidgets import QGraphicsView, QWidget

from ..graph import colors
from ..graph.scene import legend_width
from .canvas_items import NodeItem

if TYPE_CHECKING:
    pass

MIN_ZOOM, MAX_ZOOM = 0.04, 8.0
MAX_FIT = 1.6  # fitting a small graph never blows it up more than this
LEGEND_SHARE = 0.45  # of a narrow view's width, the most the legend takes
LEGEND_MIN_ZOOM = 0.75  # ... by drawing it down to this much of its usual size
LEGIBLE_ZOOM = 0.6  # Fit never shrinks below this: names (13 pt) and values (10 pt) stay readable
FIT_MARGIN = 28  # view pixels around a fitted graph
LEGEND_CORNERS = ("top-right", "bottom-left", "top-left")  # in order of preference
MINIMAP_CORNERS = ("bottom-right", "bottom-left", "top-left", "top-right")


class CanvasViewport:
    """Zoom, fit and overlay placement for a :class:`GraphCanvas` (mixed into it)."""

    # --- zoom and fit -------------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float, anchor: QPointF | None = None, *, hold: QPointF | None = None) -> None:
        """Zoom by ``factor``, within MIN_ZOOM..MAX_ZOOM, about ``anchor`` (viewport coordinates;
        the middle if None): the scene point under it stays there. With ``hold``, that scene
        point is put under the anchor instead (a pinch holds the point its fingers took, so
        the view also pans as they move, and rounding does not add up over many steps)."""
        cur = self.zoom
        new = max(MIN_ZOOM, min(MAX_ZOOM, cur * factor))
        if abs(new - cur) < 1e-9 and hold is None:
            return
        if anchor is None:
            anchor = QPointF(self.viewport().rect().center())
        point = anchor.toPoint()
        before = self.mapToScene(point) if hold is None else hold
        if abs(new - cur) >= 1e-9:
            f = new / cur
            self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
            self.scale(f, f)
            self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self._update_scene_rect()
        # Put the scene point that was under the anchor back under it.
        drift = self.mapFromScene(before) - point
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + drift.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + drift.y())
        self._update_overlays()

    def zoom_in(self) -> None:
        self.zoom_by(1.25)

    def zoom_out(self) -> None:
        self.zoom_by(0.8)

    def content_rect(self) -> QRectF:
        """What the graph covers, in scene coordinates."""
        return QRectF(self._content)

    def fit(self) -> None:
        """Zoom and scroll so the whole graph shows, clear of the legend, never above MAX_FIT.

        The graph gets the whole view when the legend can sit in a corner no node covers that
        way (a top-to-bottom graph ending in one loss leaves the bottom corners free; the
        bottom right is the minimap's). Otherwise the legend stays top right and the graph is
        fitted into the room beside or below it, whichever shows it larger."""
        bbox = self.content_rect()
        vp = self.viewport().rect()
        if bbox.isEmpty() or vp.width() < 10 or vp.height() < 10:
            self.setTransform(QTransform())
            self._update_scene_rect()
            self._update_overlays()
            return
        margin = FIT_MARGIN
        has_legend = self.show_legend and self.legend_overlay.legend is not None
        legend_w = self.legend_overlay.width() + 24 if has_legend else 0
        legend_h = self.legend_overlay.height() + 24 if has_legend else 0
        vw, vh = vp.width(), vp.height()

        def scale_for(width: float, height: float) -> float:
            top = MAX_FIT * self.fit_scale  # presentation mode: a small graph may grow larger
            return max(MIN_ZOOM, min(max(80, width) / bbox.width(), max(80, height) / bbox.height(), top))

        whole = scale_for(vw - 2 * margin, vh - 2 * margin)
        centre = QPointF(vp.center())
        free = [c for c in LEGEND_CORNERS if not self._under_legend(self._legend_area(c), whole, centre)]
        if not has_legend or free:
            s, at = whole, centre
            self._legend_corner = free[0] if free else LEGEND_CORNERS[0]
        else:
            beside = (
                scale_for(vw - legend_w - 2 * margin, vh - 2 * margin),
                QPointF((vw - legend_w) / 2, centre.y()),
            )
            below = (
                scale_for(vw - 2 * margin, vh - legend_h - 2 * margin),
                QPointF(centre.x(), (vh + legend_h) / 2),
            )
            s, at = max(beside, below, key=lambda choice: choice[0])
            self._legend_corner = LEGEND_CORNERS[0]
        if s < LEGIBLE_ZOOM:  # a long graph would shrink to a line: fit its short side instead
            self._fit_along(bbox)
            return
        self.setTransform(QTransform.fromScale(s, s))
        self._update_scene_rect()
        # Put the graph's centre at ``at`` (view coordinates).
        shift = QPointF(vp.center()) - at
        self.centerOn(bbox.center() + QPointF(shift.x() / s, shift.y() / s))
        self._minimap_corner = self._clear_minimap_corner()
        self._update_overlays()

    def _fit_along(self, bbox: QRectF) -> None:
        """Fit a long graph (a chain) across its short side, between LEGIBLE_ZOOM and its natural
        size (it doesn't fit: no need to blow it up), its start in view; the long side scrolls. The legend and minimap keep to a column beside a tall
        graph (strips above and below a wide one), so scrolling along never brings a node under
        them, when the view is wide enough for both."""
        tall = bbox.height() * self.viewport().width() >= bbox.width() * self.viewport().height()
        on, off = Qt.ScrollBarPolicy.ScrollBarAlwaysOn, Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        self.setVerticalScrollBarPolicy(on if tall else off)  # now, so the room below is right
        self.setHorizontalScrollBarPolicy(off if tall else on)
        vp = self.viewport().rect()
        m = FIT_MARGIN // 2
        legend = (
            self.legend_overlay.size()
            if self.show_legend and self.legend_overlay.legend is not None
            else QSize(0, 0)
        )
        mini = self.minimap.size()
        if not (self.show_minimap and self.minimap.overview is not None and self._minimap_fits(vp)):
            mini = QSize(0, 0)
        self._legend_corner = LEGEND_CORNERS[0]
        if tall:
            col = max(legend.width(), mini.width())
            room = QRectF(m, m, vp.width() - 2 * m - (col + 2 * m if col else 0), vp.height() - 2 * m)
            s = max(LEGIBLE_ZOOM, min(room.width() / bbox.width(), 1.0))
            if bbox.width() * s > room.width():  # no room beside: keep as far from them as it can
                room.setWidth(bbox.width() * s)
            start, at = QPointF(bbox.center().x(), bbox.top()), QPointF(room.center().x(), room.top())
        else:
            top = legend.height() + 2 * m if legend.height() else 0
            bottom = mini.height() + 2 * m if mini.height() else 0
            room = QRectF(m, m + top, vp.width() - 2 * m, vp.height() - 2 * m - top - bottom)
            s = max(LEGIBLE_ZOOM, min(room.height() / bbox.height(), 1.0))
            start, at = QPointF(bbox.left(), bbox.center().y()), QPointF(room.left(), room.center().y())
        self.setTransform(QTransform.fromScale(s, s))
        self._update_scene_rect()
        shift = QPointF(vp.center()) - at
        self.centerOn(start + QPointF(shift.x() / s, shift.y() / s))
        self._minimap_corner = MINIMAP_CORNERS[0]  # its column or strip was kept free
        self._update_overlays()

    def _update_scrollbars(self) -> None:
        """A scroll bar along each side the graph is longer than the view (to scroll a chain)."""
        bbox, vis = self.content_rect(), self.visible_scene_rect()
        on, off = Qt.ScrollBarPolicy.ScrollBarAlwaysOn, Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        v = on if not bbox.isEmpty() and bbox.height() > vis.height() + 1 else off
        h = on if not bbox.isEmpty() and bbox.width() > vis.width() + 1 else off
        if v != self.verticalScrollBarPolicy():
            self.setVerticalScrollBarPolicy(v)
        if h != self.horizontalScrollBarPolicy():
            self.setHorizontalScrollBarPolicy(h)

    def _clear_legend_corner(self) -> str:
        """The legend's corner as the view is now: where it is, unless a node sits under it and
        another corner is clear (a node just added there, say)."""
        return self._clear_corner(self.legend_overlay, self._legend_corner, LEGEND_CORNERS)

    def _clear_minimap_corner(self) -> str:
        """The minimap's corner, chosen as the legend's is, in a corner the legend leaves free."""
        corners = [c for c in MINIMAP_CORNERS if c != self._legend_corner]
        current = self._minimap_corner if self._minimap_corner in corners else corners[0]
        return self._clear_corner(self.minimap, current, corners)

    def _clear_corner(self, overlay: QWidget, current: str, corners: Sequence[str]) -> str:
        def clear(corner: str) -> bool:
            area = self.mapToScene(self._overlay_area(overlay, corner).toRect()).boundingRect()
            return not any(isinstance(it, NodeItem) for it in self._scene.items(area))

        if clear(current):
            return current
        return next((c for c in corners if clear(c)), current)

    def _legend_area(self, corner: str) -> QRectF:
        return self._overlay_area(self.legend_overlay, corner)

    def _overlay_area(self, overlay: QWidget, corner: str) -> QRectF:
        """Where ``overlay``, with room around it, sits in the view at ``corner``."""
        vp = self.viewport().rect()
        w, h = overlay.width() + 24, overlay.height() + 24
        x = 0 if corner.endswith("left") else vp.width() - w
        y = 0 if corner.startswith("top") else vp.height() - h
        return QRectF(x, y, w, h)

    def _under_legend(self, legend: QRectF, s: float, at: QPointF) -> bool:
        """Would any node fall under the legend with zoom ``s`` and the graph centred at ``at``?"""
        c = self.content_rect().center()
        # The legend's area mapped back into the scene, asked of the scene's index: a loop over
        # 10,000 nodes here took a third of a second of the GUI thread.
        area = QRectF(
            c.x() + (legend.x() - at.x()) / s,
            c.y() + (legend.y() - at.y()) / s,
            legend.width() / s,
            legend.height() / s,
        )
        mode = Qt.ItemSelectionMode.IntersectsItemBoundingRect
        return any(isinstance(it, NodeItem) for it in self._scene.items(area, mode))

    def visible_scene_rect(self) -> QRectF:
        return self.mapToScene(self.viewport().rect()).boundingRect()

    def _overlay_zoom(self, legend: colors.Legend | None = None) -> float:
        """Points to pixels for the fixed overlays: 1 pt = 1/72 inch at the screen's logical DPI.

        A legend wider than LEGEND_SHARE of a narrow view (large text, docks open) is drawn
        smaller, down to LEGEND_MIN_ZOOM of its size: it must leave the graph room beside it."""
        base = max(1.0, min(1.4, self.logicalDpiX() / 72.0 * 0.84))
        zoom = base * self.legend_scale
        legend = legend if legend is not None else self.legend_overlay.legend
        if legend is not None:
            room = self.viewport().width() * LEGEND_SHARE / (legend_width(legend) + 1)
            zoom = max(min(zoom, room), base * LEGEND_MIN_ZOOM)
        return zoom

    def _update_scene_rect(self) -> None:
        bbox = self.content_rect()
        vp = self.viewport().rect()
        s = self.zoom
        pad_x, pad_y = vp.width() / s * 0.75, vp.height() / s * 0.75
        r = (
            bbox.adjusted(-pad_x, -pad_y, pad_x, pad_y)
            if not bbox.isEmpty()
            else QRectF(-pad_x, -pad_y, 2 * pad_x, 2 * pad_y)
        )
        r = r.united(self.visible_scene_rect())
        self.setSceneRect(r)
        self._update_scrollbars()

    # --- overlays -------------------------------------------------------------------------------------
    def _update_minimap_visibility(self) -> None:
        content = self.content_rect()
        vp = self.viewport().rect()
        show = (
            self.show_minimap
            and not content.isEmpty()
            and self._minimap_fits(vp)
            and not self.visible_scene_rect().adjusted(-2, -2, 2, 2).contains(content)
        )
        if show != self.minimap.isVisible():
            if show:  # it appears (zoomed in, say): where it covers no node, if it can
                self._minimap_corner = self._clear_minimap_corner()
                self._place_overlays()
            self.minimap.setVisible(show)

    def _minimap_fits(self, vp: QRect) -> bool:
        """In a small view the minimap would hide the graph."""
        return vp.width() > 2.5 * self.minimap.width() and vp.height() > 2.2 * self.minimap.height()

    def _update_overlays(self) -> None:
        has = bool(self._nodes)
        self.legend_overlay.setVisible(self.show_legend and has and self.legend_overlay.legend is not None)
        self._update_empty_hint(self.busy_text())
        self._update_minimap_visibility()
        self._place_overlays()

    def _place_overlays(self) -> None:
        vp = self.viewport().geometry()  # in the view's coordinates, where the overlays live
        m = 12
        corner, leg = self._legend_corner, self.legend_overlay
        x = vp.left() + m if corner.endswith("left") else vp.right() + 1 - leg.width() - m
        y = vp.top() + m if corner.startswith("top") else vp.bottom() + 1 - leg.height() - m
        leg.move(x, y)
        self.minimap.place(vp, m, self._minimap_corner)
        self.empty_hint.setGeometry(vp.adjusted(40, 40, -40, -40))
        if self.busy.isVisible():
            self.busy.fit(vp.width() - 2 * m)
            self.busy.move(vp.left() + (vp.width() - self.busy.width()) // 2, vp.top() + m)
        if self.notice.isVisible():
            self.notice.move(vp.left() + m, vp.bottom() + 1 - self.notice.height() - m)
        self._place_explanation()

    def _place_explanation(self) -> None:
        """Keep the explanation beside its node as the view moves (under it, or above if no room)."""
        if not self.explanation.isVisible():
            return
        item = self._nodes.get(self._explained or "")
        if item is None:
            self.explanation.hide()
            return
        vp = self.viewport().geometry()
        node = self.mapFromScene(item.sceneBoundingRect()).boundingRect().translated(vp.topLeft())
        w, h = self.explanation.width(), self.explanation.height()
        mid = node.center().y() - h // 2
        spots = [  # beside its node first, then the view's corners: the first hiding fewest nodes
            QPoint(node.left(), node.bottom() + 8),
            QPoint(node.left(), node.top() - h - 8),
            QPoint(node.right() + 8, mid),
            QPoint(node.left() - w - 8, mid),
            QPoint(node.right() + 8, node.top()),
            QPoint(node.left() - w - 8, node.top()),
            vp.topLeft(),
            vp.topRight(),
            vp.bottomLeft(),
            vp.bottomRight(),
        ]

        def clamp(p: QPoint) -> QPoint:
            return QPoint(
                max(vp.left() + 8, min(p.x(), vp.right() - w - 8)),
                max(vp.top() + 8, min(p.y(), vp.bottom() - h - 8)),
            )

        overlays = [o.geometry() for o in (self.legend_overlay, self.minimap) if o.isVisible()]

        def cost(k: int) -> int:  # a node hidden costs more than a bit of legend or a far spot
            box = QRect(clamp(spots[k]), self.explanation.size())
            nodes = sum(isinstance(it, NodeItem) for it in self.items(box.translated(-vp.topLeft())))
            return 2 * nodes + sum(box.intersects(o) for o in overlays) + (k >= 6)

        self.explanation.move(clamp(spots[min(range(len(spots)), key=cost)]))
