"""Issue 11, "Words and polish": what the app calls things, as a newcomer reads it in the
explanations, tooltips, dialogs and the window title."""

from __future__ import annotations

import pytest
from driving import idle, type_in_console
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument

from gradviz.graph.model import AUTOGRAD
from gradviz.gui.plain import tip_text


def plain(html: str) -> str:
    """The text of an explanation as a person reads it (no tags)."""
    doc = QTextDocument()
    doc.setHtml(html)
    return doc.toPlainText()


def op_producing(canvas, name: str):
    """The canvas item of the op whose result is the tensor ``name``."""
    target = canvas.item_for(name).nid
    return next(
        it
        for it in canvas.node_items().values()
        if it.attrs.get("type") == "op" and target in canvas.graph.successors(it.nid)
    )


def explain_by_double_click(qtbot, canvas, item) -> str:
    canvas.centerOn(item)
    with qtbot.waitSignal(canvas.explained) as sig:
        pos = canvas.mapFromScene(item.sceneBoundingRect().center())
        qtbot.mouseDClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    return plain(sig.args[0])


@pytest.fixture
def broadcasting(window, qtbot):
    w = window()
    assert w.open_example("broadcasting")
    idle(qtbot, w)
    return w


def test_mul_of_a_tensor_called_out_names_its_result_sq(qtbot, broadcasting) -> None:
    """sq = out * out: the formula's own names can't be mistaken for the tensor called out."""
    text = explain_by_double_click(qtbot, broadcasting.canvas, op_producing(broadcasting.canvas, "sq"))
    assert "∂result/∂input = other, ∂result/∂other = input" in text
    assert "Here input is out (" in text and "other is out (" in text and "result is sq" in text
    assert "out = sq" not in text and "∂out/∂a" not in text
    assert "broadcast" not in text  # both operands have the result's shape


def test_broadcast_operands_are_explained_with_the_sum_over_their_dims(qtbot, broadcasting) -> None:
    canvas = broadcasting.canvas
    text = explain_by_double_click(qtbot, canvas, op_producing(canvas, "out"))
    assert (
        "bias has shape [4], out has shape [3, 4]: bias was broadcast along dim 0, so ∂L/∂out is "
        "summed over it: ∂L/∂bias = (∂L/∂out).sum(dim=0)."
    ) in text
    assert "grid has shape" not in text  # grid was not broadcast
    text = explain_by_double_click(qtbot, canvas, op_producing(canvas, "grid"))
    assert "col has shape [3, 1], grid has shape [3, 4]: col was broadcast along dim 1" in text
    assert "∂L/∂col = (∂L/∂grid).sum(dim=1, keepdim=True)" in text
    assert "row has shape [1, 4], grid has shape [3, 4]: row was broadcast along dim 0" in text
    assert "∂L/∂row = (∂L/∂grid).sum(dim=0, keepdim=True)" in text
    # The autograd view says the same of AddBackward0's inputs, in the formula's names.
    canvas.set_view(AUTOGRAD)
    idle(qtbot, broadcasting)
    add = next(
        it
        for it in canvas.node_items().values()
        if it.attrs.get("label") == "AddBackward0" and "other has shape [4]" in plain(canvas.explain(it.nid))
    )
    text = explain_by_double_click(qtbot, canvas, add)
    assert "∂L/∂other = (∂L/∂result).sum(dim=0)" in text


def test_op_tooltip_says_which_tensor_each_operand_is(qtbot, broadcasting) -> None:
    tip = tip_text(op_producing(broadcasting.canvas, "out").toolTip())
    assert "∂result/∂input = 1, ∂result/∂other = 1\ninput: grid, other: bias" in tip
    assert "dtype: gradviz.float32" in tip_text(broadcasting.canvas.item_for("bias").toolTip())


def shown_title(w) -> str:
    """The window title as the title bar shows it: [*] is a * while modified."""
    return w.windowTitle().replace("[*]", "*" if w.isWindowModified() else "")


def test_undo_back_to_the_saved_state_clears_the_star(qtbot, window, tmp_path) -> None:
    w = window()
    type_in_console(qtbot, w, "x = torch.tensor(3.)")
    idle(qtbot, w)
    assert shown_title(w) == "Untitled* — gradviz"
    w.ask_save_path = lambda *a: str(tmp_path / "first")
    w.actions["save"].trigger()
    assert shown_title(w) == "first.gradviz — gradviz"
    type_in_console(qtbot, w, "y = x * 2")
    idle(qtbot, w)
    assert shown_title(w) == "first.gradviz* — gradviz"
    w.canvas.setFocus()
    ctrl = Qt.KeyboardModifier.ControlModifier
    qtbot.keyClick(w.canvas, Qt.Key.Key_Z, ctrl)  # back to what was saved
    idle(qtbot, w)
    assert w.session.names() == ["x"] and shown_title(w) == "first.gradviz — gradviz"
    qtbot.keyClick(w.canvas, Qt.Key.Key_Z, ctrl)  # before the save: differs from the file
    idle(qtbot, w)
    assert w.session.names() == [] and shown_title(w) == "first.gradviz* — gradviz"
    qtbot.keyClick(w.canvas, Qt.Key.Key_Y, ctrl)
    idle(qtbot, w)
    assert shown_title(w) == "first.gradviz — gradviz"
    qtbot.keyClick(w.canvas, Qt.Key.Key_Y, ctrl)  # redo away from it
    idle(qtbot, w)
    assert w.session.names() == ["x", "y"] and shown_title(w) == "first.gradviz* — gradviz"


def test_made_by_follows_edits_redefinitions_and_undo(qtbot, window) -> None:
    from gradviz.session import examples

    w = window(examples.linear())
    i = w.inspector
    made_by = i.fields["made by"]
    w.select("w")
    assert made_by.text() == "torch.tensor(4., requires_grad=True)"
    qtbot.mouseClick(i.edit_button, Qt.MouseButton.LeftButton)
    i.editor.selectAll()
    qtbot.keyClicks(i.editor, "2.5")
    qtbot.mouseClick(i.apply_button, Qt.MouseButton.LeftButton)
    idle(qtbot, w)
    assert made_by.text() == "torch.tensor(2.5000, requires_grad=True)"
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    idle(qtbot, w)
    assert made_by.text() == "torch.tensor(4., requires_grad=True)"
    w.select("y")
    assert made_by.text() == "w * x + b"
    type_in_console(qtbot, w, "y = w - b")  # redefined
    idle(qtbot, w)
    w.select("y")
    assert made_by.text() == "w - b"


# --- dialogs -------------------------------------------------------------------------------------
def tab_walk(qtbot, start, steps: int) -> list:
    """Press Tab ``steps`` times from ``start``; the widgets focus lands on, in turn."""
    window = start.window()
    window.activateWindow()
    start.setFocus()
    seen = []
    for _ in range(steps):
        qtbot.keyClick(window.focusWidget(), Qt.Key.Key_Tab)
        seen.append(window.focusWidget())
    return seen


def test_new_tensor_tab_order_follows_the_fields_on_screen(qtbot) -> None:
    from gradviz.gui.dialogs import NewTensorDialog
    from gradviz.session.document import Session

    d = NewTensorDialog(Session())
    qtbot.addWidget(d)
    d.show()
    qtbot.waitExposed(d)
    assert tab_walk(qtbot, d.name_edit, 4) == [d.literal_edit, d.dtype_combo, d.requires_grad, d.ok_button]
    qtbot.waitUntil(d.isActiveWindow)  # a shortcut reaches only the active window
    qtbot.keyClick(d.name_edit, Qt.Key.Key_C, Qt.KeyboardModifier.AltModifier)  # the Constructor tab
    assert d.constructor == "zeros"
    d.set_constructor("rand")
    assert tab_walk(qtbot, d.name_edit, 4) == [d.ctor_combo, d.resample, d.shape_edit, d.dtype_combo]
    d.set_constructor("arange")
    assert tab_walk(qtbot, d.ctor_combo, 3) == [d.start_edit, d.end_edit, d.step_edit]


def test_operation_tab_order_follows_the_fields_on_screen(qtbot) -> None:
    from gradviz.gui.dialogs import OperationDialog
    from gradviz.session.document import Session

    s = Session()
    s.add_leaf("x", 3.0)
    s.add_leaf("b", 2.0)
    d = OperationDialog(s, selected="x", op="sum")
    qtbot.addWidget(d)
    d.show()
    qtbot.waitExposed(d)
    dim, keepdim = d.param_widgets["dim"][1], d.param_widgets["keepdim"][1]
    walk = tab_walk(qtbot, d.search, 5)
    assert walk == [d.tree, d.rows[0].combo, dim, keepdim, d.name_edit]
    d.set_op("mul")
    qtbot.waitUntil(d.rows[1].combo.isVisible)  # rows made for the op show at the next event loop
    walk = tab_walk(qtbot, d.tree, 3)
    assert walk == [d.rows[0].combo, d.rows[1].combo, d.name_edit]


def test_rename_dialog_title_is_short_and_fits(qtbot, window) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QFontMetrics
    from PySide6.QtWidgets import QApplication, QInputDialog

    from gradviz.session import examples

    w = window(examples.linear())
    w.select("w")
    seen: dict[str, object] = {}

    def answer() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QInputDialog)
        seen["title"], seen["label"] = box.windowTitle(), box.labelText()
        title_font = QFontMetrics(QApplication.font("QMdiSubWindowTitleBar"))
        seen["fits"] = box.width() > title_font.horizontalAdvance(box.windowTitle()) + 100
        edit = box.findChild(type(w.find_box))
        edit.selectAll()
        qtbot.keyClicks(edit, "weight")
        qtbot.keyClick(edit, Qt.Key.Key_Return)

    QTimer.singleShot(0, answer)
    w.canvas.setFocus()
    w.actions["rename"].trigger()  # F2
    idle(qtbot, w)
    assert seen == {"title": "Rename w", "label": "New name for w:", "fits": True}
    assert "weight" in w.session.names() and "w" not in w.session.names()


@pytest.mark.parametrize("which", ["new", "operation", "backward"])
def test_every_dialog_is_wide_enough_for_its_title(qtbot, window, which) -> None:
    from PySide6.QtGui import QFontMetrics
    from PySide6.QtWidgets import QApplication

    from gradviz.gui.dialogs import BackwardDialog, NewTensorDialog, OperationDialog
    from gradviz.session.document import Session

    s = Session()
    s.add_leaf("a_rather_long_tensor_name_for_a_title", [1.0, 2.0], requires_grad=True)
    name = s.names()[0]
    d = {
        "new": lambda: NewTensorDialog(s),
        "operation": lambda: OperationDialog(s),
        "backward": lambda: BackwardDialog(s, name),
    }[which]()
    qtbot.addWidget(d)
    d.show()
    title_font = QFontMetrics(QApplication.font("QMdiSubWindowTitleBar"))
    assert d.width() > title_font.horizontalAdvance(d.windowTitle()) + 100


def test_escape_stops_opening_a_large_file_promptly(qtbot, window, tmp_path, monkeypatch) -> None:
    """Escape while the last step of an open (hashing every tensor replayed) runs: the open
    stops at the next tensor, not after all of them, and the session is untouched."""
    import time

    import numpy as np
    from PySide6.QtCore import QTimer

    from gradviz.session import document, fileformat
    from gradviz.session.document import Session

    big = Session()
    for i in range(60):
        big.add_leaf(f"x{i}", np.full(3, float(i), np.float32))
    path = tmp_path / "big.gradviz"
    fileformat.save(big, path)
    w = window()
    type_in_console(qtbot, w, "mine = torch.ones(2)")
    idle(qtbot, w)
    hashed: list[bool] = []  # one per tensor fingerprinted, True once Escape was pressed
    escaped = {"at": False}
    original = document._fingerprint

    def slow_fingerprint(arr):
        hashed.append(escaped["at"])
        time.sleep(0.02)  # a large tensor takes a while to hash
        return original(arr)

    monkeypatch.setattr(document, "_fingerprint", slow_fingerprint)

    def press() -> None:
        job = w._work_job
        if job is None or not job.total or len(hashed) < 5:  # not yet in the hashing
            QTimer.singleShot(5, press)
            return
        escaped["at"] = True
        qtbot.keyClick(w.canvas, Qt.Key.Key_Escape)

    QTimer.singleShot(0, press)
    assert w.open_path(path, confirmed=True) is False
    assert w.session.names() == ["mine"] and w.path is None
    assert w.status_action.text() == "Opening big.gradviz cancelled; the session you had open is unchanged"
    assert hashed.count(True) <= 1  # at most the tensor being hashed when Escape came
    assert len(hashed) < 60


def test_new_tensor_starts_from_what_was_last_entered(qtbot, window) -> None:
    from driving import create_through_dialog, retype, toolbar_click

    w = window()
    toolbar_click(qtbot, w, "new_tensor")
    d = w.active_dialog
    assert d.literal_edit.text() == "[[1., 2.], [3., 4.]]"  # a first example to start from
    d.reject()
    create_through_dialog(qtbot, w, "v", "[5., 6., 7.]", requires_grad=True)
    toolbar_click(qtbot, w, "new_tensor")
    d = w.active_dialog
    assert d.literal_edit.text() == "[5., 6., 7.]" and not d.requires_grad.isChecked()
    assert d.name_edit.text() not in w.session.names()  # a fresh name, not the last one
    assert d.preview.toPlainText() == "tensor([5., 6., 7.])"
    # Next, randn of a shape in float64: the dialog after that opens on them.
    qtbot.waitUntil(d.isActiveWindow)
    qtbot.keyClick(d.name_edit, Qt.Key.Key_C, Qt.KeyboardModifier.AltModifier)
    assert d.constructor == "zeros"
    d.ctor_combo.setCurrentIndex(d.ctor_combo.findData("randn"))
    retype(qtbot, d.shape_edit, "4, 2")
    d.dtype_combo.setCurrentIndex(d.dtype_combo.findData("float64"))
    qtbot.mouseClick(d.ok_button, Qt.MouseButton.LeftButton)
    idle(qtbot, w)
    toolbar_click(qtbot, w, "new_tensor")
    d = w.active_dialog
    assert d.tab_bar.tabText(d.tab_bar.currentIndex()) == "&Constructor"
    assert d.ctor_combo.currentText() == "torch.randn" and d.shape_edit.text() == "4, 2"
    assert d.dtype_combo.currentText() == "gradviz.float64" and not d.requires_grad.isChecked()
    assert d.shape_edit.isVisible() and not d.literal_edit.isVisible()
    d.reject()


def test_operation_dialog_names_operands_as_pytorch_does(qtbot) -> None:
    """A tensor called b chosen as an operand reads 'other: b', never 'a: b' beside '∂out/∂a = b'."""
    from gradviz.gui.dialogs import OperationDialog
    from gradviz.session.document import Session

    s = Session()
    s.add_leaf("a", [1.0, 2.0], requires_grad=True)
    s.add_leaf("b", [3.0, 4.0])
    d = OperationDialog(s, selected="b", op="mul")
    qtbot.addWidget(d)
    d.show()
    assert [r.label.text() for r in d.rows] == ["input:", "other:"]
    assert [r.text() for r in d.rows] == ["b", "a"]
    assert d.title.text() == "mul   input * other"
    assert d.subtitle.text().startswith("Local derivative: ∂result/∂input = other, ∂result/∂other = input")
    assert d.rows[0].info.text() == "[2] gradviz.float32"
    d.set_op("linear")
    assert [r.label.text() for r in d.rows] == ["input:", "weight:", "bias:"]
    assert "∂L/∂weight = (∂L/∂result)ᵀ·input" in d.subtitle.text()
    d.set_op("where")
    assert [r.label.text() for r in d.rows] == ["condition:", "input:", "other:"]
    d.set_op("cat")
    qtbot.mouseClick(d.add_operand, Qt.MouseButton.LeftButton)
    assert [r.label.text() for r in d.rows] == ["tensors[0]:", "tensors[1]:", "tensors[2]:"]
    qtbot.mouseClick(d.rows[0].remove_button, Qt.MouseButton.LeftButton)
    assert [r.label.text() for r in d.rows] == ["tensors[0]:", "tensors[1]:"]
    d.set_op("to")
    dtype = d.param_widgets["dtype"][1]
    assert [dtype.itemText(i) for i in range(3)] == ["gradviz.float32", "gradviz.float64", "gradviz.float16"]
