"""Reductions: sum, mean, max, min, and the softmax family."""

from __future__ import annotations

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
