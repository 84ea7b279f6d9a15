"""The entries of a session's op log. Each is plain data: names, numbers and numpy arrays.

Each kind of entry is one frozen dataclass. Its fields say, in their metadata, what kind of
value each one holds (``json``: a tensor's name, a reference to one, an array, a flag...), so
that the file format reads and writes every entry the same way, field by field (codec.py);
what differs between kinds (how an entry reads in the history, which names it defines,
uses and removes) is a method of its class, not a switch elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import numpy as np

from .limits import MAX_OPERANDS


def _json(kind: str, array_key: str = "") -> dict[str, str]:
    """A field's metadata: the kind of value it holds (see codec.FIELD_CODECS) and, for an
    array, the letter its key in arrays.npz starts with."""
    return {"json": kind, "array_key": array_key}


@dataclass(frozen=True, eq=False)
class Entry:
    """One step of the log. ``kind`` is its name in a file; ``label`` how a message names an
    entry of this kind (its fields in braces, read from the raw file)."""

    kind: ClassVar[str] = ""
    label: ClassVar[str] = ""

    def describe(self) -> str:
        """A one-line, user-facing summary, for undo labels and the history."""
        raise NotImplementedError

    # What the entry does to the names of the log, for checks that run before a replay.
    def defines(self) -> str | None:
        """The name this entry gives to a tensor (a new one, or one renamed)."""
        return None

    def removes(self) -> str | None:
        """The name this entry takes away (deleted, or renamed from)."""
        return None

    def defines_all(self) -> tuple[str, ...]:
        """Every name this entry gives a tensor (a Loop gives several)."""
        made = self.defines()
        return () if made is None else (made,)

    def removes_all(self) -> tuple[str, ...]:
        """Every name this entry takes away (a Loop takes several)."""
        gone = self.removes()
        return () if gone is None else (gone,)

    def last_uid(self) -> int | None:
        """The highest tensor uid this entry uses up (a Loop makes many tensors)."""
        return self.tensor_uid()

    def tensor_uid(self) -> int | None:
        """The uid of the tensor this entry makes (leaves and ops)."""
        return None

    def pins(self) -> tuple[str, ...]:
        """The tensors this entry uses for something beyond them (an op's operands, backward's
        start): compacting the log keeps them even once they are deleted."""
        return ()

    def concerns(self) -> str | None:
        """The one tensor this entry is about and nothing else: it leaves the log with it."""
        return None


PARAMETER_SUFFIXES = (").weight", ").bias")  # the parameters the console's modules have


def parameter_source(module_source: str, name: str) -> str:
    """The source a module's parameter is recorded with: ``nn.Linear(2, 4).weight``."""
    return f"{module_source}.{name}"


@dataclass(frozen=True, eq=False)
class Leaf(Entry):
    """A tensor created from values: ``w = torch.tensor(4., requires_grad=True)``."""

    uid: int = field(metadata=_json("uid"))
    name: str = field(metadata=_json("name"))
    value: np.ndarray = field(metadata=_json("array", "e"))
    requires_grad: bool = field(default=False, metadata=_json("flag"))
    source: str = field(
        default="", metadata=_json("source")
    )  # how the user wrote it, e.g. "torch.randn(3, 2)", for display only

    kind = "leaf"
    label = "leaf '{name}'"

    def describe(self) -> str:
        return f"create {self.name}"

    @property
    def is_parameter(self) -> bool:
        """A module's parameter: the console records one with its module's source and its
        own name (``nn.Linear(2, 4).weight``; see :func:`parameter_source`)."""
        return self.source.endswith(PARAMETER_SUFFIXES)

    def defines(self) -> str | None:
        return self.name

    def tensor_uid(self) -> int | None:
        return self.uid


@dataclass(frozen=True, eq=False)
class Op(Entry):
    """``name = op(*args, **params)``; args are ("ref", name) or ("const", number)."""

    uid: int = field(metadata=_json("uid"))
    name: str = field(metadata=_json("name"))
    op: str = field(metadata=_json("op"))
    args: tuple[tuple[str, Any], ...] = field(metadata=_json("args"))
    params: dict[str, Any] = field(default_factory=dict, metadata=_json("params"))
    hidden: bool = field(
        default=False, metadata=_json("flag")
    )  # an intermediate the user never named (the w*x inside w*x + b)
    # The module calls and name scopes it was made in, outermost first, each (name, class name
    # or "" for a name scope, call key): ("model", "Sequential", "7.0"), ("model.0", "Linear",
    # "7.1"). Recorded, not recomputed, as a replay runs the op alone (see engine.scopes).
    scope: tuple[tuple[str, str, str], ...] = field(default=(), metadata=_json("scope"))

    kind = "op"
    label = "op '{op}'"

    def refs(self) -> list[str]:
        return [v for k, v in self.args if k == "ref"]

    def describe(self) -> str:
        return f"{self.name} = {self.op}(...)" if not self.hidden else self.op

    def defines(self) -> str | None:
        return self.name

    def pins(self) -> tuple[str, ...]:
        return tuple(self.refs())

    def tensor_uid(self) -> int | None:
        return self.uid


@dataclass(frozen=True, eq=False)
class Backward(Entry):
    target: str = field(metadata=_json("ref"))
    gradient: np.ndarray | None = field(default=None, metadata=_json("array?", "g"))
    retain_graph: bool = field(default=False, metadata=_json("flag"))

    kind = "backward"
    label = "backward of '{target}'"

    def describe(self) -> str:
        return f"{self.target}.backward()"

    def pins(self) -> tuple[str, ...]:
        return (self.target,)


@dataclass(frozen=True, eq=False)
class ZeroGrad(Entry):
    """``x.grad.zero_()`` (set_to_none False) or ``x.grad = None``; names None means all."""

    names: tuple[str, ...] | None = field(default=None, metadata=_json("refs?"))
    set_to_none: bool = field(default=True, metadata=_json("flag"))

    kind = "zero_grad"
    label = "zero_grad"

    def describe(self) -> str:
        return "zero grads" if self.names is None else f"zero grad of {', '.join(self.names)}"

    def pins(self) -> tuple[str, ...]:
        return self.names if self.names is not None and len(self.names) > 1 else ()

    def concerns(self) -> str | None:
        return self.names[0] if self.names is not None and len(self.names) == 1 else None


@dataclass(frozen=True, eq=False)
class WriteInPlace(Entry):
    """``w -= lr * w.grad`` under ``torch.no_grad()`` (or ``row += 1`` on a view): the tensor's
    values overwritten at this point of the log, as PyTorch's in-place ops do. Its gradient,
    requires_grad and history stay; what was computed from it before keeps the old values."""

    name: str = field(metadata=_json("ref"))
    value: np.ndarray = field(metadata=_json("array", "w"))

    kind = "write"
    label = "write to '{name}' in place"

    def describe(self) -> str:
        return f"write {self.name} in place"

    def pins(self) -> tuple[str, ...]:
        return (self.name,)


@dataclass(frozen=True, eq=False)
class RetainGrad(Entry):
    name: str = field(metadata=_json("ref"))

    kind = "retain_grad"
    label = "retain_grad of '{name}'"

    def describe(self) -> str:
        return f"{self.name}.retain_grad()"

    def concerns(self) -> str | None:
        return self.name


@dataclass(frozen=True, eq=False)
class SetRequiresGrad(Entry):
    """``name.requires_grad_(flag)`` at this point of the log: it changes what later ops record,
    not what earlier ones did (unlike editing the leaf, which rewrites it from the start)."""

    name: str = field(metadata=_json("ref"))
    requires_grad: bool = field(metadata=_json("flag"))

    kind = "requires_grad"
    label = "requires_grad of '{name}'"

    def describe(self) -> str:
        return f"{self.name}.requires_grad_({self.requires_grad})"

    def concerns(self) -> str | None:
        return self.name


@dataclass(frozen=True, eq=False)
class Rename(Entry):
    old: str = field(metadata=_json("ref"))
    new: str = field(metadata=_json("new_name"))

    kind = "rename"
    label = "rename '{old}'"

    def describe(self) -> str:
        return f"rename {self.old} to {self.new}"

    def defines(self) -> str | None:
        return self.new

    def removes(self) -> str | None:
        return self.old

    def concerns(self) -> str | None:
        return self.old


@dataclass(frozen=True, eq=False)
class Delete(Entry):
    name: str = field(metadata=_json("ref"))

    kind = "delete"
    label = "delete of '{name}'"

    def describe(self) -> str:
        return f"delete {self.name}"

    def removes(self) -> str | None:
        return self.name

    def concerns(self) -> str | None:
        return self.name


@dataclass(frozen=True, eq=False)
class Loop(Entry):
    """A console ``for`` loop as one step: its source, run again on replay (console.loop_entry)
    rather than thousands of unrolled entries. What replay needs besides the log before it is
    here: the engine's RNG state before the loop, the plain console values and functions the
    body reads, and the uids its tensors took; ``result`` (a sha256, hex) proves the replay
    made the same tensors."""

    source: str = field(metadata=_json("source"))  # the whole for statement, as typed
    iterations: int = field(metadata=_json("count"))  # console steps it ran (iterations and calls)
    uids: tuple[int, int] = field(metadata=_json("uid_range"))  # [first, next) uids its tensors took
    rng: np.ndarray = field(metadata=_json("array", "q"))  # engine RNG state before it (uint8)
    inputs: dict[str, Any] = field(default_factory=dict, metadata=_json("json"))
    functions: tuple[str, ...] = field(default=(), metadata=_json("sources"))  # def/lambda it calls
    reads: tuple[str, ...] = field(default=(), metadata=_json("refs"))  # session tensors it reads
    defines_: tuple[str, ...] = field(default=(), metadata=_json("names"))  # names it leaves, new
    removes_: tuple[str, ...] = field(default=(), metadata=_json("refs"))  # names it took away
    result: str = field(default="", metadata=_json("digest"))

    kind = "loop"
    label = "loop"

    def describe(self) -> str:
        first = self.source.strip().splitlines()[0] if self.source.strip() else "for"
        return f"{first.rstrip(':').strip()} ({self.iterations:,} steps)"

    def defines_all(self) -> tuple[str, ...]:
        return self.defines_

    def removes_all(self) -> tuple[str, ...]:
        return self.removes_

    def pins(self) -> tuple[str, ...]:
        # what it reads, and what it takes away (a replay of it meets them again)
        return self.reads + tuple(n for n in self.removes_ if n not in self.reads)

    def last_uid(self) -> int | None:
        return self.uids[1] - 1 if self.uids[1] > self.uids[0] else None


#: Operands an op may leave out, at the end (PyTorch's optional tensor arguments). One left out
#: is not stored: ``F.linear(x, w)`` is an Op of two operands, never three with a None, so a
#: file holds no placeholder for it.
def operand_counts(spec: Any) -> tuple[int, int]:
    """How many operands an Op of the catalogue's ``spec`` holds: (fewest, most)."""
    optional = len(spec.optional_operands)
    if spec.arity is not None:
        return spec.arity, spec.arity
    if optional:
        return len(spec.operand_names) - optional, len(spec.operand_names)
    return 1, MAX_OPERANDS


ENTRY_TYPES: dict[str, type[Entry]] = {
    t.kind: t
    for t in (
        Leaf, Op, Backward, ZeroGrad, RetainGrad, SetRequiresGrad, Rename, Delete, WriteInPlace, Loop
    )
}  # fmt: skip


def live_names(entries: Iterable[Entry]) -> set[str]:
    """The names alive after ``entries``."""
    live: set[str] = set()
    for e in entries:
        live.difference_update(e.removes_all())
        live.update(e.defines_all())
    return live


def same_entry(a: Entry, b: Entry) -> bool:
    """Structural equality, arrays compared bit for bit."""
    if type(a) is not type(b):
        return False
    for f in fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
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
    return entry.describe()
