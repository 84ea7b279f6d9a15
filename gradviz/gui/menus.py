"""The main window's menus, toolbar and status bar, built from the action table's ids.

The menus are data: each a title and its items, where an item is an action id, ``"-"`` for a
separator, ``(title, items)`` for a submenu, or ``"@name"`` for a part the window fills itself
(recent files, examples, the backward target, the docks). An item or menu marked ``EDIT``
only appears in a window that edits a session (not in a viewer of tensors); one marked
``SNAPSHOT`` only in a viewer of a PyTorch snapshot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QCompleter,
    QLabel,
    QLineEdit,
    QMenu,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QToolBar,
    QToolButton,
    QWidget,
)

from ..graph.colors import STATS
from ..graph.snapshot import NOTE as SNAPSHOT_NOTE
from ..session import examples
from .actions import COLORMAPS, DIRECTION_CHOICES, glyph_icon
from .backward_control import TargetMenu
from .memory_label import MemoryLabel
from .theme import SCHEMES

if TYPE_CHECKING:
    from .main_window import MainWindow

EDIT = "edit:"  # prefix: only in a window that edits a session
SNAPSHOT = "snapshot:"  # prefix: only in a window showing a PyTorch snapshot


def _colour_maps() -> list[Any]:
    items: list[Any] = []
    for i, (label, _) in enumerate(COLORMAPS):
        items.append(f"cmap_{i}")
        if i == 0 or label == "batlow":
            items.append("-")
    return items


def menu_table() -> list[tuple[str, list[Any]]]:
    return [
        ("&File", [
            EDIT + "new", EDIT + "open", "open_script", EDIT + "@recent", EDIT + "@examples", "-",
            EDIT + "save", EDIT + "save_as", SNAPSHOT + "save_as", "-",
            "export", EDIT + "export_animation", EDIT + "export_python", "-", "quit",
        ]),
        (EDIT + "&Edit", ["undo", "redo", "-", "copy_code", "-", "rename", "delete", "-", "find"]),
        (EDIT + "&Tensor", [
            "new_tensor", "operation", "-", "backward", "@backward", "step_through", "step_forward", "backward_options",
            "zero_grads", "-", "train", "check_all",
        ]),
        ("viewer:&Edit", ["find"]),
        ("&View", [
            "view_tensors", "view_autograd", "-", "fit", "zoom_in", "zoom_out", "relayout", "fold_repeats", "collapse_all",
            ("Layout &Direction", [f"direction_{key}" for key, _, _ in DIRECTION_CHOICES]),
            "-", "show_legend", "show_minimap", "pytorch_grads", "-",
            ("T&heme", [f"theme_{s}" for s in SCHEMES]),
            "presentation", "-", "@docks",
        ]),
        ("&Colours", [
            *(f"stat_{stat}" for stat in STATS), "-",
            ("Colour &Map", _colour_maps()),
            "log_scale", "auto_scale", "lock_scale", "-", "pytorch_grads",
        ]),
        ("&Help", [EDIT + "tour", "shortcuts", "about"]),
    ]  # fmt: skip


def _shown(item: str, viewer: bool, snapshot: bool = False) -> tuple[bool, str]:
    if item.startswith(EDIT):
        return not viewer, item[len(EDIT) :]
    if item.startswith(SNAPSHOT):
        return snapshot, item[len(SNAPSHOT) :]
    if item.startswith("viewer:"):
        return viewer, item[len("viewer:") :]
    return True, item


def build_menus(w: MainWindow) -> None:
    """The menu bar; the menus the window refers to later become its attributes (recent_menu,
    examples_menu, backward_menu, theme_menu, colours_menu)."""
    for title, items in menu_table():
        shown, title = _shown(title, w.viewer)
        if shown:
            menu = w.menuBar().addMenu(title)
            if title == "&Colours":
                w.colours_menu = menu
            _fill(w, menu, items)


def _fill(w: MainWindow, menu: QMenu, items: list[Any]) -> None:
    for item in items:
        if isinstance(item, tuple):
            sub = menu.addMenu(item[0])
            if item[0] == "T&heme":
                w.theme_menu = sub
            _fill(w, sub, item[1])
            continue
        shown, item = _shown(item, w.viewer, w.snapshot is not None)
        if not shown:
            continue
        if item == "-":
            menu.addSeparator()
        elif item.startswith("@"):
            _special(w, menu, item[1:])
        else:
            menu.addAction(w.actions[item])


def _special(w: MainWindow, menu: QMenu, name: str) -> None:
    if name == "recent":
        w.recent_menu = menu.addMenu("Open &Recent")
        w.recent_menu.aboutToShow.connect(w.documents.fill_recent)
    elif name == "examples":
        w.examples_menu = menu.addMenu("E&xamples")
        for ex in examples.EXAMPLES:
            a = w.examples_menu.addAction(ex.title)
            a.setObjectName(f"example_{ex.name}")
            a.setStatusTip(ex.description)
            a.setToolTip(ex.description)
            a.triggered.connect(w.guard(lambda _=False, n=ex.name: w.open_example(n), "Open example"))
    elif name == "backward":
        w.backward_menu = TargetMenu(w.backward_from, lambda: w.session, w.update_actions, w)
        menu.addMenu(w.backward_menu)
    elif name == "docks":
        for dock in (w.tensors_dock, w.inspector_dock, w.console_dock, w.training_dock):
            if dock is not None:
                menu.addAction(dock.toggleViewAction())


def build_toolbar(w: MainWindow) -> None:
    tb = QToolBar("Main", w)
    tb.setObjectName("mainToolbar")
    tb.setMovable(False)
    tb.setIconSize(QSize(18, 18))
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    w.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
    w.toolbar = tb
    ac = w.actions
    if not w.viewer:
        tb.addActions([ac["new_tensor"], ac["operation"]])
        w.backward_button = QToolButton(w)
        w.backward_button.setObjectName("backwardButton")
        w.backward_button.setDefaultAction(ac["backward"])
        w.backward_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        w.backward_button.setMenu(w.backward_menu)
        w.backward_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        tb.addWidget(w.backward_button)
        tb.addAction(ac["step_through"])
        tb.addAction(ac["zero_grads"])
        tb.addAction(ac["train"])
        tb.addSeparator()
        for k in ("undo", "redo"):
            tb.addAction(ac[k])
            tb.widgetForAction(ac[k]).setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        tb.addSeparator()
    for k in ("view_tensors", "view_autograd"):
        b = QToolButton(w)
        b.setDefaultAction(ac[k])
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        b.setObjectName(f"{k}_button")
        b.setCheckable(True)
        tb.addWidget(b)
    tb.addSeparator()
    tb.addAction(ac["fit"])
    tb.addAction(ac["export"])
    # (its glyph only, so that Train fits beside the tensor actions; the tip names it)
    tb.widgetForAction(ac["export"]).setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
    colours = QToolButton(w)
    colours.setObjectName("coloursButton")
    colours.setText("Colours ▾")
    colours.setStyleSheet("QToolButton#coloursButton::menu-indicator { image: none; width: 0px; }")
    colours.setToolTip("Gradient statistic, colour map and scale")
    colours.setMenu(w.colours_menu)
    colours.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    colours.setIcon(glyph_icon("◐", w.icon_color()))
    colours.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    tb.addWidget(colours)
    spacer = QWidget()
    spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    tb.addWidget(spacer)
    w.find_box = QLineEdit(w)
    w.find_box.setObjectName("findBox")
    w.find_box.setPlaceholderText("Find a tensor (Ctrl+F)")
    w.find_box.setClearButtonEnabled(True)
    w.find_box.setFixedWidth(180)
    w.find_box.returnPressed.connect(w.find_entered)
    w.find_box.textEdited.connect(lambda _: w.mark_find(True))
    w.completer = QCompleter([], w)
    w.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    w.completer.setFilterMode(Qt.MatchFlag.MatchContains)
    w.completer.activated.connect(lambda text: w.find(text))
    w.find_box.setCompleter(w.completer)
    tb.addWidget(w.find_box)


def build_statusbar(w: MainWindow) -> None:
    sb = w.statusBar()
    w.status_action = QLabel("Ready")
    w.status_action.setObjectName("statusAction")
    w.status_action.setTextFormat(Qt.TextFormat.PlainText)  # messages quote names, files
    w.status_action.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    sb.addWidget(w.status_action, 1)
    w.progress = QProgressBar(w)
    w.progress.setRange(0, 0)
    w.progress.setFixedWidth(110)
    w.progress.setTextVisible(False)
    w.progress.hide()
    w.progress_cancel = QPushButton("Cancel", w)
    w.progress_cancel.setFlat(True)
    w.progress_cancel.hide()
    w.progress_cancel.clicked.connect(w.cancel_work)
    sb.addPermanentWidget(w.progress)
    sb.addPermanentWidget(w.progress_cancel)
    w.status_nodes = QLabel("0 nodes")
    w.status_nodes.setObjectName("statusNodes")
    w.status_layout = QLabel("")
    w.status_layout.setObjectName("statusLayout")
    w.status_layout.setToolTip("Which layout engine placed the nodes")
    sb.addPermanentWidget(w.status_nodes)
    sb.addPermanentWidget(w.status_layout)
    if w.snapshot is not None:  # what this window is, for as long as it shows it
        w.status_snapshot = QLabel(SNAPSHOT_NOTE)
        w.status_snapshot.setObjectName("statusSnapshot")
        w.status_snapshot.setToolTip(
            "A PyTorch script's graph as it was when the script ended: its values and gradients "
            "can be looked at, but nothing can be run again or edited"
        )
        sb.addPermanentWidget(w.status_snapshot)
    w.status_memory = MemoryLabel(w.session, w) if w.session is not None else None
    if w.status_memory is not None:
        sb.addPermanentWidget(w.status_memory)
