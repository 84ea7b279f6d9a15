"""File ▸ Open PyTorch Script in the window: the warning, the run in a child process (Stop ends
it and the window stays responsive), the snapshot window with PyTorch's values and gradients,
and the snapshot saved, opened again, and refused when damaged."""

from __future__ import annotations

import gc
import os
import runpy
import tempfile
import textwrap
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QTextDocumentFragment
from PySide6.QtWidgets import QApplication, QMessageBox

torch = pytest.importorskip("torch")
from torch_models import MLP_SCRIPT as MLP  # noqa: E402 - tests/, shared

SHOTS = Path(os.environ.get("GRADVIZ_SHOT_DIR", tempfile.gettempdir()))  # pictures to look at


def _script(tmp_path: Path, name: str, code: str) -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(code))
    return p


def _answer_warning(button: str, seen: list[str]) -> None:
    """Read the warning when it shows, and press ``button`` in it, as a person would."""

    def look() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, look)
            return
        seen.append(f"{box.windowTitle()}\n{box.text()}\n{box.informativeText()}")
        next(b for b in box.buttons() if b.text().replace("&", "") == button).click()

    QTimer.singleShot(0, look)


def _node_values(view) -> dict[str, tuple[str, str]]:
    g = view.canvas.graph
    return {
        view.canvas.names[n]: (a["value"], a["grad"]) for n, a in g.nodes(data=True) if n in view.canvas.names
    }


def _close(windows) -> None:
    for v in list(windows):
        v.close()


def test_open_a_pytorch_script_from_the_menu_and_see_its_graph(window, qtbot, tmp_path) -> None:
    w = window()
    w.console.submit("a = torch.tensor(2., requires_grad=True)")
    qtbot.waitUntil(lambda: "a" in w.session, timeout=10000)
    path = _script(tmp_path, "mlp.py", MLP)
    w.scripts.ask_script_path = lambda: str(path)  # the file dialog's answer
    seen: list[str] = []
    _answer_warning("Run Script", seen)
    w.actions["open_script"].trigger()
    assert seen and "Run this script?" in seen[0] and str(path) in seen[0]
    assert "will run as Python code on this machine" in seen[0]
    assert len(w.scripts.windows) == 1
    view = w.scripts.windows[0]
    try:
        qtbot.waitUntil(view.canvas.is_idle, timeout=30000)
        assert "PyTorch snapshot — viewable, not replayable" in view.windowTitle()
        assert view.findChild(type(w.status_action), "statusSnapshot").text() == (
            "PyTorch snapshot — viewable, not replayable"
        )
        assert view.console is None and view.session is None  # nothing to replay or type into
        ns = runpy.run_path(str(path))  # the oracle: the same script, run here
        shown = set(view.canvas.names.values())
        assert {"0.weight", "0.bias", "2.weight", "2.bias", "x", "h", "loss"} <= shown
        # the inspector: PyTorch's own reprs of the value and of .grad
        view.panel.select("0.weight")
        view.select("0.weight", source="panel")
        assert view.inspector.value_view.toPlainText() == repr(ns["model"][0].weight)
        assert view.inspector.grad_view.toPlainText() == repr(ns["model"][0].weight.grad)
        assert view.inspector.fields["dtype"].text() == "torch.float32"
        view.select("h", source="panel")
        assert view.inspector.grad_view.toPlainText() == "None"
        assert "kept by gradviz" in view.inspector.grad_note.text()
        assert not view.inspector.edit_button.isVisible() and not view.inspector.check_button.isVisible()
        view.set_view("autograd")
        qtbot.waitUntil(view.canvas.is_idle, timeout=30000)
        assert {"backward", "accumulate"} <= {a["type"] for _, a in view.canvas.graph.nodes(data=True)}
        view.set_view("tensors")
        qtbot.waitUntil(view.canvas.is_idle, timeout=30000)
        SHOTS.mkdir(exist_ok=True)
        view.canvas.fit()
        view.grab().save(str(SHOTS / "gradviz_pytorch_script.png"))
        # the window it was opened from is as it was
        assert w.session.names() == ["a"] and w.windowTitle().startswith("Untitled")
    finally:
        _close(w.scripts.windows)


def test_a_script_that_loops_forever_is_stopped_and_the_app_stays_responsive(window, qtbot, tmp_path) -> None:
    w = window()
    path = _script(tmp_path, "forever.py", "import torch\nwhile True:\n    pass\n")
    w.scripts.ask_script_path = lambda: str(path)
    seen: list[str] = []
    _answer_warning("Run Script", seen)
    ticks: list[int] = []
    during: dict[str, str] = {}
    beat = QTimer(w)
    beat.setInterval(50)
    beat.timeout.connect(lambda: ticks.append(1))  # the GUI's event loop runs meanwhile

    def stop_when_running() -> None:
        if not (w.progress_cancel.isVisible() and len(ticks) >= 20):
            QTimer.singleShot(50, stop_when_running)
            return
        during["status"] = w.status_action.text()
        during["button"] = w.progress_cancel.text()
        SHOTS.mkdir(exist_ok=True)
        w.grab().save(str(SHOTS / "gradviz_pytorch_script_running.png"))  # it paints
        qtbot.mouseClick(w.progress_cancel, Qt.MouseButton.LeftButton)

    beat.start()
    QTimer.singleShot(0, stop_when_running)
    w.actions["open_script"].trigger()
    beat.stop()
    assert seen and during["button"] == "Stop" and "Running forever.py" in during["status"]
    assert len(ticks) >= 20
    assert w.status_action.text().startswith("Stopped forever.py: its process was ended")
    assert w.scripts.windows == [] and w.last_message_box is None
    assert not w.progress_cancel.isVisible() and w.progress_cancel.text() == "Cancel"
    # Escape stops it too
    _answer_warning("Run Script", seen)

    def escape_when_running() -> None:
        if not w.progress_cancel.isVisible():
            QTimer.singleShot(50, escape_when_running)
            return
        QTimer.singleShot(300, lambda: qtbot.keyClick(w.canvas, Qt.Key.Key_Escape))

    QTimer.singleShot(0, escape_when_running)
    w.actions["open_script"].trigger()
    assert w.status_action.text().startswith("Stopped forever.py") and w.scripts.windows == []
    # the window takes work again at once
    w.console.submit("b = torch.tensor(1.)")
    qtbot.waitUntil(lambda: "b" in w.session, timeout=10000)


def test_a_failing_script_says_where_and_cancel_runs_nothing(window, qtbot, tmp_path) -> None:
    w = window()
    path = _script(
        tmp_path, "bad.py", "import torch\nw = torch.ones(3, requires_grad=True)\ny = w @ torch.ones(2)\n"
    )
    w.scripts.ask_script_path = lambda: str(path)
    seen: list[str] = []
    _answer_warning("Cancel", seen)
    w.actions["open_script"].trigger()
    assert seen and w.status_action.text() == "bad.py was not run" and w.scripts.windows == []
    _answer_warning("Run Script", seen)
    w.actions["open_script"].trigger()
    box = w.last_message_box
    assert box is not None and box.windowTitle() == "Can't draw this script"
    assert box.text().startswith("bad.py: line 3: RuntimeError: ")
    assert f'File "{path}", line 3' in box.detailedText()
    box.done(0)
    assert w.scripts.windows == []


def test_a_saved_snapshot_opens_again_with_the_same_nodes_and_values(window, qtbot, tmp_path) -> None:
    w = window()
    w.console.submit("a = torch.tensor(2., requires_grad=True)")
    qtbot.waitUntil(lambda: "a" in w.session, timeout=10000)
    view = w.scripts.open_script(_script(tmp_path, "mlp.py", MLP), confirmed=True)
    try:
        qtbot.waitUntil(view.canvas.is_idle, timeout=30000)
        before = _node_values(view)
        view.ask_save_path = lambda *a: str(tmp_path / "mlp-snapshot")
        assert view.actions["save_as"].isEnabled()
        view.actions["save_as"].trigger()
        saved = tmp_path / "mlp-snapshot.gradviz"
        assert saved.exists() and view.path == saved
        assert view.windowTitle().startswith("mlp-snapshot.gradviz (PyTorch snapshot")
        # opened again through File › Open: a window of its own; the session stays as it was
        w.ask_open_path = lambda: str(saved)
        w.actions["open"].trigger()
        assert len(w.scripts.windows) == 2
        again = w.scripts.windows[1]
        qtbot.waitUntil(again.canvas.is_idle, timeout=30000)
        assert _node_values(again) == before
        assert set(again.canvas.graph.nodes) == set(view.canvas.graph.nodes)
        again.select("0.weight", source="panel")
        view.select("0.weight", source="panel")
        assert again.inspector.grad_view.toPlainText() == view.inspector.grad_view.toPlainText()
        assert again.inspector.value_view.toPlainText() == view.inspector.value_view.toPlainText()
        assert w.session.names() == ["a"]
        for fmt in ("svg", "graphml", "dot"):  # what it shows exports as any graph does
            out = tmp_path / f"snapshot.{fmt}"
            with qtbot.waitSignal(again.export_finished, timeout=30000) as sig:
                again.export_image(out)
            assert sig.args == [str(out)] and "0.weight" in out.read_text()
        # a snapshot window opened from another outlives it
        from gradviz.session import snapshot_file

        third = again.scripts.show(snapshot_file.load(saved), "third", saved)
        again.close()
        gc.collect()
        qtbot.waitUntil(third.canvas.is_idle, timeout=30000)
        assert third.isVisible() and "loss" in third.canvas.names.values()
        third.close()
        # a damaged copy: a clear message, nothing opened, the session untouched
        bad = tmp_path / "damaged.gradviz"
        bad.write_bytes(saved.read_bytes()[:-200])
        w.ask_open_path = lambda: str(bad)
        w.actions["open"].trigger()
        assert w.scripts.windows == [view] and w.session.names() == ["a"]
        box = w.last_message_box
        assert box is not None and box.windowTitle() == "Can't open this file"
        assert "damaged.gradviz" in box.text() and "The session you had open is unchanged." in box.text()
        box.done(0)
    finally:
        _close(w.scripts.windows)


def test_without_pytorch_the_menu_item_says_how_to_install_it(window, monkeypatch) -> None:
    import gradviz.gui.script_runner as sr

    monkeypatch.setattr(sr, "torch_available", lambda: False)
    w = window()
    a = w.actions["open_script"]
    assert "needs PyTorch" in a.text() and "pip install gradviz[torch]" in a.statusTip()
    a.trigger()
    box = w.last_message_box
    assert box is not None and "pip install gradviz[torch]" in box.text()
    box.done(0)


def test_gradviz_opens_a_snapshot_file_in_its_own_window(qtbot, tmp_path, capsys) -> None:
    from gradviz.gui.app import main as app_main
    from gradviz.session import snapshot_file
    from gradviz.session.pytorch_script import run_script

    snap = tmp_path / "mlp.gradviz"
    snapshot_file.save(run_script(_script(tmp_path, "mlp.py", MLP)), snap)
    out = tmp_path / "shot.png"
    assert app_main(["--screenshot", str(out), "--view", "autograd", str(snap)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    bad = tmp_path / "cut.gradviz"
    bad.write_bytes(snap.read_bytes()[:-300])
    assert app_main(["--screenshot", str(out), str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"gradviz: error: {bad}: ") and err.count("\n") == 1 and "Traceback" not in err


def test_a_snapshot_from_recent_opens_without_asking_to_save_the_session(window, qtbot, tmp_path) -> None:
    """A snapshot opens in a window of its own, so the open session is never in the way: no
    "Save changes?" first. A session from Recent still asks, and Cancel keeps what is open."""
    from gradviz.session import examples, fileformat, snapshot_file
    from gradviz.session.pytorch_script import run_script

    snap = tmp_path / "mlp.gradviz"
    snapshot_file.save(run_script(_script(tmp_path, "mlp.py", MLP)), snap)
    other = tmp_path / "other.gradviz"
    fileformat.save(examples.linear(), other)
    w = window()
    w.console.submit("a = torch.tensor(2., requires_grad=True)")
    qtbot.waitUntil(lambda: "a" in w.session, timeout=10000)
    assert w.session.dirty
    asked: list[str] = []
    w.ask_save_changes = lambda: asked.append("asked") or "cancel"

    def recent(name: str) -> None:
        w.recent_menu.aboutToShow.emit()
        next(a for a in w.recent_menu.actions() if a.text() == name).trigger()

    w.recent.add(other)
    w.recent.add(snap)
    try:
        recent("mlp.gradviz")
        assert asked == [] and len(w.scripts.windows) == 1
        view = w.scripts.windows[0]
        qtbot.waitUntil(view.canvas.is_idle, timeout=30000)
        assert {"0.weight", "h", "loss"} <= set(view.canvas.names.values())
        assert w.session.names() == ["a"] and w.session.dirty  # as it was, still unsaved
        recent("other.gradviz")
        assert asked == ["asked"] and w.session.names() == ["a"] and len(w.scripts.windows) == 1
    finally:
        _close(w.scripts.windows)


def test_what_a_script_printed_is_shown_in_its_window(window, qtbot, tmp_path, capsys) -> None:
    w = window()
    code = MLP + "for epoch in range(3):\n    print(f'epoch {epoch}: loss {loss.item() / (epoch + 1):.4f}')\n"
    path = _script(tmp_path, "talks.py", code)
    capsys.readouterr()
    runpy.run_path(str(path))  # the oracle: what the script prints when run here
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 3
    view = w.scripts.open_script(path, confirmed=True)
    try:
        qtbot.waitUntil(view.canvas.is_idle, timeout=30000)
        status = view.status_action
        assert status.text() == f"talks.py printed 3 lines; the last: {printed[-1]}"
        tip = QTextDocumentFragment.fromHtml(status.toolTip()).toPlainText()
        assert tip == "\n".join(["Output:", *printed])
        SHOTS.mkdir(exist_ok=True)
        view.grab().save(str(SHOTS / "gradviz_script_output.png"))
    finally:
        _close(w.scripts.windows)
    # a script that fails: what it printed before is in the message's details, after the traceback
    bad = _script(
        tmp_path, "fails.py", "print('loading data')\nprint('epoch 0')\nraise ValueError('no more data')\n"
    )
    assert w.scripts.open_script(bad, confirmed=True) is None
    box = w.last_message_box
    assert box.windowTitle() == "Can't draw this script" and "fails.py: line 3: ValueError" in box.text()
    details = box.detailedText()
    assert "Traceback" in details and details.endswith("Output:\nloading data\nepoch 0\n")
    box.done(0)
