"""Run one program text with ``torch`` bound to PyTorch and to gradviz; capture what it prints."""

from __future__ import annotations

import contextlib
import io
import re


def as_gradviz(program: str) -> str:
    """The program's imports of torch pointed at gradviz; nothing else changes."""
    program = re.sub(r"^import torch$", "import gradviz as torch", program, flags=re.M)
    program = re.sub(r"^import torch\.(\S+) as ", r"import gradviz.\1 as ", program, flags=re.M)
    return re.sub(r"^from torch(\.\S+)? import ", r"from gradviz\1 import ", program, flags=re.M)


def run(program: str, lib: str) -> str:
    """stdout of ``program`` as written (lib="torch") or with ``import gradviz as torch``."""
    text = program if lib == "torch" else as_gradviz(program)
    namespace: dict = {"__name__": "__lesson__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(text, f"<lesson:{lib}>", "exec"), namespace)
    if lib != "torch":  # the gradviz run must not have reached PyTorch anywhere
        leaked = [
            k
            for k, v in namespace.items()
            if (getattr(v, "__module__", None) or getattr(v, "__name__", "")).startswith("torch")
        ]
        assert not leaked, leaked
        import gradviz

        assert namespace.get("torch", gradviz) is gradviz
    return out.getvalue()
