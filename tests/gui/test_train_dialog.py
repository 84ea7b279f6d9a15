"""Train, driven as a person would: open an example, press Train on the toolbar, choose leaves,
optimiser, learning rate and steps, press Train; the loop runs in the console as a cell, the
leaves end where PyTorch's own loop leaves them, Undo brings them back, a saved file keeps the
trained values, and Stop during a long train leaves the session as it was."""

from __future__ import annotations

import re

import numpy as np
import torch
from driving import idle, retype, toolbar_button, toolbar_click
from PySide6.QtCore import Qt, QTimer

from gradviz.session import export_python, fileformat
from gradviz.session.document import Session


def toggle(qtbot, d, name: str) -> None:
    """Click the leaf's box."""
    box = d.leaf_boxes[name]
    assert box.isVisible()
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=box.rect().center())


def choose_optimiser(qtbot, d, text: str) -> None:
    d.optimiser.setFocus()
    while d.optimiser.currentText() != text:
        before = d.optimiser.currentIndex()
        qtbot.keyClick(d.optimiser, Qt.Key.Key_Down)
        if d.optimiser.currentIndex() == before:  # at the end: go round from the top
            qtbot.keyClick(d.optimiser, Qt.Key.Key_Home)


def open_train(qtbot, w):
    toolbar_click(qtbot, w, "train")
    d = w.active_dialog
    assert d is not None and d.isVisible() and d.objectName() == "TrainDialog"
    return d


def wait_for_cell(qtbot, w, count: int) -> None:
    qtbot.waitUntil(lambda: len(w.console.cells) == count and w.busy.job is None, timeout=60000)
    idle(qtbot, w)


def test_train_from_the_toolbar_runs_the_loop_torch_runs(qtbot, window, tmp_path) -> None:
    w = window()
    assert not toolbar_button(w, "train").isEnabled()  # nothing to train in an empty session
    assert w.open_example("linear")
    idle(qtbot, w)
    assert toolbar_button(w, "train").isEnabled()
    d = open_train(qtbot, w)
    assert d.chosen_leaves() == ["w", "b"]  # those that require grad; x doesn't
    toggle(qtbot, d, "b")
    assert d.chosen_leaves() == ["w"] and "b -=" not in d.preview.toPlainText()
    toggle(qtbot, d, "x")  # x doesn't require grad: said, and Train is off
    assert not d.ok_button.isEnabled() and "x doesn't require grad" in d.refusal.text()
    toggle(qtbot, d, "x")
    toggle(qtbot, d, "b")
    assert d.ok_button.isEnabled() and d.chosen_leaves() == ["w", "b"]
    choose_optimiser(qtbot, d, "Adam")
    assert "torch.optim.Adam" in d.preview.toPlainText() or not d.ok_button.isEnabled()
    choose_optimiser(qtbot, d, "SGD")
    retype(qtbot, d.lr.lineEdit(), "abc")
    assert not d.ok_button.isEnabled() and d.lr_error.isVisible()
    retype(qtbot, d.lr.lineEdit(), "0.05")
    retype(qtbot, d.steps, "40")
    code = d.preview.toPlainText()
    assert "for step in range(40):" in code and "w -= 0.05 * w.grad" in code
    assert d.ok_button.isEnabled()
    cells = len(w.console.cells)
    qtbot.mouseClick(d.ok_button, Qt.MouseButton.LeftButton)
    wait_for_cell(qtbot, w, cells + 1)

    x = torch.tensor(3.0)
    tw = torch.tensor(4.0, requires_grad=True)
    tb = torch.tensor(5.0, requires_grad=True)
    ys = []
    for _ in range(40):
        y = tw * x + tb
        y.backward()
        ys.append(y.item())
        with torch.no_grad():
            tw -= 0.05 * tw.grad
            tb -= 0.05 * tb.grad
        tw.grad.zero_()
        tb.grad.zero_()
    s = w.session
    assert s.tensor("w").item() == tw.item() and s.tensor("b").item() == tb.item()
    assert s.tensor("y").item() == y.item()
    cell = w.console.cells[-1]
    assert cell.kind == "code" and cell.ran and cell.source == code
    assert "for step in range(40):" in w.console.transcript()
    assert w.panel.names() == ["x", "w", "b", "y"]
    assert type(s.entries[-1]).__name__ == "Loop"  # the same one entry a typed loop is
    assert w.training_dock.isVisible() and w.training.run.steps == 40  # plotted, step by step
    np.testing.assert_array_equal(w.training.curve("loss", "loss").getData()[1], ys)

    toolbar_click(qtbot, w, "undo")  # one undo step: everything the loop did
    idle(qtbot, w)
    assert (s.tensor("w").item(), s.tensor("b").item(), s.tensor("y").item()) == (4.0, 5.0, 17.0)
    assert s.tensor("w").grad.item() == 3.0
    toolbar_click(qtbot, w, "redo")
    idle(qtbot, w)
    assert s.tensor("w").item() == tw.item()

    path = tmp_path / "trained.gradviz"
    assert w._save_to(path)
    again = Session()
    fileformat.open_into(again, path)
    assert again.tensor("w").item() == tw.item() and again.tensor("b").item() == tb.item()
    assert any("for step in range(40):" in c.source for c in again.transcript)
    assert w.open_path(path, confirmed=True)
    idle(qtbot, w)
    assert w.session.tensor("w").item() == tw.item()
    assert w.training.run is not None and w.training.run.steps == 40  # the file's loop, replayed


def test_the_regression_example_trains_and_the_dialog_says_what_is_wrong(qtbot, window) -> None:
    w = window()
    assert w.open_example("linear_regression")
    idle(qtbot, w)
    d = open_train(qtbot, w)
    assert d.chosen_leaves() == ["w", "b"] and d.output == "loss"
    retype(qtbot, d.lr.lineEdit(), "1e-05")
    retype(qtbot, d.steps, "25")
    before = w.session.tensor("loss").item()
    cells = len(w.console.cells)
    qtbot.keyClick(d.ok_button, Qt.Key.Key_Return)
    wait_for_cell(qtbot, w, cells + 1)
    assert w.console.cells[-1].ran and w.session.tensor("loss").item() < before
    # Export as Python: PyTorch running the transcript, Train's cell included, ends where we are
    ns: dict = {}
    exec(export_python.script(w.session.transcript), ns)
    for n in ("w", "b", "loss"):
        np.testing.assert_allclose(w.session.tensor(n).detach().numpy(), ns[n].detach().numpy(), rtol=1e-5)


def test_stop_during_a_long_train_leaves_the_session_unchanged(qtbot, window) -> None:
    w = window()
    assert w.open_example("mlp")
    idle(qtbot, w)
    s = w.session
    entries, values = s.entries, {n: s.tensor(n).detach().numpy().copy() for n in ("W1", "b1", "W2", "b2")}
    d = open_train(qtbot, w)
    retype(qtbot, d.steps, "4000")
    assert d.ok_button.isEnabled(), d.refusal.text()
    seen: dict = {}

    def look() -> None:  # once the status counts steps, press Stop
        m = re.search(r"step ([\d,]+) of 4,000", w.status_action.text())
        if not (w.progress_cancel.isVisible() and m and int(m.group(1).replace(",", "")) > 0):
            QTimer.singleShot(20, look)
            return
        seen["status"] = w.status_action.text()
        seen["bar"] = (w.progress.value(), w.progress.maximum())
        qtbot.mouseClick(w.progress_cancel, Qt.MouseButton.LeftButton)

    cells = len(w.console.cells)
    QTimer.singleShot(0, look)
    qtbot.mouseClick(d.ok_button, Qt.MouseButton.LeftButton)
    wait_for_cell(qtbot, w, cells + 1)
    assert seen["status"].startswith("Running for step in range(4000): step ")
    assert seen["bar"][1] == 4000 and 0 < seen["bar"][0] < 4000
    cell = w.console.cells[-1]
    assert cell.error is not None and cell.error.startswith("KeyboardInterrupt")
    assert s.entries == entries
    for n, v in values.items():
        np.testing.assert_array_equal(s.tensor(n).detach().numpy(), v)
    assert not s.can_redo and s.undo_label != "console: for step in range(4000):"


def test_train_is_off_until_the_output_is_a_scalar(qtbot, window) -> None:
    from driving import type_in_console

    w = window()
    type_in_console(qtbot, w, "w = torch.tensor([1., 2.], requires_grad=True)")
    type_in_console(qtbot, w, "y = w * 3")
    idle(qtbot, w)
    action = w.actions["train"]
    assert not action.isEnabled() and "y has 2 elements" in action.toolTip() and "y.sum()" in action.toolTip()
    type_in_console(qtbot, w, "loss = y.sum()")
    idle(qtbot, w)
    assert action.isEnabled() and action.toolTip().startswith("Train loss:")
    qtbot.keyClick(
        w.canvas, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    d = w.active_dialog
    assert d is not None and d.objectName() == "TrainDialog" and d.output == "loss"
    assert d.chosen_leaves() == ["w"] and "    y = w * 3\n    loss = y.sum()\n" in d.preview.toPlainText()
    d.reject()
