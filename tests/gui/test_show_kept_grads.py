"""``gradviz.show(y)`` colours every intermediate by the gradient the engine kept for it, and the
inspector says why ``.grad`` is None all the same (PyTorch's semantics)."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

import gradviz
from gradviz.graph.colors import PENDING_PAINT
from gradviz.graph.style import KEPT_BADGE
from gradviz.gui.main_window import MainWindow


def test_show_colours_intermediates_and_the_inspector_explains(qtbot) -> None:
    w = gradviz.tensor([1.0, -2.0], requires_grad=True)
    h = (w * 3).tanh()
    loss = (h * h).sum()
    loss.backward()
    seen = {}

    def close_it() -> None:
        win = next(
            t
            for t in QApplication.topLevelWidgets()
            if isinstance(t, MainWindow) and t.viewer and t.isVisible()
        )
        win.canvas.wait_until_idle()
        item = win.canvas.item_for("h")
        seen["fill"] = item.fill
        seen["texts"] = [op.data[1] for op in item.ops if op.kind == "text"]
        seen["tip"] = item.toolTip()
        win.inspector.show_tensor("h")
        seen["note"] = win.inspector.grad_note.text()
        win.close()

    QTimer.singleShot(50, close_it)
    gradviz.show(loss)
    assert seen["fill"] != PENDING_PAINT.fill  # coloured, not the white "grad not retained"
    assert KEPT_BADGE in seen["texts"] and "grad not retained" not in seen["texts"]
    assert "grad: None" not in seen["tip"]
    assert "kept" in seen["note"] and "retain_grad()" in seen["note"]
