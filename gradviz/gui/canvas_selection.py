"""The canvas's selection: which node is selected (by the person, or by name from a panel),
finding a tensor by name, and the paths lit from a selected leaf to the output it feeds (the
rest dimmed). A mixin of :class:`~gradviz.gui.canvas.GraphCanvas`, which owns the items and
the graph model it reads.
"""

from __future__ import annotations

import networkx as nx

from .canvas_items import NodeItem


class CanvasSelection:
    """Selection, find and highlighted paths for a :class:`GraphCanvas` (mixed into it)."""

    graph: nx.DiGraph
    names: dict[str, str]
    _nodes: dict[str, NodeItem]
    _selected: str | None
    _selected_name: str
    _target_output: str | None
    _dimmed = False  # whether the items were last left dimmed around a highlighted path

    def node_id(self, name: str) -> str | None:
        """The node that stands for the tensor ``name`` in the current view."""
        best = None
        folded = self.graph.graph.get("folded_into", {})
        for nid, n in self.names.items():
            if n != name:
                continue
            if nid not in self.graph:  # folded into a group: the group stands for it
                best = best or folded.get(nid)
                continue
            kind = self.graph.nodes[nid].get("type")
            if kind == "tensor":
                return nid
            if best is None or kind == "backward":
                best = nid
        return best

    def item_for(self, name: str) -> NodeItem | None:
        nid = self.node_id(name)
        return self._nodes.get(nid) if nid else None

    @property
    def selected_node(self) -> str | None:
        return self._selected

    @property
    def selected_name(self) -> str:
        return self.names.get(self._selected, "") if self._selected else ""

    def select(self, name: str | None, *, center: bool = False) -> None:
        """Select the node of tensor ``name`` (from a panel: no echo of selection_changed)."""
        nid = self.node_id(name) if name else None
        if nid is not None and nid not in self._nodes:
            nid = None  # not drawn yet (just made): the next picture selects it by name
        self._set_selected(nid, emit=False, remember=False)
        self._selected_name = name or ""
        if center and nid in self._nodes:
            self.ensureVisible(self._nodes[nid].sceneBoundingRect(), 60, 60)

    def select_node(self, nid: str | None) -> None:
        self._set_selected(nid if nid in self._nodes else None, emit=True)

    def clear_selection(self) -> None:
        self._set_selected(None, emit=True)

    def highlighted(self) -> tuple[set[str], set[tuple[str, str]]]:
        """The nodes and edges on the highlighted paths (empty unless a leaf is selected)."""
        nodes = (
            {n for n, it in self._nodes.items() if not it.dimmed}
            if any(it.dimmed for it in self._nodes.values())
            else set()
        )
        edges = {k for k, it in self._edges.items() if it.highlighted}
        return nodes, edges

    def find(self, text: str) -> bool:
        """Select and show the tensor whose name matches ``text`` best; False if none does."""
        text = text.strip()
        if not text:
            return False
        labels: list[tuple[str, str]] = []
        for nid, a in self.graph.nodes(data=True):
            label = self.names.get(nid) or a.get("name") or a.get("expr") or a.get("label") or ""
            if label and not label.startswith("_"):
                labels.append((label, nid))
        low = text.lower()
        for test in (
            lambda s: s == text,
            lambda s: s.lower() == low,
            lambda s: s.lower().startswith(low),
            lambda s: low in s.lower(),
        ):
            hits = [nid for label, nid in labels if test(label)]
            if hits:
                nid = sorted(hits, key=lambda n: self.graph.nodes[n].get("type") != "tensor")[0]
                self._set_selected(nid, emit=True)
                self.centerOn(self._nodes[nid])
                return True
        self.message.emit(f"No tensor called '{text}' in the graph")
        return False

    def _set_selected(self, nid: str | None, *, emit: bool, remember: bool = True) -> None:
        if self._selected and self._selected in self._nodes:
            self._nodes[self._selected].set_selected(False)
        for it in self._refs.values():  # a node's reference badges are selected with it
            it.set_selected(nid is not None and it.nid == nid)
        self._selected = nid
        if nid is not None:
            self._nodes[nid].set_selected(True)
            a = self.graph.nodes[nid]
            if a.get("is_output") or a.get("kind") == "output":
                self._target_output = nid
        if remember:
            self._selected_name = self.names.get(nid, "") if nid else ""
        if nid is None or self.graph.nodes[nid].get("type") not in ("op", "backward", "accumulate"):
            self.explanation.hide()
        self._update_highlight()
        if emit:
            self.selection_changed.emit(self.names.get(nid, "") if nid else "")
            self.node_selected.emit(nid or "")

    def _update_highlight(self) -> None:
        g = self.graph
        nid = self._selected
        on_nodes: set[str] = set()
        on_edges: set[tuple[str, str]] = set()
        if nid is not None and nid in g:
            a = g.nodes[nid]
            is_leaf = (a.get("type") == "tensor" and a.get("kind") in ("leaf", "constant")) or a.get(
                "type"
            ) == "accumulate"
            if is_leaf:
                if self._target_output in g and self._target_output != nid:
                    targets = [self._target_output]
                else:
                    targets = [t for t in g.graph.get("outputs", []) if t in g and t != nid]
                down = nx.descendants(g, nid)
                for t in targets:
                    if t in down:
                        on_nodes |= (down & nx.ancestors(g, t)) | {nid, t}
                on_edges = {(u, v) for u, v in g.edges if u in on_nodes and v in on_nodes}
        dim = bool(on_nodes)
        if not dim and not self._dimmed:
            return  # nothing lit or dimmed before or now (every item starts so): nothing to touch
        self._dimmed = dim
        for n, it in self._nodes.items():
            it.set_dimmed(dim and n not in on_nodes)
        for k, it in self._edges.items():
            it.set_highlighted(k in on_edges, dim and k not in on_edges)
        for it in self._refs.values():
            it.set_dimmed(dim and it.nid not in on_nodes)
