"""A cell of N statements costs O(N) work, not O(N²).

Work is counted, not timed: every Python and C function call made while the cell runs
(``sys.setprofile``), for a cell of N lines and one of 4N. Linear work gives a ratio near 4 (a
little less: fixed costs), quadratic work near 16. Each pattern exercises a different per-statement
path: new names, a chain through the same name (hide + hidden operands), rebinding that deletes,
``del``, and a backward through the whole chain.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest

from gradviz.session.console import Console
from gradviz.session.document import Session

N = 150  # and 4N: big enough for N² to dominate the fixed costs, small enough to stay fast

PATTERNS: dict[str, Callable[[int], str]] = {
    "new names": lambda n: "\n".join(f"x{i} = torch.tensor({i}.)" for i in range(n)),
    "chain": lambda n: (
        "y = torch.tensor(1., requires_grad=True)\n" + "y = y * 1.01 + 1\n" * (n - 2) + "y.backward()"
    ),
    "rebind": lambda n: "x = torch.ones(3)\n" * n,
    "del": lambda n: "".join(f"a{i} = torch.zeros(2)\ndel a{i}\n" for i in range(n // 2)),
    "one line": lambda n: "; ".join(f"z{i} = torch.tensor([{i}.]) + 1" for i in range(n)),
    "mixed": lambda n: "\n".join(
        f"w{i} = torch.tensor({i}., requires_grad=True)\nv = w{i} * 2 + v" if i else "v = torch.tensor(0.)"
        for i in range(n // 2)
    ),
}


def calls_to_run(source: str) -> int:
    console = Console(Session())
    count = 0

    def profile(frame: object, event: str, arg: object) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        result = console.run(source)
    finally:
        sys.setprofile(None)
    assert result.ok, result.text
    return count


@pytest.mark.parametrize("pattern", PATTERNS)
def test_work_grows_linearly_with_the_number_of_statements(pattern: str) -> None:
    make = PATTERNS[pattern]
    small, large = calls_to_run(make(N)), calls_to_run(make(4 * N))
    # 4.6: room for fixed costs and bookkeeping that grows like N log N, far below N²'s 16.
    assert large / small < 4.6, f"{pattern}: {small:,} calls for {N} lines, {large:,} for {4 * N}"


def test_the_counter_sees_quadratic_work() -> None:
    """The measure can fail: a deliberately quadratic cell (each line reads all earlier names) is
    flagged by the same bound."""

    def cell(n: int) -> str:
        return "\n".join(
            f"s{i} = torch.tensor([{', '.join(str(j) for j in range(i + 1))}.])" for i in range(n)
        )

    small, large = calls_to_run(cell(N // 3)), calls_to_run(cell(4 * (N // 3)))
    assert large / small > 4.6
