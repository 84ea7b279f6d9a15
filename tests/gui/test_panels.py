"""The tensors panel and the inspector: what they show, and edits made through them."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from sample_sessions import seed

from gradviz.gui.canvas import SessionSource
from gradviz.gui.inspector import Inspector, expression, literal_of, parse_value
from gradviz.gui.plain import tip_text
from gradviz.gui.tensors_panel import TensorsPanel
from gradviz.session.document import Session


@pytest.fixture
def panel(qtbot):
    def make(session: Session) -> TensorsPanel:
        p = TensorsPanel(SessionSource(session))
        qtbot.addWidget(p)
        p.resize(420, 300)
        p.show()
        session.changed.connect(lambda _c: p.refresh())
        return p

    return make


@pytest.fixture
def inspector(qtbot):
    def make(session: Session, name: str) -> Inspector:
        i = Inspector(SessionSource(session))
        qtbot.addWidget(i)
        i.resize(380, 700)
        i.show()
        session.changed.connect(lambda _c: i.refresh())
        i.show_tensor(name)
        return i

    return make


# --- tensors panel ------------------------------------------------------------------------------------


def test_rows_show_shape_dtype_requires_grad_and_grad_badge(panel) -> None:
    s = seed(backward=False)
    p = panel(s)
    assert p.names() == ["x", "w", "b", "y"]  # named tensors only, in the order they were made
    assert p.row_texts("w") == ["w", "scalar", "gradviz.float32", "True", "none"]
    assert p.row_texts("x")[3] == "False"
    assert p.badge("w") == ("none", None)
    s.backward("y")
    assert p.row_texts("w")[4] == "3.0"
    state, fill = p.badge("w")
    assert state == "value" and fill.startswith("#")
    s.add_leaf("m", [[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    s.apply("sum", [s.apply("mul", ["m", "m"], name="mm")], name="total")
    s.backward("total")
    assert p.row_texts("m")[:2] == ["m", "[2, 2]"]
    assert p.row_texts("m")[4].startswith("‖g‖ ")


def test_nan_gradients_get_their_own_badge(panel) -> None:
    s = Session()
    s.add_leaf("a", -1.0, requires_grad=True)
    s.apply("sqrt", ["a"], name="r")  # sqrt(-1) is NaN, and so is its gradient
    s.backward("r")
    p = panel(s)
    assert p.badge("a")[0] == "nonfinite"
    assert p.row_texts("a")[4] == "NaN"
    assert tooltip(p, "a").splitlines()[-1] == "grad is NaN"  # the canvas's words


def tooltip(p: TensorsPanel, name: str) -> str:
    return tip_text(p.model.index(p.model.row_of(name), 0).data(Qt.ItemDataRole.ToolTipRole))


def test_the_badge_says_which_of_nan_and_inf_a_gradient_has(panel) -> None:
    s = Session()
    s.add_leaf("v", [4.0, 0.0, 1.0], requires_grad=True)  # d sqrt(v) = 1/(2 sqrt(v)): Inf at 0
    s.apply("sum", [s.apply("sqrt", ["v"], name="r")], name="total")
    s.backward("total")
    s.add_leaf("m", [-1.0, 0.0, 1.0, 4.0], requires_grad=True)  # sqrt(-1): NaN; at 0: Inf
    s.apply("sum", [s.apply("sqrt", ["m"], name="q")], name="qs")
    s.backward("qs")
    p = panel(s)
    assert p.badge("v")[0] == "nonfinite" and p.row_texts("v")[4] == "Inf"
    assert tooltip(p, "v").splitlines()[-1] == "grad has Inf (1 of 3 elements)"
    assert p.row_texts("m")[4] == "NaN, Inf"
    assert tooltip(p, "m").splitlines()[-1] == "grad has NaN and Inf (2 of 4 elements)"
    assert "NaN/Inf" not in p.model.headerData(4, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)


def test_selection_is_announced_and_can_be_set_silently(qtbot, panel) -> None:
    p = panel(seed())
    with qtbot.waitSignal(p.selected) as sig:
        row = p.model.row_of("b")
        rect = p.table.visualRect(p.model.index(row, 1))
        qtbot.mouseClick(p.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert sig.args == ["b"]
    with qtbot.assertNotEmitted(p.selected):
        p.select("w")
    assert p.current() == "w"
    assert p.table.selectionModel().selectedRows()[0].row() == p.model.row_of("w")


def test_rename_in_place_and_refused_names(qtbot, panel) -> None:
    s = seed()
    p = panel(s)
    idx = p.model.index(p.model.row_of("b"), 0)
    assert p.model.setData(idx, "bias")
    assert "bias" in s and "b" not in s
    assert p.names() == ["x", "w", "bias", "y"]
    with qtbot.waitSignal(p.message) as msg:
        assert not p.model.setData(p.model.index(p.model.row_of("bias"), 0), "w")
    assert "already taken" in msg.args[0]
    assert "bias" in s


# --- inspector -----------------------------------------------------------------------------------------


def test_shows_value_and_grad_as_pytorch_prints_them(inspector) -> None:
    s = seed()
    i = inspector(s, "w")
    assert i.title.text() == "w"
    assert i.value_view.toPlainText() == "tensor(4., requires_grad=True)"
    assert i.grad_view.toPlainText() == "tensor(3.)"
    assert i.fields["is_leaf"].text() == "True"
    assert i.fields["grad_fn"].text() == "None"
    assert i.requires_grad.isChecked() and i.requires_grad.isEnabled()
    assert not i.grad_note.isVisible()  # a leaf's grad is PyTorch's too
    i.show_tensor("y")
    assert i.value_view.toPlainText() == "tensor(17., grad_fn=<AddBackward0>)"
    assert i.fields["grad_fn"].text() == "<AddBackward0>"
    assert i.fields["made by"].text() == "w * x + b"
    assert i.fields["is_leaf"].text() == "False"
    assert not i.requires_grad.isEnabled()
    # y.grad is there only because the session keeps it: PyTorch would say None.
    assert i.grad_note.isVisible() and "retain_grad()" in i.grad_note.text()
    i.show_tensor("x")
    assert i.grad_view.toPlainText() == "None"
    assert "does not require grad" in i.grad_note.text()


def test_heatmap_for_matrices_and_a_slice_picker_for_higher_rank(qtbot, inspector) -> None:
    s = Session()
    s.add_leaf("m", [[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]], requires_grad=True)
    s.add_leaf("cube", np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    i = inspector(s, "m")
    i.show_value.setChecked(True)
    assert i.heatmap.isVisible() and i.heatmap.array.shape == (2, 3)
    assert i.heatmap.scale.signed  # signed values: the diverging map, zero in the middle
    assert not i.slice_box.isVisible()
    i.show_tensor("cube")
    assert i.slice_box.isVisible() and len(i.slice_spins) == 1
    i.slice_spins[0].setValue(1)
    assert i.heatmap.array.shape == (3, 4)
    assert i.heatmap.array[0, 0] == 12.0  # cube[1, 0, 0]
    assert "cube[1, :, :]" in i.slice_text.text()


def test_editing_a_leaf_recomputes_everything_downstream(qtbot, inspector) -> None:
    s = seed()
    i = inspector(s, "x")
    assert i.edit_button.isVisible()
    qtbot.mouseClick(i.edit_button, Qt.MouseButton.LeftButton)
    assert i.editor_box.isVisible() and i.editor.toPlainText() == "3.0"
    i.editor.selectAll()
    qtbot.keyClicks(i.editor, "10.")
    qtbot.mouseClick(i.apply_button, Qt.MouseButton.LeftButton)
    assert not i.editor_box.isVisible()
    assert s.tensor("y").item() == 45.0  # 4 * 10 + 5: forward again
    assert s.tensor("w").grad.item() == 10.0  # and backward again: dy/dw = x
    assert i.value_view.toPlainText() == "tensor(10.)"


def test_bad_input_is_flagged_where_it_was_typed_and_kept(qtbot, inspector) -> None:
    s = seed()
    i = inspector(s, "w")
    i.start_edit()
    i.editor.selectAll()
    qtbot.keyClicks(i.editor, "four")
    assert i.edit_error.isVisible() and "not a number" in i.edit_error.text()
    assert not i.apply_button.isEnabled()
    assert i.editor.property("invalid") is True
    i.editor.setPlainText("[[1, 2], [3]]")
    assert "different lengths" in i.edit_error.text()
    assert not i.apply_edit()
    assert i.editor.toPlainText() == "[[1, 2], [3]]"  # nothing typed is lost
    assert s.tensor("w").item() == 4.0


def test_an_edit_the_graph_cannot_take_is_refused_and_nothing_changes(qtbot, inspector) -> None:
    s = Session()
    s.add_leaf("A", [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    s.add_leaf("B", [[1.0], [2.0], [3.0]])
    s.apply("matmul", ["A", "B"], name="C")
    i = inspector(s, "B")
    i.start_edit()
    i.editor.setPlainText("[[1.0, 2.0]]")  # (1, 2): A @ B no longer fits
    assert "shape changes" in i.edit_error.text()  # a warning, not yet an error
    assert not i.apply_edit()
    assert i.edit_error.text().startswith("Not applied:")
    assert i.editor_box.isVisible()
    assert s.tensor("B").shape == (3, 1) and s.tensor("C").shape == (2, 1)


def test_requires_grad_checkbox_is_requires_grad_now(qtbot, inspector) -> None:
    s = seed()
    i = inspector(s, "x")
    said: list[str] = []
    i.ran_code.connect(said.append)
    i.requires_grad.click()  # as a click on the box does
    assert i.requires_grad.isChecked() and s.tensor("x").requires_grad
    assert said == ["x.requires_grad_(True)"]  # the window echoes it in the console
    assert s.tensor("x").grad is None  # y was computed before: its backward gave x nothing
    assert s.undo_label == "x.requires_grad_(True)"
    with s.batch("y2 = w*x + b"):
        s.apply("add", [s.apply("mul", ["w", "x"], hidden=True), "b"], name="y2")
    s.backward("y2")
    assert s.tensor("x").grad.item() == 4.0  # from now on x is tracked: dy2/dx = w
    s.undo()
    s.undo()
    s.undo()  # back before the tick
    i.refresh()
    assert not i.requires_grad.isChecked() and not s.tensor("x").requires_grad


def test_parsing_and_literals() -> None:
    assert parse_value("3") == 3
    assert parse_value("tensor([1., 2.], requires_grad=True)") == [1.0, 2.0]
    assert parse_value(" [[1, 2], [3, 4]] ") == [[1, 2], [3, 4]]
    for bad in ("", "x", "[1, 'a']", "[[1], [2, 3]]", "__import__('os')"):
        with pytest.raises(ValueError):
            parse_value(bad)
    s = Session()
    s.add_leaf("m", [[1.0, 2.5], [3.0, 4.0]])
    assert literal_of(s.tensor("m")) == "[[1.0, 2.5],\n [3.0, 4.0]]"
    assert parse_value(literal_of(s.tensor("m"))) == [[1.0, 2.5], [3.0, 4.0]]


def test_expression_of_a_computed_tensor() -> None:
    s = seed()
    assert expression(s, "y") == "w * x + b"
    s.apply("mul", [s.apply("sub", ["y", "b"], hidden=True), "w"], name="z")
    assert expression(s, "z") == "(y - b) * w"
