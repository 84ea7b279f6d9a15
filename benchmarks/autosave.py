"""What one autosave costs the GUI thread: `python benchmarks/autosave.py`.

For each session (every shipped example, a 2**22-element float32 tensor, and one with ten of
them), it reports:

- `snapshot`: the time `Autosaver.mark_changed` takes on the thread that made the change (the
  GUI thread in the app): the only autosave work done there.
- `write`: encoding, compressing and writing the recovery file on the timer thread.
- `stall`: while that write runs, the longest gap between 1 ms ticks of a loop on the main
  thread, the way the Qt event loop would see it (the writer holds the GIL in numpy and zip
  code that does not release it). Below ~50 ms nobody notices it while typing.
- `latency`: from the change to the file on disk, with the app's defaults (delay 1 s).
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time

import numpy as np


def measure(name: str, session, directory: str, rounds: int = 3) -> None:
    from gradviz.session.autosave import Autosaver

    saver = Autosaver(session, directory)  # the app's defaults, threaded
    snaps, writes, stalls, latencies = [], [], [], []
    for _ in range(rounds):
        done = threading.Event()
        wrote: list[float] = []
        started: list[float] = []

        def timed_flush(flush=saver.flush, started=started, wrote=wrote, done=done) -> bool:
            started.append(time.perf_counter())
            ok = flush()
            wrote.append(time.perf_counter())
            done.set()
            return ok

        saver._debouncer._fn = timed_flush
        t0 = time.perf_counter()
        saver.mark_changed()
        snaps.append(time.perf_counter() - t0)
        # the main thread ticks as an event loop would, until the write is done
        last, worst = time.perf_counter(), 0.0
        while not done.is_set():
            time.sleep(0.001)
            now = time.perf_counter()
            if started and now > started[0]:
                worst = max(worst, now - last)
            last = now
        writes.append(wrote[0] - started[0])
        stalls.append(worst)
        latencies.append(wrote[0] - t0)
    size = saver.path.stat().st_size
    saver.close()
    print(
        f"{name:24s} snapshot {statistics.median(snaps) * 1e3:7.3f} ms   "
        f"write {statistics.median(writes) * 1e3:7.1f} ms   "
        f"stall {max(stalls) * 1e3:6.1f} ms   latency {statistics.median(latencies):5.2f} s   "
        f"({size / 2**20:.1f} MB file)"
    )


def main() -> None:
    from gradviz.session import examples
    from gradviz.session.document import Session

    with tempfile.TemporaryDirectory() as d:
        for ex in examples.EXAMPLES:
            measure(ex.name, ex.build(), d)
        big = Session()
        big.add_leaf("x", np.random.default_rng(0).standard_normal(2**22).astype(np.float32))
        measure("2**22 float32", big, d)
        many = Session()
        rng = np.random.default_rng(1)
        for k in range(10):
            many.add_leaf(f"x{k}", rng.standard_normal(2**22).astype(np.float32))
        measure("10 x 2**22 float32", many, d, rounds=2)


if __name__ == "__main__":
    main()
