"""The Training panel, driven as a learner would: a training loop typed into the console fills
the loss plot while it runs; scrubbing to a step shows that step's values and gradients in the
inspector (as PyTorch computed them at that step) and on the canvas; an undo forgets the run."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from driving import idle
from PySide6.QtCore import Qt

from gradviz.graph.model import preview

LESSON = [
    "inputs = torch.tensor([[73., 67, 43], [91, 88, 64], [87, 134, 58], [102, 43, 37], [69, 96, 70]])",
    "targets = torch.tensor([[56., 70], [81, 101], [119, 133], [22, 37], [103, 119]])",
    "torch.manual_seed(42)",
    "w = torch.randn(2, 3, requires_grad=True)",
    "b = torch.randn(2, requires_grad=True)",
]
STEPS = 400
LOOP = [
    f"for i in range({STEPS}):",
    "preds = inputs @ w.t() + b",
    "diff = preds - targets",
    "loss = (diff * diff).sum() / diff.numel()",
    "loss.backward()",
    "with torch.no_grad():",
    "w -= w.grad * 1e-5",
    "b -= b.grad * 1e-5",
]


def torch_steps() -> tuple[list[float], list[np.ndarray], list[np.ndarray]]:
    """The same loop in PyTorch: each step's loss, w and w.grad at its backward()."""
    ns: dict = {"torch": torch}
    exec("\n".join(LESSON), ns)
    w, b, inputs, targets = ns["w"], ns["b"], ns["inputs"], ns["targets"]
    losses, ws, grads = [], [], []
    for _ in range(STEPS):
        diff = inputs @ w.t() + b - targets
        loss = (diff * diff).sum() / diff.numel()
        loss.backward()
        losses.append(loss.item())
        ws.append(w.detach().numpy().copy())
        grads.append(w.grad.numpy().copy())
        with torch.no_grad():
            w -= w.grad * 1e-5
            b -= b.grad * 1e-5
        w.grad.zero_()
        b.grad.zero_()
    return losses, ws, grads


def numbers(text: str) -> np.ndarray:
    """The numbers a tensor's repr shows."""
    return np.array([float(x) for x in re.findall(r"-?\d+\.\d*(?:e[-+]\d+)?", text)])


def type_line(qtbot, box, line: str) -> None:
    qtbot.keyClicks(box, line)
    qtbot.keyClick(box, Qt.Key.Key_Return)


def type_loop(qtbot, w) -> None:
    """Typed line by line as in IPython: Enter indents the next line; Backspace dedents."""
    box = w.console.input
    box.setFocus()
    for line in LOOP[:6]:
        type_line(qtbot, box, line)
    for line in LOOP[6:]:
        type_line(qtbot, box, line)
    for _ in range(4):  # out of the with block, back into the loop's body
        qtbot.keyClick(box, Qt.Key.Key_Backspace)
    type_line(qtbot, box, "w.grad.zero_()")
    type_line(qtbot, box, "b.grad.zero_()")
    qtbot.keyClick(box, Qt.Key.Key_Return)  # the blank line runs it


@pytest.fixture
def trained(qtbot, window):
    w = window()
    for line in LESSON:
        w.console.submit(line)
    idle(qtbot, w)
    assert not w.training_dock.isVisible()  # nothing to plot yet
    seen: list[int] = []  # the points of the loss curve each time the live timer redrew it

    def drawn() -> None:
        x, _ = w.training.curve("loss", "loss").getData()
        seen.append(0 if x is None else len(x))

    w.training.timer.timeout.connect(drawn)
    w.training.timer.setInterval(20)  # (a fast machine runs the loop in a few of the window's 200 ms)
    type_loop(qtbot, w)
    qtbot.waitUntil(lambda: w.console.cells[-1].source.startswith("for i in"), timeout=60000)
    idle(qtbot, w)
    return w, w.training.curve("loss", "loss"), seen


def test_the_loss_plot_fills_as_the_loop_runs_and_shows_pytorch_s_losses(trained) -> None:
    w, curve, seen = trained
    assert w.training_dock.isVisible()
    assert w.console.cells[-1].error is None
    # while it ran, the plot showed a part of the run (the timer read a growing record)
    assert any(0 < n < STEPS for n in seen), seen
    x, y = curve.getData()
    assert len(x) == STEPS
    losses, _, _ = torch_steps()
    np.testing.assert_allclose(y, losses, rtol=1e-5)
    assert "400 steps" in w.training.title.text() and "backward() from loss" in w.training.title.text()
    assert y[-1] < y[0] / 10  # it fell


def test_scrubbing_shows_that_step_s_gradient_in_the_inspector(qtbot, trained) -> None:
    w, _, _ = trained
    _, ws, grads = torch_steps()
    w.select("w")
    now = w.inspector.grad_view.toPlainText()
    assert "0." in now  # after the loop: zeroed
    slider = w.training.slider
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_Home)  # to step 0
    assert w.training.step == 0
    assert w.training.showing.text().startswith("Showing step 0:")
    shown = w.inspector.grad_view.toPlainText()
    assert shown == repr(torch.from_numpy(grads[0])), shown
    assert w.inspector.value_view.toPlainText().startswith(repr(torch.from_numpy(ws[0]))[:-1])
    idle(qtbot, w)
    first = w.canvas.item_for("w")
    fill_0 = first.fill
    assert f"grad: {preview(grads[0])}" in first.tip

    qtbot.keyClick(slider, Qt.Key.Key_End)  # to the last step
    assert w.training.step == STEPS - 1
    # (400 steps on: float32 sums in another order than torch's BLAS differ in the 5th digit)
    np.testing.assert_allclose(numbers(w.inspector.grad_view.toPlainText()), grads[-1].ravel(), rtol=1e-3)
    idle(qtbot, w)
    last = w.canvas.item_for("w")
    assert f"grad: {preview(grads[-1])}" in last.tip
    assert last.fill != fill_0  # one scale for every step: the shrunken gradient has another colour

    qtbot.mouseClick(w.training.now, Qt.MouseButton.LeftButton)  # back to the session as it is
    assert w.training.step == -1 and w.inspector.grad_view.toPlainText() == now
    assert w.canvas.lock_scale is False  # the scale held for scrubbing is let go


def test_an_undo_of_the_loop_forgets_its_run_and_a_new_change_ends_the_scrub(qtbot, trained) -> None:
    w, _, _ = trained
    w.training.choose(5)
    assert w.source.past is not None
    w.console.submit("c = w * 2")  # the session changes: the past step is out of date
    idle(qtbot, w)
    assert w.training.step == -1 and w.source.past is None
    w.session.undo()  # c
    w.session.undo()  # the loop
    idle(qtbot, w)
    assert w.training.run is None
    assert "undone" in w.training.title.text()


def test_an_opened_session_plots_the_loop_its_replay_ran(qtbot, window) -> None:
    w = window()
    assert w.open_example("linear_regression")
    idle(qtbot, w)
    assert w.training_dock.isVisible()
    run = w.training.run
    assert run is not None and run.steps == 100 and run.finished
    # the example's own cells, run by PyTorch: the loss of each of its 100 steps
    losses: list[float] = []
    ns: dict = {"torch": torch, "losses": losses}
    cells = [c.source for c in w.session.transcript]
    exec(cells[0] + "\n" + cells[1], ns)
    assert cells[2].startswith("for epoch in range(100):")
    exec(
        cells[2].replace("    loss.backward()", "    loss.backward()\n    losses.append(loss.item())", 1), ns
    )
    assert len(losses) == 100
    _, y = w.training.curve("loss", "loss").getData()
    np.testing.assert_allclose(y, losses, rtol=1e-5)
    w.training.choose(0)
    w.select("w")
    assert w.training.showing.text().startswith("Showing step 0:")


def test_a_learning_rate_too_large_is_seen_to_blow_up(qtbot) -> None:
    from gradviz.gui.training_panel import TrainingPanel
    from gradviz.session.console import Console
    from gradviz.session.document import Session

    c = Console(Session())
    assert c.run("\n".join(LESSON)).ok
    big = (
        "\n".join(
            [LOOP[0], *("    " + line for line in LOOP[1:6]), *("        " + line for line in LOOP[6:])]
        )
        .replace("range(400)", "range(60)")
        .replace("1e-5", "1e-3")
    )
    r = c.run(big + "\n    w.grad.zero_()\n    b.grad.zero_()")
    assert r.ok, r.text
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.set_run(c.last_training)
    losses = c.last_training.losses()
    first = int(np.flatnonzero(~np.isfinite(losses))[0])
    assert f"from step {first} on" in panel.title.text() and "learning rate too large" in panel.title.text()
    _, y = panel.curve("grad_norm", "w").getData()
    assert np.isnan(y[-1]) and np.isfinite(y[0])  # drawn as a gap, not an error


def test_a_run_whose_every_loss_is_nan_says_so_in_its_title(qtbot) -> None:
    """A loop diverged (or fed NaN) from its first step: the title says from which step the
    loss was not finite, not the invitation to run a loop."""
    import gradviz
    from gradviz.gui.training_panel import TrainingPanel

    torch.manual_seed(0)
    net = torch.nn.Linear(3, 1)
    x, y = torch.randn(6, 3), torch.randn(6, 1)
    x[2, 1] = float("nan")  # one bad sample
    with gradviz.watch(net) as run:
        for _ in range(5):
            net.zero_grad()
            loss = ((net(x) - y) ** 2).mean()
            loss.backward()
    assert np.isnan(run.losses()).all()
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.set_run(run)
    title = panel.title.text()
    assert title.startswith("Trained 5 steps (backward() from loss): the loss is not finite from step 0 on")
    assert "NaN in the data" in title and "Run a training loop" not in title
    assert panel.slider.isEnabled() and panel.slider.maximum() == 4
