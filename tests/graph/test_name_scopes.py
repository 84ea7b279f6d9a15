"""Name scopes in a plain script: ``with gradviz.name_scope("layer1"):`` and PyTorch's own
``torch.autograd.profiler.record_function("layer1")`` group the ops made inside into a box of
the graph, in both views, nested as written and with the module calls inside them; the same
code runs under PyTorch unchanged."""

from __future__ import annotations

import threading

import pytest

import gradviz
import gradviz.nn as gnn
from gradviz.graph.folding import MODULE, FoldState, fold, module_groups
from gradviz.graph.model import AUTOGRAD, TENSORS, build_graph

VIEWS = (TENSORS, AUTOGRAD)


def script(torch, nn):
    """What a learner writes, for torch or for gradviz (``import gradviz as torch``)."""
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(2, 3)
            self.fc2 = nn.Linear(3, 1)

        def forward(self, x):
            with torch.autograd.profiler.record_function("hidden"):
                h = torch.tanh(self.fc1(x))
            return self.fc2(h)

    net = Net()
    x = torch.randn(4, 2)
    with torch.profiler.record_function("step"):
        out = net(x)
        with torch.autograd.profiler.record_function("loss"):
            loss = (out**2).mean()
    loss.backward()
    return net, x, loss


def groups(g):
    return {m.label: m for m in module_groups(g)}


def test_the_same_script_runs_under_pytorch() -> None:
    torch = pytest.importorskip("torch")
    _, _, loss = script(torch, torch.nn)
    _, _, mine = script(gradviz, gnn)
    assert abs(loss.item() - mine.item()) < 1e-5  # and computes the same


def test_a_captured_pytorch_run_groups_its_scopes_as_gradviz_does() -> None:
    torch = pytest.importorskip("torch")
    _, x, loss = script(gradviz, gnn)
    with gradviz.capture():
        _, tx, tloss = script(torch, torch.nn)  # (its backward() too)
    for view in VIEWS:
        mine = {m.label: m.depth for m in module_groups(build_graph({"x": x, "loss": loss}, view=view))}
        theirs = {m.label: m.depth for m in module_groups(build_graph({"x": tx, "loss": tloss}, view=view))}
        assert theirs == mine and "hidden" in theirs


def test_scopes_and_modules_nest_as_the_script_writes_them_in_both_views() -> None:
    _, x, loss = script(gradviz, gnn)
    for view in VIEWS:
        got = groups(build_graph({"x": x, "loss": loss}, view=view))
        assert {k: m.depth for k, m in got.items()} == {
            "step": 0,
            "Net": 1,
            "hidden": 2,
            "fc1 (Linear)": 3,  # named in its parent still, inside the name scope
            "fc2 (Linear)": 2,
            "loss": 1,
        }
        inner = set(got["hidden"].nodes)
        assert set(got["fc1 (Linear)"].nodes) < inner and not set(got["fc2 (Linear)"].nodes) & inner
        assert set(got["Net"].nodes) | set(got["loss"].nodes) <= set(got["step"].nodes)
        assert not set(got["Net"].nodes) & set(got["loss"].nodes)


def test_a_scope_folds_to_one_box_named_by_it() -> None:
    _, x, loss = script(gradviz, gnn)
    for view in VIEWS:
        g = build_graph({"x": x, "loss": loss}, view=view)
        hidden = groups(g)["hidden"]
        state = FoldState()
        state.collapse_module(hidden.id)
        f = fold(g, [], state)
        (box,) = [a for _, a in f.nodes(data=True) if a["type"] == MODULE]
        assert box["label"] == "hidden" and "tanh" in box["body"]


def test_a_module_called_inside_a_scope_keeps_the_scope_outside() -> None:
    gradviz.manual_seed(0)
    seq = gnn.Sequential(gnn.Linear(2, 2), gnn.ReLU())
    x = gradviz.randn(3, 2)
    with gradviz.name_scope("block"):
        y = seq(x).sum()
    got = {m.label: m.depth for m in module_groups(build_graph(y))}
    assert got == {"block": 0, "Sequential": 1, "Sequential[0] (Linear)": 2, "Sequential[1] (ReLU)": 2}


def test_each_entry_of_a_scope_is_a_box_and_a_decorated_function_too() -> None:
    w = gradviz.tensor([1.0, -2.0], requires_grad=True)

    @gradviz.name_scope("cell")
    def cell(h):
        return torch_tanh(h * w)

    torch_tanh = gradviz.tanh
    h = w
    for _ in range(3):
        h = cell(h)
    for view in VIEWS:
        cells = [m for m in module_groups(build_graph(h.sum(), view=view)) if m.label == "cell"]
        assert len(cells) == 3 and len({m.key for m in cells}) == 3
        assert all(len(m.nodes) >= 2 for m in cells)


def test_ops_after_a_scope_and_on_other_threads_are_not_in_it() -> None:
    x = gradviz.tensor([1.0, 2.0], requires_grad=True)
    other: list = []
    with gradviz.name_scope("mine"):
        a = x * 2
        t = threading.Thread(target=lambda: other.append(x + 1))
        t.start()
        t.join()
    b = a.sum()
    assert [e[0] for e in a.grad_fn.scope] == ["mine"]
    assert other[0].grad_fn.scope == () and b.grad_fn.scope == ()


def test_a_scope_closes_when_its_block_raises() -> None:
    x = gradviz.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError), gradviz.name_scope("bad"):
        raise ValueError
    assert (x * 2).grad_fn.scope == ()


def test_a_name_scope_needs_a_string() -> None:
    with pytest.raises(TypeError, match="name_scope\\(\\): argument 'name' must be str, not int"):
        gradviz.name_scope(3)
