"""Real PyTorch graphs to an SVG: gradviz's reader and layout against torchviz's make_dot + dot.

    python benchmarks/torch_graph.py                    # resnet18-like, 12- and 48-layer encoders
    python benchmarks/torch_graph.py --dot-timeout 120  # give dot longer

Both models are built from ``torch.nn`` (torchvision cannot be installed beside torch 2.13
here): a resnet18-shaped net (stem, 4 stages of 2 BasicBlocks with downsampling, pool, fc) and
``nn.TransformerEncoder`` with 12 layers of d_model 16. Each runs forward and backward inside
``gradviz.capture()`` once; then, on the same tensors, in the same run:

- gradviz: read torch's graph (autograd view, every node, nothing folded) and write an SVG;
  also the default ``gradviz render`` picture (folded repeats);
- torchviz: ``make_dot`` then a Graphviz ``dot -Tsvg``. There is no system ``dot`` here, so
  the one gradviz itself would use is run (``graphviz-pure``, a dot-compatible binary from pip,
  see gradviz/graph/dot_binary.py); ``make_dot`` alone is timed too.

Target (issue 17): at the large size, ≤ 2 s and ≤ 1/10 of torchviz's time.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
import torchviz
from torch import nn
from torch.nn import functional as F  # noqa: N812 - as everyone writes it

import gradviz
from gradviz.graph import dot_binary
from gradviz.graph.export import export
from gradviz.graph.model import AUTOGRAD
from gradviz.graph.torch_graph import build_torch_graph

TARGET_S, TARGET_RATIO = 2.0, 0.1
LARGE = 2000  # nodes: "several thousand"


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


def resnet18_like(width: int = 8) -> nn.Module:
    """resnet18's layout (2-2-2-2 BasicBlocks), narrow so the forward is quick."""
    w = width
    layers = [
        nn.Conv2d(3, w, 7, 2, 3, bias=False),
        nn.BatchNorm2d(w),
        nn.ReLU(),
        nn.MaxPool2d(3, 2, 1),
    ]
    cin = w
    for i, c in enumerate((w, 2 * w, 4 * w, 8 * w)):
        layers.append(nn.Sequential(BasicBlock(cin, c, 1 if i == 0 else 2), BasicBlock(c, c)))
        cin = c
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 10)]
    return nn.Sequential(*layers)


def resnet_loss() -> torch.Tensor:
    torch.manual_seed(0)
    net = resnet18_like()
    with gradviz.capture(model=net):
        loss = F.cross_entropy(net(torch.randn(2, 3, 32, 32)), torch.tensor([1, 2]))
        loss.backward()
    return loss


def encoder_loss(layers: int = 12) -> torch.Tensor:
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
    net = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
    with gradviz.capture(model=net):
        loss = net(torch.randn(2, 6, 16)).pow(2).mean()
        loss.backward()
    return loss


def time_gradviz(loss: torch.Tensor, out: Path, fold: bool) -> tuple[float, int]:
    t0 = time.perf_counter()
    g = build_torch_graph(loss, view=AUTOGRAD)
    export(g if not fold else loss, out, view=AUTOGRAD, fold=fold)
    return time.perf_counter() - t0, g.number_of_nodes()


def time_torchviz(
    loss: torch.Tensor, out: Path, dot: str | None, timeout: float
) -> tuple[float, float | None, int]:
    t0 = time.perf_counter()
    d = torchviz.make_dot(loss)
    t_make = time.perf_counter() - t0
    n = sum(1 for line in d.body if "[label=" in line)
    if dot is None:
        return t_make, None, n
    try:
        run = subprocess.run([dot, "-Tsvg"], input=d.source.encode(), capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return t_make, float("inf"), n
    if run.returncode != 0 or not run.stdout:
        raise RuntimeError(f"dot failed: {run.stderr.decode()[:200]}")
    out.write_bytes(run.stdout)
    return t_make, time.perf_counter() - t0, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dot-timeout", type=float, default=300.0)
    ap.add_argument(
        "--layers", type=int, nargs="+", default=[12, 48], help="encoder depths (48: ~3,300 nodes)"
    )
    args = ap.parse_args()
    dot, provider = dot_binary.find_dot()
    print(
        f"dot: {dot or 'none'} ({provider}); system dot on PATH: {'yes' if dot_binary._executable('dot') else 'no'}"
    )
    tmp = Path(tempfile.mkdtemp(prefix="gradviz-torch-bench-"))
    models = [("resnet18-like", resnet_loss)] + [
        (f"{n}-layer transformer encoder", lambda n=n: encoder_loss(n)) for n in args.layers
    ]
    for name, make in models:
        loss = make()
        ours, nodes = time_gradviz(loss, tmp / f"{name.split()[0]}-gradviz.svg", fold=False)
        folded, _ = time_gradviz(loss, tmp / f"{name.split()[0]}-gradviz-folded.svg", fold=True)
        t_make, t_dot, tv_nodes = time_torchviz(
            loss, tmp / f"{name.split()[0]}-torchviz.svg", dot, args.dot_timeout
        )
        print(f"\n{name}: {nodes} nodes in gradviz's autograd view, {tv_nodes} in torchviz's")
        print(f"  gradviz reader + layout -> SVG (every node) {ours:8.2f} s")
        print(f"  gradviz render default (folded repeats)     {folded:8.2f} s")
        print(f"  torchviz make_dot alone                     {t_make:8.2f} s")
        if t_dot is None:
            print("  torchviz make_dot + dot: no dot binary at all")
        elif t_dot == float("inf"):
            print(f"  torchviz make_dot + dot ({provider})  timeout > {args.dot_timeout:g} s")
            print(f"  ratio gradviz / torchviz+dot: < {ours / args.dot_timeout:.3f}")
        else:
            print(f"  torchviz make_dot + dot ({provider})      {t_dot:8.2f} s")
            ratio = ours / t_dot
            verdict = ""
            if nodes >= LARGE:  # the target is set for the large size
                ok = "meets" if ours <= TARGET_S and ratio <= TARGET_RATIO else "misses"
                verdict = f" ({ok} the target: ≤ {TARGET_S:g} s and ≤ {TARGET_RATIO:g})"
            print(f"  ratio gradviz / torchviz+dot: {ratio:.3f}{verdict}")
    print(f"\nSVGs in {tmp}")


if __name__ == "__main__":
    main()
