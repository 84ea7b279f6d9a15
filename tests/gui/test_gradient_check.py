"""Check Gradient in the inspector and Tensor ▸ Check All Gradients, driven as a person would:
the verdict beside autograd's value, a badge on the node, a note when .grad holds two
backwards' worth, Cancel, and a changed session forgets the checks."""

from __future__ import annotations

from driving import idle, toolbar_click, type_in_console
from PySide6.QtCore import Qt, QTimer

from gradviz.graph.style import CHECK_BADGES, look

SEED = [
    "x = torch.tensor(3.)",
    "w = torch.tensor(4., requires_grad=True)",
    "b = torch.tensor(5., requires_grad=True)",
    "y = w*x + b",
]


def seed(window, qtbot, backward=True):
    w = window()
    for line in SEED:
        type_in_console(qtbot, w, line)
    if backward:
        toolbar_click(qtbot, w, "backward")
    idle(qtbot, w)
    return w


def badge(w, name):
    a = next(a for a in w.canvas.graph.nodes.values() if a.get("name") == name)
    return look(a, w.canvas.color_scale).badge


def test_check_gradient_in_the_inspector_agrees_and_marks_the_node(window, qtbot):
    w = seed(window, qtbot)
    w.select("w")
    ins = w.inspector
    assert ins.check_button.isVisible()
    qtbot.mouseClick(ins.check_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ins.check_result.isVisible())
    assert ins.check_result.text().startswith("✓ ∂y/∂w: nudging gives 3, autograd 3 (relative error")
    idle(qtbot, w)
    assert badge(w, "w") == CHECK_BADGES[True]
    assert badge(w, "b") is None  # not checked yet


def test_check_all_marks_every_leaf_and_says_so(window, qtbot):
    w = seed(window, qtbot)
    w.actions["check_all"].trigger()
    qtbot.waitUntil(lambda: "gradients agree" in w.status_action.text())
    assert w.status_action.text() == "✓ All 2 gradients agree with nudging"
    idle(qtbot, w)
    assert badge(w, "w") == badge(w, "b") == CHECK_BADGES[True]
    w.select("b")
    assert w.inspector.check_result.text().startswith("✓ ∂y/∂b: nudging gives 1, autograd 1")


def test_a_grad_that_accumulated_two_backwards_is_pointed_out(window, qtbot):
    w = seed(window, qtbot)
    type_in_console(qtbot, w, "y = w*x + b")
    type_in_console(qtbot, w, "y.backward()")
    idle(qtbot, w)
    assert w.session.tensor("w").grad.item() == 6.0
    w.select("w")
    qtbot.mouseClick(w.inspector.check_button, Qt.MouseButton.LeftButton)
    text = w.inspector.check_result.text()
    assert (
        text.startswith("✓ ∂y/∂w: nudging gives 3, autograd 3")
        and "w.grad holds more than one backward's worth" in text
    )


def test_a_tensor_check_reports_its_elements_and_a_change_forgets_it(window, qtbot):
    w = window()
    for line in ("a = torch.tensor([[1., 2.], [3., 4.]], requires_grad=True)", "s = (a @ a).tanh().sum()"):
        type_in_console(qtbot, w, line)
    idle(qtbot, w)
    w.select("a")
    qtbot.mouseClick(w.inspector.check_button, Qt.MouseButton.LeftButton)
    assert w.inspector.check_result.text().startswith("✓ ∂s/∂a, all 4 elements: largest relative error")
    type_in_console(qtbot, w, "c = a * 2")
    idle(qtbot, w)
    w.select("a")
    assert not w.inspector.check_result.isVisible() and badge(w, "a") is None


def test_cancel_stops_a_long_check_and_changes_nothing(window, qtbot):
    w = window()
    for line in ("m = torch.rand(300, 300, requires_grad=True)", "s = (m @ m).tanh().sum()"):
        type_in_console(qtbot, w, line)
    idle(qtbot, w)
    w.select("m")
    # Cancel once the check is running (as a person presses it in the progress bar), not after
    # its status shows (150 ms on): on a quick machine the check was done by then
    poll = QTimer(w)
    poll.timeout.connect(lambda: w.busy.job is not None and w.cancel_work())
    poll.start(5)
    qtbot.mouseClick(w.inspector.check_button, Qt.MouseButton.LeftButton)
    poll.stop()
    qtbot.waitUntil(lambda: "cancelled" in w.status_action.text(), timeout=20000)
    assert w.status_action.text() == "Check of ∂s/∂m cancelled; nothing changed"
    assert not w.inspector.check_result.isVisible() and w.session.tensor("m").grad is None
