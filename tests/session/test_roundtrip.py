"""Every session the console accepts round-trips through save and open: the same entries after
reload, the same tensors after replay. Random console sessions, edge values included (long
names and sources, int64's ends and beyond, 32 and 33 dims, cat of up to 1,100 operands)."""

from __future__ import annotations

import time
import warnings
from dataclasses import fields
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradviz.session import fileformat as ff
from gradviz.session import limits
from gradviz.session.console import Console
from gradviz.session.document import Session

BUDGET_S = 25.0  # wall clock for the whole property, whatever the example count
_started: list[float] = []

ints = st.sampled_from(
    [0, 1, -1, 7, 2**31, 2**53, limits.INT_MAX, limits.INT_MIN, limits.INT_MAX + 1, -(2**70), 10**30]
)
floats = st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.sampled_from([1e308, -0.0, 1e-300]))
numbers = st.one_of(ints, floats)


@st.composite
def name(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["short", "short", "short", "long"]))
    if kind == "long":
        return "n" * draw(st.integers(limits.MAX_NAME - 3, limits.MAX_NAME + 3))
    return draw(st.sampled_from(["a", "b", "c", "x", "y", "w", "loss"]))


@st.composite
def statement(draw: st.DrawFn, names: list[str]) -> str:
    target = draw(name())
    have = names or ["a"]
    a, b = draw(st.sampled_from(have)), draw(st.sampled_from(have))
    choice = draw(
        st.sampled_from(
            [
                "tensor",
                "tensor",
                "long source",
                "ones",
                "int tensor",
                "scalar op",
                "binary",
                "cat",
                "reshape",
                "index",
                "sum",
                "backward",
                "retain",
                "del",
                "clamp",
            ]
        )
    )
    grad = draw(st.booleans())
    if choice == "tensor":
        vals = draw(st.lists(floats, min_size=1, max_size=4))
        return f"{target} = torch.tensor({vals!r}, requires_grad={grad})"
    if choice == "long source":
        n = draw(st.sampled_from([3000, 3300, 3400, 4000]))  # about 10,000 characters
        return f"{target} = torch.tensor([{','.join(['1.'] * n)}])"
    if choice == "ones":
        ndim = draw(st.sampled_from([0, 1, 2, 31, 32, 33]))
        dims = ",".join(["1"] * ndim) or "()"
        return f"{target} = torch.ones({dims})"
    if choice == "int tensor":
        return f"{target} = torch.tensor({draw(st.lists(ints, min_size=1, max_size=3))!r})"
    if choice == "scalar op":
        op = draw(st.sampled_from(["*", "+", "-", "/"]))
        return f"{target} = {a} {op} {draw(numbers)!r}"
    if choice == "binary":
        return f"{target} = {a} {draw(st.sampled_from(['*', '+', '-']))} {b}"
    if choice == "cat":
        k = draw(st.sampled_from([1, 2, 1024, 1025, 1100]))
        return f"{target} = torch.cat([{','.join([a] * k)}])"
    if choice == "reshape":
        k = draw(st.sampled_from([1, 32, 33]))
        return f"{target} = {a}.reshape({','.join(['-1'] + ['1'] * (k - 1))})"
    if choice == "index":
        item = draw(
            st.sampled_from(["0", ":", "None", "...", ":2**70", "-1", "[0, 0]", ",".join(["None"] * 33)])
        )
        return f"{target} = {a}[{item}]"
    if choice == "sum":
        return f"{target} = {a}.sum()"
    if choice == "backward":
        return f"{a}.sum().backward()"
    if choice == "retain":
        return f"{a}.retain_grad()"
    if choice == "clamp":
        return f"{target} = {a}.clamp(min={draw(numbers)!r})"
    return f"del {a}"


@st.composite
def sessions(draw: st.DrawFn) -> list[str]:
    names: list[str] = []
    out = []
    for _ in range(draw(st.integers(1, 8))):
        stmt = draw(statement(names))
        out.append(stmt)
        head = stmt.split(" = ", 1)[0]
        if " = " in stmt and head.isidentifier():
            names.append(head)
    return out


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
        )
    if isinstance(a, float) and isinstance(b, float) and a != a:
        return b != b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _same_entries(xs: tuple, ys: list) -> None:
    assert len(xs) == len(ys)
    for x, y in zip(xs, ys):
        assert type(x) is type(y)
        for f in fields(x):
            assert _same_value(getattr(x, f.name), getattr(y, f.name)), (x, f.name, y)


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    derandomize=True,  # the same sessions every CI run: a failure reproduces
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(sessions())
def test_every_accepted_console_session_round_trips(cells: list[str]) -> None:
    if not _started:
        _started.append(time.monotonic())
    if time.monotonic() - _started[0] > BUDGET_S:
        return  # the time budget is spent; the examples run so far stand
    s = Session(max_elements=1_000_000)
    console = Console(s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cell in cells:
            console.run(cell)  # refused cells change nothing; accepted ones must save
        data = ff.to_bytes(s.entries, s.view, max_elements=s.max_elements)
        entries, view = ff.loads(data, max_elements=s.max_elements)
        _same_entries(s.entries, entries)
        t = Session(max_elements=1_000_000)
        ff.load_into(t, entries, view)
    assert t.names(include_hidden=True) == s.names(include_hidden=True)
    for n, x in s.tensors().items():
        y = t.tensor(n)
        assert _same_value(x.detach().numpy(), y.detach().numpy()), n
        gx, gy = x._grad, y._grad
        assert (gx is None) == (gy is None), n
        if gx is not None:
            assert _same_value(gx.numpy(), gy.numpy()), n
    # ... and what was loaded saves again to the same log.
    _same_entries(t.entries, ff.loads(ff.to_bytes(t.entries, t.view, max_elements=t.max_elements))[0])
