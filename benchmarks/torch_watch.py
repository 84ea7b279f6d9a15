"""What ``gradviz.watch`` costs a real PyTorch training loop: the same loop with and without it.

    python benchmarks/torch_watch.py              # a small CNN, 30 Adam steps, 3 rounds each
    python benchmarks/torch_watch.py --steps 100

Each round trains a fresh copy of the same model (same seed) on the same batch: plainly, inside
``gradviz.capture()`` (what the block's graph capture costs alone) and inside
``gradviz.watch()`` (the capture, plus each step's loss, grad norms, value ranges, update sizes
and parameter pictures). The best of the rounds is printed, with the ratio to the plain loop.
Target: watch within 1.5x the plain loop.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 - as everyone writes it

import gradviz

TARGET_RATIO = 1.5


def make() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(4),
        nn.Flatten(),
        nn.Linear(1024, 256),
        nn.ReLU(),
        nn.Linear(256, 10),
    )


def train(net: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int) -> float:
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    for _ in range(steps):
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss.item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch's threads (1: steadier on a busy machine)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(32, 3, 32, 32, generator=g), torch.randint(0, 10, (32,), generator=g)
    train(make(), x, y, 2)  # warm up torch's kernels
    ways = {
        "plain": lambda net: contextlib.nullcontext(),
        "capture": lambda net: gradviz.capture(model=net),
        "watch": lambda net: gradviz.watch(net),
    }
    best = dict.fromkeys(ways, float("inf"))
    for _ in range(args.rounds):
        for name, ctx in ways.items():  # interleaved: a busy machine slows each alike
            net = make()
            t = time.perf_counter()
            with ctx(net):
                train(net, x, y, args.steps)
            best[name] = min(best[name], time.perf_counter() - t)
    params = sum(p.numel() for p in make().parameters())
    print(
        f"small CNN ({params:,} parameters), {args.steps} Adam steps, batch 32x3x32x32, best of {args.rounds}"
    )
    for name, s in best.items():
        print(f"  {name:8s} {s:7.3f} s   {s / best['plain']:.2f}x the plain loop")
    ratio = best["watch"] / best["plain"]
    print(
        f"watch: {ratio:.2f}x the plain loop (target <= {TARGET_RATIO}x): {'met' if ratio <= TARGET_RATIO else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
