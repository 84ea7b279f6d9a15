"""Plain Python values in the console stay within limits, checked before they are made.

Each class is generated in bulk: format specs with huge widths and precisions, big exponents and
products, round() with huge negative digits, numpy comparisons on random shapes, tolist() of
random shapes, strings and lists that double. Every case is either refused with a message that
names the limit and the figure, having allocated nothing big (tracemalloc's peak), or computed
exactly as plain Python or numpy computes it.
"""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradviz as torch
from gradviz.session.console import Console, ConsoleResult
from gradviz.session.console import limits as L  # noqa: N812
from gradviz.session.document import Session

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PEAK = 32 * 2**20  # a refusal allocates far less than this; every refused case would need more


def run(console: Console, source: str) -> tuple[ConsoleResult, int]:
    """Run ``source``; also return the peak of memory allocated while it ran."""
    tracemalloc.start()
    try:
        result = console.run(source)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def refused(result: ConsoleResult, peak: int, *words: str) -> None:
    assert not result.ok, f"accepted: {result.output[:200]!r}"
    for w in words:
        assert w in result.error, result.error
    assert peak < PEAK, f"{peak:,} bytes allocated before refusing: {result.error}"


@pytest.fixture(scope="module")
def console() -> Console:
    return Console(Session())


# --- format specs --------------------------------------------------------------------------------
def _number(small: int) -> st.SearchStrategy[str | None]:
    return st.one_of(
        st.none(),
        st.integers(0, small).map(str),
        st.integers(6, 40).map(lambda k: str(10**k + 7)),  # huge
        st.integers(L.MAX_FORMAT_WIDTH - 2, L.MAX_FORMAT_WIDTH + 2).map(str),  # at the edge
    )


SPECS = st.builds(
    lambda fill, align, sign, alt, zero, width, grouping, precision, kind: "".join(
        [
            (fill or "") + align if align else "",
            sign,
            alt,
            zero,
            width or "",
            grouping,
            "." + precision if precision is not None else "",
            kind,
        ]
    ),
    st.sampled_from(["", "*", "0", "x", " ", "{", "9"]),
    st.sampled_from(["", "<", ">", "^", "="]),
    st.sampled_from(["", "+", "-", " "]),
    st.sampled_from(["", "#"]),
    st.sampled_from(["", "0"]),
    _number(60),
    st.sampled_from(["", ",", "_"]),
    _number(30),
    st.sampled_from(["", "d", "f", "e", "g", "%", "x", "s", "n", "b", "E", "G", "o", "c"]),
)
VALUES = st.one_of(
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.booleans(),
)


@SETTINGS
@given(value=VALUES, spec=SPECS)
def test_format_specs_are_bounded_or_exact(console: Console, value: object, spec: str) -> None:
    literal = f"float('{value}')" if isinstance(value, float) and not math.isfinite(value) else repr(value)
    result, peak = run(console, f"v = {literal}\nspec = {spec!r}\nf'{{v:{{spec}}}}'")
    m = L._SPEC.fullmatch(spec)
    assert m is not None  # the generator only makes specs of the standard grammar
    width, precision = int(m.group("width") or 0), int(m.group("precision") or 0)
    if width > L.MAX_FORMAT_WIDTH:
        refused(result, peak, "width", f"{L.MAX_FORMAT_WIDTH:,}", "nothing was formatted")
        return
    if precision > L.MAX_FORMAT_PRECISION:
        refused(result, peak, "precision", f"{L.MAX_FORMAT_PRECISION:,}", "nothing was formatted")
        return
    try:
        expected = format(value, spec)
    except (ValueError, TypeError, OverflowError) as e:
        assert (result.error_type, result.error) == (type(e).__name__, str(e))
        return
    assert result.ok, result.text
    assert result.result == repr(expected)


@pytest.mark.parametrize(
    "source, words",
    [
        ('f"{1:>1000000000}"', ["width 1,000,000,000", "limit of 100,000"]),
        ('f"{1.0:.100000000f}"', ["precision 100,000,000", "limit of 10,000"]),
        ('w = 10**9\nf"{1:{w}}"', ["width 1,000,000,000"]),
        ('f"{1:0{10**50}}"', ["width", "51-digit number"]),
        ("f\"{'a':x<{10**8}}\"", ["width 100,000,000"]),
    ],
)
def test_format_spec_examples_are_refused(console: Console, source: str, words: list[str]) -> None:
    refused(*run(console, source), *words)


def test_an_f_string_of_many_wide_parts_is_bounded(console: Console) -> None:
    parts = "{1:>99999}" * 120  # each part allowed; together 12 million characters
    refused(*run(console, f'f"{parts}"'), "f-string", f"{L.MAX_STRING:,}")
    result, _ = run(console, 'len(f"{1:>99999}{2:>99999}")')
    assert result.result == "199998"


# --- integers ------------------------------------------------------------------------------------
@SETTINGS
@given(a=st.integers(-(10**6), 10**6), b=st.one_of(st.integers(0, 200), st.integers(0, 10**14)))
def test_big_exponents_are_refused_or_exact(console: Console, a: int, b: int) -> None:
    result, peak = run(console, f"r = ({a}) ** {b}\nr % 1000003")
    bits = b * math.log2(abs(a)) if abs(a) > 1 else 0
    if bits > L.MAX_INT_BITS + 1:
        refused(result, peak, "too large", f"{L.MAX_INT_BITS:,}")
        assert result.error_type == "OverflowError"
    elif bits < L.MAX_INT_BITS - 1:
        assert result.ok, result.text
        assert result.result == str(pow(a, b, 1000003))


@SETTINGS
@given(k1=st.integers(0, 99_000), k2=st.integers(0, 99_000), op=st.sampled_from(["*", "+", "-"]))
def test_products_and_sums_of_big_ints_are_refused_or_exact(
    console: Console, k1: int, k2: int, op: str
) -> None:
    result, peak = run(console, f"a = 3 ** {k1 // 2}\nb = 2 ** {k2}\nr = a {op} b\nr % 1000003")
    a, b = 3 ** (k1 // 2), 2**k2
    bits = {"*": a.bit_length() + b.bit_length(), "+": max(a.bit_length(), b.bit_length()) + 1}
    if bits.get(op, bits["+"]) > L.MAX_INT_BITS:
        refused(result, peak, "too large", "bits")
    else:
        assert result.ok, result.text
        assert result.result == str({"*": a * b, "+": a + b, "-": a - b}[op] % 1000003)


@pytest.mark.parametrize("source", ["10**10**10", "2 ** 100001", "(-7) ** 10**30", "x = 2**60000\nx * x"])
def test_big_int_examples_are_refused(console: Console, source: str) -> None:
    result, peak = run(console, source)
    refused(result, peak, "too large for the console", "bits", "nothing was computed")


@SETTINGS
@given(
    x=st.integers(-(10**40), 10**40), ndigits=st.one_of(st.integers(-60, 5), st.integers(-(10**18), 10**18))
)
def test_round_of_ints_never_builds_huge_powers(console: Console, x: int, ndigits: int) -> None:
    result, peak = run(console, f"round({x}, {ndigits})")
    assert result.ok, result.text
    # The same value: for |x| < 10**40, every ndigits below -41 rounds to 0, as -400 does.
    assert result.result == repr(round(x, max(ndigits, -400)))
    assert peak < PEAK


def test_round_examples(console: Console) -> None:
    for source, shown in [("round(1, -10**9)", "0"), ("round(15, -1)", "20"), ("round(25, -1)", "20"),
                          ("round(-5, -1)", "0"), ("round(5 * 10**50, -51)", "0"), ("round(6 * 10**50, -51)",
                          repr(round(6 * 10**50, -51))), ("round(2.675, 2)", repr(round(2.675, 2)))]:  # fmt: skip
        result, peak = run(console, source)
        assert result.result == shown, (source, result.text)
        assert peak < PEAK


# --- numpy ---------------------------------------------------------------------------------------
SHAPES = st.lists(st.sampled_from([1, 2, 3, 700, 3000]), min_size=1, max_size=3)


@SETTINGS
@given(sa=SHAPES, sb=SHAPES, op=st.sampled_from(["==", "<", ">=", "!="]))
def test_numpy_comparisons_broadcast_within_the_limit(sa: list[int], sb: list[int], op: str) -> None:
    session = Session(max_elements=2_000_000)
    console = Console(session)
    na, nb = math.prod(sa), math.prod(sb)
    if max(na, nb) > session.max_elements:
        return
    setup = (
        f"a = torch.arange({na}).reshape({sa}).numpy()\n"
        f"b = (torch.arange({nb}).reshape({sb}) * 3 - 5).numpy()\n"
    )
    assert console.run(setup).ok
    result, peak = run(console, f"a {op} b")
    a, b = np.arange(na).reshape(sa), np.arange(nb).reshape(sb) * 3 - 5
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError as e:
        assert (result.error_type, result.error) == ("ValueError", str(e))
        return
    if math.prod(shape) > session.max_elements:
        refused(
            result,
            peak,
            f"{math.prod(shape):,} elements",
            f"{session.max_elements:,}",
            "nothing was allocated",
        )
    else:
        assert result.ok, result.text
        expected = {"==": a == b, "<": a < b, ">=": a >= b, "!=": a != b}[op]
        assert result.result == repr(expected)


def test_the_issues_numpy_example_is_refused() -> None:
    console = Console(Session())
    assert console.run("x = torch.ones(20000)\na = x.numpy()\nc = x.reshape(-1, 1).numpy()").ok
    refused(*run(console, "b = c < a"), "400,000,000 elements", "shape (20000, 20000)", "limit")


def test_numpy_copies_count_against_the_memory_budget() -> None:
    session = Session(memory_budget=40 * 2**20)
    console = Console(session)
    assert console.run("x = torch.zeros(6_000_000)\ny = torch.zeros(1000)").ok  # 24 MB of the 40
    result, peak = run(console, "a = x.numpy()")  # a copy: 24 MB more
    assert not result.ok and result.error_type == "MemoryError", result.text
    assert "x.numpy() would need" in result.error and "memory budget" in result.error
    assert peak < PEAK
    assert console.run("a = y.numpy()").ok


# --- lists and strings ---------------------------------------------------------------------------
@SETTINGS
@given(shape=st.lists(st.sampled_from([0, 1, 2, 5, 300, 2000, 10**6]), min_size=1, max_size=3))
def test_tolist_is_refused_or_exact(shape: list[int]) -> None:
    session = Session(max_elements=4_000_000)
    console = Console(session)
    if math.prod(shape) > session.max_elements:
        return
    assert console.run(f"t = torch.arange({math.prod(shape)}.).reshape({shape})").ok, shape
    result, peak = run(console, "l = t.tolist()\nlen(l)")
    items = L.tolist_items(tuple(shape))
    if items > L.MAX_LIST_ITEMS:
        refused(result, peak, "t.tolist()", f"{items:,} Python values", f"{L.MAX_LIST_ITEMS:,}")
    else:
        assert result.ok, result.text
        assert console.variables["l"] == np.arange(float(math.prod(shape))).reshape(shape).tolist()


def test_list_limit_follows_the_sessions_element_limit() -> None:
    console = Console(Session(max_elements=1000))
    refused(*run(console, "l = torch.zeros(500, 2).tolist()"), "1,500 Python values", "limit of 1,000")
    assert console.run("l = torch.zeros(1, 999).tolist()").ok


@pytest.mark.parametrize("base", ["[1.0]", "(1, 'a')", "[[], ()]"])
def test_lists_that_nest_themselves_are_bounded(base: str) -> None:
    console = Console(Session())
    result, peak = run(console, f"l = {base}\n" + "l = [l, l, l]\n" * 30)
    refused(result, peak, "this list would hold", f"{L.MAX_LIST_ITEMS:,}")
    assert console.run(f"l = {base}\n" + "l = [l, l, l]\n" * 5 + "len(str(l))").ok


def test_strings_that_double_are_bounded(console: Console) -> None:
    result, peak = run(console, "s = 'ab'\n" + "s = s + s\n" * 40)
    refused(result, peak, "string of 16,777,216 characters", f"{L.MAX_STRING:,}")
    refused(*run(console, "s = 'a'\n" + "s = s + s\n" * 22 + "print(s, s, s)"), "output")
    refused(
        *run(console, "s = 'a'\n" + "s = s + s\n" * 21 + "l = list(s + s + s)"), "characters of this string"
    )
    refused(
        *run(console, "s = 'a'\n" + "s = s + s\n" * 21 + "print('x', 'y', 'z', sep=s + s + s + s)"), "output"
    )


def test_showing_a_huge_value_is_refused() -> None:
    console = Console(Session())
    assert console.run("s = 'a'\n" + "s = s + s\n" * 20 + "l = [s, s, s, s, s, s, s, s, s, s]").ok
    for source in ["l", "print(l)", "str(l)", "repr(l)", "f'{l}'", "f'{l!r}'"]:
        result, peak = run(console, source)
        assert not result.ok, source
        assert "limit of 10,000,000" in result.error and "characters" in result.error, result.error
        assert peak < PEAK, source
    assert console.run("t = torch.ones(6, 6, 6, 6, 6, 6, 6, 6)").ok  # its repr: 11 million characters
    refused(*run(console, "t"), "characters")


# --- the bounds are upper bounds ------------------------------------------------------------------
LEAVES = st.one_of(
    st.integers(-(10**200), 10**200),
    st.floats(),
    st.text(max_size=30),
    st.booleans(),
    st.none(),
)
NESTED = st.recursive(
    LEAVES, lambda inner: st.one_of(st.lists(inner, max_size=5), st.tuples(inner, inner)), max_leaves=40
)


@SETTINGS
@given(value=NESTED)
def test_measured_text_is_never_below_the_real_text(value: object) -> None:
    size = L.Measure().of(value)
    assert len(repr(value)) <= size.chars
    assert len(str(value)) <= size.chars
    assert len(ascii(value)) <= 10 * size.chars


@SETTINGS
@given(
    shape=st.lists(st.integers(0, 12), min_size=0, max_size=5),
    dtype=st.sampled_from(["float32", "int64", "bool"]),
)
def test_tensor_and_array_text_bound_is_an_upper_bound(shape: list[int], dtype: str) -> None:
    if math.prod(shape) > 20_000:
        return
    t = torch.randn(*shape).mul(1e6).to(getattr(torch, dtype)) if shape else torch.tensor(-3.25e-7)
    t = t.requires_grad_(True) if dtype == "float32" else t
    assert len(repr(t)) <= L.Measure().of(t).chars
    a = t.detach().numpy()
    assert len(repr(a)) <= L.Measure().of(a).chars
