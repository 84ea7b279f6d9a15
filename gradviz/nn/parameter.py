"""``nn.Parameter``: a leaf tensor that a ``Module`` registers as one of its parameters."""

from __future__ import annotations

from typing import Any

from ..engine import Tensor, empty, from_numpy


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
        # Take every slot of a detached alias (a fresh leaf on the same memory), whatever the
        # engine keeps in them. TODO(engine): a public Tensor._make_subclass(cls, data, rg).
        alias = data.detach()
        for slot in Tensor.__slots__:
            if slot != "__weakref__":
                setattr(self, slot, getattr(alias, slot))
        if requires_grad and not self.is_floating_point():
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        self.requires_grad_(requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + Tensor.__repr__(self)

    __str__ = __repr__

    def __deepcopy__(self, memo: dict) -> Parameter:
        # as torch: a copy of the data with the same requires_grad, and no .grad
        if id(self) not in memo:
            memo[id(self)] = Parameter(self.detach().clone(), self.requires_grad)
        return memo[id(self)]

    def __reduce_ex__(self, proto: Any) -> Any:
        return (_rebuild, (self.detach().numpy().copy(), self.requires_grad))


def _rebuild(data: Any, requires_grad: bool) -> Parameter:
    return Parameter(from_numpy(data), requires_grad)
