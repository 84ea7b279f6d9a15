"""A big graph grown by one op is laid out by placing the new nodes only (graph/incremental.py):
the old nodes stay exactly where they were, the new ones overlap nothing and sit below their
inputs; anything else falls back to a full layout."""

from __future__ import annotations

import networkx as nx
import pytest

from gradviz.graph.incremental import MAX_NEW, MIN_NODES, extend
from gradviz.graph.layout import bounding_box, layout


def chain(n_steps: int) -> nx.DiGraph:
    """x -> mul -> h0 -> mul -> h1 ..., each mul also fed by its own weight: 3 nodes a step."""
    g = nx.DiGraph()
    g.add_node("x", width=50, height=40)
    prev = "x"
    for i in range(n_steps):
        g.add_node(f"w{i}", width=50, height=40)
        g.add_node(f"op{i}", width=36, height=20)
        g.add_node(f"h{i}", width=60, height=40)
        g.add_edges_from([(prev, f"op{i}"), (f"w{i}", f"op{i}"), (f"op{i}", f"h{i}")])
        prev = f"h{i}"
    return g


def boxes_overlap(a, b, gap: float = 0.0) -> bool:
    (ax, ay, aw, ah), (bx, by, bw, bh) = a, b
    return abs(ax - bx) * 2 < aw + bw + gap and abs(ay - by) * 2 < ah + bh + gap


def grown(g: nx.DiGraph, frm: str, k: int) -> nx.DiGraph:
    g = g.copy()
    g.add_node(f"c{k}", width=50, height=40)
    g.add_node(f"add{k}", width=36, height=20)
    g.add_node(f"e{k}", width=70, height=40)
    g.add_edges_from([(frm, f"add{k}"), (f"c{k}", f"add{k}"), (f"add{k}", f"e{k}")])
    return g


def test_one_more_op_keeps_every_old_place_and_overlaps_nothing() -> None:
    g = chain(MIN_NODES // 3 + 10)
    before = layout(g, prefer="builtin")
    big = grown(g, "h20", 0)  # an op in the middle of the graph, not only at its end
    after = extend(big, before)
    assert after is not None and set(after.positions) == set(big)
    assert all(after.positions[v] == before.positions[v] for v in g)
    assert all(after.edges[e] == before.edges[e] for e in g.edges)
    for v in ("c0", "add0", "e0"):
        x, y = after.positions[v]
        w, h = after.sizes[v]
        for u in big:
            if u != v:
                ux, uy = after.positions[u]
                uw, uh = after.sizes[u]
                assert not boxes_overlap((x, y, w, h), (ux, uy, uw, uh)), (v, u)
    assert after.positions["add0"][1] > after.positions["h20"][1] > 0
    assert after.positions["e0"][1] > after.positions["add0"][1]
    for e in big.edges:
        assert len(after.edges[e]) >= 4 and (len(after.edges[e]) - 1) % 3 == 0  # cubic pieces
    again = extend(grown(big, "e0", 1), after)  # and again, from the grown layout
    assert again is not None and all(again.positions[v] == after.positions[v] for v in big)


@pytest.mark.parametrize("why", ["resized", "many", "small", "direction"])
def test_anything_else_is_laid_out_in_full(why: str) -> None:
    g = chain(MIN_NODES // 3 + 10 if why != "small" else 20)
    before = layout(g, prefer="builtin")
    big = grown(g, "h3", 0)
    direction = "TB"
    if why == "resized":
        for k in range(MAX_NEW + 1):  # gradient lines appeared: the picture changes anyway
            big.nodes[f"h{k}"]["width"] = 64
    elif why == "many":
        for k in range(1, MAX_NEW):
            big = grown(big, "h3", k)
    elif why == "direction":
        direction = "LR"
    assert extend(big, before, direction) is None
    assert extend(g, None) is None


def test_a_node_that_grew_keeps_its_place_if_it_still_fits() -> None:
    g = chain(MIN_NODES // 3 + 10)
    before = layout(g, prefer="builtin")
    last = f"h{MIN_NODES // 3 + 9}"
    big = grown(g, last, 0)
    big.nodes[last]["width"] = 62  # the output is an output no more: its label line changed
    after = extend(big, before)
    assert after is not None and after.positions[last] == before.positions[last]
    assert after.sizes[last] == (62.0, 40.0)
    big.nodes[last]["width"] = 60
    big.nodes["h50"]["width"] = 400  # now it would cover w51, beside it: lay out again
    assert extend(big, before) is None


def test_the_grown_layouts_box_covers_what_it_holds_as_one_measured_whole() -> None:
    g = chain(MIN_NODES // 3 + 10)
    lay = layout(g, prefer="builtin")
    for k in range(3):  # grown from a full layout, then from grown ones (their box is kept)
        frm = "h20" if k != 1 else f"e{k - 1}"
        g = grown(g, frm, k)
        g.add_node(f"far{k}", width=400, height=40)  # wider than anything: the box must grow
        g.add_edge(f"e{k}", f"far{k}")
        lay = extend(g, lay)
        assert lay is not None
        assert lay.bbox == pytest.approx(bounding_box(lay.positions, lay.edges, lay.sizes), abs=1e-6)
    smaller = g.copy()
    smaller.remove_nodes_from(["far2", "e2", "add2", "c2"])  # one node left: measured whole
    smaller.add_node("c9", width=10, height=10)
    smaller.add_edge("h5", "c9")
    shrunk = extend(smaller, lay)
    assert shrunk is not None
    assert shrunk.bbox == pytest.approx(bounding_box(shrunk.positions, shrunk.edges, shrunk.sizes), abs=1e-6)
    assert shrunk.bbox[2] < lay.bbox[2]  # far2 was the widest


def test_a_new_input_of_its_own_sits_just_above_the_new_op_it_feeds() -> None:
    g = chain(MIN_NODES // 3 + 10)
    before = layout(g, prefer="builtin")
    big = grown(g, "h60", 0)  # c0 (a number, say) and h60 feed the new add0
    after = extend(big, before)
    assert after is not None
    (cx, cy), (ax, ay) = after.positions["c0"], after.positions["add0"]
    assert cy < ay  # above the op it feeds, its edge running down to it
    assert cy > after.positions["h59"][1]  # in the band just above, not at the graph's top
    assert abs(cx - ax) < 200
