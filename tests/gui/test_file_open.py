"""Files the system asks the running app to open (macOS: a double-click in the Finder, a drop
on the Dock icon, the launch file): a QFileOpenEvent sent to the application, as Qt delivers it."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from driving import message_text, run_app_main
from PySide6.QtCore import QCoreApplication, QTimer, QUrl
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication

from gradviz.gui.file_open import FileOpenHandler
from gradviz.gui.main_window import MainWindow
from gradviz.session import examples, fileformat
from gradviz.session.document import Session

EXAMPLES = examples.examples_dir()


@pytest.fixture
def handler(qapp):
    h = FileOpenHandler(qapp)
    yield h
    h.close()
    h.deleteLater()


@pytest.fixture
def make_window(window):
    """The shared window, answering the unsaved-changes question with ``w.answer`` and noting
    the title it was asked under in ``w.asked``."""

    def make(session: Session | None = None) -> MainWindow:
        w = window(session)
        w.asked, w.answer = [], "discard"

        def ask() -> str:
            w.asked.append(w.windowTitle())
            return w.answer

        w.ask_save_changes = ask
        return w

    return make


def linear_file(tmp_path: Path, name: str = "linear.gradviz") -> Path:
    path = tmp_path / name
    shutil.copy(EXAMPLES / "linear.gradviz", path)
    return path


def finder_opens(path: Path | str) -> bool:
    """What Qt does when the Finder asks the running app to open ``path``."""
    return QCoreApplication.sendEvent(QApplication.instance(), QFileOpenEvent(str(path)))


def test_a_file_opened_from_the_finder_shows_in_the_running_window(
    qtbot, handler, make_window, tmp_path
) -> None:
    w = make_window()
    handler.attach(w)
    path = linear_file(tmp_path)
    assert finder_opens(path)
    qtbot.waitUntil(lambda: w.path == path, timeout=20000)
    qtbot.waitUntil(w.canvas.is_idle, timeout=20000)
    assert w.panel.names() == ["x", "w", "b", "y"]
    assert w.windowTitle() == "linear.gradviz[*] — gradviz"
    assert w.canvas.node_id("y") in w.canvas.node_items()
    assert w.asked == []  # nothing unsaved: nothing to ask
    assert handler.pending is None


def test_a_file_asked_for_before_the_window_is_up_opens_once_it_is(
    qtbot, handler, make_window, tmp_path
) -> None:
    path = linear_file(tmp_path)
    assert finder_opens(path)  # macOS sends the launch file this way, maybe before the window
    QApplication.processEvents()
    assert handler.pending == path
    w = make_window()
    assert w.path is None  # not before the window is handed over
    handler.attach(w)
    qtbot.waitUntil(lambda: w.path == path, timeout=20000)
    assert w.panel.names() == ["x", "w", "b", "y"]
    assert w.windowTitle().startswith("linear.gradviz")


def test_unsaved_changes_are_asked_about_first(qtbot, handler, make_window, tmp_path) -> None:
    s = Session()
    w = make_window(s)
    handler.attach(w)
    s.add_leaf("keep", [1.0, 2.0], requires_grad=True)
    assert s.dirty
    entries = s.entries
    path = linear_file(tmp_path)
    w.answer = "cancel"
    assert finder_opens(path)
    qtbot.waitUntil(lambda: len(w.asked) == 1, timeout=5000)
    QApplication.processEvents()
    assert w.path is None and s.entries == entries and w.panel.names() == ["keep"]
    assert handler.pending is None  # cancelled: forgotten, as with File ▸ Open
    w.answer = "discard"
    assert finder_opens(path)
    qtbot.waitUntil(lambda: w.path == path, timeout=20000)
    assert len(w.asked) == 2
    assert w.panel.names() == ["x", "w", "b", "y"]


def test_a_corrupt_file_is_the_usual_message_and_the_session_stays(
    qtbot, handler, make_window, tmp_path
) -> None:
    s = examples.linear()
    w = make_window(s)
    handler.attach(w)
    entries, title = s.entries, w.windowTitle()
    bad = tmp_path / "broken.gradviz"
    bad.write_bytes(b"this is not a zip")
    assert finder_opens(bad)
    qtbot.waitUntil(lambda: w.last_message_box is not None, timeout=20000)
    text = message_text(w)
    assert "broken.gradviz could not be opened" in text and "unchanged" in text
    assert s.entries == entries and w.windowTitle() == title and w.path is None
    assert w.panel.names() == ["x", "w", "b", "y"]
    # A missing file is a message too.
    assert finder_opens(tmp_path / "gone.gradviz")
    qtbot.waitUntil(lambda: w.last_message_box is not None, timeout=20000)
    assert "gone.gradviz" in message_text(w)
    assert s.entries == entries


def test_a_request_waits_while_the_window_opens_another_file(
    qtbot, handler, make_window, tmp_path, monkeypatch
) -> None:
    original = fileformat.prepare_document

    def slow_prepare(*args, **kw):  # on the worker: long enough for a request to come meanwhile
        time.sleep(0.3)
        return original(*args, **kw)

    monkeypatch.setattr(fileformat, "prepare_document", slow_prepare)
    w = make_window()
    handler.attach(w)
    first = linear_file(tmp_path, "first.gradviz")
    second = linear_file(tmp_path, "second.gradviz")
    seen: dict[str, object] = {}

    def open_first() -> None:  # File ▸ Open, from the app's event loop as in the app
        QTimer.singleShot(50, lambda: finder_opens(second))
        seen["opened"] = w.open_path(first)  # waits for its worker; the request comes meanwhile
        seen["path"], seen["pending"] = w.path, handler.pending

    QTimer.singleShot(0, open_first)
    qtbot.waitUntil(lambda: "opened" in seen, timeout=20000)
    assert seen == {"opened": True, "path": first, "pending": second}  # not opened under the first
    qtbot.waitUntil(lambda: w.path == second, timeout=20000)
    assert w.windowTitle().startswith("second.gradviz")


def test_the_file_already_open_is_not_opened_again(
    qtbot, handler, make_window, tmp_path, monkeypatch
) -> None:
    w = make_window()
    handler.attach(w)
    path = linear_file(tmp_path)
    assert w.open_path(path)
    opened: list[Path] = []
    monkeypatch.setattr(w, "open_path", lambda p, **kw: opened.append(p) or True)
    assert finder_opens(tmp_path / "." / path.name)
    qtbot.wait(50)
    assert opened == [] and handler.pending is None


def test_a_url_that_is_no_local_file_is_left_alone(qtbot, handler, make_window) -> None:
    w = make_window()
    handler.attach(w)
    event = QFileOpenEvent(QUrl("https://example.com/model.gradviz"))
    assert not QCoreApplication.sendEvent(QApplication.instance(), event)
    assert handler.pending is None


def test_the_app_opens_the_file_it_was_launched_with_as_an_event(qtbot, tmp_path, monkeypatch) -> None:
    """``gradviz`` started with no argument and the file in a FileOpen event, queued before the
    window exists (as macOS does without argv emulation): the window comes up with that file."""
    path = linear_file(tmp_path)
    qapp = QApplication.instance()
    seen: dict[str, object] = {}

    def look(w: MainWindow) -> None:  # the window is up; let the events come
        qtbot.waitUntil(lambda: w.path == path, timeout=20000)
        seen.update(names=w.panel.names(), title=w.windowTitle())

    QCoreApplication.postEvent(qapp, QFileOpenEvent(str(path)))
    try:
        assert run_app_main(monkeypatch, [], look) == 0
    finally:
        for h in qapp.findChildren(FileOpenHandler):
            h.close()
            h.deleteLater()
    assert seen == {"names": ["x", "w", "b", "y"], "title": "linear.gradviz[*] — gradviz"}
