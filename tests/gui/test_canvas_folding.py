"""Folded loops in the window: a 300-step chain is one group "× 300"; double-clicking it shows
every repetition, its context menu opens one at a time and folds it again, and the nodes
outside keep their ids and places through the round trip."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

import gradviz as torch
from gradviz.graph.model import AUTOGRAD
from gradviz.gui.canvas import GraphCanvas, TensorsSource

STEPS = 300
SHOT = Path(os.environ.get("GRADVIZ_SHOT_DIR", "/tmp")) / "gradviz_folded_chain.png"


def chain(steps: int = STEPS):
    x = torch.tensor([0.5, -0.3], requires_grad=True)
    w = torch.tensor([0.9, 1.1], requires_grad=True)
    y = x
    for _ in range(steps):
        y = torch.tanh(y * w + x)
        y.retain_grad()
    loss = y.sum()
    loss.backward()
    return {"x": x, "w": w, "y": y, "loss": loss}


def make(qtbot, named, size=(1000, 760)) -> GraphCanvas:
    c = GraphCanvas(TensorsSource(named["loss"], names=named))
    qtbot.addWidget(c)
    c.resize(*size)
    c.show()
    qtbot.waitUntil(c.is_idle, timeout=60000)
    return c


def groups(c: GraphCanvas) -> dict[str, dict]:
    return {n: it.attrs for n, it in c.node_items().items() if it.kind == "repeat"}


def double_click(qtbot, c: GraphCanvas, nid: str) -> None:
    item = c.node_items()[nid]
    c.centerOn(item)
    pos = c.mapFromScene(item.sceneBoundingRect().center())
    QTest.mouseDClick(c.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
    qtbot.waitUntil(c.is_idle, timeout=60000)


def trigger(c: GraphCanvas, nid: str, text: str) -> None:
    menu = c.group_menu(nid)
    assert menu is not None
    exact = [a for a in menu.actions() if a.text() == text]
    action = exact[0] if exact else next(a for a in menu.actions() if a.text().startswith(text))
    action.trigger()


def test_folded_chain_fits_one_screen_and_says_what_it_holds(qtbot) -> None:
    named = chain()
    c = make(qtbot, named)
    gs = groups(c)
    assert len(gs) == 1
    ((gid, a),) = gs.items()
    assert a["label"] == "× 300" and a["body_text"] == "mul → add → tanh"
    assert len(a["grad_norms"]) == STEPS and a["grad_last"] == pytest.approx(2**0.5)
    assert len(c.node_items()) < 12  # x, w, the group, y, sum, loss and the ops between
    c.fit()
    qtbot.wait(50)
    assert c.zoom >= 0.6  # legible: fitted to the window without shrinking the text away
    SHOT.parent.mkdir(parents=True, exist_ok=True)
    assert c.grab().save(str(SHOT))
    assert "Double-click to expand" in c.node_items()[gid].tip


def test_double_click_expands_and_the_menu_collapses_with_ids_and_places_kept(qtbot) -> None:
    named = chain(30)
    c = make(qtbot, named)
    (gid,) = groups(c)
    before = {n: it.pos() for n, it in c.node_items().items() if n != gid}
    double_click(qtbot, c, gid)
    items = c.node_items()
    assert not groups(c)
    assert len(items) > 30 * 6  # every repetition's ops and tensors
    assert set(before) <= set(items)  # the nodes outside the group kept their ids
    inner = next(n for n, it in items.items() if it.attrs.get("op") == "tanh")
    trigger(c, inner, "Collapse")
    qtbot.waitUntil(c.is_idle, timeout=60000)
    assert list(groups(c)) == [gid]  # the same group, by the same id
    after = {n: it.pos() for n, it in c.node_items().items() if n != gid}
    assert after.keys() == before.keys()
    for n, p in before.items():
        assert (after[n] - p).manhattanLength() < 1.0, n


def test_expand_one_repetition_at_a_time(qtbot) -> None:
    c = make(qtbot, chain(30))
    (gid,) = groups(c)
    trigger(c, gid, "Expand One Repetition")
    qtbot.waitUntil(c.is_idle, timeout=60000)
    gs = groups(c)
    assert [g["count"] for g in gs.values()] == [29]  # the others, after the open one
    assert sum(1 for it in c.node_items().values() if it.attrs.get("op") == "tanh") == 1
    ((rest, _),) = gs.items()
    trigger(c, rest, "Expand One Repetition")
    qtbot.waitUntil(c.is_idle, timeout=60000)
    assert [g["count"] for g in groups(c).values()] == [28]
    assert sum(1 for it in c.node_items().values() if it.attrs.get("op") == "tanh") == 2
    trigger(c, next(iter(groups(c))), "Collapse")
    qtbot.waitUntil(c.is_idle, timeout=60000)
    assert [g["count"] for g in groups(c).values()] == [30]


def test_a_small_graph_is_drawn_whole(qtbot) -> None:
    c = make(qtbot, chain(12))  # 77 nodes: each step's colour is worth seeing
    assert not groups(c)
    assert sum(1 for it in c.node_items().values() if it.attrs.get("op") == "tanh") == 12


def test_autograd_view_folds_and_the_toggle_unfolds(qtbot) -> None:
    c = make(qtbot, chain(60))
    c.set_view(AUTOGRAD)
    qtbot.waitUntil(c.is_idle, timeout=60000)
    (a,) = groups(c).values()
    assert a["label"] == "× 60" and a["body_text"] == "mul → add → tanh"
    assert all(v is not None for v in a["grad_norms"])  # read from the tensors' gradients
    c.set_fold_repeats(False)
    qtbot.waitUntil(c.is_idle, timeout=60000)
    assert not groups(c)
    assert sum(1 for it in c.node_items().values() if it.attrs.get("label") == "TanhBackward0") == 60


def test_a_module_collapses_from_its_menu_and_double_click_opens_it(qtbot) -> None:
    import gradviz.nn as nn

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    x = torch.randn(2, 3)
    loss = net(x).sum()
    loss.backward()
    c = make(qtbot, {"x": x, "loss": loss})
    before = set(c.node_items())
    relu = next(n for n, it in c.node_items().items() if it.attrs.get("op") == "relu")
    menu = c.group_menu(relu)
    texts = [a.text() for a in menu.actions()]
    assert texts[:2] == ["Collapse Sequential[1] (ReLU)", "Collapse Sequential"]
    trigger(c, relu, "Collapse Sequential")
    qtbot.waitUntil(c.is_idle, timeout=60000)
    boxes = [n for n, it in c.node_items().items() if it.kind == "module"]
    assert len(boxes) == 1 and c.graph.nodes[boxes[0]]["label"] == "Sequential"
    assert c.graph.nodes[boxes[0]]["counts"] == "3 ops, 4 parameters"
    double_click(qtbot, c, boxes[0])
    assert set(c.node_items()) == before


def test_a_console_loop_in_the_window_is_one_group(qtbot, window) -> None:
    w = window()
    for line in (
        "x = torch.tensor([0.5, -0.3], requires_grad=True)",
        "w = torch.tensor([0.9, 1.1], requires_grad=True)",
        "y = x * 1",
    ):
        assert w.console.submit(line).ok
    assert w.console.submit("for i in range(60):\n    y = torch.tanh(y * w + x)").ok
    assert w.console.submit("y.sum().backward()").ok
    qtbot.waitUntil(w.canvas.is_idle, timeout=60000)
    gs = groups(w.canvas)
    assert [a["label"] for a in gs.values()] == ["× 60"]
    assert w.actions["fold_repeats"].isChecked()


def test_clicking_a_group_in_the_window_selects_it_quietly(qtbot, window) -> None:
    w = window()
    for line in ("x = torch.tensor([0.5, -0.3], requires_grad=True)", "y = x * 1"):
        assert w.console.submit(line).ok
    assert w.console.submit("for i in range(90):\n    y = torch.sin(y) * 0.9").ok
    assert w.console.submit("y.sum().backward()").ok
    qtbot.waitUntil(w.canvas.is_idle, timeout=60000)
    (gid,) = w.canvas.group_nodes()
    item = w.canvas.node_items()[gid]
    w.canvas.centerOn(item)
    pos = w.canvas.mapFromScene(item.sceneBoundingRect().center())
    QTest.mouseClick(w.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
    qtbot.wait(50)
    assert w.canvas.selected_node == gid and w.canvas.selected_name == ""
    w.set_view(AUTOGRAD)
    qtbot.waitUntil(w.canvas.is_idle, timeout=60000)
    assert len(w.canvas.group_nodes()) == 1


def test_selecting_a_tensor_folded_into_a_group_selects_the_group(qtbot, window) -> None:
    w = window()
    assert w.console.submit("x = torch.tensor([0.5, -0.3], requires_grad=True)").ok
    assert w.console.submit("h0 = x * 1").ok
    cell = "\n".join(f"h{i} = torch.tanh(h{i - 1} * 0.9)" for i in range(1, 60))
    assert w.console.submit(cell).ok
    qtbot.waitUntil(w.canvas.is_idle, timeout=60000)
    (gid,) = w.canvas.group_nodes()
    assert w.canvas.node_id("h20") == gid  # named, and drawn as part of the group
    w.canvas.select("h20")
    assert w.canvas.selected_node == gid
    assert w.canvas.node_id("h59") in w.canvas.node_items()  # the result stays outside


REVIEWED_STEP = "for i in range(30):\n    g = h.tanh()\n    h = (g + h).tanh() * g.tanh()"


def test_a_step_using_a_value_twice_folds_in_the_window(qtbot, window) -> None:
    """The review's loop (once "The graph could not be drawn… TypeError"): one group × 30."""
    w = window()
    assert w.console.submit("h = torch.tensor([0.5, 0.1], requires_grad=True)").ok
    assert w.console.submit(REVIEWED_STEP).ok
    assert w.console.submit("h.sum().backward()").ok
    qtbot.waitUntil(w.canvas.is_idle, timeout=60000)
    assert not w.canvas.notice.isVisible()
    (a,) = groups(w.canvas).values()
    assert a["label"] == "× 30" and a["body"] == ("tanh", "add", "tanh", "tanh", "mul")


def test_a_fold_that_fails_leaves_the_graph_drawn_whole_and_quiet(qtbot, window, monkeypatch) -> None:
    import gradviz.gui.canvas_layout as canvas_layout

    def broken(g, *args, **kw):
        raise TypeError("a bug in the search for repeats")

    monkeypatch.setattr(canvas_layout, "find_repeats", broken)
    w = window()
    said: list[str] = []
    w.canvas.message.connect(said.append)
    assert w.console.submit("h = torch.tensor([0.5, 0.1], requires_grad=True)").ok
    assert w.console.submit(REVIEWED_STEP).ok
    qtbot.waitUntil(w.canvas.is_idle, timeout=60000)
    assert not w.canvas.notice.isVisible()
    assert not any("fail" in m.lower() or "bug" in m.lower() for m in said), said
    assert groups(w.canvas) == {}
    kinds = [it.attrs.get("label") for it in w.canvas.node_items().values() if it.kind == "op"]
    assert kinds.count("tanh") == 90 and kinds.count("mul") == 30  # every step, unfolded
