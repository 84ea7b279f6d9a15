"""Console cells of many statements against the same statements in PyTorch: `python benchmarks/console.py`.

Issue 10: a cell of 1,000 lines took 3.7 s and one of 4,000 lines 53 s (quadratic). A cell here is
half ``x{i} = torch.tensor({i}.)`` lines and half a ``y = y + 1`` chain, then ``y.backward()``.
Prints the seconds of one run for 1,000 and 4,000 lines and their ratio (linear work: about 4),
then the same source run by Python with real torch, and gradviz/torch.
"""

from __future__ import annotations

import argparse
import time

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000], help="lines per cell")
args = parser.parse_args()

import torch

from gradviz.session.console import Console
from gradviz.session.document import Session


def cell(n: int) -> str:
    lines = [f"x{i} = torch.tensor({i}.)" for i in range(n // 2)]
    lines.append("y = torch.tensor(1., requires_grad=True)")
    lines += ["y = y + 1"] * (n - len(lines) - 1)
    lines.append("y.backward()")
    return "\n".join(lines)


def run_gradviz(source: str) -> float:
    console = Console(Session())
    start = time.perf_counter()
    result = console.run(source)
    took = time.perf_counter() - start
    if not result.ok:
        raise SystemExit(f"the benchmark cell failed: {result.text}")
    return took


def run_torch(source: str) -> float:
    code = compile(source, "<cell>", "exec")
    start = time.perf_counter()
    exec(code, {"torch": torch})
    return time.perf_counter() - start


rows = []
for n in args.sizes:
    source = cell(n)
    rows.append((n, run_gradviz(source), run_torch(source)))
    print(
        f"{n:>6,} lines: gradviz {rows[-1][1]:7.3f} s   torch {rows[-1][2]:7.4f} s   gradviz/torch {rows[-1][1] / rows[-1][2]:6.1f}"
    )
(n0, g0, t0), (n1, g1, t1) = rows[0], rows[-1]
if n1 != n0:
    print(
        f"{n1:,} / {n0:,} lines ({n1 / n0:g}x): gradviz {g1 / g0:.2f}x, torch {t1 / t0:.2f}x (linear: {n1 / n0:g}x)"
    )
