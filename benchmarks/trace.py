"""Preparing the backward stepper's trace, against PyTorch's own backward: `python benchmarks/trace.py`.

A 1,000-node graph (a scalar chain of multiply-adds with a shared leaf, the shape a learner's
loop makes) and a 1,000-node MLP-like graph of small matrices. For each: the median time of
``gradviz.autograd.trace_backward`` (every step: incoming gradient, contributions, running
totals, formulas), of gradviz's ``backward()``, and of torch's ``backward()`` on the same graph,
and the ratio trace/torch. Target: the trace of a 1,000-node graph in <= 0.2 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--repeat", type=int, default=7, help="timed repetitions per workload (median)")
args = parser.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import gradviz
from gradviz.autograd import trace_backward

torch.set_num_threads(1)
TARGET_S = 0.2


def scalar_chain(lib):
    """500 multiply-adds: 1,000 backward nodes, ``a`` and ``b`` used by every one."""
    a = lib.tensor(0.9, requires_grad=True)
    b = lib.tensor(0.1, requires_grad=True)
    x = a
    for _ in range(500):
        x = x * a + b
    return x, (a, b)


def matrix_graph(lib):
    """250 layers of tanh(h @ w + c), 4 nodes each: small matrices, 1,000 nodes."""
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((4, 8)).astype(np.float32))
    w = lib.tensor((rng.standard_normal((8, 8)) * 0.3).astype(np.float32), requires_grad=True)
    c = lib.tensor(np.zeros(8, np.float32), requires_grad=True)
    h = x
    for _ in range(250):
        h = (h @ w + c).tanh() * 1.0
    return h.sum(), (w, c)


def count_nodes(out) -> int:
    seen, stack = set(), [out.grad_fn]
    while stack:
        n = stack.pop()
        if n is None or id(n) in seen:
            continue
        seen.add(id(n))
        stack.extend(f for f, _ in n.next_functions)
    return len(seen)


def median(fn, make, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        out, _leaves = make()
        t0 = time.perf_counter()
        fn(out)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    print(
        f"{'workload':<14} {'nodes':>6} {'trace':>9} {'gradviz bw':>11} {'torch bw':>9} {'trace/torch':>12}"
    )
    worst = 0.0
    for name, build in (("scalar chain", scalar_chain), ("matrix graph", matrix_graph)):
        nodes = count_nodes(build(gradviz)[0])
        tr = median(trace_backward, lambda b=build: b(gradviz), args.repeat)
        gv = median(lambda o: o.backward(), lambda b=build: b(gradviz), args.repeat)
        tt = median(lambda o: o.backward(), lambda b=build: b(torch), args.repeat)
        worst = max(worst, tr)
        print(
            f"{name:<14} {nodes:>6} {tr * 1e3:>7.1f}ms {gv * 1e3:>9.1f}ms {tt * 1e3:>7.1f}ms {tr / tt:>11.1f}x"
        )
    verdict = "meets" if worst <= TARGET_S else "MISSES"
    print(f"slowest trace {worst * 1e3:.1f} ms: {verdict} the target of {TARGET_S * 1e3:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
