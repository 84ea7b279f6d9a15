"""Moving a built step graph to another step in place (``move_step``, ``move_forward``) gives
exactly the graph a fresh build of that step gives, and names every node and edge it changed:
the stepper's canvas redraws only those."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

import gradviz
import gradviz.nn.functional as F  # noqa: N812 - PyTorch's own name
from gradviz.autograd import trace_backward
from gradviz.graph.forward_steps import forward_graph, forward_ops, move_forward
from gradviz.graph.model import AUTOGRAD, TENSORS, NodeIds
from gradviz.graph.stepping import move_step, step_graph

VIEWS = [TENSORS, AUTOGRAD]


def seed():
    x = gradviz.tensor(3.0)
    w = gradviz.tensor(4.0, requires_grad=True)
    b = gradviz.tensor(5.0, requires_grad=True)
    return {"x": x, "w": w, "b": b, "y": w * x + b}, None


def shared():
    a = gradviz.tensor([1.0, -2.0], requires_grad=True)
    b = a * a
    c = b + a
    return {"a": a, "b": b, "c": c, "y": (c * b).sum()}, None


def broadcast_matmul():
    gradviz.manual_seed(0)
    X = gradviz.randn(5, 4)
    W = gradviz.randn(4, 3, requires_grad=True)
    bias = gradviz.randn(3, requires_grad=True)
    h = (X @ W + bias).tanh()
    return {"X": X, "W": W, "bias": bias, "h": h, "y": h.mean()}, None


def linear_nonscalar():
    gradviz.manual_seed(1)
    x = gradviz.randn(2, 3)
    W = gradviz.randn(4, 3, requires_grad=True)
    z = F.linear(x, W).relu()
    return {"x": x, "W": W, "z": z}, gradviz.ones(2, 4)


def accumulates():
    w = gradviz.tensor([0.5, 2.0], requires_grad=True)
    (w * 3).sum().backward()  # .grad holds something before the stepped backward
    y = (w * w).sum()
    return {"w": w, "y": y}, None


PROGRAMS = [seed, shared, broadcast_matmul, linear_nonscalar, accumulates]


def comparable(v):
    if isinstance(v, np.ndarray):
        return ("array", v.shape, v.tolist())
    if isinstance(v, gradviz.Tensor):
        return ("tensor", id(v))
    return repr(v)


def picture(g):
    nodes = {n: {k: comparable(v) for k, v in a.items()} for n, a in g.nodes(data=True)}
    edges = {e: {k: comparable(v) for k, v in a.items()} for e, a in g.edges.items()}
    return nodes, edges, g.graph["step"]


def differing(g1, g2):
    """The nodes and edges whose attributes differ between two builds of one graph."""
    n1, e1, _ = picture(g1)
    n2, e2, _ = picture(g2)
    return {n for n in n1 if n1[n] != n2[n]}, {e for e in e1 if e1[e] != e2[e]}


def pairs(count):
    every = list(itertools.product(range(count), repeat=2))
    if len(every) <= 120:
        return every
    rnd = random.Random(count)
    return [(k, k + 1) for k in range(count - 1)] + rnd.sample(every, 60)


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__)
def test_moving_a_backward_step_graph_equals_building_that_step(program, view):
    t, gradient = program()
    out = t["y"] if "y" in t else t["z"]
    trace = trace_backward(out, gradient)
    ids = NodeIds()
    built = [step_graph(t, trace, k, view=view, ids=ids) for k in range(len(trace))]
    for j, k in pairs(len(trace)):
        g = step_graph(t, trace, j, view=view, ids=ids)
        change = move_step(g, trace, k)
        assert picture(g) == picture(built[k]), (j, k)
        nodes, edges = differing(built[j], built[k])
        # Everything that differs is named (it may name a little more: a grad set to itself).
        assert nodes <= change.nodes and edges <= change.edges, (j, k)


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__)
def test_moving_a_forward_step_graph_equals_building_that_step(program, view):
    t, _ = program()
    ops = forward_ops(t)
    ids = NodeIds()
    built = [forward_graph(t, ops, k, view=view, ids=ids) for k in range(len(ops) + 1)]
    for j, k in pairs(len(ops) + 1):
        g = forward_graph(t, ops, j, view=view, ids=ids)
        change = move_forward(g, k)
        assert picture(g) == picture(built[k]), (j, k)
        nodes, edges = differing(built[j], built[k])
        assert nodes <= change.nodes and not edges, (j, k)


def test_one_step_of_a_long_chain_touches_a_handful_of_nodes():
    a = gradviz.tensor(0.9, requires_grad=True)
    b = gradviz.tensor(0.1, requires_grad=True)
    s = a
    t = {"a": a, "b": b}
    for i in range(200):
        s = s * a + b
        t[f"s{i}"] = s
    trace = trace_backward(s)
    g = step_graph(t, trace, 100)
    change = move_step(g, trace, 101)
    assert 1 <= len(change.nodes) <= 8 and 1 <= len(change.edges) <= 4
    assert len(g) > 600
