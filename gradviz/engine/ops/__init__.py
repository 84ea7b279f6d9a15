"""Every op, once: exported as functions here and attached to ``Tensor`` as methods."""

from __future__ import annotations

from typing import Any

from .. import registry
from ..tensor import Tensor
from . import indexing, linalg, pointwise, reduction, shape
from .indexing import getitem
from .linalg import addmm, bmm, dot, matmul, mm, mv, outer
from .pointwise import (
    abs,
    add,
    allclose,
    clamp,
    clip,
    cos,
    div,
    eq,
    equal,
    exp,
    ge,
    gt,
    isfinite,
    isinf,
    isnan,
    le,
    log,
    logical_not,
    lt,
    maximum,
    minimum,
    mul,
    ne,
    neg,
    pow,
    reciprocal,
    relu,
    rsub,
    sigmoid,
    sign,
    sin,
    sqrt,
    square,
    sub,
    tanh,
    where,
)
from .reduction import argmax, argmin, log_softmax, max, mean, min, softmax, sum
from .shape import (
    T,
    bool_,
    broadcast_to,
    cat,
    clone,
    concat,
    concatenate,
    double,
    expand,
    expand_as,
    flatten,
    float_,
    half,
    int_,
    long,
    movedim,
    mT,
    permute,
    reshape,
    squeeze,
    stack,
    swapaxes,
    t,
    to,
    transpose,
    unsqueeze,
    view,
)

__all__ = [
    "abs", "add", "addmm", "allclose", "argmax", "argmin", "bmm", "broadcast_to", "cat", "clamp",
    "clip", "clone", "concat", "concatenate", "cos", "div", "dot", "eq", "equal", "exp", "expand",
    "flatten", "ge", "gt", "isfinite", "isinf", "isnan", "le", "log", "log_softmax", "logical_not",
    "lt", "matmul", "max", "maximum", "mean", "min", "minimum", "mm", "movedim", "mul", "mv", "ne",
    "neg", "outer", "permute", "pow", "reciprocal", "relu", "reshape", "rsub", "sigmoid", "sign",
    "sin", "softmax", "sqrt", "square", "squeeze", "stack", "sub", "sum", "swapaxes", "t", "tanh",
    "transpose", "unsqueeze", "where",
]  # fmt: skip
# Ops declared with registry.op are exported by their own module's __all__.
for _module in (indexing, linalg, pointwise, reduction, shape):
    for _name in getattr(_module, "__all__", ()):
        if _name in registry.REGISTRY and _name not in __all__:
            globals()[_name] = getattr(_module, _name)
            __all__.append(_name)


def _attach() -> None:
    methods = {
        name: globals()[name]
        for name in (
            "abs", "add", "argmax", "argmin", "clamp", "clip", "clone", "cos", "div", "eq", "exp",
            "expand", "expand_as", "flatten", "ge", "gt", "isfinite", "isinf", "isnan", "le", "log",
            "log_softmax", "logical_not", "lt", "matmul", "max", "maximum", "mean", "min", "minimum",
            "mm", "movedim", "mul", "mv", "ne", "neg", "permute", "pow", "reciprocal", "relu",
            "reshape", "sigmoid", "sign", "sin", "softmax", "sqrt", "square", "squeeze", "sub", "sum",
            "swapaxes", "t", "tanh", "to", "transpose", "unsqueeze", "view", "dot", "bmm", "double",
            "half", "long", "outer",
        )
    }  # fmt: skip
    methods.update(
        float=float_,
        int=int_,
        bool=bool_,
        multiply=mul,
        subtract=sub,
        divide=div,
        negative=neg,
        true_divide=div,
        greater=gt,
        less=lt,
        absolute=abs,
        where=lambda self, condition, other: where(condition, self, other),
    )
    for name, fn in methods.items():
        setattr(Tensor, name, fn)

    def _reflected(fn: Any) -> Any:
        return lambda self, other: fn(other, self)

    def _tensor_only(fn: Any) -> Any:
        # ``t @ 2`` is Python's TypeError, as in PyTorch.
        return lambda self, other: fn(self, other) if isinstance(other, Tensor) else NotImplemented

    dunder = {
        "__add__": add, "__radd__": add, "__sub__": sub, "__rsub__": rsub,
        "__mul__": mul, "__rmul__": mul, "__truediv__": div, "__rtruediv__": _reflected(div),
        "__pow__": pow, "__rpow__": _reflected(pow), "__matmul__": _tensor_only(matmul), "__rmatmul__": _tensor_only(_reflected(matmul)),
        "__neg__": neg, "__pos__": lambda self: self, "__abs__": abs, "__getitem__": getitem,
        "__eq__": eq, "__ne__": ne, "__lt__": lt, "__le__": le, "__gt__": gt, "__ge__": ge,
    }  # fmt: skip
    for name, fn in dunder.items():
        setattr(Tensor, name, fn)
    Tensor.__hash__ = lambda self: id(self)  # __eq__ is elementwise, so hash by identity
    Tensor.T = property(T)
    Tensor.mT = property(mT)
    Tensor.new_zeros = lambda self, *size, dtype=None, requires_grad=False: _new(
        self, "zeros", size, dtype, requires_grad
    )
    Tensor.new_ones = lambda self, *size, dtype=None, requires_grad=False: _new(
        self, "ones", size, dtype, requires_grad
    )
    Tensor.new_tensor = lambda self, data, dtype=None, requires_grad=False: Tensor(
        data, dtype=dtype or self.dtype, requires_grad=requires_grad
    )
    for name, ufunc in (("__and__", "logical_and"), ("__or__", "logical_or"), ("__xor__", "logical_xor")):
        setattr(Tensor, name, _logical(ufunc))
    Tensor.__invert__ = lambda self: (
        logical_not(self) if self.dtype.name == "bool" else Tensor._make(~self._data, False, None)
    )


def _logical(ufunc_name: str) -> Any:
    import numpy as np

    ufunc = getattr(np, ufunc_name)

    def op(self: Tensor, other: Any) -> Tensor:
        o = other._data if isinstance(other, Tensor) else other
        if self._data.dtype.kind == "b" and np.asarray(o).dtype.kind == "b":
            return Tensor._make(np.asarray(ufunc(self._data, o)), False, None)
        bit = {"logical_and": np.bitwise_and, "logical_or": np.bitwise_or, "logical_xor": np.bitwise_xor}[
            ufunc_name
        ]
        return Tensor._make(np.asarray(bit(self._data, o)), False, None)

    return op


def _new(self: Tensor, kind: str, size: tuple, dtype: Any, requires_grad: bool) -> Tensor:
    from .. import creation

    return getattr(creation, kind)(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)


_attach()
