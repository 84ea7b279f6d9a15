"""What the dialogs share: inline error marks, the monospace font, theme-aware colours and the
small parsers for what a person types (a nested list, a shape, a number)."""

from __future__ import annotations

import ast
import itertools
import keyword
import math
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QWidget,
)

from gradviz.gui.plain import plain_labels, plain_tip
from gradviz.gui.theme import font_scale
from gradviz.gui.title_width import fit_title
from gradviz.session.document import Session, SessionError
from gradviz.session.param_kinds import number_code

MAX_LITERAL_CHARS = 2_000_000  # a typed literal longer than this is refused before parsing
PREVIEW_ELEMENTS = 100_000  # larger tensors are described in the preview, not computed


# --- look ------------------------------------------------------------------------------------------
def is_dark(widget: QWidget | QPalette) -> bool:
    pal = widget if isinstance(widget, QPalette) else widget.palette()
    return pal.color(QPalette.ColorRole.Window).lightness() < 128


def error_color(widget: QWidget | QPalette) -> str:
    return "#ff8a80" if is_dark(widget) else "#c62828"


def muted_color(widget: QWidget | QPalette, role: QPalette.ColorRole = QPalette.ColorRole.Window) -> str:
    """Secondary text: the text colour two thirds of the way from the background.

    Give a widget's palette from before its own style sheet: a sheet that sets ``color``
    changes the widget's text colour, and mixing from that drifts further each time."""
    pal = widget if isinstance(widget, QPalette) else widget.palette()
    fg = pal.color(
        QPalette.ColorRole.WindowText if role == QPalette.ColorRole.Window else QPalette.ColorRole.Text
    )
    bg = pal.color(role)
    mix = [round(0.62 * a + 0.38 * b) for a, b in zip(fg.getRgb()[:3], bg.getRgb()[:3])]
    return "#{:02x}{:02x}{:02x}".format(*mix)


def monospace_font(point_delta: int = 0) -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    if font.family().lower() in ("monospace", "") or not QFontDatabase.isFixedPitch(font.family()):
        for family in ("DejaVu Sans Mono", "Menlo", "Consolas", "Liberation Mono", "Courier New"):
            if family in QFontDatabase.families():
                font = QFont(family, font.pointSize())
                break
    font.setStyleHint(QFont.StyleHint.Monospace)
    if point_delta:
        font.setPointSize(max(6, font.pointSize() + point_delta))
    font.setPointSizeF(font.pointSizeF() * font_scale())  # presentation mode
    return font


def invalid_style(widget: QWidget) -> str:
    """A style sheet for a dialog: a red border on any field whose ``invalid`` property is set."""
    red = error_color(widget)
    return (
        f'QLineEdit[invalid="true"], QComboBox[invalid="true"], QSpinBox[invalid="true"], '
        f'QDoubleSpinBox[invalid="true"], QPlainTextEdit[invalid="true"] '
        f"{{ border: 2px solid {red}; border-radius: 3px; }}"
        f'QCheckBox[invalid="true"] {{ color: {red}; }}'
    )


class ThemedDialog(QDialog):
    """A dialog whose invalid fields get a red border, with OK/Cancel buttons, restyled when the
    palette changes (light/dark). ``EXTRA_CSS`` may use ``{muted}`` for secondary text."""

    EXTRA_CSS = ""

    def _ok_cancel(self, ok_text: str) -> QDialogButtonBox:
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(ok_text)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        return self.buttons

    def _tab_in_order(self, *widgets: QWidget) -> None:
        """Tab walks ``widgets`` in this order, the order a person reads them (Qt's default is
        the order they were made in, which rows added later or a tab bar in between upset)."""
        for a, b in itertools.pairwise(widgets):
            QWidget.setTabOrder(a, b)
        if hasattr(self, "buttons"):
            QWidget.setTabOrder(widgets[-1], self.ok_button)
            QWidget.setTabOrder(self.ok_button, self.buttons.button(QDialogButtonBox.StandardButton.Cancel))

    def _restyle(self) -> None:
        sheet = invalid_style(self) + self.EXTRA_CSS.replace("{muted}", muted_color(self))
        if sheet != self.styleSheet():  # a new sheet changes the palette: set it once
            self.setStyleSheet(sheet)

    def changeEvent(self, event: Any) -> None:
        if event.type() == event.Type.PaletteChange:
            self._restyle()
        super().changeEvent(event)

    def showEvent(self, event: Any) -> None:
        plain_labels(self)  # names, literals and code typed by a person: text, not HTML
        fit_title(self)
        super().showEvent(event)


class ErrorLabel(QLabel):
    """The message under a field: hidden when there is nothing wrong."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.setObjectName("fieldError")
        self.setAccessibleName("error")
        self.hide()
        self._color = ""
        self._restyle()

    def _restyle(self) -> None:
        color = error_color(self)
        if color != self._color:  # setting a style sheet changes the palette: don't loop
            self._color = color
            self.setStyleSheet(f"color: {color};")

    def changeEvent(self, event: Any) -> None:
        if event.type() == event.Type.PaletteChange:
            self._restyle()
        super().changeEvent(event)

    def show_message(self, message: str | None) -> None:
        self.setText(message or "")
        self.setVisible(bool(message))


def mark(widget: QWidget, label: ErrorLabel | None, message: str | None) -> None:
    """Flag ``widget`` as invalid (red border) with ``message`` under it, or clear the flag."""
    bad = bool(message)
    # The state is kept on the Python side: reading an unset Qt property gives None, and
    # PySide6 6.12 drops a reference to None each time, which crashes after a few thousand.
    if getattr(widget, "_gradviz_invalid", None) is not bad:
        widget._gradviz_invalid = bad
        widget.setProperty("invalid", bad)
        widget.style().unpolish(widget)
        widget.style().polish(widget)
        widget.update()
    widget.setToolTip(plain_tip(message or ""))  # the message quotes what was typed
    if label is not None:
        label.show_message(message)


class Preview(QPlainTextEdit):
    """A read-only monospace box that shows a tensor's repr or an error."""

    def __init__(self, parent: QWidget | None = None, lines: int = 6) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setFont(monospace_font())
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setAccessibleName("preview")
        height = self.fontMetrics().lineSpacing() * lines + 2 * self.frameWidth() + 10
        self.setMinimumHeight(height)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._error = False
        self._kind = ""  # "", "error" or "muted": how the text is coloured

    def base_palette(self) -> QPalette:
        """The colours this box has without its own style sheet: its parent's (the dialog's),
        or the application's. Its own palette won't do: the sheet that colours the text
        changes it, so a colour mixed from it would drift with every message."""
        parent = self.parentWidget()
        return QPalette(parent.palette() if parent is not None else QApplication.palette(self))

    def text_color(self) -> str:
        """The colour the text is drawn in, as a style sheet sets it ("" for the default)."""
        pal = self.base_palette()
        if self._kind == "error":
            return error_color(pal)
        if self._kind == "muted":
            return muted_color(pal, QPalette.ColorRole.Base)
        return ""

    def _recolor(self) -> None:
        color = self.text_color()
        sheet = f"QPlainTextEdit {{ color: {color}; }}" if color else ""
        if sheet != self.styleSheet():  # a new sheet changes the palette: set it only on change
            self.setStyleSheet(sheet)

    def show_text(self, text: str, error: bool = False, muted: bool = False) -> None:
        wrap = error or muted  # messages wrap; a tensor's rows stay rows
        self.setLineWrapMode(
            QPlainTextEdit.LineWrapMode.WidgetWidth if wrap else QPlainTextEdit.LineWrapMode.NoWrap
        )
        self.setPlainText(text)
        self._error = error
        self._kind = "error" if error else "muted" if muted else ""
        self._recolor()

    def changeEvent(self, event: Any) -> None:
        if event.type() == event.Type.PaletteChange:  # light/dark switched: mix the colour anew
            self._recolor()
        super().changeEvent(event)

    @property
    def is_error(self) -> bool:
        return self._error


# --- names --------------------------------------------------------------------------------------------
def check_name(session: Session, name: str) -> None:
    """``session.check_name``, saying so when the name is a Python keyword (``for``, ``None``):
    it is spelt like a name, so "use letters, digits and _" would not tell what is wrong."""
    if keyword.iskeyword(name):
        raise SessionError(f"'{name}' is a Python keyword; choose another name")
    session.check_name(name)


# --- what a person types -----------------------------------------------------------------------------
class InputError(ValueError):
    """Typed input that can't be read; the message says what and where."""


_NAMED_NUMBERS = {"nan": math.nan, "inf": math.inf, "True": True, "False": False}


def _parse(text: str, what: str) -> ast.expr:
    text = text.strip()
    if not text:
        raise InputError(f"type {what}")
    if len(text) > MAX_LITERAL_CHARS:
        raise InputError("that is too long to type in; use a constructor for a tensor this large")
    try:
        return ast.parse(text, "<input>", "eval").body
    except SyntaxError as e:
        col = f" at column {e.offset}" if e.offset else ""
        raise InputError(f"invalid syntax{col}: {e.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise InputError("the input is too deeply nested") from None


def _number(node: ast.expr, text: str) -> int | float | bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, (bool, int, float)):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _number(node.operand, text)
        if isinstance(v, bool):
            v = int(v)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.Name) and node.id in _NAMED_NUMBERS:
        return _NAMED_NUMBERS[node.id]
    if (
        isinstance(node, ast.Attribute)
        and node.attr in ("nan", "inf")
        and isinstance(node.value, ast.Name)
        and node.value.id in ("torch", "math", "np", "numpy", "gradviz")
    ):
        return _NAMED_NUMBERS[node.attr]
    segment = ast.get_source_segment(text, node) or ast.unparse(node)
    raise InputError(f"{segment!r} is not a number")


def parse_number(text: str, what: str = "a number") -> int | float | bool:
    return _number(_parse(text, what), text.strip())


def parse_literal(text: str) -> Any:
    """A number or nested list of numbers, written as in ``torch.tensor(...)``.

    Also accepts ``torch.tensor(<literal>)`` around it. Ragged lists are reported with the
    position where they go wrong.
    """
    stripped = text.strip()
    node = _parse(stripped, "a number or a list such as [[1., 2], [3, 4]]")
    if (
        isinstance(node, ast.Call)
        and ast.unparse(node.func) in ("torch.tensor", "gradviz.tensor", "tensor")
        and len(node.args) == 1
        and not node.keywords
    ):
        node = node.args[0]

    def build(n: ast.expr) -> Any:
        if isinstance(n, (ast.List, ast.Tuple)):
            return [build(e) for e in n.elts]
        return _number(n, stripped)

    try:
        data = build(node)
    except RecursionError:
        raise InputError("the list is too deeply nested") from None
    problem = ragged(data)
    if problem:
        raise InputError(problem)
    return data


def ragged(data: Any) -> str | None:
    """PyTorch's message for a ragged nested list, plus where it is ragged; None if regular."""
    sizes: list[int] = []
    seq = data
    while isinstance(seq, list):
        sizes.append(len(seq))
        if not seq:
            break
        seq = seq[0]

    def where(path: Sequence[int]) -> str:
        return "".join(f"[{i}]" for i in path)

    def walk(x: Any, path: list[int]) -> str | None:
        dim = len(path)
        if dim == len(sizes):
            if isinstance(x, list):
                return (
                    f"expected a number at {where(path)} but found a list: the list is ragged "
                    f"(the first item nests {dim} deep)"
                )
            return None
        if not isinstance(x, list):
            return (
                f"expected sequence of length {sizes[dim]} at dim {dim} (got a number): "
                f"{where(path)} is a number where a list of {sizes[dim]} was expected"
            )
        if len(x) != sizes[dim]:
            first = where([*path[:-1], 0]) if path else ""
            return (
                f"expected sequence of length {sizes[dim]} at dim {dim} (got {len(x)}): "
                f"{where(path)} has {len(x)} item{'s' if len(x) != 1 else ''}"
                + (f" but {first} has {sizes[dim]}" if first else "")
            )
        for i, item in enumerate(x):
            msg = walk(item, [*path, i])
            if msg:
                return msg
        return None

    return walk(data, [])


def count_elements(data: Any) -> int:
    n = 1
    while isinstance(data, list):
        n *= len(data)
        if not data:
            break
        data = data[0]
    return n


def parse_ints(
    text: str, what: str, *, allow_negative: bool = False, allow_empty: bool = False
) -> list[int] | None:
    """``2, 3`` / ``(2, 3)`` / ``[2, 3]`` / ``4`` as a list of ints. Empty: None if allowed."""
    if not text.strip():
        if allow_empty:
            return None
        raise InputError(f"type {what}")
    node = _parse(text, what)
    items = node.elts if isinstance(node, (ast.Tuple, ast.List)) else [node]
    out = []
    for item in items:
        v = _number(item, text.strip())
        if isinstance(v, bool) or not isinstance(v, int):
            raise InputError(f"{what} must be whole numbers, not {v!r}")
        out.append(v)
    if not allow_negative:
        bad = [v for v in out if v < 0]
        if bad:
            raise InputError(f"Trying to create tensor with negative dimension {bad[0]}: {out}")
    return out


def shape_text(shape: Sequence[int]) -> str:
    return "[" + ", ".join(str(int(s)) for s in shape) + "]"


def number_text(v: Any) -> str:
    return number_code(v)  # as the code line writes parameters
