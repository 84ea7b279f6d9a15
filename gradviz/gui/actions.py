"""The main window's actions as data: one row each (id, text, shortcut, tip, glyph, handler,
checkable), as napari declares its actions, and the one function that turns the table into
``QAction`` objects. Menus and the toolbar pick actions from it by id.

A handler is the name of a window method, or ``canvas.<method>`` for the canvas's; ``args``
are passed to it, and a toggle's checked state too when ``toggle`` names the keyword for it
("" passes it positionally).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QColor, QFont, QIcon, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import QWidget

from ..graph.colors import STATS
from ..graph.model import AUTOGRAD, TENSORS

Std = QKeySequence.StandardKey

COLORMAPS = (
    ("Automatic (viridis; vik for the signed mean)", None),
    ("viridis", "viridis"),
    ("cividis", "cividis"),
    ("magma", "magma"),
    ("inferno", "inferno"),
    ("plasma", "plasma"),
    ("batlow", "crameri:batlow"),
    ("vik (diverging)", "crameri:vik"),
    ("roma (diverging)", "crameri:roma"),
    ("berlin (diverging)", "crameri:berlin"),
    ("RdBu (diverging)", "colorbrewer:RdBu"),
)
THEME_CHOICES = (
    ("system", "&System", "Follow the system's light or dark appearance"),
    ("light", "&Light", "Dark text on a light background"),
    ("dark", "&Dark", "Light text on a dark background"),
)
DIRECTION_CHOICES = (
    ("TB", "&Top to Bottom", "Inputs at the top, the output at the bottom, as torchviz draws"),
    ("LR", "&Left to Right", "Inputs at the left, the output at the right: long chains on wide screens"),
)


@dataclass(frozen=True)
class ActionSpec:
    key: str  # the id: window.actions[key]
    text: str  # menu text, with its & mnemonic
    handler: str  # a window method's name, or "canvas.<method>"
    shortcut: Any = None  # a key ("Ctrl+E"), a QKeySequence.StandardKey, or a list of them
    tip: str = ""  # status tip and tooltip ('' : the text)
    glyph: str = ""  # a character drawn as the icon
    checkable: bool = False
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()
    toggle: str | None = None  # pass the checked state as this keyword ('' : positionally)
    group: str = ""  # exclusive with the other actions of this group
    checked: bool = False  # at start
    icon_text: str = ""  # the shorter text a tool button shows
    tooltip: str = ""  # a tooltip of its own (the status tip stays the text)
    data: Any = None


def action_table() -> list[ActionSpec]:
    """Every action of the main window, in the order the shortcuts list shows them."""
    A = ActionSpec  # noqa: N806 - short, so the table reads as rows
    return [
        A("new", "&New", "new_session", Std.New, "Start an empty session"),
        A("open", "&Open…", "open_dialog", Std.Open, "Open a saved session (.gradviz)"),
        A("open_script", "Open PyTorch &Script…", "scripts.open_dialog", None,
          "Run a Python script that uses PyTorch (as code, on this machine) and view the graph it leaves"),
        A("save", "&Save", "save", Std.Save, "Save the session"),
        A("save_as", "Save &As…", "save_as", Std.SaveAs, "Save the session under a new name"),
        A("export", "&Export Image…", "export_dialog", "Ctrl+E", "Export the graph as PNG, SVG, PDF, DOT or GraphML", "⤓",
          icon_text="Export"),
        A("export_animation", "Export &Animation…", "export_animation_dialog", None,
          "Write backward step by step as an animated GIF, for slides"),
        A("export_python", "Export as &Python…", "export_python_dialog", None, "Save the console's work as a script that runs with PyTorch"),
        A("copy_code", "Copy &Code", "copy_code", None, "Copy the selected cells' statements as Python"),
        A("quit", "&Quit", "close", Std.Quit, "Quit gradviz"),
        A("new_tensor", "New &Tensor…", "new_tensor", "Ctrl+T", "Create a tensor: a value or a constructor", "+"),
        A("operation", "&Operation…", "commands.new_operation", "Ctrl+K", "Combine tensors with an operation", "ƒ"),
        A("backward", "&Backward", "backward", "Ctrl+B", "Call backward() on the session's output", "∇"),
        A("step_through", "Step &Through Backward", "step_through", "Ctrl+Alt+B",
          "backward() one node at a time: the gradient from above, each local derivative, their product", "⇣",
          icon_text="Step"),
        A("step_forward", "Step Through &Forward", "step_forward", None,
          "The forward pass one op at a time, in the order the ops ran, each value as it is computed"),
        A("train", "T&rain…", "commands.train", "Ctrl+Shift+T",
          "Train the output: choose leaves, an optimiser, a learning rate and steps; the loop runs in the console",
          "↻"),
        A("check_all", "Check All &Gradients", "check_all_gradients", None,
          "Check each leaf's gradient by nudging it: the numeric derivative beside autograd's"),
        A("backward_options", "Backward with &Options…", "commands.backward_with_options", "Ctrl+Shift+B", "backward() with a gradient or retain_graph"),
        A("zero_grads", "&Zero Grads", "commands.zero_grads", "Ctrl+Shift+G", "Set every .grad to None", "∅"),
        A("delete", "&Delete", "commands.delete_selected", [QKeySequence(Std.Delete), "Backspace"], "Delete the selected tensor"),
        A("rename", "&Rename…", "commands.rename_selected", "F2", "Rename the selected tensor"),
        A("undo", "&Undo", "commands.undo", Std.Undo, "Undo the last change", "↶"),
        A("redo", "&Redo", "commands.redo", Std.Redo, "Redo what was undone", "↷"),
        A("find", "&Find…", "focus_find", Std.Find, "Find a tensor by name"),
        A("fit", "&Fit to Window", "canvas.fit", "Ctrl+0", "Show the whole graph", "⤢", icon_text="Fit"),
        A("zoom_in", "Zoom &In", "canvas.zoom_in", Std.ZoomIn, "Zoom in"),
        A("zoom_out", "Zoom &Out", "canvas.zoom_out", Std.ZoomOut, "Zoom out"),
        A("relayout", "&Lay Out Again", "canvas.relayout", "F5", "Lay out and draw the graph again"),
        A("fold_repeats", "Fold &Repeats", "canvas.set_fold_repeats",
          tip="In a graph of more than 150 nodes, draw a loop's repeated steps as one group (× 300) "
              "with a sparkline of their gradients",
          checkable=True, toggle="", checked=True),
        A("collapse_all", "&Collapse All Groups", "canvas.collapse_all", None,
          "Fold every opened loop again"),
        A("view_tensors", "&Tensors View", "set_view", "Ctrl+1", "Every tensor a node, ops between them",
          checkable=True, args=(TENSORS,), group="view", checked=True, icon_text="Tensors"),
        A("view_autograd", "&Autograd View", "set_view", "Ctrl+2", "PyTorch's backward graph: grad_fn nodes and AccumulateGrad",
          checkable=True, args=(AUTOGRAD,), group="view", icon_text="Autograd"),
        *(
            A(f"direction_{key}", label, "view_settings.set_direction", checkable=True, args=(key,), group="direction",
              checked=key == "TB", tooltip=tip)
            for key, label, tip in DIRECTION_CHOICES
        ),
        A("show_legend", "Show &Legend", "canvas.set_legend_visible", checkable=True, toggle="", checked=True),
        A("show_minimap", "Show &Minimap", "canvas.set_minimap_visible", checkable=True, toggle="", checked=True),
        *(
            A(f"stat_{stat}", f"Colour by grad {label}", "set_colors", checkable=True, kwargs=(("stat", stat),), group="stat")
            for stat, label in STATS.items()
        ),
        *(
            A(f"cmap_{i}", label, "set_colors", checkable=True, kwargs=(("cmap", name),), group="cmap", data=name)
            for i, (label, name) in enumerate(COLORMAPS)
        ),
        A("log_scale", "&Logarithmic Scale", "set_colors", checkable=True, toggle="log_scale"),
        A("auto_scale", "&Automatic Log Scale", "view_settings.set_scale_options",
          tip="Turn the scale logarithmic when the gradients span 2 decades (100 times) or more",
          checkable=True, toggle="auto", checked=True),
        A("lock_scale", "Loc&k Scale", "view_settings.set_scale_options",
          tip="Keep the colour scale's range, so colours can be compared across edits and steps",
          checkable=True, toggle="lock"),
        A("pytorch_grads", "Show Grads as &PyTorch Would", "view_settings.set_scale_options",
          tip="Hide the grads gradviz keeps on non-leaf tensors: PyTorch keeps them only after retain_grad()",
          checkable=True, toggle="pytorch"),
        A("tour", "&Tour: y = w*x + b…", "show_tour", Std.HelpContents, "A hands-on tour of the seed notebook's steps"),
        A("shortcuts", "&Keyboard Shortcuts", "show_shortcuts", None, "Every keyboard shortcut"),
        A("about", "&About gradviz", "show_about", None, "Versions of gradviz, Python, Qt and numpy"),
        *(
            A(f"theme_{scheme}", label, "set_theme", tip=tip, checkable=True, args=(scheme,), group="theme")
            for scheme, label, tip in THEME_CHOICES
        ),
        A("presentation", "&Presentation Mode", "set_presentation", "Ctrl+Shift+P",
          "Large text and a high-contrast graph, for a projector", checkable=True, toggle=""),
    ]  # fmt: skip


def make_actions(
    window: QWidget,
    specs: list[ActionSpec],
    icon_color: QColor,
    guard: Callable[[Callable[..., Any], str], Callable[..., Any]],
) -> dict[str, QAction]:
    """The table's actions, added to ``window`` (so their shortcuts work everywhere in it), each
    running through ``guard(handler, what)`` (the window's: errors become messages)."""
    actions: dict[str, QAction] = {}
    groups: dict[str, QActionGroup] = {}
    for spec in specs:
        a = QAction(spec.text, window)
        a.setObjectName(spec.key)
        a.setProperty("base_text", spec.text)
        if spec.shortcut is not None:
            keys = spec.shortcut if isinstance(spec.shortcut, list) else [spec.shortcut]
            a.setShortcuts(key_sequences(keys))
        a.setCheckable(spec.checkable)
        tip = spec.tip or spec.text.replace("&", "").rstrip("…")
        keys_text = a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        a.setToolTip(f"{tip} ({keys_text})" if keys_text else tip)
        a.setStatusTip(tip)
        if spec.tooltip:
            a.setToolTip(spec.tooltip)
        if spec.glyph:
            a.setIcon(glyph_icon(spec.glyph, icon_color))
            a.setProperty("glyph", spec.glyph)
        if spec.icon_text:
            a.setIconText(spec.icon_text)
        if spec.data is not None:
            a.setData(spec.data)
        if spec.group:
            groups.setdefault(spec.group, QActionGroup(window)).addAction(a)
        a.setChecked(spec.checked)
        a.triggered.connect(guard(_slot(window, spec, a), spec.text.replace("&", "").rstrip("…")))
        window.addAction(a)
        actions[spec.key] = a
    return actions


def _slot(window: Any, spec: ActionSpec, action: QAction) -> Callable[[], Any]:
    owner, _, name = spec.handler.rpartition(".")
    fn = getattr(getattr(window, owner) if owner else window, name)
    if spec.toggle is None and not spec.args and not spec.kwargs:
        return fn  # the bound method itself: the guard knows Quit by it
    kwargs = dict(spec.kwargs)

    def run() -> Any:
        if spec.toggle is None:
            return fn(*spec.args, **kwargs)
        if spec.toggle == "":
            return fn(*spec.args, action.isChecked(), **kwargs)
        return fn(*spec.args, **kwargs, **{spec.toggle: action.isChecked()})

    return run


def glyph_icon(glyph: str, color: QColor, bold: bool = True, scale: float = 1.0) -> QIcon:
    """A crisp icon drawn from a character (no image files to ship or theme)."""
    icon = QIcon()
    for size in (16, 24, 32, 48):
        pm = QPixmap(size * 2, size * 2)
        pm.setDevicePixelRatio(2.0)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        f = QFont()
        f.setPixelSize(max(8, round(size * 0.78 * scale)))
        f.setBold(bold)
        p.setFont(f)
        p.setPen(color)
        p.drawText(pm.rect().adjusted(0, 0, -size, -size), Qt.AlignmentFlag.AlignCenter, glyph)
        p.end()
        icon.addPixmap(pm)
    return icon


# Where a platform binds no key to a standard action (Quit on Windows and offscreen, say), or
# binds fewer than people try, these are added.
_FALLBACK_KEYS: dict[QKeySequence.StandardKey, tuple[str, ...]] = {
    Std.Quit: ("Ctrl+Q",),
    Std.Redo: ("Ctrl+Shift+Z", "Ctrl+Y"),
    Std.ZoomIn: ("Ctrl++", "Ctrl+="),
    Std.ZoomOut: ("Ctrl+-",),
}


def key_sequences(keys: list[Any]) -> list[QKeySequence]:
    """Standard keys expanded to the platform's bindings, then fallbacks, each key once: a key
    bound twice to one action is ambiguous to Qt, which then fires neither."""
    out: list[QKeySequence] = []
    for k in keys:
        if isinstance(k, QKeySequence.StandardKey):
            seqs = [*QKeySequence.keyBindings(k), *map(QKeySequence, _FALLBACK_KEYS.get(k, ()))]
        else:
            seqs = [QKeySequence(k)]
        for seq in seqs:
            if not seq.isEmpty() and all(seq != o for o in out):
                out.append(seq)
    return out
