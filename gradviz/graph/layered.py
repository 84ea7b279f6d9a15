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
    upm: list[list[int]]  # how many original edges run along each of those links
    downm: list[list[int]]
    chains: dict[tuple[int, int], list[int]]  # original edge -> vertices it passes, ends included
    weight: dict[tuple[int, int], float]  # proper edge -> weight for coordinate assignment


def _make_proper(n: int, edges: list[tuple[int, int]], rank: list[int]) -> _Layered:
    rank = rank[:]
    weight: dict[tuple[int, int], float] = {}
    mult: dict[tuple[int, int], int] = {}
    chains: dict[tuple[int, int], list[int]] = {}
    by_tail: dict[int, list[int]] = {}
    for u, v in edges:
        by_tail.setdefault(u, []).append(v)
    for u, heads in by_tail.items():
        far = max(rank[v] for v in heads)
        trunk = list(range(len(rank), len(rank) + max(0, far - rank[u] - 1)))
        rank += range(rank[u] + 1, far)
        for v in heads:
            span = rank[v] - rank[u]
            path = [u, *trunk[: span - 1], v]
            chains[(u, v)] = path
            for i, link in enumerate(zip(path, path[1:])):
                # dot weighs real-real 1, real-dummy 2, dummy-dummy 8: straight long edges matter
                w = 1.0 if span == 1 else (8.0 if 0 < i < span - 1 else 2.0)
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
    return _Layered(n, rank, up, down, upm, downm, chains, weight)


# ---------------------------------------------------------------------------------------------
# 3. order within ranks
#
# dot's mincross schedule: a few iterations from each of two starting orders, then up to 24 more
# from the better one, each iteration a barycenter sweep and a transposition pass, keeping the
# best order seen. Crossings are weighted by how many original edges share a link (dot's
# xpenalty), so a crossing with a busy trunk costs what it costs in the drawing.


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


def _positions(layers: list[list[int]], nv: int) -> list[int]:
    pos = [0] * nv
    for layer in layers:
        for i, v in enumerate(layer):
            pos[v] = i
    return pos


def inversions(seq: np.ndarray, weights: np.ndarray | None = None) -> int:
    """Sum of w[i] * w[j] over pairs i < j with seq[i] > seq[j] (w = 1 without weights).

    A bottom-up merge sort with each level vectorised: O(n log n) in a few dozen numpy calls.
    """
    a = np.asarray(seq, dtype=np.int64)
    n = len(a)
    if n < 2:
        return 0
    w = np.ones(n, dtype=np.int64) if weights is None else np.asarray(weights, dtype=np.int64)
    size = 1 << (n - 1).bit_length()
    big = int(a.max()) + 1
    a = np.concatenate([a, np.full(size - n, big, dtype=np.int64)])  # padding adds no inversions
    w = np.concatenate([w, np.zeros(size - n, dtype=np.int64)])
    total, block, span = 0, 1, big + 1
    while block < size:
        npairs = size // (2 * block)
        pa = a.reshape(npairs, 2, block)
        pw = w.reshape(npairs, 2, block)
        offset = (np.arange(npairs, dtype=np.int64) * span)[:, None]
        left = (pa[:, 0, :] + offset).ravel()  # sorted: each block is, and offsets increase
        cum = np.concatenate([[0], np.cumsum(pw[:, 0, :].ravel())])  # left weights, running
        k = np.searchsorted(left, (pa[:, 1, :] + offset).ravel(), side="right")
        starts = np.repeat(np.arange(npairs) * block, block)
        # weight of left elements greater than each right element, times its own weight
        greater = cum[starts + block] - cum[k]
        total += int((greater * pw[:, 1, :].ravel()).sum())
        merged = np.argsort(pa.reshape(npairs, 2 * block), axis=1, kind="stable")
        a = np.take_along_axis(pa.reshape(npairs, -1), merged, axis=1).ravel()
        w = np.take_along_axis(pw.reshape(npairs, -1), merged, axis=1).ravel()
        block *= 2
    return total


def _sweep(
    layers: list[list[int]],
    pos: list[int],
    nbrs: list[list[int]],
    mult: list[list[int]],
    single: list[int],
    ranks_: range,
    reverse: bool,
) -> None:
    """Reorder each rank by the weighted barycenter of its neighbours in the rank just visited.

    ``single[v]`` is v's only neighbour there, or -1 (none or several): the common case made
    cheap. Vertices with no neighbour there keep their slot, as in dot. ``reverse`` breaks ties
    the other way round, which lets equal-cost vertices trade places between iterations.
    """
    sign = -1 if reverse else 1
    for r in ranks_:
        layer = layers[r]
        m = len(layer)
        if m < 2:
            continue
        keyed = []
        fixed = False
        for i, v in enumerate(layer):
            s = single[v]
            if s >= 0:
                keyed.append((pos[s], sign * i, v))
            elif nbrs[v]:
                num = den = 0
                for w, k in zip(nbrs[v], mult[v]):
                    num += k * pos[w]
                    den += k
                keyed.append((num / den, sign * i, v))
            else:
                fixed = True
        keyed.sort()
        if fixed:  # vertices without neighbours keep their slots; the rest fill the others in order
            it = iter(keyed)
            out = [v if not nbrs[v] else next(it)[2] for v in layer]
        else:
            out = [k[2] for k in keyed]
        layers[r] = out
        for i, v in enumerate(out):
            pos[v] = i


def _transpose(layers: list[list[int]], pos: list[int], lay: _Layered, reverse: bool) -> None:
    """dot's transpose: swap neighbours in a rank while that removes crossings (with ``reverse``,
    also when it changes nothing), revisiting ranks next to a change until a round gains nothing.
    """
    up, down, upm, downm = lay.up, lay.down, lay.upm, lay.downm
    nr = len(layers)
    candidate = [True] * nr
    while True:
        delta = 0
        for r in range(nr):
            if not candidate[r]:
                continue
            candidate[r] = False
            layer = layers[r]
            for i in range(len(layer) - 1):
                a, b = layer[i], layer[i + 1]
                c0 = c1 = 0  # crossings with a left of b, and with b left of a
                for na, nb, ma, mb in ((up[a], up[b], upm[a], upm[b]), (down[a], down[b], downm[a], downm[b])):
                    if not (na and nb):
                        continue
                    if len(na) == 1 and len(nb) == 1:  # the usual case: dummies, unary ops
                        pp, pq = pos[na[0]], pos[nb[0]]
                        if pp > pq:
                            c0 += ma[0] * mb[0]
                        elif pp < pq:
                            c1 += ma[0] * mb[0]
                        continue
                    for p, mp in zip(na, ma):
                        pp = pos[p]
                        for q, mq in zip(nb, mb):
                            pq = pos[q]
                            if pp > pq:
                                c0 += mp * mq
                            elif pp < pq:
                                c1 += mp * mq
                if c1 < c0 or (reverse and c0 > 0 and c1 == c0):
                    layer[i], layer[i + 1] = b, a
                    pos[a], pos[b] = i + 1, i
                    delta += c0 - c1
                    candidate[r] = True
                    if r:
                        candidate[r - 1] = True
                    if r + 1 < nr:
                        candidate[r + 1] = True
        if delta < 1:
            return


class _FastTranspose:
    """dot's transpose, vectorised for big graphs.

    Adjacent pairs are split into four classes by (rank parity, slot parity). The pairs of a class
    are disjoint, and their costs depend only on the ranks of the other parity, so a whole class
    can be judged and swapped at once, exactly as one at a time would. A round runs the four
    classes; rounds repeat, on ranks next to a change, until a round gains nothing.
    """

    def __init__(self, lay: _Layered, sizes: list[int]) -> None:
        nv = len(lay.rank)
        self.csr = []
        for nbrs, mult in ((lay.up, lay.upm), (lay.down, lay.downm)):
            ptr = np.zeros(nv + 1, dtype=np.int64)
            ptr[1:] = np.cumsum([len(x) for x in nbrs])
            idx = np.fromiter((w for x in nbrs for w in x), dtype=np.int64, count=int(ptr[-1]))
            m = np.fromiter((w for x in mult for w in x), dtype=np.int64, count=int(ptr[-1]))
            self.csr.append((ptr, idx, m))
        start = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.start = start
        slot_rank = np.repeat(np.arange(len(sizes)), sizes)
        slot = np.arange(nv) - start[slot_rank]
        last = slot == np.repeat(np.asarray(sizes) - 1, sizes)
        pairs = np.nonzero(~last)[0]  # slot i pairs with slot i + 1 of the same rank
        self.classes = [
            pairs[((slot_rank[pairs] % 2) == rp) & ((slot[pairs] % 2) == sp)] for rp in (0, 1) for sp in (0, 1)
        ]
        self.pair_rank = slot_rank
        self.nranks = len(sizes)

    def _costs(self, a: np.ndarray, b: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c0 = np.zeros(len(a))
        c1 = np.zeros(len(a))
        for ptr, idx, m in self.csr:
            sa, sb = ptr[a], ptr[b]
            da, db = ptr[a + 1] - sa, ptr[b + 1] - sb
            cnt = da * db
            tot = int(cnt.sum())
            if not tot:
                continue
            pair = np.repeat(np.arange(len(a)), cnt)
            k = np.arange(tot) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            dbp = db[pair]
            ia = sa[pair] + k // dbp
            ib = sb[pair] + k % dbp
            pa, pb = pos[idx[ia]], pos[idx[ib]]
            w = m[ia] * m[ib]
            c0 += np.bincount(pair, weights=w * (pa > pb), minlength=len(a))
            c1 += np.bincount(pair, weights=w * (pa < pb), minlength=len(a))
        return c0, c1

    def __call__(self, layers: list[list[int]], reverse: bool) -> None:
        seq = np.fromiter((v for layer in layers for v in layer), dtype=np.int64, count=len(self.pair_rank))
        pos = np.empty_like(seq)
        pos[seq] = np.arange(len(seq)) - self.start[self.pair_rank]
        active = np.ones(self.nranks, dtype=bool)
        for _ in range(4 * len(seq)):  # bound: each useful round removes a crossing
            delta = 0.0
            changed = np.zeros(self.nranks, dtype=bool)
            for cls in self.classes:
                i = cls[active[self.pair_rank[cls]]]
                if not len(i):
                    continue
                a, b = seq[i], seq[i + 1]
                c0, c1 = self._costs(a, b, pos)
                swap = (c1 < c0) | ((c0 > 0) & (c1 == c0)) if reverse else c1 < c0
                if swap.any():
                    i, a, b = i[swap], a[swap], b[swap]
                    seq[i], seq[i + 1] = b, a
                    pos[a] += 1
                    pos[b] -= 1
                    delta += float((c0 - c1)[swap].sum())
                    changed[self.pair_rank[i]] = True
            if delta < 1:
                break
            active = changed.copy()
            active[1:] |= changed[:-1]
            active[:-1] |= changed[1:]
        for r, layer in enumerate(layers):
            s = int(self.start[r])
            layer[:] = seq[s : s + len(layer)].tolist()


FAST_TRANSPOSE_FROM = 3000  # vertices (dummies included) from which numpy beats plain Python


class _Orderer:
    """The state shared by the mincross passes: links as arrays, and the transpose to use."""

    def __init__(self, lay: _Layered, nranks: int) -> None:
        self.lay, self.nranks, self.nv = lay, nranks, len(lay.rank)
        src = [v for v in range(self.nv) for _ in lay.down[v]]
        self.src = np.asarray(src, dtype=np.int64)
        self.dst = np.fromiter((w for d in lay.down for w in d), dtype=np.int64, count=len(src))
        self.mult = np.fromiter((m for d in lay.downm for m in d), dtype=np.int64, count=len(src))
        self.gap = np.asarray(lay.rank, dtype=np.int64)[self.src] if src else self.src
        self.pair_i = self.pair_j = None
        # Links sorted by gap; every pair within a gap, if there are not too many of them.
        order_ = np.argsort(self.gap, kind="stable")
        self.src, self.dst, self.mult, self.gap = (a[order_] for a in (self.src, self.dst, self.mult, self.gap))
        per_gap = np.bincount(self.gap, minlength=nranks) if src else np.zeros(0, dtype=np.int64)
        if int((per_gap * per_gap).sum()) <= 4 * max(len(src), 1) * 16:
            end = np.repeat(np.cumsum(per_gap), per_gap)
            later = end - np.arange(len(src)) - 1  # links after each one in its gap
            self.pair_i = np.repeat(np.arange(len(src)), later)
            self.pair_j = self.pair_i + 1 + (np.arange(len(self.pair_i)) - np.repeat(np.cumsum(later) - later, later))
        sizes = [0] * nranks
        for r in lay.rank:
            sizes[r] += 1
        self.fast = _FastTranspose(lay, sizes) if self.nv >= FAST_TRANSPOSE_FROM else None
        self.single_up = [nb[0] if len(nb) == 1 else -1 for nb in lay.up]
        self.single_down = [nb[0] if len(nb) == 1 else -1 for nb in lay.down]

    def crossings(self, layers: list[list[int]]) -> int:
        """Exact weighted crossings of straight links between consecutive ranks, all at once."""
        if len(self.src) < 2:
            return 0
        pos = np.empty(self.nv, dtype=np.int64)
        for layer in layers:
            pos[layer] = np.arange(len(layer))
        t, b = pos[self.src], pos[self.dst]
        if self.pair_i is not None:  # narrow ranks: test every pair of links in a gap
            i, j = self.pair_i, self.pair_j
            crossed = (t[i] - t[j]) * (b[i] - b[j]) < 0
            return int((self.mult[i] * self.mult[j])[crossed].sum())
        idx = np.lexsort((b, t, self.gap))
        return inversions(self.gap[idx] * (int(b.max()) + 1) + b[idx], self.mult[idx])

    def transpose(self, layers: list[list[int]], pos: list[int], reverse: bool) -> None:
        if self.fast is None:
            _transpose(layers, pos, self.lay, reverse)
            return
        self.fast(layers, reverse)
        for layer in layers:
            for i, v in enumerate(layer):
                pos[v] = i

    def mincross(
        self, layers: list[list[int]], best: tuple[list[list[int]], int] | None, iterations: int
    ) -> tuple[list[list[int]], int]:
        """dot's mincross loop from ``layers``; returns the best (order, crossings) incl. ``best``."""
        lay, nranks = self.lay, self.nranks
        pos = _positions(layers, self.nv)
        cur = self.crossings(layers)
        if best is None or cur <= best[1]:
            best = ([list(layer) for layer in layers], cur)
        trying = 0
        for it in range(iterations):
            if best[1] == 0 or trying >= 8:
                break
            trying += 1
            reverse = it % 4 < 2
            if it % 2 == 0:
                _sweep(layers, pos, lay.up, lay.upm, self.single_up, range(1, nranks), reverse)
            else:
                _sweep(layers, pos, lay.down, lay.downm, self.single_down, range(nranks - 2, -1, -1), reverse)
            self.transpose(layers, pos, not reverse)
            cur = self.crossings(layers)
            if cur <= best[1]:
                if cur < 0.995 * best[1]:
                    trying = 0
                best = ([list(layer) for layer in layers], cur)
        return best


def order(lay: _Layered, nranks: int, seed_x: dict[int, float] | None, iterations: int) -> tuple[list[list[int]], int]:
    """Orders per rank with few crossings, and their weighted crossing count."""
    job = _Orderer(lay, nranks)
    if seed_x:  # the old order is already good: polish it, keep it recognisable
        starts = [_seeded_order(lay, nranks, seed_x)]
    else:
        starts = [_dfs_order(lay, nranks, from_top) for from_top in (True, False)]
    best = None
    for layers in starts:
        best = job.mincross(layers, best, min(4, iterations))
    assert best is not None
    best = job.mincross([list(layer) for layer in best[0]], best, iterations)
    layers = [list(layer) for layer in best[0]]
    if best[1]:
        job.transpose(layers, _positions(layers, len(lay.rank)), False)
        best = (layers, job.crossings(layers))
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
    iterations: int = 24,
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
