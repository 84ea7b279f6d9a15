"""GUI tests run offscreen, with their own settings file, so they never touch a real desktop."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QSettings


@pytest.fixture(autouse=True)
def _settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep QSettings in a temporary folder for every test."""
    path = tmp_path_factory.mktemp("qsettings")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        QSettings.setPath(QSettings.Format.IniFormat, scope, str(path))


@pytest.fixture(autouse=True)
def _data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Recovery files and the recent-files list go to a temporary folder too."""
    monkeypatch.setenv("GRADVIZ_DATA_DIR", str(tmp_path_factory.mktemp("data")))


@pytest.fixture(autouse=True)
def _collect_own_garbage():
    """Collect each test's cyclic garbage at its own end, after its widgets are closed. The app
    runs the collector from a GUI timer (gc_guard); left to it, a session and the panel showing
    it from an earlier test could be torn down in the middle of a later one, whose Qt events
    then reach a half-cleared session ('Session' object has no attribute '_state'). What the
    collector has moved out of its sight (gc.freeze) is looked at too."""
    yield
    from gradviz.gui import gc_guard

    gc_guard.collect_everything()


@pytest.fixture
def window(qtbot):
    """make(session=None, **kw): a shown main window that never asks to save; closed after."""
    from gradviz.gui.main_window import MainWindow

    made: list = []

    def make(session=None, **kw):
        w = MainWindow(session, **kw)
        qtbot.addWidget(w)
        w.ask_save_changes = lambda: "discard"  # a test never wants the question
        w.resize(1280, 820)
        w.show()
        qtbot.waitUntil(w.canvas.is_idle, timeout=20000)
        made.append(w)
        return w

    yield make
    for w in made:
        w.ask_save_changes = lambda: "discard"
        if w.isVisible():
            w.close()
