"""Reading with ``t[...]``: ints, slices, None, Ellipsis, lists, integer and boolean tensors.

Basic indexing is split into one Select/Slice/Unsqueeze step per dimension, as PyTorch records
it; anything advanced becomes a single IndexBackward0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dual, registry
from ..function import Function, ViewFunction, composite, note_nondiff_inputs
from ..tensor import Tensor
from ._util import wrap_dim


def decode_index(items: Sequence[Any], operands: Sequence[Tensor]) -> tuple:
    """Turn the stored (JSON) form of ``t[...]`` back into a Python index.

    Items: an int; null (None, a new axis); "..." (Ellipsis); {"slice": [start, stop, step]};
    {"list": [...]} (ints or bools); {"operand": k} (the k-th extra tensor operand, a mask or
    integer tensor).
    """
    out: list[Any] = []
    for item in items:
        if item is None:
            out.append(None)
        elif item == "...":
            out.append(Ellipsis)
        elif isinstance(item, bool):
            raise ValueError("a bare bool is not a valid index item")
        elif isinstance(item, int):
            out.append(item)
        elif isinstance(item, dict) and set(item) == {"slice"}:
            out.append(slice(*item["slice"]))
        elif isinstance(item, dict) and set(item) == {"list"}:
            out.append(list(item["list"]))
        elif isinstance(item, dict) and set(item) == {"operand"}:
            out.append(operands[item["operand"]])
        else:
            raise ValueError(f"unknown index item {item!r}")
    return tuple(out)


def _index(t: Tensor, *masks: Tensor, index: Sequence[Any] = ()) -> Tensor:
    """The session's ``t[...]``: the index in its stored form, extra tensors as operands."""
    items = decode_index(index, (t, *masks))
    return t[items if len(items) != 1 else items[0]]


def normalize_index(idx: Any) -> Any:
    """Turn Tensors and lists inside an index into numpy arrays."""
    if isinstance(idx, tuple):
        return tuple(_norm_item(i) for i in idx)
    return _norm_item(idx)


def _norm_item(i: Any) -> Any:
    if isinstance(i, Tensor):
        if i.dtype.is_floating_point:
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return i._data
    if isinstance(i, (list, tuple)):
        arr = np.asarray([_norm_item(x) for x in i])
        if arr.size == 0:
            arr = arr.astype(np.int64)
        if arr.dtype.kind not in "biu":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return arr
    if isinstance(i, (bool, np.bool_)):
        return np.asarray(i)
    return i


class Index(ViewFunction):
    name = "IndexBackward0"

    @staticmethod
    def forward(ctx, a, idx=()):
        return np.asarray(a[idx])

    @staticmethod
    def backward(ctx, g):
        return (dual.index_add_zeros(g, ctx.params["idx"], ctx.inputs[0]._data.shape),)


class Select(Index):
    name = "SelectBackward0"
    derivative = "∂L/∂input = ∂L/∂result at the selected index, 0 elsewhere"


class Slice(Index):
    name = "SliceBackward0"
    derivative = "∂L/∂input = ∂L/∂result in the slice, 0 elsewhere"


class Alias(Index):
    name = "AliasBackward0"
    derivative = "∂result/∂input = 1 (the same values)"


class IndexAddZeros(Function):
    """Scatter-add into zeros: the gradient of indexing, itself differentiable."""

    name = "IndexPutBackward0"
    derivative = "∂L/∂input = ∂L/∂result outside the written positions; ∂L/∂values = ∂L/∂result at them"

    @staticmethod
    def forward(ctx, g, idx=(), shape=()):
        out = np.zeros(shape, dtype=g.dtype)
        np.add.at(out, idx, g)
        return out

    @staticmethod
    def backward(ctx, gg):
        return (dual.index(gg, ctx.params["idx"]),)


def _check_bounds(a: np.ndarray, idx: Any) -> None:
    try:
        a[idx]
    except IndexError as e:
        msg = str(e)
        if "out of bounds" in msg:
            parts = msg.split()
            # numpy: "index 5 is out of bounds for axis 0 with size 3"
            try:
                i, axis, size = parts[1], parts[parts.index("axis") + 1], parts[-1]
                msg = f"index {i} is out of bounds for dimension {axis} with size {size}"
            except (ValueError, IndexError):
                pass
        raise IndexError(msg) from None


_INDEX_TYPE_ERROR = "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid indices (got {})"


def _sequence_as_tuple(idx: list) -> bool:
    """PyTorch's (and old numpy's) rule: a short list holding a sequence, slice, Tensor,
    None or Ellipsis is read as a tuple of indices, so ``x[[[0, 1], [1, 0]]]`` is ``x[[0, 1], [1, 0]]``."""
    if len(idx) >= 32:
        return False
    return any(
        isinstance(i, (list, tuple, slice, Tensor, np.ndarray)) or i is None or i is Ellipsis for i in idx
    )


def _as_int(item: Any) -> int | None:
    """An int for a Python/numpy integer or a 0-d integer Tensor (PyTorch selects with those)."""
    if isinstance(item, (bool, np.bool_)):
        return None
    if isinstance(item, (int, np.integer)):
        return int(item)
    if (
        isinstance(item, Tensor)
        and item._data.ndim == 0
        and item._data.dtype.kind in "iu"
        and item._data.dtype != np.uint8
    ):
        return int(item._data)
    return None


def _select(t: Tensor, dim: int, i: int) -> Tensor:
    shape = t._data.shape
    if not shape:
        raise IndexError(
            "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` "
            "in C++ to convert a 0-dim tensor to a number"
        )
    if not -shape[dim] <= i < shape[dim]:
        raise IndexError(f"index {i} is out of bounds for dimension {dim} with size {shape[dim]}")
    return Select.apply(t, idx=(slice(None),) * dim + (i,))


def _slice(t: Tensor, dim: int, item: slice, always: bool) -> Tensor:
    if item.step is not None:
        if item.step == 0:
            raise ValueError("slice step cannot be zero")
        if item.step < 0:
            raise ValueError("step must be greater than zero")
    start = 0 if item.start is None else int(item.start)
    stop = None if item.stop is None else int(item.stop)
    step = 1 if item.step is None else int(item.step)
    # Inside a tuple, PyTorch skips a slice that keeps the whole dimension.
    if not always and start == 0 and step == 1 and (stop is None or stop >= t._data.shape[dim]):
        return t
    return Slice.apply(t, idx=(slice(None),) * dim + (item,))


def _advanced(item: Any) -> np.ndarray:
    if isinstance(item, Tensor):
        if item.dtype.is_floating_point:
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return item._data
    arr = _norm_item(item)
    if not isinstance(arr, np.ndarray):
        raise IndexError(_INDEX_TYPE_ERROR.format(type(item).__name__))
    return arr


def _item_text(item: Any) -> str:
    if isinstance(item, slice):
        text = (
            ("" if item.start is None else str(item.start))
            + ":"
            + ("" if item.stop is None else str(item.stop))
        )
        return text + ("" if item.step is None else f":{item.step}")
    if item is Ellipsis:
        return "..."
    if isinstance(item, Tensor):
        return "<mask>" if item._data.dtype.kind == "b" else "<tensor>"
    if isinstance(item, np.ndarray):
        return "<mask>" if item.dtype.kind == "b" else "<array>"
    return repr(item) if isinstance(item, (list, np.generic)) else str(item)


def index_text(idx: Any) -> str:
    """``a[idx]``'s index as it was written: ``[0, 1:3, None]``."""
    items = idx if isinstance(idx, tuple) else (idx,)
    return "[" + ", ".join(_item_text(i) for i in items) + "]"


def _getitem_call(a: Tensor, idx: Any) -> tuple[tuple, dict]:
    items = idx if isinstance(idx, (tuple, list)) else (idx,)
    return (a, *(i for i in items if isinstance(i, Tensor))), {"idx": index_text(idx)}


@registry.op(
    statement="result = input[index]",
    name="index",
    syntax=("index",),  # t[...]: Tensor.__getitem__, bound in ops/__init__.py
    nodes=(Index,),
    variadic=True,
    category="shape",
    size_rule="index",
    params=(registry.Param("index", "index"),),
    call=_index,
    adjoint=True,
    formula={"input": "∂L/∂result scattered back to the indexed positions, 0 elsewhere"},
)
@composite("index", _getitem_call)
def getitem(a: Tensor, idx: Any) -> Tensor:
    """``a[idx]`` recorded as PyTorch records it: one Select/Slice/Unsqueeze per basic item, in
    order, then a single IndexBackward0 for the advanced (list, mask, tensor) items, if any."""
    out = _getitem(a, idx)
    # Index tensors take no gradient but are inputs: note them on the last step, for drawing.
    items = idx if isinstance(idx, (tuple, list)) else (idx,)
    return note_nondiff_inputs(out, tuple(i for i in items if isinstance(i, Tensor)))


def _getitem(a: Tensor, idx: Any) -> Tensor:
    if isinstance(idx, list) and _sequence_as_tuple(idx):
        idx = tuple(idx)
    # A lone item: PyTorch's fast paths (a lone slice is always recorded).
    if idx is None:
        return a.unsqueeze(0)
    if idx is Ellipsis:
        return Alias.apply(a, idx=(Ellipsis,))
    if isinstance(idx, slice):
        if a._data.ndim == 0:
            raise IndexError("slice() cannot be applied to a 0-dim tensor.")
        return _slice(a, 0, idx, always=True)
    i = _as_int(idx)
    if i is not None:
        return _select(a, 0, i)

    items = idx if isinstance(idx, tuple) else (idx,)
    ndim = a._data.ndim
    specified = 0
    for item in items:
        if item is None or item is Ellipsis or isinstance(item, (bool, np.bool_)):
            continue
        if isinstance(item, Tensor) and item._data.dtype.kind == "b":
            specified += item._data.ndim
        elif isinstance(item, np.ndarray) and item.dtype.kind == "b":
            specified += item.ndim
        else:
            specified += 1
    if specified > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")

    out, dim = a, 0
    advanced: dict[int, np.ndarray] = {}
    for item in items:
        if item is None:
            out = out.unsqueeze(dim)
            dim += 1
        elif item is Ellipsis:
            dim += ndim - specified
        elif isinstance(item, (bool, np.bool_)):
            out = out.unsqueeze(dim)
            advanced[dim] = np.asarray([bool(item)])
            dim += 1
        elif isinstance(item, slice):
            out = _slice(out, dim, item, always=False)
            dim += 1
        elif (i := _as_int(item)) is not None:
            out = _select(out, dim, i)
        else:
            arr = _advanced(item)
            if arr.dtype.kind == "b" and arr.ndim == 0:
                out = out.unsqueeze(dim)
                advanced[dim] = arr.reshape(1)
                dim += 1
            elif arr.dtype.kind == "b":
                have = list(out._data.shape[dim : dim + arr.ndim])
                for k, (m, n) in enumerate(zip(arr.shape, have)):
                    if m != n:
                        raise IndexError(
                            f"The shape of the mask {list(arr.shape)} at index {k} does not match the shape "
                            f"of the indexed tensor {list(out._data.shape)} at index {dim + k}"
                        )
                advanced[dim] = arr
                dim += arr.ndim
            else:
                advanced[dim] = arr
                dim += 1
    if not advanced:
        return Alias.apply(a, idx=(Ellipsis,)) if out is a else out
    parts: list = []
    d = 0
    while d < out._data.ndim and (advanced.keys() - set(range(d))):
        arr = advanced.get(d)
        if arr is None:
            parts.append(slice(None))
            d += 1
        else:
            parts.append(arr)
            d += arr.ndim if arr.dtype.kind == "b" else 1
    full = tuple(parts)
    _check_bounds(out._data, full)
    return Index.apply(out, idx=full)


# --- gather, index_select, masked_fill, nonzero (issue 14) ----------------------------------------
def _along(shape: tuple[int, ...], idx: np.ndarray, dim: int) -> tuple:
    """The full index that picks ``idx`` along ``dim`` (and the same position elsewhere)."""
    full = [
        np.arange(n).reshape([-1 if i == d else 1 for i in range(len(shape))]) for d, n in enumerate(shape)
    ]
    full[dim] = idx
    return tuple(np.broadcast_arrays(*full))


class Gather(Function):
    name = "GatherBackward0"
    statement = "result[i][j] = input[index[i][j]][j] (along dim)"
    formula = {"input": "∂L/∂result added back at each gathered position"}  # noqa: RUF012
    adjoint = True

    @staticmethod
    def forward(ctx, a, dim=0, index=None):
        return a[_along(index.shape, index, dim)] if a.ndim else a[()].copy().reshape(index.shape)

    @staticmethod
    def backward(ctx, g):
        p = ctx.params
        shape = ctx.inputs[0]._data.shape
        if not shape:
            return (dual.sum(g),)
        return (dual.index_add_zeros(g, _along(p["index"].shape, p["index"], p["dim"]), shape),)


def _gather_call(input: Tensor, index: Tensor, dim: int = 0) -> Tensor:
    return gather(input, dim, index)


@registry.op(
    nodes=(Gather,),
    operands=("input", "index"),
    category="shape",
    params=(registry.Param("dim", "dim", 0),),
    call=_gather_call,
    catalogue=False,
)
def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    a, idx = input._data, index._data
    d = wrap_dim(dim, a.ndim)
    if idx.dtype.kind not in "iu":
        raise RuntimeError("gather(): Expected dtype int32/int64 for index")
    if max(a.ndim, 1) != max(idx.ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    for i in range(a.ndim):
        if i != d and idx.shape[i] > a.shape[i]:
            raise RuntimeError(
                f"Size does not match at dimension {i} expected index {list(idx.shape)} to be no larger than "
                f"self {list(a.shape)} apart from dimension {d}"
            )
    n = a.shape[d] if a.ndim else 1
    bad = idx[(idx < 0) | (idx >= n)]
    if bad.size:
        raise RuntimeError(
            f"index {int(bad.reshape(-1)[0])} is out of bounds for dimension {d} with size {n}"
        )
    out = Gather.apply(input, dim=d, index=idx.astype(np.int64))
    return note_nondiff_inputs(out, (index,))


class IndexSelect(Function):
    name = "IndexSelectBackward0"
    statement = "result = the slices of input at index along dim"
    formula = {"input": "∂L/∂result added back at each selected slice"}  # noqa: RUF012
    adjoint = True

    @staticmethod
    def forward(ctx, a, dim=0, index=None):
        return np.take(a, index, axis=dim) if a.ndim else a.reshape(1)[index].reshape(index.shape)

    @staticmethod
    def backward(ctx, g):
        p = ctx.params
        shape = ctx.inputs[0]._data.shape
        if not shape:
            return (dual.reshape(dual.sum(g), ()),)
        full = [slice(None)] * len(shape)
        full[p["dim"]] = p["index"]
        return (dual.index_add_zeros(g, tuple(full), shape),)


@registry.op(nodes=(IndexSelect,), operands=("input", "index"), catalogue=False)
def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    a, idx = input._data, index._data
    d = wrap_dim(dim, a.ndim)
    if idx.dtype not in (np.int32, np.int64):
        raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
    if idx.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    n = a.shape[d] if a.ndim else 1
    if np.any((idx < 0) | (idx >= n)):
        raise IndexError("index out of range in self")
    out = IndexSelect.apply(input, dim=d, index=idx.reshape(-1).astype(np.int64))
    return note_nondiff_inputs(out, (index,))


class MaskedFill(Function):
    name = "MaskedFillBackward0"
    statement = "result = value where mask, else input"
    formula = {"input": "∂L/∂result where mask is False, 0 where it is True"}  # noqa: RUF012
    adjoint = True

    @staticmethod
    def forward(ctx, a, mask=None, value=0):
        shape = np.broadcast_shapes(a.shape, mask.shape)
        return (
            np.where(mask, np.asarray(value).astype(a.dtype), a)
            if shape == a.shape
            else np.where(mask, np.asarray(value).astype(a.dtype), np.broadcast_to(a, shape))
        )

    @staticmethod
    def backward(ctx, g):
        mask = ctx.params["mask"]
        return (dual.where(mask, dual.zeros_like(g), g),)


class MaskedFillTensor(Function):
    name = "MaskedFillBackward1"
    statement = "result = value where mask, else input"
    formula = {"input": "∂L/∂result where mask is False, else 0", "value": "Σ ∂L/∂result where mask"}  # noqa: RUF012
    adjoint = True

    @staticmethod
    def forward(ctx, a, v, mask=None):
        return MaskedFill.forward(ctx, a, mask, v)

    @staticmethod
    def backward(ctx, g):
        mask = ctx.params["mask"]
        zero = dual.zeros_like(g)
        return dual.where(mask, zero, g), dual.sum(dual.where(mask, g, zero))


_MASK_TYPES = {"int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
               "uint8": "unsigned char", "float32": "float", "float64": "double", "float16": "c10::Half"}  # fmt: skip


@registry.op(
    inplace=True,
    nodes=(MaskedFill, MaskedFillTensor),
    operands=("input", "mask"),
    category="shape",
    size_rule="broadcast",
    params=(registry.Param("value", "number", 0.0),),
    statement="result = value where mask, else input",
    formula={"input": "∂L/∂result where mask is False, 0 where it is True"},
    adjoint=True,
)
def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    m = mask._data
    if m.dtype != np.bool_:
        raise RuntimeError(
            f"masked_fill_ only supports boolean masks, but got mask with dtype {_MASK_TYPES.get(m.dtype.name, m.dtype.name)}"
        )
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(
                "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{value._data.ndim} dimension(s)."
            )
        out = MaskedFillTensor.apply(input, value, mask=m)
    else:
        out = MaskedFill.apply(input, mask=m, value=value)
    return note_nondiff_inputs(out, (mask,))


@registry.op(catalogue=False)
def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    a = input._data
    if as_tuple:
        if a.ndim == 0:
            return (Tensor._make(np.zeros(int(bool(a)), np.int64), False, None),)
        return tuple(Tensor._make(np.asarray(i, np.int64), False, None) for i in np.nonzero(a))
    if a.ndim == 0:
        return Tensor._make(np.zeros((int(bool(a)), 0), np.int64), False, None)
    return Tensor._make(np.argwhere(a).astype(np.int64).reshape(-1, a.ndim), False, None)
