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


def test_gradviz_show_takes_a_pytorch_loss_and_its_model(qtbot) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from gradviz.graph.colors import PENDING_PAINT
    from gradviz.graph.style import KEPT_BADGE
    from gradviz.gui.main_window import MainWindow

    net, x, h, loss = _mlp_run()  # noqa: RUF059 - show() names tensors by the caller's variables
    seen = {}

    def close_it() -> None:
        win = next(
            t
            for t in QApplication.topLevelWidgets()
            if isinstance(t, MainWindow) and t.viewer and t.isVisible()
        )
        win.canvas.wait_until_idle()
        seen["names"] = set(win.panel.names())
        item = win.canvas.item_for("h")
        seen["fill"] = item.fill
        seen["texts"] = [op.data[1] for op in item.ops if op.kind == "text"]
        seen["tip"] = win.canvas.item_for("0.weight").toolTip()
        win.close()

    QTimer.singleShot(50, close_it)
    gradviz.show(loss, model=net)
    assert {"0.weight", "0.bias", "2.weight", "2.bias", "x", "h", "loss"} <= seen["names"]
    assert seen["fill"] != PENDING_PAINT.fill and KEPT_BADGE in seen["texts"]
    assert "0.weight" in seen["tip"]


def test_module_paths_show_whole_in_the_tensors_panel(window, qtbot) -> None:
    """A model's parameter names are module paths; the viewer's tensors dock widens for them
    (up to 40% of the window) instead of eliding them to '0.…ht'."""
    from gradviz.gui.tensors_panel import NAME

    torch.manual_seed(0)
    net = torch.nn.Sequential()
    net.add_module("encoder", torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh()))
    net.add_module("head", torch.nn.Linear(4, 1))
    with gradviz.capture(model=net):
        loss = net(torch.randn(2, 3)).sum()
        loss.backward()
    names = reachable(loss, {"loss": loss}, net)
    longest = max(names, key=len)
    assert longest == "encoder.0.weight"
    w = window(tensors=loss, names=names, autosave=False, persist=False)
    table = w.panel.table
    need = table.sizeHintForColumn(NAME)  # what the column needs to show its names unelided
    assert need > table.fontMetrics().horizontalAdvance(longest)
    qtbot.waitUntil(lambda: table.columnWidth(NAME) >= need, timeout=5000)
    assert w.tensors_dock.width() <= w.width() * 0.4 + 1
    row = w.panel.model.rows.index(longest)
    rect = table.visualRect(w.panel.model.index(row, NAME))
    assert rect.width() >= need and table.viewport().rect().contains(rect)
