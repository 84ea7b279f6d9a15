"""Ops that move elements without changing them: views, transposes, cat, stack, dtype casts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtypes, dual, registry
from ..device import check as check_device
from ..function import Function, ViewFunction, composite
from ..size import Size
from ..tensor import Tensor
from ._util import wrap_dim


def _sizes(args: tuple) -> tuple[int, ...]:
    if len(args) == 1 and isinstance(args[0], (tuple, list, Size)):
        return tuple(int(s) for s in args[0])
    return tuple(int(s) for s in args)


def _infer(shape: tuple[int, ...], numel: int) -> tuple[int, ...]:
    """Resolve one -1 and check the element count, with PyTorch's message."""
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


class View(ViewFunction):
    name = "ViewBackward0"

    @staticmethod
    def forward(ctx, a, shape=()):
        return np.reshape(a, shape)

    @staticmethod
    def backward(ctx, g):
        return (dual.reshape(g, ctx.inputs[0]._data.shape),)


# The other names PyTorch gives a reshape of the same data; one class each.
class ReshapeAlias(View):
    name = "ReshapeAliasBackward0"
    derivative = "∂L/∂input = ∂L/∂result reshaped to input's shape"


class UnsafeView(View):
    name = "UnsafeViewBackward0"
    derivative = "∂L/∂input = ∂L/∂result reshaped to input's shape"


class Unsqueeze(View):
    name = "UnsqueezeBackward0"


class Squeeze(View):
    name = "SqueezeBackward0"
    derivative = "∂L/∂input = ∂L/∂result with the size-1 dims restored"


class SqueezeDim(View):
    name = "SqueezeBackward1"
    derivative = "∂L/∂input = ∂L/∂result with the size-1 dim restored"


class SqueezeDims(View):
    name = "SqueezeBackward2"
    derivative = "∂L/∂input = ∂L/∂result with the size-1 dims restored"


class SqueezeInPlace(View):
    name = "SqueezeBackward4"
    derivative = "∂L/∂input = ∂L/∂result with the size-1 dims restored"


@registry.op(
    statement="result = input's values in a new shape",
    category="shape",
    params=(registry.Param("shape", "shape"),),
    nodes=(View, ReshapeAlias, UnsafeView),
    call=lambda a, shape=(): reshape(a, tuple(shape)),
    adjoint=True,
    formula={"input": "∂L/∂result reshaped to input's shape"},
)
def reshape(a: Tensor, *shape: Any) -> Tensor:
    new = _infer(_sizes(shape), a._data.size)
    if _viewable(a._data, new):
        # A view; PyTorch records a non-contiguous input's view as ReshapeAliasBackward0.
        return (View if a._data.flags.c_contiguous else ReshapeAlias).apply(a, shape=new)
    return _reshape_copy(a, new)


@composite("reshape", lambda a, shape: ((a,), {"shape": shape}))
def _reshape_copy(a: Tensor, shape: tuple[int, ...]) -> Tensor:
    # PyTorch copies a non-viewable input first: UnsafeViewBackward0 <- CloneBackward0.
    return UnsafeView.apply(clone(a), shape=shape)


def _viewable(arr: np.ndarray, shape: tuple[int, ...]) -> bool:
    if arr.ndim == 0:
        return True
    try:
        np.reshape(arr, shape, copy=False)
    except ValueError:
        return False
    return True


@registry.op(
    statement="result = input's values viewed in a new shape",
    syntax=("method",),
    category="shape",
    params=(registry.Param("shape", "shape"),),
    nodes=(View,),
    call=lambda a, shape=(): view(a, tuple(shape)),
    adjoint=True,
    formula={"input": "∂L/∂result viewed as input's shape"},
)
def view(a: Tensor, *shape: Any) -> Tensor:
    if len(shape) == 1 and isinstance(shape[0], dtypes.dtype):
        raise RuntimeError("view(dtype) is not supported by gradviz")
    new = _infer(_sizes(shape), a._data.size)
    if not _viewable(a._data, new):
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one dimension "
            "spans across two contiguous subspaces). Use .reshape(...) instead."
        )
    return View.apply(a, shape=new)


def _flatten_call(a: Tensor, start_dim: int = 0, end_dim: int = -1) -> tuple[tuple, dict]:
    return (a,), {"start_dim": start_dim or None, "end_dim": None if end_dim == -1 else end_dim}


@registry.op(
    statement="result = input with dims start_dim to end_dim made one",
    category="shape",
    params=(registry.Param("start_dim", "dim", 0), registry.Param("end_dim", "dim", -1)),
    adjoint=True,
    formula={"input": "∂L/∂result reshaped to input's shape"},
)
@composite("flatten", _flatten_call)
def flatten(a: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    shape = a._data.shape
    if not shape:
        return View.apply(a, shape=(1,))
    s, e = wrap_dim(start_dim, len(shape)), wrap_dim(end_dim, len(shape))
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return a
    new = shape[:s] + (int(np.prod(shape[s : e + 1])),) + shape[e + 1 :]
    return reshape(a, new)


@registry.op(
    statement="result = input with a size-1 dim inserted at dim",
    category="shape",
    params=(registry.Param("dim", "dim", 0),),
    nodes=(Unsqueeze,),
    adjoint=True,
    formula={"input": "∂L/∂result with the new dim removed"},
)
def unsqueeze(a: Tensor, dim: int) -> Tensor:
    d = wrap_dim(dim, a._data.ndim + 1)
    return Unsqueeze.apply(a, shape=a._data.shape[:d] + (1,) + a._data.shape[d:])


@registry.op(
    statement="result = input without its size-1 dims",
    category="shape",
    params=(registry.Param("dim", "optional_int", None),),
    nodes=(Squeeze, SqueezeDim, SqueezeDims),
    adjoint=True,
    formula={"input": "∂L/∂result with size-1 dims restored"},
)
def squeeze(a: Tensor, dim: Any = None) -> Tensor:
    shape = a._data.shape
    if dim is None:
        return Squeeze.apply(a, shape=tuple(s for s in shape if s != 1))
    dims = {wrap_dim(d, len(shape)) for d in ((dim,) if isinstance(dim, int) else dim)}
    new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
    return (SqueezeDim if isinstance(dim, int) else SqueezeDims).apply(a, shape=new)


class Permute(ViewFunction):
    name = "PermuteBackward0"

    derivative = "∂L/∂input = ∂L/∂result with the dims permuted back"

    @staticmethod
    def forward(ctx, a, dims=()):
        return np.transpose(a, dims)

    @staticmethod
    def backward(ctx, g):
        inv = tuple(np.argsort(ctx.params["dims"]))
        if dual._is_array(g):
            return (np.transpose(g, inv),)
        return (g.permute(*inv),)


class Transpose(Permute):
    name = "TransposeBackward0"
    derivative = ""  # the catalogue's transpose says it


class TransposeT(Permute):
    name = "TBackward0"
    derivative = ""


@registry.op(catalogue=False, nodes=(Permute,))
def permute(a: Tensor, *dims: Any) -> Tensor:
    d = tuple(wrap_dim(x, a._data.ndim) for x in _sizes(dims))
    if sorted(d) != list(range(a._data.ndim)):
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the length of the desired ordering of dimensions i.e. input.dim() = {a._data.ndim} is not equal to len(dims) = {len(d)}"
        )
    return Permute.apply(a, dims=d)


@registry.op(
    statement="result = input with dim0 and dim1 swapped",
    category="shape",
    params=(registry.Param("dim0", "dim", 0), registry.Param("dim1", "dim", 1)),
    nodes=(Transpose,),
    adjoint=True,
    formula={"input": "∂L/∂result with the two dims swapped back"},
)
def transpose(a: Tensor, dim0: int, dim1: int) -> Tensor:
    n = a._data.ndim
    d0, d1 = wrap_dim(dim0, n), wrap_dim(dim1, n)
    dims = list(range(n))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return Transpose.apply(a, dims=tuple(dims))


swapaxes = registry.op(name="swapaxes", catalogue=False, nodes=(Transpose,))(transpose)


@registry.op(
    statement="result = inputᵀ",
    category="shape",
    nodes=(TransposeT,),
    adjoint=True,
    formula={"input": "(∂L/∂result)ᵀ (at most 2-D)"},
)
def t(a: Tensor) -> Tensor:
    if a._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {a._data.ndim}D")
    return TransposeT.apply(a, dims=tuple(range(a._data.ndim))[::-1])


_warned_transpose = []


@registry.op(
    statement="result = inputᵀ (all dims reversed)",
    syntax=("attribute",),  # t.T: a property, bound in ops/__init__.py
    category="shape",
    nodes=(Permute,),
    adjoint=True,
    formula={"input": "(∂L/∂result)ᵀ"},
)
def T(a: Tensor) -> Tensor:
    if a._data.ndim != 2 and not _warned_transpose:
        import warnings

        _warned_transpose.append(True)  # once per process, as PyTorch's TORCH_WARN_ONCE
        warnings.warn(
            "The use of `x.T` on tensors of dimension other than 2 to reverse their shape is deprecated "
            "and it will throw an error in a future release. Consider `x.mT` to transpose batches of "
            "matrices or `x.permute(*torch.arange(x.ndim - 1, -1, -1))` to reverse the dimensions of a tensor.",
            UserWarning,
            stacklevel=3,
        )
    return Permute.apply(a, dims=tuple(range(a._data.ndim))[::-1])


def mT(a: Tensor) -> Tensor:
    return transpose(a, -2, -1)


@registry.op(catalogue=False, nodes=(Permute,))
def movedim(a: Tensor, source: Any, destination: Any) -> Tensor:
    nd = a._data.ndim
    given_src = list(source) if isinstance(source, Sequence) else [source]
    given_dst = list(destination) if isinstance(destination, Sequence) else [destination]
    if len(given_src) != len(given_dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({given_src} dims) should contain the "
            f"same number of dims as destination ({given_dst} dims)"
        )
    src, dst = [wrap_dim(d, nd) for d in given_src], [wrap_dim(d, nd) for d in given_dst]
    for what, dims, given in (("source", src, given_src), ("destination", dst, given_dst)):
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"movedim: repeated dim in `{what}` ({given})")
    if nd == 0:  # a scalar: dims 0 and -1 name it, and nothing moves
        return Permute.apply(a, dims=())
    order = [d for d in range(nd) if d not in src]  # the dims that stay, in their order
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return Permute.apply(a, dims=tuple(order))


class Expand(ViewFunction):
    name = "ExpandBackward0"
    derivative = "∂L/∂input = ∂L/∂result summed over the broadcast dims"

    @staticmethod
    def forward(ctx, a, shape=()):
        return np.broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, g):
        return (dual.sum_to(g, ctx.inputs[0]._data.shape),)


@registry.op(catalogue=False, nodes=(Expand,))
def expand(a: Tensor, *sizes: Any) -> Tensor:
    want = _sizes(sizes)
    have = a._data.shape
    if len(want) < len(have):
        raise RuntimeError(
            f"expand(torch.FloatTensor{{{list(have)}}}, size={list(want)}): the number of sizes provided "
            f"({len(want)}) must be greater or equal to the number of dimensions in the tensor ({len(have)})"
        )
    pad = (1,) * (len(want) - len(have)) + have
    shape = tuple(p if w == -1 else w for w, p in zip(want, pad))
    for i, (p, s) in enumerate(zip(pad, shape)):
        if p != s and p != 1:
            raise RuntimeError(
                f"The expanded size of the tensor ({s}) must match the existing size ({p}) at "
                f"non-singleton dimension {i}.  Target sizes: {list(want)}.  Tensor sizes: {list(have)}"
            )
    return Expand.apply(a, shape=shape)


@registry.op(syntax=("method",), catalogue=False, operands=("input", "other"), nodes=(Expand,))
def expand_as(a: Tensor, other: Tensor) -> Tensor:
    return expand(a, other.shape)


@registry.op(syntax=("function",), catalogue=False, nodes=(Expand,))
def broadcast_to(a: Tensor, shape: Sequence[int]) -> Tensor:
    return expand(a, tuple(shape))


class Cat(Function):
    name = "CatBackward0"

    @staticmethod
    def forward(ctx, *arrays, dim=0, dtype=None):
        ref = next((x for x in arrays if x.shape != (0,)), arrays[0])
        for i, x in enumerate(arrays):
            if x.shape == (0,):
                continue
            if x.ndim != ref.ndim:
                raise RuntimeError(
                    f"Tensors must have same number of dimensions: got {ref.ndim} and {x.ndim}"
                )
            for d in range(x.ndim):
                if d != dim and x.shape[d] != ref.shape[d]:
                    raise RuntimeError(
                        f"Sizes of tensors must match except in dimension {dim}. Expected size "
                        f"{ref.shape[d]} but got size {x.shape[d]} for tensor number {i} in the list."
                    )
        kept = [x.astype(dtype) if dtype is not None else x for x in arrays if x.shape != (0,)] or [arrays[0]]
        return np.concatenate(kept, axis=dim)

    @staticmethod
    def backward(ctx, g):
        dim = ctx.params["dim"]
        sizes = [t._data.shape[dim] if t._data.shape != (0,) else 0 for t in ctx.inputs]
        parts = dual.cat_split(g, dim, sizes)
        # A skipped legacy empty input still gets its (empty) gradient, as in PyTorch.
        return tuple(p if t._data.shape != (0,) else dual.reshape(p, (0,)) for p, t in zip(parts, ctx.inputs))


def _common_dtype(tensors: Sequence[Tensor]) -> np.dtype | None:
    first = tensors[0]._data.dtype
    if all(t._data.dtype == first for t in tensors):
        return None
    d = tensors[0].dtype
    for t in tensors[1:]:
        d = dtypes.promote_types(d, t.dtype)
    return d.np


@registry.op(
    statement="result = tensors joined along dim",
    syntax=("function",),
    operands=("tensors",),
    operand_list=True,
    min_operands=1,
    category="shape",
    size_rule="sum",
    params=(registry.Param("dim", "dim", 0),),
    nodes=(Cat,),
    call=lambda *ts, dim=0: cat(ts, dim),
    aliases=("concat", "concatenate"),
    adjoint=True,
    formula={"tensors[i]": "the slice of ∂L/∂result that tensors[i] filled"},
)
def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    tensors = list(tensors)
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    ref = next((x for x in tensors if x._data.shape != (0,)), tensors[0])
    if ref._data.ndim == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    d = wrap_dim(dim, ref._data.ndim)
    return Cat.apply(*tensors, dim=d, dtype=_common_dtype(tensors))


concat = registry.op(
    name="concat",
    syntax=("function",),
    catalogue=False,
    operands=("tensors",),
    operand_list=True,
    nodes=(Cat,),
)(cat)
concatenate = registry.op(
    name="concatenate",
    syntax=("function",),
    catalogue=False,
    operands=("tensors",),
    operand_list=True,
    nodes=(Cat,),
)(cat)


class Stack(Function):
    name = "StackBackward0"

    @staticmethod
    def forward(ctx, *arrays, dim=0, dtype=None):
        for i, x in enumerate(arrays):
            if x.shape != arrays[0].shape:
                raise RuntimeError(
                    f"stack expects each tensor to be equal size, but got {list(arrays[0].shape)} at "
                    f"entry 0 and {list(x.shape)} at entry {i}"
                )
        return np.stack([x.astype(dtype) if dtype is not None else x for x in arrays], axis=dim)

    @staticmethod
    def backward(ctx, g):
        dim = ctx.params["dim"]
        n = len(ctx.inputs)
        return tuple(dual.index(g, (slice(None),) * dim + (i,)) for i in range(n))


@registry.op(
    statement="result = tensors stacked along a new dim",
    syntax=("function",),
    operands=("tensors",),
    operand_list=True,
    min_operands=1,
    category="shape",
    size_rule="sum",
    params=(registry.Param("dim", "dim", 0),),
    nodes=(Stack,),
    call=lambda *ts, dim=0: stack(ts, dim),
    adjoint=True,
    formula={"tensors[i]": "the i-th slice of ∂L/∂result"},
)
def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    d = wrap_dim(dim, tensors[0]._data.ndim + 1)
    return Stack.apply(*tensors, dim=d, dtype=_common_dtype(tensors))


class ToCopy(Function):
    name = "ToCopyBackward0"
    derivative = "∂L/∂input = ∂L/∂result cast back to input's dtype"

    @staticmethod
    def forward(ctx, a, dtype=None):
        return a.astype(dtype) if dtype is not None else a.copy()

    @staticmethod
    def backward(ctx, g):
        return (g,)


class Clone(ToCopy):
    name = "CloneBackward0"
    derivative = ""


class CopyBackwards(ToCopy):
    """The copy ``backward(create_graph=True)`` makes of a leaf's first gradient."""

    name = "CopyBackwards"
    derivative = "∂L/∂input = ∂L/∂result (a copy of the gradient)"


@registry.op(
    statement="result = input cast to dtype",
    syntax=("method",),
    category="dtype",
    params=(registry.Param("dtype", "choice", "float32", dtypes.NAMES),),
    nodes=(ToCopy,),
    call=lambda a, dtype="float32": to(a, dtypes.to_dtype(dtype), copy=True),
    adjoint=True,
    formula={"input": "∂L/∂result cast back to input's dtype (none if either is an integer type)"},
)
def to(a: Tensor, *args: Any, dtype: Any = None, copy: bool = False, **kwargs: Any) -> Tensor:
    check_device(kwargs.get("device"))
    for arg in args:
        if isinstance(arg, (dtypes.dtype, type)) or (isinstance(arg, np.dtype)):
            dtype = arg
        elif isinstance(arg, Tensor):
            dtype = arg.dtype
        else:  # "cpu", torch.device("cuda"), 0
            check_device(arg)
    if dtype is None:
        return a.clone() if copy else a
    target = dtypes.to_dtype(dtype)
    if target is a.dtype and not copy:
        return a
    if a.requires_grad and not target.is_floating_point:
        return Tensor._make(a._data.astype(target.np), False, None)
    return ToCopy.apply(a, dtype=target.np)


@registry.op(
    statement="result = a copy of input", category="autograd", nodes=(Clone,), formula={"input": "1 (a copy)"}
)
def clone(a: Tensor) -> Tensor:
    return Clone.apply(a)


@registry.op(
    statement="result = input's values, with no history",
    syntax=("function", "method"),
    category="autograd",
    text="no gradient flows through detach",
)
def detach(input: Tensor) -> Tensor:
    """``torch.detach(t)``, ``t.detach()``: the same values, with no history."""
    return input.detach()


def _caster(d: dtypes.dtype):
    def cast(a: Tensor) -> Tensor:
        return to(a, d)

    cast.__name__ = d.name
    return cast


float_ = registry.op(name="float", syntax=("method",), catalogue=False, nodes=(ToCopy,))(
    _caster(dtypes.float32)
)
double = registry.op(name="double", syntax=("method",), catalogue=False, nodes=(ToCopy,))(
    _caster(dtypes.float64)
)
half = registry.op(name="half", syntax=("method",), catalogue=False, nodes=(ToCopy,))(_caster(dtypes.float16))
long = registry.op(name="long", syntax=("method",), catalogue=False, nodes=(ToCopy,))(_caster(dtypes.int64))
int_ = registry.op(name="int", syntax=("method",), catalogue=False, nodes=(ToCopy,))(_caster(dtypes.int32))
bool_ = registry.op(name="bool", syntax=("method",), catalogue=False, nodes=(ToCopy,))(_caster(dtypes.bool_))


# --- issue 14 -------------------------------------------------------------------------------------
class Flip(Function):
    name = "FlipBackward0"
    statement = "result = input reversed along dims"
    formula = {"input": "∂L/∂result reversed along the same dims"}  # noqa: RUF012
    adjoint = True

    @staticmethod
    def forward(ctx, a, dims=()):
        return np.flip(a, dims).copy() if dims else a.copy()

    @staticmethod
    def backward(ctx, g):
        dims = ctx.params["dims"]
        if hasattr(g, "_data"):
            return (Flip.apply(g, dims=dims),)
        return (np.flip(g, dims).copy() if dims else g,)


def _dim_list(dims: Any, ndim: int) -> tuple[int, ...]:
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    out = [wrap_dim(d, ndim) for d in dims]
    for d in out:
        if out.count(d) > 1:
            raise RuntimeError(
                f"dims has duplicates, original flip dims size={len(dims)}, but unique flip dims size={len(set(out))}"
            )
    return tuple(out) if ndim else ()


@registry.op(nodes=(Flip,), category="shape", params=(registry.Param("dims", "dims"),))
def flip(input: Tensor, *args: Any, dims: Any = None) -> Tensor:
    if dims is None:
        dims = tuple(args[0]) if len(args) == 1 and not isinstance(args[0], int) else args
    return Flip.apply(input, dims=_dim_list(dims, input._data.ndim))


class Repeat(Function):
    name = "RepeatBackward0"
    statement = "result = input tiled repeats times along each dim"
    formula = {"input": "Σ of ∂L/∂result over the copies"}  # noqa: RUF012
    adjoint = True

    @staticmethod
    def forward(ctx, a, repeats=()):
        lead = (1,) * (len(repeats) - a.ndim)
        return np.tile(a.reshape(lead + a.shape), repeats)

    @staticmethod
    def backward(ctx, g):
        a = ctx.inputs[0]._data
        reps = ctx.params["repeats"]
        inner = (1,) * (len(reps) - a.ndim) + a.shape
        split = tuple(x for r, s in zip(reps, inner) for x in (r, s))
        summed = dual.sum(dual.reshape(g, split), tuple(range(0, 2 * len(reps), 2)))
        return (dual.reshape(summed, a.shape),)


@registry.op(syntax=("method",), catalogue=False, nodes=(Repeat,))
def repeat(input: Tensor, *sizes: Any) -> Tensor:
    reps = tuple(sizes[0]) if len(sizes) == 1 and not isinstance(sizes[0], int) else tuple(sizes)
    if len(reps) < input._data.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor"
        )
    return Repeat.apply(input, repeats=reps)


def _triangle(node_name: str, np_fn: Any, which: str) -> type:
    class Triangle(Function):
        name = node_name
        statement = f"result = input with the elements {which} the diagonal set to 0"
        kept = "below" if which == "above" else "above"
        formula = {"input": f"∂L/∂result on and {kept} the diagonal, 0 elsewhere"}  # noqa: RUF012
        adjoint = True

        @staticmethod
        def forward(ctx, a, diagonal=0):
            return np_fn(a, diagonal)

        @staticmethod
        def backward(ctx, g):
            k = ctx.params.get("diagonal", 0)
            return (Triangle.apply(g, diagonal=k) if hasattr(g, "_data") else np_fn(g, k),)

    Triangle.__name__ = Triangle.__qualname__ = node_name.removesuffix("Backward0")
    return Triangle


Tril = _triangle("TrilBackward0", np.tril, "above")
Triu = _triangle("TriuBackward0", np.triu, "below")


def _check_2d(a: Tensor, op: str) -> None:
    if a._data.ndim < 2:
        raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions")


@registry.op(nodes=(Tril,), category="shape", params=(registry.Param("diagonal", "int", 0),))
def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    _check_2d(input, "tril")
    return Tril.apply(input, diagonal=int(diagonal))


@registry.op(nodes=(Triu,), category="shape", params=(registry.Param("diagonal", "int", 0),))
def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    _check_2d(input, "triu")
    return Triu.apply(input, diagonal=int(diagonal))


def _diag_index(shape: tuple[int, ...], offset: int, d1: int, d2: int) -> tuple:
    """The index of ``np.diagonal(x, offset, d1, d2)``'s elements in ``x`` (diagonal last)."""
    n = max(0, min(shape[d1] - max(-offset, 0), shape[d2] - max(offset, 0)))
    others = [d for d in range(len(shape)) if d not in (d1, d2)]
    k = len(others) + 1
    idx: list[Any] = [None] * len(shape)
    for j, d in enumerate(others):
        idx[d] = np.arange(shape[d]).reshape([-1 if i == j else 1 for i in range(k)])
    i = np.arange(n).reshape((1,) * (k - 1) + (-1,))
    idx[d1], idx[d2] = i + max(-offset, 0), i + max(offset, 0)
    return tuple(np.broadcast_arrays(*idx))


class Diagonal(Function):
    name = "DiagonalBackward0"
    statement = "result = the diagonal of input (offset, between dim1 and dim2)"
    formula = {"input": "∂L/∂result on that diagonal, 0 elsewhere"}  # noqa: RUF012
    adjoint = True

    @staticmethod
    def forward(ctx, a, offset=0, dim1=0, dim2=1):
        return np.diagonal(a, offset, dim1, dim2).copy()

    @staticmethod
    def backward(ctx, g):
        p = ctx.params
        shape = ctx.inputs[0]._data.shape
        return (dual.index_add_zeros(g, _diag_index(shape, p["offset"], p["dim1"], p["dim2"]), shape),)


class DiagonalCopy(Diagonal):
    name = "DiagonalBackward0_copy"


class DiagEmbed(Function):
    name = "DiagEmbedBackward0"
    statement = "result = a square matrix with input on its diagonal (offset)"
    formula = {"input": "the diagonal of ∂L/∂result"}  # noqa: RUF012
    adjoint = True

    @staticmethod
    def forward(ctx, v, offset=0):
        return np.diag(v, offset)

    @staticmethod
    def backward(ctx, g):
        k = ctx.params["offset"]
        if hasattr(g, "_data"):
            return (Diagonal.apply(g, offset=k, dim1=0, dim2=1),)
        return (np.diagonal(g, k).copy(),)


@registry.op(
    nodes=(Diagonal,),
    category="shape",
    params=(
        registry.Param("offset", "int", 0),
        registry.Param("dim1", "dim", 0),
        registry.Param("dim2", "dim", 1),
    ),
    size_rule="max",
)
def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    n = input._data.ndim
    d1, d2 = wrap_dim(dim1, n), wrap_dim(dim2, n)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return Diagonal.apply(input, offset=int(offset), dim1=d1, dim2=d2)


@registry.op(nodes=(DiagEmbed, DiagonalCopy), catalogue=False)
def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    if input._data.ndim == 1:
        return DiagEmbed.apply(input, offset=int(diagonal))
    if input._data.ndim == 2:
        return DiagonalCopy.apply(input, offset=int(diagonal), dim1=0, dim2=1)
    raise RuntimeError("diag(): Supports 1D or 2D tensors. Got " + f"{input._data.ndim}D")


class Split(ViewFunction):
    name = "SplitBackward0"
    statement = "result = one piece of input cut along dim"
    formula = {"input": "∂L/∂result in the piece, 0 elsewhere"}  # noqa: RUF012
    adjoint = True

    @staticmethod
    def forward(ctx, a, idx=()):
        return a[idx]

    @staticmethod
    def backward(ctx, g):
        return (dual.index_add_zeros(g, ctx.params["idx"], ctx.inputs[0]._data.shape),)


class SplitWithSizes(Split):
    name = "SplitWithSizesBackward0"


def _pieces(input: Tensor, sizes: list[int], dim: int, cls: type) -> tuple[Tensor, ...]:
    out, start = [], 0
    for n in sizes:
        idx = (slice(None),) * dim + (slice(start, start + n),)
        out.append(cls.apply(input, idx=idx))
        start += n
    return tuple(out)


@registry.op(catalogue=False, nodes=(Split, SplitWithSizes), numpy_names=False)  # a Python function in torch
def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    d = wrap_dim(dim, tensor._data.ndim)
    n = tensor._data.shape[d]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size <= 0 and n:
            raise RuntimeError(
                f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}"
            )
        sizes = [min(size, n - s) for s in range(0, n, size)] if size else [0]
        return _pieces(tensor, sizes or [0], d, Split)
    sizes = [int(s) for s in split_size_or_sections]
    if sum(sizes) != n:
        raise RuntimeError(
            f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at dimension "
            f"{d}), but got split_sizes={sizes}"
        )
    return _pieces(tensor, sizes, d, SplitWithSizes)


def _chunk_piece(input: Tensor, chunks: int, dim: int = 0, piece: int = 0) -> Tensor:
    """One piece of ``chunk``: a session records each piece as its own op (the console unpacks
    ``a, b = x.chunk(2)`` into two), as one tensor per entry."""
    pieces = chunk(input, chunks, dim)
    if not 0 <= piece < len(pieces):
        raise IndexError(f"chunk gives {len(pieces)} pieces: there is no piece {piece}")
    return pieces[piece]


@registry.op(
    nodes=(Split,),
    category="shape",
    size_rule="max",  # a piece: at most its input
    call=_chunk_piece,
    params=(
        registry.Param("chunks", "int"),
        registry.Param("dim", "dim", 0),
        registry.Param("piece", "int", 0, help="which of the pieces (torch returns them all, as a tuple)"),
    ),
)
def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = wrap_dim(dim, input._data.ndim)
    n = input._data.shape[d]
    size = -(-n // chunks) if n else 0
    return split(input, max(size, 1) if n else 0, d) if n else split(input, 0, d)


@registry.op(syntax=("function",), catalogue=False, operands=("tensors",), operand_list=True, nodes=(Cat,))
def hstack(tensors: Sequence[Tensor]) -> Tensor:
    tensors = [t if t._data.ndim else t.reshape(1) for t in tensors]
    return cat(tensors, 0 if tensors and tensors[0]._data.ndim == 1 else 1)


@registry.op(syntax=("function",), catalogue=False, operands=("tensors",), operand_list=True, nodes=(Cat,))
def vstack(tensors: Sequence[Tensor]) -> Tensor:
    two_d = []
    for t_ in tensors:
        if t_._data.ndim == 0:
            t_ = t_.reshape(1, 1)
        elif t_._data.ndim == 1:
            t_ = unsqueeze(t_, 0)
        two_d.append(t_)
    return cat(two_d, 0)


@registry.op(syntax=("function",), catalogue=False, operands=())
def broadcast_shapes(*shapes: Any) -> Size:
    """torch.broadcast_shapes: the shape all of ``shapes`` broadcast to (no tensors made)."""
    norm = [(s,) if isinstance(s, int) else tuple(s) for s in shapes]
    n = max([len(s) for s in norm] + [0])
    out = [1] * n
    for s in norm:
        for i, d in enumerate(s):
            j = n - len(s) + i
            if out[j] == 1:
                out[j] = d
    for k, s in enumerate(norm):
        for i in range(len(s) - 1, -1, -1):  # from the right, as torch checks
            d, j = s[i], n - len(s) + i
            if d != 1 and d != out[j]:
                raise RuntimeError(
                    f"Attempting to broadcast a dimension of length {d} at {i - len(s)}! Mismatching argument "
                    f"at index {k} had {s}; but expected shape should be broadcastable to {out}"
                )
    return Size(out)
