"""Shared plumbing for ops: turning operands into tensors and PyTorch's shape errors."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes
from ..tensor import Tensor

# PyTorch's C++ names for dtypes, as its error messages print them (from the one dtype table).
SCALAR_NAMES = {d.name: d.scalar_name for d in dtypes.ALL}


def wrap_scalar(value: Any, np_dtype: np.dtype) -> Tensor:
    """A Python number as a 0-d constant tensor (PyTorch's "wrapped number")."""
    return Tensor._make(np.array(value, dtype=np_dtype), False, None)


def operands(a: Any, b: Any) -> tuple[Tensor, Tensor, np.dtype | None]:
    """Two tensors for a binary op and the result's numpy dtype (None: inputs already agree)."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        if a._data.dtype == b._data.dtype:
            return a, b, None
        dt = dtypes.result_type(a, b).np
        return a, b, dt
    if isinstance(b, np.ndarray):
        return operands(a, Tensor._make(b, False, None))
    if isinstance(a, np.ndarray):
        return operands(Tensor._make(a, False, None), b)
    if isinstance(a, Tensor):
        _check_scalar(b)
        dt = dtypes.result_type(a, b).np
        return a, wrap_scalar(b, dt), (None if dt == a._data.dtype else dt)
    _check_scalar(a)
    dt = dtypes.result_type(a, b).np
    return wrap_scalar(a, dt), b, (None if dt == b._data.dtype else dt)


def _check_scalar(x: Any) -> None:
    if not isinstance(x, (bool, int, float, np.generic)):
        raise TypeError(f"unsupported operand type: '{type(x).__name__}'; expected a Tensor or a number")


def broadcast_shape(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    """np.broadcast_shapes with PyTorch's error message, naming both sizes and the dimension."""
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        pass
    a, b = shapes[0], shapes[1]
    n = max(len(a), len(b))
    pa, pb = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
    for i in range(n - 1, -1, -1):
        if pa[i] != pb[i] and pa[i] != 1 and pb[i] != 1:
            raise RuntimeError(
                f"The size of tensor a ({pa[i]}) must match the size of tensor b ({pb[i]}) "
                f"at non-singleton dimension {i}"
            )
    raise RuntimeError(f"shapes {list(a)} and {list(b)} cannot be broadcast together")


def cast(x: np.ndarray, dt: np.dtype | None) -> np.ndarray:
    return x if dt is None or x.dtype == dt else x.astype(dt)


def float_dtype(x: np.ndarray) -> np.dtype:
    """The dtype an op that needs floats (exp, sqrt, /) produces for ``x``."""
    return x.dtype if x.dtype.kind == "f" else dtypes.default_float.np


def wrap_dim(dim: int, ndim: int) -> int:
    lo, hi = (-1, 0) if ndim == 0 else (-ndim, ndim - 1)
    if not lo <= dim <= hi:
        raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})")
    return dim % max(ndim, 1)


def as_tensor(x: Any) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return Tensor._make(x, False, None)
    return Tensor(x)
