"""Backward acts on what the learner means: the toolbar names its target, the selection doesn't
move it, accumulation and a leaf's backward are said before they happen, and a freed graph
offers Re-run Forward."""

from __future__ import annotations

from driving import idle, toolbar_click, type_in_console
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QPushButton

from gradviz.session import examples
from gradviz.session.document import Session

SEED = [
    "x = torch.tensor(3.)",
    "w = torch.tensor(4., requires_grad=True)",
    "b = torch.tensor(5., requires_grad=True)",
    "y = w*x + b",
]


def _seeded(qtbot, window, *extra: str):
    w = window(Session())
    for line in (*SEED, *extra):
        type_in_console(qtbot, w, line)
        idle(qtbot, w)
    return w


def _button_text(w) -> str:
    return w.backward_button.text().replace("&", "")


def _click(qtbot, box, name: str) -> None:
    button = box.findChild(QPushButton, name)
    assert button is not None and button.isVisible(), name
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def _grad(w, name: str) -> float | None:
    g = w.session.tensor(name).grad
    return None if g is None else g.item()


def test_selecting_a_leaf_does_not_move_backward(qtbot, window) -> None:
    w = _seeded(qtbot, window, "y.backward(retain_graph=True)")
    assert _grad(w, "w") == 3.0
    item = w.canvas.item_for("w")  # click w to inspect it, as the learner did
    at = w.canvas.mapFromScene(item.sceneBoundingRect().center())
    qtbot.mouseClick(w.canvas.viewport(), Qt.MouseButton.LeftButton, pos=at)
    idle(qtbot, w)
    assert w.current == "w"
    assert _button_text(w) == "Backward from y"
    assert "y.backward()" in w.actions["backward"].toolTip()
    toolbar_click(qtbot, w, "backward")
    box = w.last_message_box
    assert box is not None and box.isVisible() and box.objectName() == "backwardQuestion"
    # it says, before doing it, that the gradients will add up, with their present values
    said = box.text() + "\n" + box.informativeText()
    assert "already hold values" in said and "w.grad = tensor(3.)" in said and "adds" in said
    _click(qtbot, box, "cancel")
    idle(qtbot, w)
    assert _grad(w, "w") == 3.0  # nothing happened


def test_accumulate_or_zero_first_and_dont_ask_again(qtbot, window) -> None:
    w = _seeded(qtbot, window, "y.backward(retain_graph=True)")
    toolbar_click(qtbot, w, "backward")
    _click(qtbot, w.last_message_box, "zero_first")
    idle(qtbot, w)
    assert _grad(w, "w") == 3.0 and _grad(w, "b") == 1.0  # zeroed, then one fresh backward
    transcript = w.console.transcript()
    assert transcript.index("w.grad = None; b.grad = None") < transcript.rindex("y.backward()")
    # that backward freed the graph: re-running the forward pass, then backward, asks again,
    # since w.grad and b.grad hold values
    toolbar_click(qtbot, w, "backward")
    _click(qtbot, w.last_message_box, "rerun_backward")
    idle(qtbot, w)
    box = w.last_message_box
    assert box.objectName() == "backwardQuestion"
    box.findChild(QCheckBox, "dont_ask").setChecked(True)
    _click(qtbot, box, "accumulate")
    idle(qtbot, w)
    assert _grad(w, "w") == 6.0  # accumulated, as PyTorch does
    toolbar_click(qtbot, w, "backward")
    _click(qtbot, w.last_message_box, "rerun_backward")
    idle(qtbot, w)
    # asked not to be asked again: it just ran
    assert w.last_message_box is None or not w.last_message_box.isVisible()
    assert _grad(w, "w") == 9.0


def test_target_follows_the_latest_result_and_can_be_chosen(qtbot, window) -> None:
    w = _seeded(qtbot, window)
    assert _button_text(w) == "Backward from y"
    type_in_console(qtbot, w, "loss = (y - 20) ** 2")
    idle(qtbot, w)
    assert _button_text(w) == "Backward from loss"
    menu = w.backward_menu
    menu.fill()
    names = [a.text() for a in menu.actions() if a.objectName().startswith("target_")]
    assert names[0] == "loss" and {"w", "b", "y"} <= set(names)
    menu.action_for("w").trigger()
    assert _button_text(w) == "Backward from w"
    w.select("b")  # the choice holds whatever is selected
    assert _button_text(w) == "Backward from w"
    toolbar_click(qtbot, w, "backward")
    box = w.last_message_box
    assert box.objectName() == "backwardQuestion"
    assert "w is a leaf" in box.informativeText() and "adds ∂w/∂w = 1" in box.informativeText()
    _click(qtbot, box, "accumulate")
    idle(qtbot, w)
    assert _grad(w, "w") == 1.0 and _grad(w, "b") is None  # only w, as in PyTorch
    menu.fill()
    menu.action_for("").trigger()  # back to following the output
    assert _button_text(w) == "Backward from loss"


def test_a_freed_graph_offers_rerun_forward(qtbot, window) -> None:
    s = examples.linear()  # y.backward() has run: the graph is freed
    w = window(s)
    toolbar_click(qtbot, w, "zero_grads")
    idle(qtbot, w)
    toolbar_click(qtbot, w, "backward")
    box = w.last_message_box
    assert box.objectName() == "freedGraph"
    assert box.text().startswith("Trying to backward through the graph a second time")  # PyTorch's words
    assert "Re-run Forward" in box.informativeText()
    assert s.tensor("w").grad is None  # the refused backward changed nothing
    old_y = s.info("y").uid
    _click(qtbot, box, "rerun")
    idle(qtbot, w)
    assert s.info("y").uid != old_y and s.tensor("y").item() == 17.0
    assert "y = (w * x) + b" in w.console.transcript()
    assert w.canvas.item_for("y") is not None
    toolbar_click(qtbot, w, "backward")  # a fresh graph: it runs, nothing to accumulate into
    idle(qtbot, w)
    assert _grad(w, "w") == 3.0 and _grad(w, "b") == 1.0
    w.actions["undo"].trigger()
    idle(qtbot, w)
    w.actions["undo"].trigger()  # the re-run is one undo step
    idle(qtbot, w)
    assert s.info("y").uid == old_y


def test_rerun_then_backward_in_one_click(qtbot, window) -> None:
    s = examples.linear()
    w = window(s)
    toolbar_click(qtbot, w, "zero_grads")
    idle(qtbot, w)
    toolbar_click(qtbot, w, "backward")
    _click(qtbot, w.last_message_box, "rerun_backward")
    idle(qtbot, w)
    assert _grad(w, "w") == 3.0 and _grad(w, "b") == 1.0


def test_no_result_yet_says_so(qtbot, window) -> None:
    w = window(Session())
    assert not w.actions["backward"].isEnabled()
    assert "Nothing to call backward() on yet" in w.actions["backward"].toolTip()
    assert _button_text(w) == "Backward"


def test_the_options_dialog_says_so_too_and_reruns(qtbot, window) -> None:
    w = window(Session())
    for line in ("a = torch.tensor([1., 2.], requires_grad=True)", "z = a * a", "z.backward(torch.ones(2))"):
        type_in_console(qtbot, w, line)
        idle(qtbot, w)
    assert _button_text(w) == "Backward from z"
    toolbar_click(qtbot, w, "backward")  # not a scalar: the dialog, to give the gradient
    d = w.active_dialog
    assert d.objectName() == "BackwardDialog"
    qtbot.mouseClick(d.ok_button, Qt.MouseButton.LeftButton)
    assert d.isVisible() and d.error.text().startswith("Trying to backward through the graph a second time")
    assert d.rerun_button.isVisible()
    qtbot.mouseClick(d.rerun_button, Qt.MouseButton.LeftButton)
    idle(qtbot, w)
    assert not d.rerun_button.isVisible() and d.ok_button.isEnabled()
    assert d.note.isVisible() and "a.grad = tensor([2., 4.])" in d.note.text()  # it will add up
    qtbot.mouseClick(d.ok_button, Qt.MouseButton.LeftButton)
    idle(qtbot, w)
    assert w.active_dialog is None
    assert w.session.tensor("a").grad.tolist() == [4.0, 8.0]
