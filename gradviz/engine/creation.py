"""Creating tensors: ``tensor``, ``zeros``, ``arange``, ``rand``, ``from_numpy`` and friends."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import dtypes
from .dtypes import dtype as DType
from .size import Size
from .tensor import Tensor

_NUMBER = (bool, int, float, np.generic)


def _check_nested(data: Any) -> bool:
    """Validate a nested list the way PyTorch does; say where it is ragged.

    Returns True if it holds Tensors that must be unwrapped to numbers first.
    """
    sizes = []
    seq = data
    while isinstance(seq, (list, tuple)):
        sizes.append(len(seq))
        if not seq:
            break
        seq = seq[0]
    has_tensor = False

    def walk(seq: Any, dim: int) -> None:
        nonlocal has_tensor
        if dim == len(sizes):
            if isinstance(seq, Tensor):
                has_tensor = True
                if seq.numel() != 1:
                    raise ValueError("only one element tensors can be converted to Python scalars")
            elif isinstance(seq, (list, tuple)):
                # Python's own words for a list where a number of the inferred type should be.
                if _infer_dtype(data).is_floating_point:
                    raise TypeError(f"must be real number, not {type(seq).__name__}")
                raise TypeError(f"'{type(seq).__name__}' object cannot be interpreted as an integer")
            elif isinstance(seq, str):
                raise TypeError(f"new(): invalid data type '{type(seq).__name__}'")
            elif not isinstance(seq, _NUMBER):
                raise RuntimeError(f"Could not infer dtype of {type(seq).__name__}")
            return
        if not isinstance(seq, (list, tuple)):
            raise TypeError("not a sequence")
        if len(seq) != sizes[dim]:
            raise ValueError(f"expected sequence of length {sizes[dim]} at dim {dim} (got {len(seq)})")
        for item in seq:
            walk(item, dim + 1)

    walk(data, 0)
    return has_tensor


def _unwrap(data: Any) -> Any:
    if isinstance(data, Tensor):
        return data.item()
    if isinstance(data, (list, tuple)):
        return [_unwrap(d) for d in data]
    return data


def _infer_dtype(data: Any) -> DType:
    """PyTorch's inference for a nested list: promote the types of all its elements, where a
    Python float is the default float, an int is int64, and numpy scalars and tensors keep theirs."""
    result = None
    stack = [data]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
            continue
        if isinstance(x, Tensor):
            d = x.dtype
        elif isinstance(x, (bool, np.bool_)):
            d = dtypes.bool_
        elif isinstance(x, np.generic):
            d = dtypes.from_numpy_dtype(x.dtype)
        elif isinstance(x, int):
            d = dtypes.int64
        else:
            d = dtypes.default_float
        result = d if result is None else dtypes.promote_types(result, d)
    return result or dtypes.default_float


def as_array(data: Any, dtype: DType | None = None) -> np.ndarray:
    """A fresh numpy array for ``tensor(data)``, inferring the dtype as PyTorch does."""
    target = dtypes.to_dtype(dtype) if dtype is not None else None
    if isinstance(data, Tensor):
        arr = data._data.copy()
    elif isinstance(data, np.ndarray):
        dtypes.from_numpy_dtype(data.dtype)
        arr = data.copy()
    elif isinstance(data, np.generic):
        arr = np.array(data)
    elif isinstance(data, _NUMBER):
        arr = np.array(data)
        if target is None and arr.dtype.kind == "f":
            arr = arr.astype(dtypes.default_float.np)
    elif isinstance(data, (list, tuple)):
        has_tensor = _check_nested(data)
        inferred = _infer_dtype(data) if target is None else None
        if has_tensor:
            data = _unwrap(data)
        arr = np.array(data)
        if inferred is not None:
            arr = arr.astype(inferred.np, copy=False)
    elif isinstance(data, str):
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
    else:
        raise RuntimeError(f"Could not infer dtype of {type(data).__name__}")
    if target is not None:
        arr = arr.astype(target.np)
    return arr


def tensor(data: Any, dtype: DType | None = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A new leaf tensor holding a copy of ``data``."""
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def as_tensor(data: Any, dtype: DType | None = None, device: Any = None) -> Tensor:
    if isinstance(data, Tensor) and (dtype is None or data.dtype is dtype):
        return data
    if isinstance(data, np.ndarray) and (dtype is None or data.dtype == dtypes.to_dtype(dtype).np):
        return from_numpy(data)
    return Tensor(data, dtype=dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array``: changes to one show in the other."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    dtypes.from_numpy_dtype(array.dtype)
    return Tensor._make(array, False, None)


def _shape(size: tuple) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(f"size must be a tuple of ints, but got {type(s).__name__}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
    return tuple(int(s) for s in size)


def _factory(arr: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._make(arr, False, None)
    if requires_grad:
        t._set_requires_grad(True, "Only Tensors of floating point and complex dtype can require gradients")
    return t


def _np_dtype(dtype: Any, default: DType | None = None) -> np.dtype:
    return (dtypes.to_dtype(dtype) if dtype is not None else (default or dtypes.default_float)).np


def zeros(*size: Any, dtype: DType | None = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    flat = size[0] if len(size) == 1 and isinstance(size[0], (tuple, list, Size)) else size
    if any(isinstance(s, (int, np.integer)) and s < 0 for s in flat):
        raise RuntimeError("zeros: Dimension size must be non-negative.")  # PyTorch's own wording for zeros
    return _factory(np.zeros(_shape(size), _np_dtype(dtype)), requires_grad)


def ones(*size: Any, dtype: DType | None = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _factory(np.ones(_shape(size), _np_dtype(dtype)), requires_grad)


def empty(*size: Any, dtype: DType | None = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _factory(np.zeros(_shape(size), _np_dtype(dtype)), requires_grad)


def full(
    size: Sequence[int],
    fill_value: Any,
    *,
    dtype: DType | None = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    if dtype is None:
        dtype = dtypes.scalar_dtype(fill_value.item() if isinstance(fill_value, Tensor) else fill_value)
    return _factory(np.full(_shape((size,)), fill_value, _np_dtype(dtype)), requires_grad)


def zeros_like(t: Tensor, *, dtype: DType | None = None, requires_grad: bool = False) -> Tensor:
    return zeros(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def ones_like(t: Tensor, *, dtype: DType | None = None, requires_grad: bool = False) -> Tensor:
    return ones(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def full_like(
    t: Tensor, fill_value: Any, *, dtype: DType | None = None, requires_grad: bool = False
) -> Tensor:
    return full(t.shape, fill_value, dtype=dtype or t.dtype, requires_grad=requires_grad)


def rand_like(t: Tensor, *, dtype: DType | None = None, requires_grad: bool = False) -> Tensor:
    return rand(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def randn_like(t: Tensor, *, dtype: DType | None = None, requires_grad: bool = False) -> Tensor:
    return randn(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def arange(
    start: Any,
    end: Any = None,
    step: Any = 1,
    *,
    dtype: DType | None = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if dtype is None:
        is_float = any(
            isinstance(v, float) or (isinstance(v, Tensor) and v.is_floating_point())
            for v in (start, end, step)
        )
        dtype = dtypes.default_float if is_float else dtypes.int64
    n = max(0, math.ceil((float(end) - float(start)) / float(step)))
    values = float(start) + np.arange(n, dtype=np.float64) * float(step)
    return _factory(
        values.astype(_np_dtype(dtype))
        if dtype.is_floating_point
        else (int(start) + np.arange(n, dtype=np.int64) * int(step)).astype(_np_dtype(dtype)),
        requires_grad,
    )


def linspace(
    start: float,
    end: float,
    steps: int,
    *,
    dtype: DType | None = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    return _factory(np.linspace(start, end, steps).astype(_np_dtype(dtype)), requires_grad)


def eye(
    n: int,
    m: int | None = None,
    *,
    dtype: DType | None = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    return _factory(np.eye(n, m, dtype=_np_dtype(dtype)), requires_grad)


# --- random numbers: PyTorch's CPU generator is an MT19937 seeded like numpy's legacy one ---
_generator = np.random.MT19937()
_generator._legacy_seeding(np.random.SeedSequence().entropy % 2**32)
_initial_seed = [0]


def manual_seed(seed: int) -> None:
    """Seed the generator. ``rand`` then yields PyTorch's numbers for the same seed."""
    _generator._legacy_seeding(int(seed) & 0xFFFFFFFF)
    _normal_cache.clear()
    _initial_seed[0] = int(seed)


def seed() -> int:
    s = int(np.random.SeedSequence().entropy % 2**32)
    manual_seed(s)
    return s


def initial_seed() -> int:
    return _initial_seed[0]


def _uniform(n: int, double: bool) -> np.ndarray:
    if double:
        raw = _generator.random_raw(2 * n).reshape(n, 2) if n else np.zeros((0, 2), np.uint64)
        # random64 joins two 32-bit draws; 53 bits of it make a double in [0, 1).
        r64 = (raw[:, 0] << np.uint64(32)) | raw[:, 1]
        return (r64 & np.uint64((1 << 53) - 1)).astype(np.float64) * 2.0**-53
    raw = _generator.random_raw(n)
    return (raw & np.uint64((1 << 24) - 1)).astype(np.float64) * 2.0**-24


def rand(
    *size: Any,
    dtype: DType | None = None,
    device: Any = None,
    requires_grad: bool = False,
    generator: Any = None,
) -> Tensor:
    shape = _shape(size)
    dt = dtypes.to_dtype(dtype) if dtype is not None else dtypes.default_float
    n = int(np.prod(shape, dtype=np.int64))
    values = _uniform(n, dt is dtypes.float64)
    return _factory(values.astype(dt.np).reshape(shape), requires_grad)


def randn(
    *size: Any,
    dtype: DType | None = None,
    device: Any = None,
    requires_grad: bool = False,
    generator: Any = None,
) -> Tensor:
    """Normal samples drawn the way PyTorch's CPU generator draws them, so a seed gives the same
    numbers (to printed precision: PyTorch's vectorised log/sin/cos may differ in the last bit)."""
    shape = _shape(size)
    dt = dtypes.to_dtype(dtype) if dtype is not None else dtypes.default_float
    n = int(np.prod(shape, dtype=np.int64))
    values = _normal_fill(n, dt) if n >= 16 else _normal_serial(n)
    return _factory(values.astype(dt.np).reshape(shape), requires_grad)


def _normal_fill(n: int, dt: DType) -> np.ndarray:
    """ATen's normal_fill: uniforms for every slot, then Box-Muller in blocks of 16 (the first 8
    of a block pair with the last 8); a ragged tail redraws and refills the final 16."""
    work = np.float64 if dt is dtypes.float64 else np.float32
    data = _uniform(n, dt is dtypes.float64).astype(work)

    def fill(block: np.ndarray) -> np.ndarray:
        u1 = 1 - block[:, :8]
        u2 = block[:, 8:]
        radius = np.sqrt(work(-2) * np.log(u1))
        theta = (2.0 * np.pi * u2.astype(np.float64)).astype(work)
        return np.concatenate([radius * np.cos(theta), radius * np.sin(theta)], axis=1)

    full = (n // 16) * 16
    data[:full] = fill(data[:full].reshape(-1, 16)).reshape(-1)
    if n % 16:
        tail = _uniform(16, dt is dtypes.float64).astype(work)
        data[n - 16 :] = fill(tail.reshape(1, 16)).reshape(-1)
    return data


def _normal_serial(n: int) -> np.ndarray:
    """ATen's normal_distribution<double> for small tensors: pairs of doubles, the sine half
    cached for the next draw."""
    out = np.empty(n, np.float64)
    for i in range(n):
        if _normal_cache:
            out[i] = _normal_cache.pop()
            continue
        u1, u2 = _uniform(2, True)
        r = math.sqrt(-2.0 * math.log1p(-u2))
        theta = 2.0 * math.pi * u1
        _normal_cache.append(r * math.sin(theta))
        out[i] = r * math.cos(theta)
    return out


_normal_cache: list[float] = []


def randint(
    low: int,
    high: int | None = None,
    size: Sequence[int] = (),
    *,
    dtype: DType | None = None,
    requires_grad: bool = False,
) -> Tensor:
    if high is None:
        low, high = 0, low
    shape = _shape((tuple(size),))
    n = int(np.prod(shape, dtype=np.int64))
    raw = _generator.random_raw(n).astype(np.int64)
    values = low + raw % (high - low)
    return _factory(values.astype(_np_dtype(dtype, dtypes.int64)).reshape(shape), requires_grad)
