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
from .canvas_text import operand_titles, tooltip_for
from .minimap import render_overview
from .painting import compile_items

if TYPE_CHECKING:
    from .canvas import GraphCanvas

OVERVIEW_DELAY_MS = 250  # the minimap is redrawn this long after the last step


class StepPainter:
    """Moves the canvas's picture from step to step of one :class:`StepSource`."""

    def __init__(self, canvas: GraphCanvas) -> None:
        self.canvas = canvas
        self._overview = QTimer(canvas)
        self._overview.setSingleShot(True)
        self._overview.setInterval(OVERVIEW_DELAY_MS)
        self._overview.timeout.connect(self._redraw_overview)

    def can_move(self, source: object) -> bool:
        """Whether the picture on screen is ``source``'s, idle and laid out, so that a step can
        be drawn in place; else the canvas rebuilds as for any change."""
        c = self.canvas
        g = c.graph
        return (
            isinstance(source, StepSource)
            and source is c._source
            and c.drawn_from is source
            and g is not None
            and g.graph.get("view") == c.view_mode
            and ("step_marks" in g.graph or "forward_marks" in g.graph)
            and c.is_idle()
            and c._layouts.get(c.view_mode) is not None
            and c.color_scale is not None
        )

    def move(self, source: StepSource, k: int) -> bool:
        """Draw step ``k`` of ``source`` in place; False when it can't be (then rebuild)."""
        if not self.can_move(source):
            return False
        c = self.canvas
        g = c.graph
        change = source.plan.move(g, k)
        sizes = {
            n: (c._nodes[n]._rect.width(), c._nodes[n]._rect.height()) for n in change.nodes if n in c._nodes
        }
        scene = restyle(
            g,
            c._layouts[c.view_mode],
            change.nodes,
            change.edges,
            scale=c.color_scale,
            elements=c.elements,
            sizes=sizes,
        )
        for n, (x, y, w, h) in scene.boxes.items():
            item = c._nodes.get(n)
            if item is None:
                continue
            s0, s1 = scene.spans[n]
            ops = compile_items(scene.items[s0:s1], -x, -y)
            tip = tooltip_for(g.nodes[n], operand_titles(g, n, c.names))
            item.set_content(ops, w, h, g.nodes[n], c.names.get(n, ""), tip)
            item.setPos(x, y)
        for key in scene.spans:
            item = c._edges.get(key) if isinstance(key, tuple) and len(key) == 2 else None
            if item is None:
                continue
            shapes = edge_shapes(scene, key)
            if shapes == item.shapes:
                continue  # a hub's edge, where the hub grew: most end where they did
            ops = compile_items(shapes, 0.0, 0.0)
            item.set_content(ops, edge_bounds(ops))
            item.shapes = shapes
        legend = c.color_scale.legend(legend_states(g, c.elements))
        if c.scale_changed_from:
            legend.notes.append(f"scale changed: was {c.scale_changed_from}")
        if legend != c.legend_overlay.legend:  # a state seen for the first time, or gone
            c.legend_overlay.set_legend(legend, c._overlay_zoom(legend))
        self._overview.start()
        c.picture_updated.emit(len(c._nodes), c.provider)
        return True

    def _redraw_overview(self) -> None:
        c = self.canvas
        nodes = {
            n: (it._ops, it.x(), it.y(), it._rect.width(), it._rect.height()) for n, it in c._nodes.items()
        }
        edges = {k: (it._ops, it.boundingRect()) for k, it in c._edges.items()}
        c.minimap.set_overview(render_overview(nodes, edges, c.devicePixelRatioF()))
