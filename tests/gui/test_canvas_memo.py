"""A layout job reuses what the view's last job made of each unchanged node and edge (its
shapes, paint operations and tooltip: scene.SceneMemo, canvas_layout.JobMemo). The picture must
be exactly the one made from scratch: a canvas that keeps its memos and one that forgets them
are driven through the same edits (ops, rename, undo, backward, fold and unfold) and must show
the same items and the same pixels after every one."""

from __future__ import annotations

import networkx as nx
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem

from gradviz.graph.colouring import ScaleSettings, scale_for
from gradviz.graph.incremental import MIN_NODES
from gradviz.graph.layout import layout
from gradviz.graph.scene import SceneMemo, build_scene
from gradviz.graph.shared import FANOUT
from gradviz.graph.source import SessionSource
from gradviz.gui.canvas import GraphCanvas
from gradviz.gui.canvas_layout import node_looks
from gradviz.session.document import Session


class Forgetful(dict):
    """A canvas's memos that are never kept: every job draws from scratch."""

    def __setitem__(self, key, value) -> None:
        pass


def chain_session(steps: int) -> tuple[Session, str]:
    s = Session()
    s.add_leaf("x", [1.0, 2.0], requires_grad=True)
    prev = "x"
    for i in range(steps):
        s.add_leaf(f"w{i}", [1.0, 1.0], requires_grad=True)
        prev = s.apply("mul", [prev, f"w{i}"], name=f"h{i}")
    return s, prev


def uses_of_x(s: Session, frm: str, n: int) -> None:
    for j in range(n):
        frm = s.apply("mul", [frm, "x"], name=f"u{j}")


def canvas(qtbot, s: Session, *, memo: bool) -> GraphCanvas:
    c = GraphCanvas(SessionSource(s))
    if not memo:
        c._memos = Forgetful()
    qtbot.addWidget(c)
    c.resize(900, 700)
    c.show()
    qtbot.waitUntil(c.is_idle, timeout=60000)
    return c


def picture(c: GraphCanvas) -> tuple:
    nodes = {n: (it.ops, it.pos().x(), it.pos().y(), it.size(), it.tip) for n, it in c.node_items().items()}
    edges = {k: (it.ops, it.boundingRect()) for k, it in c.edge_items().items()}
    refs = {b: (it.ops, it.pos().x(), it.pos().y(), it.tip) for b, it in c.ref_items().items()}
    return nodes, edges, refs


def pixels(c: GraphCanvas) -> QImage:
    """The whole picture, a quarter size, painted afresh (not from the items' cached pixmaps,
    which depend on what was on screen when)."""
    for it in c.scene().items():
        it.setCacheMode(QGraphicsItem.CacheMode.NoCache)
    rect = c.scene().itemsBoundingRect()
    img = QImage(int(rect.width() / 4) + 1, int(rect.height() / 4) + 1, QImage.Format.Format_ARGB32)
    img.fill(Qt.GlobalColor.white)
    p = QPainter(img)
    c.scene().render(p, QRectF(img.rect()), rect)
    p.end()
    return img


def test_a_canvas_that_reuses_its_last_job_draws_what_a_fresh_job_draws(qtbot) -> None:
    s, last = chain_session(MIN_NODES // 3 + 5)  # big enough to be laid out incrementally
    kept, fresh = canvas(qtbot, s, memo=True), canvas(qtbot, s, memo=False)
    kept.set_fold_repeats(False)
    fresh.set_fold_repeats(False)
    reused = 0
    steps = [
        lambda: s.apply("add", [last, 1.0], name="a0"),
        lambda: s.apply("mul", ["a0", "w3"], name="a1"),  # w3 is read far from where it sits
        lambda: s.rename("a1", "renamed"),
        lambda: s.rename("a0", "first"),  # the op it was passed to names it anew
        lambda: s.apply("tanh", ["renamed"], name="a2"),
        lambda: s.undo(),
        lambda: s.apply("sum", ["renamed"], name="loss"),
        lambda: s.backward("loss"),  # every node's colour changes
        lambda: s.apply("mul", ["loss", 2.0], name="after"),
        lambda: (kept.set_fold_repeats(True), fresh.set_fold_repeats(True)),  # the chain folds
        lambda: (kept.set_fold_repeats(False), fresh.set_fold_repeats(False)),  # and unfolds
        lambda: s.apply("add", ["after", 1.0], name="end"),
        lambda: uses_of_x(s, "end", FANOUT),  # x is shared: its far uses get reference badges
        lambda: s.apply("add", [f"u{FANOUT - 1}", 1.0], name="last"),
    ]
    before = picture(kept)
    for k, step in enumerate(steps):
        step()
        qtbot.waitUntil(lambda: kept.is_idle() and fresh.is_idle(), timeout=60000)
        now = picture(kept)
        assert now == picture(fresh), f"step {k}"
        assert pixels(kept) == pixels(fresh), f"step {k}"
        shown, made = kept.minimap.overview, fresh.minimap.overview
        assert (shown.src, shown.scale) == (made.src, made.scale) and shown.image == made.image, f"step {k}"
        assert kept.sceneRect() == fresh.sceneRect(), f"step {k}"
        # Unchanged nodes kept the very paint ops the last job made (the memo was used).
        reused += sum(now[0][n][0] is before[0][n][0] for n in now[0] if n in before[0])
        before = now
    assert "last" in kept.names.values() and len(kept.node_items()) > MIN_NODES
    assert len(kept.ref_items()) >= FANOUT - 3
    assert reused > 5 * MIN_NODES


def test_a_scene_built_with_a_memo_is_the_scene_built_without(qtbot) -> None:
    s, last = chain_session(40)
    src = SessionSource(s)
    memo = SceneMemo()
    edits = [
        lambda: s.apply("add", [last, 1.0], name="a0"),
        lambda: s.rename("a0", "b0"),
        lambda: s.apply("sum", ["b0"], name="loss"),
        lambda: s.backward("loss"),
        lambda: s.undo(),
    ]
    for edit in [lambda: None, *edits]:
        edit()
        g, _ = src.snapshot()("tensors")
        cs = scale_for(g, ScaleSettings())
        looks, _, _ = node_looks(g, cs, True)
        placed = {}

        def lay(sized: nx.DiGraph, placed: dict = placed):
            placed.setdefault("layout", layout(sized, prefer="builtin"))
            return placed["layout"]

        options = dict(scale=cs, legend=False, layout=lay, in_layout_coordinates=True, node_looks=looks)
        grown = build_scene(g, memo=memo, **options)
        full = build_scene(g, **options)
        assert grown.items == full.items
        assert grown.spans == full.spans and grown.boxes == full.boxes and grown.refs == full.refs
        memo = grown.memo
