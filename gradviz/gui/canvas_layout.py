"""The canvas's layout job: build the graph, lay it out and turn it into paint operations, off
the GUI thread (as a :class:`~gradviz.gui.work.WorkerJob`'s task).

Only value types are made here (paths, pens, an image); the GUI thread then just creates or
updates the items, so it never waits for a layout.
"""

from __future__ import annotations

import logging
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
from ..graph.folding import FOLD_MIN_NODES, fold, module_groups, op_grad_norms
from ..graph.incremental import extend
from ..graph.layout import Layout
from ..graph.layout import layout as run_layout
from ..graph.model import TENSORS
from ..graph.repeats import find_repeats
from ..graph.scene import SceneMemo, build_scene, edge_shapes
from ..graph.shared import ref_target
from ..graph.source import Builder
from ..graph.style import as_pytorch, look
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
    runs: list[Any] = field(default_factory=list)  # the runs of repetitions found (repeats.Run)
    modules: list[Any] = field(default_factory=list)  # the module calls (folding.ModuleGroup)
    fold_key: Any = None  # the fold state it was folded with (FoldState.key()), None: not folded
    memo: JobMemo | None = None  # what it made of each node and edge, for the view's next job


@dataclass
class JobMemo:
    """What one layout job made of each node and edge, so that the next job of the same view
    makes only what changed (one op more on a big graph changes a few nodes): the scene's shapes
    (scene.SceneMemo), and from them each node's and edge's paint operations and each node's
    tooltip. A job reads the previous job's memo and writes a new one, so a job still running
    when the next starts (cancelled, say) never sees its memo change."""

    scene: SceneMemo = field(default_factory=SceneMemo)
    ops: dict[str, tuple[list[Any], list[Op]]] = field(default_factory=dict)  # node -> shapes, ops
    # edge -> (its line's shapes, its label, every shape of it, (paint ops, bounds), bounds as numbers)
    edges: dict[tuple[str, str], tuple[list[Any], Any, list[Any], tuple[list[Op], QRectF], Any]] = field(
        default_factory=dict
    )
    # node -> (for an op, what its operands are called, else None; its tooltip)
    tips: dict[str, tuple[tuple | None, str]] = field(default_factory=dict)
    # node -> (its attributes, the colour scale's key, (its look, _look_key))
    attrs: dict[str, tuple[dict[str, Any], tuple, tuple[Any, tuple]]] = field(default_factory=dict)


def layout_task(
    result: LayoutResult,
    build: Builder,
    options: tuple,
    previous: Layout | None,
    dpr: float,
    direction: str = "TB",
    memo: JobMemo | None = None,
) -> Callable[[Progress], LayoutResult]:
    """The task for a WorkerJob that fills ``result``. Its first progress report gives the number
    of nodes about to be laid out; an error is kept in ``result.error``, not raised. ``memo``:
    the view's last job's (``result.memo``), whose unchanged parts are reused."""

    def run(progress: Progress) -> LayoutResult:
        t0 = time.perf_counter()
        try:
            _lay_out(result, build, options, previous, dpr, direction, progress, memo)
        except WorkCancelledError:
            raise
        except Exception as e:  # a bug must not take the window down: say so and keep going
            result.error = f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=8)}"
        result.seconds = time.perf_counter() - t0
        return result

    return run


# What one node paints, by what it looks like and its size: one more op on a big graph leaves
# almost every node as it was, and compiling their paint operations again was a third of the
# job. Shared by the jobs (paint operations are values, never changed once made).
_log = logging.getLogger(__name__)
CACHE_MAX = 50_000
_OPS: dict[tuple, list[Op]] = {}
_TIPS: dict[tuple, str] = {}  # an op's tooltip (its derivative is slow to look up), by what it says
_EDGES: dict[str, tuple[list[Op], QRectF]] = {}  # an edge's paint operations and bounds


_LOOKS: dict[tuple, tuple[Any, tuple]] = {}  # what a node's attributes look like: (look, _look_key)


def _attrs_key(a: dict[str, Any]) -> tuple:
    """A node's attributes as a dict key: everything a look is made from (not the tensor object,
    which no look reads)."""
    return tuple(
        (k, tuple(map(_frozen, v)) if isinstance(v, list) else v)
        for k, v in sorted(a.items())
        if k != "tensor"
    )


def _frozen(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def _scale_key(cs: colors.ColorScale) -> tuple:
    return (cs.stat, cs.scale, cs.cmap_name, cs.vmin, cs.vmax)


def node_looks(
    g: nx.DiGraph,
    cs: colors.ColorScale,
    elements: bool,
    old: JobMemo | None = None,
    new: JobMemo | None = None,
) -> tuple[dict[str, Any], dict[str, tuple], set[str]]:
    """Each node's look (style.looks) and its _look_key, remembered by what the node says: one
    op more on a big graph leaves almost every node as it was. With memos: the nodes whose
    attributes are those ``old`` saw (compared as dicts: the grown graph hands out the same
    values, so that is quick), which keep their look and tooltip, and ``new`` remembers them."""
    if len(_LOOKS) > CACHE_MAX:
        _LOOKS.clear()
    scale = (_scale_key(cs), elements)
    seen = old.attrs if old is not None else {}
    out, keys, same = {}, {}, set()
    for n, a in g.nodes(data=True):
        kept = seen.get(n)
        made = None
        if kept is not None and kept[1] == scale:
            try:
                if kept[0] == a:
                    made = kept[2]
                    same.add(n)
            except Exception:  # values that do not compare (arrays): made as if new
                made = None
        if made is None:
            try:
                key = (scale, _attrs_key(a))
                made = _LOOKS.get(key)
            except TypeError:  # something unhashable (never seen yet): made every time
                key, made = None, None
            if made is None:
                lk = look(a, cs, elements)
                made = (lk, _look_key(lk))
                if key is not None:
                    _LOOKS[key] = made
        if new is not None:
            new.attrs[n] = (kept[0] if n in same else dict(a), scale, made)
        out[n], keys[n] = made
    return out, keys, same


def _look_key(look: Any) -> tuple:
    return (
        look.shape,
        look.paint,
        tuple((line.text, line.size, line.bold) for line in look.lines),
        None if look.cells is None else tuple(tuple(row) for row in look.cells),
        look.badge,
    )


def _tooltip(g: nx.DiGraph, n: str, names: dict[str, str]) -> str:
    a = g.nodes[n]
    if a.get("type") != "op":
        return tooltip_for(a)  # only an op's tooltip names the tensors passed to it
    operands = operand_titles(g, n, names)
    key = (a.get("name"), a.get("op"), a.get("label"), tuple(sorted(operands.items())))
    tip = _TIPS.get(key)
    if tip is None:
        tip = _TIPS[key] = tooltip_for(a, operands)
    return tip


def _node_tip(
    g: nx.DiGraph, n: str, names: dict[str, str], same: set[str], old: JobMemo, new: JobMemo
) -> str:
    """``_tooltip``, or the last job's for a node whose attributes are the same (``same``): a
    tensor's tooltip is read from its attributes alone, an op's from its own and those of the
    tensors passed to it, under their names (which the signature below holds)."""
    if n not in same:
        tip = _tooltip(g, n, names)
        new.tips[n] = (None, tip)
        return tip
    sign = None
    if g.nodes[n].get("type") == "op":
        preds = g.pred[n]
        if not all(u in same for u in preds):
            sign = False  # an operand says something else now
        else:
            sign = tuple((u, names.get(u), e.get("args")) for u, e in preds.items())
    kept = old.tips.get(n)
    if sign is not False and kept is not None and kept[0] == sign:
        tip = kept[1]
    else:
        tip = _tooltip(g, n, names)
    new.tips[n] = (sign if sign is not False else None, tip)
    return tip


def _lay_out(
    r: LayoutResult,
    build: Builder,
    options: tuple,
    previous: Layout | None,
    dpr: float,
    direction: str,
    progress: Progress,
    memo: JobMemo | None = None,
) -> None:
    settings, elements, *more = options
    fold_state, fold_runs = (more + [None, False])[:2]
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
    # Folded after the scale is fitted (its colours cover every repetition); a small graph is
    # drawn whole, and so is a graph being stepped through (its steps are drawn in place).
    if fold_state is not None and g.graph.get("step") is None:
        try:
            r.runs = find_repeats(g) if fold_runs and g.number_of_nodes() > FOLD_MIN_NODES else []
            r.modules = module_groups(g)
            if r.runs or fold_state.closed_modules:
                g = fold(g, r.runs, fold_state, op_grad_norms(every) if every is not g else None)
        except WorkCancelledError:
            raise
        except Exception:  # a bug in folding costs the fold, not the picture: drawn whole
            _log.debug("folding failed; the graph is drawn unfolded", exc_info=True)
            r.runs, r.modules = [], []
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
        # One op more on a big graph: place only what is new (graph/incremental.py).
        out = extend(sized, previous, direction) or run_layout(sized, previous=previous, direction=direction)
        captured["layout"] = out
        return out

    old = memo or JobMemo()
    new = r.memo = JobMemo()
    looks, look_keys, same = node_looks(g, cs, elements, old, new)
    scene = build_scene(
        g,
        scale=cs,
        legend=False,
        elements=elements,
        layout=lay,
        in_layout_coordinates=True,
        node_looks=looks,
        memo=old.scene,
    )
    new.scene = scene.memo or SceneMemo()
    lay_out = captured.get("layout")
    r.layout, r.provider = lay_out, scene.provider or (lay_out.provider if lay_out else "")
    if len(_OPS) > CACHE_MAX:
        _OPS.clear()
    if len(_TIPS) > CACHE_MAX:
        _TIPS.clear()
    for k, (n, (x, y, w, h)) in enumerate(scene.boxes.items()):
        if k % 1024 == 0:
            checkpoint()
        drawn = new.scene.nodes.get(n, (None, None, None))[2]
        kept = old.ops.get(n)
        if kept is not None and kept[0] is drawn:  # the very shapes the last job compiled
            ops = kept[1]
        else:
            look = scene.looks.get(n)
            key = (look_keys.get(n) or _look_key(look), w, h) if look is not None else None
            ops = _OPS.get(key) if key is not None else None
            if ops is None:
                s0, s1 = scene.spans.get(n, (0, 0))
                ops = compile_items(scene.items[s0:s1], -x, -y)
                if key is not None:
                    _OPS[key] = ops
        if drawn is not None:
            new.ops[n] = (drawn, ops)
        r.nodes[n] = (ops, x, y, w, h, _node_tip(g, n, names, same, old, new))
    r.refs = ref_ops(g, scene, names)
    if len(_EDGES) > CACHE_MAX:
        _EDGES.clear()
    covers = []  # each edge's bounds as plain numbers
    for key in scene.spans:
        if isinstance(key, tuple) and len(key) == 2:
            drawn = new.scene.edges.get(key)
            kept = old.edges.get(key)
            if drawn is not None and kept is not None and kept[0] is drawn[1] and kept[1] is drawn[2]:
                items, made, cover = kept[2], kept[3], kept[4]  # the very shapes the last job compiled
            else:
                items = edge_shapes(scene, key)
                shapes = _shapes_key(items)  # where it runs and how it is drawn
                made = _EDGES.get(shapes)
                if made is None:
                    ops = compile_items(items, 0.0, 0.0)
                    made = _EDGES[shapes] = (ops, edge_bounds(ops))
                b = made[1]
                cover = None if b.isNull() else (b.left(), b.top(), b.right(), b.bottom())
            if drawn is not None:
                new.edges[key] = (drawn[1], drawn[2], items, made, cover)
            r.edges[key] = made
            r.edge_shapes[key] = items
            if cover is not None:
                covers.append(cover)
    # What everything covers, in plain numbers (a QRectF united ten thousand times took longer):
    # the nodes and the edges, which the overview shows, and the nodes' margins and the badges.
    drawn_ext = _extent(
        [_extent([(x, y, x + w, y + h) for _ops, x, y, w, h, _tip in r.nodes.values()]), _extent(covers)]
    )
    nodes_ext = _extent([(x - 6, y - 6, x + w + 6, y + h + 6) for _ops, x, y, w, h, _tip in r.nodes.values()])
    refs_ext = _extent([(x, y, x + w, y + h) for _ops, x, y, w, h, _of, _tip in r.refs.values()])
    content = _extent([nodes_ext, _extent(covers), refs_ext])
    if content is not None:
        x0, y0, x1, y1 = content
        r.content = QRectF(x0, y0, x1 - x0, y1 - y0)
    r.overview = render_overview(r.nodes, r.edges, dpr, drawn_ext)


def _extent(
    boxes: list[tuple[float, float, float, float] | None],
) -> tuple[float, float, float, float] | None:
    """What boxes ``(x0, y0, x1, y1)`` cover together (None among them: nothing), None if nothing."""
    boxes = [b for b in boxes if b is not None]
    if not boxes:
        return None
    x0, y0, x1, y1 = zip(*boxes)
    return min(x0), min(y0), max(x1), max(y1)


def _shapes_key(items: list[Any]) -> tuple:
    """A dict key that tells shapes apart as their repr() does, at a fraction of its cost."""
    return tuple(
        (type(i), *(tuple(v) if isinstance(v, list) else v for v in vars(i).values())) for i in items
    )


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
