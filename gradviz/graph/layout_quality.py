"""Measures of a finished :class:`~gradviz.graph.layout.Layout`, whoever produced it.

They look only at the geometry (node boxes and edge curves), so dot's layouts and the built-in
ones are judged by the same rule; the benchmark and the tests both use them.
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np

from .layout import Layout
from .mincross import inversions


def sample(points: list[tuple[float, float]], per_segment: int = 12) -> np.ndarray:
    """A polyline through a cubic Bezier chain (3k+1 control points), shape (k*per_segment+1, 2)."""
    p = np.asarray(points, dtype=float)
    k = (len(p) - 1) // 3
    if k == 0:
        return p
    seg = np.stack([p[0 : 3 * k : 3], p[1 : 3 * k : 3], p[2 : 3 * k : 3], p[3 : 3 * k + 1 : 3]], axis=1)
    t = np.linspace(0.0, 1.0, per_segment, endpoint=False)[:, None]
    basis = np.hstack([(1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t**2 * (1 - t), t**3])  # (s, 4)
    out = np.einsum("sj,kjd->ksd", basis, seg).reshape(-1, 2)
    return np.vstack([out, p[-1:]])


def _x_at(poly: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """x where the polyline first reaches each height in ys (heights inside its y range)."""
    y = poly[:, 1]
    # A route is meant to run downward; dot's can wobble by a fraction of a point, so
    # take the running maximum, which leaves a truly monotone route unchanged.
    ymono = np.maximum.accumulate(y)
    i = np.clip(np.searchsorted(ymono, ys, side="left"), 1, len(y) - 1)
    y0, y1 = ymono[i - 1], ymono[i]
    x0, x1 = poly[i - 1, 0], poly[i, 0]
    t = np.where(y1 > y0, (ys - y0) / np.where(y1 > y0, y1 - y0, 1.0), 0.0)
    return x0 + t * (x1 - x0)


def crossings(lay: Layout) -> int:
    """Edge crossings counted between consecutive rank lines.

    Rank lines are the heights of node centres. Each edge is cut where its curve meets each line
    it passes (its ends count at the node centres, as in the layered-drawing crossing number), and
    two edges cross in a gap between lines when their order swaps across it. This is the measure
    Sugiyama-style layouts (dot's included) minimise, taken from the drawing itself.
    """
    if not lay.edges:
        return 0
    lines = np.unique(np.round([p[1] for p in lay.positions.values()], 2))
    gaps, tops, bots = [], [], []
    for (u, v), pts in lay.edges.items():
        (xu, yu), (xv, yv) = lay.positions[u], lay.positions[v]
        if abs(yu - yv) < 0.01:
            continue  # flat or self-loop: not between ranks
        poly = sample(pts)
        if yu > yv:  # an edge drawn upward (a cycle): walk it downward
            (xu, yu), (xv, yv), poly = (xv, yv), (xu, yu), poly[::-1]
        a, b = np.searchsorted(lines, np.round(yu, 2)), np.searchsorted(lines, np.round(yv, 2))
        inner = lines[a + 1 : b]
        xs = np.concatenate([[xu], _x_at(poly, inner), [xv]])
        gaps.append(np.arange(a, b))
        tops.append(xs[:-1])
        bots.append(xs[1:])
    if not gaps:
        return 0
    g, t, b = np.concatenate(gaps), np.concatenate(tops), np.concatenate(bots)
    # Order within a gap by top x, then bottom x, so ties (shared ends) are never inversions;
    # then an inversion of bottom x inside one gap is one crossing.
    idx = np.lexsort((b, t, g))
    ranked = np.unique(b, return_inverse=True)[1]
    return inversions(g[idx] * (ranked.max() + 1) + ranked[idx])


def overlapping_nodes(lay: Layout, gap: float = 0.5) -> list[tuple[Hashable, Hashable]]:
    """Pairs of node boxes that overlap by more than ``gap`` points."""
    nodes = list(lay.positions)
    if len(nodes) < 2:
        return []
    c = np.array([lay.positions[v] for v in nodes])
    s = np.array([lay.sizes[v] for v in nodes]) / 2
    out = []
    order = np.argsort(c[:, 0] - s[:, 0])
    for k, i in enumerate(order):  # sweep in x: only boxes that start before this one ends
        for j in order[k + 1 :]:
            if c[j, 0] - s[j, 0] >= c[i, 0] + s[i, 0] - gap:
                break
            if abs(c[i, 1] - c[j, 1]) < s[i, 1] + s[j, 1] - gap:
                out.append((nodes[i], nodes[j]))
    return out


def edges_through_nodes(lay: Layout, inset: float = 1.0) -> list[tuple[tuple[Hashable, Hashable], Hashable]]:
    """(edge, node) for every edge whose curve enters a node other than its own two ends.

    A node counts as entered when a point of the curve lies more than ``inset`` points inside
    its box (curves may graze a border).
    """
    nodes = list(lay.positions)
    if not nodes or not lay.edges:
        return []
    index = {v: i for i, v in enumerate(nodes)}
    c = np.array([lay.positions[v] for v in nodes])
    half = np.array([lay.sizes[v] for v in nodes]) / 2 - inset
    lo, hi = c - half, c + half
    cell = float(max(np.max(half) * 2, 1.0)) + 1
    # each node is filed under every grid cell its box touches (at most four: cell > box)
    cx0, cy0 = np.floor(lo / cell).astype(np.int64).T
    cx1, cy1 = np.floor(hi / cell).astype(np.int64).T
    keys, owners = [], []
    for dx in (0, 1):
        for dy in (0, 1):
            ok = (cx0 + dx <= cx1) & (cy0 + dy <= cy1)
            keys.append(((cx0 + dx) * 1_000_003 + (cy0 + dy))[ok])
            owners.append(np.nonzero(ok)[0])
    keys_a, owners_a = np.concatenate(keys), np.concatenate(owners)
    order = np.argsort(keys_a, kind="stable")
    keys_a, owners_a = keys_a[order], owners_a[order]

    edges = list(lay.edges)
    polys = [sample(lay.edges[e]) for e in edges]
    pts = np.vstack(polys)
    eid = np.repeat(np.arange(len(edges)), [len(p) for p in polys])
    pk = np.floor(pts[:, 0] / cell).astype(np.int64) * 1_000_003 + np.floor(pts[:, 1] / cell).astype(np.int64)
    start = np.searchsorted(keys_a, pk, side="left")
    count = np.searchsorted(keys_a, pk, side="right") - start
    pi = np.repeat(np.arange(len(pts)), count)
    ni = owners_a[
        np.repeat(start, count) + (np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count))
    ]
    inside = np.all((pts[pi] > lo[ni]) & (pts[pi] < hi[ni]), axis=1)
    ends = np.array([[index[u], index[v]] for u, v in edges])
    e = eid[pi]
    inside &= (ni != ends[e, 0]) & (ni != ends[e, 1])
    hits = sorted({(int(a), int(b)) for a, b in zip(e[inside], ni[inside])})
    return [(edges[a], nodes[b]) for a, b in hits]
