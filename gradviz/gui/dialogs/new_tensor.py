"""New tensor: a name, values (a literal, or a constructor with a shape), dtype, requires_grad.

Every field is checked as it is typed; OK stays disabled while anything is wrong, and the message
under the field says what (in PyTorch's words where it has them). The preview is the tensor's
repr, exactly as the console would print it; OK records that very tensor (random values too).
"""

from __future__ import annotations

import math
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
    number_text,
    parse_ints,
    parse_literal,
    parse_number,
)

DTYPES = ("float32", "float64", "float16", "int64", "int32", "bool")
CONSTRUCTORS = ("zeros", "ones", "rand", "randn", "full", "arange", "eye")
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
        self.shape_edit = QLineEdit("2, 3")
        self.shape_edit.setObjectName("shape")
        self.shape_edit.setFont(mono)
        self.shape_edit.setPlaceholderText("e.g. 2, 3   (empty: a scalar)")
        self.fill_edit = QLineEdit("0.5")
        self.fill_edit.setObjectName("fill_value")
        self.fill_edit.setFont(mono)
        self.start_edit = QLineEdit("0")
        self.end_edit = QLineEdit("6")
        self.step_edit = QLineEdit("1")
        for w, n in ((self.start_edit, "start"), (self.end_edit, "end"), (self.step_edit, "step")):
            w.setObjectName(n)
            w.setFont(mono)
        self.n_edit = QLineEdit("3")
        self.n_edit.setObjectName("n")
        self.m_edit = QLineEdit("")
        self.m_edit.setObjectName("m")
        self.m_edit.setPlaceholderText("same as n")
        for w in (self.n_edit, self.m_edit):
            w.setFont(mono)
        self.resample = QPushButton("New sample")
        self.resample.setToolTip("Draw new random values")
        self.ctor_error = ErrorLabel()
        self.ctor_form = QFormLayout()
        self.ctor_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        ctor_row = QHBoxLayout()
        ctor_row.addWidget(self.ctor_combo, 1)
        ctor_row.addWidget(self.resample)
        self.ctor_form.addRow("Function:", ctor_row)
        self.ctor_form.addRow("Shape:", self.shape_edit)
        self.ctor_form.addRow("Fill value:", self.fill_edit)
        self.ctor_form.addRow("Start:", self.start_edit)
        self.ctor_form.addRow("End:", self.end_edit)
        self.ctor_form.addRow("Step:", self.step_edit)
        self.ctor_form.addRow("n (rows):", self.n_edit)
        self.ctor_form.addRow("m (columns):", self.m_edit)
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
        c = self.ctor_combo.currentData()
        rows = {
            self.shape_edit: c in ("zeros", "ones", "rand", "randn", "full"),
            self.fill_edit: c == "full",
            self.start_edit: c == "arange",
            self.end_edit: c == "arange",
            self.step_edit: c == "arange",
            self.n_edit: c == "eye",
            self.m_edit: c == "eye",
        }
        for w, visible in rows.items():
            self.ctor_form.setRowVisible(w, visible)
        self.resample.setVisible(c in ("rand", "randn"))
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
        if c == "full":
            try:
                v = parse_number(self.fill_edit.text())
            except InputError:
                return True
            return E.dtypes.scalar_dtype(v).name != dtype_name
        if c == "arange":
            try:
                vals = [parse_number(w.text()) for w in (self.start_edit, self.end_edit, self.step_edit)]
            except InputError:
                return True
            return ("float32" if any(isinstance(v, float) for v in vals) else "int64") != dtype_name
        return dtype_name != "float32"

    def _values(self, dt: E.dtype) -> tuple[Any, str, int]:
        """(a function making the tensor, the PyTorch call without its closing bracket, numel);
        the function is None when the input is wrong (the field is marked)."""
        c = self.constructor
        if c is None:
            return self._literal_values(dt)
        for w in self._ctor_fields():
            mark(w, None, None)
        mark(self.literal_edit, self.literal_error, None)
        field, message = None, None
        make = None
        call = ""
        numel = 0
        try:
            if c in ("zeros", "ones", "rand", "randn", "full"):
                field = self.shape_edit
                shape = tuple(parse_ints(self.shape_edit.text(), "the shape", allow_empty=True) or ())
                numel = math.prod(shape)
                self.session.check_size(numel)
                shape_args = ", ".join(str(s) for s in shape)
                if c in ("rand", "randn") and not dt.is_floating_point:
                    kernel = "check_uniform_bounds" if c == "rand" else "normal_kernel_cpu"
                    field = self.dtype_combo
                    raise InputError(
                        f"\"{kernel}\" not implemented for '{_SCALAR_TYPE[dt.name]}': {c} draws floating-point "
                        "numbers, so choose a float dtype"
                    )
                if c == "full":
                    field = self.fill_edit
                    fill = parse_number(self.fill_edit.text(), "a fill value")
                    call = f"torch.full(({shape_args}{',' if len(shape) == 1 else ''}), {number_text(fill)}"
                    make = lambda: E.full(shape, fill, dtype=dt)  # noqa: E731
                elif c in ("rand", "randn"):
                    call = f"torch.{c}({shape_args}" if shape else f"torch.{c}(()"
                    make = lambda: self._random(c, shape, dt)  # noqa: E731
                else:
                    call = f"torch.{c}({shape_args}" if shape else f"torch.{c}(()"
                    make = lambda: getattr(E, c)(shape, dtype=dt)  # noqa: E731
            elif c == "arange":
                field = self.start_edit
                start = parse_number(self.start_edit.text(), "a start")
                field = self.end_edit
                end = parse_number(self.end_edit.text(), "an end")
                field = self.step_edit
                step = parse_number(self.step_edit.text(), "a step")
                if step == 0:
                    raise InputError("step must be nonzero")
                if any(isinstance(v, float) and not math.isfinite(v) for v in (start, end, step)):
                    raise InputError(f"unsupported range: {start} -> {end}")
                if (end - start) * step < 0:
                    raise InputError("upper bound and larger bound inconsistent with step sign")
                numel = max(0, math.ceil((end - start) / step))
                self.session.check_size(numel)
                if step == 1:
                    call = (
                        f"torch.arange({number_text(end)}"
                        if start == 0 and not isinstance(start, float)
                        else (f"torch.arange({number_text(start)}, {number_text(end)}")
                    )
                else:
                    call = f"torch.arange({number_text(start)}, {number_text(end)}, {number_text(step)}"
                make = lambda: E.arange(start, end, step, dtype=dt)  # noqa: E731
            elif c == "eye":
                field = self.n_edit
                n_list = parse_ints(self.n_edit.text(), "n") or []
                if len(n_list) != 1:
                    raise InputError("n is one whole number")
                n = n_list[0]
                field = self.m_edit
                m_list = parse_ints(self.m_edit.text(), "m", allow_empty=True)
                if m_list is not None and len(m_list) != 1:
                    raise InputError("m is one whole number, or empty for a square matrix")
                m = m_list[0] if m_list else None
                numel = n * (n if m is None else m)
                self.session.check_size(numel)
                call = f"torch.eye({n}" + (f", {m}" if m is not None else "")
                make = lambda: E.eye(n, m, dtype=dt)  # noqa: E731
        except (InputError, SessionError) as e:
            message = str(e)
        if message:
            mark(field, self.ctor_error, message)
            return None, call, numel
        self.ctor_error.show_message(None)
        return make, call, numel

    def _ctor_fields(self) -> tuple[Any, ...]:
        """The constructor tab's inputs, which an error may mark."""
        return (
            self.shape_edit,
            self.fill_edit,
            self.start_edit,
            self.end_edit,
            self.step_edit,
            self.n_edit,
            self.m_edit,
        )

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

    def _random(self, c: str, shape: tuple[int, ...], dt: E.dtype) -> E.Tensor:
        """One sample per (constructor, shape, dtype), so typing elsewhere keeps the values."""
        key = (c, shape, dt.name)
        if self._sample_key != key or self._sample is None:
            self._sample = getattr(E, c)(shape, dtype=dt)
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
