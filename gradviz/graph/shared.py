"""Shared inputs drawn as reference badges, as circuit schematics label nets.

A leaf that feeds many ops far apart (the weight of an unrolled loop, used by every one of its
300 steps) would be drawn with one edge per use, each running the whole height of the picture:
hundreds of long parallel lines that say nothing more than "this is w again", and that cost
megabytes of SVG and seconds of layout. Instead such a leaf is drawn once, beside its first
uses, and every farther use gets a small badge "→ w" just above the op, filled like w's node,
with a short edge into the op. In the window a badge is clickable (it selects w) and shows w's
tooltip.

A node is *shared* when it has at least :data:`FANOUT` users whose ranks span at least
:data:`SPAN` ranks. Its users within :data:`NEAR` ranks of its first user keep their edges; the
others are served by badges. A graph with no shared node is laid out and drawn exactly as before.

The badges are nodes of the graph handed to the layout, named by :func:`ref_id`, so every layout
provider places them, a previous layout keeps them in place, and whoever holds a layout can tell a
badged edge ``(u, v)`` by ``ref_id(u, v) in layout.positions``; its route is then
``layout.edges[(ref_id(u, v), v)]``.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import networkx as nx

from .fonts import text_width
from .layered import ranks

FANOUT = 8  # users, at least, for a node to be drawn with badges
SPAN = 6  # ranks between its first and last user, at least
NEAR = 2  # users within this many ranks of the first one keep their real edge
REF_PREFIX = "ref:"
REF_SIZE = 9.0  # font size of a badge's text, points
REF_ARROW = "→ "


def ref_id(leaf: Hashable, user: Hashable) -> str:
    """The badge node standing for ``leaf`` at its use by ``user``."""
    return f"{REF_PREFIX}{leaf}>{user}"


def is_ref(node: Hashable) -> bool:
    return isinstance(node, str) and node.startswith(REF_PREFIX)


def ref_label(g: nx.DiGraph, n: Hashable) -> str:
    """What a badge for ``n`` says after its arrow: the tensor's name, else its label."""
    a = g.nodes[n]
    name = (a.get("tensor_name") or a.get("name")) if a.get("type") == "tensor" else a.get("tensor_name")
    if not name and a.get("type") == "accumulate":  # AccumulateGrad: the leaf it fills
        name = next((g.nodes[p].get("name") for p in g.predecessors(n) if g.nodes[p].get("name")), "")
    return str(name or a.get("label") or n)


def ref_target(g: nx.DiGraph, n: Hashable) -> Hashable:
    """The node a badge for ``n`` is coloured like and selects: ``n`` itself, or for an
    AccumulateGrad of the autograd view the leaf tensor it fills."""
    if g.nodes[n].get("type") == "accumulate":
        for p in g.predecessors(n):
            if g.nodes[p].get("type") == "tensor":
                return p
    return n


def ref_size(label: str) -> tuple[float, float]:
    """Width and height of a badge saying ``→ label``."""
    return text_width(REF_ARROW + label, REF_SIZE) + 10.0, REF_SIZE * 1.9


def _ranks(g: nx.DiGraph) -> dict[Hashable, int] | None:
    """The built-in layout's ranks (None for a graph with a cycle: no badges then). Those, not
    the longest path from the sources, tell how far apart uses end up: ``x * noise`` consumed
    by step 200 of a chain is drawn at step 200, though x and noise are sources."""
    if not nx.is_directed_acyclic_graph(g):
        return None
    return ranks(g)


def shared_uses(
    g: nx.DiGraph, fanout: int = FANOUT, span: int = SPAN, near: int = NEAR
) -> dict[Hashable, list[Hashable]]:
    """Each shared node of ``g`` and the users that get a badge, in rank order."""
    heavy = [v for v in g if g.out_degree(v) >= fanout]
    if not heavy:
        return {}
    rank = _ranks(g)
    if rank is None:
        return {}
    out: dict[Hashable, list[Hashable]] = {}
    for v in heavy:
        users = sorted((w for w in g.succ[v] if w != v), key=lambda w: rank[w])
        if len(users) < fanout or rank[users[-1]] - rank[users[0]] < span:
            continue
        first = rank[users[0]]
        far = [w for w in users if rank[w] > first + near]
        if far:
            out[v] = far
    return out


def with_refs(
    sized: nx.DiGraph, labels: dict[Hashable, str], uses: dict[Hashable, list[Hashable]]
) -> tuple[nx.DiGraph, dict[tuple[Hashable, Hashable], str]]:
    """A copy of the layout graph ``sized`` in which each badged edge ``(leaf, user)`` becomes a
    badge node and an edge from it to the user; and the badge of each such edge."""
    if not uses:
        return sized, {}
    out = sized.copy()
    refs: dict[tuple[Hashable, Hashable], str] = {}
    for leaf, users in uses.items():
        w, h = ref_size(labels[leaf])
        for user in users:
            data: dict[str, Any] = dict(out.edges[leaf, user])
            out.remove_edge(leaf, user)
            b = ref_id(leaf, user)
            out.add_node(b, width=w, height=h, type="ref", label=labels[leaf], ref_of=leaf)
            out.add_edge(b, user, **data)
            refs[(leaf, user)] = b
    return out, refs
