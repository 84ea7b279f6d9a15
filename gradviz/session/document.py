"""The session: an op log, the tensors its replay produces, undo/redo and change events.

Every user action becomes log entries. Appending runs the new entries on the live state;
anything that rewrites history (undo, redo, editing a leaf's value or an op's parameter)
replays the whole log, so the state always equals a fresh replay, bit for bit. Such replays go
through ``Session.replayer``, which the GUI points at a worker thread so that a long log neither
freezes the window nor stops the person from cancelling.
"""

from __future__ import annotations

import contextlib
import hashlib
import keyword
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

import gradviz.engine as E
from gradviz.engine import Tensor
from gradviz.engine.grad_mode import interruptible
from gradviz.engine.scopes import entered as entered_scopes

from . import catalogue, limits, sizing
from .events import Event
from .footprint import (
    Ledger,
    MemoryUse,
    TensorLedger,
    default_budget,
    entry_arrays,
    format_bytes,
)
from .limits import DEFAULT_MAX_ELEMENTS, DEFAULT_OP_SECONDS, MAX_UNDO_STEPS, UNDO_MEMORY
from .log import (
    Backward,
    Delete,
    Entry,
    Leaf,
    Loop,
    Op,
    Rename,
    RetainGrad,
    SetRequiresGrad,
    WriteInPlace,
    ZeroGrad,
    describe,
)
from .transcript import Cell

#: One undo (or redo) step: the log to go back to, the next uid then, and what it undoes.
UndoStep = tuple[tuple[Entry, ...], int, str]

RESERVED_NAMES = frozenset({"torch", "gradviz", "F", "nn", "print", "np", "numpy", "True", "False", "None"})


LEAF_SOURCE_ELEMENTS = 16  # a leaf edited to more values than this has no code that reads well


def leaf_source(value: np.ndarray, requires_grad: bool) -> str:
    """The code that makes a leaf of ``value`` (``torch.tensor([1., 2.], requires_grad=True)``),
    for a leaf whose value or flag was changed after the code it was made by; '' when too big."""
    if value.size > LEAF_SOURCE_ELEMENTS:
        return ""
    text = " ".join(repr(E.tensor(value)).split())  # tensor([[1., 2.], [3., 4.]], dtype=...)
    return "torch." + (text[:-1] + ", requires_grad=True)" if requires_grad else text)


class SessionError(Exception):
    """A refused action. The message says what is wrong, in PyTorch's words where it has them;
    ``kind`` names the exception PyTorch (or Python) raises for it, for the console to show."""

    def __init__(self, message: str = "", *, kind: str = "RuntimeError") -> None:
        super().__init__(message)
        self.kind = kind


class ReplayError(SessionError):
    """Replaying a log failed at ``entry`` (the ``index``-th, from 0) because of ``reason``."""

    def __init__(self, index: int, entry: Entry, reason: SessionError) -> None:
        super().__init__(f"entry {index + 1} ({describe(entry)}): {reason}", kind=reason.kind)
        self.index, self.entry, self.reason = index, entry, reason


class ReplayCancelledError(SessionError):
    """The person cancelled a replay (undo, redo, an edit); nothing was changed."""


class StoppedError(ReplayCancelledError):
    """The person stopped the work (a console cell, a replay, a backward) between two ops or
    backward nodes; it is undone, and whatever waits for a cancelled replay handles it too."""

    def __init__(self, message: str = "stopped; nothing was changed") -> None:
        super().__init__(message, kind="KeyboardInterrupt")


@dataclass
class TensorInfo:
    """What the session knows about one named tensor beyond the tensor itself."""

    name: str
    uid: int
    entry: Leaf | Op
    hidden: bool = False
    user_retained: bool = False  # the user called retain_grad()

    @property
    def is_leaf_entry(self) -> bool:
        return isinstance(self.entry, Leaf)

    @property
    def is_parameter(self) -> bool:
        """A module's parameter (see ``Leaf.is_parameter``): a module's box holds it."""
        return isinstance(self.entry, Leaf) and self.entry.is_parameter

    @property
    def session_retained(self) -> bool:
        """True when a gradient is kept only because the session keeps it (PyTorch: None)."""
        return isinstance(self.entry, Op) and not self.user_retained


@dataclass
class Change:
    """What one action changed, for listeners to refresh just that."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # values
    grads: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    label: str = ""

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.grads or self.renamed)


class _State:
    """The tensors a log produces. Built by replay; cheap to throw away."""

    def __init__(self) -> None:
        self.tensors: dict[str, Tensor] = {}
        self.info: dict[str, TensorInfo] = {}
        self.by_uid: dict[int, str] = {}
        # (op uid, operand name as written) -> uid of the operand, so renames don't lose links.
        self.ref_uids: dict[tuple[int, str], int] = {}
        # Operand uid -> uids of the ops that read it, in order: dependents() without a scan.
        self.users: dict[int, dict[int, None]] = {}
        # Fingerprints by uid, for change events. A tensor's value never changes within a state;
        # gradients change only by Backward and ZeroGrad entries, which clear their cache.
        self.value_prints: dict[int, bytes | None] = {}
        self.grad_prints: dict[int, bytes | None] = {}
        self.memory = TensorLedger()  # bytes the tensors hold, for the memory budget
        # While a replay runs an entry: reports its progress again (and may raise to cancel),
        # for an entry that runs long (a Loop's replay calls it between its ops).
        self.progress: Callable[[], None] | None = None


def _fingerprint(a: np.ndarray | None) -> bytes | None:
    if a is None:
        return None
    a = np.asarray(a)
    return hashlib.blake2b(
        a.tobytes(), digest_size=16, person=str((a.shape, a.dtype.str)).encode()[:16]
    ).digest()


@dataclass
class Expansion:
    """What ``Session.expanding`` collects: entries run on the state but kept out of the log,
    counted; ``entry`` is what the log gets instead. (The Training panel's record of the loop is
    the console's: session.training, fed by the console's backward().)"""

    start_uid: int
    discard: bool = False  # a replay's: nothing is appended at the end
    count: int = 0
    entry: Entry | None = None


class Session:
    """A document of named tensors. All changes go through its methods (each one undoable).

    ``tensor(name)`` hands out the session's own tensors, to read: a change made to one directly
    (in place) would be lost at the next replay and go unseen by the change events."""

    def __init__(
        self,
        max_elements: int = DEFAULT_MAX_ELEMENTS,
        *,
        memory_budget: int | None = None,
        op_seconds: float = DEFAULT_OP_SECONDS,
        undo_memory: int = UNDO_MEMORY,
    ) -> None:
        self.max_elements = max_elements
        # Bytes the session may hold: tensors, saved buffers, the log's arrays and the undo
        # history's. An op that would cross it is refused before it allocates.
        self.memory_budget = default_budget() if memory_budget is None else int(memory_budget)
        self.op_seconds = op_seconds
        self.undo_memory = undo_memory  # older undo steps are dropped beyond this
        # Asked between ops (and backward nodes): True stops the work with StoppedError.
        # The GUI points it at its Stop button.
        self.stop_requested: Callable[[], bool] | None = None
        # The record of the last training loop a replay ran (session.training.TrainingRun), so
        # an opened session shows its Training plots; not saved, derived on each replay.
        self.replayed_training: Any = None
        self._unstoppable = 0  # depth of rollbacks, which must run to the end
        self._deleted_since_compact = False
        self._log_arrays = Ledger()  # arrays of the live log
        self._all_arrays = Ledger()  # ... of the log and every undo and redo step
        self._entries: list[Entry] = []
        self._state = _State()
        self._state.memory.outside = self._all_arrays
        self._undo: list[tuple[tuple[Entry, ...], int, str]] = []
        self._redo: list[tuple[tuple[Entry, ...], int, str]] = []
        self._next_uid = 1
        self._batch_depth = 0
        self._batch_start: tuple[tuple[Entry, ...], int] | None = None
        self._batch_label = ""
        self._expansion: Expansion | None = None  # see expanding()
        self.view: dict[str, Any] = {}  # view settings saved with the file (mode, colours, selection)
        self.transcript: list[Cell] = []  # the console's cells, saved with the file
        # Runs the full replays of history rewrites: (entries, label, cancellable) -> state. None
        # replays here and now; the GUI sets one that replays on a worker while the window runs.
        self.replayer: Callable[[Sequence[Entry], str, bool], _State] | None = None
        # Runs an action that appends to the log, events included: (work, label) -> work().
        # None runs it here; the GUI runs it on a worker (making a huge tensor takes seconds).
        self.runner: Callable[[Callable[[], None], str], None] | None = None
        # The log as last saved or opened (weakly: it keeps no arrays alive), which ``dirty``
        # compares with, so undoing back to it is clean again; and whether something the log
        # doesn't show (a restored recovery) makes the document differ from its file anyway.
        self._saved_log: tuple[weakref.ref, ...] = ()
        self._changed_outside_log = False
        # Events, with a Change argument (``changed``) or names.
        self.changed = Event()
        self.tensor_added = Event()
        self.tensor_changed = Event()
        self.tensor_removed = Event()
        self.gradients_updated = Event()
        self.renamed = Event()
        self._announced = 0  # changes announced so far (each may have changed the outputs)
        self._outputs_of: tuple[Any, ...] | None = None  # of what state and log, and outputs()

    # --- reading ---------------------------------------------------------------------------------
    @property
    def entries(self) -> tuple[Entry, ...]:
        return tuple(self._entries)

    def names(self, include_hidden: bool = False) -> list[str]:
        return [n for n, i in self._state.info.items() if include_hidden or not i.hidden]

    def __contains__(self, name: str) -> bool:
        return name in self._state.tensors

    def tensor(self, name: str) -> Tensor:
        try:
            return self._state.tensors[name]
        except KeyError:
            raise SessionError(f"name '{name}' is not defined", kind="NameError") from None

    def info(self, name: str) -> TensorInfo:
        self.tensor(name)
        return self._state.info[name]

    def tensors(self, include_hidden: bool = True) -> dict[str, Tensor]:
        return {
            n: t for n, t in self._state.tensors.items() if include_hidden or not self._state.info[n].hidden
        }

    def name_of_uid(self, uid: int) -> str | None:
        """The current name of the live tensor ``uid`` (None if it is gone)."""
        return self._state.by_uid.get(uid)

    def name_of(self, t: Tensor) -> str | None:
        for n, x in self._state.tensors.items():
            if x is t:
                return n
        return None

    def dependents(self, name: str, *, visible: bool = False) -> list[str]:
        """Live tensors computed directly from ``name``; with ``visible``, hidden intermediates
        are looked through to the named tensors computed from them."""
        info = self._state.info.get(name)
        users = self._state.users.get(info.uid, {}) if info is not None else {}
        live = (self._state.by_uid.get(u) for u in users)  # deleted ops have no name any more
        direct = [n for n in live if n is not None]
        if not visible:
            return direct
        out: list[str] = []
        for n in direct:
            for m in [n] if not self._state.info[n].hidden else self.dependents(n, visible=True):
                if m not in out:
                    out.append(m)
        return out

    def outputs(self) -> list[str]:
        """Named tensors that require grad and from which no named tensor is computed, directly
        or through hidden intermediates: what Backward would start from. One pass over the log,
        made again only when the log or its tensors have changed (the window asks after every
        op, several times)."""
        last = self._entries[-1] if self._entries else None
        counts = (len(self._entries), self._announced)
        held = self._outputs_of
        if held is None or held[0]() is not self._state or held[1] is not last or held[2] != counts:
            # (the state held weakly: an undone one is not kept alive by this)
            held = self._outputs_of = (weakref.ref(self._state), last, counts, self._find_outputs())
        return list(held[3])

    def _find_outputs(self) -> list[str]:
        users: dict[str, set[str]] = {}
        for n, i in self._state.info.items():
            if isinstance(i.entry, Op):
                for ref in self._current_refs(i.entry):
                    users.setdefault(ref, set()).add(n)
        # An op's operands come before it in the log: going backwards, each user is decided first.
        position = self.log_order()
        used: dict[str, bool] = {}
        for n in sorted(self._state.info, key=position, reverse=True):
            used[n] = any(not self._state.info[m].hidden or used[m] for m in users.get(n, ()))
        return [n for n in self.names() if self._state.tensors[n].requires_grad and not used[n]]

    def log_order(self) -> Callable[[str], tuple[int, int]]:
        """A sort key: where the entry that made each tensor stands in the log. A tensor made
        by a Loop entry stands where the loop does, in the order the loop made them (its uid);
        (-1, 0) for a name not alive."""
        position = {id(e): k for k, e in enumerate(self._entries)}
        loops = [(e.uids[0], e.uids[1], k) for k, e in enumerate(self._entries) if isinstance(e, Loop)]

        def key(name: str) -> tuple[int, int]:
            info = self._state.info.get(name)
            if info is None:
                return (-1, 0)
            k = position.get(id(info.entry))
            if k is not None:
                return (k, 0)
            return next(((at, info.uid) for a, b, at in loops if a <= info.uid < b), (-1, info.uid))

        return key

    def _current_refs(self, entry: Op) -> list[str]:
        """An op's operands under their current names (renames may have come after the op)."""
        out = []
        for ref in entry.refs():
            uid = self._state.ref_uids.get((entry.uid, ref))
            name = self._state.by_uid.get(uid) if uid is not None else None
            if name is not None:
                out.append(name)
        return out

    def operands(self, name: str) -> list[str]:
        """The live names ``name`` was computed from (empty for leaves)."""
        info = self.info(name)
        return self._current_refs(info.entry) if isinstance(info.entry, Op) else []

    @property
    def dirty(self) -> bool:
        """Whether the document differs from its file: its log is not the one last saved or
        opened (undo and redo move away from it and back), or something outside the log changed."""
        if self._changed_outside_log or len(self._saved_log) != len(self._entries):
            return True
        return any(ref() is not e for ref, e in zip(self._saved_log, self._entries))

    @dirty.setter
    def dirty(self, value: bool) -> None:
        """False: the document as it is now is saved. True: it changed in a way its log doesn't show."""
        self._changed_outside_log = value
        if not value:
            self._saved_log = tuple(weakref.ref(e) for e in self._entries)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_label(self) -> str:
        return self._undo[-1][2] if self._undo else ""

    @property
    def redo_label(self) -> str:
        return self._redo[-1][2] if self._redo else ""

    # --- validation --------------------------------------------------------------------------------
    def check_name(self, name: str, *, allow_existing: bool = False) -> None:
        if isinstance(name, str) and keyword.iskeyword(name):
            raise SessionError(f"'{name}' is a Python keyword; choose another name")
        if not isinstance(name, str) or not name.isidentifier():
            raise SessionError(
                f"'{name}' is not a valid name: use letters, digits and _, not starting with a digit"
            )
        if name.startswith("_"):
            raise SessionError(f"'{name}' is not a valid name: names starting with _ are reserved")
        if name in RESERVED_NAMES:
            raise SessionError(f"'{name}' is reserved; choose another name")
        if not allow_existing and name in self._state.tensors:
            raise SessionError(f"the name '{name}' is already taken")

    def check_size(self, numel: int, what: str = "tensor", itemsize: int = 4) -> None:
        """Refuse a tensor of ``numel`` elements over the element limit, or whose
        ``numel * itemsize`` bytes would cross the memory budget."""
        if numel > self.max_elements:
            raise SessionError(
                f"{what} would have {numel:,} elements, more than this session's limit of "
                f"{self.max_elements:,}; nothing was allocated"
            )
        self.check_memory(numel * itemsize, what)

    def memory_use(self) -> MemoryUse:
        """What the session holds now, against its budget."""
        log = self._log_arrays.total
        return MemoryUse(self._state.memory.total, log, self._all_arrays.total - log, self.memory_budget)

    def check_memory(self, nbytes: int, what: str = "tensor", state: _State | None = None) -> None:
        state = state if state is not None else self._state
        log, everything = self._log_arrays.total, self._all_arrays.total
        held = state.memory.total + everything
        if held + nbytes > self.memory_budget:
            raise SessionError(
                f"{what} would need {format_bytes(nbytes)}, and this session already holds "
                f"{format_bytes(held)} of its {format_bytes(self.memory_budget)} memory budget "
                f"(tensors {format_bytes(state.memory.total)}, leaf values {format_bytes(log)}, "
                f"undo history {format_bytes(everything - log)}); nothing was allocated. Delete "
                "tensors you no longer need, or set GRADVIZ_MEMORY_BUDGET (for example 16G)",
                kind="MemoryError",
            )

    def check_op(
        self,
        spec: catalogue.OpSpec,
        operands: Sequence[Any],
        params: dict[str, Any],
        state: _State | None = None,
    ) -> None:
        """Everything asked of an op before it runs: a Stop, its result's size, the memory it
        needs and about how long it takes (one op can't be stopped half-way)."""
        self.check_stop()
        cost = sizing.estimate(spec, operands, params)
        what = f"the result of {spec.name}"
        self.check_size(cost.numel, what, itemsize=0)
        self.check_memory(cost.nbytes, what, state)
        if cost.seconds > self.op_seconds:
            raise SessionError(
                f"{spec.name} would take about {cost.seconds:,.0f} s ({cost.work}), longer than this "
                f"session lets one operation run ({self.op_seconds:g} s); nothing was computed",
                kind="RuntimeError",
            )

    def check_stop(self) -> None:
        """Raise StoppedError if the person asked to stop (never inside a rollback)."""
        if self.stop_requested is not None and not self._unstoppable and self.stop_requested():
            raise StoppedError()

    def fresh_name(self, stem: str = "t") -> str:
        i = 1
        while f"{stem}{i}" in self._state.tensors:
            i += 1
        return f"{stem}{i}"

    # --- actions -------------------------------------------------------------------------------------
    def add_leaf(
        self,
        name: str | None,
        value: Any,
        dtype: Any = None,
        requires_grad: bool = False,
        source: str = "",
        *,
        hidden: bool = False,
    ) -> str:
        """Record a leaf. ``hidden`` gives it a reserved ``_N`` name: a constant the user never
        named (the ``torch.tensor(2.)`` inside ``y = x * torch.tensor(2.)``)."""
        if hidden:
            name = f"_{self._next_uid}"
        else:
            self.check_name(name)
        arr = self._as_value(value, dtype)
        self._append(
            [Leaf(self._uid(), name, arr, bool(requires_grad), source)],
            f"create {name}" if not hidden else "create constant",
        )
        return name

    def apply(
        self,
        op: str,
        args: Sequence[Any],
        params: dict[str, Any] | None = None,
        name: str | None = None,
        *,
        hidden: bool = False,
        scope: Sequence[tuple[str, str, str]] = (),
    ) -> str:
        """Record ``name = op(*args, **params)``. ``args`` are tensor names or Python numbers;
        ``scope``: the module calls and name scopes it is made in (see ``Op.scope``)."""
        spec = self._spec(op)
        if name is None:
            name = f"_{self._next_uid}" if hidden else self.fresh_name()
        elif not hidden:
            self.check_name(name)
        enc = []
        for a in args:
            if isinstance(a, str):
                self.tensor(a)
                enc.append(("ref", a))
            elif isinstance(a, (bool, int, float)) and spec.scalar_operands:
                # JSON has one NaN: record the canonical one so a saved session replays bit for bit.
                enc.append(("const", float("nan") if isinstance(a, float) and a != a else a))
            else:
                raise SessionError(f"{op}: operand {a!r} must be the name of a tensor")
        levels = tuple((str(n), str(c), str(k)) for n, c, k in scope)
        entry = Op(self._uid(), name, spec.name, tuple(enc), dict(params or {}), hidden, levels)
        self._append([entry], f"{name} = {op}" if not hidden else op)
        return name

    def new_uid(self) -> int:
        """A uid no entry has: for entries built elsewhere and recorded with append_entries."""
        return self._uid()

    def append_entries(self, entries: Sequence[Entry], label: str) -> None:
        """Record entries built elsewhere (uids from new_uid) as one undoable action."""
        self._append(list(entries), label)

    def backward(self, target: str, gradient: Any = None, retain_graph: bool = False) -> None:
        t = self.tensor(target)
        grad = None
        if gradient is not None:
            grad = self._as_value(gradient, t.dtype)
            if grad.shape != tuple(t.shape):
                raise SessionError(
                    f"Mismatch in shape: grad_output[0] has a shape of {E.Size(grad.shape)} and output[0] has a shape of {t.shape}."
                )
        self._append([Backward(target, grad, bool(retain_graph))], f"{target}.backward()")

    def zero_grad(self, names: Sequence[str] | None = None, set_to_none: bool = True) -> None:
        if names is not None:
            for n in names:
                self.tensor(n)
        self._append([ZeroGrad(tuple(names) if names is not None else None, set_to_none)], "zero grads")

    def retain_grad(self, name: str) -> None:
        self.tensor(name)
        self._append([RetainGrad(name)], f"{name}.retain_grad()")

    def requires_grad_(self, name: str, flag: bool = True) -> None:
        """``name.requires_grad_(flag)`` now, as in PyTorch: ops from here on record (or stop
        recording) it; what was computed before is left as it was. Compare set_requires_grad."""
        self.tensor(name)
        entry = SetRequiresGrad(name, bool(flag))
        self._append([entry], describe(entry))

    def rename(self, old: str, new: str) -> None:
        self.tensor(old)
        if old == new:
            return
        self.check_name(new)
        self._append([Rename(old, new)], f"rename {old} to {new}")

    def hide(self, name: str) -> str:
        """Take a tensor's name away and keep the tensor, under a reserved hidden name (``_N``):
        what Python does to the old ``y`` in ``y = y * 2``. Returns the hidden name."""
        self.tensor(name)
        hidden = f"_{self._uid()}"
        self._append([Rename(name, hidden)], f"unname {name}")
        return hidden

    def delete(self, name: str) -> None:
        self.tensor(name)
        deps = self.dependents(name, visible=True) or self.dependents(name)
        if deps:
            raise SessionError(
                f"can't delete '{name}': {', '.join(deps)} {'depends' if len(deps) == 1 else 'depend'} on it; delete {'it' if len(deps) == 1 else 'them'} first"
            )
        self._append([Delete(name)], f"delete {name}")

    def write_in_place(self, name: str, value: Any) -> None:
        """Overwrite ``name``'s values now, as an in-place op under ``torch.no_grad()`` does:
        its gradient and history stay; tensors computed from it before keep what they read.
        Compare set_leaf_value, which edits history."""
        t = self.tensor(name)
        arr = self._as_value(value, t.dtype)
        if arr.shape != tuple(t.shape):
            raise SessionError(
                f"output with shape {list(t.shape)} doesn't match the broadcast shape {list(arr.shape)}"
            )
        self._append([WriteInPlace(name, arr)], f"write {name} in place")

    def set_leaf_value(self, name: str, value: Any) -> None:
        """Change a leaf's value and recompute everything downstream, gradients included."""
        info = self.info(name)
        if not isinstance(info.entry, Leaf):
            raise SessionError(
                f"'{name}' is computed by {info.entry.op}; only leaves have values you can edit"
            )
        old = info.entry
        arr = self._as_value(value, E.dtypes.from_numpy_dtype(old.value.dtype))
        self._rewrite(
            old, replace(old, value=arr, source=leaf_source(arr, old.requires_grad)), f"edit {name}"
        )

    def set_requires_grad(self, name: str, flag: bool) -> None:
        """Change how the leaf ``name`` was created, and recompute everything downstream (an
        edit of history, like set_leaf_value; requires_grad_ is the in-time statement)."""
        info = self.info(name)
        if not isinstance(info.entry, Leaf):
            raise SessionError("you can only change requires_grad flags of leaf variables.")
        old = info.entry
        self._rewrite(
            old,
            # the code it was made by said the other requires_grad: it no longer makes this leaf
            replace(old, requires_grad=bool(flag), source=leaf_source(old.value, bool(flag))),
            f"{name}.requires_grad = {bool(flag)}",
        )

    def set_param(self, name: str, param: str, value: Any) -> None:
        """Change one parameter of the op that computed ``name`` and recompute downstream."""
        info = self.info(name)
        if not isinstance(info.entry, Op):
            raise SessionError(f"'{name}' is a leaf; it has no operation parameters")
        spec = self._spec(info.entry.op)
        try:
            spec.param(param)
        except KeyError:
            raise SessionError(f"{spec.name} has no parameter '{param}'") from None
        self._rewrite(
            info.entry,
            replace(info.entry, params={**info.entry.params, param: value}),
            f"set {param} of {name}",
        )

    # --- undo / redo -------------------------------------------------------------------------------
    def undo(self) -> None:
        if not self._undo:
            return
        self._restore(self._undo, self._redo, "undo")

    def redo(self) -> None:
        if not self._redo:
            return
        self._restore(self._redo, self._undo, "redo")

    @contextlib.contextmanager
    def batch(self, label: str) -> Iterator[None]:
        """Group several actions into one undo step; if any fails, none of them happened."""
        outer = self._batch_depth == 0
        if outer:
            self._batch_start = (tuple(self._entries), self._next_uid)
            self._batch_label = label
            self._batch_before = self._snapshot()
        self._batch_depth += 1
        try:
            yield
        except BaseException:
            self._batch_depth -= 1
            if outer:
                entries, uid = self._batch_start
                self._batch_start = None
                if self._entries_differ(entries):  # something ran: roll it back
                    self._rollback(list(entries), uid, f"undo {label}")
                else:
                    self._next_uid = uid
            raise
        self._batch_depth -= 1
        if outer:
            entries, uid = self._batch_start
            self._batch_start = None
            if self._entries_differ(entries):
                self._compact_log()
                self._record_undo(entries, uid, label)
                self._announce(self._batch_before, label)

    @property
    def is_expanding(self) -> bool:
        return self._expansion is not None

    @contextlib.contextmanager
    def expanding(self) -> Iterator[Expansion]:
        """Run actions on the state without logging them, and log one entry for all of them:
        the caller sets ``Expansion.entry`` (a Loop, whose effect is then already in the state)
        before the block ends. If the block fails, the state goes back to what the log says.
        Other callers see nothing of it; expansions don't nest."""
        if self._expansion is not None:
            raise SessionError("an expansion is already under way")
        exp = self._expansion = Expansion(self._next_uid)
        try:
            yield exp
        except BaseException:
            self._expansion = None
            if exp.count:  # entries ran on the state: back to the log's
                self._rollback(list(self._entries), exp.start_uid, "undo")
            else:
                self._next_uid = exp.start_uid
            raise
        self._expansion = None
        if exp.entry is None:
            if exp.count:  # ran without an entry to show for it: undo it
                self._rollback(list(self._entries), exp.start_uid, "undo")
            return
        self._log_ran(exp.entry, exp.start_uid)

    def _log_ran(self, entry: Entry, start_uid: int) -> None:
        """Append ``entry``, whose effect the state already holds (an expansion's)."""
        try:
            _check_appendable(self, self._entries, entry)
        except SessionError:
            self._rollback(list(self._entries), start_uid, "undo")
            raise
        before = self._snapshot() if self._batch_depth == 0 else None
        prev_len = len(self._entries)
        self._entries.append(entry)
        arrays = entry_arrays([entry])
        self._log_arrays.add(arrays)
        self._all_arrays.add(arrays)
        if self._batch_depth == 0:
            prev_entries = tuple(self._entries[:prev_len])
            self._compact_log()
            self._record_undo(prev_entries, start_uid, describe(entry))
            self._announce(before, describe(entry))

    def replaying_on(self, state: _State, next_uid: int) -> Session:
        """A session over ``state`` (a replay's) whose actions run on it and are discarded, with
        this one's limits: what a Loop entry's replay runs its source against."""
        view = Session(self.max_elements, memory_budget=self.memory_budget, op_seconds=self.op_seconds)
        view._state = state
        view._log_arrays, view._all_arrays = self._log_arrays, self._all_arrays  # counted, not added to
        view._next_uid = next_uid
        view.stop_requested = self.stop_requested
        view._unstoppable = self._unstoppable
        view._expansion = Expansion(next_uid, discard=True)
        return view

    @property
    def next_uid(self) -> int:
        """The uid the next tensor recorded will get."""
        return self._next_uid

    def undo_steps(self) -> list[UndoStep]:
        """The undo history, oldest first (each step's log is a tuple of immutable entries)."""
        return list(self._undo)

    def restore_undo(self, steps: Sequence[UndoStep]) -> None:
        """Make ``steps`` (oldest first, as a saved file holds them) the undo history, within
        this session's bounds: the oldest go first beyond MAX_UNDO_STEPS or ``undo_memory``.
        Redo is cleared. Each step is replayed only when it is undone to."""
        for stack in (self._undo, self._redo):
            while stack:
                self._drop_step(stack, 0)
        for entries, uid, label in steps:
            self._push_step(self._undo, (tuple(entries), int(uid), str(label)))
        while self._undo and (
            len(self._undo) > MAX_UNDO_STEPS
            or self._all_arrays.total - self._log_arrays.total > self.undo_memory
        ):
            self._drop_step(self._undo, 0)

    # --- loading (used by the file format) -------------------------------------------------------
    def load_entries(
        self,
        entries: Sequence[Entry],
        view: dict[str, Any] | None = None,
        *,
        state: _State | None = None,
        transcript: Sequence[Cell] = (),
        undo: Sequence[UndoStep] = (),
    ) -> None:
        """Replace the whole document by a validated log: replays it (or takes ``state``, a replay
        of the same entries made earlier, e.g. off the GUI thread). The undo history becomes
        ``undo`` (a saved one; none by default) and the console's ``transcript`` is set."""
        # Hidden names ("_7", from hide() and hidden leaves) use up uids too: skip past them,
        # and past a stranger's extreme ids without running out (what loads must save).
        used = [u for e in entries if (u := e.last_uid()) is not None]
        for name in (n for e in entries for n in e.defines_all()):
            if name[:1] == "_" and name[1:].isascii() and name[1:].isdigit() and len(name) <= 17:
                used.append(int(name[1:]))  # (17 characters hold every id up to limits.MAX_UID)
        uid = limits.next_free_uid(used)
        before = self._snapshot()
        if state is None:
            self._replace_state(list(entries), uid, "open")
        else:
            self._state, self._next_uid = state, max(uid, 1)
            self._set_log(list(entries))
            self._recount(state)
        self.restore_undo(undo)
        self.view = dict(view or {})
        self.transcript = list(transcript)
        self.dirty = False
        self._announce(before, "open")

    def replay(self, entries: Sequence[Entry], progress: Callable[[int, int], None] | None = None) -> _State:
        """Run a log on a fresh state; raises SessionError naming the entry that failed.

        It touches nothing of the live document, so it may run on a worker thread; ``progress``
        is called before each entry with (done, total) and may raise to cancel."""
        state = _State()
        state.memory.outside = self._all_arrays
        for i, entry in enumerate(entries):
            if progress is not None:
                progress(i, len(entries))
                state.progress = lambda i=i: progress(i, len(entries))
            try:
                self._run(state, entry)
            except ReplayCancelledError:
                raise
            except SessionError as e:
                raise ReplayError(i, entry, e) from None
        state.progress = None
        # Fingerprint here, maybe on the worker, not on the GUI thread; hashing a large session
        # takes long too, so a Cancel is heard between tensors, not only between entries.
        done = len(entries)
        self._snapshot(state, check=None if progress is None else lambda: progress(done, done))
        return state

    # --- internals -----------------------------------------------------------------------------------
    def _uid(self) -> int:
        uid = self._next_uid
        self._next_uid += 1
        return uid

    def _spec(self, op: str) -> catalogue.OpSpec:
        try:
            return catalogue.get(op)
        except KeyError:
            raise SessionError(f"unknown operation '{op}'") from None

    def _as_value(self, value: Any, dtype: Any = None) -> np.ndarray:
        if isinstance(value, Tensor):
            arr = value.detach().numpy().copy()
        elif isinstance(value, np.ndarray):
            arr = value.copy()
        else:
            try:
                arr = E.tensor(value).numpy().copy()
            except (ValueError, TypeError) as e:
                raise SessionError(str(e), kind=type(e).__name__) from None
        if dtype is not None:
            arr = arr.astype(E.dtypes.to_dtype(dtype).np)
        E.dtypes.from_numpy_dtype(arr.dtype)
        self.check_size(arr.size, itemsize=arr.itemsize)
        return arr

    def _append(self, entries: list[Entry], label: str) -> None:
        """Run new entries on the live state; on failure roll back and raise. Through
        ``runner`` when one is set (and not inside a batch, whose owner runs it)."""
        if self.runner is not None and self._batch_depth == 0:
            self.runner(lambda: self._append_now(entries, label), label)
        else:
            self._append_now(entries, label)

    def _append_now(self, entries: list[Entry], label: str) -> None:
        exp = self._expansion
        if exp is not None:  # run, not logged: the expansion's one entry stands for them
            for entry in entries:
                self._run(self._state, entry)
                exp.count += 1
            return
        before = self._snapshot() if self._batch_depth == 0 else None
        # The log only grows here: its first prev_len entries are the log before (no copy per
        # append, which made a cell of N statements cost N²).
        prev_len, prev_uid = len(self._entries), self._next_uid
        done = 0
        try:
            for entry in entries:
                _check_appendable(self, self._entries, entry)  # what no file could hold: refused now
                self._run(self._state, entry)
                self._entries.append(entry)
                arrays = entry_arrays([entry])
                self._log_arrays.add(arrays)
                self._all_arrays.add(arrays)
                done += 1
        except SessionError:
            if done:  # earlier entries of this action ran: roll them back
                self._rollback(self._entries[:prev_len], prev_uid, f"undo {label}")
            else:  # a failed entry leaves the state as it was (see _run)
                self._next_uid = prev_uid
            raise
        if self._batch_depth == 0:
            prev_entries = tuple(self._entries[:prev_len])  # before compacting rewrites the log
            self._compact_log()
            self._record_undo(prev_entries, prev_uid, label)
            self._announce(before, label)

    def _entries_differ(self, entries: Sequence[Entry]) -> bool:
        return len(self._entries) != len(entries) or any(a is not b for a, b in zip(self._entries, entries))

    def _rewrite(self, old: Entry, new: Entry, label: str) -> None:
        if not any(e is old for e in self._entries):
            raise SessionError(
                f"{describe(old)}: this tensor was made inside a for loop, which the log holds as one "
                "step, so it can't be edited on its own; change the loop and type it again"
            )
        _check_appendable(self, self._entries, new)
        entries = [new if e is old else e for e in self._entries]
        before = self._snapshot() if self._batch_depth == 0 else None
        prev = (tuple(self._entries), self._next_uid)
        try:
            self._replace_state(entries, self._next_uid, label)  # raises, untouched, if it fails
        except ReplayError as e:  # say what the change breaks, in the learner's terms
            raise SessionError(
                f"with this change, {describe(e.entry)} fails: {e.reason}", kind=e.kind
            ) from None
        if self._batch_depth == 0:  # inside a batch, the batch records one undo step at its end
            self._record_undo(prev[0], prev[1], label)
            self._announce(before, label)

    def _restore(
        self,
        source: list[tuple[tuple[Entry, ...], int, str]],
        target: list[tuple[tuple[Entry, ...], int, str]],
        verb: str,
    ) -> None:
        """Undo (or redo): go back to the top of ``source``, pushing where we are onto ``target``."""
        entries, uid, label = source[-1]
        current = (tuple(self._entries), self._next_uid, label)
        before = self._snapshot()
        self._replace_state(list(entries), uid, f"{verb} {label}")  # raises, nothing changed, if cancelled
        self._drop_step(source, -1)
        self._push_step(target, current)
        self._announce(before, f"{verb} {label}")  # after the stacks move: listeners read labels

    def _record_undo(self, entries: tuple[Entry, ...], uid: int, label: str) -> None:
        """A new action: the state before it becomes the top undo step; redo is gone. Old steps
        are dropped while the arrays only they keep exceed ``undo_memory`` (the newest stays)."""
        while self._redo:
            self._drop_step(self._redo, 0)
        self._push_step(self._undo, (entries, uid, label))
        while len(self._undo) > 1 and (
            len(self._undo) > MAX_UNDO_STEPS
            or self._all_arrays.total - self._log_arrays.total > self.undo_memory
        ):
            self._drop_step(self._undo, 0)

    def _push_step(self, stack: list, step: tuple[tuple[Entry, ...], int, str]) -> None:
        stack.append(step)
        self._all_arrays.add(entry_arrays(step[0]))

    def _drop_step(self, stack: list, i: int) -> None:
        step = stack.pop(i)
        self._all_arrays.remove(entry_arrays(step[0]))

    def _set_log(self, entries: list[Entry]) -> None:
        """Make ``entries`` the live log, keeping the array ledgers in step."""
        old, new = entry_arrays(self._entries), entry_arrays(entries)
        self._all_arrays.add(new)
        self._all_arrays.remove(old)
        self._log_arrays = Ledger()
        self._log_arrays.add(new)
        self._entries = entries

    def _compact_log(self) -> None:
        """Forget tensors that were deleted without leaving a trace on any other: their entries
        (and arrays) leave the log, so twelve ``x = torch.ones(2**25)`` keep one array, not
        twelve. The state is unchanged: it equals a replay of the shorter log."""
        if not self._deleted_since_compact:
            return
        self._deleted_since_compact = False
        entries, kept = self._entries, compacted(self._entries)
        while kept is not None:  # a tensor read only by a dropped one goes too, next pass
            entries, kept = kept, compacted(kept)
        if entries is not self._entries:
            self._set_log(entries)

    def _rollback(self, entries: list[Entry], uid: int, label: str) -> None:
        """Go back to ``entries`` after a failure or a Stop: it must finish, so no Stop applies."""
        self._unstoppable += 1
        try:
            self._replace_state(entries, uid, label, cancellable=False)
        finally:
            self._unstoppable -= 1

    def _replace_state(
        self, entries: list[Entry], uid: int, label: str = "", cancellable: bool = True
    ) -> None:
        # Raises before anything is replaced.
        if self.replayer is None or not entries:
            state = self.replay(entries)
        else:
            state = self.replayer(entries, label, cancellable)
        self._state = state
        self._set_log(entries)
        self._recount(state)  # now that the log's arrays are counted there
        self._next_uid = max(uid, 1)

    def _run(self, state: _State, entry: Entry) -> None:
        """Apply one entry to ``state``. Raises SessionError and leaves ``state`` as it was."""
        self.check_stop()
        stoppable = self.stop_requested is not None and not self._unstoppable
        with E.enable_grad(), interruptible(self.check_stop if stoppable else None):
            # (grad mode on, as a replay on a worker thread has it, whatever the caller's)
            self._run_entry(state, entry)

    def _run_entry(self, state: _State, entry: Entry) -> None:
        runner = _RUNNERS.get(type(entry))
        if runner is None:  # a Loop before gradviz.session.console (which registers it) is imported
            raise SessionError(f"{entry.kind} entries need gradviz.session.console to replay")
        try:
            runner(self, state, entry)
        except MemoryError:
            raise SessionError("not enough memory for this tensor; nothing was changed") from None
        except (RuntimeError, ValueError, TypeError, IndexError) as e:
            raise SessionError(str(e), kind=type(e).__name__) from None
        except SessionError:
            raise
        except Exception as e:  # OverflowError on uint8 + -1, ZeroDivisionError, ...: a refusal too
            raise SessionError(str(e) or type(e).__name__, kind=type(e).__name__) from None

    # One method per kind of entry (see _RUNNERS): what it does to the state.
    def _run_leaf(self, state: _State, entry: Leaf) -> None:
        if entry.name in state.tensors:
            raise SessionError(f"the name '{entry.name}' is already taken")
        self.check_size(entry.value.size, itemsize=0)
        # The tensor shares the log's array, read-only: nothing in a session writes a leaf's
        # values in place (an in-place op must copy first), and it halves the memory a leaf takes.
        value = entry.value
        if value.flags.writeable:
            value.flags.writeable = False
        t = E.from_numpy(value)
        if entry.requires_grad:
            t.requires_grad_(True)
        self._bind(
            state, entry.name, t, TensorInfo(entry.name, entry.uid, entry, hidden=entry.name.startswith("_"))
        )
        state.memory.add(entry.uid, t, shared=value)

    def _run_backward(self, state: _State, entry: Backward) -> None:
        state.grad_prints.clear()
        t = self._lookup(state, entry.target)
        grad = None if entry.gradient is None else E.from_numpy(entry.gradient.copy())
        # Every tensor that requires grad may get one (the session keeps them all).
        needed = sum(
            x.numel() * x.element_size()
            for x in state.tensors.values()
            if x.requires_grad and x._grad is None
        )
        self.check_memory(needed, f"{entry.target}.backward()'s gradients", state)
        t.backward(grad, retain_graph=entry.retain_graph)
        self._recount(state)

    def _run_zero_grad(self, state: _State, entry: ZeroGrad) -> None:
        names = entry.names if entry.names is not None else list(state.tensors)
        state.grad_prints.clear()
        for t in [self._lookup(state, n) for n in names]:  # all found before any change
            if t._grad is not None:
                if entry.set_to_none:
                    t._grad = None
                else:
                    t._grad.zero_()
        self._recount(state)

    def _run_write(self, state: _State, entry: WriteInPlace) -> None:
        t = self._lookup(state, entry.name)
        with E.no_grad():  # copy_ copies a read-only (log-shared) array before writing
            t.copy_(E.from_numpy(entry.value.copy()))

    def _run_requires_grad(self, state: _State, entry: SetRequiresGrad) -> None:
        t = self._lookup(state, entry.name)
        t.requires_grad_(entry.requires_grad)  # PyTorch's errors: non-leaf, integer dtype

    def _run_retain_grad(self, state: _State, entry: RetainGrad) -> None:
        t = self._lookup(state, entry.name)
        t.retain_grad()
        state.info[entry.name].user_retained = True

    def _run_rename(self, state: _State, entry: Rename) -> None:
        self._lookup(state, entry.old)
        if entry.new in state.tensors:
            raise SessionError(f"the name '{entry.new}' is already taken")
        t = state.tensors.pop(entry.old)
        info = state.info.pop(entry.old)
        info.name = entry.new
        info.hidden = entry.new.startswith("_")  # names starting with _ are hidden ones
        state.tensors[entry.new] = t
        state.info[entry.new] = info
        state.by_uid[info.uid] = entry.new

    def _run_delete(self, state: _State, entry: Delete) -> None:
        self._lookup(state, entry.name)
        self._deleted_since_compact = True
        info = state.info.pop(entry.name)
        state.tensors.pop(entry.name)
        state.by_uid.pop(info.uid, None)
        state.memory.remove(info.uid)

    def _lookup(self, state: _State, name: str) -> Tensor:
        try:
            return state.tensors[name]
        except KeyError:
            raise SessionError(f"name '{name}' is not defined", kind="NameError") from None

    def _run_op(self, state: _State, entry: Op) -> None:
        if entry.name in state.tensors:
            raise SessionError(f"the name '{entry.name}' is already taken")
        spec = self._spec(entry.op)
        args: list[Any] = []
        ref_uids: dict[tuple[int, str], int] = {}  # recorded only if the op succeeds
        for kind, value in entry.args:
            if kind == "ref":
                t = self._lookup(state, value)
                ref_uids[(entry.uid, value)] = state.info[value].uid
                args.append(t)
            else:
                args.append(value)
        if spec.arity is not None and len(args) != spec.arity:  # (an optional operand has no arity)
            raise SessionError(
                f"{spec.name} takes {spec.arity} operand{'s' if spec.arity != 1 else ''}, got {len(args)}"
            )
        params = {**spec.defaults(), **{k: v for k, v in entry.params.items()}}
        self.check_op(spec, args, params, state)
        if entry.scope:  # its nodes note the calls it was made in, for the graph's groups
            with entered_scopes(entry.scope):
                out = spec.fn(*args, **params)
        else:
            out = spec.fn(*args, **params)
        if out.requires_grad and out.grad_fn is not None:
            # Keep intermediate gradients visible; TensorInfo.session_retained marks them.
            out.retain_grad()
        state.ref_uids.update(ref_uids)
        for u in ref_uids.values():
            state.users.setdefault(u, {})[entry.uid] = None
        self._bind(state, entry.name, out, TensorInfo(entry.name, entry.uid, entry, hidden=entry.hidden))

    def _bind(self, state: _State, name: str, t: Tensor, info: TensorInfo) -> None:
        state.tensors[name] = t
        state.info[name] = info
        state.by_uid[info.uid] = name
        state.memory.add(info.uid, t)

    def _recount(self, state: _State) -> None:
        state.memory.rebuild((state.info[n].uid, t) for n, t in state.tensors.items())

    def _snapshot(
        self, state: _State | None = None, check: Callable[[], None] | None = None
    ) -> dict[int, tuple[str, bytes | None, bytes | None]]:
        """(name, value fingerprint, grad fingerprint) of every tensor, by uid; only what changed
        since the last snapshot of ``state`` is hashed again. ``check()`` is called before each
        tensor hashed, and may raise to stop."""
        state = state if state is not None else self._state
        out = {}
        for name, t in state.tensors.items():
            uid = state.info[name].uid
            if check is not None and (uid not in state.value_prints or uid not in state.grad_prints):
                check()
            if uid not in state.value_prints:
                state.value_prints[uid] = _fingerprint(t._data)
            if uid not in state.grad_prints:
                state.grad_prints[uid] = None if t._grad is None else _fingerprint(t._grad._data)
            out[uid] = (name, state.value_prints[uid], state.grad_prints[uid])
        return out

    def _announce(self, before: dict[int, tuple[str, bytes | None, bytes | None]] | None, label: str) -> None:
        self._announced += 1
        after = self._snapshot()
        before = before or {}
        change = Change(label=label)
        for uid, (name, value, grad) in after.items():
            if uid not in before:
                change.added.append(name)
                continue
            old_name, old_value, old_grad = before[uid]
            if old_name != name:
                change.renamed.append((old_name, name))
            if old_value != value:
                change.changed.append(name)
            if old_grad != grad:
                change.grads.append(name)
        change.removed = [before[uid][0] for uid in before if uid not in after]
        for n in change.added:
            self.tensor_added.emit(n)
        for n in change.removed:
            self.tensor_removed.emit(n)
        for old, new in change.renamed:
            self.renamed.emit(old, new)
        for n in change.changed:
            self.tensor_changed.emit(n)
        if change.grads:
            self.gradients_updated.emit(list(change.grads))
        self.changed.emit(change)


#: What each kind of entry does when it runs: one method of Session per entry type.
_RUNNERS: dict[type, Callable[[Session, _State, Any], None]] = {
    Leaf: Session._run_leaf,
    Op: Session._run_op,
    Backward: Session._run_backward,
    ZeroGrad: Session._run_zero_grad,
    SetRequiresGrad: Session._run_requires_grad,
    RetainGrad: Session._run_retain_grad,
    Rename: Session._run_rename,
    Delete: Session._run_delete,
    WriteInPlace: Session._run_write,
}


def register_runner(entry_type: type[Entry], runner: Callable[[Session, _State, Any], None]) -> None:
    """What ``entry_type`` does when it runs, for a kind defined above this module (the console
    registers the Loop's: replaying it runs console source, which this module must not import)."""
    _RUNNERS[entry_type] = runner


def _check_appendable(session: Session, log: list[Entry], entry: Entry) -> None:
    # The file format's own checks (fileformat imports this module, hence the late import).
    from .fileformat import check_appendable

    check_appendable(session, log, entry)


def compacted(entries: Sequence[Entry]) -> list[Entry] | None:
    """``entries`` without the tensors that were deleted and never read by another entry (no
    op used them, no backward started from them), with everything that touched only them; None
    if there are none. A replay of the result gives the same tensors."""
    current: dict[str, int] = {}  # live name -> index of the entry that made the tensor
    touching: dict[int, list[int]] = {}  # that index -> the entries that touch only that tensor
    pinned: set[int] = set()
    deleted: list[int] = []
    for i, e in enumerate(entries):
        pinned.update(current[r] for r in e.pins() if r in current)
        if isinstance(e, Loop):  # its tensors stay with it: it can't leave the log
            for gone in e.removes_all():
                k = current.pop(gone, None)
                if k is not None:
                    deleted.append(k)
            for made in e.defines_all():
                current[made] = i
            touching[i] = [i]
            pinned.add(i)
            continue
        about = e.concerns()
        if about is not None and about in current:
            touching[current[about]].append(i)
        gone, made = e.removes(), e.defines()
        if gone is not None and gone in current:
            k = current.pop(gone)
            if made is not None:  # renamed: the same tensor under its new name
                current[made] = k
            else:
                deleted.append(k)
        if e.tensor_uid() is not None:
            current[e.defines()] = i
            touching[i] = [i]
    drop = {i for k in deleted if k not in pinned for i in touching[k]}
    return [e for i, e in enumerate(entries) if i not in drop] if drop else None
