"""A guard against a reference-count bug of PySide6 6.12.0 on Python < 3.12.

There, every call of a C++ method that returns void (``setText``, ``setVisible``, ...) drops one
reference to ``None``. ``None`` starts with a few thousand, so an app aborts after a few
thousand calls with "Fatal Python error: none_dealloc: deallocating None". Python 3.12 made
``None`` immortal, and PySide6 6.11 doesn't have the bug. Where the bug shows, give ``None`` an
effectively endless count, as 3.12 does. The check is a measurement, so a fixed PySide6 is
left alone.
"""

from __future__ import annotations

import ctypes
import sys


def guard() -> bool:
    """Apply the guard if this PySide6 needs it; True if it was applied."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    from PySide6.QtCore import QObject

    probe = QObject()
    probe.setObjectName("probe")  # the first call may allocate; measure the next ones
    before = sys.getrefcount(None)
    for _ in range(8):
        probe.setObjectName("probe")
    if sys.getrefcount(None) >= before:
        return False
    # ob_refcnt is the first field of every object in a release build of CPython < 3.12.
    ctypes.c_ssize_t.from_address(id(None)).value += 1 << 40
    return True


APPLIED = guard()
