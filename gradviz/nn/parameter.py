"""``nn.Parameter``: a leaf tensor that a ``Module`` registers as one of its parameters."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import Tensor, empty


class Parameter(Tensor):
    """A tensor that requires grad by default and that modules collect in ``parameters()``.

    Like PyTorch's, it shares memory with the tensor it wraps, and ops on it give plain tensors.
    """

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        if data is None:
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter expected a Tensor, got {type(data).__name__}")
        # Tensor.__init__ copies; a Parameter wraps the same storage instead, as torch does.
        self._data = data._storage()
        self.grad_fn = None
        self._grad = None
        self._acc = None
        self._version = 0
        self._retains = False
        self._requires_grad = False
        if requires_grad:
            self._set_requires_grad(
                True, "Only Tensors of floating point and complex dtype can require gradients"
            )

    def __repr__(self) -> str:
        return "Parameter containing:\n" + Tensor.__repr__(self)

    __str__ = __repr__

    def __deepcopy__(self, memo: dict) -> Parameter:
        if id(self) in memo:
            return memo[id(self)]
        out = Parameter(Tensor._make(self._storage().copy(), False, None), self._requires_grad)
        memo[id(self)] = out
        return out

    def __reduce_ex__(self, proto: Any) -> Any:
        return (_rebuild, (self._storage().copy(), self._requires_grad))


def _rebuild(data: np.ndarray, requires_grad: bool) -> Parameter:
    return Parameter(Tensor._make(data, False, None), requires_grad)
