"""The status bar's memory figure: what the session holds against its budget, with the
breakdown in the tooltip and a warning colour when it nears the limit."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

from ..session.document import Session
from ..session.footprint import format_bytes
from ..session.limits import BUDGET_ENV

WARN_AT = 0.8  # of the budget


class MemoryLabel(QLabel):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setObjectName("statusMemory")
        self.refresh()

    def refresh(self) -> None:
        use = self.session.memory_use()
        share = use.total / use.budget if use.budget else 0.0
        self.setText(f"memory {format_bytes(use.total)} of {format_bytes(use.budget)}")
        self.setToolTip(
            f"This session holds {format_bytes(use.total)} of its {format_bytes(use.budget)} budget:\n"
            f"tensors, gradients and saved buffers {format_bytes(use.tensors)}\n"
            f"leaf values and gradients the log keeps {format_bytes(use.log)}\n"
            f"kept only for undo {format_bytes(use.history)}\n"
            f"An operation that would cross the budget is refused; set {BUDGET_ENV} to change it."
        )
        warn = share >= WARN_AT
        self.setProperty("warning", warn)
        self.setStyleSheet("color: #b45309; font-weight: bold;" if warn else "")
