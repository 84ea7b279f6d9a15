"""The statements that steer: ``for``, ``if``, ``with torch.no_grad():`` (and with a name
scope, groups.py), ``break``/``continue``,
and ``def``/``lambda``/``return`` (the functions themselves are ``functions.UserFunction``).

Every loop iteration and every call of a learner's function spends one step of the input's
budget (``Console.max_iterations``), so no input runs for ever; when it is spent, the input
fails as a whole and the session's batch rolls it back, so nothing half-done is kept.
"""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import gradviz.engine as E

from ..training import TrainingRecorder
from . import names
from .check import WITH_ONLY
from .data import LoaderValue
from .functions import UserFunction
from .groups import NameScope, opened
from .operators import index
from .values import ConsoleError, GradMode, Lazy, ObjectValue, ReturnTypes, TensorValue, type_name

if TYPE_CHECKING:
    from .evaluate import Run

MAX_ITERATIONS = 100_000  # loop iterations and function calls one input may run
MAX_CALL_DEPTH = 40  # a learner's functions calling each other (recursion)


class BreakLoop(Exception):  # noqa: N818 - control flow, not an error
    """``break``: caught by the loop it is in (``check`` refuses it anywhere else)."""


class ContinueLoop(Exception):  # noqa: N818
    """``continue``."""


class ReturnValue(Exception):  # noqa: N818
    """``return``: caught by the call of the function it is in."""

    def __init__(self, value: Any) -> None:
        self.value = value


def tick(run: Run) -> None:
    """One more step of the input's budget (an iteration or a call)."""
    run.steps += 1
    limit = run.console.max_iterations
    if run.steps > limit:
        raise ConsoleError(
            f"this input ran more than {limit:,} loop iterations and function calls, the console's limit "
            "(Console.max_iterations); nothing was changed. Each input may run that many: type the loop "
            "again to go on from where it is (or run fewer steps at once), or raise the limit where "
            "gradviz is used from Python: Console(session, max_iterations=...)"
        )
    run.session.check_stop()
    if run.console.on_tick is not None:  # the window's "step k of N"
        run.console.on_tick(run.steps)


def execute(run: Run, stmt: ast.stmt) -> None:
    """A compound statement or a jump."""
    if isinstance(stmt, ast.For):
        run_for(run, stmt)
    elif isinstance(stmt, ast.If):
        block(run, stmt.body if run.truth(run.eval(stmt.test)) else stmt.orelse)
    elif isinstance(stmt, ast.With):
        run_with(run, stmt)
    elif isinstance(stmt, ast.FunctionDef):
        names.assign(run, ast.Name(stmt.name, ast.Store()), define(run, stmt, stmt.name, stmt.body))
    elif isinstance(stmt, ast.ClassDef):
        from .classes import define_class  # (it builds on this module's define)

        names.assign(run, ast.Name(stmt.name, ast.Store()), define_class(run, stmt))
    elif isinstance(stmt, ast.Return):
        raise ReturnValue(None if stmt.value is None else run.eval(stmt.value))
    elif isinstance(stmt, ast.Break):
        raise BreakLoop
    elif isinstance(stmt, ast.Continue):
        raise ContinueLoop
    else:  # pragma: no cover - check() refuses everything else
        raise ConsoleError(f"{type(stmt).__name__} is not allowed in the console")


def block(run: Run, body: list[ast.stmt]) -> None:
    """Statements inside a compound one: each collects the hidden tensors it left, as a
    top-level statement does, while what the enclosing statement made is kept for it."""
    outer = run.created, run.unbound
    try:
        for stmt in body:
            run.line = stmt.lineno
            run.statement(stmt, last=False)
    finally:
        run.created, run.unbound = outer


def run_for(run: Run, stmt: ast.For) -> None:
    if run.console.recording is None and run.console.record_training:  # the outermost loop
        run.console.recording = TrainingRecorder(run.session)
        run.console.recording.run.source = run.segment(stmt)  # the loop's own code, for its title
        try:
            _loop(run, stmt)
        finally:
            run.recorded.append(run.console.recording.finish())
            run.console.recording = None
    else:
        _loop(run, stmt)


def _loop(run: Run, stmt: ast.For) -> None:
    for item in iterate(run, run.eval(stmt.iter)):
        tick(run)
        run.line = stmt.lineno
        names.assign(run, stmt.target, item)
        try:
            block(run, stmt.body)
        except BreakLoop:
            break
        except ContinueLoop:
            continue


def iterate(run: Run, value: Any) -> Iterator[Any]:
    """What ``for`` walks: a range, a list or tuple, a tensor's rows, zip/enumerate of those."""
    if isinstance(value, (range, list, tuple, str)):
        yield from value
    elif isinstance(value, (Lazy, LoaderValue)):
        yield from value.walk(run)
    elif isinstance(value, ReturnTypes):
        yield from value.items()
    elif isinstance(value, ObjectValue):  # a Sequential's modules
        yield from value.iterate()
    elif isinstance(value, TensorValue):
        t = value.tensor(run)
        if t.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        for i in range(t.shape[0]):
            yield index(run, value, i)
    elif hasattr(value, "shape") and hasattr(value, "dtype") and hasattr(value, "tolist"):  # a numpy array
        if value.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        yield from value
    else:
        raise TypeError(f"'{type_name(value)}' object is not iterable")


def run_with(run: Run, stmt: ast.With) -> None:
    """``with torch.no_grad():``, and name scopes: ``with torch.profiler.record_function("l1"):``."""
    items = [run.eval(item.context_expr) for item in stmt.items]
    if not all(isinstance(m, (GradMode, NameScope)) for m in items):
        raise ConsoleError(WITH_ONLY)
    modes = [m for m in items if isinstance(m, GradMode)]
    enabled = modes[-1].enabled if modes else E.is_grad_enabled()
    with contextlib.ExitStack() as stack:
        stack.enter_context(E.set_grad_enabled(enabled))
        for m in items:
            if isinstance(m, NameScope):
                stack.enter_context(opened(run, m.name))
        block(run, stmt.body)


def define(run: Run, node: ast.FunctionDef | ast.Lambda, name: str, body: list[ast.stmt]) -> UserFunction:
    """A function value: its parameters' defaults evaluated now, as Python does."""
    defaults = [run.eval(d) for d in node.args.defaults]
    if any(isinstance(d, TensorValue) for d in defaults):
        raise ConsoleError("a tensor as a parameter's default is not supported in the console")
    return UserFunction(name, [a.arg for a in node.args.args], defaults, body, tuple(run.scopes))


def lambda_function(run: Run, node: ast.Lambda) -> UserFunction:
    ret = ast.Return(node.body)
    ast.copy_location(ret, node.body)
    return define(run, node, "<lambda>", [ret])
