"""What memory a tensor holds: its values, its gradient and what its ``grad_fn`` saved.

The session counts these against its memory budget. Views share memory with their base, so
each buffer is given as the array that owns its memory (``root``): two tensors that view one
array count it once.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .function import _Output
from .tensor import Tensor


def root(a: np.ndarray) -> np.ndarray:
    """The array that owns ``a``'s memory (``a`` itself unless it is a view)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def tensor_buffers(t: Tensor) -> Iterator[np.ndarray]:
    """The arrays ``t`` keeps alive: its values, its ``.grad`` and the buffers its ``grad_fn``
    saved for backward (until backward frees them). Each is an owning array (see ``root``);
    the same one may come twice."""
    data = t._data
    if isinstance(data, np.ndarray):
        yield root(data)
    if t._grad is not None and isinstance(t._grad._data, np.ndarray):
        yield root(t._grad._data)
    node = t.grad_fn
    saved = getattr(node, "_saved", None) if node is not None else None
    for s in saved or ():
        if isinstance(s, _Output):
            s = s.data
        elif isinstance(s, Tensor):
            s = s._data
        if isinstance(s, np.ndarray):
            yield root(s)


__all__ = ["root", "tensor_buffers"]
