"""Reductions: sum, mean, max, min, and the softmax family."""

from __future__ import annotations

import warnings
from collections import namedtuple
from typing import Any

import numpy as np

from .. import dual, registry
from ..function import Function, composite
from ..tensor import Tensor
from ._util import float_dtype, wrap_dim

__all__: list[str] = []  # the ops registered below (see registry.op)


def _return_type(name: str) -> type:
    """A (values, indices) namedtuple that prints like torch.return_types.max."""

    def as_text(self: Any) -> str:
        return f"gradviz.return_types.{name}(\nvalues={self.values!r},\nindices={self.indices!r})"

    base = namedtuple(name, ["values", "indices"])
    return type(name, (base,), {"__slots__": (), "__repr__": as_text, "__str__": as_text})


MaxResult = _return_type("max")
MinResult = _return_type("min")


def _values_of(reduce: Any) -> Any:
    """The session's max/min: the values only (``t.max(dim=1).values``)."""

    def call(a: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
        out = reduce(a, dim, keepdim)
        return out if dim is None else out.values

    return call


def _dims(dim: Any, ndim: int) -> tuple[int, ...] | None:
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    out = tuple(sorted({wrap_dim(d, ndim) for d in dims}))
    # A 0-d tensor accepts dim 0 or -1 and has nothing to reduce.
    return out if ndim else ()


def _expand_back(g: Any, shape: tuple[int, ...], dims: tuple[int, ...] | None, keepdim: bool) -> Any:
    """Broadcast a reduction's gradient back over the reduced dimensions."""
    if dims is None:
        return dual.expand(dual.reshape(g, (1,) * len(shape)), shape) if shape else g
    if not keepdim:
        g = dual.unsqueeze_dims(g, dims)
    return dual.expand(g, shape)


class Sum(Function):
    name = "SumBackward0"
    derivative = "result = Σ input: ∂result/∂inputᵢ = 1, so ∂L/∂result is copied to every element"

    @staticmethod
    def forward(ctx, a, dims=None, keepdim=False, dtype=None):
        if dtype is None and a.dtype.kind in "biu":
            dtype = np.int64
        return np.asarray(np.sum(a, axis=dims, keepdims=keepdim, dtype=dtype))

    @staticmethod
    def backward(ctx, g):
        shape = ctx.inputs[0]._data.shape
        return (_expand_back(g, shape, ctx.params.get("dims"), ctx.params.get("keepdim", False)),)


class SumDims(Sum):
    name = "SumBackward1"
    derivative = "sum over dims: ∂L/∂result is copied back along the summed dims"


class Mean(Function):
    name = "MeanBackward0"
    derivative = "result = (Σ input)/n: ∂result/∂inputᵢ = 1/n"

    @staticmethod
    def forward(ctx, a, dims=None, keepdim=False):
        if a.dtype.kind != "f":
            raise RuntimeError(
                "mean(): could not infer output dtype. Input dtype must be either a floating point "
                f"or complex dtype. Got: {_torch_type_name(a.dtype)}"
            )
        return np.asarray(
            np.mean(a, axis=dims, keepdims=keepdim, dtype=np.float64 if a.dtype == np.float16 else None),
            dtype=a.dtype,
        )

    @staticmethod
    def backward(ctx, g):
        shape = ctx.inputs[0]._data.shape
        dims = ctx.params.get("dims")
        n = int(np.prod(shape)) if dims is None else int(np.prod([shape[d] for d in dims]))
        return (_expand_back(g, shape, dims, ctx.params.get("keepdim", False)) / n,)


class MeanDims(Mean):
    name = "MeanBackward1"
    derivative = "mean over dims: ∂L/∂result / n is copied back along the averaged dims"


def _torch_type_name(dt: np.dtype) -> str:
    from ..dtypes import scalar_name

    return scalar_name(dt)


@registry.op(
    statement="result = Σ input (over dim)",
    category="reduction",
    size_rule="max",
    params=(registry.Param("dim", "dims", None), registry.Param("keepdim", "bool", False)),
    nodes=(Sum, SumDims),
    text="∂result/∂input = 1 for every element summed",
)
def sum(a: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    from ..dtypes import to_dtype

    dims = _dims(dim, a._data.ndim)
    params: dict[str, Any] = {}
    if dims is not None:
        params = {"dims": dims, "keepdim": keepdim}
    if dtype is not None:
        params["dtype"] = to_dtype(dtype).np
    return (Sum if dims is None else SumDims).apply(a, **params)


@registry.op(
    statement="result = (Σ input)/n (over dim)",
    category="reduction",
    size_rule="max",
    params=(registry.Param("dim", "dims", None), registry.Param("keepdim", "bool", False)),
    nodes=(Mean, MeanDims),
    text="∂result/∂input = 1/n for each of the n elements averaged",
)
def mean(a: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    dims = _dims(dim, a._data.ndim)
    if dims is None:
        return Mean.apply(a)
    return MeanDims.apply(a, dims=dims, keepdim=keepdim)


class MaxAll(Function):
    """max() or min() over the whole tensor; the gradient is shared by all tied elements."""

    name = "MaxBackward1"
    derivative = "∂result/∂input = 1 at each maximum along the dim, 0 elsewhere"

    @staticmethod
    def forward(ctx, a, op="max"):
        if a.size == 0:
            raise RuntimeError(
                f"{op}(): Expected reduction dim to be specified for input.numel() == 0. "
                "Specify the reduction dim with the 'dim' argument."
            )
        out = np.asarray(np.max(a) if op == "max" else np.min(a))
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        # PyTorch's evenly_distribute_backward. (A float mask would be float32 on the recorded
        # path, and float32 * a 0-d float64 stays float32: the gradient would lose precision.)
        mask = a == out
        return (dual.where(mask, g / dual.sum(mask), dual.zeros_like(g)),)


class MinAll(MaxAll):
    name = "MinBackward1"
    derivative = "∂result/∂input = 1 at each minimum along the dim, 0 elsewhere"


class MaxDim(Function):
    name = "MaxBackward0"

    @staticmethod
    def forward(ctx, a, dim=0, keepdim=False, op="max"):
        if a.ndim and a.shape[dim] == 0:
            raise IndexError(f"{op}(): Expected reduction dim {dim} to have non-zero size.")
        if a.ndim == 0:
            idx = np.zeros((), np.int64)
            values = a.copy()
        else:
            idx = (
                np.argmax(a, axis=dim, keepdims=True)
                if op == "max"
                else np.argmin(a, axis=dim, keepdims=True)
            )
            values = np.take_along_axis(a, idx, axis=dim)
            if not keepdim:
                idx, values = np.squeeze(idx, dim), np.squeeze(values, dim)
        ctx.indices = idx.astype(np.int64)
        return np.asarray(values)

    @staticmethod
    def backward(ctx, g):
        a = ctx.inputs[0]._data
        if a.ndim == 0:
            return (g,)
        dim, keepdim = ctx.params["dim"], ctx.params["keepdim"]
        idx = ctx.indices if keepdim else np.expand_dims(ctx.indices, dim)
        full = [
            np.arange(n).reshape([-1 if i == d else 1 for i in range(a.ndim)]) for d, n in enumerate(a.shape)
        ]
        full[dim] = idx
        gk = g if keepdim else dual.unsqueeze_dims(g, (dim,))
        return (dual.index_add_zeros(gk, tuple(np.broadcast_arrays(*full)), a.shape),)


class MinDim(MaxDim):
    name = "MinBackward0"


def _reduce_extreme(op: str, a: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    if isinstance(dim, Tensor):  # torch.max(a, b): elementwise
        from .pointwise import maximum, minimum

        return maximum(a, dim) if op == "max" else minimum(a, dim)
    if dim is None:
        return (MaxAll if op == "max" else MinAll).apply(a, op=op)
    d = wrap_dim(dim, a._data.ndim)
    values = (MaxDim if op == "max" else MinDim).apply(a, dim=d, keepdim=keepdim, op=op)
    if values.grad_fn is not None:
        indices = values.grad_fn.indices
    else:
        indices = _indices(a._data, d, keepdim, op)
    result = MaxResult if op == "max" else MinResult
    return result(values, Tensor._make(indices, False, None))


def _indices(a: np.ndarray, dim: int, keepdim: bool, op: str) -> np.ndarray:
    if a.ndim == 0:
        return np.zeros((), np.int64)
    f = np.argmax if op == "max" else np.argmin
    return np.asarray(f(a, axis=dim, keepdims=keepdim), dtype=np.int64)


@registry.op(
    statement="result = max of input (over dim)",
    category="reduction",
    size_rule="max",
    params=(registry.Param("dim", "optional_int", None), registry.Param("keepdim", "bool", False)),
    nodes=(MaxAll, MaxDim),
    call=_values_of(lambda a, dim=None, keepdim=False: max(a, dim, keepdim)),
    formula={"input": "1 at the maximum, 0 elsewhere"},
)
def max(a: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    return _reduce_extreme("max", a, dim, keepdim)


@registry.op(
    statement="result = min of input (over dim)",
    category="reduction",
    size_rule="max",
    params=(registry.Param("dim", "optional_int", None), registry.Param("keepdim", "bool", False)),
    nodes=(MinAll, MinDim),
    call=_values_of(lambda a, dim=None, keepdim=False: min(a, dim, keepdim)),
    formula={"input": "1 at the minimum, 0 elsewhere"},
)
def min(a: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    return _reduce_extreme("min", a, dim, keepdim)


def _no_bool(a: Tensor, op: str) -> None:
    if a._data.dtype == np.bool_:
        raise RuntimeError(f"{op}(): does not support bool input")


@registry.op(catalogue=False)
def argmax(a: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    _no_bool(a, "argmax")
    if dim is None:
        return Tensor._make(np.asarray(np.argmax(a._data), dtype=np.int64), False, None)
    return Tensor._make(_indices(a._data, wrap_dim(dim, a._data.ndim), keepdim, "max"), False, None)


@registry.op(catalogue=False)
def argmin(a: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    _no_bool(a, "argmin")
    if dim is None:
        return Tensor._make(np.asarray(np.argmin(a._data), dtype=np.int64), False, None)
    return Tensor._make(_indices(a._data, wrap_dim(dim, a._data.ndim), keepdim, "min"), False, None)


class Softmax(Function):
    name = "SoftmaxBackward0"

    @staticmethod
    def forward(ctx, a, dim=-1):
        a = a if a.dtype.kind == "f" else a.astype(np.float32)
        e = np.exp(a - np.max(a, axis=dim, keepdims=True, initial=-np.inf))
        out = np.asarray(e / np.sum(e, axis=dim, keepdims=True))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        dim = ctx.params["dim"]
        return (out * (g - dual.sum(g * out, dim, keepdim=True)),)


class LogSoftmax(Function):
    name = "LogSoftmaxBackward0"

    @staticmethod
    def forward(ctx, a, dim=-1):
        a = a if a.dtype.kind == "f" else a.astype(np.float32)
        # The ufuncs' own reduce: np.max and np.sum add several microseconds of dispatch.
        shifted = a - np.maximum.reduce(a, axis=dim, keepdims=True, initial=-np.inf)
        out = np.asarray(shifted - np.log(np.add.reduce(np.exp(shifted), axis=dim, keepdims=True)))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        dim = ctx.params["dim"]
        if type(g) is np.ndarray and type(out) is np.ndarray:
            return (g - np.exp(out) * np.add.reduce(g, axis=dim, keepdims=True),)
        return (g - dual.unary("exp", out) * dual.sum(g, dim, keepdim=True),)


@registry.op(
    statement="result = e^input / Σ e^input along dim",
    category="activation",
    syntax=("function", "method", "F"),
    params=(registry.Param("dim", "dim", -1),),
    nodes=(Softmax,),
    adjoint=True,
    formula={"input": "result·(∂L/∂result - Σ ∂L/∂result·result)"},
)
def softmax(a: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    if dtype is not None:
        return _softmax_cast(a, dim, dtype)
    d = wrap_dim(-1 if dim is None else dim, a._data.ndim)
    return Softmax.apply(a, dim=d if a._data.ndim else ())


@registry.op(
    statement="result = input - ln Σ e^input along dim",
    category="activation",
    syntax=("function", "method", "F"),
    params=(registry.Param("dim", "dim", -1),),
    nodes=(LogSoftmax,),
    adjoint=True,
    formula={"input": "∂L/∂result - softmax(input)·Σ ∂L/∂result"},
)
def log_softmax(a: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    if dtype is not None:
        return _log_softmax_cast(a, dim, dtype)
    d = wrap_dim(-1 if dim is None else dim, a._data.ndim)
    return LogSoftmax.apply(a, dim=d if a._data.ndim else ())


def _softmax_call(a: Tensor, dim: int | None, dtype: Any) -> tuple[tuple, dict]:
    d = wrap_dim(-1 if dim is None else dim, a._data.ndim) if a._data.ndim else None
    return (a,), {"dim": d, "dtype": str(dtype).removeprefix("gradviz.")}


# With a dtype, a cast (ToCopyBackward0) comes first: two nodes for one call.
@composite("softmax", _softmax_call)
def _softmax_cast(a: Tensor, dim: int | None, dtype: Any) -> Tensor:
    return softmax(a.to(dtype), dim)


@composite("log_softmax", _softmax_call)
def _log_softmax_cast(a: Tensor, dim: int | None, dtype: Any) -> Tensor:
    return log_softmax(a.to(dtype), dim)


class Logsumexp(Function):
    name = "LogsumexpBackward0"
    statement = "result = ln Σ e^input over dim"
    formula = {"input": "e^(input - result) = softmax(input) along dim"}  # noqa: RUF012

    @staticmethod
    def forward(ctx, a, dims=(), keepdim=False):
        a = a.astype(float_dtype(a), copy=False)
        with np.errstate(all="ignore"):
            # Shift by the max so exp never overflows; an infinite max shifts by 0 instead.
            m = np.amax(a, axis=dims, keepdims=True) if a.size else np.zeros((1,) * a.ndim, a.dtype)
            m = np.where(np.isfinite(m), m, np.zeros((), a.dtype))
            out = np.log(np.sum(np.exp(a - m), axis=dims, keepdims=True)) + m
        out = np.asarray(out if keepdim else np.squeeze(out, axis=dims), dtype=a.dtype)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        dims, keepdim = ctx.params["dims"], ctx.params["keepdim"]
        if not keepdim:
            g, out = dual.unsqueeze_dims(g, dims), dual.unsqueeze_dims(out, dims)
        return (g * dual.unary("exp", a - out),)


@registry.op(
    nodes=(Logsumexp,),
    category="reduction",
    params=(registry.Param("dim", "dims"), registry.Param("keepdim", "bool", False)),
    size_rule="max",
)
def logsumexp(input: Tensor, dim: Any = registry.REQUIRED, keepdim: bool = False) -> Tensor:
    if dim is registry.REQUIRED:  # torch's own words
        raise TypeError('logsumexp() missing 1 required positional arguments: "dim"')
    if dim is None:
        raise TypeError("logsumexp(): argument 'dim' (position 2) must be tuple of ints, not NoneType")
    return Logsumexp.apply(input, dims=_dims(dim, input._data.ndim), keepdim=keepdim)


# --- statistics (issue 14) -----------------------------------------------------------------------
def _stat_dims(a: np.ndarray, dims: tuple[int, ...] | None) -> tuple[int, ...] | None:
    return None if dims is None or (a.ndim and not dims) else dims


def _count(shape: tuple[int, ...], dims: tuple[int, ...] | None) -> int:
    return int(np.prod(shape)) if dims is None else int(np.prod([shape[d] for d in dims]))


def _centred(a: Any, dims: tuple[int, ...] | None) -> Any:
    """input - mean(input) over ``dims``, on arrays or Tensors (for the double gradient)."""
    shape = tuple(a.shape)
    n = _count(shape, dims)
    axes = tuple(range(len(shape))) if dims is None else dims
    return a - dual.sum(a, axes, keepdim=True) / n if shape else a - a


def _inverse(dof: float, k: float) -> float:
    return k / dof if dof else float("inf")


class Var(Function):
    name = "VarBackward0"
    statement = "result = Σ (input - mean)² / (n - correction)"
    formula = {"input": "2·(input - mean)/(n - correction)"}  # noqa: RUF012

    @staticmethod
    def forward(ctx, a, dims=None, correction=1.0, keepdim=False):
        ctx.save_for_backward(a)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            n = _count(a.shape, dims)
            out = np.var(a, axis=dims, keepdims=keepdim, dtype=np.float64 if a.dtype == np.float16 else None)
            out = out * n / (n - correction) if n - correction else out * np.inf
        return np.asarray(out, dtype=a.dtype)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        dims, c = ctx.params.get("dims"), ctx.params.get("correction", 1.0)
        shape = tuple(a.shape)
        g = _expand_back(g, shape, dims, ctx.params.get("keepdim", False))
        return (g * _centred(a, dims) * _inverse(_count(shape, dims) - c, 2.0),)


class Std(Function):
    name = "StdBackward0"
    statement = "result = √(Σ (input - mean)² / (n - correction))"
    formula = {"input": "(input - mean)/((n - correction)·result)"}  # noqa: RUF012

    @staticmethod
    def forward(ctx, a, dims=None, correction=1.0, keepdim=False):
        with np.errstate(all="ignore"):
            out = np.asarray(np.sqrt(Var.forward(_DISCARD_CTX, a, dims, correction, keepdim)), dtype=a.dtype)
        ctx.save_for_backward(a, out)  # the very array returned: a recorded backward reads the output
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        dims, c = ctx.params.get("dims"), ctx.params.get("correction", 1.0)
        keepdim = ctx.params.get("keepdim", False)
        shape = tuple(a.shape)
        with np.errstate(all="ignore"):
            ratio = g / out
        ratio = dual.where(out == 0, dual.zeros_like(ratio), ratio)  # torch: 0 where result is 0
        ratio = _expand_back(ratio, shape, dims, keepdim)
        return (ratio * _centred(a, dims) * _inverse(_count(shape, dims) - c, 1.0),)


class _Discard:
    def save_for_backward(self, *a: Any) -> None:
        pass


_DISCARD_CTX = _Discard()


def _var_args(name: str, a: Tensor, dim: Any, unbiased: Any, keepdim: bool, correction: Any) -> dict:
    if isinstance(dim, bool):  # std(input, unbiased)
        dim, unbiased = None, dim
    if a._data.dtype.kind not in "fc":
        raise RuntimeError("std and var only support floating point and complex dtypes")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    dims = _dims(dim, a._data.ndim)
    if dims is not None and len(dims) == 0 and a._data.ndim:
        dims = None
    if dims is not None and not a._data.ndim:
        dims = None
    n = _count(a._data.shape, dims)
    if n - correction <= 0:
        warnings.warn(
            f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the "
            "reduction factor (input numel divided by output numel).",
            UserWarning,
            stacklevel=4,  # the caller of var/std, past the numpy-names binder
        )
    return {"dims": dims, "correction": float(correction), "keepdim": keepdim}


_STAT_PARAMS = (
    registry.Param("dim", "dims", None),
    registry.Param("correction", "number", 1),
    registry.Param("keepdim", "bool", False),
)


@registry.op(nodes=(Var,), category="reduction", size_rule="max", params=_STAT_PARAMS)
def var(
    input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *, correction: Any = None
) -> Tensor:
    return Var.apply(input, **_var_args("var", input, dim, unbiased, keepdim, correction))


@registry.op(nodes=(Std,), category="reduction", size_rule="max", params=_STAT_PARAMS)
def std(
    input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *, correction: Any = None
) -> Tensor:
    return Std.apply(input, **_var_args("std", input, dim, unbiased, keepdim, correction))


class Amax(Function):
    name = "AmaxBackward0"
    statement = "result = max of input over dim"
    formula = {"input": "1/k at each of the k maxima, 0 elsewhere"}  # noqa: RUF012

    @staticmethod
    def forward(ctx, a, dims=None, keepdim=False, op="amax"):
        if dims is None and a.size == 0:
            raise RuntimeError(
                f"{op}(): Expected reduction dim to be specified for input.numel() == 0. "
                "Specify the reduction dim with the 'dim' argument."
            )
        for d in dims or ():
            if a.shape[d] == 0:
                raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size.")
        f = np.amax if op == "amax" else np.amin
        out = np.asarray(f(a, axis=dims, keepdims=keepdim))
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        dims, keepdim = ctx.params.get("dims"), ctx.params.get("keepdim", False)
        shape = tuple(a.shape)
        mask = a == _expand_back(out, shape, dims, keepdim)
        m = mask._data if hasattr(mask, "_data") else mask
        k = np.sum(m, axis=dims, keepdims=True) if shape else np.ones((), np.int64)
        share = np.where(m, 1.0 / k, 0.0).astype(a.dtype)
        if hasattr(a, "_data"):
            share = Tensor._make(share, False, None)
        return (_expand_back(g, shape, dims, keepdim) * share,)


class Amin(Amax):
    name = "AminBackward0"
    statement = "result = min of input over dim"
    formula = {"input": "1/k at each of the k minima, 0 elsewhere"}  # noqa: RUF012


def _amax_dims(a: Tensor, dim: Any) -> tuple[int, ...] | None:
    dims = () if dim is None else (dim,) if isinstance(dim, int) else tuple(dim)
    wrapped = [wrap_dim(d, a._data.ndim) for d in dims]
    for d in wrapped:
        if wrapped.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    if not wrapped or not a._data.ndim:
        return None if a._data.ndim else ()
    return tuple(sorted(wrapped))


# The session writes "all dims" as None (torch spells it dim=()).
_AMAX_PARAMS = (registry.Param("dim", "dims", None), registry.Param("keepdim", "bool", False))


@registry.op(nodes=(Amax,), category="reduction", size_rule="max", params=_AMAX_PARAMS)
def amax(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    return Amax.apply(input, dims=_amax_dims(input, dim), keepdim=keepdim, op="amax")


@registry.op(nodes=(Amin,), category="reduction", size_rule="max", params=_AMAX_PARAMS)
def amin(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    return Amin.apply(input, dims=_amax_dims(input, dim), keepdim=keepdim, op="amin")


def _int_to_long(a: np.ndarray, dtype: Any) -> Any:
    if dtype is not None:
        from ..dtypes import to_dtype

        return to_dtype(dtype).np
    return np.int64 if a.dtype.kind in "biu" else None


def _prod_others(a: np.ndarray, axis: int) -> np.ndarray:
    """The product of the other elements along ``axis`` at each position (safe with zeros)."""
    n = a.shape[axis]
    ones = np.ones_like(np.take(a, [0], axis=axis)) if n else a
    left = np.cumprod(np.concatenate([ones, np.take(a, range(n - 1), axis=axis)], axis=axis), axis=axis)
    rev = np.flip(a, axis)
    right = np.cumprod(np.concatenate([ones, np.take(rev, range(n - 1), axis=axis)], axis=axis), axis=axis)
    return left * np.flip(right, axis) if n else a


class Prod(Function):
    name = "ProdBackward0"
    statement = "result = Π input"
    formula = {"input": "Π of the other elements (result/input where input ≠ 0)"}  # noqa: RUF012

    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False, dtype=None):
        out = np.asarray(np.prod(a, axis=dim, keepdims=keepdim, dtype=dtype))
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        dim, keepdim = ctx.params.get("dim"), ctx.params.get("keepdim", False)
        shape = tuple(a.shape)
        dims = None if dim is None else (dim,)
        if not shape:
            return (g,)
        if hasattr(a, "_data"):  # create_graph: result/input, as long as no input is 0
            return (_expand_back(g, shape, dims, keepdim) * _expand_back(out, shape, dims, keepdim) / a,)
        others = _prod_others(a.reshape(-1), 0).reshape(shape) if dim is None else _prod_others(a, dim)
        return (_expand_back(g, shape, dims, keepdim) * others,)


class ProdDim(Prod):
    name = "ProdBackward1"
    statement = "result = Π input along dim"


@registry.op(
    nodes=(Prod, ProdDim),
    category="reduction",
    size_rule="max",
    params=(registry.Param("dim", "optional_int", None), registry.Param("keepdim", "bool", False)),
)
def prod(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    dt = _int_to_long(input._data, dtype)
    if dim is None:
        return Prod.apply(input, dtype=dt)
    if not isinstance(dim, int):
        raise TypeError(
            f"prod() received an invalid combination of arguments - got (dim={type(dim).__name__}, ), "
            "but expected one of:\n * (*, torch.dtype dtype = None)\n"
            " * (int dim, bool keepdim = False, *, torch.dtype dtype = None)\n"
        )
    d = wrap_dim(dim, input._data.ndim)
    return ProdDim.apply(input, dim=d if input._data.ndim else None, keepdim=keepdim, dtype=dt)


class Cumsum(Function):
    name = "CumsumBackward0"
    statement = "resultᵢ = Σ_{j≤i} inputⱼ along dim"
    formula = {"input": "1 for every later position, so ∂L/∂input is the reversed cumulative sum"}  # noqa: RUF012

    @staticmethod
    def forward(ctx, a, dim=0, dtype=None):
        if a.ndim == 0:
            return np.asarray(a, dtype=dtype or a.dtype).copy()
        return np.cumsum(a, axis=dim, dtype=dtype)

    @staticmethod
    def backward(ctx, g):
        dim = ctx.params["dim"]
        if not ctx.inputs[0]._data.ndim:
            return (g,)
        if hasattr(g, "_data"):
            from .shape import flip

            return (flip(cumsum(flip(g, (dim,)), dim), (dim,)),)
        return (np.flip(np.cumsum(np.flip(g, dim), axis=dim), dim),)


def _cum_dim(name: str, a: Tensor, dim: Any) -> int:
    if dim is registry.REQUIRED:
        raise TypeError(f'{name}() missing 1 required positional arguments: "dim"')
    return wrap_dim(dim, a._data.ndim)


@registry.op(nodes=(Cumsum,), category="reduction", params=(registry.Param("dim", "dim"),))
def cumsum(input: Tensor, dim: Any = registry.REQUIRED, *, dtype: Any = None) -> Tensor:
    return Cumsum.apply(input, dim=_cum_dim("cumsum", input, dim), dtype=_int_to_long(input._data, dtype))


class Cumprod(Function):
    name = "CumprodBackward0"
    statement = "resultᵢ = Π_{j≤i} inputⱼ along dim"
    formula = {"input": "Σ_{k≥i} ∂L/∂resultₖ · resultₖ/inputᵢ (the product without inputᵢ)"}  # noqa: RUF012

    @staticmethod
    def forward(ctx, a, dim=0, dtype=None):
        out = (
            np.asarray(a, dtype=dtype or a.dtype).copy()
            if a.ndim == 0
            else np.cumprod(a, axis=dim, dtype=dtype)
        )
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        dim = ctx.params["dim"]
        if not tuple(a.shape):
            return (g,)
        if hasattr(a, "_data"):  # create_graph: needs no zero in the input
            from .shape import flip

            return (flip(cumsum(flip(g * out, (dim,)), dim), (dim,)) / a,)
        # Exact with zeros: for each i, Σ_{k≥i} g_k Π_{j≤k, j≠i} a_j.
        a_m, g_m = np.moveaxis(a, dim, -1), np.moveaxis(g, dim, -1)
        n = a_m.shape[-1]
        res = np.zeros(np.broadcast_shapes(a_m.shape, g_m.shape), dtype=np.result_type(a, g))
        for i in range(n):
            b = a_m.copy()
            b[..., i] = 1
            p = np.cumprod(b, axis=-1)
            res[..., i] = np.sum((g_m * p)[..., i:], axis=-1)
        return (np.moveaxis(res, -1, dim),)


@registry.op(nodes=(Cumprod,), category="reduction", params=(registry.Param("dim", "dim"),))
def cumprod(input: Tensor, dim: Any = registry.REQUIRED, *, dtype: Any = None) -> Tensor:
    return Cumprod.apply(input, dim=_cum_dim("cumprod", input, dim), dtype=_int_to_long(input._data, dtype))


def _logical_reduce(name: str, a: Tensor, dim: Any, keepdim: bool) -> Tensor:
    x = a._data
    f = np.all if name == "all" else np.any
    dims = _dims(dim, x.ndim)
    out = np.asarray(f(x, axis=dims, keepdims=keepdim))
    if x.dtype == np.uint8:
        out = out.astype(np.uint8)
    return Tensor._make(out, False, None)


@registry.op(
    category="reduction",
    size_rule="max",
    statement="result = True if every element (over dim) is nonzero",
    text="not differentiable (a bool result)",
    params=(registry.Param("dim", "dims", None), registry.Param("keepdim", "bool", False)),
)
def all(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _logical_reduce("all", input, dim, keepdim)


@registry.op(
    category="reduction",
    size_rule="max",
    statement="result = True if any element (over dim) is nonzero",
    text="not differentiable (a bool result)",
    params=(registry.Param("dim", "dims", None), registry.Param("keepdim", "bool", False)),
)
def any(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _logical_reduce("any", input, dim, keepdim)


# --- sorting and selecting (issue 14) --------------------------------------------------------------
SortResult = _return_type("sort")
TopkResult = _return_type("topk")
MedianResult = _return_type("median")


def _scatter_back(g: Any, idx: np.ndarray, dim: int, shape: tuple[int, ...], keepdim: bool = True) -> Any:
    """∂L/∂input of an op that picked ``input`` at ``idx`` along ``dim``: ``g`` put back there."""
    if not shape:
        return g
    if not keepdim:
        idx, g = np.expand_dims(idx, dim), dual.unsqueeze_dims(g, (dim,))
    full = [
        np.arange(n).reshape([-1 if i == d else 1 for i in range(len(shape))]) for d, n in enumerate(shape)
    ]
    full[dim] = idx
    return dual.index_add_zeros(g, tuple(np.broadcast_arrays(*full)), shape)


class Sort(Function):
    name = "SortBackward0"
    statement = "result = input sorted along dim"
    formula = {"input": "∂L/∂result put back where each value came from"}  # noqa: RUF012
    adjoint = True

    @staticmethod
    def forward(ctx, a, dim=-1, descending=False, k=None, keepdim=True):
        if a.ndim == 0:
            ctx.indices = np.zeros((), np.int64)
            return a.copy()
        key = a.astype(np.int8) if a.dtype == np.bool_ else a
        if descending:
            key = -key.astype(np.int64) if key.dtype.kind in "bu" else -key
        idx = np.argsort(key, axis=dim, kind="stable")
        if descending and a.dtype.kind == "f":  # NaN counts as the largest: first, as in torch
            first = np.argsort(~np.isnan(np.take_along_axis(a, idx, axis=dim)), axis=dim, kind="stable")
            idx = np.take_along_axis(idx, first, axis=dim)
        if k is not None:
            idx = np.take(idx, range(k), axis=dim)
        ctx.indices = idx.astype(np.int64)
        return np.take_along_axis(a, idx, axis=dim)

    @staticmethod
    def backward(ctx, g):
        return (_scatter_back(g, ctx.indices, ctx.params.get("dim", -1), ctx.inputs[0]._data.shape),)


class SortStable(Sort):
    name = "SortBackward1"


class Topk(Sort):
    name = "TopkBackward0"
    statement = "result = the k largest (or smallest) of input along dim"


def _picked(node_cls: type, a: Tensor, **params: Any) -> tuple[Tensor, Tensor]:
    """Run a selecting op and fetch its indices (kept on the node, or recomputed without one)."""
    values = node_cls.apply(a, **params)
    if values.grad_fn is not None:
        idx = values.grad_fn.indices
    else:
        holder = _Holder()
        node_cls.forward(holder, a._data, **params)
        idx = holder.indices
    return values, Tensor._make(np.asarray(idx, dtype=np.int64), False, None)


class _Holder(_Discard):
    indices: Any = None


def _sort_values(a: Tensor, dim: int = -1, descending: bool = False) -> Tensor:
    return sort(a, dim, descending).values


@registry.op(
    nodes=(Sort, SortStable),
    category="shape",
    params=(registry.Param("dim", "dim", -1), registry.Param("descending", "bool", False)),
    call=_sort_values,
)
def sort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: Any = None) -> Any:
    d = wrap_dim(dim, input._data.ndim)
    cls = Sort if stable is None else SortStable
    return SortResult(*_picked(cls, input, dim=d, descending=bool(descending)))


@registry.op(catalogue=False)
def argsort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Tensor:
    from ..grad_mode import no_grad

    with no_grad():
        return sort(input, dim, descending, stable=stable).indices


def _topk_values(a: Tensor, k: int = 1, dim: int = -1, largest: bool = True) -> Tensor:
    return topk(a, k, dim, largest).values


@registry.op(
    nodes=(Topk,),
    category="shape",
    size_rule="max",
    params=(
        registry.Param("k", "int", 1),
        registry.Param("dim", "dim", -1),
        registry.Param("largest", "bool", True),
    ),
    call=_topk_values,
)
def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
    d = wrap_dim(dim, input._data.ndim)
    n = input._data.shape[d] if input._data.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError("selected index k out of range")
    return TopkResult(*_picked(Topk, input, dim=d, descending=bool(largest), k=k))


class MedianAll(Function):
    name = "MedianBackward0"
    statement = "result = the middle value of input (the lower of the two middle ones)"
    formula = {"input": "1/k at each of the k elements equal to the median, 0 elsewhere"}  # noqa: RUF012

    @staticmethod
    def forward(ctx, a):
        flat = a.reshape(-1)
        if flat.size == 0:
            out = np.asarray(np.nan, dtype=a.dtype)
        else:
            out = np.asarray(np.sort(flat, kind="stable")[(flat.size - 1) // 2])
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        mask = a == out
        m = mask._data if hasattr(mask, "_data") else mask
        share = np.where(m, 1.0 / (int(np.sum(m)) or 1), 0.0).astype(a.dtype)
        if hasattr(a, "_data"):
            share = Tensor._make(share, False, None)
        return (g * share,)


class MedianDim(Function):
    name = "MedianBackward1"
    statement = "result = the middle value of input along dim"
    formula = {"input": "∂L/∂result at the median's index, 0 elsewhere"}  # noqa: RUF012
    adjoint = True

    @staticmethod
    def forward(ctx, a, dim=0, keepdim=False):
        if a.ndim == 0:
            ctx.indices = np.zeros((), np.int64)
            return a.copy()
        if a.shape[dim] == 0:
            raise IndexError(f"median(): Expected reduction dim {dim} to have non-zero size.")
        order = np.argsort(a, axis=dim, kind="stable")
        idx = np.take(order, [(a.shape[dim] - 1) // 2], axis=dim)
        values = np.take_along_axis(a, idx, axis=dim)
        if not keepdim:
            idx, values = np.squeeze(idx, dim), np.squeeze(values, dim)
        ctx.indices = idx.astype(np.int64)
        return np.asarray(values)

    @staticmethod
    def backward(ctx, g):
        a = ctx.inputs[0]._data
        return (_scatter_back(g, ctx.indices, ctx.params["dim"], a.shape, ctx.params["keepdim"]),)


def _median_values(a: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    out = median(a, dim, keepdim)
    return out if dim is None else out.values


@registry.op(
    nodes=(MedianAll, MedianDim),
    category="reduction",
    size_rule="max",
    params=(registry.Param("dim", "optional_int", None), registry.Param("keepdim", "bool", False)),
    call=_median_values,
)
def median(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    if input._data.dtype == np.bool_:
        raise NotImplementedError("\"median_cpu\" not implemented for 'Bool'")
    if dim is None:
        return MedianAll.apply(input)
    d = wrap_dim(dim, input._data.ndim)
    return MedianResult(*_picked(MedianDim, input, dim=d, keepdim=keepdim))


@registry.op(catalogue=False, numpy_names=False)  # torch.unique is a Python function
def unique(
    input: Tensor,
    sorted: bool = True,
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: int | None = None,
) -> Any:
    if dim is not None:
        raise NotImplementedError("gradviz: unique(dim=...) is not supported")
    values, inverse, counts = np.unique(input._data, return_inverse=True, return_counts=True)
    out = [Tensor._make(np.asarray(values), False, None)]
    if return_inverse:
        out.append(Tensor._make(np.asarray(inverse, np.int64).reshape(input._data.shape), False, None))
    if return_counts:
        out.append(Tensor._make(np.asarray(counts, np.int64), False, None))
    return out[0] if len(out) == 1 else tuple(out)
