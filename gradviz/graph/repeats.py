"""Repeated structure in a model graph: an unrolled loop, a recurrent cell, a stack of equal
layers, found so that it can be drawn once as a group "× 300" (see ``folding.py``).

A run is a series of at least :data:`MIN_REPEATS` blocks, each the same ops on the same shapes,
chained output to input, that may share outside inputs (the ``x`` and ``w`` of
``y = tanh(y * w + x)``). Pure Python on networkx, about linear in the graph's size:

1. **Post-dominators.** ``ipdom(v)`` is the first node every path from ``v`` to the end passes
   (a virtual sink follows every node without successors). For a DAG it is the lowest common
   ancestor of ``v``'s successors in the tree built so far, found sink first; successors are
   taken deepest first, so a shared input's hundreds of uses cost a walk up the chain once.
   In an unrolled loop each step's carried tensor post-dominates the previous one: the loop is
   one long path of this tree, and each step's side computations hang off it.
2. **Heavy paths.** The tree is cut into heavy paths (each node continues into its largest
   child), so every long chain is one sequence. Each element of a sequence gets a symbol: its
   signature (type, op label, shape, dtype) and the canonical shape (AHU tree isomorphism
   codes) of the side subtrees that hang off it and touch nothing else.
3. **Periods.** Candidate periods are the gaps between consecutive occurrences of a symbol;
   each is grown into maximal stretches where ``s[j] == s[j + p]``. Linear per period, and
   there are few periods.
4. **Verification.** Where a step starts is a guess (a few phases are tried). Blocks are
   listed in canonical order and checked edge by edge as a translation: an input from inside
   the run maps to the same place one block earlier, an input from outside must be the same
   node (a shared input). A block that fails splits the run, so a wrong guess folds nothing
   rather than something wrong. The first step, whose input comes from outside the run and so
   hangs differently in the tree, is found by matching it edge by edge to the second.
5. **Choice.** Runs are taken by the number of nodes they hide; a run inside one block of a
   bigger run is kept as nested (a loop in a loop), a run overlapping another in part is not.

Why three repetitions and not TensorBoard's five: a learner's loops are short (``range(3)``
is common in teaching), and a fold of three identical blocks already saves two thirds of the
picture. Two is a coincidence as often as a loop.

A step whose state is two tensors, each reaching the next step without the other
(``h, c = cell(x, h, c)``, an LSTM's), has no node that every path through the step passes, so
the tree has no long path there. Such loops are found in the order the computation made its
nodes instead (:func:`_made_in_order`: an unrolled loop makes its steps one after another):
periodic stretches of that sequence are cut into blocks and verified as above, after the runs
the tree found, and only where they fit with those.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

import networkx as nx

MIN_REPEATS = 3
MAX_PHASES = 8  # where a step starts: at most this many guesses per run
REPEAT_PREFIX = "repeat:"


@dataclass(frozen=True)
class Run:
    """One run of repetitions. ``blocks[i][k]`` corresponds to ``blocks[j][k]`` (canonical
    order, before the last block's trailing output was left out); ``carries[i]`` is the node
    whose gradient enters repetition ``i`` from above in backward (its last step's result)."""

    id: str
    blocks: tuple[tuple[Hashable, ...], ...]
    carries: tuple[Hashable, ...]
    period: int  # steps of the chain per repetition
    parent: tuple[str, int] | None = None  # (run id, repetition) this run sits inside

    @property
    def count(self) -> int:
        return len(self.blocks)

    def nodes(self) -> set[Hashable]:
        return {v for b in self.blocks for v in b}


def signature(a: dict[str, Any]) -> tuple:
    """What must agree for two nodes to be "the same op applied again": not names or values."""
    t = a.get("type")
    shape = tuple(a.get("shape") or ())
    if t == "tensor":
        kind = a.get("kind")
        kind = kind if kind in ("leaf", "constant") else "computed"  # an output is computed too
        # A wrapped number (the 2 in y * 2) is its value; a named leaf is shared, not repeated.
        label = a.get("label", "") if kind == "constant" and not a.get("name") else ""
        return ("tensor", kind, shape, a.get("dtype"), bool(a.get("requires_grad")), label)
    return (t, a.get("label", ""), shape)


class _Interner:
    def __init__(self) -> None:
        self.ids: dict[Any, int] = {}

    def __call__(self, key: Any) -> int:
        return self.ids.setdefault(key, len(self.ids))


def _args(g: nx.DiGraph, u: Hashable, v: Hashable) -> Any:
    e = g.get_edge_data(u, v)  # not g.adj[u]: that makes a view object per call, 40k calls a fold
    return None if e is None else e.get("args")


def _link(g: nx.DiGraph, c: Hashable, v: Hashable) -> str:
    """How tree child ``c`` meets its post-dominator ``v``, as a string that sorts against any
    other: the edge's argument positions, or "" when ``c`` reaches ``v`` only through others
    (a node used twice, as in ``tanh(h + x) * tanh(h)``, post-dominated by the ``mul``)."""
    e = g.get_edge_data(c, v)
    return "" if e is None else repr(e.get("args"))


class _Analysis:
    def __init__(self, g: nx.DiGraph, min_repeats: int) -> None:
        self.g = g
        self.min_repeats = min_repeats
        self.order = list(nx.topological_sort(g))
        self.topo = {v: i for i, v in enumerate(self.order)}
        self.in_degree = dict(g.in_degree())
        self._dominators()
        self._tree()

    # --- 1. post-dominator tree ----------------------------------------------------------------
    def _dominators(self) -> None:
        g = self.g
        parent: dict[Hashable, Hashable | None] = {}
        depth: dict[Hashable, int] = {}

        def lca(a: Hashable | None, b: Hashable | None) -> Hashable | None:
            while a is not None and b is not None and a != b:
                da, db = depth[a], depth[b]
                if da >= db:
                    a = parent[a]
                if db >= da:
                    b = parent[b]
            return a if a == b else None

        for v in reversed(self.order):
            succ = [s for s in g.successors(v) if s != v]
            if not succ:
                parent[v], depth[v] = None, 1
                continue
            succ.sort(key=depth.__getitem__, reverse=True)
            acc: Hashable | None = succ[0]
            for s in succ[1:]:
                acc = lca(acc, s)
                if acc is None:
                    break
            parent[v] = acc
            depth[v] = depth[acc] + 1 if acc is not None else 1
        self.parent = parent

    # --- 2. heavy paths, canonical codes --------------------------------------------------------
    def _tree(self) -> None:
        g, parent = self.g, self.parent
        children: dict[Hashable, list[Hashable]] = defaultdict(list)
        size = dict.fromkeys(self.order, 1)
        for v in self.order:  # a node's ipdom comes after it: children are done before parents
            p = parent[v]
            if p is not None:
                children[p].append(v)
                size[p] += size[v]
        self.children = children
        sig = _Interner()
        self.sig = {v: sig(signature(g.nodes[v])) for v in self.order}
        canon = _Interner()
        self.canon: dict[Hashable, int] = {}
        heavy: dict[Hashable, Hashable] = {}
        for v in self.order:
            kids = children.get(v, ())
            if kids:
                heavy[v] = max(kids, key=lambda c: (size[c], self.topo[c]))
            key = tuple(sorted((self.canon[c], _link(g, c, v)) for c in kids))
            self.canon[v] = canon((self.sig[v], key))
        self.heavy = heavy
        # Euler tour (subtree membership) and heavy paths, computation order within a path.
        self.tin: dict[Hashable, int] = {}
        self.tout: dict[Hashable, int] = {}
        self.euler: list[Hashable] = []
        self.paths: list[list[Hashable]] = []
        self.path_of: dict[Hashable, int] = {}
        self.pos: dict[Hashable, int] = {}
        roots = [v for v in self.order if parent[v] is None]
        for r in roots:
            stack: list[tuple[Hashable, bool]] = [(r, False)]
            while stack:
                v, done = stack.pop()
                if done:
                    self.tout[v] = len(self.euler)
                    continue
                self.tin[v] = len(self.euler)
                self.euler.append(v)
                if parent[v] is None or heavy.get(parent[v]) != v:  # the top of a heavy path
                    path = [v]
                    while path[-1] in heavy:
                        path.append(heavy[path[-1]])
                    path.reverse()  # deepest first: the order of computation
                    k = len(self.paths)
                    self.paths.append(path)
                    for j, u in enumerate(path):
                        self.path_of[u], self.pos[u] = k, j
                stack.append((v, True))
                for c in children.get(v, ()):
                    stack.append((c, False))
        self._touch: dict[Hashable, int | None] = {}

    def _spine_pos(self, t: Hashable, path: int) -> int | None:
        """Position on heavy path ``path`` of ``t``'s nearest ancestor there (None: not under it)."""
        v: Hashable | None = t
        while v is not None and self.path_of[v] != path:
            v = self.parent[self.paths[self.path_of[v]][-1]]
        return None if v is None else self.pos[v]

    def reach(self, c: Hashable) -> int | None:
        """For a light child ``c`` of a spine node ``s``: how far back along ``s``'s path its
        subtree's edges to elsewhere go (``pos(s)`` minus the lowest position reached), or
        None if it touches nothing but ``s``. A shared input reaches back over the whole run."""
        if c in self._touch:
            return self._touch[c]
        s = self.parent[c]
        lo, hi = self.tin[c], self.tout[c]
        low = None
        path = self.path_of[s]
        for u in self.euler[lo:hi]:
            for t in self.g.successors(u):
                if t == s or lo <= self.tin[t] < hi:
                    continue
                p = self._spine_pos(t, path)
                if p is not None and (low is None or p < low):
                    low = p
        out = None if low is None else self.pos[s] - low
        self._touch[c] = out
        return out

    def lights(self, s: Hashable) -> list[Hashable]:
        g = self.g
        kids = [c for c in self.children.get(s, ()) if self.heavy.get(s) != c]
        return sorted(kids, key=lambda c: (self.canon[c], _link(g, c, s), self.topo[c]))

    def symbol(self, s: Hashable, interner: _Interner) -> int:
        # Not the heavy child's edge: the first step takes its input from outside the run, and
        # the verification checks every edge anyway.
        local = tuple((self.canon[c], _link(self.g, c, s)) for c in self.lights(s) if self.reach(c) is None)
        return interner((self.sig[s], local))

    def subtree(self, c: Hashable) -> list[Hashable]:
        """``c``'s subtree in canonical order (children sorted by their codes)."""
        out: list[Hashable] = []
        stack = [c]
        while stack:
            v = stack.pop()
            out.append(v)
            kids = sorted(
                self.children.get(v, ()),
                key=lambda k: (self.canon[k], _link(self.g, k, v), self.topo[k]),
            )
            stack.extend(reversed(kids))
        return out

    # --- 3. periodic stretches -------------------------------------------------------------------
    def stretches(self) -> Iterable[tuple[int, int, int, int]]:
        """(path, period, start, length) of every maximal periodic stretch of at least
        ``min_repeats`` periods."""
        interner = _Interner()
        for k, path in enumerate(self.paths):
            if len(path) >= self.min_repeats:
                sym = [self.symbol(s, interner) for s in path]
                for p, a, length in periodic(sym, self.min_repeats):
                    yield k, p, a, length

    # --- 4. blocks and their verification -----------------------------------------------------------
    def block(self, path: int, start: int, p: int) -> list[Hashable]:
        out: list[Hashable] = []
        seq = self.paths[path]
        for j in range(start, start + p):
            s = seq[j]
            out.append(s)
            for c in self.lights(s):
                r = self.reach(c)
                if r is None or r <= 2 * p:  # its own, or reaching into the step before: local
                    out.extend(self.subtree(c))
        return out

    def verified(self, blocks: list[list[Hashable]]) -> list[tuple[int, int]]:
        """Ranges [i, j) of blocks in which each block is a translate of the one before."""
        g = self.g
        where = {v: (i, k) for i, b in enumerate(blocks) for k, v in enumerate(b)}
        good = [True] * len(blocks)  # good[i]: block i follows block i - 1
        for i in range(1, len(blocks)):
            prev, cur = blocks[i - 1], blocks[i]
            if len(prev) != len(cur) or any(where.get(v, (None,))[0] != i for v in cur):
                good[i] = False
                continue
            for k, w in enumerate(cur):
                v = prev[k]
                if self.sig[v] != self.sig[w]:
                    good[i] = False
                    break
                if i > 1 and self.in_degree[v] != self.in_degree[w]:
                    good[i] = False
                    break
                for u2 in g.predecessors(w):
                    m, q = where.get(u2, (None, None))
                    if m is None:
                        u = u2  # a shared input: the same node
                    elif m - 1 < 0:
                        continue  # from before the run: block 0's inputs are the run's inputs
                    elif q < len(blocks[m - 1]):
                        u = blocks[m - 1][q]
                    else:
                        # From a longer block (a later step's side work, post-dominated there,
                        # can feed this one): its image one step back does not exist.
                        good[i] = False
                        break
                    if not g.has_edge(u, v) or _args(g, u, v) != _args(g, u2, w):
                        good[i] = False
                        break
                if not good[i]:
                    break
        out, a = [], 0
        for i in range(1, len(blocks) + 1):
            if i == len(blocks) or not good[i]:
                out.append((a, i))
                a = i
        return out


def periodic(
    sym: list[int], min_repeats: int, max_periods: int | None = None
) -> Iterable[tuple[int, int, int]]:
    """(period, start, length) of every maximal stretch of ``sym`` that repeats with a period
    at least ``min_repeats`` times. Periods are the gaps between a symbol's occurrences (the
    ``max_periods`` most common of them, if given); each is grown both ways, linearly."""
    n = len(sym)
    last: dict[int, int] = {}
    seeds: dict[int, list[int]] = defaultdict(list)
    for j, c in enumerate(sym):
        if c in last:
            seeds[j - last[c]].append(last[c])
        last[c] = j
    periods = sorted(seeds)
    if max_periods is not None and len(periods) > max_periods:
        periods = sorted(sorted(periods, key=lambda p: -len(seeds[p]))[:max_periods])
    for p in periods:
        if p * min_repeats > n:
            break
        covered = -1
        for j in seeds[p]:
            if j < covered:
                continue
            a = j
            while a > 0 and sym[a - 1] == sym[a - 1 + p]:
                a -= 1
            b = j
            while b + p < n and sym[b] == sym[b + p]:
                b += 1
            covered = b
            if (b - a + p) // p >= min_repeats:
                yield p, a, b - a + p


def _made_in_order(g: nx.DiGraph, topo: dict[Hashable, int]) -> list[Hashable]:
    """The nodes in the order the computation made them: ops by when they were made (``seq``),
    a tensor right after the op that made it, a leaf (and its AccumulateGrad) right before its
    first use; in the order they were added where there is no ``seq`` (a PyTorch graph)."""
    key: dict[Hashable, tuple[int, int]] = {}
    order = sorted(g, key=topo.__getitem__)
    for v in order:
        seq = g.nodes[v].get("seq")
        if seq is not None:
            key[v] = (seq, 1)
        else:
            made = [key[u][0] for u in g.predecessors(v) if u in key]
            if made:
                key[v] = (max(made), 2)
    for v in reversed(order):
        if v not in key:
            used = [key[w][0] for w in g.successors(v) if w in key]
            if used:
                key[v] = (min(used), 0)
    if not key:
        return list(g)
    end = max(k[0] for k in key.values()) + 1
    return sorted(g, key=lambda v: (key.get(v, (end, 0)), topo[v]))


# Periods tried in the order of making (a graph has few loops; a few gaps are most common).
MAX_ORDER_PERIODS = 64


def _runs_in_order(an: _Analysis, taken: set[Hashable]) -> list[Run]:
    """Runs in the order the nodes were made (a step with two states: see the module's notes)
    among the nodes not in ``taken`` (the tree's runs), each stretch at the phase that hides most."""
    seq = [v for v in _made_in_order(an.g, an.topo) if v not in taken]
    g = an.g
    out: list[Run] = []
    for p, start, length in periodic([an.sig[v] for v in seq], an.min_repeats, MAX_ORDER_PERIODS):
        if p < 2:
            continue  # one node a step: a chain the tree finds, or shared inputs side by side
        # Each phase is tried on its first three steps (cheap); the whole stretch is verified
        # at the best one only: most steps (one found before the stretch counts), then the cut
        # crossing fewest edges, at a step's own boundary where only its state passes on.
        best: tuple[tuple[int, int], int] | None = None
        for k in _phases(g, seq, start, p, length):
            reps = (length - k) // p
            if reps < an.min_repeats:
                continue
            trial = _phase_runs(an, seq, start + k, p, an.min_repeats)
            if trial:
                score = (sum(r.count for r in trial), -_crossing(g, trial[0]))
                if best is None or score > best[0]:
                    best = (score, k)
        if best is not None:
            k = best[1]
            out += _phase_runs(an, seq, start + k, p, (length - k) // p)

    return out


def _phase_runs(an: _Analysis, seq: list[Hashable], start: int, p: int, reps: int) -> list[Run]:
    """The verified runs of ``reps`` steps of ``p`` nodes of ``seq`` from ``start``."""
    blocks = [list(seq[start + i * p : start + (i + 1) * p]) for i in range(reps)]
    # The carried result: the last node of a step that feeds the next (the same place in every
    # step, as the steps are translates of each other once verified).
    second = set(blocks[1])
    feeding = [q for q, v in enumerate(blocks[0]) if any(w in second for w in an.g.successors(v))]
    if not feeding:
        return []  # side by side, not a loop: each step must feed the next
    return _runs_of(an, blocks, [b[feeding[-1]] for b in blocks], p)


def _phases(g: nx.DiGraph, seq: list[Hashable], start: int, p: int, length: int) -> list[int]:
    """The :data:`MAX_PHASES` offsets into a stretch at which a step's cut crosses fewest edges
    (a step's own boundary, where only its state passes on), in the stretch's second period;
    none if a cut crosses none (repeated work side by side is not a loop)."""
    lo, hi = start + p, start + 2 * p  # cuts before seq[c], c in [lo, hi)
    pos = {v: i for i, v in enumerate(seq[start : start + length], start)}
    diff = [0] * (p + 1)
    for v, i in pos.items():
        for w in g.successors(v):
            j = pos.get(w)
            if j is None or j < lo or i >= hi:  # wholly before the window or after it
                continue
            a, b = max(i + 1, lo), min(j, hi - 1)  # the cuts c with i < c <= j
            if a <= b:
                diff[a - lo] += 1
                diff[b - lo + 1] -= 1
    crossing, run = [], 0
    for c in range(p):
        run += diff[c]
        crossing.append(run)
    if min(crossing) == 0:
        return []  # a cut no edge crosses: its steps sit side by side, none feeds the next
    return sorted(range(p), key=lambda k: (crossing[k], k))[:MAX_PHASES]


def _crossing(g: nx.DiGraph, run: Run) -> int:
    """Edges from one repetition of ``run`` into the next."""
    nxt = set(run.blocks[1])
    return sum(1 for v in run.blocks[0] for w in g.successors(v) if w in nxt)


def _extend_back(
    an: _Analysis, b0: list[Hashable], b1: list[Hashable], run: set[Hashable]
) -> list[Hashable] | None:
    """The step before ``b0``, as ``b0`` is the step before ``b1``: found by following the
    edges of ``b0`` into ``b1`` back into ``b0``, then ``b0``'s own edges backwards; None if
    nothing outside the run matches node for node."""
    g = an.g
    pos0 = {v: k for k, v in enumerate(b0)}
    pos1 = {v: k for k, v in enumerate(b1)}
    found: dict[int, Hashable] = {}
    taken: set[Hashable] = set()
    todo: list[int] = []

    def assign(q: int, u: Hashable) -> bool:
        if q in found:
            return found[q] == u
        if u in run or u in taken or an.sig[u] != an.sig[b0[q]]:
            return False
        found[q] = u
        taken.add(u)
        todo.append(q)
        return True

    def pred_with(v: Hashable, args: Any) -> Hashable | None:
        for u in g.predecessors(v):
            if _args(g, u, v) == args:
                return u
        return None

    for w in b1:
        for u in g.predecessors(w):
            if u in pos0:  # b0 feeds b1 here: the step before feeds b0 the same way
                k = pos1[w]
                prev = pred_with(b0[k], _args(g, u, w))
                if prev is None or not assign(pos0[u], prev):
                    return None
    while todo:
        q = todo.pop()
        m, v = found[q], b0[q]
        for u in g.predecessors(v):
            args = _args(g, u, v)
            prev = pred_with(m, args)
            if u in pos0:
                if prev is None or not assign(pos0[u], prev):
                    return None
            elif u in taken:
                continue  # from the step before: that one's input comes from further back
            elif u not in run and prev != u:  # a shared input: the same one
                return None
    if len(found) != len(b0):
        return None
    before = [found[k] for k in range(len(b0))]
    return before if an.verified([before, b0, b1]) == [(0, 3)] else None


def _trailing_outside(g: nx.DiGraph, v: Hashable) -> bool:
    a = g.nodes[v]
    return a.get("type") == "tensor" and bool(a.get("is_output") or a.get("name"))


def _runs_at(an: _Analysis, path: int, start: int, p: int, reps: int) -> list[Run]:
    seq = an.paths[path]
    blocks = [an.block(path, start + i * p, p) for i in range(reps)]
    carries = [seq[start + (i + 1) * p - 1] for i in range(reps)]
    return _runs_of(an, blocks, carries, p)


def _runs_of(an: _Analysis, blocks: list[list[Hashable]], carries: list[Hashable], p: int) -> list[Run]:
    """The verified runs among ``blocks`` (``carries[i]``: block i's carried result), each
    extended back over the steps whose inputs come from before it."""
    g = an.g
    out = []
    for a, b in an.verified(blocks):
        chosen = [list(x) for x in blocks[a:b]]
        cs = list(carries[a:b])
        while len(chosen) >= 2:  # the steps before, whose inputs come from outside the run
            before = _extend_back(an, chosen[0], chosen[1], {v for x in chosen for v in x})
            if before is None:
                break
            cs.insert(0, before[chosen[0].index(cs[0])])
            chosen.insert(0, before)
        if len(chosen) < an.min_repeats:
            continue
        # The named result of the last step (the loop's y) stays outside, where it was drawn.
        last = chosen[-1]
        if last and last[0] != cs[-1] and _trailing_outside(g, cs[-1]):
            last.remove(cs[-1])
        out.append(Run(f"{REPEAT_PREFIX}{chosen[0][0]}", tuple(map(tuple, chosen)), tuple(cs), p))
    return out


def find_repeats(g: nx.DiGraph, min_repeats: int = MIN_REPEATS) -> list[Run]:
    """Every run of ``min_repeats`` or more repetitions in ``g``, outermost first, nested runs
    with their ``parent``. A graph with a cycle (none of gradviz's) has none."""
    if g.number_of_nodes() < min_repeats or not nx.is_directed_acyclic_graph(g):
        return []
    an = _Analysis(g, min_repeats)
    chooser = _Chooser()
    # Biggest first, so that an outer loop is chosen before the loops inside its steps.
    for path, p, start, length in sorted(an.stretches(), key=lambda s: s[3] - s[1], reverse=True):
        # The first phase is taken if it covers the path from its start and fits with what is
        # chosen; else a few more are tried and the one that hides most and fits is taken
        # (inside a bigger loop's step, say).
        first = _runs_at(an, path, start, p, length // p)
        whole = start == 0 and sum(r.count for r in first) >= length // p  # nothing before it
        if whole and all(chooser.fits(r) for r in first):
            for run in first:
                chooser.take(run)
            continue
        variants = [(len(r.nodes()) - len(r.blocks[0]), 0, r) for r in first]
        for k in range(1, min(p, MAX_PHASES)):
            reps = (length - k) // p
            if reps < min_repeats - 1:
                break
            variants += [
                (len(r.nodes()) - len(r.blocks[0]), -k, r) for r in _runs_at(an, path, start + k, p, reps)
            ]
        for _, _, run in sorted(variants, key=lambda c: (c[0], c[1]), reverse=True):
            if chooser.fits(run):
                chooser.take(run)
    # Then the loops the tree can't see, where they fit with those it found.
    taken = {v for r in chooser.accepted for v in r.nodes()}
    for run in sorted(_runs_in_order(an, taken), key=lambda r: len(r.nodes()), reverse=True):
        if chooser.fits(run):
            chooser.take(run)
    return _with_parents(chooser.accepted)


class _Chooser:
    """Runs chosen so far; a new one must be apart from each, or inside one of its steps, or
    hold it inside one of its own steps."""

    def __init__(self) -> None:
        self.accepted: list[Run] = []
        self.block_of: dict[Hashable, list[tuple[int, int]]] = defaultdict(list)  # node -> (run, block)

    def fits(self, run: Run) -> bool:
        nodes = run.nodes()
        touching: dict[int, set[int]] = defaultdict(set)
        for v in nodes:
            for ri, bi in self.block_of.get(v, ()):
                touching[ri].add(bi)
        for ri, bis in touching.items():
            other = self.accepted[ri]
            inside = len(bis) == 1 and nodes <= set(other.blocks[next(iter(bis))])
            around = other.nodes() <= nodes and any(other.nodes() <= set(b) for b in run.blocks)
            if not (inside or around):
                return False
        return True

    def take(self, run: Run) -> None:
        if any(r.id == run.id for r in self.accepted):  # a loop nested at the very start of another
            run = Run(f"{run.id}/{run.period}", run.blocks, run.carries, run.period)
        k = len(self.accepted)
        self.accepted.append(run)
        for bi, b in enumerate(run.blocks):
            for v in b:
                self.block_of[v].append((k, bi))


def _with_parents(runs: list[Run]) -> list[Run]:
    """Each run's parent: the smallest block of another run that holds all its nodes."""
    out: list[Run] = []
    for run in runs:
        nodes = run.nodes()
        best: tuple[int, str, int] | None = None
        for other in runs:
            if other is run:
                continue
            for i, b in enumerate(other.blocks):
                if len(b) > len(nodes) and nodes <= set(b) and (best is None or len(b) < best[0]):
                    best = (len(b), other.id, i)
        parent = (best[1], best[2]) if best else None
        out.append(Run(run.id, run.blocks, run.carries, run.period, parent))
    depth = {r.id: 0 for r in out}
    by_id = {r.id: r for r in out}
    for r in out:
        d, p = 0, r.parent
        while p is not None:
            d += 1
            p = by_id[p[0]].parent
        depth[r.id] = d
    return sorted(out, key=lambda r: depth[r.id])
