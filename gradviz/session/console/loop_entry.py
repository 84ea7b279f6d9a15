"""A console ``for`` loop logged as one entry (``log.Loop``), not thousands of unrolled ones.

Live, a top-level ``for`` runs as any statement does, inside ``Session.expanding``: its ops,
backwards and in-place writes run on the session's state but are kept out of the log, and one
``Loop`` entry is logged for all of them, with what a replay needs: the source, the engine's RNG
state before it, the plain console values and functions the body reads (``inputs``,
``functions``), the uids its tensors took, and a sha256 of the tensors it leaves.

On replay (``replay_loop``, registered as the Loop's runner when this package is imported) the
source runs again in a console over the replay's state, with the same RNG state and values, so
``torch.randn`` and a shuffled ``DataLoader`` draw the same numbers; the fingerprint proves the
result is the same tensors, and a mismatch (a tampered file, an edit upstream of the loop that
changes what it reads) is a refusal naming the entry.

A body that reads a console value this module can't store and rebuild (a closure, a function
whose defaults are not constants), or draws from ``np.random`` (numpy's generator, whose state
is not recorded), falls back to the unrolled entries loops made before: still one undo step,
replayed exactly from the values the entries hold, at ~20 entries per iteration of the lesson.
So does a ``for`` that is not a top-level statement of its input. Values it can store:
numbers, strings, None, lists, tuples and ranges of them, small numpy arrays, ``TensorDataset``
and ``DataLoader`` of session tensors, what ``import`` bound, the learner's own functions
(without closures), and values whose class has ``to_record`` and is registered in ``records``.
"""

from __future__ import annotations

import ast
import hashlib
import math
import time
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

import gradviz.engine as E

from ..document import ReplayCancelledError, Session, SessionError, register_runner
from ..limits import MAX_SOURCE
from ..log import Loop
from . import records
from .check import check, opens_name_scope
from .data import _LOADER_OPTIONS, DatasetValue, LoaderValue
from .evaluate import Run
from .functions import UserFunction
from .values import ConsoleError, Function, Named

if TYPE_CHECKING:
    from ..document import _State
    from .core import Console

MAX_ARRAY_INPUT = 10_000  # elements of a numpy array a loop's inputs hold (more: unrolled)
_DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64")


class _Unrecordable(Exception):  # noqa: N818 - a reason to fall back, not an error
    """A value the body reads that can't be stored as plain data."""


# --- live -----------------------------------------------------------------------------------------
def statement(run: Run, stmt: ast.stmt, last: bool) -> None:
    """A top-level statement of an input; a ``for`` loop is logged as one Loop entry when all
    it reads can be recorded (else, and inside a replay, it runs unrolled as any statement)."""
    session = run.session
    if not isinstance(stmt, ast.For) or session.is_expanding:
        run.statement(stmt, last)
        return
    try:
        inputs, functions, reads = _plan(run, stmt)
    except _Unrecordable:
        run.statement(stmt, last)  # the fallback: unrolled entries, as before loops were entries
        return
    rng = np.array(E.get_rng_state().numpy(), dtype=np.uint8, copy=True)
    before = _uids(session)
    steps = run.steps
    with session.expanding() as exp:
        run.statement(stmt, last)
        if exp.count:
            after = _uids(session)
            exp.entry = Loop(
                source=run.segment(stmt),
                iterations=run.steps - steps,
                uids=(exp.start_uid, session.next_uid),
                rng=rng,
                inputs=inputs,
                functions=functions,
                reads=reads,
                defines_=tuple(n for n, u in after.items() if before.get(n) != u),
                removes_=tuple(n for n, u in before.items() if after.get(n) != u),
                result=fingerprint(session),
            )


def uses_name_scope(loop: Loop) -> bool:
    """Whether a replay of ``loop`` opens a name scope: in its body, a function it calls or the
    forward of a module class it reads (a file holding one is format 4: older gradviz's console
    has no name scopes, and would fail in the replay rather than say the file is newer)."""
    return any(map(opens_name_scope, (loop.source, *loop.functions, *_class_sources(loop.inputs))))


def _class_sources(value: Any) -> Iterator[str]:
    """The ``class`` sources in a loop's recorded inputs (``CustomModule.to_record``)."""
    if isinstance(value, dict):
        if value.get("kind") == "nn.Module" and isinstance(value.get("source"), str):
            yield value["source"]
        value = list(value.values())
    if isinstance(value, list):
        for v in value:
            yield from _class_sources(v)


def _uids(session: Session) -> dict[str, int]:
    return {n: session.info(n).uid for n in session.names(include_hidden=True)}


def fingerprint(session: Session) -> str:
    """sha256 (hex) of every tensor of ``session``: name, uid, dtype, shape, values,
    requires_grad and gradient. Two runs of a loop that give the same one made the same state."""
    h = hashlib.sha256()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # .grad of a tensor that is not a leaf
        for name, t in sorted(session.tensors().items()):
            _hash_tensor(h, session, name, t)
    return h.hexdigest()


def _hash_tensor(h: Any, session: Session, name: str, t: Any) -> None:
    value = np.ascontiguousarray(t.detach().numpy())
    h.update(repr((name, session.info(name).uid, value.dtype.str, value.shape, t.requires_grad)).encode())
    h.update(value.tobytes())
    g = t.grad
    if g is None:
        h.update(b"no grad")
    else:
        grad = np.ascontiguousarray(g.numpy())
        h.update(repr(("grad", grad.dtype.str, grad.shape)).encode())
        h.update(grad.tobytes())


def _mentioned(nodes: list[ast.AST]) -> set[str]:
    return {n.id for node in nodes for n in ast.walk(node) if isinstance(n, ast.Name)}


def _plan(run: Run, stmt: ast.For) -> tuple[dict[str, Any], tuple[str, ...], tuple[str, ...]]:
    """What the loop reads: console values (as plain data), functions (as source), session
    tensors (names). Raises _Unrecordable for a value that can't be stored."""
    console, session = run.console, run.session
    inputs: dict[str, Any] = {}
    functions: list[str] = []
    reads: list[str] = []
    if len(run.segment(stmt)) > MAX_SOURCE:
        raise _Unrecordable("source")  # more than a file holds as one entry's source
    _refuse_numpy_random([stmt])
    todo = sorted(_mentioned([stmt]), reverse=True)
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in session and not session.info(name).hidden:  # as Run.lookup finds names
            reads.append(name)
        elif name in console.variables:
            value = console.variables[name]
            if isinstance(value, UserFunction):
                _refuse_numpy_random(value.body)
                functions.append(_function_source(name, value))
                if len(functions[-1]) > MAX_SOURCE:
                    raise _Unrecordable(name)
                todo += sorted(_mentioned(value.body) - set(value.params) - seen, reverse=True)
            else:
                inputs[name] = _encode(value, run, reads)
    return inputs, tuple(functions), tuple(dict.fromkeys(reads))


def _refuse_numpy_random(nodes: list[ast.AST]) -> None:
    """``np.random`` draws from numpy's own generator, whose state a Loop doesn't hold: such a
    body is unrolled (its draws are then leaf values in the log), so it still replays exactly."""
    for node in nodes:
        if any(isinstance(n, ast.Attribute) and n.attr == "random" for n in ast.walk(node)):
            raise _Unrecordable("np.random")


def _function_source(name: str, fn: UserFunction) -> str:
    """Source that binds ``name`` to ``fn`` again: its def (or ``name = lambda ...``)."""
    if fn.enclosing or not all(_constant(d) for d in fn.defaults):
        raise _Unrecordable(name)  # a closure, or defaults that are not plain constants
    args = ast.arguments(
        posonlyargs=[],
        args=[ast.arg(p) for p in fn.params],
        kwonlyargs=[],
        kw_defaults=[],
        defaults=[ast.Constant(d) for d in fn.defaults],
    )
    node: ast.stmt
    if fn.name == "<lambda>":
        ret = fn.body[0]
        assert isinstance(ret, ast.Return) and ret.value is not None
        node = ast.Assign([ast.Name(name, ast.Store())], ast.Lambda(args, ret.value))
    else:
        node = ast.FunctionDef(name, args, fn.body, [], None)
    return ast.unparse(ast.fix_missing_locations(node))


def _constant(v: Any) -> bool:
    return v is None or isinstance(v, (bool, int, str)) or (isinstance(v, float) and math.isfinite(v))


def _encode(value: Any, run: Run, reads: list[str]) -> Any:
    """``value`` as JSON data that ``_decode`` turns back into it."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"kind": "float", "repr": repr(value)}
    if isinstance(value, list):
        return [_encode(v, run, reads) for v in value]
    if isinstance(value, tuple) and type(value) is tuple:
        return {"kind": "tuple", "items": [_encode(v, run, reads) for v in value]}
    if isinstance(value, range):
        return {"kind": "range", "start": value.start, "stop": value.stop, "step": value.step}
    if isinstance(value, np.ndarray):
        if value.size > MAX_ARRAY_INPUT or value.dtype.name not in _DTYPES:
            raise _Unrecordable("array")
        return {
            "kind": "ndarray",
            "dtype": value.dtype.name,
            "shape": list(value.shape),
            "values": [_encode(v, run, reads) for v in value.ravel().tolist()],
        }
    if isinstance(value, DatasetValue):
        return {"kind": "TensorDataset", "tensors": _dataset_names(value, run, reads)}
    if isinstance(value, LoaderValue):
        names = _dataset_names(value.dataset, run, reads)
        return {"kind": "DataLoader", "dataset": names, "options": dict(value.options)}
    imported = _import_of(value, run.console)
    if imported is not None:
        return imported
    record = records.record_of(value)
    if record is not None:
        return {"kind": "record", "record": record}
    raise _Unrecordable(type(value).__name__)


def _dataset_names(ds: DatasetValue, run: Run, reads: list[str]) -> list[str]:
    names = []
    for t in ds.tensors:
        name = run.session.name_of_uid(t.uid) if t.uid is not None else None
        if name is None:
            raise _Unrecordable("dataset")
        names.append(name)
        reads.append(name)
    return names


def _import_of(value: Any, console: Console) -> dict[str, Any] | None:
    for module, ns in console.imports.items():
        if value is ns:
            return {"kind": "import", "module": module}
        members = getattr(ns, "members", {})
        for member, v in members.items():
            if value is v and isinstance(v, Function):
                return {"kind": "import", "module": module, "member": member}
    return None


# --- replay ---------------------------------------------------------------------------------------
def _decode(data: Any, console: Console) -> Any:
    if isinstance(data, list):
        return [_decode(v, console) for v in data]
    if not isinstance(data, dict):
        return data
    kind = data.get("kind")
    if kind == "tuple":
        return tuple(_decode(v, console) for v in data["items"])
    if kind == "float":
        return float(data["repr"])
    if kind == "range":
        return range(int(data["start"]), int(data["stop"]), int(data["step"]))
    if kind == "ndarray":
        values = [_decode(v, console) for v in data["values"]]
        return np.array(values, dtype=np.dtype(data["dtype"])).reshape(data["shape"])
    if kind == "TensorDataset":
        return _dataset(data["tensors"], console)
    if kind == "DataLoader":
        options = data["options"]
        if not isinstance(options, dict) or not set(options) <= set(_LOADER_OPTIONS):
            raise ValueError(f"DataLoader options {options!r}")
        return LoaderValue(_dataset(data["dataset"], console), options)
    if kind == "import":
        ns = console.imports[data["module"]]
        return ns.members[data["member"]] if "member" in data else ns
    if kind == "record":
        return records.from_record(data["record"], console)
    raise ValueError(f"unknown input kind {kind!r}")


def _dataset(names: list[str], console: Console) -> DatasetValue:
    s = console.session
    tensors = [Named(s.info(n).uid) for n in names]
    rows = {s.tensor(n).shape[0] if s.tensor(n).ndim else None for n in names}
    if len(rows) != 1 or None in rows:
        raise ValueError("Size mismatch between tensors")
    return DatasetValue(tensors, rows.pop())  # type: ignore[arg-type]


def _run_source(console: Console, source: str, what: str) -> int:
    """Run one recorded statement (``what`` it must be); returns the console steps it ran."""
    tree = ast.parse(source, "<loop>", "exec")
    ok = {"loop": (ast.For,), "function": (ast.FunctionDef, ast.Assign)}[what]
    if len(tree.body) != 1 or not isinstance(tree.body[0], ok):
        must = "its source must be one for statement" if what == "loop" else "each function must be one def"
        raise ConsoleError(must)
    check(tree)
    run = Run(console, source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run.line = tree.body[0].lineno
            run.statement(tree.body[0], last=False)
    finally:
        console.measure.clear()
    console.last_training = next((r for r in reversed(run.recorded) if r is not None), None)
    return run.steps


def _ready(console: Console, entry: Loop) -> None:
    """Bind what the loop read (its functions, then its inputs) in ``console``."""
    for source in entry.functions:
        _run_source(console, source, "function")
    if not isinstance(entry.inputs, dict):
        raise ValueError("inputs must be an object")
    for name, data in entry.inputs.items():
        console.variables[name] = _decode(data, console)


def replay_loop(session: Session, state: _State, entry: Loop) -> None:
    """The Loop's runner: its source run again on ``state``, checked against its fingerprint."""
    from .core import Console

    view = session.replaying_on(state, entry.uids[0])
    cancelled = _report_progress(view, state.progress)
    console = Console(view, max_iterations=entry.iterations)
    saved = E.get_rng_state()
    try:
        _ready(console, entry)
        E.set_rng_state(E.from_numpy(np.array(entry.rng, dtype=np.uint8, copy=True)))
        steps = _run_source(console, entry.source, "loop")
    except (ReplayCancelledError, MemoryError):
        raise
    except Exception as e:
        if cancelled:  # the replay's progress raised: the person's Cancel
            raise ReplayCancelledError("cancelled; nothing was changed") from cancelled[0]
        raise _failed(entry, e) from None
    finally:
        E.set_rng_state(saved)
    if steps != entry.iterations or view.next_uid != entry.uids[1] or fingerprint(view) != entry.result:
        raise SessionError(
            "the loop replayed to other tensors than it made when it ran: what it reads (a value "
            "edited before it, or the file) changed. A recorded loop replays only the way it ran; "
            "undo it, or type the loop again after the edit"
        )
    if console.last_training is not None:  # the Training panel's plots of an opened session
        console.last_training.mark, console.last_training.source = entry, entry.source
        session.replayed_training = console.last_training


def _failed(entry: Loop, e: Exception) -> SessionError:
    """What replay says when the loop's source fails to run again (a tampered file)."""
    if isinstance(e, SessionError):
        return SessionError(f"the loop failed on replay: {e}", kind=e.kind)
    if isinstance(e, ConsoleError) and str(e).startswith("this input ran more than"):
        # (its budget, Console.max_iterations, is the steps it recorded)
        return SessionError(f"the loop ran more than the {entry.iterations:,} steps it made when it ran")
    return SessionError(f"the loop failed on replay: {type(e).__name__}: {e}", kind=type(e).__name__)


def _report_progress(view: Session, report: Callable[[], None] | None) -> list[BaseException]:
    """Let a long loop's replay report progress (and hear a Cancel) between its ops, at most
    every 50 ms: ``view``'s stop check calls ``report``. Returns where what it raised is kept
    (replay_loop turns it into ReplayCancelledError: the runner's caller would take any other
    exception for the entry's failure)."""
    cancelled: list[BaseException] = []
    if report is None:
        return cancelled
    parent, last = view.stop_requested, [time.monotonic()]

    def stop() -> bool:
        now = time.monotonic()
        if now - last[0] >= 0.05:
            last[0] = now
            try:
                report()
            except BaseException as e:
                cancelled.append(e)
                raise
        return bool(parent is not None and parent())

    view.stop_requested = stop
    return cancelled


def unroll(session: Session, entry: Loop) -> None:
    """Run ``entry`` in ``session`` (holding the log before it) logged unrolled, entry by entry,
    as one undo step: for what needs the loop's own steps (stepping through its last backward)."""
    from .core import Console

    console = Console(session, max_iterations=entry.iterations)
    console.record_training = False
    saved = E.get_rng_state()
    try:
        with session.batch("unroll the loop"):
            _ready(console, entry)
            E.set_rng_state(E.from_numpy(np.array(entry.rng, dtype=np.uint8, copy=True)))
            _run_source(console, entry.source, "loop")
    except (SessionError, ConsoleError) as e:
        raise SessionError(f"the loop can't be run again: {e}") from None
    finally:
        E.set_rng_state(saved)


register_runner(Loop, replay_loop)
