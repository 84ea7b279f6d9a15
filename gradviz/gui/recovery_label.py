"""The status bar's word on crash recovery: hidden while the recovery file keeps up, and
"Recovery is not being saved: <reason>" from the first failed write until one succeeds."""

from __future__ import annotations

import contextlib

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QWidget

from ..session.autosave import Autosaver

PREFIX = "Recovery is not being saved: "


class RecoveryLabel(QLabel):
    # The autosaver reports from its writing thread; a signal carries it to the GUI thread.
    problem = Signal(str)

    def __init__(self, autosaver: Autosaver, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusRecovery")
        self.setTextFormat(Qt.TextFormat.PlainText)  # the reason quotes a path
        self.setStyleSheet("color: #b91c1c; font-weight: bold;")
        self.autosaver = autosaver
        self.problem.connect(self._show)
        autosaver.problem_changed.connect(self._relay)
        self._show(autosaver.problem)

    def _relay(self, problem: str) -> None:
        try:
            self.problem.emit(problem)
        except RuntimeError:  # the label is gone with its window
            self.close_link()

    def _show(self, problem: str) -> None:
        self.setText(PREFIX + problem if problem else "")
        self.setToolTip(
            (
                "Your changes are not reaching the crash-recovery file, so a crash now would lose"
                " them. Saving the session still works if its folder can be written.\n" + problem
            )
            if problem
            else ""
        )
        self.setVisible(bool(problem))

    def close_link(self) -> None:
        with contextlib.suppress(ValueError):
            self.autosaver.problem_changed.disconnect(self._relay)
