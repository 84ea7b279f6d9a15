"""Issue 11, section 5: the learner's work is kept. Driven as a person would: typing in the
console, File menu actions, the transcript's selection; real PyTorch runs the exported script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from driving import idle, toolbar_click, type_in_console
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QApplication

LESSON = (
    "x = torch.tensor(3.)",
    "w = torch.tensor([4., 1.], requires_grad=True)",
    "b = torch.tensor(0.5, requires_grad=True)",
    "y = (w * x).sum() + b",
    "print(y, y.grad_fn.name())",
    "y.backward()",
    "w.grad, b.grad, x.grad",
)


def type_lesson(qtbot, w, lines=LESSON) -> None:
    for line in lines:
        type_in_console(qtbot, w, line)
        idle(qtbot, w)


def test_reopening_shows_the_transcript_and_undo_undoes_the_last_step(qtbot, window, tmp_path) -> None:
    w = window()
    type_lesson(qtbot, w)
    w.ask_save_path = lambda *a: str(tmp_path / "lesson")
    w.actions["save"].trigger()
    before = w.console.transcript()
    assert "Out [7]: (tensor([3., 3.]), tensor(1.), None)" in before
    assert "tensor(15.5000, grad_fn=<AddBackward0>) AddBackward0" in before
    w2 = window()
    w2.ask_open_path = lambda: str(tmp_path / "lesson.gradviz")
    w2.actions["open"].trigger()
    idle(qtbot, w2)
    assert w2.console.transcript() == before  # what the console showed, as it showed it
    assert w2.console.view.toPlainText().count("In [") == len(LESSON)
    assert w2.console.prompt.text() == "In [8]:"  # numbering goes on
    assert w2.actions["undo"].isEnabled() and w2.actions["undo"].text() == "&Undo console: y.backward()"
    w2.actions["undo"].trigger()  # the last step before the save
    idle(qtbot, w2)
    assert w2.session.tensor("w").grad is None and "y" in w2.session
    w2.actions["undo"].trigger()
    idle(qtbot, w2)
    assert "y" not in w2.session and w2.panel.names() == ["x", "w", "b"]
    type_in_console(qtbot, w2, "z = w * 2")
    idle(qtbot, w2)
    assert "In [8]: z = w * 2" in w2.console.transcript()
    w2.grab().save(str(tmp_path / "reopened.png"))


def test_the_recovery_file_carries_the_transcript_and_undo(qtbot, window, monkeypatch) -> None:
    from datetime import datetime

    from gradviz.gui import documents
    from gradviz.session.autosave import Recovery

    w = window()
    type_lesson(qtbot, w, LESSON[:4])
    type_in_console(qtbot, w, "print(x)")  # changes no tensor: the transcript alone is new
    idle(qtbot, w)
    qtbot.waitUntil(lambda: w.autosaver.written_generation == w.autosaver.generation, timeout=10000)
    # what a crash leaves is this file; gradviz finds it at the next start (not while we run)
    left = Recovery(w.autosaver.path, datetime.now(), None, 0)
    monkeypatch.setattr(documents, "find_recovery", lambda: left)
    w2 = window()
    w2.ask_restore = lambda when, document: True
    assert w2.offer_recovery()
    idle(qtbot, w2)
    assert [c.source for c in w2.session.transcript] == [*LESSON[:4], "print(x)"]
    assert "In [5]: print(x)\ntensor(3.)" in w2.console.transcript()
    assert w2.session.undo_label == "console: y = (w * x).sum() + b"
    w2.actions["undo"].trigger()
    idle(qtbot, w2)
    assert "y" not in w2.session and "b" in w2.session


def test_the_tour_leaves_the_learners_session_as_it_was(qtbot, window) -> None:
    w = window()
    type_lesson(qtbot, w, ("a = torch.tensor([1., 2.], requires_grad=True)", "s = a.sum()"))
    entries, transcript, names = w.session.entries, w.console.transcript(), w.panel.names()
    w.actions["tour"].trigger()
    tour = w.active_dialog
    practice = w.tour_window
    assert tour.isVisible() and practice is not None and practice.isVisible() and practice is not w
    for button in tour.buttons[:4]:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    idle(qtbot, practice)
    assert practice.session.tensor("w").grad.item() == 3.0
    assert "In [4]: y.backward()" in practice.console.transcript()
    assert w.session.entries == entries and w.console.transcript() == transcript and w.panel.names() == names
    assert "w" not in w.session and w.session.undo_label == "console: s = a.sum()"
    tour.close()
    practice.close()  # a practice window closes without asking
    assert not practice.isVisible() and w.isVisible() and w.panel.names() == names


def test_export_as_python_runs_with_real_torch_and_prints_what_the_console_printed(
    qtbot, window, tmp_path
) -> None:
    pytest.importorskip("torch")
    w = window()
    type_lesson(qtbot, w, LESSON[:5])
    toolbar_click(qtbot, w, "backward")  # the toolbar's backward: y is the only output
    idle(qtbot, w)
    type_lesson(qtbot, w, ("w.grad, b.grad", "nope + 1", "print(f'{w.grad.sum().item():.2f}')"))
    toolbar_click(qtbot, w, "zero_grads")
    idle(qtbot, w)
    type_lesson(
        qtbot, w, ("print(w.grad)", "h = torch.tensor([[1, 2], [3, 4]]) * 2", "h.T", "h.shape, h.dtype")
    )
    asked = []
    w.ask_save_path = lambda *a: asked.append(a) or str(tmp_path / "lesson")
    file_menu = next(a.menu() for a in w.menuBar().actions() if a.text() == "&File")
    export = next(a for a in file_menu.actions() if a.text() == "Export as &Python…")
    export.trigger()
    assert asked and asked[0][1] == "Python scripts (*.py)"
    script = tmp_path / "lesson.py"
    assert script.exists()
    run = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    console_printed = "".join(
        c.printed + (c.result + "\n" if c.result is not None else "") for c in w.session.transcript if c.ran
    )
    # the one difference is the module's name: gradviz calls its dtypes gradviz.int64 (DESIGN.md)
    assert run.stdout == console_printed.replace("gradviz.", "torch.")
    assert "gradviz.int64" in console_printed
    assert "tensor([3., 3.])" in run.stdout and "None\n" in run.stdout and "torch.Size([2, 2])" in run.stdout


def test_copy_code_puts_the_selected_statements_on_the_clipboard(qtbot, window) -> None:
    w = window()
    type_lesson(qtbot, w, LESSON[:4])
    w.console.input.setPlainText("y.backward()\nw.grad")  # a cell of two lines (Shift+Enter between)
    qtbot.keyClick(w.console.input, Qt.Key.Key_Return)
    idle(qtbot, w)
    view = w.console.view
    doc_text = view.toPlainText()
    # select from inside In [2] to inside In [4], as a person drags across the transcript
    cursor = view.textCursor()
    cursor.setPosition(doc_text.index("w = torch") + 3)
    cursor.setPosition(doc_text.index("y = (w") + 2, QTextCursor.MoveMode.KeepAnchor)
    view.setTextCursor(cursor)
    QApplication.clipboard().clear()
    w.actions["copy_code"].trigger()  # Edit › Copy Code
    assert QApplication.clipboard().text() == "\n".join(LESSON[1:4]) + "\n"
    # the transcript's context menu has it too; with nothing selected it copies every cell
    cursor.clearSelection()
    view.setTextCursor(cursor)
    view.contextMenuEvent(_context_event(view))
    menu = view.context_menu
    action = next(a for a in menu.actions() if a.text() == "Copy Code")
    menu.close()
    action.trigger()
    assert QApplication.clipboard().text() == "\n".join(LESSON[:4]) + "\ny.backward()\nw.grad\n"


def _context_event(view):
    from PySide6.QtGui import QContextMenuEvent

    pos = view.viewport().rect().center()
    return QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, view.viewport().mapToGlobal(pos))


def test_a_damaged_transcript_opens_the_rest_and_says_so(qtbot, window, tmp_path) -> None:
    import io
    import zipfile

    w = window()
    type_lesson(qtbot, w, LESSON[:2])
    w.ask_save_path = lambda *a: str(tmp_path / "s.gradviz")
    w.actions["save"].trigger()
    path = tmp_path / "s.gradviz"
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members["transcript.json"] = b"{broken"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for n, d in members.items():
            zf.writestr(n, d)
    Path(path).write_bytes(out.getvalue())
    w2 = window()
    type_in_console(qtbot, w2, "keep = torch.ones(1)")
    idle(qtbot, w2)
    assert w2.open_path(path)
    idle(qtbot, w2)
    box = w2.last_message_box
    assert box is not None and "console transcript could not be read" in box.text()
    box.done(0)
    assert w2.panel.names() == ["x", "w"] and w2.session.undo_label.startswith("console: w =")
    assert w2.session.transcript == []
