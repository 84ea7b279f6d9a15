"""Collapse groups: an nn.Module call drawn as one box, in both views, and opened again."""

from __future__ import annotations

import gradviz as torch
import gradviz.nn as nn
from gradviz.graph.folding import MODULE, FoldState, fold, module_groups
from gradviz.graph.model import AUTOGRAD, TENSORS, build_graph


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.act = nn.ReLU()
        self.layers = nn.Sequential(nn.Linear(4, 2), nn.Tanh())

    def forward(self, x):
        return self.layers(self.act(self.fc1(x)))


def run():
    torch.manual_seed(0)
    net = Net()
    x = torch.randn(2, 3)
    y = net(x).sum()
    y.backward()
    return net, x, y


def labels(groups):
    return sorted(m.label for m in groups)


def test_each_module_call_is_a_group_named_as_in_the_code():
    _, x, y = run()
    for view in (TENSORS, AUTOGRAD):
        g = build_graph({"x": x, "y": y}, view=view)
        groups = module_groups(g)
        assert labels(groups) == sorted(
            [
                "Net",
                "fc1 (Linear)",
                "act (ReLU)",
                "layers (Sequential)",
                "layers[0] (Linear)",
                "layers[1] (Tanh)",
            ]
        )
        assert [m.depth for m in groups if m.label == "Net"] == [0]
        assert [m.depth for m in groups if m.label == "layers[0] (Linear)"] == [2]


def test_a_collapsed_module_is_one_box_with_its_parameters_inside():
    net, x, y = run()
    g = build_graph({"x": x, "y": y}, view=TENSORS)
    fc1 = next(m for m in module_groups(g) if m.label == "fc1 (Linear)")
    inside = {id(g.nodes[v].get("tensor")) for v in fc1.nodes}
    assert id(net.fc1.weight) in inside and id(net.fc1.bias) in inside
    state = FoldState()
    state.collapse_module(fc1.id)
    f = fold(g, [], state)
    (box,) = [n for n, a in f.nodes(data=True) if a["type"] == MODULE]
    assert box == fc1.id and f.nodes[box]["label"] == "fc1 (Linear)"
    assert f.nodes[box]["counts"] == "1 op, 2 parameters"
    xid = next(n for n, a in f.nodes(data=True) if a.get("name") == "x")
    assert list(f.predecessors(box)) == [xid]  # the input stays outside, drawn as it was
    assert f.number_of_nodes() == g.number_of_nodes() - len(fc1.nodes) + 1
    state.expand_module(fc1.id)
    assert fold(g, [], state) is g


def test_an_outer_module_box_holds_the_inner_ones():
    _, x, y = run()
    g = build_graph({"x": x, "y": y}, view=AUTOGRAD)
    groups = {m.label: m for m in module_groups(g)}
    state = FoldState()
    state.collapse_module(groups["Net"].id)
    state.collapse_module(groups["fc1 (Linear)"].id)
    f = fold(g, [], state)
    assert [a["label"] for _, a in f.nodes(data=True) if a["type"] == MODULE] == ["Net"]
    assert all(v not in f for v in groups["fc1 (Linear)"].nodes)


def test_module_ids_survive_a_rebuild():
    _, x, y = run()
    a = [m.id for m in module_groups(build_graph({"x": x, "y": y}))]
    b = [m.id for m in module_groups(build_graph({"x": x, "y": y}))]
    assert a == b and len(set(a)) == len(a)


def test_plain_ops_have_no_modules():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    assert module_groups(build_graph((x * 2).sum())) == []
