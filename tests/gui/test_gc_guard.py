"""The GUI thread's garbage collector (gui/gc_guard.py): short passes over what is new, a full
sweep only when every window says it is quiet."""

from __future__ import annotations

import gc
import weakref

from PySide6.QtCore import QObject

from gradviz.gui import gc_guard


class Cycle:
    def __init__(self) -> None:
        self.me = self


def _cycle() -> weakref.ref:
    """A garbage cycle, already unreachable; the weak reference tells when it is collected."""
    c = Cycle()
    return weakref.ref(c)


def _due() -> list:
    """Objects past the youngest generation's threshold, as work makes (kept while they count)."""
    return [[] for _ in range(gc.get_threshold()[0] + 10)]


class Window(QObject):
    def __init__(self, quiet: bool) -> None:
        super().__init__()
        self.is_quiet = quiet

    def quiet(self) -> bool:
        return self.objectName() == "" and self.is_quiet  # asks its Qt object, as a window does


def _no_worker_running(qapp) -> None:
    """Earlier tests' layout and export jobs finished: a job freezes what is alive when it ends
    (gui/work.py), this test's fresh garbage included, were one to end in the middle of it."""
    from PySide6.QtCore import QThreadPool

    for w in qapp.allWidgets():
        for pool in w.findChildren(QThreadPool):
            assert pool.waitForDone(30000)


def test_a_pass_collects_new_garbage_and_leaves_old_objects_out_of_sight(qapp) -> None:
    collector = gc_guard.install()
    assert collector is not None and not gc.isenabled()
    _no_worker_running(qapp)
    gc.collect()
    new = _cycle()
    made = _due()
    frozen_before = gc.get_freeze_count()
    collector.collect_if_due()
    del made
    assert new() is None  # collected
    assert gc.get_freeze_count() >= frozen_before  # the survivors moved out of sight


def test_old_garbage_waits_for_a_sweep_when_every_window_is_quiet(qapp, monkeypatch) -> None:
    collector = gc_guard.install()
    monkeypatch.setattr(collector, "quiet", [])  # only this test's windows are asked
    old = _cycle()
    gc.freeze()  # as a pass leaves what it did not collect
    busy, calm = Window(False), Window(True)
    gc_guard.install(busy.quiet)
    gc_guard.install(calm.quiet)
    collector.last_sweep -= gc_guard.SWEEP_EVERY + 1
    made = _due()
    collector.collect_if_due()
    del made
    assert old() is not None  # a window is busy: no sweep
    busy.is_quiet = True
    made = _due()
    collector.collect_if_due()
    del made
    assert old() is None  # swept


def test_a_deleted_window_is_no_longer_asked(qapp, monkeypatch) -> None:
    collector = gc_guard.install()
    monkeypatch.setattr(collector, "quiet", [])
    gone = Window(True)
    gc_guard.install(gone.quiet)
    gone.deleteLater()
    from PySide6.QtCore import QCoreApplication, QEvent

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert collector._all_quiet() is False  # no error from its dead Qt object, and no one asked
    assert collector.quiet == []
