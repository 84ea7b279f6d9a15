"""The one expression printer: parentheses exactly where Python's precedence needs them."""

from __future__ import annotations

from gradviz.graph.expression import ATOM, atom, binary, call, infix, negate


def test_parentheses_only_where_precedence_needs_them() -> None:
    wx = infix("mul", atom("w"), atom("x"))
    assert infix("add", wx, atom("b")) == ("w * x + b", 1)
    y = infix("add", atom("w"), atom("b"))
    assert infix("mul", y, atom("x"))[0] == "(w + b) * x"
    assert infix("sub", atom("a"), infix("sub", atom("b"), atom("c")))[0] == "a - (b - c)"
    assert infix("add", atom("a"), infix("add", atom("b"), atom("c")))[0] == "a + b + c"
    assert infix("matmul", atom("W"), atom("x")) == ("W @ x", 2)


def test_negation_calls_and_free_operators() -> None:
    assert negate(atom("x")) == ("-x", 3)
    assert negate(infix("add", atom("a"), atom("b")))[0] == "-(a + b)"
    assert call("relu", ["h"]) == ("relu(h)", ATOM)
    assert binary("<", 1, ("a + b", 0), atom("c"))[0] == "(a + b) < c"
