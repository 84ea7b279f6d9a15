"""The Operation dialog lists the ops declared in the engine's registry, with their formula, and
records them as any other op."""

from __future__ import annotations

import numpy as np
import pytest

from gradviz.engine import registry
from gradviz.gui.dialogs import OperationDialog
from gradviz.session.document import Session

NEW_IN_ISSUE_12 = (
    "atan2",
    "log1p",
    "expm1",
    "erf",
    "logsumexp",
    "gelu",
    "silu",
    "leaky_relu",
    "softplus",
    "tan",
)


@pytest.mark.parametrize("op", NEW_IN_ISSUE_12)
def test_registered_op_in_the_operation_dialog(qtbot, op: str) -> None:
    s = Session()
    s.add_leaf("a", np.array([[0.5, 1.0], [1.5, 2.0]], dtype=np.float32), requires_grad=True)
    s.add_leaf("b", np.array([[1.0, -1.0], [0.25, 2.0]], dtype=np.float32), requires_grad=True)
    d = OperationDialog(s, selected="a", op=op)
    qtbot.addWidget(d)
    d.show()
    assert op in d.items and d.spec.name == op
    info = registry.get(op)
    assert info.formula.text in d.subtitle.text()
    for i in range(1, len(d.rows)):
        d.rows[i].set_text("b")
    if op == "logsumexp":  # dim is required, as in torch
        assert not d.ok_button.isEnabled()
        qtbot.keyClicks(d.param_widgets["dim"][1], "1")
    assert d.ok_button.isEnabled(), d.preview.toPlainText()
    d.ok_button.click()
    assert s.entries[-1].op == op
    assert s.tensor(d.name).grad_fn.name() == info.nodes[0].name
