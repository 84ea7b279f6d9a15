"""The backward stepper's graphs (``graph/stepping.py``): after step K the nodes show what has
reached them, the step's node is marked and its contributions travel labelled edges; after the
last step the graph shows what ``backward()`` leaves."""

from __future__ import annotations

import numpy as np
import pytest

import gradviz
from gradviz.autograd import trace_backward
from gradviz.graph.export import export
from gradviz.graph.model import AUTOGRAD, TENSORS, NodeIds
from gradviz.graph.stepping import final_scale, flow_text, step_graph


def seed():
    x = gradviz.tensor(3.0)
    w = gradviz.tensor(4.0, requires_grad=True)
    b = gradviz.tensor(5.0, requires_grad=True)
    y = w * x + b
    return {"x": x, "w": w, "b": b, "y": y}


def by_name(g):
    return {a["name"]: n for n, a in g.nodes(data=True) if a.get("name")}


def grad_text(g, name):
    return g.nodes[by_name(g)[name]]["grad"]


def current(g):
    return [n for n, a in g.nodes(data=True) if a.get("step") == "current"]


def flows(g):
    return {
        (g.nodes[u].get("name") or g.nodes[u].get("label"), g.nodes[v].get("label")): a["flow"]
        for u, v, a in g.edges(data=True)
        if "flow" in a
    }


def test_the_seed_step_by_step_in_the_tensors_view():
    t = seed()
    trace = trace_backward(t["y"])
    ids = NodeIds()
    g0 = step_graph(t, trace, 0, ids=ids)
    assert current(g0) == [by_name(g0)["y"]]
    assert grad_text(g0, "y") == "1.0" and grad_text(g0, "w") == "None" and grad_text(g0, "b") == "None"
    g1 = step_graph(t, trace, 1, ids=ids)
    assert [g1.nodes[n]["label"] for n in current(g1)] == ["add"]
    assert flows(g1) == {("", "add"): "∂L/∂(w * x) += 1.0", ("b", "add"): "∂L/∂b += 1.0"}
    assert grad_text(g1, "b") == "1.0" and grad_text(g1, "w") == "None"
    g2 = step_graph(t, trace, 2, ids=ids)
    assert [g2.nodes[n]["label"] for n in current(g2)] == ["mul"]
    assert flows(g2) == {("w", "mul"): "∂L/∂w += 3.0"}  # x needs no gradient: nothing flows to it
    assert grad_text(g2, "w") == "3.0"
    assert g2.graph["step"] == (2, 5)
    g_last = step_graph(t, trace, len(trace) - 1, ids=ids)
    assert not flows(g_last)


def test_the_autograd_view_marks_backward_nodes_and_accumulate_grad():
    t = seed()
    trace = trace_backward(t["y"])
    g2 = step_graph(t, trace, 2, view=AUTOGRAD)
    assert [g2.nodes[n]["label"] for n in current(g2)] == ["MulBackward0"]
    assert flows(g2) == {("AccumulateGrad", "MulBackward0"): "∂L/∂w += 3.0"}
    g3 = step_graph(t, trace, 3, view=AUTOGRAD)
    assert [g3.nodes[n]["label"] for n in current(g3)] == ["AccumulateGrad"]


def mlp():
    gen = np.random.default_rng(1)
    x = gradviz.tensor(gen.standard_normal((4, 3)).astype(np.float32))
    W = gradviz.tensor(gen.standard_normal((2, 3)).astype(np.float32), requires_grad=True)
    c = gradviz.tensor(np.zeros(2, np.float32), requires_grad=True)
    h = gradviz.nn.functional.linear(x, W, c)
    a = h.tanh()
    shared = a * a + a  # a used twice
    loss = shared.mean()
    return {"x": x, "W": W, "c": c, "h": h, "a": a, "shared": shared, "loss": loss}


@pytest.mark.parametrize("view", [TENSORS, AUTOGRAD])
def test_after_the_last_step_the_graph_shows_what_backward_leaves(view):
    t = mlp()
    trace = trace_backward(t["loss"])
    last = step_graph(t, trace, len(trace) - 1, view=view)
    shown = {a["name"]: a["grad"] for a in last.nodes.values() if a.get("name") in ("W", "c")}
    t["loss"].backward()
    from gradviz.graph.model import build_graph

    after = build_graph(t, view=view)
    assert shown == {a["name"]: a["grad"] for a in after.nodes.values() if a.get("name") in ("W", "c")}


def test_every_step_of_a_composite_call_is_drawn_on_its_op_and_each_step_has_one_current_node():
    t = mlp()
    trace = trace_backward(t["loss"])
    ids = NodeIds()
    ops_seen = set()
    for k in range(len(trace)):
        g = step_graph(t, trace, k, ids=ids)
        (cur,) = current(g)
        ops_seen.add(g.nodes[cur].get("label") or g.nodes[cur].get("name"))
    assert "linear" in ops_seen  # TBackward0 and AddmmBackward0 are both the linear op
    assert {"tanh", "mean", "W", "c", "loss"} <= ops_seen


def test_a_large_contribution_is_labelled_by_shape_and_norm():
    assert flow_text(np.array(2.5)) == "2.5"
    assert flow_text(np.array([1.0, -2.0])) == "[1.0, -2.0]"
    assert flow_text(np.ones((3, 4))) == "[3, 4], ‖·‖ = 3.464"


def test_a_step_exports_to_an_image_with_one_scale_for_every_step(tmp_path):
    t = seed()
    trace = trace_backward(t["y"])
    cs = final_scale(t, trace)
    paths = [export(step_graph(t, trace, k), tmp_path / f"s{k}.svg", scale=cs) for k in range(len(trace))]
    svg = paths[2].read_text()
    assert "∂L/∂w += 3.0" in svg and "#ff5a1f" in svg.lower()
    assert all(p.stat().st_size > 1000 for p in paths)


def test_the_words_of_a_broadcast_say_the_sum_over_the_broadcast_dims():
    from gradviz.graph.stepping import describe_step

    col = gradviz.tensor([[1.0], [2.0], [3.0]], requires_grad=True)
    bias = gradviz.tensor([0.1, 0.2, 0.3, 0.4], requires_grad=True)
    out = (col + bias).sum()
    trace = trace_backward(out)
    words = describe_step(trace, 2, {id(col): "col", id(bias): "bias", id(out): "out"})
    assert words[0] == "Step 2 of 4: AddBackward0 receives ∂L/∂result = [3, 4], ‖·‖ = 3.464, every element 1"
    assert (
        "to col: ∂result/∂input = 1; the products are summed over the broadcast dims [1] back to [3, 1]"
        in words[2]
    )
    assert words[3].endswith("back to [4]: [3.0, 3.0, 3.0, 3.0]")
    assert describe_step(trace, 0, {})[0] == "Step 0 of 4: the output receives its starting gradient, 1"
    assert describe_step(trace, 0, {id(out): "out"})[0].endswith("∂out/∂out = 1")


def test_a_step_pictures_its_big_gradients_and_not_its_small_ones():
    """What the panel draws as heatmaps: 2-D gradients (or too many numbers to read), captioned
    with what they are and their shape; a 3-D one's leading dims as rows; scalars never."""
    import torch

    from gradviz.graph.stepping import step_pictures

    a_np = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 10
    w_np = np.linspace(-1, 1, 4 * 5, dtype=np.float32).reshape(4, 5)
    a = gradviz.tensor(a_np.tolist(), requires_grad=True)
    w = gradviz.tensor(w_np.tolist(), requires_grad=True)
    y = a @ w
    loss = y.tanh().sum()
    names = {id(a): "a", id(w): "w", id(y): "y", id(loss): "loss"}
    trace = trace_backward(loss)
    assert step_pictures(trace, 0, names) == []  # the seed: 1
    ta, tw = (torch.tensor(v, requires_grad=True) for v in (a_np, w_np))
    ty = ta @ tw
    ty.retain_grad()
    ty.tanh().sum().backward()
    captions = {}
    for k in range(len(trace)):
        for pic in step_pictures(trace, k, names):
            captions[pic.caption] = pic.value
    assert captions["to y [2, 3, 5] as 6 × 5"].shape == (6, 5)
    np.testing.assert_allclose(captions["to y [2, 3, 5] as 6 × 5"], ty.grad.numpy().reshape(6, 5), rtol=1e-5)
    np.testing.assert_allclose(captions["w.grad [4, 5]"], tw.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        captions["a.grad [2, 3, 4] as 6 × 4"], ta.grad.numpy().reshape(6, 4), rtol=1e-5
    )
    local = 1 - np.tanh(ty.detach().numpy()) ** 2  # tanh's local derivative, at y
    np.testing.assert_allclose(
        captions["local ∂result/∂y [2, 3, 5] as 6 × 5"], local.reshape(6, 5), rtol=1e-5
    )
    assert all(v.ndim <= 2 and v.size > 1 for v in captions.values())
