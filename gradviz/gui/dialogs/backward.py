"""Backward: call ``target.backward()`` and fill in the ``.grad`` of every leaf that needs one.

A scalar target needs no gradient: the dialog only confirms (and offers retain_graph). A
non-scalar one needs the gradient of some scalar with respect to it; the dialog offers ones (what
``y.sum().backward()`` would pass) or a typed value of the target's shape. Errors PyTorch raises
(a freed graph, a target that doesn't require grad) are shown in its words and nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

import gradviz.engine as E  # noqa: N812 - the engine, as elsewhere in gradviz
from gradviz.engine.function import FREED_MESSAGE
from gradviz.session.backward_plan import preview
from gradviz.session.document import Session, SessionError

from ..dtypes import dtype_text
from ._common import (
    ErrorLabel,
    InputError,
    ThemedDialog,
    count_elements,
    mark,
    monospace_font,
    parse_literal,
    shape_text,
)

NO_GRAD = "element 0 of tensors does not require grad and does not have a grad_fn"
IMPLICIT = "grad can be implicitly created only for scalar outputs"
FREED_HINT = FREED_MESSAGE.split(".")[0]
LITERAL_LIMIT = 64  # up to this many elements the "values" field starts as a literal of ones


def _ones_literal(shape: tuple[int, ...]) -> str:
    if not shape:
        return "1."
    inner = "1."
    for n in reversed(shape):
        inner = "[" + ", ".join([inner] * n) + "]"
    return inner


class BackwardDialog(ThemedDialog):
    """Run ``session.backward(target, gradient, retain_graph)`` on accept."""

    EXTRA_CSS = "QLabel#about { color: {muted}; }"

    def __init__(
        self,
        session: Session,
        target: str,
        parent: QWidget | None = None,
        rerun: Callable[[], None] | None = None,
    ) -> None:
        """``rerun`` runs the target's forward pass again (offered when the graph was freed)."""
        super().__init__(parent)
        self.session = session
        self.target = target
        self._rerun = rerun
        t = session.tensor(target)
        self.tensor = t
        self.scalar = t.numel() == 1
        self.code = ""
        self._valid = False
        self.setWindowTitle(f"Backward from {target}")
        self.setObjectName("BackwardDialog")
        self.setModal(True)
        mono = monospace_font()

        title = QLabel(f"Backward from {target}")
        title.setObjectName("title")
        tf = title.font()
        tf.setPointSize(tf.pointSize() + 3)
        tf.setBold(True)
        title.setFont(tf)
        grad_fn = (
            f" · grad_fn=<{t.grad_fn.name()}>"
            if t.grad_fn is not None
            else (" · a leaf" if t.is_leaf else "")
        )
        about = QLabel(f"{target}: shape {shape_text(t.shape)} · {dtype_text(t.dtype)}{grad_fn}")
        about.setObjectName("about")
        about.setFont(mono)
        if self.scalar:
            text = (
                f"{target} is a scalar, so backward needs no gradient: it computes ∂{target}/∂leaf for every "
                f"leaf {target} was computed from and adds it to that leaf's .grad."
            )
        else:
            text = (
                f"{target} has {t.numel():,} elements, so PyTorch can't start backward on its own "
                f"(“{IMPLICIT}”). Give the gradient of some scalar L with respect to {target}, "
                f"∂L/∂{target}, with the shape of {target}. Ones means L = {target}.sum()."
            )
        explain = QLabel(text)
        explain.setWordWrap(True)
        explain.setObjectName("explain")

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(about)
        layout.addSpacing(4)
        layout.addWidget(explain)

        self.ones_radio = QRadioButton(f"Ones, like torch.ones_like({target})")
        self.ones_radio.setObjectName("ones")
        self.values_radio = QRadioButton("Values:")
        self.values_radio.setObjectName("values")
        self.group = QButtonGroup(self)
        self.group.addButton(self.ones_radio)
        self.group.addButton(self.values_radio)
        self.gradient_edit = QLineEdit(_ones_literal(tuple(t.shape)) if t.numel() <= LITERAL_LIMIT else "")
        self.gradient_edit.setObjectName("gradient")
        self.gradient_edit.setFont(mono)
        self.gradient_edit.setPlaceholderText(f"a nested list of shape {shape_text(t.shape)}")
        self.gradient_error = ErrorLabel()
        self.gradient_box = QWidget()
        gb = QVBoxLayout(self.gradient_box)
        gb.setContentsMargins(12, 4, 0, 0)
        gb.setSpacing(4)
        gb.addWidget(self.ones_radio)
        values_row = QHBoxLayout()
        values_row.addWidget(self.values_radio)
        values_row.addWidget(self.gradient_edit, 1)
        gb.addLayout(values_row)
        gb.addWidget(self.gradient_error)
        self.gradient_box.setVisible(not self.scalar)
        self.ones_radio.setChecked(True)
        layout.addWidget(self.gradient_box)

        self.retain = QCheckBox("retain_graph")
        self.retain.setObjectName("retain_graph")
        self.retain.setToolTip("Keep the tensors the graph saved, so backward can run through it again")
        retain_help = QLabel("keep the saved tensors, so backward can run through this graph again")
        retain_help.setObjectName("about")
        retain_help.setWordWrap(True)
        retain_help.setContentsMargins(self.retain.sizeHint().height() + 2, 0, 0, 0)
        layout.addWidget(self.retain, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(retain_help)
        self.code_label = QLabel()
        self.code_label.setObjectName("code")
        self.code_label.setFont(mono)
        self.code_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.code_label.setWordWrap(True)
        layout.addWidget(self.code_label)
        self.note = QLabel()  # what will happen that surprises: gradients add up
        self.note.setObjectName("accumulationNote")
        self.note.setWordWrap(True)
        self._update_note()
        layout.addWidget(self.note)
        self.error = ErrorLabel()
        self.error.setObjectName("backwardError")
        layout.addWidget(self.error)
        self.rerun_button = QPushButton("Re-run Forward")
        self.rerun_button.setObjectName("rerun")
        self.rerun_button.setToolTip(f"Compute {target} again from its leaves, for a fresh graph")
        self.rerun_button.setVisible(False)
        self.rerun_button.clicked.connect(self._rerun_forward)
        layout.addWidget(self.rerun_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)

        self._ok_cancel("Backward")
        layout.addWidget(self.buttons)
        self._restyle()

        self.ones_radio.toggled.connect(self.refresh)
        self.gradient_edit.textChanged.connect(self._typed)
        self.retain.toggled.connect(self.refresh)
        self.setMinimumWidth(520)
        self._tab_in_order(self.ones_radio, self.values_radio, self.gradient_edit, self.retain)
        self.refresh()
        self.ok_button.setFocus()

    def _typed(self) -> None:
        if not self.values_radio.isChecked():
            self.values_radio.setChecked(True)  # refreshes
        else:
            self.refresh()

    @property
    def valid(self) -> bool:
        return self._valid

    def gradient(self) -> Any:
        """The gradient to pass: None for a scalar, ones, or the typed values (InputError if bad)."""
        if self.scalar:
            return None
        t = self.tensor
        if self.ones_radio.isChecked():
            return E.ones(tuple(t.shape), dtype=t.dtype).numpy()
        data = parse_literal(self.gradient_edit.text())
        if count_elements(data) > self.session.max_elements:
            self.session.check_size(count_elements(data))
        try:
            g = E.tensor(data, dtype=t.dtype)
        except (ValueError, TypeError, RuntimeError) as e:
            raise InputError(str(e)) from None
        if tuple(g.shape) != tuple(t.shape):
            raise InputError(
                f"Mismatch in shape: grad_output[0] has a shape of torch.Size({list(g.shape)}) and output[0] "
                f"has a shape of torch.Size({list(t.shape)})."
            )
        return g.numpy()

    def refresh(self) -> None:
        ok = True
        t = self.tensor
        grad_arg = ""
        message = None
        if not self.scalar:
            if self.ones_radio.isChecked():
                grad_arg = f"torch.ones_like({self.target})"
                mark(self.gradient_edit, self.gradient_error, None)
            else:
                grad_arg = f"torch.tensor({self.gradient_edit.text().strip()})"
                try:
                    self.gradient()
                    mark(self.gradient_edit, self.gradient_error, None)
                except (InputError, SessionError) as e:
                    mark(self.gradient_edit, self.gradient_error, str(e))
                    ok = False
        if not t.requires_grad:
            message = (
                f"{NO_GRAD}: {self.target} doesn't depend on any tensor with requires_grad=True, so there is "
                "nothing to differentiate."
            )
            ok = False
        args = ", ".join(a for a in (grad_arg, "retain_graph=True" if self.retain.isChecked() else "") if a)
        self.code = f"{self.target}.backward({args})"
        self.code_label.setText(self.code)
        self.error.show_message(message)
        self._valid = ok
        self.ok_button.setEnabled(ok)

    def accept(self) -> None:
        self.refresh()
        if not self._valid:
            return
        try:
            self.session.backward(self.target, self.gradient(), self.retain.isChecked())
        except (SessionError, InputError) as e:
            self.error.show_message(str(e))
            self.ok_button.setEnabled(False)
            self.rerun_button.setVisible(self._rerun is not None and FREED_HINT in str(e))
            return
        super().accept()

    def _rerun_forward(self) -> None:
        if self._rerun is None:
            return
        self._rerun()
        self.tensor = self.session.tensor(self.target)  # the fresh one
        self.rerun_button.setVisible(False)
        self._update_note()
        self.refresh()

    def _update_note(self) -> None:
        plan = preview(self.session, self.target)
        self.note.setText(plan.explanation(self.session) if plan.needs_word else "")
        self.note.setVisible(plan.needs_word)
