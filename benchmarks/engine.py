"""Engine speed against PyTorch (CPU), same thread count, one run: `python benchmarks/engine.py`.

Three workloads, each forward + backward; prints the median time of each library and the ratio
gradviz/torch (below 1 means gradviz is faster). Targets: scalar graph <= 0.5, MLP step <= 1.5,
1e6-element chain <= 1.5.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tree this file is in

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--threads", type=int, default=1, help="threads for both numpy's BLAS and torch")
parser.add_argument("--repeat", type=int, default=7, help="timed repetitions per workload (median)")
args = parser.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import numpy as np
import torch

import gradviz

torch.set_num_threads(args.threads)


def scalar_graph(lib):  # 200 ops: 100 multiply-adds on 0-d tensors
    a = lib.tensor(1.5, requires_grad=True)
    b = lib.tensor(-0.5, requires_grad=True)

    def run():
        x = a
        for _ in range(100):
            x = x * b + a
        x.backward()
        a.grad = None
        b.grad = None

    return run


def mlp_step(lib):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((64, 784)).astype(np.float32))
    y = lib.tensor(rng.integers(0, 10, 64))
    w1 = lib.tensor((rng.standard_normal((784, 128)) * 0.05).astype(np.float32), requires_grad=True)
    b1 = lib.tensor(np.zeros(128, np.float32), requires_grad=True)
    w2 = lib.tensor((rng.standard_normal((128, 10)) * 0.05).astype(np.float32), requires_grad=True)
    b2 = lib.tensor(np.zeros(10, np.float32), requires_grad=True)
    params = (w1, b1, w2, b2)

    def run():
        h = (x @ w1 + b1).relu()
        logp = (h @ w2 + b2).log_softmax(dim=1)
        loss = lib.nn.functional.nll_loss(logp, y)
        loss.backward()
        for p in params:
            p.grad = None

    return run


def big_chain(lib):
    rng = np.random.default_rng(1)
    x = lib.tensor(rng.standard_normal(1_000_000).astype(np.float32), requires_grad=True)

    def run():
        y = ((x * 2.0 + 1.0).tanh() * x).exp().sum()
        y.backward()
        x.grad = None

    return run


def measure(make, lib) -> float:
    run = make(lib)
    run()  # warm up
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


WORKLOADS = [
    ("200-op scalar graph", scalar_graph, 0.5),
    ("MLP step 64x784->128->10", mlp_step, 1.5),
    ("1e6-element chain", big_chain, 1.5),
]


def main() -> int:
    print(
        f"gradviz {gradviz.__version__} vs torch {torch.__version__}, {args.threads} thread(s), median of {args.repeat}"
    )
    print(f"{'workload':28s} {'gradviz':>11s} {'torch':>11s} {'ratio':>7s} {'target':>7s}")
    ok = True
    for label, make, target in WORKLOADS:
        g = measure(make, gradviz)
        t = measure(make, torch)
        ratio = g / t
        ok &= ratio <= target
        mark = "ok" if ratio <= target else "MISS"
        print(f"{label:28s} {g * 1e3:9.3f}ms {t * 1e3:9.3f}ms {ratio:7.2f} {'<=' + str(target):>7s} {mark}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
