"""Reading with ``t[...]``: ints, slices, None, Ellipsis, lists, integer and boolean tensors.

Basic indexing is split into one Select/Slice/Unsqueeze step per dimension, as PyTorch records
it; anything advanced becomes a single IndexBackward0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dual
from ..function import Function
from ..tensor import Tensor


def normalize_index(idx: Any) -> Any:
    """Turn Tensors and lists inside an index into numpy arrays."""
    if isinstance(idx, tuple):
        return tuple(_norm_item(i) for i in idx)
    return _norm_item(idx)


def _norm_item(i: Any) -> Any:
    if isinstance(i, Tensor):
        if i.dtype.is_floating_point:
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return i._data
    if isinstance(i, list):
        arr = np.asarray([_norm_item(x) for x in i])
        if arr.dtype.kind not in "biu":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return arr
    if isinstance(i, (bool, np.bool_)):
        return np.asarray(i)
    return i


class Index(Function):
    name = "IndexBackward0"

    @staticmethod
    def forward(ctx, a, idx=(), kind="IndexBackward0"):
        ctx._name = kind
        return np.asarray(a[idx])

    @staticmethod
    def backward(ctx, g):
        return (dual.index_add_zeros(g, ctx.params["idx"], ctx.inputs[0]._data.shape),)


class IndexAddZeros(Function):
    """Scatter-add into zeros: the gradient of indexing, itself differentiable."""

    name = "IndexPutBackward0"

    @staticmethod
    def forward(ctx, g, idx=(), shape=()):
        out = np.zeros(shape, dtype=g.dtype)
        np.add.at(out, idx, g)
        return out

    @staticmethod
    def backward(ctx, gg):
        return (dual.index(gg, ctx.params["idx"]),)


def _check_bounds(a: np.ndarray, idx: Any) -> None:
    try:
        a[idx]
    except IndexError as e:
        msg = str(e)
        if "out of bounds" in msg:
            parts = msg.split()
            # numpy: "index 5 is out of bounds for axis 0 with size 3"
            try:
                i, axis, size = parts[1], parts[parts.index("axis") + 1], parts[-1]
                raise IndexError(f"index {i} is out of bounds for dimension {axis} with size {size}") from None
            except (ValueError, IndexError):
                pass
        raise IndexError(msg) from None


def getitem(a: Tensor, idx: Any) -> Tensor:
    idx = normalize_index(idx)
    items = idx if isinstance(idx, tuple) else (idx,)
    if any(isinstance(i, np.ndarray) for i in items):
        _check_bounds(a._data, idx)
        return Index.apply(a, idx=idx)
    if a._data.ndim == 0 and any(isinstance(i, (int, np.integer)) for i in items):
        raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
    _check_bounds(a._data, idx)
    # Expand Ellipsis so each item knows its dimension.
    n_real = sum(1 for i in items if i is not None and i is not Ellipsis)
    if Ellipsis in items:
        k = items.index(Ellipsis)
        items = items[:k] + (slice(None),) * (a._data.ndim - n_real) + items[k + 1 :]
    out, dim = a, 0
    for item in items:
        if item is None:
            out = out.unsqueeze(dim)
            dim += 1
        elif isinstance(item, slice):
            if item != slice(None) and item.indices(out._data.shape[dim]) != (0, out._data.shape[dim], 1):
                if item.step is not None and item.step <= 0:
                    raise ValueError("step must be greater than zero")
                sub = (slice(None),) * dim + (item,)
                out = Index.apply(out, idx=sub, kind="SliceBackward0")
            dim += 1
        else:
            sub = (slice(None),) * dim + (int(item),)
            out = Index.apply(out, idx=sub, kind="SelectBackward0")
    if out is a:
        out = Index.apply(a, idx=(Ellipsis,), kind="AliasBackward0")
    return out
