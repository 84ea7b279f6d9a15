"""Layout: geometry that holds whoever lays out, and the built-in layered layout's promises.

Timings are the benchmark's business (benchmarks/layout.py); these tests check shapes.
"""

from __future__ import annotations

import random

import networkx as nx
import numpy as np
import pytest

from gradviz.graph import dot_binary
from gradviz.graph import layout_quality as quality
from gradviz.graph.layout import Layout, layout

HAVE_DOT = dot_binary.find_dot()[0] is not None
needs_dot = pytest.mark.skipif(not HAVE_DOT, reason="no dot binary")


def autograd_like(n: int, seed: int = 0) -> nx.DiGraph:
    """A chain of ops with fan-in 2: fresh leaves, recent results, some skips, a shared weight."""
    rng = random.Random(seed)
    g = nx.DiGraph()
    ops = ["x"]
    g.add_node("x")
    g.add_node("w")
    while len(g) < n:
        v = f"op{len(g)}"
        ins = [ops[-1 - min(int(rng.expovariate(1.5)), len(ops) - 1)]]
        r = rng.random()
        if r < 0.35:
            ins.append(f"leaf{len(g)}")
        elif r < 0.8:
            ins.append(ops[-1 - rng.randrange(min(len(ops), 3))])
        elif r < 0.95:
            ins.append(ops[-1 - rng.randrange(min(len(ops), 12))])
        else:
            ins.append("w")
        for u in ins:
            g.add_edge(u, v)
        ops.append(v)
    return g


def check_geometry(lay: Layout, g: nx.DiGraph) -> None:
    assert set(lay.positions) == set(g.nodes)
    assert set(lay.edges) == set(g.edges)
    assert quality.overlapping_nodes(lay) == []
    assert quality.edges_through_nodes(lay) == []
    for (u, v), pts in lay.edges.items():
        assert len(pts) >= 4 and (len(pts) - 1) % 3 == 0, "cubic Bezier control points"
        if u != v:
            # ends on the borders of the two nodes (within dot's arrow gap)
            for end, node in ((pts[0], u), (pts[-1], v)):
                (cx, cy), (w, h) = lay.positions[node], lay.sizes[node]
                assert abs(end[0] - cx) <= w / 2 + 1 and abs(end[1] - cy) <= h / 2 + 1
    x0, y0, x1, y1 = lay.bbox
    for v, (x, y) in lay.positions.items():
        w, h = lay.sizes[v]
        assert x0 - 1e-6 <= x - w / 2 and x + w / 2 <= x1 + 1e-6
        assert y0 - 1e-6 <= y - h / 2 and y + h / 2 <= y1 + 1e-6


SMALL = nx.DiGraph([("w", "mul"), ("x", "mul"), ("mul", "add"), ("b", "add"), ("add", "sum")])


@pytest.mark.parametrize("prefer", ["builtin", pytest.param("dot", marks=needs_dot)])
def test_top_to_bottom_with_sound_geometry(prefer: str) -> None:
    g = autograd_like(60, seed=3)
    lay = layout(g, prefer=prefer)
    assert lay.provider == ("builtin" if prefer == "builtin" else dot_binary.find_dot()[1])
    check_geometry(lay, g)
    for u, v in g.edges:  # inputs above, outputs below
        assert lay.positions[u][1] < lay.positions[v][1]
    assert lay.bbox[:2] == pytest.approx((0.0, 0.0))
    assert lay.seconds > 0


def test_node_sizes_are_respected() -> None:
    g = SMALL.copy()
    g.nodes["mul"].update(width=200, height=80)
    g.nodes["x"]["width"] = 120
    lay = layout(g, prefer="builtin")
    assert lay.sizes["mul"] == (200.0, 80.0) and lay.sizes["b"] == (54.0, 36.0)
    check_geometry(lay, g)


def test_deterministic() -> None:
    g = autograd_like(300, seed=1)
    a, b = layout(g, prefer="builtin"), layout(g.copy(), prefer="builtin")
    assert a.positions == b.positions
    assert a.edges == b.edges


def test_long_edges_go_around_nodes() -> None:
    # a column of ops with skips over it from above and from the side
    g = nx.DiGraph()
    nx.add_path(g, [f"c{i}" for i in range(8)])
    g.add_edges_from([("c0", "c7"), ("c1", "c5"), ("side", "c6"), ("c2", "out"), ("c7", "out")])
    for i in range(1, 8):
        g.add_edge(f"leaf{i}", f"c{i}")
    lay = layout(g, prefer="builtin")
    check_geometry(lay, g)


def test_an_in_tree_is_drawn_without_crossings() -> None:
    # the gradient graph of a sum of products, built in a scrambled order: optimum 0 crossings
    rng = random.Random(7)
    g = nx.DiGraph()
    level = [f"leaf{i}" for i in range(16)]
    rng.shuffle(level)
    k = 0
    while len(level) > 1:
        nxt = []
        for a, b in zip(level[::2], level[1::2]):
            k += 1
            g.add_edge(a, f"op{k}")
            g.add_edge(b, f"op{k}")
            nxt.append(f"op{k}")
        level = nxt
    assert quality.crossings(layout(g, prefer="builtin")) == 0


def test_k22_has_its_one_unavoidable_crossing() -> None:
    g = nx.DiGraph([("a", "c"), ("a", "d"), ("b", "c"), ("b", "d")])
    assert quality.crossings(layout(g, prefer="builtin")) == 1


def test_crossings_of_a_hand_made_layout() -> None:
    line = lambda p, q: [p, p, q, q]  # noqa: E731
    pos = {"a": (0.0, 0.0), "b": (100.0, 0.0), "c": (0.0, 100.0), "d": (100.0, 100.0)}
    crossed = Layout(
        pos,
        {("a", "d"): line((0, 18), (100, 82)), ("b", "c"): line((100, 18), (0, 82))},
        dict.fromkeys(pos, (54.0, 36.0)),
        (0, 0, 154, 136),
        "test",
        0.0,
    )
    assert quality.crossings(crossed) == 1
    straight = Layout(
        pos,
        {("a", "c"): line((0, 18), (0, 82)), ("b", "d"): line((100, 18), (100, 82))},
        crossed.sizes,
        crossed.bbox,
        "test",
        0.0,
    )
    assert quality.crossings(straight) == 0
    through = Layout(
        {**pos, "m": (50.0, 50.0)}, crossed.edges, {**crossed.sizes, "m": (20.0, 20.0)}, crossed.bbox, "t", 0
    )
    assert {n for _, n in quality.edges_through_nodes(through)} == {"m"}


@needs_dot
def test_no_more_crossings_than_dot() -> None:
    for seed in range(3):
        g = autograd_like(120, seed=seed)
        ours = quality.crossings(layout(g, prefer="builtin"))
        theirs = quality.crossings(layout(g, prefer="dot"))
        assert ours <= theirs, (seed, ours, theirs)


def _moves(a: Layout, b: Layout) -> np.ndarray:
    return np.array(
        [np.hypot(*np.subtract(a.positions[v], b.positions[v])) for v in a.positions if v in b.positions]
    )


@pytest.mark.parametrize("where", ["end", "middle"])
def test_adding_one_op_keeps_the_rest_in_place(where: str) -> None:
    g = autograd_like(150, seed=2)
    before = layout(g, prefer="builtin")
    grown = g.copy()
    ops = [v for v in g if str(v).startswith("op")]
    if where == "end":
        grown.add_edges_from([(ops[-1], "new"), ("new_leaf", "new")])
    else:
        grown.add_edges_from([(ops[len(ops) // 2], "new"), (ops[len(ops) // 3], "new")])
    after = layout(grown, previous=before)
    assert after.provider == "builtin"
    check_geometry(after, grown)
    moves = _moves(before, after)
    assert np.median(moves) < 5.0
    # no more than a node gap for most nodes: all but a few at the end, and in the middle all
    # but those that make room for the new op and its edges
    assert np.mean(moves <= 18.0) >= (0.95 if where == "end" else 0.8)


@needs_dot
def test_dot_is_kept_for_a_small_graph_only_while_it_stays_put() -> None:
    g = autograd_like(40, seed=1)
    before = layout(g)
    assert before.provider != "builtin"  # small and no previous: dot
    grown = g.copy()
    ops = [v for v in g if str(v).startswith("op")]
    grown.add_edges_from([(ops[len(ops) // 2], "new"), (ops[len(ops) // 3], "new")])
    after = layout(grown, previous=before)
    share = np.mean(_moves(before, after) <= 18.0)
    assert share >= 0.8 or after.provider == "builtin"


def test_big_graphs_skip_dot() -> None:
    assert layout(autograd_like(200), prefer=None).provider == "builtin"


def test_awkward_graphs() -> None:
    empty = layout(nx.DiGraph(), prefer="builtin")
    assert empty.positions == {} and empty.width == 0
    one = layout(nx.DiGraph([("a", "a")]), prefer="builtin")  # a self-loop
    check_geometry(one, nx.DiGraph([("a", "a")]))
    cyc = nx.DiGraph([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("b", "a")])
    lay = layout(cyc, prefer="builtin")
    assert set(lay.edges) == set(cyc.edges)
    assert quality.overlapping_nodes(lay) == []
    apart = nx.DiGraph([("a", "b"), ("c", "d")])
    apart.add_node("lonely")
    check_geometry(layout(apart, prefer="builtin"), apart)
    multi = nx.MultiDiGraph([("a", "b"), ("a", "b")])
    assert list(layout(multi, prefer="builtin").edges) == [("a", "b")]


def test_bad_prefer() -> None:
    with pytest.raises(ValueError, match="prefer"):
        layout(SMALL, prefer="neato")


def _wide_nodes(g: nx.DiGraph) -> nx.DiGraph:
    for i, v in enumerate(g):
        g.nodes[v]["width"], g.nodes[v]["height"] = 70.0 + 10 * (i % 4), 28.0 + 6 * (i % 3)
    return g


@pytest.mark.parametrize("prefer", ["builtin", pytest.param("dot", marks=needs_dot)])
def test_left_to_right_puts_inputs_left_with_sound_geometry(prefer: str) -> None:
    g = _wide_nodes(autograd_like(60, seed=3))
    lr = layout(g, prefer=prefer, direction="LR")
    assert lr.direction == "LR"
    check_geometry(lr, g)
    assert all(lr.sizes[v] == (g.nodes[v]["width"], g.nodes[v]["height"]) for v in g)  # not turned
    for u, v in g.edges:
        (ux, _), (vx, _) = lr.positions[u], lr.positions[v]
        assert ux + lr.sizes[u][0] / 2 < vx - lr.sizes[v][0] / 2  # each edge runs rightwards
    tb = layout(g, prefer=prefer)
    assert tb.direction == "TB"
    assert lr.width > tb.width and lr.height < tb.height  # a long chain lies along the x axis


def test_a_previous_layout_in_the_other_direction_is_ignored() -> None:
    g = _wide_nodes(autograd_like(40, seed=5))
    tb = layout(g, prefer="builtin")
    grown = g.copy()
    grown.add_edge("op39", "extra")
    grown.nodes["extra"].update(width=60.0, height=30.0)
    lr = layout(grown, prefer="builtin", previous=tb, direction="LR")
    assert lr.positions == layout(grown, prefer="builtin", direction="LR").positions
    again = layout(grown, prefer="builtin", previous=lr, direction="LR")  # same direction: kept
    assert all(abs(again.positions[v][0] - lr.positions[v][0]) < 1e-6 for v in lr.positions)


def test_bad_direction() -> None:
    with pytest.raises(ValueError, match="direction must be one of"):
        layout(autograd_like(5), direction="BT")
