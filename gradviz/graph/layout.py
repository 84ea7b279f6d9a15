"""Positions and edge routes for a graph: Graphviz dot when it is there and quick, else built in.

``layout(g)`` returns a :class:`Layout` in points, y growing downward, ranks top to bottom (inputs
at the top, outputs at the bottom, as torchviz draws). Node attributes ``width`` and ``height``
(points) give node sizes. Edge routes are cubic Bezier control points ``[p0, c1, c2, p1, c1, c2,
p2, ...]`` from the tail's border to the head's border, so a drawer can follow them with
``cubicTo`` and put the arrowhead at the last point.

Choice of provider (``prefer=None``):

- dot for graphs up to :data:`DOT_MAX_NODES` nodes, where it answers in about a tenth of a
  second; the built-in layered layout (``layered.py``) above that, where dot takes seconds to
  minutes while the built-in one stays under a second or so with no more crossings;
- with ``previous``, whatever keeps the picture still: a built-in layout is continued with the
  built-in one, and dot's answer is kept only if it leaves most nodes where they were.

``direction="LR"`` lays ranks out left to right instead (inputs at the left), which suits a
long chain on a wide screen: the layout is made top to bottom with each node's width and height
swapped, then mirrored across the diagonal, as Graphviz's ``rankdir=LR`` does.

``prefer="dot"`` (or a provider name from :data:`dot_binary.PROVIDERS`) asks for dot at any size,
``prefer="builtin"`` never runs it. A missing, failing or slow binary falls through to the next
provider and at last to the built-in layout; ``Layout.provider`` says which one answered and
``Layout.notes`` why others did not.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import time
from collections.abc import Hashable
from dataclasses import dataclass, field

import networkx as nx

from . import dot_binary
from .layered import Spacing, layered

Point = tuple[float, float]

DEFAULT_WIDTH = 54.0
DEFAULT_HEIGHT = 36.0
DOT_MAX_NODES = 150  # dot is < 0.1 s below this on autograd graphs and much slower above
DOT_TIMEOUT = 30.0  # seconds before giving up on dot and laying out here instead
STABLE_DISTANCE = 18.0  # points: a node that moved less than a node gap has stayed put
STABLE_SHARE = 0.8  # dot's answer to a grown graph is kept if this share of old nodes stayed put
SPACING = Spacing()
DIRECTIONS = ("TB", "LR")


@dataclass
class Layout:
    positions: dict[Hashable, Point]  # node centre
    edges: dict[tuple[Hashable, Hashable], list[Point]]  # cubic Bezier control points
    sizes: dict[Hashable, tuple[float, float]]  # node (width, height), as laid out
    bbox: tuple[float, float, float, float]  # x0, y0, x1, y1 of nodes and edges
    provider: str  # 'GRADVIZ_DOT', 'graphviz-pure', 'system dot' or 'builtin'
    seconds: float
    notes: list[str] = field(default_factory=list)  # why a provider was passed over
    direction: str = "TB"  # ranks top to bottom, or left to right ("LR")

    @property
    def width(self) -> float:
        return self.bbox[2] - self.bbox[0]

    @property
    def height(self) -> float:
        return self.bbox[3] - self.bbox[1]


class DotError(RuntimeError):
    """A dot binary failed, timed out or answered something unreadable; the caller moves on."""


def _sizes(g: nx.DiGraph) -> dict[Hashable, tuple[float, float]]:
    out = {}
    for v, data in g.nodes(data=True):
        w, h = data.get("width", DEFAULT_WIDTH), data.get("height", DEFAULT_HEIGHT)
        out[v] = (float(w) if w else DEFAULT_WIDTH, float(h) if h else DEFAULT_HEIGHT)
    return out


def _edges(g: nx.DiGraph) -> list[tuple[Hashable, Hashable]]:
    return list(dict.fromkeys((u, v) for u, v, *_ in g.edges()))  # a MultiDiGraph repeats pairs


# ---------------------------------------------------------------------------------------------
# dot


def dot_source(g: nx.DiGraph, sizes: dict[Hashable, tuple[float, float]]) -> tuple[str, list[Hashable]]:
    """DOT text with fixed-size, unlabelled boxes named n0, n1, ...; and the node of each name.

    Names of our own avoid quoting whatever the caller's node ids are; labels are left out
    because the sizes already account for them and dot's font metrics would only differ.
    """
    nodes = list(g)
    index = {v: i for i, v in enumerate(nodes)}
    lines = [
        "digraph G {",
        f"graph [nodesep={SPACING.nodesep / 72:.4f} ranksep={SPACING.ranksep / 72:.4f} margin=0];",
        'node [shape=box fixedsize=true label=""];',
    ]
    for i, v in enumerate(nodes):
        w, h = sizes[v]
        lines.append(f"n{i} [width={w / 72:.4f} height={h / 72:.4f}];")
    # A reference badge's edge weighs nothing: the badge sits beside its user, never pulls it.
    light = {v for v, t in g.nodes(data="type") if t == "ref"}
    lines += [
        f"n{index[u]} -> n{index[v]}{'' if u in light or v in light else (' [weight=8]' if light else '')};"
        for u, v in _edges(g)
    ]
    lines.append("}")
    return "\n".join(lines), nodes


def _floats(text: str) -> list[float]:
    return [float(t) for t in text.split(",")]


def _parse_spline(pos: str) -> list[Point]:
    """dot's edge ``pos``: ``[s,x,y] [e,x,y] p0 p1 ...``; the s/e points are the arrow tips."""
    start = end = None
    pts: list[Point] = []
    for tok in pos.split(";")[0].split():  # ';' separates pieces of a concentrated edge
        if tok.startswith("s,"):
            start = tuple(_floats(tok[2:]))
        elif tok.startswith("e,"):
            end = tuple(_floats(tok[2:]))
        else:
            x, y = _floats(tok)[:2]
            pts.append((x, y))
    if len(pts) < 4 or (len(pts) - 1) % 3:
        raise DotError(f"unexpected edge pos {pos[:60]!r}")
    if start is not None:
        pts = [start, *_straight(start, pts[0]), *pts[1:]] if pts[0] != start else pts
    if end is not None and pts[-1] != end:
        pts = [*pts, *_straight(pts[-1], end)]
    return pts


def _straight(p: tuple, q: tuple) -> list[Point]:
    (x0, y0), (x1, y1) = p[:2], q[:2]
    return [
        (x0 + (x1 - x0) / 3, y0 + (y1 - y0) / 3),
        (x0 + 2 * (x1 - x0) / 3, y0 + 2 * (y1 - y0) / 3),
        (x1, y1),
    ]


def parse_dot_json(text: str | bytes, nodes: list[Hashable]) -> tuple[dict, dict, tuple]:
    """Positions, routes and bounding box from ``dot -Tjson0`` output, flipped to y-down."""
    data = json.loads(text)
    x0, y0, x1, y1 = _floats(data["bb"])
    flip = lambda p: (p[0], y1 - p[1] + y0)  # noqa: E731 - dot's y grows upward
    by_gvid: dict[int, Hashable] = {}
    positions: dict[Hashable, Point] = {}
    for obj in data.get("objects", []):
        name = obj.get("name", "")
        if "pos" not in obj or not name.startswith("n") or not name[1:].isdigit():
            continue  # subgraphs and anything we did not write
        v = nodes[int(name[1:])]
        by_gvid[obj["_gvid"]] = v
        px, py = _floats(obj["pos"])[:2]
        positions[v] = flip((px, py))
    if len(positions) != len(nodes):
        raise DotError(f"dot placed {len(positions)} of {len(nodes)} nodes")
    routes: dict[tuple[Hashable, Hashable], list[Point]] = {}
    for e in data.get("edges", []):
        u, v = by_gvid[e["tail"]], by_gvid[e["head"]]
        if "pos" in e:
            routes[(u, v)] = [flip(p) for p in _parse_spline(e["pos"])]
    return positions, routes, (x0, y0, x1, y1)


def _run(cmd: list[str], data: bytes, timeout: float) -> subprocess.CompletedProcess:
    """Run ``cmd`` with ``data`` on stdin; on timeout kill its whole process group, so a wrapper
    script's children cannot keep the pipes open (and us waiting) after it is gone."""
    posix = os.name == "posix"
    with subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=posix
    ) as proc:
        try:
            out, err = proc.communicate(data, timeout=timeout)
        except subprocess.TimeoutExpired:
            if posix:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
            proc.communicate()
            raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def dot_layout(g: nx.DiGraph, path: str, timeout: float = DOT_TIMEOUT) -> tuple[dict, dict, tuple]:
    """Run one dot binary on ``g``; raise :class:`DotError` on any trouble."""
    sizes = _sizes(g)
    src, nodes = dot_source(g, sizes)
    try:
        run = _run([path, "-Tjson0"], src.encode(), timeout)
    except subprocess.TimeoutExpired as exc:
        raise DotError(f"timed out after {timeout:g} s") from exc
    except OSError as exc:
        raise DotError(str(exc)) from exc
    if run.returncode != 0:
        msg = run.stderr.decode(errors="replace").strip().splitlines()
        raise DotError(f"exit {run.returncode}: {msg[-1] if msg else 'no message'}")
    try:
        return parse_dot_json(run.stdout, nodes)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise DotError(f"unreadable output: {exc}") from exc


# ---------------------------------------------------------------------------------------------
# built in


def _self_loop(p: Point, size: tuple[float, float]) -> list[Point]:
    (x, y), (w, h) = p, size
    r = x + w / 2
    return [(r, y - h / 4), (r + 12, y - h / 4 - 6), (r + 12, y + h / 4 + 6), (r, y + h / 4)]


def builtin_layout(g: nx.DiGraph, previous: Layout | None = None) -> tuple[dict, dict]:
    """Positions and routes from the built-in layered layout, seeded by ``previous`` if given."""
    sizes = _sizes(g)
    nodes = list(g)
    index = {v: i for i, v in enumerate(nodes)}
    edges = _edges(g)
    proper = [(index[u], index[v]) for u, v in edges if u != v]
    seed = None
    if previous is not None:
        seed = {index[v]: p[0] for v, p in previous.positions.items() if v in index}
    res = layered(
        len(nodes),
        proper,
        [sizes[v][0] for v in nodes],
        [sizes[v][1] for v in nodes],
        spacing=SPACING,
        seed_x=seed or None,
        light=frozenset(index[v] for v, t in g.nodes(data="type") if t == "ref"),
    )
    positions = {v: (float(res.x[i]), float(res.y[i])) for i, v in enumerate(nodes)}
    routes = {(nodes[a], nodes[b]): pts for (a, b), pts in res.routes.items()}
    for u, v in edges:
        if u == v:
            routes[(u, v)] = _self_loop(positions[u], sizes[u])
    return positions, routes


# ---------------------------------------------------------------------------------------------


def bounding_box(positions: dict, routes: dict, sizes: dict) -> tuple[float, float, float, float]:
    """What the nodes (centred at ``positions``, of ``sizes``) and edge routes cover: x0, y0, x1, y1."""
    xs, ys = [], []
    for v, (x, y) in positions.items():
        w, h = sizes[v]
        xs += [x - w / 2, x + w / 2]
        ys += [y - h / 2, y + h / 2]
    for pts in routes.values():
        xs += [p[0] for p in pts]
        ys += [p[1] for p in pts]
    if not xs:
        return (0.0, 0.0, 0.0, 0.0)
    return (min(xs), min(ys), max(xs), max(ys))


def _shift(positions: dict, routes: dict, dx: float, dy: float) -> tuple[dict, dict]:
    return (
        {v: (x + dx, y + dy) for v, (x, y) in positions.items()},
        {e: [(x + dx, y + dy) for x, y in pts] for e, pts in routes.items()},
    )


def _plan(g: nx.DiGraph, prefer: str | None, previous: Layout | None) -> list[tuple[str, str]]:
    """The dot binaries to try, in order (maybe none)."""
    if prefer == dot_binary.BUILTIN:
        return []
    if prefer in (None, "auto"):
        if g.number_of_nodes() > DOT_MAX_NODES:
            return []
        if previous is not None and previous.provider == dot_binary.BUILTIN:
            return []  # keep drawing the way the previous picture was drawn
        return dot_binary.working_candidates()
    found = dot_binary.working_candidates()
    if prefer == "dot":
        return found
    if prefer not in dot_binary.PROVIDERS:
        raise ValueError(f"prefer must be None, 'dot', or one of {dot_binary.PROVIDERS}, not {prefer!r}")
    return sorted(found, key=lambda c: c[1] != prefer)  # the preferred one first, the rest behind


def _alignment(positions: dict, previous: Layout) -> tuple[float, float, float]:
    """(dx, dy) that best lays ``positions`` over ``previous`` (the median move of shared nodes,
    undone), and the share of shared nodes that then sit within ``STABLE_DISTANCE`` of where they were.
    """
    shared = [v for v in positions if v in previous.positions]
    if not shared:
        return 0.0, 0.0, 1.0
    dxs = sorted(previous.positions[v][0] - positions[v][0] for v in shared)
    dys = sorted(previous.positions[v][1] - positions[v][1] for v in shared)
    dx, dy = dxs[len(dxs) // 2], dys[len(dys) // 2]
    near = sum(
        math.hypot(
            positions[v][0] + dx - previous.positions[v][0], positions[v][1] + dy - previous.positions[v][1]
        )
        <= STABLE_DISTANCE
        for v in shared
    )
    return dx, dy, near / len(shared)


def _transposed(g: nx.DiGraph) -> nx.DiGraph:
    """``g`` with every node's width and height swapped."""
    out = nx.DiGraph()
    for v, (w, h) in _sizes(g).items():
        out.add_node(v, width=h, height=w, type=g.nodes[v].get("type"))
    out.add_edges_from(_edges(g))
    return out


def _mirror(lay: Layout) -> Layout:
    """``lay`` mirrored across the diagonal: x and y swap, and so do widths and heights."""
    x0, y0, x1, y1 = lay.bbox
    return Layout(
        positions={v: (y, x) for v, (x, y) in lay.positions.items()},
        edges={e: [(y, x) for x, y in pts] for e, pts in lay.edges.items()},
        sizes={v: (h, w) for v, (w, h) in lay.sizes.items()},
        bbox=(y0, x0, y1, x1),
        provider=lay.provider,
        seconds=lay.seconds,
        notes=lay.notes,
        direction="LR" if lay.direction == "TB" else "TB",
    )


def layout(
    g: nx.DiGraph,
    *,
    prefer: str | None = None,
    previous: Layout | None = None,
    timeout: float = DOT_TIMEOUT,
    direction: str = "TB",
) -> Layout:
    """Lay out ``g``; see the module docstring for the choice of provider.

    ``previous``: an earlier layout of (most of) the same graph. The result is shifted so that
    the nodes the two share stay put (``bbox`` may then not start at 0, 0). The built-in layout
    keeps the previous order and pulls nodes towards their old places. dot knows nothing of the
    past: with ``prefer=None`` its answer is used only if it leaves most nodes where they were,
    and the built-in layout, seeded with the previous one, is used otherwise. A ``previous``
    layout in the other direction is no guide and is ignored.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, not {direction!r}")
    if previous is not None and previous.direction != direction:
        previous = None
    if direction == "LR":
        before = _mirror(previous) if previous is not None else None
        return _mirror(layout(_transposed(g), prefer=prefer, previous=before, timeout=timeout))
    t0 = time.perf_counter()
    sizes = _sizes(g)
    notes: list[str] = []
    result = None
    for path, provider in _plan(g, prefer, previous):
        try:
            positions, routes, _ = dot_layout(g, path, timeout)
        except DotError as exc:
            notes.append(f"{provider} ({path}): {exc}")
            continue
        if (
            previous is not None
            and prefer in (None, "auto")
            and _alignment(positions, previous)[2] < STABLE_SHARE
        ):
            notes.append(f"{provider}: moved too many nodes of the previous layout")
            break
        result = positions, routes, provider
        break
    if result is None:
        positions, routes = builtin_layout(g, previous)
        result = positions, routes, dot_binary.BUILTIN
    positions, routes, provider = result
    x0, y0, x1, y1 = bounding_box(positions, routes, sizes)
    if previous is not None:
        dx, dy, _ = _alignment(positions, previous)
    else:
        dx, dy = -x0, -y0
    if abs(dx) > 1e-9 or abs(dy) > 1e-9:
        positions, routes = _shift(positions, routes, dx, dy)
    return Layout(
        positions=positions,
        edges=routes,
        sizes=sizes,
        bbox=(x0 + dx, y0 + dy, x1 + dx, y1 + dy),  # the box moves with what it bounds
        provider=provider,
        seconds=time.perf_counter() - t0,
        notes=notes,
    )
