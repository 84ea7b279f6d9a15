"""Python's operators in the console: on tensors they are catalogue ops (``+`` is ``add``, ``t[i]``
is ``index``); on plain values they are Python's own, bounded by ``console.limits``."""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .binding import make_op
from .limits import check_int_op, check_items, check_numpy_result, check_string, numpy_shape
from .values import ConsoleError, PendingOp, TensorValue, contains_tensor, is_num, plain, type_name

if TYPE_CHECKING:
    from .evaluate import Run

BINOPS: dict[type, tuple[str, str | None, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", "add", operator.add),
    ast.Sub: ("-", "sub", operator.sub),
    ast.Mult: ("*", "mul", operator.mul),
    ast.Div: ("/", "div", operator.truediv),
    ast.Pow: ("**", "pow", operator.pow),
    ast.MatMult: ("@", "matmul", operator.matmul),
    ast.FloorDiv: ("//", "floor_divide", operator.floordiv),
    ast.Mod: ("%", "remainder", operator.mod),
}
_CMPOPS: dict[type, tuple[str, str | None, Callable[[Any, Any], Any]]] = {
    ast.Gt: (">", "gt", operator.gt),
    ast.Lt: ("<", "lt", operator.lt),
    ast.GtE: (">=", "ge", operator.ge),
    ast.LtE: ("<=", "le", operator.le),
    ast.Eq: ("==", "eq", operator.eq),
    ast.NotEq: ("!=", "ne", operator.ne),
}


def binop(run: Run, op: ast.operator, a: Any, b: Any) -> Any:
    sym, opname, fn = BINOPS.get(type(op), (type(op).__name__, None, None))
    if isinstance(a, TensorValue) or isinstance(b, TensorValue):
        if opname is None:
            raise ConsoleError(f"the {sym} operator on tensors is not available in the console")
        for v in (a, b):
            if not (isinstance(v, TensorValue) or is_num(v)):
                raise TypeError(
                    f"unsupported operand type(s) for {sym}: '{type_name(a)}' and '{type_name(b)}'"
                )
        return make_op(run, run.console.ops[opname], [a, b], {}, opname)
    if fn is None:
        raise ConsoleError(f"the {sym} operator is not allowed in the console")
    if isinstance(a, (np.ndarray, np.generic)) or isinstance(b, (np.ndarray, np.generic)):
        return _numpy_binop(run, sym, fn, a, b)
    if is_num(a) and is_num(b):
        if isinstance(a, int) and isinstance(b, int):
            check_int_op(sym, a, b)  # 10**10**10 would take hours and all memory
        if sym == "@":
            raise TypeError(f"unsupported operand type(s) for @: '{type_name(a)}' and '{type_name(b)}'")
        return fn(a, b)
    if sym == "+" and (
        (isinstance(a, str) and isinstance(b, str))
        or (isinstance(a, list) and isinstance(b, list))
        or (isinstance(a, tuple) and isinstance(b, tuple))
    ):
        if isinstance(a, str):
            check_string(len(a) + len(b), "joining these strings with +")
            return a + b
        items = run.measure.of(a).items + run.measure.of(b).items
        check_items(items, f"joining these {type_name(a)}s with +", run.session)
        return a + b
    raise TypeError(f"unsupported operand type(s) for {sym}: '{type_name(a)}' and '{type_name(b)}'")


def _numpy_binop(run: Run, sym: str, fn: Callable[[Any, Any], Any], a: Any, b: Any) -> Any:
    """numpy's own operator, its result's size bounded first (it broadcasts)."""
    for v in (a, b):
        if not (isinstance(v, (np.ndarray, np.generic)) or is_num(v)):
            raise TypeError(f"unsupported operand type(s) for {sym}: '{type_name(a)}' and '{type_name(b)}'")
    sa, sb = numpy_shape(a), numpy_shape(b)
    if sym == "@":
        if not sa or not sb:
            raise ValueError("matmul: Input operand does not have enough dimensions")
        shape = (*np.broadcast_shapes(sa[:-2], sb[:-2]), *sa[-2:-1], *(sb[-1:] if len(sb) > 1 else ()))
    else:
        shape = np.broadcast_shapes(sa, sb)
    check_numpy_result(run.session, shape, 8, f"this {sym} of numpy arrays")
    return fn(a, b)


def unaryop(run: Run, op: ast.unaryop, v: Any) -> Any:
    if isinstance(op, ast.Not):
        return not run.truth(v)
    if isinstance(v, TensorValue):
        if isinstance(op, ast.UAdd):
            return v
        return make_op(run, run.console.ops["neg"], [v], {}, "neg")
    if isinstance(v, (np.ndarray, np.generic)):
        return -v if isinstance(op, ast.USub) else +v
    if not is_num(v):
        raise TypeError(
            f"bad operand type for unary {'-' if isinstance(op, ast.USub) else '+'}: '{type_name(v)}'"
        )
    return -v if isinstance(op, ast.USub) else +v


def compare(run: Run, op: ast.cmpop, a: Any, b: Any) -> Any:
    if isinstance(op, (ast.Is, ast.IsNot)):
        same = (
            plain(a, run) is plain(b, run)
            if not (isinstance(a, TensorValue) and isinstance(b, TensorValue))
            else (a.tensor(run) is b.tensor(run))
        )
        return same if isinstance(op, ast.Is) else not same
    sym, opname, fn = _CMPOPS[type(op)]
    if isinstance(a, TensorValue) or isinstance(b, TensorValue):
        if sym in ("==", "!=") and (a is None or b is None):
            return sym == "!="
        for v in (a, b):
            if not (isinstance(v, TensorValue) or is_num(v)):
                raise TypeError(
                    f"'{sym}' not supported between instances of '{type_name(a)}' and '{type_name(b)}'"
                )
        return make_op(run, run.console.ops[opname], [a, b], {}, opname)
    if contains_tensor(a) or contains_tensor(b):
        raise ConsoleError("comparing lists or tuples that hold tensors is not supported in the console")
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        # numpy broadcasts: a (n, 1) array against an (n,) one makes n*n results
        shape = np.broadcast_shapes(numpy_shape(a), numpy_shape(b))
        check_numpy_result(run.session, shape, 1, f"this {sym} of numpy arrays")
    return fn(a, b)


def index(run: Run, tv: TensorValue, idx: Any) -> PendingOp:
    """``t[...]`` as the catalogue's ``index`` op: JSON-safe items, tensors as extra operands."""
    items = idx if isinstance(idx, tuple) else (idx,)
    enc: list[Any] = []
    operands: list[Any] = [tv]
    for it in items:
        if isinstance(it, TensorValue):
            operands.append(it)
            enc.append({"operand": len(operands) - 1})
        else:
            enc.append(_index_item(it))
    return make_op(run, run.console.ops["index"], operands, {"index": enc}, "index")


def _index_item(it: Any) -> Any:
    """One item of an index, as the ``index`` op's parameter stores it."""
    if it is None:
        return None
    if it is Ellipsis:
        return "..."
    if isinstance(it, bool):
        raise ConsoleError("indexing with True or False is not supported in the console")
    if isinstance(it, int):
        return it
    if isinstance(it, slice):
        return {"slice": [it.start, it.stop, it.step]}
    if isinstance(it, list):
        if not all(isinstance(x, (int, bool)) for x in it):
            raise ConsoleError("a list index must hold only ints or bools in the console")
        if it and any(isinstance(x, bool) for x in it) and not all(isinstance(x, bool) for x in it):
            raise IndexError("a list index can't mix bools and ints")
        return {"list": list(it)}
    raise IndexError(
        "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid "
        f"indices (got {type_name(it)})"
    )
