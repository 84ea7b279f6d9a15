"""Creating tensors: ``tensor``, ``zeros``, ``arange``, ``rand``, ``from_numpy`` and friends."""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from . import device as _device
from . import dtypes
from . import random as _random
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
    _device.check(device)
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def as_tensor(data: Any, dtype: DType | None = None, device: Any = None) -> Tensor:
    _device.check(device)
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


def _size_kw(size: tuple, kw: dict, who: str) -> tuple:
    """``torch.zeros(size=(2, 3))``: the shape given by keyword; and nothing else unknown."""
    if "size" in kw:
        if size:
            raise TypeError(f"{who}() got multiple values for argument 'size'")
        size = (tuple(kw.pop("size")),)
    if kw.get("out", 0) is None:
        del kw["out"]
    kw.pop("layout", None)
    kw.pop("pin_memory", None)
    kw.pop("memory_format", None)
    if kw:
        raise TypeError(f"{who}() got an unexpected keyword argument '{next(iter(kw))}'")
    return size


def _factory(arr: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._make(arr, False, None)
    if requires_grad:
        t._set_requires_grad(True, "Only Tensors of floating point and complex dtype can require gradients")
    return t


def _np_dtype(dtype: Any, default: DType | None = None) -> np.dtype:
    return (dtypes.to_dtype(dtype) if dtype is not None else (default or dtypes.default_float)).np


def zeros(
    *size: Any, dtype: DType | None = None, device: Any = None, requires_grad: bool = False, **kw: Any
) -> Tensor:
    _device.check(device, factory=True)
    size = _size_kw(size, kw, "zeros")
    flat = size[0] if len(size) == 1 and isinstance(size[0], (tuple, list, Size)) else size
    if any(isinstance(s, (int, np.integer)) and s < 0 for s in flat):
        raise RuntimeError("zeros: Dimension size must be non-negative.")  # PyTorch's own wording for zeros
    return _factory(np.zeros(_shape(size), _np_dtype(dtype)), requires_grad)


def ones(
    *size: Any, dtype: DType | None = None, device: Any = None, requires_grad: bool = False, **kw: Any
) -> Tensor:
    _device.check(device, factory=True)
    size = _size_kw(size, kw, "ones")
    return _factory(np.ones(_shape(size), _np_dtype(dtype)), requires_grad)


def empty(
    *size: Any, dtype: DType | None = None, device: Any = None, requires_grad: bool = False, **kw: Any
) -> Tensor:
    _device.check(device, factory=True)
    size = _size_kw(size, kw, "empty")
    return _factory(np.zeros(_shape(size), _np_dtype(dtype)), requires_grad)


def full(
    size: Sequence[int],
    fill_value: Any,
    *,
    dtype: DType | None = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    _device.check(device, factory=True)
    if dtype is None:
        dtype = dtypes.scalar_dtype(fill_value.item() if isinstance(fill_value, Tensor) else fill_value)
    return _factory(np.full(_shape((size,)), fill_value, _np_dtype(dtype)), requires_grad)


def empty_like(
    t: Tensor, *, dtype: DType | None = None, device: Any = None, requires_grad: bool = False, **kwargs: Any
) -> Tensor:
    """An uninitialised tensor like ``t`` (gradviz fills it with zeros)."""
    _device.check(device, factory=True)
    return zeros(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def zeros_like(
    t: Tensor, *, dtype: DType | None = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    _device.check(device, factory=True)
    return zeros(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def ones_like(
    t: Tensor, *, dtype: DType | None = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    _device.check(device, factory=True)
    return ones(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def full_like(
    t: Tensor, fill_value: Any, *, dtype: DType | None = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    _device.check(device, factory=True)
    return full(t.shape, fill_value, dtype=dtype or t.dtype, requires_grad=requires_grad)


def rand_like(
    t: Tensor, *, dtype: DType | None = None, requires_grad: bool = False, generator: Any = None, **kw: Any
) -> Tensor:
    _device.check(kw.get("device"), factory=True)
    return rand(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad, generator=generator)


def randn_like(
    t: Tensor, *, dtype: DType | None = None, requires_grad: bool = False, generator: Any = None, **kw: Any
) -> Tensor:
    _device.check(kw.get("device"), factory=True)
    return randn(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad, generator=generator)


def randint_like(
    t: Tensor, low: int = 0, high: int | None = None, *, dtype: DType | None = None,
    requires_grad: bool = False, generator: Any = None, **kw: Any,
) -> Tensor:  # fmt: skip
    _device.check(kw.get("device"), factory=True)
    return randint(
        low, high, t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad, generator=generator
    )


def arange(
    start: Any,
    end: Any = None,
    step: Any = 1,
    *,
    dtype: DType | None = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    _device.check(device, factory=True)
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
    _device.check(device, factory=True)
    return _factory(_linspace(start, end, steps, dtype, "linspace"), requires_grad)


def _linspace(start: Any, end: Any, steps: Any, dtype: Any, who: str) -> np.ndarray:
    """ATen's linspace: ``step = (end - start) / (steps - 1)`` in the result's dtype, the first
    half counted up from ``start`` and the second half down from ``end``."""
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool):
        raise TypeError(
            f"{who}() received an invalid combination of arguments - got steps of type {type(steps).__name__}"
        )
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    start = start.item() if isinstance(start, Tensor) else start
    end = end.item() if isinstance(end, Tensor) else end
    out = _np_dtype(dtype)
    work = out.type if out.kind == "f" else np.float64
    idx = np.arange(steps)
    if steps == 1:
        return np.array([start], work).astype(out)
    if out.kind != "f":  # the bounds become integers first; the step is a double
        start, end = int(start), int(end)
    lo, hi = work(start), work(end)
    step = (hi - lo) / work(steps - 1)
    half = steps // 2
    # ATen's loop compiles to fused multiply-adds: each value is rounded once.
    up = _fma(np.full(half, step, work), idx[:half].astype(work), lo)
    down = _fma(np.full(steps - half, -step, work), (steps - 1 - idx[half:]).astype(work), hi)
    return np.concatenate([up, down]).astype(work).astype(out)


def _fma(a: np.ndarray, b: np.ndarray, c: Any) -> np.ndarray:
    """``a * b + c`` rounded once, in a's dtype (b holds small integers, exact in a's dtype)."""
    if a.dtype == np.float32:
        return (a.astype(np.float64) * b.astype(np.float64) + np.float64(c)).astype(np.float32)
    a, b = a.astype(np.float64), b.astype(np.float64)
    if a.size <= 20000:  # exactly, through rationals
        fc = Fraction(float(c))
        return np.array([float(Fraction(x) * Fraction(y) + fc) for x, y in zip(a.tolist(), b.tolist())])
    p = a * b
    split = 134217729.0  # Dekker: the product's rounding error, exactly
    ah = a * split - (a * split - a)
    bh = b * split - (b * split - b)
    e = ((ah * bh - p) + ah * (b - bh) + (a - ah) * bh) + (a - ah) * (b - bh)
    return (p + np.float64(c)) + e


def logspace(
    start: float,
    end: float,
    steps: int,
    base: float = 10.0,
    *,
    dtype: DType | None = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """``base ** linspace(start, end, steps)``, as ATen computes it (powers in double, rounded)."""
    _device.check(device, factory=True)
    exps = _linspace(
        start,
        end,
        steps,
        dtype if dtype is not None and dtypes.to_dtype(dtype).is_floating_point else dtypes.float64,
        "logspace",
    )
    values = np.power(np.float64(base), exps.astype(np.float64))
    return _factory(values.astype(_np_dtype(dtype)), requires_grad)


def eye(
    n: int,
    m: int | None = None,
    *,
    dtype: DType | None = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    _device.check(device, factory=True)
    return _factory(np.eye(n, m, dtype=_np_dtype(dtype)), requires_grad)


# --- random numbers: PyTorch's CPU generator (see random.py) -----------------------------------
def manual_seed(seed: int) -> _random.Generator:
    """Seed the global generator: every sampler then yields PyTorch's numbers for that seed."""
    return _random.default_generator.manual_seed(seed)


def seed() -> int:
    return _random.default_generator.seed()


def initial_seed() -> int:
    return _random.default_generator.initial_seed()


def get_rng_state() -> Tensor:
    return _random.default_generator.get_state()


def set_rng_state(new_state: Tensor) -> None:
    _random.default_generator.set_state(new_state)


def _float_dtype(dtype: Any, who: str) -> DType:
    dt = dtypes.to_dtype(dtype) if dtype is not None else dtypes.default_float
    if not dt.is_floating_point:
        raise RuntimeError(f"\"{who}\" not implemented for '{dtypes.scalar_name(dt.np)}'")
    return dt


def _shape_of(size: tuple) -> tuple[tuple[int, ...], int]:
    shape = _shape(size)
    return shape, int(np.prod(shape, dtype=np.int64))


def rand(
    *size: Any,
    dtype: DType | None = None,
    device: Any = None,
    requires_grad: bool = False,
    generator: Any = None,
    **kw: Any,
) -> Tensor:
    _device.check(device, factory=True)
    shape, n = _shape_of(_size_kw(size, kw, "rand"))
    dt = _float_dtype(dtype, "check_uniform_bounds")
    values = _random.get(generator).uniform(n, dt is dtypes.float64)
    return _factory(values.astype(dt.np).reshape(shape), requires_grad)


def randn(
    *size: Any,
    dtype: DType | None = None,
    device: Any = None,
    requires_grad: bool = False,
    generator: Any = None,
    **kw: Any,
) -> Tensor:
    """Normal samples drawn as PyTorch's CPU generator draws them: the same bits for a seed."""
    _device.check(device, factory=True)
    shape, n = _shape_of(_size_kw(size, kw, "randn"))
    dt = _float_dtype(dtype, "normal_kernel_cpu")
    values = _random.standard_normal(_random.get(generator), n, dt is dtypes.float64)
    return _factory(values.astype(dt.np).reshape(shape), requires_grad)


def randint(
    low: int,
    high: int | None = None,
    size: Sequence[int] | None = None,
    *,
    generator: Any = None,
    dtype: DType | None = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    _device.check(device, factory=True)
    if size is None and isinstance(high, (tuple, list, Size)):
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing 1 required positional argument: 'size'")
    shape, n = _shape_of((tuple(size),))
    low, high = int(low), int(high)
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    values = _random.randint_values(_random.get(generator), low, high, n)
    return _factory(values.astype(_np_dtype(dtype, dtypes.int64)).reshape(shape), requires_grad)


def randperm(
    n: int,
    *,
    generator: Any = None,
    dtype: DType | None = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """A random permutation of ``0 .. n-1``, the one PyTorch gives for the same seed."""
    _device.check(device, factory=True)
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got{n}")
    values = _random.randperm_values(_random.get(generator), int(n))
    return _factory(values.astype(_np_dtype(dtype, dtypes.int64)), requires_grad)


def normal(
    mean: Any = 0.0,
    std: Any = 1.0,
    size: Sequence[int] | None = None,
    *,
    generator: Any = None,
    dtype: DType | None = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """``torch.normal``: a float mean and std with a ``size``, or tensors of means and stds
    (broadcast together): standard normals, scaled by std, shifted by mean, as ATen does."""
    _device.check(device, factory=True)
    gen = _random.get(generator)
    tm, ts = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not tm and not ts:
        if size is None:
            raise TypeError("normal() received an invalid combination of arguments - got (float, float)")
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {float(std)}")
        out = empty(*tuple(size), dtype=dtype, requires_grad=False)
        out._data = _write_normal(gen, out, float(mean), float(std))
        return out.requires_grad_(requires_grad) if requires_grad else out
    if ts and bool((std._data < 0).any()):
        raise RuntimeError("normal expects all elements of std >= 0.0")
    shapes = [t.shape for t in (mean, std) if isinstance(t, Tensor)]
    shape = np.broadcast_shapes(*shapes)
    dt = mean.dtype if tm else std.dtype
    if not dt.is_floating_point:
        raise RuntimeError(f"\"normal_kernel_cpu\" not implemented for '{dtypes.scalar_name(dt.np)}'")
    out = empty(shape, dtype=dt)
    z = _write_normal(gen, out, 0.0, 1.0 if ts else float(std))
    if ts:
        z = (z * std._data).astype(dt.np)
    m = mean._data if tm else np.asarray(mean, dt.np)
    return _factory((z + m).astype(dt.np), False)


def _write_normal(gen: Any, t: Tensor, mean: float, std: float) -> np.ndarray:
    n = t.numel()
    values = _random.normal_values(gen, n, mean, std, t.dtype is dtypes.float64)
    return values.astype(t._data.dtype).reshape(t.shape)


def bernoulli(input: Tensor, p: Any = None, *, generator: Any = None) -> Tensor:
    """``torch.bernoulli``: 1 with each element's probability (or with ``p`` for all)."""
    gen = _random.get(generator)
    if not input.dtype.is_floating_point:
        raise RuntimeError(
            f"\"bernoulli_tensor_cpu_self_\" not implemented for '{dtypes.scalar_name(input._data.dtype)}'"
        )
    if p is not None:
        values = _random.bernoulli_scalar(gen, input.numel(), float(p)).reshape(input.shape)
    else:
        probs = np.asarray(input._data)
        if ((probs < 0) | (probs > 1)).any():
            raise RuntimeError(
                "Expected p_in >= 0 && p_in <= 1 to be true, but got false.  (Could this error message be improved?  If so, please report an enhancement request to PyTorch.)"
            )
        values = _random.bernoulli_tensor(gen, probs)
    return _factory(np.asarray(values).astype(input._data.dtype), False)


def multinomial(
    input: Tensor, num_samples: int, replacement: bool = False, *, generator: Any = None
) -> Tensor:
    """``torch.multinomial``: indices drawn by weight. With replacement and more than one
    sample, ATen inverts the normalised cumulative weights at a 53-bit uniform per draw;
    otherwise it takes the top ``num_samples`` of ``weights / q`` with ``q`` exponential."""
    gen = _random.get(generator)
    w = np.asarray(input._data)
    if w.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if not input.dtype.is_floating_point:
        raise RuntimeError(
            f"multinomial only supports floating-point dtypes for input, got: {input.dtype.name.capitalize()}"
        )
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    rows = w.reshape(-1, w.shape[-1])
    k = rows.shape[1]
    if not replacement and num_samples > k:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    if (rows < 0).any() or not np.isfinite(rows).all():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if (rows.sum(axis=1) == 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    if replacement and num_samples > 1:
        out = np.empty((rows.shape[0], num_samples), np.int64)
        for i, row in enumerate(rows):
            cum = np.cumsum(row.astype(np.float64))
            cum = (cum / cum[-1]).astype(w.dtype).astype(np.float64)
            cum[-1] = 1.0
            u = gen.uniform(num_samples, True)
            out[i] = np.searchsorted(cum, u, side="left")
    else:
        q = _random.exponential_values(gen, rows.size, 1.0).astype(w.dtype).reshape(rows.shape)
        ratio = rows / q
        out = np.argsort(-ratio, axis=1, kind="stable")[:, :num_samples]
    return _factory(out.reshape(*w.shape[:-1], num_samples).astype(np.int64), False)
