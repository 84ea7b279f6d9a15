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

Limitations: a step whose state is two tensors, each reaching the next step without the other
(``a, b = f(a, b), g(a, b)``, an LSTM's ``h`` and ``c``), has no node that every path through
the step passes, so the tree has no long path there and nothing is folded (never anything
wrong). Such a cell needs a spine made of the pair; not done yet.
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
            key = tuple(sorted((self.canon[c], _args(g, c, v)) for c in kids))
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
        return sorted(kids, key=lambda c: (self.canon[c], str(_args(g, c, s)), self.topo[c]))

    def symbol(self, s: Hashable, interner: _Interner) -> int:
        # Not the heavy child's edge: the first step takes its input from outside the run, and
        # the verification checks every edge anyway.
        local = tuple((self.canon[c], _args(self.g, c, s)) for c in self.lights(s) if self.reach(c) is None)
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
                key=lambda k: (self.canon[k], str(_args(self.g, k, v)), self.topo[k]),
            )
            stack.extend(reversed(kids))
        return out

    # --- 3. periodic stretches -------------------------------------------------------------------
    def stretches(self) -> Iterable[tuple[int, int, int, int]]:
        """(path, period, start, length) of every maximal periodic stretch of at least
        ``min_repeats`` periods."""
        interner = _Interner()
        for k, path in enumerate(self.paths):
            n = len(path)
            if n < self.min_repeats:
                continue
            sym = [self.symbol(s, interner) for s in path]
            last: dict[int, int] = {}
            seeds: dict[int, list[int]] = defaultdict(list)
            for j, c in enumerate(sym):
                if c in last:
                    seeds[j - last[c]].append(last[c])
                last[c] = j
            for p in sorted(seeds):
                if p * self.min_repeats > n:
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
                    if (b - a + p) // p >= self.min_repeats:
                        yield k, p, a, b - a + p

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
                    else:
                        u = blocks[m - 1][q]
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
    g, seq = an.g, an.paths[path]
    blocks = [an.block(path, start + i * p, p) for i in range(reps)]
    carries = [seq[start + (i + 1) * p - 1] for i in range(reps)]
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
