"""``nn.utils``: clipping gradients and flattening parameters, as ``torch.nn.utils``."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ..engine import Tensor, cat, from_numpy, no_grad, tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]


def _params(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def _norm(a: np.ndarray, p: float) -> float:
    # in double, rounded once: within an ulp of ATen's float32 reduction
    a = np.abs(a.astype(np.float64))
    if p == math.inf:
        return float(a.max()) if a.size else 0.0
    if p == 2:
        return float(np.sqrt((a * a).sum()))
    return float((a**p).sum() ** (1 / p))


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float | str = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Scale all gradients together so that their joint norm is at most ``max_norm``; return the
    norm they had."""
    p = math.inf if norm_type in ("inf", math.inf) else float(norm_type)
    grads = [q.grad for q in _params(parameters) if q.grad is not None]
    if not grads:
        return tensor(0.0)
    dtype = grads[0].numpy().dtype
    norms = np.array([_norm(g.numpy(), p) for g in grads], dtype=dtype)
    total = np.asarray(_norm(norms, p), dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {float(p)} for gradients from `parameters` is non-finite, so it "
            "cannot be clipped. To disable this error and scale the gradients by the non-finite norm "
            "anyway, set `error_if_nonfinite=False`"
        )
    # max_norm / (total + 1e-6) as torch computes it: reciprocal, then times max_norm
    coef = np.reciprocal(total + dtype.type(1e-6)) * dtype.type(max_norm)
    coef = np.minimum(coef, dtype.type(1.0))
    with no_grad():
        for g in grads:
            g.mul_(from_numpy(np.asarray(coef, dtype=g.numpy().dtype)))
    return from_numpy(np.asarray(total))


def clip_grad_value_(
    parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: bool | None = None
) -> None:
    """Clamp every gradient element into ``[-clip_value, clip_value]``."""
    clip_value = float(clip_value)
    with no_grad():
        for q in _params(parameters):
            if q.grad is not None:
                q.grad.clamp_(min=-clip_value, max=clip_value)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    return cat([q.reshape(-1) for q in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    offset = 0
    with no_grad():
        for q in parameters:
            n = q.numel()
            q.copy_(vec[offset : offset + n].reshape(q.shape).to(q.dtype))
            offset += n
