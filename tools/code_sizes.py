"""Print the largest modules, classes and functions under gradviz/, and where an op is named.

``python tools/code_sizes.py [--op exp] [--top 8]``: sizes are lines of source (the span of
the definition, docstrings and comments included), the same measure the refactoring notes use.
"""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "gradviz"


def definitions(path: Path) -> list[tuple[str, str, int]]:
    """(kind, qualified name, lines) of every class and function in one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: list[tuple[str, str, int]] = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                kind = "class" if isinstance(child, ast.ClassDef) else "function"
                name = f"{prefix}{child.name}"
                out.append((kind, name, child.end_lineno - child.lineno + 1))
                walk(child, name + ".")

    walk(tree, f"{path.relative_to(ROOT.parent).with_suffix('')}:".replace("/", "."))
    return out


def op_places(op: str) -> list[tuple[str, int]]:
    """Files and line counts that name the op."""
    cap = op[:1].upper() + op[1:]
    o, c = re.escape(op), re.escape(cap)
    # Its class or backward node, its name as a string, its definition or a call of it as a
    # function or method (not Python's builtin of the same name, as in sum(...)).
    pattern = re.compile(rf"\b{c}(Backward\d)?\b|[\"']{o}[\"']|\bdef {o}\b|\.{o}\b|\b{o} = ")
    hits = []
    for path in sorted(ROOT.rglob("*.py")):
        n = sum(1 for line in path.read_text(encoding="utf-8").splitlines() if pattern.search(line))
        if n:
            hits.append((str(path.relative_to(ROOT.parent)), n))
    return hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=8)
    parser.add_argument("--op", action="append", default=[])
    args = parser.parse_args()
    modules = sorted(
        (
            (len(p.read_text(encoding="utf-8").splitlines()), str(p.relative_to(ROOT.parent)))
            for p in ROOT.rglob("*.py")
        ),
        reverse=True,
    )
    defs = [d for p in ROOT.rglob("*.py") for d in definitions(p)]
    print("largest modules:")
    for n, name in modules[: args.top]:
        print(f"  {n:5d}  {name}")
    for kind in ("class", "function"):
        print(f"largest {kind}es:" if kind == "class" else "largest functions:")
        for _, name, n in sorted((d for d in defs if d[0] == kind), key=lambda d: -d[2])[: args.top]:
            print(f"  {n:5d}  {name}")
    for op in args.op or ["exp", "mul", "sum"]:
        hits = op_places(op)
        print(f"places naming {op!r}: {len(hits)} files, {sum(n for _, n in hits)} lines")
        for name, n in hits:
            print(f"  {n:4d}  {name}")


if __name__ == "__main__":
    main()
