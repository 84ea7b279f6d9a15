"""Gradient statistics, colour maps, legends and the states that must never be confused."""

from __future__ import annotations

import math

import numpy as np
import pytest
from cmap import Colormap

import gradviz as gv
from gradviz.graph.colors import (
    FINITE,
    NO_GRAD,
    NO_GRAD_PAINT,
    NONFINITE,
    PENDING,
    PENDING_PAINT,
    ZERO,
    ColorScale,
    GradStats,
    contrast_ratio,
    format_number,
    grad_stats,
    text_color,
)
from gradviz.graph.model import build_graph
from gradviz.graph.style import fit_scale, look


def test_statistics_of_a_known_gradient():
    s = grad_stats(np.array([3.0, -4.0], np.float32))
    assert s.state == FINITE and s.numel == 2
    assert s.norm == pytest.approx(5.0) and s.mean == pytest.approx(-0.5) and s.maxabs == pytest.approx(4.0)
    assert (s.min, s.max) == (-4.0, 3.0)
    assert s.elements == (3.0, -4.0)  # small tensors keep per-element values
    assert grad_stats(np.ones(100)).elements is None


def test_the_special_states():
    assert grad_stats(None, requires_grad=False).state == NO_GRAD
    assert grad_stats(None, requires_grad=True).state == PENDING
    zero = grad_stats(np.zeros(3))
    assert zero.state == ZERO and zero.norm == 0.0 and zero.value("norm") == 0.0
    nan = grad_stats(np.array([1.0, np.nan, np.inf, -np.inf]))
    assert nan.state == NONFINITE and (nan.nan, nan.inf) == (1, 2)
    assert nan.value("norm") is None and (nan.min, nan.max) == (1.0, 1.0)
    assert grad_stats(np.array([np.inf])).state == NONFINITE
    assert grad_stats(np.array(-0.0)).state == ZERO
    with pytest.raises(ValueError, match="statistic"):
        zero.value("median")


def test_sequential_scale_maps_magnitudes_from_zero():
    cs = ColorScale.fit([1.0, 3.0], "norm")
    assert (cs.vmin, cs.vmax) == (0.0, 3.0)
    lut = Colormap("viridis").lut(256)
    assert cs.color(0.0) == _hex(lut[0]) and cs.color(3.0) == _hex(lut[-1])
    assert cs.position(1.5) == pytest.approx(0.5)
    assert cs.position(99.0) == 1.0  # clipped


def test_diverging_scale_is_centred_on_zero():
    cs = ColorScale.fit([-2.0, 0.5], "mean")
    assert cs.signed and (cs.vmin, cs.vmax) == (-2.0, 2.0)
    assert cs.position(0.0) == 0.5
    assert cs.position(-2.0) == 0.0 and cs.position(2.0) == 1.0
    vik = Colormap("crameri:vik").lut(256)
    assert cs.color(0.0) == _hex(vik[128])
    assert cs.color(-1.0) != cs.color(1.0)


def test_log_scale():
    cs = ColorScale.fit([1e-4, 1e-2, 1.0], "maxabs", scale="log")
    assert cs.position(1e-4) == 0.0 and cs.position(1.0) == 1.0
    assert cs.position(1e-2) == pytest.approx(0.5)  # decades evenly spaced
    assert cs.position(0.0) == 0.0  # zero sits below any log range...
    assert cs.paint(grad_stats(np.zeros(2))) == cs.zero_paint  # ...and has a colour of its own
    ticks = [t for t, _ in cs.legend().ticks]
    assert ticks == sorted(ticks) and 0.0 in ticks and 1.0 in ticks
    signed = ColorScale.fit([-1e-3, 1.0], "mean", scale="log")
    assert signed.position(0.0) == 0.5 and signed.position(-1.0) == 0.0 and signed.position(1.0) == 1.0
    assert 0.5 < signed.position(1e-3) < signed.position(1e-1) < 1.0
    assert signed.value_at(signed.position(0.01)) == pytest.approx(0.01)


def test_value_at_inverts_position():
    for cs in (
        ColorScale.fit([0.0, 8.0]),
        ColorScale.fit([-3.0, 1.0], "mean"),
        ColorScale.fit([0.01, 100.0], scale="log"),
    ):
        for v in (cs.value_at(0.25), cs.value_at(0.5), cs.value_at(0.9)):
            assert cs.value_at(cs.position(v)) == pytest.approx(v)


def test_degenerate_ranges():
    assert (ColorScale.fit([]).vmin, ColorScale.fit([]).vmax) == (0.0, 1.0)
    assert ColorScale.fit([0.0, 0.0]).vmax == 1.0
    assert ColorScale.fit([math.nan, math.inf, 2.0]).vmax == 2.0
    one = ColorScale.fit([5.0], scale="log")
    assert one.vmin < 5.0 < one.vmax  # one value sits mid-bar
    assert ColorScale.fit([0.0], "mean").vmax == 1.0


def test_states_are_unmistakable():
    for cmap in (None, "viridis", "magma", "crameri:vik", "colorbrewer:RdBu", "gray"):
        for stat in ("norm", "mean"):
            cs = ColorScale.fit([0.0, 1.0], stat, cmap)
            none = cs.paint(grad_stats(None, False))
            pending = cs.paint(grad_stats(None, True))
            zero = cs.paint(grad_stats(np.zeros(2)))
            bad = cs.paint(grad_stats(np.array([np.nan])))
            # no gradient: neutral, hatched and dashed, whatever the map
            assert none == NO_GRAD_PAINT and none.hatch and none.dashed and _grey(none.fill)
            assert pending == PENDING_PAINT and _grey(pending.fill)
            # zero: a colour of its own, outside the map, and not the outputs' heavy outline
            assert not zero.dashed and not zero.hatch and zero.border_width < 2.5
            assert zero.fill != cs.color(0.0)
            # NaN/Inf: a loud colour far from every colour of the map, a thick dashed outline
            lut = np.asarray(cs._lut)
            dist = np.min(np.sum((lut - np.array(_rgb(bad.fill))) ** 2, axis=1)) ** 0.5
            assert dist > 0.25, (cmap, stat, bad.fill)
            assert bad.border_width >= 3 and bad.dashed
            assert len({none, pending, zero, bad}) == 4


def test_text_is_legible_on_every_fill():
    fills = [NO_GRAD_PAINT.fill, PENDING_PAINT.fill]
    for cmap in ("viridis", "crameri:vik", "magma", "colorbrewer:RdBu", "cividis"):
        cs = ColorScale(cmap=cmap)
        fills += [cs.color_at(k / 255) for k in range(256)] + [cs.nonfinite_paint.fill]
    for fill in fills:
        assert contrast_ratio(fill, text_color(fill)) >= 4.5, fill
    assert contrast_ratio(NO_GRAD_PAINT.fill, NO_GRAD_PAINT.text) >= 4.5
    assert text_color("#ffffff") == "#000000" and text_color("#000000") == "#ffffff"
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)


def test_legend_shows_the_range_and_the_states():
    cs = ColorScale.fit([0.0, 2.5], "norm")
    leg = cs.legend()
    assert leg.title == "grad L2 norm"
    labels = dict((label, t) for t, label in leg.ticks)
    assert labels["0"] == 0.0 and labels["2.5"] == 1.0
    assert all(0.0 <= t <= 1.0 for t, _ in leg.ticks)
    assert [label for label, _ in leg.swatches] == [
        "no grad (requires_grad=False)",
        "grad is None (not computed or not kept)",
        "grad exactly 0 (not on the bar)",
        "grad has NaN or Inf",
    ]
    assert len(leg.stops) > 16 and leg.stops[0][1] == cs.color(0.0)
    assert ColorScale(scale="log").legend().title.endswith("(log)")


def test_colormap_choice_and_errors():
    assert ColorScale(cmap="magma").cmap_name.endswith("magma")
    assert ColorScale(cmap=Colormap("cividis")).cmap_name.endswith("cividis")
    with pytest.raises(ValueError, match="statistic"):
        ColorScale("median")
    with pytest.raises(ValueError, match="scale"):
        ColorScale(scale="cubic")
    with pytest.raises((ValueError, KeyError, LookupError)):
        ColorScale(cmap="no-such-map")


def test_colours_of_known_gradients_in_a_graph():
    w = gv.tensor([3.0, 4.0], requires_grad=True)  # grad [1, 1]: norm sqrt(2)
    v = gv.tensor(2.0, requires_grad=True)  # grad 7: the largest
    z = gv.tensor([1.0, 1.0], requires_grad=True)  # grad set to zero
    n = gv.tensor(1.0, requires_grad=True)  # grad set to NaN
    p = gv.tensor(1.0, requires_grad=True)  # never reached by backward
    c = gv.tensor([5.0, 6.0])  # requires_grad=False
    y = (w + c).sum() + v * 3.5 + (z * 0).sum() + n * 1 + p * 0
    y.backward()
    v.grad = v.grad * 2
    n.grad = gv.tensor(float("nan"))
    p.grad = None
    g = build_graph(y, names=dict(w=w, v=v, z=z, n=n, p=p, c=c))
    cs = fit_scale(g)
    assert cs.vmax == pytest.approx(7.0)
    node = {a["name"]: a for _, a in g.nodes(data=True) if a.get("name")}
    assert look(node["v"], cs).paint.fill == cs.color_at(1.0)
    assert look(node["w"], cs).paint.fill == cs.color(math.sqrt(2))
    assert look(node["z"], cs).paint == cs.zero_paint and node["z"]["grad_stats"].state == ZERO
    assert look(node["n"], cs).paint == cs.nonfinite_paint
    assert look(node["p"], cs).paint == PENDING_PAINT
    assert look(node["c"], cs).paint == NO_GRAD_PAINT
    lines = {k: [line.text for line in look(node[k], cs).lines] for k in node}
    assert "grad = 0" in lines["z"] and "no grad" in lines["c"] and "grad is NaN" in lines["n"]
    assert "grad: None" in lines["p"]
    cells = look(node["w"], cs).cells
    assert cells == [[cs.color(1.0), cs.color(1.0)]]  # per-element cells for small tensors


def test_nan_and_inf_gradients_are_counted_in_words():
    """Not "grad has Inf x1": how many elements, of how many, are NaN or Inf."""

    def grad_line(grad):
        t = gv.tensor(np.zeros(np.shape(grad), dtype=np.float32), requires_grad=True)
        t.grad = gv.tensor(np.asarray(grad, dtype=np.float32))
        g = build_graph(t, names={"t": t})
        (a,) = (a for _, a in g.nodes(data=True) if a.get("name") == "t")
        lines = look(a, fit_scale(g)).lines
        (line,) = (ln for ln in lines if ln.text.startswith("grad"))
        assert line.bold  # as loud as the fill
        return line.text

    inf, nan = float("inf"), float("nan")
    assert grad_line(inf) == "grad is Inf"
    assert grad_line(-inf) == "grad is Inf"
    assert grad_line(nan) == "grad is NaN"
    assert grad_line([inf, 0.5]) == "grad has Inf (1 of 2 elements)"
    assert grad_line([nan, 1.0, nan, 2.0, nan, 3.0]) == "grad has NaN (3 of 6 elements)"
    assert grad_line([nan, nan, nan]) == "grad has NaN (all 3 elements)"
    assert grad_line([[nan, inf], [1.0, 2.0]]) == "grad has NaN and Inf (2 of 4 elements)"
    big = np.ones(5000)
    big[:1200] = nan
    assert grad_line(big) == "grad has NaN (1,200 of 5,000 elements)"


def test_format_number():
    assert [format_number(v) for v in (0.0, 3.0, 0.25, -1234.5, 1.5e-5, 2e7)] == [
        "0",
        "3",
        "0.25",
        "-1234",
        "1.5e-05",
        "2e+07",
    ]
    assert format_number(math.nan) == "nan" and format_number(-math.inf) == "-inf"


def _hex(rgba) -> str:
    return "#" + "".join(f"{max(0, min(255, round(c * 255))):02x}" for c in rgba[:3])


def _rgb(color: str) -> tuple[float, float, float]:
    return tuple(int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))


def _grey(color: str) -> bool:
    r, g, b = _rgb(color)
    return max(r, g, b) - min(r, g, b) < 0.02


def test_grad_stats_dict_is_flat():
    d = GradStats(FINITE, 2, 1.0, 0.5, 1.0, 0.0, 1.0).as_dict()
    assert d["grad_state"] == FINITE and all(isinstance(v, (int, float, str)) for v in d.values())
