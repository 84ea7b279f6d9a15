"""Elementwise ops with broadcasting: arithmetic, maths functions, activations, comparisons."""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

from .. import dtypes, dual, registry
from ..function import Function, composite, note_nondiff_inputs
from ..tensor import Tensor
from ._util import SCALAR_NAMES, broadcast_shape, cast, float_dtype, operands, wrap_scalar

__all__ = ["wrap_scalar"]  # and every op registered below (see registry.op)


def _bshape(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        broadcast_shape(a.shape, b.shape)


def _broadcast_error(a: np.ndarray, b: np.ndarray, error: ValueError) -> None:
    """Re-raise numpy's failure to broadcast as PyTorch's RuntimeError (checking the shapes
    only after numpy failed keeps the check off the hot path)."""
    try:
        broadcast_shape(a.shape, b.shape)
    except RuntimeError as e:
        raise e from None
    raise error


# --- binary arithmetic -------------------------------------------------------------------------
class Add(Function):
    name = "AddBackward0"

    @staticmethod
    def forward(ctx, a, b, dtype=None, alpha=1):
        if dtype is not None:
            a, b = cast(a, dtype), cast(b, dtype)
        # Operators, not ufunc calls: much cheaper on the numpy scalars that 0-d results become.
        try:
            return a + b if alpha == 1 else a + b * alpha
        except ValueError as e:
            _broadcast_error(a, b, e)

    @staticmethod
    def backward(ctx, g):
        alpha = ctx.params.get("alpha", 1) if ctx.params else 1
        return g, (g if alpha == 1 else g * alpha)


class Sub(Function):
    name = "SubBackward0"

    @staticmethod
    def forward(ctx, a, b, dtype=None, alpha=1):
        _bshape(a, b)
        _sub_check(a, b)
        return np.subtract(cast(a, dtype), cast(b, dtype) * alpha if alpha != 1 else cast(b, dtype))

    @staticmethod
    def backward(ctx, g):
        alpha = ctx.params.get("alpha", 1)
        return g, -g if alpha == 1 else g * -alpha


def _sub_check(a: np.ndarray, b: np.ndarray) -> None:
    if a.dtype == np.bool_ and b.dtype == np.bool_:
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. "
            "Use the `^` or `logical_xor()` operator instead."
        )
    if a.dtype == np.bool_ or b.dtype == np.bool_:
        raise RuntimeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported. "
            "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )


class Rsub(Function):
    """``scalar - tensor``: one tensor input, as in PyTorch."""

    name = "RsubBackward1"
    derivative = "result = c - input: ∂result/∂input = -1"

    @staticmethod
    def forward(ctx, a, other=0):
        _sub_check(a, np.asarray(other))
        return np.subtract(np.asarray(other, dtype=a.dtype), a)

    @staticmethod
    def backward(ctx, g):
        return (-g,)


class Mul(Function):
    name = "MulBackward0"

    @staticmethod
    def forward(ctx, a, b, dtype=None):
        # Save each factor only if the other's gradient needs it (PyTorch does the same, so an
        # in-place change of an unneeded factor is no error).
        need = ctx.needs_input_grad
        ctx.save_for_backward(a if need[1] else None, b if need[0] else None)
        if dtype is not None:
            a, b = cast(a, dtype), cast(b, dtype)
        try:
            return a * b
        except ValueError as e:
            _broadcast_error(a, b, e)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return (None if b is None else g * b), (None if a is None else g * a)


class Div(Function):
    name = "DivBackward0"

    @staticmethod
    def forward(ctx, a, b, dtype=None):
        _bshape(a, b)
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)
        dt = dtype or a.dtype
        out_dt = dt if np.dtype(dt).kind == "f" else float_dtype(a)
        with np.errstate(all="ignore"):
            return np.true_divide(cast(a, out_dt), cast(b, out_dt))

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g / b, (None if a is None else -g * a / (b * b))


class Reciprocal(Function):
    name = "ReciprocalBackward0"
    statement = "result = 1/input"
    formula = {"input": "-1/input²"}  # noqa: RUF012

    @staticmethod
    def forward(ctx, a):
        with np.errstate(all="ignore"):
            out = np.asarray(np.reciprocal(cast(a, float_dtype(a))))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return (-g * out * out,)


class PowScalar(Function):
    """``tensor ** number``."""

    name = "PowBackward0"
    derivative = "result = input^c: ∂result/∂input = c·input^(c-1)"

    @staticmethod
    def forward(ctx, a, exponent=1.0):
        ctx.save_for_backward(a)
        if a.dtype.kind in "iub" and isinstance(exponent, int) and exponent < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        if isinstance(exponent, float) and a.dtype.kind in "iub":
            a = a.astype(float_dtype(a))
        with np.errstate(all="ignore"):
            return np.power(a, np.asarray(exponent, dtype=a.dtype))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        e = ctx.params["exponent"]
        if e == 0:
            return (g * 0,)
        return (g * e * a ** (e - 1),)


class Pow(Function):
    """``tensor ** tensor``."""

    name = "PowBackward1"

    @staticmethod
    def forward(ctx, a, b, dtype=None):
        _bshape(a, b)
        with np.errstate(all="ignore"):
            out = np.asarray(np.power(cast(a, dtype), cast(b, dtype)))
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        # d/da a^b = b a^(b-1), 0 where b == 0; d/db a^b = a^b log a, 0 where a == 0 and b >= 0 (as PyTorch).
        ga = g * b * a ** (b - 1)
        ga = dual.where(b == 0, dual.zeros_like(ga), ga)
        gb = g * out * dual.unary("log", a * 1.0)
        gb = dual.where((a == 0) * (b >= 0), dual.zeros_like(gb), gb)
        return ga, gb


class RPow(Function):
    """``number ** tensor``."""

    name = "PowBackward2"
    derivative = "result = c^exponent: ∂result/∂exponent = c^exponent·ln c"

    @staticmethod
    def forward(ctx, b, base=1.0):
        dt = float_dtype(b) if isinstance(base, float) else b.dtype
        with np.errstate(all="ignore"):
            out = np.asarray(np.power(np.asarray(base, dtype=dt), cast(b, dt)))
        # PyTorch saves the exponent too, so changing it in place breaks backward there as well.
        ctx.save_for_backward(b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        _, out = ctx.saved_tensors
        base = ctx.params["base"]
        if base == 0:  # PyTorch: zero where base == 0 and exponent >= 0
            (b,) = ctx.inputs
            gb = g * out * -np.inf
            return (dual.where(b._data >= 0, dual.zeros_like(gb), gb),)
        return (g * out * float(np.log(base)),)


class Neg(Function):
    name = "NegBackward0"

    @staticmethod
    def forward(ctx, a):
        if a.dtype == np.bool_:
            raise RuntimeError(
                "Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
                "to invert a mask, use the `~` or `logical_not()` operator instead."
            )
        return np.negative(a)

    @staticmethod
    def backward(ctx, g):
        return (-g,)


@registry.op(
    statement="result = input + other",
    operands=("input", "other"),
    scalar_operands=True,
    category="arithmetic",
    size_rule="broadcast",
    symbol="+",
    nodes=(Add,),
    call=operator.add,
    formula={"input": "1", "other": "1"},
)
def add(a: Any, b: Any, *, alpha: Any = 1) -> Tensor:
    # Fast path: two tensors of one dtype need no promotion.
    if type(a) is Tensor and type(b) is Tensor and alpha == 1 and a._data.dtype is b._data.dtype:
        return Add._apply2(a, b)
    x, y, dt = operands(a, b)
    if alpha != 1:
        return Add.apply(x, y, dtype=dt, alpha=alpha)
    return Add.apply(x, y, dtype=dt)


def _sub_check_operands(a: Any, b: Any) -> None:
    """PyTorch refuses ``-`` whenever a bool is involved, a Python ``True`` included."""

    def is_bool(x: Any) -> bool:
        if isinstance(x, (Tensor, np.ndarray)):
            return np.dtype(x.dtype if isinstance(x, np.ndarray) else x._data.dtype) == np.bool_
        return isinstance(x, (bool, np.bool_))

    ba, bb = is_bool(a), is_bool(b)
    if ba and bb:
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. "
            "Use the `^` or `logical_xor()` operator instead."
        )
    if ba or bb:
        raise RuntimeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported. "
            "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )


@registry.op(
    inplace=True,
    statement="result = input - other",
    operands=("input", "other"),
    scalar_operands=True,
    category="arithmetic",
    size_rule="broadcast",
    symbol="-",
    nodes=(Sub, Rsub),
    call=operator.sub,
    aliases=("subtract",),
    formula={"input": "1", "other": "-1"},
)
def sub(a: Any, b: Any, *, alpha: Any = 1) -> Tensor:
    _sub_check_operands(a, b)
    if not isinstance(a, Tensor):
        return rsub(b, a)
    x, y, dt = operands(a, b)
    if alpha != 1:
        return Sub.apply(x, y, dtype=dt, alpha=alpha)
    return Sub.apply(x, y, dtype=dt)


@registry.op(syntax=("function",), catalogue=False, operands=("input", "other"), nodes=(Rsub,))
def rsub(a: Tensor, other: Any) -> Tensor:
    """``other - a`` for a Python number ``other``."""
    if isinstance(other, Tensor):
        return sub(other, a)
    _sub_check_operands(other, a)
    x, s, dt = operands(a, other)
    if dt is not None:
        x = x.to(s.dtype)
    return Rsub.apply(x, other=s._data.item())


@registry.op(
    inplace=True,
    statement="result = input · other",
    operands=("input", "other"),
    scalar_operands=True,
    category="arithmetic",
    size_rule="broadcast",
    symbol="*",
    nodes=(Mul,),
    call=operator.mul,
    aliases=("multiply",),
    formula={"input": "other", "other": "input"},
)
def mul(a: Any, b: Any) -> Tensor:
    if type(a) is Tensor and type(b) is Tensor and a._data.dtype is b._data.dtype:
        return Mul._apply2(a, b)
    x, y, dt = operands(a, b)
    return Mul.apply(x, y, dtype=dt)


@registry.op(
    inplace=True,
    statement="result = input / other",
    operands=("input", "other"),
    scalar_operands=True,
    category="arithmetic",
    size_rule="broadcast",
    symbol="/",
    nodes=(Div,),
    call=operator.truediv,
    aliases=("divide", "true_divide"),
    formula={"input": "1/other", "other": "-input/other²"},
)
def div(a: Any, b: Any, *, rounding_mode: str | None = None) -> Tensor:
    if rounding_mode is not None:
        x, y, dt = operands(a, b)
        op = np.floor_divide if rounding_mode == "floor" else (lambda p, q: np.trunc(p / q))
        return Tensor._make(
            np.asarray(op(cast(x._data, dt), cast(y._data, dt))).astype(dt or x._data.dtype), False, None
        )
    if not isinstance(a, Tensor):
        return _rdiv(a, b)
    x, y, dt = operands(a, b)
    return Div.apply(x, y, dtype=dt)


# Drawn as one div whose operands are the number's 0-d constant (the mul's own) and ``b``.
@composite("div", lambda out, a, b: ((out.grad_fn.inputs[1], b), {}), with_result=True)
def _rdiv(a: Any, b: Tensor) -> Tensor:
    """``number / b``, which PyTorch records as ``reciprocal(b) * number``."""
    x, y, dt = operands(reciprocal(b), a)
    return Mul.apply(x, y, dtype=dt)


@registry.op(inplace=True, nodes=(Reciprocal,))
def reciprocal(a: Tensor) -> Tensor:
    return Reciprocal.apply(a)


@registry.op(
    inplace=True,
    statement="result = input^exponent",
    operands=("input", "exponent"),
    scalar_operands=True,
    category="arithmetic",
    size_rule="broadcast",
    symbol="**",
    nodes=(Pow, PowScalar, RPow),
    call=operator.pow,
    formula={"input": "exponent·input^(exponent-1)", "exponent": "result·ln input"},
)
def pow(a: Any, exponent: Any) -> Tensor:
    if isinstance(a, Tensor) and not isinstance(exponent, Tensor):
        if isinstance(exponent, np.generic):
            exponent = exponent.item()
        return PowScalar.apply(a, exponent=exponent)
    if not isinstance(a, Tensor):
        return RPow.apply(exponent, base=a)
    x, y, dt = operands(a, exponent)
    return Pow.apply(x, y, dtype=dt)


@registry.op(
    inplace=True,
    statement="result = -input",
    symbol="-",
    nodes=(Neg,),
    call=operator.neg,
    aliases=("negative",),
    formula={"input": "-1"},
)
def neg(a: Tensor) -> Tensor:
    return Neg.apply(a)


# --- unary maths ---------------------------------------------------------------------------------
def _float_of(fn: Any, a: np.ndarray) -> np.ndarray:
    """A float-valued maths function of ``a`` (ints become the default float). In float32 it is
    rounded once from double: ATen's vectorised float32 exp, tanh, log ... are within an ulp of
    the exact value, so the correctly rounded one agrees with them far more often than numpy's
    float32 kernels do (exp 99% of values against 61%, tanh 99.9% against 68%)."""
    a = cast(a, float_dtype(a))
    with np.errstate(all="ignore"):  # inf and nan arise silently, as in PyTorch
        if a.dtype == np.float32:
            return np.asarray(fn(a.astype(np.float64)).astype(np.float32))
        return np.asarray(fn(a))


SIGMOID_FLOAT32_ZERO = np.float32(-88.72283172607422)  # below it, torch's float32 sigmoid is exactly 0


def _sigmoid(x: np.ndarray) -> np.ndarray:
    if x.dtype == np.float32:
        # PyTorch's 1/(1 + exp(-x)) in float32, its exp overflowing to inf (so 0) below
        # SIGMOID_FLOAT32_ZERO; exp rounded once from double, as _float_of says why.
        one = np.float32(1)
        with np.errstate(over="ignore"):
            return np.asarray(one / (one + np.exp(-x.astype(np.float64)).astype(np.float32)))
    # Split by sign so exp never overflows.
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    if out.dtype == np.float32:
        # PyTorch computes 1/(1 + exp(-x)) in float32, where exp(-x) overflows below this: 0.
        out[x < SIGMOID_FLOAT32_ZERO] = 0
    return out


def _fresh_ok(g: Any, out: Any) -> bool:
    """Whether a backward formula may build its result in one fresh array of its own."""
    return type(out) is np.ndarray and type(g) is np.ndarray and g.shape == out.shape and g.dtype == out.dtype


def _tanh_backward(g: Any, out: Any) -> Any:
    if _fresh_ok(g, out):  # g * (1 - out * out) in one array (PyTorch's order of operations)
        t = np.asarray(out * out)  # 0-d inputs give a numpy scalar, which cannot be an out=
        np.subtract(1, t, out=t)
        return np.multiply(g, t, out=t)
    return g * (1 - out * out)


def _sigmoid_backward(g: Any, out: Any) -> Any:
    if _fresh_ok(g, out):  # g * (1 - out) * out in one array (PyTorch's order of operations)
        t = np.asarray(np.subtract(1, out))
        np.multiply(g, t, out=t)
        return np.multiply(t, out, out=t)
    return g * (1 - out) * out


class Exp(Function):
    name = "ExpBackward0"

    @staticmethod
    def forward(ctx, a):
        out = _float_of(np.exp, a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return (g * out,)


class Log(Function):
    name = "LogBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _float_of(np.log, a)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (g / x,)


class Sqrt(Function):
    name = "SqrtBackward0"

    @staticmethod
    def forward(ctx, a):
        out = _float_of(np.sqrt, a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return (g / (2 * out),)


class Sin(Function):
    name = "SinBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _float_of(np.sin, a)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (g * dual.unary("cos", x),)


class Cos(Function):
    name = "CosBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _float_of(np.cos, a)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (-g * dual.unary("sin", x),)


class Tanh(Function):
    name = "TanhBackward0"

    @staticmethod
    def forward(ctx, a):
        out = _float_of(np.tanh, a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return (_tanh_backward(g, out),)


class Sigmoid(Function):
    name = "SigmoidBackward0"

    @staticmethod
    def forward(ctx, a):
        with np.errstate(all="ignore"):
            out = np.asarray(_sigmoid(cast(a, float_dtype(a))))  # its own float32 rule
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return (_sigmoid_backward(g, out),)


class Relu(Function):
    name = "ReluBackward0"

    @staticmethod
    def forward(ctx, a):
        out = np.maximum(a, np.zeros((), a.dtype))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        if _fresh_ok(g, out) and g.dtype.kind == "f":
            # np.where is slow (~2.5 ns an element): clear g's bits where out <= 0 instead. Exact:
            # g itself where out > 0 or is nan, +0 elsewhere, as PyTorch's threshold_backward.
            bits = np.dtype(f"u{g.dtype.itemsize}")
            keep = (out <= 0).astype(bits)
            keep -= 1  # 0 -> all ones (keep g), 1 -> 0 (clear)
            return (np.bitwise_and(g.view(bits), keep, out=keep).view(g.dtype),)
        return (dual.where(out <= 0, dual.zeros_like(g), g),)


class Abs(Function):
    name = "AbsBackward0"

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return (g * (_sign(a) if dual._is_array(a) else sign(a)),)


class Clamp(Function):
    name = "ClampBackward1"

    @staticmethod
    def forward(ctx, a, min=None, max=None):
        ctx.save_for_backward(a)
        return np.clip(a, min, max).astype(
            a.dtype
            if (a.dtype.kind == "f" or not any(isinstance(v, float) for v in (min, max)))
            else np.float32
        )

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        lo, hi = ctx.params.get("min"), ctx.params.get("max")
        if lo is not None:
            g = g * (a >= lo)
        if hi is not None:
            g = g * (a <= hi)
        return (g,)


@registry.op(
    inplace=True, statement="result = e^input", nodes=(Exp,), formula={"input": "exp(input) = result"}
)
def exp(a: Tensor) -> Tensor:
    return Exp.apply(a)


@registry.op(inplace=True, statement="result = ln input", nodes=(Log,), formula={"input": "1/input"})
def log(a: Tensor) -> Tensor:
    return Log.apply(a)


@registry.op(inplace=True, statement="result = √input", nodes=(Sqrt,), formula={"input": "1/(2·√input)"})
def sqrt(a: Tensor) -> Tensor:
    return Sqrt.apply(a)


@registry.op(inplace=True, statement="result = sin(input)", nodes=(Sin,), formula={"input": "cos(input)"})
def sin(a: Tensor) -> Tensor:
    return Sin.apply(a)


@registry.op(inplace=True, statement="result = cos(input)", nodes=(Cos,), formula={"input": "-sin(input)"})
def cos(a: Tensor) -> Tensor:
    return Cos.apply(a)


class Tan(Function):
    name = "TanBackward0"

    @staticmethod
    def forward(ctx, a):
        out = _float_of(np.tan, a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return (g * (out * out + 1),)  # PyTorch's grad * (1 + result²)


@registry.op(
    inplace=True,
    statement="result = tan(input)",
    nodes=(Tan,),
    formula={"input": "1 + tan²(input) = 1 + result²"},
)
def tan(input: Tensor) -> Tensor:
    return Tan.apply(input)


@registry.op(
    inplace=True,
    statement="result = tanh(input)",
    category="activation",
    syntax=("function", "method", "F"),
    nodes=(Tanh,),
    formula={"input": "1 - tanh²(input) = 1 - result²"},
)
def tanh(a: Tensor) -> Tensor:
    return Tanh.apply(a)


@registry.op(
    inplace=True,
    statement="result = σ(input) = 1/(1 + e^(-input))",
    category="activation",
    syntax=("function", "method", "F"),
    nodes=(Sigmoid,),
    formula={"input": "σ(input)·(1 - σ(input)) = result·(1 - result)"},
)
def sigmoid(a: Tensor) -> Tensor:
    return Sigmoid.apply(a)


@registry.op(
    inplace=True,
    statement="result = max(input, 0)",
    category="activation",
    syntax=("function", "method", "F"),
    nodes=(Relu,),
    formula={"input": "1 where input > 0, else 0"},
)
def relu(a: Tensor) -> Tensor:
    return Relu.apply(a)


@registry.op(
    inplace=True,
    statement="result = |input|",
    nodes=(Abs,),
    aliases=("absolute",),
    formula={"input": "sign(input)"},
)
def abs(a: Tensor) -> Tensor:
    return Abs.apply(a)


@registry.op(
    statement="result = input clamped to [min, max]",
    params=(registry.Param("min", "number", None), registry.Param("max", "number", None)),
    nodes=(Clamp,),
    aliases=("clip",),
    inplace=True,
    formula={"input": "1 inside [min, max], 0 outside"},
)
def clamp(a: Tensor, min: Any = None, max: Any = None) -> Tensor:
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    params = {k: (v.item() if isinstance(v, Tensor) else v) for k, v in (("min", min), ("max", max))}
    return Clamp.apply(a, **params)


clip = registry.op(name="clip", syntax=("function",), catalogue=False, nodes=(Clamp,))(clamp)


def _sign(x: np.ndarray) -> np.ndarray:
    """PyTorch's sign: 0 for NaN (numpy gives NaN)."""
    s = np.sign(x)
    if x.dtype.kind == "f":
        s = np.where(np.isnan(x), np.zeros((), x.dtype), s)
    return s


class Sign(Function):
    name = "SignBackward0"
    statement = "result = -1, 0 or 1, the sign of input"
    formula = {"input": "0 (sign is flat almost everywhere)"}  # noqa: RUF012

    @staticmethod
    def forward(ctx, a):
        return _sign(a)

    @staticmethod
    def backward(ctx, g):
        return (g * 0,)


@registry.op(inplace=True, nodes=(Sign,))
def sign(a: Tensor) -> Tensor:
    return Sign.apply(a)


@registry.op(inplace=True, nodes=(PowScalar,), statement="result = input²", text="∂result/∂input = 2·input")
def square(a: Tensor) -> Tensor:
    return pow(a, 2)


# --- comparisons and selection --------------------------------------------------------------------
def _compare(ufunc: Any) -> Any:
    def compare(a: Any, b: Any) -> Tensor:
        x, y, dt = operands(a, b)
        _bshape(x._data, y._data)
        return Tensor._make(np.asarray(ufunc(cast(x._data, dt), cast(y._data, dt))), False, None)

    compare.__name__ = ufunc.__name__
    return compare


eq = registry.op(
    inplace=True,
    statement="result = input == other",
    name="eq",
    operands=("input", "other"),
    scalar_operands=True,
    category="comparison",
    size_rule="broadcast",
    symbol="==",
    call=operator.eq,
    text="not differentiable (bool result)",
)(_compare(np.equal))
ne = registry.op(
    inplace=True,
    statement="result = input != other",
    name="ne",
    operands=("input", "other"),
    scalar_operands=True,
    category="comparison",
    size_rule="broadcast",
    symbol="!=",
    call=operator.ne,
    text="not differentiable (bool result)",
)(_compare(np.not_equal))
lt = registry.op(
    inplace=True,
    statement="result = input < other",
    name="lt",
    operands=("input", "other"),
    scalar_operands=True,
    category="comparison",
    size_rule="broadcast",
    symbol="<",
    call=operator.lt,
    text="not differentiable (bool result)",
)(_compare(np.less))
le = registry.op(
    inplace=True,
    statement="result = input <= other",
    name="le",
    operands=("input", "other"),
    scalar_operands=True,
    category="comparison",
    size_rule="broadcast",
    symbol="<=",
    call=operator.le,
    text="not differentiable (bool result)",
)(_compare(np.less_equal))
gt = registry.op(
    inplace=True,
    statement="result = input > other",
    name="gt",
    operands=("input", "other"),
    scalar_operands=True,
    category="comparison",
    size_rule="broadcast",
    symbol=">",
    call=operator.gt,
    text="not differentiable (bool result)",
)(_compare(np.greater))
ge = registry.op(
    inplace=True,
    statement="result = input >= other",
    name="ge",
    operands=("input", "other"),
    scalar_operands=True,
    category="comparison",
    size_rule="broadcast",
    symbol=">=",
    call=operator.ge,
    text="not differentiable (bool result)",
)(_compare(np.greater_equal))
# torch's other method names for two comparisons.
greater = registry.op(
    inplace=True, name="greater", syntax=("method",), operands=("input", "other"), catalogue=False
)(gt)
less = registry.op(
    inplace=True, name="less", syntax=("method",), operands=("input", "other"), catalogue=False
)(lt)


@registry.op(inplace=True, catalogue=False)
def logical_not(a: Tensor) -> Tensor:
    return Tensor._make(np.logical_not(a._data), False, None)


@registry.op(catalogue=False)
def isnan(a: Tensor) -> Tensor:
    return Tensor._make(np.isnan(a._data), False, None)


@registry.op(catalogue=False)
def isinf(a: Tensor) -> Tensor:
    return Tensor._make(np.isinf(a._data), False, None)


@registry.op(catalogue=False)
def isfinite(a: Tensor) -> Tensor:
    return Tensor._make(np.isfinite(a._data), False, None)


@registry.op(syntax=("function",), catalogue=False, operands=("input", "other"))
def equal(a: Tensor, b: Tensor) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a._data, b._data))


@registry.op(syntax=("function",), catalogue=False, operands=("input", "other"))
def allclose(a: Tensor, b: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    return bool(np.allclose(a._data, b._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


class Where(Function):
    name = "WhereBackward0"
    # The engine's where node takes input and other; the condition comes last, as no gradient.
    derivative = "∂result/∂input = 1 where condition, ∂result/∂other = 1 where not condition"
    operands = ("input", "other", "condition")

    @staticmethod
    def forward(ctx, a, b, cond=None, dtype=None):
        broadcast_shape(broadcast_shape(cond.shape, a.shape), b.shape)  # PyTorch's order: cond, input, other
        return np.where(cond, cast(a, dtype), cast(b, dtype))

    @staticmethod
    def backward(ctx, g):
        cond = ctx.params["cond"]
        return g * cond, g * ~cond


@registry.op(
    statement="result = input where condition, else other",
    syntax=("function",),
    operands=("condition", "input", "other"),
    scalar_operands=True,
    category="shape",
    size_rule="broadcast",
    nodes=(Where,),
    formula={"input": "1 where condition", "other": "1 where not condition"},
)
def where(condition: Any, input: Any = None, other: Any = None) -> Any:
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if input is None and other is None:
        return tuple(Tensor._make(i, False, None) for i in np.nonzero(cond))
    if cond.dtype != np.bool_:
        raise RuntimeError(
            "where expected condition to be a boolean tensor, but got a tensor with dtype "
            f"{SCALAR_NAMES.get(cond.dtype.name, cond.dtype.name)}"
        )
    if not isinstance(input, (Tensor, np.ndarray)) and not isinstance(other, (Tensor, np.ndarray)):
        input = wrap_scalar(input, dtypes.result_type(input, other).np)  # two numbers
    x, y, dt = operands(input, other)
    out = Where.apply(x, y, cond=cond, dtype=dt)
    return note_nondiff_inputs(out, (condition,) if isinstance(condition, Tensor) else ())


class Maximum(Function):
    """Elementwise max; ties share the gradient equally, as in PyTorch."""

    name = "MaximumBackward0"
    statement = "result = the larger of input and other, elementwise"
    formula = {"input": "1 where input > other (½ on ties)", "other": "1 where other > input (½ on ties)"}  # noqa: RUF012

    @staticmethod
    def forward(ctx, a, b, dtype=None, op="max"):
        _bshape(a, b)
        ctx.save_for_backward(a, b)
        return (np.maximum if op == "max" else np.minimum)(cast(a, dtype), cast(b, dtype))

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        gh = dual.where(a == b, g * 0.5, g)
        zero = dual.zeros_like(gh)
        lose_a, lose_b = (a < b, a > b) if ctx.params.get("op", "max") == "max" else (a > b, a < b)
        return dual.where(lose_a, zero, gh), dual.where(lose_b, zero, gh)


class Minimum(Maximum):
    name = "MinimumBackward0"
    statement = "result = the smaller of input and other, elementwise"
    formula = {"input": "1 where input < other (½ on ties)", "other": "1 where other < input (½ on ties)"}  # noqa: RUF012


@registry.op(
    operands=("input", "other"),
    nodes=(Maximum,),
    size_rule="broadcast",
)
def maximum(a: Tensor, b: Tensor) -> Tensor:
    x, y, dt = operands(a, b)
    return Maximum.apply(x, y, dtype=dt)


@registry.op(
    operands=("input", "other"),
    nodes=(Minimum,),
    size_rule="broadcast",
)
def minimum(a: Tensor, b: Tensor) -> Tensor:
    x, y, dt = operands(a, b)
    return Minimum.apply(x, y, dtype=dt, op="min")


# --- special functions ---------------------------------------------------------------------------
class Atan2(Function):
    name = "Atan2Backward0"
    statement = "result = atan2(input, other)"
    formula = {"input": "other/(input² + other²)", "other": "-input/(input² + other²)"}  # noqa: RUF012

    @staticmethod
    def forward(ctx, a, b, dtype=None):
        _bshape(a, b)
        ctx.save_for_backward(a, b)
        dt = float_dtype(cast(a, dtype))
        return np.asarray(np.arctan2(cast(a, dt), cast(b, dt)))

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        d = a * a + b * b
        return g * b / d, -g * a / d


@registry.op(inplace=True, operands=("input", "other"), nodes=(Atan2,), size_rule="broadcast")
def atan2(input: Tensor, other: Tensor) -> Tensor:
    for i, (what, v) in enumerate((("input", input), ("other", other))):
        if not isinstance(v, Tensor):  # torch.atan2 takes no Python numbers
            raise TypeError(
                f"atan2(): argument '{what}' (position {i + 1}) must be Tensor, not {type(v).__name__}"
            )
    x, y, dt = operands(input, other)
    return Atan2.apply(x, y, dtype=dt)


class Log1p(Function):
    name = "Log1PBackward0"
    statement = "result = ln(1 + input)"
    formula = {"input": "1/(1 + input)"}  # noqa: RUF012

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _float_of(np.log1p, a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return (g / (a + 1),)


@registry.op(inplace=True, nodes=(Log1p,))
def log1p(input: Tensor) -> Tensor:
    return Log1p.apply(input)


class Expm1(Function):
    name = "Expm1Backward0"
    statement = "result = e^input - 1"
    formula = {"input": "e^input = result + 1"}  # noqa: RUF012

    @staticmethod
    def forward(ctx, a):
        out = _float_of(np.expm1, a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return (g * (out + 1),)


@registry.op(inplace=True, nodes=(Expm1,))
def expm1(input: Tensor) -> Tensor:
    return Expm1.apply(input)


# numpy has no erf; math.erf is exact in double precision (slow, but gradviz tensors are small).
_erf_double = np.frompyfunc(math.erf, 1, 1)


def erf_array(x: np.ndarray) -> np.ndarray:
    """erf of a float array, in its dtype."""
    return np.asarray(_erf_double(np.asarray(x, dtype=np.float64)), dtype=np.float64).astype(x.dtype)


class Erf(Function):
    name = "ErfBackward0"
    statement = "result = erf(input)"
    formula = {"input": "2/√π·e^(-input²)"}  # noqa: RUF012

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return erf_array(cast(a, float_dtype(a)))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return (g * (2 / math.sqrt(math.pi)) * dual.unary("exp", -(a * a)),)


@registry.op(inplace=True, nodes=(Erf,))
def erf(input: Tensor) -> Tensor:
    return Erf.apply(input)


# --- rounding and integer division (issue 14) -----------------------------------------------------
class NotImplementedNode(Function):
    """torch's node for an op whose derivative it does not define (``a // b``, ``2 % a``):
    the graph records it and backward through it fails."""

    name = "NotImplemented"
    derivative = "no derivative: backward through it is an error, as in PyTorch"

    @staticmethod
    def forward(ctx, *arrays, fn=None, op=""):
        return fn(*arrays)

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError(f"derivative for aten::{ctx.params['op']} is not implemented")


NotImplementedNode._node_type._name = "gradviz::autograd::NotImplemented"


def _not_bool(a: np.ndarray, kernel: str) -> None:
    if a.dtype == np.bool_:
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")


def _rounding(node_name: str, ufunc: Any, what: str) -> type:
    class Rounding(Function):
        name = node_name
        statement = f"result = {what}(input)"
        formula = {"input": "0 (a step function: flat almost everywhere)"}  # noqa: RUF012

        @staticmethod
        def forward(ctx, a, decimals=0):
            if a.dtype.kind in "iu":
                if decimals:
                    raise NotImplementedError(
                        f"\"round_cpu\" not implemented for '{SCALAR_NAMES[a.dtype.name]}'"
                    )
                return a.copy()
            if decimals:
                with np.errstate(all="ignore"):
                    scale = np.asarray(10.0**decimals, a.dtype)
                    return np.asarray(np.round(a * scale) / scale, dtype=a.dtype)
            return np.asarray(ufunc(a))

        @staticmethod
        def backward(ctx, g):
            return (g * 0,)

    Rounding.__name__ = Rounding.__qualname__ = node_name.removesuffix("Backward0").removesuffix("Backward1")
    return Rounding


Floor = _rounding("FloorBackward0", np.floor, "floor")
Ceil = _rounding("CeilBackward0", np.ceil, "ceil")
Trunc = _rounding("TruncBackward0", np.trunc, "trunc")
Round = _rounding("RoundBackward0", np.round, "round")
RoundDecimals = _rounding("RoundBackward1", np.round, "round")


@registry.op(inplace=True, nodes=(Floor,))
def floor(input: Tensor) -> Tensor:
    _not_bool(input._data, "floor_vml_cpu")
    return Floor.apply(input)


@registry.op(inplace=True, nodes=(Ceil,))
def ceil(input: Tensor) -> Tensor:
    _not_bool(input._data, "ceil_vml_cpu")
    return Ceil.apply(input)


@registry.op(inplace=True, nodes=(Trunc,))
def trunc(input: Tensor) -> Tensor:
    _not_bool(input._data, "trunc_vml_cpu")
    return Trunc.apply(input)


@registry.op(inplace=True, nodes=(Round, RoundDecimals), params=(registry.Param("decimals", "int", 0),))
def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    _not_bool(input._data, "round_cpu" if decimals else "round_vml_cpu")
    if decimals:
        return RoundDecimals.apply(input, decimals=int(decimals))
    return Round.apply(input)


def _int_divisor(b: np.ndarray) -> None:
    if b.dtype.kind in "biu" and not np.all(b):
        raise RuntimeError("ZeroDivisionError")


def _mod(kind: str) -> Any:
    """np.remainder (sign of the divisor, Python's %) or np.fmod (sign of the dividend, C's)."""
    ufunc = np.remainder if kind == "remainder" else np.fmod

    def run(a: np.ndarray, b: np.ndarray, dt: Any = None) -> np.ndarray:
        _bshape(a, b)
        a, b = cast(a, dt), cast(b, dt)
        if a.dtype.kind in "biu":
            _int_divisor(b)
        with np.errstate(all="ignore"):
            return np.asarray(ufunc(a, b))

    return run


_remainder, _fmod = _mod("remainder"), _mod("fmod")


def _floor_div(a: np.ndarray, b: np.ndarray, dt: Any = None) -> np.ndarray:
    _bshape(a, b)
    a, b = cast(a, dt), cast(b, dt)
    if a.dtype.kind in "biu":
        _int_divisor(b)
        return np.asarray(np.floor_divide(a, b))
    with np.errstate(all="ignore"):
        return np.asarray(np.floor(a / b), dtype=a.dtype)


class RemainderScalar(Function):
    name = "RemainderBackward0"
    statement = "result = input - other·⌊input/other⌋ (the sign of other)"
    formula = {"input": "1"}  # noqa: RUF012

    @staticmethod
    def forward(ctx, a, other=None, dtype=None):  # other: the number, as a 0-d array
        return _remainder(a, other, dtype)

    @staticmethod
    def backward(ctx, g):
        return (g,)


class Remainder(Function):
    name = "RemainderBackward1"
    statement = "result = input - other·⌊input/other⌋ (the sign of other)"
    formula = {"input": "1", "other": "-⌊input/other⌋"}  # noqa: RUF012

    @staticmethod
    def forward(ctx, a, b, dtype=None):
        ctx.save_for_backward(a, b)
        return _remainder(a, b, dtype)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        q = a / b
        q = dual.unary("floor", q)
        return g, -g * q


class FmodScalar(Function):
    name = "FmodBackward0"
    statement = "result = input - other·trunc(input/other) (the sign of input)"
    formula = {"input": "1"}  # noqa: RUF012

    @staticmethod
    def forward(ctx, a, other=None, dtype=None):  # other: the number, as a 0-d array
        return _fmod(a, other, dtype)

    @staticmethod
    def backward(ctx, g):
        return (g,)


class Fmod(Function):
    name = "FmodBackward1"
    statement = "result = input - other·trunc(input/other) (the sign of input)"
    formula = {"input": "1", "other": "-trunc(input/other)"}  # noqa: RUF012

    @staticmethod
    def forward(ctx, a, b, dtype=None):
        ctx.save_for_backward(a, b)
        return _fmod(a, b, dtype)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g, -g * dual.unary("trunc", a / b)


def _modulo(kind: str, input: Any, other: Any) -> Tensor:
    x, y, dt = operands(input, other)
    fn = _remainder if kind == "remainder" else _fmod
    if (
        x._data.dtype == np.bool_
        and y._data.dtype == np.bool_
        and isinstance(input, Tensor)
        and isinstance(other, Tensor)
    ):
        raise NotImplementedError(f"\"{kind}_cpu\" not implemented for 'Bool'")
    if not isinstance(input, Tensor):  # 2 % t: torch has no derivative for it
        return _not_implemented(x, y, input, other, lambda a, b: fn(a, b, dt), kind)
    if not isinstance(other, Tensor):
        cls = RemainderScalar if kind == "remainder" else FmodScalar
        return cls.apply(x, other=y._data, dtype=dt)
    return (Remainder if kind == "remainder" else Fmod).apply(x, y, dtype=dt)


@registry.op(
    inplace=True,
    operands=("input", "other"),
    nodes=(RemainderScalar, Remainder),
    size_rule="broadcast",
    symbol="%",
    scalar_operands=True,
    statement="result = input - other·⌊input/other⌋ (the sign of other)",
    formula={"input": "1", "other": "-⌊input/other⌋"},
)
def remainder(input: Any, other: Any) -> Tensor:
    return _modulo("remainder", input, other)


@registry.op(
    inplace=True,
    operands=("input", "other"),
    nodes=(FmodScalar, Fmod),
    size_rule="broadcast",
    scalar_operands=True,
    statement="result = input - other·trunc(input/other) (the sign of input)",
    formula={"input": "1", "other": "-trunc(input/other)"},
)
def fmod(input: Tensor, other: Any) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(
            f"fmod() received an invalid combination of arguments - got ({type(input).__name__}, "
            f"{type(other).__name__}), but expected one of:\n"
            " * (Tensor input, Tensor other, *, Tensor out = None)\n"
            " * (Tensor input, Number other, *, Tensor out = None)\n"
        )
    return _modulo("fmod", input, other)


@registry.op(
    operands=("input", "other"),
    nodes=(NotImplementedNode,),
    size_rule="broadcast",
    symbol="//",
    scalar_operands=True,
    statement="result = ⌊input/other⌋",
    text="no derivative: torch records NotImplemented, and backward through it is an error",
)
def floor_divide(input: Any, other: Any) -> Tensor:
    x, y, dt = operands(input, other)
    return _not_implemented(x, y, input, other, lambda a, b: _floor_div(a, b, dt), "floor_divide")


def _not_implemented(x: Tensor, y: Tensor, input: Any, other: Any, fn: Any, op: str) -> Tensor:
    """A NotImplemented node whose inputs are the Tensor operands only (numbers are no input)."""
    if isinstance(input, Tensor) and isinstance(other, Tensor):
        return NotImplementedNode.apply(x, y, fn=fn, op=op)
    if isinstance(input, Tensor):
        b = y._data
        return NotImplementedNode.apply(x, fn=lambda a: fn(a, b), op=op)
    a = x._data
    return NotImplementedNode.apply(y, fn=lambda b: fn(a, b), op=op)


@registry.op(
    operands=("input", "other"),
    category="comparison",
    statement="result = |input - other| ≤ atol + rtol·|other|",
    text="not differentiable (a bool result)",
    size_rule="broadcast",
    params=(
        registry.Param("rtol", "float", 1e-05),
        registry.Param("atol", "float", 1e-08),
        registry.Param("equal_nan", "bool", False),
    ),
)
def isclose(
    input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> Tensor:
    a, b = input._data, other._data
    if a.dtype != b.dtype:
        raise RuntimeError(f"{SCALAR_NAMES[a.dtype.name]} did not match {SCALAR_NAMES[b.dtype.name]}")
    _bshape(a, b)
    if a.dtype == np.bool_:
        return Tensor._make(np.asarray(a == b), False, None)
    with np.errstate(all="ignore"):
        out = np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)
    return Tensor._make(np.asarray(out), False, None)
