"""``optim.Adam`` (and ``AdamW``): adaptive moment estimation, PyTorch's single-tensor form."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..engine import Tensor, float32, tensor, zeros_like
from .optimizer import Optimizer, _array, _fma, _write


def _fma3(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``a * b + c`` rounded once (float32, through double)."""
    if a.dtype == np.float32:
        return (a.astype(np.float64) * b.astype(np.float64) + c.astype(np.float64)).astype(np.float32)
    return a * b + c


def _lerp(start: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
    """ATen's vectorised lerp: a fused multiply-add from whichever end is nearer the weight."""
    w = start.dtype.type(weight)
    diff = end - start
    if abs(weight) < 0.5:
        return _fma3(np.full_like(start, w), diff, start)
    return _fma3(np.full_like(start, w - start.dtype.type(1)), diff, end)


class Adam(Optimizer):
    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        if isinstance(lr, Tensor):
            lr = lr.item()
        if not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not eps >= 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not weight_decay >= 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(
            lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
            foreach=foreach, capturable=capturable, differentiable=differentiable, fused=fused,
            decoupled_weight_decay=decoupled_weight_decay,
        )  # fmt: skip
        super().__init__(params, defaults)

    def _update(self, p: Tensor, group: dict[str, Any]) -> None:
        state = self.state[p]
        if not state:
            state["step"] = tensor(0.0, dtype=float32)
            state["exp_avg"] = zeros_like(p)
            state["exp_avg_sq"] = zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = zeros_like(p)
        beta1, beta2 = group["betas"]
        lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
        param = _array(p)
        f = param.dtype.type
        grad = _array(p.grad)
        if group["maximize"]:
            grad = -grad
        step_t = state["step"]
        _write(step_t, _array(step_t) + np.float32(1))
        step = step_t.item()
        if wd != 0:
            if group["decoupled_weight_decay"]:
                param = param * f(1 - lr * wd)
            else:
                grad = _fma(grad, param, wd)
        exp_avg = _lerp(_array(state["exp_avg"]), grad, 1 - beta1)
        # exp_avg_sq * beta2 + (1 - beta2) * grad * grad, the last product fused with the add
        scaled = f(1 - beta2) * grad
        exp_avg_sq = _fma3(scaled, grad, _array(state["exp_avg_sq"]) * f(beta2))
        _write(state["exp_avg"], exp_avg)
        _write(state["exp_avg_sq"], exp_avg_sq)
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size = lr / bias_correction1
        bc2_sqrt = math.sqrt(bias_correction2)
        if group["amsgrad"]:
            top = np.maximum(_array(state["max_exp_avg_sq"]), exp_avg_sq)
            _write(state["max_exp_avg_sq"], top)
        else:
            top = exp_avg_sq
        denom = np.sqrt(top) / f(bc2_sqrt) + f(eps)
        # addcdiv_: param + value * exp_avg / denom, unfused
        _write(p, param + (f(-step_size) * exp_avg) / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay (``param *= 1 - lr * weight_decay`` before the step)."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, decoupled_weight_decay=True, **kwargs)
