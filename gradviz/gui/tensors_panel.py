"""The list of named tensors: name, shape, dtype, requires_grad and the state of the gradient.

The gradient badge reads ``none`` (no .grad), the gradient itself in brief (filled with the
colour its node has on the canvas), or which of ``NaN`` and ``Inf`` it holds (the tooltip counts
them in the canvas's words). A grad that only gradviz keeps (a non-leaf tensor's: PyTorch keeps
it only after ``retain_grad()``) reads ``… kept`` in a dashed lilac outline, like the canvas's
``kept by gradviz`` badge; with Show Grads as PyTorch Would it reads ``none``. Selecting a row selects the node on the canvas and the other way
round; double-clicking a name renames it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..graph import colors
from ..graph.model import preview, shape_text
from ..graph.style import KEPT_BORDER, nonfinite_text
from ..session.document import SessionError
from .plain import plain_tip

NAME, SHAPE, DTYPE, REQUIRES_GRAD, GRAD = range(5)
HEADERS = ("Name", "Shape", "dtype", "requires_grad", "grad")
RESIZE_PRECISION = 50  # rows beyond the visible ones that column widths are measured on
STATE_ROLE = Qt.ItemDataRole.UserRole + 1  # "none", "value" or "nonfinite"
FILL_ROLE = Qt.ItemDataRole.UserRole + 2  # the badge colour (the node's fill on the canvas)
KEPT_ROLE = Qt.ItemDataRole.UserRole + 3  # True: a grad only gradviz keeps (PyTorch: None)
KEPT_SUFFIX = " · kept"

_ROLES = frozenset(
    {
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.EditRole,
        Qt.ItemDataRole.ToolTipRole,
        Qt.ItemDataRole.AccessibleTextRole,
        STATE_ROLE,
        KEPT_ROLE,
        FILL_ROLE,
    }
)  # the roles data() answers

Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()


def grad_state(t: Any) -> tuple[str, str]:
    """('none' | 'value' | 'nonfinite', short text) for a tensor's .grad."""
    return _grad_read(t)[:2]


def _grad_read(t: Any) -> tuple[str, str, colors.GradStats | None]:
    """:func:`grad_state` and the gradient's statistics (which the fill colour is made from),
    from one pass over it: a resnet's 2.4M-element gradients are read on the GUI thread."""
    g = t.peek_grad()
    if g is None:
        return "none", "none", None
    arr = np.asarray(g.peek_array())
    if arr.dtype.kind == "c":  # no statistics for complex gradients: the text alone
        if not np.isfinite(arr).all():
            return "nonfinite", _nonfinite_text(*_nonfinite_counts(arr)), None
        norm = float(np.sqrt(np.sum(np.abs(arr) ** 2)))
        return "value", preview(arr) if arr.size == 1 else "‖g‖ " + colors.format_number(norm, 3), None
    stats = colors.grad_stats(arr, t.requires_grad)
    if stats.state == colors.NONFINITE:
        return "nonfinite", _nonfinite_text(stats.nan, stats.inf), stats
    if arr.size == 1:
        return "value", preview(arr), stats
    return "value", "‖g‖ " + colors.format_number(stats.norm or 0.0, 3), stats


def _nonfinite_text(nan: int, inf: int) -> str:
    return ", ".join(k for k, n in (("NaN", nan), ("Inf", inf)) if n)


def _nonfinite_counts(arr: np.ndarray) -> tuple[int, int]:
    return int(np.isnan(arr).sum()), int(np.isinf(arr).sum())


class TensorsModel(QAbstractTableModel):
    rename_failed = Signal(str)

    def __init__(self, source: Any = None, parent: Any = None) -> None:
        super().__init__(parent)
        self.source = source
        self.rows: list[str] = []
        self._scale: colors.ColorScale | None = None
        self._pytorch = False  # Show Grads as PyTorch Would: the kept grads read none
        # name -> (state, text, kept, fill) of its grad, until the next refresh: a paint asks
        # each cell for several roles, and each answer read the whole gradient (a resnet's
        # 2.4M-element ones, 577 rows of a 48-layer encoder) on the GUI thread.
        self._grads: dict[str, tuple[str, str, bool, str | None]] = {}
        self._tensors: dict[str, Any] = {}  # name -> its tensor, until the next refresh (likewise)

    @property
    def scale(self) -> colors.ColorScale | None:
        return self._scale

    @scale.setter
    def scale(self, scale: colors.ColorScale | None) -> None:
        self._scale = scale
        self._grads.clear()

    @property
    def pytorch(self) -> bool:
        return self._pytorch

    @pytorch.setter
    def pytorch(self, on: bool) -> None:
        self._pytorch = on
        self._grads.clear()

    def _grad(self, name: str, t: Any) -> tuple[str, str, bool, str | None]:
        """(state, text, kept and shown as kept, fill colour) of ``t``'s grad, as the table shows it."""
        got = self._grads.get(name)
        if got is None:
            state, text, stats = _grad_read(t)
            kept = self.kept(name, t)
            if kept and self.pytorch:
                state, text = "none", "none"
            elif kept:
                text += KEPT_SUFFIX
            fill = None if state == "none" or stats is None else self._fill(stats)
            got = self._grads[name] = (state, text, kept and not self.pytorch, fill)
        return got

    def kept(self, name: str, t: Any) -> bool:
        """Is ``t``'s grad there only because gradviz keeps it (a non-leaf, no retain_grad())?"""
        info = self.source.info(name) if self.source is not None else None
        return bool(
            info is not None and info.session_retained and t.grad_fn is not None and t.peek_grad() is not None
        )

    def set_source(self, source: Any) -> None:
        self.source = source
        self.refresh()

    def refresh(self) -> None:
        rows = list(self.source.names()) if self.source is not None else []
        old = self.rows
        self._grads.clear()  # any value or grad may have changed
        self._tensors.clear()  # or what a name stands for
        if old and len(rows) >= len(old) and rows[: len(old)] == old:
            # Rows only added (an op typed): the view keeps its rows and sizes, and repaints
            # what it shows (any value or grad may have changed) instead of starting over.
            if len(rows) > len(old):
                self.beginInsertRows(QModelIndex(), len(old), len(rows) - 1)
                self.rows = rows
                self.endInsertRows()
            self.dataChanged.emit(self.index(0, 0), self.index(len(old) - 1, len(HEADERS) - 1))
            return
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return (
                "The tensor's name",
                "Its shape (torch.Size)",
                "Its element type",
                "Whether autograd tracks it",
                "Its .grad: none, a value, or the NaN or Inf it holds",
            )[section]
        return None

    def name_at(self, row: int) -> str:
        return self.rows[row] if 0 <= row < len(self.rows) else ""

    def row_of(self, name: str) -> int:
        try:
            return self.rows.index(name)
        except ValueError:
            return -1

    def flags(self, index: Index) -> Qt.ItemFlag:
        f = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == NAME and self.source is not None and self.source.editable:
            f |= Qt.ItemFlag.ItemIsEditable
        return f

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Qt asks each cell for a dozen roles (font, alignment, colours ...) on every paint and
        # size hint: those this table leaves to Qt are answered before the tensor is looked up.
        if not index.isValid() or self.source is None or role not in _ROLES:
            return None
        name = self.rows[index.row()]
        t = self._tensors.get(name)
        if t is None:
            t = self._tensors[name] = self.source.tensor(name)
        if t is None:
            return None
        col = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if col == NAME:
                return name
            if col == SHAPE:
                return shape_text(tuple(t.shape))
            if col == DTYPE:
                return str(t.dtype)  # gradviz.float32, as the inspector and the console say it
            if col == REQUIRES_GRAD:
                return "True" if t.requires_grad else "False"
            if col == GRAD:
                return self._grad(name, t)[1]
        if role == STATE_ROLE and col == GRAD:
            return self._grad(name, t)[0]
        if role == KEPT_ROLE and col == GRAD:
            return self._grad(name, t)[2]
        if role == FILL_ROLE and col == GRAD:
            return self._grad(name, t)[3]
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tip(self._tooltip(name, t))  # Qt would render HTML in it
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{name}: {shape_text(tuple(t.shape))}, grad {self._grad(name, t)[1]}"
        return None

    def _fill(self, stats: colors.GradStats) -> str | None:
        scale = self.scale or colors.ColorScale.fit([stats.value("norm") or 0.0])
        return scale.paint(stats).fill

    def _tooltip(self, name: str, t: Any) -> str:
        info = self.source.info(name)
        lines = [
            f"{name}: {shape_text(tuple(t.shape))}, {t.dtype}",
            f"requires_grad={t.requires_grad}, is_leaf={t.is_leaf}",
        ]
        state, _text = grad_state(t)
        if self.pytorch and self.kept(name, t):
            lines.append(
                "grad: None, as PyTorch would say: it keeps a non-leaf's grad only after retain_grad()"
            )
            lines.append("(gradviz has it: turn off Colours > Show Grads as PyTorch Would)")
        elif state == "none":
            lines.append("grad: None")
        else:
            arr = np.asarray(t.peek_grad().peek_array())
            lines.append(f"grad: {preview(arr)}")
            if state == "nonfinite":  # the canvas's words for it
                lines.append(nonfinite_text(*_nonfinite_counts(arr), arr.size))
            if info is not None and info.session_retained:
                lines.append("(kept by gradviz; PyTorch would give None for this non-leaf)")
        return "\n".join(lines)

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if (
            role != Qt.ItemDataRole.EditRole
            or index.column() != NAME
            or self.source is None
            or self.source.session is None
        ):
            return False
        old = self.rows[index.row()]
        new = str(value).strip()
        if not new or new == old:
            return False
        session = self.source.session

        def rename() -> bool:
            try:
                session.rename(old, new)
            except SessionError as e:
                self.rename_failed.emit(f"Can't rename {old} to {new}: {e}")
                return False
            return True

        if session.runner is None:
            return rename()
        # In the window the rename runs on a worker while events flow, and the refresh it brings
        # would delete the editor that called us: check now, rename once the editor is gone.
        try:
            session.check_name(new)
        except SessionError as e:
            self.rename_failed.emit(f"Can't rename {old} to {new}: {e}")
            return False
        QTimer.singleShot(0, rename)
        return True


class GradBadgeDelegate(QStyledItemDelegate):
    """Paints the gradient column as a pill: outlined for none, filled for a value, loud for NaN."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        self.initStyleOption(option, index)
        style = option.widget.style() if option.widget else None
        text = option.text
        option.text = ""
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget)
        state = index.data(STATE_ROLE) or "none"
        fill = index.data(FILL_ROLE)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        fm = option.fontMetrics
        w = min(option.rect.width() - 8, fm.horizontalAdvance(text) + 16)
        h = min(option.rect.height() - 6, fm.height() + 4)
        r = QRectF(option.rect.x() + 4, option.rect.center().y() - h / 2 + 0.5, w, h)
        pal = option.palette
        if state == "none":
            pen = QPen(pal.color(pal.ColorGroup.Disabled, pal.ColorRole.WindowText), 1, Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            tc = pal.color(pal.ColorGroup.Disabled, pal.ColorRole.WindowText)
        elif state == "nonfinite":
            painter.setPen(QPen(QColor("#000000"), 1.5))
            painter.setBrush(QColor("#ff00ff"))
            tc = QColor("#000000")
        else:
            c = QColor(fill or "#31688e")
            if index.data(KEPT_ROLE):  # kept only by gradviz: the canvas badge's dashed lilac
                painter.setPen(QPen(QColor(KEPT_BORDER), 2, Qt.PenStyle.DashLine))
            else:
                painter.setPen(QPen(c.darker(130), 1))
            painter.setBrush(c)
            tc = QColor(colors.text_color(c.name()))
        painter.drawRoundedRect(r, h / 2, h / 2)
        painter.setPen(tc)
        painter.drawText(
            r, Qt.AlignmentFlag.AlignCenter, fm.elidedText(text, Qt.TextElideMode.ElideRight, int(w - 8))
        )
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        s = super().sizeHint(option, index)
        return QSize(s.width() + 20, max(s.height(), option.fontMetrics.height() + 10))


class TensorsPanel(QWidget):
    """The tensors dock's content."""

    selected = Signal(str)  # a name, '' when the selection is cleared
    activated = Signal(str)  # double-click on a row outside the name: show it on the canvas
    message = Signal(str)

    def __init__(self, source: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = TensorsModel(source, self)
        self.model.rename_failed.connect(self.message)
        self.table = QTableView(self)
        self.table.setObjectName("tensorsTable")
        self.table.setAccessibleName("Tensors")
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(GRAD, GradBadgeDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
        )
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        hh = self.table.horizontalHeader()
        hh.setHighlightSections(False)
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        hh.setMinimumSectionSize(36)
        # Columns fit what is on screen and the next rows, not all of a session's thousand
        # tensors: Qt's default reads 1,000 rows on every change, a stall in a long session.
        hh.setResizeContentsPrecision(RESIZE_PRECISION)
        # A dock too narrow for every column (large text) scrolls rather than hiding the last.
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self._fit_rows()
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.table.doubleClicked.connect(self._double_clicked)
        self.empty = QLabel("No tensors yet.\nCreate one with New tensor (Ctrl+T)\nor in the console.", self)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setEnabled(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.table)
        lay.addWidget(self.empty)
        self._syncing = False
        self._current = ""
        self.context_actions: list[QAction] = []
        self.refresh()

    def _fit_rows(self) -> None:
        fm = self.fontMetrics()
        self.table.verticalHeader().setDefaultSectionSize(fm.height() + 12)
        # The stretched Name column never narrows past its own title.
        self.table.horizontalHeader().setMinimumSectionSize(max(36, fm.horizontalAdvance("Name") + 16))

    def needed_width(self) -> int:
        """How wide the panel must be to show every column whole, names included."""
        hh = self.table.horizontalHeader()
        cols = sum(max(hh.sectionSizeHint(i), self.table.sizeHintForColumn(i)) for i in range(hh.count()))
        return cols + 2 * self.table.frameWidth() + self.table.verticalScrollBar().sizeHint().width()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # presentation mode: rows as tall as the text
            self._fit_rows()

    def set_source(self, source: Any) -> None:
        self.model.set_source(source)
        self.refresh()

    def set_pytorch_grads(self, on: bool) -> None:
        """Show Grads as PyTorch Would: the grads only gradviz keeps read none."""
        self.model.pytorch = on
        self.refresh()

    def set_scale(self, scale: colors.ColorScale | None) -> None:
        self.model.scale = scale
        self.table.viewport().update()

    def refresh(self) -> None:
        keep = self._current
        self._syncing = True
        try:
            self.model.refresh()
            row = self.model.row_of(keep) if keep else -1
            if row >= 0:
                self.table.selectRow(row)
            else:
                self.table.clearSelection()
                self._current = ""
        finally:
            self._syncing = False
        has = bool(self.model.rows)
        self.table.setVisible(has)
        self.empty.setVisible(not has)

    def names(self) -> list[str]:
        return list(self.model.rows)

    def current(self) -> str:
        return self._current

    def select(self, name: str) -> None:
        """Select ``name``'s row without announcing it (it came from elsewhere)."""
        self._syncing = True
        try:
            row = self.model.row_of(name) if name else -1
            if row >= 0:
                self.table.selectRow(row)
                self.table.scrollTo(self.model.index(row, 0))
                self._current = name
            else:
                self.table.clearSelection()
                self.table.setCurrentIndex(QModelIndex())
                self._current = ""
        finally:
            self._syncing = False

    def row_texts(self, name: str) -> list[str]:
        """What the row of ``name`` shows, column by column (for tests and accessibility)."""
        row = self.model.row_of(name)
        return [self.model.data(self.model.index(row, c)) for c in range(len(HEADERS))] if row >= 0 else []

    def badge(self, name: str) -> tuple[str, str | None]:
        row = self.model.row_of(name)
        idx = self.model.index(row, GRAD)
        return idx.data(STATE_ROLE), idx.data(FILL_ROLE)

    def _row_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        name = self.model.name_at(current.row()) if current.isValid() else ""
        if self._syncing or name == self._current:
            return
        self._current = name
        self.selected.emit(name)

    def _double_clicked(self, index: QModelIndex) -> None:
        if index.column() != NAME or not (self.model.flags(index) & Qt.ItemFlag.ItemIsEditable):
            self.activated.emit(self.model.name_at(index.row()))

    def _context_menu(self, pos: Any) -> None:
        if not self.context_actions:
            return
        menu = QMenu(self)
        for a in self.context_actions:
            if a is None:
                menu.addSeparator()
            else:
                menu.addAction(a)
        menu.exec(self.table.viewport().mapToGlobal(pos))
