"""Bounds on the plain Python values the console computes with, checked before computing.

Tensors are bounded by the session (its element limit and memory budget). The console's own
values can grow too: strings (concatenation, f-strings with a width or precision, ``str()`` of a
big list), lists and tuples (``x.tolist()``, literals that nest one list many times), integers
(``10**10**10``), numpy arrays (``.numpy()``, comparisons that broadcast) and the text shown for
any of them. Each check here runs before the value is made, and refuses with the figure and the
limit, as the session's size check does: "... would have N ..., more than the console's limit of
M; nothing was allocated".

``Measure`` gives a value's size without making it twice: the number of list/tuple slots it
holds counting shared sub-lists once per appearance (what ``plain()``, ``repr()`` and
``torch.tensor()`` walk), its scalar leaves (what ``torch.tensor()`` would hold) and an upper
bound on the length of its ``repr``/``str``. Console lists are never changed in place, so a
container's measure is cached by identity for one run: measuring is linear in what was built.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from gradviz.engine import Tensor
from gradviz.engine.formatting import PRINT_OPTS

from .values import ConsoleError

if TYPE_CHECKING:
    from ..document import Session

from ..limits import MAX_FORMAT_PRECISION, MAX_FORMAT_WIDTH, MAX_INT_BITS, MAX_LIST_ITEMS, MAX_STRING

LOG2_10 = math.log2(10)


class LimitError(ConsoleError):
    """A value the console refuses to make because it would exceed one of the limits above."""


def list_limit(session: Session) -> int:
    return min(MAX_LIST_ITEMS, int(getattr(session, "max_elements", MAX_LIST_ITEMS)))


def check_string(length: int, what: str) -> None:
    if length > MAX_STRING:
        raise LimitError(
            f"{what} would be a string of {length:,} characters, more than the console's limit of "
            f"{MAX_STRING:,}; nothing was allocated"
        )


def check_items(items: int, what: str, session: Session) -> None:
    limit = list_limit(session)
    if items > limit:
        raise LimitError(
            f"{what} would hold {items:,} Python values, more than the console's limit of {limit:,}; "
            "nothing was allocated"
        )


def check_int_bits(bits: int, what: str) -> None:
    if bits > MAX_INT_BITS:
        figure = f"about {bits:,}" if bits < 10**18 else "more than 10**18"
        raise OverflowError(
            f"{what} is too large for the console: it would have {figure} bits, more than its limit "
            f"of {MAX_INT_BITS:,}; nothing was computed"
        )


def check_int_op(sym: str, a: int, b: int) -> None:
    """``a sym b`` on two ints: refuse a result over MAX_INT_BITS before computing it."""
    ba, bb = abs(a).bit_length(), abs(b).bit_length()
    if sym == "**" and b > 0 and abs(a) > 1:
        # the result's size within a bit; in whole numbers when b is too big for a float
        bits = math.ceil(b * math.log2(abs(a))) if bb < 60 else b * (ba - 1)
        check_int_bits(bits, f"{_short(a)} ** {_short(b)}")
    elif sym == "*":
        check_int_bits(ba + bb, f"{_short(a)} * {_short(b)}")
    elif sym in ("+", "-"):
        check_int_bits(max(ba, bb) + 1, f"{_short(a)} {sym} {_short(b)}")


def _short(n: int) -> str:
    """A number in a message: whole when short, else its size."""
    bits = abs(n).bit_length()
    return str(n) if bits <= 64 else f"<an integer of {bits:,} bits>"


def round_int(x: int, ndigits: int) -> int:
    """``round(x, ndigits)`` for an int, without computing ``10**-ndigits`` when it dwarfs ``x``
    (``round(1, -10**9)`` would build a billion-digit number first)."""
    if ndigits >= 0:
        return x
    # |x| < 10**k / 2 rounds to 0 (half-way rounds to even, which is 0 too).
    if -ndigits > (abs(x).bit_length() + 1) / LOG2_10 + 1:
        return 0
    return round(x, ndigits)


# --- format specs -------------------------------------------------------------------------------
_SPEC = re.compile(
    r"(?:(?P<fill>.)?(?P<align>[<>=^]))?(?P<sign>[-+ ])?z?#?0?(?P<width>\d+)?[,_]?(?:\.(?P<precision>\d+))?"
    r"(?P<type>[bcdeEfFgGnosxX%])?",
    re.DOTALL,
)
_DIGITS = re.compile(r"\d+")


def check_format_spec(spec: str) -> None:
    """Refuse a width over MAX_FORMAT_WIDTH or a precision over MAX_FORMAT_PRECISION, before
    formatting. A spec outside the standard grammar is left to ``format`` to reject, but no run of
    digits in it may exceed the width limit either."""
    m = _SPEC.fullmatch(spec)
    if m is None:
        for d in _DIGITS.findall(spec):
            _check_number(len(d), int(d) if len(d) <= 20 else 10**20, "number", MAX_FORMAT_WIDTH, spec)
        return
    for key, limit in (("width", MAX_FORMAT_WIDTH), ("precision", MAX_FORMAT_PRECISION)):
        d = m.group(key)
        if d is not None:
            _check_number(len(d), int(d) if len(d) <= 20 else 10**20, key, limit, spec)


def _check_number(digits: int, value: int, what: str, limit: int, spec: str) -> None:
    if value > limit:
        shown = f"{value:,}" if digits <= 20 else f"a {digits:,}-digit number"
        raise LimitError(
            f"the {what} {shown} in the format spec {spec[:40]!r} is more than the console's limit of "
            f"{limit:,}; nothing was formatted"
        )


def format_bound(value: Any, spec: str, measure: Measure) -> int:
    """An upper bound on ``len(format(value, spec))`` once ``check_format_spec(spec)`` passed."""
    if not spec:
        return measure.of(value).chars
    m = _SPEC.fullmatch(spec)
    width = int(m.group("width") or 0) if m else 0
    precision = int(m.group("precision") or 0) if m else 0
    if isinstance(value, str):
        return max(width, len(value))
    # a number: its digits (a float has at most 309 before the point), grouping commas, precision
    base = measure.of(value).chars + 312 + precision
    return max(width, base + base // 3)


# --- measuring values ---------------------------------------------------------------------------
class Size(NamedTuple):
    items: int  # list/tuple slots, counted at every place a sub-list appears
    leaves: int  # scalars among them (what torch.tensor() would hold)
    chars: int  # an upper bound on len(repr(value)) and len(str(value))


_SMALL = Size(0, 1, 200)  # a dtype, a device, a module, a grad_fn ...: a short fixed repr
_EMPTY = Size(0, 0, 62)  # [] or (), or an empty namedtuple's name and brackets


class Measure:
    """Sizes of console values, each container measured once (cached by identity, so a list
    that appears in many places costs its length once, not once per appearance)."""

    def __init__(self) -> None:
        self._cache: dict[int, tuple[Any, Size]] = {}  # id -> (the object, kept alive; its size)

    def clear(self) -> None:
        self._cache.clear()

    def of(self, value: Any) -> Size:
        if isinstance(value, (list, tuple)):
            if not value:
                return _EMPTY
            hit = self._cache.get(id(value))
            if hit is not None and hit[0] is value:
                return hit[1]
            items, leaves, chars = len(value), 0, 2 + 2 * len(value) + 60  # brackets, ", ", a name
            for v in value:
                kind = type(v)
                if kind is float:  # the common leaves inline: x.tolist() can hold a million
                    leaves += 1
                    chars += 24
                elif (kind is list or kind is tuple) and not v:
                    chars += _EMPTY.chars
                else:
                    s = self.of(v)
                    items += s.items
                    leaves += s.leaves
                    chars += s.chars
            size = Size(items, leaves, chars)
            self._cache[id(value)] = (value, size)
            return size
        if isinstance(value, str):
            # repr escapes a quote or a backslash with one more character; anything unprintable
            # becomes at most \U0010ffff (10 characters)
            n = len(value)
            if value.isprintable():
                return Size(0, 1, n + 2 + value.count("\\") + value.count("'"))
            return Size(0, 1, 10 * n + 2)
        if isinstance(value, bool) or value is None:
            return Size(0, 1, 5)
        if isinstance(value, int):
            return Size(0, 1, math.ceil(abs(value).bit_length() / LOG2_10) + 2)
        if isinstance(value, float):
            return Size(0, 1, 24)
        if isinstance(value, Tensor):
            return Size(0, 1, array_text_bound(tuple(value.shape), value.dtype.is_floating_point, True))
        if isinstance(value, np.ndarray):
            return Size(0, 1, array_text_bound(value.shape, value.dtype.kind in "fc", False))
        if isinstance(value, complex):
            return Size(0, 1, 52)
        return _SMALL


def array_text_bound(shape: tuple[int, ...], floating: bool, engine: bool) -> int:
    """An upper bound on the length of a tensor's (or a numpy array's) repr, from its shape and
    the print options that summarise it, without making it."""
    if engine:
        threshold, edge, precision = PRINT_OPTS.threshold, PRINT_OPTS.edgeitems, PRINT_OPTS.precision
    else:
        opts = np.get_printoptions()
        threshold, edge, precision = opts["threshold"], opts["edgeitems"], opts["precision"]
    numel = math.prod(shape)
    dims = list(shape)
    if numel > threshold:  # summarised: edge items at each end of every dimension, and "..."
        dims = [min(d, 2 * edge + 1) for d in shape]
    shown = math.prod(dims)
    ndim = len(shape)
    rows = math.prod(dims[:-1]) if ndim > 1 else 1
    width = precision + 9 if floating else 21  # "-1.2345e+100", or an int64 with its sign
    # Each element with ", ", as if on a line of its own (a new line and an indent of the
    # brackets and "array(" or "tensor("); each row's brackets and blank lines; dtype= and such.
    return shown * (width + ndim + 11) + rows * (3 * ndim + 12) + 200


def check_shown(value: Any, measure: Measure, what: str = "showing this value") -> None:
    chars = measure.of(value).chars
    if chars > MAX_STRING:
        raise LimitError(
            f"{what} would take up to {chars:,} characters, more than the console's limit of "
            f"{MAX_STRING:,}; nothing was shown"
        )


# --- numpy --------------------------------------------------------------------------------------
def check_numpy_result(session: Session, shape: tuple[int, ...], itemsize: int, what: str) -> None:
    """A numpy result of ``shape``: the session's element limit and (if it has one) its memory budget."""
    numel = math.prod(shape)
    max_elements = int(getattr(session, "max_elements", numel))
    if numel > max_elements:
        raise LimitError(
            f"{what} would have {numel:,} elements (shape {tuple(shape)}), more than this session's "
            f"limit of {max_elements:,}; nothing was allocated"
        )
    check_memory = getattr(session, "check_memory", None)
    if check_memory is not None:
        check_memory(numel * itemsize, what)
    else:
        budget = getattr(session, "memory_budget", None)
        if budget is not None and numel * itemsize > budget:
            raise LimitError(
                f"{what} would need {numel * itemsize:,} bytes, more than this session's memory budget "
                f"of {budget:,}; nothing was allocated"
            )


def numpy_shape(v: Any) -> tuple[int, ...]:
    """The shape numpy gives an operand (a list becomes an array; its size is bounded already)."""
    if isinstance(v, np.ndarray):
        return v.shape
    return np.shape(v)


def tolist_items(shape: tuple[int, ...]) -> int:
    """Slots in ``t.tolist()``: every element, and every inner list (a (10**6, 0) tensor makes
    a million empty lists)."""
    total, run = 0, 1
    for d in shape:
        run *= d
        total += run
    return total
