"""DESIGN.md: the GUI uses the engine's public API only. An AST scan of gradviz/gui for any
private attribute (``x._name``) read on something other than the GUI's own ``self``: engine
objects are never ``self`` there, so any such read is a reach into another layer's insides."""

from __future__ import annotations

import ast
from pathlib import Path

GUI = Path(__file__).resolve().parents[2] / "gradviz" / "gui"

# Private attributes the GUI puts on its own Qt objects (not engine objects): keep it short.
ALLOWED = {"_gradviz_invalid"}  # dialogs/_common.py marks a widget whose text doesn't parse


def _private_reads(path: Path, root: Path = GUI.parent) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.Attribute):
            continue
        name = node.attr
        if not name.startswith("_") or name.startswith("__") or name in ALLOWED:
            continue
        if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
            continue
        out.append(f"{path.relative_to(root)}:{node.lineno} {ast.unparse(node)}")
    return out


def _private_engine_imports(path: Path) -> list[str]:
    return [
        f"{path.relative_to(GUI.parent)}:{node.lineno} imports {alias.name}"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.module and "engine" in node.module
        for alias in node.names
        if alias.name.startswith("_")
    ]


def test_the_gui_reads_no_private_attribute_of_engine_objects() -> None:
    files = sorted(GUI.rglob("*.py"))
    bad = [line for p in files for line in _private_reads(p) + _private_engine_imports(p)]
    assert not bad, bad


def test_the_scan_sees_a_private_read(tmp_path: Path) -> None:
    """The scanner itself must flag ``t._grad._data`` and spare ``self._x``."""
    probe = tmp_path / "probe.py"
    probe.write_text("def f(self, t):\n    self._x = 1\n    return t._grad._data\n")
    assert _private_reads(probe, tmp_path) == ["probe.py:3 t._grad._data", "probe.py:3 t._grad"]
