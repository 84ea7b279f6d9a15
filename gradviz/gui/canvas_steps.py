"""A step of the stepper drawn in place: the graph on screen is moved to the next step
(``plan.move``) and only the nodes and edges that changed are redrawn, on the GUI thread, where
they stand. A step of a 1,000-node backward then takes milliseconds, not a rebuild and a layout.
The minimap, which pictures every node, follows once the steps pause."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer

from ..graph.scene import edge_shapes, restyle
from ..graph.source import StepSource
from ..graph.style import legend_states
from .canvas_items import edge_bounds
from .canvas_layout import ref_ops
from .canvas_text import operand_titles, tooltip_for
from .minimap import render_overview
from .painting import compile_items

if TYPE_CHECKING:
    from .canvas import GraphCanvas

OVERVIEW_DELAY_MS = 250  # the minimap is redrawn this long after the last step


class CanvasSteps:
    """The canvas's part that moves its picture from step to step of one :class:`StepSource`
    (a mixin of :class:`~gradviz.gui.canvas.GraphCanvas`)."""

    def _init_steps(self: GraphCanvas) -> None:
        self._overview_timer = QTimer(self)
        self._overview_timer.setSingleShot(True)
        self._overview_timer.setInterval(OVERVIEW_DELAY_MS)
        self._overview_timer.timeout.connect(self._redraw_overview)

    def can_move_step(self: GraphCanvas, source: object) -> bool:
        """Whether the picture on screen is ``source``'s, idle and laid out, so that a step can
        be drawn in place; else the canvas rebuilds as for any change."""
        g = self.graph
        return (
            isinstance(source, StepSource)
            and source is self._source
            and self.drawn_from is source
            and g is not None
            and g.graph.get("view") == self.view_mode
            and ("step_marks" in g.graph or "forward_marks" in g.graph)
            and self.is_idle()
            and self._layouts.get(self.view_mode) is not None
            and self.color_scale is not None
        )

    def _move_step(self: GraphCanvas, source: StepSource, k: int) -> bool:
        """Draw step ``k`` of ``source`` in place; False when it can't be (then rebuild)."""
        if not self.can_move_step(source):
            return False
        g = self.graph
        change = source.plan.move(g, k)
        sizes = {n: self._nodes[n].size() for n in change.nodes if n in self._nodes}
        scene = restyle(
            g,
            self._layouts[self.view_mode],
            change.nodes,
            change.edges,
            scale=self.color_scale,
            elements=self.elements,
            sizes=sizes,
        )
        for n, (x, y, w, h) in scene.boxes.items():
            item = self._nodes.get(n)
            if item is None:
                continue
            s0, s1 = scene.spans[n]
            ops = compile_items(scene.items[s0:s1], -x, -y)
            tip = tooltip_for(g.nodes[n], operand_titles(g, n, self.names))
            item.set_content(ops, w, h, g.nodes[n], self.names.get(n, ""), tip)
            item.setPos(x, y)
        for key in scene.spans:
            item = self._edges.get(key) if isinstance(key, tuple) and len(key) == 2 else None
            if item is None:
                continue
            shapes = edge_shapes(scene, key)
            if shapes == item.shapes:
                continue  # a hub's edge, where the hub grew: most end where they did
            ops = compile_items(shapes, 0.0, 0.0)
            item.set_content(ops, edge_bounds(ops))
            item.shapes = shapes
        for _ in self._apply_refs(ref_ops(g, scene, self.names), g, self.names, stale=False):
            pass
        legend = self.color_scale.legend(legend_states(g, self.elements))
        if self.scale_changed_from:
            legend.notes.append(f"scale changed: was {self.scale_changed_from}")
        if legend != self.legend_overlay.legend:  # a state seen for the first time, or gone
            self.legend_overlay.set_legend(legend, self._overlay_zoom(legend))
        self._overview_timer.start()
        self.picture_updated.emit(len(self._nodes), self.provider)
        return True

    def _redraw_overview(self: GraphCanvas) -> None:
        nodes = {n: (it.ops, it.x(), it.y(), *it.size()) for n, it in self._nodes.items()}
        edges = {k: (it.ops, it.boundingRect()) for k, it in self._edges.items()}
        self.minimap.set_overview(render_overview(nodes, edges, self.devicePixelRatioF()))
