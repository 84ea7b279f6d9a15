"""The New Tensor, Operation and Backward dialogs, driven as a person would: typing into fields,
clicking, and reading the inline messages and the preview."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from gradviz.graph.colors import contrast_ratio
from gradviz.gui.dialogs import BackwardDialog, NewTensorDialog, OperationDialog
from gradviz.gui.dialogs._common import parse_literal, ragged
from gradviz.session.document import Session


def retype(qtbot, widget, text: str) -> None:
    """Select all and type over it, as a person does."""
    widget.setFocus()
    widget.selectAll()
    qtbot.keyClick(widget, Qt.Key.Key_Delete)
    if text:
        qtbot.keyClicks(widget, text)


def click_ok(qtbot, dialog) -> None:
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)


@pytest.fixture
def session() -> Session:
    return Session()


@pytest.fixture
def seed_session() -> Session:
    s = Session()
    s.add_leaf("x", 3.0)
    s.add_leaf("w", 4.0, requires_grad=True)
    s.add_leaf("b", 5.0, requires_grad=True)
    return s


def new_dialog(qtbot, session: Session) -> NewTensorDialog:
    d = NewTensorDialog(session)
    qtbot.addWidget(d)
    d.show()
    return d


# --- New Tensor -------------------------------------------------------------------------------------
def test_new_tensor_from_a_literal(qtbot, session) -> None:
    d = new_dialog(qtbot, session)
    assert d.name_edit.text() == "t1"  # a fresh name, ready to type over
    retype(qtbot, d.name_edit, "w")
    retype(qtbot, d.literal_edit, "[[1., 2], [3, 4]]")
    qtbot.mouseClick(d.requires_grad, Qt.MouseButton.LeftButton)
    assert d.ok_button.isEnabled()
    assert d.preview.toPlainText() == "tensor([[1., 2.],\n        [3., 4.]], requires_grad=True)"
    assert d.code == "w = torch.tensor([[1., 2], [3, 4]], requires_grad=True)"
    click_ok(qtbot, d)
    assert d.result() == d.DialogCode.Accepted
    t = session.tensor("w")
    assert t.requires_grad and t.is_leaf and t.dtype.name == "float32"
    np.testing.assert_array_equal(t.numpy() if not t.requires_grad else t.detach().numpy(), [[1, 2], [3, 4]])


def test_new_tensor_scalar_and_dtype(qtbot, session) -> None:
    d = new_dialog(qtbot, session)
    retype(qtbot, d.literal_edit, "4.")
    d.dtype_combo.setCurrentIndex(d.dtype_combo.findData("float64"))
    assert d.preview.toPlainText() == "tensor(4., dtype=gradviz.float64)"
    assert d.code == "t1 = torch.tensor(4., dtype=torch.float64)"
    click_ok(qtbot, d)
    assert session.tensor("t1").dtype.name == "float64"


def test_ragged_list_is_flagged_where_it_is_ragged(qtbot, session) -> None:
    d = new_dialog(qtbot, session)
    retype(qtbot, d.literal_edit, "[[1., 2], [3]]")
    assert not d.ok_button.isEnabled()
    assert d.literal_edit.property("invalid")
    msg = d.literal_error.text()
    assert d.literal_error.isVisible()
    assert "expected sequence of length 2 at dim 1 (got 1)" in msg  # PyTorch's words
    assert "[1] has 1 item" in msg  # and where
    click_ok(qtbot, d)  # a disabled button does nothing
    assert session.names() == []
    retype(qtbot, d.literal_edit, "[[1., 2], [3, 4]]")
    assert d.ok_button.isEnabled() and not d.literal_error.isVisible()
    assert not d.literal_edit.property("invalid")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2", "invalid syntax"),
        ("[1, 'a']", "is not a number"),
        ("", "type a number"),
        ("[[1, 2], 3]", "[1] is a number where a list of 2 was expected"),
        ("[1, [2, 3]]", "expected a number at [1]"),
    ],
)
def test_bad_literals(qtbot, session, text, message) -> None:
    d = new_dialog(qtbot, session)
    retype(qtbot, d.literal_edit, text)
    assert not d.ok_button.isEnabled()
    assert message in d.literal_error.text()


def test_taken_and_invalid_names(qtbot, seed_session) -> None:
    d = new_dialog(qtbot, seed_session)
    assert d.name_edit.text() == "t1"
    retype(qtbot, d.name_edit, "x")
    assert not d.ok_button.isEnabled()
    assert d.name_error.text() == "the name 'x' is already taken"
    assert d.name_edit.property("invalid")
    assert d.preview.toPlainText().startswith("tensor(")  # the values are still previewed
    retype(qtbot, d.name_edit, "2x")
    assert "not a valid name" in d.name_error.text()
    retype(qtbot, d.name_edit, "torch")
    assert "reserved" in d.name_error.text()
    retype(qtbot, d.name_edit, "")
    assert not d.ok_button.isEnabled()
    retype(qtbot, d.name_edit, "x2")
    assert d.ok_button.isEnabled() and not d.name_error.isVisible()


def test_keyword_names_say_they_are_keywords(qtbot, session) -> None:
    d = new_dialog(qtbot, session)
    for word in ("for", "class", "None", "lambda"):
        retype(qtbot, d.name_edit, word)
        assert not d.ok_button.isEnabled() and d.name_edit.property("invalid")
        assert d.name_error.text() == f"'{word}' is a Python keyword; choose another name"
    retype(qtbot, d.name_edit, "for2")
    assert d.ok_button.isEnabled() and not d.name_error.isVisible()
    o = op_dialog(qtbot, session.__class__(), op="exp")  # the Operation dialog says so too
    retype(qtbot, o.name_edit, "while")
    assert o.name_error.text() == "'while' is a Python keyword; choose another name"


def _palette(dark: bool) -> QPalette:
    if not dark:
        return QPalette(QColor("#efefef"))  # Qt's light palette made from a window colour
    p = QPalette()
    window, base, text = QColor(45, 45, 48), QColor(30, 30, 30), QColor(230, 230, 230)
    for role, c in (
        (QPalette.ColorRole.Window, window),
        (QPalette.ColorRole.WindowText, text),
        (QPalette.ColorRole.Base, base),
        (QPalette.ColorRole.AlternateBase, window),
        (QPalette.ColorRole.Text, text),
        (QPalette.ColorRole.Button, window),
        (QPalette.ColorRole.ButtonText, text),
    ):
        p.setColor(role, c)
    return p


@pytest.fixture
def app_palette():
    """set(dark): give the application a light or dark palette; the old one is put back after."""
    app = QApplication.instance()
    old = app.palette()
    yield lambda dark: app.setPalette(_palette(dark))
    app.setPalette(old)


def _preview_colors(d) -> tuple[str, str]:
    """The preview's text and background colours, as drawn."""
    pal = d.preview.palette()
    return pal.color(QPalette.ColorRole.Text).name(), pal.color(QPalette.ColorRole.Base).name()


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_preview_hint_keeps_its_colour_while_typing(qtbot, session, app_palette, dark) -> None:
    """Typing an invalid value key by key shows the muted hint in one legible colour, not one
    that fades a little more with every key."""
    app_palette(dark)
    d = new_dialog(qtbot, session)
    retype(qtbot, d.literal_edit, "")
    seen = []
    for key in "[[1, 2], [3]]":
        qtbot.keyClicks(d.literal_edit, key)
        assert d.preview.toPlainText() == "Fix the field marked in red to see the tensor."
        seen.append(_preview_colors(d))
    assert len(set(seen)) == 1, seen
    text, background = seen[0]
    assert contrast_ratio(text, background) >= 3, (text, background)
    # an error in between (red text) doesn't tint the hint that follows
    retype(qtbot, d.literal_edit, "[1.]")
    d.dtype_combo.setCurrentIndex(d.dtype_combo.findData("int64"))
    qtbot.mouseClick(d.requires_grad, Qt.MouseButton.LeftButton)
    retype(qtbot, d.literal_edit, "[1")
    assert _preview_colors(d) == seen[0]
    # the other theme while the dialog is open: the hint is mixed from the new colours
    app_palette(not dark)
    qtbot.waitUntil(lambda: _preview_colors(d) != seen[0])
    text, background = _preview_colors(d)
    assert text != seen[0][0] and contrast_ratio(text, background) >= 3, (text, background)
    qtbot.keyClicks(d.literal_edit, ",")
    assert _preview_colors(d) == (text, background)


def test_int_dtype_with_requires_grad(qtbot, session) -> None:
    d = new_dialog(qtbot, session)
    retype(qtbot, d.literal_edit, "[1, 2, 3]")
    d.dtype_combo.setCurrentIndex(d.dtype_combo.findData("int64"))
    assert d.ok_button.isEnabled()
    assert d.preview.toPlainText() == "tensor([1, 2, 3])"
    qtbot.mouseClick(d.requires_grad, Qt.MouseButton.LeftButton)
    assert not d.ok_button.isEnabled()
    assert "Only Tensors of floating point and complex dtype can require gradients" in d.grad_error.text()
    assert d.dtype_combo.property("invalid")
    d.dtype_combo.setCurrentIndex(d.dtype_combo.findData("float32"))
    assert d.ok_button.isEnabled() and not d.grad_error.isVisible()


def test_giant_tensor_is_refused_before_allocating(qtbot) -> None:
    session = Session(max_elements=1000)
    d = new_dialog(qtbot, session)
    d.set_constructor("zeros")
    retype(qtbot, d.shape_edit, "100, 100")
    assert not d.ok_button.isEnabled()
    assert d.shape_edit.property("invalid")
    assert "10,000 elements, more than this session's limit of 1,000" in d.ctor_error.text()
    retype(qtbot, d.shape_edit, "10, 10")
    assert d.ok_button.isEnabled()
    # a typed literal is counted too
    qtbot.mouseClick(d.tab_bar, Qt.MouseButton.LeftButton, pos=d.tab_bar.tabRect(0).center())
    QApplication.clipboard().setText("[" + ", ".join(["1."] * 1001) + "]")
    d.literal_edit.setFocus()
    d.literal_edit.selectAll()
    qtbot.keyClick(d.literal_edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)  # pasted
    assert not d.ok_button.isEnabled()
    assert "1,001 elements" in d.literal_error.text()


def test_constructors(qtbot, session) -> None:
    d = new_dialog(qtbot, session)
    qtbot.mouseClick(d.tab_bar, Qt.MouseButton.LeftButton, pos=d.tab_bar.tabRect(1).center())
    assert d.constructor == "zeros"
    retype(qtbot, d.shape_edit, "2, 3")
    assert d.code == "t1 = torch.zeros(2, 3)"
    click_ok(qtbot, d)
    assert tuple(session.tensor("t1").shape) == (2, 3)

    d = new_dialog(qtbot, session)
    d.set_constructor("full")
    retype(qtbot, d.shape_edit, "2")
    retype(qtbot, d.fill_edit, "7")
    assert d.preview.toPlainText() == "tensor([7., 7.])"
    retype(qtbot, d.fill_edit, "seven")
    assert not d.ok_button.isEnabled() and "is not a number" in d.ctor_error.text()

    d = new_dialog(qtbot, session)
    d.set_constructor("arange")
    retype(qtbot, d.end_edit, "4")
    assert d.preview.toPlainText() == "tensor([0., 1., 2., 3.])"
    retype(qtbot, d.step_edit, "0")
    assert "step must be nonzero" in d.ctor_error.text()
    retype(qtbot, d.step_edit, "-1")
    assert "upper bound and larger bound inconsistent with step sign" in d.ctor_error.text()

    d = new_dialog(qtbot, session)
    d.set_constructor("eye")
    retype(qtbot, d.n_edit, "2")
    assert d.preview.toPlainText() == "tensor([[1., 0.],\n        [0., 1.]])"
    retype(qtbot, d.shape_edit, "-1")  # hidden for eye: ignored
    assert d.ok_button.isEnabled()

    d = new_dialog(qtbot, session)
    d.set_constructor("ones")
    retype(qtbot, d.shape_edit, "2, -1")
    assert "Trying to create tensor with negative dimension -1: [2, -1]" in d.ctor_error.text()


def test_random_values_are_the_ones_previewed(qtbot, session) -> None:
    d = new_dialog(qtbot, session)
    d.set_constructor("randn")
    retype(qtbot, d.shape_edit, "3, 2")
    shown = d.preview.toPlainText()
    retype(qtbot, d.name_edit, "r")  # typing elsewhere keeps the sample
    assert d.preview.toPlainText() == shown
    click_ok(qtbot, d)
    assert repr(session.tensor("r")) == shown
    d = new_dialog(qtbot, session)
    d.set_constructor("rand")
    d.dtype_combo.setCurrentIndex(d.dtype_combo.findData("int64"))
    assert not d.ok_button.isEnabled()
    assert "not implemented for 'Long'" in d.ctor_error.text()


def test_parsers() -> None:
    assert parse_literal("torch.tensor([1, 2])") == [1, 2]
    assert parse_literal("-inf") == float("-inf")
    assert parse_literal("[True, False]") == [True, False]
    assert ragged([[1, 2], [3, 4]]) is None
    assert ragged([]) is None


# --- Operation --------------------------------------------------------------------------------------
def op_dialog(qtbot, session: Session, **kw) -> OperationDialog:
    d = OperationDialog(session, **kw)
    qtbot.addWidget(d)
    d.show()
    return d


def test_operation_mul_then_add(qtbot, seed_session) -> None:
    d = op_dialog(qtbot, seed_session, selected="w")
    assert d.spec.name == "mul"
    assert d.rows[0].text() == "w"
    d.rows[1].set_text("x")
    retype(qtbot, d.name_edit, "wx")
    assert d.ok_button.isEnabled()
    assert d.summary.text() == "shape [] · gradviz.float32 · requires_grad · grad_fn=<MulBackward0>"
    assert d.preview.toPlainText() == "tensor(12., grad_fn=<MulBackward0>)"
    assert d.code == "wx = w * x"
    click_ok(qtbot, d)
    assert seed_session.tensor("wx").item() == 12.0
    assert seed_session.entries[-1].op == "mul"

    d = op_dialog(qtbot, seed_session, selected="wx")
    retype(qtbot, d.search, "add")
    assert d.spec.name == "add"
    d.rows[1].set_text("b")
    retype(qtbot, d.name_edit, "y")
    click_ok(qtbot, d)
    assert seed_session.tensor("y").item() == 17.0


def test_operation_shape_mismatch_shows_pytorch_error(qtbot) -> None:
    s = Session()
    s.add_leaf("a", np.ones((2, 3), np.float32))
    s.add_leaf("c", np.ones((3, 2), np.float32))
    d = op_dialog(qtbot, s, selected="a", op="add")
    d.rows[1].set_text("c")
    assert not d.ok_button.isEnabled()
    assert d.preview.is_error
    assert d.preview.toPlainText() == (
        "The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 1"
    )
    click_ok(qtbot, d)
    assert d.isVisible() and s.names() == ["a", "c"]
    d.set_op("matmul")
    assert d.ok_button.isEnabled()
    assert d.summary.text().startswith("shape [2, 2]")
    d.rows[1].set_text("a")
    assert d.preview.toPlainText() == "mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)"
    assert not d.ok_button.isEnabled()


def test_operation_number_operand_and_names(qtbot, seed_session) -> None:
    d = op_dialog(qtbot, seed_session, selected="w", op="mul")
    combo = d.rows[1].combo
    retype(qtbot, combo.lineEdit(), "2")
    assert d.ok_button.isEnabled() and d.code.endswith("= w * 2")
    assert d.preview.toPlainText() == "tensor(8., grad_fn=<MulBackward0>)"
    retype(qtbot, combo.lineEdit(), "q")
    assert not d.ok_button.isEnabled()
    assert d.rows[1].error.text() == "name 'q' is not defined"
    retype(qtbot, combo.lineEdit(), "2")
    retype(qtbot, d.name_edit, "w")
    assert not d.ok_button.isEnabled() and d.name_error.text() == "the name 'w' is already taken"
    retype(qtbot, d.name_edit, "w2")
    click_ok(qtbot, d)
    assert seed_session.tensor("w2").item() == 8.0


def test_operation_code_keeps_an_invalid_operand(qtbot) -> None:
    """The code line shows what was typed in a wrong operand field, never a call without it."""
    s = Session()
    s.add_leaf("a", [[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    s.add_leaf("c", [1.0, 2.0, 3.0])
    d = op_dialog(qtbot, s, selected="a", op="add")
    retype(qtbot, d.rows[1].combo.lineEdit(), "zz")
    assert not d.ok_button.isEnabled()
    assert d.rows[1].error.text() == "name 'zz' is not defined"
    assert d.code == "t1 = a + zz" and d.code_label.text() == d.code
    retype(qtbot, d.rows[1].combo.lineEdit(), "")
    assert d.code == "t1 = a + ?"  # nothing typed: a placeholder stands in
    retype(qtbot, d.rows[1].combo.lineEdit(), "2.5")
    assert d.ok_button.isEnabled() and d.code == "t1 = a + 2.5"
    d = op_dialog(qtbot, s, selected="a", op="mse_loss")
    d.rows[1].combo.setCurrentIndex(-1)  # no tensor chosen
    assert d.code == "t1 = F.mse_loss(a, ?)"


def test_operation_search_and_parameters(qtbot) -> None:
    s = Session()
    s.add_leaf("m", np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    d = op_dialog(qtbot, s, selected="m")
    qtbot.keyClicks(d.search, "soft")
    assert d.spec.name == "softmax"
    visible = [n for n, item in d.items.items() if not item.isHidden()]
    assert visible == ["softmax", "log_softmax", "softplus"]  # softplus: F.softplus, issue 12
    retype(qtbot, d.search, "sum")
    assert d.spec.name == "sum"
    assert d.summary.text().startswith("shape []")
    dim = d.param_widgets["dim"][1]
    qtbot.keyClicks(dim, "0")
    assert d.summary.text().startswith("shape [3]")
    assert d.code.endswith("= m.sum(dim=0)")
    qtbot.mouseClick(d.param_widgets["keepdim"][1], Qt.MouseButton.LeftButton)
    assert d.summary.text().startswith("shape [1, 3]")
    retype(qtbot, dim, "5")
    assert not d.ok_button.isEnabled()
    assert "Dimension out of range" in d.preview.toPlainText()
    retype(qtbot, dim, "zero")
    assert d.param_widgets["dim"][2].isVisible()
    retype(qtbot, dim, "1")
    click_ok(qtbot, d)
    assert tuple(s.tensor(d.name).shape) == (2, 1)

    d = op_dialog(qtbot, s, selected="m", op="reshape")
    shape = d.param_widgets["shape"][1]
    retype(qtbot, shape, "4, -1")
    assert "shape '[4, -1]' is invalid for input of size 6" in d.preview.toPlainText()
    retype(qtbot, shape, "3, 2")
    assert d.ok_button.isEnabled() and d.code.endswith("m.reshape(3, 2)")

    d = op_dialog(qtbot, s, selected="m", op="index")
    retype(qtbot, d.param_widgets["index"][1], ":, 1")
    assert d.summary.text().startswith("shape [2]") and d.code.endswith("= m[:, 1]")
    click_ok(qtbot, d)
    np.testing.assert_array_equal(s.tensor(d.name).detach().numpy(), [1, 4])


def test_operation_cat_takes_a_list(qtbot) -> None:
    s = Session()
    s.add_leaf("a", [1.0, 2.0])
    s.add_leaf("c", [3.0])
    d = op_dialog(qtbot, s, selected="a", op="cat")
    assert [r.text() for r in d.rows] == ["a", "c"]
    qtbot.mouseClick(d.add_operand, Qt.MouseButton.LeftButton)
    assert len(d.rows) == 3
    d.rows[2].set_text("a")
    assert d.summary.text().startswith("shape [5]")
    assert d.code.endswith("torch.cat([a, c, a])")
    qtbot.mouseClick(d.rows[2].remove_button, Qt.MouseButton.LeftButton)
    assert len(d.rows) == 2
    d.set_op("stack")
    assert "stack expects each tensor to be equal size" in d.preview.toPlainText()
    d.set_op("cat")
    click_ok(qtbot, d)
    np.testing.assert_array_equal(s.tensor(d.name).numpy(), [1, 2, 3])


def test_operation_with_no_tensors(qtbot, session) -> None:
    d = op_dialog(qtbot, session)
    assert not d.ok_button.isEnabled()
    assert "create one with New Tensor" in d.preview.toPlainText()


# --- Backward ---------------------------------------------------------------------------------------
def test_backward_scalar(qtbot, seed_session) -> None:
    s = seed_session
    s.apply("mul", ["w", "x"], name="wx")
    s.apply("add", ["wx", "b"], name="y")
    d = BackwardDialog(s, "y")
    qtbot.addWidget(d)
    d.show()
    assert not d.gradient_box.isVisible()
    assert d.code == "y.backward()"
    qtbot.mouseClick(d.retain, Qt.MouseButton.LeftButton)
    assert d.code == "y.backward(retain_graph=True)"
    click_ok(qtbot, d)
    assert s.tensor("w").grad.item() == 3.0 and s.tensor("b").grad.item() == 1.0


def test_backward_twice_without_retain_graph(qtbot, seed_session) -> None:
    s = seed_session
    s.apply("mul", ["w", "x"], name="y")
    s.backward("y")
    entries = s.entries
    d = BackwardDialog(s, "y")
    qtbot.addWidget(d)
    d.show()
    click_ok(qtbot, d)
    assert d.isVisible()  # stays open with the error
    assert d.error.text().startswith("Trying to backward through the graph a second time")
    assert s.entries == entries and s.tensor("w").grad.item() == 3.0  # nothing changed


def test_backward_non_scalar_asks_for_gradient(qtbot) -> None:
    s = Session()
    s.add_leaf("a", [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    s.apply("mul", ["a", 2], name="z")
    d = BackwardDialog(s, "z")
    qtbot.addWidget(d)
    d.show()
    assert d.gradient_box.isVisible() and d.ones_radio.isChecked()
    assert d.code == "z.backward(torch.ones_like(z))"
    assert d.gradient_edit.text() == "[[1., 1., 1.], [1., 1., 1.]]"
    retype(qtbot, d.gradient_edit, "[1., 2., 3.]")
    assert d.values_radio.isChecked()
    assert not d.ok_button.isEnabled()
    assert d.gradient_error.text() == (
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of "
        "torch.Size([2, 3])."
    )
    retype(qtbot, d.gradient_edit, "[[1., 0, 0], [0, 0, 1]]")
    assert d.ok_button.isEnabled()
    click_ok(qtbot, d)
    np.testing.assert_array_equal(s.tensor("a").grad.numpy(), [[2, 0, 0], [0, 0, 2]])


def test_backward_ones(qtbot) -> None:
    s = Session()
    s.add_leaf("a", [1.0, 2.0], requires_grad=True)
    s.apply("mul", ["a", "a"], name="z")
    d = BackwardDialog(s, "z")
    qtbot.addWidget(d)
    click_ok(qtbot, d)
    np.testing.assert_array_equal(s.tensor("a").grad.numpy(), [2, 4])


def test_backward_needs_requires_grad(qtbot) -> None:
    s = Session()
    s.add_leaf("c", 2.0)
    d = BackwardDialog(s, "c")
    qtbot.addWidget(d)
    d.show()
    assert not d.ok_button.isEnabled()
    assert "element 0 of tensors does not require grad and does not have a grad_fn" in d.error.text()


def test_every_catalogue_op_builds_and_previews(qtbot) -> None:
    """Each op gets its fields, and the preview shows a result or an error, never a crash."""
    from gradviz.session import catalogue

    s = Session()
    s.add_leaf("m", np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    s.add_leaf("k", np.array([0, 2], np.int64))
    d = op_dialog(qtbot, s, selected="m")
    for spec in catalogue.OPS:
        d.set_op(spec.name)
        assert d.spec is spec
        assert d.preview.toPlainText(), spec.name
        if d.ok_button.isEnabled():
            assert d.summary.text().startswith("shape ["), spec.name
    applied = 0
    for name in ("exp", "relu", "sum", "T", "transpose", "flatten", "unsqueeze", "clone", "to", "linear"):
        d = op_dialog(qtbot, s, selected="m", op=name)
        if name == "linear":
            d.rows[1].set_text("m")
            assert d.summary.text().startswith("shape [2, 2]")
        assert d.ok_button.isEnabled(), (name, d.preview.toPlainText())
        click_ok(qtbot, d)
        applied += 1
    assert len(s.names()) == 2 + applied
    # PyTorch's warnings show in the preview too
    s.add_leaf("r", np.ones(3, np.float32))
    d = op_dialog(qtbot, s, selected="m", op="mse_loss")
    d.rows[1].set_text("r")
    assert d.ok_button.isEnabled()
    assert "UserWarning: Using a target size" in d.preview.toPlainText()


def test_enter_in_search_does_not_apply(qtbot, seed_session) -> None:
    d = op_dialog(qtbot, seed_session, selected="w")
    qtbot.keyClicks(d.search, "sub")
    qtbot.keyClick(d.search, Qt.Key.Key_Return)
    assert d.isVisible() and d.spec.name == "sub"
    assert d.focusWidget() is d.rows[0].combo
