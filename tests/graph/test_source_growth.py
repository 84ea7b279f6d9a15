"""A session's graph grown by the entries just added (SessionSource keeps the last one) is the
graph a full build makes: the same node ids, attributes, edges and outputs, after every edit of
a sequence that mixes growth with undo, redo, rename, delete, backward and name reuse."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gradviz.graph import model, source
from gradviz.graph.model import AUTOGRAD, TENSORS
from gradviz.graph.source import SessionSource
from gradviz.session.console import Console
from gradviz.session.document import Session


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and np.array_equal(a, b)
    if type(a).__module__.startswith("gradviz.engine"):  # a tensor: the very same object
        return a is b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return bool(a == b)


def assert_same_graph(grown, full) -> None:
    assert sorted(grown.nodes) == sorted(full.nodes)
    assert sorted(grown.edges) == sorted(full.edges)
    for n, a in full.nodes(data=True):
        b = grown.nodes[n]
        assert sorted(a) == sorted(b), n
        for k in a:
            assert _same(b[k], a[k]), (n, k, b[k], a[k])
    for u, v, a in full.edges(data=True):
        assert grown.edges[u, v] == a, (u, v)
    assert grown.graph == full.graph


class Spy:
    """Counts the builds that grew a kept graph."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.grown = 0
        real = model.build_graph

        def build_graph(*args: Any, **kw: Any):
            self.grown += kw.get("grow") is not None
            return real(*args, **kw)

        monkeypatch.setattr(source, "build_graph", build_graph)


def check(src: SessionSource, s: Session) -> tuple[Any, dict[str, str]]:
    """The growing source's graph and names, checked against a source that builds afresh."""
    g, names = src.snapshot()(TENSORS)
    full, full_names = SessionSource(s).snapshot()(TENSORS)
    assert_same_graph(g, full)
    assert names == full_names
    return g, names


def test_a_grown_graph_is_the_full_graph_through_a_sequence_of_edits(monkeypatch) -> None:
    spy = Spy(monkeypatch)
    s = Session()
    s.add_leaf("x", [1.0, 2.0], requires_grad=True)
    s.add_leaf("w", [0.5, -1.0], requires_grad=True)
    console = Console(s)
    src = SessionSource(s)
    check(src, s)
    steps = [
        lambda: s.apply("mul", ["x", "w"], name="h"),  # x and w stop being outputs
        lambda: s.add_leaf("b", [1.0, 1.0], requires_grad=True),
        lambda: s.apply("add", ["h", "b"], name="y"),
        lambda: s.apply("tanh", [s.apply("mul", ["y", "w"], hidden=True)], name="z"),  # through a hidden one
        lambda: s.apply("linear", ["z", "w2", "b"], name="lin"),  # one call drawn as one op
        lambda: s.apply("detach", ["z"], name="zd"),  # a dashed link to the tensor it shares with
        lambda: s.apply("add", ["zd", 2.0], name="c"),  # a wrapped number
        lambda: s.apply("sum", ["z"], name="loss"),
        lambda: s.backward("loss"),  # every gradient changes: built afresh
        lambda: s.apply("mul", ["loss", 3.0], name="more"),  # grows after a backward
        lambda: s.undo(),  # a replay: new tensor objects
        lambda: s.apply("mul", ["loss", 4.0], name="more"),
        lambda: s.rename("more", "renamed"),
        lambda: s.apply("add", ["renamed", 1.0], name="after"),
        lambda: s.delete("after"),
        lambda: s.apply("mul", ["renamed", "renamed"], name="sq"),
        lambda: console.run("sq = sq * 2"),  # the name moves to the new tensor, the old is hidden
        lambda: console.run("sq2 = sq + x"),
        lambda: s.undo(),
        lambda: s.redo(),
        lambda: s.apply("relu", ["sq"], name="r"),
    ]
    s.add_leaf("w2", np.ones((2, 2), np.float32), requires_grad=True)
    check(src, s)
    for step in steps:
        step()
        _, names = check(src, s)
    assert "r" in names.values() and "loss" in names.values()
    # Most steps only added ops: those grew the kept graph rather than built it again.
    assert spy.grown >= 10


def test_an_output_that_an_op_now_reads_is_an_output_no_more(monkeypatch) -> None:
    spy = Spy(monkeypatch)
    s = Session()
    s.add_leaf("x", [1.0, 2.0], requires_grad=True)
    y = s.apply("mul", ["x", 2.0], name="y")
    src = SessionSource(s)
    g, names = src.snapshot()(TENSORS)
    nid = next(n for n, name in names.items() if name == y)
    assert g.nodes[nid]["kind"] == "output" and nid in g.graph["outputs"]
    s.apply("add", [y, 1.0], name="z")
    g, names = check(src, s)
    assert spy.grown == 1
    assert g.nodes[nid]["kind"] == "intermediate" and nid not in g.graph["outputs"]


def test_the_graph_handed_out_is_a_copy_the_canvas_may_change(monkeypatch) -> None:
    spy = Spy(monkeypatch)
    s = Session()
    s.add_leaf("x", [1.0, 2.0], requires_grad=True)
    s.apply("mul", ["x", 2.0], name="y")
    src = SessionSource(s)
    g, _ = src.snapshot()(TENSORS)
    for _, a in g.nodes(data=True):
        a["label"] = "scribbled on"  # as the colouring's as_pytorch() changes what it is given
    s.apply("add", ["y", 1.0], name="z")
    check(src, s)
    assert spy.grown == 1


def test_the_autograd_view_is_built_whole_and_agrees(monkeypatch) -> None:
    spy = Spy(monkeypatch)
    s = Session()
    s.add_leaf("x", [1.0, 2.0], requires_grad=True)
    s.apply("mul", ["x", 2.0], name="y")
    src = SessionSource(s)
    src.snapshot()(AUTOGRAD)
    s.apply("add", ["y", 1.0], name="z")
    g, _ = src.snapshot()(AUTOGRAD)
    full, _ = SessionSource(s).snapshot()(AUTOGRAD)
    assert_same_graph(g, full)
    assert spy.grown == 0
