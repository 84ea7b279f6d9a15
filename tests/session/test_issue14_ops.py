"""The ops added in issue 14, end to end: typed into the console, listed in the catalogue with their
formula, saved and opened again through the file format, with the same values and gradients."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gradviz.engine import registry
from gradviz.gui.derivatives import local_derivative
from gradviz.session import catalogue
from gradviz.session import fileformat as ff
from gradviz.session.console import Console
from gradviz.session.document import Session

SETUP = (
    "a = torch.tensor([[1., -2., 3.], [4., 0.5, -6.]], requires_grad=True)\n"
    "b = torch.tensor([[0.5, 1., 2.], [1., 2., 3.]], requires_grad=True)\n"
)
# op -> (console source of r, its backward node name, or None for a result without one)
CASES = {
    "std": ("a.std(1)", "StdBackward0"),
    "var": ("torch.var(a, correction=0)", "VarBackward0"),
    "amax": ("a.amax(0)", "AmaxBackward0"),
    "amin": ("torch.amin(a, 1, keepdim=True)", "AminBackward0"),
    "prod": ("b.prod(1)", "ProdBackward1"),
    "cumsum": ("a.cumsum(1)", "CumsumBackward0"),
    "cumprod": ("torch.cumprod(b, 0)", "CumprodBackward0"),
    "all": ("torch.all(a > 0, 1)", None),
    "any": ("a.any()", None),
    "flip": ("a.flip(1)", "FlipBackward0"),
    "sort": ("a.sort(1).values", "SortBackward0"),
    "topk": ("torch.topk(a, 2).values", "TopkBackward0"),
    "median": ("a.median()", "MedianBackward0"),
    "norm": ("a.norm(dim=1)", "LinalgVectorNormBackward0"),
    "floor": ("a.floor() * a", "MulBackward0"),
    "ceil": ("torch.ceil(a)", "CeilBackward0"),
    "trunc": ("a.trunc()", "TruncBackward0"),
    "round": ("torch.round(a, decimals=1)", "RoundBackward1"),
    "remainder": ("a % b", "RemainderBackward1"),
    "fmod": ("torch.fmod(a, 1.5)", "FmodBackward0"),
    "floor_divide": ("a.detach() // b.detach()", None),
    "isclose": ("torch.isclose(a, b)", None),
    "tril": ("a.tril()", "TrilBackward0"),
    "triu": ("torch.triu(a, 1)", "TriuBackward0"),
    "diagonal": ("a.diagonal()", "DiagonalBackward0"),
    "masked_fill": ("a.masked_fill(b > 1, 0.)", "MaskedFillBackward0"),
}


def test_every_catalogue_op_of_issue_14_has_a_case_here() -> None:
    assert set(CASES) <= {o.name for o in catalogue.OPS}


@pytest.mark.parametrize("op", sorted(CASES))
def test_issue14_op_console_catalogue_and_file(tmp_path: Path, op: str) -> None:
    src, node = CASES[op]
    c = Console(Session())
    grad = node is not None
    r = c.run(SETUP + f"r = {src}" + ("\nloss = r.sum()\nloss.backward()" if grad else ""))
    assert r.ok, r.text
    s = c.session
    spec, info = catalogue.get(op), registry.get(op)
    assert spec.derivative == info.formula.text and spec.derivative
    if grad:
        assert s.tensor("r").grad_fn.name() == node
        assert local_derivative(node) == registry.formula_for(node).text
    path = tmp_path / f"{op}.gradviz"
    ff.save(s, path)
    t = Session()
    ff.open_into(t, path)
    for name in ("r", "a", "b"):
        x, y = s.tensor(name), t.tensor(name)
        assert x._data.tobytes() == y._data.tobytes(), name
        if x.grad is not None:
            np.testing.assert_array_equal(x.grad.numpy(), y.grad.numpy())
