"""The kinds of an operation's parameters, each one object: what the console accepts from a
typed Python value (``coerce``), what the file format accepts from stored JSON (``validate``)
and how the operation dialog writes a value in its code line (``format``).

``catalogue.Param.kind`` names a kind; ``KINDS[p.kind]`` is its object. A kind added here is
known to the console, the file format and the dialog at once.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import gradviz.engine as E

from . import limits

if TYPE_CHECKING:  # (only for hints: the catalogue may come to read this module)
    from .catalogue import Param

# --- plain-data checks, shared with the file format ----------------------------------------------


class ParamError(ValueError):
    """A stored value its kind refuses; the message says where and what (``entry 3 (op 'sum'):
    parameter 'dim' must be ...``). The file format turns it into its own error."""


def json_type_name(v: Any) -> str:
    """What a JSON value is, in the words of the file format's messages ("an integer")."""
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


def short(v: Any) -> str:
    """A value as JSON, cut to 60 characters, for messages."""
    try:
        s = json.dumps(v, ensure_ascii=False)
    except (TypeError, ValueError):
        s = repr(v)
    return s if len(s) <= 60 else s[:57] + "..."


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def fail(where: str, message: str) -> ParamError:
    return ParamError(f"{where}: {message}" if where else message)


def check_int(v: Any, where: str, what: str) -> None:
    """An int64, as stored parameters and constants are."""
    if not is_int(v):
        raise fail(where, f"{what} must be an integer, found {json_type_name(v)} {short(v)}")
    if not limits.INT_MIN <= v <= limits.INT_MAX:
        raise fail(where, f"{what} {v} does not fit in 64 bits")


def elements(shape: Iterable[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def number_code(v: Any) -> str:
    """A number as Python code: ``2.5``, ``float('nan')``, ``-float('inf')``."""
    if isinstance(v, float):
        if math.isnan(v):
            return "float('nan')"
        if math.isinf(v):
            return "float('inf')" if v > 0 else "-float('inf')"
    return repr(v)


def _python_type_name(v: Any) -> str:
    return type(v).__name__


# --- the kinds -------------------------------------------------------------------------------------


class ParamKind:
    """One kind of parameter. ``param`` (a catalogue.Param) gives its name, default and choices."""

    name = ""
    nullable = False  # null is a value of this kind (not only the default of an optional one)

    def coerce(
        self,
        value: Any,
        where: str,
        param: Param,
        *,
        type_name: Callable[[Any], str] = _python_type_name,
    ) -> Any:
        """``value`` as the catalogue stores it (JSON-safe), from what the console evaluated for
        ``where(..., param=value)``; raises PyTorch's TypeError (or ValueError). ``type_name``
        names a value's type as the console shows it."""
        raise TypeError(f"{where}(): argument '{param.name}' can't be given in the console")

    def validate(
        self,
        value: Any,
        where: str,
        param: Param,
        *,
        n_operands: int = 0,
        max_elements: int = limits.DEFAULT_MAX_ELEMENTS,
    ) -> None:
        """Refuse (:class:`ParamError`, prefixed by ``where``) a stored value of this kind that
        gradviz would not have written or that could not replay safely."""
        if value is None and (self.nullable or (not param.required and param.default is None)):
            return
        self._validate(value, where, f"parameter '{param.name}'", param, n_operands, max_elements)

    def _validate(
        self, v: Any, where: str, what: str, param: Param, n_operands: int, max_elements: int
    ) -> None:
        raise NotImplementedError

    def format(self, value: Any, param: Param | None = None) -> str:
        """``value`` as the operation dialog writes it in its code line (``dim=(0, 1)``)."""
        return number_code(value)

    def _fail_type(
        self, where: str, param: Param, expected: str, v: Any, type_name: Callable[[Any], str]
    ) -> TypeError:
        return TypeError(f"{where}(): argument '{param.name}' must be {expected}, not {type_name(v)}")


class _Int(ParamKind):
    """A whole number; ``dim`` is one dimension and ``optional_int`` an int or None."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.nullable = name == "optional_int"

    def coerce(
        self, value: Any, where: str, param: Param, *, type_name: Callable[[Any], str] = _python_type_name
    ) -> Any:
        if value is None and (self.name == "optional_int" or (self.name == "int" and param.default is None)):
            return None
        if not is_int(value):
            raise self._fail_type(where, param, "int", value, type_name)
        return value

    def _validate(
        self, v: Any, where: str, what: str, param: Param, n_operands: int, max_elements: int
    ) -> None:
        check_int(v, where, what)


class _Number(ParamKind):
    """Any real number (``float`` and ``number`` are the same rule)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def coerce(
        self, value: Any, where: str, param: Param, *, type_name: Callable[[Any], str] = _python_type_name
    ) -> Any:
        if value is None and param.default is None:
            return None
        if not isinstance(value, (bool, int, float)):  # PyTorch takes True as 1 here
            raise self._fail_type(where, param, "Number", value, type_name)
        return value

    def _validate(
        self, v: Any, where: str, what: str, param: Param, n_operands: int, max_elements: int
    ) -> None:
        if not is_number(v):
            raise fail(where, f"{what} must be a number, found {json_type_name(v)} {short(v)}")
        if is_int(v):
            check_int(v, where, what)


class _Bool(ParamKind):
    name = "bool"

    def coerce(
        self, value: Any, where: str, param: Param, *, type_name: Callable[[Any], str] = _python_type_name
    ) -> Any:
        if not isinstance(value, bool):
            raise self._fail_type(where, param, "bool", value, type_name)
        return value

    def _validate(
        self, v: Any, where: str, what: str, param: Param, n_operands: int, max_elements: int
    ) -> None:
        if not isinstance(v, bool):
            raise fail(where, f"{what} must be true or false, found {json_type_name(v)} {short(v)}")


class _Ints(ParamKind):
    """A list of ints: ``dims`` (None for all, or one int) and ``shape`` (-1 infers one size)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.nullable = name == "dims"

    def coerce(
        self, value: Any, where: str, param: Param, *, type_name: Callable[[Any], str] = _python_type_name
    ) -> Any:
        if value is None and self.name == "dims":
            return None
        if is_int(value):
            return [value]
        if isinstance(value, (list, tuple)) and all(is_int(x) for x in value):
            return [int(x) for x in value]
        raise self._fail_type(where, param, "tuple of ints", value, type_name)

    def _validate(
        self, v: Any, where: str, what: str, param: Param, n_operands: int, max_elements: int
    ) -> None:
        if is_int(v) and self.name == "dims":
            check_int(v, where, what)
            return
        if not isinstance(v, list):
            raise fail(where, f"{what} must be a list of integers, found {json_type_name(v)} {short(v)}")
        if len(v) > limits.MAX_NDIM:
            raise fail(where, f"{what} has {len(v)} items, more than {limits.MAX_NDIM}")
        for x in v:
            check_int(x, where, f"{what} item")
        if self.name == "shape":
            if sum(1 for x in v if x == -1) > 1 or any(x < -1 for x in v):
                raise fail(where, f"{what} {short(v)} is not a valid shape")
            if elements(x for x in v if x != -1) > max_elements:
                raise fail(where, f"{what} {short(v)} has more elements than the session's limit")

    def format(self, value: Any, param: Param | None = None) -> str:
        if not isinstance(value, list):
            return number_code(value)
        if self.name == "dims" and (param is None or param.name != "dims"):  # sum(dim=0): an int will do
            return str(value[0]) if len(value) == 1 else "(" + ", ".join(map(str, value)) + ")"
        return "(" + ", ".join(map(str, value)) + ("," if len(value) == 1 else "") + ")"


class _Choice(ParamKind):
    """One of ``param.choices``; a ``dtype`` choice is also given as a torch dtype."""

    name = "choice"

    def coerce(
        self, value: Any, where: str, param: Param, *, type_name: Callable[[Any], str] = _python_type_name
    ) -> Any:
        if isinstance(value, E.dtype) and param.name == "dtype":
            return value.name
        if not isinstance(value, str):
            raise self._fail_type(where, param, "str", value, type_name)
        if value not in param.choices:
            raise ValueError(f"{value[:100]} is not a valid value for {param.name}")
        return value

    def _validate(
        self, v: Any, where: str, what: str, param: Param, n_operands: int, max_elements: int
    ) -> None:
        if v not in param.choices:
            raise fail(where, f"{what} must be one of {', '.join(param.choices)}, found {short(v)}")

    def format(self, value: Any, param: Param | None = None) -> str:
        if param is not None and param.name == "dtype":
            return f"torch.{value}"  # code, in the console's words (torch is gradviz there)
        return number_code(value)


class _Index(ParamKind):
    """``t[...]``'s items, as catalogue.decode_index reads them. The console builds them from
    its subscript, never from a keyword, so ``coerce`` refuses (the base class's message)."""

    name = "index"

    def _validate(
        self, v: Any, where: str, what: str, param: Param, n_operands: int, max_elements: int
    ) -> None:
        if not isinstance(v, list):
            raise fail(where, f"parameter 'index' must be a list, found {json_type_name(v)}")
        if len(v) > limits.MAX_NDIM:
            raise fail(where, f"parameter 'index' has {len(v)} items, more than {limits.MAX_NDIM}")
        for item in v:
            self._item(item, where, n_operands, max_elements)

    @staticmethod
    def _item(item: Any, where: str, n_operands: int, max_elements: int) -> None:
        if item is None or item == "...":
            return
        if is_int(item):
            check_int(item, where, "index")
            return
        if isinstance(item, dict) and len(item) == 1:
            ((k, v),) = item.items()
            if k == "slice" and isinstance(v, list) and 1 <= len(v) <= 3:
                for x in v:
                    if x is not None:
                        check_int(x, where, "slice bound")
                if len(v) == 3 and v[2] == 0:
                    raise fail(where, "slice step cannot be zero")
                return
            if k == "list" and isinstance(v, list):
                if len(v) > max_elements:
                    raise fail(where, f"an index list of {len(v):,} items is more than the session's limit")
                if all(isinstance(x, bool) for x in v):
                    return
                for x in v:
                    check_int(x, where, "index list item")
                return
            if k == "operand" and is_int(v):
                if not 0 <= v < n_operands:
                    raise fail(where, f"index operand {v} does not exist (the op has {n_operands})")
                return
        raise fail(where, f'index item {short(item)} is not an int, null, "...", slice, list or operand')


KINDS: dict[str, ParamKind] = {
    k.name: k
    for k in (
        _Int("int"),
        _Number("float"),
        _Number("number"),
        _Bool(),
        _Int("dim"),
        _Ints("dims"),
        _Ints("shape"),
        _Index(),
        _Choice(),
        _Int("optional_int"),
    )
}


def kind_of(param: Param) -> ParamKind:
    """The kind object of a catalogue.Param (KeyError for a kind this version doesn't know)."""
    return KINDS[param.kind]


__all__ = [
    "KINDS",
    "ParamError",
    "ParamKind",
    "check_int",
    "elements",
    "fail",
    "is_int",
    "is_number",
    "json_type_name",
    "kind_of",
    "number_code",
    "short",
]
