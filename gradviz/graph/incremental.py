"""Grow a layout by a few nodes without laying the whole graph out again.

Typing one op into a session of 2,000 nodes must redraw in a tenth of a second; a full layered
layout of that graph takes half a second. When a graph is an earlier layout's graph plus a few
nodes, and every node already placed keeps its size, the old nodes keep their places and their
edges' routes, and only the new nodes are placed: each one rank below the lowest of its inputs,
as near their middle as a free spot in that band allows, and its edges drawn as short curves.
Anything else (a node that changed size, a different direction, many new nodes) returns None, and
the caller lays the graph out in full, as the picture then changes anyway.
"""

from __future__ import annotations

import time
from collections.abc import Hashable

import networkx as nx

from .layered import Spacing
from .layout import DEFAULT_HEIGHT, DEFAULT_WIDTH, Layout, bounding_box

MAX_NEW = 24  # more new nodes than this: a full layout places them better, and is worth its time
MIN_NODES = 300  # below this a full layout is quick anyway (and better)
SIZE_TOLERANCE = 0.5  # points: an old node whose box changed more must be laid out again

Point = tuple[float, float]


def _size(data: dict) -> tuple[float, float]:
    w, h = data.get("width", DEFAULT_WIDTH), data.get("height", DEFAULT_HEIGHT)
    return (float(w) if w else DEFAULT_WIDTH, float(h) if h else DEFAULT_HEIGHT)


def _curve(a: Point, b: Point) -> list[Point]:
    """A cubic Bezier from ``a`` down to ``b`` (vertical at both ends, as the layered routes)."""
    mid = (a[1] + b[1]) / 2
    return [a, (a[0], mid), (b[0], mid), b]


def extend(
    g: nx.DiGraph, previous: Layout | None, direction: str = "TB", spacing: Spacing | None = None
) -> Layout | None:
    """``previous`` grown to lay out ``g`` (see the module docstring), or None."""
    t0 = time.perf_counter()
    if previous is None or direction != "TB" or previous.direction != "TB":
        return None
    if g.number_of_nodes() < MIN_NODES:
        return None
    old = previous.positions
    new = [v for v in g if v not in old]
    if not new or len(new) > MAX_NEW:
        return None
    sizes: dict[Hashable, tuple[float, float]] = {}
    resized: set[Hashable] = set()  # old nodes whose box changed (an output that is one no more)
    for v, data in g.nodes(data=True):
        sizes[v] = _size(data)
        if v in old:
            pw, ph = previous.sizes.get(v, (None, None))
            if pw is None or abs(pw - sizes[v][0]) > SIZE_TOLERANCE or abs(ph - sizes[v][1]) > SIZE_TOLERANCE:
                resized.add(v)
    if len(resized) > MAX_NEW:
        return None
    sp = spacing or Spacing()
    positions: dict[Hashable, Point] = {v: old[v] for v in g if v in old}
    # Boxes already taken, to find a free spot for each new node in its band.
    boxes = [
        (x - sizes[v][0] / 2, y - sizes[v][1] / 2, x + sizes[v][0] / 2, y + sizes[v][1] / 2)
        for v, (x, y) in positions.items()
    ]
    for v in resized:  # it keeps its centre, if its new box still meets no other
        x, y = positions[v]
        w, h = sizes[v]
        mine = (x - w / 2, y - h / 2, x + w / 2, y + h / 2)
        for b in boxes:
            if b != mine and _meet(mine, b, sp.nodesep / 2):
                return None
    try:
        order = [v for v in nx.topological_sort(g.subgraph(new))]
    except nx.NetworkXUnfeasible:
        return None
    fresh = set(new)
    later = []  # inputs of their own that feed only new nodes: placed above those, once placed
    for v in order:
        w, h = sizes[v]
        preds = [u for u in g.predecessors(v) if u in positions]
        if preds:
            bottom = max(positions[u][1] + sizes[u][1] / 2 for u in preds)
            x = sum(positions[u][0] for u in preds) / len(preds)
            y = bottom + sp.ranksep + h / 2
        elif any(u in fresh and u not in positions for u in g.successors(v)):
            later.append(v)
            continue
        else:
            x, y = _above(g, v, positions, sizes, boxes, sp)
        x = _free_x(x, y, w, h, boxes, sp.nodesep)
        positions[v] = (x, y)
        boxes.append((x - w / 2, y - h / 2, x + w / 2, y + h / 2))
    for v in reversed(later):  # (what each feeds is placed before it)
        w, h = sizes[v]
        x, y = _above(g, v, positions, sizes, boxes, sp)
        x = _free_x(x, y, w, h, boxes, sp.nodesep)
        positions[v] = (x, y)
        boxes.append((x - w / 2, y - h / 2, x + w / 2, y + h / 2))
    routes: dict[tuple[Hashable, Hashable], list[Point]] = {}
    drawn: dict[tuple[Hashable, Hashable], list[Point]] = {}  # the routes drawn anew
    for u, v in dict.fromkeys((u, v) for u, v, *_ in g.edges()):
        pts = previous.edges.get((u, v))
        if pts is not None and u in old and v in old and u not in resized and v not in resized:
            routes[(u, v)] = pts
            continue
        (ux, uy), (vx, vy) = positions[u], positions[v]
        if vy >= uy:
            routes[(u, v)] = drawn[(u, v)] = _curve((ux, uy + sizes[u][1] / 2), (vx, vy - sizes[v][1] / 2))
        else:  # drawn against the flow (an input placed beside): straight, centre to centre
            routes[(u, v)] = drawn[(u, v)] = [(ux, uy), (ux, uy), (vx, vy), (vx, vy)]
    if (
        not resized
        and len(positions) == len(old) + len(new)
        and len(routes) - len(drawn) == len(previous.edges)
    ):
        # Nothing left or moved: the old box grown by what is new (not every box measured again).
        x0, y0, x1, y1 = bounding_box({v: positions[v] for v in new}, drawn, sizes)
        p0, q0, p1, q1 = previous.bbox
        bbox = (min(x0, p0), min(y0, q0), max(x1, p1), max(y1, q1))
    else:
        bbox = bounding_box(positions, routes, sizes)
    return Layout(
        positions=positions,
        edges=routes,
        sizes=sizes,
        bbox=bbox,
        provider=previous.provider,
        seconds=time.perf_counter() - t0,
        notes=[*previous.notes, f"{len(new)} node(s) placed beside the previous layout"][-8:],
        direction="TB",
    )


def _above(
    g: nx.DiGraph, v: Hashable, positions: dict, sizes: dict, boxes: list, sp: Spacing
) -> tuple[float, float]:
    """Where an input of its own goes: above what it feeds, or beside everything."""
    w, h = sizes[v]
    succs = [u for u in g.successors(v) if u in positions]
    if succs:
        top = min(positions[u][1] - sizes[u][1] / 2 for u in succs)
        return sum(positions[u][0] for u in succs) / len(succs), top - sp.ranksep - h / 2
    return max((b[2] for b in boxes), default=0.0) + sp.nodesep + w / 2, h / 2


def _free_x(x: float, y: float, w: float, h: float, boxes: list, gap: float) -> float:
    """The x nearest ``x`` where a ``w`` x ``h`` box centred at height ``y`` meets no box."""
    band = sorted((b[0], b[2]) for b in boxes if b[1] < y + h / 2 + gap / 2 and b[3] > y - h / 2 - gap / 2)
    if not band:
        return x
    best, candidates = None, [x]
    for x0, x1 in band:
        candidates += [x0 - gap - w / 2, x1 + gap + w / 2]
    for c in sorted(candidates, key=lambda c: abs(c - x)):
        if all(c + w / 2 + gap <= x0 or c - w / 2 - gap >= x1 for x0, x1 in band):
            best = c
            break
    return x if best is None else best


def _meet(a: tuple, b: tuple, gap: float) -> bool:
    """Whether boxes ``(x0, y0, x1, y1)`` ``a`` and ``b`` come within ``gap`` of each other."""
    return a[0] < b[2] + gap and b[0] < a[2] + gap and a[1] < b[3] + gap and b[1] < a[3] + gap
