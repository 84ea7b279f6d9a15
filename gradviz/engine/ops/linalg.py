"""Matrix products: ``@``/matmul (dispatching to dot, mv, mm and batched mm) and addmm."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dual
from ..function import Function
from ..tensor import Tensor

_TYPE = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int", "int32": "int", "bool": "bool"}


def _same_dtype(a: Tensor, b: Tensor, what: str) -> None:
    if a._data.dtype != b._data.dtype:
        n1, n2 = _TYPE.get(a._data.dtype.name, a._data.dtype.name), _TYPE.get(b._data.dtype.name, b._data.dtype.name)
        raise RuntimeError(f"expected {what} to have the same dtype, but got: {n1} != {n2}")


class Mm(Function):
    """All matrix products; the node name says which one PyTorch would record."""

    name = "MmBackward0"

    @staticmethod
    def forward(ctx, a, b, kind="MmBackward0"):
        ctx._name = kind
        # Each factor is saved only for the other's gradient, as PyTorch does.
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b if ctx.needs_input_grad[0] else None)
        return np.asarray(np.matmul(a, b))

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = (t._data.ndim for t in ctx.inputs)
        ga = gb = None
        if na == 1 and nb == 1:  # dot
            ga = None if b is None else g * b
            gb = None if a is None else g * a
        elif nb == 1:  # mv: (n, m) @ (m,)
            ga = None if b is None else dual.matmul(dual.reshape(g, g.shape + (1,)), dual.reshape(b, (1,) + b.shape))
            gb = None if a is None else dual.matmul(dual.mT(a), g)
        else:
            ga = None if b is None else dual.matmul(g, dual.mT(b))
            gb = None if a is None else dual.matmul(dual.mT(a), g)
        return ga, gb


def matmul(a: Tensor, b: Tensor) -> Tensor:
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError("matmul(): argument 'other' must be Tensor")
    na, nb = a._data.ndim, b._data.ndim
    if na == 0 or nb == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {na}D and {nb}D")
    sa, sb = a._data.shape, b._data.shape
    if na == 1 and nb == 1:
        _same_dtype(a, b, "both vectors")
        if sa[0] != sb[0]:
            raise RuntimeError(
                f"inconsistent tensor size, expected tensor [{sa[0]}] and src [{sb[0]}] to have the "
                "same number of elements, but got "
                f"{sa[0]} and {sb[0]} elements respectively"
            )
        return Mm.apply(a, b, kind="DotBackward0")
    _same_dtype(a, b, "m1 and m2")
    if na == 2 and nb == 1:
        if sa[1] != sb[0]:
            raise RuntimeError(f"size mismatch, got input ({sa[0]}), mat ({sa[0]}x{sa[1]}), vec ({sb[0]})")
        return Mm.apply(a, b, kind="MvBackward0")
    if na == 1 and nb == 2:
        return matmul(a.unsqueeze(0), b).squeeze(0)
    if na == 2 and nb == 2:
        if sa[1] != sb[0]:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({sa[0]}x{sa[1]} and {sb[0]}x{sb[1]})")
        return Mm.apply(a, b)
    if nb == 1:
        return matmul(a, b.unsqueeze(-1)).squeeze(-1)
    if na == 1:
        return matmul(a.unsqueeze(0), b).squeeze(-2)
    if sa[-1] != sb[-2]:
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: [{sb[0] if nb > 2 else 1}, "
            f"{sa[-1]}] but got: [{sb[0] if nb > 2 else 1}, {sb[-2]}]."
        )
    try:
        np.broadcast_shapes(sa[:-2], sb[:-2])
    except ValueError:
        raise RuntimeError(f"The size of tensor a ({sa[0]}) must match the size of tensor b ({sb[0]}) at non-singleton dimension 0") from None
    return Mm.apply(a, b, kind="BmmBackward0")


def mm(a: Tensor, b: Tensor) -> Tensor:
    if a._data.ndim != 2 or b._data.ndim != 2:
        raise RuntimeError(f"self must be a matrix" if a._data.ndim != 2 else "mat2 must be a matrix")
    return matmul(a, b)


def dot(a: Tensor, b: Tensor) -> Tensor:
    if a._data.ndim != 1 or b._data.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a._data.ndim}D and {b._data.ndim}D tensors")
    return matmul(a, b)


def mv(a: Tensor, v: Tensor) -> Tensor:
    return matmul(a, v)


def bmm(a: Tensor, b: Tensor) -> Tensor:
    if a._data.ndim != 3 or b._data.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor" if a._data.ndim != 3 else "batch2 must be a 3D tensor")
    return matmul(a, b)


class Addmm(Function):
    """``bias + m1 @ m2``, the node nn.Linear records."""

    name = "AddmmBackward0"

    @staticmethod
    def forward(ctx, bias, m1, m2):
        ctx.save_for_backward(m1, m2)
        return np.asarray(bias + m1 @ m2)

    @staticmethod
    def backward(ctx, g):
        m1, m2 = ctx.saved_tensors
        return g, dual.matmul(g, dual.mT(m2)), dual.matmul(dual.mT(m1), g)


def addmm(bias: Tensor, m1: Tensor, m2: Tensor) -> Tensor:
    _same_dtype(m1, m2, "m1 and m2")
    if m1._data.ndim != 2 or m2._data.ndim != 2 or m1._data.shape[1] != m2._data.shape[0]:
        s1, s2 = m1._data.shape, m2._data.shape
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({'x'.join(map(str, s1))} and {'x'.join(map(str, s2))})")
    from ._util import broadcast_shape

    broadcast_shape(bias._data.shape, (m1._data.shape[0], m2._data.shape[1]))
    return Addmm.apply(bias, m1, m2)


def outer(a: Tensor, b: Tensor) -> Tensor:
    return a.unsqueeze(1) * b.unsqueeze(0)


