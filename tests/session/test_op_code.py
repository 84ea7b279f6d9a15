"""session/op_code.py: an op written as PyTorch code means, under PyTorch, what the op does, with
parentheses where Python's precedence needs them (and only there, for the common cases)."""

from __future__ import annotations

import itertools

import pytest
import torch

from gradviz.session import catalogue
from gradviz.session.op_code import index_code, name_expr, number_expr, op_code, op_expr

A, B, C = torch.tensor([1.5, -2.0, 3.0]), torch.tensor([0.5, 4.0, -1.0]), torch.tensor([2.0, 3.0, 5.0])
NS = {"a": A, "b": B, "c": C, "torch": torch, "F": torch.nn.functional}
BINARY = {
    "add": torch.add,
    "sub": torch.sub,
    "mul": torch.mul,
    "div": torch.div,
    "pow": torch.pow,
    "remainder": torch.remainder,
    "floor_divide": torch.floor_divide,
}


def expr(tree):
    """A nested (op, operand, operand) tree as code and as torch computes it."""
    if isinstance(tree, str):
        return name_expr(tree), NS[tree]
    if isinstance(tree, float):
        return number_expr(tree), tree
    op, *args = tree
    parts = [expr(a) for a in args]
    value = torch.neg(parts[0][1]) if op == "neg" else BINARY[op](*(p[1] for p in parts))
    return op_expr(catalogue.get(op), [p[0] for p in parts], {}), value


@pytest.mark.parametrize(("outer", "inner"), list(itertools.product(BINARY, [*BINARY, "neg"])))
def test_nested_operators_mean_what_the_ops_do(outer: str, inner: str) -> None:
    sub = ("neg", "b") if inner == "neg" else (inner, "b", "c")
    for tree in ((outer, sub, "a"), (outer, "a", sub), ("neg", (outer, "a", sub))):
        (code, _), value = expr(tree)
        got = eval(code, dict(NS))
        torch.testing.assert_close(got, value, equal_nan=True, msg=code)


def test_parentheses_only_where_needed() -> None:
    def code(tree):
        return expr(tree)[0][0]

    assert code(("add", ("mul", "a", "b"), "c")) == "a * b + c"
    assert code(("sub", "a", ("add", "b", "c"))) == "a - (b + c)"
    assert code(("add", ("add", "a", "b"), "c")) == "a + b + c"
    assert code(("add", "a", ("add", "b", "c"))) == "a + (b + c)"  # another graph, other rounding
    assert code(("pow", ("neg", "a"), 2.0)) == "(-a) ** 2.0"
    assert code(("neg", ("pow", "a", 2.0))) == "-a ** 2.0"
    assert code(("remainder", "a", ("mul", "b", "c"))) == "a % (b * c)"
    assert code(("mul", "a", -1.0)) == "a * -1.0"


def test_calls_follow_each_ops_declared_syntax() -> None:
    get = catalogue.get
    assert op_code(get("sum"), ["y"], {"dim": [0], "keepdim": False}) == "y.sum(dim=0)"
    assert op_code(get("exp"), ["2"], {}) == "torch.exp(2)"  # a number has no methods to call
    assert op_code(get("linear"), ["x", "w", "b"], {}) == "F.linear(x, w, b)"
    assert op_code(get("cat"), ["a", "b"], {"dim": 0}) == "torch.cat([a, b])"
    x = [name_expr("x")]
    assert op_expr(get("unsqueeze"), x, {"dim": 0}, dims=True)[0] == "x.unsqueeze(dim=0)"  # torch needs it
    assert op_expr(get("cat"), [name_expr("a"), name_expr("b")], {}, dims=True)[0] == "torch.cat([a, b])"
    assert op_code(get("flip"), ["x"], {"dims": [0]}) == "x.flip(dims=(0,))"
    assert op_code(get("chunk"), ["x"], {"chunks": 2, "piece": 1}) == "x.chunk(chunks=2)[1]"
    assert op_code(get("max"), ["x"], {"dim": 0}) == "x.max(dim=0).values"
    assert op_code(get("T"), ["w"], {}) == "w.T"
    items = [0, {"slice": [1, None, None]}, None, "...", {"list": [0, 2]}, {"operand": 1}]
    assert index_code(items, ["x", "m"]) == "0, 1:, None, ..., [0, 2], m"
    assert op_code(get("index"), ["x", "m"], {"index": items}, index_code(items, ["x", "m"])) == (
        "x[0, 1:, None, ..., [0, 2], m]"
    )
