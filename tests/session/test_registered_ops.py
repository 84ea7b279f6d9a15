"""The ops added with the engine's registry (issue 12), end to end: typed into the console, listed in the
catalogue with their formula, saved and opened again through the file format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gradviz.engine import registry
from gradviz.gui.derivatives import derivative_of, local_derivative
from gradviz.session import catalogue
from gradviz.session import fileformat as ff
from gradviz.session.console import Console
from gradviz.session.document import Session
from gradviz.session.log import Op

SETUP = (
    "a = torch.tensor([[1., -2., 3.], [4., 0.5, -6.]], requires_grad=True)\n"
    "b = torch.tensor([[0.5, 1., 2.], [1., 2., 3.]], requires_grad=True)\n"
)
# op -> (console source of r, its backward node name)
CASES = {
    "atan2": ("torch.atan2(a, b)", "Atan2Backward0"),
    "log1p": ("b.log1p()", "Log1PBackward0"),
    "expm1": ("torch.expm1(a)", "Expm1Backward0"),
    "erf": ("a.erf()", "ErfBackward0"),
    "tan": ("torch.tan(a)", "TanBackward0"),
    "logsumexp": ("torch.logsumexp(a, 1)", "LogsumexpBackward0"),
    "gelu": ("F.gelu(a, approximate='tanh')", "GeluBackward0"),
    "silu": ("torch.nn.functional.silu(a)", "SiluBackward0"),
    "leaky_relu": ("F.leaky_relu(a, 0.2)", "LeakyReluBackward0"),
    "softplus": ("F.softplus(a, beta=2, threshold=3.)", "SoftplusBackward0"),
}


def test_every_op_new_in_issue_12_has_a_case_here() -> None:
    assert set(CASES) == {
        "atan2", "log1p", "expm1", "erf", "logsumexp", "gelu", "silu", "leaky_relu", "softplus", "tan",
    }  # fmt: skip
    assert set(CASES) <= {o.name for o in catalogue.OPS}


@pytest.mark.parametrize("op", sorted(CASES))
def test_registered_op_console_catalogue_and_file(tmp_path: Path, op: str) -> None:
    src, node = CASES[op]
    c = Console(Session())
    r = c.run(SETUP + f"r = {src}\nloss = r.sum()\nloss.backward()")
    assert r.ok, r.text
    s = c.session
    assert op in [e.op for e in s.entries if isinstance(e, Op)]
    assert s.tensor("r").grad_fn.name() == node
    shown = c.run("r")
    assert shown.ok and f"grad_fn=<{node}>" in shown.output

    spec = catalogue.get(op)
    info = registry.get(op)
    assert spec.derivative == info.formula.text and spec.derivative
    assert local_derivative(node) == registry.formula_for(node).text
    assert derivative_of(node).formula and derivative_of("", op).formula == spec.derivative

    path = tmp_path / f"{op}.gradviz"
    ff.save(s, path)
    t = Session()
    ff.open_into(t, path)
    for name in ("r", "a", "b"):
        x, y = s.tensor(name), t.tensor(name)
        assert x._data.tobytes() == y._data.tobytes(), name
        if x.grad is not None:
            np.testing.assert_array_equal(x.grad.numpy(), y.grad.numpy())
    assert t.tensor("r").grad_fn.name() == node
