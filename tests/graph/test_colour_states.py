"""Colours say the truth: zero is off the map, wide ranges go log, kept grads are marked."""

import itertools

import numpy as np

import gradviz as gv
from gradviz.graph.colors import (
    CELLS_MARK,
    KEPT_MARK,
    NEUTRAL_PAINT,
    NO_GRAD_PAINT,
    OUTPUT_MARK,
    PENDING_PAINT,
    ColorScale,
    color_distance,
    grad_stats,
)
from gradviz.graph.model import build_graph
from gradviz.graph.scene import build_scene
from gradviz.graph.style import KEPT_BADGE, as_pytorch, fit_scale, legend_states, look

MAPS = (None, "viridis", "cividis", "magma", "inferno", "plasma", "crameri:batlow", "crameri:vik")
MAPS += ("crameri:roma", "crameri:berlin", "colorbrewer:RdBu", "gray")


def test_zero_is_far_from_every_colour_of_every_map():
    for cmap, stat in itertools.product(MAPS, ("norm", "mean")):
        cs = ColorScale.fit([0.0, 1.0], stat, cmap)
        zero = cs.paint(grad_stats(np.zeros(3))).fill
        nearest = min(color_distance(zero, cs.color_at(k / 255)) for k in range(256))
        assert nearest > 25, (cmap, stat, zero, nearest)  # delta E 25: plainly another colour
        for other in (cs.nonfinite_paint.fill, NO_GRAD_PAINT.fill, PENDING_PAINT.fill, NEUTRAL_PAINT.fill):
            assert color_distance(zero, other) > 15, (cmap, zero, other)
        assert cs.legend().swatches[2] == ("grad exactly 0 (not on the bar)", cs.zero_paint)


def test_an_exact_zero_element_cell_has_the_zero_colour():
    w = gv.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (w * gv.tensor([0.0, 1.0, 5.0])).sum().backward()
    g = build_graph(w, names={"w": w})
    cs = fit_scale(g)
    cells = look(g.nodes[next(iter(g))], cs).cells[0]
    assert cells == [cs.zero_paint.fill, cs.color(1.0), cs.color(5.0)]


def _spread_graph():
    ws = [gv.tensor(1.0, requires_grad=True) for _ in range(5)]
    y = sum(w * 10.0**e for w, e in zip(ws, (-4, -2, 0, 2, 4)))
    y.backward()
    return ws, build_graph(y, names={f"w{k}": w for k, w in enumerate(ws)})


def test_auto_turns_log_when_the_grads_span_decades_and_keeps_them_apart():
    _, g = _spread_graph()
    assert fit_scale(g, scale="auto").scale == "log"
    linear = fit_scale(g, scale="linear")
    cs = fit_scale(g, scale="auto")
    assert "log: the grads span 8 decades" in cs.legend().notes
    ws = [a for _, a in g.nodes(data=True) if a.get("type") == "tensor" and a["name"].startswith("w")]
    fills = {a["name"]: look(a, cs).paint.fill for a in ws}
    assert len(fills) == 5
    for a, b in itertools.combinations(fills.values(), 2):
        assert color_distance(a, b) > 12, fills  # each decade its own colour
    # The linear scale is what the issue complained about: all but the largest look the same.
    flat = [look(a, linear).paint.fill for a in ws if a["name"] in ("w0", "w1", "w2")]
    assert len(set(flat)) == 1
    # A narrow range stays linear and says nothing.
    narrow = ColorScale.fit([1.0, 3.0])
    assert fit_scale(build_graph(gv.tensor(1.0, requires_grad=True) * 3), scale="auto").scale == "linear"
    assert narrow.legend().notes == []


def test_kept_grads_are_marked_and_hidden_as_pytorch_would():
    w = gv.tensor([1.0, 2.0], requires_grad=True)
    h = w * 3
    h.retain_grad()
    y = h.sum()
    y.backward()
    g = build_graph(y, names={"w": w, "h": h, "y": y})
    node = {a["name"]: (n, a) for n, a in g.nodes(data=True) if a.get("name")}
    g.nodes[node["h"][0]]["kept_by_gradviz"] = True  # what a session's source says
    cs = fit_scale(g)
    assert look(node["h"][1], cs).badge == KEPT_BADGE and look(node["w"][1], cs).badge is None
    states = legend_states(g)
    assert {OUTPUT_MARK, CELLS_MARK, KEPT_MARK} <= set(states)
    assert ("kept", "kept by gradviz (PyTorch: None)") in cs.legend(states).marks
    scene = build_scene(g, scale=cs, layout=None)
    texts = [getattr(i, "text", "") for i in scene.items]
    assert KEPT_BADGE in texts and "heavy outline: an output" in texts
    as_pytorch(g)
    h_look = look(g.nodes[node["h"][0]], fit_scale(g))
    assert h_look.badge is None and h_look.paint == PENDING_PAINT
    assert "grad not retained" in [line.text for line in h_look.lines]
    assert KEPT_MARK not in legend_states(g)
