"""The graph canvas, driven with the mouse and read back as a person sees it: node colours,
tooltips, explanations, highlighted paths, zoom, pan, the minimap and live updates."""

from __future__ import annotations

import gc
import itertools
import time

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QNativeGestureEvent, QPointingDevice, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QGestureEvent, QPinchGesture
from sample_sessions import seed

from gradviz.graph.model import AUTOGRAD
from gradviz.graph.style import fit_scale, looks
from gradviz.gui.canvas import LEGIBLE_ZOOM, MAX_ZOOM, MIN_ZOOM, GraphCanvas, SessionSource, TensorsSource
from gradviz.gui.plain import tip_text
from gradviz.session import examples
from gradviz.session.document import Session


def make_canvas(qtbot, session: Session, size=(900, 700), *, frameless: bool = False) -> GraphCanvas:
    c = GraphCanvas(SessionSource(session))
    qtbot.addWidget(c)
    if frameless:  # offscreen, a framed window's touch points land off by the frame's width
        c.setWindowFlag(Qt.WindowType.FramelessWindowHint)
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
    tip = tip_text(c.item_for("w").toolTip())  # as a person reads it
    assert tip.startswith("w  (leaf, requires_grad=True)")
    assert "shape: scalar" in tip and "dtype: gradviz.float32" in tip
    assert "value: 4.0" in tip and "grad: 3.0" in tip
    assert "grad: None" in c.item_for("x").toolTip()
    assert "∂result/∂input = other, ∂result/∂other = input\ninput: w, other: x" in op_item(c, "mul").toolTip()


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
    assert "MulBackward0" in text and "∂result/∂input = other, ∂result/∂other = input" in text
    assert "input is <code>w (4.0)</code>" in text and "other is <code>x (3.0)</code>" in text
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
    assert text.startswith("<b>MulBackward0</b>: ∂result/∂input = other, ∂result/∂other = input")
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


def send_pinch(c: GraphCanvas, factor: float, at: QPointF, *, scaled: bool = True) -> bool:
    """A pinch update as Qt's gesture recogniser delivers it: the step's scale factor and the
    centre between the fingers, on the screen."""
    g = QPinchGesture()
    g.setScaleFactor(factor)
    g.setCenterPoint(c.viewport().mapToGlobal(at))
    flags = QPinchGesture.ChangeFlag.CenterPointChanged
    if scaled:
        flags |= QPinchGesture.ChangeFlag.ScaleFactorChanged
    g.setChangeFlags(flags)
    ev = QGestureEvent([g])
    ev.ignore(g)
    handled = QApplication.sendEvent(c.viewport(), ev)
    assert ev.isAccepted(g)
    return handled


def test_pinch_gesture_zooms_about_its_centre(qtbot) -> None:
    c = make_canvas(qtbot, seed())
    c.zoom_by(0.5)
    at = QPointF(260, 190)  # off the middle, so that zooming about the middle would show
    under = c.mapToScene(at.toPoint())
    z0 = c.zoom
    assert send_pinch(c, 1.5, at)
    assert c.zoom == pytest.approx(z0 * 1.5)
    assert (QPointF(c.mapFromScene(under)) - at).manhattanLength() <= 2
    assert send_pinch(c, 0.8, at)  # fingers closing
    assert c.zoom == pytest.approx(z0 * 1.5 * 0.8)
    assert (QPointF(c.mapFromScene(under)) - at).manhattanLength() <= 2
    # The centre moving without the fingers spreading is no zoom.
    assert send_pinch(c, 3.0, QPointF(400, 300), scaled=False)
    assert c.zoom == pytest.approx(z0 * 1.2)


def test_pinch_gesture_stops_at_the_zoom_limits(qtbot) -> None:
    c = make_canvas(qtbot, seed())
    at = QPointF(300, 250)
    under = c.mapToScene(at.toPoint())
    for _ in range(8):
        send_pinch(c, 1.9, at)
    assert c.zoom == pytest.approx(MAX_ZOOM)
    assert (QPointF(c.mapFromScene(under)) - at).manhattanLength() <= 2
    send_pinch(c, 1.5, at)
    assert c.zoom == pytest.approx(MAX_ZOOM)
    for _ in range(12):
        send_pinch(c, 0.5, at)
    assert c.zoom == pytest.approx(MIN_ZOOM)
    send_pinch(c, 0.5, at)
    assert c.zoom == pytest.approx(MIN_ZOOM)


@pytest.mark.parametrize(("spread", "shift"), [(1, 0), (-1, 0), (1, 7)])
def test_two_fingers_on_a_touchscreen_pinch_zoom(qtbot, spread, shift) -> None:
    """Real touch points, recognised as a pinch by Qt itself: the fingers spread (or close)
    about a centre that stays put (or moves, and the view goes along with it)."""
    c = make_canvas(qtbot, seed(), frameless=True)
    c.zoom_by(0.8)
    vp = c.viewport()
    screen = QTest.createTouchDevice()
    steps = [(QPoint(300 + shift * k, 300), 60 + spread * 8 * k) for k in range(6)]  # centre, half

    def touch(kind: str, k: int) -> None:
        centre, half = steps[k]
        seq = QTest.touchEvent(vp, screen)
        getattr(getattr(seq, kind)(0, centre - QPoint(half, 0)), kind)(1, centre + QPoint(half, 0))
        seq.commit()

    # Qt takes the first update as the start of the pinch: it holds the scene point under the
    # centre there, and zooms by how far the fingers spread from then on.
    held = c.mapToScene(steps[1][0])
    z0 = c.zoom
    touch("press", 0)
    for k in range(1, len(steps)):
        touch("move", k)
    touch("release", len(steps) - 1)
    QApplication.processEvents()
    assert c.zoom / z0 == pytest.approx(steps[-1][1] / steps[1][1])  # the end adds no step
    assert (c.zoom > z0) == (spread > 0)
    assert (c.mapFromScene(held) - steps[-1][0]).manhattanLength() <= 1
    assert c.selected_node is None


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
        c.fold_repeats = False  # folded, the 450 steps are one group: a quick layout
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
    import gradviz.gui.canvas_layout as canvas_module

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


def _legend_box(c: GraphCanvas):
    legend = c.legend_overlay
    assert legend.isVisible()
    return c.mapToScene(legend.geometry().translated(-c.viewport().pos())).boundingRect()


def test_fit_moves_the_legend_to_a_free_corner_and_gives_the_graph_the_whole_view(qtbot) -> None:
    s = Session()  # six inputs summed pairwise: a wide top, one output at the bottom
    for i in range(6):
        s.add_leaf(f"a{i}", [1.0, 2.0, 3.0], requires_grad=True)
    u = [s.apply("add", [f"a{2 * i}", f"a{2 * i + 1}"], name=f"u{i}") for i in range(3)]
    s.apply("sum", [s.apply("add", [s.apply("add", u[:2], name="v"), u[2]], name="t")], name="out")
    s.backward("out")
    c = make_canvas(qtbot, s, size=(700, 600))
    c.fit()
    box = _legend_box(c)
    assert not any(it.sceneBoundingRect().intersects(box) for it in c.node_items().values())
    legend, vp = c.legend_overlay.geometry(), c.viewport().rect()
    assert legend.left() < vp.width() // 2 and legend.top() > vp.height() // 2  # bottom left
    content = c.content_rect()
    whole = min((vp.width() - 56) / content.width(), (vp.height() - 56) / content.height(), 1.6)
    assert c.zoom == pytest.approx(whole, rel=1e-6)  # not shrunk to make room for the legend
    assert c.visible_scene_rect().contains(content)


def test_fit_keeps_the_legend_top_right_when_that_corner_is_free(qtbot) -> None:
    c = make_canvas(qtbot, seed(), size=(900, 700))
    c.fit()
    legend, vp = c.legend_overlay.geometry(), c.viewport().rect()
    assert legend.right() > vp.width() // 2 and legend.bottom() < vp.height() // 2
    box = _legend_box(c)
    assert not any(it.sceneBoundingRect().intersects(box) for it in c.node_items().values())


def test_a_direction_chosen_while_a_layout_runs_wins_and_is_fitted(qtbot) -> None:
    s = Session()
    s.add_leaf("x", [1.0, 2.0], requires_grad=True)
    prev = "x"
    for i in range(50):
        prev = s.apply("mul", [prev, 1.01], name=f"h{i}")
    c = GraphCanvas(None)
    qtbot.addWidget(c)
    c.resize(900, 700)
    c.show()
    c.set_source(SessionSource(s))
    qtbot.waitUntil(lambda: c._job is not None, timeout=5000)  # the top-to-bottom layout runs
    c.set_direction("LR")
    qtbot.waitUntil(c.is_idle, timeout=30000)
    assert c.layout_direction == "LR"
    first, last = c.item_for("x").sceneBoundingRect(), c.item_for("h49").sceneBoundingRect()
    assert first.right() < last.left()
    # Fitted, not left where it was: across its short side, legible, from its start.
    assert c.zoom >= LEGIBLE_ZOOM and c.visible_scene_rect().contains(first)
    assert c.visible_scene_rect().top() <= c.content_rect().top()


def test_the_legend_moves_off_a_node_that_appears_under_it(qtbot) -> None:
    s = seed()
    c = make_canvas(qtbot, s, size=(900, 700))
    assert c._legend_corner == "top-right" and not _nodes_under_legend(c)
    s.add_leaf("m0", np.zeros((30, 20), np.float32), requires_grad=True)  # lands top right
    qtbot.waitUntil(c.is_idle, timeout=20000)
    assert "m0" in {it.name for it in c.node_items().values()}
    assert c._legend_corner != "top-right" and not _nodes_under_legend(c)


def _nodes_under_legend(c: GraphCanvas) -> list[str]:
    from gradviz.gui.canvas import NodeItem

    area = _legend_box(c)
    return [it.nid for it in c.scene().items(area) if isinstance(it, NodeItem)]


def test_a_call_drawn_as_one_op_is_explained_in_its_formulas_names(qtbot) -> None:
    c = make_canvas(qtbot, examples.mlp())
    linear = next(n for n, a in c.graph.nodes(data=True) if a.get("op") == "linear" and "W1" in c.explain(n))
    text = c.explain(linear)
    assert text.startswith(
        "<b>linear</b> (TBackward0 + AddmmBackward0 in the autograd graph): result = input·weightᵀ + bias"
    )
    assert "Here input is <code>X (" in text and ", weight is <code>W1 (" in text
    assert ", bias is <code>b1 (" in text
    assert "these backward nodes multiply" in text and "their inputs" in text
    mul = c.explain(next(n for n, a in c.graph.nodes(data=True) if a.get("op") == "tanh"))
    assert mul.startswith("<b>TanhBackward0</b>: ∂result/∂input = 1 - tanh²(input)")
    assert "Here input is <code>z1" in mul


def test_a_matrix_product_is_explained_with_the_formulas_letters(qtbot) -> None:
    from gradviz.session.console import Console

    s = Session()
    c = Console(s)
    for line in (
        "X = torch.ones(2, 3, requires_grad=True)",
        "W = torch.ones(3, 4, requires_grad=True)",
        "Y = X @ W",
    ):
        assert c.run(line).ok
    canvas = make_canvas(qtbot, s)
    (op,) = [n for n, a in canvas.graph.nodes(data=True) if a.get("type") == "op"]
    text = canvas.explain(op)
    assert text.startswith("<b>MmBackward0</b>: result = input · mat2: ∂L/∂input = ∂L/∂result · mat2ᵀ")
    assert "Here input is <code>X (" in text and ", mat2 is <code>W (" in text
