"""Helpers for backward formulas that accept numpy arrays or Tensors alike.

A plain ``backward()`` runs every formula on arrays, which keeps per-op overhead low; with
``create_graph=True`` the same formulas receive Tensors and record their own graph. Operators
(``+ - * / **``) already work on both; these cover the rest.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _is_array(x: Any) -> bool:
    return not hasattr(x, "grad_fn")


def sum_to(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum a broadcast gradient back down to ``shape``."""
    gshape = g.shape
    if tuple(gshape) == tuple(shape):
        return g
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, d in enumerate(shape) if d == 1 and gshape[i + lead] != 1
    )
    if _is_array(g):
        return np.asarray(g.sum(axis=axes)).reshape(shape) if axes else np.reshape(g, shape)
    return g.sum(dim=axes).reshape(shape) if axes else g.reshape(shape)


def fit(g: Any, meta: tuple) -> Any:
    """Make a gradient match its input's shape and dtype, as PyTorch's engine validates."""
    shape, dt = meta
    if g.shape != shape:
        g = sum_to(g, shape)
    if _is_array(g):
        if g.dtype != dt:
            g = np.asarray(g, dtype=dt)
        return g
    if g._data.dtype != dt:
        from .dtypes import from_numpy_dtype

        g = g.to(from_numpy_dtype(dt))
    return g


def unary(name: str, x: Any) -> Any:
    """``exp``, ``log``, ``sin``, ``cos``, ``sign``, ``sqrt`` ... on either kind."""
    return getattr(np, name)(x) if _is_array(x) else getattr(x, name)()


def where(cond: Any, a: Any, b: Any) -> Any:
    if _is_array(a) and _is_array(b):
        return np.where(cond, a, b)
    from .ops import where as twhere

    return twhere(cond, a, b)


def zeros_like(x: Any) -> Any:
    if _is_array(x):
        return np.zeros_like(x)
    return x.new_zeros(x.shape)


def matmul(a: Any, b: Any) -> Any:
    return a @ b


def mT(x: Any) -> Any:
    """Swap the last two dimensions."""
    if _is_array(x):
        return np.swapaxes(x, -1, -2)
    return x.transpose(-1, -2)


def reshape(x: Any, shape: tuple[int, ...]) -> Any:
    return np.reshape(x, shape) if _is_array(x) else x.reshape(shape)


def expand(x: Any, shape: tuple[int, ...]) -> Any:
    return np.broadcast_to(x, shape) if _is_array(x) else x.expand(shape)


def sum(x: Any, dim: Any = None, keepdim: bool = False) -> Any:
    if _is_array(x):
        return np.asarray(np.sum(x, axis=dim, keepdims=keepdim))
    return x.sum() if dim is None else x.sum(dim=dim, keepdim=keepdim)


def unsqueeze_dims(x: Any, dims: tuple[int, ...]) -> Any:
    """Re-insert reduced dimensions so a reduction's gradient broadcasts over its input."""
    if not dims:
        return x
    if _is_array(x):
        return np.expand_dims(x, dims)
    for d in sorted(dims):
        x = x.unsqueeze(d)
    return x


def moveaxis(x: Any, src: Any, dst: Any) -> Any:
    if _is_array(x):
        return np.moveaxis(x, src, dst)
    return x.movedim(src, dst)


def index(x: Any, idx: Any) -> Any:
    """``x[idx]`` where idx is a plain numpy index."""
    if _is_array(x):
        return x[idx]
    from .ops.indexing import Index

    return Index.apply(x, idx=idx)


def index_add_zeros(g: Any, idx: Any, shape: tuple[int, ...]) -> Any:
    """Scatter ``g`` into zeros of ``shape`` at ``idx``, adding repeated positions."""
    if _is_array(g):
        out = np.zeros(shape, dtype=g.dtype)
        np.add.at(out, idx, g)
        return out
    from .ops.indexing import IndexAddZeros

    return IndexAddZeros.apply(g, idx=idx, shape=shape)


def cat_split(g: Any, dim: int, sizes: list[int]) -> list:
    """Split ``g`` along ``dim`` into pieces of the given sizes (the gradient of ``cat``)."""
    out, start = [], 0
    for n in sizes:
        sl = (slice(None),) * dim + (slice(start, start + n),)
        out.append(index(g, sl))
        start += n
    return out
