"""``torch.tensor``, ``zeros``, ``arange`` ... in the console: their arguments checked as PyTorch
checks them, the result's size bounded before it is made."""

from __future__ import annotations

import ast
import math
import operator
from typing import TYPE_CHECKING, Any

import numpy as np

import gradviz.engine as E
from gradviz.engine import Tensor

from ..console_values import ConsoleError, Device, PendingLeaf, TensorValue, is_num, plain, type_name

if TYPE_CHECKING:
    from .evaluate import Run


CONSTRUCTORS = (
    "tensor", "as_tensor", "zeros", "ones", "empty", "full", "zeros_like", "ones_like", "full_like",
    "rand", "randn", "rand_like", "randn_like", "randint", "arange", "linspace", "eye",
)  # fmt: skip


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()


def construct(run: Run, name: str, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> PendingLeaf:
    kwargs = dict(kwargs)
    dtype = kwargs.pop("dtype", None)
    if dtype is not None and not isinstance(dtype, E.dtype):
        raise TypeError(f"{name}(): argument 'dtype' must be torch.dtype, not {type_name(dtype)}")
    requires_grad = kwargs.pop("requires_grad", False)
    if not isinstance(requires_grad, bool):
        raise TypeError(f"{name}(): argument 'requires_grad' must be bool, not {type_name(requires_grad)}")
    device = kwargs.pop("device", None)
    if device is not None and not (isinstance(device, Device) or device == "cpu"):
        shown = repr(device) if isinstance(device, str) and len(device) <= 40 else f"a {type_name(device)}"
        raise ConsoleError(f"only the 'cpu' device is available, not {shown}")
    check = run.session.check_size
    opts = {"dtype": dtype, "requires_grad": requires_grad}

    def take(names: tuple[str, ...], required: int) -> list[Any]:
        vals = list(args)
        if len(vals) > len(names):
            raise TypeError(f"{name}() takes at most {len(names)} positional arguments ({len(vals)} given)")
        for n in names[len(vals) :]:
            vals.append(kwargs.pop(n, _MISSING))
        if kwargs:
            raise TypeError(f"{name}() got an unexpected keyword argument '{next(iter(kwargs))}'")
        for n, v in zip(names[:required], vals):
            if v is _MISSING:
                raise TypeError(f"{name}() missing required argument '{n}'")
        return [None if v is _MISSING else v for v in vals]

    def number(v: Any, what: str) -> float | int:
        v = plain(v, run)
        if isinstance(v, Tensor):
            v = v.item()
        if not is_num(v):
            raise TypeError(f"{name}(): argument '{what}' must be Number, not {type_name(v)}")
        return v

    if name in ("tensor", "as_tensor"):
        (data,) = take(("data",), 1)
        data = plain(data, run)
        check(data.size if isinstance(data, np.ndarray) else run.measure.of(data).leaves)  # before
        t = E.tensor(data, **opts)
        check(t.numel())
    elif name in ("zeros", "ones", "empty", "rand", "randn"):
        size = size_args(run, name, list(args) or [kwargs.pop("size", ())])
        if kwargs:
            raise TypeError(f"{name}() got an unexpected keyword argument '{next(iter(kwargs))}'")
        check(math.prod(size))
        t = getattr(E, name)(*size, **opts)
    elif name == "full":
        size, fill = take(("size", "fill_value"), 2)
        size = size_args(run, name, [size])
        check(math.prod(size))
        t = E.full(size, number(fill, "fill_value"), **opts)
    elif name.endswith("_like"):
        (src,) = take(("input",), 1)
        if not isinstance(src, TensorValue):
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type_name(src)}")
        t0 = src.tensor(run)
        check(t0.numel())
        if name == "full_like":
            raise TypeError("full_like() missing required argument 'fill_value'")
        t = getattr(E, name)(t0, **opts)
    elif name == "arange":
        start, end, step = take(("start", "end", "step"), 1)
        start = number(start, "start")
        end = None if end is None else number(end, "end")
        step = 1 if step is None else number(step, "step")
        lo, hi = (0, start) if end is None else (start, end)
        if step == 0:
            raise RuntimeError("step must be nonzero")
        if not all(math.isfinite(x) for x in (lo, hi, step)):
            raise RuntimeError(f"unsupported range: {lo} -> {hi}")
        if (hi - lo) * step < 0:
            raise RuntimeError("upper bound and larger bound inconsistent with step sign")
        check(max(0, math.ceil((hi - lo) / step)))
        t = E.arange(start, end, step, **opts) if end is not None else E.arange(start, step=step, **opts)
    elif name == "linspace":
        start, end, steps = take(("start", "end", "steps"), 3)
        if not isinstance(steps, int) or isinstance(steps, bool):
            raise TypeError(f"linspace(): argument 'steps' must be int, not {type_name(steps)}")
        check(max(0, steps))
        t = E.linspace(number(start, "start"), number(end, "end"), steps, **opts)
    elif name == "eye":
        n, m = take(("n", "m"), 1)
        for v in (n, m):
            if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
                raise TypeError(f"eye(): argument 'n' must be int, not {type_name(v)}")
        if n < 0 or (m is not None and m < 0):
            raise RuntimeError(f"n must be greater or equal to 0, got {min(n, m if m is not None else n)}")
        check(n * (n if m is None else m))
        t = E.eye(n, m, **opts)
    elif name == "randint":
        vals = list(args)
        if len(vals) == 2 and "size" not in kwargs:  # randint(high, size)
            vals = [0, *vals]
        low, high, size = (vals + [None] * 3)[:3]
        low = kwargs.pop("low", low if low is not None else 0)
        high = kwargs.pop("high", high)
        size = kwargs.pop("size", size)
        if kwargs:
            raise TypeError(f"randint() got an unexpected keyword argument '{next(iter(kwargs))}'")
        if high is None or size is None:
            raise TypeError("randint() missing required arguments 'high' and 'size'")
        size = size_args(run, name, [size])
        for v in (low, high):
            if not isinstance(v, int) or isinstance(v, bool):
                raise TypeError(f"randint(): argument 'high' must be int, not {type_name(v)}")
        if high <= low:
            raise RuntimeError(
                f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
            )
        check(math.prod(size))
        t = E.randint(low, high, size, **opts)
    else:  # pragma: no cover - CONSTRUCTORS lists exactly the names above
        raise ConsoleError(f"torch.{name} is not available in the console")
    return PendingLeaf(t, run.segment(node))


def size_args(run: Run, name: str, args: list[Any]) -> list[int]:
    """``zeros(2, 3)``, ``zeros((2, 3))``, ``zeros(x.shape)``: a list of ints."""
    size = args[0] if len(args) == 1 and isinstance(args[0], (list, tuple)) else args
    out = []
    for s in size:
        if isinstance(s, TensorValue):
            s = operator.index(s.tensor(run))
        if not isinstance(s, int) or isinstance(s, bool):
            raise TypeError(
                f"{name}(): argument 'size' must be tuple of ints, but found element of type {type_name(s)}"
            )
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
        out.append(s)
    return out


def builtin_manual_seed(run: Run, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> None:
    manual_seed(*args, **kwargs)


def manual_seed(seed: Any) -> None:
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"manual_seed expected an int, not {type_name(seed)}")
    E.manual_seed(seed)
