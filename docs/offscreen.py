"""What every screenshot script in docs/ starts with: Qt offscreen, and settings and recovery
files in a folder of their own, so a picture never shows (or changes) the person's own."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_tmp = tempfile.mkdtemp(prefix="gradviz-shots-")
os.environ["GRADVIZ_DATA_DIR"] = _tmp

from PySide6.QtCore import QSettings  # noqa: E402

QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, _tmp)

from gradviz.gui.app import application, screenshot  # noqa: E402
from gradviz.gui.main_window import MainWindow  # noqa: E402

OUT = Path(__file__).resolve().parent / "images"
SIZE = (1440, 900)

__all__ = ["OUT", "SIZE", "MainWindow", "application", "screenshot"]
