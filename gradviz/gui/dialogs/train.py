"""Train: choose the leaves, an optimiser, its learning rate and a number of steps, and see the
training loop that PyTorch would run, written out as it will run.

Nothing here trains: the dialog only chooses and shows ``train_code``'s loop (or why there is
none, with OK disabled). The window runs the loop through the console, as a cell, so it is in
the log, the transcript and undo exactly as the same loop typed would be.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QLabel,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gradviz.session import train_code as tc
from gradviz.session.document import Session

from ..dtypes import dtype_text
from ._common import (
    ErrorLabel,
    InputError,
    Preview,
    ThemedDialog,
    mark,
    monospace_font,
    parse_number,
    shape_text,
)

LEARNING_RATES = ("1.0", "0.1", "0.01", "0.001", "0.0001", "1e-05")
DEFAULT_STEPS = 100
OPTIMISER_TIPS = {
    tc.SGD: "Plain gradient descent: w -= lr * w.grad under torch.no_grad(), then w.grad.zero_()",
    tc.MOMENTUM: f"torch.optim.SGD with momentum={tc.MOMENTUM_VALUE}: steps keep some of the last step's direction",
    tc.ADAM: "torch.optim.Adam: each element's step scaled by running averages of its gradient",
}


class TrainDialog(ThemedDialog):
    """Choose a training loop for ``output``; ``code`` (and ``plan``) are the loop chosen."""

    EXTRA_CSS = "QLabel#about { color: {muted}; }"

    def __init__(
        self, session: Session, output: str, parent: QWidget | None = None, in_use: Iterable[str] = ()
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.output = output
        self.in_use = tuple(in_use)  # the console's names: the loop keeps off them
        self.code = ""
        self.plan: tc.TrainPlan | None = None
        self.setWindowTitle(f"Train {output}")
        self.setObjectName("TrainDialog")
        self.setModal(True)

        title = QLabel(f"Train: make {output} smaller")
        title.setObjectName("title")
        tf = title.font()
        tf.setPointSize(tf.pointSize() + 3)
        tf.setBold(True)
        title.setFont(tf)
        explain = QLabel(
            f"Each step computes {output} again from the leaves, calls {output}.backward(), and moves "
            f"each chosen leaf a little against its gradient. The loop runs in the console, so it is "
            "one cell you can undo."
        )
        explain.setObjectName("about")
        explain.setWordWrap(True)

        # A column of check boxes (a list view's indicators all but vanish in the dark theme).
        box = QWidget()
        box.setObjectName("leaves")
        box.setAccessibleName("leaves to train")
        column = QVBoxLayout(box)
        column.setContentsMargins(2, 2, 2, 2)
        column.setSpacing(2)
        self.leaf_boxes: dict[str, QCheckBox] = {}
        names = tc.trainable(session)
        width = max(map(len, names), default=0)
        shapes = {n: shape_text(session.tensor(n).shape) for n in names}
        shape_width = max(map(len, shapes.values()), default=0)
        for name in names:
            t = session.tensor(name)
            flag = "requires_grad" if t.requires_grad else "no grad"
            text = f"{name:<{width}}  {shapes[name]:<{shape_width}}  {dtype_text(t.dtype)} · {flag}"
            check = QCheckBox(text)
            check.setObjectName(f"leaf_{name}")
            check.setFont(monospace_font())
            check.setChecked(t.requires_grad)
            check.toggled.connect(self.refresh)
            column.addWidget(check)
            self.leaf_boxes[name] = check
        if not names:
            column.addWidget(QLabel("No floating-point leaves to train."))
        column.addStretch(1)
        self.leaves = QScrollArea()
        self.leaves.setWidget(box)
        self.leaves.setWidgetResizable(True)
        self.leaves.setFrameShape(QFrame.Shape.NoFrame)
        self.leaves.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        rows = max(1, min(6, len(names)))
        row = max((c.sizeHint().height() for c in self.leaf_boxes.values()), default=20)
        self.leaves.setFixedHeight(rows * (row + 2) + 6)

        self.optimiser = QComboBox()
        self.optimiser.setObjectName("optimiser")
        for k, name in enumerate(tc.OPTIMISERS):
            self.optimiser.addItem(name)
            self.optimiser.setItemData(k, OPTIMISER_TIPS[name], Qt.ItemDataRole.ToolTipRole)
        self.lr = QComboBox()
        self.lr.setObjectName("learningRate")
        self.lr.setEditable(True)
        self.lr.addItems(LEARNING_RATES)
        self.lr.setCurrentText("0.01")
        self.lr.setFont(monospace_font())
        self.lr.setToolTip("How far each step moves: lr × the gradient. Choose one or type another")
        self.lr_error = ErrorLabel()
        self.steps = QSpinBox()
        self.steps.setObjectName("steps")
        self.steps.setRange(1, tc.MAX_STEPS)
        self.steps.setValue(DEFAULT_STEPS)
        self.steps.setSingleStep(10)
        self.steps.setAccelerated(True)
        self.steps.setGroupSeparatorShown(True)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Leaves to train:", self.leaves)
        form.addRow("Optimiser:", self.optimiser)
        form.addRow("Learning rate:", self.lr)
        form.addRow("", self.lr_error)
        form.addRow("Steps:", self.steps)

        code_title = QLabel("The loop it runs in the console:")
        self.preview = Preview(self, lines=11)
        self.preview.setObjectName("trainCode")
        self.preview.setAccessibleName("training loop code")
        self.refusal = ErrorLabel()
        self.refusal.setObjectName("trainRefusal")

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(explain)
        layout.addSpacing(4)
        layout.addLayout(form)
        layout.addWidget(code_title)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.refusal)
        self._ok_cancel("Train")
        layout.addWidget(self.buttons)
        self._restyle()

        self.optimiser.currentIndexChanged.connect(self.refresh)
        self.lr.currentTextChanged.connect(self.refresh)
        self.steps.valueChanged.connect(self.refresh)
        self.setMinimumWidth(560)
        self._tab_in_order(*self.leaf_boxes.values(), self.optimiser, self.lr, self.steps)
        self.refresh()
        self.ok_button.setFocus()

    def chosen_leaves(self) -> list[str]:
        return [n for n, check in self.leaf_boxes.items() if check.isChecked()]

    def set_checked(self, name: str, on: bool) -> None:
        """Tick (or untick) the leaf ``name``, as a click on its box does."""
        self.leaf_boxes[name].setChecked(on)

    def refresh(self) -> None:
        try:
            lr = parse_number(self.lr.currentText(), "a learning rate such as 0.01")
            if isinstance(lr, bool):
                raise InputError(f"{self.lr.currentText().strip()!r} is not a number")
            mark(self.lr, self.lr_error, None)
        except InputError as e:
            mark(self.lr, self.lr_error, str(e))
            self._refuse("", "Choose a learning rate to see the loop.")
            return
        plan = tc.TrainPlan(tuple(self.chosen_leaves()), self.optimiser.currentText(), lr, self.steps.value())
        result = tc.train_code(self.session, self.output, plan, self.in_use)
        if not result.ok:
            self._refuse(result.refusal, "No loop to run until what is said below is fixed.")
            return
        self.plan, self.code = plan, result.source
        self.preview.show_text(result.source.rstrip("\n"))
        self.refusal.show_message(None)
        self.ok_button.setEnabled(True)

    def _refuse(self, reason: str, shown: str) -> None:
        self.plan, self.code = None, ""
        self.preview.show_text(shown, muted=True)
        self.refusal.show_message(reason or None)
        self.ok_button.setEnabled(False)

    def accept(self) -> None:
        self.refresh()
        if self.code:
            super().accept()
