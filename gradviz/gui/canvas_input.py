"""The canvas's input: click to select, drag to pan, double-click to explain (or Fit), the
wheel, pinch and native zoom gestures, and its keys. A mixin of
:class:`~gradviz.gui.canvas.GraphCanvas`, listed before ``QGraphicsView`` so that its event
handlers override the view's (and ``super()`` reaches the view's own).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QGestureEvent, QPinchGesture

from .canvas_items import NodeItem


class CanvasInput:
    """Mouse, keys and gestures for a :class:`GraphCanvas` (mixed into it)."""

    _press: Any
    _last: Any
    _dragging: bool
    _pinch_hold: Any

    # --- mouse, keys, gestures ----------------------------------------------------------------------
    def node_at(self, pos: QPoint | QPointF) -> NodeItem | None:
        p = pos.toPoint() if isinstance(pos, QPointF) else pos
        for it in self.items(p):
            if isinstance(it, NodeItem):
                return it
        return None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position()
            self._last = event.position()
            self._dragging = False
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._press is not None and event.buttons() & Qt.MouseButton.LeftButton:
            pos = event.position()
            if (
                not self._dragging
                and (pos - self._press).manhattanLength() >= QApplication.startDragDistance()
            ):
                self._dragging = True
                self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            if self._dragging:
                d = pos - self._last
                self._last = pos
                self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - round(d.x()))
                self.verticalScrollBar().setValue(self.verticalScrollBar().value() - round(d.y()))
                event.accept()
                return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._press is not None:
            if self._dragging:
                self.viewport().unsetCursor()
                self._update_scene_rect()
            else:
                item = self.node_at(event.position())
                self.setFocus(Qt.FocusReason.MouseFocusReason)
                self._set_selected(item.nid if item else None, emit=True)
                if item is None:
                    self.explanation.hide()
            self._press = None
            self._dragging = False
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        item = self.node_at(event.position())
        if item is None:
            self.fit()
        elif item.kind == "repeat":  # a folded loop: show its repetitions
            self.expand_group(item.nid)
        elif item.kind == "module":  # a collapsed module: show what it did
            self.expand_module(item.nid)
        elif item.kind in ("op", "backward", "accumulate"):
            self.show_explanation(item.nid)
        event.accept()

    def wheelEvent(self, event: QWheelEvent) -> None:
        dy = event.angleDelta().y()
        if dy == 0:
            dy = event.pixelDelta().y()
        if dy == 0:
            super().wheelEvent(event)
            return
        self.zoom_by(1.0015**dy, event.position())
        event.accept()

    def viewportEvent(self, event: QEvent) -> bool:
        et = event.type()
        if et == QEvent.Type.Gesture and self._pinch(event):
            return True
        if et == QEvent.Type.NativeGesture and event.gestureType() == Qt.NativeGestureType.ZoomNativeGesture:
            self.zoom_by(1.0 + event.value(), event.position())
            event.accept()
            return True
        handled = super().viewportEvent(event)
        if et == QEvent.Type.Resize:  # the overlays hang on the viewport's corners
            self._place_overlays()
            self._update_minimap_visibility()
        return handled

    def _pinch(self, event: QGestureEvent) -> bool:
        """Zoom by a pinch gesture's step, about its centre; False if the event holds no pinch.

        ``scaleFactor`` is the change since the previous update and ``centerPoint`` is on the
        screen. The scene point under the centre when the pinch starts stays under the centre
        as the fingers move. A finished or cancelled pinch still carries its last step's
        factor: applying it again would overshoot, so those only end the gesture. On a
        touchscreen the first finger also arrives as a mouse press: a pinch ends the drag that
        began, or the view would pan with that one finger too."""
        pinch = event.gesture(Qt.GestureType.PinchGesture)
        if not isinstance(pinch, QPinchGesture):
            return False
        event.accept(pinch)
        if self._dragging:
            self.viewport().unsetCursor()
        self._press = None
        self._dragging = False
        state = pinch.state()
        if state in (Qt.GestureState.GestureFinished, Qt.GestureState.GestureCanceled):
            self._pinch_hold = None
            return True
        centre = self.viewport().mapFromGlobal(pinch.centerPoint())
        if state != Qt.GestureState.GestureUpdated or self._pinch_hold is None:
            self._pinch_hold = self.mapToScene(centre.toPoint())
        factor = pinch.scaleFactor()
        if not (pinch.changeFlags() & QPinchGesture.ChangeFlag.ScaleFactorChanged and factor > 0):
            factor = 1.0
        self.zoom_by(factor, centre, hold=self._pinch_hold)
        return True

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.explanation.hide()
            self.notice.hide()
            self.clear_selection()
            return
        if event.key() in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_in()
            return
        if event.key() == Qt.Key.Key_Minus:
            self.zoom_out()
            return
        super().keyPressEvent(event)
