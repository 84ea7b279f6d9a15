"""A long console cell can be stopped at any op: Stop (or Escape) ends it and undoes it whole,
the status bar says what was running, and the session is as it was."""

from __future__ import annotations

import time

from driving import idle
from PySide6.QtCore import Qt, QTimer

# Each line is an int64 matmul of about 0.3 s (numpy has no BLAS for integers): the cell
# would run for many seconds.
SLOW_CELL = "\n".join(f"p{i} = (a @ a).sum()" for i in range(40))


def _when_stop_shows(qtbot, w, press) -> dict:
    seen: dict = {}

    def look() -> None:
        if not w.progress_cancel.isVisible():
            QTimer.singleShot(20, look)
            return
        seen["status"] = w.status_action.text()
        seen["at"] = time.perf_counter()
        press()

    QTimer.singleShot(0, look)
    return seen


def test_stop_button_ends_a_long_cell_and_undoes_it(qtbot, window) -> None:
    w = window()
    assert w.console.submit("a = torch.ones(400, 400, dtype=torch.int64)").ok
    entries = w.session.entries
    seen = _when_stop_shows(qtbot, w, lambda: qtbot.mouseClick(w.progress_cancel, Qt.MouseButton.LeftButton))
    start = time.perf_counter()
    r = w.console.submit(SLOW_CELL)
    end = time.perf_counter()
    assert seen["status"].startswith("Running p0 = (a @ a).sum()")
    assert r.error_type == "KeyboardInterrupt" and "stopped" in r.error
    assert end - seen["at"] < 3.0  # stopped at the next op, not at the end of 40 matmuls
    assert end - start < 10
    assert w.session.entries == entries and w.session.names() == ["a"]
    idle(qtbot, w)
    assert w.panel.names() == ["a"]
    assert "KeyboardInterrupt: stopped" in w.console.transcript()
    assert w.console.submit("b = a.sum()").ok  # the console works on


def test_escape_stops_a_long_cell(qtbot, window) -> None:
    w = window()
    assert w.console.submit("a = torch.ones(400, 400, dtype=torch.int64)").ok
    _when_stop_shows(qtbot, w, lambda: qtbot.keyClick(w.console.input, Qt.Key.Key_Escape))
    r = w.console.submit(SLOW_CELL)
    assert r.error_type == "KeyboardInterrupt"
    assert w.session.names() == ["a"]


def test_an_op_too_long_to_stop_is_refused_with_the_estimate(qtbot, window) -> None:
    w = window()
    assert w.console.submit("a = torch.ones(2048, 2048, dtype=torch.int64)").ok
    start = time.perf_counter()
    r = w.console.submit("b = a @ a")
    assert time.perf_counter() - start < 2
    assert "matmul would take about" in r.error and "int64" in r.error
    assert w.session.names() == ["a"]


def test_the_status_bar_shows_the_memory_budget_and_a_refusal_names_it(qtbot, window) -> None:
    from gradviz.session.document import Session

    w = window(Session(memory_budget=60 * 2**20))
    assert w.status_memory.text() == "memory 0 bytes of 60.0 MB"
    assert w.console.submit("x = torch.ones(2**22)").ok  # 16 MB
    idle(qtbot, w)
    assert w.status_memory.text() == "memory 16.0 MB of 60.0 MB" and not w.status_memory.property("warning")
    assert "kept only for undo" in w.status_memory.toolTip()
    assert w.console.submit("y = x * 2\nz = x * 3").ok
    idle(qtbot, w)
    assert w.status_memory.text() == "memory 48.0 MB of 60.0 MB" and w.status_memory.property("warning")
    r = w.console.submit("q = x * 4")
    assert r.error_type == "MemoryError" and "60.0 MB memory budget" in r.error
    assert w.session.names() == ["x", "y", "z"]
    assert w.console.submit("del y").ok
    idle(qtbot, w)
    assert w.status_memory.text() == "memory 32.0 MB of 60.0 MB"


def test_gradviz_example_name_opens_it_in_the_window(qtbot, monkeypatch) -> None:
    from driving import run_app_main

    seen = {}

    def look(w) -> None:
        idle(qtbot, w)
        seen["names"] = w.panel.names()
        seen["status"] = w.status_action.text()

    assert run_app_main(monkeypatch, ["--example", "linear"], look) == 0
    assert seen["names"] == ["x", "w", "b", "y"]
    assert seen["status"] == "Opened the example: y = w*x + b"
