"""New tensor: a name, values (a literal, or a constructor with a shape), dtype, requires_grad.

Every field is checked as it is typed; OK stays disabled while anything is wrong, and the message
under the field says what (in PyTorch's words where it has them). The preview is the tensor's
repr, exactly as the console would print it; OK records that very tensor (random values too).
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabBar,
    QVBoxLayout,
    QWidget,
)

import gradviz.engine as E  # noqa: N812 - the engine, as elsewhere in gradviz
from gradviz.session.constructors import CONSTRUCTORS as CATALOGUE
from gradviz.session.constructors import Constructor, CtorParam
from gradviz.session.document import Session, SessionError

from ..dtypes import dtype_text
from ._common import (
    PREVIEW_ELEMENTS,
    ErrorLabel,
    InputError,
    Preview,
    ThemedDialog,
    check_name,
    count_elements,
    mark,
    monospace_font,
    parse_ints,
    parse_literal,
    parse_number,
)

DTYPES = ("float32", "float64", "float16", "int64", "int32", "bool")
CONSTRUCTORS = tuple(name for name, c in CATALOGUE.items() if c.dialog)  # in the catalogue's order
_FIELD_NAMES = {"size": "shape"}  # a field's object name, where it isn't PyTorch's parameter name
_SCALAR_TYPE = {d.name: d.scalar_name for d in E.dtypes.ALL}  # the engine's one dtype table
REQUIRES_GRAD_INT = "Only Tensors of floating point and complex dtype can require gradients"


# The values (text, constructor, shape, dtype) the learner last created from, per session, so the
# next New Tensor starts from them, not from the example again; requires_grad starts unticked, as
# torch.tensor's does. Weak: a closed session takes its entry with it.
_LAST_ENTERED: weakref.WeakKeyDictionary[Session, dict[str, Any]] = weakref.WeakKeyDictionary()


def _dtype(name: str) -> E.dtype:
    return E.dtypes.to_dtype(name)


class NewTensorDialog(ThemedDialog):
    """Create a leaf tensor. On accept, ``session.add_leaf`` has recorded it; ``name`` and
    ``code`` (the equivalent PyTorch line) say what was made."""

    EXTRA_CSS = "QLabel#hint, QLabel#code { color: {muted}; }QLabel#sectionTitle { font-weight: bold; }"

    validity_changed = Signal(bool)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("New Tensor")
        self.setObjectName("NewTensorDialog")
        self.setModal(True)
        self._value: E.Tensor | None = None  # the tensor OK will record (None: compute on OK)
        self._sample_key: tuple | None = None  # what the cached random sample was drawn for
        self._sample: E.Tensor | None = None
        self._valid = False
        self._inferred: str | None = None  # the dtype torch.tensor infers for the typed literal
        self._ctor_values: dict[str, Any] | None = None  # the constructor's arguments, once they read
        self.code = ""
        self.name = ""

        mono = monospace_font()

        # name
        self.name_edit = QLineEdit(session.fresh_name("t"))
        self.name_edit.setObjectName("name")
        self.name_edit.setFont(mono)
        self.name_edit.setPlaceholderText("a Python name, e.g. x or w1")
        self.name_error = ErrorLabel()

        # values: a literal, or a constructor
        self.tab_bar = QTabBar()
        self.tab_bar.setObjectName("valuesTabs")
        self.tab_bar.setDrawBase(False)
        self.tab_bar.setExpanding(False)
        self.tab_bar.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.pages: list[QWidget] = []
        literal_page = QWidget()
        self.literal_edit = QLineEdit("[[1., 2.], [3., 4.]]")
        self.literal_edit.setObjectName("literal")
        self.literal_edit.setFont(mono)
        self.literal_edit.setPlaceholderText("4.   or   [1., 2, 3]   or   [[1., 2], [3, 4]]")
        self.literal_edit.setToolTip("A number or nested list, as in torch.tensor(...)")
        self.literal_error = ErrorLabel()
        hint = QLabel("A number or a nested list, written as inside torch.tensor(…).")
        hint.setWordWrap(True)
        hint.setObjectName("hint")
        lit = QVBoxLayout(literal_page)
        lit.setContentsMargins(0, 8, 0, 0)
        lit.addWidget(self.literal_edit)
        lit.addWidget(self.literal_error)
        lit.addWidget(hint)
        self.tab_bar.addTab("&Values")  # Alt+V, Alt+C: the tabs take no Tab stop between Name and Values
        self.pages.append(literal_page)

        ctor_page = QWidget()
        self.ctor_combo = QComboBox()
        self.ctor_combo.setObjectName("constructor")
        for c in CONSTRUCTORS:
            self.ctor_combo.addItem(f"torch.{c}", c)
        # One field per parameter of the catalogue's constructors (shared by name: zeros and full
        # have one Shape), starting from its example or its default.
        self.fields: dict[str, QLineEdit] = {}
        params: list[CtorParam] = []
        for c in CONSTRUCTORS:
            for p in CATALOGUE[c].params:
                if p.name not in self.fields:
                    self.fields[p.name] = _field(p, mono)
                    params.append(p)
        self.shape_edit = self.fields["size"]
        self.fill_edit = self.fields["fill_value"]
        self.start_edit, self.end_edit, self.step_edit = (self.fields[n] for n in ("start", "end", "step"))
        self.n_edit, self.m_edit = self.fields["n"], self.fields["m"]
        self.resample = QPushButton("New sample")
        self.resample.setToolTip("Draw new random values")
        self.ctor_error = ErrorLabel()
        self.ctor_form = QFormLayout()
        self.ctor_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        ctor_row = QHBoxLayout()
        ctor_row.addWidget(self.ctor_combo, 1)
        ctor_row.addWidget(self.resample)
        self.ctor_form.addRow("Function:", ctor_row)
        for p in params:
            self.ctor_form.addRow(p.label, self.fields[p.name])
        ctor = QVBoxLayout(ctor_page)
        ctor.setContentsMargins(0, 8, 0, 0)
        ctor.addLayout(self.ctor_form)
        ctor.addWidget(self.ctor_error)
        self.tab_bar.addTab("&Constructor")
        self.pages.append(ctor_page)

        # dtype and requires_grad
        self.dtype_combo = QComboBox()
        self.dtype_combo.setObjectName("dtype")
        for d in DTYPES:
            self.dtype_combo.addItem(dtype_text(d), d)
        self.requires_grad = QCheckBox("requires_grad")
        self.requires_grad.setObjectName("requires_grad")
        self.requires_grad.setToolTip("Track operations on this tensor so backward() can compute its .grad")
        self.grad_error = ErrorLabel()

        # preview and the equivalent code
        self.preview = Preview(lines=4)
        self.preview.setObjectName("preview")
        self.code_label = QLabel()
        self.code_label.setObjectName("code")
        self.code_label.setFont(mono)
        self.code_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.code_label.setWordWrap(True)
        self.accept_error = ErrorLabel()

        self._ok_cancel("Create")

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        name_box = QVBoxLayout()
        name_box.setSpacing(2)
        name_box.addWidget(self.name_edit)
        name_box.addWidget(self.name_error)
        form.addRow("Name:", name_box)
        values_box = QVBoxLayout()
        values_box.setSpacing(0)
        values_box.addWidget(self.tab_bar)
        for page in self.pages:
            values_box.addWidget(page)
        form.addRow("Values:", values_box)
        dtype_box = QVBoxLayout()
        dtype_box.setSpacing(2)
        dtype_row = QHBoxLayout()
        dtype_row.addWidget(self.dtype_combo, 1)
        dtype_row.addSpacing(12)
        dtype_row.addWidget(self.requires_grad)
        dtype_box.addLayout(dtype_row)
        dtype_box.addWidget(self.grad_error)
        form.addRow("dtype:", dtype_box)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        preview_title = QLabel("Preview")
        preview_title.setObjectName("sectionTitle")
        layout.addWidget(preview_title)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.code_label)
        layout.addWidget(self.accept_error)
        layout.addWidget(self.buttons)
        self._restyle()

        for w in (self.name_edit, self.literal_edit, *self._ctor_fields()):
            w.textChanged.connect(self.refresh)
        self.ctor_combo.currentIndexChanged.connect(self._constructor_changed)
        self.dtype_combo.currentIndexChanged.connect(self.refresh)
        self.requires_grad.toggled.connect(self.refresh)
        self.tab_bar.currentChanged.connect(self._tab_changed)
        self.resample.clicked.connect(self._new_sample)
        self._recall(_LAST_ENTERED.get(session, {}))
        self._constructor_changed()
        self._tab_changed(self.tab_bar.currentIndex())
        self._tab_in_order(
            self.name_edit,
            self.literal_edit,
            self.ctor_combo,
            self.resample,
            *self._ctor_fields(),
            self.dtype_combo,
            self.requires_grad,
        )
        self.resize(540, 470)
        self.name_edit.selectAll()
        self.name_edit.setFocus()

    # --- look --------------------------------------------------------------------------------------

    # --- memory of the last tensor made -------------------------------------------------------------
    def _typed_fields(self) -> dict[str, QLineEdit]:
        return {w.objectName(): w for w in (self.literal_edit, *self._ctor_fields())}

    def _remember(self) -> None:
        _LAST_ENTERED[self.session] = {
            "tab": self.tab_bar.currentIndex(),
            "constructor": self.ctor_combo.currentData(),
            "dtype": self.dtype_combo.currentData(),
            "texts": {key: w.text() for key, w in self._typed_fields().items()},
        }

    def _recall(self, last: dict[str, Any]) -> None:
        if not last:
            return
        for key, text in last["texts"].items():
            self._typed_fields()[key].setText(text)
        self.ctor_combo.setCurrentIndex(CONSTRUCTORS.index(last["constructor"]))
        self.dtype_combo.setCurrentIndex(DTYPES.index(last["dtype"]))
        self.tab_bar.setCurrentIndex(last["tab"])

    # --- state -------------------------------------------------------------------------------------
    @property
    def constructor(self) -> str | None:
        """The constructor in use, or None for a typed literal."""
        return self.ctor_combo.currentData() if self.tab_bar.currentIndex() == 1 else None

    @property
    def valid(self) -> bool:
        return self._valid

    def set_constructor(self, name: str) -> None:
        self.tab_bar.setCurrentIndex(1)
        self.ctor_combo.setCurrentIndex(CONSTRUCTORS.index(name))

    def _constructor_changed(self) -> None:
        ctor = CATALOGUE[self.ctor_combo.currentData()]
        used = {p.name for p in ctor.params}
        for name, w in self.fields.items():
            self.ctor_form.setRowVisible(w, name in used)
        self.resample.setVisible(ctor.random)
        self.refresh()

    def _tab_changed(self, index: int) -> None:
        """Show the page of the tab (hidden pages take no room)."""
        for i, page in enumerate(self.pages):
            page.setVisible(i == index)
        self.refresh()

    def _new_sample(self) -> None:
        self._sample_key = None
        self.refresh()

    # --- validation and preview ------------------------------------------------------------------------
    def refresh(self) -> None:
        """Check every field, mark what is wrong, update the preview and the OK button."""
        self._value = None
        dtype_name = self.dtype_combo.currentData()
        dt = _dtype(dtype_name)
        rg = self.requires_grad.isChecked()

        # name
        name = self.name_edit.text().strip()
        try:
            if not name:
                raise SessionError("type a name for the tensor")
            check_name(self.session, name)
            mark(self.name_edit, self.name_error, None)
            name_ok = True
        except SessionError as e:
            mark(self.name_edit, self.name_error, str(e))
            name_ok = False

        # requires_grad needs a floating dtype
        grad_ok = not (rg and not dt.is_floating_point)
        message = None if grad_ok else f"{REQUIRES_GRAD_INT} (choose a float dtype, or untick requires_grad)"
        mark(self.requires_grad, self.grad_error, message)
        mark(self.dtype_combo, None, None if grad_ok else REQUIRES_GRAD_INT)

        # values
        make, call, numel = self._values(dt)
        kw = (f", dtype=torch.{dtype_name}" if self._explicit_dtype(dtype_name) else "") + (
            ", requires_grad=True" if rg else ""
        )
        self.code = f"{name or '?'} = {call}{kw})" if call else ""
        self.code_label.setText(self.code)

        values_ok = make is not None and grad_ok
        if values_ok and numel <= PREVIEW_ELEMENTS:
            try:
                t = make()
                if rg:
                    t.requires_grad_(True)
                self._value = t
                self.preview.show_text(repr(t))
            except (RuntimeError, ValueError, TypeError, OverflowError) as e:
                self.preview.show_text(str(e), error=True)
                values_ok = False
        elif values_ok:
            self.preview.show_text(
                f"{numel:,} elements of {dtype_text(dtype_name)}: the values are made when you press Create.",
                muted=True,
            )
        else:
            self.preview.show_text("Fix the field marked in red to see the tensor.", muted=True)
        self.accept_error.show_message(None)
        self._set_valid(name_ok and values_ok)

    def _set_valid(self, ok: bool) -> None:
        self.ok_button.setEnabled(ok)
        if ok != self._valid:
            self._valid = ok
            self.validity_changed.emit(ok)

    def _explicit_dtype(self, dtype_name: str) -> bool:
        """Whether the code line needs ``dtype=``: only when PyTorch would infer another."""
        c = self.constructor
        if c is None:
            return (self._inferred or "float32") != dtype_name
        if self._ctor_values is None:
            return True  # no code line is shown then
        return CATALOGUE[c].default_dtype(self._ctor_values) != dtype_name

    def _values(self, dt: E.dtype) -> tuple[Any, str, int]:
        """(a function making the tensor, the PyTorch call without its closing bracket, numel);
        the function is None when the input is wrong (the field is marked)."""
        c = self.constructor
        if c is None:
            return self._literal_values(dt)
        for w in self._ctor_fields():
            mark(w, None, None)
        mark(self.literal_edit, self.literal_error, None)
        ctor = CATALOGUE[c]
        self._ctor_values = None
        field: QWidget | None = None
        values: dict[str, Any] = {}
        numel = 0
        try:
            for p in ctor.params:
                field = self.fields[p.name]
                values[p.name] = _parse_param(p, field.text())
            numel = ctor.count(values)  # PyTorch's error for a range it refuses (arange, eye)
            self.session.check_size(numel)
            if ctor.random and not dt.is_floating_point:
                kernel = "check_uniform_bounds" if c == "rand" else "normal_kernel_cpu"
                field = self.dtype_combo
                raise InputError(
                    f"\"{kernel}\" not implemented for '{_SCALAR_TYPE[dt.name]}': {c} draws floating-point "
                    "numbers, so choose a float dtype"
                )
        except (InputError, SessionError, RuntimeError) as e:
            mark(field, self.ctor_error, str(e))
            return None, "", numel
        self.ctor_error.show_message(None)
        self._ctor_values = values
        call = f"torch.{c}({ctor.args_code(values)}"
        if ctor.random:
            return (lambda: self._random(ctor, values, dt)), call, numel
        return (lambda: ctor.make(values, dtype=dt)), call, numel

    def _ctor_fields(self) -> tuple[Any, ...]:
        """The constructor tab's inputs, which an error may mark."""
        return tuple(self.fields.values())

    def _literal_values(self, dt: E.dtype) -> tuple[Any, str, int]:
        for w in self._ctor_fields():
            mark(w, None, None)
        self.ctor_error.show_message(None)
        text = self.literal_edit.text()
        self._inferred = None
        try:
            data = parse_literal(text)
            numel = count_elements(data)
            self.session.check_size(numel)
        except (InputError, SessionError) as e:
            mark(self.literal_edit, self.literal_error, str(e))
            return None, "", 0
        mark(self.literal_edit, self.literal_error, None)
        try:  # what torch.tensor would infer, to say dtype= only when it differs
            self._inferred = E.tensor(data).dtype.name if numel <= PREVIEW_ELEMENTS else None
        except (ValueError, TypeError, RuntimeError, OverflowError):
            self._inferred = None
        call = f"torch.tensor({text.strip()}"
        return (lambda: E.tensor(data, dtype=dt)), call, numel

    def _random(self, ctor: Constructor, values: dict[str, Any], dt: E.dtype) -> E.Tensor:
        """One sample per (constructor, arguments, dtype), so typing elsewhere keeps the values."""
        key = (ctor.name, tuple(values.items()), dt.name)
        if self._sample_key != key or self._sample is None:
            self._sample = ctor.make(values, dtype=dt)
            self._sample_key = key
        return self._sample.detach().clone()

    # --- accept ------------------------------------------------------------------------------------------
    def accept(self) -> None:
        self.refresh()
        if not self._valid:
            return
        name = self.name_edit.text().strip()
        dt_name = self.dtype_combo.currentData()
        rg = self.requires_grad.isChecked()
        try:
            value = self._value
            if value is None:  # too large to have been made for the preview
                make, _, _ = self._values(_dtype(dt_name))
                value = make()
            arr = value.detach().numpy() if isinstance(value, E.Tensor) else np.asarray(value)
            self.session.add_leaf(name, arr, dt_name, rg, self.code.split(" = ", 1)[1] if self.code else "")
        except (SessionError, RuntimeError, ValueError, TypeError, MemoryError) as e:
            self.accept_error.show_message(str(e))
            return
        self.name = name
        self._remember()
        super().accept()


def _field(p: CtorParam, font: Any) -> QLineEdit:
    w = QLineEdit(p.example or ("" if p.default is None else p.code(p.default)))
    w.setObjectName(_FIELD_NAMES.get(p.name, p.name))
    w.setFont(font)
    if p.hint:
        w.setPlaceholderText(p.hint)
    return w


def _parse_param(p: CtorParam, text: str) -> Any:
    """A field's text as the constructor's argument, or InputError saying what is wrong."""
    if p.kind == "size":
        return tuple(parse_ints(text, p.what, allow_empty=True) or ())
    if p.kind == "number":
        return parse_number(text, p.what)
    # an int: n (and m, which may be left empty)
    ints = parse_ints(text, p.what, allow_empty=not p.required)
    if ints is None:
        return p.default
    if len(ints) != 1:
        raise InputError(f"{p.what} is one whole number" + (f", or empty for {p.empty}" if p.empty else ""))
    return ints[0]
