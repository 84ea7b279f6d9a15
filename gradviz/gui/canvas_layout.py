"""The canvas's layout job: build the graph, lay it out and turn it into paint operations, off
the GUI thread (as a :class:`~gradviz.gui.work.WorkerJob`'s task).

Only value types are made here (paths, pens, an image); the GUI thread then just creates or
updates the items, so it never waits for a layout.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import networkx as nx
from PySide6.QtCore import QRectF

from ..graph import colors
from ..graph.checkpoint import checkpoint
from ..graph.colouring import scale_for
from ..graph.layout import Layout
from ..graph.layout import layout as run_layout
from ..graph.model import TENSORS
from ..graph.scene import build_scene, edge_shapes
from ..graph.shared import ref_target
from ..graph.source import Builder
from ..graph.style import as_pytorch
from .canvas_items import edge_bounds
from .canvas_text import operand_titles, tooltip_for
from .minimap import render_overview
from .painting import Op, compile_items
from .work import Progress, WorkCancelledError


@dataclass
class LayoutResult:
    """What one layout job hands the canvas: the model, its colours, and the items as paint ops."""

    generation: int
    version: int  # the canvas's count of source changes when the snapshot was taken
    view: str
    graph: nx.DiGraph | None = None
    names: dict[str, str] = field(default_factory=dict)
    scale: colors.ColorScale | None = None
    layout: Layout | None = None
    provider: str = ""
    # node id -> (paint ops in the node's own coordinates, x, y, width, height, tooltip)
    nodes: dict[str, tuple[list[Op], float, float, float, float, str]] = field(default_factory=dict)
    edges: dict[tuple[str, str], tuple[list[Op], QRectF]] = field(default_factory=dict)  # ops, bounds
    edge_shapes: dict[tuple[str, str], list[Any]] = field(default_factory=dict)  # what compiled to the ops
    # reference badge id -> (paint ops in its own coordinates, x, y, width, height, the node it
    # stands for and selects, that node's tooltip)
    refs: dict[str, tuple[list[Op], float, float, float, float, str, str]] = field(default_factory=dict)
    overview: Any = None  # the minimap's picture, drawn off the GUI thread
    content: QRectF = field(default_factory=QRectF)  # what the nodes and edges cover
    seconds: float = 0.0
    warning: str = ""
    error: str = ""
    epoch: int = 0  # the canvas's count of fresh starts (reset_layouts) when it was asked for
    source: Any = None  # what it was built from


def layout_task(
    result: LayoutResult,
    build: Builder,
    options: tuple,
    previous: Layout | None,
    dpr: float,
    direction: str = "TB",
) -> Callable[[Progress], LayoutResult]:
    """The task for a WorkerJob that fills ``result``. Its first progress report gives the number
    of nodes about to be laid out; an error is kept in ``result.error``, not raised."""

    def run(progress: Progress) -> LayoutResult:
        t0 = time.perf_counter()
        try:
            _lay_out(result, build, options, previous, dpr, direction, progress)
        except WorkCancelledError:
            raise
        except Exception as e:  # a bug must not take the window down: say so and keep going
            result.error = f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=8)}"
        result.seconds = time.perf_counter() - t0
        return result

    return run


def _lay_out(
    r: LayoutResult,
    build: Builder,
    options: tuple,
    previous: Layout | None,
    dpr: float,
    direction: str,
    progress: Progress,
) -> None:
    settings, elements = options
    g, names = build(r.view)
    # One scale for both views: fitted on every tensor, which only the Tensors view draws.
    every = g if r.view == TENSORS else build(TENSORS)[0]
    if settings.pytorch and every is not g:
        as_pytorch(g)
    try:
        cs = scale_for(every, settings)
    except Exception as e:  # an unknown colour map name, say
        r.warning = f"Colour map {settings.cmap!r} is not available ({e}); using the default"
        cs = scale_for(every, replace(settings, cmap=None))
    r.graph, r.names, r.scale = g, names, cs
    if g.number_of_nodes() == 0:
        return
    progress(0, g.number_of_nodes())  # the canvas says how many; raises once cancelled
    captured: dict[str, Layout] = {}

    def lay(sized: nx.DiGraph) -> Layout:
        # A step of the stepper changes what nodes say, never which nodes and edges there are:
        # the layout on screen stays (nothing moves between steps, and no time goes on it).
        if (
            g.graph.get("step") is not None
            and previous is not None
            and set(previous.positions) == set(sized.nodes)
            and set(previous.edges) == set(sized.edges)
        ):
            captured["layout"] = previous
            return previous
        out = run_layout(sized, previous=previous, direction=direction)
        captured["layout"] = out
        return out

    scene = build_scene(g, scale=cs, legend=False, elements=elements, layout=lay, in_layout_coordinates=True)
    lay_out = captured.get("layout")
    r.layout, r.provider = lay_out, scene.provider or (lay_out.provider if lay_out else "")
    for k, (n, (x, y, w, h)) in enumerate(scene.boxes.items()):
        if k % 1024 == 0:
            checkpoint()
        s0, s1 = scene.spans.get(n, (0, 0))
        ops = compile_items(scene.items[s0:s1], -x, -y)
        r.nodes[n] = (ops, x, y, w, h, tooltip_for(g.nodes[n], operand_titles(g, n, names)))
    r.refs = ref_ops(g, scene, names)
    for key in scene.spans:
        if isinstance(key, tuple) and len(key) == 2:
            items = edge_shapes(scene, key)
            ops = compile_items(items, 0.0, 0.0)
            r.edges[key] = (ops, edge_bounds(ops))
            r.edge_shapes[key] = items
    content = QRectF()
    for _ops, x, y, w, h, _tip in r.nodes.values():
        content = content.united(QRectF(x - 6, y - 6, w + 12, h + 12))
    for _ops, rect in r.edges.values():
        content = content.united(rect)
    for _ops, x, y, w, h, _of, _tip in r.refs.values():
        content = content.united(QRectF(x, y, w, h))
    r.content = content
    r.overview = render_overview(r.nodes, r.edges, dpr)


def ref_ops(
    g: nx.DiGraph, scene: Any, names: dict[str, str]
) -> dict[str, tuple[list[Op], float, float, float, float, str, str]]:
    """The scene's reference badges as paint ops, each with the node it selects and its tooltip."""
    out = {}
    for b, (of, (x, y, w, h)) in scene.refs.items():
        s0, s1 = scene.spans[b]
        target = ref_target(g, of)
        tip = tooltip_for(g.nodes[target], operand_titles(g, target, names))
        out[b] = (compile_items(scene.items[s0:s1], -x, -y), x, y, w, h, target, tip)
    return out
