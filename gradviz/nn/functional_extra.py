"""Losses and helpers of ``torch.nn.functional`` that ``gradviz.nn.functional`` lacks so far.

TODO(engine): move these into ``gradviz/nn/functional.py`` (engine/nn_functional.py) once the
new way of declaring ops lands; ``gradviz.nn`` adds them to ``functional`` only where it has none.
"""

# PyTorch's own names: `input` arguments, `F` for functional.
# ruff: noqa: A002

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import Function, Tensor, float64, from_numpy, int64, rand, zeros

__all__ = [
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "dropout",
    "embedding",
    "l1_loss",
    "one_hot",
]

_REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _reduce(loss: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "mean":
        return np.asarray(loss.mean(), dtype=loss.dtype)
    if reduction == "sum":
        return np.asarray(loss.sum(), dtype=loss.dtype)
    return loss


def _is_tensor(x: Any) -> bool:
    return isinstance(x, Tensor)


def _exp(x: np.ndarray) -> np.ndarray:
    """exp rounded once from double: nearer ATen's (Sleef's) float32 exp than numpy's float32 one."""
    return np.exp(x.astype(np.float64)).astype(x.dtype)


def _log(x: np.ndarray) -> np.ndarray:
    return np.log(x.astype(np.float64)).astype(x.dtype)


def _log1p(x: np.ndarray) -> np.ndarray:
    return np.log1p(x.astype(np.float64)).astype(x.dtype)


def _sigmoid(x: Any) -> Any:
    # backward runs on arrays, or on Tensors when create_graph=True records it
    if _is_tensor(x):
        return x.sigmoid()
    one = x.dtype.type(1)
    return one / (one + _exp(-x))


def _at_least(x: Any, eps: float) -> Any:
    return x.clamp(min=eps) if _is_tensor(x) else np.maximum(x, x.dtype.type(eps))


class _BinaryCrossEntropy(Function):
    name = "BinaryCrossEntropyBackward0"
    statement = "result = -(target·ln input + (1 - target)·ln(1 - input)), averaged"
    formula = {"input": "(input - target) / (input·(1 - input)), divided by n for the mean"}  # noqa: RUF012

    @staticmethod
    def forward(ctx, x, target=None, weight=None, reduction="mean"):
        if np.any((x < 0) | (x > 1)) or np.any(np.isnan(x)):
            raise RuntimeError("all elements of input should be between 0 and 1")
        ctx.save_for_backward(x)
        one, floor = x.dtype.type(1), x.dtype.type(-100)
        with np.errstate(divide="ignore"):
            # ATen clamps each log at -100 so that a confident wrong answer costs 100, not inf
            loss = (target - one) * np.maximum(_log1p(-x), floor) - target * np.maximum(_log(x), floor)
        if weight is not None:
            loss = loss * weight
        return _reduce(loss.astype(x.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        p = ctx.params
        t, w = p["target"], p.get("weight")
        grad = g * (x - t) / _at_least((1 - x) * x, 1e-12)
        if w is not None:
            grad = grad * w
        if p["reduction"] == "mean":
            grad = grad / int(np.prod(ctx.inputs[0].shape))
        return (grad,)


class _BinaryCrossEntropyWithLogits(Function):
    name = "BinaryCrossEntropyWithLogitsBackward0"
    statement = "result = BCE(σ(input), target), averaged"
    formula = {"input": "σ(input) - target, divided by n for the mean"}  # noqa: RUF012

    @staticmethod
    def forward(ctx, x, target=None, weight=None, pos_weight=None, reduction="mean"):
        ctx.save_for_backward(x)
        # log(sigmoid(x)) without overflow: min(x, 0) - log1p(exp(-|x|))
        log_sig = np.minimum(x, x.dtype.type(0)) - _log1p(_exp(-np.abs(x)))
        if pos_weight is not None:
            log_sig = log_sig * ((pos_weight - 1) * target + 1)
        loss = (1 - target) * x - log_sig
        if weight is not None:
            loss = loss * weight
        return _reduce(loss.astype(x.dtype, copy=False), reduction)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        p = ctx.params
        t, w, pw = p["target"], p.get("weight"), p.get("pos_weight")
        if pw is not None:
            pt = pw * t
            grad = ((pt + 1 - t) * _sigmoid(x) - pt) * g
        else:
            grad = (_sigmoid(x) - t) * g
        if w is not None:
            grad = grad * w
        if p["reduction"] == "mean":
            grad = grad / int(np.prod(ctx.inputs[0].shape))
        if not _is_tensor(grad) and grad.shape != tuple(ctx.inputs[0].shape):  # a broadcast weight widened it
            grad = _sum_to(grad, tuple(ctx.inputs[0].shape))
        return (grad,)


def _sum_to(g: np.ndarray, shape: tuple) -> np.ndarray:
    while g.ndim > len(shape):
        g = g.sum(0)
    for i, s in enumerate(shape):
        if s == 1 and g.shape[i] != 1:
            g = g.sum(i, keepdims=True)
    return g


def _arr(t: Tensor | None, dtype: np.dtype) -> np.ndarray | None:
    if t is None:
        return None
    _no_target_grad(t)
    return np.asarray(t.detach().numpy(), dtype=dtype)


def _no_target_grad(t: Tensor) -> None:
    if t.requires_grad:
        # a silently missing gradient would teach the wrong thing: refuse instead
        raise NotImplementedError(
            "gradviz does not differentiate binary cross entropy with respect to its target"
        )


def binary_cross_entropy(
    input: Tensor, target: Tensor, weight: Tensor | None = None, reduction: str = "mean"
) -> Tensor:
    """Mean of ``-(t log x + (1 - t) log(1 - x))``, each log clamped at -100 as in PyTorch."""
    _check_reduction(reduction)
    if target.shape != input.shape:
        raise ValueError(
            f"Using a target size ({target.shape}) that is different to the input size ({input.shape}) "
            "is deprecated. Please ensure they have the same size."
        )
    dt = input.numpy(force=True).dtype
    return _BinaryCrossEntropy.apply(
        input, target=_arr(target, dt), weight=_arr(weight, dt), reduction=reduction
    )


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """``binary_cross_entropy(sigmoid(input), target)`` computed stably from the logits."""
    _check_reduction(reduction)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    dt = input.numpy(force=True).dtype
    return _BinaryCrossEntropyWithLogits.apply(
        input,
        target=_arr(target, dt),
        weight=_arr(weight, dt),
        pos_weight=_arr(pos_weight, dt),
        reduction=reduction,
    )


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean absolute error, recorded as PyTorch records it (SubBackward0, AbsBackward0, MeanBackward0)."""
    _check_reduction(reduction)
    if target.shape != input.shape:
        import warnings

        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size ({input.shape}). "
            "This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.",
            stacklevel=2,
        )
    loss = (input - target).abs()
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Class indices to int64 rows with a single 1."""
    if tensor.dtype is not int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    idx = tensor.numpy()
    if num_classes == -1:
        if idx.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(idx.max()) + 1
    if idx.size and idx.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if idx.size and idx.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    out = np.zeros((*idx.shape, num_classes), np.int64)
    np.put_along_axis(out, idx[..., None], 1, axis=-1)
    return from_numpy(out)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    The mask is PyTorch's for the same seed: ATen's CPU ``bernoulli_(1 - p)`` keeps an element
    when a double uniform (two 32-bit draws) is below ``1 - p``.
    """
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if inplace:
        raise NotImplementedError("gradviz's dropout has no in-place form yet (inplace=True)")
    if p == 0 or not training or input.numel() == 0:
        return input
    if p == 1:
        return input * zeros((), dtype=input.dtype)
    dt = input.numpy(force=True).dtype
    keep = rand(input.numel(), dtype=float64).numpy() < 1 - p
    noise = keep.astype(dt).reshape(input.shape) / dt.type(1 - p)
    return input * from_numpy(noise)


def _channel_axes(ndim: int) -> tuple[int, ...]:
    return (0, *range(2, ndim))


def _per_channel(v: np.ndarray, ndim: int) -> np.ndarray:
    return v.reshape((1, -1) + (1,) * (ndim - 2))


class _BatchNorm(Function):
    """Normalise each channel; batch statistics in training, the given ones (``mean``,
    ``invstd``) in eval. Inputs: x, then weight and bias when the layer is affine."""

    name = "NativeBatchNormBackward0"
    derivative = (
        "result = (input - mean) / √(var + eps)·weight + bias over the batch: ∂L/∂bias = Σ ∂L/∂result, "
        "∂L/∂weight = Σ ∂L/∂result·x̂, ∂L/∂input goes through the batch's mean and variance too"
    )

    @staticmethod
    def forward(ctx, x, *affine, mean=None, invstd=None, training=True, eps=1e-5):
        axes = _channel_axes(x.ndim)
        if training:
            x64 = x.astype(np.float64)
            m = x64.mean(axes)
            istd = 1 / np.sqrt(x64.var(axes) + eps)
        else:
            m, istd = mean.astype(np.float64), invstd.astype(np.float64)
        ctx.stats = (m, istd)
        ctx.save_for_backward(x, *affine)
        alpha = istd if not affine else istd * affine[0].astype(np.float64)
        beta = -m * alpha if not affine else affine[1].astype(np.float64) - m * alpha
        out = x.astype(np.float64) * _per_channel(alpha, x.ndim) + _per_channel(beta, x.ndim)
        return out.astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        saved = ctx.saved_tensors
        if _is_tensor(g):
            raise NotImplementedError("gradviz's batch_norm has no double backward yet (create_graph=True)")
        x, affine = saved[0], saved[1:]
        m, istd = ctx.stats
        nd = x.ndim
        axes = _channel_axes(nd)
        g64 = g.astype(np.float64)
        xhat = (x.astype(np.float64) - _per_channel(m, nd)) * _per_channel(istd, nd)
        w = affine[0].astype(np.float64) if affine else np.ones_like(m)
        dxhat = g64 * _per_channel(w, nd)
        if ctx.params["training"]:
            n = x.size // x.shape[1]
            dx = _per_channel(istd / n, nd) * (
                n * dxhat
                - _per_channel(dxhat.sum(axes), nd)
                - xhat * _per_channel((dxhat * xhat).sum(axes), nd)
            )
        else:
            dx = dxhat * _per_channel(istd, nd)
        grads = [dx.astype(x.dtype)]
        if affine:
            grads += [(g64 * xhat).sum(axes).astype(x.dtype), g64.sum(axes).astype(x.dtype)]
        return tuple(grads)


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalisation; in training, also moves the running statistics (unbiased variance)."""
    if training:
        size = input.shape
        n = size[0] * int(np.prod(size[2:], dtype=np.int64))
        if n == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {size}")
    channels = input.shape[1]
    for name, t in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        if t is not None and t.numel() != channels:
            raise RuntimeError(f"{name} should contain {channels} elements not {t.numel()}")
    x = input.numpy(force=True)
    affine = (
        () if weight is None else (weight, bias if bias is not None else zeros(channels, dtype=input.dtype))
    )
    if training or running_mean is None:
        out = _BatchNorm.apply(input, *affine, training=True, eps=eps)
        if training and running_mean is not None:
            axes = _channel_axes(x.ndim)
            x64 = x.astype(np.float64)
            mean, var = x64.mean(axes), x64.var(axes, ddof=1)
            for buf, stat in ((running_mean, mean), (running_var, var)):
                old = buf.numpy(force=True)
                new = (1 - momentum) * old.astype(np.float64) + momentum * stat
                with _no_grad():
                    buf.copy_(from_numpy(new.astype(old.dtype)))
        return out
    rv = running_var.numpy(force=True).astype(np.float64)
    return _BatchNorm.apply(
        input,
        *affine,
        mean=running_mean.numpy(force=True),
        invstd=1 / np.sqrt(rv + eps),
        training=False,
        eps=eps,
    )


def _no_grad():
    from ..engine import no_grad

    return no_grad()


class _Embedding(Function):
    name = "EmbeddingBackward0"
    derivative = "result = weight[indices]: ∂L/∂weight = ∂L/∂result added into the rows that were looked up"

    @staticmethod
    def forward(ctx, weight, indices=None, padding_idx=None):
        return weight[indices]

    @staticmethod
    def backward(ctx, g):
        if _is_tensor(g):
            raise NotImplementedError("gradviz's embedding has no double backward yet (create_graph=True)")
        p = ctx.params
        shape = tuple(ctx.inputs[0].shape)
        grad = np.zeros(shape, dtype=g.dtype)
        idx = p["indices"].reshape(-1)
        np.add.at(grad, idx, g.reshape(idx.size, shape[1]))  # repeated indices add up
        if p["padding_idx"] is not None:
            grad[p["padding_idx"]] = 0
        return (grad,)


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    **kwargs: Any,
) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input``; the padding row takes no gradient."""
    if max_norm is not None or any(kwargs.values()):
        raise NotImplementedError("gradviz's embedding has no max_norm, scale_grad_by_freq or sparse yet")
    if input.dtype.is_floating_point:
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; "
            f"but got {input.type()} instead (while checking arguments for embedding)"
        )
    idx = input.numpy().astype(np.int64)
    n = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexError("index out of range in self")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += n
    # TODO(engine): note ``input`` as a non-differentiable input, so the Tensors view draws it
    return _Embedding.apply(weight, indices=idx, padding_idx=padding_idx)
