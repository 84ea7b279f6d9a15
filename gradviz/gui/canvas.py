"""The graph canvas: the session's computation graph, drawn as the exporters draw it, live.

The picture comes from the graph package: ``build_graph`` makes the model, ``build_scene`` lays
it out and turns it into shapes (the same shapes the PNG, SVG and PDF writers draw), and each
node and edge of that scene becomes one interactive item here. Layout runs on a worker thread;
the old picture stays up until the new one is ready, and a long layout shows progress and can
be cancelled.

Scene coordinates are the layout's own (points), and a new layout starts from the previous one
(``previous=``), so nodes that already existed keep their places and the viewport stays put as
the graph grows.

This module holds the view and its picture's life (build, lay out, apply, busy, theme). Its
parts: the graph sources (``graph/source.py``, Qt-free), the layout task (``canvas_layout``),
the items (``canvas_items``), the overlays (``canvas_overlays``), what nodes say
(``canvas_text``), and the mixins for input, selection, viewport and colours.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import networkx as nx
from PySide6.QtCore import (
    QEvent,
    QPoint,
    QPointF,
    QRectF,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QPainter,
    QPalette,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QGraphicsScene,
    QGraphicsView,
    QWidget,
)

from ..graph import colors
from ..graph.layout import DIRECTIONS, Layout
from ..graph.model import AUTOGRAD, TENSORS
from ..graph.source import SessionSource, StepSource, TensorsSource
from ..graph.style import legend_states
from .bridge import SessionBridge
from .canvas_colours import CanvasColours
from .canvas_folding import CanvasFolding
from .canvas_input import CanvasInput
from .canvas_items import EdgeItem, NodeItem, RefItem
from .canvas_layout import JobMemo, LayoutResult, layout_task
from .canvas_overlays import Bubble, BusyOverlay, EmptyHint, LegendOverlay
from .canvas_selection import CanvasSelection
from .canvas_steps import CanvasSteps
from .canvas_text import explain, html_escape
from .canvas_viewport import LEGEND_CORNERS, LEGIBLE_ZOOM, MAX_ZOOM, MIN_ZOOM, MINIMAP_CORNERS, CanvasViewport
from .minimap import Minimap
from .painting import font_family
from .theme import canvas_look, theme
from .work import WorkerJob

# The canvas's names, wherever they now live (the window, tools and tests import them from here).
__all__ = [
    "LEGIBLE_ZOOM",
    "MAX_ZOOM",
    "MIN_ZOOM",
    "EdgeItem",
    "GraphCanvas",
    "NodeItem",
    "SessionSource",
    "TensorsSource",
]

LAYOUT_TIMEOUT = 30.0  # seconds a layout may take before it is stopped with a message (Netron's way)
BUSY_AFTER_MS = 150  # a canvas behind the model longer than this says so (quick updates don't flicker)
APPLY_SLICE = 0.02  # seconds of item making per turn of the event loop


# --- the view --------------------------------------------------------------------------------------


# The mixins come before QGraphicsView, so their names win over Qt's (QWidget.find, the event
# handlers) as when they were methods of this class.
class GraphCanvas(
    CanvasFolding, CanvasInput, CanvasSelection, CanvasViewport, CanvasColours, CanvasSteps, QGraphicsView
):
    """The computation graph of a session (or of some tensors), interactive and live."""

    selection_changed = Signal(str)  # the selected tensor's session name, '' for none / an op
    node_selected = Signal(str)  # the selected node's id, '' for none
    picture_updated = Signal(int, str)  # node count, layout provider
    busy_changed = Signal(bool, str)  # a long layout started (True, what) or ended (False, '')
    message = Signal(str)  # something worth a line in the status bar
    explained = Signal(str)  # the text of an explanation just shown

    def __init__(
        self, source: SessionSource | TensorsSource | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._scene = QGraphicsScene(self)
        self._scene.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        self.setScene(self._scene)
        self.setRenderHints(
            QPainter.RenderHint.Antialiasing
            | QPainter.RenderHint.TextAntialiasing
            | QPainter.RenderHint.SmoothPixmapTransform
        )
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing, True)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        # Touchscreens (and touchpads that send touches) pinch through Qt's gesture recogniser.
        # On macOS that recogniser would swallow the trackpad's native zoom events, whose
        # positions are exact, and hand on a pinch whose centre is fixed where it began: there
        # the native events zoom (viewportEvent) and no gesture is grabbed.
        if sys.platform != "darwin":
            self.viewport().grabGesture(Qt.GestureType.PinchGesture)
        self.setAccessibleName("Graph canvas")

        self._source: SessionSource | TensorsSource | None = None
        self._bridge: SessionBridge | None = None
        self.view_mode = TENSORS
        self.stat = "norm"
        self.cmap: str | None = None
        self.log_scale = False
        self.auto_scale = True  # not log: linear, or log when the grads span decades
        self.lock_scale = False
        self.pytorch_grads = False  # Show as PyTorch would: hide the grads gradviz kept
        self.locked_range: tuple[str, float, float] | None = None  # set by the first scale locked
        self.scale_changed_from = ""  # the range before the last change, for the legend
        self.elements = True
        self.direction = "TB"  # of the ranks: top to bottom, or left to right ("LR")
        self.show_legend = True
        self.show_minimap = True

        self.graph: nx.DiGraph = nx.DiGraph()
        self.drawn_from: object = None  # the source the picture on screen was built from
        self._init_steps()
        self._init_folding()
        self._fold_shown: dict[str, Any] = {}  # view -> the fold state of the picture on screen
        self.names: dict[str, str] = {}  # node id -> session name
        self.color_scale: colors.ColorScale | None = None
        self.provider = ""
        self.layout_seconds = 0.0
        self._layouts: dict[str, Layout] = {}
        # view -> what its last layout job made of each node and edge (canvas_layout.JobMemo):
        # the next job reuses what did not change. Checked against what it is made from, so it
        # is never stale, only unused.
        self._memos: dict[str, JobMemo] = {}
        self._nodes: dict[str, NodeItem] = {}
        self._edges: dict[tuple[str, str], EdgeItem] = {}
        self._refs: dict[str, RefItem] = {}  # reference badges of shared inputs, by badge id
        self._selected: str | None = None
        self._selected_name = ""
        self._target_output: str | None = None
        self._generation = 0
        self._version = 0
        self._content = QRectF()
        self._index_rect = QRectF()  # the scene's own rect: what its index covers (_prepare_index)
        self._legend_corner = LEGEND_CORNERS[0]  # chosen by fit(): where no node is under it
        self._minimap_corner = MINIMAP_CORNERS[0]  # likewise, and never the legend's
        self._layout_epoch = 0  # results of an earlier epoch are stale: not shown, not kept
        self._held = False  # see hold()
        self._hold_what = ""  # what the session is busy with while held ("Opening big.gradviz…")
        self._hold_cancel: Callable[[], None] | None = None  # stops that work, if it may be stopped
        self._job_what = ""  # what the running layout job does, with the count of its nodes
        self.busy_after_ms = BUSY_AFTER_MS
        self._explained: str | None = None
        self._applying: Iterator[None] | None = None
        self._job: WorkerJob | None = None
        self._jobs: set[WorkerJob] = set()  # running, cancelled or not (kept alive until done)
        self._pending = False
        self._fit_next = True
        self._press: QPointF | None = None
        self._last: QPointF | None = None
        self._dragging = False
        self._pinch_hold: QPointF | None = None  # the scene point a pinch holds under its centre
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)
        self.last_update_ms = 0.0

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.timeout.connect(self._rebuild)
        self._busy_timer = QTimer(self)
        self._busy_timer.setSingleShot(True)
        self._busy_timer.timeout.connect(self._show_busy)
        # A layout that runs past layout_timeout seconds is stopped, with a message: no graph is
        # too big to try, and none keeps a core busy for ever. Lay Out Again has no limit.
        self.layout_timeout: float | None = LAYOUT_TIMEOUT
        self._no_limit_once = False
        self._job_nodes = 0
        self._timeout_timer = QTimer(self)
        self._timeout_timer.setSingleShot(True)
        self._timeout_timer.timeout.connect(self._layout_timed_out)

        # Overlays are children of the view, not of its viewport: scrolling moves a viewport's
        # children along with its pixels, and these stay put in their corners.
        self.legend_overlay = LegendOverlay(self)
        self.minimap = Minimap(self)
        self.explanation = Bubble(self)
        self.notice = Bubble(self)
        self.busy = BusyOverlay(self, self._busy_cancel)
        self.empty_hint = EmptyHint(self)
        self.empty_hint.setText(
            "<div style='font-size:15pt; font-weight:600'>Nothing to draw yet</div>"
            "<p>Create a tensor with <b>New tensor</b> or type in the console:</p>"
            "<p style='font-family:monospace'>x = torch.tensor(3.)</p>"
            "<p>or open one of the examples from <b>File ▸ Examples</b>.</p>"
        )
        font_family()  # load the font on the GUI thread, before any layout thread measures text
        self._theme()
        theme().changed.connect(self._theme)  # presentation mode changes no palette
        self.horizontalScrollBar().valueChanged.connect(self._view_moved)
        self.verticalScrollBar().valueChanged.connect(self._view_moved)
        if source is not None:
            self.set_source(source)
        else:
            self._update_overlays()

    # --- public ---------------------------------------------------------------------------------------
    def set_source(self, source: SessionSource | TensorsSource | None) -> None:
        if self._bridge is not None:
            self._bridge.close()
            self._bridge = None
        self._source = source
        session = getattr(source, "session", None)
        if session is not None:
            self._bridge = SessionBridge(session, self)
            self._bridge.changed.connect(self._on_source_changed)
        self._layouts.clear()
        self._memos.clear()  # (what it holds keeps the old tensors alive)
        self._fit_next = True
        self.refresh()

    def set_view(self, mode: str) -> None:
        if mode not in (TENSORS, AUTOGRAD):
            raise ValueError(f"unknown view {mode!r}")
        if mode != self.view_mode:
            self.view_mode = mode
            self._fit_next = True
            self.explanation.hide()
            self.refresh()

    def set_direction(self, direction: str) -> None:
        """Ranks top to bottom ("TB", inputs at the top) or left to right ("LR"). A change lays
        both views out afresh and fits them."""
        if direction not in DIRECTIONS:
            raise ValueError(f"unknown direction {direction!r}")
        if direction != self.direction:
            self.direction = direction
            self.reset_layouts()

    def reset_layouts(self) -> None:
        """Forget where nodes were (a new document): the next picture is laid out afresh, fitted.
        A layout still running belongs to the old picture: it is thrown away when it ends."""
        self._layout_epoch += 1
        self._layouts.clear()
        self._memos.clear()  # (what it holds keeps the old tensors alive)
        self._fold_layouts.clear()
        self.refresh(fit=True)

    def current_layout(self) -> Layout | None:
        """The layout of the picture on screen (None before the first)."""
        return self._layouts.get(self.view_mode)

    @property
    def layout_direction(self) -> str:
        """The direction of the picture on screen, "TB" or "LR"."""
        lay = self._layouts.get(self.view_mode)
        return lay.direction if lay is not None else "TB"

    def set_legend_visible(self, on: bool) -> None:
        self.show_legend = on
        self._update_overlays()

    def set_minimap_visible(self, on: bool) -> None:
        self.show_minimap = on
        self._update_overlays()

    def refresh(self, *, fit: bool = False) -> None:
        """Rebuild the picture soon (changes arriving together are drawn once)."""
        if fit:
            self._fit_next = True
        if not self._refresh_timer.isActive():
            self._refresh_timer.start(0)
        self._sync_busy()

    def step_to(self, source: StepSource, k: int) -> None:
        """Show step ``k`` of the stepper's ``source``: drawn in place when the picture on screen
        is that source's (only what the step changes is redrawn), else rebuilt."""
        source.k = k
        if not self._move_step(source, k):
            self.refresh()

    def relayout(self) -> None:
        """Lay the graph out afresh, forgetting where nodes were (View ▸ Lay Out Again)."""
        self._layouts.pop(self.view_mode, None)
        self._fold_layouts.clear()
        self._no_limit_once = True  # asked for: take the time it takes
        self.refresh()

    def is_idle(self) -> bool:
        """True when the picture shows the current state (nothing scheduled or laying out)."""
        return (
            self._job is None
            and self._applying is None
            and not self._refresh_timer.isActive()
            and not self._pending
        )

    def node_items(self) -> dict[str, NodeItem]:
        return dict(self._nodes)

    def edge_items(self) -> dict[tuple[str, str], EdgeItem]:
        return dict(self._edges)

    def ref_items(self) -> dict[str, RefItem]:
        """The reference badges of shared inputs on screen, by badge id (``graph/shared.py``)."""
        return dict(self._refs)

    # --- colours and theme -------------------------------------------------------------------------
    @property
    def dark(self) -> bool:
        return self.palette().color(QPalette.ColorRole.Window).lightness() < 128

    def _theme(self) -> None:
        dark = self.dark
        look = canvas_look(dark, theme().presentation)
        self.background = QColor(look.background)
        self.grid_color = QColor(look.grid) if look.grid else None
        self.outline_recolor = look.outline_recolor
        self.line_scale = look.line_scale
        self.legend_scale = look.legend_scale
        self.fit_scale = look.fit_scale
        self.selection_color = self.palette().color(QPalette.ColorRole.Highlight).name()
        if QColor(self.selection_color).saturation() < 60:
            self.selection_color = "#2a7de1"
        self.edge_recolor = look.edge_recolor  # edges are drawn for a white page
        text = self.palette().color(QPalette.ColorRole.WindowText)
        k = 0.55  # between the text colour and the canvas: quiet, still easy to read
        muted = QColor(
            round(text.red() * k + self.background.red() * (1 - k)),
            round(text.green() * k + self.background.green() * (1 - k)),
            round(text.blue() * k + self.background.blue() * (1 - k)),
        )
        self.empty_hint.setStyleSheet(f"color: {muted.name()};")
        for it in (*self._edges.values(), *self._nodes.values()):
            it.update()  # nodes are cached as pixmaps: their outlines change with the look
        if self.legend_overlay.legend is not None:
            self.legend_overlay.set_legend(self.legend_overlay.legend, self._overlay_zoom())
        self.minimap.update()
        self.viewport().update()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (
            QEvent.Type.PaletteChange,
            QEvent.Type.ApplicationPaletteChange,
            QEvent.Type.StyleChange,
        ):
            self._theme()
        super().changeEvent(event)

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, self.background)
        s = self.zoom
        if s < 0.45 or self.grid_color is None:
            return
        step = 24.0
        x0 = math.floor(rect.left() / step) * step
        y0 = math.floor(rect.top() / step) * step
        pts = QPolygonF()
        y = y0
        while y < rect.bottom():
            x = x0
            while x < rect.right():
                pts.append(QPointF(x, y))
                x += step
            y += step
        pen = QPen(self.grid_color, 1.6)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.drawPoints(pts)

    # --- building the picture ------------------------------------------------------------------------
    def hold(self, on: bool, what: str = "", cancel: Callable[[], None] | None = None) -> None:
        """While held, the picture isn't rebuilt (the session is being changed on a worker, doing
        ``what``); changes wait and are drawn together when released. Meanwhile the busy overlay
        says what the canvas waits for, and its Cancel calls ``cancel`` (None: it can't stop)."""
        self._held = on
        self._hold_what, self._hold_cancel = (what, cancel) if on else ("", None)
        if not on and self._pending and self._job is None and self._applying is None:
            self._pending = False
            self.refresh()
        self._sync_busy()

    def _rebuild(self) -> None:
        if self._job is not None or self._applying is not None or self._held:
            self._pending = True  # drawn when the running layout is done
            self._sync_busy()
            return
        self._pending = False
        self._build_started = time.perf_counter()
        self._generation += 1
        result = LayoutResult(
            self._generation, self._version, self.view_mode, epoch=self._layout_epoch, source=self._source
        )
        if self._source is None:
            result.graph = nx.DiGraph(view=self.view_mode, outputs=[])
            result.scale = colors.ColorScale(self.stat, None)
            self._apply(result)
            return
        try:
            build = self._source.snapshot()
        except Exception as e:  # the session is in a state nobody expected: say so, keep running
            self._show_notice(
                f"The graph could not be built: {html_escape(type(e).__name__)}: {html_escape(str(e))}"
            )
            self._sync_busy()
            return
        fold = self.fold_options()
        options = (self.scale_settings(), self.elements, fold, self.fold_repeats)
        previous = self._layouts.get(self.view_mode)
        result.fold_key = (fold.key(), self.fold_repeats)
        if result.fold_key != self._fold_shown.get(self.view_mode, result.fold_key):
            # Folded or unfolded: start from where this state's nodes were, if it was shown.
            previous = self._fold_previous(result.fold_key) or previous
        task = layout_task(
            result,
            build,
            options,
            previous,
            self.devicePixelRatioF(),
            self.direction,
            self._memos.get(self.view_mode),
        )
        job = WorkerJob(task)
        job.signals.progressed.connect(self._job_built, Qt.ConnectionType.QueuedConnection)
        job.signals.finished.connect(self._job_finished, Qt.ConnectionType.QueuedConnection)
        self._job = job
        self._jobs.add(job)
        self._job_what = "Building the graph…"  # its size is known once built (_job_built)
        self._job_nodes = 0
        if self.layout_timeout and not self._no_limit_once:
            self._timeout_timer.start(round(self.layout_timeout * 1000))
        else:
            self._timeout_timer.stop()
        self._no_limit_once = False
        self._pool.start(job)
        self._sync_busy()

    def _on_source_changed(self, *_: Any) -> None:
        self._version += 1
        self.refresh()

    def _job_built(self, job: WorkerJob, _done: int, nodes: int) -> None:
        if job is self._job:
            self._job_nodes = nodes
            self._job_what = f"Laying out {nodes:,} node{'s' if nodes != 1 else ''}…"
            self._sync_busy()

    def _job_finished(self, job: WorkerJob) -> None:
        self._jobs.discard(job)
        if job.cancelled or job is not self._job:
            return
        self._job = None
        self._timeout_timer.stop()
        result: LayoutResult = job.result
        if result.memo is not None and result.epoch == self._layout_epoch:
            self._memos[result.view] = result.memo
        if result.epoch != self._layout_epoch:
            self._pending = True  # laid out for what was there before a fresh start: lay out again
        elif result.error and result.version != self._version:
            self._pending = True  # the session changed under the build: just build again
        elif result.error:
            first = result.error.splitlines()[0]
            self._show_notice(
                "<b>The graph could not be drawn.</b><br>Your session is fine and gradviz keeps "
                f"running; this is a bug in gradviz. Details: {html_escape(first)}"
            )
            self.message.emit("Drawing the graph failed: " + first)
        elif self._pending and result.version != self._version and not result.error:
            # The session changed while this was laid out: drawing it would only delay the
            # current picture. Its places are kept, so the next layout starts from them.
            if result.layout is not None:
                self._layouts[result.view] = result.layout
        else:
            if result.warning:
                self.cmap = None
                self.message.emit(result.warning)
            self._apply(result)
        if self._pending and self._applying is None:
            self._pending = False
            self.refresh()
        self._sync_busy()

    def _layout_timed_out(self) -> None:
        """The running layout took longer than ``layout_timeout``: stop it and say so."""
        if self._job is None:
            return
        self._job.cancel()  # its loops stop at their next checkpoint; the thread is freed
        self._job = None
        self._pending = False
        self._sync_busy()
        what = f"{self._job_nodes:,} nodes" if self._job_nodes else "the graph"
        self._show_notice(
            f"<b>Laying out {what} took longer than {self.layout_timeout:g} s, so it was stopped.</b> "
            "The picture may be out of date. <b>View ▸ Lay out again</b> tries once more with no time "
            "limit."
        )
        self.message.emit(f"Layout took longer than {self.layout_timeout:g} s; stopped")

    def cancel_layout(self) -> None:
        """Stop waiting for the running layout; the canvas keeps its last picture."""
        if self._job is None:
            return
        self._timeout_timer.stop()
        self._job.cancel()
        self._job = None
        self._pending = False
        self._sync_busy()
        self._show_notice(
            "Layout cancelled: the picture may be out of date. It is drawn again at the next change, "
            "or with <b>View ▸ Lay out again</b>."
        )
        self.message.emit("Layout cancelled")

    def wait_for_workers(self, msecs: int) -> None:
        """Block until the layout threads are done (before the canvas goes away)."""
        self._pool.waitForDone(msecs)

    def wait_until_idle(self, timeout: float = 30.0) -> bool:
        """Process events until the picture is up to date (for scripts and screenshots)."""
        app = QApplication.instance()
        end = time.monotonic() + timeout
        while not self.is_idle():
            if time.monotonic() > end:
                return False
            app.processEvents()
            time.sleep(0.002)
        return True

    def busy_text(self) -> str:
        """What the canvas is waiting for, '' when the picture shows the model as it is. A
        canvas that is behind never looks current: it shows this over the old picture (or over
        the empty canvas, instead of the hint that there is nothing to draw)."""
        if self._held and (self._pending or self._refresh_timer.isActive() or not self._nodes):
            return f"{self._hold_what} The graph is drawn when it is done." if self._hold_what else ""
        if self._applying is not None:
            return f"Drawing {len(self.graph):,} node{'s' if len(self.graph) != 1 else ''}…"
        if self._job is not None:
            return self._job_what
        return "" if self.is_idle() else "Updating the graph…"

    def _busy_cancel(self) -> None:
        if self._held and self._hold_cancel is not None:
            self._hold_cancel()
        else:
            self.cancel_layout()

    def _sync_busy(self) -> None:
        """Show, update or hide the busy overlay (and the empty hint) for the canvas's state now."""
        what = self.busy_text()
        self._update_empty_hint(what)
        if not what:
            self._busy_timer.stop()
            if self.busy.isVisible():
                self.busy.hide()
                self.busy_changed.emit(False, "")
        elif self.busy.isVisible():
            self._show_busy()
        elif not self._busy_timer.isActive():
            if self.busy_after_ms <= 0:
                self._show_busy()
            else:
                self._busy_timer.start(self.busy_after_ms)

    def _show_busy(self) -> None:
        what = self.busy_text()
        if not what:
            return
        can_cancel = self._hold_cancel is not None if self._held else self._job is not None
        changed = not self.busy.isVisible() or self.busy.label.text() != what
        tip = (
            "Stop this work; nothing is changed"
            if self._held
            else "Stop laying out; the graph keeps its last picture"
        )
        self.busy.set_state(what, can_cancel, tip)
        if not self.busy.isVisible():
            self.busy.show()
            self.busy.raise_()
        self._place_overlays()
        if changed:
            self.busy_changed.emit(True, what)

    def _update_empty_hint(self, busy: str) -> None:
        self.empty_hint.setVisible(not self._nodes and self._source is not None and not busy)

    def _show_notice(self, html: str) -> None:
        self.notice.show_text(html, 420)
        self._place_overlays()

    def _apply(self, r: LayoutResult) -> None:
        """Put a finished layout on screen. Items are made a slice at a time (the window stays
        responsive while a big graph appears); nodes that stay keep their items."""
        if r.scale is not None:
            self._scale_change(r.scale)
        self._applying = self._apply_steps(r)
        self._continue_apply()

    def _continue_apply(self) -> None:
        steps = self._applying
        if steps is None:
            return
        deadline = time.perf_counter() + APPLY_SLICE
        try:
            while time.perf_counter() < deadline:
                next(steps)
        except StopIteration:
            self._applying = None
            self.viewport().setUpdatesEnabled(True)  # and painted whole, once
            if self._pending:
                self._pending = False
                self.refresh()
            self._sync_busy()
            return
        except BaseException:
            self._applying = None
            self.viewport().setUpdatesEnabled(True)  # never left blind by a bug
            raise
        # A picture too big for one slice is not painted half made after every slice: each
        # paint re-indexes the items added since the last and doubled the GUI thread's pauses.
        self.viewport().setUpdatesEnabled(False)
        QTimer.singleShot(0, self._continue_apply)

    def _apply_steps(self, r: LayoutResult) -> Iterator[None]:
        g = r.graph
        self.notice.hide()
        was_empty = not self._nodes
        corner = self.mapToScene(QPoint(0, 0))
        old_nodes = set(self._nodes)
        old_graph = self.graph
        changed: set[str] = set()  # nodes that stay but say something else now
        self.graph, self.names, self.color_scale = g, r.names, r.scale
        self.drawn_from = r.source
        self._content = QRectF(r.content)
        self.provider = r.provider
        self.layout_seconds = r.seconds
        current = r.epoch == self._layout_epoch  # else a fresh start came while this was applied
        if r.layout is not None and current:
            self._layouts[r.view] = r.layout
            self._keep_fold_layout(r.view, r.fold_key, r.layout)
        self.runs[r.view] = r.runs
        self.modules[r.view] = r.modules
        self._fold_shown[r.view] = r.fold_key

        self._prepare_index(r)
        for k, (n, (ops, x, y, w, h, tip)) in enumerate(r.nodes.items()):
            item = self._nodes.get(n)
            if item is None:
                item = NodeItem(self, n)
                self._nodes[n] = item
                self._scene.addItem(item)
            elif item.tip != tip:
                changed.add(n)
            item.set_content(ops, w, h, g.nodes[n], r.names.get(n, ""), tip)
            item.setPos(x, y)
            if k % 100 == 99:
                self._index_now()
                yield
        for n in old_nodes - set(r.nodes):
            self._scene.removeItem(self._nodes.pop(n))
            if n in old_graph:  # where it was joined on is where the change shows
                changed.update(m for m in nx.all_neighbors(old_graph, n) if m in r.nodes)
        for k, (key, (ops, rect)) in enumerate(r.edges.items()):
            item = self._edges.get(key)
            if item is None:
                item = EdgeItem(self, key)
                self._edges[key] = item
                self._scene.addItem(item)
            item.set_content(ops, rect)
            item.shapes = r.edge_shapes.get(key)
            if k % 100 == 99:
                self._index_now()
                yield
        for key in set(self._edges) - set(r.edges):
            self._scene.removeItem(self._edges.pop(key))
        yield from self._apply_refs(r.refs, g, r.names)
        yield  # what follows touches every item: a slice of its own
        self._index_now()
        yield

        # The selection follows the tensor by name (an undo may have changed the node).
        # By name first: after y = y * 2 the name is on the new node, the old one is hidden.
        sel = self.node_id(self._selected_name) if self._selected_name else None
        if sel not in self._nodes:
            sel = self._selected if self._selected in self._nodes else None
        if self._target_output not in self._nodes:
            self._target_output = None
        self._selected = None
        for it in self._nodes.values():
            it.set_selected(False)
        self._set_selected(sel, emit=False, remember=False)
        yield

        legend = r.scale.legend(legend_states(g, self.elements)) if g.number_of_nodes() else None
        if legend is not None and self.scale_changed_from:
            legend.notes.append(f"scale changed: was {self.scale_changed_from}")
        self.legend_overlay.set_legend(legend, self._overlay_zoom(legend))
        new_nodes = set(self._nodes) - old_nodes
        self.minimap.set_overview(r.overview)  # before a fit, which keeps room for it
        if (self._fit_next and current) or was_empty:
            self._fit_next = False
            self.fit()
        else:
            self._update_scene_rect()
            drift = self.mapFromScene(corner)  # scroll back so that the scene stays put on screen
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + drift.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() + drift.y())
            self._keep_in_view(new_nodes, changed)
            self._legend_corner = self._clear_legend_corner()
            self._minimap_corner = self._clear_minimap_corner()
        self._update_overlays()
        self.last_update_ms = (
            time.perf_counter() - getattr(self, "_build_started", time.perf_counter())
        ) * 1000
        self.picture_updated.emit(len(self._nodes), self.provider)

    def _index_now(self) -> None:
        """File the items added since the last call in the scene's index (any query does), a
        hundred at a time as they are made rather than a picture's worth in one go."""
        self._scene.items(QRectF(0, 0, 0.01, 0.01))

    def _prepare_index(self, r: LayoutResult) -> None:
        """Give the scene's index room for the picture about to be made, so that items filed a
        slice at a time stay filed. Left to itself, Qt's BSP index is rebuilt whole whenever the
        items outgrow its area (the scene rect grows with them) or its depth (the log of the
        number of items) grows: 50 ms and more at a time for 10,000 nodes."""
        count = len(r.nodes) + len(r.edges) + len(r.refs)
        depth = max(5, math.ceil(math.log2(count))) if count else 0  # as Qt would choose
        if depth and depth > self._scene.bspTreeDepth():
            self._scene.setBspTreeDepth(depth)
        want = QRectF(r.content).adjusted(-50, -50, 50, 50)
        if want.isEmpty() or self._index_rect.contains(want):
            return
        # Room to grow by half on every side: a session growing an op at a time refiles
        # everything now and then, not at every op.
        dx, dy = want.width() / 2, want.height() / 2
        self._index_rect = want.adjusted(-dx, -dy, dx, dy).united(self._index_rect)
        self._scene.setSceneRect(self._index_rect)

    def _apply_refs(
        self, refs: dict[str, tuple], g: nx.DiGraph, names: dict[str, str], stale: bool = True
    ) -> Iterator[None]:
        """Make, update and (if ``stale``) remove reference badges to match ``refs``, a hundred
        at a time between yields."""
        for k, (b, (ops, x, y, w, h, target, tip)) in enumerate(refs.items()):
            if k % 100 == 99:
                yield
            item = self._refs.get(b)
            if item is None or item.nid != target:
                if item is not None:
                    self._scene.removeItem(item)
                item = RefItem(self, b, target)
                self._refs[b] = item
                self._scene.addItem(item)
            item.set_content(ops, w, h, g.nodes[target], names.get(target, ""), tip)
            item.setPos(x, y)
        if stale:
            for b in set(self._refs) - set(refs):
                self._scene.removeItem(self._refs.pop(b))

    def _keep_in_view(self, new: set[str], changed: set[str]) -> None:
        """After an edit, undo or redo, show what changed, scrolling as little as possible: new
        nodes whole, with a margin; changed ones only if none of them is in view (a backward
        changes every gradient, and one seen is enough). Never left over blank canvas."""
        vis = self.visible_scene_rect()
        seen = [n for n in changed if vis.intersects(self._nodes[n].sceneBoundingRect())]
        show = new or (set() if seen else changed)
        if show:
            rects = {n: self._nodes[n].sceneBoundingRect() for n in show}
            whole = QRectF()
            for rect in rects.values():
                whole = whole.united(rect)
            margin = 40
            if whole.width() * self.zoom + 2 * margin > self.viewport().width() or (
                whole.height() * self.zoom + 2 * margin > self.viewport().height()
            ):  # too big to show whole: the selected one (just made), else the last laid out
                focus = self._selected if self._selected in rects else max(rects, key=_node_order)
                whole = rects[focus]
            self.ensureVisible(whole, margin, margin)
        content = self.content_rect()
        if not content.isEmpty() and not self.visible_scene_rect().intersects(content):
            self.centerOn(content.center())

    # --- explanations --------------------------------------------------------------------------------
    def explain(self, nid: str) -> str:
        """What double-clicking node ``nid`` explains (HTML); '' for a tensor node."""
        return explain(self.graph, self.names, nid)

    def show_explanation(self, nid: str) -> str:
        text = self.explain(nid)
        if not text:
            return ""
        self._explained = nid
        self.explanation.show_text(text, 400)
        self._place_explanation()
        self.explained.emit(text)
        return text

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        legend = self.legend_overlay.legend
        if legend is not None and self._overlay_zoom() != self.legend_overlay.zoom:
            self.legend_overlay.set_legend(legend, self._overlay_zoom())
        self._update_scene_rect()
        self._update_overlays()

    def _view_moved(self, *_: Any) -> None:
        self.minimap.update()
        self._place_explanation()
        self._update_minimap_visibility()


def _node_order(nid: str) -> tuple[int, str]:
    """Later tensors have larger uids: ``t:12`` after ``t:3``."""
    _, _, uid = nid.partition(":")
    head = uid.split(".", 1)[0].split("<", 1)[0]
    return (int(head) if head.isdigit() else -1, nid)
