"""The canvas's colour state: which gradient statistic colours the nodes, through which map,
on which scale (linear, log, automatic), whether that scale is locked to a range, and whether
grads show as PyTorch would keep them. A mixin of :class:`~gradviz.gui.canvas.GraphCanvas`,
which holds the attributes (``stat``, ``cmap``, ``log_scale``, ...) and redraws on ``refresh``.
"""

from __future__ import annotations

from ..graph import colors
from ..graph.colouring import ScaleSettings, range_text, same_range


class CanvasColours:
    """Colour and scale settings for a :class:`GraphCanvas` (mixed into it)."""

    stat: str
    cmap: str | None
    log_scale: bool
    auto_scale: bool
    lock_scale: bool
    pytorch_grads: bool
    locked_range: tuple[str, float, float] | None
    scale_changed_from: str
    color_scale: colors.ColorScale | None

    def set_colors(
        self, stat: str | None = None, cmap: str | bool | None = False, log_scale: bool | None = None
    ) -> None:
        """Change the statistic, colour map (None: the default for the statistic) or log scale."""
        if (stat or self.stat, self.log_scale if log_scale is None else bool(log_scale)) != (
            self.stat,
            self.log_scale,
        ):
            self.locked_range = None  # another statistic or scale: lock what it fits next
        if stat is not None:
            self.stat = stat
        if cmap is not False:
            self.cmap = cmap or None
        if log_scale is not None:
            self.log_scale = bool(log_scale)
        self.refresh()

    @property
    def scale_mode(self) -> str:
        return "log" if self.log_scale else ("auto" if self.auto_scale else "linear")

    def scale_settings(self) -> ScaleSettings:
        locked = self.locked_range if self.lock_scale else None
        return ScaleSettings(self.stat, self.cmap, self.scale_mode, locked, self.pytorch_grads)

    def set_scale_options(
        self, *, auto: bool | None = None, lock: bool | None = None, pytorch: bool | None = None
    ) -> None:
        """Automatic scale, Lock Scale (keep today's range) and Show as PyTorch would."""
        if auto is not None:
            self.auto_scale = bool(auto)
            self.locked_range = None
        if lock is not None:
            self.lock_scale = bool(lock)
            sc = self.color_scale
            self.locked_range = (
                (sc.scale, sc.vmin, sc.vmax) if lock and sc is not None and sc.fitted else None
            )
        if pytorch is not None:
            self.pytorch_grads = bool(pytorch)
        self.refresh()

    def _scale_change(self, new: colors.ColorScale) -> None:
        """Note when the range moved under the person's eyes (same statistic, new values)."""
        old = self.color_scale
        if self.lock_scale and self.locked_range is None and new.fitted:
            self.locked_range = (new.scale, new.vmin, new.vmax)  # locked before any grad: lock now
            new.notes.append(f"scale locked at {range_text(new)}")
        moved = old is not None and old.fitted and new.fitted and old.stat == new.stat
        self.scale_changed_from = range_text(old) if moved and not same_range(old, new) else ""
