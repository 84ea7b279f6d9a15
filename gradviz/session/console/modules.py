"""``torch.nn`` modules in the console: ``nn.Linear``, ``nn.Sequential``, activations and losses.

A module is made by gradviz's own ``nn`` (so a seed gives torch's initial numbers, and its repr
and argument errors are torch's), and then only its structure is kept: its parameters become
session leaves (``requires_grad=True``, recorded with their initial values) once it is bound to
a name, named after it (``model.weight`` is the session's ``model_weight``, ``model[0].bias``
``model_0_bias``), and calling it records its ops (``linear``, ``tanh``, ``mse_loss`` ...). So
everything a module does is in the log, where undo, replay and save reach it; the module itself
is a plain console value that refers to its parameters by uid.

``to_record()``/``from_record()`` write a module as plain data naming its parameters and make it
again from that (``records``), so a log entry can hold one.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

import gradviz.engine as E
import gradviz.nn as gnn
from gradviz.engine import Tensor

from ..log import Leaf, parameter_source
from .binding import make_op
from .groups import module_call
from .records import RECORD_KINDS, register_record_kind
from .values import (
    ConsoleError,
    Function,
    Method,
    Named,
    ObjectValue,
    PendingLeaf,
    TensorValue,
    plain,
    type_name,
)

if TYPE_CHECKING:
    from .core import Console
    from .evaluate import Run

ACTIVATIONS = {"Tanh": "tanh", "Sigmoid": "sigmoid", "ReLU": "relu"}  # module -> catalogue op
LOSSES = {
    "MSELoss": "mse_loss",
    "L1Loss": "l1_loss",
    "BCELoss": "binary_cross_entropy",
    "BCEWithLogitsLoss": "binary_cross_entropy_with_logits",
    "CrossEntropyLoss": "cross_entropy",
}
KINDS = ("Linear", "Sequential", "Identity", *ACTIVATIONS, *LOSSES)  # what nn offers, in this order
_METHODS = ("parameters", "named_parameters", "zero_grad", "forward", "train", "eval")


class ParamValue(TensorValue):
    """``model.weight``: the session tensor of one of a module's parameters, shown as torch
    shows a ``Parameter`` (``Parameter containing:``)."""

    def __init__(self, slot: TensorValue) -> None:
        self.slot = slot

    @property  # type: ignore[override]
    def uid(self) -> int | None:
        return self.slot.uid

    def tensor(self, ctx: Any) -> Tensor:
        return self.slot.tensor(ctx)

    def record(self, ctx: Any, name: str | None = None) -> str:
        return self.slot.record(ctx, name)

    def shown(self, ctx: Any) -> Tensor:
        return gnn.Parameter(self.tensor(ctx), requires_grad=self.tensor(ctx).requires_grad)


class ModuleValue(ObjectValue):
    """One module. ``slots``: its own parameters by name (a ``PendingLeaf`` until recorded, then
    the session's tensor), with the source each leaf was recorded with, to tell a parameter
    from another tensor that got its uid after an undo; ``children``: a Sequential's modules."""

    def __init__(
        self,
        session: Any,
        module: Any,
        slots: dict[str, TensorValue | None],
        sources: dict[str, str],
        children: list[ModuleValue] | None = None,
    ) -> None:
        self.session = session  # the session its parameters are in
        self.module = module  # gradviz's own module: its repr and settings (never its parameters)
        self.kind = type(module).__name__
        self.type_name = self.kind
        self.slots = slots
        self.sources = sources
        self.children = children or []

    def __repr__(self) -> str:
        return repr(self.module)

    # --- parameters ---------------------------------------------------------------------------------
    def named_slots(self, prefix: str = "") -> Iterator[tuple[str, TensorValue]]:
        """(torch's name, slot) of every parameter, as ``named_parameters()`` lists them."""
        seen: set[int] = set()
        for path, slot, _ in self._walk(prefix):
            if id(slot) not in seen:
                seen.add(id(slot))
                yield path, slot

    def _walk(self, prefix: str) -> Iterator[tuple[str, TensorValue, str]]:
        for n, slot in self.slots.items():
            if slot is not None:
                yield prefix + n, slot, self.sources[n]
        for key, c in self.named_children():
            yield from c._walk(f"{prefix}{key}.")

    def named_children(self) -> list[tuple[str, ModuleValue]]:
        """Its submodules under torch's names: a Sequential's "0", "1" ..."""
        return [(str(i), c) for i, c in enumerate(self.children)]

    def completions(self) -> list[str]:
        return [*(n for n, s in self.slots.items()), *_METHODS, *_SETTINGS.get(self.kind, ())]

    def holds(self) -> list[int]:
        return [s.uid for _, s, _ in self._walk("") if s.uid is not None]

    def parameter(self, run: Run, n: str) -> ParamValue | None:
        slot = self.slots[n]
        if slot is None:
            return None
        if slot.uid is not None and not _is_parameter(run.session, slot.uid, self.sources[n]):
            raise ConsoleError(
                f"this {self.kind}'s {n} is no longer in the session (the input that made it was undone, "
                "or it was deleted); make the module again"
            )
        return ParamValue(slot)

    def parameters(self, run: Run) -> list[ParamValue]:
        return [p for _, p in self.named_parameters(run)]

    def named_parameters(self, run: Run) -> list[tuple[str, ParamValue]]:
        out = []
        for path, _ in self.named_slots():
            module, _, n = self._owner(path)
            p = module.parameter(run, n)
            assert p is not None
            out.append((path, p))
        return out

    def _owner(self, path: str) -> tuple[ModuleValue, str, str]:
        *steps, n = path.split(".")
        m = self
        for s in steps:
            m = dict(m.named_children())[s]
        return m, ".".join(steps), n

    # --- the console's view of it -------------------------------------------------------------------
    def attribute(self, run: Run, attr: str) -> Any:
        if attr in self.slots:
            return self.parameter(run, attr)
        if attr in _METHODS:
            return Method(self, attr, lambda args, kwargs: self._method(run, attr, args, kwargs))
        settings = _SETTINGS.get(self.kind, ())
        if attr in settings:
            return getattr(self.module, attr)
        if hasattr(self.module, attr):
            raise ConsoleError(f"{self.kind}.{attr} is not available in the console")
        raise AttributeError(f"'{self.kind}' object has no attribute '{attr}'")

    def _method(self, run: Run, attr: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if attr == "forward":
            return self.forward(run, args, kwargs)
        if attr in ("train", "eval"):  # these modules act the same in both modes
            _no_args(f"{self.kind}.{attr}", args[1:] if attr == "train" else args, kwargs)
            return self
        _no_args(f"{self.kind}.{attr}", args, {k: v for k, v in kwargs.items() if k != "set_to_none"})
        if attr == "parameters":
            return self.parameters(run)
        if attr == "named_parameters":
            return self.named_parameters(run)
        params = self.parameters(run)
        recorded = [p.record(run) for p in params if p.uid is not None]
        if recorded:
            run.session.zero_grad(recorded, set_to_none=bool(kwargs.get("set_to_none", True)))
        return None

    def iterate(self) -> list[Any]:
        if self.kind != "Sequential":
            return super().iterate()
        return list(self.children)

    def length(self) -> int:
        return len(self.children) if self.kind == "Sequential" else super().length()

    def type_text(self) -> str:
        return repr(type(self.module))

    def subscript(self, run: Run, idx: Any) -> Any:
        if self.kind != "Sequential":
            raise TypeError(f"'{self.kind}' object is not subscriptable")
        if isinstance(idx, bool) or not isinstance(idx, int):
            raise ConsoleError("a Sequential is indexed by an integer in the console (model[0])")
        n = len(self.children)
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range")
        return self.children[idx]

    def call(self, run: Run, args: list[Any], kwargs: dict[str, Any], node: Any) -> Any:
        return self.forward(run, args, kwargs)

    def forward(self, run: Run, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """What calling the module computes, recorded as its catalogue ops, in a group of its
        own (named as the learner names the module: ``model.0``)."""
        with module_call(run, self):
            return self._forward(run, args, kwargs)

    def _forward(self, run: Run, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if self.kind in LOSSES:
            x, target = _forward_args(self.kind, ("input", "target"), args, kwargs)
            op = LOSSES[self.kind]
            return make_op(run, run.console.ops[op], [x, target], {"reduction": self.module.reduction}, op)
        (x,) = _forward_args(self.kind, ("input",), args, kwargs)
        if self.kind == "Sequential":
            for c in self.children:
                x = c.forward(run, [x], {})
            return x
        if self.kind == "Identity":
            return x
        if self.kind == "Linear":
            w, b = self.parameter(run, "weight"), self.parameter(run, "bias")
            return make_op(
                run, run.console.ops["linear"], [x, w] + ([b] if b is not None else []), {}, "linear"
            )
        op = ACTIVATIONS[self.kind]
        return make_op(run, run.console.ops[op], [x], {}, op)

    # --- as plain data ------------------------------------------------------------------------------
    def to_record(self) -> dict[str, Any]:
        """The module as JSON-able data: its kind, settings and the session names of its
        parameters (so only once they are recorded: once it is bound to a name)."""
        rec: dict[str, Any] = {"kind": f"nn.{self.kind}"}
        if self.kind == "Sequential":
            rec["modules"] = [c.to_record() for c in self.children]
            return rec
        for s in _SETTINGS.get(self.kind, ()):
            rec[s] = getattr(self.module, s)
        if self.slots:
            rec["parameters"] = {
                n: None if slot is None else self._name(slot, self.sources[n])
                for n, slot in self.slots.items()
            }
        return rec

    def _name(self, slot: TensorValue, source: str) -> str:
        """The session name of a parameter (refused once it is no longer the leaf it was)."""
        if slot.uid is None:
            raise ConsoleError("a module's parameters have session names only once it is bound to a name")
        if not _is_parameter(self.session, slot.uid, source):
            raise ConsoleError(f"this {self.kind}'s parameters are no longer in the session")
        name = self.session.name_of_uid(slot.uid)
        assert name is not None
        return name


_SETTINGS = {"Linear": ("in_features", "out_features"), **{k: ("reduction",) for k in LOSSES}}


def _is_parameter(session: Any, uid: int, source: str) -> bool:
    """Whether ``uid`` is still the leaf a parameter was recorded as (an undo may have given its
    uid to another tensor since)."""
    name = session.name_of_uid(uid)
    if name is None:
        return False
    entry = session.info(name).entry
    return isinstance(entry, Leaf) and entry.source == source


def _no_args(what: str, args: list[Any], kwargs: dict[str, Any]) -> None:
    if args or kwargs:
        raise TypeError(f"{what}() takes no arguments in the console")


def _forward_args(kind: str, names: tuple[str, ...], args: list[Any], kwargs: dict[str, Any]) -> list[Any]:
    """``forward``'s arguments bound as Python binds them, with its messages."""
    n = len(names)
    if len(args) > n:
        raise TypeError(f"{kind}.forward() takes {n + 1} positional arguments but {len(args) + 1} were given")
    bound = dict(zip(names, args))
    for k, v in kwargs.items():
        if k not in names:
            raise TypeError(f"{kind}.forward() got an unexpected keyword argument '{k}'")
        if k in bound:
            raise TypeError(f"{kind}.forward() got multiple values for argument '{k}'")
        bound[k] = v
    missing = [f"'{k}'" for k in names if k not in bound]
    if missing:
        raise TypeError(
            f"{kind}.forward() missing {len(missing)} required positional argument{'s' * (len(missing) > 1)}: "
            + " and ".join(missing)
        )
    return [bound[k] for k in names]


# --- making them -------------------------------------------------------------------------------------
def construct(
    run: Run, kind: str, args: list[Any], kwargs: dict[str, Any], node: ast.Call | None
) -> ModuleValue:
    """``nn.<kind>(...)``: torch's module, its parameters pending until the module is named."""
    if kind == "Sequential":
        if kwargs:
            raise TypeError(
                f"Sequential.__init__() got an unexpected keyword argument '{next(iter(kwargs))}'"
            )
        for a in args:
            if not isinstance(a, ModuleValue):
                raise TypeError(f"{type_name(a)} is not a Module subclass")
        return ModuleValue(run.session, gnn.Sequential(*[a.module for a in args]), {}, {}, list(args))
    if any(isinstance(v, TensorValue) for v in [*args, *kwargs.values()]):
        raise ConsoleError(f"tensor arguments to nn.{kind} are not available in the console")
    values = [plain(a, run) for a in args]
    options = {k: plain(v, run) for k, v in kwargs.items()}
    if kind == "ReLU" and (options.get("inplace") or (values and values[0])):
        raise ConsoleError(
            "nn.ReLU(inplace=True) changes a tensor in place, which the console doesn't record"
        )
    if kind == "Linear":
        shape = [
            values[i] if len(values) > i else options.get(k)
            for i, k in enumerate(("in_features", "out_features"))
        ]
        if all(isinstance(d, int) for d in shape):
            run.session.check_size(abs(shape[0] * shape[1]), "this Linear's weight")
    module = getattr(gnn, kind)(*values, **options)
    _refuse_unrecorded_settings(kind, module)
    source = run.segment(node) if node is not None else f"nn.{kind}(...)"
    slots: dict[str, TensorValue | None] = {}
    sources: dict[str, str] = {}
    for n, p in module.named_parameters(recurse=False):
        sources[n] = parameter_source(source, n)
        slots[n] = PendingLeaf(
            E.from_numpy(np.array(p.detach().numpy(), copy=True)).requires_grad_(True), sources[n]
        )
    if kind == "Linear" and module.bias is None:
        slots["bias"] = None
    return ModuleValue(run.session, module, slots, sources)


def _refuse_unrecorded_settings(kind: str, module: Any) -> None:
    """Settings the catalogue's ops don't take: refused rather than silently dropped."""
    if kind == "CrossEntropyLoss" and module.ignore_index != -100:
        raise ConsoleError("nn.CrossEntropyLoss(ignore_index=...) is not available in the console")
    if kind in ("BCELoss", "BCEWithLogitsLoss") and (
        getattr(module, "weight", None) is not None or getattr(module, "pos_weight", None) is not None
    ):
        raise ConsoleError(f"nn.{kind}'s weight and pos_weight are not available in the console")


def from_record(record: dict[str, Any], console: Console) -> ModuleValue:
    """The module ``to_record()`` wrote, its parameters the session's tensors of those names."""
    kind = str(record["kind"]).removeprefix("nn.")
    if kind not in KINDS:
        raise ConsoleError(f"unknown module kind {record['kind']!r}")
    if kind == "Sequential":
        children = [RECORD_KINDS[r["kind"]](r, console) for r in record["modules"]]
        return ModuleValue(console.session, gnn.Sequential(*[c.module for c in children]), {}, {}, children)
    settings = {s: record[s] for s in _SETTINGS.get(kind, ())}
    s = console.session
    if kind == "Linear":  # its shape is its weight's (a record from a file is checked first)
        settings["bias"] = record["parameters"].get("bias") is not None
        weight = s.tensor(record["parameters"]["weight"])
        if tuple(weight.shape) != (settings["out_features"], settings["in_features"]):
            raise ConsoleError(f"a Linear's weight of shape {tuple(weight.shape)} doesn't fit its record")
    if "reduction" in settings and settings["reduction"] not in ("mean", "sum", "none"):
        raise ConsoleError(f"{settings['reduction']!r} is not a valid value for reduction")
    rng = E.get_rng_state()
    try:  # only its structure is wanted: the random numbers it draws are put back
        module = getattr(gnn, kind)(**settings)
    finally:
        E.set_rng_state(rng)
    slots: dict[str, TensorValue | None] = {}
    sources: dict[str, str] = {}
    for n, name in record.get("parameters", {}).items():
        if name is None:
            slots[n] = None
            continue
        info = s.info(name)
        if not isinstance(info.entry, Leaf):
            raise ConsoleError(f"{name} is not a leaf, so it can't be a module's parameter")
        slots[n] = Named(info.uid)
        sources[n] = info.entry.source
    return ModuleValue(s, module, slots, sources)


for _kind in KINDS:
    register_record_kind(f"nn.{_kind}", from_record)


def members() -> dict[str, Any]:
    """``nn.Linear`` ... as the console's functions."""
    return {k: Function(k, _constructor(k), "module") for k in KINDS}


def _constructor(kind: str) -> Any:
    return lambda run, args, kwargs, node: construct(run, kind, args, kwargs, node)
