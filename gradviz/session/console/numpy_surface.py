"""``import numpy as np`` in the console: the part of numpy a learner uses beside PyTorch, each
function named here (never looked up on numpy by the name typed), its result's size bounded
before it is made. Arrays are plain console values: kept in ``variables``, not in the session."""

from __future__ import annotations

import ast
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .limits import check_numpy_result
from .values import ConsoleError, Function, Method, Namespace, TensorValue, plain, type_name

if TYPE_CHECKING:
    from .evaluate import Run

# Made from a size: the size is checked first.
_SIZED = ("zeros", "ones", "full", "empty", "eye", "identity")
# Made from ranges of numbers.
_RANGES = ("arange", "linspace")
# Read arrays (or numbers) and give at most their broadcast size.
_ELEMENTWISE = (
    "array", "asarray", "copy", "sqrt", "exp", "log", "abs", "square", "sin", "cos", "tanh", "maximum",
    "minimum", "round", "clip", "where", "mean", "sum", "std", "var", "max", "min", "argmax", "argmin",
    "prod", "allclose", "array_equal", "isclose", "transpose", "reshape", "squeeze", "expand_dims",
    "zeros_like", "ones_like", "sign", "floor", "ceil", "cumsum", "sort", "argsort", "unique",
)  # fmt: skip
_PRODUCTS = ("dot", "matmul", "outer", "concatenate", "stack", "vstack", "hstack")
_RANDOM = ("seed", "rand", "randn", "randint", "random", "normal", "uniform", "permutation", "shuffle")
_DTYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool_")
_CONSTANTS = {"pi": np.pi, "e": np.e, "inf": np.inf, "nan": np.nan, "newaxis": None}
_ARRAY_PROPERTIES = ("shape", "dtype", "ndim", "size", "T", "itemsize", "nbytes")
_ARRAY_METHODS = (
    "reshape", "astype", "mean", "sum", "std", "var", "max", "min", "argmax", "argmin", "tolist", "copy",
    "flatten", "item", "transpose", "squeeze", "dot", "round", "clip", "prod", "cumsum", "ravel", "fill",
)  # fmt: skip


class NumpyType(Function):
    """``np.float32``: a dtype argument, and callable as numpy's scalar type."""

    def __init__(self, name: str) -> None:
        self.type = getattr(np, name)
        super().__init__(name, lambda run, args, kwargs, node: self.type(*_plain(run, args)))

    def __repr__(self) -> str:
        return repr(self.type)


def _plain(run: Run, values: list[Any]) -> list[Any]:
    return [_arg(run, v) for v in values]


def _arg(run: Run, v: Any) -> Any:
    if isinstance(v, NumpyType):
        return v.type
    if isinstance(v, range):  # numpy makes an array of it: bounded first
        check_numpy_result(run.session, (len(v),), 8, "this range")
    elif not isinstance(
        v, (TensorValue, np.ndarray, np.generic, list, tuple, str, int, float, bool, type(None))
    ):
        raise ConsoleError(
            f"numpy functions take arrays, numbers and lists in the console, not a {type_name(v)}"
        )
    v = plain(v, run)
    if isinstance(v, (list, tuple)) and not hasattr(v, "numel"):
        return type(v)(_arg(run, x) for x in v)
    return v


def _shape_of(v: Any) -> tuple[int, ...]:
    try:
        return np.shape(v)
    except ValueError:  # a ragged list: numpy's own error comes when it is made
        return ()


def _check_size(run: Run, name: str, args: list[Any], kwargs: dict[str, Any]) -> None:
    what = f"np.{name}(...)"
    if name in _SIZED:
        size = args[0] if args else kwargs.get("shape", kwargs.get("N", 0))
        dims = size if isinstance(size, (list, tuple)) else (size,)
        if name in ("eye", "identity"):
            dims = (size, args[1] if len(args) > 1 and args[1] is not None else size)
        if not all(isinstance(d, int) and not isinstance(d, bool) for d in dims):
            raise TypeError(f"np.{name}(): the shape must be integers, not {type_name(size)}")
        check_numpy_result(run.session, tuple(max(0, d) for d in dims), 8, what)
    elif name in _RANGES:
        nums = [a for a in args if isinstance(a, (int, float)) and not isinstance(a, bool)]
        if name == "linspace":
            n = args[2] if len(args) > 2 else kwargs.get("num", 50)
        else:
            start, stop, step = (0, nums[0], 1) if len(nums) == 1 else ((*nums, 1)[:3] if nums else (0, 0, 1))
            n = math.ceil((stop - start) / step) if step and math.isfinite(stop - start) else 0
        if not isinstance(n, (int, float)) or not math.isfinite(n):
            raise ValueError(f"np.{name}(): the number of values must be finite")
        check_numpy_result(run.session, (max(0, int(n)),), 8, what)
    elif name in _PRODUCTS:
        shapes = [_shape_of(a) for a in args if not isinstance(a, (int, str))]
        flat = [math.prod(s) for s in shapes]
        bound = math.prod(flat) if name in ("outer", "dot", "matmul") else sum(flat)
        check_numpy_result(run.session, (bound,), 8, what)
    elif name in _RANDOM:
        check_numpy_result(run.session, _random_shape(name, args, kwargs), 8, what)
    else:
        shapes = [_shape_of(a) for a in [*args, *kwargs.values()] if not isinstance(a, (str, type))]
        try:
            out = np.broadcast_shapes(*shapes) if shapes else ()
        except ValueError:
            out = (sum(math.prod(s) for s in shapes),)
        check_numpy_result(run.session, out, 8, what)


# Where each random function takes its size: the positional index (None: all of them).
_RANDOM_SIZE_AT = {"rand": None, "randn": None, "random": 0, "randint": 2, "normal": 2, "uniform": 2,
                   "permutation": 0, "shuffle": 0, "seed": -1}  # fmt: skip


def _random_shape(name: str, args: list[Any], kwargs: dict[str, Any]) -> tuple[int, ...]:
    at = _RANDOM_SIZE_AT[name]
    if at == -1:
        return ()
    if at is None:
        size: Any = tuple(args)
    else:
        size = kwargs.get("size", args[at] if len(args) > at else None)
    if size is None:
        return ()
    if not isinstance(size, (list, tuple)):
        size = np.shape(size) if not isinstance(size, int) else (size,)
    if not all(isinstance(d, int) and not isinstance(d, bool) for d in size):
        raise TypeError(f"np.random.{name}(): the size must be integers")
    return tuple(max(0, d) for d in size)


def _no_objects(out: Any) -> Any:
    """Arrays of Python objects are refused: their maths is Python's on each element, which the
    console's bounds on integers (10**10**10) don't see."""
    if isinstance(out, np.ndarray) and out.dtype == object:
        raise ConsoleError(
            "numpy arrays of Python objects (dtype=object: mixed types, or integers beyond 64 bits) are "
            "not available in the console"
        )
    return out


def _function(module: Any, name: str) -> Function:
    fn = getattr(module, name)

    def call(run: Run, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> Any:
        args, kwargs = _plain(run, args), {k: _arg(run, v) for k, v in kwargs.items()}
        _check_size(run, name, args, kwargs)
        return _no_objects(fn(*args, **kwargs))

    return Function(name, call)


def build() -> Namespace:
    """The ``np`` namespace: numpy's functions the console offers, its dtypes and constants."""
    members: dict[str, Any] = {n: _function(np, n) for n in (*_SIZED, *_RANGES, *_ELEMENTWISE, *_PRODUCTS)}
    members.update({n: NumpyType(n) for n in _DTYPES})
    members.update(_CONSTANTS)
    members["random"] = Namespace("numpy.random", {n: _function(np.random, n) for n in _RANDOM}, np.random)
    return Namespace("numpy", members, np)


def array_attribute(run: Run, arr: np.ndarray, attr: str) -> Any:
    """``a.shape``, ``a.reshape(...)``: the array properties and methods named above."""
    if attr in _ARRAY_PROPERTIES:
        return getattr(arr, attr)
    if attr in _ARRAY_METHODS:
        method = getattr(arr, attr)

        def call(args: list[Any], kwargs: dict[str, Any]) -> Any:
            args, kwargs = _plain(run, args), {k: _arg(run, v) for k, v in kwargs.items()}
            if attr in ("tolist", "flatten", "ravel", "copy", "astype"):
                check_numpy_result(run.session, arr.shape, arr.itemsize, f"a.{attr}()")
            return _no_objects(method(*args, **kwargs))

        return Method(arr, attr, call)
    if hasattr(arr, attr):
        raise ConsoleError(f"attribute '{attr}' of a numpy array is not available in the console")
    raise AttributeError(f"'numpy.ndarray' object has no attribute '{attr}'")
