"""``torch.tensor``, ``zeros``, ``arange`` ... in the console, read from the constructor catalogue
(``session.constructors``): the arguments bound and checked as PyTorch checks them, the result's
size bounded before it is made."""

from __future__ import annotations

import ast
import operator
from typing import TYPE_CHECKING, Any

import numpy as np

import gradviz.engine as E
from gradviz.engine import Tensor
from gradviz.engine.device import check as check_device

from ..constructors import CONSTRUCTORS, Constructor, CtorParam
from .values import ConsoleError, Device, PendingLeaf, TensorValue, is_num, plain, type_name

if TYPE_CHECKING:
    from .evaluate import Run

_MISSING: Any = object()


def construct(run: Run, name: str, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> PendingLeaf:
    ctor = CONSTRUCTORS[name]
    kwargs = dict(kwargs)
    opts = _options(name, kwargs)
    bind = _bind_randint if name == "randint" else _bind_size if ctor.variadic else _bind
    lazy = _Arguments(run, ctor, bind(ctor, list(args), kwargs))
    # The size is bounded before anything else is looked at: the arguments the count reads are
    # checked first, then the keywords no parameter took (zeros(2, foo=1)), then the rest.
    count = ctor.count(lazy)
    _unexpected(name, kwargs)
    run.session.check_size(count)
    values = {p.name: lazy[p.name] for p in ctor.params}
    data = values.get("data", _MISSING)
    if data is not _MISSING:  # the data's scalars, counted before the tensor is made
        run.session.check_size(data.size if isinstance(data, np.ndarray) else run.measure.of(data).leaves)
    t = ctor.make(values, **opts)
    if data is not _MISSING:
        run.session.check_size(t.numel())
    return PendingLeaf(t, run.segment(node))


class _Arguments(dict):
    """The bound arguments by parameter name, each checked and converted (``_coerce``) when it is
    first read: the element count reads the ones it needs before the others are looked at."""

    def __init__(self, run: Run, ctor: Constructor, raw: dict[str, Any]) -> None:
        super().__init__()
        self.run, self.ctor, self.raw = run, ctor, raw
        self.params = {p.name: p for p in ctor.params}

    def __missing__(self, name: str) -> Any:
        value = self[name] = _coerce(self.run, self.ctor, self.params[name], self.raw[name])
        return value


def _options(name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``dtype=``, ``requires_grad=`` and ``device=``, which every constructor takes."""
    dtype = kwargs.pop("dtype", None)
    if dtype is not None and not isinstance(dtype, E.dtype):
        raise TypeError(f"{name}(): argument 'dtype' must be torch.dtype, not {type_name(dtype)}")
    requires_grad = kwargs.pop("requires_grad", False)
    if not isinstance(requires_grad, bool):
        raise TypeError(f"{name}(): argument 'requires_grad' must be bool, not {type_name(requires_grad)}")
    device = kwargs.pop("device", None)
    if isinstance(device, (str, int)) and not isinstance(device, bool):
        check_device(device, factory=name not in ("tensor", "as_tensor"))  # torch's refusal of "cuda"
    if device is not None and not (isinstance(device, Device) or device == "cpu"):
        shown = repr(device) if isinstance(device, str) and len(device) <= 40 else f"a {type_name(device)}"
        raise ConsoleError(f"only the 'cpu' device is available, not {shown}")
    return {"dtype": dtype, "requires_grad": requires_grad}


def _unexpected(name: str, kwargs: dict[str, Any]) -> None:
    if kwargs:
        raise TypeError(f"{name}() got an unexpected keyword argument '{next(iter(kwargs))}'")


def _bind(ctor: Constructor, args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Positional arguments in the parameters' order, then keywords; defaults for the rest."""
    names = [p.name for p in ctor.params]
    if len(args) > len(names):
        raise TypeError(f"{ctor.name}() takes at most {len(names)} positional arguments ({len(args)} given)")
    values = dict(zip(names, args))
    for p in ctor.params[len(args) :]:
        values[p.name] = kwargs.pop(p.name, _MISSING)
    _unexpected(ctor.name, kwargs)
    for p in ctor.params:
        if values[p.name] is _MISSING:
            if p.required:
                raise TypeError(f"{ctor.name}() missing required argument '{p.name}'")
            values[p.name] = p.default
    return values


def _bind_size(ctor: Constructor, args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """``zeros(2, 3)``, ``zeros((2, 3))`` or ``zeros(size=(2, 3))``."""
    return {"size": args or [kwargs.pop("size", ())]}  # other keywords are refused once it is read


def _bind_randint(ctor: Constructor, args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """``randint(high, size)`` or ``randint(low, high, size)``."""
    vals = list(args)
    if len(vals) == 2 and "size" not in kwargs:  # randint(high, size)
        vals = [0, *vals]
    low, high, size = (vals + [None] * 3)[:3]
    low = kwargs.pop("low", low if low is not None else 0)
    high = kwargs.pop("high", high)
    size = kwargs.pop("size", size)
    _unexpected(ctor.name, kwargs)
    if high is None or size is None:
        raise TypeError("randint() missing required arguments 'high' and 'size'")
    return {"low": low, "high": high, "size": size}


def _coerce(run: Run, ctor: Constructor, p: CtorParam, v: Any) -> Any:
    """A bound argument as the engine takes it, or PyTorch's TypeError."""
    name = ctor.name
    if p.kind == "size":
        return size_args(run, name, v if ctor.variadic else [v])
    if p.kind == "data":
        return plain(v, run)
    if p.kind == "tensor":
        if not isinstance(v, TensorValue):
            raise TypeError(f"{name}(): argument '{p.name}' (position 1) must be Tensor, not {type_name(v)}")
        return v.tensor(run)
    if v is None and not p.required:
        return p.default  # arange(5, None), eye(3, None)
    if p.kind == "int":
        if not isinstance(v, int) or isinstance(v, bool):
            raise TypeError(f"{name}(): argument '{p.name}' must be int, not {type_name(v)}")
        return v
    v = plain(v, run)  # a number: a one-element tensor counts as one
    if isinstance(v, Tensor):
        v = v.item()
    if not is_num(v):
        raise TypeError(f"{name}(): argument '{p.name}' must be Number, not {type_name(v)}")
    return v


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
