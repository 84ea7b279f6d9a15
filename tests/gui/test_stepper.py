"""Backward ▸ Step Through, driven as a person would: on the seed ``y = w*x + b`` read what the
panel says at each step (y receives 1; add passes 1 to w*x and to b; mul sends 1 × x = 3 to w),
step back, play to the end, and leave: the session is as after a plain Backward."""

from __future__ import annotations

from driving import idle, toolbar_click, type_in_console
from PySide6.QtCore import Qt

SEED = [
    "x = torch.tensor(3.)",
    "w = torch.tensor(4., requires_grad=True)",
    "b = torch.tensor(5., requires_grad=True)",
    "y = w*x + b",
]


def seed_window(window, qtbot):
    w = window()
    for line in SEED:
        type_in_console(qtbot, w, line)
    idle(qtbot, w)
    return w


def panel(w):
    return w.stepper_dock().widget()


def said(w) -> str:
    p = panel(w)
    return p.title.text() + "\n" + p.words.text().replace("<br>", "\n").replace("&nbsp;", " ")


def current_labels(w) -> list[str]:
    g = w.canvas.graph
    return [
        a["name"] if a.get("type") == "tensor" else a["label"]
        for a in g.nodes.values()
        if a.get("step") == "current"
    ]


def test_stepping_through_the_seed_reads_as_the_chain_rule(window, qtbot):
    w = seed_window(window, qtbot)
    toolbar_click(qtbot, w, "step_through")
    p = panel(w)
    qtbot.waitUntil(lambda: p.isVisible())
    idle(qtbot, w)
    assert "Step 0 of 4: y receives its starting gradient, ∂y/∂y = 1" in said(w)
    assert current_labels(w) == ["y"]
    assert w.session.tensor("w").grad is None  # nothing has changed yet

    qtbot.keyClick(p, Qt.Key.Key_Right)
    idle(qtbot, w)
    text = said(w)
    assert "AddBackward0 receives ∂L/∂result = 1.0" in text and "to b: ∂result/∂other = 1 = 1.0" in text
    assert current_labels(w) == ["add"]
    flows = sorted(a["flow"] for *_e, a in w.canvas.graph.edges(data=True) if "flow" in a)
    assert flows == ["∂L/∂(w * x) += 1.0", "∂L/∂b += 1.0"]

    qtbot.mouseClick(p.next, Qt.MouseButton.LeftButton)
    idle(qtbot, w)
    assert "to w: ∂result/∂input = other = 3.0; 1.0 × 3.0 = 3.0" in said(w)
    assert current_labels(w) == ["mul"]
    w_node = next(a for a in w.canvas.graph.nodes.values() if a.get("name") == "w")
    assert w_node["grad"] == "3.0"  # w colours in as its gradient arrives

    qtbot.keyClick(p, Qt.Key.Key_Left)  # step back
    idle(qtbot, w)
    assert current_labels(w) == ["add"] and p.counter.text() == "1 / 4"

    qtbot.keyClick(p, Qt.Key.Key_End)
    idle(qtbot, w)
    assert "b.grad = 1.0 (it was None)" in said(w) and not p.next.isEnabled()
    qtbot.mouseClick(p.done, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not p.isVisible())
    idle(qtbot, w)
    assert w.stepper is None
    assert w.session.tensor("w").grad.item() == 3.0 and w.session.tensor("b").grad.item() == 1.0
    assert not any(a.get("step") for a in w.canvas.graph.nodes.values())


def test_play_runs_to_the_end_and_leaving_equals_a_plain_backward(window, qtbot):
    plain = seed_window(window, qtbot)
    toolbar_click(qtbot, plain, "backward")
    idle(qtbot, plain)
    expected = {n: plain.session.tensor(n).grad.item() for n in ("w", "b")}

    w = seed_window(window, qtbot)
    w.step_through()
    p = panel(w)
    p.speed.setCurrentIndex(3)  # 4×
    qtbot.keyClick(p, Qt.Key.Key_Space)
    assert w.stepper.playing and p.play.text() == "❚❚"
    qtbot.waitUntil(lambda: w.stepper.k == 4, timeout=10000)
    qtbot.waitUntil(lambda: not w.stepper.playing)
    assert p.play.text() == "▷"
    qtbot.keyClick(p, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: w.stepper is None)
    assert {n: w.session.tensor(n).grad.item() for n in ("w", "b")} == expected
    assert "y.backward()" in w.console.view.toPlainText()  # the console says what ran


def test_the_scrubber_and_the_autograd_view(window, qtbot):
    w = seed_window(window, qtbot)
    w.step_through()
    p = panel(w)
    p.scrubber.setValue(2)
    idle(qtbot, w)
    assert p.counter.text() == "2 / 4" and current_labels(w) == ["mul"]
    w.set_view("autograd")
    idle(qtbot, w)
    assert current_labels(w) == ["MulBackward0"]
    acc = [a["flow"] for *_e, a in w.canvas.graph.edges(data=True) if "flow" in a]
    assert acc == ["∂L/∂w += 3.0"]
    w.stepper.leave()


def test_a_backward_that_ran_already_is_replayed_and_leaving_changes_nothing(window, qtbot):
    w = window()
    w.open_example("linear")  # its log ends with y.backward()
    idle(qtbot, w)
    before = w.session.tensor("w").grad.item()
    entries = len(w.session.entries)
    w.step_through()
    p = panel(w)
    assert p.note.isVisible() and "ran already" in p.note.text()
    qtbot.keyClick(p, Qt.Key.Key_Home)
    idle(qtbot, w)
    assert "Step 0 of 4" in said(w)
    w_node = next(a for a in w.canvas.graph.nodes.values() if a.get("name") == "w")
    assert w_node["grad"] == "None"  # as it was just before that backward
    p.done.click()
    assert w.stepper is None
    assert w.session.tensor("w").grad.item() == before and len(w.session.entries) == entries


def test_an_edit_while_stepping_stops_it_and_says_why(window, qtbot):
    w = seed_window(window, qtbot)
    w.step_through()
    type_in_console(qtbot, w, "z = y * 2")
    qtbot.waitUntil(lambda: w.stepper is None)
    assert "Stopped stepping: the session changed" in w.status_action.text()
    assert w.session.tensor("w").grad is None  # no backward ran


def test_stepping_through_the_forward_pass_shows_values_as_they_are_computed(window, qtbot):
    w = seed_window(window, qtbot)
    tensor_menu = next(a.menu() for a in w.menuBar().actions() if a.text() == "&Tensor")
    next(a for a in tensor_menu.actions() if a.text() == "Step Through &Forward").trigger()
    p = panel(w)
    qtbot.waitUntil(p.isVisible)
    idle(qtbot, w)
    assert p.title.text() == "Forward, step 0 of 2: the leaves hold their values; nothing is computed yet"
    y = next(a for a in w.canvas.graph.nodes.values() if a.get("name") == "y")
    assert y["step"] == "future"
    qtbot.keyClick(p, Qt.Key.Key_Right)
    idle(qtbot, w)
    assert p.title.text() == "Forward, step 1 of 2: mul(w, x) computes 12.0"
    assert current_labels(w) == ["mul"]
    qtbot.keyClick(p, Qt.Key.Key_End)
    idle(qtbot, w)
    assert p.title.text() == "Forward, step 2 of 2: add(mul(w, x), b) computes y = 17.0"
    qtbot.keyClick(p, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: w.stepper is None)
    assert w.session.tensor("w").grad is None  # forward stepping runs no backward


def test_a_second_stepping_session_drives_only_itself(window, qtbot):
    from PySide6.QtCore import SIGNAL

    w = seed_window(window, qtbot)
    w.step_through()
    p = panel(w)
    wired = p.next.receivers(SIGNAL("clicked()"))
    qtbot.mouseClick(p.done, Qt.MouseButton.LeftButton)  # runs the backward: w.grad = 3
    qtbot.waitUntil(lambda: w.stepper is None)
    w.step_forward()
    assert p.next.receivers(SIGNAL("clicked()")) == wired  # the first session let go of the panel
    qtbot.mouseClick(p.next, Qt.MouseButton.LeftButton)
    idle(qtbot, w)
    assert p.title.text() == "Forward, step 1 of 2: mul(w, x) computes 12.0"  # not the backward's step 1
    qtbot.mouseClick(p.done, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.stepper is None)
    assert w.session.tensor("w").grad.item() == 3.0  # one backward, not two
