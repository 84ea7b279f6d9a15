"""The window on a real PyTorch graph (what ``gradviz.show(loss, model=net)`` opens): the same
canvas, panels and inspector, showing PyTorch's own values and gradients."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import gradviz  # noqa: E402
from gradviz.gui.app import reachable  # noqa: E402


def _mlp_run():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU(), torch.nn.Linear(6, 3))
    x = torch.randn(5, 4)
    with gradviz.capture(model=net):
        h = net[0](x)
        loss = torch.nn.functional.cross_entropy(net[2](net[1](h)), torch.tensor([0, 1, 2, 0, 1]))
        loss.backward()
    return net, x, h, loss


def test_the_window_draws_a_pytorch_graph_with_module_names(window) -> None:
    net, x, h, loss = _mlp_run()
    names = reachable(loss, {"x": x, "h": h, "loss": loss}, net)
    assert {"0.weight", "0.bias", "2.weight", "2.bias", "h", "loss"} <= set(names)
    w = window(tensors=loss, names=names, autosave=False, persist=False)
    g = w.canvas.graph
    labels = {a.get("name") for _, a in g.nodes(data=True) if a.get("type") == "tensor"}
    assert {"0.weight", "h", "loss"} <= labels
    assert set(w.canvas.names.values()) >= {"0.weight", "h", "loss"}

    # The inspector shows PyTorch's own repr of the value and of .grad
    w.inspector.show_tensor("0.weight")
    assert w.inspector.value_view.toPlainText() == repr(net[0].weight)
    assert w.inspector.grad_view.toPlainText() == repr(net[0].weight.grad)
    # an intermediate: PyTorch's .grad is None, the graph colours it by the kept gradient
    w.inspector.show_tensor("h")
    assert w.inspector.grad_view.toPlainText() == "None"
    assert "kept by gradviz" in w.inspector.grad_note.text()
    node = next(a for _, a in g.nodes(data=True) if a.get("name") == "h")
    assert node["kept_by_gradviz"] and node["grad"] != "None"

    w.set_view("autograd")
    assert w.canvas.wait_until_idle(30)
    kinds = {a.get("type") for _, a in w.canvas.graph.nodes(data=True)}
    assert {"backward", "accumulate", "tensor"} <= kinds
