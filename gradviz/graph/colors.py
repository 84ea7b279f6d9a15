"""Gradient statistics and the colours that show them.

A node's fill answers one question: how big (or which sign) is this tensor's gradient? The
statistic goes through a colour map from the ``cmap`` library (a perceptual sequential map for
magnitudes, a diverging map centred on zero for signed values), and four states stay out of the
map so that they can never be mistaken for a value: no gradient at all (``requires_grad=False``),
a gradient not computed yet, an all-zero gradient, and a gradient holding NaN or Inf.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

# --- statistics -------------------------------------------------------------------------------

STATS = {"norm": "L2 norm", "mean": "mean", "maxabs": "max |g|"}
SIGNED_STATS = {"mean"}
ELEMENTS_MAX = 16  # tensors up to this many elements also show one cell per element

# Gradient states, from "nothing to show" to "something is wrong".
NO_GRAD = "no_grad"  # requires_grad=False: no gradient will ever arrive
PENDING = "pending"  # requires grad, but .grad is None (before backward, or not retained)
ZERO = "zero"  # every element exactly 0
FINITE = "finite"
NONFINITE = "nonfinite"  # at least one NaN or Inf


@dataclass(frozen=True)
class GradStats:
    """What the colours need to know about one gradient."""

    state: str
    numel: int = 0
    norm: float | None = None
    mean: float | None = None
    maxabs: float | None = None
    min: float | None = None
    max: float | None = None
    nan: int = 0
    inf: int = 0
    elements: tuple[float, ...] | None = None

    def value(self, stat: str) -> float | None:
        """The statistic shown by the fill, or None when the state has no value to map."""
        if stat not in STATS:
            raise ValueError(f"unknown statistic {stat!r}; choose one of {', '.join(STATS)}")
        if self.state not in (ZERO, FINITE):
            return None
        return getattr(self, stat)

    def as_dict(self) -> dict[str, float | int | str]:
        """Flat scalars only (GraphML and JSON can store them)."""
        out: dict[str, float | int | str] = {"grad_state": self.state}
        for key in ("numel", "norm", "mean", "maxabs", "min", "max", "nan", "inf"):
            v = getattr(self, key)
            if v is not None:
                out[f"grad_{key}"] = v
        return out


def grad_stats(grad: np.ndarray | None, requires_grad: bool = True) -> GradStats:
    """Statistics of a gradient array; ``grad=None`` gives the NO_GRAD or PENDING state. A
    complex gradient is measured by its elements' sizes (its norm is torch's ``grad.norm()``;
    complex numbers have no order, so min and max are of the sizes too)."""
    if grad is None:
        return GradStats(NO_GRAD if not requires_grad else PENDING)
    raw = np.asarray(grad)
    if raw.dtype.kind == "c":
        raw = np.abs(raw)
    n = int(raw.size)
    if n and raw.dtype.kind == "f":
        # The common case in fewer passes, in the gradient's own dtype (no float64 copy of a
        # resnet's 2.4M elements; sums still in float64): min and max are finite only when
        # every element is.
        flat = raw.reshape(-1)
        lo, hi = float(flat.min()), float(flat.max())
        if math.isfinite(lo) and math.isfinite(hi):
            return GradStats(
                ZERO if lo == hi == 0 else FINITE,
                n,
                norm=float(np.sqrt(np.einsum("i,i->", flat, flat, dtype=np.float64))),
                mean=float(flat.mean(dtype=np.float64)),
                maxabs=max(-lo, hi),
                min=lo,
                max=hi,
                elements=tuple(flat.tolist()) if 1 < n <= ELEMENTS_MAX else None,
            )
    g = np.asarray(raw, dtype=np.float64)
    nan = int(np.isnan(g).sum())
    inf = int(np.isinf(g).sum())
    finite = g[np.isfinite(g)]
    elements = tuple(float(v) for v in g.reshape(-1)) if 1 < n <= ELEMENTS_MAX else None
    if nan or inf:
        # Keep the finite part's range: it helps to see where the rest of the tensor stands.
        lo = float(finite.min()) if finite.size else None
        hi = float(finite.max()) if finite.size else None
        return GradStats(NONFINITE, n, nan=nan, inf=inf, min=lo, max=hi, elements=elements)
    if n == 0:
        return GradStats(ZERO, 0, 0.0, 0.0, 0.0, None, None)
    absg = np.abs(g)
    state = ZERO if not absg.any() else FINITE
    return GradStats(
        state,
        n,
        norm=float(np.sqrt(np.sum(g * g))),
        mean=float(g.mean()),
        maxabs=float(absg.max()),
        min=float(g.min()),
        max=float(g.max()),
        elements=elements,
    )


def format_number(v: float, digits: int = 4) -> str:
    """Short, readable numbers for labels and legends: 3, 0.25, 1.5e-05, -2.1e+03."""
    if v is None:
        return "-"
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return "0"
    a = abs(v)
    if 1e-3 <= a < 1e4:
        return f"{v:.{digits}g}"
    return f"{v:.3g}"


def _nice_ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    """Round numbers (steps of 1, 2, 2.5 or 5 times a power of ten) between lo and hi."""
    span = hi - lo
    if not span > 0 or not math.isfinite(span):
        return []
    raw = span / n
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    k = math.ceil(lo / step - 1e-9)
    out = []
    while k * step <= hi + 1e-9 * step:
        out.append(float(f"{k * step:.12g}"))  # drop float noise, at any magnitude
        k += 1
    return out


def _decade_steps(decades: int) -> list[int]:
    """Nice strides through the powers of ten: every decade, every 2nd, 3rd, 5th, 10th, 20th..."""
    steps, mag = [], 1
    while True:
        for m in (1, 2, 3, 5) if mag == 1 else (1, 2, 2.5, 5):
            step = int(m * mag)
            steps.append(step)
            if step > decades:
                return steps
        mag *= 10


def _decades(lo: float, hi: float) -> float:
    """log10(hi / lo), without overflow when the two are hundreds of decades apart."""
    return math.log10(hi) - math.log10(lo)


# --- tick labels ------------------------------------------------------------------------------

TICK_SIZE = 8.5  # the legend's tick labels, in points
LEGEND_BAR_WIDTH = 170.0  # the narrowest colour bar a legend is drawn with (see scene.legend_width)
TICK_GAP = 4.0  # the least room between two tick labels, in points

# Widths of characters in ems, a little over DejaVu Sans's (and Verdana's), so estimates are
# generous: 0.7 for digits and most letters (DejaVu's digits are 0.64), the others below.
_CHAR_EM = {".": 0.35, ",": 0.35, " ": 0.35, "-": 0.4, "+": 0.92, "m": 1.05, "w": 0.9}


def estimate_text_width(text: str, size: float = TICK_SIZE) -> float:
    """A generous width of a short label at font size ``size``, from its characters alone."""
    return size * sum(_CHAR_EM.get(c, 0.7) for c in text)


def tick_label_span(t: float, width: float, bar_width: float) -> tuple[float, float]:
    """Where a label ``width`` wide goes for a tick at position ``t`` (0..1) of a bar ``bar_width``
    wide, from the bar's left end: centred under the tick, but never past either end of the bar
    (so the labels of the ends line up with the ends)."""
    left = max(0.0, min(t * bar_width - width / 2, bar_width - width))
    return left, left + width


def _clear(a: tuple[float, float], b: tuple[float, float], gap: float) -> bool:
    return a[1] + gap <= b[0] or b[1] + gap <= a[0]


def fit_tick_labels(
    ticks: Sequence[tuple[float, str]],
    bar_width: float,
    measure: Callable[[str, float], float] = estimate_text_width,
    size: float = TICK_SIZE,
    gap: float = TICK_GAP,
) -> list[tuple[float, str, float, float]]:
    """``(position, label, left, right)`` for the ticks whose labels don't collide, in order of
    position: the first and the last always, each other one if it clears the last one kept and
    the last tick."""
    if not ticks:
        return []
    ordered = sorted(ticks)
    spans = [(t, label, *tick_label_span(t, measure(label, size), bar_width)) for t, label in ordered]
    first, last = spans[0], spans[-1]
    kept = [first]
    for s in spans[1:-1]:
        if _clear(kept[-1][2:], s[2:], gap) and _clear(s[2:], last[2:], gap):
            kept.append(s)
    if len(spans) > 1:
        kept.append(last)
    return kept


# --- colour ----------------------------------------------------------------------------------

DEFAULT_SEQUENTIAL = "viridis"  # perceptual, colour-blind safe, dark at zero so zero stands out
DEFAULT_DIVERGING = "crameri:vik"  # Crameri's maps are perceptual and colour-blind safe


def _hex(rgb: Sequence[float]) -> str:
    r, g, b = (max(0, min(255, round(c * 255))) for c in rgb[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def _rgb(hex_color: str) -> tuple[float, float, float]:
    h = hex_color.lstrip("#")
    return tuple(int(h[i : i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def relative_luminance(color: str) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in _rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of sRGB colours in 0..1, the last axis holding r, g, b."""
    rgb = np.asarray(rgb, dtype=np.float64)
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = lin @ _SRGB_TO_XYZ.T / _D65_WHITE
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


_SRGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
_D65_WHITE = np.array([0.95047, 1.0, 1.08883])


def color_distance(a: str, b: str) -> float:
    """How different two colours look: CIE76 delta E (about 2.3 is just noticeable, 40 is far)."""
    return float(np.linalg.norm(_lab(np.array(_rgb(a))) - _lab(np.array(_rgb(b)))))


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2 contrast ratio between two colours (1 to 21; 4.5 is the bar for body text)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_color(fill: str) -> str:
    """Black or white, whichever reads better on ``fill`` (always at least 4.5:1)."""
    return "#000000" if contrast_ratio(fill, "#000000") >= contrast_ratio(fill, "#ffffff") else "#ffffff"


@dataclass(frozen=True)
class Paint:
    """How a node is filled and outlined. ``hatch`` marks 'no gradient here' without colour."""

    fill: str
    text: str
    border: str = "#5a5a5a"
    border_width: float = 1.0
    dashed: bool = False
    hatch: str | None = None
    note: str = ""  # what the state means, for legends and tooltips


# Neutral states are greys (no hue, so never read as a value); NO_GRAD is also hatched and
# dashed, so it differs from PENDING and from any map colour even in greyscale print.
NO_GRAD_PAINT = Paint("#eeeeee", "#333333", "#8a8a8a", 1.0, True, "#cfcfcf", "requires_grad=False")
PENDING_PAINT = Paint("#ffffff", "#000000", "#8a8a8a", 1.0, False, None, "no grad yet")
NEUTRAL_PAINT = Paint("#f4f4f4", "#000000", "#8a8a8a", 1.0, False, None, "")  # ops, backward nodes


# Pale, hued candidates for "exactly zero": black text reads on each, none is a grey (the
# neutral states), and none is near the badges' orange. The one farthest from the map is used.
ZERO_CANDIDATES = ("#ffb3b3", "#ff9ee6", "#9ec8ff", "#a6f0ff", "#c8ffb0", "#b3ffe6", "#e0c8ff")

# What the legend explains beside the colours: marks drawn on a node rather than its fill.
OUTPUT_MARK = "output"  # a heavy black outline
CELLS_MARK = "cells"  # one small square per element, coloured on the same scale
KEPT_MARK = "kept"  # a grad gradviz kept where PyTorch would not


@dataclass
class Legend:
    title: str
    stops: list[tuple[float, str]]  # (position 0..1, colour) along the bar
    ticks: list[tuple[float, str]]  # (position 0..1, label)
    swatches: list[tuple[str, Paint]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how the scale was chosen, and if it changed
    marks: list[tuple[str, str]] = field(default_factory=list)  # (one of the *_MARK kinds, label)


def _colormap(name: object):
    from cmap import Colormap  # imported here: only colouring needs it

    return name if isinstance(name, Colormap) else Colormap(name)


# A colour map's name -> what a scale takes from it: its name, look-up table (as RGB and as hex)
# and the paints for zero and NaN, which depend on the map only. Picking those paints measures
# colour distances; the window fits a scale per layout and the Tensors panel one per row.
_MAPS: dict[str, tuple[str, np.ndarray, list[str], Paint, Paint]] = {}


class ColorScale:
    """Maps a statistic to a colour: linear or log, sequential or diverging around zero."""

    def __init__(
        self,
        stat: str = "norm",
        cmap: object = None,
        scale: str = "linear",
        vmin: float | None = None,
        vmax: float | None = None,
    ) -> None:
        if stat not in STATS:
            raise ValueError(f"unknown statistic {stat!r}; choose one of {', '.join(STATS)}")
        if scale not in ("linear", "log"):
            raise ValueError(f"unknown scale {scale!r}; choose 'linear' or 'log'")
        self.stat = stat
        self.signed = stat in SIGNED_STATS
        self.scale = scale
        name = cmap if cmap is not None else (DEFAULT_DIVERGING if self.signed else DEFAULT_SEQUENTIAL)
        known = _MAPS.get(name) if isinstance(name, str) else None
        if known is None:
            cm = _colormap(name)
            self.cmap_name = cm.name
            self._lut = np.asarray(cm.lut(256))[:, :3]
            self._hex_lut = [_hex(c) for c in self._lut]
            self.nonfinite_paint = self._nonfinite_paint()
            self.zero_paint = self._zero_paint()
            if isinstance(name, str):
                _MAPS[name] = (
                    self.cmap_name,
                    self._lut,
                    self._hex_lut,
                    self.nonfinite_paint,
                    self.zero_paint,
                )
        else:
            self.cmap_name, self._lut, self._hex_lut, self.nonfinite_paint, self.zero_paint = known
        self.vmin, self.vmax = self._range(vmin, vmax)
        self.notes: list[str] = []  # why this scale (say, log chosen for the range): the legend shows them
        self.fitted = 0  # how many gradient values the range was fitted on

    # The range ---------------------------------------------------------------------------
    def _range(self, vmin: float | None, vmax: float | None) -> tuple[float, float]:
        if self.signed:
            m = max(abs(vmin or 0.0), abs(vmax or 0.0))
            if self.scale == "log":
                lo = abs(vmin) if vmin else m / 1000
                return (lo or 1e-3, m or 1.0)
            return (-(m or 1.0), m or 1.0)
        hi = vmax if vmax else 1.0
        if self.scale == "log":
            lo = vmin if vmin and vmin > 0 else hi / 1000
            if lo >= hi:  # one value: show a decade either side so it sits mid-bar
                lo, hi = lo / 10, hi * 10
            return (lo, hi)
        return (0.0, hi)  # magnitudes start at zero: equal steps of gradient, equal steps of colour

    @classmethod
    def fit(
        cls, values: Iterable[float], stat: str = "norm", cmap: object = None, scale: str = "linear"
    ) -> ColorScale:
        """A scale whose range covers ``values`` (non-finite ones are ignored)."""
        vals = [float(v) for v in values if v is not None and math.isfinite(v)]
        if cls._is_signed(stat):
            m = max((abs(v) for v in vals), default=0.0)
            nz = [abs(v) for v in vals if v != 0]
            return cls(stat, cmap, scale, min(nz) if (scale == "log" and nz) else -m, m)
        vals = [abs(v) for v in vals]
        hi = max(vals, default=0.0)
        lo = min((v for v in vals if v > 0), default=None)
        return cls(stat, cmap, scale, lo if scale == "log" else 0.0, hi)

    @staticmethod
    def _is_signed(stat: str) -> bool:
        return stat in SIGNED_STATS

    # Mapping -----------------------------------------------------------------------------
    def position(self, v: float) -> float:
        """Where ``v`` sits on the colour bar, 0..1 (0.5 is zero on a diverging scale)."""
        if self.signed:
            if self.scale == "log":
                lo, hi = self.vmin, self.vmax
                a = abs(v)
                # symlog: zero at the centre, the smallest value one step out, decades beyond.
                s = 0.0 if a == 0 else (1 + _decades(lo, max(a, lo))) / (1 + _decades(lo, hi))
                s = math.copysign(min(s, 1.0), v)
            else:
                s = max(-1.0, min(1.0, v / self.vmax))
            return 0.5 + 0.5 * s
        if self.scale == "log":
            if v <= 0:
                return 0.0
            t = _decades(self.vmin, v) / _decades(self.vmin, self.vmax)
        else:
            t = (v - self.vmin) / (self.vmax - self.vmin)
        return max(0.0, min(1.0, t))

    def value_at(self, t: float) -> float:
        """The value at position ``t`` of the colour bar (the inverse of :meth:`position`)."""
        t = max(0.0, min(1.0, t))
        if self.signed:
            s = 2 * t - 1
            if self.scale == "log":
                if s == 0:
                    return 0.0
                decades = 1 + _decades(self.vmin, self.vmax)
                return math.copysign(10 ** (math.log10(self.vmin) + abs(s) * decades - 1), s)
            return s * self.vmax
        if self.scale == "log":
            return 10 ** (math.log10(self.vmin) + t * _decades(self.vmin, self.vmax))
        return self.vmin + t * (self.vmax - self.vmin)

    def color_at(self, t: float) -> str:
        return self._hex_lut[round(max(0.0, min(1.0, t)) * (len(self._hex_lut) - 1))]

    def color(self, v: float) -> str:
        return self.color_at(self.position(v))

    def element_value(self, g: float) -> float:
        """Per-element cells use the sign for signed stats, the magnitude otherwise."""
        return g if self.signed else abs(g)

    def paint(self, stats: GradStats | None) -> Paint:
        """The fill and outline for a tensor with these gradient statistics."""
        if stats is None or stats.state == NO_GRAD:
            return NO_GRAD_PAINT
        if stats.state == PENDING:
            return PENDING_PAINT
        if stats.state == NONFINITE:
            return self.nonfinite_paint
        if stats.state == ZERO:
            return self.zero_paint
        fill = self.color(stats.value(self.stat))
        return Paint(fill, text_color(fill), "#404040", 1.0, False, None, "")

    def element_color(self, g: float) -> str:
        """The colour of one element's cell: exactly 0 and NaN/Inf keep their own colours."""
        if not math.isfinite(g):
            return self.nonfinite_paint.fill
        if g == 0:
            return self.zero_paint.fill
        return self.color(self.element_value(g))

    def _zero_paint(self) -> Paint:
        # Exactly zero is not "a small value": a hue outside the map (the dark end of viridis
        # would pass for one), the farthest from every map colour and from the NaN colour.
        taken = _lab(np.vstack([self._lut, [_rgb(self.nonfinite_paint.fill)]]))

        def distance(c: str) -> float:
            return float(np.min(np.linalg.norm(taken - _lab(np.array(_rgb(c))), axis=1)))

        fill = max(ZERO_CANDIDATES, key=distance)
        return Paint(fill, text_color(fill), "#404040", 1.5, False, None, "grad all 0")

    def _nonfinite_paint(self) -> Paint:
        # Pick, among a few loud colours, the one farthest from every colour of the map: NaN
        # must never look like a value, whatever map the user chose.
        candidates = ["#ff00ff", "#ff0000", "#00ffff", "#000000", "#ff8000"]
        lut = self._lut

        def distance(c: str) -> float:
            return float(np.min(np.sum((lut - np.array(_rgb(c))) ** 2, axis=1)))

        fill = max(candidates, key=distance)
        return Paint(fill, text_color(fill), "#000000", 3.0, True, None, "NaN / Inf")

    # Legend ------------------------------------------------------------------------------
    def _tick_sets(self) -> Iterable[list[float]]:
        """Round values for the legend's inner ticks, from the densest set to the sparsest:
        powers of ten on a log scale (every decade, every 2nd, ...), else 1, 2, 2.5 or 5 times a
        power of ten."""
        if self.scale == "log":
            lo, hi = self.vmin, self.vmax
            first, last = math.ceil(math.log10(lo)), math.floor(math.log10(hi))
            for step in _decade_steps(max(0, last - first)):
                powers = [10.0**k for k in range(first, last + 1) if k % step == 0]
                yield [*(-v for v in reversed(powers)), *powers] if self.signed else powers
        else:
            for n in (4, 3, 2, 1):
                yield _nice_ticks(self.vmin, self.vmax, n)
        yield []

    def ticks(
        self,
        bar_width: float = LEGEND_BAR_WIDTH,
        measure: Callable[[str, float], float] = estimate_text_width,
    ) -> list[float]:
        """Tick values for a legend bar ``bar_width`` points wide: the ends of the range (and zero
        on a diverging scale) always, then the densest set of round values whose labels fit
        between them without touching (``measure(label, size)`` gives a label's width)."""
        ends = [-self.vmax, self.vmax, 0.0] if self.signed else [self.vmin, self.vmax]

        def span(v: float) -> tuple[float, float]:
            return tick_label_span(self.position(v), measure(format_number(v), TICK_SIZE), bar_width)

        fixed = [span(v) for v in ends]
        for values in self._tick_sets():
            inner = sorted(
                (self.position(v), v) for v in values if all(_clear(span(v), f, TICK_GAP) for f in fixed)
            )
            spans = [span(v) for _, v in inner]
            if all(_clear(a, b, TICK_GAP) for a, b in itertools.pairwise(spans)):
                return ends + [v for _, v in inner]
        return ends

    def legend(
        self,
        states: Iterable[str] = (NO_GRAD, PENDING, ZERO, NONFINITE),
        bar_width: float = LEGEND_BAR_WIDTH,
    ) -> Legend:
        """The legend for a colour bar at least ``bar_width`` points wide: no two tick labels
        touch (their widths are estimated generously from their characters)."""
        title = f"grad {STATS[self.stat]}" + (" (log)" if self.scale == "log" else "")
        stops = [(k / 32, self.color_at(k / 32)) for k in range(33)]
        ticks = sorted((self.position(v), format_number(v)) for v in self.ticks(bar_width))
        paints = {
            NO_GRAD: ("no grad (requires_grad=False)", NO_GRAD_PAINT),
            PENDING: ("grad is None (not computed or not kept)", PENDING_PAINT),
            ZERO: ("grad exactly 0 (not on the bar)", self.zero_paint),
            NONFINITE: ("grad has NaN or Inf", self.nonfinite_paint),
        }
        marks = {
            OUTPUT_MARK: "heavy outline: an output",
            CELLS_MARK: "squares: each element's grad",
            KEPT_MARK: "kept by gradviz (PyTorch: None)",
        }
        return Legend(
            title,
            stops,
            ticks,
            [paints[s] for s in states if s in paints],
            list(self.notes),
            [(m, marks[m]) for m in states if m in marks],
        )
