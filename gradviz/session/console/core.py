"""The console: the seed notebook's own language, recorded in a Session.

    t3 = torch.tensor([[5., 6], [7, 8], [9, 10]])
    w = torch.tensor(4., requires_grad=True)
    y = w*x + b
    y.backward()
    w.grad

Source is parsed with ``ast``, judged by ``check`` against a whitelist of node types and
evaluated by ``evaluate.Run`` walking it. Nothing reaches ``eval``/``exec``; no attribute is
looked up on a live object by a name the user typed (every attribute and method is an entry in a
table in ``attributes``); only constructors (``session.constructors``), catalogue ops, the tensor
methods listed in ``attributes`` and a few harmless builtins (``print``, ``len`` ...) can be
called. Anything else is refused before any statement runs, with an error that names the construct.

This module holds ``Console`` (running an input as one undo step, and completion) and its result.

Choices a reader should know:

- One ``run`` is one undo step (``Session.batch``); if any statement fails, the whole input is
  rolled back and the error says which statement and why, in PyTorch's words where it has them.
- Tensors are computed at once (to show them, and to fail where PyTorch fails) but *recorded* only
  when they must be kept: assigned to a name, or the target of ``backward()``/``retain_grad()``.
  An expression statement such as ``w*x + b`` or ``print(w*x)`` shows its value and records
  nothing, as nothing could ever refer to that tensor again. The unnamed steps of a recorded
  expression (the ``w*x`` in ``y = w*x + b``) become hidden ops.
- Names behave as in Python. ``y = y * 2`` keeps the old ``y`` in the graph under a hidden name;
  a tensor that nothing refers to any more (re-assigned or ``del``-ed, with no dependents) is
  deleted, and so are hidden tensors left without dependents. ``y = x`` would give one tensor two
  names, which a session can't express, so it is refused.
- ``w.grad`` shows the gradient; used in a computation it is a constant snapshot (a hidden leaf),
  as in ``w2 = w - 0.1 * w.grad``. ``.grad`` of an intermediate the user didn't ``retain_grad()``
  shows None with PyTorch's warning, although the session keeps it for the graph.
- Plain Python values (``lr = 0.1``) live in the console, not in the session: they are neither
  saved nor undone. Lists or tuples of tensors can't be stored in them. Their size is bounded
  before they are made (``console.limits``): strings, lists, integers, format widths, numpy
  results and the text one input prints or shows.
- ``import torch`` (and the like: ``import torch.nn.functional as F``) is accepted and does
  nothing, since those names are always defined; ``import numpy as np`` and ``from
  torch.utils.data import DataLoader`` bind their names; every other import is refused.
- ``for``, ``if`` and ``with torch.no_grad():`` run their bodies statement by statement, each
  recorded as a top-level one is; the whole input is still one undo step, and one input runs at
  most ``max_iterations`` loop iterations and calls. ``w -= lr * w.grad`` under ``no_grad`` and
  ``row += 1`` on a view write in place (``WriteInPlace`` entries), as PyTorch does; a tensor
  computed under ``no_grad`` is recorded as a constant, which it is.
- A top-level ``for`` is logged as one entry, its source with what it read (``loop_entry``),
  which replay runs again; one that reads what can't be recorded is logged unrolled.
"""

from __future__ import annotations

import ast
import io
import sys
import tokenize
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..document import Session, SessionError
from ..training import TrainingRecorder, TrainingRun
from . import control, loop_entry, namespaces, persist
from .check import check
from .complete import complete
from .evaluate import Run
from .limits import Measure
from .values import ConsoleError


@dataclass
class ConsoleResult:
    """What one ``run`` showed and did."""

    output: str = ""  # exactly what the notebook shows: printed text, then the trailing value's repr
    error: str | None = None  # the message, e.g. "name 'q' is not defined"
    error_type: str | None = None  # the Python exception's name, e.g. "NameError"
    statements: int = 0  # top-level statements in the input
    executed: int = 0  # statements that ran before an error (all of them rolled back then)
    error_line: int | None = None  # the line of the statement that failed
    printed: str = ""  # just the print() output
    result: str | None = None  # just the trailing value's repr (None: nothing shown)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def text(self) -> str:
        """Output then, if it failed, the error as Python's traceback ends: ``NameError: ...``."""
        return self.output + (f"{self.error_type}: {self.error}\n" if self.error is not None else "")


def _suppressed(source: str) -> bool:
    """IPython hides the trailing value when the input ends with ';'."""
    last = None
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type not in (
                tokenize.COMMENT,
                tokenize.NL,
                tokenize.NEWLINE,
                tokenize.ENDMARKER,
                tokenize.INDENT,
                tokenize.DEDENT,
            ):
                last = tok
    except (tokenize.TokenError, SyntaxError):
        return False
    return last is not None and last.type == tokenize.OP and last.string == ";"


class Console:
    """Runs the notebook's language against a session. ``variables`` holds plain Python values."""

    def __init__(self, session: Session, max_iterations: int = control.MAX_ITERATIONS) -> None:
        self.session = session
        self.max_iterations = max_iterations  # loop iterations and calls one input may run
        self.variables: dict[str, Any] = {}
        self.on_tick: Callable[[int], None] | None = None  # each loop iteration and call: progress
        self.measure = Measure()  # sizes of Python values, for the limits in console.limits
        names = namespaces.build()
        self.ops = names.ops
        self.methods = names.methods  # Tensor methods that are catalogue ops, and their aliases
        self.globals = names.globals  # torch, gradviz, F, nn and the builtins
        self.live_methods = names.live_methods  # x.argmax(), x.permute(...): see live_ops
        self.imports = names.imports  # what ``import numpy as np`` binds
        # Training loops (session.training): the one running now, for a live plot, and the last
        # loop of a successful input that called backward(); a failed input keeps the old one.
        self.record_training = True
        self.recording: TrainingRecorder | None = None
        self.last_training: TrainingRun | None = None

    # --- running ------------------------------------------------------------------------------------
    def run(self, source: str) -> ConsoleResult:
        """Run one input (one or more statements) as one undo step."""
        result = ConsoleResult()
        tree = _parse(source, result)
        if tree is None:
            return result
        run = Run(self, source)
        variables = dict(self.variables)
        first = source.strip().splitlines()[0] if source.strip() else ""
        label = "console: " + (first if len(first) <= 60 else first[:57] + "...")
        self.measure.clear()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                with self.session.batch(label):
                    for i, stmt in enumerate(tree.body):
                        run.line = stmt.lineno
                        # (a for loop is logged as one entry: loop_entry)
                        loop_entry.statement(run, stmt, last=i == len(tree.body) - 1)
                        result.executed += 1
                runs = [r for r in run.recorded if r is not None]  # the batch is kept: so are they
                if runs:
                    self.last_training = runs[-1]
                    self.last_training.mark = self.session.entries[-1] if self.session.entries else None
            except Exception as e:  # the batch rolled the session back already
                self.variables = variables
                result.error_type, result.error = _describe_error(e)
                result.error_line = run.line
                run.shown = None
            finally:
                self.measure.clear()  # it keeps what it measured alive
                persist.remember(self)  # the modules and optimisers, for the file
        result.printed = "".join(run.out)
        if run.shown is not None and not _suppressed(source):
            result.result = run.shown
        result.output = result.printed + (result.result + "\n" if result.result is not None else "")
        result.warnings = run.warnings + [
            f"{w.category.__name__}: {w.message}" for w in caught if issubclass(w.category, UserWarning)
        ]
        return result

    def complete(self, prefix: str) -> list[str]:
        """Completions of the dotted name at the end of ``prefix``, each the whole of ``prefix``
        completed: ``complete("y = w.ex")`` gives ``["y = w.exp"]``."""
        return complete(self, prefix)


def _parse(source: str, result: ConsoleResult) -> ast.Module | None:
    """The input's tree once ``check`` passed it; else None, and ``result`` says why."""
    try:
        tree = ast.parse(source, "<console>", "exec")
    except SyntaxError as e:
        result.error_type, result.error, result.error_line = (
            type(e).__name__,
            f"{e.msg} (line {e.lineno})",
            e.lineno,
        )
        return None
    except (RecursionError, MemoryError, ValueError) as e:
        result.error_type = "SyntaxError"
        result.error = "the input is too deeply nested" if not isinstance(e, ValueError) else str(e)
        return None
    result.statements = len(tree.body)
    try:
        check(tree)
    except ConsoleError as e:
        result.error_type, result.error = "ConsoleError", str(e)
        return None
    return tree


def _describe_error(e: BaseException) -> tuple[str, str]:
    if isinstance(e, ConsoleError):
        return "ConsoleError", str(e)
    if isinstance(e, RecursionError):
        return "RecursionError", "the expression is too deeply nested"
    if isinstance(e, MemoryError):
        return "MemoryError", "not enough memory for this; nothing was changed"
    if isinstance(e, SessionError):  # the exception PyTorch raises for the same thing
        return e.kind, str(e)
    if isinstance(e, KeyError):
        return "KeyError", str(e.args[0]) if e.args else ""
    if isinstance(e, ValueError) and "for integer string conversion" in str(e):
        # Python's own bound; its advice (sys.set_int_max_str_digits) is not available here
        return "ValueError", (
            f"this integer has more than {sys.get_int_max_str_digits():,} digits, more than Python turns "
            "into text; nothing was shown"
        )
    return type(e).__name__, str(e)
