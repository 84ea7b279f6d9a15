"""`import gradviz as torch` runs the seed notebook and prints what it printed.

The notebook text (a copy of shared/seed/) is split into cells; each cell runs as IPython would
(stdout, then the repr of a trailing expression), once with gradviz and once with PyTorch.
gradviz names its own module where PyTorch names torch (``gradviz.float32``,
``gradviz.Size([3, 2])``); apart from that the output must be identical.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import gradviz

SEED = Path(__file__).resolve().parents[1] / "data" / "seed_notebook.txt"
CELL = re.compile(r"^In \[(\d*| )\]:\n", re.M)


def parse_cells(text: str) -> list[tuple[str, str]]:
    """(code, printed output) for each cell; output runs until the next prose paragraph."""
    parts = CELL.split(text)[1:]
    cells = []
    for i in range(0, len(parts), 2):
        body = parts[i + 1]
        blocks = re.split(r"\n\s*\n", body.strip("\n"), maxsplit=1)
        code = blocks[0]
        rest = blocks[1] if len(blocks) > 1 else ""
        # The printed output is the run of lines that look like output (tensor reprs, dtypes,
        # 'dy/dx:' lines) before the notebook's prose resumes.
        out_lines = []
        for para in re.split(r"\n\s*\n", rest):
            if re.match(r"^(tensor|torch\.|dy/d|\s)", para) or para.startswith("        ["):
                out_lines.append(para)
            else:
                break
        cells.append((code, "\n".join(out_lines)))
    return cells


def run_cell(code: str, ns: dict) -> str:
    out = io.StringIO()
    tree = ast.parse(code)
    last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    body = tree.body[:-1] if last else tree.body
    with contextlib.redirect_stdout(out):
        exec(compile(ast.Module(body=body, type_ignores=[]), "<cell>", "exec"), ns)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), ns)
            if value is not None:
                print(repr(value))
    return out.getvalue()


def normalise(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines() if line.strip())


CELLS = [c for c in parse_cells(SEED.read_text()) if c[0].strip() != "import torch"]


def test_the_seed_has_the_cells_we_expect() -> None:
    codes = [c for c, _ in CELLS]
    assert len(codes) >= 12
    assert any("y.backward()" in c for c in codes)
    assert any("t4 = torch.tensor" in c for c in codes)


@pytest.mark.parametrize("module, name", [(torch, "torch"), (gradviz, "gradviz")])
def test_seed_notebook_output(module: object, name: str) -> None:
    ns: dict = {"torch": module}
    for code, expected in CELLS:
        got = run_cell(code, ns)
        want = expected.replace("torch.", "gradviz.") if name == "gradviz" else expected
        assert normalise(got) == normalise(want), f"cell:\n{code}"


NUMPY_CONTINUATION = [
    ("import numpy as np\nx = np.array([[1, 2], [3, 4.]])\nx", "array([[1., 2.],\n       [3., 4.]])"),
    ("y = torch.from_numpy(x)\ny", "tensor([[1., 2.],\n        [3., 4.]], dtype=torch.float64)"),
    ("x.dtype, y.dtype", "(dtype('float64'), torch.float64)"),
    ("z = y.numpy()\nz", "array([[1., 2.],\n       [3., 4.]])"),
]


@pytest.mark.parametrize("module, name", [(torch, "torch"), (gradviz, "gradviz")])
def test_numpy_interop_continuation(module: object, name: str) -> None:
    ns: dict = {"torch": module}
    for code, expected in NUMPY_CONTINUATION:
        want = expected.replace("torch.", f"{name}.")
        assert normalise(run_cell(code, ns)) == normalise(want), code
    # from_numpy and .numpy() share memory both ways.
    ns["x"][0, 0] = 42.0
    assert ns["y"][0, 0].item() == 42.0
    ns["z"][1, 1] = -1.0
    assert ns["x"][1, 1] == -1.0
    assert np.shares_memory(ns["x"], ns["z"])


def test_seed_cells_print_byte_for_byte_what_torch_prints() -> None:
    """The notebook text loses blank lines; a live run of torch keeps them, so compare exactly."""
    ns_t: dict = {"torch": torch}
    ns_g: dict = {"torch": gradviz}
    for code, _ in CELLS:
        want = run_cell(code, ns_t).replace("torch.", "gradviz.")
        assert run_cell(code, ns_g) == want, f"cell:\n{code}"
