"""The inspector: the selected tensor as PyTorch prints it, its gradient, and a heatmap.

A leaf's value can be edited here: the new value goes through ``Session.set_leaf_value``, which
recomputes everything downstream, gradients included. Input that is not a number or a nested
list is flagged where it was typed and kept, so nothing typed is lost.
"""

from __future__ import annotations

import ast
import math
import re
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QFont, QFontDatabase, QKeyEvent, QPalette
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..graph.expression import INFIX, Expr, atom, call, infix, negate
from ..graph.model import shape_text
from ..session import catalogue
from ..session.document import SessionError
from .heatmap import Heatmap
from .plain import escape, plain_labels
from .theme import font_scale

EDIT_MAX_ELEMENTS = 10_000  # larger leaves are edited in the console (torch.randn(...) and co.)
_WRAPPER = re.compile(r"^\s*(?:torch\.|gradviz\.)?tensor\((.*)\)\s*$", re.S)
_KWARGS = re.compile(r",\s*(?:requires_grad|dtype|grad_fn)\s*=.*$", re.S)


def parse_value(text: str) -> Any:
    """A typed value: a number, a nested list, or the repr a tensor prints (``tensor([1., 2.])``).

    Raises ValueError with a message a learner can act on."""
    src = text.strip()
    if not src:
        raise ValueError(
            "Type a value: a number like 3.0, a list like [1., 2.] or rows like [[1, 2], [3, 4]]."
        )
    m = _WRAPPER.match(src)
    if m:
        src = _KWARGS.sub("", m.group(1).strip())
    try:
        value = ast.literal_eval(src)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise ValueError(
            "This is not a number or a list of numbers. Examples: 3.0   [1., 2., 3.]   [[1, 2], [3, 4]]"
        ) from None

    def ok(v: Any) -> bool:
        if isinstance(v, (list, tuple)):
            return all(ok(x) for x in v)
        return isinstance(v, (int, float, bool)) and not isinstance(v, complex)

    if not ok(value):
        raise ValueError("Only numbers (and True/False) can go in a tensor, in nested lists [ ... ].")
    try:
        arr = np.array(value)
    except ValueError:
        raise ValueError(
            "The rows have different lengths: every row of a tensor needs as many numbers."
        ) from None
    if arr.dtype == object:
        raise ValueError("The rows have different lengths: every row of a tensor needs as many numbers.")
    return value


def literal_of(t: Any) -> str:
    """A tensor's values as a Python literal to edit: ``[[1.0, 2.0], [3.0, 4.0]]``."""
    arr = np.asarray(t.peek_array())

    def one(v: Any) -> str:
        if isinstance(v, bool):
            return "True" if v else "False"
        if isinstance(v, float):
            r = repr(v)
            return r if ("." in r or "e" in r or "n" in r) else r + ".0"
        return str(v)

    def nest(x: Any, depth: int) -> str:
        if not isinstance(x, list):
            return one(x)
        inner = [nest(y, depth + 1) for y in x]
        if x and isinstance(x[0], list):
            sep = ",\n" + " " * (depth + 1)
            return "[" + sep.join(inner) + "]"
        return "[" + ", ".join(inner) + "]"

    vals = arr.astype(np.float64).tolist() if arr.dtype.kind == "f" else arr.tolist()
    return nest(vals, 0)


def expression(session: Any, name: str) -> str:
    """How ``name`` was computed, as code: ``w * x + b`` (unnamed steps written out)."""

    def expr(n: str, top: bool, depth: int) -> Expr:
        info = session.info(n)
        if not top and not info.hidden:
            return atom(n)
        entry = info.entry
        if getattr(entry, "kind", "") == "leaf":
            return atom((entry.source or "a constant") if info.hidden else n)
        if depth > 6:
            return atom("…")
        refs = iter(session.operands(n))
        args: list[Expr] = []
        for kind, v in entry.args:
            if kind == "ref":
                ref = next(refs, "?")
                args.append(expr(ref, False, depth + 1) if ref in session else atom(ref))
            else:
                args.append(atom(repr(v)))
        spec = catalogue.CATALOGUE.get(entry.op)
        sym = spec.symbol if spec else None
        if sym and len(args) == 2 and entry.op in INFIX:
            return infix(entry.op, args[0], args[1])
        if entry.op == "neg" and len(args) == 1:
            return negate(args[0])
        params = ", ".join(f"{k}={v!r}" for k, v in entry.params.items())
        return call(entry.op, [*(a for a, _ in args), *([params] if params else [])])

    text = expr(name, True, 0)[0]
    return text if len(text) <= 80 else text[:77] + "…"


def _mono(delta: int = 0) -> QFont:
    f = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    if "DejaVu Sans Mono" in QFontDatabase.families():
        f = QFont("DejaVu Sans Mono", f.pointSize())
    f.setStyleHint(QFont.StyleHint.Monospace)
    if delta:
        f.setPointSize(max(7, f.pointSize() + delta))
    f.setPointSizeF(f.pointSizeF() * font_scale())  # presentation mode
    return f


class _ReprView(QPlainTextEdit):
    """Read-only monospace text that is as tall as its content (up to a limit)."""

    def __init__(self, max_lines: int = 14, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.max_lines = max_lines
        self.setReadOnly(True)
        self.setFont(_mono(-1))
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFrameShape(QFrame.Shape.StyledPanel)

    def set_text(self, text: str) -> None:
        self.setPlainText(text)
        self._fit_height()

    def _fit_height(self) -> None:
        # Measured from the font and frame in use: a larger font or a style with wider frames
        # (presentation mode, another theme) must not clip the last line.
        text = self.toPlainText()
        lines = min(self.max_lines, max(1, text.count("\n") + 1))
        fm = self.fontMetrics()
        bar = self.horizontalScrollBar().sizeHint().height() if self._wide(text) else 0
        self.setFixedHeight(
            math.ceil(
                lines * fm.lineSpacing()
                + 2 * self.document().documentMargin()
                + 2 * self.frameWidth()
                + 8
                + bar
            )
        )

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._fit_height()

    def _wide(self, text: str) -> bool:
        """Wider than the box: a horizontal scroll bar takes room under the text. Measured on the
        box, not its viewport, which narrows by a vertical bar that the height just set removes."""
        fm = self.fontMetrics()
        room = self.width() - 2 * self.frameWidth() - 2 * self.document().documentMargin()
        return max((fm.horizontalAdvance(line) for line in text.splitlines()), default=0) > room

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():  # the scroll bar may come or go
            self._fit_height()


class _ValueEditor(QPlainTextEdit):
    apply_requested = Signal()
    cancel_requested = Signal()

    def keyPressEvent(self, e: QKeyEvent) -> None:
        if (
            e.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and e.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            self.apply_requested.emit()
            return
        if e.key() == Qt.Key.Key_Escape:
            self.cancel_requested.emit()
            return
        super().keyPressEvent(e)

    def fit_height(self) -> None:
        """Five lines of its font, whatever the font's size (presentation mode)."""
        margins = 2 * self.document().documentMargin() + 2 * self.frameWidth()
        self.setFixedHeight(math.ceil(5 * self.fontMetrics().lineSpacing() + margins))

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self.fit_height()


def _section(text: str) -> QLabel:
    label = QLabel(text)
    f = label.font()
    f.setBold(True)
    label.setFont(f)
    label.setContentsMargins(0, 8, 0, 0)
    return label


class Inspector(QWidget):
    """The inspector dock's content."""

    message = Signal(str)  # for the status bar
    ran_code = Signal(str)  # the PyTorch statement a change amounts to, for the console
    check_requested = Signal(str)  # Check Gradient pressed on this tensor

    def __init__(self, source: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self.name = ""
        self._editing = False

        self.placeholder = QLabel("Select a tensor in the graph or the list\nto see its value and gradient.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setEnabled(False)

        body = QWidget()
        self.body = body
        v = QVBoxLayout(body)
        v.setContentsMargins(10, 8, 10, 10)
        v.setSpacing(4)

        head = QHBoxLayout()
        self.title = QLabel()
        self.title.setObjectName("inspectorTitle")
        tf = self.title.font()
        tf.setPointSizeF(tf.pointSizeF() + 4)
        tf.setBold(True)
        self.title.setFont(tf)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.kind = QLabel()
        self.kind.setObjectName("inspectorKind")
        head.addWidget(self.title)
        head.addWidget(self.kind)
        head.addStretch(1)
        v.addLayout(head)

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(3)
        self.fields: dict[str, QLabel] = {}
        for key in ("shape", "dtype", "is_leaf", "grad_fn", "made by"):
            lab = QLabel()
            lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            lab.setFont(_mono())
            lab.setWordWrap(True)
            self.fields[key] = lab
            if key == "is_leaf":
                self.requires_grad = QCheckBox()
                self.requires_grad.setToolTip(
                    "requires_grad_(): operations from now on track this leaf, so the next backward() "
                    "computes its .grad (what was computed before stays as it was, as in PyTorch)"
                )
                self.requires_grad.toggled.connect(self._toggle_requires_grad)
                # As wide as its box: the rest of the row is no click target, so don't look like one.
                self.requires_grad.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
                form.addRow("requires_grad", self.requires_grad)
            form.addRow(key, lab)
        v.addLayout(form)

        row = QHBoxLayout()
        row.addWidget(_section("Value"))
        row.addStretch(1)
        self.edit_button = QPushButton("Edit value…")
        self.edit_button.setToolTip("Change this leaf's values; everything computed from it is recomputed")
        self.edit_button.clicked.connect(self.start_edit)
        row.addWidget(self.edit_button, 0, Qt.AlignmentFlag.AlignBottom)
        v.addLayout(row)
        self.value_view = _ReprView()
        self.value_view.setObjectName("valueView")
        v.addWidget(self.value_view)

        self.editor_box = QWidget()
        ev = QVBoxLayout(self.editor_box)
        ev.setContentsMargins(0, 0, 0, 0)
        self.editor = _ValueEditor()
        self.editor.setObjectName("valueEditor")
        self.editor.setFont(_mono())
        self.editor.setPlaceholderText("[[1., 2.], [3., 4.]]")
        self.editor.setTabChangesFocus(True)
        self.editor.fit_height()
        self.editor.textChanged.connect(self._validate)
        self.editor.apply_requested.connect(self.apply_edit)
        self.editor.cancel_requested.connect(self.cancel_edit)
        self.edit_error = QLabel()
        self.edit_error.setObjectName("editError")
        self.edit_error.setWordWrap(True)
        self.edit_error.hide()
        buttons = QHBoxLayout()
        hint = QLabel("Ctrl+Enter applies, Esc cancels")
        hint.setEnabled(False)
        buttons.addWidget(hint)
        buttons.addStretch(1)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_edit)
        self.apply_button = QPushButton("Apply")
        self.apply_button.setDefault(True)
        self.apply_button.clicked.connect(self.apply_edit)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.apply_button)
        ev.addWidget(self.editor)
        ev.addWidget(self.edit_error)
        ev.addLayout(buttons)
        self.editor_box.hide()
        v.addWidget(self.editor_box)

        v.addWidget(_section("Gradient (.grad)"))
        self.grad_view = _ReprView()
        self.grad_view.setObjectName("gradView")
        v.addWidget(self.grad_view)
        self.grad_note = QLabel()
        self.grad_note.setObjectName("gradNote")
        self.grad_note.setWordWrap(True)
        self.grad_note.setTextFormat(Qt.TextFormat.RichText)
        v.addWidget(self.grad_note)
        check_row = QHBoxLayout()
        self.check_button = QPushButton("Check Gradient")
        self.check_button.setObjectName("checkGradient")
        self.check_button.setToolTip(
            "Nudge each element by ±ε, run the graph again in float64 and compare the slope with autograd's"
        )
        self.check_button.clicked.connect(lambda: self.check_requested.emit(self.name))
        check_row.addWidget(self.check_button)
        check_row.addStretch(1)
        v.addLayout(check_row)
        self.check_result = QLabel()
        self.check_result.setObjectName("gradCheck")
        self.check_result.setWordWrap(True)
        self.check_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        v.addWidget(self.check_result)
        # What Check Gradient found, by tensor name (kept by the window, shown here).
        self.check_results: dict[str, str] = {}

        heat_head = QHBoxLayout()
        self.heat_title = _section("Heatmap")
        heat_head.addWidget(self.heat_title)
        heat_head.addStretch(1)
        self.show_value = QRadioButton("value")
        self.show_grad = QRadioButton("grad")
        self.heat_group = QButtonGroup(self)
        self.heat_group.addButton(self.show_value)
        self.heat_group.addButton(self.show_grad)
        self.show_grad.setChecked(True)
        self.heat_group.buttonToggled.connect(lambda *_: self._update_heatmap())
        heat_head.addWidget(self.show_value, 0, Qt.AlignmentFlag.AlignBottom)
        heat_head.addWidget(self.show_grad, 0, Qt.AlignmentFlag.AlignBottom)
        v.addLayout(heat_head)
        self.slice_row = QHBoxLayout()
        self.slice_label = QLabel("slice")
        self.slice_row.addWidget(self.slice_label)
        self.slice_spins: list[QSpinBox] = []
        self.slice_text = QLabel()
        self.slice_text.setFont(_mono())
        self.slice_row.addStretch(1)
        self.slice_row.addWidget(self.slice_text)
        self.slice_box = QWidget()
        self.slice_box.setLayout(self.slice_row)
        self.slice_box.hide()
        v.addWidget(self.slice_box)
        self.heatmap = Heatmap()
        self.heat_empty = QLabel()
        self.heat_empty.setEnabled(False)
        self.heat_empty.setWordWrap(True)
        v.addWidget(self.heatmap)
        v.addWidget(self.heat_empty)
        v.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        self.scroll = scroll
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.placeholder)
        outer.addWidget(scroll)
        # Names, sources and error messages come from the session: shown as text, not HTML.
        plain_labels(self, self.grad_note)
        self._apply_theme()
        self.show_tensor("")

    # --- public ---------------------------------------------------------------------------------------
    def set_source(self, source: Any) -> None:
        self.source = source
        self.show_tensor("")

    def show_tensor(self, name: str) -> None:
        """Show tensor ``name`` ('' for none); an edit in progress on another tensor is kept only
        while its tensor stays selected."""
        if name != self.name:
            self._end_edit()
        self.name = name
        self.refresh()

    def refresh(self) -> None:
        t = self.source.tensor(self.name) if (self.source is not None and self.name) else None
        self.placeholder.setVisible(t is None)
        self.scroll.setVisible(t is not None)
        if t is None:
            self.name = ""
            return
        info = self.source.info(self.name)
        display = self.name
        if display.startswith("_"):
            display = "(unnamed intermediate)"
        self.title.setText(display)
        if t.is_leaf:
            kind = "leaf" if t.requires_grad else "leaf, no grad"
        else:
            kind = "computed"
        self.kind.setText(kind)
        self.fields["shape"].setText(f"{shape_text(tuple(t.shape))}   {t.shape!r}")
        self.fields["dtype"].setText(repr(t.dtype))
        self.fields["is_leaf"].setText(str(t.is_leaf))
        self.fields["grad_fn"].setText(f"<{t.grad_fn.name()}>" if t.grad_fn is not None else "None")
        made = ""
        if info is not None:
            entry = info.entry
            if getattr(entry, "kind", "") == "leaf":
                made = entry.source or "a value"
            elif self.source.session is not None:
                made = expression(self.source.session, self.name)
        self.fields["made by"].setText(made or "-")
        editable = bool(self.source.editable and t.is_leaf and info is not None)
        self.requires_grad.blockSignals(True)
        self.requires_grad.setChecked(bool(t.requires_grad))
        self.requires_grad.setEnabled(editable)
        self.requires_grad.blockSignals(False)
        self.edit_button.setVisible(editable and not self._editing)
        self.edit_button.setEnabled(t.numel() <= EDIT_MAX_ELEMENTS)
        if t.numel() > EDIT_MAX_ELEMENTS:
            self.edit_button.setToolTip("Too many values to type here; create it in the console instead")
        self.value_view.set_text(repr(t))

        g = t.peek_grad()
        self.grad_view.set_text("None" if g is None else repr(g))
        self.grad_note.setText(self._grad_note(t, info))
        self.grad_note.setVisible(bool(self.grad_note.text()))
        checkable = bool(self.source.editable and t.requires_grad and getattr(self.source, "session", None))
        self.check_button.setVisible(checkable)
        self.check_result.setText(self.check_results.get(self.name, ""))
        self.check_result.setVisible(checkable and self.name in self.check_results)
        self._setup_slices(t)
        self._update_heatmap()

    # --- gradient notes ---------------------------------------------------------------------------
    def _grad_note(self, t: Any, info: Any) -> str:
        n = escape(self.name) if not self.name.startswith("_") else "this tensor"  # a rich note
        if t.peek_grad() is None:
            if not t.requires_grad:
                return f"<i>{n}</i> does not require grad, so backward() never gives it one."
            if t.is_leaf:
                return f"None until a backward() call reaches <i>{n}</i>."
            if t.grad_fn is not None and t.grad_fn.kept_grad(t) is not None:
                return (
                    f"None, as in PyTorch: <i>{n}</i> is not a leaf and did not call "
                    f"<code>retain_grad()</code>. The graph colours it by the gradient backward() "
                    "brought it, which gradviz kept (marked <i>kept by gradviz</i>)."
                )
            return "None: not computed yet."
        if info is not None and info.session_retained:
            return (
                f"<b>Kept by gradviz.</b> In PyTorch <code>{n}.grad</code> would be None here: {n} is not a "
                f"leaf, and PyTorch keeps gradients of non-leaf tensors only after <code>{n}.retain_grad()</code>."
            )
        return ""

    # --- heatmap --------------------------------------------------------------------------------------
    def _setup_slices(self, t: Any) -> None:
        lead = max(0, t.ndim - 2)
        shape = tuple(t.shape)
        if len(self.slice_spins) != lead or any(
            s.maximum() != shape[i] - 1 for i, s in enumerate(self.slice_spins)
        ):
            for s in self.slice_spins:
                self.slice_row.removeWidget(s)
                s.deleteLater()
            self.slice_spins = []
            for i in range(lead):
                s = QSpinBox()
                s.setRange(0, max(0, shape[i] - 1))
                s.setPrefix(f"dim {i}: ")
                s.valueChanged.connect(lambda *_: self._update_heatmap())
                self.slice_row.insertWidget(1 + i, s)
                self.slice_spins.append(s)
        self.slice_box.setVisible(lead > 0)

    def _update_heatmap(self) -> None:
        t = self.source.tensor(self.name) if (self.source is not None and self.name) else None
        if t is None:
            return
        use_grad = self.show_grad.isChecked()
        grad = t.peek_grad()
        data = (grad.peek_array() if grad is not None else None) if use_grad else t.peek_array()
        idx = tuple(s.value() for s in self.slice_spins)
        if data is not None and idx:
            data = np.asarray(data)[idx]
        prefix = "".join(f"[{i}]" for i in idx)
        self.slice_text.setText(
            f"{self.name}{'.grad' if use_grad else ''}[{', '.join(map(str, idx))}, :, :]" if idx else ""
        )
        self.heatmap.set_tensor(data, ("grad" if use_grad else "value") + prefix)
        if t.ndim == 0:
            self.heat_empty.setText("A scalar: nothing to map.")
        elif data is None:
            self.heat_empty.setText("No gradient to map yet.")
        else:
            self.heat_empty.setText("")
        self.heat_empty.setVisible(bool(self.heat_empty.text()))
        self.heatmap.setVisible(data is not None and t.ndim > 0)

    # --- editing ------------------------------------------------------------------------------------
    def start_edit(self) -> None:
        t = self.source.tensor(self.name) if self.name else None
        if t is None or not self.edit_button.isEnabled():
            return
        self._editing = True
        self.editor.setPlainText(literal_of(t))
        self.editor_box.show()
        self.edit_button.hide()
        self.editor.setFocus()
        self._validate()

    def cancel_edit(self) -> None:
        self._end_edit()
        self.refresh()

    def _end_edit(self) -> None:
        self._editing = False
        self.editor_box.hide()
        self.edit_error.hide()

    def _set_error(self, message: str) -> None:
        self.edit_error.setText(message)
        self.edit_error.setVisible(bool(message))
        self.editor.setProperty("invalid", bool(message))
        self.editor.style().unpolish(self.editor)
        self.editor.style().polish(self.editor)

    def _validate(self) -> bool:
        try:
            value = parse_value(self.editor.toPlainText())
        except ValueError as e:
            self._set_error(str(e))
            self.apply_button.setEnabled(False)
            return False
        t = self.source.tensor(self.name) if self.name else None
        shape = np.array(value).shape
        note = ""
        if t is not None and shape != tuple(t.shape):
            note = (
                f"Note: the shape changes from {shape_text(tuple(t.shape))} to {shape_text(shape)}; "
                "everything computed from it must accept the new shape."
            )
        self._set_error("")
        if note:
            self.edit_error.setText(note)
            self.edit_error.show()
        self.apply_button.setEnabled(True)
        return True

    def apply_edit(self) -> bool:
        """Apply the typed value; on any problem say so beside the text and keep it."""
        if not self._validate():
            return False
        value = parse_value(self.editor.toPlainText())
        session = self.source.session if self.source is not None else None
        if session is None:
            return False
        try:
            session.set_leaf_value(self.name, value)
        except SessionError as e:
            self._set_error(f"Not applied: {e}")
            return False
        self.message.emit(f"Edited {self.name}; everything computed from it was recomputed")
        self._end_edit()
        self.refresh()
        return True

    def _toggle_requires_grad(self, on: bool) -> None:
        session = self.source.session if self.source is not None else None
        if session is None or not self.name:
            return
        try:
            session.requires_grad_(self.name, on)
            self.ran_code.emit(f"{self.name}.requires_grad_({on})")
        except SessionError as e:
            self.message.emit(f"Can't change requires_grad of {self.name}: {e}")
            self.refresh()

    def is_editing(self) -> bool:
        return self._editing

    # --- look ---------------------------------------------------------------------------------------
    def _apply_theme(self) -> None:
        dark = self.palette().color(QPalette.ColorRole.Window).lightness() < 128
        red = "#ff8a80" if dark else "#c62828"
        chip = "#3a3d42" if dark else "#e8eaee"
        self.edit_error.setStyleSheet(f"color: {red};")
        self.editor.setStyleSheet(
            f'QPlainTextEdit[invalid="true"] {{ border: 2px solid {red}; border-radius: 3px; }}'
        )
        self.kind.setStyleSheet(f"background: {chip}; border-radius: 8px; padding: 1px 8px;")
        note_bg = "#3b3320" if dark else "#fff4d6"
        self.grad_note.setStyleSheet(f"background: {note_bg}; border-radius: 4px; padding: 6px;")

    def changeEvent(self, event: Any) -> None:
        if event.type() in (event.Type.PaletteChange, event.Type.ApplicationPaletteChange):
            self._apply_theme()
        super().changeEvent(event)
