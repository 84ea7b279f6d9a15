"""An op of the catalogue as PyTorch code: ``w * x``, ``y.sum(dim=0)``, ``torch.cat([a, b])``.

One writer for what the operation dialog shows on its code line and what generated code
(a training loop's forward pass) runs in the console: how a call is spelt comes from the op's
declaration (its symbol, its declared syntax, its parameters' kinds), never from its name.
Operands are expressions with a precedence (``graph.expression``), so nested ones get
parentheses only where Python needs them. Qt-free.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gradviz.graph.expression import ATOM, INFIX, NEG, Expr, binary, negate

from . import catalogue
from .catalogue import OpSpec
from .param_kinds import KINDS, number_code

# Python's precedence of the operators INFIX leaves out (comparisons bind loosest of all).
_PRECEDENCE = {"%": 2, "//": 2, "==": 0, "!=": 0, "<": 0, "<=": 0, ">": 0, ">=": 0}
POW = INFIX["pow"][1]


def name_expr(text: str) -> Expr:
    """A name, a number as written, or '?' as it stands; anything else bracketed if nested."""
    plain = text == "?" or text.isidentifier() or text.replace(".", "", 1).isdigit()
    return text, ATOM if plain else 0


def number_expr(v: Any) -> Expr:
    """A Python number as an operand: ``2.0``, ``-1.0`` (a negation, for precedence)."""
    text = number_code(v)
    return text, NEG if text.startswith("-") else ATOM


def index_code(items: Sequence[Any], operands: Sequence[str]) -> str:
    """``t[...]``'s stored items (catalogue.decode_index's) as typed: ``0, 1:3, None, ..., m``.
    ``{"operand": k}`` is the op's k-th operand, ``operands[k]``."""

    def bound(x: Any) -> str:
        return "" if x is None else str(x)

    parts = []
    for item in items:
        if item is None:
            parts.append("None")
        elif item == "...":
            parts.append("...")
        elif isinstance(item, dict) and "slice" in item:
            b = list(item["slice"]) + [None] * (3 - len(item["slice"]))
            parts.append(f"{bound(b[0])}:{bound(b[1])}" + (f":{b[2]}" if b[2] is not None else ""))
        elif isinstance(item, dict) and "list" in item:
            parts.append(repr(list(item["list"])))
        elif isinstance(item, dict) and "operand" in item:
            parts.append(operands[item["operand"]])
        else:
            parts.append(str(item))
    return ", ".join(parts)


def op_expr(
    spec: OpSpec,
    operands: Sequence[Expr],
    params: dict[str, Any],
    index_text: str = "",
    *,
    dims: bool = False,
) -> Expr:
    """The PyTorch expression of ``spec`` on ``operands``, with its precedence. An op that
    stands for one of the tensors torch's call returns (a piece of ``chunk``, the values of
    ``sort``) picks it: ``x.chunk(chunks=2)[1]``, ``x.sort(dim=-1).values``. With ``dims``, a
    dimension in ``params`` is written even at its default: torch requires many (unsqueeze,
    transpose) that gradviz gives a default (a log's op holds only the parameters given)."""
    declared = {p.name for p in spec.params}
    piece = params.get("piece") if "piece" in declared else None  # not torch's: which piece
    text, prec = _call(spec, operands, {k: v for k, v in params.items() if k != "piece"}, index_text, dims)
    if piece is not None:
        text, prec = f"{text}[{piece}]", ATOM
    if catalogue.returns_values_and_indices(spec, params):
        text, prec = f"{text}.values", ATOM
    return text, prec


def _call(
    spec: OpSpec, operands: Sequence[Expr], params: dict[str, Any], index_text: str, dims: bool
) -> Expr:
    kw = {k: v for k, v in params.items() if k != "index"}
    shown = {
        k: v
        for k, v in kw.items()
        if k in {p.name for p in spec.params}
        and (spec.param(k).required or v != spec.param(k).default or (dims and spec.param(k).kind == "dim"))
    }
    if spec.name in ("softmax", "log_softmax"):
        shown = {"dim": kw.get("dim", -1)}
    kwargs = ", ".join(f"{k}={KINDS[spec.param(k).kind].format(v, spec.param(k))}" for k, v in shown.items())
    a = operands[0] if operands else ("?", ATOM)
    texts = [x[0] for x in operands]

    def wrap(x: Expr) -> str:  # as the object of a method or attribute: bracketed unless an atom
        return x[0] if x[1] == ATOM else f"({x[0]})"

    if spec.symbol and len(operands) == 1:  # -x
        return negate(a)
    if spec.symbol and len(operands) == 2:
        prec = INFIX.get(spec.name, (spec.symbol, _PRECEDENCE.get(spec.symbol, 1)))[1]
        left, right = operands
        if prec == POW and left[1] <= POW:  # ** binds to its right: (-x) ** 2, (a ** b) ** c
            left = (f"({left[0]})", ATOM)
        if right[1] == prec:  # a + (b + c) is another graph than a + b + c (and rounds otherwise)
            right = (f"({right[0]})", ATOM)
        if prec == 0:  # comparisons chain in Python: (a < b) < c is not a < b < c
            left, right = (x if x[1] > 0 else (f"({x[0]})", ATOM) for x in (left, right))
        return binary(spec.symbol, prec, left, right)
    if "attribute" in spec.syntax:  # x.T
        return f"{wrap(a)}.{spec.name}", ATOM
    if "index" in spec.syntax:  # x[0, 1:]
        return f"{wrap(a)}[{index_text}]", ATOM
    if spec.name in ("reshape", "view") and "shape" in kw:
        return f"{wrap(a)}.{spec.name}({', '.join(map(str, kw['shape']))})", ATOM
    if spec.name == "to":
        return f"{wrap(a)}.to(torch.{kw.get('dtype', 'float32')})", ATOM
    if spec.operand_list:  # torch.cat([a, b])
        return f"torch.{spec.name}([{', '.join(texts)}]" + (f", {kwargs})" if kwargs else ")"), ATOM
    args = ", ".join(texts) + (", " + kwargs if kwargs else "")
    if "function" not in spec.syntax and "F" in spec.syntax:  # torch.nn.functional only
        return f"F.{spec.name}({args})", ATOM
    number_first = bool(operands) and number_expr_like(a)
    if spec.method and not (number_first and "function" in spec.syntax):
        return f"{wrap(a)}.{spec.name}({', '.join([*texts[1:], *([kwargs] if kwargs else [])])})", ATOM
    return f"torch.{spec.name}({args})", ATOM


def number_expr_like(x: Expr) -> bool:
    """Whether an operand is a Python number (``2.exp()`` is no Python; ``torch.exp(2)`` is)."""
    text = x[0].lstrip("-")
    return text.replace(".", "", 1).replace("e-", "", 1).replace("e+", "", 1).isdigit()


def op_code(spec: OpSpec, operands: Sequence[str], params: dict[str, Any], index_text: str = "") -> str:
    """The PyTorch expression for an op on operands written as text (the dialog's code line)."""
    return op_expr(spec, [name_expr(x) for x in operands], params, index_text)[0]


__all__ = ["index_code", "name_expr", "number_expr", "op_code", "op_expr"]
