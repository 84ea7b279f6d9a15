"""PyTorch's dtype objects and its type-promotion rules, mapped onto numpy dtypes."""

from __future__ import annotations

import numpy as np


class dtype:
    """A scalar type such as ``gradviz.float32``; compares by identity like torch.dtype."""

    __slots__ = ("_rank", "is_floating_point", "is_signed", "itemsize", "name", "np")

    def __init__(self, name: str, np_dtype: str, floating: bool, rank: int) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = floating
        self.is_signed = name != "bool" and name != "uint8"
        self.itemsize = self.np.itemsize
        self._rank = rank

    def __repr__(self) -> str:
        return f"gradviz.{self.name}"

    def __reduce__(self) -> str:
        return self.name


bool_ = dtype("bool", "bool", False, 0)
uint8 = dtype("uint8", "uint8", False, 1)
int8 = dtype("int8", "int8", False, 1)
int16 = dtype("int16", "int16", False, 2)
int32 = dtype("int32", "int32", False, 3)
int64 = dtype("int64", "int64", False, 4)
float16 = dtype("float16", "float16", True, 5)
float32 = dtype("float32", "float32", True, 6)
float64 = dtype("float64", "float64", True, 7)

# torch.float is float32, torch.double is float64, and so on.
ALIASES = {
    "float": float32,
    "double": float64,
    "half": float16,
    "long": int64,
    "int": int32,
    "short": int16,
}
ALL = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
_FROM_NP = {d.np: d for d in ALL}

default_float = float32


def from_numpy_dtype(np_dtype: np.dtype) -> dtype:
    try:
        return _FROM_NP[np.dtype(np_dtype)]
    except KeyError:
        raise TypeError(
            f"can't convert np.ndarray of type numpy.{np.dtype(np_dtype).type.__name__}. The only supported "
            "types are: float64, float32, float16, int64, int32, int16, int8, uint8, and bool."
        ) from None


def to_dtype(d: object) -> dtype:
    """Accept a gradviz dtype, a numpy dtype or a Python type (float, int, bool)."""
    if isinstance(d, dtype):
        return d
    if d is float:
        return float64
    if d is int:
        return int64
    if d is bool:
        return bool_
    return from_numpy_dtype(np.dtype(d))


def promote_types(a: dtype, b: dtype) -> dtype:
    """torch.promote_types: the smallest dtype that holds both (floats win over integers)."""
    if a is b:
        return a
    if a is bool_:
        return b
    if b is bool_:
        return a
    if a.is_floating_point != b.is_floating_point:
        return a if a.is_floating_point else b
    if {a, b} == {uint8, int8}:
        return int16
    return a if a._rank >= b._rank else b


def _category(d: dtype | None) -> int:
    if d is None:
        return -1
    return 2 if d.is_floating_point else (0 if d is bool_ else 1)


def _combine(higher: dtype | None, lower: dtype | None) -> dtype | None:
    # c10's combine_categories: a higher-priority group keeps its dtype unless the lower one
    # belongs to a higher category (bool < integer < float).
    if higher is None:
        return lower
    if lower is None or higher.is_floating_point:
        return higher
    if higher is bool_ or lower.is_floating_point:
        return promote_types(higher, lower)
    return higher


def result_type(*operands: object) -> dtype:
    """torch.result_type over tensors and Python scalars.

    Dimensioned tensors outrank zero-dim tensors, which outrank Python scalars, unless the
    lower-priority operand is of a higher category (an int tensor times 2.5 is float32).
    """
    from .tensor import Tensor

    dim_r = zero_r = scalar_r = None
    for op in operands:
        if isinstance(op, Tensor):
            d = op.dtype
            if op._data.ndim:
                dim_r = d if dim_r is None else promote_types(dim_r, d)
            else:
                zero_r = d if zero_r is None else promote_types(zero_r, d)
        else:
            d = scalar_dtype(op)
            scalar_r = d if scalar_r is None else promote_types(scalar_r, d)
    out = _combine(dim_r, _combine(zero_r, scalar_r))
    assert out is not None
    return out


def scalar_dtype(value: object) -> dtype:
    """The dtype a wrapped Python scalar takes in promotion."""
    if isinstance(value, (bool, np.bool_)):
        return bool_
    if isinstance(value, (int, np.integer)):
        return int64
    if isinstance(value, (float, np.floating)):
        return default_float
    raise TypeError(f"unsupported operand type: {type(value).__name__}")
