"""``repr``/``str`` parity with PyTorch: every tensor prints exactly as torch prints it,
with ``torch.`` read as ``gradviz.``."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch

import gradviz as gv

NAN, INF = math.nan, math.inf


def norm(s: str) -> str:
    return s.replace("torch.", "gradviz.")


def same_repr(t: Any, g: Any) -> None:
    assert repr(g) == norm(repr(t))
    assert str(g) == norm(str(t))


def both(data: Any, **kwargs: Any) -> tuple:
    tk = {k: (getattr(torch, v) if k == "dtype" else v) for k, v in kwargs.items()}
    gk = {k: (getattr(gv, v) if k == "dtype" else v) for k, v in kwargs.items()}
    if isinstance(data, np.ndarray):
        return torch.tensor(data, **tk), gv.tensor(data, **gk)
    return torch.tensor(data, **tk), gv.tensor(data, **gk)


@pytest.fixture(autouse=True)
def _default_print_options() -> Iterator[None]:
    yield
    torch.set_printoptions(profile="default")
    gv.set_printoptions(profile="default")


LITERALS = [
    # floats
    [1.5, 2.25],
    [0.1, 0.2, 0.3],
    [1.0, 2.0, 3.0],
    [-1.0, 2.0],
    [1.0, -0.5],
    [0.0],
    [-0.0, 0.0],
    [1e-5, 1.0],
    [1e-4, 1.0],
    [1.2345e-4, 0.5],
    [1e10, 1.0],
    [123456789.0],
    [1e8, 1.0],
    [1.0e8, 1.5],
    [99999999.0],
    [1.0, 1000.0],
    [1.0, 1001.0],
    [1.5, 1000.0],
    [1.5, 1500.0],
    [0.001, 0.5],
    [1e-10],
    [-1e-10, 1e-12],
    [3.14159265, -2.71828],
    [-1.5, 10.25, 100.125],
    [123.456, 0.001],
    [1e20, -1e-20],
    [65504.0, 1.0],
    [0.00012, 0.0009],
    [2.5e-3, 7.75],
    # special values
    [NAN],
    [INF],
    [-INF],
    [NAN, 1.0],
    [NAN, 1.5],
    [INF, -INF, 1.5],
    [INF, 2.0],
    [NAN, INF, -INF],
    [NAN, 1e-8],
    [NAN, 0.0, 1e10],
    [INF, 1e-5, 3.0],
    # ints and bools
    [1, 2, 3],
    [-100, 5],
    [0],
    [2**40, -1],
    [-(2**62)],
    [[1, -22], [333, 4]],
    [True, False],
    [[True], [False]],
    # nested
    [[1.5, 2.0], [3.0, 4.0]],
    [[1.0, 2.0], [3.0, 4.0]],
    [[1e-6, 2.0], [3.0, 4.0]],
    [[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.5]]],
    [[[1, 2]], [[3, 4]]],
    [[[[0.5]]]],
    # scalars
    3.5,
    3.0,
    -0.0,
    1e-8,
    1e9,
    123456.789,
    NAN,
    -INF,
    3,
    -7,
    True,
    False,
]


@pytest.mark.parametrize("data", LITERALS, ids=repr)
def test_literals(data: Any) -> None:
    same_repr(*both(data))


@pytest.mark.parametrize(
    "dtype", ["float64", "float16", "int32", "int16", "int8", "uint8", "float32", "int64", "bool"]
)
@pytest.mark.parametrize(
    "data",
    [[1.5, 2.0], [1, 2, 3], [[0, 1], [1, 0]], 2.0, 0, [], [1e-5, 3.0], [100.0, 0.25]],
    ids=repr,
)
def test_dtype_suffix(dtype: str, data: Any) -> None:
    same_repr(*both(data, dtype=dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("data", [[1.5, 2.0], 2.0, [[1.0, 2.0]], [], [1e-5, 3.0], [NAN, 1.0]], ids=repr)
def test_requires_grad_suffix(dtype: str, data: Any) -> None:
    same_repr(*both(data, dtype=dtype, requires_grad=True))


GRAD_FN_PROGRAMS = [
    ("add", lambda L, x: x + 2),
    ("mul", lambda L, x: x * x),
    ("sum", lambda L, x: x.sum()),
    ("mean", lambda L, x: x.mean()),
    ("pow", lambda L, x: x**2),
    ("neg", lambda L, x: -x),
    ("matmul", lambda L, x: x @ x),
    ("exp", lambda L, x: x.exp()),
    ("index", lambda L, x: x[0]),
    ("view", lambda L, x: x.view(1, -1)),
    ("max", lambda L, x: x.max()),
    ("max_dim", lambda L, x: x.max(0)),
    ("min_dim_keep", lambda L, x: x.min(0, keepdim=True)),
    ("long_row", lambda L, x: x.repeat(10) * 1.234567 if hasattr(x, "repeat") else None),
    ("double", lambda L, x: x.double() * 3),
    ("half", lambda L, x: x.half() + 1),
    ("softmax", lambda L, x: x.softmax(0)),
    ("sci", lambda L, x: x * 1e-6),
]


@pytest.mark.parametrize(("name", "fn"), GRAD_FN_PROGRAMS, ids=[n for n, _ in GRAD_FN_PROGRAMS])
def test_grad_fn_suffix(name: str, fn: Any) -> None:
    if name == "long_row":
        fn = lambda L, x: L.cat([x] * 10) * 1.234567  # noqa: E731
    t, g = both([1.0, 2.0, 3.0], requires_grad=True)
    same_repr(fn(torch, t), fn(gv, g))


def test_max_dim_namedtuple_repr() -> None:
    t, g = both([[1.0, 5.0], [3.0, 2.0]], requires_grad=True)
    for op in ["max", "min"]:
        rt, rg = getattr(t, op)(1), getattr(g, op)(1)
        assert repr(rg) == norm(repr(rt))
        assert str(rg) == norm(str(rt))


def test_grads_print_like_torch() -> None:
    t, g = both([[1.5, 2.0], [3.0, -4.0]], requires_grad=True)
    (t * t).sum().backward()
    (g * g).sum().backward()
    same_repr(t.grad, g.grad)
    same_repr(t, g)
    same_repr(t.detach(), g.detach())
    same_repr(t.data, g.data)


EMPTY = [
    lambda L: L.tensor([]),
    lambda L: L.zeros(0),
    lambda L: L.zeros(0, 3),
    lambda L: L.zeros(2, 0),
    lambda L: L.zeros(2, 0, 4),
    lambda L: L.zeros(0, dtype=L.int64),
    lambda L: L.zeros(0, 3, dtype=L.float64),
    lambda L: L.zeros(0, dtype=L.bool),
    lambda L: L.zeros(0, requires_grad=True),
    lambda L: L.zeros(3, 0, requires_grad=True) * 2,
    lambda L: L.tensor([[], []]),
    lambda L: L.arange(0),
]


@pytest.mark.parametrize("fn", EMPTY)
def test_empty(fn: Any) -> None:
    same_repr(fn(torch), fn(gv))


SHAPES = [(1,), (7,), (4, 5), (1, 1), (3, 1), (1, 6), (2, 3, 4), (2, 1, 3, 2), (5, 2, 2), (1, 1, 1)]
SCALES = [1.0, 1e-3, 1e-5, 1e3, 1e5, 1e9]


def _values(shape: tuple, scale: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * scale).astype(np.float32)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_random_float_shapes(shape: tuple, scale: float) -> None:
    same_repr(*both(_values(shape, scale)))


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_random_int_and_double_shapes(shape: tuple) -> None:
    rng = np.random.default_rng(1)
    same_repr(*both(rng.integers(-1000, 1000, shape)))
    same_repr(*both(rng.integers(0, 10, shape).astype(np.int32)))
    same_repr(*both(rng.standard_normal(shape)))  # float64
    same_repr(*both(rng.random(shape) > 0.5))
    same_repr(*both(np.round(rng.standard_normal(shape) * 10)))  # int-valued float64


@pytest.mark.parametrize(
    "fn",
    [
        lambda L: L.arange(1001.0),
        lambda L: L.arange(1000.0),
        lambda L: L.arange(2000).reshape(40, 50),
        lambda L: L.arange(3000.0).reshape(10, 20, 15) / 7,
        lambda L: L.arange(1001) * 1000,
        lambda L: L.linspace(-1, 1, 5000),
        lambda L: L.linspace(0, 1e-6, 1200),
        lambda L: L.ones(1, 2000),
        lambda L: L.ones(2000, 1) * 0.5,
        lambda L: L.zeros(1001, dtype=L.bool),
        lambda L: L.arange(1500.0, dtype=L.float64) / 3,
        lambda L: L.arange(1200.0).reshape(2, 600).half(),
        lambda L: L.arange(1001.0, requires_grad=True),
        lambda L: L.arange(2002.0, requires_grad=True).reshape(2, 1001) * 2,
        lambda L: L.cat([L.arange(600.0), L.tensor([float("nan"), float("inf")]), L.arange(600.0)]),
        lambda L: L.arange(5000).reshape(5, 10, 100),
    ],
)
def test_summarised(fn: Any) -> None:
    same_repr(fn(torch), fn(gv))


@pytest.mark.parametrize(
    "fn",
    [
        lambda L: L.arange(30.0) * 1.5,
        lambda L: L.arange(30.0) * 1.123456,
        lambda L: L.linspace(0, 1, 25),
        lambda L: L.arange(100),
        lambda L: L.arange(100) * 10**9,
        lambda L: L.arange(40.0).reshape(2, 20) * 1.1,
        lambda L: L.arange(60.0).reshape(2, 3, 10) * -0.37,
        lambda L: L.arange(30.0, dtype=L.float64) * 1.5,
        lambda L: L.arange(30.0, requires_grad=True) * 1.5,
        lambda L: (L.arange(12.0, requires_grad=True) * 1.5).exp(),
        lambda L: L.arange(17.0) * 1e-7,
        lambda L: L.ones(20, dtype=L.bool),
        lambda L: L.arange(12.0).reshape(1, 12) / 3,
        lambda L: L.linspace(0, 1, 9, requires_grad=True) * 2,
        lambda L: L.linspace(0, 1, 10, dtype=L.float64, requires_grad=True) * 2,
    ],
)
def test_long_rows_wrap(fn: Any) -> None:
    same_repr(fn(torch), fn(gv))


def test_rand_tensors_print_identically() -> None:
    for seed in range(5):
        torch.manual_seed(seed)
        gv.manual_seed(seed)
        for shape in [(3,), (2, 4), (2, 2, 3), (1100,)]:
            same_repr(torch.rand(shape), gv.rand(shape))
            same_repr(torch.rand(shape, dtype=torch.float64), gv.rand(shape, dtype=gv.float64))


PRINT_OPTIONS = [
    {"precision": 2},
    {"precision": 8},
    {"sci_mode": True},
    {"sci_mode": False},
    {"threshold": 5},
    {"edgeitems": 1, "threshold": 5},
    {"linewidth": 40},
    {"linewidth": 200},
    {"profile": "short"},
    {"profile": "full"},
    {"precision": 1, "sci_mode": False},
]


@pytest.mark.parametrize("opts", PRINT_OPTIONS, ids=repr)
@pytest.mark.parametrize(
    "fn",
    [
        lambda L: L.tensor([1.123456789, 2.5, 1e-5]),
        lambda L: L.tensor([[1.5, 2.0], [3.25, 1000.0]]),
        lambda L: L.arange(30.0) / 7,
        lambda L: L.arange(2000.0).reshape(20, 100),
        lambda L: L.tensor([1, 2, 3]),
        lambda L: L.tensor(3.14159265),
    ],
)
def test_print_options(opts: dict, fn: Any) -> None:
    torch.set_printoptions(**opts)
    gv.set_printoptions(**opts)
    same_repr(fn(torch), fn(gv))


def test_size_dtype_and_node_reprs() -> None:
    assert repr(gv.Size([3, 2])) == "gradviz.Size([3, 2])"
    assert str(gv.zeros(3, 2).shape) == norm(str(torch.zeros(3, 2).shape))
    assert repr(gv.zeros(()).shape) == norm(repr(torch.zeros(()).shape))
    assert repr(gv.zeros(0).size()) == norm(repr(torch.zeros(0).size()))
    for name in ["float32", "float64", "float16", "int64", "int32", "bool", "int16", "int8", "uint8"]:
        assert repr(getattr(gv, name)) == norm(repr(getattr(torch, name)))
        assert str(getattr(gv, name)) == norm(str(getattr(torch, name)))
    for alias in ["float", "double", "half", "long", "int", "short"]:
        assert repr(getattr(gv, alias)) == norm(repr(getattr(torch, alias)))
    x = gv.tensor([1.0], requires_grad=True)
    y = x * 2
    assert re.fullmatch(r"<MulBackward0 object at 0x[0-9a-f]+>", repr(y.grad_fn))
    acc = y.grad_fn.next_functions[0][0]
    assert re.fullmatch(r"<AccumulateGrad object at 0x[0-9a-f]+>", repr(acc))


def test_format_and_fstrings() -> None:
    t, g = both(2.5)
    for spec in ["", ".2f", ".3e", "10.1f"]:
        assert format(g, spec) == format(t, spec)
    t, g = both([1.0, 2.0])
    assert f"{g}" == norm(f"{t}")
    assert f"{g!r}" == norm(f"{t!r}")


def test_seed_notebook_style_prints() -> None:
    def program(L: Any) -> list:
        out = []
        t1 = L.tensor([[5.0, 6], [7, 8]])
        out += [t1, t1.dtype, t1.shape, t1.size()]
        t2 = L.tensor([[1, 2], [3, 4]])
        out += [t2, t2.dtype, t2 * 2.5, t2 / 2, t1 @ t1, t1.T, t1.sum(), t1.mean(dim=0)]
        w = L.tensor([1.0, 2.0, 3.0], requires_grad=True)
        x = L.tensor([4.0, 5.0, 6.0])
        b = L.tensor(0.5, requires_grad=True)
        y = (w * x).sum() + b
        out += [y, y.grad_fn]
        y.backward()
        out += [w.grad, b.grad, w, x.numpy(), L.zeros(2, 3), L.ones(2, dtype=L.int64), L.arange(5)]
        out += [L.eye(3), L.full((2, 2), 7.0), L.linspace(0, 1, 5), L.from_numpy(np.arange(3.0))]
        return out

    for t, g in zip(program(torch), program(gv)):
        if isinstance(t, np.ndarray):
            assert repr(g) == repr(t)
        elif hasattr(t, "name") and callable(t.name):
            assert g.name() == t.name()
        else:
            assert repr(g) == norm(repr(t)), (g, t)


@pytest.mark.parametrize("seed", range(40))
def test_random_sweep(seed: int) -> None:
    """Random shapes, magnitudes, dtypes and special values, all printed as torch prints them."""
    rng = np.random.default_rng(1000 + seed)
    ndim = int(rng.integers(0, 4))
    shape = tuple(int(s) for s in rng.integers(1, 9, ndim))
    if rng.random() < 0.15:
        shape = (int(rng.integers(1, 4)), 400)  # summarised
    scale = 10.0 ** rng.integers(-9, 11)
    x = rng.standard_normal(shape) * scale
    if rng.random() < 0.3:
        x = np.round(x)
    if rng.random() < 0.2 and x.size > 1:
        flat = x.reshape(-1)
        flat[rng.integers(0, flat.size)] = rng.choice([NAN, INF, -INF, 0.0])
    dtype = rng.choice(["float32", "float64", "float16", "int64"])
    if dtype == "float16":
        x = np.clip(x, -6e4, 6e4)
    if dtype == "int64":
        x = np.nan_to_num(np.clip(x, -1e15, 1e15), posinf=7, neginf=-7).astype(np.int64)
    arr = np.asarray(x).astype(dtype)
    t, g = torch.tensor(arr), gv.tensor(arr)
    same_repr(t, g)
    if dtype != "int64":
        same_repr(torch.tensor(arr, requires_grad=True) * 1, gv.tensor(arr, requires_grad=True) * 1)
