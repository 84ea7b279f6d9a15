"""Colours say the truth (issue 11, section 3), driven through the window as a person would."""

from __future__ import annotations

import itertools

from driving import idle, type_in_console
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QToolButton

from gradviz.graph.colors import PENDING_PAINT, color_distance
from gradviz.graph.style import KEPT_BADGE
from gradviz.gui.main_window import MainWindow
from gradviz.session import examples


def _texts(w: MainWindow, name: str) -> list[str]:
    """The words drawn in a node, as one reads them on the canvas."""
    item = w.canvas.item_for(name)
    return [op.data[1] for op in item._ops if op.kind == "text"]


def _legend_notes(w: MainWindow) -> list[str]:
    return w.canvas.legend_overlay.legend.notes


def _menu_action(w: MainWindow, key: str):
    """The action as the Colours menu offers it (the one the toolbar's Colours button opens)."""
    action = w.actions[key]
    assert action in w.colours_menu.actions(), key
    return action


def test_zeroing_a_grad_moves_the_scale_and_the_legend_says_so(qtbot, window) -> None:
    w = window(examples.linear())  # w.grad = 3, b.grad = 1: the scale runs 0 to 3
    idle(qtbot, w)
    b_before = w.canvas.item_for("b").fill
    type_in_console(qtbot, w, "w.grad = None")
    idle(qtbot, w)
    # Unlocked, the range shrinks to b's 1.0: b changes colour, and the legend says why.
    assert w.canvas.item_for("b").fill != b_before
    assert "scale changed: was 0 to 3" in _legend_notes(w)
    type_in_console(qtbot, w, "z = b * 2")  # a change that leaves the range alone
    idle(qtbot, w)
    assert not any("changed" in n for n in _legend_notes(w))  # the note was about the last change


def test_lock_scale_keeps_every_colour_when_a_grad_is_zeroed(qtbot, window) -> None:
    w = window(examples.linear())
    idle(qtbot, w)
    _menu_action(w, "lock_scale").trigger()
    idle(qtbot, w)
    assert w.canvas.lock_scale and "scale locked at 0 to 3" in _legend_notes(w)
    fills = {n: w.canvas.item_for(n).fill for n in ("b", "y")}
    badge_b = w.panel.badge("b")[1]
    type_in_console(qtbot, w, "w.grad = None")
    idle(qtbot, w)
    assert w.canvas.item_for("w").fill == PENDING_PAINT.fill  # w has no grad now
    assert {n: w.canvas.item_for(n).fill for n in ("b", "y")} == fills  # the others stay put
    assert w.panel.badge("b")[1] == badge_b  # and so does the table's badge
    assert not any("changed" in n for n in _legend_notes(w))
    type_in_console(qtbot, w, "b.grad.zero_()")  # exactly 0: its own colour, off the bar
    idle(qtbot, w)
    assert w.canvas.item_for("y").fill == fills["y"]
    assert w.canvas.item_for("b").fill == w.canvas.color_scale.zero_paint.fill
    # A larger gradient than the locked range: drawn at the end, and the legend says so.
    type_in_console(qtbot, w, "z = b * 100")
    idle(qtbot, w)
    type_in_console(qtbot, w, "z.backward()")
    idle(qtbot, w)
    assert "1 value beyond it: drawn at the end" in _legend_notes(w)
    _menu_action(w, "lock_scale").trigger()  # unlocked: the scale fits again
    idle(qtbot, w)
    assert not w.canvas.lock_scale and w.canvas.color_scale.vmax == 100.0


def test_the_same_tensor_has_the_same_colour_in_both_views(qtbot, window) -> None:
    w = window()
    w.open_example("broadcasting")
    idle(qtbot, w)
    names = ("col", "row", "bias", "loss")
    tensors_view = {n: w.canvas.item_for(n).fill for n in names}
    legend = w.canvas.legend_overlay.legend
    button = w.toolbar.findChild(QToolButton, "view_autograd_button")
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    idle(qtbot, w)
    assert w.canvas.view_mode == "autograd"
    assert {n: w.canvas.item_for(n).fill for n in names} == tensors_view
    assert (w.canvas.legend_overlay.legend.ticks, w.canvas.legend_overlay.legend.title) == (
        legend.ticks,
        legend.title,
    )


def test_an_intermediate_with_the_largest_grad_sets_the_scale_in_both_views(qtbot, window) -> None:
    """The Autograd view draws no intermediate tensors; their grads still set its scale."""
    w = window()
    for line in ("a = torch.tensor(1., requires_grad=True)", "h = a / 10", "y = h * 10", "y.backward()"):
        type_in_console(qtbot, w, line)
        idle(qtbot, w)
    fills = {n: w.canvas.item_for(n).fill for n in ("a", "y")}
    assert w.canvas.color_scale.vmax == 10.0  # h.grad = 10
    w.actions["view_autograd"].trigger()
    idle(qtbot, w)
    assert w.canvas.item_for("h").attrs["type"] == "backward"  # h is no tensor node here...
    assert {n: w.canvas.item_for(n).fill for n in ("a", "y")} == fills  # ...yet the same colours
    assert w.canvas.color_scale.vmax == 10.0


def test_the_zero_fill_on_screen_is_unlike_every_colour_of_the_map(qtbot, window) -> None:
    w = window(examples.linear())
    type_in_console(qtbot, w, "w.grad.zero_()")
    idle(qtbot, w)
    zero = w.canvas.item_for("w").fill
    cs = w.canvas.color_scale
    assert min(color_distance(zero, cs.color_at(k / 255)) for k in range(256)) > 25
    swatch = dict(w.canvas.legend_overlay.legend.swatches)["grad exactly 0 (not on the bar)"]
    assert swatch.fill == zero and w.panel.badge("w")[1] == zero


def test_grads_spanning_decades_turn_the_scale_log_and_stay_apart(qtbot, window) -> None:
    w = window()
    for line in (
        "a = torch.tensor(1., requires_grad=True)",
        "b = torch.tensor(1., requires_grad=True)",
        "c = torch.tensor(1., requires_grad=True)",
        "y = a*0.000001 + b*0.001 + c*1000",
        "y.backward()",
    ):
        type_in_console(qtbot, w, line)
        idle(qtbot, w)
    legend = w.canvas.legend_overlay.legend
    assert legend.title == "grad L2 norm (log)" and "log: the grads span 9 decades" in legend.notes
    fills = [w.canvas.item_for(n).fill for n in ("a", "b", "c", "y")]
    for f, g in itertools.combinations(fills, 2):
        assert color_distance(f, g) > 12, fills  # one large grad darkens none of the others
    for f in fills:
        assert color_distance(f, "#000000") > 30 and f != w.canvas.color_scale.zero_paint.fill
    # Linear, forced from the menu: the small ones merge into one dark colour (why auto exists).
    _menu_action(w, "auto_scale").trigger()
    idle(qtbot, w)
    assert w.canvas.color_scale.scale == "linear"
    assert w.canvas.item_for("a").fill == w.canvas.item_for("b").fill


def test_kept_grads_are_marked_and_the_pytorch_switch_hides_them(qtbot, window) -> None:
    w = window()
    w.open_example("broadcasting")
    idle(qtbot, w)
    assert KEPT_BADGE in _texts(w, "grid") and KEPT_BADGE not in _texts(w, "col")
    assert w.panel.row_texts("grid")[4].endswith("· kept")
    assert not w.panel.row_texts("col")[4].endswith("kept")
    assert ("kept", "kept by gradviz (PyTorch: None)") in w.canvas.legend_overlay.legend.marks
    col_fill = w.canvas.item_for("col").fill
    _menu_action(w, "pytorch_grads").trigger()
    idle(qtbot, w)
    assert w.canvas.pytorch_grads and w.actions["pytorch_grads"] in w.menuBar().actions()[3].menu().actions()
    for n in ("grid", "out", "sq", "loss"):
        assert w.canvas.item_for(n).fill == PENDING_PAINT.fill, n
        assert "grad not retained" in _texts(w, n) and KEPT_BADGE not in _texts(w, n)
        assert w.panel.row_texts(n)[4] == "none" and w.panel.badge(n) == ("none", None)
    assert w.canvas.item_for("col").fill == col_fill  # leaves keep their grads and colours
    assert w.panel.row_texts("col")[4] == "‖g‖ 378"
    assert "kept" not in dict(w.canvas.legend_overlay.legend.marks)
    _menu_action(w, "pytorch_grads").trigger()
    idle(qtbot, w)
    assert w.panel.row_texts("grid")[4].endswith("· kept")


def test_scale_options_persist_in_preferences_and_in_the_document(qtbot, window, tmp_path) -> None:
    w = window(examples.linear())
    _menu_action(w, "lock_scale").trigger()
    _menu_action(w, "pytorch_grads").trigger()
    _menu_action(w, "auto_scale").trigger()
    idle(qtbot, w)
    target = tmp_path / "locked.gradviz"
    w.ask_save_path = lambda *a: str(target)
    assert w.save_as()
    w.close()
    s = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "gradviz", "gradviz")
    assert s.value("colors/lock_scale") == "true" and s.value("view/pytorch_grads") == "true"
    w2 = MainWindow(autosave=False)
    qtbot.addWidget(w2)
    c = w2.canvas
    assert c.lock_scale and c.pytorch_grads and not c.auto_scale
    assert w2.actions["lock_scale"].isChecked() and w2.actions["pytorch_grads"].isChecked()
    # The document keeps its locked range: reopened elsewhere, the colours are the same.
    w3 = window()
    for key in ("lock_scale", "pytorch_grads"):
        w3.actions[key].trigger()  # both off in this window
    w3.actions["auto_scale"].trigger()
    assert not w3.canvas.lock_scale
    assert w3.open_path(target)
    idle(qtbot, w3)
    assert w3.canvas.lock_scale and w3.canvas.pytorch_grads and not w3.canvas.auto_scale
    assert w3.canvas.locked_range == ("linear", 0.0, 3.0)
    assert w3.canvas.item_for("y").fill == PENDING_PAINT.fill  # y's grad hidden, as PyTorch would
