"""Reference badges of a shared input on the canvas: each far use of w shows "→ w", coloured
like w; a click on one selects w, hovering shows w's tooltip; both views."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt

from gradviz.graph.model import AUTOGRAD, TENSORS
from gradviz.graph.shared import ref_id
from gradviz.gui.canvas import GraphCanvas, SessionSource
from gradviz.gui.plain import tip_text
from gradviz.session.document import Session

STEPS = 12


def loop_session(steps: int = STEPS) -> Session:
    """y = tanh(y * w + x), unrolled: w and x feed every step."""
    s = Session()
    s.add_leaf("x", [0.5, -1.0], requires_grad=True)
    s.add_leaf("w", [0.9, 1.1], requires_grad=True)
    s.add_leaf("y0", [0.0, 0.0])
    prev = "y0"
    for i in range(steps):
        prev = s.apply(
            "tanh",
            [s.apply("add", [s.apply("mul", [prev, "w"], hidden=True), "x"], hidden=True)],
            name=f"y{i + 1}",
        )
    s.backward(s.apply("sum", [prev], name="loss"))
    return s


def make_canvas(qtbot, session: Session) -> GraphCanvas:
    c = GraphCanvas(SessionSource(session))
    qtbot.addWidget(c)
    c.setWindowFlag(Qt.WindowType.FramelessWindowHint)
    c.resize(900, 700)
    c.show()
    qtbot.waitUntil(c.is_idle, timeout=30000)
    return c


def center_of(canvas: GraphCanvas, item) -> QPoint:
    return canvas.mapFromScene(item.sceneBoundingRect().center())


@pytest.mark.parametrize("view", [TENSORS, AUTOGRAD])
def test_clicking_a_badge_selects_the_shared_leaf(qtbot, view) -> None:
    c = make_canvas(qtbot, loop_session())
    if view != TENSORS:
        c.set_view(view)
        qtbot.waitUntil(c.is_idle, timeout=30000)
    w = c.node_id("w")
    refs = c.ref_items()
    of_w = [it for it in refs.values() if it.nid == w]
    # w's far uses (all but the first) each have a badge, and only a short edge goes from it.
    assert len(of_w) >= STEPS - 2
    assert all(it.fill == c.item_for("w").fill for it in of_w)  # coloured like w
    assert "w" in tip_text(of_w[0].toolTip())
    badge = of_w[len(of_w) // 2]
    c.centerOn(badge)
    with qtbot.waitSignal(c.selection_changed) as sig:
        qtbot.mouseClick(c.viewport(), Qt.MouseButton.LeftButton, pos=center_of(c, badge))
    assert sig.args == ["w"]
    assert c.selected_name == "w" and c.item_for("w").selected
    assert badge.selected and all(it.selected for it in of_w)  # its badges are rung with it
    others = [it for it in refs.values() if it.nid != w]
    assert others and not any(it.selected for it in others)
    # The edge of each badged use starts at the badge, not at w.
    user = badge.bid.split(">", 1)[1]
    edge = c.edge_items()[(badge.bid.split(">", 1)[0][len("ref:") :], user)]
    assert badge.bid == ref_id(edge.key[0], user)
    assert edge.boundingRect().intersects(badge.sceneBoundingRect().adjusted(-2, -2, 2, 2))
    assert not edge.boundingRect().intersects(c.item_for("w").sceneBoundingRect())


def test_a_small_graph_has_no_badges(qtbot) -> None:
    c = make_canvas(qtbot, loop_session(3))
    assert c.ref_items() == {}
    assert len(c.edge_items()) == c.graph.number_of_edges()
