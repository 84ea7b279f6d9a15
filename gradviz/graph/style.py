"""What each node says and how it is painted: one description shared by every renderer.

The DOT output of ``draw()``, the SVG/PNG/PDF exports and the desktop canvas all read a node's
:class:`Look`, so a tensor reads the same everywhere: its name, its kind and shape, its value,
its gradient, and a fill that shows the gradient statistic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from .colors import (
    CELLS_MARK,
    FINITE,
    KEPT_MARK,
    NEUTRAL_PAINT,
    NO_GRAD,
    NONFINITE,
    OUTPUT_MARK,
    PENDING,
    SIGNED_STATS,
    STATS,
    ZERO,
    ColorScale,
    GradStats,
    Paint,
    format_number,
)
from .model import shape_text

BADGE_FILL = "#ffd9a0"  # torchviz draws saved tensors orange; a light orange keeps text black
BADGE_TEXT = "#000000"
OUTPUT_BORDER = 2.5  # outputs get a heavier outline: the fill is reserved for the gradient
CHECK_BADGES = {True: "✓ checked by nudging", False: "✗ nudging disagrees"}
CHECK_TIPS = {
    True: "Check Gradient: the numeric derivative (nudging it) agrees with autograd",
    False: "Check Gradient: the numeric derivative (nudging it) differs from autograd",
}
# Fill and border of the check badges: a pale green and a pale red, the text black on both.
CHECK_COLOURS = {CHECK_BADGES[True]: ("#d4f2d4", "#2f8a2f"), CHECK_BADGES[False]: ("#ffd6d6", "#c02020")}
KEPT_BADGE = "kept by gradviz"  # a non-leaf's grad PyTorch would not keep without retain_grad()
KEPT_FILL, KEPT_BORDER = "#e4e4f7", "#5c5c9e"  # a quiet lilac: unlike the saved-tensors orange
AUTO_LOG_DECADES = 2.0  # the automatic scale turns log when the grads span this many decades (100x)
SCALES = ("auto", "linear", "log")


@dataclass
class Line:
    text: str
    size: float = 10.0
    bold: bool = False


@dataclass
class Look:
    shape: str  # "tensor", "op" (a small pill between tensors) or "backward"
    paint: Paint
    lines: list[Line]
    cells: list[list[str]] | None = None  # per-element gradient colours, row by row
    badge: str | None = None  # saved tensors of a backward node, or KEPT_BADGE on a tensor
    tooltip: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def grad_values(g: nx.DiGraph, stat: str = "norm") -> list[float]:
    """Every gradient value ``g`` draws for ``stat``: the node statistics and the element cells."""
    signed = stat in SIGNED_STATS
    values: list[float] = []
    for _, a in g.nodes(data=True):
        s: GradStats | None = a.get("grad_stats")
        if s is None or s.state not in (ZERO, FINITE):
            continue
        values.append(s.value(stat))
        if s.elements:
            values += [e if signed else abs(e) for e in s.elements]
    return values


def decades_spanned(values: list[float]) -> float:
    """log10(largest / smallest) of the non-zero magnitudes (0 with fewer than two)."""
    nz = [abs(v) for v in values if v and math.isfinite(v)]
    return math.log10(max(nz)) - math.log10(min(nz)) if len(nz) > 1 else 0.0


def fit_values(
    values: list[float], stat: str = "norm", cmap: object = None, scale: str = "linear"
) -> ColorScale:
    """A scale covering ``values``; ``scale="auto"`` turns log when they span
    :data:`AUTO_LOG_DECADES` decades or more, so one large gradient can't darken all the others."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    decades = decades_spanned(values)
    chosen = scale if scale != "auto" else ("log" if decades >= AUTO_LOG_DECADES else "linear")
    cs = ColorScale.fit(values, stat, cmap, chosen)
    if scale == "auto" and chosen == "log":
        cs.notes.append(f"log: the grads span {decades:.2g} decades")
    return cs


def fit_scale(g: nx.DiGraph, stat: str = "norm", cmap: object = None, scale: str = "linear") -> ColorScale:
    """A colour scale whose range covers every gradient drawn in ``g`` (node stats and cells)."""
    return fit_values(grad_values(g, stat), stat, cmap, scale)


def as_pytorch(g: nx.DiGraph) -> nx.DiGraph:
    """``g`` as PyTorch would show it: the grads gradviz kept on non-leaf tensors are None."""
    for _, a in g.nodes(data=True):
        if a.get("kept_by_gradviz"):
            a.update(kept_by_gradviz=False, grad="None", grad_stats=GradStats(PENDING))
    return g


def nonfinite_text(nan: int, inf: int, numel: int) -> str:
    """How a gradient with ``nan`` NaN and ``inf`` infinite elements (of ``numel``) reads:
    ``grad is NaN`` (one element), ``grad has Inf (1 of 4 elements)``, ``grad has NaN (all 6
    elements)``, ``grad has NaN and Inf (3 of 6 elements)``. The same words on the canvas, in
    exports and in the tensors panel's tooltip. ASCII only (graphviz-pure warns on the rest)."""
    kinds = " and ".join(k for k, n in (("NaN", nan), ("Inf", inf)) if n) or "NaN or Inf"
    if numel <= 1:
        return f"grad is {kinds}"
    bad = nan + inf
    count = f"all {numel:,}" if bad >= numel else f"{bad:,} of {numel:,}"
    return f"grad has {kinds} ({count} elements)"


def _grad_line(s: GradStats, a: dict[str, Any], stat: str) -> str:
    if s.state == NO_GRAD:
        return "no grad"
    if s.state == PENDING and a.get("step") == "pending":  # the backward stepper
        return "grad: not reached yet"
    if s.state == PENDING:
        return "grad: None" if a.get("is_leaf") else "grad not retained"
    if s.state == NONFINITE:
        return nonfinite_text(s.nan, s.inf, s.numel)
    if s.state == ZERO:
        return "grad = 0"
    if s.numel == 1:
        return f"grad = {a['grad']}"
    if s.numel <= 3:
        return f"grad = {a['grad']}"
    return f"grad {STATS[stat]} = {format_number(s.value(stat))}"


def _kind_line(a: dict[str, Any]) -> str:
    kind = {"leaf": "leaf", "constant": "constant", "output": "output", "intermediate": ""}[a["kind"]]
    parts = [kind] if kind else []
    parts.append(shape_text(a["shape"]))
    parts.append(a["dtype"])
    return ", ".join(parts)  # ASCII: graphviz-pure warns on any other character


def _cells(s: GradStats, shape: tuple[int, ...], scale: ColorScale) -> list[list[str]] | None:
    if not s.elements or s.state not in (ZERO, FINITE, NONFINITE):
        return None
    colors = [scale.element_color(e) for e in s.elements]
    cols = shape[-1] if len(shape) >= 2 else len(colors)
    if cols > 8:  # a long vector wraps; a matrix keeps its rows
        cols = 8
    return [colors[i : i + cols] for i in range(0, len(colors), cols)]


def tensor_look(a: dict[str, Any], scale: ColorScale, elements: bool = True) -> Look:
    s: GradStats = a["grad_stats"]
    paint = scale.paint(s)
    if a.get("is_output") and not paint.dashed:
        paint = Paint(
            paint.fill,
            paint.text,
            "#000000",
            max(paint.border_width, OUTPUT_BORDER),
            paint.dashed,
            paint.hatch,
            paint.note,
        )
    lines = []
    if a["label"]:
        lines.append(Line(a["label"], 13, True))
    elif a.get("expr"):
        lines.append(Line(a["expr"], 11))  # not bold: how it was computed, not a name
    lines.append(Line(_kind_line(a), 9))
    if a.get("step") == "future":  # stepping through forward: not computed yet
        lines.append(Line("= (not computed yet)", 10))
    elif a["value"] and a["value"] != a["label"]:  # a wrapped number is already labelled by value
        lines.append(Line(f"= {a['value']}", 10))
    elif a.get("stale"):
        lines.append(Line("(overwritten in place)", 9))
    if a.get("step") not in ("future", "computed"):  # stepping through forward: no grads yet
        lines.append(Line(_grad_line(s, a, scale.stat), 10, s.state == NONFINITE))
    tip = f"{a['name'] or 'tensor'}: {_kind_line(a)}\nvalue: {a['value']}\ngrad: {a['grad']}"
    badge = None
    if a.get("kept_by_gradviz") and s.state != PENDING:
        badge = KEPT_BADGE
        tip += "\n(kept by gradviz: PyTorch keeps a non-leaf's grad only after retain_grad())"
    if "grad_check" in a:  # checked by nudging (Check Gradient): says more than "kept"
        badge = CHECK_BADGES[bool(a["grad_check"])]
        tip += "\n" + CHECK_TIPS[bool(a["grad_check"])]
    return Look("tensor", paint, lines, _cells(s, a["shape"], scale) if elements else None, badge, tip)


def _badge(a: dict[str, Any]) -> str | None:
    saved = a.get("saved")
    if not saved:
        return None
    text = "saved: " + ", ".join(shape_text(s) for s in saved)
    return text + " (freed)" if a.get("saved_freed") else text


STEP_BORDER = "#ff5a1f"  # the node of the backward step being shown: no gradient colour is orange-red


def look(a: dict[str, Any], scale: ColorScale, elements: bool = True) -> Look:
    """The look of one node, from its attributes in the model graph."""
    out = _look(a, scale, elements)
    if a.get("step") == "current":  # the backward stepper's current node
        p = out.paint
        out.paint = Paint(p.fill, p.text, STEP_BORDER, 4.0, False, p.hatch, p.note)
    elif a.get("step") == "future":  # forward stepping: drawn faint until it is computed
        out.paint = Paint("#f6f6f6", "#9a9a9a", "#c0c0c0", 1.0, True, None, "not computed yet")
    return out


REPEAT_PAINT = Paint("#f6f1e4", "#000000", "#7a6a48", 1.4, False, None, "")  # a card, not a gradient
SPARK_NEUTRAL = "#4d4d4d"  # the sparkline when the colours show a signed statistic


def repeat_look(a: dict[str, Any], scale: ColorScale) -> Look:
    """A folded run: "× 300", what each repetition does, and a sparkline of the gradient norm
    entering each repetition (``extra["spark"]``: (norm or None, colour) per repetition)."""
    norms = a.get("grad_norms") or ()
    coloured = scale.stat != "mean"  # norms are magnitudes: a signed map would mislead
    spark = []
    for v in norms:
        if v is None or not math.isfinite(v):
            spark.append((None, ""))
        elif v == 0:
            spark.append((0.0, scale.zero_paint.fill))
        else:
            spark.append((float(v), scale.color(v) if coloured else SPARK_NEUTRAL))
    lines = [Line(a["label"], 14, True), Line(a.get("body_text", ""), 9)]
    first, last = a.get("grad_first"), a.get("grad_last")
    if first is None:
        lines.append(Line("grad not retained", 9))
    else:
        lines.append(Line(f"grad norm in: {format_number(first)} … {format_number(last)}", 9))
    tip = a.get("tooltip", "") + "\nDouble-click to expand"
    return Look(
        "repeat", REPEAT_PAINT, lines, tooltip=tip, extra={"spark": spark, "start": a.get("start", 0)}
    )


MODULE_PAINT = Paint("#eef2f8", "#000000", "#4a5f86", 1.6, False, None, "")


def module_look(a: dict[str, Any]) -> Look:
    """A collapsed nn.Module call: its name and class, what it does, how much it holds."""
    lines = [Line(a["label"], 12, True), Line(a.get("body_text", ""), 9), Line(a.get("counts", ""), 9)]
    return Look("module", MODULE_PAINT, lines, tooltip=a.get("tooltip", "") + "\nDouble-click to expand")


def _look(a: dict[str, Any], scale: ColorScale, elements: bool = True) -> Look:
    t = a.get("type")
    if t == "tensor":
        return tensor_look(a, scale, elements)
    if t == "repeat":
        return repeat_look(a, scale)
    if t == "module":
        return module_look(a)
    if t == "op":
        return Look("op", NEUTRAL_PAINT, [Line(a["label"], 10)], tooltip=a["name"])
    # Autograd view: a backward node (with its saved tensors as a badge) or AccumulateGrad.
    lines = [Line(a["label"], 11)]
    if a.get("tensor_name"):
        lines.append(Line(f"-> {a['tensor_name']}", 9))
    badge = _badge(a) if t == "backward" else None
    return Look("backward", NEUTRAL_PAINT, lines, None, badge, a.get("name", ""))


def looks(g: nx.DiGraph, scale: ColorScale, elements: bool = True) -> dict[str, Look]:
    return {n: look(a, scale, elements) for n, a in g.nodes(data=True)}


def legend_states(g: nx.DiGraph, elements: bool = True) -> list[str]:
    """The special states worth a legend entry (those present, plus 'no grad' and 'exactly 0' for
    contrast), then the marks present: the outputs' outline, element cells, kept grads."""
    tensors = [a for _, a in g.nodes(data=True) if a.get("grad_stats") is not None]
    present = {a["grad_stats"].state for a in tensors}
    order = [NO_GRAD, PENDING, ZERO, NONFINITE]
    states = [s for s in order if s in present or s in (NO_GRAD, ZERO)]
    if any(a.get("is_output") and a["grad_stats"].state != NO_GRAD for a in tensors):
        states.append(OUTPUT_MARK)
    if elements and any(a["grad_stats"].elements and a["grad_stats"].state != PENDING for a in tensors):
        states.append(CELLS_MARK)
    if any(a.get("kept_by_gradviz") and a["grad_stats"].state != PENDING for a in tensors):
        states.append(KEPT_MARK)
    return states
