"""The built-in layered (Sugiyama) layout: fast enough for thousands of nodes, no binary needed.

Works on integer vertices 0..n-1 (``layout.py`` maps node names). Ranks run top to bottom, so
inputs sit at the top and outputs at the bottom, as torchviz draws autograd graphs.

1. Ranks: longest path from the sources, then every node with at least as many outputs as inputs
   (leaves, parameters, views of them) slides down to just above its first consumer. Rank
   assignment therefore depends only on a node's ancestors and users, so appending ops to a graph
   never moves the ranks of what is already there.
2. Long edges become chains of dummy vertices, one per rank crossed. A node's long out-edges share
   one chain (a trunk, like dot's ``concentrate``): a weight reused by every step of an unrolled
   loop costs one chain instead of one per use, which is what makes such graphs fast and legible.
3. Order within ranks: dot's mincross (barycenter sweeps and transpositions), then chain sifting,
   which moves whole trunks to their best slots; see ``mincross.py``. Fewer crossings than dot.
4. x: minimise sum(w * (x_u - x_v)**2) over links, subject to the separations within each rank,
   by Gauss-Seidel sweeps that solve each rank exactly (an isotonic regression). Heavy weights on
   dummy links keep long edges nearly straight; a previous layout adds a pull towards old places.
5. Routes: vertical inside each rank's band (where the nodes are, and where dummies are separated
   from nodes), S-shaped cubic curves in the empty gaps between bands. So an edge never passes
   through a node.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import networkx as nx
import numpy as np

from .checkpoint import checkpoint
from .mincross import Proper, order

Point = tuple[float, float]


@dataclass(frozen=True)
class Spacing:
    """Distances in points (dot's defaults: nodesep 0.25 in, ranksep 0.5 in)."""

    nodesep: float = 18.0  # between two nodes of a rank
    edgesep: float = 10.0  # between a passing edge and a node
    bundlesep: float = 8.0  # between two passing edges
    ranksep: float = 36.0  # between the bands of two ranks
    port: float = 8.0  # between the ends of edges meeting a node's side


@dataclass
class LayeredResult:
    x: np.ndarray  # centre of vertex i (real vertices first)
    y: np.ndarray
    routes: dict[tuple[int, int], list[Point]]  # cubic Bezier control points, 3k+1 each
    crossings: int  # of the ranks' order, each crossing weighted by the edges it involves


# ---------------------------------------------------------------------------------------------
# 1. acyclic + ranks


def _feedback_edges(g: nx.DiGraph) -> set[tuple[int, int]]:
    """Back edges of a depth-first search; reversing them leaves a DAG. (networkx finds cycles
    but offers no feedback arc set; a DFS's back edges are dot's choice too.)"""
    if nx.is_directed_acyclic_graph(g):
        return set()
    state = dict.fromkeys(g, 0)  # 0 new, 1 on the stack, 2 done
    back: set[tuple[int, int]] = set()
    for root in g:
        if state[root]:
            continue
        state[root] = 1
        stack = [(root, iter(g.succ[root]))]
        while stack:
            v, it = stack[-1]
            for w in it:
                if state[w] == 1:
                    back.add((v, w))
                elif state[w] == 0:
                    state[w] = 1
                    stack.append((w, iter(g.succ[w])))
                    break
            else:
                state[v] = 2
                stack.pop()
    return back


def ranks(g: nx.DiGraph) -> dict[int, int]:
    """Rank per vertex of a DAG, 0 at the top, with no empty ranks."""
    topo = list(nx.topological_sort(g))
    rank = dict.fromkeys(topo, 0)
    for v in topo:  # longest path from the sources
        for w in g.succ[v]:
            if rank[w] <= rank[v]:
                rank[w] = rank[v] + 1
    # Slide "producer" nodes down next to their first user: shorter edges, and leaves appear
    # beside the op that takes them instead of all piled up in the top row. A node whose
    # ancestors feed nothing else (a side computation such as ``x * noise`` that a deep chain
    # consumes late) slides too, with those ancestors: the whole little tree moves down, which
    # lengthens only the edges entering it from outside (``outside``) and shortens its own.
    outside: dict[int, int] = {}
    for v in topo:
        outside[v] = sum(outside[p] if len(g.succ[p]) == 1 else 1 for p in g.pred[v])
    for v in reversed(topo):
        succ = g.succ[v]
        if succ and min(g.in_degree(v), outside[v]) <= len(succ):
            rank[v] = min(rank[w] for w in succ) - 1
    used = sorted(set(rank.values()))
    if used and used[-1] + 1 != len(used):
        compact = {r: i for i, r in enumerate(used)}
        rank = {v: compact[r] for v, r in rank.items()}
    return rank


# ---------------------------------------------------------------------------------------------
# 2. the proper layered graph


LIGHT = 0.05  # weight of a light vertex's edges: it follows its neighbour, not the other way


def _make_proper(
    n: int, edges: list[tuple[int, int]], rank: list[int], light: frozenset[int] = frozenset()
) -> tuple[Proper, dict[tuple[int, int], list[int]], dict[tuple[int, int], float]]:
    """Cut long edges into dummies, one trunk per tail; also each edge's path and link weights."""
    rank = rank[:]
    weight: dict[tuple[int, int], float] = {}
    mult: dict[tuple[int, int], int] = {}
    paths: dict[tuple[int, int], list[int]] = {}
    by_tail: dict[int, list[int]] = {}
    trunks: list[list[int]] = []
    for u, v in edges:
        by_tail.setdefault(u, []).append(v)
    for u, heads in by_tail.items():
        far = max(rank[v] for v in heads)
        trunk = list(range(len(rank), len(rank) + max(0, far - rank[u] - 1)))
        rank += range(rank[u] + 1, far)
        if trunk:
            trunks.append(trunk)
        for v in heads:
            span = rank[v] - rank[u]
            path = [u, *trunk[: span - 1], v]
            paths[(u, v)] = path
            for i, link in enumerate(pairwise(path)):
                # dot weighs real-real 1, real-dummy 2, dummy-dummy 8: straight long edges matter
                w = 1.0 if span == 1 else (8.0 if 0 < i < span - 1 else 2.0)
                if u in light or v in light:
                    w *= LIGHT
                weight[link] = weight.get(link, 0.0) + w
                mult[link] = mult.get(link, 0) + 1
    nv = len(rank)
    up: list[list[int]] = [[] for _ in range(nv)]
    down: list[list[int]] = [[] for _ in range(nv)]
    upm: list[list[int]] = [[] for _ in range(nv)]
    downm: list[list[int]] = [[] for _ in range(nv)]
    for (a, b), m in mult.items():
        down[a].append(b)
        downm[a].append(m)
        up[b].append(a)
        upm[b].append(m)
    return Proper(n, rank, up, down, upm, downm, trunks), paths, weight


# ---------------------------------------------------------------------------------------------
# 4. x coordinates


def _isotonic(target: list[float], wt: list[float]) -> list[float]:
    """Weighted least squares fit of a non-decreasing sequence (pool adjacent violators)."""
    means: list[float] = []
    weights: list[float] = []
    counts: list[int] = []
    for m, ww in zip(target, wt):
        c = 1
        while means and means[-1] > m:
            pw = weights.pop()
            m = (means.pop() * pw + m * ww) / (pw + ww)
            ww += pw
            c += counts.pop()
        means.append(m)
        weights.append(ww)
        counts.append(c)
    if len(means) == len(target):  # nothing pooled: the sequence was in order
        return means
    out: list[float] = []
    for m, c in zip(means, counts):
        out += [m] * c
    return out


SEQUENTIAL = 2  # plain Gauss-Seidel sweeps (down and up) before the red-black ones


def coordinates(
    g: Proper,
    weight: dict[tuple[int, int], float],
    layers: list[list[int]],
    width: list[float],
    spacing: Spacing,
    anchor: dict[int, float] | None,
    sweeps: int,
) -> np.ndarray:
    """x of every vertex: minimise sum(w (x_a - x_b)^2) over links, keeping each rank's order and
    separations, plus a pull of each vertex towards its ``anchor`` x when given.

    Red-black block Gauss-Seidel: all even ranks are solved at once from the odd ones, then the
    odd ranks from the even; each rank's subproblem, a weighted isotonic regression after
    subtracting the separations, is solved exactly. Ranks of one vertex need no regression.
    """
    nv, n = len(g.rank), g.n
    if nv == 0:
        return np.zeros(0)
    seq = np.fromiter((v for layer in layers for v in layer), dtype=np.int64, count=nv)
    sizes = np.array([len(layer) for layer in layers], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rank_of_slot = np.repeat(np.arange(len(layers)), sizes)
    # offsets: required distance of each vertex from the first of its rank
    wid = np.asarray(width, dtype=float)[seq]
    real = seq < n
    prev_real = np.concatenate([[False], real[:-1]])
    gap = np.where(
        real & prev_real, spacing.nodesep, np.where(real | prev_real, spacing.edgesep, spacing.bundlesep)
    )
    step = np.concatenate([[0.0], (wid[1:] + wid[:-1]) / 2]) + gap
    step[starts] = 0.0
    off = np.cumsum(step)
    off -= np.repeat(off[starts], sizes)
    offset = np.empty(nv)
    offset[seq] = off
    # links, both ways, for the weighted mean of neighbours
    links = np.array(list(weight.keys()), dtype=np.int64).reshape(-1, 2)
    lw = np.fromiter(weight.values(), dtype=float, count=len(links))
    la, lb = np.concatenate([links[:, 0], links[:, 1]]), np.concatenate([links[:, 1], links[:, 0]])
    lw2 = np.concatenate([lw, lw])
    pull = np.zeros(nv)
    home = np.zeros(nv)
    if anchor:
        keys = np.fromiter(anchor.keys(), dtype=np.int64, count=len(anchor))
        pull[keys] = 0.5  # the previous position weighs half an edge: remembered, not binding
        home[keys] = np.fromiter(anchor.values(), dtype=float, count=len(anchor))
    tw = np.bincount(la, weights=lw2, minlength=nv) + pull
    lonely = tw == 0
    # Start with each rank centred on 0, even with anchors: the sweeps stop short of the optimum,
    # so the same start is what makes the same graph come out the same, and a grown graph close.
    x = offset - np.repeat(off[starts + sizes - 1] / 2, sizes)[np.argsort(seq)]
    if anchor:  # the anchors' frame may be shifted: only their shape matters
        home[keys] -= float(np.median(home[keys] - x[keys]))
    classes = []
    for parity in (0, 1):
        slots = np.nonzero(rank_of_slot % 2 == parity)[0]
        vs = seq[slots]
        ranks_here = rank_of_slot[slots]
        multi = sizes[ranks_here] > 1
        # contiguous runs of one rank among the multi-vertex ranks, for the regressions
        mslots = slots[multi]
        bounds = np.nonzero(np.diff(rank_of_slot[mslots]))[0] + 1
        runs = list(
            zip(np.concatenate([[0], bounds]).tolist(), np.concatenate([bounds, [len(mslots)]]).tolist())
        )
        classes.append((vs[~multi], seq[mslots], runs))
    # Sequential sweeps first: they carry positions from one end of the graph to the other in
    # one pass, where the red-black ones below move information two ranks a pass.
    xl = x.tolist()
    nbr: list[list[tuple[int, float]]] = [[] for _ in range(nv)]
    for (a, b), w in weight.items():
        nbr[a].append((b, w))
        nbr[b].append((a, w))
    offl, twl, pl, hl = offset.tolist(), tw.tolist(), (pull * home).tolist(), lonely.tolist()
    nr = len(layers)
    for k in range(2 * SEQUENTIAL):
        checkpoint()
        for r in range(nr) if k % 2 == 0 else range(nr - 1, -1, -1):
            layer = layers[r]
            tgt = []
            for v in layer:
                if hl[v]:
                    tgt.append(xl[v])
                    continue
                acc = pl[v]
                for w, ew in nbr[v]:
                    acc += ew * xl[w]
                tgt.append(acc / twl[v])
            if len(layer) == 1:
                xl[layer[0]] = tgt[0]
                continue
            fit = _isotonic(
                [t - offl[v] for t, v in zip(tgt, layer)], [1e-3 if hl[v] else twl[v] for v in layer]
            )
            for v, f in zip(layer, fit):
                xl[v] = f + offl[v]
    x = np.asarray(xl)
    for _ in range(sweeps):
        checkpoint()
        for single, mvs, runs in classes:
            ts = np.bincount(la, weights=lw2 * x[lb], minlength=nv) + pull * home
            target = np.where(lonely, x, ts / np.where(lonely, 1.0, tw))
            x[single] = target[single]
            if runs:
                t = (target[mvs] - offset[mvs]).tolist()
                w = np.where(lonely[mvs], 1e-3, tw[mvs]).tolist()
                fit: list[float] = []
                for s0, s1 in runs:
                    fit += _isotonic(t[s0:s1], w[s0:s1])
                x[mvs] = np.asarray(fit) + offset[mvs]
    return x


# ---------------------------------------------------------------------------------------------
# 5. y coordinates and routes


def _line(p: Point, q: Point) -> list[Point]:
    """A straight cubic segment from p to q, without p."""
    (x0, y0), (x1, y1) = p, q
    return [(x0 + (x1 - x0) / 3, y0 + (y1 - y0) / 3), (x0 + 2 * (x1 - x0) / 3, y0 + 2 * (y1 - y0) / 3), q]


def _s_curve(p: Point, q: Point) -> list[Point]:
    """A cubic from p down to q, vertical at both ends, staying inside their y range."""
    (x0, y0), (x1, y1) = p, q
    mid = (y0 + y1) / 2
    return [(x0, mid), (x1, mid), q]


def _ports(centre: float, size: float, keys: list[float], spacing: float) -> list[float]:
    """x of k edge ends along a side of length ``size``, spread evenly, in the order of keys."""
    k = len(keys)
    if k == 1:
        return [centre]
    step = min(spacing, 0.8 * size / (k - 1))
    ranked = sorted(range(k), key=lambda i: (keys[i], i))
    out = [0.0] * k
    for slot, i in enumerate(ranked):
        out[i] = centre + (slot - (k - 1) / 2) * step
    return out


def routes(
    g: Proper,
    paths: dict[tuple[int, int], list[int]],
    x: list[float],
    y: list[float],
    band: list[tuple[float, float]],
    width: list[float],
    height: list[float],
    spacing: Spacing,
) -> dict[tuple[int, int], list[Point]]:
    """Cubic Bezier routes along each edge's path of vertices.

    Inside a rank's band (where its nodes are) a route is a vertical line at its dummy's x, which
    the coordinates keep clear of nodes; between bands it is an S-curve that stays inside the
    empty gap. So no route enters a node. Runs of dummies at one x become one straight line.
    """
    # Ports: one per distinct first (last) hop, so the edges of a trunk share a port.
    out_port: dict[tuple[int, int], float] = {}
    in_port: dict[tuple[int, int], float] = {}
    for v in range(g.n):
        for nbrs, store in ((g.down[v], out_port), (g.up[v], in_port)):
            if nbrs:
                for w, px in zip(nbrs, _ports(x[v], width[v], [x[w] for w in nbrs], spacing.port)):
                    store[(v, w)] = px
    rank = g.rank
    out: dict[tuple[int, int], list[Point]] = {}
    for k, ((u, v), path) in enumerate(paths.items()):
        if k % 1024 == 0:
            checkpoint()
        px, qx = out_port[(u, path[1])], in_port[(v, path[-2])]
        # vertical runs (x, top, bottom): below the tail, through each dummy, above the head
        runs = [(px, y[u] + height[u] / 2, band[rank[u]][1])]
        for d in path[1:-1]:
            top, bottom = band[rank[d]]
            if abs(x[d] - runs[-1][0]) < 0.01:
                runs[-1] = (runs[-1][0], runs[-1][1], bottom)
            else:
                runs.append((x[d], top, bottom))
        top = band[rank[v]][0]
        if abs(qx - runs[-1][0]) < 0.01:
            runs[-1] = (runs[-1][0], runs[-1][1], y[v] - height[v] / 2)
        else:
            runs.append((qx, top, y[v] - height[v] / 2))
        pts: list[Point] = [(runs[0][0], runs[0][1])]
        for k, (rx, ry0, ry1) in enumerate(runs):
            if k:
                pts += _s_curve(pts[-1], (rx, ry0))
            if ry1 > ry0 + 0.01:
                pts += _line((rx, ry0), (rx, ry1))
        out[(u, v)] = pts
    return out


# ---------------------------------------------------------------------------------------------


def layered(
    n: int,
    edges: list[tuple[int, int]],
    width: list[float],
    height: list[float],
    *,
    spacing: Spacing = Spacing(),
    seed_x: dict[int, float] | None = None,
    iterations: int = 6,
    sweeps: int = 8,
    light: frozenset[int] = frozenset(),
) -> LayeredResult:
    """Lay out vertices 0..n-1 joined by ``edges`` (no self-loops, no duplicates).

    ``seed_x``: x of vertices in a previous layout, to start from and stay near. ``light``:
    vertices whose edges barely pull (reference badges), so they sit beside their neighbour
    instead of pulling it, and a chain of ops with a badge at each step stays straight.
    """
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(edges)
    back = _feedback_edges(graph)
    dag = list(dict.fromkeys((v, u) if (u, v) in back else (u, v) for u, v in edges))
    if back:
        graph = nx.DiGraph()
        graph.add_nodes_from(range(n))
        graph.add_edges_from(dag)
    checkpoint()
    by_vertex = ranks(graph)
    rank = [by_vertex[v] for v in range(n)]
    g, paths, weight = _make_proper(n, dag, rank, light)
    nranks = max(rank) + 1 if n else 0
    nv = len(g.rank)
    wid = list(width) + [0.0] * (nv - n)
    layers, crossings = order(g, nranks, seed_x, iterations)
    xa = coordinates(g, weight, layers, wid, spacing, seed_x, sweeps)
    if nv and not seed_x:
        xa -= float(np.min(xa - np.asarray(wid) / 2))  # left edge at 0; routes stay within
    x = xa.tolist()
    # y: each rank is a band as tall as its tallest node; bands are ranksep apart
    tallest = [0.0] * nranks
    for v in range(n):
        tallest[rank[v]] = max(tallest[rank[v]], height[v])
    band: list[tuple[float, float]] = []
    top = 0.0
    for r in range(nranks):
        band.append((top, top + tallest[r]))
        top += tallest[r] + spacing.ranksep
    y = [(band[r][0] + band[r][1]) / 2 for r in g.rank]
    hts = list(height) + [0.0] * (nv - n)
    out = routes(g, paths, x, y, band, wid, hts, spacing)
    edge_set = set(edges)
    for u, v in back:  # laid out along the reversed edge, so turn the route round
        if (v, u) in out:
            out[(u, v)] = out[(v, u)][::-1]
            if (v, u) not in edge_set:
                del out[(v, u)]
    return LayeredResult(np.asarray(x[:n]), np.asarray(y[:n]), out, crossings)
