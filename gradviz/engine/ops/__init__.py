"""Every op, once: each module declares its ops with ``registry.op``, which exports them and
binds their Tensor methods; this package gathers the exports and adds the operators."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import indexing, linalg, pointwise, reduction, shape

# The functions the registrations export, spelt out in _generated.py (see registry.GENERATED).
from ._generated import *  # noqa: F403
from ._generated import __all__
from .indexing import getitem
from .linalg import matmul
from .pointwise import abs as _abs
from .pointwise import (
    add,
    div,
    eq,
    floor_divide,
    ge,
    gt,
    le,
    logical_not,
    lt,
    mul,
    ne,
    neg,
    pow,
    remainder,
    rsub,
    sub,
    where,
)
from .shape import T, bool_, double, expand_as, float_, half, int_, long, mT, to, view


def _reflected(fn: Any) -> Any:
    return lambda self, other: fn(other, self)


def _tensor_only(fn: Any) -> Any:
    # ``t @ 2`` is Python's TypeError, as in PyTorch.
    return lambda self, other: fn(self, other) if isinstance(other, Tensor) else NotImplemented


def _logical(ufunc_name: str) -> Any:
    import numpy as np

    ufunc = getattr(np, ufunc_name)
    bit = {"logical_and": np.bitwise_and, "logical_or": np.bitwise_or, "logical_xor": np.bitwise_xor}[
        ufunc_name
    ]

    def op(self: Tensor, other: Any) -> Tensor:
        o = other._data if isinstance(other, Tensor) else other
        if self._data.dtype.kind == "b" and np.asarray(o).dtype.kind == "b":
            return Tensor._make(np.asarray(ufunc(self._data, o)), False, None)
        return Tensor._make(np.asarray(bit(self._data, o)), False, None)

    return op


def _new(self: Tensor, kind: str, size: tuple, dtype: Any, requires_grad: bool, device: Any) -> Tensor:
    from .. import creation

    return getattr(creation, kind)(
        *size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad
    )


# The methods that are no registered op: Python's operators, properties, and torch's methods
# whose arguments differ from the function's. The registered ops bound their own methods.
Tensor.where = lambda self, condition, other: where(condition, self, other)
Tensor.__add__ = Tensor.__radd__ = add
Tensor.__sub__ = sub
Tensor.__rsub__ = rsub
Tensor.__mul__ = Tensor.__rmul__ = mul
Tensor.__truediv__ = div
Tensor.__rtruediv__ = _reflected(div)
Tensor.__pow__ = pow
Tensor.__mod__ = remainder
Tensor.__rmod__ = _reflected(remainder)
Tensor.__floordiv__ = floor_divide
Tensor.__rfloordiv__ = _reflected(floor_divide)
Tensor.__rpow__ = _reflected(pow)
Tensor.__matmul__ = _tensor_only(matmul)
Tensor.__rmatmul__ = _tensor_only(_reflected(matmul))
Tensor.__neg__ = neg
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = _abs
Tensor.__getitem__ = getitem
Tensor.__eq__, Tensor.__ne__, Tensor.__lt__, Tensor.__le__, Tensor.__gt__, Tensor.__ge__ = (
    eq,
    ne,
    lt,
    le,
    gt,
    ge,
)
Tensor.__hash__ = lambda self: id(self)  # __eq__ is elementwise, so hash by identity
Tensor.T = property(T)
Tensor.mT = property(mT)
Tensor.new_zeros = lambda self, *size, dtype=None, device=None, requires_grad=False: _new(
    self, "zeros", size, dtype, requires_grad, device
)
Tensor.new_ones = lambda self, *size, dtype=None, device=None, requires_grad=False: _new(
    self, "ones", size, dtype, requires_grad, device
)
Tensor.new_tensor = lambda self, data, dtype=None, device=None, requires_grad=False: _new(
    self, "tensor", (data,), dtype, requires_grad, device
)
Tensor.__and__ = _logical("logical_and")
Tensor.__or__ = _logical("logical_or")
Tensor.__xor__ = _logical("logical_xor")
Tensor.__invert__ = lambda self: (
    logical_not(self) if self.dtype.name == "bool" else Tensor._make(~self._data, False, None)
)
