"""``torch.optim`` in the console: ``optim.SGD`` and ``optim.Adam`` over session tensors.

An optimiser holds no numbers of its own. ``step()`` reads each parameter, its gradient and its
state (SGD's momentum buffer, Adam's step count and moments) from the session, runs gradviz's
own optimiser (``gradviz.optim``, whose arithmetic is torch's) on copies, and writes the new
values back in place (``WriteInPlace`` entries, as ``w -= lr * w.grad`` under ``no_grad``
records): the state as hidden constants, made at the first step that needs them, as torch makes
them. ``zero_grad()`` is the session's (``set_to_none=True``, torch 2's default). So replaying
the log, undoing a training cell or opening a saved session gives the same numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

import gradviz.engine as E
import gradviz.optim as goptim
from gradviz.engine import Tensor

from ..log import Leaf
from .records import register_record_kind
from .values import ConsoleError, Function, Method, Named, ObjectValue, TensorValue, plain, type_name

if TYPE_CHECKING:
    from .core import Console
    from .evaluate import Run

KINDS = {"SGD": goptim.SGD, "Adam": goptim.Adam}


def _copy(t: Tensor) -> Tensor:
    return E.from_numpy(np.array(t.detach().numpy(), copy=True))


class OptimiserValue(ObjectValue):
    """``params``: session tensors (by uid); ``options``: the engine optimiser's settings;
    ``state[i]``: parameter i's state tensors, key -> (uid, source) of a hidden leaf."""

    def __init__(
        self,
        session: Any,
        kind: str,
        params: list[TensorValue],
        options: dict[str, Any],
        state: dict[int, dict[str, tuple[int, str]]],
        engine: Any = None,
    ) -> None:
        self.session = session
        self.kind = self.type_name = kind
        self.params = params
        # the log entry that made each parameter: a uid an undo gave to another tensor is told apart
        self.entries = [session.info(session.name_of_uid(p.uid)).entry for p in params]
        self.options = options
        self.state = state
        self.engine = (
            engine
            if engine is not None
            else _engine(
                kind, [_copy(p.tensor(session_ctx(session))).requires_grad_(True) for p in params], options
            )
        )

    def __repr__(self) -> str:
        return repr(self.engine)  # torch's: the parameter group's settings

    def holds(self) -> list[int]:
        return [p.uid for p in self.params if p.uid is not None] + [
            uid for keys in self.state.values() for uid, _ in keys.values()
        ]

    def completions(self) -> list[str]:
        return ["step", "zero_grad"]

    def type_text(self) -> str:
        return repr(type(self.engine))

    def attribute(self, run: Run, attr: str) -> Any:
        if attr in ("step", "zero_grad"):
            return Method(self, attr, lambda args, kwargs: getattr(self, attr)(run, *args, **kwargs))
        if attr in ("param_groups", "state", "defaults", "state_dict", "add_param_group", "load_state_dict"):
            raise ConsoleError(f"{self.kind}.{attr} is not available in the console")
        raise AttributeError(f"'{self.kind}' object has no attribute '{attr}'")

    def _names(self, run: Any) -> list[str]:
        out = []
        for p, entry in zip(self.params, self.entries):
            name = run.session.name_of_uid(p.uid) if p.uid is not None else None
            if name is None or run.session.info(name).entry is not entry:
                raise ConsoleError(
                    f"a parameter of this {self.kind} is no longer in the session (the input that made it "
                    "was undone, or it was deleted); make the optimiser again"
                )
            out.append(name)
        return out

    def zero_grad(self, run: Run, set_to_none: Any = True) -> None:
        run.session.zero_grad(self._names(run), set_to_none=bool(set_to_none))

    def step(self, run: Run, closure: Any = None) -> None:
        if closure is not None:
            raise ConsoleError(f"{self.kind}.step(closure) is not available in the console")
        s = run.session
        for i, name in enumerate(self._names(run)):
            t = s.tensor(name)
            if t.grad is None:
                continue  # as torch: a parameter without a gradient is left alone
            p = _copy(t).requires_grad_(True)
            p.grad = _copy(t.grad)
            engine = _engine(self.kind, [p], self.options)
            kept = self._state_of(s, i)
            engine.state[p].update({k: _copy(s.tensor(n)) for k, n in kept.items()})
            engine.step()
            s.write_in_place(name, p.detach().numpy())
            new: dict[str, tuple[int, str]] = {}
            for key, value in engine.state[p].items():
                if key in kept:
                    s.write_in_place(kept[key], value.detach().numpy())
                    new[key] = self.state[i][key]
                else:
                    source = f"{self.kind} state {key!r} of {name}"
                    hidden = s.add_leaf(None, value.detach().numpy(), source=source, hidden=True)
                    new[key] = (s.info(hidden).uid, source)
            self.state[i] = new

    def _state_of(self, session: Any, i: int) -> dict[str, str]:
        """Parameter i's state tensors by key, if all are still the leaves step() made (an undo
        takes them away with the step that made them: then it starts afresh, as torch does)."""
        keys = self.state.get(i, {})
        names = {}
        for key, (uid, source) in keys.items():
            name = session.name_of_uid(uid)
            if (
                name is None
                or not isinstance(session.info(name).entry, Leaf)
                or session.info(name).entry.source != source
            ):
                self.state.pop(i, None)
                return {}
            names[key] = name
        return names

    def to_record(self) -> dict[str, Any]:
        """The optimiser as JSON-able data: its settings, its parameters' and state's session names."""
        s = self.session
        params = self._names(session_ctx(s))
        state = {params[i]: names for i in self.state if (names := self._state_of(s, i))}
        options = {k: list(v) if isinstance(v, tuple) else v for k, v in self.options.items()}
        return {"kind": f"optim.{self.kind}", "params": params, "options": options, "state": state}


class _SessionCtx:
    def __init__(self, session: Any) -> None:
        self.session = session
        self.created: list[str] = []


def session_ctx(session: Any) -> _SessionCtx:
    """What a value needs to read its tensor, outside a run."""
    return _SessionCtx(session)


def _engine(kind: str, params: list[Tensor], options: dict[str, Any]) -> Any:
    return KINDS[kind](params, **options)


def construct(run: Run, kind: str, args: list[Any], kwargs: dict[str, Any], node: Any) -> OptimiserValue:
    """``optim.SGD(model.parameters(), lr=...)``: torch's checks of the settings, by its own class."""
    kwargs = dict(kwargs)
    if args:
        given, rest = args[0], list(args[1:])
    elif "params" in kwargs:
        given, rest = kwargs.pop("params"), []
    else:
        raise TypeError(f"{kind}.__init__() missing 1 required positional argument: 'params'")
    if isinstance(given, TensorValue):
        t = given.tensor(run)
        raise TypeError(
            "params argument given to the optimizer should be an iterable of Tensors or dicts, but got "
            + t.type()
        )
    if not isinstance(given, (list, tuple)):
        raise TypeError(f"'{type_name(given)}' object is not iterable")
    if any(isinstance(v, TensorValue) for v in [*rest, *kwargs.values()]):
        raise ConsoleError(f"tensor settings of optim.{kind} are not available in the console")
    for p in given:
        if not isinstance(p, TensorValue):
            raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type_name(p)}")
    for p in given:
        if p.tensor(run).grad_fn is not None:
            raise ValueError("can't optimize a non-leaf Tensor")
    values = [_copy(p.tensor(run)).requires_grad_(p.tensor(run).requires_grad) for p in given]
    # torch's own checks (learning rate, betas ...) and defaults, by gradviz's optimiser
    engine = KINDS[kind](
        values, *[plain(a, run) for a in rest], **{k: plain(v, run) for k, v in kwargs.items()}
    )
    for p in given:
        p.record(run)  # a module not bound to a name: its parameters recorded now, hidden
    return OptimiserValue(run.session, kind, [Named(p.uid) for p in given], dict(engine.defaults), {}, engine)


def from_record(record: dict[str, Any], console: Console) -> OptimiserValue:
    kind = str(record["kind"]).removeprefix("optim.")
    if kind not in KINDS:
        raise ConsoleError(f"unknown optimiser kind {record['kind']!r}")
    s = console.session
    names = list(record["params"])
    options = {k: tuple(v) if isinstance(v, list) else v for k, v in record["options"].items()}
    state: dict[int, dict[str, tuple[int, str]]] = {}
    for pname, keys in record.get("state", {}).items():
        i = names.index(pname)
        state[i] = {}
        for key, n in keys.items():
            entry = s.info(n).entry
            state[i][key] = (s.info(n).uid, entry.source if isinstance(entry, Leaf) else "")
    return OptimiserValue(s, kind, [Named(s.info(n).uid) for n in names], options, state)


for _kind in KINDS:
    register_record_kind(f"optim.{_kind}", from_record)


def members() -> dict[str, Any]:
    """``optim.SGD``, ``optim.Adam`` as the console's functions."""
    return {k: Function(k, _constructor(k), "optimiser") for k in KINDS}


def _constructor(kind: str) -> Any:
    return lambda run, args, kwargs, node: construct(run, kind, args, kwargs, node)
