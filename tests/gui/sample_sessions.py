"""Sessions the GUI tests share."""

from __future__ import annotations

from gradviz.session.document import Session


def seed(backward: bool = True) -> Session:
    """The seed notebook's y = w*x + b, after y.backward() unless told otherwise."""
    s = Session()
    s.add_leaf("x", 3.0)
    s.add_leaf("w", 4.0, requires_grad=True)
    s.add_leaf("b", 5.0, requires_grad=True)
    s.apply("add", [s.apply("mul", ["w", "x"], hidden=True), "b"], name="y")
    if backward:
        s.backward("y")
    return s
