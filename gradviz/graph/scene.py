"""A laid-out picture of the graph as plain shapes, which the SVG, PNG and PDF writers draw.

Sizing, layout, edge clipping, arrowheads, badges, element cells and the legend are decided here
once, so the three formats show the same picture (and the desktop canvas can read it too).
Coordinates are points (1/72 inch), y growing downward.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from .checkpoint import checkpoint
from .colors import (
    CELLS_MARK,
    KEPT_MARK,
    OUTPUT_MARK,
    TICK_SIZE,
    ColorScale,
    Legend,
    Paint,
    fit_tick_labels,
    grad_stats,
)
from .fonts import text_width
from .shared import REF_ARROW, REF_SIZE, ref_id, ref_label, ref_target, shared_uses, with_refs
from .style import (
    BADGE_FILL,
    BADGE_TEXT,
    CHECK_COLOURS,
    KEPT_BADGE,
    KEPT_BORDER,
    KEPT_FILL,
    OUTPUT_BORDER,
    Look,
    fit_scale,
    legend_states,
    look,
    looks,
)

# --- primitives -------------------------------------------------------------------------------


@dataclass
class Rect:
    x: float  # top-left corner
    y: float
    w: float
    h: float
    fill: str | None
    stroke: str | None = None
    stroke_width: float = 1.0
    radius: float = 0.0
    dashed: bool = False
    hatch: str | None = None  # colour of diagonal hatching drawn inside


@dataclass
class Text:
    x: float
    y: float  # baseline
    text: str
    size: float
    color: str = "#000000"
    bold: bool = False
    anchor: str = "middle"  # "start", "middle" or "end"


@dataclass
class Path:
    points: list[tuple[float, float]]
    stroke: str = "#000000"
    width: float = 1.0
    dashed: bool = False
    curve: bool = False  # True: cubic Bezier control points p0 c1 c2 p1 c1 c2 p2 ...


@dataclass
class Polygon:
    points: list[tuple[float, float]]
    fill: str


Item = Rect | Text | Path | Polygon


@dataclass
class Scene:
    width: float
    height: float
    items: list[Item] = field(default_factory=list)
    background: str = "#ffffff"
    title: str = ""
    provider: str = ""  # which layout provider placed the nodes
    boxes: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)  # node -> x, y, w, h
    # Which items draw what: node id, (u, v) for an edge, or (u, v, "label"), to the slice
    # items[start:stop]. The desktop canvas turns each into one interactive item.
    spans: dict[Any, tuple[int, int]] = field(default_factory=dict)
    looks: dict[str, Look] = field(default_factory=dict)  # node -> its look, which drew it
    # Reference badges of shared inputs (see shared.py): badge id -> (the node it stands for,
    # its box); its shapes are spans[badge id]. The edge (node, user) starts at the badge.
    refs: dict[str, tuple[str, tuple[float, float, float, float]]] = field(default_factory=dict)
    memo: SceneMemo | None = None  # what it drew, for the next build to reuse (build_scene(memo=))


@dataclass
class SceneMemo:
    """What one :func:`build_scene` drew of each node and edge, and from what, so that the next
    build of a grown graph draws only what changed: one op more on a graph of thousands of nodes
    leaves almost every shape as it was, and drawing them all again was most of the canvas's job.
    A node's shapes are reused while its look is the very same object (looks are made once per
    set of attributes and kept by the caller) and its box is the same; an edge's while it is
    drawn from the same attributes along the same route between the same boxes."""

    sizes: dict[Any, tuple[Look, tuple[float, float]]] = field(default_factory=dict)
    nodes: dict[Any, tuple[Look, tuple[float, float, float, float], list[Item]]] = field(default_factory=dict)
    edges: dict[Any, tuple[tuple, list[Item], Text | None]] = field(default_factory=dict)


# --- sizes ------------------------------------------------------------------------------------

PAD_X, PAD_Y = 9.0, 6.0
LINE_GAP = 1.3  # line height as a multiple of the font size
CELL, CELL_GAP = 10.0, 1.0
BADGE_SIZE = 8.5
MARGIN = 16.0
EDGE_COLOR = "#4d4d4d"
FLOW_WIDTH = 3.2  # an edge carrying the backward step's gradient
ARROW = 7.0


def _lines_height(look: Look) -> float:
    return sum(line.size * LINE_GAP for line in look.lines)


def node_size(look: Look) -> tuple[float, float]:
    """Width and height in points that fit the look's text, cells and badge."""
    w = max((text_width(line.text, line.size, line.bold) for line in look.lines), default=0.0)
    h = _lines_height(look)
    if look.cells:
        w = max(w, max(len(r) for r in look.cells) * (CELL + CELL_GAP))
        h += len(look.cells) * (CELL + CELL_GAP) + 3
    if look.badge:
        w = max(w, text_width(look.badge, BADGE_SIZE) + 8)
        h += BADGE_SIZE * 1.6 + 3
    if look.shape == "op":
        return max(w + 2 * 10, 34.0), 20.0
    if look.shape == "repeat":  # a stack of cards: text, the sparkline, its end labels
        return max(w, SPARK_W) + 2 * PAD_X + STACK, h + SPARK_H + 14 + 2 * PAD_Y + STACK
    return max(w + 2 * PAD_X, 44.0), h + 2 * PAD_Y


# --- a folded run -------------------------------------------------------------------------------

SPARK_W, SPARK_H = 168.0, 34.0
SPARK_POINTS = 120  # at most this many points: more would be finer than a line can show
STACK = 6.0  # the cards behind the front one


def spark_points(
    spark: list[tuple[float | None, str]], x: float, y: float, w: float, h: float
) -> list[tuple[float, float, str]]:
    """Where each (sampled) repetition's norm sits in the box, log scale: (x, y, colour); a
    repetition with no gradient is left out, one whose gradient is exactly 0 lies on the floor."""
    n = len(spark)
    if n == 0:
        return []
    step = max(1, math.ceil(n / SPARK_POINTS))
    picks = [(i, spark[i]) for i in range(0, n, step)]
    if picks[-1][0] != n - 1:
        picks.append((n - 1, spark[-1]))
    logs = [math.log10(v) for _, (v, _) in picks if v]
    lo, hi = (min(logs), max(logs)) if logs else (0.0, 0.0)
    out = []
    for i, (v, color) in picks:
        if v is None:
            continue
        if v == 0:  # vanished to exactly zero: on the floor, in zero's own colour
            t = -0.08
        else:
            t = 0.5 if hi - lo < 1e-12 else (math.log10(v) - lo) / (hi - lo)
        px = x + (w * i / (n - 1) if n > 1 else w / 2)
        out.append((px, y + h - t * h, color))
    return out


def _repeat_items(look: Look, x: float, y: float, w: float, h: float) -> list[Item]:
    p = look.paint
    cw, ch = w - STACK, h - STACK
    items: list[Item] = []
    for d in (STACK, STACK / 2):  # the repetitions behind: a deck of identical cards
        items.append(Rect(x + d, y + d, cw, ch, "#ebe3cf", p.border, 0.8, 5.0))
    items.append(Rect(x, y, cw, ch, p.fill, p.border, p.border_width, 5.0))
    cx = x + cw / 2
    ty = y + PAD_Y
    for line in look.lines:
        ty += line.size * LINE_GAP
        items.append(Text(cx, ty - line.size * 0.3, line.text, line.size, p.text, line.bold))
    sx, sy, sw = x + PAD_X, ty + 4, cw - 2 * PAD_X
    items.append(Rect(sx, sy, sw, SPARK_H, "#ffffff", "#b9ad90", 0.6, 2.0))
    pts = spark_points(look.extra.get("spark", []), sx + 3, sy + 3, sw - 6, SPARK_H - 6)
    for a, b in itertools.pairwise(pts):
        items.append(Path([(a[0], a[1]), (b[0], b[1])], b[2] or EDGE_COLOR, 1.8))
    if len(pts) == 1:
        items.append(Rect(pts[0][0] - 1.5, pts[0][1] - 1.5, 3, 3, pts[0][2], None))
    if not pts:
        items.append(Text(sx + sw / 2, sy + SPARK_H / 2 + 3, "no gradients to show", 8, "#7a7a7a"))
    n = len(look.extra.get("spark", []))
    first = look.extra.get("start", 0) + 1
    ly = sy + SPARK_H + 10
    items.append(Text(sx, ly, f"step {first}", 7.5, "#555555", False, "start"))
    items.append(Text(sx + sw, ly, f"step {first + n - 1}", 7.5, "#555555", False, "end"))
    items.append(Text(sx + sw / 2, ly, "grad norm entering, log", 7.5, "#555555", False, "middle"))
    return items


# --- drawing a node ---------------------------------------------------------------------------


def _hatch_lines(x: float, y: float, w: float, h: float, color: str, inset: float) -> list[Item]:
    """Diagonal hatching clipped to the box (drawn as segments: every format can draw those)."""
    out: list[Item] = []
    x0, y0, x1, y1 = x + inset, y + inset, x + w - inset, y + h - inset
    step = 7.0
    c = x0 - (y1 - y0)
    while c < x1:
        # the line x - y = c - y0 ... walk points along 45 degrees, clipped to the inner box
        ax, ay = c, y1
        bx, by = c + (y1 - y0), y0
        if ax < x0:
            ay -= x0 - ax
            ax = x0
        if bx > x1:
            by += bx - x1
            bx = x1
        if ax < bx:
            out.append(Path([(ax, ay), (bx, by)], color, 1.0))
        c += step
    return out


def _node_items(look: Look, cx: float, cy: float, w: float, h: float) -> list[Item]:
    x, y = cx - w / 2, cy - h / 2
    if look.shape == "repeat":
        return _repeat_items(look, x, y, w, h)
    p: Paint = look.paint
    radius = h / 2 if look.shape == "op" else (7.0 if look.shape == "tensor" else 3.0)
    items: list[Item] = [Rect(x, y, w, h, p.fill, None, 0, radius)]
    if p.hatch:
        items += _hatch_lines(x, y, w, h, p.hatch, min(radius, 4.0))
    items.append(Rect(x, y, w, h, None, p.border, p.border_width, radius, p.dashed))
    if look.shape == "op":
        line = look.lines[0]
        items.append(Text(cx, cy + line.size * 0.35, line.text, line.size, p.text, line.bold))
        return items
    ty = y + PAD_Y
    for line in look.lines:
        ty += line.size * LINE_GAP
        items.append(Text(cx, ty - line.size * 0.3, line.text, line.size, p.text, line.bold))
    if look.cells:
        ty += 3
        for row in look.cells:
            rx = cx - len(row) * (CELL + CELL_GAP) / 2 + CELL_GAP / 2
            for color in row:
                # outlined in the text colour, so cells show on a dark fill as on a light one
                items.append(Rect(rx, ty, CELL, CELL, color, p.text, 0.6, 1.5))
                rx += CELL + CELL_GAP
            ty += CELL + CELL_GAP
    if look.badge:
        bw = text_width(look.badge, BADGE_SIZE) + 8
        bh = BADGE_SIZE * 1.6
        by = y + h - PAD_Y - bh + 2
        items += _badge_items(look.badge, cx - bw / 2, by, bw, bh)
    return items


def _badge_items(text: str, x: float, y: float, w: float, h: float) -> list[Item]:
    kept = text == KEPT_BADGE  # dashed, as in the tensors table: a grad PyTorch would not keep
    fill, border = (KEPT_FILL, KEPT_BORDER) if kept else CHECK_COLOURS.get(text, (BADGE_FILL, "#b07020"))
    return [
        Rect(x, y, w, h, fill, border, 1.0 if kept else 0.75, h / 2, kept),
        Text(x + w / 2, y + h / 2 + BADGE_SIZE * 0.35, text, BADGE_SIZE, BADGE_TEXT),
    ]


def ref_items(look: Look, label: str, box: tuple[float, float, float, float]) -> list[Item]:
    """A reference badge: ``→ label`` in a pill filled and outlined like the node it stands for."""
    x, y, w, h = box
    p: Paint = look.paint
    return [
        Rect(x, y, w, h, p.fill, p.border, min(p.border_width, 1.5), h / 2, p.dashed),
        Text(x + w / 2, y + h / 2 + REF_SIZE * 0.35, REF_ARROW + label, REF_SIZE, p.text, True),
    ]


def _ref_boxes(lay: Any, sized: nx.DiGraph, ox: float, oy: float) -> dict[str, tuple[str, tuple]]:
    """The badges the layout placed: badge id -> (the node it stands for, its box)."""
    out = {}
    for b, a in sized.nodes(data=True):
        if a.get("type") == "ref" and b in lay.positions:
            px, py = lay.positions[b]
            w, h = a["width"], a["height"]
            out[b] = (a["ref_of"], (px + ox - w / 2, py + oy - h / 2, w, h))
    return out


# --- edges ------------------------------------------------------------------------------------


def _inside(pt: tuple[float, float], box: tuple[float, float, float, float], slack: float = 0.5) -> bool:
    x, y, w, h = box
    return x - slack <= pt[0] <= x + w + slack and y - slack <= pt[1] <= y + h + slack


def _ray_to_box(
    p: tuple[float, float], d: tuple[float, float], box: tuple[float, float, float, float]
) -> float | None:
    """Distance along unit ``d`` from ``p`` to the box border, if the ray meets it."""
    x, y, w, h = box
    best = None
    for axis, lo, hi in ((0, x, x + w), (1, y, y + h)):
        if abs(d[axis]) < 1e-9:
            continue
        for edge in (lo, hi):
            t = (edge - p[axis]) / d[axis]
            if t < -1e-6:
                continue
            q = (p[0] + d[0] * t, p[1] + d[1] * t)
            if _inside(q, box, 0.6):
                best = t if best is None else min(best, t)
    return best


def _unit(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float] | None:
    dx, dy = b[0] - a[0], b[1] - a[1]
    n = math.hypot(dx, dy)
    return None if n < 1e-6 else (dx / n, dy / n)


def _clip_polyline(
    pts: list[tuple[float, float]], box: tuple[float, float, float, float]
) -> list[tuple[float, float]]:
    """Cut the end of a polyline where it first enters ``box``."""
    for i in range(1, len(pts)):
        if _inside(pts[i], box, -0.5):
            d = _unit(pts[i - 1], pts[i])
            if d is None:
                return pts[:i]
            t = _ray_to_box(pts[i - 1], d, box)
            if t is None:
                return pts[:i]
            return [*pts[:i], (pts[i - 1][0] + d[0] * t, pts[i - 1][1] + d[1] * t)]
    return pts


def _edge_items(
    pts: list[tuple[float, float]],
    src: tuple[float, float, float, float],
    dst: tuple[float, float, float, float],
    dashed: bool,
    color: str | None = None,
    width: float = 1.1,
) -> list[Item]:
    curve = len(pts) >= 4 and len(pts) % 3 == 1
    if not curve:
        pts = list(reversed(_clip_polyline(list(reversed(pts)), src)))
        pts = _clip_polyline(pts, dst)
    # A route that stops short of its source (dot leaves a small gap) is joined to the border.
    d0 = _unit(pts[1], pts[0]) if len(pts) > 1 else None
    if d0 is not None and not _inside(pts[0], src, 0.5):
        t = _ray_to_box(pts[0], d0, src)
        if t is not None and t <= 12:
            start = (pts[0][0] + d0[0] * t, pts[0][1] + d0[1] * t)
            pts = [start, *pts] if not curve else [start, start, pts[0], *pts]
    # The arrowhead points along the last segment and touches the target's border.
    d = None
    for i in range(len(pts) - 1, 0, -1):
        d = _unit(pts[i - 1], pts[i])
        if d:
            break
    if d is None:
        return []
    end = pts[-1]
    t = _ray_to_box(end, d, dst)
    tip = (end[0] + d[0] * t, end[1] + d[1] * t) if t is not None and t <= 2 * ARROW + 12 else end
    base = (tip[0] - d[0] * ARROW, tip[1] - d[1] * ARROW)
    # The line stops at the arrowhead's base, so its end does not poke through the tip.
    if math.hypot(end[0] - tip[0], end[1] - tip[1]) < ARROW:
        pts = [*pts[:-1], base]
    nx_, ny_ = -d[1], d[0]
    head = [
        tip,
        (base[0] + nx_ * ARROW * 0.45, base[1] + ny_ * ARROW * 0.45),
        (base[0] - nx_ * ARROW * 0.45, base[1] - ny_ * ARROW * 0.45),
    ]
    color = color or ("#8a8a8a" if dashed else EDGE_COLOR)
    return [Path(pts, color, width, dashed, curve), Polygon(head, color)]


def _midpoint(pts: list[tuple[float, float]], at: float = 0.5) -> tuple[float, float]:
    """The point ``at`` of the way along the polyline (the middle by default)."""
    lengths = [math.hypot(b[0] - a[0], b[1] - a[1]) for a, b in itertools.pairwise(pts)]
    half = sum(lengths) * at
    for (a, b), seg in zip(itertools.pairwise(pts), lengths):
        if half <= seg and seg > 0:
            f = half / seg
            return a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f
        half -= seg
    return pts[len(pts) // 2]


# --- legend -----------------------------------------------------------------------------------


NOTE_SIZE = 8.5


def legend_width(legend: Legend) -> float:
    texts = [text_width(legend.title, 10.5, True)] + [
        text_width(t, 8.5) + 32 for t, _ in [*legend.swatches, *((label, None) for _, label in legend.marks)]
    ]
    texts += [text_width(n, NOTE_SIZE, True) for n in legend.notes]
    return max(170.0, *texts) + 20


def _mark_items(
    kind: str, x: float, y: float, w: float, h: float, stops: list[tuple[float, str]]
) -> list[Item]:
    """The little picture beside a mark's label: an outline, element cells or a kept badge."""
    if kind == OUTPUT_MARK:
        return [Rect(x, y, w, h, "#ffffff", "#000000", OUTPUT_BORDER, 3)]
    if kind == CELLS_MARK:
        out: list[Item] = [Rect(x, y, w, h, "#ffffff", "#5a5a5a", 0.75, 3)]
        for i, t in enumerate((0.15, 0.55, 0.95)):
            color = min(stops, key=lambda s: abs(s[0] - t))[1]
            out.append(Rect(x + 3 + i * 7, y + 3.5, 6, 6, color, "#000000", 0.6, 1.5))
        return out
    if kind == KEPT_MARK:
        return [Rect(x, y + 1, w, h - 2, KEPT_FILL, KEPT_BORDER, 1.0, (h - 2) / 2, True)]
    return []


def legend_items(legend: Legend, x: float, y: float) -> tuple[list[Item], float, float]:
    """The legend's shapes with its top-left corner at (x, y), its width and its height."""
    items: list[Item] = []
    width = legend_width(legend)
    bar_w, bar_h = width - 20, 12.0
    ty = y + 10
    items.append(Text(x + 10, ty + 10, legend.title, 10.5, "#000000", True, "start"))
    ty += 18
    n = len(legend.stops) - 1
    for i in range(n):
        t0, c = legend.stops[i]
        t1 = legend.stops[i + 1][0]
        # Overlap each slice by half a point so that no seams show in raster output.
        items.append(Rect(x + 10 + t0 * bar_w, ty, (t1 - t0) * bar_w + 0.5, bar_h, c))
    items.append(Rect(x + 10, ty, bar_w, bar_h, None, "#5a5a5a", 0.75))
    # The legend chose ticks whose labels fit; measured with the drawing font, any that would
    # still touch a neighbour are left out (the range's ends never are).
    for t, label, left, right in fit_tick_labels(legend.ticks, bar_w, text_width, TICK_SIZE):
        tx = x + 10 + t * bar_w
        items.append(Path([(tx, ty + bar_h), (tx, ty + bar_h + 3)], "#5a5a5a", 0.75))
        if left <= 0.0:  # kept within the bar: lined up with its left end
            lx, anchor = x + 10, "start"
        elif right >= bar_w:
            lx, anchor = x + 10 + bar_w, "end"
        else:
            lx, anchor = tx, "middle"
        items.append(Text(lx, ty + bar_h + 12, label, TICK_SIZE, "#000000", False, anchor))
    ty += bar_h + 20
    for note in legend.notes:  # how the scale was chosen, and whether it just changed
        items.append(Text(x + 10, ty + NOTE_SIZE, note, NOTE_SIZE, "#7a2e00", True, "start"))
        ty += NOTE_SIZE + 6
    for label, paint in legend.swatches:
        sw, sh = 26.0, 14.0
        items.append(Rect(x + 10, ty, sw, sh, paint.fill, None, 0, 3))
        if paint.hatch:
            items += _hatch_lines(x + 10, ty, sw, sh, paint.hatch, 2.0)
        items.append(
            Rect(x + 10, ty, sw, sh, None, paint.border, min(paint.border_width, 2.5), 3, paint.dashed)
        )
        items.append(Text(x + 10 + sw + 6, ty + sh - 3.5, label, 8.5, "#000000", False, "start"))
        ty += sh + 6
    for kind, label in legend.marks:
        sw, sh = 26.0, 14.0
        items += _mark_items(kind, x + 10, ty, sw, sh, legend.stops)
        items.append(Text(x + 10 + sw + 6, ty + sh - 3.5, label, 8.5, "#000000", False, "start"))
        ty += sh + 6
    h = ty - y + 4
    frame = Rect(x, y, width, h, "#ffffff", "#bdbdbd", 0.75, 4)
    return [frame, *items], width, h


# --- the whole picture ------------------------------------------------------------------------


def _default_layout(g: nx.DiGraph) -> Any:
    from .layout import layout  # the layout module picks dot or the built-in layered layout

    return layout(g)


def build_scene(
    g: nx.DiGraph,
    *,
    stat: str = "norm",
    cmap: object = None,
    scale: str | ColorScale = "linear",
    edge_labels: bool = False,
    elements: bool = True,
    legend: bool = True,
    title: str = "",
    layout: Callable[[nx.DiGraph], Any] | None = None,
    in_layout_coordinates: bool = False,
    shared_refs: bool = True,
    node_looks: dict[str, Look] | None = None,
    memo: SceneMemo | None = None,
) -> Scene:
    """Lay out ``g`` (a model graph) and turn it into shapes. ``in_layout_coordinates``: where
    the layout placed them (the canvas, whose picture stays put from one layout to the next),
    not moved to a page with a margin. ``shared_refs``: a shared input's far uses get reference
    badges instead of long edges (see ``shared.py``). ``node_looks``: each node's look with this
    scale, if the caller has them (the canvas keeps those it made before). ``memo``: the last
    build's :class:`SceneMemo` (an empty one the first time), whose unchanged shapes are reused;
    the picture is the same as without it, and the returned scene's ``memo`` is for the next."""
    cs = scale if isinstance(scale, ColorScale) else fit_scale(g, stat, cmap, scale)
    node_looks = looks(g, cs, elements) if node_looks is None else node_looks
    into = SceneMemo() if memo is not None else None
    sized = sized_graph(g, node_looks, shared_refs=shared_refs, memo=memo, into=into)
    lay = (layout or _default_layout)(sized)

    # Bounding box of what was laid out (not trusting an origin): nodes and edge points.
    size = {n: (a["width"], a["height"]) for n, a in sized.nodes(data=True)}
    xs, ys = [], []
    for n, (px, py) in lay.positions.items():
        if n not in size:
            continue
        w, h = size[n]
        xs += [px - w / 2, px + w / 2]
        ys += [py - h / 2, py + h / 2]
    for pts in lay.edges.values():
        xs += [p[0] for p in pts]
        ys += [p[1] for p in pts]
    minx, miny = (min(xs), min(ys)) if xs else (0.0, 0.0)
    gw, gh = ((max(xs) - minx), (max(ys) - miny)) if xs else (0.0, 0.0)
    ox, oy = MARGIN - minx, MARGIN + (22 if title else 0) - miny
    if in_layout_coordinates:
        ox = oy = 0.0

    boxes = {}
    for n, (px, py) in lay.positions.items():
        if n in g:
            w, h = size[n]
            boxes[n] = (px + ox - w / 2, py + oy - h / 2, w, h)
    refs = _ref_boxes(lay, sized, ox, oy)

    items: list[Item] = []
    if title:
        items.append(Text(MARGIN, MARGIN + 12, title, 12, "#000000", True, "start"))
    labels: list[Item] = []
    label_of: list[tuple[Any, Any]] = []
    spans: dict[Any, tuple[int, int]] = {}
    for k, (u, v, a) in enumerate(g.edges(data=True)):
        if k % 1024 == 0:
            checkpoint()
        if u not in boxes or v not in boxes:
            continue
        ref = refs.get(ref_id(u, v)) if refs else None  # a shared input's far use: from its badge
        route = lay.edges.get((ref_id(u, v), v) if ref else (u, v))
        start = len(items)
        drawn, label = _memo_edge(
            memo, into, (u, v), a, route, (ox, oy), ref[1] if ref else boxes[u], boxes[v], cs, edge_labels
        )
        items += drawn
        spans[(u, v)] = (start, len(items))
        if label is not None:
            label_of.append((u, v))
            labels.append(label)
    old_nodes = memo.nodes if memo is not None else {}
    for n, box in boxes.items():
        x, y, w, h = box
        start = len(items)
        lk, kept = node_looks[n], old_nodes.get(n)
        if kept is not None and kept[0] is lk and kept[1] == box:
            drawn = kept[2]
        else:
            drawn = _node_items(lk, x + w / 2, y + h / 2, w, h)
        if into is not None:
            into.nodes[n] = (lk, box, drawn)
        items += drawn
        spans[n] = (start, len(items))
    for b, (of, box) in refs.items():
        start = len(items)
        items += ref_items(node_looks[ref_target(g, of)], sized.nodes[b]["label"], box)
        spans[b] = (start, len(items))
    for (u, v), label in zip(label_of, labels):
        spans[(u, v, "label")] = (len(items), len(items) + 1)
        items.append(label)

    width = gw + 2 * MARGIN
    height = gh + 2 * MARGIN + (22 if title else 0)
    if legend:
        lx = width - MARGIN + 24
        legend_box = cs.legend(legend_states(g, elements))
        leg, lw, lh = legend_items(legend_box, lx, MARGIN + (22 if title else 0))
        items += leg
        width = lx + lw + MARGIN
        height = max(height, lh + 2 * MARGIN + (22 if title else 0))
    return Scene(
        width,
        height,
        items,
        title=title,
        provider=getattr(lay, "provider", ""),
        boxes=boxes,
        spans=spans,
        looks=node_looks,
        refs=refs,
        memo=into,
    )


def _memo_edge(
    memo: SceneMemo | None,
    into: SceneMemo | None,
    key: tuple[Any, Any],
    a: dict[str, Any],
    route: list[tuple[float, float]] | None,
    offset: tuple[float, float],
    box_u: tuple[float, float, float, float],
    box_v: tuple[float, float, float, float],
    cs: ColorScale,
    edge_labels: bool,
) -> tuple[list[Item], Text | None]:
    """:func:`edge_items` along the layout's ``route`` moved by ``offset``, or what ``memo`` kept
    of the same edge drawn from the same inputs (an edge carrying the stepper's gradient is
    coloured by the scale: always drawn anew)."""

    def draw() -> tuple[list[Item], Text | None]:
        ox, oy = offset
        pts = [(p[0] + ox, p[1] + oy) for p in route] if route else route
        return edge_items(a, pts, box_u, box_v, cs, edge_labels)

    if into is None or a.get("flow"):
        return draw()
    # (a layout's routes are values: a grown layout hands on the very lists of those it kept)
    said = (a.get("kind"), edge_labels, a.get("shape") if edge_labels else None, route, offset, box_u, box_v)
    kept = memo.edges.get(key) if memo is not None else None
    if kept is not None and kept[0] == said:
        drawn, label = kept[1], kept[2]
    else:
        drawn, label = draw()
    into.edges[key] = (said, drawn, label)
    return drawn, label


def edge_items(
    a: dict[str, Any],
    pts: list[tuple[float, float]] | None,
    box_u: tuple[float, float, float, float],
    box_v: tuple[float, float, float, float],
    cs: ColorScale,
    edge_labels: bool = False,
) -> tuple[list[Item], Text | None]:
    """One edge (attributes ``a``) along the layout's points ``pts`` (None: straight, centre to
    centre) between two node boxes: its line and arrowhead, and its label if it has one."""
    if not pts:
        pts = [
            (box_u[0] + box_u[2] / 2, box_u[1] + box_u[3] / 2),
            (box_v[0] + box_v[2] / 2, box_v[1] + box_v[3] / 2),
        ]
    flow = a.get("flow")  # the backward stepper: this edge carries the current contribution
    flow_color = cs.paint(grad_stats(a["flow_value"])).fill if flow else None
    drawn = _edge_items(pts, box_u, box_v, a.get("kind") == "detach", flow_color, FLOW_WIDTH if flow else 1.1)
    text = flow or (
        "detach()" if a.get("kind") == "detach" else (_shape_label(a.get("shape")) if edge_labels else "")
    )
    if not text:
        return drawn, None
    # A gradient's label sits near its receiver (the edge's source) on the outer side of its
    # edge, so two edges that meet at one op keep their labels apart.
    mx, my = _midpoint(pts, 0.3 if flow else 0.5)
    size, ink, bold = (10, "#000000", True) if flow else (8, "#333333", False)
    dx, dy = pts[-1][0] - pts[0][0], pts[-1][1] - pts[0][1]
    if flow and dx > 1 and abs(dy) > 1:  # runs down to the right: left of it
        return drawn, Text(mx - 6, my + 3, text, size, ink, bold, "end")
    if flow and dx < -1 and abs(dy) > 1:  # down to the left: right of it
        return drawn, Text(mx + 6, my + 3, text, size, ink, bold, "start")
    if abs(dx) > abs(dy):  # left to right: above it
        return drawn, Text(mx, my - 4, text, size, ink, bold, "middle")
    return drawn, Text(mx + 6, my + 3, text, size, ink, bold, "start")  # top to bottom: beside it


def restyle(
    g: nx.DiGraph,
    lay: Any,
    nodes: set[str],
    edges: set[tuple[str, str]],
    *,
    scale: ColorScale,
    elements: bool = True,
    edge_labels: bool = False,
    sizes: Mapping[str, tuple[float, float]] | None = None,
) -> Scene:
    """Only ``nodes`` and ``edges`` of ``g`` drawn where the layout ``lay`` placed them, in the
    layout's own coordinates, as :func:`build_scene` draws them: what a step of the stepper
    changes, redrawn without laying anything out again. The edges of a node are redrawn too,
    clipped to its new box, unless ``sizes`` (each node's width and height as drawn now) says
    its size is the same."""
    boxes: dict[str, tuple[float, float, float, float]] = {}
    node_looks: dict[str, Look] = {}

    def place(n: str) -> None:
        if n not in boxes and n in lay.positions and n in g:
            node_looks[n] = look(g.nodes[n], scale, elements)
            w, h = node_size(node_looks[n])
            px, py = lay.positions[n]
            boxes[n] = (px - w / 2, py - h / 2, w, h)

    edges = {e for e in edges if g.has_edge(*e)}
    for n in nodes:
        place(n)
        if n in boxes and (sizes is None or sizes.get(n) != boxes[n][2:]):
            edges.update((u, n) for u in g.predecessors(n))  # clipped to its old box: anew
            edges.update((n, v) for v in g.successors(n))
    for e in edges:
        place(e[0])
        place(e[1])
    items: list[Item] = []
    spans: dict[Any, tuple[int, int]] = {}
    refs: dict[str, tuple[str, tuple[float, float, float, float]]] = {}
    for u, v in edges:
        if u not in boxes or v not in boxes:
            continue
        start = len(items)
        b = ref_id(u, v)
        if b in lay.positions:  # a badged use of a shared input: from its badge
            (px, py), (w, h) = lay.positions[b], lay.sizes[b]
            refs[b] = (u, (px - w / 2, py - h / 2, w, h))
            drawn, label = edge_items(
                g.edges[u, v], lay.edges.get((b, v)), refs[b][1], boxes[v], scale, edge_labels
            )
        else:
            drawn, label = edge_items(
                g.edges[u, v], lay.edges.get((u, v)), boxes[u], boxes[v], scale, edge_labels
            )
        items += drawn
        spans[(u, v)] = (start, len(items))
        if label is not None:
            spans[(u, v, "label")] = (len(items), len(items) + 1)
            items.append(label)
    for n in nodes:
        if n in boxes:
            x, y, w, h = boxes[n]
            start = len(items)
            items += _node_items(node_looks[n], x + w / 2, y + h / 2, w, h)
            spans[n] = (start, len(items))
            # its badges take its new colour (an AccumulateGrad's badges are its leaf's)
            for m in (n, *(s for s in g.successors(n) if g.nodes[s].get("type") == "accumulate")):
                for v in g.successors(m):
                    b = ref_id(m, v)
                    if b in lay.positions and b not in refs:
                        (px, py), (bw, bh) = lay.positions[b], lay.sizes[b]
                        refs[b] = (m, (px - bw / 2, py - bh / 2, bw, bh))
    for b, (of, box) in refs.items():
        target = ref_target(g, of)
        if target not in node_looks:
            node_looks[target] = look(g.nodes[target], scale, elements)
        start = len(items)
        items += ref_items(node_looks[target], ref_label(g, of), box)
        spans[b] = (start, len(items))
    return Scene(0.0, 0.0, items, boxes={n: boxes[n] for n in nodes if n in boxes}, spans=spans, refs=refs)


def edge_shapes(scene: Scene, key: tuple[str, str]) -> list[Item]:
    """The shapes of one edge of ``scene``: its line and arrowhead, then its label if any."""
    s0, s1 = scene.spans[key]
    label = scene.spans.get((*key, "label"))
    return scene.items[s0:s1] + (scene.items[label[0] : label[1]] if label else [])


def sized_graph(
    g: nx.DiGraph,
    node_looks: dict[str, Look],
    *,
    shared_refs: bool = True,
    memo: SceneMemo | None = None,
    into: SceneMemo | None = None,
) -> nx.DiGraph:
    """What a layout needs of ``g``: each node's size (from its look), type and label, the edges;
    with ``shared_refs``, a reference badge node (type "ref") for each far use of a shared input,
    in place of its long edge (see ``shared.py``). Sizes of unchanged looks are taken from
    ``memo`` and all of them are kept in ``into``."""
    sized = nx.DiGraph()
    sized.graph.update(g.graph)
    old = memo.sizes if memo is not None else {}
    nodes = []
    for n, a in g.nodes(data=True):
        lk = node_looks[n]
        kept = old.get(n)
        w, h = kept[1] if kept is not None and kept[0] is lk else node_size(lk)
        if into is not None:
            into.sizes[n] = (lk, (w, h))
        nodes.append((n, {"width": w, "height": h, "type": a.get("type"), "label": a.get("label", "")}))
    sized.add_nodes_from(nodes)
    sized.add_edges_from(g.edges(data=True))
    if shared_refs:
        uses = shared_uses(sized)
        if uses:
            sized, _ = with_refs(sized, {n: ref_label(g, n) for n in uses}, uses)
    return sized


def _shape_label(shape: Any) -> str:
    if shape is None:
        return ""
    from .model import shape_text

    return shape_text(tuple(shape))
