"""Which colour scale a picture uses: fitted, chosen automatically, or locked by the person.

Both views of a session use one scale, fitted on every tensor of the session (the Tensors view's
graph: the Autograd view draws only leaves and outputs), so a tensor has one colour whatever the
view. A locked scale keeps its range across edits and steps, so colours can be compared.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from .colors import ColorScale, format_number
from .style import as_pytorch, fit_values, grad_values


@dataclass(frozen=True)
class ScaleSettings:
    stat: str = "norm"
    cmap: object = None
    scale: str = "auto"  # "auto", "linear" or "log"
    locked: tuple[str, float, float] | None = None  # (linear or log, vmin, vmax) kept by Lock Scale
    pytorch: bool = False  # Show as PyTorch would: no grads gradviz kept on non-leaf tensors


def range_text(cs: ColorScale) -> str:
    return f"{format_number(cs.vmin)} to {format_number(cs.vmax)}" + (" (log)" if cs.scale == "log" else "")


def scale_for(g: nx.DiGraph, settings: ScaleSettings) -> ColorScale:
    """The scale for the gradients drawn in ``g`` (a Tensors-view graph, for the same colours in
    both views), fitted or locked. Locked: values beyond the range are clamped, and it says so."""
    if settings.pytorch:
        as_pytorch(g)
    values = grad_values(g, settings.stat)
    if settings.locked is None:
        cs = fit_values(values, settings.stat, settings.cmap, settings.scale)
    else:
        kind, vmin, vmax = settings.locked
        cs = ColorScale(settings.stat, settings.cmap, kind, vmin, vmax)
        cs.notes.append(f"scale locked at {range_text(cs)}")
        low = cs.vmin if kind == "log" else 0.0  # a log bar starts above zero; zero has its colour
        outside = sum(1 for v in values if v and not low * (1 - 1e-9) <= abs(v) <= cs.vmax * (1 + 1e-9))
        if outside:
            cs.notes.append(f"{outside} value{'s' if outside != 1 else ''} beyond it: drawn at the end")
    cs.fitted = len(values)
    return cs


def same_range(a: ColorScale, b: ColorScale) -> bool:
    """Do two scales give a value the same colour position?"""
    return (a.stat, a.scale) == (b.stat, b.scale) and (
        format_number(a.vmin),
        format_number(a.vmax),
    ) == (format_number(b.vmin), format_number(b.vmax))
