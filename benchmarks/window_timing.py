"""What the window benchmarks share (``big_window.py``, ``ui.py``): the 10,000-node loop, a
meter of the GUI thread's longest pause, pan and zoom frame times, and PASS/MISS beside a target.

Importing it points Qt offscreen, at a throw-away data directory, and at this tree's gradviz.
"""

from __future__ import annotations

import itertools
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GRADVIZ_DATA_DIR", tempfile.mkdtemp(prefix="gradviz-bench-"))
ROOT = str(Path(__file__).resolve().parents[1])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

OPEN_TARGET, STALL_TARGET, FRAME_TARGET = 3.0, 50.0, 16.0  # s, ms, ms (issue 16)


def big_loop(steps: int):
    """The tensors of y = tanh(y * w + x * noise) unrolled ``steps`` times, after backward()."""
    import gradviz as torch

    torch.manual_seed(0)
    x, w = torch.randn(4, requires_grad=True), torch.randn(4, requires_grad=True)
    y = torch.zeros(4)
    for _ in range(steps):
        y = torch.tanh(y * w + x * torch.randn(4, requires_grad=True))
    loss = y.sum()
    loss.backward()
    return loss, dict(x=x, w=w, loss=loss)


class StallMeter:
    """The longest the GUI thread stood still while it runs: the widest gap between the ticks
    of a 5 ms timer (the event loop must be spun meanwhile, as the window's own does)."""

    def __init__(self, interval_ms: int = 5) -> None:
        from PySide6.QtCore import QTimer

        self.ticks: list[float] = []
        self._timer = QTimer()
        self._timer.timeout.connect(lambda: self.ticks.append(time.perf_counter()))
        self._interval = interval_ms

    def __enter__(self) -> StallMeter:
        self.ticks = [time.perf_counter()]
        self._timer.start(self._interval)
        return self

    def __exit__(self, *exc: object) -> None:
        self.ticks.append(time.perf_counter())
        self._timer.stop()

    @property
    def longest_ms(self) -> float:
        return max((b - a for a, b in itertools.pairwise(self.ticks)), default=0.0) * 1000


def spin_until(done: Callable[[], bool], timeout: float = 120.0) -> float:
    """Process events until ``done()``; the seconds it took."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    t0 = time.perf_counter()
    while not done() and time.perf_counter() - t0 < timeout:
        app.processEvents()
        time.sleep(0.001)
    return time.perf_counter() - t0


def frames(canvas, count: int) -> tuple[list[float], list[float]]:
    """Repaint times (ms, sorted) while panning, then while zooming in and out about the centre."""
    from PySide6.QtCore import QPointF

    vp = canvas.viewport()
    pan, zoom = [], []
    bar = canvas.verticalScrollBar()
    for k in range(count):
        bar.setValue(bar.value() + (12 if (k // 20) % 2 == 0 else -12))
        t = time.perf_counter()
        vp.repaint()
        pan.append((time.perf_counter() - t) * 1000)
    centre = QPointF(vp.rect().center())
    for k in range(count // 2):
        canvas.zoom_by(1.04 if (k // 10) % 2 == 0 else 1 / 1.04, centre)
        t = time.perf_counter()
        vp.repaint()
        zoom.append((time.perf_counter() - t) * 1000)
    return sorted(pan), sorted(zoom)


def p95(xs: list[float]) -> float:
    return sorted(xs)[min(len(xs) - 1, int(len(xs) * 0.95))]


def verdict(value: float, target: float) -> str:
    return "PASS" if value <= target else "MISS"


def open_big_graph(canvas, steps: int) -> tuple[float, float]:
    """Draw the ``steps``-step loop in ``canvas``, every node (repeats not folded, as the issue's
    10,000 nodes are meant): (seconds from set_source to the picture shown and idle, the GUI
    thread's longest pause meanwhile in ms)."""
    import gc

    from gradviz.gui.canvas import TensorsSource

    loss, names = big_loop(steps)
    canvas.set_fold_repeats(False)
    gc.collect()
    gc.freeze()  # as the app does after start-up
    with StallMeter() as meter:
        canvas.set_source(TensorsSource(loss, names))
        opened = spin_until(canvas.is_idle)
    return opened, meter.longest_ms


def time_to_cancel(canvas, steps: int, after: float = 0.3) -> tuple[float, float, bool]:
    """Start laying out the ``steps``-step loop, press the busy overlay's Cancel ``after``
    seconds in: (ms until the canvas is idle again, ms until the layout's worker has stopped,
    whether the old picture stayed)."""
    from gradviz.gui.canvas import TensorsSource

    loss, names = big_loop(steps)
    before = len(canvas.node_items())
    canvas.set_source(TensorsSource(loss, names))
    spin_until(lambda: canvas._job is not None and canvas._job_nodes > 0, 30)  # laying out now
    spin_until(lambda: False, after)
    t0 = time.perf_counter()
    canvas.busy.button.click()  # as the learner does (shown once a layout takes 150 ms)
    idle = spin_until(canvas.is_idle, 30)
    canvas.wait_for_workers(30000)
    stopped = time.perf_counter() - t0
    return idle * 1000, stopped * 1000, len(canvas.node_items()) == before
