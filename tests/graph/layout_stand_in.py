"""A trivial layered layout with the contract of ``gradviz.graph.layout.layout``.

Used by the export tests only while the real layout module is absent (it is built alongside);
once ``gradviz.graph.layout`` imports, the tests use the real one.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx


@dataclass
class Layout:
    positions: dict
    edges: dict
    width: float
    height: float
    provider: str = "stand-in"


def layout(g: nx.DiGraph) -> Layout:
    positions = {}
    y = 0.0
    width = 0.0
    for layer in nx.topological_generations(g):
        x = 0.0
        h = max(g.nodes[n]["height"] for n in layer)
        for n in sorted(layer):
            w = g.nodes[n]["width"]
            positions[n] = (x + w / 2, y + h / 2)
            x += w + 20
        width = max(width, x - 20)
        y += h + 30
    edges = {(u, v): [positions[u], positions[v]] for u, v in g.edges}
    return Layout(positions, edges, width, y - 30)
