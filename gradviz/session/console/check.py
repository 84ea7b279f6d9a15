"""The whitelist: which Python the console speaks, judged over the whole input before anything runs.

Only the node types in ``_ALLOWED_NODES`` pass; every other construct is refused with its name
("for loops are not allowed in the console"). Names and attributes that start with ``_`` are out
of reach, and so are Python's builtins other than the console's own (``builtins.BUILTINS``).
"""

from __future__ import annotations

import ast
import builtins

from .builtins import BUILTINS
from .values import ConsoleError

_ALLOWED_NODES = (
    ast.Module, ast.Expr, ast.Assign, ast.AugAssign, ast.Delete, ast.Pass, ast.Name, ast.Load, ast.Store,
    ast.Del, ast.Constant, ast.List, ast.Tuple, ast.Attribute, ast.Subscript, ast.Slice, ast.Call,
    ast.keyword, ast.Starred, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.JoinedStr,
    ast.FormattedValue, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.MatMult,
    ast.USub, ast.UAdd, ast.Not, ast.And, ast.Or, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
    ast.Is, ast.IsNot, ast.alias,
)  # fmt: skip
_CONSTRUCT_NAMES = {
    "Lambda": "lambda", "ListComp": "comprehensions", "SetComp": "comprehensions", "DictComp": "comprehensions",
    "GeneratorExp": "generator expressions", "FunctionDef": "defining functions (def)",
    "AsyncFunctionDef": "defining functions (async def)", "ClassDef": "defining classes", "For": "for loops",
    "AsyncFor": "for loops", "While": "while loops", "If": "if statements", "With": "with blocks",
    "AsyncWith": "with blocks", "Try": "try blocks", "TryStar": "try blocks", "Raise": "raise",
    "Assert": "assert", "Global": "global", "Nonlocal": "nonlocal", "Return": "return", "Yield": "yield",
    "YieldFrom": "yield", "Await": "await", "NamedExpr": "the := operator", "Dict": "dict literals",
    "Set": "set literals", "Match": "match statements", "AnnAssign": "annotated assignments",
    "BitAnd": "the & operator", "BitOr": "the | operator", "BitXor": "the ^ operator", "Invert": "the ~ operator",
    "LShift": "the << operator", "RShift": "the >> operator", "In": "the 'in' operator",
    "NotIn": "the 'not in' operator", "Break": "break", "Continue": "continue",
}  # fmt: skip
# Imports that bind what is already defined: accepted, and they do nothing.
_PREDEFINED_IMPORTS = {
    ("torch", None), ("gradviz", None), ("gradviz", "torch"), ("torch", "torch"), ("torch.nn", None),
    ("torch.nn.functional", None), ("torch.nn.functional", "F"), ("gradviz.nn.functional", "F"),
    ("torch.nn", "nn"), ("gradviz.nn", "nn"),
}  # fmt: skip
_PREDEFINED_FROM = {("torch.nn", "functional", "F"), ("gradviz.nn", "functional", "F"), ("torch", "nn", None),
                    ("gradviz", "nn", None)}  # fmt: skip
_PLURAL = {"comprehensions", "generator expressions", "for loops", "while loops", "if statements", "with blocks",
           "try blocks", "dict literals", "set literals", "match statements", "annotated assignments"}  # fmt: skip
PY_BUILTINS = frozenset(dir(builtins))


def _harmless_import(node: ast.Import | ast.ImportFrom) -> bool:
    if isinstance(node, ast.Import):
        return all((a.name, a.asname) in _PREDEFINED_IMPORTS for a in node.names)
    return node.level == 0 and all((node.module, a.name, a.asname) in _PREDEFINED_FROM for a in node.names)


def check(tree: ast.AST) -> None:
    """Refuse, before anything runs, every construct the console does not speak."""
    starred_ok = {
        id(a) for n in ast.walk(tree) if isinstance(n, ast.Call) for a in n.args if isinstance(a, ast.Starred)
    }
    for node in ast.walk(tree):  # breadth first: a call is judged before its parts
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if _harmless_import(node):
                continue
            raise ConsoleError(
                "imports are not allowed in the console (torch, gradviz, F and nn are already defined)"
            )
        if not isinstance(node, _ALLOWED_NODES):
            what = _CONSTRUCT_NAMES.get(type(node).__name__, type(node).__name__)
            raise ConsoleError(f"{what} {'are' if what in _PLURAL else 'is'} not allowed in the console")
        _check_node(node, starred_ok)


def _check_node(node: ast.AST, starred_ok: set[int]) -> None:
    """The rules for one allowed node: no private names, calls only to the console's builtins."""
    if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
        raise ConsoleError(f"attribute '{node.attr}' is not accessible in the console")
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        raise ConsoleError(f"name '{node.id}' is not accessible in the console")
    if isinstance(node, ast.Call):
        f = node.func
        if isinstance(f, ast.Name) and f.id in PY_BUILTINS and f.id not in BUILTINS:
            raise ConsoleError(f"calling '{f.id}' is not allowed in the console")
        if any(k.arg is None for k in node.keywords):
            raise ConsoleError("**keyword unpacking is not allowed in the console")
    if isinstance(node, ast.Starred) and id(node) not in starred_ok:
        raise ConsoleError("* unpacking is only allowed in call arguments in the console")
    if isinstance(node, ast.Constant) and not (
        node.value is None or node.value is Ellipsis or isinstance(node.value, (bool, int, float, str))
    ):
        raise ConsoleError(f"{type(node.value).__name__} literals are not supported in the console")
