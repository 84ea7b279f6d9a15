"""The backward stepper's speed, offscreen: `python benchmarks/stepper.py`.

A session of 500 multiply-adds on scalars (about 1,000 backward nodes). Measured:
  trace   preparing the trace of its backward (gradviz.autograd.trace_backward)   target <= 0.2 s
  step    one step of the stepper (→) until the canvas shows it (median of --steps)   target <= 30 ms
  jump    a jump of many steps (the scrubber dragged), for information
beside the canvas's plain redraw of the same graph (an edit's refresh, a layout reused), the
competitor a step is measured against.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_tmp = tempfile.mkdtemp(prefix="gradviz-bench-")
os.environ["GRADVIZ_DATA_DIR"] = _tmp
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--ops", type=int, default=500, help="multiply-adds in the session")
parser.add_argument("--steps", type=int, default=15, help="steps timed (median)")
args = parser.parse_args()

from PySide6.QtCore import QSettings

QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, _tmp)

from gradviz.autograd import trace_backward
from gradviz.gui.app import application
from gradviz.gui.main_window import MainWindow
from gradviz.session.document import Session


def session(ops: int) -> Session:
    s = Session()
    s.add_leaf("a", 0.9, requires_grad=True)
    s.add_leaf("b", 0.1, requires_grad=True)
    last = "a"
    with s.batch("build"):
        for i in range(ops):
            s.apply("mul", [last, "a"], name=f"m{i}")
            s.apply("add", [f"m{i}", "b"], name=f"s{i}")
            last = f"s{i}"
    return s


def idle_time(w: MainWindow, start: float) -> float:
    w.canvas.wait_until_idle(60)
    return time.perf_counter() - start


def main() -> int:
    app = application()
    s = session(args.ops)
    out = s.tensor(f"s{args.ops - 1}")
    t0 = time.perf_counter()
    trace = trace_backward(out)
    trace_s = time.perf_counter() - t0
    w = MainWindow(s, autosave=False, persist=False)
    w.ask_save_changes = lambda: "discard"
    w.resize(1400, 900)
    w.show()
    w.canvas.wait_until_idle(120)
    redraws = []
    for _ in range(5):
        t = time.perf_counter()
        w.canvas.refresh()
        redraws.append(idle_time(w, t))
        app.processEvents()
    stepper = w.step_through()
    w.canvas.wait_until_idle(120)
    steps, jumps = [], []
    stride = max(1, len(trace) // (args.steps + 1))
    for k in range(1, args.steps + 1):
        stepper.go(k * stride)  # somewhere along the trace, then one step on from there
        w.canvas.wait_until_idle(60)
        app.processEvents()
        t = time.perf_counter()
        stepper.next()
        steps.append(idle_time(w, t))
        app.processEvents()
        t = time.perf_counter()
        stepper.go(k * stride + stride // 2)
        jumps.append(idle_time(w, t))
        app.processEvents()
    stepper.leave(run_backward=False)
    step, redraw, jump = statistics.median(steps), statistics.median(redraws), statistics.median(jumps)
    print(f"graph: {len(trace)} backward steps, {len(w.canvas.graph)} nodes drawn")
    print(f"trace   {trace_s * 1e3:8.1f} ms   target 200 ms   {'meets' if trace_s <= 0.2 else 'MISSES'}")
    print(f"step    {step * 1e3:8.1f} ms   target  30 ms   {'meets' if step <= 0.03 else 'MISSES'}")
    print(f"jump    {jump * 1e3:8.1f} ms   ({stride // 2} steps at once)")
    print(f"redraw  {redraw * 1e3:8.1f} ms   (the canvas's plain refresh: step/redraw = {step / redraw:.3f})")
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
