"""The op registry: every op is declared once, with what the rest of gradviz needs to know of it.

An op is a module-level function decorated with :func:`op`. The decorator returns the function
itself (so "go to definition" finds it), binds it as a ``Tensor`` method where torch has one,
adds it to its module's ``__all__`` and records an :class:`OpInfo`: how it is called (function,
method, ``F.``, infix symbol), its tensor operands and parameters, and its local derivative. The
session's catalogue, the console, the dialogs, the file format and the explanations read that.

Local derivatives are data (see :class:`Formula`): on each backward node class (a ``Function``
subclass: ``formula``, ``statement``) and on each op. :func:`formula_for` answers for a node name,
as the explanations and the backward stepper ask.

Adding an op touches its module only (tests aside)::

    class Log1p(Function):
        name = "Log1PBackward0"  # torch's grad_fn name
        statement = "result = ln(1 + input)"
        formula = {"input": "1/(1 + input)"}  # ∂result/∂input, in torch's operand names

        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return np.log1p(a)

        @staticmethod
        def backward(ctx, g):  # on arrays, or on Tensors under create_graph=True
            (a,) = ctx.saved_tensors
            return (g / (a + 1),)


    @registry.op(nodes=(Log1p,))  # gradviz.log1p, Tensor.log1p, the catalogue entry
    def log1p(input: Tensor) -> Tensor:
        return Log1p.apply(input)

A composite is a registered function built from other ops (``@composite`` lets the Tensors
view draw it as one call). Then run ``python -m gradviz.engine.registry`` to refresh
ops/_generated.py, the plain imports of what the registrations made (for "go to definition").
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

REQUIRED: Any = object()
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Param:
    """A parameter other than a tensor operand. ``kind`` is the key of its kind of JSON value
    ("int", "float", "number", "bool", "dim", "dims", "shape", "index", "choice", "optional_int")."""

    name: str
    kind: str
    default: Any = REQUIRED
    choices: tuple[str, ...] = ()
    help: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class Formula:
    """A local derivative as data: ``statement`` says what the op computes ("result = input ·
    other"); ``parts`` give each operand's derivative, ∂result/∂operand, keyed by PyTorch's
    operand names (``adjoint``: ∂L/∂operand in terms of ∂L/∂result instead); ``text`` is the
    derivative as the explanations show it, made from the parts unless given whole."""

    statement: str = ""
    parts: dict[str, str] = field(default_factory=dict)
    text: str = ""
    adjoint: bool = False

    @staticmethod
    def of(
        parts: dict[str, str] | None = None, statement: str = "", text: str = "", adjoint: bool = False
    ) -> Formula:
        parts = dict(parts or {})
        if not text:
            wrt = "∂L/∂{}" if adjoint else "∂result/∂{}"
            text = ", ".join(f"{wrt.format(k)} = {v}" for k, v in parts.items()) or statement
        return Formula(statement, parts, text, adjoint)

    @property
    def line(self) -> str:
        """Statement and derivative in one line: ``result = input · other: ∂result/∂input = ...``."""
        if not self.statement or self.text.startswith(self.statement):
            return self.text
        return f"{self.statement}: {self.text}"


@dataclass(frozen=True)
class OpInfo:
    """One registered op. ``call`` is how a session runs it (operands, then params as keywords);
    ``syntax`` the forms torch spells it in: "function" (torch.x), "method" (t.x()), "F"
    (torch.nn.functional.x), "attribute" (t.T), "index" (t[...]); ``symbol`` its infix operator."""

    name: str
    fn: Callable[..., Any]
    call: Callable[..., Any]
    min_operands: int
    max_operands: int | None
    operand_names: tuple[str, ...]
    params: tuple[Param, ...]
    category: str
    syntax: tuple[str, ...]
    symbol: str | None
    scalar_operands: bool
    size_rule: str
    formula: Formula
    nodes: tuple[type, ...]
    aliases: tuple[str, ...]
    operand_list: bool = False
    catalogue: bool = True  # offered by the session (console, dialogs, files)
    variadic: bool = False  # takes extra tensor operands beyond those named (index: masks)
    method: str | None = None  # the Tensor method's name, when not ``name``
    inplace: bool = False  # torch also has the method's in-place form, ``t.name_()``
    numpy_names: bool = True  # accepts ``axis=``/``keepdims=`` for ``dim``/``keepdim``, as torch's C++ ops do

    @property
    def arity(self) -> int | None:
        """The catalogue's count of tensor operands: None for a list or a variable number."""
        return None if self.operand_list or self.variadic else self.max_operands


REGISTRY: dict[str, OpInfo] = {}
# Backward node classes by name (filled by Function.__init_subclass__).
NODE_CLASSES: dict[str, type] = {}


def op(
    *,
    name: str | None = None,
    syntax: tuple[str, ...] = ("function", "method"),
    operands: tuple[str, ...] = ("input",),
    min_operands: int | None = None,
    params: tuple[Param, ...] = (),
    category: str = "math",
    nodes: tuple[type, ...] = (),
    symbol: str | None = None,
    scalar_operands: bool = False,
    size_rule: str = "same",
    formula: dict[str, str] | None = None,
    statement: str = "",
    text: str = "",
    adjoint: bool = False,
    aliases: tuple[str, ...] = (),
    call: Callable[..., Any] | None = None,
    export: bool = True,
    catalogue: bool = True,
    operand_list: bool = False,
    method: str | None = None,
    variadic: bool = False,
    inplace: bool = False,
    numpy_names: bool = True,
) -> Callable[[F], F]:
    """Register the decorated function as the op ``name`` (default: the function's name).

    ``syntax``: "function" exports it from its module (``gradviz.name``), "method" binds it as
    ``Tensor.<method or name>`` (and each alias), "F" exports it from ``nn.functional``;
    "attribute" (``t.T``) and "index" (``t[...]``) say how it is spelt, with ``symbol`` for an
    infix operator (``a * b``): the operators are bound in ``ops/__init__.py``.
    ``operands``: PyTorch's names of its tensor operands (``operand_list``: one list of them, as
    cat's ``tensors``); ``params``: the rest, with JSON kinds for the session. ``call``: how the
    session runs it when that is not the function itself. ``nodes``: the backward node classes
    it records; with no ``formula``/``statement``/``text``, the op's formula is its first
    node's. ``catalogue=False``: an engine op the session does not offer. ``inplace``: torch
    also has ``t.name_()``, the same op written into the tensor (its version counter moves on).
    ``numpy_names=False``: torch's op is a Python function (``norm``, ``split``, ``unique``), which
    refuses numpy's ``axis=`` and ``keepdims=``; torch's C++ ops take them (see :data:`NUMPY_NAMES`).
    """

    def register(fn: F) -> F:
        key = name or fn.__name__
        if numpy_names:
            fn = accept_numpy_names(fn)
        if key in REGISTRY:
            raise ValueError(f"op {key!r} is registered twice")
        if formula or statement or text:
            f = Formula.of(formula, statement, text, adjoint)
        else:
            f = node_formula(nodes[0]) if nodes else Formula()
        REGISTRY[key] = OpInfo(
            name=key,
            fn=fn,
            call=call or fn,
            min_operands=len(operands) if min_operands is None else min_operands,
            max_operands=None if variadic or operand_list else len(operands),
            operand_names=operands,
            params=params,
            category=category,
            syntax=syntax,
            symbol=symbol,
            scalar_operands=scalar_operands,
            size_rule=size_rule,
            formula=f,
            nodes=nodes,
            aliases=aliases,
            operand_list=operand_list,
            catalogue=catalogue,
            variadic=variadic,
            method=method,
            inplace=inplace,
            numpy_names=numpy_names,
        )
        module = sys.modules[fn.__module__]
        if export and ("function" in syntax or "F" in syntax):
            names = module.__dict__.setdefault("__all__", [])
            if key not in names:
                names.append(key)
        if "method" in syntax:
            from .tensor import Tensor, make_inplace

            for attr in (method or key, *aliases):
                own = Tensor.__dict__.get(attr)
                if getattr(own, "__module__", None) != Tensor.__module__:  # detach: Tensor's own
                    setattr(Tensor, attr, fn)
                if inplace and attr + "_" not in Tensor.__dict__:  # add_ and mul_ are Tensor's own
                    setattr(Tensor, attr + "_", make_inplace(attr))
        elif inplace:
            raise ValueError(f"op {key!r}: an in-place form needs the method syntax")
        return fn

    return register


# numpy's keyword -> torch's: torch's argument parser takes these for any C++ op (torch.sum(x,
# axis=0, keepdims=True)); its Python functions (torch.norm, F.softmax) don't.
NUMPY_NAMES = {"axis": "dim", "keepdims": "keepdim"}


def accept_numpy_names(fn: F) -> F:
    """``fn`` taking numpy's ``axis=``/``keepdims=`` for its ``dim``/``keepdim``, as torch's C++
    ops do (``fn.__wrapped__`` is the function without them); ``fn`` itself if it has neither."""
    params = list(inspect.signature(fn).parameters)
    renames = {alias: (name, params.index(name)) for alias, name in NUMPY_NAMES.items() if name in params}
    if not renames:
        return fn

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        if kwargs:
            for alias, (name, position) in renames.items():
                if alias in kwargs:
                    if name in kwargs or len(args) > position:  # both given: torch refuses the alias
                        raise TypeError(f"{fn.__name__}() got an unexpected keyword argument '{alias}'")
                    kwargs[name] = kwargs.pop(alias)
        return fn(*args, **kwargs)

    return call  # type: ignore[return-value]


def node_formula(node: type) -> Formula:
    """The formula a ``Function`` subclass declares (``formula``, ``statement``, ``derivative``)."""
    return Formula.of(
        getattr(node, "formula", None),
        getattr(node, "statement", ""),
        getattr(node, "derivative", ""),
        getattr(node, "adjoint", False),
    )


def node_class(node_name: str) -> type | None:
    """The class of the backward node ``node_name`` (``MulBackward0``), if the engine has it."""
    return NODE_CLASSES.get(node_name.rsplit("::", 1)[-1])


def formula_for(node_name: str, own: bool = False) -> Formula | None:
    """The local derivative of the backward node ``node_name`` (``MulBackward0``), or None: the
    node class's own, else (unless ``own``) that of the op that records it."""
    cls = node_class(node_name)
    if cls is None:
        return None
    f = node_formula(cls)
    if f.text:
        return f
    if not own:
        for info in REGISTRY.values():
            if cls in info.nodes and info.formula.text:
                return info.formula
    return None


def get(name: str) -> OpInfo:
    return REGISTRY[name]


def ops() -> tuple[OpInfo, ...]:
    return tuple(REGISTRY.values())


__all__ = [
    "NODE_CLASSES",
    "NUMPY_NAMES",
    "REGISTRY",
    "REQUIRED",
    "Formula",
    "OpInfo",
    "Param",
    "accept_numpy_names",
    "formula_for",
    "get",
    "node_class",
    "op",
    "ops",
]


# --- the generated module of exports and typed methods --------------------------------------------
# ops/_generated.py spells out, as plain imports, what the registrations made: the functions
# ops/__init__.py exports and (for type checkers) Tensor's methods, so that "go to definition"
# finds each in its op module. Regenerate with ``python -m gradviz.engine.registry``; a test
# checks it against the registry.
GENERATED = "ops/_generated.py"


def _source_name(info: OpInfo) -> str:
    module = sys.modules[info.fn.__module__]
    here = [k for k, v in vars(module).items() if v is info.fn and not k.startswith("__")]
    return info.name if info.name in here else sorted(here)[0]


def _rel(module: str) -> str:
    return "." + module.removeprefix("gradviz.engine.ops.")


def exported_functions() -> set[tuple[str, str, str]]:
    """(module, function, exported name) for each op exported as ``gradviz.<name>``."""
    return {
        (_rel(i.fn.__module__), _source_name(i), i.name)
        for i in REGISTRY.values()
        if "function" in i.syntax and i.fn.__module__.startswith("gradviz.engine.ops.")
    }


def stub_methods() -> set[tuple[str, str, str]]:
    """(module, function, Tensor method) for each method ``registry.op`` binds."""
    from .tensor import Tensor

    out = set()
    for info in REGISTRY.values():
        if "method" not in info.syntax:
            continue
        for attr in (info.method or info.name, *info.aliases):
            if Tensor.__dict__.get(attr) is info.fn:  # not detach: Tensor's own
                out.add((_rel(info.fn.__module__), _source_name(info), attr))
    return out


def _imports(triples: set[tuple[str, str, str]], indent: str) -> list[str]:
    lines = []
    for mod, source, name in sorted(triples):
        lines.append(f"{indent}from {mod} import {source}" + ("" if name == source else f" as {name}"))
    return lines


def generated_source() -> str:
    exports = exported_functions()
    names = sorted(name for _, _, name in exports)
    return "\n".join(
        [
            '"""Generated from the op registry by ``python -m gradviz.engine.registry``: do not edit.',
            "",
            "The functions the ops export and, for type checkers, the methods they bind on Tensor,",
            'spelt out so that "go to definition" finds each in its op module."""',
            "",
            "from __future__ import annotations",
            "",
            "from typing import TYPE_CHECKING",
            "",
            *_imports(exports, ""),
            "",
            "__all__ = [" + ", ".join(repr(n) for n in names) + "]",
            "",
            "if TYPE_CHECKING:",
            "",
            "    class TensorMethods:",
            '        """What registry.op binds on Tensor (tensor.py makes it a base for type checkers)."""',
            "",
            *_imports(stub_methods(), "        "),
            "",
        ]
    )


def write_generated() -> str:
    """Write ops/_generated.py (then ruff tidies it, if installed); returns its path."""
    import os
    import shutil
    import subprocess

    path = os.path.join(os.path.dirname(__file__), GENERATED)
    with open(path, "w", encoding="utf-8") as f:
        f.write(generated_source())
    if shutil.which("ruff"):
        subprocess.run(["ruff", "check", "--fix", "-q", path], check=False)
        subprocess.run(["ruff", "format", "-q", path], check=False)
    return path


if __name__ == "__main__":
    # Run as a script this module is a second copy: use the one the ops registered with.
    import gradviz.engine.registry as _registry

    print(_registry.write_generated())
