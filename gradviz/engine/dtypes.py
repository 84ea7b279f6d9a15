"""PyTorch's dtype objects and its type-promotion rules, mapped onto numpy dtypes."""

from __future__ import annotations

import numpy as np


class dtype:
    """A scalar type such as ``gradviz.float32``; compares by identity like torch.dtype.

    ``scalar_name``: the C++ name torch's messages print (``Float``); ``tensor_type``: what
    ``Tensor.type()`` says (``torch.FloatTensor``); ``aliases``: torch's other names for it
    (``torch.float``)."""

    __slots__ = (
        "_rank", "aliases", "cpp_name", "is_floating_point", "is_signed", "itemsize", "name", "np", "scalar_name",
    )  # fmt: skip

    def __init__(
        self,
        name: str,
        np_dtype: str,
        floating: bool,
        rank: int,
        scalar_name: str,
        cpp_name: str,
        aliases: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = floating
        self.is_signed = name != "bool" and name != "uint8"
        self.itemsize = self.np.itemsize
        self._rank = rank
        self.scalar_name = scalar_name
        self.cpp_name = cpp_name  # the C++ type some messages print: "long int"
        self.aliases = aliases

    @property
    def tensor_type(self) -> str:
        return f"torch.{self.scalar_name}Tensor"

    def __repr__(self) -> str:
        return f"gradviz.{self.name}"

    def __reduce__(self) -> str:
        return self.name


# The one table of dtypes: every name torch prints for each (torch.float32, torch.float, ...).
bool_ = dtype("bool", "bool", False, 0, "Bool", "bool")
uint8 = dtype("uint8", "uint8", False, 1, "Byte", "unsigned char")
int8 = dtype("int8", "int8", False, 1, "Char", "signed char")
int16 = dtype("int16", "int16", False, 2, "Short", "short int", ("short",))
int32 = dtype("int32", "int32", False, 3, "Int", "int", ("int",))
int64 = dtype("int64", "int64", False, 4, "Long", "long int", ("long",))
float16 = dtype("float16", "float16", True, 5, "Half", "c10::Half", ("half",))
float32 = dtype("float32", "float32", True, 6, "Float", "float", ("float",))
float64 = dtype("float64", "float64", True, 7, "Double", "double", ("double",))

ALL = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
# The names a session offers, in the order its menus list them.
NAMES = tuple(d.name for d in (float32, float64, float16, int64, int32, int16, int8, uint8, bool_))
# torch.float is float32, torch.double is float64, and so on.
ALIASES = {a: d for d in ALL for a in d.aliases}
BY_NAME = {**{d.name: d for d in ALL}, **ALIASES}
_FROM_NP = {d.np: d for d in ALL}


def scalar_name(np_dtype: object) -> str:
    """torch's C++ name of a numpy dtype (``Float``), as its error messages print it."""
    d = _FROM_NP.get(np.dtype(np_dtype))  # type: ignore[call-overload]
    return d.scalar_name if d is not None else np.dtype(np_dtype).name  # type: ignore[call-overload]


default_float = float32  # read at each use: set_default_dtype changes it


def get_default_dtype() -> dtype:
    return default_float


def set_default_dtype(d: dtype) -> None:
    """The dtype of Python floats in ``tensor()``, and of ``rand``, ``zeros`` ... by default."""
    global default_float
    if not isinstance(d, dtype):
        raise TypeError("invalid dtype object: only floating-point types are supported as the default type")
    if d not in (float16, float32, float64):
        raise TypeError("only floating-point types are supported as the default type")
    default_float = d


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
