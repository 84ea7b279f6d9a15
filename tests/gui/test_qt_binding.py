"""The Qt binding in use must not leak references to None (PySide6 6.12.0 does, and Python 3.11
then aborts with 'deallocating None' after a few thousand Qt calls)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject


def test_void_qt_calls_do_not_leak_none() -> None:
    obj = QObject()
    before = sys.getrefcount(None)
    for _ in range(5000):
        obj.setObjectName("x")
    assert sys.getrefcount(None) - before < 100
