"""Folding runs of repetitions into groups: ids, edges, opened repetitions, and a layout
round trip that puts every node back."""

from __future__ import annotations

import pytest

import gradviz as torch
from gradviz.graph.folding import REPEAT, FoldState, body_text, fold
from gradviz.graph.layout import layout
from gradviz.graph.model import build_graph
from gradviz.graph.repeats import find_repeats


def chain(steps=10):
    x = torch.tensor([0.5, -0.3], requires_grad=True)
    w = torch.tensor([0.9, 1.1], requires_grad=True)
    y = x
    for _ in range(steps):
        y = torch.tanh(y * w + x)
        y.retain_grad()
    loss = y.sum()
    loss.backward()
    return {"x": x, "w": w, "y": y, "loss": loss}


def groups(g):
    return {n: a for n, a in g.nodes(data=True) if a["type"] == REPEAT}


def by_name(g, name):
    return next(n for n, a in g.nodes(data=True) if a.get("name") == name)


def test_group_replaces_the_run_and_keeps_each_shared_edge_once():
    g = build_graph(chain())
    f = fold(g)
    ((gid, a),) = groups(f).items()
    x, w, y = by_name(f, "x"), by_name(f, "w"), by_name(f, "y")
    assert set(f.predecessors(gid)) == {x, w} and list(f.successors(gid)) == [y]
    assert f.edges[x, gid]["bundled"] == 11  # every add took x, and the first mul
    assert f.edges[w, gid]["bundled"] == 10
    assert a["count"] == 10 and a["start"] == 0 and a["stop"] == 10 and a["total"] == 10
    # Every node outside the group is the same node, attributes and all.
    for n in f:
        if n != gid:
            assert f.nodes[n] == g.nodes[n]
    assert f.graph["outputs"] == g.graph["outputs"]


def test_group_id_comes_from_the_first_repetition_and_survives_a_rebuild():
    named = chain()
    (a,) = groups(fold(build_graph(named)))
    (b,) = groups(fold(build_graph(named)))
    assert a == b
    run = find_repeats(build_graph(named))[0]
    assert a == f"repeat:{run.blocks[0][0]}"


def test_sparkline_norms_are_the_gradients_entering_each_step():
    named = chain()
    g = build_graph(named)
    (a,) = groups(fold(g)).values()
    run = find_repeats(g)[0]
    expected = [g.nodes[c]["grad_stats"].norm for c in run.carries]
    assert list(a["grad_norms"]) == pytest.approx(expected)
    assert a["grad_norms"][-1] == pytest.approx(2**0.5)  # y.grad is ones(2)
    assert a["grad_first"] == a["grad_norms"][0]


def test_one_repetition_opened_splits_the_group_around_it():
    g = build_graph(chain())
    run = find_repeats(g)[0]
    state = FoldState()
    state.expand_one(run.id, 3)
    f = fold(g, [run], state)
    gs = groups(f)
    assert sorted((a["start"], a["stop"]) for a in gs.values()) == [(0, 3), (4, 10)]
    assert run.id in gs and f"{run.id}@4" in gs
    assert set(run.blocks[3]) <= set(f)  # the opened step's nodes, under their own ids
    state.collapse(run.id)
    assert set(groups(fold(g, [run], state))) == {run.id}


def test_nothing_to_fold_leaves_the_graph_alone():
    x = torch.tensor(2.0, requires_grad=True)
    g = build_graph((x * 3).exp())
    assert fold(g) is g


def test_layout_round_trip_puts_every_node_back():
    g = build_graph(chain(8))
    runs = find_repeats(g)
    folded = fold(g, runs)
    first = layout(folded)
    state = FoldState()
    state.expand(runs[0].id)
    opened = fold(g, runs, state)
    assert opened is g
    mid = layout(opened, previous=first)
    again = layout(fold(g, runs, FoldState()), previous=first)
    assert again.positions.keys() == first.positions.keys()
    for n, p in first.positions.items():
        assert again.positions[n] == pytest.approx(p, abs=0.5)
    outside = set(folded) - set(groups(folded))
    assert outside <= set(mid.positions)  # the same ids in the opened picture


def test_body_text_names_inner_repetitions():
    assert body_text(["mul", "add", "tanh"]) == "mul → add → tanh"
    assert body_text(["tanh"] * 4) == "tanh ×4"
    assert body_text(["mul", "tanh"] * 5 + ["add"]) == "(mul → tanh) ×5 → add"
    assert len(body_text([f"op{i}" for i in range(30)])) <= 34
