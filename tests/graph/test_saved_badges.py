"""Saved tensors stay badged on their backward node after backward() frees them, even when the
graph is first drawn afterwards (the usual order for a learner)."""

from __future__ import annotations

import gradviz
from gradviz.graph.model import build_graph


def test_badges_survive_backward_when_drawn_only_afterwards() -> None:
    x = gradviz.ones(2, 3, requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    g = build_graph(y, view="autograd")
    ops = {a["name"]: a for _, a in g.nodes(data=True) if a.get("type") == "backward"}
    assert ops["MulBackward0"]["saved"] == [(2, 3), (2, 3)]
    assert ops["MulBackward0"]["saved_freed"] is True
    assert ops["ExpBackward0"]["saved"] == [(2, 3)]
    assert ops["SumBackward0"]["saved"] == []
