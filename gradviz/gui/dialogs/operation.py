"""Operation: pick an op from the catalogue, its operands and parameters, and name the result.

The dialog reads the one catalogue (``gradviz.session.catalogue``), so every op the console knows
is here, grouped by category and searchable. While you choose, it runs the op on the current
tensors and previews the result's shape, dtype and value, or PyTorch's error; OK stays disabled
while there is an error. OK records the op with ``session.apply``.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

import gradviz.engine as E  # noqa: N812 - the engine, as elsewhere in gradviz
from gradviz.engine import Tensor
from gradviz.session import catalogue
from gradviz.session.catalogue import OpSpec, Param
from gradviz.session.document import Session, SessionError
from gradviz.session.op_code import op_code

from ..dtypes import dtype_text
from ..plain import plain_labels, plain_tip
from ._common import (
    PREVIEW_ELEMENTS,
    ErrorLabel,
    InputError,
    Preview,
    ThemedDialog,
    check_name,
    mark,
    monospace_font,
    number_text,
    parse_ints,
    parse_number,
    shape_text,
)

CATEGORY_TITLES = {
    "arithmetic": "Arithmetic",
    "math": "Elementwise maths",
    "activation": "Activations",
    "reduction": "Reductions",
    "linear algebra": "Linear algebra",
    "shape": "Shape and indexing",
    "autograd": "Autograd",
    "dtype": "dtype",
    "comparison": "Comparisons",
    "nn": "Neural network",
    "loss": "Losses",
}
PREVIEW_GRAD_ELEMENTS = 1_000_000  # inputs larger than this are previewed under no_grad


def operand_labels(spec: OpSpec) -> list[str]:
    """The operand slots' labels: PyTorch's names for them, as the derivative text uses."""
    count = 2 if spec.arity is None and spec.operand_list else len(spec.operand_names[: spec.arity])
    return [spec.operand_name(i) for i in range(count)]


def parse_index(text: str, names: Sequence[str]) -> tuple[list[Any], list[str]]:
    """``0, 1:3, None, ..., [0, 2], mask`` as the catalogue's index items, plus the tensors it
    names (extra operands, referred to as ``{"operand": k}``, k counting from 1)."""
    if not text.strip():
        raise InputError("type an index, for example 0   or   :, 1   or   1:3")
    try:
        tree = ast.parse(f"_[{text}]", "<index>", "eval").body
    except SyntaxError as e:
        raise InputError(f"invalid syntax: {e.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise InputError("the index is too deeply nested") from None
    assert isinstance(tree, ast.Subscript)
    nodes = tree.slice.elts if isinstance(tree.slice, ast.Tuple) else [tree.slice]
    items: list[Any] = []
    extra: list[str] = []

    def integer(n: ast.expr | None) -> int | None:
        if n is None:
            return None
        v = parse_number(ast.unparse(n))
        if isinstance(v, bool) or not isinstance(v, int):
            raise InputError(f"slice indices must be integers or None, not {type(v).__name__}")
        return v

    for n in nodes:
        if isinstance(n, ast.Constant) and n.value is None:
            items.append(None)
        elif isinstance(n, ast.Constant) and n.value is Ellipsis:
            items.append("...")
        elif isinstance(n, ast.Slice):
            items.append({"slice": [integer(n.lower), integer(n.upper), integer(n.step)]})
        elif isinstance(n, ast.List):
            vals = [parse_number(ast.unparse(e)) for e in n.elts]
            if not all(isinstance(v, (int, bool)) for v in vals):
                raise InputError("a list index holds only whole numbers or True/False")
            if vals and any(isinstance(v, bool) for v in vals) and not all(isinstance(v, bool) for v in vals):
                raise InputError("a list index can't mix bools and ints")
            items.append({"list": vals})
        elif isinstance(n, ast.Name) and n.id not in ("True", "False", "nan", "inf"):
            if n.id not in names:
                raise InputError(f"name '{n.id}' is not defined")
            if n.id not in extra:
                extra.append(n.id)
            items.append({"operand": extra.index(n.id) + 1})
        else:
            v = parse_number(ast.unparse(n))
            if isinstance(v, bool) or not isinstance(v, int):
                raise InputError(
                    "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid indices"
                )
            items.append(v)
    return items, extra


class _OperandRow(QWidget):
    """One operand: a tensor name from a list, or (where the op allows) a typed number."""

    changed = Signal()
    remove = Signal(object)

    def __init__(
        self, label: str, names: Sequence[str], scalars: bool, removable: bool, optional: bool = False
    ) -> None:
        super().__init__()
        self.scalars = scalars
        self.optional = optional
        self.label = QLabel(f"{label}:")
        self.combo = QComboBox()
        self.combo.setEditable(scalars)
        self.combo.setObjectName(f"operand_{label}")
        self.combo.setFont(monospace_font())
        self.combo.setMinimumContentsLength(8)
        if optional:
            self.combo.addItem("(none)", None)
        for n in names:
            self.combo.addItem(n, n)
        if scalars:
            self.combo.lineEdit().setPlaceholderText("a tensor or a number")
            self.combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.info = QLabel()
        self.info.setObjectName("operandInfo")
        plain_labels(self)  # a row added after the dialog is shown
        self.error = ErrorLabel()
        self.remove_button = QToolButton()
        self.remove_button.setText("−")
        self.remove_button.setToolTip("Remove this operand")
        self.remove_button.setVisible(removable)
        self.remove_button.clicked.connect(lambda: self.remove.emit(self))
        self.combo.currentTextChanged.connect(lambda _t: self.changed.emit())
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(2)
        grid.addWidget(self.combo, 0, 0)
        grid.addWidget(self.info, 0, 1)
        grid.addWidget(self.remove_button, 0, 2)
        grid.addWidget(self.error, 1, 0, 1, 3)
        grid.setColumnStretch(0, 2)
        grid.setColumnStretch(1, 3)

    def text(self) -> str:
        return self.combo.currentText().strip()

    def set_text(self, text: str) -> None:
        i = self.combo.findText(text)
        if i >= 0:
            self.combo.setCurrentIndex(i)
        elif self.scalars:
            self.combo.setEditText(text)


class OperationDialog(ThemedDialog):
    """Record ``name = op(operands, **params)``. ``selected`` pre-fills the first operand;
    ``op`` pre-selects an operation. After accept, ``name`` and ``code`` say what was made."""

    EXTRA_CSS = "QLabel#code, QLabel#operandInfo { color: {muted}; }QLabel#sectionTitle { font-weight: bold; margin-top: 6px; }"

    def __init__(
        self,
        session: Session,
        parent: QWidget | None = None,
        selected: str | None = None,
        op: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Operation")
        self.setObjectName("OperationDialog")
        self.setModal(True)
        self.spec: OpSpec | None = None
        self.rows: list[_OperandRow] = []
        self.param_widgets: dict[str, tuple[Param, QWidget, ErrorLabel]] = {}
        self._valid = False
        self._selected = selected if selected in session.names() else None
        self.name = ""
        self.code = ""
        self.result: Tensor | None = None  # the previewed result

        # left: the catalogue
        self.search = QLineEdit()
        self.search.setObjectName("search")
        self.search.setPlaceholderText("Search operations…")
        self.search.setClearButtonEnabled(True)
        self.tree = QTreeWidget()
        self.tree.setObjectName("ops")
        self.tree.setHeaderHidden(True)
        self.tree.setColumnCount(2)
        self.tree.setRootIsDecorated(False)
        self.tree.setIndentation(10)
        self.tree.setUniformRowHeights(True)
        self.tree.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.tree.header().setStretchLastSection(False)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.items: dict[str, QTreeWidgetItem] = {}
        self.categories: dict[str, QTreeWidgetItem] = {}
        mono = monospace_font()
        for spec in catalogue.OPS:
            cat = self.categories.get(spec.category)
            if cat is None:
                cat = QTreeWidgetItem([CATEGORY_TITLES.get(spec.category, spec.category.capitalize()), ""])
                cat.setFlags(Qt.ItemFlag.ItemIsEnabled)
                f = cat.font(0)
                f.setBold(True)
                cat.setFont(0, f)
                cat.setFirstColumnSpanned(True)
                self.tree.addTopLevelItem(cat)
                self.categories[spec.category] = cat
            item = QTreeWidgetItem(
                [spec.name, self._formula(spec) if spec.symbol or spec.name in ("T", "index") else ""]
            )
            item.setData(0, Qt.ItemDataRole.UserRole, spec.name)
            item.setFont(0, mono)
            item.setFont(1, mono)
            item.setToolTip(0, plain_tip(spec.derivative))  # formulas hold < and >
            item.setToolTip(1, plain_tip(spec.derivative))
            cat.addChild(item)
            self.items[spec.name] = item
        self.tree.expandAll()
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.search)
        lv.addWidget(self.tree, 1)

        # right: the chosen op
        self.title = QLabel()
        self.title.setObjectName("opTitle")
        self.title.setFont(monospace_font(3))
        self.subtitle = QLabel()
        self.subtitle.setObjectName("opDerivative")
        self.subtitle.setWordWrap(True)
        self.operands_box = QVBoxLayout()
        self.operands_box.setSpacing(6)
        self.add_operand = QPushButton("Add operand")
        self.add_operand.setObjectName("addOperand")
        self.add_operand.clicked.connect(lambda: self._add_row(removable=True))
        self.params_form = QFormLayout()
        self.params_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.name_edit = QLineEdit(session.fresh_name("t"))
        self.name_edit.setObjectName("name")
        self.name_edit.setFont(mono)
        self.name_error = ErrorLabel()
        self.summary = QLabel()
        self.summary.setObjectName("summary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.preview = Preview(lines=6)
        self.preview.setObjectName("preview")
        self.code_label = QLabel()
        self.code_label.setObjectName("code")
        self.code_label.setFont(mono)
        self.code_label.setWordWrap(True)
        self.code_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.accept_error = ErrorLabel()

        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(8, 0, 0, 0)
        rv.addWidget(self.title)
        rv.addWidget(self.subtitle)
        rv.addSpacing(6)
        self.operands_title = QLabel("Operands")
        self.operands_title.setObjectName("sectionTitle")
        rv.addWidget(self.operands_title)
        self.operands_widget = QWidget()
        ow = QVBoxLayout(self.operands_widget)
        ow.setContentsMargins(0, 0, 0, 0)
        self.operands_form = QFormLayout()
        self.operands_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        ow.addLayout(self.operands_form)
        add_row = QHBoxLayout()
        add_row.addStretch(1)
        add_row.addWidget(self.add_operand)
        ow.addLayout(add_row)
        rv.addWidget(self.operands_widget)
        self.params_title = QLabel("Parameters")
        self.params_title.setObjectName("sectionTitle")
        rv.addWidget(self.params_title)
        self.params_widget = QWidget()
        self.params_widget.setLayout(self.params_form)
        self.params_form.setContentsMargins(0, 0, 0, 0)
        rv.addWidget(self.params_widget)
        out_form = QFormLayout()
        name_box = QVBoxLayout()
        name_box.setSpacing(2)
        name_box.addWidget(self.name_edit)
        name_box.addWidget(self.name_error)
        result_title = QLabel("Result")
        result_title.setObjectName("sectionTitle")
        rv.addWidget(result_title)
        out_form.addRow("Name:", name_box)
        rv.addLayout(out_form)
        rv.addWidget(self.summary)
        rv.addWidget(self.preview, 1)
        rv.addWidget(self.code_label)
        rv.addWidget(self.accept_error)

        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([230, 470])
        splitter.setChildrenCollapsible(False)

        self._ok_cancel("Apply")
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.buttons)
        self._restyle()

        self.search.textChanged.connect(self._filter)
        self.search.installEventFilter(self)
        self.tree.currentItemChanged.connect(self._item_changed)
        self.name_edit.textChanged.connect(self.refresh)
        self.resize(780, 500)
        self.set_op(op if op in catalogue.CATALOGUE else "mul")
        self.search.setFocus()

    # --- look --------------------------------------------------------------------------------------

    def eventFilter(self, obj: Any, event: Any) -> bool:
        """Enter or Down in the search field goes on to the first operand (it doesn't apply)."""
        if (
            obj is self.search
            and event.type() == event.Type.KeyPress
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Down)
        ):
            self._pick_first_visible()
            if event.key() == Qt.Key.Key_Down:
                self.tree.setFocus()
            elif self.rows:
                self.rows[0].combo.setFocus()
            return True
        return super().eventFilter(obj, event)

    @staticmethod
    def _formula(spec: OpSpec) -> str:
        labels = operand_labels(spec)
        if spec.name == "neg":
            return f"-{labels[0]}"
        if spec.symbol and len(labels) == 2:
            return f"{labels[0]} {spec.symbol} {labels[1]}"
        if spec.name == "T":
            return f"{labels[0]}.T"
        if spec.name == "index":
            return f"{labels[0]}[…]"
        if spec.operand_list:
            return f"{spec.name}({spec.operand_names[0]})"
        return f"{spec.name}({', '.join(labels)})"

    # --- choosing the op -------------------------------------------------------------------------------
    def _filter(self, text: str) -> None:
        q = text.strip().lower()
        for cat_name, cat in self.categories.items():
            shown = 0
            for i in range(cat.childCount()):
                item = cat.child(i)
                spec = catalogue.get(item.data(0, Qt.ItemDataRole.UserRole))
                hay = " ".join(
                    [
                        spec.name,
                        *spec.aliases,
                        spec.category,
                        spec.symbol or "",
                        CATEGORY_TITLES.get(cat_name, ""),
                    ]
                ).lower()
                visible = not q or q in hay
                item.setHidden(not visible)
                shown += visible
            cat.setHidden(shown == 0)
        current = self.tree.currentItem()
        if current is None or current.isHidden():
            self._pick_first_visible()

    def _pick_first_visible(self) -> None:
        for cat in self.categories.values():
            if cat.isHidden():
                continue
            for i in range(cat.childCount()):
                if not cat.child(i).isHidden():
                    self.tree.setCurrentItem(cat.child(i))
                    return

    def _item_changed(self, item: QTreeWidgetItem | None, _prev: QTreeWidgetItem | None) -> None:
        if item is None:
            return
        name = item.data(0, Qt.ItemDataRole.UserRole)
        if name and (self.spec is None or self.spec.name != name):
            self._build(catalogue.get(name))

    def set_op(self, name: str) -> None:
        """Select the op ``name`` (as clicking it in the list would)."""
        spec = catalogue.get(name)
        item = self.items[spec.name]
        if self.tree.currentItem() is item:
            return
        self.tree.setCurrentItem(item)
        if self.spec is None or self.spec.name != spec.name:
            self._build(spec)

    def _build(self, spec: OpSpec) -> None:
        """Make the operand and parameter fields for ``spec``, keeping operands already chosen."""
        previous = [r.text() for r in self.rows]
        self.spec = spec
        formula = self._formula(spec)
        self.title.setText(formula if formula.startswith(f"{spec.name}(") else f"{spec.name}   {formula}")
        alias = f"   (also: {', '.join(spec.aliases)})" if spec.aliases else ""
        self.subtitle.setText(f"Local derivative: {spec.derivative}{alias}")
        # operands
        while self.operands_form.rowCount():
            self.operands_form.removeRow(0)
        self.rows = []
        labels = operand_labels(spec)
        for i, label in enumerate(labels):
            self._add_row(label=label, optional=i >= len(labels) - len(spec.optional_operands))
        self.add_operand.setVisible(spec.operand_list)  # cat, stack: as many as you like
        names = self.session.names()
        defaults = self._default_operands(len(self.rows), names)
        for i, row in enumerate(self.rows):
            if i < len(previous) and previous[i] and (previous[i] in names or row.scalars):
                row.set_text(previous[i])
            elif i < len(defaults):
                row.set_text(defaults[i])
        # parameters
        while self.params_form.rowCount():
            self.params_form.removeRow(0)
        self.param_widgets = {}
        for p in spec.params:
            self._add_param(p)
        self.params_title.setVisible(bool(spec.params))
        self.params_widget.setVisible(bool(spec.params))
        self._tab_in_visual_order()
        self.refresh()

    def _tab_in_visual_order(self) -> None:
        """The operand and parameter fields are made per op, after the name field: put them
        back where they are on screen."""
        rows = [w for r in self.rows for w in (r.combo, r.remove_button)]
        params = [w for _, w, _ in self.param_widgets.values()]
        self._tab_in_order(self.search, self.tree, *rows, self.add_operand, *params, self.name_edit)

    def _default_operands(self, n: int, names: list[str]) -> list[str]:
        if not names:
            return []
        first = self._selected or names[0]
        others = [x for x in names if x != first]
        out = [first]
        for i in range(1, n):
            out.append(others[(i - 1) % len(others)] if others else first)
        if self.spec is not None:
            for i in range(n - len(self.spec.optional_operands), n):
                out[i] = "(none)"  # an optional operand (linear's bias) starts left out
        return out

    def _add_row(
        self, label: str | None = None, removable: bool = False, optional: bool = False
    ) -> _OperandRow:
        spec = self.spec
        assert spec is not None
        label = label or spec.operand_name(len(self.rows))
        row = _OperandRow(label, self.session.names(), spec.scalar_operands, removable, optional)
        row.changed.connect(self.refresh)
        row.remove.connect(self._remove_row)
        self.rows.append(row)
        self.operands_form.addRow(row.label, row)
        if removable:
            self._tab_in_visual_order()
            names = self.session.names()
            if names:
                row.set_text(names[(len(self.rows) - 1) % len(names)])
            self.refresh()
        return row

    def _remove_row(self, row: _OperandRow) -> None:
        if row in self.rows and len(self.rows) > 1:
            self.rows.remove(row)
            self.operands_form.removeRow(row)
            for i, r in enumerate(self.rows):
                if self.spec is not None and self.spec.operand_list:
                    r.label.setText(f"{self.spec.operand_name(i)}:")
            self.refresh()

    def _add_param(self, p: Param) -> None:
        default = None if p.required else p.default
        w: QWidget
        if p.kind == "bool":
            w = QCheckBox()
            w.setChecked(bool(default))
            w.toggled.connect(self.refresh)
        elif p.kind in ("int", "dim"):
            w = QSpinBox()
            w.setRange(-64 if p.kind == "dim" else -(10**9), 64 if p.kind == "dim" else 10**9)
            w.setValue(int(default or 0))
            w.valueChanged.connect(self.refresh)
        elif p.kind == "choice":
            w = QComboBox()
            for c in p.choices:
                w.addItem(dtype_text(c) if p.name == "dtype" else c, c)
            if default in p.choices:
                w.setCurrentIndex(p.choices.index(default))
            w.currentIndexChanged.connect(self.refresh)
        else:  # number, float, dims, shape, optional_int, index: typed
            w = QLineEdit()
            w.setFont(monospace_font())
            if p.kind == "shape":
                w.setText("-1")
                w.setPlaceholderText("e.g. 2, 3   (-1: infer that size)")
            elif p.kind == "index":
                w.setText("0")
                w.setPlaceholderText("e.g. 0   or   :, 1   or   1:3, None")
            elif p.kind == "dims":
                w.setPlaceholderText("None (all dims)   or   0   or   0, 1")
            elif p.kind == "optional_int":
                w.setPlaceholderText(
                    "None (all dims)"
                    if p.name == "dim" and self.spec and self.spec.category == "reduction"
                    else "None"
                )
            else:
                w.setPlaceholderText("None" if default is None else "a number")
                if default is not None:
                    w.setText(number_text(default))
            w.textChanged.connect(self.refresh)
        w.setObjectName(f"param_{p.name}")
        if p.help:
            w.setToolTip(p.help)
        err = ErrorLabel()
        box = QVBoxLayout()
        box.setSpacing(2)
        if isinstance(w, QCheckBox):
            box.addWidget(
                w, 0, Qt.AlignmentFlag.AlignLeft
            )  # sized to the box, so a click anywhere on it hits
        else:
            box.addWidget(w)
        box.addWidget(err)
        self.params_form.addRow(f"{p.name}:", box)
        self.param_widgets[p.name] = (p, w, err)

    # --- reading the fields ------------------------------------------------------------------------------
    def param_value(self, name: str) -> Any:
        p, w, _ = self.param_widgets[name]
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if isinstance(w, QSpinBox):
            return w.value()
        if isinstance(w, QComboBox):
            return w.currentData()
        text = w.text()
        if p.kind == "shape":
            return parse_ints(text, "a shape", allow_negative=True)
        if p.kind == "dims":
            return parse_ints(text, "dims", allow_negative=True, allow_empty=True)
        if p.kind == "optional_int":
            v = parse_ints(text, p.name, allow_negative=True, allow_empty=True)
            if v is not None and len(v) != 1:
                raise InputError(f"{p.name} is one whole number, or empty for None")
            return None if v is None else v[0]
        if p.kind == "index":
            return parse_index(text, self.session.names())
        if not text.strip():
            if p.default is None:
                return None
            raise InputError("type a number")
        v = parse_number(text)
        if p.kind == "int" and (isinstance(v, bool) or not isinstance(v, int)):
            raise InputError(f"{p.name} must be a whole number")
        return v

    # --- validation and preview ----------------------------------------------------------------------------
    @property
    def valid(self) -> bool:
        return self._valid

    def refresh(self) -> None:
        spec = self.spec
        if spec is None:
            return
        ok = True
        self.result = None
        names = self.session.names()

        name = self.name_edit.text().strip()
        try:
            if not name:
                raise SessionError("type a name for the result")
            check_name(self.session, name)
            mark(self.name_edit, self.name_error, None)
        except SessionError as e:
            mark(self.name_edit, self.name_error, str(e))
            ok = False

        # operands
        args: list[Any] = []
        texts: list[str] = []
        for row in self.rows:
            text = row.text()
            message = None
            if row.optional and (text in ("", "(none)")):
                row.info.setText("")
                mark(row.combo, row.error, None)
                continue
            if text in names:
                t = self.session.tensor(text)
                args.append(text)
                texts.append(text)
                rg = " · requires_grad" if t.requires_grad else ""
                row.info.setText(f"{shape_text(t.shape)} {dtype_text(t.dtype)}{rg}")
            elif not text:
                message = "choose a tensor" + (" or type a number" if row.scalars else "")
            elif row.scalars:
                try:
                    v = parse_number(text)
                    args.append(v)
                    texts.append(number_text(v))
                    row.info.setText(f"a Python {type(v).__name__}")
                except InputError:
                    message = (
                        f"name '{text}' is not defined"
                        if text.isidentifier()
                        else f"{text!r} is neither a tensor nor a number"
                    )
            else:
                message = f"name '{text}' is not defined"
            if message:
                row.info.setText("")
                ok = False
                texts.append(text or "?")  # the code line shows what was typed, never drops it
            mark(row.combo, row.error, message)

        # parameters
        params: dict[str, Any] = {}
        index_text = ""
        for pname, (p, w, err) in self.param_widgets.items():
            try:
                v = self.param_value(pname)
                if p.kind == "index":
                    items, extra = v
                    params[pname] = items
                    args.extend(extra)
                    index_text = w.text().strip()
                else:
                    params[pname] = v
                mark(w, err, None)
            except InputError as e:
                mark(w, err, str(e))
                ok = False

        self.code = f"{name or '?'} = {op_code(spec, texts, params, index_text)}"
        self.code_label.setText(self.code)
        self._args, self._params = args, params

        if not names:
            self._show_error("There are no tensors yet: create one with New Tensor first.", muted=True)
            ok = False
        elif ok:
            ok = self._evaluate(spec, args, params) and ok
        else:
            self._show_error("Fix the field marked in red to see the result.", muted=True)
        self.accept_error.show_message(None)
        self._valid = ok
        self.ok_button.setEnabled(ok)

    def _show_error(self, text: str, muted: bool = False) -> None:
        self.summary.setText("")
        self.summary.setVisible(False)
        self.preview.show_text(text, error=not muted, muted=muted)

    def _evaluate(self, spec: OpSpec, args: list[Any], params: dict[str, Any]) -> bool:
        """Run the op on the current tensors; show the result or PyTorch's error."""
        values = [self.session.tensor(a) if isinstance(a, str) else a for a in args]
        if not any(isinstance(v, Tensor) for v in values):
            self._show_error(
                f"{spec.name}(): argument 'input' (position 1) must be Tensor, not {type(values[0]).__name__}"
            )
            return False
        full = {**spec.defaults(), **params}
        try:
            self.session.check_op(spec, values, full)
            big = sum(v.numel() for v in values if isinstance(v, Tensor)) > PREVIEW_GRAD_ELEMENTS
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                if big:
                    with E.no_grad():
                        out = spec.fn(*values, **full)
                else:
                    out = spec.fn(*values, **full)
        except SessionError as e:
            self._show_error(str(e))
            return False
        except MemoryError:
            self._show_error("not enough memory for this result")
            return False
        except (RuntimeError, ValueError, TypeError, IndexError, ZeroDivisionError, OverflowError) as e:
            self._show_error(str(e) or type(e).__name__)
            return False
        self.result = out
        rg = out.requires_grad or (
            big
            and out.dtype.is_floating_point
            and spec.name != "detach"
            and any(isinstance(v, Tensor) and v.requires_grad for v in values)
        )
        parts = [f"shape {shape_text(out.shape)}", dtype_text(out.dtype)]
        if rg:
            parts.append("requires_grad")
        if out.grad_fn is not None:
            parts.append(f"grad_fn=<{out.grad_fn.name()}>")
        self.summary.setText(" · ".join(parts))
        self.summary.setVisible(True)
        notes = "".join(f"\n\n{w.category.__name__}: {w.message}" for w in caught)
        if out.numel() <= PREVIEW_ELEMENTS:
            self.preview.show_text(repr(out) + notes)
        else:
            self.preview.show_text(f"{out.numel():,} elements" + notes, muted=True)
        return True

    # --- accept ------------------------------------------------------------------------------------------
    def accept(self) -> None:
        self.refresh()
        if not self._valid or self.spec is None:
            return
        name = self.name_edit.text().strip()
        params = {
            k: v
            for k, v in self._params.items()
            if self.spec.param(k).required or v != self.spec.param(k).default
        }
        try:
            self.session.apply(self.spec.name, self._args, params, name)
        except SessionError as e:
            self.accept_error.show_message(str(e))
            return
        self.name = name
        super().accept()
