"""A step of the stepper is drawn in place on the canvas (no rebuild, no layout): what a person
sees after pressing → is exactly what a full rebuild of that step draws, in both views, and the
minimap follows once the steps pause."""

from __future__ import annotations

from pathlib import Path

import pytest
from driving import idle, toolbar_click
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem

from gradviz.graph.model import AUTOGRAD

MLP = Path(__file__).resolve().parents[2] / "gradviz" / "examples" / "mlp.gradviz"


def panel(w):
    return w.stepper_dock().widget()


def picture(w):
    """What the canvas shows: each node's place, size, fill and tooltip, each edge's extent,
    and the whole scene drawn to an image."""
    c = w.canvas
    nodes = {
        n: (it.pos().x(), it.pos().y(), it.boundingRect().getRect(), it.fill, it.tip)
        for n, it in c.node_items().items()
    }
    edges = {k: it.boundingRect().getRect() for k, it in c.edge_items().items()}
    scene = c.scene()
    rect = scene.itemsBoundingRect()
    image = QImage(int(rect.width()) + 1, int(rect.height()) + 1, QImage.Format.Format_ARGB32)
    image.fill(0)
    cached = {it: it.cacheMode() for it in scene.items()}
    for it in cached:  # each item painted now, not a pixmap cached at an earlier zoom
        it.setCacheMode(QGraphicsItem.CacheMode.NoCache)
    painter = QPainter(image)
    scene.render(painter, QRectF(image.rect()), rect)
    painter.end()
    for it, mode in cached.items():
        it.setCacheMode(mode)
    return nodes, edges, image


@pytest.mark.parametrize("view", ["tensors", AUTOGRAD])
def test_a_step_drawn_in_place_is_what_a_rebuild_draws(window, qtbot, view):
    w = window()
    assert w.open_path(MLP, confirmed=True)
    idle(qtbot, w)
    if view == AUTOGRAD:
        w.canvas.set_view(AUTOGRAD)
        idle(qtbot, w)
    toolbar_click(qtbot, w, "step_through")
    p = panel(w)
    qtbot.waitUntil(lambda: p.isVisible())
    idle(qtbot, w)
    c = w.canvas
    steps = w.stepper.plan.count
    assert steps > 6
    for k in (1, 2, 3, steps // 2, steps - 1, 2):  # forward, a jump, the end, back again
        before = c._generation
        if k == w.stepper.k + 1:
            qtbot.keyClick(p, Qt.Key.Key_Right)
        else:
            w.stepper.go(k)
        assert c.is_idle() and c._generation == before  # drawn at once: no layout job
        assert c.graph.graph["step"][0] == k
        stepped = picture(w)
        c.refresh()  # the same step, built and laid out as for any change
        qtbot.waitUntil(lambda before=before: c._generation > before, timeout=5000)
        idle(qtbot, w)
        rebuilt = picture(w)
        assert rebuilt[0].keys() == stepped[0].keys() and rebuilt[1].keys() == stepped[1].keys()
        for part in (0, 1):
            for key in rebuilt[part]:
                assert rebuilt[part][key] == stepped[part][key], (k, key)
        assert rebuilt[2] == stepped[2], k  # pixel for pixel


def test_the_minimap_follows_once_the_steps_pause(window, qtbot):
    w = window()
    assert w.open_path(MLP, confirmed=True)
    idle(qtbot, w)
    toolbar_click(qtbot, w, "step_through")
    p = panel(w)
    qtbot.waitUntil(lambda: p.isVisible())
    idle(qtbot, w)
    first = w.canvas.minimap.overview
    assert first is not None
    w.stepper.go(w.stepper.plan.count - 1)
    assert w.canvas.minimap.overview is first  # not redrawn on every step of a play
    qtbot.waitUntil(lambda: w.canvas.minimap.overview is not first, timeout=3000)
    now = w.canvas.minimap.overview
    assert now.image != first.image  # its nodes coloured in: every gradient has arrived
