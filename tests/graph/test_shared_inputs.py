"""Shared inputs drawn with reference badges (graph/shared.py): where the badges go, that a
graph below the threshold is drawn exactly as before, both views, both directions, the stepper's
redraw, and the size of the 300-step chain's SVG (a structural bound, not a timing)."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

import gradviz as gv
from gradviz.graph import shared
from gradviz.graph.export import render_bytes
from gradviz.graph.layout import layout
from gradviz.graph.model import AUTOGRAD, TENSORS, build_graph
from gradviz.graph.scene import Path, Rect, Text, build_scene, restyle, sized_graph
from gradviz.graph.style import fit_scale, looks

SVG = "{http://www.w3.org/2000/svg}"


def loop_graph(steps: int, view: str = TENSORS):
    """y = tanh(y * w + x) unrolled ``steps`` times: x and w feed every step."""
    gv.manual_seed(0)
    x = gv.randn(4, requires_grad=True)
    w = gv.randn(4, requires_grad=True)
    y = gv.zeros(4)
    for _ in range(steps):
        y = gv.tanh(y * w + x)
    loss = y.sum()
    loss.backward()
    return build_graph(loss, view=view, names=dict(x=x, w=w, loss=loss))


def named(g, name: str) -> str:
    return next(n for n, a in g.nodes(data=True) if a.get("type") == "tensor" and a.get("name") == name)


def shared_node(g, name: str) -> str:
    """The node whose out-edges fan out: the tensor itself, or its AccumulateGrad (autograd view)."""
    n = named(g, name)
    acc = [s for s in g.successors(n) if g.nodes[s].get("type") == "accumulate"]
    return acc[0] if acc else n


def users(g, n: str) -> list[str]:
    return list(g.successors(n))


def centre(box) -> tuple[float, float]:
    x, y, w, h = box
    return x + w / 2, y + h / 2


@pytest.mark.parametrize("view", [TENSORS, AUTOGRAD])
def test_each_far_use_gets_a_badge_just_above_its_op(view) -> None:
    g = loop_graph(30, view)
    scene = build_scene(g)
    for name in ("w", "x"):
        leaf = shared_node(g, name)
        badged = {v: b for b, (of, _) in scene.refs.items() if of == leaf for v in [b.split(">", 1)[1]]}
        plain = [v for v in users(g, leaf) if v not in badged]
        assert len(badged) >= 27 and 1 <= len(plain) <= 3  # the first uses keep their edges
        for v, b in badged.items():
            assert b == shared.ref_id(leaf, v)
            bx, by, bw, bh = scene.refs[b][1]
            ux, uy, uw, _ = scene.boxes[v]
            assert (
                by + bh < uy < by + bh + 90
            )  # just above its op, one rank gap (nodes below are taller now: kept grads)
            assert abs((bx + bw / 2) - (ux + uw / 2)) < 150  # and beside it
            texts = [it for it in scene.items[slice(*scene.spans[b])] if isinstance(it, Text)]
            assert [t.text for t in texts] == [f"→ {name}"]
            fill = next(it for it in scene.items[slice(*scene.spans[b])] if isinstance(it, Rect)).fill
            assert fill == looks(g, fit_scale(g))[named(g, name)].paint.fill  # coloured like the leaf
            # the edge into the op starts at the badge's border, not at the leaf
            path = next(it for it in scene.items[slice(*scene.spans[(leaf, v)])] if isinstance(it, Path))
            assert math.dist(path.points[0], (bx + bw / 2, by + bh)) < bw / 2 + 2
        # a plain use still has its edge from the leaf
        path = next(it for it in scene.items[slice(*scene.spans[(leaf, plain[0])])] if isinstance(it, Path))
        _, ly, _, lh = scene.boxes[leaf]
        assert ly + lh - 2 <= path.points[0][1] <= ly + lh + 2
    # The loop's ops stand in one straight column: badges sit beside, they do not pull.
    ops = [n for n, a in g.nodes(data=True) if a.get("type") in ("op", "backward")]
    xs = sorted(centre(scene.boxes[n])[0] for n in ops)
    assert xs[int(len(xs) * 0.9)] - xs[int(len(xs) * 0.1)] < 60


@pytest.mark.parametrize("view", [TENSORS, AUTOGRAD])
def test_a_graph_below_the_threshold_is_drawn_as_before(view) -> None:
    # 3 steps: w has 3 users, below the fan-out threshold of 8
    g = loop_graph(3, view)
    assert shared.shared_uses(g) == {}
    with_refs, without = build_scene(g), build_scene(g, shared_refs=False)
    assert with_refs.refs == {} and with_refs.items == without.items and with_refs.boxes == without.boxes
    # a leaf with many users that all sit in two ranks (a broadcast) keeps its edges too
    w = gv.randn(3, requires_grad=True)
    total = gv.stack([w * float(k) for k in range(12)]).sum()
    g = build_graph(total, view=view, names=dict(w=w))
    assert max(g.out_degree(n) for n in g) >= 12
    assert shared.shared_uses(g) == {}


def test_threshold_is_fan_out_and_span() -> None:
    g = loop_graph(shared.FANOUT + 1)
    assert set(shared.shared_uses(g)) == {named(g, "w"), named(g, "x")}
    assert shared.shared_uses(g, fanout=shared.FANOUT + 5) == {}
    assert shared.shared_uses(g, span=10_000) == {}


def test_left_to_right_places_badges_left_of_their_ops() -> None:
    g = loop_graph(20)
    scene = build_scene(g, layout=lambda s: layout(s, direction="LR"))
    assert scene.refs
    for b, (_, (bx, _, bw, _)) in scene.refs.items():
        ux = scene.boxes[b.split(">", 1)[1]][0]
        assert bx + bw < ux  # the rank before its op's


def test_the_stepper_redraw_starts_a_badged_edge_at_its_badge() -> None:
    g = loop_graph(20)
    cs = fit_scale(g)
    lay = layout(sized_graph(g, looks(g, cs)))
    w = named(g, "w")
    far = users(g, w)[-1]
    b = shared.ref_id(w, far)
    assert b in lay.positions
    scene = restyle(g, lay, {w}, {(w, far)}, scale=cs)
    assert b in scene.refs and b in scene.spans  # the badge takes w's new colour
    path = next(it for it in scene.items[slice(*scene.spans[(w, far)])] if isinstance(it, Path))
    bx, by = lay.positions[b]
    assert math.dist(path.points[0], (bx, by)) < 40  # from the badge, not from w far above
    assert math.dist(path.points[0], lay.positions[w]) > 1000


def test_svg_of_the_300_step_chain_is_small() -> None:
    g = loop_graph(300)
    data = render_bytes(g, "svg")
    assert len(data) <= 3_000_000
    root = ET.fromstring(data)
    longest = max(len(p.get("d").split("C")) for p in root.iter(f"{SVG}path"))
    assert longest < 20  # no edge is routed through every rank any more
    badges = [t for t in root.iter(f"{SVG}text") if t.text in ("→ w", "→ x")]
    assert len(badges) >= 590


def test_a_side_computation_of_a_shared_input_is_drawn_where_it_is_used() -> None:
    # y = tanh(y * w + x * noise): x * noise depends on sources only, yet step k consumes it.
    gv.manual_seed(0)
    x, w = gv.randn(4, requires_grad=True), gv.randn(4, requires_grad=True)
    y = gv.zeros(4)
    for _ in range(60):
        y = gv.tanh(y * w + x * gv.randn(4, requires_grad=True))
    g = build_graph(y.sum(), names=dict(x=x, w=w))
    assert named(g, "x") in shared.shared_uses(g)
    lay = layout(sized_graph(g, looks(g, fit_scale(g))))
    tallest = max(max(p[1] for p in pts) - min(p[1] for p in pts) for pts in lay.edges.values())
    assert tallest < 250  # every edge spans a rank or two: none runs from the top to step 60


def test_dot_output_has_the_badges_too() -> None:
    import subprocess

    from gradviz.graph import dot_binary
    from gradviz.graph.dot import to_digraph

    g = loop_graph(12)
    w = named(g, "w")
    src = to_digraph(g).source
    assert src.count("-&gt; w") >= 10 and src.count("-&gt; x") >= 10
    far = users(g, w)[-1]
    assert f"\t{w} -> {far}" not in src  # that use's edge starts at its badge
    plain = to_digraph(g, shared_refs=False).source
    assert f"\t{w} -> {far}" in plain and "-&gt; w" not in plain
    # and Graphviz reads it back
    path, _ = dot_binary.find_dot()
    if path is not None:
        run = subprocess.run([path, "-Tsvg"], input=src.encode(), capture_output=True, timeout=60)
        assert run.returncode == 0 and b"&gt; w<" in run.stdout and b"unrecognized" not in run.stderr
