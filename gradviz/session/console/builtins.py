"""The few Python builtins the console offers (``print``, ``len``, ``float`` ...), bounded by
``console.limits``. Each takes the run it is called in, the evaluated arguments and the call node."""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gradviz.engine import Tensor

from .binding import make_op
from .data import DatasetValue, LoaderValue
from .limits import check_shown, check_string, round_int
from .values import ConsoleError, Lazy, ObjectValue, TensorValue, is_num, plain, type_name

if TYPE_CHECKING:
    from .evaluate import Run

Builtin = Callable[["Run", list[Any], dict[str, Any], ast.Call], Any]


class TypeName:
    """What ``type(x)`` shows: ``<class '...'>``, and nothing else."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _one(name: str, args: list[Any], kwargs: dict[str, Any], at_most: int = 1) -> list[Any]:
    if kwargs:
        raise TypeError(f"{name}() takes no keyword arguments")
    if not 1 <= len(args) <= at_most:
        raise TypeError(
            f"{name}() takes {'exactly one argument' if at_most == 1 else f'1 to {at_most} arguments'} ({len(args)} given)"
        )
    return args


def builtin_print(run: Run, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> None:
    sep = kwargs.pop("sep", " ")
    end = kwargs.pop("end", "\n")
    kwargs.pop("flush", None)
    if kwargs:
        raise ConsoleError(f"print(): '{next(iter(kwargs))}=' is not available in the console")
    for what, v in (("sep", sep), ("end", end)):
        if v is not None and not isinstance(v, str):
            raise TypeError(f"{what} must be None or a string, not {type_name(v)}")
    sep = " " if sep is None else sep
    end = "\n" if end is None else end
    values = [plain(a, run) for a in args]
    bound = sum(run.measure.of(v).chars for v in values) + len(sep) * max(0, len(values) - 1) + len(end)
    check_string(run.out_chars + bound, "the output of this input")
    text = sep.join(str(v) for v in values) + end
    run.check_output(len(text))
    run.out.append(text)


def builtin_abs(run: Run, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> Any:
    (v,) = _one("abs", args, kwargs)
    if isinstance(v, TensorValue):
        return make_op(run, run.console.ops["abs"], [v], {}, "abs")
    if not is_num(v):
        raise TypeError(f"bad operand type for abs(): '{type_name(v)}'")
    return abs(v)


def builtin_len(run: Run, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> int:
    (v,) = _one("len", args, kwargs)
    if isinstance(v, TensorValue):
        return len(v.tensor(run))
    if isinstance(v, (list, tuple, str, range, DatasetValue, LoaderValue)):
        return len(v)
    if isinstance(v, ObjectValue):
        return v.length()
    raise TypeError(f"object of type '{type_name(v)}' has no len()")


def _convert(run: Run, kind: type, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if not args and not kwargs:
        return kind()
    (v,) = _one(kind.__name__, args, kwargs)
    v = plain(v, run)
    if isinstance(v, Tensor) or is_num(v) or (isinstance(v, str) and kind is not bool and len(v) < 10_000):
        return kind(v)
    if kind is bool:
        return bool(v)
    raise TypeError(f"{kind.__name__}() argument must be a string or a real number, not '{type_name(v)}'")


def builtin_float(run: Run, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> float:
    return _convert(run, float, args, kwargs)


def builtin_int(run: Run, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> int:
    return _convert(run, int, args, kwargs)


def builtin_bool(run: Run, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> bool:
    return _convert(run, bool, args, kwargs)


def builtin_round(run: Run, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> Any:
    args = _one("round", args, kwargs, 2)
    if not is_num(args[0]) or (len(args) == 2 and not isinstance(args[1], int)):
        raise TypeError(f"type {type_name(args[0])} doesn't define __round__ method in the console")
    if len(args) == 2 and isinstance(args[0], int) and not isinstance(args[1], bool):
        return round_int(*args)  # round(1, -10**9) would build 10**(10**9) first
    return round(*args)


def _minmax(fn: Callable[..., Any], name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if kwargs:
        raise TypeError(f"{name}() takes no keyword arguments in the console")
    values = list(args[0]) if len(args) == 1 and isinstance(args[0], (list, tuple)) else args
    if not values or not all(is_num(v) for v in values):
        raise TypeError(f"{name}() works on numbers in the console; for tensors use x.{name}()")
    return fn(values)


def builtin_min(run: Run, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> Any:
    return _minmax(min, "min", args, kwargs)


def builtin_max(run: Run, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> Any:
    return _minmax(max, "max", args, kwargs)


def builtin_list(run: Run, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> list[Any]:
    if not args and not kwargs:
        return []
    (v,) = _one("list", args, kwargs)
    return run.sequence(list(run.items(v)), "list(...)")


def builtin_tuple(run: Run, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> tuple[Any, ...]:
    if not args and not kwargs:
        return ()
    (v,) = _one("tuple", args, kwargs)
    return run.sequence(tuple(run.items(v)), "tuple(...)")


def builtin_str(run: Run, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> str:
    if not args and not kwargs:
        return ""
    (v,) = _one("str", args, kwargs)
    v = plain(v, run)
    check_shown(v, run.measure, "str(...)")
    return str(v)


def builtin_repr(run: Run, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> str:
    (v,) = _one("repr", args, kwargs)
    v = plain(v, run)
    check_shown(v, run.measure, "repr(...)")
    return repr(v)


def builtin_type(run: Run, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> TypeName:
    (v,) = _one("type", args, kwargs)
    if isinstance(v, ObjectValue):
        return TypeName(v.type_text())
    return TypeName(repr(type(plain(v, run))))  # only its name: the class itself stays out of reach


def builtin_range(run: Run, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> range:
    if kwargs:
        raise TypeError("range() takes no keyword arguments")
    values = [plain(a, run) for a in args]
    values = [v.item() if isinstance(v, Tensor) and v.numel() == 1 else v for v in values]
    return range(*values)  # lazy: a for loop's budget bounds what is walked


def builtin_zip(run: Run, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> Lazy:
    if kwargs:
        raise TypeError("zip() takes no keyword arguments in the console")
    return Lazy("zip", list(args))


def builtin_enumerate(run: Run, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> Lazy:
    start = kwargs.pop("start", args[1] if len(args) > 1 else 0)
    if kwargs or not 1 <= len(args) <= 2 or not isinstance(start, int):
        raise TypeError("enumerate() takes an iterable and an optional integer start")
    return Lazy("enumerate", [args[0]], start)


# The Python builtins the console offers, in the order completion lists them.
BUILTINS: dict[str, Builtin] = {
    "print": builtin_print,
    "abs": builtin_abs,
    "len": builtin_len,
    "float": builtin_float,
    "int": builtin_int,
    "bool": builtin_bool,
    "round": builtin_round,
    "min": builtin_min,
    "max": builtin_max,
    "list": builtin_list,
    "tuple": builtin_tuple,
    "str": builtin_str,
    "repr": builtin_repr,
    "type": builtin_type,
    "range": builtin_range,
    "zip": builtin_zip,
    "enumerate": builtin_enumerate,
}
