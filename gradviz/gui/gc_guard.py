"""Run Python's cyclic garbage collector on the GUI thread only, in short passes.

Left automatic, a collection starts in whichever thread happens to allocate, such as the layout
or export workers; if the garbage holds Qt objects, they are then destroyed off the GUI thread
and Qt crashes (seen here as a segfault in a layout worker). So automatic collection is turned
off and a GUI-thread timer collects instead.

A collection stops every thread for as long as it walks the objects it looks at, and a session
of thousands of tensors with its picture is hundreds of thousands of objects: a full pass took
50-110 ms, often while a graph was drawn. So each pass looks only at what is new: after it,
whatever survived is moved out of the collector's sight (``gc.freeze``, a constant-time move).
Garbage made of such old objects (an undone session's tensors that point at each other) waits
for a sweep of everything, which runs only when the window is quiet (``install(quiet=)``: no
change drawn or made for a few seconds) and at most every ``SWEEP_EVERY`` seconds.
"""

from __future__ import annotations

import gc
import time
import weakref
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QObject, QTimer

INTERVAL_MS = 50  # a pass over what ~50 ms of work made takes a few milliseconds
SWEEP_EVERY = 30.0  # seconds between full sweeps at least


class MainThreadCollector(QObject):
    def __init__(self, parent: QObject, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        gc.disable()
        # Each window's "nothing is happening" (weakly held: a closed window says nothing).
        self.quiet: list[weakref.WeakMethod] = []
        self.last_sweep = time.monotonic()
        self.young_since_sweep = 0  # passes since the last sweep (nothing new: no sweep due)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.collect_if_due)
        self._timer.start(interval_ms)

    def collect_if_due(self) -> None:
        if gc.get_count()[0] > gc.get_threshold()[0]:
            gc.collect()  # every generation, but they hold only what came since the last freeze
            gc.freeze()
            self.young_since_sweep += 1
        if self.young_since_sweep and time.monotonic() - self.last_sweep > SWEEP_EVERY and self._all_quiet():
            self.sweep()

    def _all_quiet(self) -> bool:
        """Some window says it is quiet, and none says otherwise (no window: no one to ask)."""
        alive, quiet = [], True
        for q in self.quiet:
            method = q()
            if method is None:
                continue
            try:
                quiet = method() and quiet
            except RuntimeError:  # its Qt object is gone (closed and deleted): no longer asked
                continue
            alive.append(q)
        self.quiet = alive
        return bool(alive) and quiet

    def sweep(self) -> None:
        """Look at every object once more (the long pass), then move the survivors out of sight."""
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self.last_sweep = time.monotonic()
        self.young_since_sweep = 0


def install(quiet: Callable[[], bool] | None = None) -> MainThreadCollector | None:
    """Once per application: the collector lives as long as the QApplication. ``quiet`` (a
    window's bound method, held weakly): asked before a full sweep, which waits until every
    living window's says True."""
    app = QCoreApplication.instance()
    if app is None:
        return None
    collector = app.findChild(MainThreadCollector) or MainThreadCollector(app)
    if quiet is not None:
        collector.quiet.append(weakref.WeakMethod(quiet))
    return collector


def collect_everything() -> None:
    """A full collection now, frozen objects included (tests, at their end)."""
    gc.unfreeze()
    gc.collect()
    app = QCoreApplication.instance()
    collector = app.findChild(MainThreadCollector) if app is not None else None
    if collector is not None:
        gc.freeze()
        collector.last_sweep = time.monotonic()
        collector.young_since_sweep = 0
