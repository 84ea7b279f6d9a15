"""Undo, redo and edits of a long session replay on a worker: the window keeps running, shows
progress, holds back other input, and Cancel or Escape leaves everything as it was."""

from __future__ import annotations

import itertools
import threading
import time

import pytest
from driving import idle, toolbar_click
from PySide6.QtCore import Qt, QTimer

from gradviz.gui import work
from gradviz.session.document import Session, SessionError

STEPS = 200


def long_session() -> Session:
    s = Session()
    s.add_leaf("a", [1.0, 2.0], requires_grad=True)
    prev = "a"
    for i in range(STEPS):
        prev = s.apply("mul", [prev, 1.5], name=f"v{i}")
    s.backward("v199", gradient=[1.0, 1.0])
    return s


@pytest.fixture
def slow_replay(monkeypatch):
    """Each replayed entry takes a few milliseconds, so a replay lasts about a second: long
    enough to watch the window while it runs, as with a session of many thousand ops."""
    threads: list[str] = []
    original = work.WorkerJob.progress

    def progress(self, done: int, total: int) -> None:
        threads.append(threading.current_thread().name)
        time.sleep(0.004)
        original(self, done, total)

    monkeypatch.setattr(work.WorkerJob, "progress", progress)
    return threads


def test_undo_of_a_long_session_replays_off_the_gui_thread_and_the_window_keeps_running(
    qtbot, window, slow_replay
) -> None:
    w = window(long_session())
    assert w.session.tensor("a").grad is not None
    ticks: list[float] = []
    seen = {"progress": False}

    def tick() -> None:
        ticks.append(time.perf_counter())
        seen["progress"] |= w.progress.isVisible()

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(10)
    toolbar_click(qtbot, w, "undo")  # returns when the replay has been swapped in
    timer.stop()
    assert w.session.tensor("a").grad is None  # the backward is undone
    assert w.actions["redo"].text() == "&Redo v199.backward()"
    assert slow_replay and threading.main_thread().name not in slow_replay  # all on the worker
    assert len(slow_replay) >= STEPS
    assert seen["progress"]  # a replay this long shows its progress
    assert not w.progress.isVisible()
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) > 20 and max(gaps) < 0.1  # the GUI thread never stood still for 100 ms
    idle(qtbot, w)
    toolbar_click(qtbot, w, "redo")
    assert w.session.tensor("a").grad is not None


def test_cancel_during_undo_keeps_the_session_and_its_history(qtbot, window, slow_replay) -> None:
    w = window(long_session())
    grad = w.session.tensor("a").grad.tolist()
    entries = w.session.entries

    def press_cancel() -> None:
        if not w.progress_cancel.isVisible():  # not shown yet: look again soon
            QTimer.singleShot(20, press_cancel)
            return
        qtbot.mouseClick(w.progress_cancel, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, press_cancel)
    toolbar_click(qtbot, w, "undo")
    assert w.session.tensor("a").grad.tolist() == grad
    assert w.session.entries == entries
    assert w.actions["undo"].text() == "&Undo v199.backward()"
    assert not w.session.can_redo
    assert w.status_action.text() == "Undo v199.backward() cancelled; nothing was changed"
    assert w.last_message_box is None or not w.last_message_box.isVisible()  # no alarm for a cancel
    assert not w.progress.isVisible()


def test_escape_cancels_an_edit_and_the_typed_value_stays(qtbot, window, slow_replay) -> None:
    w = window(long_session())
    w.select("a")
    w.inspector.start_edit()
    w.inspector.editor.setPlainText("[3.0, 4.0]")

    def press_escape() -> None:
        if not w.progress.isVisible():
            QTimer.singleShot(20, press_escape)
            return
        qtbot.keyClick(w.inspector.editor, Qt.Key.Key_Escape)

    QTimer.singleShot(0, press_escape)
    qtbot.mouseClick(w.inspector.apply_button, Qt.MouseButton.LeftButton)
    assert w.session.tensor("a").tolist() == [1.0, 2.0]
    assert w.inspector.is_editing()
    assert w.inspector.editor.toPlainText() == "[3.0, 4.0]"
    assert "cancelled; nothing was changed" in w.inspector.edit_error.text()
    # Applied without Escape, the edit recomputes everything downstream, gradients included.
    qtbot.mouseClick(w.inspector.apply_button, Qt.MouseButton.LeftButton)
    assert w.session.tensor("a").tolist() == [3.0, 4.0]
    assert w.session.tensor("v0").tolist() == [4.5, 6.0]
    assert w.session.tensor("a").grad is not None


def test_other_input_waits_while_a_replay_runs_but_typing_ahead_in_the_console_works(
    qtbot, window, slow_replay
) -> None:
    w = window(long_session())
    entries = len(w.session.entries)
    typed = {}

    def type_meanwhile() -> None:
        if not w.progress.isVisible():
            QTimer.singleShot(20, type_meanwhile)
            return
        box = w.console.input
        qtbot.keyClicks(box, "z = a * 2")
        qtbot.keyClick(box, Qt.Key.Key_Return)
        qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # a second undo
        typed["text"] = box.toPlainText()

    QTimer.singleShot(0, type_meanwhile)
    toolbar_click(qtbot, w, "undo")
    assert typed["text"] == "z = a * 2"  # typed ahead, as in a notebook; Enter didn't run it
    assert "z" not in w.session
    assert len(w.session.entries) == entries - 1  # exactly one undo happened (Ctrl+Z dropped)
    qtbot.keyClick(w.console.input, Qt.Key.Key_Return)  # now it runs
    assert "z" in w.session


@pytest.mark.parametrize("how", ["close button", "Quit"])
def test_closing_the_window_during_a_replay_closes_it_when_done(qtbot, window, slow_replay, how) -> None:
    w = window(long_session())
    asked: list[bool] = []
    w.ask_save_changes = lambda: asked.append(True) or "discard"

    def close_meanwhile() -> None:
        if not w.progress.isVisible():
            QTimer.singleShot(20, close_meanwhile)
            return
        w.close() if how == "close button" else w.actions["quit"].trigger()
        assert w.isVisible() and not asked  # not yet: the work finishes first

    QTimer.singleShot(0, close_meanwhile)
    toolbar_click(qtbot, w, "undo")
    assert w.session.tensor("a").grad is None  # the undo was done, not lost
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=5000)
    assert asked == [True]  # then the usual question about unsaved changes
    assert w.session.replayer is None  # the session no longer needs the window


def test_a_rollback_cannot_be_cancelled_by_escape_or_closing(qtbot, window, slow_replay) -> None:
    w = window(long_session())
    pressed = []

    def press_escape_and_close() -> None:
        if not w.progress.isVisible():
            QTimer.singleShot(20, press_escape_and_close)
            return
        assert not w.progress_cancel.isVisible()  # no Cancel for work that must finish
        qtbot.keyClick(w.console.input, Qt.Key.Key_Escape)
        w.close()
        pressed.append(True)

    w.ask_save_changes = lambda: "cancel"  # and then the person keeps the window after all
    QTimer.singleShot(0, press_escape_and_close)
    state = w.run_off_thread(
        lambda progress: w.session.replay(w.session.entries, progress), "Rolling back…", cancellable=False
    )
    assert pressed and state.tensors["v199"].tolist() == w.session.tensor("v199").tolist()
    qtbot.wait(50)
    assert w.isVisible()  # the close was asked about once, and refused
    toolbar_click(qtbot, w, "undo")  # later work doesn't bring the close back
    qtbot.wait(50)
    assert w.isVisible() and w.session.tensor("a").grad is None


def test_a_second_action_during_a_replay_is_refused_and_the_history_stays_whole(
    qtbot, window, slow_replay
) -> None:
    w = window(long_session())
    steps = len(w.session.entries)
    seen: list[str] = []

    def undo_again() -> None:  # as a native menu bar would: an action, no key or mouse event
        if not w.progress.isVisible():
            QTimer.singleShot(20, undo_again)
            return
        w.actions["undo"].trigger()
        seen.append(w.status_action.text())
        with pytest.raises(SessionError, match="still busy"):  # the session API is refused too
            w.session.set_leaf_value("a", [5.0, 6.0])

    QTimer.singleShot(0, undo_again)
    toolbar_click(qtbot, w, "undo")
    assert seen == ["Undo: gradviz is still busy; try again when it is done"]
    assert len(w.session.entries) == steps - 1  # exactly one undo
    assert w.session.tensor("a").tolist() == [1.0, 2.0]
    assert w.session.redo_label == "v199.backward()"
    assert w.session.undo_label == "v199 = mul"
    w.session.redo()
    assert len(w.session.entries) == steps and not w.session.can_redo


def test_a_quick_replay_leaves_no_progress_or_busy_cursor_behind(qtbot, window) -> None:
    from PySide6.QtWidgets import QApplication

    w = window(long_session())
    toolbar_click(qtbot, w, "undo")  # quick: done before the progress would show
    qtbot.wait(400)  # past the moment it would have shown
    assert not w.progress.isVisible() and not w.progress_cancel.isVisible()
    assert QApplication.overrideCursor() is None
    assert w.status_action.text() == "Undo v199.backward()"


def test_a_console_cell_runs_off_the_gui_thread_and_its_changes_arrive_after(
    qtbot, window, monkeypatch
) -> None:
    from gradviz.session.console import Console

    w = window()
    threads: list[str] = []
    original = Console.run

    def slow_run(self, source: str):  # a cell that takes as long as making a huge tensor
        threads.append(threading.current_thread().name)
        time.sleep(0.6)
        return original(self, source)

    monkeypatch.setattr(Console, "run", slow_run)
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(10)
    result = w.console.submit("e = torch.ones(3)\nf = e * 2")
    timer.stop()
    assert result.ok and threads and threads[0] != threading.main_thread().name
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) > 20 and max(gaps) < 0.1  # the window kept running
    idle(qtbot, w)
    assert w.panel.names() == ["e", "f"] and w.canvas.item_for("f") is not None
    assert w.session.undo_label == "console: e = torch.ones(3)"  # one cell, one undo step
    assert not w.progress.isVisible()


def test_a_failing_cell_on_the_worker_rolls_back_there(qtbot, window) -> None:
    w = window()
    assert w.console.submit("a = torch.ones(2)").ok
    r = w.console.submit("b = a * 2\nc = a + torch.ones(3)")  # the second line fails: b goes too
    assert r.error_type == "RuntimeError" and "size of tensor a (2)" in r.error
    assert w.session.names() == ["a"]
    idle(qtbot, w)
    assert w.panel.names() == ["a"]


def test_actions_from_dialogs_and_the_toolbar_run_off_the_gui_thread(qtbot, window, monkeypatch) -> None:
    from driving import create_through_dialog

    w = window()
    threads: list[tuple[str, str]] = []
    original = Session._append_now

    def slow_append(self, entries, label):  # as making a huge tensor or a long backward is
        threads.append((label, threading.current_thread().name))
        time.sleep(0.3)
        return original(self, entries, label)

    monkeypatch.setattr(Session, "_append_now", slow_append)
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(10)
    create_through_dialog(qtbot, w, "x", "[1., 2.]", requires_grad=True)
    w.console.submit("y = (x * x).sum()")
    idle(qtbot, w)
    w.select("y")
    toolbar_click(qtbot, w, "backward")
    timer.stop()
    idle(qtbot, w)
    assert [label for label, _ in threads][:1] == ["create x"] and threads[-1][0] == "y.backward()"
    assert all(name != threading.main_thread().name for _, name in threads)
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert max(gaps) < 0.1  # the window kept running
    assert w.session.tensor("x").grad.tolist() == [2.0, 4.0]
    assert w.panel.badge("x")[1] is not None and w.canvas.item_for("x").fill != "#ffffff"


def _press_escape_when_busy(qtbot, w) -> None:
    def press() -> None:
        if not w.progress.isVisible():
            QTimer.singleShot(20, press)
            return
        qtbot.keyClick(w.canvas, Qt.Key.Key_Escape)

    QTimer.singleShot(0, press)


def test_escape_while_an_example_opens_keeps_the_session(qtbot, window, slow_replay) -> None:
    w = window(long_session())
    _press_escape_when_busy(qtbot, w)
    assert w.open_example("vanishing_gradients") is False
    assert "v199" in w.session.names() and w.windowTitle().startswith("Untitled")
    assert w.status_action.text() == "Opening the example cancelled; the session you had open is unchanged"
    steps = len(slow_replay)
    assert w.open_example("linear") is True  # and without Escape it opens, replayed once
    assert len(slow_replay) - steps < 20 and "w" in w.session.names()


def test_escape_while_restoring_after_a_crash_keeps_the_recovery_file(qtbot, window, slow_replay) -> None:
    import os

    from gradviz.session.autosave import Autosaver, find_recovery, recovery_dir

    s = long_session()
    saver = Autosaver(s, threaded=False)
    saver.mark_changed()
    assert saver.flush()
    dead = 2**22 + 12345  # as if its process had died
    for p in list(recovery_dir().iterdir()):
        p.rename(p.with_name(p.name.replace(f"-{os.getpid()}-", f"-{dead}-")))
    w = window()
    w.ask_restore = lambda when, doc: True
    _press_escape_when_busy(qtbot, w)
    assert not w.offer_recovery()
    assert w.status_action.text() == "Restoring cancelled; it will be offered again at the next start"
    assert w.last_message_box is None or not w.last_message_box.isVisible()  # not "could not be read"
    assert w.session.names() == [] and find_recovery() is not None


@pytest.fixture
def slow_actions(monkeypatch):
    """Each session action (a new tensor, a rename) takes 0.4 s, as a huge one does."""
    original = Session._append_now

    def slow(self, entries, label):
        time.sleep(0.4)
        return original(self, entries, label)

    monkeypatch.setattr(Session, "_append_now", slow)


def test_renaming_in_the_panel_while_the_rename_runs_keeps_the_editor_safe(
    qtbot, window, slow_actions
) -> None:
    from PySide6.QtWidgets import QApplication, QLineEdit

    s = Session()
    s.add_leaf("x", [1.0, 2.0], requires_grad=True)
    w = window(s)
    table = w.panel.table
    idx = w.panel.model.index(w.panel.model.row_of("x"), 0)
    table.setCurrentIndex(idx)
    table.edit(idx)
    editor = QApplication.focusWidget()
    assert isinstance(editor, QLineEdit)
    editor.selectAll()
    qtbot.keyClicks(editor, "renamed")
    qtbot.keyClick(editor, Qt.Key.Key_Return)  # this crashed the app: the refresh deleted the editor
    qtbot.waitUntil(lambda: w.session.names() == ["renamed"], timeout=5000)
    idle(qtbot, w)
    assert w.panel.names() == ["renamed"]


def test_a_dialog_stays_until_its_action_is_done(qtbot, window, slow_actions) -> None:
    from driving import retype

    w = window()
    toolbar_click(qtbot, w, "new_tensor")
    d = w.active_dialog
    retype(qtbot, d.name_edit, "x")
    retype(qtbot, d.literal_edit, "[1., 2.]")
    tried: list[bool] = []

    def close_meanwhile() -> None:  # the title bar's X while the tensor is made
        if not w.progress.isVisible():
            QTimer.singleShot(20, close_meanwhile)
            return
        d.close()
        tried.append(d.isVisible())

    QTimer.singleShot(0, close_meanwhile)
    qtbot.mouseClick(d.ok_button, Qt.MouseButton.LeftButton)
    idle(qtbot, w)
    assert tried == [True]  # it stayed, then OK closed it
    assert w.session.names() == ["x"] and "x = torch.tensor([1., 2.]" in w.console.transcript()


def test_typed_ahead_during_a_cell_is_the_next_input_and_completion_waits(qtbot, window, monkeypatch) -> None:
    from gradviz.session.console import Console

    w = window()
    assert w.console.submit("a = torch.ones(2)").ok
    original_run, original_complete = Console.run, Console.complete
    busy_completions: list[bool] = []

    def slow_run(self, source):
        result = original_run(self, source)
        time.sleep(0.6)
        return result

    def complete(self, prefix):
        busy_completions.append(w._work_job is not None)
        return original_complete(self, prefix)

    monkeypatch.setattr(Console, "run", slow_run)
    monkeypatch.setattr(Console, "complete", complete)

    def type_meanwhile() -> None:
        if not w.progress.isVisible():
            QTimer.singleShot(20, type_meanwhile)
            return
        qtbot.keyClicks(w.console.input, "z = a.")  # '.' would complete: not while the cell runs

    QTimer.singleShot(0, type_meanwhile)
    w.console.input.setFocus()
    qtbot.keyClicks(w.console.input, "b = a * 2")
    qtbot.keyClick(w.console.input, Qt.Key.Key_Return)
    assert w.console.input.toPlainText() == "z = a."  # kept for the next run
    assert "b" in w.session and not any(busy_completions)
