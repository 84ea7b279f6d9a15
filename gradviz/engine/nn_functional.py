"""``gradviz.nn.functional``: activations, losses and ``linear``, built from engine ops."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import dual, registry
from .function import Function, composite, note_nondiff_inputs
from .ops import addmm, log_softmax, matmul, relu, sigmoid, softmax, tanh
from .ops._util import SCALAR_NAMES, broadcast_shape
from .ops.pointwise import _sigmoid, erf_array
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


@registry.op(
    statement="result = input·weightᵀ + bias",
    syntax=("F",),
    operands=("input", "weight", "bias"),
    min_operands=2,
    variadic=True,
    category="nn",
    size_rule="matmul",
    text="result = input·weightᵀ + bias: ∂L/∂input = ∂L/∂result·weight, ∂L/∂weight = (∂L/∂result)ᵀ·input, ∂L/∂bias = Σ ∂L/∂result",
)
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


@registry.op(
    statement="result = mean((input - target)²)",
    syntax=("F",),
    operands=("input", "target"),
    category="loss",
    size_rule="broadcast",
    params=(registry.Param("reduction", "choice", "mean", ("mean", "sum", "none")),),
    nodes=(MseLoss,),
    adjoint=True,
    formula={"input": "2·(input - target)/n"},
)
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


@registry.op(
    statement="result = -mean(input at target)",
    syntax=("F",),
    operands=("input", "target"),
    category="loss",
    size_rule="max",
    params=(registry.Param("reduction", "choice", "mean", ("mean", "sum", "none")),),
    nodes=(NllLoss,),
    adjoint=True,
    formula={"input": "-1/n at each target class, 0 elsewhere"},
)
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


@registry.op(
    statement="result = -mean(log softmax(input) at target)",
    syntax=("F",),
    operands=("input", "target"),
    category="loss",
    size_rule="max",
    params=(registry.Param("reduction", "choice", "mean", ("mean", "sum", "none")),),
    adjoint=True,
    formula={"input": "(softmax(input) - onehot(target))/n"},
)
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


# --- activations ---------------------------------------------------------------------------------
def _float_only(kernel: str, a: np.ndarray) -> None:
    if a.dtype.kind != "f":
        raise NotImplementedError(
            f"\"{kernel}\" not implemented for '{SCALAR_NAMES.get(a.dtype.name, a.dtype.name)}'"
        )


def _number(op: str, name: str, position: int | None, v: Any) -> None:
    """torch's TypeError; it names the position of an argument given by position, which a
    Python function cannot tell: ``position`` is for the way the argument is usually given."""
    if isinstance(v, bool) or not isinstance(v, (int, float, np.number)):
        where = f" (position {position})" if position else ""
        raise TypeError(f"{op}(): argument '{name}'{where} must be Number, not {type(v).__name__}")


def _no_inplace(op: str, inplace: bool) -> None:
    if inplace:
        raise NotImplementedError(f"gradviz: {op}(inplace=True) is not supported; use inplace=False")


def _in_double(fn: Any, a: np.ndarray) -> np.ndarray:
    """``fn`` computed in float64 and rounded to ``a``'s dtype (torch computes half in float)."""
    with np.errstate(all="ignore"):
        return np.asarray(fn(np.asarray(a, dtype=np.float64)), dtype=a.dtype)


def _erf_any(x: Any) -> Any:
    return erf_array(np.asarray(x)) if dual._is_array(x) else x.erf()


def _sigmoid_any(x: Any) -> Any:
    return _sigmoid(np.asarray(x)) if dual._is_array(x) else x.sigmoid()


_SQRT_2_PI = math.sqrt(2 / math.pi)  # tanh approximation: tanh(√(2/π)·(x + 0.044715·x³))


class Gelu(Function):
    name = "GeluBackward0"
    # approximate='tanh' stands Φ(x) in by 0.5·(1 + tanh(√(2/π)·(x + 0.044715·x³))), as torch.
    statement = "result = input·Φ(input), Φ the standard normal CDF"
    formula = {"input": "Φ(input) + input·φ(input), φ the standard normal density"}  # noqa: RUF012

    @staticmethod
    def forward(ctx, a, approximate="none"):
        _float_only("GeluKernelImpl", a)
        ctx.save_for_backward(a)
        if approximate == "tanh":
            return _in_double(lambda x: 0.5 * x * (1 + np.tanh(_SQRT_2_PI * (x + 0.044715 * x**3))), a)
        return _in_double(lambda x: 0.5 * x * (1 + erf_array(x / math.sqrt(2))), a)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if ctx.params.get("approximate", "none") == "tanh":
            t = dual.unary("tanh", (x + x * x * x * 0.044715) * _SQRT_2_PI)
            d = (t + 1) * 0.5 + x * 0.5 * (1 - t * t) * _SQRT_2_PI * (x * x * (3 * 0.044715) + 1)
        else:
            cdf = (_erf_any(x * (1 / math.sqrt(2))) + 1) * 0.5
            d = cdf + x * dual.unary("exp", x * x * -0.5) * (1 / math.sqrt(2 * math.pi))
        return (g * d,)


@registry.op(
    syntax=("F",),
    nodes=(Gelu,),
    category="activation",
    params=(registry.Param("approximate", "choice", "none", ("none", "tanh")),),
)
def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    if not isinstance(approximate, str):
        raise TypeError(f"gelu(): argument 'approximate' must be str, not {type(approximate).__name__}")
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    if approximate == "none":
        return Gelu.apply(input)
    return Gelu.apply(input, approximate=approximate)


class Silu(Function):
    name = "SiluBackward0"
    statement = "result = input·σ(input)"
    formula = {"input": "σ(input)·(1 + input·(1 - σ(input)))"}  # noqa: RUF012

    @staticmethod
    def forward(ctx, a):
        _float_only("silu_cpu", a)
        ctx.save_for_backward(a)
        return _in_double(lambda x: x * _sigmoid(x), a)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        s = _sigmoid_any(x)
        return (g * s * (x * (1 - s) + 1),)


@registry.op(syntax=("F",), nodes=(Silu,), category="activation")
def silu(input: Tensor, inplace: bool = False) -> Tensor:
    _no_inplace("silu", inplace)
    return Silu.apply(input)


class LeakyRelu(Function):
    name = "LeakyReluBackward0"
    statement = "result = input where input > 0, else negative_slope·input"
    formula = {"input": "1 where input > 0, else negative_slope"}  # noqa: RUF012

    @staticmethod
    def forward(ctx, a, negative_slope=0.01):
        _float_only("leaky_relu_cpu", a)
        ctx.save_for_backward(a)
        return np.asarray(np.where(a > 0, a, a * np.asarray(negative_slope, a.dtype)))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        slope = ctx.params.get("negative_slope", 0.01)
        return (dual.where(x > 0, g, g * slope),)


@registry.op(
    syntax=("F",),
    nodes=(LeakyRelu,),
    category="activation",
    params=(registry.Param("negative_slope", "number", 0.01),),
)
def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    _number("leaky_relu", "negative_slope", 2, negative_slope)
    _no_inplace("leaky_relu", inplace)
    return LeakyRelu.apply(input, negative_slope=negative_slope)


class Softplus(Function):
    name = "SoftplusBackward0"
    statement = "result = ln(1 + e^(beta·input))/beta, or input where beta·input > threshold"
    formula = {"input": "σ(beta·input), or 1 where beta·input > threshold"}  # noqa: RUF012

    @staticmethod
    def forward(ctx, a, beta=1.0, threshold=20.0):
        _float_only("softplus_cpu", a)
        ctx.save_for_backward(a)
        return _in_double(lambda x: np.where(x * beta > threshold, x, np.log1p(np.exp(x * beta)) / beta), a)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        beta, threshold = ctx.params["beta"], ctx.params["threshold"]
        with np.errstate(all="ignore"):
            z = dual.unary("exp", x * beta)
            return (dual.where(x * beta > threshold, g, g * z / (z + 1)),)


@registry.op(
    syntax=("F",),
    nodes=(Softplus,),
    category="activation",
    params=(registry.Param("beta", "number", 1.0), registry.Param("threshold", "number", 20.0)),
)
def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    _number("softplus", "beta", None, beta)  # usually given by keyword
    _number("softplus", "threshold", None, threshold)
    return Softplus.apply(input, beta=beta, threshold=threshold)
