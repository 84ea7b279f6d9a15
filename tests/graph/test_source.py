"""graph/source.py, the canvas's graph source, runs headless: no Qt, and it builds a session's graph."""

from __future__ import annotations

import ast
from pathlib import Path

import gradviz as torch
from gradviz.graph import source
from gradviz.graph.model import TENSORS
from gradviz.graph.source import SessionSource, TensorsSource

QT = {"PySide6", "shiboken6", "PyQt5", "PyQt6", "PySide2"}


def test_the_graph_source_imports_no_qt() -> None:
    tree = ast.parse(Path(source.__file__).read_text())
    mods = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    mods += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not [m for m in mods if m.split(".")[0] in QT]


def test_tensors_source_builds_names_for_the_tensors_it_was_given() -> None:
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (w * 3).sum()
    g, names = TensorsSource(y, {"w": w, "y": y}).snapshot()(TENSORS)
    assert sorted(names.values()) == ["w", "y"]
    assert all(nid in g for nid in names)


def test_session_source_keeps_node_ids_across_a_replay() -> None:
    from gradviz.session.document import Session

    s = Session()
    s.add_leaf("w", [1.0, 2.0], requires_grad=True)
    s.apply("mul", ["w", "w"], name="y")
    src = SessionSource(s)
    _, before = src.snapshot()(TENSORS)
    assert sorted(before.values()) == ["w", "y"]
    s.set_leaf_value("w", [3.0, 4.0])  # replays the log into new tensor objects
    _, after = src.snapshot()(TENSORS)
    assert after == before
