"""The window on a ``gradviz.watch`` run: the last step's PyTorch graph with the Training panel
filled; scrubbing to a step shows that step's parameter values and gradients in the inspector,
the tensors panel and on the canvas, as torch had them then."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from PySide6.QtCore import Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import gradviz  # noqa: E402
from gradviz.graph.colors import format_number  # noqa: E402
from gradviz.graph.model import preview  # noqa: E402
from gradviz.gui.app import training_window  # noqa: E402
from gradviz.gui.main_window import MainWindow  # noqa: E402

STEPS = 12


def train() -> SimpleNamespace:
    """A small MLP trained with SGD inside watch(); what torch held at each backward()."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
    x, y = torch.randn(10, 3), torch.randn(10, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.2)
    values, grads, losses = [], [], []
    with gradviz.watch(net) as run:
        for _ in range(STEPS):
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(net(x), y)
            loss.backward()
            values.append(net[0].weight.detach().clone())
            grads.append(net[0].weight.grad.clone())
            losses.append(loss.item())
            opt.step()
    return SimpleNamespace(net=net, x=x, loss=loss, run=run, values=values, grads=grads, losses=losses)


@pytest.fixture
def watched(qtbot):
    t = train()
    w = training_window(t.run, names={"x": t.x}, persist=False)
    qtbot.addWidget(w)
    w.ask_save_changes = lambda: "discard"
    w.resize(1300, 850)
    w.show()
    qtbot.waitUntil(w.canvas.is_idle, timeout=20000)
    yield w, t
    w.close()


def test_the_window_has_the_run_and_the_scrubber_shows_a_step(watched, qtbot) -> None:
    w, t = watched
    net, run, values, grads, losses = t.net, t.run, t.values, t.grads, t.losses
    panel = w.training
    assert w.training_dock.isVisible() and panel.run is run
    assert panel.slider.maximum() == STEPS - 1 and panel.slider.isEnabled()
    assert f"Trained {STEPS} steps (backward() from loss)" in panel.title.text()
    xs, ys = panel.curve("loss", "loss").getData()
    assert list(xs) == list(range(STEPS)) and ys == pytest.approx(losses, rel=1e-6)
    assert {"0.weight", "0.bias", "2.weight", "2.bias", "x", "loss"} <= set(w.panel.names())

    # Now: the model as it stands after the loop
    c = w.canvas
    c.ensureVisible(c.item_for("0.weight").sceneBoundingRect())
    at = c.mapFromScene(c.item_for("0.weight").sceneBoundingRect().center())
    qtbot.mouseClick(c.viewport(), Qt.MouseButton.LeftButton, pos=at)
    qtbot.waitUntil(lambda: w.inspector.name == "0.weight")
    assert w.inspector.value_view.toPlainText() == repr(net[0].weight)

    k = 4
    panel.slider.setFocus()
    for _ in range(STEPS - 1 - k):  # from the last step, back with the arrow key as a user would
        qtbot.keyClick(panel, Qt.Key.Key_Left)
    assert panel.slider.value() == k and panel.spin.value() == k
    qtbot.waitUntil(w.canvas.is_idle, timeout=20000)
    assert f"Showing step {k}:" in panel.showing.text()
    # the inspector prints the parameter as PyTorch did at step k: value and .grad
    assert w.inspector.value_view.toPlainText() == repr(torch.nn.Parameter(values[k]))
    assert w.inspector.grad_view.toPlainText() == repr(grads[k])
    assert w.inspector.value_view.toPlainText() != repr(net[0].weight)
    # the canvas node and the tensors panel show that step too
    node = next(a for _, a in w.canvas.graph.nodes(data=True) if a.get("name") == "0.weight")
    assert node["value"] == preview(values[k].numpy()) and node["grad"] == preview(grads[k].numpy())
    loss_node = next(a for _, a in w.canvas.graph.nodes(data=True) if a.get("name") == "loss")
    assert loss_node["value"] == preview(run.pictures[k].tensors["loss"].value)
    assert float(run.pictures[k].tensors["loss"].value) == pytest.approx(losses[k], rel=1e-6)
    norm = format_number(grads[k].double().norm().item(), 3)
    assert w.panel.row_texts("0.weight")[4] == f"‖g‖ {norm}"
    assert norm != format_number(net[0].weight.grad.double().norm().item(), 3)  # (not the present's)

    # Now again: the present
    qtbot.mouseClick(panel.now, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(w.canvas.is_idle, timeout=20000)
    assert w.inspector.value_view.toPlainText() == repr(net[0].weight)
    assert "as it stands now" in panel.showing.text()
    assert (
        w.panel.row_texts("0.weight")[4]
        == f"‖g‖ {format_number(net[0].weight.grad.double().norm().item(), 3)}"
    )


def test_gradviz_show_opens_the_run_and_its_loss_opens_it_too(qtbot) -> None:
    t = train()
    net, loss, run = t.net, t.loss, t.run
    x = t.x  # noqa: F841 - show() names tensors by the caller's variables
    seen: list = []

    def close_it() -> None:
        win = next(
            t
            for t in QApplication.topLevelWidgets()
            if isinstance(t, MainWindow) and t.viewer and t.isVisible()
        )
        win.canvas.wait_until_idle()
        seen.append((win.training.run, win.training_dock.isVisible(), set(win.panel.names())))
        win.close()

    QTimer.singleShot(50, close_it)
    run.show()
    QTimer.singleShot(50, close_it)
    gradviz.show(loss, model=net)  # the last watched step's loss: its run comes with it
    assert [s[0] for s in seen] == [run, run] and all(s[1] for s in seen)
    assert all({"0.weight", "x", "loss"} <= s[2] for s in seen)  # x: the caller's name for it


def test_a_run_without_backward_says_so() -> None:
    net = torch.nn.Linear(2, 1)
    with gradviz.watch(net) as run:
        net(torch.ones(2))
    with pytest.raises(ValueError, match="ran no backward"):
        gradviz.show(run)


def test_frozen_parameters_are_listed_as_frozen_not_plotted(qtbot) -> None:
    """Fine-tuning the head of a frozen body: the plots show the head's parameters only."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
    net[0].requires_grad_(False)
    x, y = torch.randn(10, 3), torch.randn(10, 2)
    opt = torch.optim.SGD(net[2].parameters(), lr=0.2)
    norms = []
    with gradviz.watch(net) as run:
        for _ in range(4):
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(net(x), y)
            loss.backward()
            norms.append(net[2].weight.grad.norm().item())
            opt.step()
    w = training_window(run, persist=False)
    qtbot.addWidget(w)
    w.ask_save_changes = lambda: "discard"
    w.show()
    qtbot.waitUntil(w.canvas.is_idle, timeout=20000)
    panel = w.training
    legend = panel.legend.text()
    assert "2.weight" in legend and "Frozen (not plotted): 0.weight, 0.bias" in legend
    assert legend.index("Frozen") > legend.index("2.bias")  # the plotted ones' colours come first
    for plot in ("grad_norm", "update"):
        assert len(panel.plot[plot].listDataItems()) == 2  # 2.weight and 2.bias, nothing for 0.*
    ys = [c.yData for c in panel.plot["grad_norm"].listDataItems()]  # (getData(): log10 of them)
    assert any(np.allclose(y, norms, rtol=1e-5) for y in ys)
    assert all(np.isfinite(y).all() for y in ys)
    w.close()


def test_the_scrubber_stays_clear_of_the_plots_when_the_title_takes_two_lines(qtbot) -> None:
    """A diverged run's title wraps to two lines; in a 1280 x 820 window the plots then left no
    room for the scrubber's row, and covered the top of ◀ ▶ and Now."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    opt = torch.optim.SGD(net.parameters(), lr=50.0)
    x, y = torch.randn(64, 2), torch.randn(64, 1) * 1e3
    with gradviz.watch(net) as run:  # the loss overflows to inf by step 8
        for _ in range(40):
            loss = torch.nn.functional.mse_loss(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    w = training_window(run, persist=False)
    qtbot.addWidget(w)
    w.ask_save_changes = lambda: "discard"
    w.resize(1280, 820)
    w.show()
    qtbot.waitUntil(w.canvas.is_idle, timeout=20000)
    panel = w.training
    assert "not finite" in panel.title.text()
    assert panel.title.height() > 1.5 * panel.title.fontMetrics().height()  # two lines
    plots = panel.plots.geometry()
    for button in (panel.now, panel.back):
        top = button.mapTo(panel, button.rect().topLeft()).y()
        assert top >= plots.bottom(), f"{button.text()} under the plots"
        assert button.mapTo(panel, button.rect().bottomLeft()).y() <= panel.height()
