"""The layer contract of DESIGN.md: engine -> graph -> session -> gui, imports pointing down only."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "gradviz"
STDLIB = set(sys.stdlib_module_names)
QT = {"PySide6", "shiboken6", "PyQt5", "PyQt6", "PySide2"}


def _imports(path: Path) -> list[tuple[str, int]]:
    """Top-level package names imported by a file (absolute imports only), with line numbers."""
    tree = ast.parse(path.read_text(), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name.split(".")[0], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.module.split(".")[0], node.lineno))
    return out


def _relative_targets(path: Path) -> list[tuple[str, int]]:
    """Subpackages of gradviz reached by relative imports, e.g. 'graph' for `from ..graph import x`."""
    rel = path.relative_to(PKG).parts
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(rel[:-1])[: max(0, len(rel) - node.level)]
            parts = base + (node.module.split(".") if node.module else [])
            if parts:
                out.append((parts[0], node.lineno))
            else:
                out += [(alias.name, node.lineno) for alias in node.names]
    return out


def _absolute_gradviz_targets(path: Path) -> list[tuple[str, int]]:
    """Subpackages reached by absolute imports such as `from gradviz.gui import x`."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        out += [(n.split(".")[1], node.lineno) for n in names if n.startswith("gradviz.")]
    return out


def _files(sub: str) -> list[Path]:
    return sorted((PKG / sub).rglob("*.py")) if sub else sorted(PKG.glob("*.py"))


def test_engine_imports_only_numpy_and_stdlib() -> None:
    bad = [
        f"{p.relative_to(PKG)}:{line} imports {mod}"
        for p in _files("engine")
        for mod, line in _imports(p)
        if mod not in STDLIB and mod not in {"numpy", "gradviz"}
    ]
    bad += [
        f"{p.relative_to(PKG)}:{line} reaches gradviz.{mod}"
        for p in _files("engine")
        for mod, line in _relative_targets(p) + _absolute_gradviz_targets(p)
        if mod in {"graph", "session", "gui"}
    ]
    assert not bad, bad


def test_only_gui_imports_qt() -> None:
    bad = [
        f"{p.relative_to(PKG.parent)}:{line} imports {mod}"
        for p in PKG.rglob("*.py")
        if "gui" not in p.relative_to(PKG).parts
        for mod, line in _imports(p)
        if mod in QT
    ]
    assert not bad, bad


def test_lower_layers_never_import_upper_ones() -> None:
    order = ["engine", "graph", "session", "gui"]
    bad = []
    for level, layer in enumerate(order):
        if not (PKG / layer).exists():
            continue
        above = set(order[level + 1 :])
        for p in _files(layer):
            targets = _relative_targets(p) + _absolute_gradviz_targets(p)
            for mod, line in targets:
                if mod in above:
                    bad.append(f"{p.relative_to(PKG)}:{line} reaches gradviz.{mod}")
    assert not bad, bad


def test_the_contract_check_catches_a_violation(tmp_path: Path) -> None:
    """The scanner itself must see a Qt import, or the tests above prove nothing."""
    f = tmp_path / "x.py"
    f.write_text("import numpy\nfrom PySide6.QtWidgets import QWidget\nfrom gradviz.gui import app\n")
    assert ("PySide6", 2) in _imports(f)
    assert ("gui", 3) in _absolute_gradviz_targets(f)
