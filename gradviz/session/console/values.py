"""The values the console language computes with.

Only these objects ever reach the evaluator, and each exposes just what the console whitelists.
A tensor in an expression is a ``TensorValue``: its value is computed at once (to show it, and to
raise PyTorch's errors at the statement that causes them), and it is *recorded* in the session only
when it must be kept: assigned to a name, or the target of ``backward()``. So ``print(w*x)`` leaves
no trace, while ``y = w*x + b`` records a hidden ``w*x`` and the named ``y``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

import gradviz.engine as E
from gradviz.engine import Tensor

from .. import catalogue

if TYPE_CHECKING:
    from ..document import Session


class ConsoleError(Exception):
    """A construct the console refuses (imports, dunders, calls outside the whitelist ...)."""


class Context(Protocol):
    """What values need from the evaluator: the session, and where to note hidden tensors that
    were recorded along the way (garbage if nothing ends up depending on them)."""

    session: Session
    created: list[str]


def name_of_uid(session: Session, uid: int) -> str | None:
    return session.name_of_uid(uid)  # an index lookup: a scan of the names made cells quadratic


# --- tensors -----------------------------------------------------------------------------------------
class TensorValue:
    """A tensor in an expression. ``uid`` is set once it is in the session."""

    uid: int | None = None

    def tensor(self, ctx: Context) -> Tensor:
        return ctx.session.tensor(self.name(ctx))

    def name(self, ctx: Context) -> str:
        assert self.uid is not None
        name = name_of_uid(ctx.session, self.uid)
        if name is None:
            raise RuntimeError("this tensor is no longer in the session")
        return name

    def record(self, ctx: Context, name: str | None = None) -> str:
        """Put the tensor in the session (under ``name``, or hidden) and return its name."""
        if self.uid is not None:
            return self.name(ctx)
        name = self._record(ctx, name)
        if name.startswith("_"):
            ctx.created.append(name)
        self.uid = ctx.session.info(name).uid
        return name

    def _record(self, ctx: Context, name: str | None) -> str:
        raise NotImplementedError

    def depends_on(self, uid: int) -> bool:
        """Whether recording this value would read the session tensor ``uid``."""
        return self.uid == uid

    def shown(self, ctx: Context) -> Tensor:
        """What print() and the notebook show for it (a module's parameter shows as one)."""
        return self.tensor(ctx)


class Named(TensorValue):
    """A tensor already in the session (found by uid, so renames and replays don't lose it)."""

    def __init__(self, uid: int) -> None:
        self.uid = uid


class PendingLeaf(TensorValue):
    """A tensor made from values (a constructor, a gradient snapshot): recorded as a Leaf."""

    def __init__(self, tensor: Tensor, source: str = "") -> None:
        self._tensor = tensor
        self.source = source

    def tensor(self, ctx: Context) -> Tensor:
        return self._tensor if self.uid is None else super().tensor(ctx)

    def _record(self, ctx: Context, name: str | None) -> str:
        t = self._tensor
        return ctx.session.add_leaf(
            name,
            t.detach().numpy(),  # add_leaf copies it (once is enough: this can be 400 MB)
            requires_grad=t.requires_grad,
            source=self.source,
            hidden=name is None,
        )


class PendingOp(TensorValue):
    """The result of a catalogue op on other values: recorded as an Op entry."""

    def __init__(
        self,
        spec: catalogue.OpSpec,
        operands: list[Any],
        params: dict[str, Any],
        tensor: Tensor,
        scope: tuple[tuple[str, str, str], ...] = (),
    ) -> None:
        self.spec = spec
        self.operands = operands
        self.params = params
        self._tensor = tensor
        self.scope = scope  # the module calls and name scopes it was made in (groups.py)

    def tensor(self, ctx: Context) -> Tensor:
        return self._tensor if self.uid is None else super().tensor(ctx)

    def _record(self, ctx: Context, name: str | None) -> str:
        args = [a.record(ctx) if isinstance(a, TensorValue) else a for a in self.operands]
        return ctx.session.apply(
            self.spec.name, args, self.params, name, hidden=name is None, scope=self.scope
        )

    def depends_on(self, uid: int) -> bool:
        if self.uid is not None:
            return self.uid == uid
        return any(isinstance(a, TensorValue) and a.depends_on(uid) for a in self.operands)


class GradValue(PendingLeaf):
    """``w.grad``: shown as it is; used in a computation, it is a constant snapshot (a leaf), as
    PyTorch's ``.grad`` is a tensor without history. ``w.grad.zero_()`` zeroes ``w``'s gradient."""

    def __init__(self, tensor: Tensor, owner_uid: int, owner: str) -> None:
        super().__init__(tensor, f"{owner}.grad")
        self.owner_uid = owner_uid


# --- everything else ---------------------------------------------------------------------------------
class ObjectValue:
    """A console object with attributes and calls of its own (an ``nn`` module, an optimiser):
    each subclass answers only what it lists. ``holds()``: the session tensors it refers to,
    which the console keeps (hidden, if they lose their name) while it is bound to a name."""

    type_name = "object"

    def attribute(self, run: Any, attr: str) -> Any:
        raise AttributeError(f"'{self.type_name}' object has no attribute '{attr}'")

    def call(self, run: Any, args: list[Any], kwargs: dict[str, Any], node: Any) -> Any:
        raise TypeError(f"'{self.type_name}' object is not callable")

    def subscript(self, run: Any, idx: Any) -> Any:
        raise TypeError(f"'{self.type_name}' object is not subscriptable")

    def set_attribute(self, run: Any, attr: str, value: Any) -> None:
        raise ConsoleError(f"can't assign to {self.type_name}.{attr} in the console")

    def holds(self) -> list[int]:
        return []

    def iterate(self) -> list[Any]:
        """What ``for x in obj`` and ``list(obj)`` walk."""
        raise TypeError(f"'{self.type_name}' object is not iterable")

    def length(self) -> int:
        raise TypeError(f"object of type '{self.type_name}' has no len()")

    def type_text(self) -> str:
        """What ``type(obj)`` shows."""
        return f"<class '{self.type_name}'>"

    def completions(self) -> list[str]:
        """The attribute names ``attribute`` answers, for completion."""
        return []


class Namespace:
    """``torch``/``gradviz``, ``torch.nn`` and ``torch.nn.functional`` (also ``F``)."""

    def __init__(self, path: str, members: dict[str, Any], module: Any) -> None:
        self.path = path
        self.members = members
        self.module = module

    def __repr__(self) -> str:
        return f"<module '{self.path}'>"


class Function:
    """A callable the console offers: a constructor, a catalogue op, a builtin."""

    def __init__(self, name: str, call: Callable[..., Any], kind: str = "function") -> None:
        self.name = name
        self.call = call
        self.kind = kind

    def __repr__(self) -> str:
        return f"<built-in function {self.name}>"


class Method:
    """``x.exp`` before it is called."""

    def __init__(self, target: Any, name: str, call: Callable[..., Any]) -> None:
        self.target = target
        self.name = name
        self.call = call

    def __repr__(self) -> str:
        return f"<built-in method {self.name} of {type_name(self.target)} object>"


class NodeValue:
    """``y.grad_fn``: shown, with ``name()`` and ``next_functions``."""

    def __init__(self, node: Any) -> None:
        self.node = node

    def __repr__(self) -> str:
        return repr(self.node)


class GradMode:
    """``torch.no_grad()`` or ``torch.enable_grad()``, for a ``with`` block."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __repr__(self) -> str:
        return f"<torch.autograd.grad_mode.{'enable_grad' if self.enabled else 'no_grad'} object>"


class Lazy:
    """``zip(...)`` and ``enumerate(...)``: walked by ``for`` (or listed by ``list()``) one item
    at a time, so ``zip(range(10**9), xs)`` costs what ``xs`` costs."""

    def __init__(self, kind: str, parts: list[Any], start: int = 0) -> None:
        self.kind = kind
        self.parts = parts
        self.start = start

    def __repr__(self) -> str:
        return f"<{self.kind} object>"

    def walk(self, run: Any) -> Any:
        from .control import iterate

        its = [iterate(run, p) for p in self.parts]
        if self.kind == "enumerate":
            yield from enumerate(its[0], self.start)
        else:
            yield from zip(*its)


class Device:
    def __repr__(self) -> str:
        return "device(type='cpu')"

    def __str__(self) -> str:
        return "cpu"


class ReturnTypes:
    """``x.max(dim=0)``: (values, indices). ``values`` is the catalogue op's result; ``indices``
    a constant (integer tensors carry no gradient)."""

    def __init__(self, shown: Any, values: TensorValue, indices: TensorValue) -> None:
        self.shown = shown
        self.values = values
        self.indices = indices

    def items(self) -> tuple[TensorValue, TensorValue]:
        return (self.values, self.indices)


def plain(value: Any, ctx: Context) -> Any:
    """The Python object a value stands for, to print or show."""
    if isinstance(value, TensorValue):
        return value.shown(ctx)
    if isinstance(value, ReturnTypes):
        return value.shown
    if isinstance(value, NodeValue):
        return value.node
    if isinstance(value, list):
        return [plain(v, ctx) for v in value]
    if isinstance(value, tuple) and not isinstance(value, E.Size):
        return tuple(plain(v, ctx) for v in value)
    return value


def is_num(v: Any) -> bool:
    return isinstance(v, (bool, int, float))


def type_name(v: Any) -> str:
    """A value's type name as Python would print it."""
    if isinstance(v, TensorValue):
        return "Tensor"
    if isinstance(v, Namespace):
        return "module"
    if isinstance(v, (Function, Method)):
        return "builtin_function_or_method"
    if isinstance(v, NodeValue):
        return type(v.node).__name__
    if isinstance(v, E.dtype):
        return "dtype"
    if isinstance(v, ObjectValue):
        return v.type_name
    return type(v).__name__


def contains_tensor(value: Any) -> bool:
    stack = [value]  # a loop, not recursion: x.tolist() may hold a million lists
    while stack:
        v = stack.pop()
        if isinstance(v, (TensorValue, ReturnTypes)):
            return True
        if isinstance(v, (list, tuple)) and not isinstance(v, E.Size):
            stack.extend(v)
    return False


def snapshot(t: Tensor, source: str = "") -> PendingLeaf:
    """A constant copy of ``t`` (no history, no grad)."""
    return PendingLeaf(E.from_numpy(np.array(t.detach().numpy(), copy=True)), source)
