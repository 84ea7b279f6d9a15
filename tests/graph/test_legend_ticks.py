"""The legend's tick labels: never on top of each other, the range's ends always shown, round
values (powers of ten on a log scale) between them."""

from __future__ import annotations

import itertools
import math

import pytest

from gradviz.graph.colors import (
    TICK_SIZE,
    ColorScale,
    estimate_text_width,
    fit_tick_labels,
    format_number,
    tick_label_span,
)
from gradviz.graph.fonts import text_width
from gradviz.graph.scene import Text, legend_items

RANGES = [
    # (statistic, scale, vmin, vmax)
    ("norm", "linear", 0.0, 2.5),
    ("norm", "linear", 0.0, 1e-12),
    ("norm", "linear", 0.0, 123456789.0),
    ("norm", "linear", 0.0, 3.7e21),
    ("norm", "linear", 0.0, 0.000123),
    ("maxabs", "log", 4.97e-10, 1.0),  # the vanishing-gradients example: labels used to overlap
    ("maxabs", "log", 1.234e-9, 0.987),
    ("norm", "log", 1e-30, 1e30),
    ("norm", "log", 1e-300, 1e300),
    ("norm", "log", 1e-4, 1.0),
    ("norm", "log", 0.2, 0.5),
    ("norm", "log", 3.3e-7, 4.4e5),
    ("norm", "log", 12.0, 1.5e6),
    ("mean", "linear", -1e9, 5e8),
    ("mean", "linear", -3e-3, 3e-3),
    ("mean", "log", 1e-8, 3e-3),
    ("mean", "log", 1e-30, 1e20),
    ("mean", "log", 2.2e-5, 7.7e4),
]


def _label_boxes(items: list, top: float) -> list[tuple[float, float, str]]:
    """(left, right, text) of the tick labels drawn: the 8.5 pt texts in the row under the bar."""
    boxes = []
    for it in items:
        if isinstance(it, Text) and it.size == TICK_SIZE and it.y <= top:
            w = text_width(it.text, it.size, it.bold)
            left = {"start": it.x, "middle": it.x - w / 2, "end": it.x - w}[it.anchor]
            boxes.append((left, left + w, it.text))
    return sorted(boxes)


@pytest.mark.parametrize(("stat", "scale", "vmin", "vmax"), RANGES)
def test_tick_labels_never_overlap(stat, scale, vmin, vmax) -> None:
    cs = ColorScale(stat, None, scale, vmin, vmax)
    legend = cs.legend(())
    items, width, _ = legend_items(legend, 0.0, 0.0)
    texts = [it for it in items if isinstance(it, Text) and it.size == TICK_SIZE]
    boxes = _label_boxes(items, min(it.y for it in texts))
    labels = [b[2] for b in boxes]
    # every tick the legend chose is drawn: it chose them to fit
    assert labels == [label for _, label in legend.ticks], labels
    # no two labels touch (2 pt to spare for the GUI's font), and all sit inside the frame
    for (_, right, a), (left, _, b) in itertools.pairwise(boxes):
        assert right + 2 <= left, (a, b, right, left)
    assert boxes[0][0] >= 0 and boxes[-1][1] <= width
    # the ends of the range are always there, at the ends of the bar
    lo, hi = (-cs.vmax, cs.vmax) if cs.signed else (cs.vmin, cs.vmax)
    assert legend.ticks[0] == (0.0, format_number(lo)) and legend.ticks[-1] == (1.0, format_number(hi))
    if cs.signed:
        assert (0.5, "0") in legend.ticks  # zero marks the middle of a diverging bar
    inner = [label for t, label in legend.ticks if t not in (0.0, 0.5, 1.0) or (t == 0.5 and not cs.signed)]
    if scale == "log":  # round values between: powers of ten
        for label in inner:
            exponent = math.log10(abs(float(label)))
            assert exponent == pytest.approx(round(exponent), abs=1e-9), label
    # and there is something between the ends whenever the range is wide enough
    if scale == "log" and math.log10(cs.vmax / cs.vmin) >= 3:
        assert inner, legend.ticks


def test_vanishing_gradient_range_keeps_round_decades() -> None:
    legend = ColorScale("maxabs", None, "log", 4.97e-10, 1.0).legend(())
    labels = [label for _, label in legend.ticks]
    assert labels[0] == "4.97e-10" and labels[-1] == "1"
    assert "1e-09" not in labels  # a decade right next to the end would overlap it
    assert len(labels) >= 4


def test_tick_label_span_stays_on_the_bar() -> None:
    assert tick_label_span(0.0, 30.0, 170.0) == (0.0, 30.0)
    assert tick_label_span(1.0, 30.0, 170.0) == (140.0, 170.0)
    assert tick_label_span(0.5, 30.0, 170.0) == (70.0, 100.0)
    assert tick_label_span(0.02, 30.0, 170.0) == (0.0, 30.0)  # near an end: kept on the bar


def test_estimate_is_generous() -> None:
    for v in (4.97e-10, 1e-07, -1.23e15, 123456789, 0.0001234, -2.1e3, 2.5):
        label = format_number(v)
        assert estimate_text_width(label) >= text_width(label, TICK_SIZE), label


def test_fit_tick_labels_keeps_the_ends_and_drops_collisions() -> None:
    ticks = [(0.0, "4.97e-10"), (0.03, "1e-09"), (0.25, "1e-07"), (0.5, "0.0001"), (1.0, "1")]
    kept = fit_tick_labels(ticks, 170.0)
    assert [label for _, label, _, _ in kept] == ["4.97e-10", "0.0001", "1"]
    for a, b in itertools.pairwise(kept):
        assert a[3] < b[2]
    assert fit_tick_labels([], 170.0) == []
    assert [k[1] for k in fit_tick_labels([(0.0, "0"), (1.0, "1")], 170.0)] == ["0", "1"]
