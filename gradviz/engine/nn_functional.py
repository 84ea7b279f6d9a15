"""``gradviz.nn.functional``: activations, losses and ``linear``, built from engine ops."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import creation, dual, registry
from .creation import from_numpy, rand, zeros
from .dtypes import float64, int64
from .function import Function, composite, note_nondiff_inputs
from .ops import addmm, log_softmax, matmul, relu, sigmoid, softmax, tanh
from .ops._util import SCALAR_NAMES, broadcast_shape
from .ops.pointwise import _sigmoid, erf_array
from .tensor import Tensor

# torch.softmax is a C++ op, F.softmax a Python function: only the first takes numpy's axis=.
softmax = softmax.__wrapped__
log_softmax = log_softmax.__wrapped__

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
    size_rule="matmul_t",  # input @ weight.T (+ bias)
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


# --- losses and layers of the first weeks: BCE, L1, one_hot, dropout, batch_norm, embedding ---
# PyTorch's own names: `input` arguments.
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


def _sigmoid_of(x: Any) -> Any:
    # backward runs on arrays, or on Tensors when create_graph=True records it
    if _is_tensor(x):
        return x.sigmoid()
    one = x.dtype.type(1)
    return one / (one + _exp(-x))


def _at_least(x: Any, eps: float) -> Any:
    return x.clamp(min=eps) if _is_tensor(x) else np.maximum(x, x.dtype.type(eps))


class BinaryCrossEntropy(Function):
    name = "BinaryCrossEntropyBackward0"
    statement = "result = -(target·ln input + (1 - target)·ln(1 - input)), averaged"
    formula = {"input": "(input - target) / (input·(1 - input)), divided by n for the mean"}  # noqa: RUF012

    @staticmethod
    def forward(ctx, x, _target, target=None, weight=None, reduction="mean"):  # _target: the edge
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
        return grad, None


class BinaryCrossEntropyWithLogits(Function):
    name = "BinaryCrossEntropyWithLogitsBackward0"
    statement = "result = BCE(σ(input), target), averaged"
    formula = {"input": "σ(input) - target, divided by n for the mean"}  # noqa: RUF012

    @staticmethod
    def forward(ctx, x, _target, target=None, weight=None, pos_weight=None, reduction="mean"):
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
            grad = ((pt + 1 - t) * _sigmoid_of(x) - pt) * g
        else:
            grad = (_sigmoid_of(x) - t) * g
        if w is not None:
            grad = grad * w
        if p["reduction"] == "mean":
            grad = grad / int(np.prod(ctx.inputs[0].shape))
        if not _is_tensor(grad) and grad.shape != tuple(ctx.inputs[0].shape):  # a broadcast weight widened it
            grad = _sum_to(grad, tuple(ctx.inputs[0].shape))
        return grad, None


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


@registry.op(
    syntax=("F",),
    category="loss",
    operands=("input", "target", "weight"),
    min_operands=2,
    variadic=True,
    size_rule="same",
    params=(registry.Param("reduction", "choice", "mean", ("mean", "sum", "none")),),
    nodes=(BinaryCrossEntropy,),
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
    return BinaryCrossEntropy.apply(
        input, target, target=_arr(target, dt), weight=_arr(weight, dt), reduction=reduction
    )


@registry.op(
    syntax=("F",),
    category="loss",
    operands=("input", "target", "weight", "pos_weight"),
    min_operands=2,
    variadic=True,
    size_rule="same",
    params=(registry.Param("reduction", "choice", "mean", ("mean", "sum", "none")),),
    nodes=(BinaryCrossEntropyWithLogits,),
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
    return BinaryCrossEntropyWithLogits.apply(
        input,
        target,
        target=_arr(target, dt),
        weight=_arr(weight, dt),
        pos_weight=_arr(pos_weight, dt),
        reduction=reduction,
    )


@registry.op(
    syntax=("F",),
    category="loss",
    operands=("input", "target"),
    size_rule="broadcast",
    params=(registry.Param("reduction", "choice", "mean", ("mean", "sum", "none")),),
    statement="result = mean |input - target|",
    text="∂result/∂input = sign(input - target)/n, ∂result/∂target = -sign(input - target)/n",
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


@registry.op(
    syntax=("F",),
    catalogue=False,
    operands=("tensor",),
    statement="result[..., c] = 1 where tensor == c",
    text="not differentiable (an integer result)",
)
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


@registry.op(
    syntax=("F",),
    catalogue=False,
    category="nn",
    statement="result = input·mask/(1 - p), mask ~ Bernoulli(1 - p)",
    formula={"input": "mask/(1 - p)"},
)
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


class BatchNorm(Function):
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


@registry.op(
    syntax=("F",),
    catalogue=False,
    category="nn",
    operands=("input", "running_mean", "running_var", "weight", "bias"),
    min_operands=3,
    nodes=(BatchNorm,),
)
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
    # torch's node has an edge for weight and bias even when they are None: constants stand in.
    affine = (
        weight if weight is not None else creation.ones(channels, dtype=input.dtype),
        bias if bias is not None else zeros(channels, dtype=input.dtype),
    )
    if training or running_mean is None:
        out = BatchNorm.apply(input, *affine, training=True, eps=eps)
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
    return BatchNorm.apply(
        input,
        *affine,
        mean=running_mean.numpy(force=True),
        invstd=1 / np.sqrt(rv + eps),
        training=False,
        eps=eps,
    )


def _no_grad() -> Any:
    from .grad_mode import no_grad

    return no_grad()


class Embedding(Function):
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


@registry.op(
    syntax=("F",),
    catalogue=False,
    category="nn",
    operands=("input", "weight"),
    nodes=(Embedding,),
)
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
    return Embedding.apply(weight, indices=idx, padding_idx=padding_idx)
