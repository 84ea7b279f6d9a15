"""The main window driven as a person would: the seed's y = w*x + b made through the New Tensor
dialog and the console, Backward clicked, the result read off the canvas, the inspector and
the tensors list; undo and redo; save and reopen; and every bad input answered with a message."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from driving import (
    create_through_dialog,
    idle,
    message_text,
    retype,
    run_app_main,
    slow_replays,
    toolbar_click,
    type_in_console,
)
from PySide6.QtCore import QPoint, QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

import gradviz
from gradviz.graph.model import AUTOGRAD
from gradviz.gui.app import main as app_main
from gradviz.gui.canvas import LEGIBLE_ZOOM
from gradviz.gui.main_window import MainWindow
from gradviz.session import examples, fileformat
from gradviz.session.autosave import Autosaver, recovery_dir
from gradviz.session.document import Session

EXAMPLES = examples.examples_dir()


def test_the_seed_from_dialogs_console_and_backward(qtbot, window) -> None:
    w = window()
    create_through_dialog(qtbot, w, "x", "3.", requires_grad=False)
    create_through_dialog(qtbot, w, "w", "4.", requires_grad=True)
    create_through_dialog(qtbot, w, "b", "5.", requires_grad=True)
    assert w.panel.names() == ["x", "w", "b"]
    type_in_console(qtbot, w, "y = w*x + b")
    idle(qtbot, w)
    assert "In [1]: y = w*x + b" in w.console.transcript()
    assert w.current == "y"  # what was just made is selected
    assert w.inspector.value_view.toPlainText() == "tensor(17., grad_fn=<AddBackward0>)"
    c = w.canvas
    assert c.item_for("w").fill == "#ffffff"  # before backward: no gradient yet
    toolbar_click(qtbot, w, "backward")
    idle(qtbot, w)
    assert "# y.backward()" in w.console.transcript()
    # The canvas: colours follow the gradients (w.grad = 3 tops the scale, b.grad = 1).
    assert c.item_for("w").fill == c.color_scale.color(3.0) != c.item_for("b").fill
    assert c.item_for("b").fill == c.color_scale.color(1.0)
    assert "grad: 3.0" in c.item_for("w").toolTip()
    # The tensors list.
    assert w.panel.row_texts("w")[4] == "3.0" and w.panel.row_texts("x")[4] == "none"
    assert w.panel.badge("w")[1] == c.item_for("w").fill  # same colour as its node
    # Click w on the canvas: the inspector shows its gradient as PyTorch prints it.
    qtbot.mouseClick(
        c.viewport(),
        Qt.MouseButton.LeftButton,
        pos=c.mapFromScene(c.item_for("w").sceneBoundingRect().center()),
    )
    assert w.current == "w" and w.panel.current() == "w"
    assert w.inspector.grad_view.toPlainText() == "tensor(3.)"
    assert w.status_nodes.text() == "7 nodes" and w.status_layout.text().startswith("layout: ")
    assert w.status_action.text() == "y.backward()"


def test_undo_and_redo_with_labels(qtbot, window) -> None:
    s = examples.linear()
    w = window(s)
    assert w.actions["undo"].text() == "&Undo y.backward()"
    w.actions["undo"].trigger()
    idle(qtbot, w)
    assert s.tensor("w").grad is None
    assert w.canvas.item_for("w").fill == "#ffffff"
    assert w.actions["redo"].text() == "&Redo y.backward()"
    w.actions["redo"].trigger()
    idle(qtbot, w)
    assert s.tensor("w").grad.item() == 3.0
    assert w.canvas.item_for("w").fill == w.canvas.color_scale.color(3.0)


def test_undo_and_redo_from_the_keyboard_and_no_key_is_bound_twice(qtbot, window) -> None:
    s = examples.linear()
    w = window(s)
    seen: dict[str, str] = {}
    for key, action in w.actions.items():
        for seq in action.shortcuts():
            text = seq.toString()
            assert text not in seen, f"{text} is bound to both {seen[text]} and {key}"  # Qt fires neither
            seen[text] = key
    w.canvas.setFocus()
    ctrl, shift = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier
    for redo in ((Qt.Key.Key_Y, ctrl), (Qt.Key.Key_Z, ctrl | shift)):
        qtbot.keyClick(w.canvas, Qt.Key.Key_Z, ctrl)
        idle(qtbot, w)
        assert s.tensor("w").grad is None
        qtbot.keyClick(w.canvas, *redo)
        idle(qtbot, w)
        assert s.tensor("w").grad.item() == 3.0, redo
    keys = w.actions["redo"].shortcut().toString(w.actions["redo"].shortcut().SequenceFormat.NativeText)
    qtbot.keyClick(w.canvas, Qt.Key.Key_Z, ctrl)
    assert w.actions["redo"].toolTip() == f"Redo y.backward() ({keys})"
    assert not w.actions["quit"].shortcut().isEmpty()


def test_save_and_reopen(qtbot, window, tmp_path) -> None:
    w = window(examples.linear())
    w.select("b")
    w.set_colors(stat="maxabs")
    target = tmp_path / "seed"
    w.ask_save_path = lambda *a: str(target)
    w.actions["save"].trigger()  # untitled: asks for a name, adds the suffix
    path = tmp_path / "seed.gradviz"
    assert path.exists() and w.path == path
    assert not w.isWindowModified() and w.windowTitle() == "seed.gradviz[*] — gradviz"
    w2 = window()
    w2.ask_open_path = lambda: str(path)
    w2.actions["open"].trigger()
    idle(qtbot, w2)
    assert w2.panel.names() == ["x", "w", "b", "y"]
    assert w2.session.tensor("w").grad.item() == 3.0
    assert w2.current == "b"  # the selection was saved with the file
    assert w2.canvas.stat == "maxabs"
    assert w2.windowTitle().startswith("seed.gradviz")
    assert Path(w2.recent.files()[0]) == path


def test_open_recent_and_examples_menu(qtbot, window, tmp_path) -> None:
    w = window()
    ex = next(a for a in w.examples_menu.actions() if a.objectName() == "example_mlp")
    ex.trigger()
    idle(qtbot, w)
    # 10 tensors and 4 ops: linear, tanh, linear, cross_entropy (each call one op)
    assert "W1" in w.panel.names() and len(w.canvas.node_items()) >= 14
    assert w.path is None and "example" in w.windowTitle()
    p = tmp_path / "mlp.gradviz"
    w._save_to(p)
    w.recent_menu.aboutToShow.emit()
    names = [a.text() for a in w.recent_menu.actions()]
    assert "mlp.gradviz" in names


def test_an_nn_example_opens_with_its_model_and_optimiser_in_the_console(qtbot, window) -> None:
    w = window()
    next(a for a in w.examples_menu.actions() if a.objectName() == "example_xor_mlp").trigger()
    idle(qtbot, w)
    assert "model_0_weight" in w.panel.names()
    result = w.console.submit("opt.step()\nmodel(X).round().tolist()")
    assert result.ok and result.result == "[[0.0], [1.0], [1.0], [0.0]]", result.text


def test_bad_inputs_are_messages_and_nothing_is_lost(qtbot, window, tmp_path) -> None:
    s = examples.linear()
    w = window(s)
    entries = s.entries
    # backward twice: PyTorch's words, and what to do.
    w.select("y")
    w.actions["backward"].trigger()
    box = w.last_message_box
    assert "second time" in box.text() and "retain graph" in box.informativeText()
    assert message_text(w)
    # deleting a tensor others depend on
    w.select("w")
    w.actions["delete"].trigger()
    assert "depends on it" in message_text(w)
    # renaming to a taken name, and to something that is not a name
    w.ask_text = lambda *a: "b"
    w.actions["rename"].trigger()
    assert "already taken" in message_text(w)
    w.ask_text = lambda *a: "2w"
    w.actions["rename"].trigger()
    assert "not a valid name" in message_text(w)
    # a broken file, a missing file
    bad = tmp_path / "broken.gradviz"
    bad.write_bytes(b"this is not a zip")
    assert not w.open_path(bad)
    assert "broken.gradviz" in message_text(w)
    assert not w.open_path(tmp_path / "missing.gradviz")
    assert "missing.gradviz" in message_text(w)
    # a file that names an unknown op
    odd = tmp_path / "odd.gradviz"
    with zipfile.ZipFile(EXAMPLES / "linear.gradviz") as src, zipfile.ZipFile(odd, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "session.json":
                data = data.replace(b'"mul"', b'"frobnicate"')
            dst.writestr(item, data)
    assert not w.open_path(odd)
    assert "frobnicate" in message_text(w)
    # exporting to a format nobody knows
    assert not w.export_image(tmp_path / "graph.bmp")
    assert ".png" in message_text(w)
    # a console error stays in the console, in PyTorch's words
    type_in_console(qtbot, w, "z = w @ q")
    assert "NameError: name 'q' is not defined" in w.console.transcript()
    assert s.entries == entries  # none of this changed the session
    assert w.isVisible()


def test_backward_needs_a_target(qtbot, window) -> None:
    s = Session()
    s.add_leaf("a", 1.0, requires_grad=True)
    s.add_leaf("b", 2.0, requires_grad=True)
    w = window(s)
    w.select("")
    assert not w.actions["backward"].isEnabled()  # two leaves: no result to start from yet
    w.backward()
    assert "Nothing to call backward() on yet" in message_text(w)


def test_non_scalar_backward_opens_the_dialog(qtbot, window) -> None:
    s = Session()
    s.add_leaf("a", [1.0, 2.0], requires_grad=True)
    s.apply("mul", ["a", 3], name="z")
    w = window(s)
    w.select("z")
    w.actions["backward"].trigger()
    d = w.active_dialog
    assert d is not None and d.objectName() == "BackwardDialog" and d.ones_radio.isChecked()
    qtbot.mouseClick(d.ok_button, Qt.MouseButton.LeftButton)
    idle(qtbot, w)
    assert s.tensor("a").grad.tolist() == [3.0, 3.0]
    assert "z.backward(torch.ones_like(z))" in w.console.transcript()


def test_zero_grads_delete_and_rename(qtbot, window) -> None:
    s = examples.linear()
    w = window(s)
    w.actions["zero_grads"].trigger()
    idle(qtbot, w)
    assert s.tensor("w").grad is None and w.panel.row_texts("w")[4] == "none"
    w.select("y")
    w.ask_text = lambda *a: "out"
    w.actions["rename"].trigger()
    idle(qtbot, w)
    assert "out" in s and w.current == "out" and w.panel.current() == "out"
    assert w.canvas.item_for("out") is not None
    w.actions["delete"].trigger()
    idle(qtbot, w)
    assert "out" not in s and w.current == ""
    assert w.panel.names() == ["x", "w", "b"]


def test_view_switch_find_and_colours(qtbot, window) -> None:
    w = window(examples.linear())
    toolbar = w.toolbar
    autograd = next(
        b
        for b in toolbar.findChildren(type(toolbar.widgetForAction(w.actions["fit"])))
        if b.objectName() == "view_autograd_button"
    )
    qtbot.mouseClick(autograd, Qt.MouseButton.LeftButton)
    idle(qtbot, w)
    assert w.canvas.view_mode == AUTOGRAD
    assert any(it.attrs.get("label") == "AccumulateGrad" for it in w.canvas.node_items().values())
    w.actions["find"].trigger()
    assert w.find_box.hasFocus()
    qtbot.keyClicks(w.find_box, "b")
    qtbot.keyClick(w.find_box, Qt.Key.Key_Return)
    assert w.current == "b" and w.inspector.title.text() == "b"
    retype(qtbot, w.find_box, "nope")
    qtbot.keyClick(w.find_box, Qt.Key.Key_Return)
    assert "nope" in w.status_action.text() and "border" in w.find_box.styleSheet()
    retype(qtbot, w.find_box, "w")
    qtbot.keyClick(w.find_box, Qt.Key.Key_Return)
    assert w.status_action.text() == "Found 'w'" and "border" not in w.find_box.styleSheet()
    w.actions["stat_mean"].trigger()
    idle(qtbot, w)
    assert w.canvas.stat == "mean" and w.canvas.color_scale.signed
    assert w.canvas.legend_overlay.legend.title == "grad mean"
    w.actions["log_scale"].trigger()
    idle(qtbot, w)
    assert w.canvas.log_scale and "(log)" in w.canvas.legend_overlay.legend.title


def _menu_action(w: MainWindow, *path: str):
    """The action a person reaches through the menus, by the texts they read (no '&')."""
    menu = next(a.menu() for a in w.menuBar().actions() if a.text().replace("&", "") == path[0])
    for text in path[1:]:
        act = next(a for a in menu.actions() if a.text().replace("&", "") == text)
        menu = act.menu() or menu
    return act


def test_left_to_right_layout_from_the_view_menu_and_it_persists(qtbot, window) -> None:
    w = window(examples.neuron())
    items = w.canvas.node_items
    assert w.canvas.layout_direction == "TB"
    x, out = w.canvas.item_for("x1"), w.canvas.item_for("o")
    assert x.sceneBoundingRect().bottom() < out.sceneBoundingRect().top()
    _menu_action(w, "View", "Layout Direction", "Left to Right").trigger()
    idle(qtbot, w)
    assert w.canvas.layout_direction == "LR" and w.actions["direction_LR"].isChecked()
    x, out = w.canvas.item_for("x1"), w.canvas.item_for("o")
    assert x.sceneBoundingRect().right() < out.sceneBoundingRect().left()
    for (u, v), _edge in w.canvas.edge_items().items():  # every edge runs rightwards
        assert items()[u].sceneBoundingRect().center().x() < items()[v].sceneBoundingRect().center().x()
    # Fitted afresh: too wide for this view at a legible zoom, so across its height, from its start.
    c = w.canvas
    assert c.zoom >= LEGIBLE_ZOOM and c.visible_scene_rect().contains(c.item_for("x1").sceneBoundingRect())
    vis, content = c.visible_scene_rect(), c.content_rect()
    assert vis.top() <= content.top() and vis.bottom() >= content.bottom()
    assert w.status_action.text() == "Layout direction: Left to Right"
    w.close()
    w2 = window()
    assert w2.canvas.direction == "LR" and w2.actions["direction_LR"].isChecked()


def test_preferences_and_geometry_persist(qtbot, window) -> None:
    w = window()
    w.set_colors(stat="maxabs", log_scale=True)
    w.set_view(AUTOGRAD)
    w.actions["show_minimap"].trigger()
    w.resize(640, 480)  # within the offscreen screen, where restoreGeometry keeps it
    w.close()
    s = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "gradviz", "gradviz")
    assert s.value("colors/statistic") == "maxabs"
    w2 = MainWindow(autosave=False)
    qtbot.addWidget(w2)
    assert (w2.size().width(), w2.size().height()) == (640, 480)
    assert w2.canvas.stat == "maxabs" and w2.canvas.log_scale
    assert w2.canvas.view_mode == AUTOGRAD and w2.actions["view_autograd"].isChecked()
    assert not w2.actions["show_minimap"].isChecked()


def test_unsaved_changes_are_asked_about_on_close(qtbot, window) -> None:
    w = window()
    w.session.add_leaf("x", 1.0)
    assert w.isWindowModified()
    w.ask_save_changes = lambda: "cancel"
    w.close()
    assert w.isVisible()
    saved = []
    w.ask_save_changes = lambda: "save"
    w.save = lambda: saved.append(1) or True
    w.close()
    assert saved and not w.isVisible()


def test_export_runs_off_the_gui_thread(qtbot, window, tmp_path) -> None:
    w = window(examples.linear())
    out = tmp_path / "seed.png"
    with qtbot.waitSignal(w.export_finished, timeout=30000) as sig:
        assert w.export_image(out)
        assert w.is_exporting() and w.progress.isVisible()
    assert sig.args == [str(out)]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = tmp_path / "seed.svg"
    with qtbot.waitSignal(w.export_finished, timeout=30000):
        w.export_image(svg)
    text = svg.read_text()
    assert "grad L2 norm" in text and w.canvas.item_for("w").fill in text  # legend and colours
    # A cancelled export writes nothing.
    pdf = tmp_path / "seed.pdf"
    with qtbot.waitSignal(w.export_finished) as sig:
        w.export_image(pdf)
        w.progress_cancel.click()
    assert sig.args == [""]
    qtbot.wait(200)
    assert not pdf.exists()


def test_recovery_after_a_crash(qtbot, window) -> None:
    s = examples.linear()
    saver = Autosaver(s, threaded=False)
    saver.mark_changed()
    assert saver.flush()
    # Pretend its process died: rename the files to a pid that is not running.
    dead = 2**22 + 12345
    for p in list(recovery_dir().iterdir()):
        p.rename(p.with_name(p.name.replace(f"-{os.getpid()}-", f"-{dead}-")))
    w = window()
    asked = []
    w.ask_restore = lambda when, doc: asked.append(when) or True
    assert w.offer_recovery()
    idle(qtbot, w)
    assert asked and w.panel.names() == ["x", "w", "b", "y"]
    assert w.session.dirty and w.isWindowModified()
    assert not w.offer_recovery()  # nothing left to offer
    # The restored work already has this run's own recovery file: a second crash before any
    # change would still leave it.
    entries, _ = fileformat.load(w.autosaver.path)
    assert len(entries) == len(s.entries) and [getattr(e, "name", "") for e in entries][:3] == ["x", "w", "b"]


def test_new_session_clears_everything(qtbot, window) -> None:
    w = window(examples.linear())
    w.actions["new"].trigger()
    idle(qtbot, w)
    assert w.panel.names() == [] and not w.canvas.node_items()
    assert w.canvas.empty_hint.isVisible()
    assert w.windowTitle().startswith("Untitled")


def test_empty_canvas_links_open_an_example(qtbot, window) -> None:
    w = window()
    assert w.canvas.empty_hint.isVisible()
    w.canvas.empty_hint.linkActivated.emit("example:linear")
    idle(qtbot, w)
    assert w.panel.names() == ["x", "w", "b", "y"]


def test_help_tour_shortcuts_and_about(qtbot, window) -> None:
    w = window()
    w.actions["tour"].trigger()
    tour = w.active_dialog
    assert tour.isVisible()
    for button in tour.buttons[:4]:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    practice = w.tour_window  # the tour runs in a window of its own
    idle(qtbot, practice)
    assert practice.session.tensor("w").grad.item() == 3.0
    assert "In [4]: y.backward()" in practice.console.transcript()
    assert w.session.entries == () and w.console.transcript() == ""
    tour.close()
    practice.close()
    w.actions["shortcuts"].trigger()
    table = w.active_dialog.table
    rows = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
    assert rows["Undo"] == "Ctrl+Z" and rows["Find"] == "Ctrl+F" and rows["New Tensor"] == "Ctrl+T"
    w.active_dialog.close()
    w.actions["about"].trigger()
    about = w.last_message_box.text()
    assert gradviz.__version__ in about and "PySide6" in about and "numpy" in about and "Qt" in about
    w.last_message_box.close()


def test_standard_shortcuts(qtbot, window) -> None:
    w = window(examples.linear())
    assert w.actions["undo"].shortcut().toString() == "Ctrl+Z"
    assert w.actions["save"].shortcut().toString() == "Ctrl+S"
    assert w.actions["find"].shortcut().toString() == "Ctrl+F"
    assert w.actions["fit"].shortcut().toString() == "Ctrl+0"
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    idle(qtbot, w)
    assert w.session.tensor("w").grad is None


def test_screenshot_command(qtbot, tmp_path, capsys) -> None:
    out = tmp_path / "shot.png"
    assert app_main(["--screenshot", str(out), "--size", "900x600", str(EXAMPLES / "linear.gradviz")]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert app_main(["--screenshot", str(out), str(tmp_path / "nope.gradviz")]) == 1
    assert "no such file" in capsys.readouterr().err


def _corrupt_file(tmp_path: Path) -> Path:
    bad = tmp_path / "bad.gradviz"
    bad.write_bytes(b"this is not a zip archive")
    return bad


def test_screenshot_command_says_why_a_file_would_not_open(qtbot, tmp_path, capsys) -> None:
    out = tmp_path / "shot.png"
    bad = _corrupt_file(tmp_path)
    assert app_main(["--screenshot", str(out), str(bad)]) == 1
    err = capsys.readouterr().err
    # The reason, as the window gives it, after the path: not just "could not be opened".
    assert err.startswith(f"gradviz: error: {bad}: not a gradviz session: not a zip file, or a damaged one")
    assert err.count("\n") == 1 and "Traceback" not in err  # one line, no traceback
    assert not out.exists()
    empty = tmp_path / "empty.gradviz"
    with zipfile.ZipFile(empty, "w") as z:  # a zip, but no session in it
        z.writestr("notes.txt", "hello")
    assert app_main(["--screenshot", str(out), str(empty)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"gradviz: error: {empty}: ") and "notes.txt" in err  # what is wrong with it
    # Nothing stays behind in the app main() ran in: its "Can't open" box would be the app's
    # modal widget and hold up whatever waits for none (a file the Finder asks to open).
    assert QApplication.activeModalWidget() is None


def test_launching_the_window_on_a_corrupt_file_says_why(qtbot, tmp_path, monkeypatch) -> None:
    """``gradviz bad.gradviz``: the window comes up, with the same message as File > Open."""

    bad = _corrupt_file(tmp_path)
    seen: dict[str, object] = {}

    def look(w: MainWindow) -> None:
        box = w.last_message_box
        seen.update(text=box.text() if box else "", shown=box is not None and box.isVisible(), path=w.path)

    assert run_app_main(monkeypatch, [str(bad)], look) == 0
    assert seen["shown"] and seen["path"] is None
    assert "bad.gradviz could not be opened." in seen["text"]
    assert "not a zip file, or a damaged one" in seen["text"]


def test_gradviz_show_refuses_mixed_pytorch_and_gradviz_tensors_before_any_window(qtbot) -> None:
    torch = pytest.importorskip("torch")
    t = torch.tensor(1.0, requires_grad=True) * 2  # QA's repro: a 0-d tensor
    before = set(QApplication.topLevelWidgets())
    with pytest.raises(TypeError) as err:
        gradviz.show([gradviz.tensor(1.0), t])
    assert str(err.value) == (
        "gradviz.show() takes gradviz tensors, got torch.Tensor at index 1 of the list; "
        "pass PyTorch tensors and gradviz tensors separately: one graph reads one library"
    )
    for bad, got in (([1, 2], "int at index 0 of the list"), (3, "int"), (None, "None")):
        with pytest.raises(TypeError, match="pass a gradviz tensor") as err:
            gradviz.show(bad)
        assert str(err.value).startswith(f"gradviz.show() takes gradviz tensors, got {got}; ")
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w not in before]


def test_gradviz_show_returns_when_the_window_closes(qtbot) -> None:
    x = gradviz.tensor(3.0)
    w = gradviz.tensor(4.0, requires_grad=True)
    y = w * x
    y.backward()
    seen = {}

    def close_it() -> None:
        win = next(
            t
            for t in QApplication.topLevelWidgets()
            if isinstance(t, MainWindow) and t.viewer and t.isVisible()
        )
        win.canvas.wait_until_idle()
        seen["names"] = win.panel.names()
        seen["tip"] = win.canvas.item_for("w").toolTip()
        seen["actions"] = win.actions["new_tensor"].isEnabled()
        win.close()

    QTimer.singleShot(50, close_it)
    gradviz.show(y)
    assert seen["names"] == ["x", "w", "y"] or set(seen["names"]) == {"x", "w", "y"}
    assert "grad: 3.0" in seen["tip"]
    assert seen["actions"] is False  # a viewer: nothing to edit


def test_python_errors_in_actions_become_messages(qtbot, window, monkeypatch) -> None:
    w = window(examples.linear())

    def boom() -> None:
        raise ZeroDivisionError("division by zero")

    w.guard(boom, "Test")()
    box = w.last_message_box
    assert box is not None and "ZeroDivisionError" in box.text() and "keeps running" in box.text()
    box.done(0)
    assert isinstance(box, QMessageBox)
    assert w.isVisible()


def test_canvas_double_click_in_the_window(qtbot, window) -> None:
    w = window(examples.linear())
    c = w.canvas
    add = next(it for it in c.node_items().values() if it.attrs.get("op") == "add")
    with qtbot.waitSignal(c.explained) as sig:
        qtbot.mouseDClick(
            c.viewport(), Qt.MouseButton.LeftButton, pos=c.mapFromScene(add.sceneBoundingRect().center())
        )
    assert "AddBackward0" in sig.args[0] and "∂result/∂input = 1, ∂result/∂other = 1" in sig.args[0]
    assert c.explanation.isVisible()
    qtbot.mouseClick(c.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(3, 3))
    assert not c.explanation.isVisible()


def test_saving_to_an_unwritable_place_is_a_message(qtbot, window, tmp_path) -> None:
    w = window(examples.linear())
    w.ask_save_path = lambda *a: str(tmp_path / "no" / "such" / "dir" / "x.gradviz")
    assert not w.save_as()
    assert "could not be saved" in message_text(w)
    assert w.session.names() == ["x", "w", "b", "y"]


def test_file_format_roundtrip_keeps_view_settings(tmp_path) -> None:
    s = examples.linear()
    s.view = {"mode": "autograd", "statistic": "mean", "log_scale": True, "selection": ["w"]}
    fileformat.save(s, tmp_path / "a.gradviz")
    _, view = fileformat.load(tmp_path / "a.gradviz")
    assert view["mode"] == "autograd"


def test_editing_keys_in_text_fields_never_delete_tensors(qtbot, window) -> None:
    w = window(examples.linear())
    w.select("y")
    w.console.input.setFocus()
    qtbot.keyClicks(w.console.input, "abc")
    qtbot.keyClick(w.console.input, Qt.Key.Key_Backspace)
    qtbot.keyClick(w.console.input, Qt.Key.Key_Delete)
    assert "y" in w.session and w.console.input.toPlainText() == "ab"
    w.find_box.setFocus()
    qtbot.keyClicks(w.find_box, "zz")
    qtbot.keyClick(w.find_box, Qt.Key.Key_Backspace)
    assert "y" in w.session and w.find_box.text() == "z"
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, Qt.Key.Key_Delete)  # on the graph, Delete deletes the selection
    idle(qtbot, w)
    assert "y" not in w.session


def _long_session_file(tmp_path: Path, n: int = 300) -> Path:
    s = Session()
    s.add_leaf("a", [1.0, 2.0], requires_grad=True)
    prev = "a"
    for i in range(n):
        prev = s.apply("mul", [prev, 1.0], name=f"v{i}")
    path = tmp_path / "long.gradviz"
    fileformat.save(s, path)
    return path


def test_opening_a_long_file_replays_off_the_gui_thread_and_cancel_keeps_the_session(
    qtbot, window, tmp_path, monkeypatch
) -> None:
    slow_replays(monkeypatch, 0.005)  # a replay long enough to cancel
    w = window()
    path = _long_session_file(tmp_path)
    type_in_console(qtbot, w, "q = torch.tensor(7.)")
    seen = {}

    def press_cancel() -> None:  # runs on the GUI thread while the file is being replayed
        seen["progress"] = w.progress.isVisible()
        qtbot.mouseClick(w.progress_cancel, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, press_cancel)
    assert w.open_path(path, confirmed=True) is False
    assert seen["progress"] is True
    assert w.session.names() == ["q"]
    assert "cancelled" in w.status_action.text()
    assert not w.progress.isVisible()
    # Without Cancel the same file opens completely.
    assert w.open_path(path, confirmed=True) is True
    assert "v299" in w.session.names()


def test_the_status_bar_shows_the_last_action_again_after_a_long_layout(qtbot, window) -> None:
    w = window()
    type_in_console(qtbot, w, "x = torch.tensor(3.)")
    idle(qtbot, w)
    said = w.status_action.text()
    assert said.startswith("Ran x = ")
    w.canvas.busy_changed.emit(True, "Laying out the graph…")  # as a layout past 150 ms does
    assert w.status_action.text() == "Laying out the graph…" and w.progress.isVisible()
    w.canvas.busy_changed.emit(False, "")
    assert w.status_action.text() == said and not w.progress.isVisible()


def test_a_tensor_just_made_is_selected_on_the_canvas_too(qtbot, window) -> None:
    w = window(examples.linear())
    type_in_console(qtbot, w, "n_tensors = y * 2")
    idle(qtbot, w)
    assert w.current == "n_tensors" and w.panel.current() == "n_tensors"
    assert w.canvas.selected_name == "n_tensors"
    assert w.canvas.item_for("n_tensors").selected


def test_rebinding_a_name_selects_its_new_node(qtbot, window) -> None:
    w = window()
    assert w.console.submit("x = torch.ones(2, requires_grad=True)").ok
    assert w.console.submit("y = x * 3").ok
    idle(qtbot, w)
    old = w.canvas.node_id("y")
    assert w.console.submit("y = y * 2").ok
    idle(qtbot, w)
    new = w.canvas.node_id("y")
    assert new != old and w.canvas.selected_node == new  # not the old y, now hidden
