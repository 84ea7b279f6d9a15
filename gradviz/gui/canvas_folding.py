"""Folded repeats on the canvas: each run of repetitions (an unrolled loop) is one group box
"× 300" until it is opened: double-click a group to show every repetition, or use its context
menu to open one repetition at a time, and a node's context menu to fold its run again.

A mixin of :class:`~gradviz.gui.canvas.GraphCanvas`. What is open is a
:class:`~gradviz.graph.folding.FoldState` per view; the layout job folds the model graph with
it (``canvas_layout``). A layout is kept per fold state, so folding a run again puts every
node back where it was before it was opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QMenu

from ..graph.folding import MODULE, REPEAT, FoldState, ModuleGroup, active_runs
from ..graph.model import AUTOGRAD, TENSORS
from ..graph.repeats import Run

if TYPE_CHECKING:
    from ..graph.layout import Layout

FOLD_LAYOUTS_KEPT = 8  # layouts of earlier fold states, to put nodes back (a big one is large)


class CanvasFolding:
    """Fold and unfold runs of repetitions (mixed into the canvas)."""

    fold_repeats: bool
    fold_states: dict[str, FoldState]
    runs: dict[str, list[Run]]
    _fold_layouts: dict[tuple, Layout]

    def _init_folding(self) -> None:
        self.fold_repeats = True
        self.fold_states = {TENSORS: FoldState(), AUTOGRAD: FoldState()}
        self.runs = {TENSORS: [], AUTOGRAD: []}  # as found in the picture on screen
        self.modules: dict[str, list[ModuleGroup]] = {TENSORS: [], AUTOGRAD: []}
        self._fold_layouts = {}

    @property
    def fold_state(self) -> FoldState:
        return self.fold_states[self.view_mode]

    def fold_options(self) -> FoldState:
        """What the layout job folds with: a copy (the job runs on another thread)."""
        return self.fold_state.copy()

    def set_fold_repeats(self, on: bool) -> None:
        """View ▸ Fold Repeats: draw each run of repetitions as one group, or every node."""
        if on != self.fold_repeats:
            self.fold_repeats = on
            self.refresh()

    def group_nodes(self) -> list[str]:
        """The ids of the groups on screen."""
        return [n for n, a in self.graph.nodes(data=True) if a.get("type") == REPEAT]

    def expand_group(self, nid: str, one: bool = False) -> None:
        """Open group ``nid``: all its repetitions, or (``one``) the first of them."""
        a = self.graph.nodes[nid] if nid in self.graph else None
        if a is None or a.get("type") != REPEAT:
            return
        if one:
            self.fold_state.expand_one(a["run"], a["start"])
            what = f"repetition {a['start'] + 1} of {a['total']}"
        else:
            self.fold_state.expand(a["run"])
            what = f"all {a['total']} repetitions"
        self.message.emit(f"Expanded {what}")
        self.refresh()

    def collapse_run(self, run: str) -> None:
        """Fold run ``run`` again, whole (and the runs inside it)."""
        by_id = {r.id: r for r in self.runs.get(self.view_mode, [])}
        state = self.fold_state
        for r in by_id.values():  # the loops inside it close with it
            p = r.parent
            while p is not None and p[0] != run:
                p = by_id[p[0]].parent if p[0] in by_id else None
            if p is not None:
                state.collapse(r.id)
        state.collapse(run)
        self.message.emit("Collapsed the repetitions")
        self.refresh()

    def collapse_all(self) -> None:
        """View ▸ Collapse All Groups."""
        self.fold_states[self.view_mode] = FoldState()
        self.refresh()

    def open_run_of(self, nid: str) -> Run | None:
        """The innermost open run whose opened repetitions show node ``nid`` (None: none)."""
        state = self.fold_state
        for run in reversed(active_runs(self.runs.get(self.view_mode, []), state)):
            opened = range(run.count) if run.id in state.open else state.open_reps.get(run.id, ())
            if any(nid in run.blocks[i] for i in opened):
                return run
        return None

    def collapse_module(self, gid: str) -> None:
        """Draw the module call ``gid`` (a ModuleGroup's id) as one box."""
        self.fold_state.collapse_module(gid)
        self.refresh()

    def expand_module(self, nid: str) -> None:
        """Open the module box ``nid`` again."""
        a = self.graph.nodes[nid] if nid in self.graph else {}
        if a.get("type") == MODULE:
            self.fold_state.expand_module(a["module"])
            self.message.emit(f"Expanded {a['label']}")
            self.refresh()

    def modules_of(self, nid: str) -> list[ModuleGroup]:
        """The module calls node ``nid`` was made in, innermost first."""
        found = [m for m in self.modules.get(self.view_mode, []) if nid in m.nodes]
        return sorted(found, key=lambda m: -m.depth)

    def group_menu(self, nid: str | None) -> QMenu | None:
        """The context menu of node ``nid``: expand a group, or collapse the run or the module a
        node is in."""
        menu = QMenu(self)
        a = self.graph.nodes[nid] if nid is not None and nid in self.graph else {}
        if a.get("type") == MODULE:
            menu.addAction(f"Expand {a['label']}", lambda: self.expand_module(nid))
        elif nid is not None:
            for m in self.modules_of(nid):
                menu.addAction(f"Collapse {m.label}", lambda gid=m.id: self.collapse_module(gid))
        if a.get("type") == REPEAT:
            menu.addAction(f"Expand All {a['count']} Repetitions", lambda: self.expand_group(nid))
            if a["count"] > 1:
                menu.addAction(
                    f"Expand One Repetition ({a['start'] + 1})", lambda: self.expand_group(nid, True)
                )
            if a["count"] != a["total"]:
                menu.addAction("Collapse", lambda: self.collapse_run(a["run"]))
        elif nid is not None:
            run = self.open_run_of(nid)
            if run is not None:
                menu.addAction(f"Collapse × {run.count}", lambda: self.collapse_run(run.id))
        if any(self.fold_state.key()) and not menu.isEmpty():
            menu.addSeparator()
        if any(self.fold_state.key()):
            menu.addAction("Collapse All Groups", self.collapse_all)
        return menu if menu.actions() else None

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        item = self.node_at(event.pos())
        menu = self.group_menu(item.nid if item is not None else None)
        if menu is None:
            super().contextMenuEvent(event)  # type: ignore[misc]
            return
        menu.exec(event.globalPos())
        event.accept()

    def _fold_previous(self, key: Any) -> Layout | None:
        """The layout to start from for fold state ``key``: the one it had, if it had one."""
        return self._fold_layouts.get((self.view_mode, self.direction, key))

    def _keep_fold_layout(self, view: str, key: Any, lay: Layout | None) -> None:
        if lay is not None and key is not None:
            k = (view, lay.direction, key)
            self._fold_layouts.pop(k, None)
            self._fold_layouts[k] = lay  # the newest last
            while len(self._fold_layouts) > FOLD_LAYOUTS_KEPT:
                del self._fold_layouts[next(iter(self._fold_layouts))]
