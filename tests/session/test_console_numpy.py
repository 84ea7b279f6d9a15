"""``import numpy as np`` in the console: the seed notebook's numpy continuation, typed cell by
cell, prints what it prints in a script under PyTorch and under ``import gradviz as torch``; the
numpy surface a learner uses gives numpy's own results; the rest is refused by name."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

import gradviz
from gradviz.session.console import Console
from gradviz.session.document import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from seed_cells import run_cell

# The seed's last section, "Interoperability with Numpy", as the notebook goes on.
SEED_NUMPY = [
    "import numpy as np\n\nx = np.array([[1, 2], [3, 4.]])\nx",
    "# Convert the numpy array to a torch tensor.\ny = torch.from_numpy(x)\ny",
    "x.dtype, y.dtype",
    "# Convert a torch tensor to a numpy array\nz = y.numpy()\nz",
]


def _script(cells: list[str], module: object) -> list[str]:
    ns: dict = {"torch": module}
    return [run_cell(c, ns) for c in cells]


def _typed(cells: list[str]) -> list[str]:
    console = Console(Session())
    out = []
    for c in cells:
        r = console.run(c)
        assert r.ok, f"{c}\n{r.text}"
        out.append(r.output)
    return out


def test_the_seed_numpy_section_prints_what_a_torch_script_prints() -> None:
    got = _typed(SEED_NUMPY)
    assert [g.replace("gradviz.", "torch.") for g in got] == _script(SEED_NUMPY, torch)
    assert got == _script(SEED_NUMPY, gradviz)
    assert "dtype=torch.float64" in _script(SEED_NUMPY, torch)[1]


PROGRAMS = [
    "a = np.zeros((2, 3))\nb = np.ones(3)\nprint(a + b, np.arange(5), np.linspace(0, 1, 5))",
    "np.random.seed(0)\nprint(np.random.rand(2, 2), np.random.randn(3), np.random.randint(0, 10, size=4))",
    "a = np.arange(6).reshape(2, 3).astype(np.float32)\nprint(a.mean(), a.sum(axis=0), a.shape, a.dtype, a.T)",
    "a = np.array([[1., 2], [3, 4]])\nprint(np.sqrt(a), np.exp(a).round(3), np.dot(a, a), np.matmul(a, a), a @ a)",
    "a = np.array([1., 2, 3])\nt = torch.from_numpy(a)\nprint(t, t.dtype, torch.tensor(a), t.numpy().tolist())",
    "a = np.array([[1, 2], [3, 4]], dtype='float32')\nt = torch.tensor(a) * 2\nprint(t, t.numpy(), np.allclose(t.numpy(), a * 2))",
    "x = torch.randn(3)\nprint(type(x.numpy()), x.numpy().shape, np.float32(1.5))",
    "a = np.array([1., 2, 3])\nm = a.mean() * 2 - 1\nprint(m, -a, a / 2 + 1, m ** 2, range(3), np.array(range(3)))",
]


@pytest.mark.parametrize("program", PROGRAMS)
def test_numpy_in_the_console_gives_numpy_s_results(program: str) -> None:
    torch.manual_seed(0)
    gradviz.manual_seed(0)
    want = run_cell("import numpy as np\n" + program, {"torch": torch})
    gradviz.manual_seed(0)
    r = Console(Session()).run("import numpy as np\ntorch.manual_seed(0)\n" + program)
    assert r.ok, r.text
    torch.manual_seed(0)
    want = run_cell("import numpy as np\ntorch.manual_seed(0)\n" + program, {"torch": torch})
    assert r.output.replace("gradviz.", "torch.") == want


REFUSED = [
    ("import numpy as np\nnp.save('x', 1)", "numpy.save is not available in the console"),
    ("import numpy as np\nnp.load", "numpy.load is not available in the console"),
    ("import numpy as np\nnp.ctypeslib", "numpy.ctypeslib is not available in the console"),
    (
        "import numpy as np\na = np.zeros(2)\na.tofile('x')",
        "attribute 'tofile' of a numpy array is not available",
    ),
    ("import numpy as np\nnp.zeros(10**12)", "more than this session's limit"),
    ("import numpy as np\nnp.arange(10**13)", "more than this session's limit"),
    ("np.zeros(2)", "name 'np' is not defined"),
    ("import numpy as np\nnp.random.random((10**6, 10**6))", "more than this session's limit"),
    ("import numpy as np\nnp.random.normal(0, 1, 10**12)", "more than this session's limit"),
    ("import numpy as np\nnp.array(range(10**12))", "more than this session's limit"),
    ("import numpy as np\nnp.ones(10**5) @ np.ones((10**5, 10**6))", "more than this session's limit"),
    ("import numpy as np\nnp.array(np)", "not a module"),
    ("import numpy as np\nnp.array([10**30]) ** 10**10", "arrays of Python objects"),
    ("import numpy as np\nnp.zeros(2, dtype='O')", "arrays of Python objects"),
    ("import numpy as np\nnp.zeros(2).astype('O')", "arrays of Python objects"),
    ("import numpy as np\nnp.zeros(2, dtype=object)", "'object' is not available in the console"),
    ("import numpy.linalg", "imports other than torch"),
]


@pytest.mark.parametrize(("program", "words"), REFUSED)
def test_the_rest_of_numpy_is_refused_by_name(program: str, words: str) -> None:
    r = Console(Session()).run(program)
    assert not r.ok and words in r.error, r.text
