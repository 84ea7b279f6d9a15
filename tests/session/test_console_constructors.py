"""torch.<constructor> in the console, read from the constructor catalogue: with two wrong
arguments the first error is fced62a's (the arguments the element count reads are checked first,
then unknown keywords, then the rest), and each message names the argument at fault."""

from __future__ import annotations

import pytest

from gradviz.session.console import Console
from gradviz.session.document import Session

CASES = [
    ('torch.full((10**7,), "a")', "RuntimeError: tensor would have 10,000,000 elements, more than this "
     "session's limit of 1,000,000; nothing was allocated"),
    ('torch.linspace("a", 1, 2.5)', "TypeError: linspace(): argument 'steps' must be int, not float"),
    ("torch.zeros(-1, foo=2)", "RuntimeError: Trying to create tensor with negative dimension -1: [-1]"),
    ("torch.randint(0, 10, (-1,), foo=1)", "TypeError: randint() got an unexpected keyword argument 'foo'"),
    ("torch.randint(0.5, 3, (-1,))", "RuntimeError: Trying to create tensor with negative dimension -1: [-1]"),
    ("torch.eye(2.5, -1)", "TypeError: eye(): argument 'n' must be int, not float"),
    ('torch.full(("a",), "b")', "TypeError: full(): argument 'size' must be tuple of ints, but found element "
     "of type str"),
    ('torch.arange("a", 1, 0)', "TypeError: arange(): argument 'start' must be Number, not str"),
    ("torch.arange(0, 1, 0)", "RuntimeError: step must be nonzero"),
    ("torch.zeros_like(3, foo=1)", "TypeError: zeros_like() got an unexpected keyword argument 'foo'"),
    ("torch.full_like(torch.ones(2))", "TypeError: full_like() missing required argument 'fill_value'"),
    ("torch.tensor()", "TypeError: tensor() missing required argument 'data'"),
    ("torch.eye(1, 2, 3)", "TypeError: eye() takes at most 2 positional arguments (3 given)"),
    # fced62a named 'n' and 'high' here, whichever of the two was wrong
    ("torch.eye(2, 2.5)", "TypeError: eye(): argument 'm' must be int, not float"),
    ("torch.randint(0.5, 3, (2,))", "TypeError: randint(): argument 'low' must be int, not float"),
]  # fmt: skip


@pytest.mark.parametrize(("source", "error"), CASES)
def test_constructor_errors(source: str, error: str) -> None:
    result = Console(Session(max_elements=10**6)).run(source)
    assert result.text == error + "\n"


def test_defaults_come_from_the_catalogue() -> None:
    c = Console(Session())
    assert c.run(
        "a = torch.arange(3)\nb = torch.arange(3, None, 1)\ne = torch.eye(2)\nf = torch.eye(2, None)"
    ).ok
    assert c.session.tensor("a").tolist() == c.session.tensor("b").tolist() == [0, 1, 2]
    assert c.session.tensor("e").tolist() == c.session.tensor("f").tolist()
