"""Layout benchmark: the built-in layered layout against Graphviz dot on the same graphs.

    python benchmarks/layout.py                  # 200, 1,000 and 3,000 nodes, dot at every size
    python benchmarks/layout.py --quick          # dot only up to 1,000 nodes
    python benchmarks/layout.py --dot-timeout 60 --family rnn

For each size it prints, from one run: the time of each (built-in: best wall time of --repeat
runs, and its CPU time; dot: one run, or 'timeout > N s'), edge crossings (counted the same way
for both, from the drawn curves: see gradviz.graph.layout_quality), whether any edge passes
through a node or any two nodes overlap, and the ratios to dot.

Then the 300-step chain of the issue, y = tanh(y * w + x) with x and w feeding every step (about
1,800 nodes): SVG, PNG and PDF export time and size, with the shared inputs drawn as reference
badges (now), with one full-length edge per use as before (--no-badges: the code before this
change, in the same run), laid out by dot instead, and Graphviz's own `dot -Tsvg` / `-Tpng` of
the same graph (what torchviz does), without and with the badges. Targets: SVG <= 1.5 s and <= 3 MB, PNG <= 2 s.

    python benchmarks/layout.py --chain-only     # just the chain
    python benchmarks/layout.py --chain-steps 100

Graph families:
  autograd  (default) a generated autograd-shaped DAG: a chain of ops of fan-in 2 whose inputs
            are the latest results, fresh leaves, short skips (residual-like) and now and then one
            of four shared parameters (a weight reused by every step of an unrolled loop). Tuned so
            that dot takes about as long here as the issue reports for its graphs (~2 s at 1,000).
  rnn, mlp  real gradviz engine graphs (the autograd view: grad_fn nodes): an unrolled RNN with
            shared weights, and a residual MLP.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

import networkx as nx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gradviz.graph import dot_binary
from gradviz.graph import layout_quality as quality
from gradviz.graph.layout import Layout, layout

TARGETS = {200: 0.05, 1000: 0.5, 3000: 3.0}  # seconds, from the issue


def autograd_dag(n: int, seed: int = 0) -> nx.DiGraph:
    """A deterministic autograd-shaped DAG of n nodes (see the module docstring)."""
    rng = random.Random(seed)
    g = nx.DiGraph()

    def leaf() -> str:
        name = f"leaf{len(g)}"
        g.add_node(name)
        return name

    ops = [leaf()]
    params = [leaf() for _ in range(4)]
    while len(g) < n:
        op = f"op{len(g)}"
        inputs = [ops[-1 - min(int(rng.expovariate(1.5)), len(ops) - 1)]]  # mostly the latest
        r = rng.random()
        if r < 0.30:
            pass  # a unary op
        elif r < 0.65:
            inputs.append(leaf())  # a constant or a fresh parameter
        elif r < 0.885:
            inputs.append(ops[-1 - rng.randrange(min(len(ops), 3))])  # a recent result
        elif r < 0.985:
            inputs.append(ops[-1 - rng.randrange(min(len(ops), 12))])  # a skip connection
        else:
            inputs.append(rng.choice(params))  # a shared weight
        g.add_node(op)
        g.add_edges_from((u, op) for u in inputs)
        ops.append(op)
    return g


def _engine_graph(roots: list) -> nx.DiGraph:
    """PyTorch's backward graph (grad_fn nodes, AccumulateGrad for leaves), inputs to outputs."""
    g = nx.DiGraph()
    names: dict[int, str] = {}
    stack = [r.grad_fn for r in roots]
    while stack:
        fn = stack.pop()
        if id(fn) in names:
            continue
        names[id(fn)] = f"{type(fn).__name__}_{len(names)}"
        stack += [nxt for nxt, _ in fn.next_functions if nxt is not None]
    seen: set[int] = set()
    stack = [r.grad_fn for r in roots]
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        for nxt, _ in fn.next_functions:
            if nxt is not None:
                g.add_edge(names[id(nxt)], names[id(fn)])
                stack.append(nxt)
    return g


def engine_rnn(n: int, seed: int = 0) -> nx.DiGraph:
    import gradviz as torch

    torch.manual_seed(seed)
    wx, wh, b = (torch.randn(*s, requires_grad=True) for s in ((8, 8), (8, 8), (8,)))
    h, loss = torch.zeros(1, 8), None
    for _ in range(max(1, n // 8)):
        h = (torch.randn(1, 8) @ wx + h @ wh + b).tanh()
        step = (h * h).sum()
        loss = step if loss is None else loss + step
    return _engine_graph([loss])


def engine_mlp(n: int, seed: int = 0) -> nx.DiGraph:
    import gradviz as torch

    torch.manual_seed(seed)
    h = torch.randn(4, 8)
    for _ in range(max(1, n // 6)):
        w, b = torch.randn(8, 8, requires_grad=True), torch.randn(8, requires_grad=True)
        h = (h @ w + b).tanh() + h
    return _engine_graph([h.sum()])


FAMILIES = {"autograd": autograd_dag, "rnn": engine_rnn, "mlp": engine_mlp}


def measure(lay: Layout) -> tuple[int, int, int]:
    return quality.crossings(lay), len(quality.edges_through_nodes(lay)), len(quality.overlapping_nodes(lay))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="200,1000,3000", help="node counts, comma separated")
    ap.add_argument("--family", choices=sorted(FAMILIES), default="autograd")
    ap.add_argument("--repeat", type=int, default=3, help="built-in runs per size (best wall time is shown)")
    ap.add_argument("--dot-timeout", type=float, default=1200.0, help="seconds to give dot per graph")
    ap.add_argument("--quick", action="store_true", help="skip dot above 1,000 nodes")
    ap.add_argument("--chain-only", action="store_true", help="only the 300-step chain's exports")
    ap.add_argument("--no-chain", action="store_true", help="skip the 300-step chain's exports")
    ap.add_argument("--chain-steps", type=int, default=300, help="steps of the chain")
    args = ap.parse_args(argv)
    if args.chain_only:
        return chain_exports(args.chain_steps, args.dot_timeout)

    path, provider = dot_binary.find_dot()
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"dot: {provider}" + (f" ({path})" if path else " (none found: dot columns stay empty)"))
    print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"graphs: {args.family}; built-in time = best wall time of {args.repeat} runs (CPU time beside it)")
    print()
    head = (
        f"{'nodes':>6} {'edges':>6} | {'built-in s':>10} {'cpu s':>6} {'target':>7} | {'dot s':>12} {'dot/ours':>8} |"
        f" {'crossings':>9} {'dot':>5} {'ours/dot':>8} | {'through nodes':>13} {'overlaps':>8}"
    )
    print(head)
    print("-" * len(head))
    worst_ratio = 0.0
    for n in (int(s) for s in args.sizes.split(",")):
        g = FAMILIES[args.family](n)
        wall, cpu, ours = float("inf"), float("inf"), None
        for _ in range(max(1, args.repeat)):
            c0, w0 = time.process_time(), time.perf_counter()
            ours = layout(g, prefer="builtin")
            wall, cpu = min(wall, time.perf_counter() - w0), min(cpu, time.process_time() - c0)
        assert ours is not None
        x_ours, through_ours, overlap_ours = measure(ours)
        target = TARGETS.get(n)
        verdict = "" if target is None else ("ok" if wall <= target else "MISSED")
        dot_time = dot_x = "-"
        ratio_t = ratio_x = "-"
        through_dot = overlap_dot = "-"
        if path is None:
            dot_time = "no dot"
        elif args.quick and n > 1000:
            dot_time = "skipped"
        else:
            theirs = layout(g, prefer="dot", timeout=args.dot_timeout)
            if theirs.provider == dot_binary.BUILTIN:
                note = theirs.notes[-1] if theirs.notes else "failed"
                dot_time = f"timeout > {args.dot_timeout:g} s" if "timed out" in note else "failed"
            else:
                x_dot, t_dot, o_dot = measure(theirs)
                dot_time, dot_x = f"{theirs.seconds:.3f}", str(x_dot)
                ratio_t = f"{theirs.seconds / wall:.0f}x"
                ratio_x = f"{x_ours / x_dot:.2f}" if x_dot else ("1.00" if x_ours == 0 else "inf")
                worst_ratio = max(
                    worst_ratio, x_ours / x_dot if x_dot else (0.0 if x_ours == 0 else float("inf"))
                )
                through_dot, overlap_dot = str(t_dot), str(o_dot)
        print(
            f"{len(g):>6} {g.number_of_edges():>6} | {wall:>10.3f} {cpu:>6.3f} {verdict:>7} | {dot_time:>12} {ratio_t:>8} |"
            f" {x_ours:>9} {dot_x:>5} {ratio_x:>8} | {through_ours:>6} / {through_dot:<6} {overlap_ours:>3} / {overlap_dot:<3}",
            flush=True,
        )
    print()
    print("through nodes / overlaps: built-in / dot. target: the issue's time for the built-in layout.")
    if worst_ratio:
        print(
            f"worst crossing ratio ours/dot: {worst_ratio:.2f} (<= 1.00 means never more crossings than dot)"
        )
    if not args.no_chain:
        print()
        chain_exports(args.chain_steps, args.dot_timeout)
    return 0


# --- the 300-step chain's exports -----------------------------------------------------------------

CHAIN_TARGETS = {"svg": (1.5, 3e6), "png": (2.0, None), "pdf": (None, None)}  # seconds, bytes


def chain_graph(steps: int, view: str = "tensors") -> nx.DiGraph:
    """The issue's chain: y = tanh(y * w + x), unrolled ``steps`` times, after backward()."""
    import gradviz as torch
    from gradviz.graph.model import build_graph

    torch.manual_seed(0)
    x = torch.randn(4, requires_grad=True)
    w = torch.randn(4, requires_grad=True)
    y = torch.zeros(4)
    for _ in range(steps):
        y = torch.tanh(y * w + x)
    loss = y.sum()
    loss.backward()
    return build_graph(loss, view=view, names=dict(x=x, w=w, y=y, loss=loss))


def _graphviz_render(g: nx.DiGraph, fmt: str, timeout: float, badges: bool) -> tuple[str, str]:
    """Time and size of Graphviz rendering the styled DOT of ``g`` itself (as torchviz does),
    with or without reference badges for the shared inputs."""
    import subprocess

    from gradviz.graph.dot import to_digraph

    path, _ = dot_binary.find_dot()
    if path is None:
        return "no dot", "-"
    src = to_digraph(g, shared_refs=badges).source.encode()
    t0 = time.perf_counter()
    try:
        run = subprocess.run([path, f"-T{fmt}"], input=src, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"> {timeout:g} s", "-"
    if run.returncode != 0:
        return "failed", "-"
    return f"{time.perf_counter() - t0:.2f}", _size(len(run.stdout))


def _size(n: float) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


def chain_exports(steps: int, dot_timeout: float) -> int:
    """Export the chain in each way and print time and size beside the targets."""
    import io

    from PIL import Image

    from gradviz.graph.export import render_bytes

    print(f"the {steps}-step chain y = tanh(y * w + x): exports, wall time of one run (in process)")
    head = (
        f"{'view':<9} {'how':<34} {'fmt':<4} {'time s':>8} {'target':>8} {'size':>10} {'target':>8}  picture"
    )
    print(head)
    print("-" * len(head))
    missed = 0
    for view in ("tensors", "autograd"):
        g = chain_graph(steps, view)
        ways = [
            ("gradviz, badges (now)", dict(), True),
            ("gradviz, one edge a use (before)", dict(shared_refs=False), False),
            (
                "gradviz, badges, dot layout",
                dict(layout=lambda s: layout(s, prefer="dot", timeout=dot_timeout)),
                False,
            ),
        ]
        for how, opts, target in ways:
            for fmt in ("svg", "png", "pdf"):
                if fmt == "pdf" and not target:
                    continue
                t0 = time.perf_counter()
                data = render_bytes(g, fmt, **opts)
                took = time.perf_counter() - t0
                t_goal, s_goal = CHAIN_TARGETS[fmt] if target and view == "tensors" else (None, None)
                ok_t = "" if t_goal is None else (f"<= {t_goal:g}" + ("" if took <= t_goal else " MISSED"))
                ok_s = (
                    ""
                    if s_goal is None
                    else (f"<= {_size(s_goal)}" + ("" if len(data) <= s_goal else " MISSED"))
                )
                missed += "MISSED" in ok_t + ok_s
                pic = ""
                if fmt == "png":
                    im = Image.open(io.BytesIO(data))
                    pic = f"{im.width} x {im.height} px"
                print(
                    f"{view:<9} {how:<34} {fmt:<4} {took:>8.2f} {ok_t:>8} {_size(len(data)):>10} {ok_s:>8}  {pic}",
                    flush=True,
                )
        for badges in (False, True):
            for fmt in ("svg", "png"):
                took, size = _graphviz_render(g, fmt, min(dot_timeout, 60.0), badges)
                how = f"Graphviz dot -T{fmt}, " + ("badges" if badges else "torchviz way")
                print(f"{view:<9} {how:<34} {fmt:<4} {took:>8} {'':>8} {size:>10}", flush=True)
    print()
    print(
        "targets (tensors view, badges): SVG <= 1.5 s and <= 3 MB, PNG <= 2 s."
        + (" All met." if not missed else f" {missed} missed.")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
