"""``gradviz.nn.functional``: activations, losses and ``linear``, built from engine ops."""

from __future__ import annotations

import numpy as np

from .function import Function, composite, note_nondiff_inputs
from .ops import addmm, log_softmax, matmul, relu, sigmoid, softmax, tanh
from .ops._util import broadcast_shape
from .tensor import Tensor

__all__ = [
    "cross_entropy",
    "linear",
    "log_softmax",
    "mse_loss",
    "nll_loss",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
]


def _linear_call(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> tuple[tuple, dict]:
    return (input, weight) if bias is None else (input, weight, bias), {}


@composite("linear", _linear_call)
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias``, recorded as PyTorch records it (AddmmBackward0 when it can)."""
    nd = input._data.ndim
    if nd == 0 or weight._data.ndim == 0:
        raise RuntimeError(
            f"both arguments to linear need to be at least 1D, but they are {nd}D and {weight._data.ndim}D"
        )
    if nd == 2 and bias is not None:
        return addmm(bias, input, weight.t())
    if bias is not None and input._data.flags.c_contiguous and (nd == 3 or bias._data.ndim == 1):
        # PyTorch's _flatten_nd_linear: fold the leading dimensions into one addmm.
        lead = input._data.shape[:-1]
        flat = input.reshape(int(np.prod(lead, dtype=np.int64)), input._data.shape[-1])
        out = addmm(bias, flat, weight.t())
        return out.view(*lead, out._data.shape[1])
    out = matmul(input, weight.t())
    return out + bias if bias is not None else out


class MseLoss(Function):
    name = "MseLossBackward0"

    @staticmethod
    def forward(ctx, a, b, reduction="mean"):
        ctx.save_for_backward(a, b)
        d = (a - b) ** 2
        return np.asarray(
            d.mean() if reduction == "mean" else d.sum() if reduction == "sum" else d, dtype=a.dtype
        )

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        r = ctx.params["reduction"]
        n = ctx.inputs[0]._data.size
        grad = 2 * (a - b) * g
        if r == "mean":
            grad = grad / n
        return grad, -grad


def _mse_call(input: Tensor, target: Tensor, reduction: str = "mean") -> tuple[tuple, dict]:
    return (input, target), {"reduction": reduction}


@composite("mse_loss", _mse_call)
def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """One MseLossBackward0, after an ExpandBackward0 per operand when the shapes differ."""
    if input.shape != target.shape:
        import warnings

        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size ({input.shape}). "
            "This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.",
            stacklevel=3,  # the caller's line, past the composite wrapper
        )
        shape = broadcast_shape(input._data.shape, target._data.shape)
        # As torch.broadcast_tensors: an operand that already has the shape is used as it is
        # (no ExpandBackward0 for it).
        input = input if input._data.shape == shape else input.expand(shape)
        target = target if target._data.shape == shape else target.expand(shape)
    return MseLoss.apply(input, target, reduction=reduction)


class NllLoss(Function):
    name = "NllLossBackward0"
    derivative = "∂L/∂input = -1/n at each target class, 0 elsewhere"
    operands = ("input", "target")

    @staticmethod
    def forward(ctx, logp, target=None, reduction="mean", ignore_index=-100):
        n_cls = logp.shape[1] if logp.ndim > 1 else logp.shape[0]
        valid = target != ignore_index
        tv = target[valid]
        if tv.size and (tv.min() < 0 or tv.max() >= n_cls):
            bad = int(tv[(tv < 0) | (tv >= n_cls)][0])
            raise IndexError(f"Target {bad} is out of bounds.")
        safe = np.where(valid, target, 0)
        if logp.ndim == 2:
            picked = logp[np.arange(safe.shape[0]), safe]
        elif logp.ndim > 2:
            picked = np.take_along_axis(logp, np.expand_dims(safe, 1), axis=1).squeeze(1)
        else:
            picked = logp[safe]
        losses = -picked * valid
        if reduction == "none":
            return np.asarray(losses, dtype=logp.dtype)
        total = losses.sum()
        if reduction == "sum":
            return np.asarray(total, dtype=logp.dtype)
        return np.asarray(total / valid.sum(), dtype=logp.dtype)

    @staticmethod
    def backward(ctx, g):
        from . import dual

        logp_shape = ctx.inputs[0]._data.shape
        target, r, ign = ctx.params["target"], ctx.params["reduction"], ctx.params["ignore_index"]
        valid = target != ign
        safe = np.where(valid, target, 0)
        if len(logp_shape) > 1:
            idx = (np.arange(logp_shape[0]), safe)
        else:
            idx = (safe,)
        w = -valid.astype(ctx.inputs[0]._data.dtype)
        if r == "mean":
            w = w / max(int(valid.sum()), 1)
        gw = g * w
        if dual._is_array(gw):
            # One target per row, so no position repeats: assign instead of np.add.at (slow).
            # Rows whose target is ignored stay +0, as in PyTorch.
            out = np.zeros(logp_shape, dtype=gw.dtype)
            if valid.all():
                out[idx] = gw
            else:
                out[tuple(i[valid] for i in idx)] = gw[valid]
            return (out,)
        return (dual.index_add_zeros(gw, idx, logp_shape),)


def nll_loss(input: Tensor, target: Tensor, reduction: str = "mean", ignore_index: int = -100) -> Tensor:
    t = target._data
    if t.dtype not in (np.int64, np.uint8):
        from .ops._util import SCALAR_NAMES

        raise RuntimeError(
            f"expected target dtype to be Long or Byte, but got {SCALAR_NAMES.get(t.dtype.name, t.dtype.name)}"
        )
    if input._data.ndim > 1 and input._data.shape[0] != t.shape[0]:
        raise ValueError(
            f"Expected input batch_size ({input._data.shape[0]}) to match target batch_size ({t.shape[0]})."
        )
    out = NllLoss.apply(input, target=t.astype(np.int64), reduction=reduction, ignore_index=ignore_index)
    return note_nondiff_inputs(out, (target,))


class _DivScalar(Function):
    """``tensor / number`` as PyTorch's C++ code records it."""

    name = "DivBackward1"
    derivative = "result = input / c: ∂result/∂input = 1/c"

    @staticmethod
    def forward(ctx, a, other=1):
        return np.asarray(a / np.asarray(other, dtype=a.dtype))

    @staticmethod
    def backward(ctx, g):
        return (g / ctx.params["other"],)


def _loss_call(
    input: Tensor, target: Tensor, reduction: str = "mean", ignore_index: int = -100
) -> tuple[tuple, dict]:
    return (input, target), {"reduction": reduction, "ignore_index": ignore_index}


@composite("cross_entropy", _loss_call)
def cross_entropy(input: Tensor, target: Tensor, reduction: str = "mean", ignore_index: int = -100) -> Tensor:
    """``nll_loss(log_softmax(input, 1), target)`` for class-index targets."""
    if target.dtype.is_floating_point:
        # Class probabilities as targets.
        class_dim = 1 if input.dim() > 1 else 0
        logp = log_softmax(input, class_dim)
        if reduction == "none":
            return -(logp * target).sum(class_dim)
        loss = -(logp * target).sum()
        if reduction == "mean":
            return _DivScalar.apply(loss, other=input._data.size // input._data.shape[class_dim])
        return loss
    return nll_loss(
        log_softmax(input, 1 if input.dim() > 1 else 0),
        target,
        reduction=reduction,
        ignore_index=ignore_index,
    )
