"""The view keeps what changed in sight: new nodes scroll into view, undo never leaves the view on
blank canvas, Fit on a long chain stays legible and scrolls along it, and the legend and the
minimap never sit on a node after Fit or an edit."""

from __future__ import annotations

from driving import idle, toolbar_click, type_in_console
from PySide6.QtCore import QRect, Qt
from test_canvas_catches_up import chain

from gradviz.gui.canvas import LEGIBLE_ZOOM, GraphCanvas


def on_screen(c: GraphCanvas, item) -> QRect:
    """Where a node is in the canvas's viewport, in pixels."""
    return c.mapFromScene(item.sceneBoundingRect()).boundingRect()


def covered(c: GraphCanvas) -> list[str]:
    """The nodes that the legend or the minimap cover, as they are on screen."""
    shown = [o for o in (c.legend_overlay, c.minimap) if o.isVisible()]
    rects = [o.geometry().translated(-c.viewport().pos()) for o in shown]
    return [n for n, it in c.node_items().items() if any(on_screen(c, it).intersects(r) for r in rects)]


def fully_visible(c: GraphCanvas, name: str) -> bool:
    return c.viewport().rect().contains(on_screen(c, c.item_for(name)))


def test_fit_on_a_long_chain_stays_legible_and_scrolls_from_end_to_end(qtbot, window) -> None:
    w = window(chain(60))
    w.resize(1600, 900)
    w.actions["fold_repeats"].trigger()  # every step of the chain, not one group
    idle(qtbot, w)
    c = w.canvas
    assert not c.fold_repeats and not c.group_nodes()
    toolbar_click(qtbot, w, "fit")
    assert c.zoom >= LEGIBLE_ZOOM  # not a one-pixel line
    assert fully_visible(c, "x")  # it starts at the start
    assert not covered(c)
    bar = c.verticalScrollBar()
    assert bar.isVisible() and bar.maximum() > bar.minimum()
    # Across: the chain's whole width is in view; along: the bar reaches both ends.
    content = c.mapFromScene(c.content_rect()).boundingRect()
    assert content.left() >= 0 and content.right() <= c.viewport().width()
    bar.setValue(bar.maximum())
    assert fully_visible(c, "h59") and not covered(c)
    bar.setValue(bar.minimum())
    assert fully_visible(c, "x") and not covered(c)


def test_new_nodes_scroll_into_view_clear_of_the_overlays(qtbot, window) -> None:
    w = window(chain(12))
    w.resize(1600, 900)
    idle(qtbot, w)
    c = w.canvas
    toolbar_click(qtbot, w, "fit")
    c.setFocus()
    qtbot.keyClick(c, Qt.Key.Key_Plus)  # a closer look at the start of the chain
    assert not fully_visible(c, "h11")
    before = set(c.node_items())
    type_in_console(qtbot, w, "z = h11 * 2")
    idle(qtbot, w)
    new = [it for n, it in c.node_items().items() if n not in before]
    assert c.item_for("z") in new and len(new) >= 3  # z, its op and the constant 2
    margin = c.viewport().rect().adjusted(20, 20, -20, -20)
    for item in new:
        assert margin.contains(on_screen(c, item)), item.nid
    assert not covered(c)
    type_in_console(qtbot, w, "z.backward()")  # every gradient changes: the view stays put
    view = c.visible_scene_rect()
    idle(qtbot, w)
    assert c.visible_scene_rect() == view and not covered(c)


def test_undo_leaves_the_view_on_what_changed_not_on_blank_canvas(qtbot, window) -> None:
    w = window(chain(4))
    w.resize(1600, 900)
    idle(qtbot, w)
    c = w.canvas
    cell = "; ".join(["g0 = h3 * 2"] + [f"g{i} = g{i - 1} * 2" for i in range(1, 30)])
    type_in_console(qtbot, w, cell)
    idle(qtbot, w)
    assert fully_visible(c, "g29")  # the last one made is in view: the chain's far end
    assert not c.visible_scene_rect().intersects(c.item_for("h3").sceneBoundingRect())
    toolbar_click(qtbot, w, "undo")
    idle(qtbot, w)
    assert "g0" not in w.session
    assert c.visible_scene_rect().intersects(c.content_rect())
    assert fully_visible(c, "h3")  # where the undone cell had joined on
    assert not covered(c)
    toolbar_click(qtbot, w, "redo")
    idle(qtbot, w)
    assert any(fully_visible(c, f"g{i}") for i in range(30)) and not covered(c)


def test_an_explanation_opens_beside_its_op_not_over_the_next_node(qtbot, window) -> None:
    w = window(chain(3))
    w.resize(1600, 900)
    idle(qtbot, w)
    c = w.canvas
    toolbar_click(qtbot, w, "fit")
    op = next(it for it in c.node_items().values() if it.attrs.get("op") == "mul")
    at = c.mapFromScene(op.sceneBoundingRect().center())
    with qtbot.waitSignal(c.explained):
        qtbot.mouseDClick(c.viewport(), Qt.MouseButton.LeftButton, pos=at)
    bubble = c.explanation.geometry().translated(-c.viewport().pos())
    assert c.explanation.isVisible()
    under = [n for n, it in c.node_items().items() if on_screen(c, it).intersects(bubble)]
    assert not under  # in a chain the next tensor is right below the op: it stays readable
