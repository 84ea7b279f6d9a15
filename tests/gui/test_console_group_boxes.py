"""A model typed into the console is drawn in groups named as the learner named it: its
modules' menu entries say ``Collapse model.0 (Linear)``, the collapsed box reads so, and a
double-click opens it again; a ``with torch.profiler.record_function("loss"):`` is a group too,
in both views."""

from __future__ import annotations

import os
from pathlib import Path

from driving import idle, type_in_console
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from gradviz.graph.model import AUTOGRAD

SHOT = Path(os.environ.get("GRADVIZ_SHOT_DIR", "/tmp"))

CELLS = (
    "torch.manual_seed(0)",
    "model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))",
    "x = torch.randn(5, 2)",
    'with torch.profiler.record_function("loss"): loss = model(x).pow(2).mean()',
    "loss.backward()",
)


def boxes(c) -> dict[str, str]:
    """label -> id of each collapsed group on the canvas."""
    return {it.attrs["label"]: n for n, it in c.node_items().items() if it.kind == "module"}


def node_with(c, **attrs) -> str:
    return next(n for n, it in c.node_items().items() if all(it.attrs.get(k) == v for k, v in attrs.items()))


def menu_texts(c, nid: str) -> list[str]:
    menu = c.group_menu(nid)
    return [a.text() for a in menu.actions()] if menu is not None else []


def choose(qtbot, c, nid: str, text: str) -> None:
    menu = c.group_menu(nid)
    next(a for a in menu.actions() if a.text() == text).trigger()
    qtbot.waitUntil(c.is_idle, timeout=60000)


def double_click(qtbot, c, nid: str) -> None:
    item = c.node_items()[nid]
    c.centerOn(item)
    pos = c.mapFromScene(item.sceneBoundingRect().center())
    QTest.mouseDClick(c.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
    qtbot.waitUntil(c.is_idle, timeout=60000)


def test_a_console_model_collapses_to_a_box_with_its_name_and_opens_on_double_click(qtbot, window) -> None:
    w = window()
    for cell in CELLS:
        type_in_console(qtbot, w, cell)
        idle(qtbot, w)
    assert "loss" in w.session and w.session.tensor("model_0_weight").grad is not None
    c = w.canvas
    everything = set(c.node_items())
    tanh = node_with(c, type="op", op="tanh")
    assert menu_texts(c, tanh)[:3] == [
        "Collapse model.1 (Tanh)",
        "Collapse model (Sequential)",
        "Collapse loss",
    ]
    first = node_with(c, name="model_0_weight")
    choose(qtbot, c, first, "Collapse model.0 (Linear)")
    assert list(boxes(c)) == ["model.0 (Linear)"]
    box = boxes(c)["model.0 (Linear)"]
    assert c.graph.nodes[box]["counts"] == "1 op, 2 parameters"
    shown = set(c.node_items())
    assert not any(n in shown for n in ("t:1", "t:2"))  # its weight and bias are inside it
    c.grab().save(str(SHOT / "gradviz_console_module_box.png"))
    double_click(qtbot, c, box)
    assert not boxes(c) and set(c.node_items()) == everything
    choose(qtbot, c, tanh, "Collapse model (Sequential)")  # and it folds again, the whole model
    assert list(boxes(c)) == ["model (Sequential)"]
    assert c.graph.nodes[boxes(c)["model (Sequential)"]]["counts"] == "3 ops, 4 parameters"
    c.grab().save(str(SHOT / "gradviz_console_model_box.png"))


def test_a_name_scope_typed_in_the_console_is_a_group_in_the_autograd_view(qtbot, window) -> None:
    w = window()
    for cell in CELLS:
        type_in_console(qtbot, w, cell)
        idle(qtbot, w)
    w.set_view(AUTOGRAD)
    idle(qtbot, w)
    c = w.canvas
    mean = node_with(c, type="backward", label="MeanBackward0")
    assert menu_texts(c, mean)[0] == "Collapse loss"
    choose(qtbot, c, mean, "Collapse loss")
    (box,) = boxes(c).values()
    assert c.graph.nodes[box]["label"] == "loss"
    assert c.graph.nodes[box]["counts"] == "7 ops, 4 parameters"  # t, addmm, tanh, t, addmm, pow, mean
    assert not any(it.attrs.get("label") == "TanhBackward0" for it in c.node_items().values())
    c.grab().save(str(SHOT / "gradviz_console_scope_box.png"))
    double_click(qtbot, c, box)
    assert not boxes(c)
    assert any(it.attrs.get("label") == "TanhBackward0" for it in c.node_items().values())
