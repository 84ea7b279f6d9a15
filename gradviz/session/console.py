"""The console: the seed notebook's own language, recorded in a Session.

    t3 = torch.tensor([[5., 6], [7, 8], [9, 10]])
    w = torch.tensor(4., requires_grad=True)
    y = w*x + b
    y.backward()
    w.grad

Source is parsed with ``ast`` and evaluated by walking a whitelist of node types. Nothing reaches
``eval``/``exec``; no attribute is looked up on a live object by a name the user typed (every
attribute and method is an entry in a table here); only constructors, catalogue ops, the tensor
methods listed here and a few harmless builtins (``print``, ``len`` ...) can be called. Anything
else is refused before any statement runs, with an error that names the construct.

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
  before they are made (``console_limits``): strings, lists, integers, format widths, numpy
  results and the text one input prints or shows.
- ``import torch`` (and the like: ``import torch.nn.functional as F``) is accepted and does
  nothing, since those names are always defined; every other import is refused.
"""

from __future__ import annotations

import ast
import builtins
import io
import math
import operator
import re
import sys
import tokenize
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import gradviz
import gradviz.engine as E
import gradviz.nn.functional as F_module
from gradviz.engine import Tensor

from . import catalogue
from .console_limits import (
    Measure,
    check_format_spec,
    check_int_op,
    check_items,
    check_numpy_result,
    check_shown,
    check_string,
    format_bound,
    numpy_shape,
    round_int,
    tolist_items,
)
from .console_values import (
    ConsoleError,
    Device,
    Function,
    GradValue,
    Method,
    Named,
    Namespace,
    NodeValue,
    PendingLeaf,
    PendingOp,
    ReturnTypes,
    TensorValue,
    contains_tensor,
    name_of_uid,
    plain,
    snapshot,
)
from .document import Session, SessionError
from .limits import MAX_ROWS

__all__ = ["Console", "ConsoleError", "ConsoleResult"]

BUILTINS = (
    "print",
    "abs",
    "len",
    "float",
    "int",
    "bool",
    "round",
    "min",
    "max",
    "list",
    "tuple",
    "str",
    "repr",
    "type",
)
CONSTRUCTORS = (
    "tensor", "as_tensor", "zeros", "ones", "empty", "full", "zeros_like", "ones_like", "full_like",
    "rand", "randn", "rand_like", "randn_like", "randint", "arange", "linspace", "eye",
)  # fmt: skip
DTYPES = dict(E.dtypes.BY_NAME)  # torch.float32, torch.float, ...: the engine's one dtype table
F_CATEGORIES = ("activation", "nn", "loss")  # ops that torch.nn.functional offers
NOT_IN_TORCH = ("index", "T", "view", "to")  # catalogue ops that torch has no function for

NON_LEAF_GRAD_WARNING = (
    "UserWarning: The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad field to be "
    "populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you access the "
    "non-leaf Tensor by mistake, make sure you access the leaf Tensor instead. See "
    "github.com/pytorch/pytorch/pull/30531 for more information."
)
NON_LEAF_FLAG = (
    "you can only change requires_grad flags of leaf variables. If you want to use a computed variable "
    "in a subgraph that doesn't require differentiation use var_no_grad = var.detach()."
)
SCALAR_TYPE = {d.name: d.scalar_name for d in E.dtypes.ALL}
READ_METHODS = (
    "item", "tolist", "size", "dim", "ndimension", "numel", "nelement", "element_size", "is_floating_point",
    "numpy", "type", "is_contiguous",
)  # fmt: skip
ACTION_METHODS = ("backward", "retain_grad", "requires_grad_", "zero_")
CAST_METHODS = {"float": "float32", "double": "float64", "half": "float16", "long": "int64", "int": "int32",
                "short": "int16", "char": "int8", "byte": "uint8", "bool": "bool"}  # fmt: skip
TENSOR_PROPERTIES = ("grad", "shape", "dtype", "requires_grad", "is_leaf", "grad_fn", "T", "data", "ndim",
                     "device", "is_cuda", "retains_grad")  # fmt: skip


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


# --- the static check: runs over the whole input before anything is evaluated ---------------------------
_ALLOWED_NODES = (
    ast.Module, ast.Expr, ast.Assign, ast.AugAssign, ast.Delete, ast.Pass, ast.Name, ast.Load, ast.Store,
    ast.Del, ast.Constant, ast.List, ast.Tuple, ast.Attribute, ast.Subscript, ast.Slice, ast.Call,
    ast.keyword, ast.Starred, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.JoinedStr,
    ast.FormattedValue, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.MatMult,
    ast.USub, ast.UAdd, ast.Not, ast.And, ast.Or, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
    ast.Is, ast.IsNot, ast.alias,
)  # fmt: skip
_CONSTRUCT_NAMES = {
    "Lambda": "lambda", "ListComp": "comprehensions", "SetComp": "comprehensions", "DictComp": "comprehensions",
    "GeneratorExp": "generator expressions", "FunctionDef": "defining functions (def)",
    "AsyncFunctionDef": "defining functions (async def)", "ClassDef": "defining classes", "For": "for loops",
    "AsyncFor": "for loops", "While": "while loops", "If": "if statements", "With": "with blocks",
    "AsyncWith": "with blocks", "Try": "try blocks", "TryStar": "try blocks", "Raise": "raise",
    "Assert": "assert", "Global": "global", "Nonlocal": "nonlocal", "Return": "return", "Yield": "yield",
    "YieldFrom": "yield", "Await": "await", "NamedExpr": "the := operator", "Dict": "dict literals",
    "Set": "set literals", "Match": "match statements", "AnnAssign": "annotated assignments",
    "BitAnd": "the & operator", "BitOr": "the | operator", "BitXor": "the ^ operator", "Invert": "the ~ operator",
    "LShift": "the << operator", "RShift": "the >> operator", "In": "the 'in' operator",
    "NotIn": "the 'not in' operator", "Break": "break", "Continue": "continue",
}  # fmt: skip
# Imports that bind what is already defined: accepted, and they do nothing.
_PREDEFINED_IMPORTS = {
    ("torch", None), ("gradviz", None), ("gradviz", "torch"), ("torch", "torch"), ("torch.nn", None),
    ("torch.nn.functional", None), ("torch.nn.functional", "F"), ("gradviz.nn.functional", "F"),
    ("torch.nn", "nn"), ("gradviz.nn", "nn"),
}  # fmt: skip
_PREDEFINED_FROM = {("torch.nn", "functional", "F"), ("gradviz.nn", "functional", "F"), ("torch", "nn", None),
                    ("gradviz", "nn", None)}  # fmt: skip
_PLURAL = {"comprehensions", "generator expressions", "for loops", "while loops", "if statements", "with blocks",
           "try blocks", "dict literals", "set literals", "match statements", "annotated assignments"}  # fmt: skip
_PY_BUILTINS = frozenset(dir(builtins))
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")  # lines as Python's parser counts them


def _harmless_import(node: ast.Import | ast.ImportFrom) -> bool:
    if isinstance(node, ast.Import):
        return all((a.name, a.asname) in _PREDEFINED_IMPORTS for a in node.names)
    return node.level == 0 and all((node.module, a.name, a.asname) in _PREDEFINED_FROM for a in node.names)


def check(tree: ast.AST) -> None:
    """Refuse, before anything runs, every construct the console does not speak."""
    starred_ok = {
        id(a) for n in ast.walk(tree) if isinstance(n, ast.Call) for a in n.args if isinstance(a, ast.Starred)
    }
    for node in ast.walk(tree):  # breadth first: a call is judged before its parts
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if _harmless_import(node):
                continue
            raise ConsoleError(
                "imports are not allowed in the console (torch, gradviz, F and nn are already defined)"
            )
        if not isinstance(node, _ALLOWED_NODES):
            what = _CONSTRUCT_NAMES.get(type(node).__name__, type(node).__name__)
            raise ConsoleError(f"{what} {'are' if what in _PLURAL else 'is'} not allowed in the console")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ConsoleError(f"attribute '{node.attr}' is not accessible in the console")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise ConsoleError(f"name '{node.id}' is not accessible in the console")
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id in _PY_BUILTINS and f.id not in BUILTINS:
                raise ConsoleError(f"calling '{f.id}' is not allowed in the console")
            if any(k.arg is None for k in node.keywords):
                raise ConsoleError("**keyword unpacking is not allowed in the console")
        if isinstance(node, ast.Starred) and id(node) not in starred_ok:
            raise ConsoleError("* unpacking is only allowed in call arguments in the console")
        if isinstance(node, ast.Constant) and not (
            node.value is None or node.value is Ellipsis or isinstance(node.value, (bool, int, float, str))
        ):
            raise ConsoleError(f"{type(node.value).__name__} literals are not supported in the console")


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


def _is_num(v: Any) -> bool:
    return isinstance(v, (bool, int, float))


def _tn(v: Any) -> str:
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
    return type(v).__name__


_BINOPS: dict[type, tuple[str, str | None, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", "add", operator.add),
    ast.Sub: ("-", "sub", operator.sub),
    ast.Mult: ("*", "mul", operator.mul),
    ast.Div: ("/", "div", operator.truediv),
    ast.Pow: ("**", "pow", operator.pow),
    ast.MatMult: ("@", "matmul", operator.matmul),
    ast.FloorDiv: ("//", None, operator.floordiv),
    ast.Mod: ("%", None, operator.mod),
}
_CMPOPS: dict[type, tuple[str, str | None, Callable[[Any, Any], Any]]] = {
    ast.Gt: (">", "gt", operator.gt),
    ast.Lt: ("<", "lt", operator.lt),
    ast.GtE: (">=", "ge", operator.ge),
    ast.LtE: ("<=", "le", operator.le),
    ast.Eq: ("==", "eq", operator.eq),
    ast.NotEq: ("!=", "ne", operator.ne),
}


# --- the console ----------------------------------------------------------------------------------
class Console:
    """Runs the notebook's language against a session. ``variables`` holds plain Python values."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.variables: dict[str, Any] = {}
        self.measure = Measure()  # sizes of Python values, for the limits in console_limits
        self.ops = {spec.name: spec for spec in catalogue.OPS}
        # Method names: catalogue ops that are Tensor methods, and their aliases.
        self.methods: dict[str, catalogue.OpSpec] = {}
        torch_ops: dict[str, catalogue.OpSpec] = {}
        f_ops: dict[str, catalogue.OpSpec] = {}
        for spec in catalogue.OPS:
            names = (spec.name, *spec.aliases)
            for n in names:
                if spec.method:
                    self.methods[n] = spec
                if (
                    spec.name not in NOT_IN_TORCH
                    and spec.category not in ("nn", "loss")
                    and "F" not in spec.syntax
                ):
                    torch_ops[n] = spec
                if spec.category in F_CATEGORIES:
                    f_ops[n] = spec
        functional = self._namespace("torch.nn.functional", F_module, f_ops, {})
        nn = Namespace("torch.nn", {"functional": functional}, gradviz.nn)
        extra: dict[str, Any] = {c: Function(c, self._constructor(c), "constructor") for c in CONSTRUCTORS}
        extra["manual_seed"] = Function(
            "manual_seed", lambda run, args, kwargs, node: run.manual_seed(*args, **kwargs)
        )
        extra.update(DTYPES)
        extra["nn"] = nn
        self.torch = self._namespace("torch", gradviz, torch_ops, extra)
        self.gradviz = Namespace("gradviz", self.torch.members, gradviz)
        self.functional = functional
        self.globals: dict[str, Any] = {
            "torch": self.torch,
            "gradviz": self.gradviz,
            "F": functional,
            "nn": nn,
        }
        for b in BUILTINS:
            self.globals[b] = Function(b, getattr(_Run, f"builtin_{b}"), "builtin")

    def _namespace(
        self, path: str, module: Any, ops: dict[str, catalogue.OpSpec], extra: dict[str, Any]
    ) -> Namespace:
        members: dict[str, Any] = {}
        for n, spec in ops.items():
            members[n] = Function(n, self._op_function(spec, n), "op")
        members.update(extra)
        return Namespace(path, members, module)

    def _op_function(self, spec: catalogue.OpSpec, display: str) -> Callable[..., Any]:
        return lambda run, args, kwargs, node: run.call_op(spec, args, kwargs, display)

    def _constructor(self, name: str) -> Callable[..., Any]:
        return lambda run, args, kwargs, node: run.construct(name, args, kwargs, node)

    # --- running ------------------------------------------------------------------------------------
    def run(self, source: str) -> ConsoleResult:
        """Run one input (one or more statements) as one undo step."""
        result = ConsoleResult()
        try:
            tree = ast.parse(source, "<console>", "exec")
        except SyntaxError as e:
            result.error_type, result.error, result.error_line = (
                type(e).__name__,
                f"{e.msg} (line {e.lineno})",
                e.lineno,
            )
            return result
        except (RecursionError, MemoryError, ValueError) as e:
            result.error_type = "SyntaxError"
            result.error = "the input is too deeply nested" if not isinstance(e, ValueError) else str(e)
            return result
        result.statements = len(tree.body)
        try:
            check(tree)
        except ConsoleError as e:
            result.error_type, result.error = "ConsoleError", str(e)
            return result
        run = _Run(self, source)
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
                        run.statement(stmt, last=i == len(tree.body) - 1)
                        result.executed += 1
            except Exception as e:  # the batch rolled the session back already
                self.variables = variables
                result.error_type, result.error = _describe_error(e)
                result.error_line = run.line
                run.shown = None
            finally:
                self.measure.clear()  # it keeps what it measured alive
        result.printed = "".join(run.out)
        if run.shown is not None and not _suppressed(source):
            result.result = run.shown
        result.output = result.printed + (result.result + "\n" if result.result is not None else "")
        result.warnings = run.warnings + [
            f"{w.category.__name__}: {w.message}" for w in caught if issubclass(w.category, UserWarning)
        ]
        return result

    # --- completion ---------------------------------------------------------------------------------
    def complete(self, prefix: str) -> list[str]:
        """Completions of the dotted name at the end of ``prefix``, each the whole of ``prefix``
        completed: ``complete("y = w.ex")`` gives ``["y = w.exp"]``."""
        m = re.search(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\.?$", prefix)
        token = m.group(0) if m else ""
        head = prefix[: len(prefix) - len(token)]
        if head[-1:].isalnum() or head[-1:] in (".", "_"):
            return []  # inside a number (0.1, 1e3) or a word the pattern can't end: nothing to complete
        if "." in token:
            base, _, part = token.rpartition(".")
            candidates = self._members(base)
            lead = base + "."
        else:
            part, lead = token, ""
            candidates = [*self.session.names(), *self.variables, *self.globals]
        found = sorted({c for c in candidates if c.startswith(part) and not c.startswith("_")})
        return [head + lead + c for c in found]

    def _members(self, base: str) -> list[str]:
        parts = base.split(".")
        root = parts[0]
        obj: Any
        if root in self.session and not self.session.info(root).hidden:
            obj = "tensor"
        elif root in self.globals:
            obj = self.globals[root]
        else:
            return []
        for p in parts[1:]:
            if isinstance(obj, Namespace):
                obj = obj.members.get(p)
            elif obj == "tensor" and p in ("grad", "T", "data"):
                obj = "tensor"
            else:
                return []
        if isinstance(obj, Namespace):
            return list(obj.members)
        if obj == "tensor":
            return [*TENSOR_PROPERTIES, *self.methods, *CAST_METHODS, *READ_METHODS, *ACTION_METHODS]
        return []


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


class _Run:
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

    # --- statements ---------------------------------------------------------------------------------
    def statement(self, stmt: ast.stmt, last: bool) -> None:
        self.created, self.unbound = [], []
        if isinstance(stmt, ast.Expr):
            value = self.eval(stmt.value)
            if last:
                shown = plain(value, self)
                if shown is not None:
                    check_shown(shown, self.measure)
                    self.shown = repr(shown)
                    self.check_output(len(self.shown))
        elif isinstance(stmt, ast.Assign):
            if len(stmt.targets) != 1:
                raise ConsoleError("chained assignment (a = b = ...) is not supported in the console")
            self.assign(stmt.targets[0], self.eval(stmt.value))
        elif isinstance(stmt, ast.AugAssign):
            self.augassign(stmt)
        elif isinstance(stmt, ast.Delete):
            for target in stmt.targets:
                self.delete(target)
        elif isinstance(stmt, (ast.Pass, ast.Import, ast.ImportFrom)):
            pass  # only harmless imports get here (see check)
        else:  # check() refuses everything else first
            raise ConsoleError(f"{type(stmt).__name__} is not allowed in the console")
        self.collect(self.created + self.unbound)

    def assign(self, target: ast.expr, value: Any, later: tuple[Any, ...] = ()) -> None:
        if isinstance(target, ast.Name):
            self.bind(target.id, value, later)
        elif isinstance(target, (ast.Tuple, ast.List)):
            if any(not isinstance(t, ast.Name) for t in target.elts):
                raise ConsoleError("only names can be unpacked into in the console (a, b = ...)")
            items = self.items(value)
            n = len(target.elts)
            if len(items) > n:
                raise ValueError(f"too many values to unpack (expected {n})")
            if len(items) < n:
                raise ValueError(f"not enough values to unpack (expected {n}, got {len(items)})")
            for i, (t, v) in enumerate(zip(target.elts, items)):
                self.assign(t, v, tuple(items[i + 1 :]))
        elif isinstance(target, ast.Attribute):
            self.set_attribute(target, value)
        elif isinstance(target, ast.Subscript):
            raise ConsoleError(
                f"{self.segment(target)} = ... changes a tensor in place, which the console doesn't record; "
                "compute a new tensor instead (for example with torch.where)"
            )
        else:
            raise ConsoleError(f"can't assign to {self.segment(target)} in the console")

    def bind(self, name: str, value: Any, later: tuple[Any, ...] = ()) -> None:
        """``name = value`` with Python's meaning."""
        s = self.session
        s.check_name(name, allow_existing=True)
        if isinstance(value, ReturnTypes):
            raise ConsoleError(
                "a (values, indices) pair can't be stored; use .values or unpack it: v, i = ..."
            )
        if not isinstance(value, TensorValue):
            if contains_tensor(value):
                raise ConsoleError(
                    f"a {type(value).__name__} holding tensors can't be stored in the console; give each tensor its own name"
                )
            if isinstance(value, str):
                check_string(len(value), f"{name}")
            elif isinstance(value, (list, tuple)):
                check_items(self.measure.of(value).items, f"{name}", s)
            if name in s:
                self.unbind(name, later)
            self.console.variables[name] = value
            return
        if value.uid is not None:  # already a session tensor
            current = s.info(name).uid if name in s else None
            if value.uid == current:
                return
            other = value.name(self)
            raise ConsoleError(
                f"{name} = {other} would give one tensor two names, which a session can't hold; "
                f"use {other}.clone() for a copy, or rename {other}"
                if not other.startswith("_")
                else f"{name} = ... would give one tensor two names, which a session can't hold"
            )
        self.console.variables.pop(name, None)
        if name in s:
            self.unbind(name, (value, *later))
        value.record(self, name)

    def unbind(self, name: str, pending: tuple[Any, ...] = ()) -> None:
        """Take ``name`` off its tensor, as rebinding or ``del`` does in Python: a tensor that
        something still uses (or that a value about to be recorded reads) stays, hidden;
        otherwise it goes, with any hidden tensors it leaves behind."""
        s = self.session
        uid = s.info(name).uid
        if s.dependents(name) or any(isinstance(v, TensorValue) and v.depends_on(uid) for v in pending):
            self.unbound.append(s.hide(name))
            return
        operands = s.operands(name)
        s.delete(name)
        self.collect(operands)

    def collect(self, names: list[str]) -> None:
        """Delete hidden tensors that nothing depends on (and then their hidden operands)."""
        s = self.session
        stack = list(names)
        while stack:
            n = stack.pop()
            if n not in s or not s.info(n).hidden or s.dependents(n):
                continue
            operands = s.operands(n)
            s.delete(n)
            stack.extend(operands)

    def augassign(self, stmt: ast.AugAssign) -> None:
        if not isinstance(stmt.target, ast.Name):
            raise ConsoleError(
                f"{self.segment(stmt.target)} {_BINOPS.get(type(stmt.op), ('?',))[0]}= ... changes a tensor in place, "
                "which the console doesn't record; assign a new tensor instead"
            )
        current = self.lookup(stmt.target.id)
        rhs = self.eval(stmt.value)
        if isinstance(current, TensorValue):
            t = current.tensor(self)
            if t.requires_grad and t.is_leaf and E.is_grad_enabled():
                raise RuntimeError(
                    "a leaf Variable that requires grad is being used in an in-place operation."
                )
            new = self.binop(stmt.op, current, rhs)
            if isinstance(new, TensorValue) and new.tensor(self).dtype is not t.dtype:
                got, want = new.tensor(self).dtype.name, t.dtype.name
                raise RuntimeError(
                    f"result type {SCALAR_TYPE.get(got, got)} can't be cast to the desired output type {SCALAR_TYPE.get(want, want)}"
                )
            # In PyTorch this is in place; the console records a new tensor under the same name.
            self.bind(stmt.target.id, new)
        else:
            self.bind(stmt.target.id, self.binop(stmt.op, current, rhs))

    def delete(self, target: ast.expr) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for t in target.elts:
                self.delete(t)
            return
        if not isinstance(target, ast.Name):
            raise ConsoleError(
                f"del {self.segment(target)} is not supported in the console; only names can be deleted"
            )
        name = target.id
        if name in self.console.globals and name not in self.console.variables:
            raise ConsoleError(f"'{name}' is built into the console and can't be deleted")
        if name in self.session and not self.session.info(name).hidden:
            self.unbind(name)
        elif name in self.console.variables:
            del self.console.variables[name]
        else:
            raise NameError(f"name '{name}' is not defined")

    def set_attribute(self, target: ast.Attribute, value: Any) -> None:
        obj = self.eval(target.value)
        what = self.segment(target)
        if not isinstance(obj, TensorValue):
            raise ConsoleError(f"can't assign to {what} in the console")
        if target.attr == "grad":
            if value is not None:
                raise ConsoleError(
                    f"only {what} = None can be assigned in the console (it clears the gradient)"
                )
            if obj.uid is not None and not isinstance(obj, GradValue):
                self.session.zero_grad([obj.name(self)], set_to_none=True)
            return
        if target.attr == "requires_grad":
            if not isinstance(value, bool):
                raise TypeError(f"requires_grad must be a bool, not {_tn(value)}")
            self.requires_grad(
                obj, value, "only Tensors of floating point and complex dtype can require gradients"
            )
            return
        raise ConsoleError(f"can't assign to {what} in the console")

    # --- expressions --------------------------------------------------------------------------------
    def eval(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self.lookup(node.id)
        if isinstance(node, ast.Attribute):
            return self.attribute(self.eval(node.value), node.attr, node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.BinOp):
            return self.binop(node.op, self.eval(node.left), self.eval(node.right))
        if isinstance(node, ast.UnaryOp):
            return self.unaryop(node.op, self.eval(node.operand))
        if isinstance(node, ast.Compare):
            if len(node.ops) != 1:
                raise ConsoleError("chained comparisons (a < b < c) are not supported in the console")
            return self.compare(node.ops[0], self.eval(node.left), self.eval(node.comparators[0]))
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
            return self.subscript(self.eval(node.value), self.eval_index(node.slice), node)
        if isinstance(node, ast.JoinedStr):
            parts, total = [], 0
            for v in node.values:
                parts.append(self.format_part(v))
                total += len(parts[-1])
                check_string(total, "this f-string")
            return "".join(parts)
        raise ConsoleError(f"{type(node).__name__} is not allowed in the console")

    def sequence(self, value: Any, what: str) -> Any:
        """A new list or tuple, refused when it (with the lists nested in it, once per
        appearance) holds more than the console's limit: ``a = [a, a]`` doubles at each line."""
        check_items(self.measure.of(value).items, what, self.session)
        return value

    def check_output(self, more: int) -> None:
        self.out_chars += more
        check_string(self.out_chars, "the output of this input")

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
        s = self.session
        if name in s and not s.info(name).hidden:
            return Named(s.info(name).uid)
        if name in self.console.variables:
            return self.console.variables[name]
        if name in self.console.globals:
            return self.console.globals[name]
        if name in _PY_BUILTINS:
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
            return [self.index(value, i) for i in range(t.shape[0])]
        if isinstance(value, str):
            check_items(len(value), "the characters of this string", self.session)
        if isinstance(value, (list, tuple, str)):
            return list(value)
        raise TypeError(f"cannot unpack non-iterable {_tn(value)} object")

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
        raise TypeError(f"{what} must be integers or None, not {_tn(v)}")

    # --- attributes -----------------------------------------------------------------------------------
    def attribute(self, obj: Any, attr: str, node: ast.Attribute) -> Any:
        if isinstance(obj, Namespace):
            if attr in obj.members:
                return obj.members[attr]
            if attr in dir(obj.module):
                raise ConsoleError(f"{obj.path}.{attr} is not available in the console")
            raise AttributeError(f"module '{obj.path}' has no attribute '{attr}'")
        if isinstance(obj, TensorValue):
            return self.tensor_attribute(obj, attr, node)
        if isinstance(obj, ReturnTypes) and attr in ("values", "indices"):
            return obj.values if attr == "values" else obj.indices
        if isinstance(obj, NodeValue):
            if attr == "next_functions":
                return tuple((None if n is None else NodeValue(n), i) for n, i in obj.node.next_functions)
            if attr == "name":
                return Method(obj, "name", lambda args, kwargs: obj.node.name())
        if isinstance(obj, E.Size) and attr == "numel":
            return Method(obj, "numel", lambda args, kwargs: obj.numel())
        if isinstance(obj, E.dtype) and attr in ("is_floating_point", "is_signed", "itemsize"):
            return getattr(obj, attr)
        raise ConsoleError(f"attribute '{attr}' of a {_tn(obj)} is not available in the console")

    def tensor_attribute(self, tv: TensorValue, attr: str, node: ast.Attribute) -> Any:
        if attr in TENSOR_PROPERTIES:
            t = tv.tensor(self)
            if attr == "grad":
                return self.grad(tv)
            if attr == "T":
                return self.make_op(self.console.ops["T"], [tv], {}, "T")
            if attr == "data":
                return (
                    tv
                    if isinstance(tv, GradValue)
                    else self.make_op(self.console.ops["detach"], [tv], {}, "data")
                )
            if attr == "grad_fn":
                return None if t.grad_fn is None else NodeValue(t.grad_fn)
            if attr == "device":
                return Device()
            return getattr(t, attr)  # shape, dtype, requires_grad, is_leaf, ndim, is_cuda, retains_grad
        if attr in self.console.methods:
            spec = self.console.methods[attr]
            return Method(
                tv, attr, lambda args, kwargs: self.call_op(spec, args, kwargs, attr, self_value=tv)
            )
        if attr in CAST_METHODS:
            spec = self.console.ops["to"]
            return Method(
                tv,
                attr,
                lambda args, kwargs: self.call_op(spec, [CAST_METHODS[attr], *args], kwargs, attr, tv),
            )
        if attr in READ_METHODS:
            return Method(tv, attr, lambda args, kwargs: self.read(tv, attr, args, kwargs))
        if attr in ACTION_METHODS:
            if attr == "zero_" and not isinstance(tv, GradValue):
                raise ConsoleError(self._inplace_message(node, attr))
            return Method(tv, attr, lambda args, kwargs: getattr(self, f"do_{attr}")(tv, *args, **kwargs))
        if hasattr(Tensor, attr):
            if attr.endswith("_"):
                raise ConsoleError(self._inplace_message(node, attr))
            raise ConsoleError(
                f"Tensor.{attr} is not available in the console (it isn't in gradviz's catalogue of operations)"
            )
        raise AttributeError(f"'Tensor' object has no attribute '{attr}'")

    def _inplace_message(self, node: ast.Attribute, attr: str) -> str:
        return (
            f"{self.segment(node)}() changes a tensor in place, which the console doesn't record; "
            f"assign the result of {attr[:-1]}() to a name instead"
            if hasattr(Tensor, attr[:-1])
            else f"{self.segment(node)}() changes a tensor in place, which the console doesn't record"
        )

    def grad(self, tv: TensorValue) -> Any:
        if isinstance(tv, GradValue) and tv.uid is None:
            return None  # a gradient has no gradient of its own
        if tv.uid is None:
            g = tv.tensor(self).grad  # an unrecorded tensor was never part of a backward()
            return None if g is None else snapshot(g)
        name = tv.name(self)
        info = self.session.info(name)
        t = self.session.tensor(name)
        if info.session_retained and t.grad_fn is not None:
            self.warn(NON_LEAF_GRAD_WARNING)  # PyTorch doesn't keep it; the session does, for the graph
            return None
        g = t._grad
        return None if g is None else GradValue(g, info.uid, name)

    def read(self, tv: TensorValue, attr: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        t = tv.tensor(self)
        if attr == "numpy":
            # a copy (the session's arrays are read-only): it needs memory of its own
            check_numpy_result(self.session, tuple(t.shape), t.element_size(), self.call_text(tv, "numpy"))
            return np.array(t.numpy(*args, **kwargs), copy=True)
        if attr == "tolist":
            check_items(tolist_items(tuple(t.shape)), self.call_text(tv, "tolist"), self.session)
        if attr == "type":
            if args or kwargs:
                return self.call_op(self.console.ops["to"], args, kwargs, "type", tv)
            return t.type()
        args = [plain(a, self) for a in args]
        return getattr(t, attr)(*args, **kwargs)

    def call_text(self, tv: TensorValue, method: str) -> str:
        """A method call in a message: ``x.tolist()``, or ``tolist() of this tensor`` for a
        tensor without a name."""
        name = self.session.name_of_uid(tv.uid) if tv.uid is not None else None
        return (
            f"{name}.{method}()"
            if name is not None and not name.startswith("_")
            else f"{method}() of this tensor"
        )

    # --- actions --------------------------------------------------------------------------------------
    def do_backward(
        self,
        tv: TensorValue,
        gradient: Any = None,
        retain_graph: Any = None,
        create_graph: bool = False,
        inputs: Any = None,
    ) -> None:
        if create_graph:
            raise ConsoleError("backward(create_graph=True) is not available in the console")
        if inputs is not None:
            raise ConsoleError("backward(inputs=...) is not available in the console")
        name = tv.record(self)
        grad = None if gradient is None else plain(gradient, self)
        try:
            self.session.backward(name, grad, bool(retain_graph))
        except SessionError as e:
            raise RuntimeError(str(e)) from None

    def do_retain_grad(self, tv: TensorValue) -> None:
        t = tv.tensor(self)
        if not t.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if t.is_leaf:
            return None  # a no-op on leaves, as in PyTorch
        name = tv.record(self)
        try:
            self.session.retain_grad(name)
        except SessionError as e:
            raise RuntimeError(str(e)) from None
        return None

    def do_requires_grad_(self, tv: TensorValue, requires_grad: Any = True) -> TensorValue:
        if not isinstance(requires_grad, bool):
            raise TypeError(
                f"requires_grad_(): argument 'requires_grad' must be bool, not {_tn(requires_grad)}"
            )
        return self.requires_grad(
            tv, requires_grad, "only Tensors of floating point dtype can require gradients"
        )

    def do_zero_(self, tv: GradValue) -> Any:
        owner = name_of_uid(self.session, tv.owner_uid)
        if owner is None or tv.uid is not None:
            raise ConsoleError("this gradient no longer belongs to a tensor in the session")
        self.session.zero_grad([owner], set_to_none=False)
        g = self.session.tensor(owner)._grad
        return None if g is None else GradValue(g, tv.owner_uid, owner)

    def requires_grad(self, tv: TensorValue, flag: bool, int_message: str) -> TensorValue:
        if tv.uid is None:
            t = tv.tensor(self)
            if isinstance(tv, PendingOp) and t.grad_fn is not None:
                if flag:
                    return tv
                raise RuntimeError(NON_LEAF_FLAG)
            if flag and not t.dtype.is_floating_point:
                raise RuntimeError(int_message)
            # A constructor's own tensor can take the flag; anything else (a gradient, an op without
            # history, which PyTorch treats as a leaf) becomes a new leaf holding its values.
            leaf = (
                tv
                if type(tv) is PendingLeaf
                else snapshot(t, tv.source if isinstance(tv, PendingLeaf) else "")
            )
            leaf.tensor(self).requires_grad_(flag)
            return leaf
        name = tv.name(self)
        t = self.session.tensor(name)
        if t.grad_fn is not None:
            if flag:
                return tv
            raise RuntimeError(NON_LEAF_FLAG)
        if flag == t.requires_grad:
            return tv
        if flag and not t.dtype.is_floating_point:
            raise RuntimeError(int_message)
        # From now on, as in PyTorch: what was computed from it before stays as it was.
        self.session.requires_grad_(name, flag)
        return tv

    def manual_seed(self, seed: Any) -> None:
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise TypeError(f"manual_seed expected an int, not {_tn(seed)}")
        E.manual_seed(seed)

    # --- calls ----------------------------------------------------------------------------------------
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
        raise TypeError(f"'{_tn(func)}' object is not callable")

    def call_op(
        self,
        spec: catalogue.OpSpec,
        args: list[Any],
        kwargs: dict[str, Any],
        display: str,
        self_value: Any = None,
    ) -> Any:
        """``torch.<op>(...)``, ``F.<op>(...)`` or ``x.<op>(...)``: bind the arguments the way
        PyTorch does and make the pending op."""
        pos = list(args)
        kwargs = dict(kwargs)
        if spec.name == "to":  # x.to(dtype), x.to(other), x.to("cpu")
            pos, kwargs = self._to_args(pos, kwargs)
            if not pos and "dtype" not in kwargs:
                return self_value
        if self_value is not None:
            pos.insert(0, self_value)
        if spec.name == "linear":
            if len(pos) < 2:
                raise TypeError("linear() missing required arguments 'input' and 'weight'")
            bias = pos[2] if len(pos) > 2 else kwargs.pop("bias", None)
            operands = pos[:2] + ([bias] if bias is not None else [])
            pos = pos[3:]
        elif spec.arity is None:  # cat, stack: a sequence of tensors first
            seq = pos.pop(0) if pos else kwargs.pop("tensors", None)
            if (
                not isinstance(seq, (list, tuple))
                or not seq
                or not all(isinstance(v, TensorValue) for v in seq)
            ):
                raise TypeError(
                    f"{display}(): argument 'tensors' must be a non-empty list or tuple of Tensors"
                )
            operands = list(seq)
        else:
            names = spec.operand_names[: spec.arity]
            for n in names[len(pos) :]:  # operands given by keyword: F.nll_loss(x, target=t)
                if n not in kwargs:
                    raise TypeError(f"{display}() missing required argument '{n}'")
                pos.append(kwargs.pop(n))
            for n in names:
                if n in kwargs:
                    raise TypeError(f"{display}() got multiple values for argument '{n}'")
            operands, pos = pos[: spec.arity], pos[spec.arity :]
        params: dict[str, Any] = {}
        names = [p.name for p in spec.params]
        if pos and spec.params and spec.params[0].kind == "shape":
            params["shape"] = pos[0] if len(pos) == 1 and isinstance(pos[0], (list, tuple)) else list(pos)
            pos = []
        if len(pos) > len(names):
            raise TypeError(f"{display}() takes {spec.arity or 1 + len(names)} arguments but more were given")
        params.update(zip(names, pos))
        for k, v in kwargs.items():
            if k not in names:
                raise TypeError(f"{display}() got an unexpected keyword argument '{k}'")
            if k in params:
                raise TypeError(f"{display}() got multiple values for argument '{k}'")
            params[k] = v
        for p in spec.params:
            if p.name in params:
                params[p.name] = self.param(display, p, params[p.name])
            elif p.required:
                raise TypeError(f"{display}() missing required argument '{p.name}'")
        if spec.name == "to" and params.get("dtype", "float32") == operands[0].tensor(self).dtype.name:
            return operands[0]  # already that dtype: PyTorch returns the tensor itself
        out = self.make_op(spec, operands, params, display)
        if spec.name in ("max", "min") and params.get("dim") is not None:
            shown = getattr(operands[0].tensor(self), spec.name)(
                dim=params["dim"], keepdim=params.get("keepdim", False)
            )
            return ReturnTypes(shown, out, snapshot(shown.indices, f"{display}(...).indices"))
        return out

    def _to_args(self, args: list[Any], kwargs: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        devices = [a for a in [*args, kwargs.pop("device", None)] if isinstance(a, (str, Device))]
        for d in devices:
            if str(d) != "cpu" and not (isinstance(d, str) and d in catalogue.DTYPE_NAMES):
                raise ConsoleError(f"only the 'cpu' device is available, not {str(d)!r}")
        kwargs.pop("copy", None)
        kwargs.pop("non_blocking", None)
        out = [
            a.tensor(self).dtype if isinstance(a, TensorValue) else a
            for a in args
            if not isinstance(a, (str, Device)) or a in catalogue.DTYPE_NAMES
        ]
        return out, kwargs

    def param(self, display: str, p: catalogue.Param, v: Any) -> Any:
        """A parameter as the catalogue stores it (JSON-safe), or PyTorch's TypeError."""

        def fail(expected: str) -> TypeError:
            return TypeError(f"{display}(): argument '{p.name}' must be {expected}, not {_tn(v)}")

        def is_int(x: Any) -> bool:
            return isinstance(x, int) and not isinstance(x, bool)

        if p.kind == "dim":
            if not is_int(v):
                raise fail("int")
            return v
        if p.kind == "optional_int":
            if v is not None and not is_int(v):
                raise fail("int")
            return v
        if p.kind in ("dims", "shape"):
            if v is None and p.kind == "dims":
                return None
            if is_int(v):
                return [v]
            if isinstance(v, (list, tuple)) and all(is_int(x) for x in v):
                return [int(x) for x in v]
            raise fail("tuple of ints")
        if p.kind == "bool":
            if not isinstance(v, bool):
                raise fail("bool")
            return v
        if p.kind in ("number", "float", "int"):
            if v is None and p.default is None:
                return None
            if not _is_num(v) or (p.kind == "int" and not is_int(v)):
                raise fail("Number" if p.kind != "int" else "int")
            return v
        if p.kind == "choice":
            if isinstance(v, E.dtype) and p.name == "dtype":
                return v.name
            if not isinstance(v, str):
                raise fail("str")
            if v not in p.choices:
                raise ValueError(f"{v[:100]} is not a valid value for {p.name}")
            return v
        raise TypeError(f"{display}(): argument '{p.name}' can't be given in the console")

    def make_op(
        self, spec: catalogue.OpSpec, operands: list[Any], params: dict[str, Any], display: str
    ) -> PendingOp:
        """Check the operands, bound the result's size, compute it now; record it later if needed."""
        positions = spec.operand_names
        for i, o in enumerate(operands):
            if isinstance(o, TensorValue) or (_is_num(o) and spec.scalar_operands):
                continue
            where = positions[i] if i < len(positions) else f"operand {i + 1}"
            raise TypeError(
                f"{display}(): argument '{where}' (position {i + 1}) must be Tensor, not {_tn(o)}"
            )
        if not any(isinstance(o, TensorValue) for o in operands):
            raise TypeError(
                f"{display}(): argument 'input' (position 1) must be Tensor, not {_tn(operands[0])}"
            )
        values = [o.tensor(self) if isinstance(o, TensorValue) else o for o in operands]
        full = {**spec.defaults(), **params}
        self.session.check_op(spec, values, full)
        out = spec.fn(*values, **full)
        return PendingOp(spec, list(operands), dict(params), out)

    # --- constructors ---------------------------------------------------------------------------------
    def construct(self, name: str, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> PendingLeaf:
        kwargs = dict(kwargs)
        dtype = kwargs.pop("dtype", None)
        if dtype is not None and not isinstance(dtype, E.dtype):
            raise TypeError(f"{name}(): argument 'dtype' must be torch.dtype, not {_tn(dtype)}")
        requires_grad = kwargs.pop("requires_grad", False)
        if not isinstance(requires_grad, bool):
            raise TypeError(f"{name}(): argument 'requires_grad' must be bool, not {_tn(requires_grad)}")
        device = kwargs.pop("device", None)
        if device is not None and not (isinstance(device, Device) or device == "cpu"):
            shown = repr(device) if isinstance(device, str) and len(device) <= 40 else f"a {_tn(device)}"
            raise ConsoleError(f"only the 'cpu' device is available, not {shown}")
        check = self.session.check_size
        opts = {"dtype": dtype, "requires_grad": requires_grad}

        def take(names: tuple[str, ...], required: int) -> list[Any]:
            vals = list(args)
            if len(vals) > len(names):
                raise TypeError(
                    f"{name}() takes at most {len(names)} positional arguments ({len(vals)} given)"
                )
            for n in names[len(vals) :]:
                vals.append(kwargs.pop(n, _MISSING))
            if kwargs:
                raise TypeError(f"{name}() got an unexpected keyword argument '{next(iter(kwargs))}'")
            for n, v in zip(names[:required], vals):
                if v is _MISSING:
                    raise TypeError(f"{name}() missing required argument '{n}'")
            return [None if v is _MISSING else v for v in vals]

        def number(v: Any, what: str) -> float | int:
            v = plain(v, self)
            if isinstance(v, Tensor):
                v = v.item()
            if not _is_num(v):
                raise TypeError(f"{name}(): argument '{what}' must be Number, not {_tn(v)}")
            return v

        if name in ("tensor", "as_tensor"):
            (data,) = take(("data",), 1)
            data = plain(data, self)
            check(data.size if isinstance(data, np.ndarray) else self.measure.of(data).leaves)  # before
            t = E.tensor(data, **opts)
            check(t.numel())
        elif name in ("zeros", "ones", "empty", "rand", "randn"):
            size = self.size_args(name, list(args) or [kwargs.pop("size", ())])
            if kwargs:
                raise TypeError(f"{name}() got an unexpected keyword argument '{next(iter(kwargs))}'")
            check(math.prod(size))
            t = getattr(E, name)(*size, **opts)
        elif name == "full":
            size, fill = take(("size", "fill_value"), 2)
            size = self.size_args(name, [size])
            check(math.prod(size))
            t = E.full(size, number(fill, "fill_value"), **opts)
        elif name.endswith("_like"):
            (src,) = take(("input",), 1)
            if not isinstance(src, TensorValue):
                raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {_tn(src)}")
            t0 = src.tensor(self)
            check(t0.numel())
            if name == "full_like":
                raise TypeError("full_like() missing required argument 'fill_value'")
            t = getattr(E, name)(t0, **opts)
        elif name == "arange":
            start, end, step = take(("start", "end", "step"), 1)
            start = number(start, "start")
            end = None if end is None else number(end, "end")
            step = 1 if step is None else number(step, "step")
            lo, hi = (0, start) if end is None else (start, end)
            if step == 0:
                raise RuntimeError("step must be nonzero")
            if not all(math.isfinite(x) for x in (lo, hi, step)):
                raise RuntimeError(f"unsupported range: {lo} -> {hi}")
            if (hi - lo) * step < 0:
                raise RuntimeError("upper bound and larger bound inconsistent with step sign")
            check(max(0, math.ceil((hi - lo) / step)))
            t = E.arange(start, end, step, **opts) if end is not None else E.arange(start, step=step, **opts)
        elif name == "linspace":
            start, end, steps = take(("start", "end", "steps"), 3)
            if not isinstance(steps, int) or isinstance(steps, bool):
                raise TypeError(f"linspace(): argument 'steps' must be int, not {_tn(steps)}")
            check(max(0, steps))
            t = E.linspace(number(start, "start"), number(end, "end"), steps, **opts)
        elif name == "eye":
            n, m = take(("n", "m"), 1)
            for v in (n, m):
                if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
                    raise TypeError(f"eye(): argument 'n' must be int, not {_tn(v)}")
            if n < 0 or (m is not None and m < 0):
                raise RuntimeError(
                    f"n must be greater or equal to 0, got {min(n, m if m is not None else n)}"
                )
            check(n * (n if m is None else m))
            t = E.eye(n, m, **opts)
        elif name == "randint":
            vals = list(args)
            if len(vals) == 2 and "size" not in kwargs:  # randint(high, size)
                vals = [0, *vals]
            low, high, size = (vals + [None] * 3)[:3]
            low = kwargs.pop("low", low if low is not None else 0)
            high = kwargs.pop("high", high)
            size = kwargs.pop("size", size)
            if kwargs:
                raise TypeError(f"randint() got an unexpected keyword argument '{next(iter(kwargs))}'")
            if high is None or size is None:
                raise TypeError("randint() missing required arguments 'high' and 'size'")
            size = self.size_args(name, [size])
            for v in (low, high):
                if not isinstance(v, int) or isinstance(v, bool):
                    raise TypeError(f"randint(): argument 'high' must be int, not {_tn(v)}")
            if high <= low:
                raise RuntimeError(
                    f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
                )
            check(math.prod(size))
            t = E.randint(low, high, size, **opts)
        else:  # pragma: no cover - CONSTRUCTORS lists exactly the names above
            raise ConsoleError(f"torch.{name} is not available in the console")
        return PendingLeaf(t, self.segment(node))

    def size_args(self, name: str, args: list[Any]) -> list[int]:
        """``zeros(2, 3)``, ``zeros((2, 3))``, ``zeros(x.shape)``: a list of ints."""
        size = args[0] if len(args) == 1 and isinstance(args[0], (list, tuple)) else args
        out = []
        for s in size:
            if isinstance(s, TensorValue):
                s = operator.index(s.tensor(self))
            if not isinstance(s, int) or isinstance(s, bool):
                raise TypeError(
                    f"{name}(): argument 'size' must be tuple of ints, but found element of type {_tn(s)}"
                )
            if s < 0:
                raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
            out.append(s)
        return out

    # --- builtins -------------------------------------------------------------------------------------
    def builtin_print(self, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> None:
        sep = kwargs.pop("sep", " ")
        end = kwargs.pop("end", "\n")
        kwargs.pop("flush", None)
        if kwargs:
            raise ConsoleError(f"print(): '{next(iter(kwargs))}=' is not available in the console")
        for what, v in (("sep", sep), ("end", end)):
            if v is not None and not isinstance(v, str):
                raise TypeError(f"{what} must be None or a string, not {_tn(v)}")
        sep = " " if sep is None else sep
        end = "\n" if end is None else end
        values = [plain(a, self) for a in args]
        bound = sum(self.measure.of(v).chars for v in values) + len(sep) * max(0, len(values) - 1) + len(end)
        check_string(self.out_chars + bound, "the output of this input")
        text = sep.join(str(v) for v in values) + end
        self.check_output(len(text))
        self.out.append(text)

    def _one(self, name: str, args: list[Any], kwargs: dict[str, Any], at_most: int = 1) -> list[Any]:
        if kwargs:
            raise TypeError(f"{name}() takes no keyword arguments")
        if not 1 <= len(args) <= at_most:
            raise TypeError(
                f"{name}() takes {'exactly one argument' if at_most == 1 else f'1 to {at_most} arguments'} ({len(args)} given)"
            )
        return args

    def builtin_abs(self, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> Any:
        (v,) = self._one("abs", args, kwargs)
        if isinstance(v, TensorValue):
            return self.make_op(self.console.ops["abs"], [v], {}, "abs")
        if not _is_num(v):
            raise TypeError(f"bad operand type for abs(): '{_tn(v)}'")
        return abs(v)

    def builtin_len(self, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> int:
        (v,) = self._one("len", args, kwargs)
        if isinstance(v, TensorValue):
            return len(v.tensor(self))
        if isinstance(v, (list, tuple, str)):
            return len(v)
        raise TypeError(f"object of type '{_tn(v)}' has no len()")

    def _convert(self, kind: type, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if not args and not kwargs:
            return kind()
        (v,) = self._one(kind.__name__, args, kwargs)
        v = plain(v, self)
        if (
            isinstance(v, Tensor)
            or _is_num(v)
            or (isinstance(v, str) and kind is not bool and len(v) < 10_000)
        ):
            return kind(v)
        if kind is bool:
            return bool(v)
        raise TypeError(f"{kind.__name__}() argument must be a string or a real number, not '{_tn(v)}'")

    def builtin_float(self, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> float:
        return self._convert(float, args, kwargs)

    def builtin_int(self, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> int:
        return self._convert(int, args, kwargs)

    def builtin_bool(self, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> bool:
        return self._convert(bool, args, kwargs)

    def builtin_round(self, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> Any:
        args = self._one("round", args, kwargs, 2)
        if not _is_num(args[0]) or (len(args) == 2 and not isinstance(args[1], int)):
            raise TypeError(f"type {_tn(args[0])} doesn't define __round__ method in the console")
        if len(args) == 2 and isinstance(args[0], int) and not isinstance(args[1], bool):
            return round_int(*args)  # round(1, -10**9) would build 10**(10**9) first
        return round(*args)

    def _minmax(self, fn: Callable[..., Any], name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if kwargs:
            raise TypeError(f"{name}() takes no keyword arguments in the console")
        values = list(args[0]) if len(args) == 1 and isinstance(args[0], (list, tuple)) else args
        if not values or not all(_is_num(v) for v in values):
            raise TypeError(f"{name}() works on numbers in the console; for tensors use x.{name}()")
        return fn(values)

    def builtin_min(self, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> Any:
        return self._minmax(min, "min", args, kwargs)

    def builtin_max(self, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> Any:
        return self._minmax(max, "max", args, kwargs)

    def builtin_list(self, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> list[Any]:
        if not args and not kwargs:
            return []
        (v,) = self._one("list", args, kwargs)
        return self.sequence(list(self.items(v)), "list(...)")

    def builtin_tuple(self, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> tuple[Any, ...]:
        if not args and not kwargs:
            return ()
        (v,) = self._one("tuple", args, kwargs)
        return self.sequence(tuple(self.items(v)), "tuple(...)")

    def builtin_str(self, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> str:
        if not args and not kwargs:
            return ""
        (v,) = self._one("str", args, kwargs)
        v = plain(v, self)
        check_shown(v, self.measure, "str(...)")
        return str(v)

    def builtin_type(self, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> TypeName:
        (v,) = self._one("type", args, kwargs)
        return TypeName(repr(type(plain(v, self))))  # only its name: the class itself stays out of reach

    def builtin_repr(self, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> str:
        (v,) = self._one("repr", args, kwargs)
        v = plain(v, self)
        check_shown(v, self.measure, "repr(...)")
        return repr(v)

    # --- operators --------------------------------------------------------------------------------------
    def binop(self, op: ast.operator, a: Any, b: Any) -> Any:
        sym, opname, fn = _BINOPS.get(type(op), (type(op).__name__, None, None))
        if isinstance(a, TensorValue) or isinstance(b, TensorValue):
            if opname is None:
                raise ConsoleError(f"the {sym} operator on tensors is not available in the console")
            for v in (a, b):
                if not (isinstance(v, TensorValue) or _is_num(v)):
                    raise TypeError(f"unsupported operand type(s) for {sym}: '{_tn(a)}' and '{_tn(b)}'")
            return self.make_op(self.console.ops[opname], [a, b], {}, opname)
        if fn is None:
            raise ConsoleError(f"the {sym} operator is not allowed in the console")
        if _is_num(a) and _is_num(b):
            if isinstance(a, int) and isinstance(b, int):
                check_int_op(sym, a, b)  # 10**10**10 would take hours and all memory
            if sym == "@":
                raise TypeError(f"unsupported operand type(s) for @: '{_tn(a)}' and '{_tn(b)}'")
            return fn(a, b)
        if sym == "+" and (
            (isinstance(a, str) and isinstance(b, str))
            or (isinstance(a, list) and isinstance(b, list))
            or (isinstance(a, tuple) and isinstance(b, tuple))
        ):
            if isinstance(a, str):
                check_string(len(a) + len(b), "joining these strings with +")
                return a + b
            items = self.measure.of(a).items + self.measure.of(b).items
            check_items(items, f"joining these {_tn(a)}s with +", self.session)
            return a + b
        raise TypeError(f"unsupported operand type(s) for {sym}: '{_tn(a)}' and '{_tn(b)}'")

    def unaryop(self, op: ast.unaryop, v: Any) -> Any:
        if isinstance(op, ast.Not):
            return not self.truth(v)
        if isinstance(v, TensorValue):
            if isinstance(op, ast.UAdd):
                return v
            return self.make_op(self.console.ops["neg"], [v], {}, "neg")
        if not _is_num(v):
            raise TypeError(
                f"bad operand type for unary {'-' if isinstance(op, ast.USub) else '+'}: '{_tn(v)}'"
            )
        return -v if isinstance(op, ast.USub) else +v

    def compare(self, op: ast.cmpop, a: Any, b: Any) -> Any:
        if isinstance(op, (ast.Is, ast.IsNot)):
            same = (
                plain(a, self) is plain(b, self)
                if not (isinstance(a, TensorValue) and isinstance(b, TensorValue))
                else (a.tensor(self) is b.tensor(self))
            )
            return same if isinstance(op, ast.Is) else not same
        sym, opname, fn = _CMPOPS[type(op)]
        if isinstance(a, TensorValue) or isinstance(b, TensorValue):
            if sym in ("==", "!=") and (a is None or b is None):
                return sym == "!="
            for v in (a, b):
                if not (isinstance(v, TensorValue) or _is_num(v)):
                    raise TypeError(f"'{sym}' not supported between instances of '{_tn(a)}' and '{_tn(b)}'")
            return self.make_op(self.console.ops[opname], [a, b], {}, opname)
        if contains_tensor(a) or contains_tensor(b):
            raise ConsoleError("comparing lists or tuples that hold tensors is not supported in the console")
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            # numpy broadcasts: a (n, 1) array against an (n,) one makes n*n results
            shape = np.broadcast_shapes(numpy_shape(a), numpy_shape(b))
            check_numpy_result(self.session, shape, 1, f"this {sym} of numpy arrays")
        return fn(a, b)

    # --- indexing ---------------------------------------------------------------------------------------
    def subscript(self, obj: Any, idx: Any, node: ast.Subscript) -> Any:
        if isinstance(obj, TensorValue):
            return self.index(obj, idx)
        if isinstance(obj, ReturnTypes):
            obj = obj.items()
        if isinstance(obj, (list, tuple, str)):
            if isinstance(idx, slice) or (isinstance(idx, int) and not isinstance(idx, bool)):
                return obj[idx]
            if isinstance(idx, TensorValue):
                return obj[self.as_int(idx, "indices")]
            raise TypeError(f"{_tn(obj)} indices must be integers or slices, not {_tn(idx)}")
        raise TypeError(f"'{_tn(obj)}' object is not subscriptable")

    def index(self, tv: TensorValue, idx: Any) -> PendingOp:
        """``t[...]`` as the catalogue's ``index`` op: JSON-safe items, tensors as extra operands."""
        items = idx if isinstance(idx, tuple) else (idx,)
        enc: list[Any] = []
        operands: list[Any] = [tv]
        for it in items:
            if it is None:
                enc.append(None)
            elif it is Ellipsis:
                enc.append("...")
            elif isinstance(it, bool):
                raise ConsoleError("indexing with True or False is not supported in the console")
            elif isinstance(it, int):
                enc.append(it)
            elif isinstance(it, slice):
                enc.append({"slice": [it.start, it.stop, it.step]})
            elif isinstance(it, list):
                if not all(isinstance(x, (int, bool)) for x in it):
                    raise ConsoleError("a list index must hold only ints or bools in the console")
                if it and any(isinstance(x, bool) for x in it) and not all(isinstance(x, bool) for x in it):
                    raise IndexError("a list index can't mix bools and ints")
                enc.append({"list": list(it)})
            elif isinstance(it, TensorValue):
                operands.append(it)
                enc.append({"operand": len(operands) - 1})
            else:
                raise IndexError(
                    "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid "
                    f"indices (got {_tn(it)})"
                )
        return self.make_op(self.console.ops["index"], operands, {"index": enc}, "index")


class TypeName:
    """What ``type(x)`` shows: ``<class '...'>``, and nothing else."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()
