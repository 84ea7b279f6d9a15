"""The console widget, typed into as a person would."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from gradviz.gui.console_widget import ConsoleWidget, is_complete
from gradviz.session.document import Session


@pytest.fixture
def console(qtbot) -> ConsoleWidget:
    w = ConsoleWidget(Session())
    qtbot.addWidget(w)
    w.resize(640, 480)
    w.show()
    return w


def type_and_enter(qtbot, w: ConsoleWidget, text: str) -> None:
    qtbot.keyClicks(w.input, text)
    qtbot.keyClick(w.input, Qt.Key.Key_Return)


def test_seed_steps_in_numbered_cells(qtbot, console) -> None:
    for line in (
        "x = torch.tensor(3.)",
        "w = torch.tensor(4., requires_grad=True)",
        "b = torch.tensor(5., requires_grad=True)",
    ):
        type_and_enter(qtbot, console, line)
    type_and_enter(qtbot, console, "y = w*x + b")
    assert console.input.toPlainText() == ""
    with qtbot.waitSignal(console.ran, timeout=1000) as signal:
        type_and_enter(qtbot, console, "y")
    source, result = signal.args
    assert source == "y" and result.result == "tensor(17., grad_fn=<AddBackward0>)"
    text = console.transcript()
    assert "In [4]: y = w*x + b\n" in text
    assert "In [5]: y\nOut [5]: tensor(17., grad_fn=<AddBackward0>)\n" in text
    assert console.prompt.text() == "In [6]:"
    type_and_enter(qtbot, console, "y.backward()")
    type_and_enter(qtbot, console, "w.grad")
    assert console.transcript().rstrip().endswith("In [7]: w.grad\nOut [7]: tensor(3.)")
    assert console.session.tensor("w").grad.item() == 3.0


def test_errors_are_inline_in_pytorch_words(qtbot, console) -> None:
    console.submit("x = torch.tensor(3.)")
    type_and_enter(qtbot, console, "q + 1")
    assert console.transcript().rstrip().endswith("In [2]: q + 1\nNameError: name 'q' is not defined")
    console.submit("w = torch.tensor(2., requires_grad=True)\ny = w * w")
    console.submit("y.backward()")
    result = console.submit("y.backward()")
    assert result.error_type == "RuntimeError"
    assert "RuntimeError: Trying to backward through the graph a second time" in console.transcript()
    assert console.cells[-1].error.startswith("RuntimeError: Trying to backward")
    # a failing line in a multi-statement cell: the cell is undone, and the note says which line
    console.submit("z = w * 3\nz.backward()\nq")
    assert "line 3 failed" in console.transcript()
    assert "z" not in console.session.names()


def test_output_printed_and_shown(qtbot, console) -> None:
    console.submit("t = torch.tensor([[5., 6], [7, 8]])")
    console.submit("print(t.shape)\nt")
    assert (
        "In [2]: print(t.shape)\n   ...: t\ngradviz.Size([2, 2])\nOut [2]: tensor([[5., 6.],\n                 [7., 8.]])"
        in console.transcript()
    )


def test_history_with_up_and_down(qtbot, console) -> None:
    type_and_enter(qtbot, console, "a = torch.tensor(1.)")
    type_and_enter(qtbot, console, "b = a * 2")
    qtbot.keyClicks(console.input, "dra")
    qtbot.keyClick(console.input, Qt.Key.Key_Up)
    assert console.input.toPlainText() == "b = a * 2"
    qtbot.keyClick(console.input, Qt.Key.Key_Up)
    assert console.input.toPlainText() == "a = torch.tensor(1.)"
    qtbot.keyClick(console.input, Qt.Key.Key_Up)  # the oldest stays
    assert console.input.toPlainText() == "a = torch.tensor(1.)"
    qtbot.keyClick(console.input, Qt.Key.Key_Down)
    qtbot.keyClick(console.input, Qt.Key.Key_Down)
    assert console.input.toPlainText() == "dra"  # the draft comes back
    qtbot.keyClick(console.input, Qt.Key.Key_Up)
    qtbot.keyClick(console.input, Qt.Key.Key_Return)  # run it again
    assert console.transcript().count("b = a * 2") == 2
    assert console.history == ["a = torch.tensor(1.)", "b = a * 2"]  # no repeated entry


def test_multi_line_input(qtbot, console) -> None:
    qtbot.keyClicks(console.input, "t = torch.tensor([1.,")
    qtbot.keyClick(console.input, Qt.Key.Key_Return)  # the bracket is open: a new line
    assert console.cells == []
    assert console.input.toPlainText() == "t = torch.tensor([1.,\n                  "
    qtbot.keyClicks(console.input, "2.])")
    qtbot.keyClick(console.input, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)  # always a new line
    assert console.cells == []
    qtbot.keyClicks(console.input, "t")
    qtbot.keyClick(console.input, Qt.Key.Key_Return)
    assert console.cells[-1].result == "tensor([1., 2.])"
    # Up on a multi-line entry: lines first, then history
    qtbot.keyClick(console.input, Qt.Key.Key_Up)
    assert console.input.toPlainText().endswith("\nt")
    assert console.input.textCursor().blockNumber() == 2


def test_completion_of_names_and_methods(qtbot, console) -> None:
    console.submit("weights = torch.ones(2, 2, requires_grad=True)")
    qtbot.keyClicks(console.input, "wei")
    qtbot.keyClick(console.input, Qt.Key.Key_Tab)
    assert console.input.toPlainText() == "weights"
    qtbot.keyClicks(console.input, ".gr")
    qtbot.keyClick(console.input, Qt.Key.Key_Tab)
    assert console.input.toPlainText() == "weights.grad"
    console.input.clear()
    popup = console.input.completer.popup()
    qtbot.keyClicks(console.input, "torch.")  # a dot offers the members
    assert popup.isVisible()
    qtbot.keyClicks(console.input, "ze")
    qtbot.keyClick(console.input, Qt.Key.Key_Escape)
    assert not popup.isVisible()
    qtbot.keyClick(console.input, Qt.Key.Key_Tab)  # zeros, zeros_like: the common part, then a list
    assert console.input.toPlainText() == "torch.zeros"
    assert popup.isVisible()
    assert console.input.completer.completionModel().rowCount() == 2
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    assert console.input.toPlainText() == "torch.zeros_like"
    assert console.cells[-1].source.startswith("weights =")  # Enter chose; it didn't run
    console.input.clear()
    qtbot.keyClicks(console.input, "weights.")  # a dot offers the members
    assert popup.isVisible()
    qtbot.keyClicks(console.input, "backw")
    qtbot.keyClick(console.input, Qt.Key.Key_Tab)
    assert console.input.toPlainText() == "weights.backward"


def test_is_complete() -> None:
    assert is_complete("y = w*x + b")
    assert not is_complete("t = torch.tensor([1.,")
    assert is_complete("a = 1 +")  # a syntax error: run it, and show the error
    assert is_complete("")


def test_clear_and_action_lines(qtbot, console) -> None:
    console.submit("x = torch.tensor(1.)")
    console.log_action("w = torch.tensor(4., requires_grad=True)")
    assert "# w = torch.tensor(4., requires_grad=True)" in console.transcript()
    console.clear()
    assert console.transcript() == "" and console.prompt.text() == "In [1]:"
    assert console.submit("   ") is None and console.cells == []


def test_a_decimal_number_does_not_open_completions(qtbot, window) -> None:
    """Typing ``0.1`` and Enter runs the line: the '.' of a number is no attribute access, so no
    completion popup takes the Enter (it once inserted 'F' and swallowed the line)."""
    from driving import idle, type_in_console

    from gradviz.session.document import Session

    w = window(Session())
    for line in ("a = torch.tensor(2., requires_grad=True)", "h = a * 0.1", "y = h * 10."):
        type_in_console(qtbot, w, line)
        idle(qtbot, w)
        assert not w.console.input.completer.popup().isVisible()
    assert "h = a * 0.1\n" in w.console.transcript() and "SyntaxError" not in w.console.transcript()
    assert w.session.tensor("y").item() == pytest.approx(2.0)
    box = w.console.input
    qtbot.keyClicks(box, "a.")  # a real attribute access still offers the tensor's members
    assert box.completer.popup().isVisible()


def test_a_training_loop_is_typed_line_by_line_and_runs_after_a_blank_line(qtbot, console) -> None:
    console.submit("w = torch.tensor(2., requires_grad=True)")
    for line in ("for i in range(3):", "loss = (w * 3 - 1) ** 2", "loss.backward()", "with torch.no_grad():"):
        type_and_enter(qtbot, console, line)  # each Enter opens the next line, indented
    for line in ("w -= 0.01 * w.grad", "w.grad.zero_()"):
        type_and_enter(qtbot, console, line)
    assert console.input.toPlainText().endswith("        w.grad.zero_()\n        ")
    qtbot.keyClick(console.input, Qt.Key.Key_Backspace)  # back to the loop's body, 8 -> 4 spaces
    qtbot.keyClick(console.input, Qt.Key.Key_Backspace)
    qtbot.keyClick(console.input, Qt.Key.Key_Backspace)
    qtbot.keyClick(console.input, Qt.Key.Key_Backspace)
    type_and_enter(qtbot, console, "print(f'{i}: {loss.item():.2f}')")
    assert console.input.toPlainText() != ""  # still inside the loop
    with qtbot.waitSignal(console.ran, timeout=5000) as signal:
        qtbot.keyClick(console.input, Qt.Key.Key_Return)  # the blank line ends the loop: it runs
    source, result = signal.args
    assert source.startswith("for i in range(3):\n    loss = ")
    assert result.ok, result.text
    assert result.printed == "0: 25.00\n1: 16.81\n2: 11.30\n"
    assert abs(console.session.tensor("w").item() - 1.25228) < 1e-4
    assert is_complete("x = f(1,\n      2)")  # a bracket's continuation still runs on Enter
