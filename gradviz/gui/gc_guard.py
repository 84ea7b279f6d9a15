"""Run Python's cyclic garbage collector on the GUI thread only.

Left automatic, a collection starts in whichever thread happens to allocate, such as the layout
or export workers; if the garbage holds Qt objects, they are then destroyed off the GUI thread
and Qt crashes (seen here as a segfault in a layout worker). So automatic collection is turned
off and a GUI-thread timer collects each generation when its threshold is passed."""

from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QObject, QTimer


class MainThreadCollector(QObject):
    def __init__(self, parent: QObject, interval_ms: int = 250) -> None:
        super().__init__(parent)
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.collect_if_due)
        self._timer.start(interval_ms)

    def collect_if_due(self) -> None:
        counts, thresholds = gc.get_count(), gc.get_threshold()
        for generation in (2, 1, 0):  # the oldest generation that is due includes the younger ones
            if counts[generation] > thresholds[generation]:
                gc.collect(generation)
                break


def install() -> None:
    """Once per application: the collector lives as long as the QApplication."""
    app = QCoreApplication.instance()
    if app is not None and app.findChild(MainThreadCollector) is None:
        MainThreadCollector(app)
