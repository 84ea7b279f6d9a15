"""The graph canvas, driven with the mouse and read back as a person sees it: node colours,
tooltips, explanations, highlighted paths, zoom, pan, the minimap and live updates."""

from __future__ import annotations

import gc
import itertools
import time

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QNativeGestureEvent, QPointingDevice, QWheelEvent
from PySide6.QtWidgets import QApplication
from sample_sessions import seed

from gradviz.graph.model import AUTOGRAD
from gradviz.graph.style import fit_scale, looks
from gradviz.gui.canvas import GraphCanvas, SessionSource, TensorsSource
from gradviz.session import examples
from gradviz.session.document import Session


def make_canvas(qtbot, session: Session, size=(900, 700)) -> GraphCanvas:
    c = GraphCanvas(SessionSource(session))
    qtbot.addWidget(c)
    c.resize(*size)
    c.show()
    qtbot.waitUntil(c.is_idle, timeout=20000)
    return c


def center_of(canvas: GraphCanvas, item) -> QPoint:
    return canvas.mapFromScene(item.sceneBoundingRect().center())


def op_item(canvas: GraphCanvas, op: str):
    return next(it for it in canvas.node_items().values() if it.attrs.get("op") == op)


def test_draws_the_graph_model_with_the_exporters_colours(qtbot) -> None:
    s = seed()
    c = make_canvas(qtbot, s)
    items = c.node_items()
    assert set(items) == set(c.graph.nodes)
    # The same looks the PNG/SVG/PDF exports use: every node's fill is the look's fill.
    node_looks = looks(c.graph, fit_scale(c.graph))
    for nid, item in items.items():
        assert item.fill == node_looks[nid].paint.fill
    # Colours follow the gradients: w.grad = 3 is the top of the scale, b.grad = 1 is not.
    assert c.item_for("w").fill == c.color_scale.color(3.0)
    assert c.item_for("b").fill == c.color_scale.color(1.0)
    assert c.item_for("w").fill != c.item_for("b").fill
    assert c.item_for("x").fill == "#eeeeee"  # requires_grad=False: the neutral hatched grey
    assert len(c.edge_items()) == c.graph.number_of_edges()
    assert c.legend_overlay.isVisible() and c.legend_overlay.legend.title == "grad L2 norm"
    assert c.provider


def test_before_backward_nodes_are_white_and_light_up_after(qtbot) -> None:
    s = seed(backward=False)
    c = make_canvas(qtbot, s)
    assert c.item_for("w").fill == "#ffffff"
    s.backward("y")
    qtbot.waitUntil(c.is_idle)
    assert c.item_for("w").fill == c.color_scale.color(3.0)


def test_tooltip_shows_name_shape_dtype_value_and_grad(qtbot) -> None:
    c = make_canvas(qtbot, seed())
    tip = c.item_for("w").toolTip()
    assert tip.startswith("w  (leaf, requires_grad=True)")
    assert "shape: scalar" in tip and "dtype: float32" in tip
    assert "value: 4.0" in tip and "grad: 3.0" in tip
    assert "grad: None" in c.item_for("x").toolTip()
    assert "∂out/∂a = b, ∂out/∂b = a" in op_item(c, "mul").toolTip()


def test_click_selects_a_node_and_says_so(qtbot) -> None:
    c = make_canvas(qtbot, seed())
    with qtbot.waitSignal(c.selection_changed) as sig:
        qtbot.mouseClick(c.viewport(), Qt.MouseButton.LeftButton, pos=center_of(c, c.item_for("b")))
    assert sig.args == ["b"]
    assert c.item_for("b").selected and c.selected_name == "b"
    with qtbot.waitSignal(c.selection_changed) as sig:
        qtbot.mouseClick(c.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(5, 5))  # the background
    assert sig.args == [""]
    assert not c.item_for("b").selected


def test_double_click_on_an_op_explains_its_local_derivative(qtbot) -> None:
    c = make_canvas(qtbot, seed())
    with qtbot.waitSignal(c.explained) as sig:
        qtbot.mouseDClick(c.viewport(), Qt.MouseButton.LeftButton, pos=center_of(c, op_item(c, "mul")))
    text = sig.args[0]
    assert "MulBackward0" in text and "∂out/∂a = b, ∂out/∂b = a" in text
    assert "a = w (4.0)" in text and "b = x (3.0)" in text
    assert c.explanation.isVisible()
    qtbot.keyClick(c, Qt.Key.Key_Escape)
    assert not c.explanation.isVisible()


def test_autograd_view_and_its_explanations(qtbot) -> None:
    c = make_canvas(qtbot, seed())
    c.set_view(AUTOGRAD)
    qtbot.waitUntil(c.is_idle)
    labels = {it.attrs.get("label") for it in c.node_items().values()}
    assert {"AddBackward0", "MulBackward0", "AccumulateGrad"} <= labels
    mul = next(it for it in c.node_items().values() if it.attrs.get("label") == "MulBackward0")
    text = c.show_explanation(mul.nid)
    assert text.startswith("<b>MulBackward0</b>: ∂out/∂a = b, ∂out/∂b = a")
    acc = next(it for it in c.node_items().values() if it.attrs.get("type") == "accumulate")
    assert "AccumulateGrad" in c.explain(acc.nid)
    # Selecting y from a panel picks its node in this view too.
    c.select("y")
    assert c.selected_node is not None and c.names[c.selected_node] == "y"


def test_selecting_a_leaf_highlights_every_path_to_the_output(qtbot) -> None:
    s = Session()
    s.add_leaf("a", 2.0, requires_grad=True)
    s.add_leaf("c", 3.0, requires_grad=True)
    s.apply("mul", ["a", "c"], name="p")
    s.apply("add", ["a", "p"], name="out")  # a reaches out twice: directly and through p
    s.backward("out")
    c = make_canvas(qtbot, s)
    c.select_node(c.node_id("a"))
    nodes, edges = c.highlighted()
    a, p, out, cc = (c.node_id(n) for n in ("a", "p", "out", "c"))
    assert {a, p, out} <= nodes and cc not in nodes
    assert (a, c.graph.nodes and next(iter(c.graph.successors(a)))) in edges or any(u == a for u, _ in edges)
    assert sum(1 for u, _ in edges if u == a) == 2  # both of a's ways out are lit
    assert c.item_for("c").dimmed and not c.item_for("p").dimmed
    c.clear_selection()
    assert c.highlighted() == (set(), set())


def test_find_selects_and_shows_a_tensor(qtbot) -> None:
    c = make_canvas(qtbot, seed())
    with qtbot.waitSignal(c.selection_changed) as sig:
        assert c.find("B")  # case does not matter
    assert sig.args == ["b"]
    with qtbot.waitSignal(c.message) as msg:
        assert not c.find("nothing_like_this")
    assert "nothing_like_this" in msg.args[0]


def test_wheel_zooms_and_fit_shows_everything(qtbot) -> None:
    c = make_canvas(qtbot, seed())
    z0 = c.zoom
    pos = QPointF(c.viewport().rect().center())
    ev = QWheelEvent(
        pos, c.viewport().mapToGlobal(pos), QPoint(0, 0), QPoint(0, 240),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
    )  # fmt: skip
    c.wheelEvent(ev)  # as the viewport delivers it
    assert c.zoom > z0 * 1.2
    c.fit()
    assert c.visible_scene_rect().contains(c.content_rect())


def test_pinch_zooms(qtbot) -> None:
    c = make_canvas(qtbot, seed())
    c.zoom_by(0.5)
    z0 = c.zoom
    pos = QPointF(c.viewport().rect().center())
    ev = QNativeGestureEvent(
        Qt.NativeGestureType.ZoomNativeGesture, QPointingDevice.primaryPointingDevice(), 2,
        pos, pos, c.viewport().mapToGlobal(pos), 0.5, QPointF(0, 0), 1,
    )  # fmt: skip
    assert c.viewportEvent(ev)  # a trackpad pinch, as the platform delivers it
    assert abs(c.zoom / z0 - 1.5) < 1e-6


def test_drag_pans_without_selecting(qtbot) -> None:
    c = make_canvas(qtbot, seed())
    c.zoom_by(3)
    before = c.visible_scene_rect().center()
    start = QPoint(20, 20)
    qtbot.mousePress(c.viewport(), Qt.MouseButton.LeftButton, pos=start)
    for k in range(1, 6):
        qtbot.mouseMove(c.viewport(), start + QPoint(20 * k, 15 * k))
    qtbot.mouseRelease(c.viewport(), Qt.MouseButton.LeftButton, pos=start + QPoint(100, 75))
    after = c.visible_scene_rect().center()
    assert after.x() < before.x() - 10 and after.y() < before.y() - 10
    assert c.selected_node is None


def test_minimap_shows_when_the_graph_is_bigger_than_the_view(qtbot) -> None:
    c = make_canvas(qtbot, seed())
    assert not c.minimap.isVisible()
    c.zoom_by(5)
    assert c.minimap.isVisible()
    # A click in the minimap moves the view there.
    target = c.minimap.rect().center()
    qtbot.mouseClick(c.minimap, Qt.MouseButton.LeftButton, pos=target)
    expect = c.minimap.scene_point(QPointF(target))
    assert (c.visible_scene_rect().center() - expect).manhattanLength() < 5
    c.fit()
    assert not c.minimap.isVisible()


def test_live_updates_keep_nodes_in_place_and_the_view_steady(qtbot) -> None:
    s = seed()
    c = make_canvas(qtbot, s, size=(1000, 900))
    c.zoom_by(0.6)  # room below y for what comes next
    before = {n: it.sceneBoundingRect().center() for n, it in c.node_items().items()}
    center = c.visible_scene_rect().center()
    s.apply("tanh", ["y"], name="z")
    qtbot.waitUntil(c.is_idle)
    after = c.node_items()
    assert c.node_id("z") in after
    moved = [
        n for n, p in before.items() if (after[n].sceneBoundingRect().center() - p).manhattanLength() > 1.0
    ]
    assert not moved, moved
    assert (c.visible_scene_rect().center() - center).manhattanLength() < 2
    # Undo replays the log: new tensor objects, same nodes, same places.
    s.undo()
    qtbot.waitUntil(c.is_idle)
    assert set(c.node_items()) == set(before)
    assert all(
        (c.node_items()[n].sceneBoundingRect().center() - p).manhattanLength() <= 1.0
        for n, p in before.items()
    )


def test_selection_survives_an_update(qtbot) -> None:
    s = seed()
    c = make_canvas(qtbot, s)
    c.select("w")
    s.zero_grad()
    qtbot.waitUntil(c.is_idle)
    assert c.item_for("w").selected and c.selected_name == "w"


def big_session(n: int) -> Session:
    s = Session()
    s.add_leaf("x", [1.0, 2.0], requires_grad=True)
    prev = "x"
    for i in range(n):
        prev = s.apply("mul", [prev, 1.0001], name=f"h{i}")
    return s


def test_a_long_layout_runs_off_the_gui_thread(qtbot) -> None:
    # A full garbage collection of everything earlier tests left alive stops every thread for a
    # while; the app freezes its start-up objects the same way (gc.freeze in app.main).
    gc.collect()
    gc.freeze()
    try:
        s = big_session(450)
        c = GraphCanvas(None)
        qtbot.addWidget(c)
        c.resize(800, 600)
        c.show()
        c.set_source(SessionSource(s))
        assert not c.is_idle()
        ticks = []
        while not c.is_idle():
            QApplication.processEvents()
            ticks.append(time.monotonic())
            time.sleep(0.005)
        gaps = [b - a for a, b in itertools.pairwise(ticks)]
        assert len(ticks) > 10 and max(gaps) < 0.1  # the GUI thread kept turning throughout
        assert len(c.node_items()) == c.graph.number_of_nodes() > 1000
    finally:
        gc.unfreeze()


def test_a_long_layout_shows_progress_and_can_be_cancelled(qtbot, monkeypatch) -> None:
    import gradviz.gui.canvas as canvas_module

    real = canvas_module.run_layout

    def slow(*args, **kwargs):
        time.sleep(0.6)  # as dot on a big graph: the GUI must not wait
        return real(*args, **kwargs)

    monkeypatch.setattr(canvas_module, "run_layout", slow)
    c = GraphCanvas(None)
    qtbot.addWidget(c)
    c.resize(800, 600)
    c.show()
    with qtbot.waitSignal(c.busy_changed, timeout=3000) as sig:
        c.set_source(SessionSource(seed()))
    assert sig.args[0] is True and c.busy.isVisible()
    with qtbot.waitSignal(c.busy_changed) as sig:
        qtbot.mouseClick(c.busy.button, Qt.MouseButton.LeftButton)
    assert sig.args[0] is False
    assert c.is_idle() and not c.busy.isVisible()
    assert not c.node_items()  # the cancelled picture never arrives
    assert c.notice.isVisible() and "cancelled" in c.notice.label.text()
    qtbot.wait(800)  # the abandoned layout finishes in the background and is dropped
    assert not c.node_items()
    monkeypatch.setattr(canvas_module, "run_layout", real)
    c.refresh()
    qtbot.waitUntil(c.is_idle, timeout=20000)
    assert c.item_for("y") is not None and not c.notice.isVisible()


def test_tensors_from_outside_a_session(qtbot) -> None:
    import gradviz as torch

    a = torch.tensor([1.0, 2.0], requires_grad=True)
    out = (a * a).sum()
    out.backward()
    c = GraphCanvas(TensorsSource(out, {"a": a, "out": out}))
    qtbot.addWidget(c)
    c.resize(700, 500)
    c.show()
    qtbot.waitUntil(c.is_idle)
    assert c.item_for("a") is not None and c.item_for("out") is not None
    assert "grad: [2.0, 4.0]" in c.item_for("a").toolTip()


@pytest.mark.parametrize("name", ["neuron", "broadcasting", "vanishing"])
def test_examples_draw(qtbot, name) -> None:
    s = getattr(examples, name)()
    c = make_canvas(qtbot, s)
    assert len(c.node_items()) == c.graph.number_of_nodes() > 5
