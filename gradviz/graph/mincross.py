"""Order the vertices of each rank so that few edges cross (step 3 of the layered layout).

1. dot's mincross schedule: a few iterations from each of two depth-first starting orders, then
   more from the better one; an iteration is a barycenter sweep (down or up) followed by dot's
   transposition of neighbours, and the best order seen is kept.
2. Chain sifting, which dot lacks: every trunk (a long edge's dummies) and every node involved in
   a crossing is moved, as a whole, to the slots that minimise its crossings with everything else
   fixed. That is a shortest path over the ranks it spans (see :func:`_sift_chain`). It removes
   the crossings that no single swap can, such as a long edge running down the wrong side of a
   column of nodes, and it is what takes the count below dot's.

Crossings are weighted by how many original edges share a link (dot's ``xpenalty``), so crossing
a busy trunk costs what it costs in the drawing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .checkpoint import checkpoint

Order = list[list[int]]  # vertices of each rank, left to right


@dataclass
class Proper:
    """A layered graph whose links all join consecutive ranks (long edges cut by dummies)."""

    n: int  # real vertices are 0..n-1, dummies n..
    rank: list[int]
    up: list[list[int]]  # neighbours one rank above
    down: list[list[int]]  # neighbours one rank below
    upm: list[list[int]]  # how many original edges run along each of those links
    downm: list[list[int]]
    trunks: list[list[int]]  # dummy chains, top to bottom


# ---------------------------------------------------------------------------------------------
# starting orders


def seeded_order(g: Proper, nranks: int, seed_x: dict[int, float]) -> Order:
    """Ranks sorted by a previous layout's x; new vertices take the mean x of placed neighbours."""
    layers: Order = [[] for _ in range(nranks)]
    nv = len(g.rank)
    x = [seed_x.get(v) for v in range(nv)]
    for sweep in (range(nv), reversed(range(nv))):
        for v in sweep:
            if x[v] is None:
                known = [x[w] for w in g.up[v] + g.down[v] if x[w] is not None]
                if known:
                    x[v] = sum(known) / len(known)
    for v in range(nv):
        layers[g.rank[v]].append(v)
    for layer in layers:
        layer.sort(key=lambda v: (x[v] if x[v] is not None else float("inf"), v))
    return layers


def dfs_order(g: Proper, nranks: int, from_top: bool, mirror: bool = False) -> Order:
    """Depth-first from the sources (or up from the sinks), each vertex appended to its rank when
    reached, so connected parts start out together (dot's init_order). From the sinks, a tree of
    ops feeding one output comes out without crossings. ``mirror`` visits neighbours the other
    way round: a different start for the same search.
    """
    layers: Order = [[] for _ in range(nranks)]
    nv = len(g.rank)
    ahead, behind = (g.down, g.up) if from_top else (g.up, g.down)
    seen = [False] * nv
    for root in range(nv) if from_top else range(nv - 1, -1, -1):
        if seen[root] or behind[root]:
            continue
        stack = [root]
        while stack:
            v = stack.pop()
            if not seen[v]:
                seen[v] = True
                layers[g.rank[v]].append(v)
                stack.extend(ahead[v] if mirror else reversed(ahead[v]))
    return layers


def positions(layers: Order, nv: int) -> list[int]:
    pos = [0] * nv
    for layer in layers:
        for i, v in enumerate(layer):
            pos[v] = i
    return pos


# ---------------------------------------------------------------------------------------------
# counting


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
    total, block = 0, 1
    while block < size:
        npairs = size // (2 * block)
        pa, pw = a.reshape(npairs, 2, block), w.reshape(npairs, 2, block)
        offset = (np.arange(npairs, dtype=np.int64) * (big + 1))[:, None]
        left = (pa[:, 0, :] + offset).ravel()  # sorted: each block is, and offsets increase
        cum = np.concatenate([[0], np.cumsum(pw[:, 0, :].ravel())])
        k = np.searchsorted(left, (pa[:, 1, :] + offset).ravel(), side="right")
        ends = np.repeat(np.arange(1, npairs + 1) * block, block)
        # weight of the left elements greater than each right element, times its weight
        total += int(((cum[ends] - cum[k]) * pw[:, 1, :].ravel()).sum())
        merged = np.argsort(pa.reshape(npairs, 2 * block), axis=1, kind="stable")
        a = np.take_along_axis(pa.reshape(npairs, -1), merged, axis=1).ravel()
        w = np.take_along_axis(pw.reshape(npairs, -1), merged, axis=1).ravel()
        block *= 2
    return total


class Links:
    """The links as arrays sorted by gap (gap r joins ranks r and r + 1), for counting."""

    def __init__(self, g: Proper, nranks: int) -> None:
        self.nv = nv = len(g.rank)
        counts = [len(d) for d in g.down]
        src = np.repeat(np.arange(nv, dtype=np.int64), counts)
        dst = np.fromiter((w for d in g.down for w in d), dtype=np.int64, count=len(src))
        mult = np.fromiter((m for d in g.downm for m in d), dtype=np.int64, count=len(src))
        gap = np.asarray(g.rank, dtype=np.int64)[src]
        by_gap = np.argsort(gap, kind="stable")
        self.src, self.dst, self.mult, self.gap = src[by_gap], dst[by_gap], mult[by_gap], gap[by_gap]
        per_gap = np.bincount(self.gap, minlength=nranks)
        self.gap_start = np.concatenate([[0], np.cumsum(per_gap)]).tolist()
        # Every pair of links within a gap, when ranks are narrow enough for that to be cheap
        # (autograd graphs are tall and thin); a merge count otherwise.
        self.pair_i = self.pair_j = None
        if int((per_gap * per_gap).sum()) <= 64 * max(len(src), 1):
            later = np.repeat(np.cumsum(per_gap), per_gap) - np.arange(len(src)) - 1
            self.pair_i = np.repeat(np.arange(len(src)), later)
            self.pair_j = (
                self.pair_i + 1 + np.arange(len(self.pair_i)) - np.repeat(np.cumsum(later) - later, later)
            )

    def _pos(self, layers: Order) -> np.ndarray:
        pos = np.empty(self.nv, dtype=np.int64)
        for layer in layers:
            pos[layer] = np.arange(len(layer))
        return pos

    def crossings(self, layers: Order) -> int:
        """Exact weighted crossings of straight links between consecutive ranks."""
        if len(self.src) < 2:
            return 0
        pos = self._pos(layers)
        t, b = pos[self.src], pos[self.dst]
        if self.pair_i is not None:
            i, j = self.pair_i, self.pair_j
            crossed = (t[i] - t[j]) * (b[i] - b[j]) < 0
            return int((self.mult[i] * self.mult[j])[crossed].sum())
        idx = np.lexsort((b, t, self.gap))
        return inversions(self.gap[idx] * (int(b.max()) + 1) + b[idx], self.mult[idx])

    def crossed_vertices(self, layers: Order) -> set[int]:
        """Ends of the links that cross another link.

        In a gap sorted by (top, bottom), a link crosses another iff some link with a smaller top
        has a larger bottom, or one with a larger top a smaller bottom: a running maximum from the
        left and a running minimum from the right, restarted at each gap by an offset per gap.
        """
        if len(self.src) < 2:
            return set()
        pos = self._pos(layers)
        t, b = pos[self.src], pos[self.dst]
        idx = np.lexsort((b, t, self.gap))
        gap, t, b = self.gap[idx], t[idx], b[idx]
        span = int(b.max()) + 2
        key = gap * span + b  # increases with the gap, so running extremes never mix gaps
        group = np.concatenate([[True], (gap[1:] != gap[:-1]) | (t[1:] != t[:-1])])  # (gap, top) starts
        at, n = np.arange(len(t)), len(t)
        first = np.maximum.accumulate(np.where(group, at, 0))  # start of each link's (gap, top)
        last = np.minimum.accumulate(np.where(np.append(group[1:], True), at, n)[::-1])[::-1]  # its end
        run_max = np.maximum.accumulate(key)
        run_min = np.minimum.accumulate(key[::-1])[::-1]
        before = np.where(first > 0, run_max[np.maximum(first - 1, 0)], -1)
        after = np.where(last < n - 1, run_min[np.minimum(last + 1, n - 1)], np.iinfo(np.int64).max)
        hit = idx[(before > key) | (after < key)]
        return set(self.src[hit].tolist()) | set(self.dst[hit].tolist())


# ---------------------------------------------------------------------------------------------
# dot's sweeps and transposition


def sweep(
    layers: Order,
    pos: list[int],
    nbrs: list[list[int]],
    mult: list[list[int]],
    single: list[int],
    ranks: range,
    reverse: bool,
) -> None:
    """Reorder each rank by the weighted barycenter of its neighbours in the rank just visited.

    ``single[v]`` is v's only neighbour there, or -1 (none or several): the common case made
    cheap. Vertices with no neighbour there keep their slot, as in dot. ``reverse`` breaks ties
    the other way round, which lets equal-cost vertices trade places between iterations.
    """
    sign = -1 if reverse else 1
    for r in ranks:
        layer = layers[r]
        if len(layer) < 2:
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
        if fixed:  # vertices without neighbours keep their slots, the rest fill the others
            it = iter(keyed)
            out = [v if not nbrs[v] else next(it)[2] for v in layer]
        else:
            out = [k[2] for k in keyed]
        layers[r] = out
        for i, v in enumerate(out):
            pos[v] = i


TRANSPOSE_ROUNDS = 64  # dot has no limit; a tangled graph can otherwise go round for long


def transpose(layers: Order, pos: list[int], g: Proper, reverse: bool) -> None:
    """dot's transpose: swap neighbours in a rank while that removes crossings (with ``reverse``,
    also when it changes nothing), revisiting ranks next to a change until a round gains nothing.
    """
    up, down, upm, downm = g.up, g.down, g.upm, g.downm
    nr = len(layers)
    candidate = [True] * nr
    for _ in range(TRANSPOSE_ROUNDS):
        delta = 0
        for r in range(nr):
            if not candidate[r]:
                continue
            candidate[r] = False
            layer = layers[r]
            for i in range(len(layer) - 1):
                a, b = layer[i], layer[i + 1]
                c0 = c1 = 0  # crossings with a left of b, and with b left of a
                for na, nb, ma, mb in (
                    (up[a], up[b], upm[a], upm[b]),
                    (down[a], down[b], downm[a], downm[b]),
                ):
                    if not (na and nb):
                        continue
                    if len(na) == 1 and len(nb) == 1:  # the usual case: dummies, unary ops
                        pp, pq = pos[na[0]], pos[nb[0]]
                        if pp != pq:
                            if pp > pq:
                                c0 += ma[0] * mb[0]
                            else:
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


def mincross(
    g: Proper, links: Links, layers: Order, best: tuple[Order, int] | None, iterations: int
) -> tuple[Order, int]:
    """dot's mincross loop from ``layers``: the best (order, crossings) seen, ``best`` included."""
    nranks, nv = len(layers), len(g.rank)
    single_up = [nb[0] if len(nb) == 1 else -1 for nb in g.up]
    single_down = [nb[0] if len(nb) == 1 else -1 for nb in g.down]
    pos = positions(layers, nv)
    cur = links.crossings(layers)
    if best is None or cur <= best[1]:
        best = ([list(layer) for layer in layers], cur)
    trying = 0
    for it in range(iterations):
        checkpoint()
        if best[1] == 0 or trying >= 8:
            break
        trying += 1
        reverse = it % 4 < 2
        if it % 2 == 0:
            sweep(layers, pos, g.up, g.upm, single_up, range(1, nranks), reverse)
        else:
            sweep(layers, pos, g.down, g.downm, single_down, range(nranks - 2, -1, -1), reverse)
        transpose(layers, pos, g, not reverse)
        cur = links.crossings(layers)
        if cur <= best[1]:
            if cur < 0.995 * best[1]:
                trying = 0
            best = ([list(layer) for layer in layers], cur)
    return best


# ---------------------------------------------------------------------------------------------
# chain sifting


class _Sifter:
    def __init__(self, g: Proper, links: Links, layers: Order) -> None:
        self.g, self.links, self.layers = g, links, layers
        self.pos = np.asarray(positions(layers, len(g.rank)), dtype=np.int64)
        self.work = 0  # table cells built: what sifting costs, and what its budget limits

    def table(self, r: int, top_out: int, bottom_out: int) -> np.ndarray:
        """P[s, e]: weight of the links of gap r from the first s vertices of rank r to the first e
        of rank r + 1, leaving out vertex ``top_out`` / ``bottom_out`` (-1: none) and their links.
        """
        lk, pos = self.links, self.pos
        a, b = lk.gap_start[r], lk.gap_start[r + 1]
        src, dst, m = lk.src[a:b], lk.dst[a:b], lk.mult[a:b]
        rows, cols = len(self.layers[r]), len(self.layers[r + 1])
        self.work += (rows + 1) * (cols + 1)
        i, j = pos[src], pos[dst]
        keep = np.ones(len(src), dtype=bool)
        if top_out >= 0:
            keep &= src != top_out
            i = i - (i > pos[top_out])
            rows -= 1
        if bottom_out >= 0:
            keep &= dst != bottom_out
            j = j - (j > pos[bottom_out])
            cols -= 1
        h = np.bincount(
            ((i[keep] + 1) * (cols + 1) + j[keep] + 1), weights=m[keep], minlength=(rows + 1) * (cols + 1)
        ).reshape(rows + 1, cols + 1)
        return h.cumsum(0).cumsum(1)

    def sift(self, chain: list[int]) -> int:
        """Move ``chain`` (one vertex per consecutive rank, linked top to bottom) to its best slots.

        With everything else fixed, slot s of a rank lies between its (s-1)th and sth other vertex.
        A link from slot s to slot e of the next rank crosses the links (i, j) of that gap with
        i >= s > j... i.e. P[m, e] - P[s, e] + P[s, n] - P[s, e] of them; one from slot s to a
        fixed vertex at j (or from a fixed i to e) is the same count with the fixed end at a
        vertex instead of between two. The cheapest slots are then a shortest path through the
        ranks. Returns the weighted crossings saved (0: nothing moved).
        """
        g, pos, layers = self.g, self.pos, self.layers
        r0 = g.rank[chain[0]]
        last = len(chain) - 1
        cur = [int(pos[c]) for c in chain]
        node_cost = []
        for k, c in enumerate(chain):
            r = r0 + k
            cost = np.zeros(len(layers[r]))  # slots: one per other vertex, plus one at the end
            if k == 0 and g.up[c]:  # links from above, whose top ends are fixed
                p = self.table(r - 1, -1, c)
                mt, mb = p.shape[0] - 1, p.shape[1] - 1
                for u, m in zip(g.up[c], g.upm[c]):
                    i = int(pos[u])
                    cost += m * ((p[i, mb] - p[i, :]) + (p[mt, :] - p[i + 1, :]))
            nxt = chain[k + 1] if k < last else -1
            fixed_below = [(w, m) for w, m in zip(g.down[c], g.downm[c]) if w != nxt]
            if fixed_below:
                p = self.table(r, c, nxt)
                mt, mb = p.shape[0] - 1, p.shape[1] - 1
                for w, m in fixed_below:
                    j = int(pos[w]) - (1 if nxt >= 0 and pos[w] > pos[nxt] else 0)
                    cost += m * ((p[mt, j] - p[:, j]) + (p[:, mb] - p[:, j + 1]))
            node_cost.append(cost)
        # a hair of cost for moving keeps the current slots on ties
        f = node_cost[0] + 1e-6 * np.abs(np.arange(len(node_cost[0])) - cur[0])
        now = node_cost[0][cur[0]]
        back = []
        for k in range(1, len(chain)):
            a, b = chain[k - 1], chain[k]
            m = g.downm[a][g.down[a].index(b)]
            p = self.table(r0 + k - 1, a, b)
            mt, mb = p.shape[0] - 1, p.shape[1] - 1
            step = m * (p[mt, :][None, :] + p[:, mb][:, None] - 2 * p)
            total = f[:, None] + step
            arg = total.argmin(axis=0)
            back.append(arg)
            f = (
                total[arg, np.arange(total.shape[1])]
                + node_cost[k]
                + 1e-6 * np.abs(np.arange(len(node_cost[k])) - cur[k])
            )
            now += step[cur[k - 1], cur[k]] + node_cost[k][cur[k]]
        best = int(f.argmin())
        saved = now - f[best]
        if saved < 0.5:
            return 0
        slots = [best]
        for arg in reversed(back):
            slots.append(int(arg[slots[-1]]))
        slots.reverse()
        for k, c in enumerate(chain):
            row = layers[r0 + k]
            row.remove(c)
            row.insert(slots[k], c)
            pos[row] = np.arange(len(row))
        return int(saved + 0.5)

    def run(self, rounds: int, budget: float) -> None:
        """Sift every trunk and real vertex that has a crossing and whose surroundings changed
        since it was last sifted, until a round saves nothing or ``budget`` table cells are spent.
        """
        g = self.g
        units = [*g.trunks, *([v] for v in range(g.n))]
        unit_of = {v: k for k, unit in enumerate(units) for v in unit}
        span = [(g.rank[u[0]] - 1, g.rank[u[-1]] + 1) for u in units]
        changed = [0] * (max(g.rank) + 2 if g.rank else 1)  # clock of each rank's last change
        seen = [-1] * len(units)  # clock when each unit was last found unmovable
        clock = 0
        for _ in range(rounds):
            saved = 0
            todo = sorted({unit_of[v] for v in self.links.crossed_vertices(self.layers) if v in unit_of})
            for i, k in enumerate(todo):
                if i % 64 == 0:
                    checkpoint()
                if self.work > budget:
                    return  # a wide, tangled graph: stop polishing rather than keep the user waiting
                lo, hi = span[k]
                if seen[k] >= max(changed[max(lo, 0) : hi + 1]):
                    continue  # nothing near it moved since it last stayed put
                got = self.sift(units[k])
                clock += 1
                if got:
                    saved += got
                    for r in range(lo + 1, hi):
                        changed[r] = clock
                else:
                    seen[k] = clock
            if not saved:
                return


# ---------------------------------------------------------------------------------------------


SIFT_BUDGET = 2000  # table cells per vertex that chain sifting may spend (autograd graphs use ~100)
SMALL = 2000  # vertices (dummies included) up to which four starts are tried to the end


def _finish(g: Proper, links: Links, layers: Order) -> tuple[Order, int]:
    transpose(layers, positions(layers, len(g.rank)), g, False)
    _Sifter(g, links, layers).run(rounds=8, budget=SIFT_BUDGET * len(g.rank) + 1e6)
    return layers, links.crossings(layers)


def order(
    g: Proper, nranks: int, seed_x: dict[int, float] | None = None, iterations: int = 6
) -> tuple[Order, int]:
    """Orders per rank with few crossings, and their weighted crossing count.

    Starts: depth-first from the top and from the bottom. A big graph gets dot's schedule (a few
    iterations from each start, more from the better) and then chain sifting. A small one, where
    time is plentiful and one crossing more than dot is already a loss, also tries the mirror
    images of those starts, and takes each to the end (mincross, then sifting) before choosing.

    ``seed_x``: x of vertices in a previous layout. The old order is then kept and only repaired
    (transposition and chain sifting, which move just what crossings call for), so a graph that
    grew by an op is drawn as before plus the op: barycenter sweeps would reshuffle it.
    """
    links = Links(g, nranks)
    if seed_x:
        return _finish(g, links, seeded_order(g, nranks, seed_x))
    if len(g.rank) > SMALL:
        best = None
        for from_top in (True, False):
            best = mincross(g, links, dfs_order(g, nranks, from_top), best, min(4, iterations))
        assert best is not None
        best = mincross(g, links, [list(layer) for layer in best[0]], best, iterations)
        return _finish(g, links, [list(layer) for layer in best[0]])
    found: tuple[Order, int] | None = None
    for mirror in (False, True):
        for from_top in (True, False):
            got = mincross(g, links, dfs_order(g, nranks, from_top, mirror), None, iterations)
            got = _finish(g, links, [list(layer) for layer in got[0]])
            if found is None or got[1] < found[1]:
                found = got
            if found[1] == 0:
                return found
    assert found is not None
    return found
