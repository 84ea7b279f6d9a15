"""The catalogue of tensor constructors: ``torch.tensor``, ``zeros``, ``arange``, ``eye`` ...

One entry each: its parameters (PyTorch's names, kinds and defaults, and the words the New Tensor
dialog shows for them), how many elements it would make (checked against the session's limits
before anything is allocated, and raising PyTorch's error for arguments it refuses), and the
engine call. The console's ``torch.<name>(...)`` and the New Tensor dialog both read it, so a
constructor described here is described once.

Parameter kinds: ``data`` (a number or nested list), ``size`` (a list of ints; the first
parameter of ``zeros`` and the like also takes them one by one, ``zeros(2, 3)``), ``number``,
``int``, ``tensor`` (the ``*_like`` constructors' input).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradviz.engine as E
from gradviz.engine import Tensor

from .param_kinds import number_code

__all__ = ["CONSTRUCTORS", "REQUIRED", "Constructor", "CtorParam", "arange_count"]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()  # the default of a parameter that has none


@dataclass(frozen=True)
class CtorParam:
    name: str  # PyTorch's name for it
    kind: str  # data, size, number, int, tensor (see the module's docstring)
    default: Any = REQUIRED
    label: str = ""  # the New Tensor dialog's label: "Fill value:"
    what: str = ""  # the dialog's words for a value of it: "a fill value"
    example: str = ""  # what the dialog's field first shows (empty: the default)
    hint: str = ""  # the dialog field's placeholder
    empty: str = ""  # what an empty field means, for an optional int: "a square matrix"

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def code(self, value: Any) -> str:
        """``value`` as Python source: ``2, 3`` for a size, ``0.5`` or ``float('nan')`` for a number."""
        if self.kind == "size":
            return ", ".join(str(s) for s in value)
        return number_code(value)


@dataclass(frozen=True)
class Constructor:
    name: str
    params: tuple[CtorParam, ...]
    call: Callable[..., Tensor]  # (values by parameter name, dtype=, requires_grad=) -> the tensor
    count: Callable[[dict[str, Any]], int]  # elements it would make; PyTorch's RuntimeError if none can be
    doc: str
    # the dtype PyTorch gives the result when dtype= isn't said (what the dialog's code line leaves out)
    dtype_rule: Callable[[dict[str, Any]], str] = lambda v: E.dtypes.default_float.name
    random: bool = False  # draws from the random generator (the dialog offers a new sample)
    variadic: bool = False  # the size may be given as separate ints: zeros(2, 3)
    dialog: bool = False  # offered on the New Tensor dialog's Constructor tab

    @property
    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params if not p.required}

    def make(
        self, values: dict[str, Any], dtype: E.dtype | None = None, requires_grad: bool = False
    ) -> Tensor:
        """The tensor, from every parameter's value (defaults filled in here)."""
        return self.call({**self.defaults, **values}, dtype=dtype, requires_grad=requires_grad)

    def args_code(self, values: dict[str, Any]) -> str:
        """The arguments as a person writes them: ``(2,), 0.5`` for full; those equal to their
        default are left out from the end, and arange(0, end) is arange(end)."""
        args = [values[p.name] for p in self.params]
        while len(args) > 1 and not self.params[len(args) - 1].required:
            if args[-1] != self.params[len(args) - 1].default:
                break
            args.pop()
        if self.name == "arange" and len(args) == 2 and args[0] == 0 and not isinstance(args[0], float):
            args = args[1:]  # PyTorch's arange(end), which starts at 0
        texts = []
        for p, v in zip(self.params, args):
            if p.kind == "size" and self.variadic:
                texts.append(p.code(v) or "()")  # zeros(2, 3), and zeros(()) for a scalar
            elif p.kind == "size":
                texts.append(f"({p.code(v)}{',' if len(v) == 1 else ''})")
            else:
                texts.append(p.code(v))
        return ", ".join(texts)

    def default_dtype(self, values: dict[str, Any]) -> str:
        """The dtype's name PyTorch gives the result of these arguments when dtype= isn't said."""
        return self.dtype_rule({**self.defaults, **values})


def arange_count(start: float, end: float | None, step: float) -> int:
    """How many values ``arange`` makes; PyTorch's error for a range it refuses."""
    lo, hi = (0, start) if end is None else (start, end)
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if not all(math.isfinite(x) for x in (lo, hi, step)):
        raise RuntimeError(f"unsupported range: {lo} -> {hi}")
    if (hi - lo) * step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    return max(0, math.ceil((hi - lo) / step))


def _eye_count(v: dict[str, Any]) -> int:
    n, m = v["n"], v["m"]
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"n must be greater or equal to 0, got {min(n, m if m is not None else n)}")
    return n * (n if m is None else m)


def _randint_count(v: dict[str, Any]) -> int:
    n = math.prod(v["size"])  # read first: the console checks what is read, in this order
    low, high = v["low"], v["high"]
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    return n


def _arange(v: dict[str, Any], **opts: Any) -> Tensor:
    if v["end"] is None:
        return E.arange(v["start"], step=v["step"], **opts)
    return E.arange(v["start"], v["end"], v["step"], **opts)


def _arange_dtype(v: dict[str, Any]) -> str:
    floating = any(isinstance(v[n], float) for n in ("start", "end", "step"))
    return E.dtypes.default_float.name if floating else "int64"


def _full_like(v: dict[str, Any], **opts: Any) -> Tensor:
    # The console has never taken full_like's fill_value; it says so as PyTorch says a missing one.
    raise TypeError("full_like() missing required argument 'fill_value'")


_SIZE = CtorParam("size", "size", (), "Shape:", "the shape", "2, 3", "e.g. 2, 3   (empty: a scalar)")
_INPUT = CtorParam("input", "tensor")


def _sized(name: str, doc: str, random: bool = False, dialog: bool = True) -> Constructor:
    fn = getattr(E, name)
    return Constructor(
        name,
        (_SIZE,),
        lambda v, **opts: fn(*v["size"], **opts),
        lambda v: math.prod(v["size"]),
        doc,
        random=random,
        variadic=True,
        dialog=dialog,
    )


def _like(name: str, doc: str, random: bool = False) -> Constructor:
    fn = getattr(E, name)
    return Constructor(
        name,
        (_INPUT,),
        _full_like if name == "full_like" else (lambda v, **opts: fn(v["input"], **opts)),
        lambda v: v["input"].numel(),
        doc,
        dtype_rule=lambda v: v["input"].dtype.name,
        random=random,
    )


def _data(name: str, doc: str) -> Constructor:
    # the data's size is counted by the caller before the tensor is made, and checked again after
    return Constructor(
        name,
        (CtorParam("data", "data"),),
        lambda v, **opts: E.tensor(v["data"], **opts),
        lambda v: 0,
        doc,
        dtype_rule=lambda v: E.tensor(v["data"]).dtype.name,
    )


CONSTRUCTORS: dict[str, Constructor] = {
    c.name: c
    for c in (
        _data("tensor", "A tensor holding a number or a nested list of numbers."),
        _data("as_tensor", "The same as tensor(): a tensor holding a number or nested list."),
        _sized("zeros", "A tensor of the given shape filled with 0."),
        _sized("ones", "A tensor of the given shape filled with 1."),
        _sized("rand", "Uniform random numbers in [0, 1), of the given shape.", random=True),
        _sized("randn", "Normal random numbers (mean 0, variance 1), of the given shape.", random=True),
        Constructor(
            "full",
            (_SIZE, CtorParam("fill_value", "number", REQUIRED, "Fill value:", "a fill value", "0.5")),
            lambda v, **opts: E.full(v["size"], v["fill_value"], **opts),
            lambda v: math.prod(v["size"]),
            "A tensor of the given shape filled with fill_value.",
            dtype_rule=lambda v: E.dtypes.scalar_dtype(v["fill_value"]).name,
            dialog=True,
        ),
        Constructor(
            "arange",
            (
                CtorParam("start", "number", REQUIRED, "Start:", "a start", "0"),
                CtorParam("end", "number", None, "End:", "an end", "6"),
                CtorParam("step", "number", 1, "Step:", "a step"),
            ),
            _arange,
            lambda v: arange_count(v["start"], v["end"], v["step"]),
            "Values from start up to (not including) end, step apart; arange(end) starts at 0.",
            dtype_rule=_arange_dtype,
            dialog=True,
        ),
        Constructor(
            "eye",
            (
                CtorParam("n", "int", REQUIRED, "n (rows):", "n", "3"),
                CtorParam("m", "int", None, "m (columns):", "m", hint="same as n", empty="a square matrix"),
            ),
            lambda v, **opts: E.eye(v["n"], v["m"], **opts),
            _eye_count,
            "The n×m identity matrix (m defaults to n).",
            dialog=True,
        ),
        _sized("empty", "A tensor of the given shape (its values are zeros here).", dialog=False),
        _like("zeros_like", "Zeros with the shape (and dtype) of input."),
        _like("ones_like", "Ones with the shape (and dtype) of input."),
        _like("full_like", "fill_value with the shape (and dtype) of input."),
        _like("rand_like", "Uniform random numbers in [0, 1) with the shape of input.", random=True),
        _like("randn_like", "Normal random numbers with the shape of input.", random=True),
        Constructor(
            "randint",
            (CtorParam("low", "int", 0), CtorParam("high", "int"), CtorParam("size", "size")),
            lambda v, **opts: E.randint(v["low"], v["high"], v["size"], **opts),
            _randint_count,
            "Random integers from low (inclusive) to high (exclusive), of the given shape.",
            dtype_rule=lambda v: "int64",
            random=True,
        ),
        Constructor(
            "linspace",
            (CtorParam("start", "number"), CtorParam("end", "number"), CtorParam("steps", "int")),
            lambda v, **opts: E.linspace(v["start"], v["end"], v["steps"], **opts),
            lambda v: max(0, v["steps"]),
            "steps values evenly spaced from start to end, both included.",
        ),
    )
}
