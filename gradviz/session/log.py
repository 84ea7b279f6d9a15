"""The entries of a session's op log. Each is plain data: names, numbers and numpy arrays."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)
class Leaf:
    """A tensor created from values: ``w = torch.tensor(4., requires_grad=True)``."""

    uid: int
    name: str
    value: np.ndarray
    requires_grad: bool = False
    source: str = ""  # how the user wrote it, e.g. "torch.randn(3, 2)", for display only

    kind = "leaf"


@dataclass(frozen=True, eq=False)
class Op:
    """``name = op(*args, **params)``; args are ("ref", name) or ("const", number)."""

    uid: int
    name: str
    op: str
    args: tuple[tuple[str, Any], ...]
    params: dict[str, Any] = field(default_factory=dict)
    hidden: bool = False  # an intermediate the user never named (the w*x inside w*x + b)

    kind = "op"

    def refs(self) -> list[str]:
        return [v for k, v in self.args if k == "ref"]


@dataclass(frozen=True, eq=False)
class Backward:
    target: str
    gradient: np.ndarray | None = None
    retain_graph: bool = False

    kind = "backward"


@dataclass(frozen=True, eq=False)
class ZeroGrad:
    """``x.grad.zero_()`` (set_to_none False) or ``x.grad = None``; names None means all."""

    names: tuple[str, ...] | None = None
    set_to_none: bool = True

    kind = "zero_grad"


@dataclass(frozen=True, eq=False)
class RetainGrad:
    name: str

    kind = "retain_grad"


@dataclass(frozen=True, eq=False)
class SetRequiresGrad:
    """``name.requires_grad_(flag)`` at this point of the log: it changes what later ops record,
    not what earlier ones did (unlike editing the leaf, which rewrites it from the start)."""

    name: str
    requires_grad: bool

    kind = "requires_grad"


@dataclass(frozen=True, eq=False)
class Rename:
    old: str
    new: str

    kind = "rename"


@dataclass(frozen=True, eq=False)
class Delete:
    name: str

    kind = "delete"


Entry = Leaf | Op | Backward | ZeroGrad | RetainGrad | SetRequiresGrad | Rename | Delete
ENTRY_TYPES: dict[str, type] = {
    t.kind: t for t in (Leaf, Op, Backward, ZeroGrad, RetainGrad, SetRequiresGrad, Rename, Delete)
}


def same_entry(a: Entry, b: Entry) -> bool:
    """Structural equality, arrays compared bit for bit."""
    if type(a) is not type(b):
        return False
    for name in a.__dataclass_fields__:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray)):
                return False
            if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
                return False
        elif not _same_value(x, y):
            return False
    return True


def _same_value(x: Any, y: Any) -> bool:
    """Equality for JSON-like values in which NaN equals NaN (a NaN constant is still the same
    entry after a save and load)."""
    if isinstance(x, float) and isinstance(y, float):
        return x == y or (x != x and y != y)
    if isinstance(x, (list, tuple)) and isinstance(y, (list, tuple)):
        return type(x) is type(y) and len(x) == len(y) and all(_same_value(a, b) for a, b in zip(x, y))
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(_same_value(x[k], y[k]) for k in x)
    return type(x) is type(y) and x == y


def describe(entry: Entry) -> str:
    """A one-line, user-facing summary, for undo labels and the history."""
    if isinstance(entry, Leaf):
        return f"create {entry.name}"
    if isinstance(entry, Op):
        return f"{entry.name} = {entry.op}(...)" if not entry.hidden else entry.op
    if isinstance(entry, Backward):
        return f"{entry.target}.backward()"
    if isinstance(entry, ZeroGrad):
        return "zero grads" if entry.names is None else f"zero grad of {', '.join(entry.names)}"
    if isinstance(entry, RetainGrad):
        return f"{entry.name}.retain_grad()"
    if isinstance(entry, SetRequiresGrad):
        return f"{entry.name}.requires_grad_({entry.requires_grad})"
    if isinstance(entry, Rename):
        return f"rename {entry.old} to {entry.new}"
    return f"delete {entry.name}"
