"""A statement entered while a cell runs is never lost: it is queued, the console says so, and
it runs when the cell is done (or, if that cell failed or was stopped, it waits in the input)."""

from __future__ import annotations

import time

import pytest
from driving import idle, slow_replays, toolbar_click
from PySide6.QtCore import Qt, QTimer

from gradviz.session.console import Console


@pytest.fixture
def slow_cells(monkeypatch):
    """Each cell takes a while after it ran, as one making a huge tensor does."""
    original = Console.run

    def slow_run(self, source):
        result = original(self, source)
        time.sleep(0.5)
        return result

    monkeypatch.setattr(Console, "run", slow_run)


def _while_running(qtbot, w, act) -> dict:
    """Do ``act()`` once the running cell shows its progress; keep what the console showed."""
    seen: dict = {}

    def look() -> None:
        if not w.progress.isVisible():
            QTimer.singleShot(20, look)
            return
        act()
        seen["input"] = w.console.input.toPlainText()
        seen["message"] = w.console.waiting.text() if w.console.waiting.isVisible() else ""
        seen["names"] = w.session.names()
        seen["working"] = w._work_job is not None

    QTimer.singleShot(0, look)
    return seen


def _enter(qtbot, w, text: str) -> None:
    qtbot.keyClicks(w.console.input, text)
    qtbot.keyClick(w.console.input, Qt.Key.Key_Return)


def test_a_statement_entered_during_a_cell_is_queued_visibly_and_runs_after_it(
    qtbot, window, slow_cells
) -> None:
    w = window()
    assert w.console.submit("a = torch.ones(2)").ok
    seen = _while_running(qtbot, w, lambda: _enter(qtbot, w, "c = b + 1"))
    w.console.input.setFocus()
    _enter(qtbot, w, "b = a * 2")
    assert seen["input"] == ""  # moved out of the input, into the queue
    assert seen["message"] == "Queued: c = b + 1 runs when the running cell is done"
    assert "c" not in seen["names"]
    qtbot.waitUntil(lambda: "c" in w.session, timeout=10000)
    idle(qtbot, w)
    assert not w.console.waiting.isVisible()
    assert "In [3]: c = b + 1" in w.console.transcript()
    assert w.session.tensor("c").tolist() == [3.0, 3.0]


def test_statements_queued_behind_a_failing_cell_come_back_to_the_input(qtbot, window, slow_cells) -> None:
    w = window()
    assert w.console.submit("a = torch.ones(2)").ok

    def enter_two() -> None:
        _enter(qtbot, w, "c = a + 1")
        _enter(qtbot, w, "d = c + 1")

    seen = _while_running(qtbot, w, enter_two)
    w.console.input.setFocus()
    _enter(qtbot, w, "b = nope * 2")
    assert seen["message"] == "Queued: 2 statements run in turn when the running cell is done"
    qtbot.wait(300)  # they are not run behind the failed cell
    assert "c" not in w.session and "d" not in w.session
    assert w.console.input.toPlainText() == "c = a + 1\nd = c + 1"
    assert w.console.waiting.isVisible()
    assert w.console.waiting.text() == (
        "Not run, because In [2] failed: those 2 statements are back in the input. Press Enter to run."
    )
    qtbot.keyClick(w.console.input, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert "c" in w.session and "d" in w.session


def test_enter_during_an_undo_keeps_the_statement_and_says_why(qtbot, window, monkeypatch) -> None:
    slow_replays(monkeypatch, 0.01)  # a replay of a long session
    w = window()
    assert w.console.submit("a = torch.ones(2)\n" + "\n".join(f"v{i} = a * {i}" for i in range(60))).ok
    assert w.console.submit("b = a * 2").ok
    seen = _while_running(qtbot, w, lambda: _enter(qtbot, w, "c = a * 3"))
    toolbar_click(qtbot, w, "undo")
    assert seen["working"] and seen["input"] == "c = a * 3"
    assert seen["message"].startswith("Kept here, not run: gradviz is busy")
    idle(qtbot, w)
    assert "c" not in w.session and w.console.input.toPlainText() == "c = a * 3"
    assert not w.console.waiting.isVisible()  # the work is done: nothing to wait for
    qtbot.keyClick(w.console.input, Qt.Key.Key_Return)
    assert "c" in w.session
