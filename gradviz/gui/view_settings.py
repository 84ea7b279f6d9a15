"""The window's view settings: the colour statistic, map and scale, the scale options (automatic
log, lock, grads as PyTorch would keep them), the view mode and layout direction. They are
kept in three places, all through here: the menus' check marks and the canvas (``apply_*``,
saying nothing), the preferences (``load``/``save_preferences``), and a document's own view
(``apply_document_view``/``store_view``). The ``set_*`` methods are the person's choices."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray

from ..graph.colors import STATS
from ..graph.colouring import range_text
from ..graph.model import AUTOGRAD, TENSORS
from .actions import COLORMAPS, DIRECTION_CHOICES
from .theme import theme

if TYPE_CHECKING:
    from .main_window import MainWindow


class ViewSettings:
    """The view settings of one window."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window

    def load_preferences(self) -> None:
        w = self.window
        s = w.settings
        geo = s.value("window/geometry")
        if isinstance(geo, QByteArray) and not geo.isEmpty():
            w.restoreGeometry(geo)
        else:
            w.resize(1360, 860)
        state = s.value("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            w.restoreState(state)
        stat = str(s.value("colors/statistic", "norm"))
        cmap = s.value("colors/colormap", "") or None
        log = str(s.value("colors/log_scale", "false")).lower() == "true"
        self.apply_colors(stat if stat in STATS else "norm", cmap, log)
        self.apply_scale_options(
            auto=str(s.value("colors/auto_scale", "true")).lower() == "true",
            lock=str(s.value("colors/lock_scale", "false")).lower() == "true",
            pytorch=str(s.value("view/pytorch_grads", "false")).lower() == "true",
        )
        mode = str(s.value("view/mode", TENSORS))
        self.apply_view(mode if mode in (TENSORS, AUTOGRAD) else TENSORS)
        direction = str(s.value("view/direction", "TB"))
        self.apply_direction(direction if f"direction_{direction}" in w.actions else "TB")
        for key in ("show_legend", "show_minimap"):
            on = str(s.value(f"view/{key}", "true")).lower() == "true"
            w.actions[key].setChecked(on)
        w.canvas.set_legend_visible(w.actions["show_legend"].isChecked())
        w.canvas.set_minimap_visible(w.actions["show_minimap"].isChecked())
        on = str(s.value("view/presentation", "false")).lower() == "true"
        theme().set(str(s.value("view/theme", "system")), on)
        w.theme_changed()

    def save_preferences(self) -> None:
        w = self.window
        if not w.persist:
            return
        s = w.settings
        s.setValue("window/geometry", w.saveGeometry())
        s.setValue("window/state", w.saveState())
        s.setValue("colors/statistic", w.canvas.stat)
        s.setValue("colors/colormap", w.canvas.cmap or "")
        s.setValue("colors/log_scale", "true" if w.canvas.log_scale else "false")
        for key, on in (
            ("colors/auto_scale", w.canvas.auto_scale),
            ("colors/lock_scale", w.canvas.lock_scale),
            ("view/pytorch_grads", w.canvas.pytorch_grads),
        ):
            s.setValue(key, "true" if on else "false")
        s.setValue("view/mode", w.canvas.view_mode)
        s.setValue("view/direction", w.canvas.direction)
        s.setValue("view/show_legend", "true" if w.actions["show_legend"].isChecked() else "false")
        s.setValue("view/show_minimap", "true" if w.actions["show_minimap"].isChecked() else "false")
        s.setValue("view/theme", theme().scheme)
        s.setValue("view/presentation", "true" if theme().presentation else "false")
        s.sync()

    def apply_document_view(self) -> None:
        w = self.window
        view = w.session.view or {}
        if view.get("statistic") in STATS or "log_scale" in view or "colormap" in view:
            self.apply_colors(
                view.get("statistic", w.canvas.stat) if view.get("statistic") in STATS else w.canvas.stat,
                view.get("colormap", w.canvas.cmap),
                bool(view.get("log_scale", w.canvas.log_scale)),
            )
        self.apply_document_scale(view)
        if view.get("mode") in (TENSORS, AUTOGRAD):
            self.apply_view(view["mode"])
        sel = [n for n in view.get("selection", []) if n in w.session]
        w.select(sel[-1] if sel else "")

    def store_view(self) -> None:
        w = self.window
        if w.session is None:
            return
        view = dict(w.session.view or {})
        view.update(mode=w.canvas.view_mode, statistic=w.canvas.stat, log_scale=w.canvas.log_scale)
        if w.canvas.cmap:
            view["colormap"] = w.canvas.cmap
        else:
            view.pop("colormap", None)
        view.update(self.scale_view())
        if not w.canvas.locked_range:
            view.pop("locked_range", None)
        if w.current and w.current in w.session and not w.current.startswith("_"):
            view["selection"] = [w.current]
        else:
            view.pop("selection", None)
        w.session.view = view

    def apply_view(self, mode: str) -> None:
        w = self.window
        w.actions["view_tensors" if mode == TENSORS else "view_autograd"].setChecked(True)
        w.canvas.set_view(mode)

    def set_view(self, mode: str) -> None:
        w = self.window
        self.apply_view(mode)
        w.say("Autograd view: PyTorch's backward graph" if mode == AUTOGRAD else "Tensors view")
        self.save_preferences()

    def apply_colors(self, stat: str, cmap: str | None, log: bool) -> None:
        w = self.window
        w.actions[f"stat_{stat}"].setChecked(True)
        for i, (_, name) in enumerate(COLORMAPS):
            if name == cmap:
                w.actions[f"cmap_{i}"].setChecked(True)
                break
        else:
            w.actions["cmap_0"].setChecked(cmap is None)
        w.actions["log_scale"].setChecked(log)
        w.canvas.set_colors(stat, cmap, log)

    def apply_scale_options(
        self, *, auto: bool | None = None, lock: bool | None = None, pytorch: bool | None = None
    ) -> None:
        w = self.window
        for key, on in (("auto_scale", auto), ("lock_scale", lock), ("pytorch_grads", pytorch)):
            if on is not None:
                w.actions[key].setChecked(on)
        if pytorch is not None:
            w.panel.set_pytorch_grads(pytorch)
        w.canvas.set_scale_options(auto=auto, lock=lock, pytorch=pytorch)

    def set_scale_options(
        self, *, auto: bool | None = None, lock: bool | None = None, pytorch: bool | None = None
    ) -> None:
        """Automatic log scale, Lock Scale, Show Grads as PyTorch Would (None: leave as is)."""
        w = self.window
        self.apply_scale_options(auto=auto, lock=lock, pytorch=pytorch)
        if lock is not None:
            sc = w.canvas.color_scale
            at = f" at {range_text(sc)}" if lock and sc is not None and sc.fitted else ""
            w.say(f"Scale locked{at}" if lock else "Scale unlocked: it fits the gradients again")
        elif pytorch is not None:
            w.say(
                "Grads as PyTorch would keep them: non-leaf tensors show None"
                if pytorch
                else "Showing every grad gradviz keeps (non-leaf ones are marked 'kept by gradviz')"
            )
        self.save_preferences()

    def scale_view(self) -> dict[str, Any]:
        w = self.window
        c = w.canvas
        view: dict[str, Any] = {"auto_scale": c.auto_scale, "lock_scale": c.lock_scale}
        view["pytorch_grads"] = c.pytorch_grads
        if c.lock_scale and c.locked_range:
            view["locked_range"] = list(c.locked_range)
        return view

    def apply_document_scale(self, view: dict[str, Any]) -> None:
        w = self.window
        self.apply_scale_options(
            auto=view.get("auto_scale"),
            lock=view.get("lock_scale"),
            pytorch=view.get("pytorch_grads"),
        )
        if view.get("lock_scale") and view.get("locked_range"):
            kind, vmin, vmax = view["locked_range"]
            w.canvas.locked_range = (kind, float(vmin), float(vmax))
            w.canvas.refresh()

    def apply_direction(self, direction: str) -> None:
        w = self.window
        w.actions[f"direction_{direction}"].setChecked(True)
        w.canvas.set_direction(direction)

    def set_direction(self, direction: str) -> None:
        """Lay the ranks out top to bottom ("TB") or left to right ("LR")."""
        w = self.window
        self.apply_direction(direction)
        label = next(lbl for key, lbl, _ in DIRECTION_CHOICES if key == direction)
        w.say(f"Layout direction: {label.replace('&', '')}")

    def set_colors(
        self, stat: str | None = None, cmap: str | bool | None = False, log_scale: bool | None = None
    ) -> None:
        w = self.window
        self.apply_colors(
            stat or w.canvas.stat,
            w.canvas.cmap if cmap is False else cmap,
            w.canvas.log_scale if log_scale is None else log_scale,
        )
        self.save_preferences()
