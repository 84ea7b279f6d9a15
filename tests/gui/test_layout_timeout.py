"""A layout that runs past the canvas's time limit is stopped with a message (Netron's way, not
a node-count cut-off): its worker really stops, the old picture stays, and Lay Out Again then
takes the time it needs. Cancel stops the worker the same way."""

from __future__ import annotations

import time

from gradviz.gui.canvas import GraphCanvas, TensorsSource


def big_loop(steps: int):
    import gradviz as gv

    gv.manual_seed(0)
    x, w = gv.randn(4, requires_grad=True), gv.randn(4, requires_grad=True)
    y = gv.zeros(4)
    for _ in range(steps):
        y = gv.tanh(y * w + x * gv.randn(4, requires_grad=True))
    loss = y.sum()
    loss.backward()
    return loss, dict(x=x, w=w, loss=loss)


def make_canvas(qtbot) -> GraphCanvas:
    c = GraphCanvas(None)
    qtbot.addWidget(c)
    c.resize(900, 700)
    c.fold_repeats = False  # folded, the loop is one group: a quick layout, no time limit reached
    c.show()
    return c


def test_a_layout_past_its_time_is_stopped_with_a_message(qtbot) -> None:
    c = make_canvas(qtbot)
    c.layout_timeout = 0.05
    loss, names = big_loop(400)  # about 3,600 nodes: more than 50 ms of work
    with qtbot.waitSignal(c.message, timeout=20000, check_params_cb=lambda m: "took longer" in m) as sig:
        c.set_source(TensorsSource(loss, names))
    assert "0.05 s" in sig.args[0]
    assert "took longer than 0.05 s" in c.notice.label.text() and c.notice.isVisible()
    assert c.node_items() == {} and c.is_idle()
    # The worker stopped at a checkpoint instead of finishing the layout in the background.
    t0 = time.perf_counter()
    c.wait_for_workers(5000)
    assert time.perf_counter() - t0 < 0.3  # the whole layout takes about 0.8 s more
    # Lay Out Again: once more, with no limit.
    c.relayout()
    qtbot.waitUntil(lambda: c.is_idle() and len(c.node_items()) > 3000, timeout=60000)
    assert not c.notice.isVisible()


def test_cancel_stops_the_worker_too(qtbot) -> None:
    c = make_canvas(qtbot)
    loss, names = big_loop(400)
    c.set_source(TensorsSource(loss, names))
    qtbot.waitUntil(lambda: "Laying out" in c.busy_text(), timeout=20000)  # built, now laying out
    time.sleep(0.05)
    c.cancel_layout()
    t0 = time.perf_counter()
    c.wait_for_workers(5000)
    assert time.perf_counter() - t0 < 0.3  # the whole layout takes about 0.8 s more
    assert c.node_items() == {}
