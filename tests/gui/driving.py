"""How a person drives the main window in the GUI tests: clicks, typing, reading messages."""

from __future__ import annotations

from PySide6.QtCore import Qt

from gradviz.gui.main_window import MainWindow


def idle(qtbot, w: MainWindow) -> None:
    qtbot.waitUntil(w.canvas.is_idle, timeout=20000)


def retype(qtbot, widget, text: str) -> None:
    widget.setFocus()
    widget.selectAll()
    qtbot.keyClick(widget, Qt.Key.Key_Delete)
    qtbot.keyClicks(widget, text)


def toolbar_button(w: MainWindow, key: str):
    """The toolbar's button for an action, whether the toolbar made it or it is a button of
    its own (Backward, with its menu of targets)."""
    from PySide6.QtWidgets import QToolButton

    action = w.actions[key]
    button = w.toolbar.widgetForAction(action)
    if button is None:
        button = next((b for b in w.toolbar.findChildren(QToolButton) if b.defaultAction() is action), None)
    return button


def toolbar_click(qtbot, w: MainWindow, key: str) -> None:
    button = toolbar_button(w, key)
    assert button is not None and button.isEnabled(), key
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def create_through_dialog(qtbot, w: MainWindow, name: str, literal: str, requires_grad: bool) -> None:
    toolbar_click(qtbot, w, "new_tensor")
    d = w.active_dialog
    assert d is not None and d.isVisible()
    retype(qtbot, d.name_edit, name)
    retype(qtbot, d.literal_edit, literal)
    if requires_grad:
        qtbot.mouseClick(d.requires_grad, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(d.ok_button, Qt.MouseButton.LeftButton)
    assert not d.isVisible()


def type_in_console(qtbot, w: MainWindow, text: str) -> None:
    box = w.console.input
    box.setFocus()
    qtbot.keyClicks(box, text)
    qtbot.keyClick(box, Qt.Key.Key_Return)


def message_text(w: MainWindow) -> str:
    box = w.last_message_box
    assert box is not None and box.isVisible(), "expected a message"
    text = box.text()
    box.done(0)
    return text


def run_app_main(monkeypatch, argv: list[str], look) -> int:
    """Run gradviz's ``main(argv)`` with the event loop replaced by ``look(window)``, called once
    the window is up; then the window closes (discarding changes) and main returns."""
    import sys

    from PySide6.QtWidgets import QApplication

    from gradviz.gui import app as gui_app

    before = set(QApplication.topLevelWidgets())

    def run(self) -> int:  # QApplication.exec()
        w = next(x for x in QApplication.topLevelWidgets() if isinstance(x, MainWindow) and x not in before)
        look(w)
        w.ask_save_changes = lambda: "discard"
        w.close()
        w.wait_for_workers()
        w.deleteLater()
        return 0

    monkeypatch.setattr(QApplication, "exec", run)
    monkeypatch.setattr(gui_app.gc, "freeze", lambda: None)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # main() installs its own
    return gui_app.main(argv)


def slow_replays(monkeypatch, seconds: float) -> None:
    """Make each replayed entry take ``seconds`` longer: a long session, to cancel or type during."""
    import time

    from gradviz.gui import work

    original = work.WorkerJob.progress

    def slow_progress(self, done: int, total: int) -> None:
        time.sleep(seconds)
        original(self, done, total)

    monkeypatch.setattr(work.WorkerJob, "progress", slow_progress)
