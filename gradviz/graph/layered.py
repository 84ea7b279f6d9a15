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
3. Order within ranks: barycenter sweeps down and up, each followed by transposition of adjacent
   vertices, keeping the order with the fewest crossings (counted exactly).
4. x: minimise sum(w * (x_u - x_v)**2) over edges subject to the separations within each rank, by
   sweeps that solve each rank exactly (an isotonic regression, pool-adjacent-violators). Heavy
   weights on dummy chains keep long edges nearly straight.
5. Routes: vertical inside each rank's band (where the nodes are, and where dummies are separated
   from nodes), S-shaped cubic curves in the empty gaps between bands. So an edge never passes
   through a node.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
    crossings: int  # of the layered ordering (an edge through a trunk counts once per segment)


# ---------------------------------------------------------------------------------------------
# 1. acyclic + ranks


def _feedback_edges(n: int, succ: list[list[int]]) -> set[tuple[int, int]]:
    """Back edges of an iterative DFS in vertex order; reversing them leaves a DAG."""
    state = [0] * n  # 0 new, 1 on stack, 2 done
    back: set[tuple[int, int]] = set()
    for root in range(n):
        if state[root]:
            continue
        state[root] = 1
        stack = [(root, iter(succ[root]))]
        while stack:
            v, it = stack[-1]
            for w in it:
                if state[w] == 1:
                    back.add((v, w))
                elif state[w] == 0:
                    state[w] = 1
                    stack.append((w, iter(succ[w])))
                    break
            else:
                state[v] = 2
                stack.pop()
    return back


def _topological(n: int, succ: list[list[int]], indeg: list[int]) -> list[int]:
    deg = indeg[:]
    order = [v for v in range(n) if deg[v] == 0]
    for v in order:  # the list grows while it is walked: Kahn's algorithm, deterministic
        for w in succ[v]:
            deg[w] -= 1
            if deg[w] == 0:
                order.append(w)
    return order


def ranks(n: int, succ: list[list[int]], pred: list[list[int]]) -> list[int]:
    """Rank per vertex for a DAG, 0 at the top, with no empty ranks."""
    order = _topological(n, succ, [len(p) for p in pred])
    rank = [0] * n
    for v in order:
        for w in succ[v]:
            if rank[w] <= rank[v]:
                rank[w] = rank[v] + 1
    # Slide "producer" nodes down next to their first user: shorter edges, and leaves appear
    # beside the op that takes them instead of all piled up in the top row.
    for v in reversed(order):
        if succ[v] and len(pred[v]) <= len(succ[v]):
            rank[v] = min(rank[w] for w in succ[v]) - 1
    used = sorted(set(rank))
    if used[-1] + 1 != len(used):
        compact = {r: i for i, r in enumerate(used)}
        rank = [compact[r] for r in rank]
    return rank


# ---------------------------------------------------------------------------------------------
# 2. the proper layered graph


@dataclass
class _Layered:
    n: int  # real vertices are 0..n-1, dummies n..
    rank: list[int]
    up: list[list[int]]  # neighbours one rank above
    down: list[list[int]]  # neighbours one rank below
    chains: dict[tuple[int, int], list[int]]  # original edge -> vertices it passes, ends included
    weight: dict[tuple[int, int], float]  # proper edge -> weight for coordinate assignment


def _make_proper(n: int, edges: list[tuple[int, int]], rank: list[int]) -> _Layered:
    rank = rank[:]
    up: list[list[int]] = [[] for _ in range(n)]
    down: list[list[int]] = [[] for _ in range(n)]
    weight: dict[tuple[int, int], float] = {}
    chains: dict[tuple[int, int], list[int]] = {}

    def vertex(r: int) -> int:
        rank.append(r)
        up.append([])
        down.append([])
        return len(rank) - 1

    def link(a: int, b: int, w: float) -> None:
        if (a, b) not in weight:
            down[a].append(b)
            up[b].append(a)
            weight[(a, b)] = 0.0
        weight[(a, b)] += w

    by_tail: dict[int, list[int]] = {}
    for u, v in edges:
        by_tail.setdefault(u, []).append(v)
    for u, heads in by_tail.items():
        far = max(rank[v] for v in heads)
        # dot weighs real-real 1, real-dummy 2, dummy-dummy 8: straight long edges matter most
        trunk = [vertex(r) for r in range(rank[u] + 1, far)]
        for v in heads:
            span = rank[v] - rank[u]
            path = [u, *trunk[: span - 1], v]
            chains[(u, v)] = path
            for i, (a, b) in enumerate(zip(path, path[1:])):
                w = 1.0 if span == 1 else (8.0 if 0 < i < span - 1 else 2.0)
                link(a, b, w)
    return _Layered(n, rank, up, down, chains, weight)


# ---------------------------------------------------------------------------------------------
# 3. order within ranks


def _seeded_order(lay: _Layered, nranks: int, seed_x: dict[int, float]) -> list[list[int]]:
    """Ranks sorted by a previous layout's x; new vertices take the mean x of placed neighbours."""
    layers: list[list[int]] = [[] for _ in range(nranks)]
    nv = len(lay.rank)
    x = [seed_x.get(v) for v in range(nv)]
    for r_order in (range(nv), reversed(range(nv))):
        for v in r_order:
            if x[v] is None:
                known = [x[w] for w in lay.up[v] + lay.down[v] if x[w] is not None]
                if known:
                    x[v] = sum(known) / len(known)
    for v in range(nv):
        layers[lay.rank[v]].append(v)
    for layer in layers:
        layer.sort(key=lambda v: (x[v] if x[v] is not None else float("inf"), v))
    return layers


def _dfs_order(lay: _Layered, nranks: int, from_top: bool) -> list[list[int]]:
    """Depth-first from the sources (or from the sinks, walking up), appending each vertex to its
    rank as it is reached, so connected parts start out together (dot's init_order). From the
    sinks, a tree of ops feeding one output comes out without crossings.
    """
    layers: list[list[int]] = [[] for _ in range(nranks)]
    nv = len(lay.rank)
    ahead, behind = (lay.down, lay.up) if from_top else (lay.up, lay.down)
    roots = range(nv) if from_top else range(nv - 1, -1, -1)
    seen = [False] * nv
    for root in roots:
        if seen[root] or behind[root]:
            continue
        stack = [root]
        while stack:
            v = stack.pop()
            if seen[v]:
                continue
            seen[v] = True
            layers[lay.rank[v]].append(v)
            stack.extend(reversed(ahead[v]))
    for v in range(nv):  # not reachable from a root: cannot happen in a DAG, but cheap to guard
        if not seen[v]:
            layers[lay.rank[v]].append(v)
    return layers


def count_crossings(layers: list[list[int]], down: list[list[int]]) -> int:
    """Exact crossings of straight segments between consecutive ranks, all ranks at once."""
    pos = _positions(layers, len(down))
    gap, top, bot = [], [], []
    for r, layer in enumerate(layers[:-1]):
        for v in layer:
            for w in down[v]:
                gap.append(r)
                top.append(pos[v])
                bot.append(pos[w])
    if len(gap) < 2:
        return 0
    g, t, b = np.asarray(gap), np.asarray(top), np.asarray(bot)
    idx = np.lexsort((b, t, g))
    width = int(max(t.max(), b.max())) + 1
    return inversions(g[idx] * width + b[idx])


def inversions(seq: np.ndarray) -> int:
    """Pairs i < j with seq[i] > seq[j]: a bottom-up merge sort, each level vectorised."""
    a = np.asarray(seq, dtype=np.int64)
    n = len(a)
    if n < 2:
        return 0
    size = 1 << (n - 1).bit_length()
    big = int(a.max()) + 1
    a = np.concatenate([a, np.full(size - n, big, dtype=np.int64)])  # padding adds no inversions
    total, block = 0, 1
    span = big + 1
    while block < size:
        pairs = a.reshape(-1, 2, block)
        offset = (np.arange(len(pairs), dtype=np.int64) * span)[:, None]
        left = (pairs[:, 0, :] + offset).ravel()  # sorted: blocks sorted, offsets increasing
        right = pairs[:, 1, :] + offset
        not_greater = np.searchsorted(left, right.ravel(), side="right").reshape(right.shape)
        not_greater -= (np.arange(len(pairs)) * block)[:, None]
        total += int((block - not_greater).sum())
        a = np.sort(pairs.reshape(-1, 2 * block), axis=1).ravel()
        block *= 2
    return total


def _positions(layers: list[list[int]], nv: int) -> list[int]:
    pos = [0] * nv
    for layer in layers:
        for i, v in enumerate(layer):
            pos[v] = i
    return pos


def _sweep(
    layers: list[list[int]], pos: list[int], nbrs: list[list[int]], other: list[list[int]], ranks_: range
) -> None:
    """Reorder each rank by the barycenter of its neighbours in the rank just visited.

    A vertex with no neighbour there (a leaf, on the way down) follows its neighbours on the other
    side instead; one with none at all keeps its slot, as in dot.
    """
    for r in ranks_:
        layer = layers[r]
        keyed, fixed = [], []
        for i, v in enumerate(layer):
            nb = nbrs[v] or other[v]
            if nb:
                s = 0
                for w in nb:
                    s += pos[w]
                keyed.append((s / len(nb), i, v))
            else:
                fixed.append(i)
        keyed.sort()
        if fixed:
            out = [-1] * len(layer)
            for i in fixed:
                out[i] = layer[i]
            it = iter(keyed)
            for i in range(len(out)):
                if out[i] < 0:
                    out[i] = next(it)[2]
        else:
            out = [k[2] for k in keyed]
        layers[r] = out
        for i, v in enumerate(out):
            pos[v] = i


def _pair_cost(a: int, b: int, up: list[list[int]], down: list[list[int]], pos: list[int]) -> int:
    """Crossings among edges of a and b when a is left of b (both neighbour ranks)."""
    c = 0
    for na, nb in ((up[a], up[b]), (down[a], down[b])):
        if na and nb:
            for p in na:
                pa = pos[p]
                for q in nb:
                    if pa > pos[q]:
                        c += 1
    return c


def _transpose(layers: list[list[int]], pos: list[int], up: list[list[int]], down: list[list[int]]) -> None:
    """Swap neighbours in a rank while that removes crossings; revisit ranks next to a change."""
    dirty = set(range(len(layers)))
    while dirty:
        r = min(dirty)
        dirty.discard(r)
        layer = layers[r]
        changed = False
        for i in range(len(layer) - 1):
            a, b = layer[i], layer[i + 1]
            if _pair_cost(b, a, up, down, pos) < _pair_cost(a, b, up, down, pos):
                layer[i], layer[i + 1] = b, a
                pos[a], pos[b] = i + 1, i
                changed = True
        if changed:
            dirty.update(x for x in (r - 1, r, r + 1) if 0 <= x < len(layers))


def _improve(layers: list[list[int]], lay: _Layered, iterations: int) -> tuple[list[list[int]], int]:
    nranks = len(layers)
    pos = _positions(layers, len(lay.rank))
    _transpose(layers, pos, lay.up, lay.down)
    best, best_c = [list(layer) for layer in layers], count_crossings(layers, lay.down)
    stale = 0
    for it in range(iterations):
        if best_c == 0:
            break
        if it % 2 == 0:
            _sweep(layers, pos, lay.up, lay.down, range(1, nranks))
        else:
            _sweep(layers, pos, lay.down, lay.up, range(nranks - 2, -1, -1))
        _transpose(layers, pos, lay.up, lay.down)
        c = count_crossings(layers, lay.down)
        if c < best_c:
            best, best_c, stale = [list(layer) for layer in layers], c, 0
        else:
            stale += 1
            if stale >= 4:
                break
    return best, best_c


def order(lay: _Layered, nranks: int, seed_x: dict[int, float] | None, iterations: int) -> tuple[list[list[int]], int]:
    """Orders per rank with few crossings, and their crossing count."""
    if seed_x:  # the old order is already good: polish it, keep it recognisable
        return _improve(_seeded_order(lay, nranks, seed_x), lay, iterations)
    best: tuple[list[list[int]], int] | None = None
    for from_top in (False, True):
        got = _improve(_dfs_order(lay, nranks, from_top), lay, iterations)
        if best is None or got[1] < best[1]:
            best = got
    assert best is not None
    return best


# ---------------------------------------------------------------------------------------------
# 4. x coordinates


def _isotonic(target: list[float], wt: list[float]) -> list[float]:
    """Weighted least squares fit of a non-decreasing sequence (pool adjacent violators)."""
    means: list[float] = []
    weights: list[float] = []
    counts: list[int] = []
    for t, w in zip(target, wt):
        m, ww, c = t, w, 1
        while means and means[-1] > m:
            pm, pw, pc = means.pop(), weights.pop(), counts.pop()
            m = (pm * pw + m * ww) / (pw + ww)
            ww += pw
            c += pc
        means.append(m)
        weights.append(ww)
        counts.append(c)
    out: list[float] = []
    for m, c in zip(means, counts):
        out.extend([m] * c)
    return out


def coordinates(
    lay: _Layered,
    layers: list[list[int]],
    width: list[float],
    spacing: Spacing,
    anchor: dict[int, float] | None,
    sweeps: int,
) -> list[float]:
    nv = len(lay.rank)
    n = lay.n
    nbr: list[list[tuple[int, float]]] = [[] for _ in range(nv)]
    for (a, b), w in lay.weight.items():
        nbr[a].append((b, w))
        nbr[b].append((a, w))
    # required distance between the centres of neighbours in a rank, as prefix sums per rank
    offsets: list[list[float]] = []
    for layer in layers:
        s, acc = 0.0, []
        for i, v in enumerate(layer):
            if i:
                u = layer[i - 1]
                gap = spacing.nodesep if (u < n and v < n) else (spacing.edgesep if (u < n or v < n) else spacing.bundlesep)
                s += (width[u] + width[v]) / 2 + gap
            acc.append(s)
        offsets.append(acc)
    x = [0.0] * nv
    for layer, acc in zip(layers, offsets):
        mid = acc[-1] / 2 if acc else 0.0
        for v, s in zip(layer, acc):
            x[v] = (anchor or {}).get(v, s - mid)
    pull = 0.5  # weight of the previous position, relative to one edge

    def place(r: int) -> None:
        layer, acc = layers[r], offsets[r]
        target, wt = [], []
        for v, s in zip(layer, acc):
            tw, ts = 0.0, 0.0
            for w, ew in nbr[v]:
                tw += ew
                ts += ew * x[w]
            if anchor is not None and v in anchor:
                tw += pull
                ts += pull * anchor[v]
            if tw == 0.0:  # isolated: stay put, weakly
                tw, ts = 1e-3, 1e-3 * x[v]
            target.append(ts / tw - s)
            wt.append(tw)
        for v, yv, s in zip(layer, _isotonic(target, wt), acc):
            x[v] = yv + s

    nr = len(layers)
    for _ in range(sweeps):
        for r in range(nr):
            place(r)
        for r in range(nr - 1, -1, -1):
            place(r)
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
    lay: _Layered,
    x: list[float],
    y: list[float],
    band: list[tuple[float, float]],
    width: list[float],
    height: list[float],
    spacing: Spacing,
) -> dict[tuple[int, int], list[Point]]:
    # Ports: one per distinct first (last) hop, so edges sharing a trunk share a port.
    out_port: dict[tuple[int, int], float] = {}
    in_port: dict[tuple[int, int], float] = {}
    for v in range(lay.n):
        for nbrs, store in ((lay.down[v], out_port), (lay.up[v], in_port)):
            if nbrs:
                for w, px in zip(nbrs, _ports(x[v], width[v], [x[w] for w in nbrs], spacing.port)):
                    store[(v, w)] = px
    out: dict[tuple[int, int], list[Point]] = {}
    for (u, v), path in lay.chains.items():
        first = path[1]
        last = path[-2]
        px, qx = out_port[(u, first)], in_port[(v, last)]
        start = (px, y[u] + height[u] / 2)
        pts: list[Point] = [start]
        cur = start
        below = (px, band[lay.rank[u]][1])
        if below[1] > cur[1]:
            pts += _line(cur, below)
            cur = below
        for d in path[1:-1]:
            top, bottom = (x[d], band[lay.rank[d]][0]), (x[d], band[lay.rank[d]][1])
            pts += _s_curve(cur, top)
            pts += _line(top, bottom)
            cur = bottom
        above = (qx, band[lay.rank[v]][0])
        pts += _s_curve(cur, above)
        end = (qx, y[v] - height[v] / 2)
        if end[1] > above[1]:
            pts += _line(above, end)
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
    iterations: int = 12,
    sweeps: int = 8,
) -> LayeredResult:
    """Lay out vertices 0..n-1 joined by ``edges`` (no self-loops, no duplicates).

    ``seed_x``: x of vertices in a previous layout, to start from and stay near.
    """
    succ: list[list[int]] = [[] for _ in range(n)]
    for u, v in edges:
        succ[u].append(v)
    back = _feedback_edges(n, succ)
    dag = [(v, u) if (u, v) in back else (u, v) for u, v in edges]
    dag = list(dict.fromkeys(dag))  # u->v and v->u on a cycle become one edge
    succ = [[] for _ in range(n)]
    pred: list[list[int]] = [[] for _ in range(n)]
    for u, v in dag:
        succ[u].append(v)
        pred[v].append(u)
    rank = ranks(n, succ, pred) if n else []
    lay = _make_proper(n, dag, rank)
    nranks = max(rank) + 1 if n else 0
    nv = len(lay.rank)
    wid = list(width) + [0.0] * (nv - n)
    layers, crossings = order(lay, nranks, seed_x, iterations)
    x = coordinates(lay, layers, wid, spacing, seed_x, sweeps)
    # y: each rank is a band as tall as its tallest node; bands are ranksep apart
    band: list[tuple[float, float]] = []
    top = 0.0
    tallest = [0.0] * nranks
    for v in range(n):
        tallest[rank[v]] = max(tallest[rank[v]], height[v])
    for r in range(nranks):
        band.append((top, top + tallest[r]))
        top += tallest[r] + spacing.ranksep
    y = [(band[r][0] + band[r][1]) / 2 for r in lay.rank]
    hts = list(height) + [0.0] * (nv - n)
    paths = routes(lay, x, y, band, wid, hts, spacing)
    for u, v in back:  # drawn along the reversed edge, so turn the route round
        if (v, u) in paths:
            paths[(u, v)] = paths[(v, u)][::-1]
            if (v, u) not in edges:
                del paths[(v, u)]
    return LayeredResult(np.asarray(x[:n]), np.asarray(y[:n]), paths, crossings)
