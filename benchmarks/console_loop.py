"""A training loop typed into the console against the same loop in PyTorch: `python benchmarks/console_loop.py`.

Issue 15: a console ``for`` loop used to be logged unrolled, ~20 entries per iteration (1,000
steps of the linear-regression lesson: ~20,000 entries, 4.5 s). Now it is one ``Loop`` entry. This
runs 1,000 SGD steps of the lesson (the five regions' crops: temperature, rainfall, humidity ->
apples, oranges) as one ``for`` loop in the console and in PyTorch, in the same run; prints the
seconds, their ratio, the log's entries, then the seconds to save the result and open it again
(opening replays the loop). ``--unrolled`` also times the loop logged unrolled, for comparison.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--steps", type=int, default=1000, help="SGD steps of the loop")
parser.add_argument("--unrolled", action="store_true", help="also time the loop logged unrolled")
args = parser.parse_args()

import numpy as np
import torch

from gradviz.session import fileformat
from gradviz.session.console import Console, loop_entry
from gradviz.session.document import Session

SETUP = """import torch
inputs = torch.tensor([[73, 67, 43], [91, 88, 64], [87, 134, 58], [102, 43, 37], [69, 96, 70]], dtype=torch.float32)
targets = torch.tensor([[56, 70], [81, 101], [119, 133], [22, 37], [103, 119]], dtype=torch.float32)
torch.manual_seed(42)
w = torch.randn(2, 3, requires_grad=True)
b = torch.randn(2, requires_grad=True)
"""
LOOP = f"""for i in range({args.steps}):
    preds = inputs @ w.t() + b
    diff = preds - targets
    loss = torch.sum(diff * diff) / diff.numel()
    loss.backward()
    with torch.no_grad():
        w -= w.grad * 1e-5
        b -= b.grad * 1e-5
        w.grad.zero_()
        b.grad.zero_()
"""


def run_gradviz() -> tuple[float, Session]:
    session = Session()
    console = Console(session)
    assert console.run(SETUP).ok
    start = time.perf_counter()
    result = console.run(LOOP)
    took = time.perf_counter() - start
    if not result.ok:
        raise SystemExit(f"the benchmark loop failed: {result.text}")
    return took, session


def run_torch() -> tuple[float, dict]:
    ns: dict = {"torch": torch}
    exec(compile(SETUP, "<setup>", "exec"), ns)
    code = compile(LOOP, "<loop>", "exec")
    start = time.perf_counter()
    exec(code, ns)
    return time.perf_counter() - start, ns


def run_unrolled() -> tuple[float, int]:
    """The same loop logged as before Loop entries: its body read by a value the Loop can't hold."""
    plan = loop_entry._plan
    loop_entry._plan = lambda run, stmt: (_ for _ in ()).throw(loop_entry._Unrecordable("benchmark"))
    try:
        took, session = run_gradviz()
    finally:
        loop_entry._plan = plan
    return took, len(session.entries)


g, session = run_gradviz()
t, ns = run_torch()
np.testing.assert_allclose(
    session.tensor("w").detach().numpy(), ns["w"].detach().numpy(), rtol=1e-5, atol=1e-6
)
print(
    f"{args.steps:,} SGD steps: gradviz console {g:7.3f} s   torch {t:7.4f} s   gradviz/torch {g / t:6.1f}"
    f"   log: {len(session.entries)} entries"
)
if args.unrolled:
    u, n = run_unrolled()
    print(f"  logged unrolled (as before): {u:7.3f} s, {n:,} entries")
with tempfile.TemporaryDirectory() as d:
    path = Path(d) / "trained.gradviz"
    start = time.perf_counter()
    fileformat.save(session, path)
    saved = time.perf_counter() - start
    opened = Session()
    start = time.perf_counter()
    fileformat.open_into(opened, path)
    took = time.perf_counter() - start
    same = np.array_equal(opened.tensor("w").detach().numpy(), session.tensor("w").detach().numpy())
    print(
        f"save {saved:6.3f} s ({path.stat().st_size:,} bytes)   open (replays the loop) {took:6.3f} s"
        f"   same w after open: {same}"
    )
