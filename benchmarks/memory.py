"""Resident memory of a session against what its live tensors need: `python benchmarks/memory.py`.

Each scenario runs in a fresh process and reports its resident memory (VmRSS, Linux) above the
process's own after import, beside the sum of the live tensors' sizes:

- `undo`: issue 10's twelve console cells `x = torch.ones(2**25)` (128 MB each), then a save;
  the same twelve statements in PyTorch, in the same run, are the competitor (ratio printed).
- one line per shipped example: open it, as File > Open does.
- the op-time prices' rates (sizing.py) measured on this machine, to check the constants.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MB = 2**20


def rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def child(scenario: str) -> dict:
    import gc

    if scenario == "torch-undo":
        import torch

        base = rss()
        x = None
        for _ in range(12):
            x = torch.ones(2**25)
        gc.collect()
        return {"rss": rss() - base, "live": x.numel() * x.element_size()}

    from gradviz.session import examples, fileformat
    from gradviz.session.console import Console
    from gradviz.session.document import Session

    base = rss()
    if scenario == "undo":
        session = Session()
        console = Console(session)
        for _ in range(12):
            r = console.run("x = torch.ones(2**25)")
            assert r.ok, r.error
        gc.collect()
        after = rss()
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "undo.gradviz"
            fileformat.save(session, path)
            size = path.stat().st_size
        use = session.memory_use()
        return {
            "rss": after - base,
            "live": sum(t.numel() * t.element_size() for t in session.tensors().values()),
            "file": size,
            "breakdown": [use.tensors, use.log, use.history],
            "undo_steps": len(session._undo),
        }
    name = scenario.removeprefix("example:")
    session = Session()
    ex = next(e for e in examples.EXAMPLES if e.name == name)
    session.load_entries(ex.build().entries)
    gc.collect()
    return {
        "rss": rss() - base,
        "live": sum(t.numel() * t.element_size() for t in session.tensors().values()),
    }


def rates() -> dict[str, float]:
    import numpy as np

    out = {}
    a = np.ones((1024, 1024), np.float32)
    t = time.perf_counter()
    a @ a
    out["BLAS multiply-adds/s"] = 1024**3 / (time.perf_counter() - t)
    b = np.ones((384, 384), np.int64)
    t = time.perf_counter()
    b @ b
    out["int64 multiply-adds/s"] = 384**3 / (time.perf_counter() - t)
    c = np.ones(2 * 10**7, np.float32)
    t = time.perf_counter()
    c + c
    out["elements/s"] = 2 * 10**7 / (time.perf_counter() - t)
    return out


def run(scenario: str) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", scenario], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    from gradviz.session import examples, sizing

    print("scenario                      resident MB   live tensors MB   ratio")
    g, t = run("undo"), run("torch-undo")
    print(
        f"undo: 12 x ones(2**25)         {g['rss'] / MB:9.0f}   {g['live'] / MB:15.0f}   {g['rss'] / g['live']:5.2f}"
    )
    print(
        f"  the same in PyTorch          {t['rss'] / MB:9.0f}   {t['live'] / MB:15.0f}   {t['rss'] / t['live']:5.2f}"
    )
    print(f"  gradviz / PyTorch resident: {g['rss'] / t['rss']:.2f}")
    tensors, log, history = g["breakdown"]
    print(
        f"  counted: tensors {tensors / MB:.0f} MB, log {log / MB:.0f} MB, undo history {history / MB:.0f} MB "
        f"({g['undo_steps']} undo steps kept); saved file {g['file'] / MB:.1f} MB"
    )
    for ex in examples.EXAMPLES:
        r = run(f"example:{ex.name}")
        print(f"example {ex.name:21s} {r['rss'] / MB:9.1f}   {r['live'] / MB:15.3f}")
    print("rates on this machine (sizing.py assumes):")
    assumed = {
        "BLAS multiply-adds/s": sizing.BLAS_MACS_PER_S,
        "int64 multiply-adds/s": sizing.LOOP_MACS_PER_S,
        "elements/s": sizing.ELEMENTS_PER_S,
    }
    for k, v in rates().items():
        print(f"  {k:22s} {v:10.3g}   (assumed {assumed[k]:.3g})")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2])))
    else:
        main()
