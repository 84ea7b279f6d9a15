"""``optim.SGD``: stochastic gradient descent with momentum, dampening, weight decay, Nesterov."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..engine import Tensor, from_numpy
from .optimizer import Optimizer, _array, _fma, _write


class SGD(Optimizer):
    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        if isinstance(lr, Tensor):
            lr = lr.item()
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(
            lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
            maximize=maximize, foreach=foreach, differentiable=differentiable, fused=fused,
        )  # fmt: skip
        super().__init__(params, defaults)

    def _update(self, p: Tensor, group: dict[str, Any]) -> None:
        # PyTorch's single-tensor SGD (what it runs for CPU tensors), one ATen op per line
        param = _array(p)
        grad = _array(p.grad)
        if group["maximize"]:
            grad = -grad
        wd, momentum = group["weight_decay"], group["momentum"]
        if wd != 0:
            grad = _fma(grad, param, wd)
        if momentum != 0:
            state = self.state[p]
            buf = state.get("momentum_buffer")
            if buf is None:
                state["momentum_buffer"] = buf = from_numpy(grad.copy())
                b = grad
            else:
                b = _fma(_array(buf) * buf.numpy().dtype.type(momentum), grad, 1 - group["dampening"])
                _write(buf, b)
            grad = _fma(grad, b, momentum) if group["nesterov"] else b
        _write(p, _fma(param, grad, -group["lr"]))
