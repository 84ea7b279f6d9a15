"""One ParamKind per parameter kind: its coerce, validate and format agree, on a table of
examples, with what the console, the file format and the operation dialog did before they
shared it (the old code is kept below, frozen, as the oracle)."""

from __future__ import annotations

import math
from typing import Any

import pytest

import gradviz.engine as E  # noqa: N812
from gradviz.session import catalogue, limits
from gradviz.session.catalogue import Param
from gradviz.session.param_kinds import KINDS, ParamError, kind_of

MAX_ELEMENTS = 1000
DTYPE = Param("dtype", "choice", "float32", catalogue.DTYPE_NAMES)
REDUCTION = Param("reduction", "choice", "mean", ("mean", "sum", "none"))
PARAMS = [
    Param("n", "int"),
    Param("n", "int", None),
    Param("x", "float", 1.0),
    Param("min", "number", None),
    Param("alpha", "number"),
    Param("keepdim", "bool", False),
    Param("dim", "dim", -1),
    Param("dim", "dims", None),
    Param("shape", "shape"),
    Param("index", "index"),
    DTYPE,
    REDUCTION,
    Param("dim", "optional_int", None),
]
VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    -2,
    3,
    2**63 - 1,
    2**63,
    -(2**63) - 1,
    2.5,
    float("nan"),
    float("inf"),
    -float("inf"),
    "mean",
    "sum",
    "float64",
    "bogus",
    "...",
    [],
    [0],
    [0, 1],
    [2, -1],
    [-1, -1],
    [-3],
    [1.5],
    [True],
    [2**64],
    [1000, 1000],
    list(range(40)),
    (0, 1),
    (1.0,),
    [None, "...", 0, {"slice": [0, 2, None]}],
    [{"slice": [0, 2, 0]}],
    [{"slice": []}],
    [{"list": [True, False]}],
    [{"list": [0, 2]}],
    [{"list": [0, "a"]}],
    [{"operand": 1}],
    [{"operand": 5}],
    [{"bogus": 1}],
    {"a": 1},
    E.float64,
    E.int32,
]


# --- the oracles: the code as it was (commit fced62a) -----------------------------------------------
def _tn(v: Any) -> str:
    return "dtype" if isinstance(v, E.dtype) else type(v).__name__


def old_console_param(display: str, p: Param, v: Any) -> Any:
    """session/console.py, Console.param."""

    def fail(expected: str) -> TypeError:
        return TypeError(f"{display}(): argument '{p.name}' must be {expected}, not {_tn(v)}")

    def is_int(x: Any) -> bool:
        return isinstance(x, int) and not isinstance(x, bool)

    if p.kind == "dim":
        if not is_int(v):
            raise fail("int")
        return v
    if p.kind == "optional_int":
        if v is not None and not is_int(v):
            raise fail("int")
        return v
    if p.kind in ("dims", "shape"):
        if v is None and p.kind == "dims":
            return None
        if is_int(v):
            return [v]
        if isinstance(v, (list, tuple)) and all(is_int(x) for x in v):
            return [int(x) for x in v]
        raise fail("tuple of ints")
    if p.kind == "bool":
        if not isinstance(v, bool):
            raise fail("bool")
        return v
    if p.kind in ("number", "float", "int"):
        if v is None and p.default is None:
            return None
        if not isinstance(v, (bool, int, float)) or (p.kind == "int" and not is_int(v)):
            raise fail("Number" if p.kind != "int" else "int")
        return v
    if p.kind == "choice":
        if isinstance(v, E.dtype) and p.name == "dtype":
            return v.name
        if not isinstance(v, str):
            raise fail("str")
        if v not in p.choices:
            raise ValueError(f"{v[:100]} is not a valid value for {p.name}")
        return v
    raise TypeError(f"{display}(): argument '{p.name}' can't be given in the console")


def _type_name(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int):
        return "an integer"
    if isinstance(v, float):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


def _short(v: Any) -> str:
    import json

    try:
        s = json.dumps(v, ensure_ascii=False)
    except (TypeError, ValueError):
        s = repr(v)
    return s if len(s) <= 60 else s[:57] + "..."


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


class RefusedError(Exception):
    pass


def _fail(where: str, message: str) -> RefusedError:
    return RefusedError(f"{where}: {message}")


def _check_int(v: Any, where: str, what: str) -> None:
    if not _is_int(v):
        raise _fail(where, f"{what} must be an integer, found {_type_name(v)} {_short(v)}")
    if not -limits.INT_MAX - 1 <= v <= limits.INT_MAX:
        raise _fail(where, f"{what} {v} does not fit in 64 bits")


def _check_index(items: Any, where: str, n_operands: int) -> None:
    if not isinstance(items, list):
        raise _fail(where, f"parameter 'index' must be a list, found {_type_name(items)}")
    if len(items) > limits.MAX_NDIM:
        raise _fail(where, f"parameter 'index' has {len(items)} items, more than {limits.MAX_NDIM}")
    for item in items:
        if item is None or item == "...":
            continue
        if _is_int(item):
            _check_int(item, where, "index")
            continue
        if isinstance(item, dict) and len(item) == 1:
            ((k, v),) = item.items()
            if k == "slice" and isinstance(v, list) and 1 <= len(v) <= 3:
                for x in v:
                    if x is not None:
                        _check_int(x, where, "slice bound")
                if len(v) == 3 and v[2] == 0:
                    raise _fail(where, "slice step cannot be zero")
                continue
            if k == "list" and isinstance(v, list):
                if len(v) > MAX_ELEMENTS:
                    raise _fail(where, f"an index list of {len(v):,} items is more than the session's limit")
                if all(isinstance(x, bool) for x in v):
                    continue
                for x in v:
                    _check_int(x, where, "index list item")
                continue
            if k == "operand" and _is_int(v):
                if not 0 <= v < n_operands:
                    raise _fail(where, f"index operand {v} does not exist (the op has {n_operands})")
                continue
        raise _fail(where, f'index item {_short(item)} is not an int, null, "...", slice, list or operand')


def old_check_param(p: Param, v: Any, where: str, n_operands: int) -> None:
    """session/fileformat.py, _check_param."""
    what = f"parameter '{p.name}'"
    kind = p.kind
    if v is None and ((not p.required and p.default is None) or kind in ("optional_int", "dims")):
        return
    if kind in ("int", "dim", "optional_int"):
        _check_int(v, where, what)
    elif kind in ("float", "number"):
        if not (isinstance(v, (int, float)) and not isinstance(v, bool)):
            raise _fail(where, f"{what} must be a number, found {_type_name(v)} {_short(v)}")
        if _is_int(v):
            _check_int(v, where, what)
    elif kind == "bool":
        if not isinstance(v, bool):
            raise _fail(where, f"{what} must be true or false, found {_type_name(v)} {_short(v)}")
    elif kind in ("dims", "shape"):
        if _is_int(v) and kind == "dims":
            _check_int(v, where, what)
            return
        if not isinstance(v, list):
            raise _fail(where, f"{what} must be a list of integers, found {_type_name(v)} {_short(v)}")
        if len(v) > limits.MAX_NDIM:
            raise _fail(where, f"{what} has {len(v)} items, more than {limits.MAX_NDIM}")
        for x in v:
            _check_int(x, where, f"{what} item")
        if kind == "shape":
            if sum(1 for x in v if x == -1) > 1 or any(x < -1 for x in v):
                raise _fail(where, f"{what} {_short(v)} is not a valid shape")
            n = 1
            for x in v:
                if x != -1:
                    n *= x
            if n > MAX_ELEMENTS:
                raise _fail(where, f"{what} {_short(v)} has more elements than the session's limit")
    elif kind == "choice":
        if v not in p.choices:
            raise _fail(where, f"{what} must be one of {', '.join(p.choices)}, found {_short(v)}")
    elif kind == "index":
        _check_index(v, where, n_operands)


def _number_text(v: Any) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "float('nan')"
        if math.isinf(v):
            return "float('inf')" if v > 0 else "-float('inf')"
        return repr(v)
    return repr(v)


def old_fmt_param(p: Param, v: Any) -> str:
    """gui/dialogs/operation.py, _fmt_param."""
    if p.kind == "dims" and isinstance(v, list):
        return str(v[0]) if len(v) == 1 else "(" + ", ".join(map(str, v)) + ")"
    if p.kind == "shape" and isinstance(v, list):
        return "(" + ", ".join(map(str, v)) + ("," if len(v) == 1 else "") + ")"
    if p.kind == "choice" and p.name == "dtype":
        return f"torch.{v}"
    if isinstance(v, float):
        return _number_text(v)
    return repr(v)


def _outcome(f: Any) -> tuple[str, Any]:
    try:
        return "ok", f()
    except (TypeError, ValueError, RefusedError) as e:
        return type(e).__name__ if not isinstance(e, (RefusedError, ParamError)) else "refused", str(e)


def _same(a: Any, b: Any) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and a != a and b != b)


# --- the tests ----------------------------------------------------------------------------------------
def test_every_catalogue_kind_has_one_object() -> None:
    used = {p.kind for spec in catalogue.OPS for p in spec.params}
    assert used and used <= set(KINDS)
    for spec in catalogue.OPS:
        for p in spec.params:
            assert kind_of(p) is KINDS[p.kind]


@pytest.mark.parametrize("p", PARAMS, ids=lambda p: f"{p.kind}-{p.name}-{p.default}")
def test_coerce_does_what_the_console_did(p: Param) -> None:
    for v in VALUES:
        want = _outcome(lambda v=v: old_console_param("torch.op", p, v))
        got = _outcome(lambda v=v: KINDS[p.kind].coerce(v, "torch.op", p, type_name=_tn))
        assert got[0] == want[0] and _same(got[1], want[1]), (p, v, got, want)


@pytest.mark.parametrize("p", PARAMS, ids=lambda p: f"{p.kind}-{p.name}-{p.default}")
def test_validate_does_what_the_file_format_did(p: Param) -> None:
    where = "session.json: entry 12 (op 'x')"
    for v in VALUES:
        if isinstance(v, (tuple, E.dtype)):
            continue  # never in JSON
        for n in (1, 2):
            want = _outcome(lambda v=v, n=n: old_check_param(p, v, where, n))
            got = _outcome(
                lambda v=v, n=n: KINDS[p.kind].validate(v, where, p, n_operands=n, max_elements=MAX_ELEMENTS)
            )
            assert got == want, (p, v, got, want)


def test_validate_names_the_entry_and_the_parameter() -> None:
    with pytest.raises(ParamError, match=r"^entry 12: parameter 'shape' \[-3\] is not a valid shape$"):
        KINDS["shape"].validate([-3], "entry 12", Param("shape", "shape"))


@pytest.mark.parametrize("p", PARAMS, ids=lambda p: f"{p.kind}-{p.name}-{p.default}")
def test_format_does_what_the_dialog_did(p: Param) -> None:
    for v in VALUES:
        if isinstance(v, E.dtype):
            continue
        assert KINDS[p.kind].format(v, p) == old_fmt_param(p, v), (p, v)


def test_coerce_then_validate_accepts_what_the_console_stores() -> None:
    """What the console makes of a value, the file format reads back."""
    for p in PARAMS:
        kind = KINDS[p.kind]
        for v in VALUES:
            try:
                stored = kind.coerce(v, "torch.op", p)
            except (TypeError, ValueError):
                continue
            if isinstance(stored, int) and not isinstance(stored, bool) and abs(stored) >= 2**63:
                continue  # the console's own limits refuse these before they are stored
            if isinstance(stored, list) and (
                len(stored) > limits.MAX_NDIM or any(abs(x) >= 2**63 for x in stored)
            ):
                continue
            if p.kind in ("float", "number") and isinstance(stored, bool):
                # Known, kept as it was: the console takes clamp(min=True) as PyTorch does, and
                # the file format refuses a bool there, so the session refuses it on append.
                with pytest.raises(ParamError, match="must be a number, found a boolean"):
                    kind.validate(stored, "here", p)
                continue
            if p.kind == "shape" and (stored.count(-1) > 1 or min(stored or [0]) < -1):
                continue  # the engine refuses these shapes when the op runs
            kind.validate(stored, "here", p, max_elements=2**63)


def test_the_console_coerces_as_its_kind_does() -> None:
    """The console's own parameter check (console.binding.coerce_param) and ParamKind.coerce agree,
    whichever of them calls the other."""
    from gradviz.session.console.binding import coerce_param
    from gradviz.session.console.values import type_name

    for p in PARAMS:
        for v in VALUES:
            want = _outcome(lambda p=p, v=v: coerce_param("torch.op", p, v))
            got = _outcome(lambda p=p, v=v: KINDS[p.kind].coerce(v, "torch.op", p, type_name=type_name))
            assert got[0] == want[0] and _same(got[1], want[1]), (p, v, got, want)
