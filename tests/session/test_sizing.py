"""The size an op is checked against before it runs is never below the size it really makes.

For every catalogue op, hypothesis draws operand shapes (and parameters) the op accepts, runs the
op, and compares: where sizing gives an exact shape it must be the real shape; in every case the
bound must be at least the real element count."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradviz as torch
from gradviz.session import catalogue, sizing

DIM = st.integers(0, 4)
SHAPE = st.lists(DIM, min_size=0, max_size=4).map(tuple)
NONEMPTY = st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple)
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)


def t(shape, dtype=torch.float32):
    return torch.ones(*shape, dtype=dtype) if shape else torch.tensor(1.0, dtype=dtype)


@st.composite
def broadcastable(draw, n):
    base = draw(SHAPE)
    out = []
    for _ in range(n):
        drop = draw(st.integers(0, len(base)))
        out.append(tuple(1 if draw(st.booleans()) else d for d in base[drop:]))
    return out


@st.composite
def binary(draw):
    return [t(s) for s in draw(broadcastable(2))], {}


@st.composite
def ternary(draw):
    c, a, b = draw(broadcastable(3))
    return [t(c, torch.bool), t(a), t(b)], {}


@st.composite
def unary(draw, nonempty=False):
    return [t(draw(NONEMPTY if nonempty else SHAPE))], {}


@st.composite
def matmul(draw):
    batch = draw(st.lists(st.integers(1, 3), max_size=2).map(tuple))
    m, k, n = draw(DIM), draw(DIM), draw(DIM)
    a = draw(st.sampled_from([(k,), (m, k), batch + (m, k)]))
    b = draw(st.sampled_from([(k,), (k, n), batch + (k, n)]))
    dtype = draw(st.sampled_from([torch.float32, torch.int64]))
    return [t(a, dtype), t(b, dtype)], {}


@st.composite
def fixed_rank_product(draw, op):
    """mm, mv, bmm and dot: matmul with the ranks each requires."""
    b, m, k, n = draw(DIM), draw(DIM), draw(DIM), draw(DIM)
    a, c = {"mm": ((m, k), (k, n)), "mv": ((m, k), (k,)), "bmm": ((b, m, k), (b, k, n)), "dot": ((k,), (k,))}[
        op
    ]
    dtype = draw(st.sampled_from([torch.float32, torch.int64]))
    return [t(a, dtype), t(c, dtype)], {}


@st.composite
def linear(draw):
    lead = draw(st.lists(DIM, max_size=2).map(tuple))
    k, n = draw(DIM), draw(st.integers(1, 5))
    ops = [t(lead + (k,)), t((n, k))]
    if draw(st.booleans()):
        ops.append(t(draw(st.sampled_from([(n,), (1,), ()]))))
    return ops, {}


@st.composite
def reduction(draw, dims_kind):
    shape = draw(NONEMPTY if dims_kind == "optional_int" else SHAPE)
    keepdim = draw(st.booleans())
    if not shape or draw(st.booleans()):
        dim = None
    elif dims_kind == "dims":
        dim = sorted(set(draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, max_size=len(shape)))))
    else:
        dim = draw(st.integers(-len(shape), len(shape) - 1))
    return [t(shape)], {"dim": dim, "keepdim": keepdim}


@st.composite
def with_dim(draw, op):
    shape = draw(NONEMPTY)
    d = draw(st.integers(-len(shape), len(shape) - 1))
    if op in ("softmax", "log_softmax"):
        return [t(shape)], {"dim": d}
    if op == "transpose":
        return [t(shape)], {"dim0": d, "dim1": draw(st.integers(-len(shape), len(shape) - 1))}
    if op == "flatten":
        e = draw(st.integers(d % len(shape), len(shape) - 1))
        return [t(shape)], {"start_dim": d % len(shape), "end_dim": e}
    if op == "unsqueeze":
        return [t(shape)], {"dim": draw(st.integers(-len(shape) - 1, len(shape)))}
    return [t(shape)], {"dim": draw(st.one_of(st.none(), st.just(d)))}  # squeeze


@st.composite
def reshape(draw):
    shape = draw(SHAPE)
    n = int(np.prod(shape)) if shape else 1
    factors = [f for f in range(1, n + 1) if n % f == 0] or [1]
    a = draw(st.sampled_from(factors))
    new = draw(st.sampled_from([(n,), (a, n // a if a else 0), (-1, a) if a and n else (n,)]))
    return [t(shape)], {"shape": list(new)}


@st.composite
def index(draw):
    shape = draw(NONEMPTY)
    items, operands = [], [t(shape)]
    for d in shape[: draw(st.integers(1, len(shape)))]:
        kind = draw(st.sampled_from(["int", "slice", "none", "list", "mask", "tensor"]))
        if kind == "int":
            items.append(draw(st.integers(-d, d - 1)))
        elif kind == "slice":
            items.append(
                {
                    "slice": [draw(st.one_of(st.none(), st.integers(-5, 5))) for _ in range(2)]
                    + [draw(st.sampled_from([None, 1, 2, -1]))]
                }
            )
        elif kind == "none":
            items.append(None)
        elif kind == "list":
            items.append({"list": draw(st.lists(st.integers(-d, d - 1), min_size=0, max_size=6))})
        elif kind == "mask":
            operands.append(torch.tensor(draw(st.lists(st.booleans(), min_size=d, max_size=d))))
            items.append({"operand": len(operands) - 1})
        else:
            idx = draw(st.lists(st.integers(-d, d - 1), min_size=1, max_size=5))
            operands.append(torch.tensor(idx).reshape(draw(st.sampled_from([(len(idx),), (1, len(idx))]))))
            items.append({"operand": len(operands) - 1})
    return operands, {"index": items}


@st.composite
def joined(draw, op):
    shape = draw(NONEMPTY)
    k = draw(st.integers(1, 4))
    d = draw(st.integers(0, len(shape) - 1 if op == "cat" else len(shape)))
    shapes = []
    for _ in range(k):
        s = list(shape)
        if op == "cat":
            s[d] = draw(DIM)
        shapes.append(tuple(s))
    return [t(s) for s in shapes], {"dim": d}


@st.composite
def loss(draw, op):
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    if op in ("mse_loss", "l1_loss"):
        a, b = draw(broadcastable(2))
        return [t(a), t(b)], {"reduction": reduction}
    if op.startswith("binary_cross_entropy"):  # target and weights of the input's shape
        shape = draw(SHAPE)
        return [t(shape) * 0.5 for _ in range(draw(st.integers(2, 3)))], {"reduction": reduction}
    target = torch.tensor(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    return [t((n, c)), target], {"reduction": reduction}


UNARY = ("neg", "exp", "log", "sqrt", "sin", "cos", "abs", "tanh", "sigmoid", "relu", "detach", "clone", "T")
UNARY = ("neg", "exp", "log", "sqrt", "sin", "cos", "abs", "tanh", "sigmoid", "relu", "detach", "clone", "T")
GENERATORS = {
    **{op: binary() for op in ("add", "sub", "mul", "div", "pow", "gt", "lt", "ge", "le", "eq", "ne")},
    **{op: unary() for op in UNARY},
    "t": st.lists(DIM, max_size=2).map(lambda s: ([t(tuple(s))], {})),
    "clamp": unary().map(lambda a: (a[0], {"min": -1.0, "max": 1.0})),
    "to": unary().map(lambda a: (a[0], {"dtype": "float64"})),
    "matmul": matmul(),
    "linear": linear(),
    "sum": reduction("dims"),
    "mean": reduction("dims"),
    "max": reduction("optional_int"),
    "min": reduction("optional_int"),
    **{op: with_dim(op) for op in ("softmax", "log_softmax", "transpose", "flatten", "unsqueeze", "squeeze")},
    "reshape": reshape(),
    "view": reshape(),
    "index": index(),
    "cat": joined("cat"),
    "stack": joined("stack"),
    "where": ternary(),
    **{op: loss(op) for op in ("mse_loss", "cross_entropy", "nll_loss")},
    **{op: loss(op) for op in ("l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits")},
    # added with the engine's registry (issue 12)
    **{op: unary() for op in ("log1p", "expm1", "erf", "tan", "gelu", "silu", "leaky_relu", "softplus")},
    "atan2": binary(),
    "logsumexp": reduction("dims"),
    # issue 14
    **{op: reduction("dims") for op in ("std", "var", "all", "any", "amax", "amin")},
    "prod": reduction("optional_int"),
    **{op: with_dim("softmax") for op in ("cumsum", "cumprod")},
    "median": reduction("optional_int"),
    **{op: unary().map(lambda c: (c[0], {"diagonal": 1})) for op in ("tril", "triu")},
    "diagonal": st.lists(st.integers(0, 4), min_size=2, max_size=4).map(
        lambda s: ([t(tuple(s))], {"offset": -1, "dim1": 0, "dim2": -1})
    ),
    "masked_fill": broadcastable(2).map(lambda s: ([t(s[0]), t(s[1], torch.bool)], {"value": 1.5})),
    **{op: unary() for op in ("floor", "ceil", "trunc", "round")},
    **{op: binary() for op in ("remainder", "fmod", "floor_divide", "isclose")},
    "norm": reduction("dims").map(lambda c: (c[0], {**c[1], "p": 2})),
    "sort": with_dim("softmax").map(lambda c: (c[0], {**c[1], "descending": True})),
    "topk": with_dim("softmax").map(lambda c: (c[0], {**c[1], "k": 1, "largest": False})),
    "flip": with_dim("softmax").map(lambda c: (c[0], {"dims": [c[1]["dim"]]})),
    **{op: unary() for op in ("square", "reciprocal", "sign")},
    **{op: binary() for op in ("maximum", "minimum")},
    **{op: fixed_rank_product(op) for op in ("mm", "mv", "bmm", "dot")},
    "chunk": with_dim("softmax").map(lambda c: (c[0], {**c[1], "chunks": 2, "piece": 0})),
}


def test_every_catalogue_op_has_a_generator() -> None:
    assert set(GENERATORS) == set(catalogue.CATALOGUE)


@pytest.mark.parametrize("op", sorted(catalogue.CATALOGUE))
def test_size_bound_never_below_the_real_size(op: str) -> None:
    spec = catalogue.get(op)
    ran = []

    @SETTINGS
    @given(GENERATORS[op])
    def check(case) -> None:
        operands, params = case
        full = {**spec.defaults(), **params}
        args = [o for o in operands]
        if op == "nll_loss":
            args[0] = args[0].log_softmax(-1)
        try:
            out = spec.fn(*args, **full)
        except (RuntimeError, IndexError, ValueError, TypeError):
            return  # a combination the op refuses; the bound doesn't matter
        cost = sizing.estimate(spec, args, full)
        assert cost.numel >= out.numel(), (op, [tuple(a.shape) for a in args], params)
        assert cost.nbytes >= out.numel() * out.element_size()
        exact = sizing.result_shape(spec, args, full)
        if exact is not None:  # exact: the same element count, and for these rules the same shape
            assert sizing.numel(exact) == out.numel(), (op, [tuple(a.shape) for a in args], params)
            if spec.size_rule in ("broadcast", "matmul", "index"):
                assert tuple(exact) == tuple(out.shape), (op, [tuple(a.shape) for a in args], params)
        ran.append(1)

    check()
    assert ran, f"no drawn case ran {op}"


def test_known_underestimates_are_fixed() -> None:
    """The cases issue 10 names: linear's output features, a tensor index, an empty reduction."""
    linear = sizing.estimate(catalogue.get("linear"), [t((5, 3)), t((1000, 3))], {})
    assert linear.numel == 5000
    idx = torch.zeros(10_000, dtype=torch.int64)
    got = sizing.estimate(catalogue.get("index"), [t((4, 100)), idx], {"index": [{"operand": 1}]})
    assert got.numel == 10_000 * 100
    empty = sizing.estimate(catalogue.get("sum"), [t((0, 3))], {"dim": None, "keepdim": False})
    assert empty.numel >= 1


def test_int_matmul_is_priced_without_blas() -> None:
    a = t((2048, 2048), torch.int64)
    slow = sizing.estimate(catalogue.get("matmul"), [a, a], {})
    fast = sizing.estimate(catalogue.get("matmul"), [t((2048, 2048)), t((2048, 2048))], {})
    assert slow.seconds > 10 * fast.seconds
    assert "without BLAS" in slow.work and "int64" in slow.work
