"""One printer for expressions as code (``w * x + b``, ``-(a + b)``, ``relu(h)``), with
Python's precedence, so that the graph's labels, the inspector and the operation dialog write
the same expression the same way. Qt-free.

An expression is a ``(text, precedence)`` pair; a name, a number or a call is an atom.
"""

from __future__ import annotations

from collections.abc import Sequence

Expr = tuple[str, int]

ATOM = 9  # a name, a number, a call: never needs parentheses
NEG = 3  # unary minus binds tighter than * but looser than **
# The ops written with an operator, by their engine names: symbol and precedence.
INFIX: dict[str, tuple[str, int]] = {
    "add": ("+", 1),
    "sub": ("-", 1),
    "mul": ("*", 2),
    "div": ("/", 2),
    "mm": ("@", 2),
    "matmul": ("@", 2),
    "pow": ("**", 3),
}


def atom(text: str) -> Expr:
    return text, ATOM


def infix(op: str, left: Expr, right: Expr) -> Expr:
    """``left sym right`` for an op of :data:`INFIX`."""
    return binary(*INFIX[op], left, right)


def binary(sym: str, prec: int, left: Expr, right: Expr) -> Expr:
    """``left sym right`` with parentheses only where needed: the left operand binds at least as
    tight, the right tighter (or as tight for + and *, which associate)."""
    a = left[0] if left[1] >= prec else f"({left[0]})"
    b = right[0] if right[1] > prec or (right[1] == prec and sym in "+*") else f"({right[0]})"
    return f"{a} {sym} {b}", prec


def negate(arg: Expr) -> Expr:
    return (f"-{arg[0]}" if arg[1] >= NEG else f"-({arg[0]})"), NEG


def call(fn: str, args: Sequence[str]) -> Expr:
    return f"{fn}({', '.join(args)})", ATOM
