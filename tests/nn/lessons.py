"""Run one program text with ``torch`` bound to PyTorch and to gradviz; capture what it prints."""

from __future__ import annotations

import contextlib
import io
import types

import torch

import gradviz


def _lib(root: types.ModuleType) -> dict:
    return {"torch": root, "nn": root.nn, "optim": root.optim, "F": root.nn.functional}


def run(program: str, lib: str) -> str:
    """stdout of ``program`` run with ``import torch`` (lib="torch") or ``import gradviz as torch``."""
    root = torch if lib == "torch" else gradviz
    namespace = {"__name__": "__lesson__", **_lib(root)}
    # the program's own `import torch ...` lines must bind the chosen library too
    text = program.replace("import torch\n", "").replace("from torch", "from " + root.__name__)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(text, f"<lesson:{lib}>", "exec"), namespace)
    return out.getvalue()


def numbers(text: str) -> list[float]:
    import re

    return [float(x) for x in re.findall(r"-?\d+\.\d+(?:e[-+]?\d+)?", text)]
