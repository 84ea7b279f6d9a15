"""The whitelist: which Python the console speaks, judged over the whole input before anything runs.

Only the node types in ``_ALLOWED_NODES`` pass; every other construct is refused with its name
("for loops are not allowed in the console"). Names and attributes that start with ``_`` are out
of reach, and so are Python's builtins other than the console's own (``builtins.BUILTINS``).
"""

from __future__ import annotations

import ast
import builtins
import functools
import textwrap

from .builtins import BUILTINS
from .values import ConsoleError

_ALLOWED_NODES = (
    ast.Module, ast.Expr, ast.Assign, ast.AugAssign, ast.Delete, ast.Pass, ast.Name, ast.Load, ast.Store,
    ast.Del, ast.Constant, ast.List, ast.Tuple, ast.Attribute, ast.Subscript, ast.Slice, ast.Call,
    ast.keyword, ast.Starred, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.JoinedStr,
    ast.FormattedValue, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.MatMult,
    ast.USub, ast.UAdd, ast.Not, ast.And, ast.Or, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
    ast.Is, ast.IsNot, ast.alias, ast.For, ast.If, ast.With, ast.withitem, ast.Break, ast.Continue,
    ast.FunctionDef, ast.Lambda, ast.Return, ast.arguments, ast.arg, ast.ClassDef,
)  # fmt: skip
_CONSTRUCT_NAMES = {
    "Lambda": "lambda", "ListComp": "comprehensions", "SetComp": "comprehensions", "DictComp": "comprehensions",
    "GeneratorExp": "generator expressions", "FunctionDef": "defining functions (def)",
    "AsyncFunctionDef": "defining functions (async def)", "For": "for loops",
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
    ("torch.nn", "nn"), ("gradviz.nn", "nn"), ("torch.optim", "optim"), ("gradviz.optim", "optim"),
    ("torch.optim", None),
}  # fmt: skip
# Imports that bind a name the console defines only once imported.
IMPORTED = {("numpy", "np"): "np", ("numpy", None): "numpy"}
# ``from torch.utils.data import DataLoader``: the names it may bind.
IMPORTED_FROM = {("torch.utils.data", "TensorDataset"), ("torch.utils.data", "DataLoader"),
                 ("torch.optim", "SGD"), ("torch.optim", "Adam")}  # fmt: skip
_PREDEFINED_FROM = {("torch.nn", "functional", "F"), ("gradviz.nn", "functional", "F"), ("torch", "nn", None),
                    ("gradviz", "nn", None), ("torch", "autograd", None), ("torch", "optim", None),
                    ("gradviz", "optim", None)}  # fmt: skip
# Context managers ``with`` accepts: torch's grad modes (any other is refused by name), and
# name scopes (torch.profiler.record_function, torch.autograd.profiler.record_function,
# gradviz.name_scope), which take a name.
GRAD_MODES = ("no_grad", "enable_grad")
NAME_SCOPES = ("record_function", "name_scope")
WITH_ONLY = (
    "with blocks are only for torch.no_grad() and torch.enable_grad() in the console, and for "
    'name scopes: torch.profiler.record_function("name") or gradviz.name_scope("name")'
)
_PLURAL = {"comprehensions", "generator expressions", "for loops", "while loops", "if statements", "with blocks",
           "try blocks", "dict literals", "set literals", "match statements", "annotated assignments"}  # fmt: skip
PY_BUILTINS = frozenset(dir(builtins))


def _harmless_import(node: ast.Import | ast.ImportFrom) -> bool:
    if isinstance(node, ast.Import):
        return all(
            (a.name, a.asname) in _PREDEFINED_IMPORTS or (a.name, a.asname) in IMPORTED for a in node.names
        )
    return node.level == 0 and all(
        (node.module, a.name, a.asname) in _PREDEFINED_FROM
        or ((node.module, a.name) in IMPORTED_FROM and not a.asname)
        for a in node.names
    )


# The modules and optimisers the console records (console.modules, console.optimisers).
NN_OFFERED = ("Linear", "Sequential", "Identity", "Tanh", "Sigmoid", "ReLU", "MSELoss", "L1Loss", "BCELoss",
              "BCEWithLogitsLoss", "CrossEntropyLoss")  # fmt: skip
OPTIM_OFFERED = ("SGD", "Adam")


def not_offered(what: str) -> str:
    """Why ``torch.nn.Conv2d`` (say) is refused, and what is offered instead: the console
    records a module's parameters and ops in the session's log, which it does for these."""
    offered = OPTIM_OFFERED if what.startswith("torch.optim") else NN_OFFERED
    prefix = "optim" if what.startswith("torch.optim") else "nn"
    return (
        f"{what} is not available in the console, which records modules and optimisers in the "
        f"session's log (for undo, replay and save) only for {', '.join(f'{prefix}.{k}' for k in offered)}"
    )


def check(tree: ast.AST) -> None:
    """Refuse, before anything runs, every construct the console does not speak."""
    starred_ok = {
        id(a) for n in ast.walk(tree) if isinstance(n, ast.Call) for a in n.args if isinstance(a, ast.Starred)
    }
    super_calls: set[int] = set()  # the nodes of super().__init__() in a module class's __init__
    for node in ast.walk(tree):  # breadth first: a call is judged before its parts
        line = getattr(node, "lineno", None)
        at = f" (line {line})" if line is not None else ""
        if id(node) in super_calls:
            continue
        if isinstance(node, ast.ClassDef):
            super_calls |= module_class(node)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if _harmless_import(node):
                continue
            raise ConsoleError(
                "imports other than torch, torch.nn, torch.nn.functional, torch.optim and numpy are not "
                f"allowed in the console{at}"
            )
        if not isinstance(node, _ALLOWED_NODES):
            what = _CONSTRUCT_NAMES.get(type(node).__name__, type(node).__name__)
            raise ConsoleError(f"{what} {'are' if what in _PLURAL else 'is'} not allowed in the console{at}")
        try:
            _check_node(node, starred_ok)
            _check_block(node)
        except ConsoleError as e:
            raise ConsoleError(f"{e}{at}") from None
    _check_flow(tree, in_loop=False, in_def=False)


CLASS_SHAPE = (
    "defining classes is not allowed in the console, except a module: class Net(nn.Module): with "
    "__init__ (super().__init__() and self.name = ... only) and forward; nn.Sequential(nn.Linear(2, 4), "
    "nn.Tanh(), nn.Linear(4, 1)) builds most models"
)


def _is_nn_module(base: ast.expr) -> bool:
    """``nn.Module`` or ``torch.nn.Module``."""
    if not (isinstance(base, ast.Attribute) and base.attr == "Module"):
        return False
    v = base.value
    return (isinstance(v, ast.Name) and v.id == "nn") or (
        isinstance(v, ast.Attribute)
        and v.attr == "nn"
        and isinstance(v.value, ast.Name)
        and v.value.id == "torch"
    )


def _is_super_init(stmt: ast.stmt) -> bool:
    """``super().__init__()``, exactly."""
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return False
    call = stmt.value
    f = call.func
    return (
        not call.args and not call.keywords and isinstance(f, ast.Attribute) and f.attr == "__init__"
        and isinstance(f.value, ast.Call) and isinstance(f.value.func, ast.Name) and f.value.func.id == "super"
        and not f.value.args and not f.value.keywords
    )  # fmt: skip


def _docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Pass) or (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def module_class(node: ast.ClassDef) -> set[int]:
    """The one class the console defines, ``class Net(nn.Module):`` with ``__init__`` (only
    ``super().__init__()`` and ``self.name = ...``) and ``forward``: refuse any other shape, naming
    what and where; return the ids of the ``super().__init__()`` nodes, which name a dunder."""
    at = f" (line {node.lineno})"
    if node.decorator_list or node.keywords or len(node.bases) != 1 or not _is_nn_module(node.bases[0]):
        raise ConsoleError(f"{CLASS_SHAPE}{at}")
    exempt: set[int] = set()
    methods = set()
    for item in node.body:
        if _docstring(item):
            continue
        if (
            not isinstance(item, ast.FunctionDef)
            or item.name not in ("__init__", "forward")
            or item.name in methods
        ):
            what = item.name if isinstance(item, ast.FunctionDef) else type(item).__name__
            raise ConsoleError(
                f"{what} in class {node.name}: a module class in the console holds only __init__ and forward "
                f"(line {item.lineno})"
            )
        methods.add(item.name)
        if not item.args.args or item.args.args[0].arg != "self":
            raise ConsoleError(f"{item.name}'s first parameter must be self (line {item.lineno})")
        if item.name == "__init__":
            for stmt in item.body:
                if _is_super_init(stmt):
                    exempt |= {id(n) for n in ast.walk(stmt)}
                elif not _docstring(stmt) and not (
                    isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                    and isinstance(stmt.targets[0], ast.Attribute) and isinstance(stmt.targets[0].value, ast.Name)
                    and stmt.targets[0].value.id == "self"
                ):  # fmt: skip
                    raise ConsoleError(
                        "__init__ of a module class does only super().__init__() and self.name = ... in the "
                        f"console (line {stmt.lineno})"
                    )
    if "forward" not in methods:
        raise ConsoleError(f"class {node.name} needs a forward method{at}")
    return exempt


def _check_block(node: ast.AST) -> None:
    """The parts of loops, ``with`` and ``def`` the console leaves out."""
    if isinstance(node, ast.For) and node.orelse:
        raise ConsoleError("for ... else is not allowed in the console")
    if isinstance(node, ast.For) and not _simple_target(node.target):
        raise ConsoleError("a for loop's target must be a name or names (for i, x in ...)")
    if isinstance(node, ast.With):
        for item in node.items:
            e = item.context_expr
            if item.optional_vars is not None or not (_grad_mode(e) or _name_scope(e)):
                raise ConsoleError(WITH_ONLY)
    if isinstance(node, ast.FunctionDef):
        if node.decorator_list:
            raise ConsoleError("decorators are not allowed in the console")
        if node.returns is not None or any(a.annotation is not None for a in _all_args(node.args)):
            raise ConsoleError("annotations are not allowed in the console")
    if isinstance(node, (ast.FunctionDef, ast.Lambda)):
        a = node.args
        if a.vararg or a.kwarg or a.posonlyargs or a.kwonlyargs:
            raise ConsoleError("*args, **kwargs and keyword-only parameters are not allowed in the console")


def _grad_mode(e: ast.expr) -> bool:
    """``torch.no_grad()``, ``gradviz.enable_grad()``."""
    return (
        isinstance(e, ast.Call) and not e.args and not e.keywords and isinstance(e.func, ast.Attribute)
        and isinstance(e.func.value, ast.Name) and e.func.value.id in ("torch", "gradviz")
        and e.func.attr in GRAD_MODES
    )  # fmt: skip


def _name_scope(e: ast.expr) -> bool:
    """``torch.profiler.record_function(...)``, ``torch.autograd.profiler.record_function(...)``,
    ``gradviz.name_scope(...)``: what they are is checked as they run (control.run_with)."""
    if not (isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and e.func.attr in NAME_SCOPES):
        return False
    root = e.func.value
    while isinstance(root, ast.Attribute):
        root = root.value
    return isinstance(root, ast.Name) and root.id in ("torch", "gradviz")


@functools.lru_cache(maxsize=256)  # an autosave asks again of every loop in the log
def opens_name_scope(source: str) -> bool:
    """Whether console code ``source`` opens a name scope (``with gradviz.name_scope(...)``)."""
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:  # not console code: it runs nowhere, so it opens nothing
        return False
    return any(
        isinstance(n, ast.With) and any(_name_scope(item.context_expr) for item in n.items)
        for n in ast.walk(tree)
    )


def _all_args(a: ast.arguments) -> list[ast.arg]:
    return [
        *a.posonlyargs,
        *a.args,
        *a.kwonlyargs,
        *([a.vararg] if a.vararg else []),
        *([a.kwarg] if a.kwarg else []),
    ]


def _simple_target(t: ast.expr) -> bool:
    return isinstance(t, ast.Name) or (
        isinstance(t, (ast.Tuple, ast.List)) and all(isinstance(e, ast.Name) for e in t.elts)
    )


def _check_flow(node: ast.AST, in_loop: bool, in_def: bool) -> None:
    """``break``/``continue`` outside a loop and ``return`` outside a function: Python's
    compiler refuses them, ``ast.parse`` doesn't."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Break, ast.Continue)) and not in_loop:
            word = "break" if isinstance(child, ast.Break) else "continue"
            raise ConsoleError(f"'{word}' outside loop (line {child.lineno})")
        if isinstance(child, ast.Return) and not in_def:
            raise ConsoleError(f"'return' outside function (line {child.lineno})")
        if isinstance(child, (ast.FunctionDef, ast.Lambda)):
            _check_flow(child, in_loop=False, in_def=True)
        elif isinstance(child, ast.ClassDef):
            _check_flow(child, in_loop=False, in_def=False)
        elif isinstance(child, ast.For):
            _check_flow(child, in_loop=True, in_def=in_def)
        else:
            _check_flow(child, in_loop, in_def)


def _check_node(node: ast.AST, starred_ok: set[int]) -> None:
    """The rules for one allowed node: no private names, calls only to the console's builtins."""
    if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
        raise ConsoleError(f"attribute '{node.attr}' is not accessible in the console")
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        raise ConsoleError(f"name '{node.id}' is not accessible in the console")
    if isinstance(node, ast.Call):
        f = node.func
        if isinstance(f, ast.Name) and f.id in PY_BUILTINS and f.id not in BUILTINS:
            raise ConsoleError(f"calling '{f.id}' is not allowed in the console")
        if any(k.arg is None for k in node.keywords):
            raise ConsoleError("**keyword unpacking is not allowed in the console")
    if isinstance(node, ast.Starred) and id(node) not in starred_ok:
        raise ConsoleError("* unpacking is only allowed in call arguments in the console")
    if isinstance(node, ast.Constant) and not (
        node.value is None or node.value is Ellipsis or isinstance(node.value, (bool, int, float, str))
    ):
        raise ConsoleError(f"{type(node.value).__name__} literals are not supported in the console")
