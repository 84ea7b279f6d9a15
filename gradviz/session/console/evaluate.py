"""The evaluator: one input's statements run by walking their AST (which ``check`` has passed).

A ``Run`` is the context of one input: the print buffer, the trailing value shown, the hidden
tensors each statement recorded (collected when nothing depends on them), and the source, for
messages that quote it. Names, attributes, operators, calls and their arguments are the other
modules of this package; this one walks statements and expressions and hands each node on.
"""

from __future__ import annotations

import ast
import operator
import re
from typing import TYPE_CHECKING, Any

from ..limits import MAX_ROWS
from . import control, names
from .attributes import attribute
from .check import PY_BUILTINS
from .functions import UserFunction
from .limits import check_format_spec, check_items, check_shown, check_string, format_bound
from .operators import binop, compare, index, unaryop
from .values import (
    ConsoleError,
    Function,
    Lazy,
    Method,
    Named,
    ObjectValue,
    ReturnTypes,
    TensorValue,
    plain,
    type_name,
)

if TYPE_CHECKING:
    from .core import Console

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")  # lines as Python's parser counts them


class Run:
    """The evaluation of one input: the values context, print buffer, hidden tensors to collect."""

    def __init__(self, console: Console, source: str) -> None:
        self.console = console
        self.session = console.session
        self.source = source
        self.out: list[str] = []
        self.warnings: list[str] = []
        self.created: list[str] = []  # hidden tensors recorded by this statement
        self.unbound: list[str] = []  # tensors that lost their name in this statement
        self.shown: str | None = None
        self.line = 0
        self.measure = console.measure
        self.out_chars = 0  # printed so far: one input prints at most MAX_STRING characters
        self._lines: list[bytes] | None = None  # the source's lines, encoded (ast's offsets are bytes)
        self.steps = 0  # loop iterations and calls so far (control.tick bounds them)
        self.scopes: list[dict[str, Any]] = []  # the local names of the functions being run
        self.depth = 0  # calls of the learner's functions under way
        self.deferred: list[str] = []  # hidden tensors a function's locals held: collected after it
        self.recorded: list[Any] = []  # the TrainingRun of each outermost loop (None: no backward)
        self.groups: list[tuple[str, str, str]] = []  # module calls and name scopes open (groups.py)
        self.group_calls = 0  # groups opened so far: a part of each one's key
        self.calling: list[tuple[Any, str]] = []  # the modules being called, with their paths

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def segment(self, node: ast.AST) -> str:
        """``node``'s source text, as ``ast.get_source_segment`` gives it, from lines split once
        per input (get_source_segment splits the whole input at each call: N² for N lines)."""
        end_line, end_col = getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None)
        if end_line is None or end_col is None:
            return ast.unparse(node)
        if self._lines is None:
            self._lines = [m.group().encode() for m in _LINE.finditer(self.source)]
        lines, first, col = self._lines, node.lineno - 1, node.col_offset  # type: ignore[attr-defined]
        if not 0 <= first < end_line <= len(lines):
            return ast.unparse(node)
        if first == end_line - 1:
            text = lines[first][col:end_col]
        else:
            text = (
                lines[first][col:] + b"".join(lines[first + 1 : end_line - 1]) + lines[end_line - 1][:end_col]
            )
        return text.decode(errors="replace") or ast.unparse(node)

    def check_output(self, more: int) -> None:
        self.out_chars += more
        check_string(self.out_chars, "the output of this input")

    # --- statements ---------------------------------------------------------------------------------
    def statement(self, stmt: ast.stmt, last: bool) -> None:
        self.created, self.unbound = [], []
        if isinstance(stmt, ast.Expr):
            value = self.eval(stmt.value)
            if last:
                self.show(value)
        elif isinstance(stmt, ast.Assign):
            if len(stmt.targets) != 1:
                raise ConsoleError("chained assignment (a = b = ...) is not supported in the console")
            names.assign(self, stmt.targets[0], self.eval(stmt.value))
        elif isinstance(stmt, ast.AugAssign):
            names.augassign(self, stmt)
        elif isinstance(stmt, ast.Delete):
            for target in stmt.targets:
                names.delete(self, target)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            names.import_names(self, stmt)  # only the imports check passed get here
        elif isinstance(stmt, ast.Pass):
            pass
        elif isinstance(
            stmt,
            (ast.For, ast.If, ast.With, ast.FunctionDef, ast.ClassDef, ast.Return, ast.Break, ast.Continue),
        ):
            control.execute(self, stmt)
        else:  # check() refuses everything else first
            raise ConsoleError(f"{type(stmt).__name__} is not allowed in the console")
        deferred, self.deferred = (self.deferred, []) if not self.scopes else ([], self.deferred)
        names.collect(self, self.created + self.unbound + deferred)

    def show(self, value: Any) -> None:
        """The input's trailing value, as the notebook shows it (None shows nothing)."""
        shown = plain(value, self)
        if shown is not None:
            check_shown(shown, self.measure)
            self.shown = repr(shown)
            self.check_output(len(self.shown))

    # --- expressions --------------------------------------------------------------------------------
    def eval(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self.lookup(node.id)
        if isinstance(node, ast.Attribute):
            return attribute(self, self.eval(node.value), node.attr, node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.BinOp):
            return binop(self, node.op, self.eval(node.left), self.eval(node.right))
        if isinstance(node, ast.UnaryOp):
            return unaryop(self, node.op, self.eval(node.operand))
        if isinstance(node, ast.Compare):
            if len(node.ops) != 1:
                raise ConsoleError("chained comparisons (a < b < c) are not supported in the console")
            return compare(self, node.ops[0], self.eval(node.left), self.eval(node.comparators[0]))
        if isinstance(node, ast.BoolOp):
            value = None
            for v in node.values:
                value = self.eval(v)
                if self.truth(value) == isinstance(node.op, ast.Or):
                    return value
            return value
        if isinstance(node, ast.IfExp):
            return self.eval(node.body) if self.truth(self.eval(node.test)) else self.eval(node.orelse)
        if isinstance(node, ast.List):
            return self.sequence([self.eval(e) for e in node.elts], "this list")
        if isinstance(node, ast.Tuple):
            return self.sequence(tuple(self.eval(e) for e in node.elts), "this tuple")
        if isinstance(node, ast.Subscript):
            return self.subscript(self.eval(node.value), self.eval_index(node.slice))
        if isinstance(node, ast.JoinedStr):
            return self.f_string(node)
        if isinstance(node, ast.Lambda):
            return control.lambda_function(self, node)
        raise ConsoleError(f"{type(node).__name__} is not allowed in the console")

    def sequence(self, value: Any, what: str) -> Any:
        """A new list or tuple, refused when it (with the lists nested in it, once per
        appearance) holds more than the console's limit: ``a = [a, a]`` doubles at each line."""
        check_items(self.measure.of(value).items, what, self.session)
        return value

    def f_string(self, node: ast.JoinedStr) -> str:
        parts, total = [], 0
        for v in node.values:
            parts.append(self.format_part(v))
            total += len(parts[-1])
            check_string(total, "this f-string")
        return "".join(parts)

    def format_part(self, node: ast.expr) -> str:
        if isinstance(node, ast.Constant):
            return str(node.value)
        assert isinstance(node, ast.FormattedValue)
        value = plain(self.eval(node.value), self)
        if node.conversion in (ord("r"), ord("s"), ord("a")):
            bound = self.measure.of(value).chars * (10 if node.conversion == ord("a") else 1)
            check_string(bound, "this f-string value")
            conversion = {ord("r"): repr, ord("s"): str, ord("a"): ascii}[node.conversion]
            value = conversion(value)
        spec = self.eval(node.format_spec) if node.format_spec is not None else ""
        if not isinstance(spec, str):  # pragma: no cover - a format spec is always an f-string
            raise TypeError("format spec must be a string")
        check_format_spec(spec)
        check_string(format_bound(value, spec, self.measure), "this f-string value")
        return format(value, spec)

    def lookup(self, name: str) -> Any:
        for scope in reversed(self.scopes):  # a function's locals, then those it was defined in
            if name in scope:
                return scope[name]
        s = self.session
        if name in s and not s.info(name).hidden:
            return Named(s.info(name).uid)
        if name in self.console.variables:
            return self.console.variables[name]
        if name in self.console.globals:
            return self.console.globals[name]
        if name in PY_BUILTINS:
            raise ConsoleError(f"'{name}' is not available in the console")
        raise NameError(f"name '{name}' is not defined")

    def truth(self, value: Any) -> bool:
        return bool(plain(value, self))

    def items(self, value: Any) -> list[Any]:
        """What iterating ``value`` gives (for unpacking, list(), *args)."""
        if isinstance(value, ReturnTypes):
            return list(value.items())
        if isinstance(value, TensorValue):
            t = value.tensor(self)
            if t.ndim == 0:
                raise TypeError("iteration over a 0-d tensor")
            if t.shape[0] > MAX_ROWS:
                raise ConsoleError(
                    f"iterating over {t.shape[0]:,} rows is more than the console does ({MAX_ROWS:,})"
                )
            return [index(self, value, i) for i in range(t.shape[0])]
        if isinstance(value, str):
            check_items(len(value), "the characters of this string", self.session)
        if isinstance(value, (list, tuple, str)):
            return list(value)
        if isinstance(value, ObjectValue):
            return value.iterate()
        if isinstance(value, (range, Lazy)):
            out: list[Any] = []
            for v in control.iterate(self, value):
                out.append(v)
                check_items(len(out), "this sequence", self.session)
            return out
        raise TypeError(f"cannot unpack non-iterable {type_name(value)} object")

    # --- indexing -----------------------------------------------------------------------------------
    def eval_index(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Slice):
            parts = [None if p is None else self.eval(p) for p in (node.lower, node.upper, node.step)]
            return slice(*[self.as_int(p, "slice indices") if p is not None else None for p in parts])
        if isinstance(node, ast.Tuple):
            return tuple(self.eval_index(e) for e in node.elts)
        return self.eval(node)

    def as_int(self, v: Any, what: str) -> int:
        if isinstance(v, TensorValue):
            return operator.index(v.tensor(self))
        if isinstance(v, int) and not isinstance(v, bool):
            return v
        raise TypeError(f"{what} must be integers or None, not {type_name(v)}")

    def subscript(self, obj: Any, idx: Any) -> Any:
        if isinstance(obj, TensorValue):
            return index(self, obj, idx)
        if isinstance(obj, ObjectValue):
            return obj.subscript(self, idx)
        if isinstance(obj, ReturnTypes):
            obj = obj.items()
        if isinstance(obj, (list, tuple, str)):
            if isinstance(idx, slice) or (isinstance(idx, int) and not isinstance(idx, bool)):
                return obj[idx]
            if isinstance(idx, TensorValue):
                return obj[self.as_int(idx, "indices")]
            raise TypeError(f"{type_name(obj)} indices must be integers or slices, not {type_name(idx)}")
        raise TypeError(f"'{type_name(obj)}' object is not subscriptable")

    # --- calls --------------------------------------------------------------------------------------
    def call(self, node: ast.Call) -> Any:
        func = self.eval(node.func)
        args: list[Any] = []
        for a in node.args:
            if isinstance(a, ast.Starred):
                args.extend(self.items(self.eval(a.value)))
            else:
                args.append(self.eval(a))
        kwargs = {k.arg: self.eval(k.value) for k in node.keywords}
        if isinstance(func, Function):
            return func.call(self, args, kwargs, node)
        if isinstance(func, Method):
            return func.call(args, kwargs)
        if isinstance(func, (UserFunction, ObjectValue)):
            return func.call(self, args, kwargs, node)
        raise TypeError(f"'{type_name(func)}' object is not callable")
