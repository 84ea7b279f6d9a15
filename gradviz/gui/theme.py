"""The app's look: a colour scheme (System, Light or Dark) and presentation mode.

One :class:`Theme` per application owns the palette and the fonts. Widgets follow it through
Qt's own mechanisms: the application palette (every widget restyles itself on a palette
change) and the application font (every widget without a font of its own follows it). Widgets
that set a font of their own (monospace text, a bold title) are rescaled by the same factor.

The canvas reads :func:`canvas_look` for what Qt's palette can't say: its background, edge
colours and line widths, which presentation mode makes stronger for a projector.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QWidget

SYSTEM, LIGHT, DARK = "system", "light", "dark"
SCHEMES = (SYSTEM, LIGHT, DARK)
PRESENTATION_SCALE = 1.6  # fonts on a projector, read across a room
_BASE_PT = "_gradviz_base_pt"  # a widget's own font size at scale 1

_R = QPalette.ColorRole
_G = QPalette.ColorGroup

_LIGHT = {
    _R.Window: "#efefef",
    _R.WindowText: "#1a1a1a",
    _R.Base: "#ffffff",
    _R.AlternateBase: "#f4f5f7",
    _R.ToolTipBase: "#ffffdc",
    _R.ToolTipText: "#000000",
    _R.PlaceholderText: "#7a7a7a",
    _R.Text: "#1a1a1a",
    _R.Button: "#efefef",
    _R.ButtonText: "#1a1a1a",
    _R.BrightText: "#ffffff",
    _R.Light: "#ffffff",
    _R.Midlight: "#d6d6d6",
    _R.Mid: "#b8b8b8",
    _R.Dark: "#9f9f9f",
    _R.Shadow: "#767676",
    _R.Highlight: "#2a7de1",
    _R.HighlightedText: "#ffffff",
    _R.Link: "#0b57d0",
    _R.LinkVisited: "#7a36c9",
}
_DARK = {
    _R.Window: "#2b2d31",
    _R.WindowText: "#e8e8e8",
    _R.Base: "#1e1f22",
    _R.AlternateBase: "#26282c",
    _R.ToolTipBase: "#3a3d42",
    _R.ToolTipText: "#e8e8e8",
    _R.PlaceholderText: "#8a8d93",
    _R.Text: "#e8e8e8",
    _R.Button: "#35373c",
    _R.ButtonText: "#e8e8e8",
    _R.BrightText: "#ff6b6b",
    _R.Light: "#4a4d53",
    _R.Midlight: "#3f4247",
    _R.Mid: "#5c5f66",
    _R.Dark: "#18191b",
    _R.Shadow: "#000000",
    _R.Highlight: "#2a7de1",
    _R.HighlightedText: "#ffffff",
    _R.Link: "#8ab4f8",
    _R.LinkVisited: "#c58af9",
}
_DISABLED = {LIGHT: "#9a9a9a", DARK: "#7a7d83"}  # disabled text: quiet, still readable


def palette(scheme: str) -> QPalette:
    """gradviz's own light or dark palette, every role set (so nothing of the OS shows through)."""
    colors = _DARK if scheme == DARK else _LIGHT
    pal = QPalette()
    for role, color in colors.items():
        pal.setColor(role, QColor(color))
    for role in (_R.WindowText, _R.Text, _R.ButtonText):
        pal.setColor(_G.Disabled, role, QColor(_DISABLED[DARK if scheme == DARK else LIGHT]))
    pal.setColor(_G.Disabled, _R.Highlight, QColor(colors[_R.Mid]))
    return pal


def is_dark(pal: QPalette) -> bool:
    return pal.color(_R.Window).lightness() < 128


@dataclass(frozen=True)
class CanvasLook:
    """What the graph canvas paints with, beyond the palette."""

    background: str
    grid: str | None  # the dot grid; None: none (a pure background)
    edge_recolor: dict[str, str] | None  # edges and their labels are drawn for a white page
    outline_recolor: dict[str, str] | None  # node outlines
    line_scale: float  # edges and node outlines
    legend_scale: float  # the legend over the canvas (less than the fonts: it must leave room)
    fit_scale: float  # how far beyond the usual fitting may enlarge a small graph


def canvas_look(dark: bool, presentation: bool) -> CanvasLook:
    if presentation:  # high contrast for a projector: pure background, black or white lines
        ink = "#ffffff" if dark else "#000000"
        edges = {c: ink for c in ("#4d4d4d", "#8a8a8a", "#333333", "#000000")}
        borders = (
            {"#000000": "#ffffff", "#8a8a8a": "#c8c8c8", "#404040": "#e0e0e0"}
            if dark
            else {"#8a8a8a": "#444444", "#404040": "#000000"}
        )
        bg = "#000000" if dark else "#ffffff"
        return CanvasLook(bg, None, edges, borders, 1.8, 1.3, PRESENTATION_SCALE)
    if dark:
        edges = {"#4d4d4d": "#b9bcc2", "#8a8a8a": "#8d9096", "#333333": "#d6d8dc", "#000000": "#e8e8e8"}
        borders = {"#000000": "#d6d8dc"}  # an output's heavy outline must show on the dark page
        return CanvasLook("#1e1f22", "#2c2e33", edges, borders, 1.0, 1.0, 1.0)
    return CanvasLook("#ffffff", "#e6e7ea", None, None, 1.0, 1.0, 1.0)


class Theme(QObject):
    """The application's colour scheme and presentation mode, applied live."""

    changed = Signal()

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self.app = app
        self.scheme = SYSTEM
        self.presentation = False
        self._native_style = app.style().name()
        self._base_font = QFont(app.font())
        self._os_scheme = QGuiApplication.styleHints().colorScheme()
        self._applied = False
        self._last_scale = 1.0
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._os_scheme_changed)

    @property
    def font_scale(self) -> float:
        return PRESENTATION_SCALE if self.presentation else 1.0

    @property
    def dark(self) -> bool:
        return is_dark(self.app.palette())

    def set(self, scheme: str | None = None, presentation: bool | None = None) -> None:
        """Choose the scheme and/or presentation mode; what is unchanged is left alone."""
        scheme = self.scheme if scheme is None else scheme
        if scheme not in SCHEMES:
            scheme = SYSTEM
        presentation = self.presentation if presentation is None else presentation
        scheme_changed = scheme != self.scheme
        scale_changed = presentation != self.presentation
        self.scheme, self.presentation = scheme, presentation
        first = not self._applied
        self._applied = True
        if scheme_changed or first:
            self._apply_scheme()
        if scale_changed:
            self._apply_fonts()
        if scheme_changed or scale_changed or first:
            self.changed.emit()

    # --- colours ------------------------------------------------------------------------------------
    def _apply_scheme(self) -> None:
        hints = QGuiApplication.styleHints()
        if self.scheme == SYSTEM:
            hints.unsetColorScheme()
            if self.app.style().name().lower() != self._native_style.lower():
                self.app.setStyle(self._native_style)
            self.app.setPalette(QPalette())  # the platform's own palette
            wanted = self._os_scheme
            if wanted != Qt.ColorScheme.Unknown and is_dark(self.app.palette()) != (
                wanted == Qt.ColorScheme.Dark
            ):  # the style doesn't follow the OS: ours does
                self.app.setPalette(palette(DARK if wanted == Qt.ColorScheme.Dark else LIGHT))
            return
        # Native styles (Windows, macOS) ignore much of a palette; Fusion paints with all of it.
        if self.app.style().name().lower() != "fusion":
            self.app.setStyle("Fusion")
        hints.setColorScheme(Qt.ColorScheme.Dark if self.scheme == DARK else Qt.ColorScheme.Light)
        self.app.setPalette(palette(self.scheme))

    def _os_scheme_changed(self, scheme: Qt.ColorScheme) -> None:
        self._os_scheme = scheme
        if self.scheme == SYSTEM:
            self._apply_scheme()
            self.changed.emit()

    # --- fonts --------------------------------------------------------------------------------------
    def _apply_fonts(self) -> None:
        scale = self.font_scale
        # Sizes of widgets with fonts of their own, read before the application font changes.
        own: list[tuple[QWidget, float]] = []
        for w in QApplication.allWidgets():
            if not w.testAttribute(Qt.WidgetAttribute.WA_SetFont):
                continue
            base = w.property(_BASE_PT)
            if base is None:
                pt = w.font().pointSizeF()
                if pt <= 0:
                    continue  # a pixel size: drawn at a fixed size on purpose
                base = pt / self._last_scale
                w.setProperty(_BASE_PT, base)
            own.append((w, float(base)))
        f = QFont(self._base_font)
        f.setPointSizeF(self._base_font.pointSizeF() * scale)
        self.app.setFont(f)
        for w, base in own:
            wf = w.font()
            wf.setPointSizeF(base * scale)
            w.setFont(wf)
        self._last_scale = scale
        _repolish_style_sheet_widgets()


def _depth(w: QWidget) -> int:
    n = 0
    while (w := w.parentWidget()) is not None:
        n += 1
    return n


def _repolish_style_sheet_widgets() -> None:
    """Widgets under a style sheet keep the font they were polished with when the application
    font changes (and so may the children a sheet set fonts on): polish them again, parents
    first, so each takes its font from its parent's new one."""
    styled = [
        w for w in QApplication.allWidgets() if w.style().metaObject().className() == "QStyleSheetStyle"
    ]
    for w in sorted(styled, key=_depth):
        w.style().unpolish(w)
        w.style().polish(w)


_current: Theme | None = None


def theme() -> Theme:
    """The running application's theme (made on first use)."""
    global _current
    app = QApplication.instance()
    if _current is None or _current.app is not app:
        _current = Theme(app)
    return _current


def font_scale() -> float:
    """How much larger than usual text is drawn now (presentation mode)."""
    if _current is None or _current.app is not QApplication.instance():
        return 1.0
    return _current.font_scale
