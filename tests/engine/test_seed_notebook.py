"""`import gradviz as torch` runs the seed notebook and prints what it printed.

The notebook text (a copy of shared/seed/) is split into cells (tests/seed_cells.py); each cell runs
as IPython would (stdout, then the repr of a trailing expression), once with gradviz and once with
PyTorch.
gradviz names its own module where PyTorch names torch (``gradviz.float32``,
``gradviz.Size([3, 2])``); apart from that the output must be identical.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import gradviz

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from seed_cells import ALL_CELLS, normalise, run_cell  # the shared seed parser

CELLS = [c for c in ALL_CELLS if c[0].strip() != "import torch"]


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
