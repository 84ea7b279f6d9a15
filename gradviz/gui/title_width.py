"""Dialogs wide enough to show their whole title: a title bar narrower than its text elides it."""

from __future__ import annotations

from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication, QWidget

# The title bar's icon and its close (and maybe minimise, maximise) buttons take about this much.
TITLE_BAR_CHROME = 140


def fit_title(window: QWidget) -> None:
    """Make ``window`` at least as wide as its title bar needs for the whole title."""
    metrics = QFontMetrics(QApplication.font("QMdiSubWindowTitleBar"))
    needed = metrics.horizontalAdvance(window.windowTitle()) + TITLE_BAR_CHROME
    if window.minimumWidth() < needed:
        window.setMinimumWidth(needed)
