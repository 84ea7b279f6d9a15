"""The one catalogue of operations a session can record.

The console, the app's toolbar and dialogs, and the file format all read this list, so an op
added here appears everywhere. Each entry says how many tensor operands it takes, which
parameters it has (with JSON-safe types), how to call the engine, and what its local derivative
is, for the app's explanations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gradviz.engine as E
import gradviz.nn.functional as F
from gradviz.engine import Tensor, registry
from gradviz.engine.registry import REQUIRED, Param  # noqa: F401 - REQUIRED: catalogue's public name


@dataclass(frozen=True)
class OpSpec:
    """One operation. ``arity`` counts tensor operands (None: a list of any length ≥ 1)."""

    name: str
    fn: Callable[..., Tensor]
    arity: int | None
    params: tuple[Param, ...] = ()
    category: str = "math"
    symbol: str | None = None  # infix operator, for display: "a * b"
    scalar_operands: bool = False  # Python numbers allowed in place of tensor operands
    method: bool = True  # also a Tensor method in the console (x.exp())
    derivative: str = ""
    size_rule: str = "max"  # how to bound the output's element count before running it
    # PyTorch's names for the tensor operands, so the console binds them by keyword too:
    # F.nll_loss(logp, target=t) records t as an operand, like F.nll_loss(logp, t). The dialog's
    # labels and ``derivative`` use the same names, and "result" for the output: letters such as
    # a, b or out would read as the user's tensors of those names.
    operand_names: tuple[str, ...] = ("input", "other")
    operand_list: bool = False  # the operands are one list, torch's operand_names[0]: cat(tensors)
    aliases: tuple[str, ...] = ()
    doc: str = ""
    min_operands: int | None = None  # None: as many as arity (or 1 for a list)
    # How torch spells a call: "function" (torch.x), "method" (t.x()), "F" (F.x); () for the
    # ops typed below (see their symbol, method and category).
    syntax: tuple[str, ...] = ()

    def operand_name(self, i: int) -> str:
        """What PyTorch calls the i-th tensor operand: ``input``, ``other``, ``tensors[1]``."""
        if self.operand_list:
            return f"{self.operand_names[0]}[{i}]"
        if i < len(self.operand_names) and (self.arity is None or i < self.arity):
            return self.operand_names[i]
        return f"operand {i + 1}"  # index's extra tensors (masks), which torch doesn't name

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params if not p.required}


# --- index encoding: JSON-safe and free of code --------------------------------------------------
def decode_index(items: Sequence[Any], operands: Sequence[Tensor]) -> tuple:
    """Turn the stored form of ``t[...]`` back into a Python index.

    Items: an int; null (None, a new axis); "..." (Ellipsis); {"slice": [start, stop, step]};
    {"list": [...]} (ints or bools); {"operand": k} (the k-th extra tensor operand, a mask or
    integer tensor).
    """
    out: list[Any] = []
    for item in items:
        if item is None:
            out.append(None)
        elif item == "...":
            out.append(Ellipsis)
        elif isinstance(item, bool):
            raise ValueError("a bare bool is not a valid index item")
        elif isinstance(item, int):
            out.append(item)
        elif isinstance(item, dict) and set(item) == {"slice"}:
            out.append(slice(*item["slice"]))
        elif isinstance(item, dict) and set(item) == {"list"}:
            out.append(list(item["list"]))
        elif isinstance(item, dict) and set(item) == {"operand"}:
            out.append(operands[item["operand"]])
        else:
            raise ValueError(f"unknown index item {item!r}")
    return tuple(out)


def _index(t: Tensor, *masks: Tensor, index: Sequence[Any] = ()) -> Tensor:
    operands = (t, *masks)
    items = decode_index(index, operands)
    return t[items if len(items) != 1 else items[0]]


def _max(t: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return t.max() if dim is None else t.max(dim=dim, keepdim=keepdim).values


def _min(t: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return t.min() if dim is None else t.min(dim=dim, keepdim=keepdim).values


def _sum(t: Tensor, dim: Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    return t.sum() if dim is None else t.sum(dim=tuple(dim), keepdim=keepdim)


def _mean(t: Tensor, dim: Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    return t.mean() if dim is None else t.mean(dim=tuple(dim), keepdim=keepdim)


DTYPE_NAMES = ("float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool")
_BIN = dict(arity=2, scalar_operands=True, category="arithmetic", size_rule="broadcast")
_UNARY = dict(arity=1, category="math", size_rule="same")
_DIM = Param("dim", "dim", -1)

OPS: tuple[OpSpec, ...] = (
    # arithmetic
    OpSpec(
        "add", lambda a, b: a + b, symbol="+", derivative="∂result/∂input = 1, ∂result/∂other = 1", **_BIN
    ),
    OpSpec(
        "sub",
        lambda a, b: a - b,
        symbol="-",
        derivative="∂result/∂input = 1, ∂result/∂other = -1",
        aliases=("subtract",),
        **_BIN,
    ),
    OpSpec(
        "mul",
        lambda a, b: a * b,
        symbol="*",
        derivative="∂result/∂input = other, ∂result/∂other = input",
        aliases=("multiply",),
        **_BIN,
    ),
    OpSpec(
        "div",
        lambda a, b: a / b,
        symbol="/",
        derivative="∂result/∂input = 1/other, ∂result/∂other = -input/other²",
        aliases=("divide", "true_divide"),
        **_BIN,
    ),
    OpSpec(
        "pow",
        lambda a, b: a**b,
        symbol="**",
        derivative="∂result/∂input = exponent·input^(exponent-1), ∂result/∂exponent = result·ln input",
        operand_names=("input", "exponent"),
        **_BIN,
    ),
    OpSpec(
        "matmul",
        lambda a, b: a @ b,
        arity=2,
        symbol="@",
        category="linear algebra",
        size_rule="matmul",
        derivative="∂L/∂input = ∂L/∂result · otherᵀ, ∂L/∂other = inputᵀ · ∂L/∂result",
    ),
    OpSpec(
        "neg", lambda a: -a, symbol="-", derivative="∂result/∂input = -1", aliases=("negative",), **_UNARY
    ),
    # elementwise maths
    OpSpec("exp", E.exp, derivative="∂result/∂input = exp(input) = result", **_UNARY),
    OpSpec("log", E.log, derivative="∂result/∂input = 1/input", **_UNARY),
    OpSpec("sqrt", E.sqrt, derivative="∂result/∂input = 1/(2·√input)", **_UNARY),
    OpSpec("sin", E.sin, derivative="∂result/∂input = cos(input)", **_UNARY),
    OpSpec("cos", E.cos, derivative="∂result/∂input = -sin(input)", **_UNARY),
    OpSpec("abs", E.abs, derivative="∂result/∂input = sign(input)", aliases=("absolute",), **_UNARY),
    OpSpec(
        "clamp",
        lambda a, min=None, max=None: E.clamp(a, min, max),
        params=(Param("min", "number", None), Param("max", "number", None)),
        derivative="∂result/∂input = 1 inside [min, max], 0 outside",
        aliases=("clip",),
        **_UNARY,
    ),
    # activations
    OpSpec(
        "tanh",
        E.tanh,
        derivative="∂result/∂input = 1 - tanh²(input) = 1 - result²",
        **{**_UNARY, "category": "activation"},
    ),
    OpSpec(
        "sigmoid",
        E.sigmoid,
        derivative="∂result/∂input = σ(input)·(1 - σ(input)) = result·(1 - result)",
        **{**_UNARY, "category": "activation"},
    ),
    OpSpec(
        "relu",
        E.relu,
        derivative="∂result/∂input = 1 where input > 0, else 0",
        **{**_UNARY, "category": "activation"},
    ),
    OpSpec(
        "softmax",
        lambda a, dim=-1: E.softmax(a, dim),
        params=(_DIM,),
        category="activation",
        arity=1,
        size_rule="same",
        derivative="∂L/∂input = result·(∂L/∂result - Σ ∂L/∂result·result)",
    ),
    OpSpec(
        "log_softmax",
        lambda a, dim=-1: E.log_softmax(a, dim),
        params=(_DIM,),
        category="activation",
        arity=1,
        size_rule="same",
        derivative="∂L/∂input = ∂L/∂result - softmax(input)·Σ ∂L/∂result",
    ),
    # reductions
    OpSpec(
        "sum",
        _sum,
        arity=1,
        category="reduction",
        params=(Param("dim", "dims", None), Param("keepdim", "bool", False)),
        derivative="∂result/∂input = 1 for every element summed",
    ),
    OpSpec(
        "mean",
        _mean,
        arity=1,
        category="reduction",
        params=(Param("dim", "dims", None), Param("keepdim", "bool", False)),
        derivative="∂result/∂input = 1/n for each of the n elements averaged",
    ),
    OpSpec(
        "max",
        _max,
        arity=1,
        category="reduction",
        params=(Param("dim", "optional_int", None), Param("keepdim", "bool", False)),
        derivative="∂result/∂input = 1 at the maximum, 0 elsewhere",
    ),
    OpSpec(
        "min",
        _min,
        arity=1,
        category="reduction",
        params=(Param("dim", "optional_int", None), Param("keepdim", "bool", False)),
        derivative="∂result/∂input = 1 at the minimum, 0 elsewhere",
    ),
    # shapes
    OpSpec(
        "T",
        lambda a: a.T,
        arity=1,
        category="shape",
        size_rule="same",
        derivative="∂L/∂input = (∂L/∂result)ᵀ",
        method=False,
    ),
    OpSpec(
        "t",
        lambda a: a.t(),
        arity=1,
        category="shape",
        size_rule="same",
        derivative="∂L/∂input = (∂L/∂result)ᵀ (at most 2-D)",
    ),
    OpSpec(
        "transpose",
        lambda a, dim0=0, dim1=1: a.transpose(dim0, dim1),
        arity=1,
        category="shape",
        size_rule="same",
        params=(Param("dim0", "dim", 0), Param("dim1", "dim", 1)),
        derivative="∂L/∂input = ∂L/∂result with the two dims swapped back",
    ),
    OpSpec(
        "reshape",
        lambda a, shape=(): a.reshape(tuple(shape)),
        arity=1,
        category="shape",
        size_rule="same",
        params=(Param("shape", "shape"),),
        derivative="∂L/∂input = ∂L/∂result reshaped to input's shape",
    ),
    OpSpec(
        "view",
        lambda a, shape=(): a.view(tuple(shape)),
        arity=1,
        category="shape",
        size_rule="same",
        params=(Param("shape", "shape"),),
        derivative="∂L/∂input = ∂L/∂result viewed as input's shape",
    ),
    OpSpec(
        "flatten",
        lambda a, start_dim=0, end_dim=-1: a.flatten(start_dim, end_dim),
        arity=1,
        category="shape",
        size_rule="same",
        params=(Param("start_dim", "dim", 0), Param("end_dim", "dim", -1)),
        derivative="∂L/∂input = ∂L/∂result reshaped to input's shape",
    ),
    OpSpec(
        "unsqueeze",
        lambda a, dim=0: a.unsqueeze(dim),
        arity=1,
        category="shape",
        size_rule="same",
        params=(Param("dim", "dim", 0),),
        derivative="∂L/∂input = ∂L/∂result with the new dim removed",
    ),
    OpSpec(
        "squeeze",
        lambda a, dim=None: a.squeeze() if dim is None else a.squeeze(dim),
        arity=1,
        category="shape",
        size_rule="same",
        params=(Param("dim", "optional_int", None),),
        derivative="∂L/∂input = ∂L/∂result with size-1 dims restored",
    ),
    OpSpec(
        "index",
        _index,
        arity=None,
        category="shape",
        size_rule="index",
        params=(Param("index", "index"),),
        derivative="∂L/∂input = ∂L/∂result scattered back to the indexed positions, 0 elsewhere",
        method=False,
        operand_names=("input",),
    ),
    OpSpec(
        "cat",
        lambda *ts, dim=0: E.cat(ts, dim),
        arity=None,
        category="shape",
        size_rule="sum",
        params=(Param("dim", "dim", 0),),
        derivative="∂L/∂tensors[i] = the slice of ∂L/∂result that tensors[i] filled",
        method=False,
        operand_names=("tensors",),
        operand_list=True,
        aliases=("concat", "concatenate"),
    ),
    OpSpec(
        "stack",
        lambda *ts, dim=0: E.stack(ts, dim),
        arity=None,
        category="shape",
        size_rule="sum",
        params=(Param("dim", "dim", 0),),
        derivative="∂L/∂tensors[i] = the i-th slice of ∂L/∂result",
        method=False,
        operand_names=("tensors",),
        operand_list=True,
    ),
    OpSpec(
        "where",
        lambda c, a, b: E.where(c, a, b),
        arity=3,
        category="shape",
        size_rule="broadcast",
        scalar_operands=True,
        derivative="∂result/∂input = 1 where condition, ∂result/∂other = 1 where not condition",
        method=False,
        operand_names=("condition", "input", "other"),
    ),
    OpSpec(
        "detach",
        lambda a: a.detach(),
        arity=1,
        category="autograd",
        size_rule="same",
        derivative="no gradient flows through detach",
    ),
    OpSpec(
        "clone",
        lambda a: a.clone(),
        arity=1,
        category="autograd",
        size_rule="same",
        derivative="∂result/∂input = 1 (a copy)",
    ),
    OpSpec(
        "to",
        lambda a, dtype="float32": a.to(E.dtypes.to_dtype(dtype), copy=True),
        arity=1,
        category="dtype",
        size_rule="same",
        params=(Param("dtype", "choice", "float32", DTYPE_NAMES),),
        derivative="∂L/∂input = ∂L/∂result cast back to input's dtype (none if either is an integer type)",
    ),
    # comparisons: bool results, no gradient
    *(
        OpSpec(
            name,
            fn,
            symbol=sym,
            arity=2,
            scalar_operands=True,
            category="comparison",
            size_rule="broadcast",
            derivative="not differentiable (bool result)",
        )
        for name, fn, sym in (
            ("gt", lambda a, b: a > b, ">"),
            ("lt", lambda a, b: a < b, "<"),
            ("ge", lambda a, b: a >= b, ">="),
            ("le", lambda a, b: a <= b, "<="),
            ("eq", lambda a, b: a == b, "=="),
            ("ne", lambda a, b: a != b, "!="),
        )
    ),
    # nn.functional
    OpSpec(
        "linear",
        lambda x, w, b=None: F.linear(x, w, b),
        arity=None,
        category="nn",
        size_rule="matmul",
        derivative=(
            "result = input·weightᵀ + bias: ∂L/∂input = ∂L/∂result·weight, "
            "∂L/∂weight = (∂L/∂result)ᵀ·input, ∂L/∂bias = Σ ∂L/∂result"
        ),
        method=False,
        operand_names=("input", "weight", "bias"),
    ),
    OpSpec(
        "mse_loss",
        lambda a, b, reduction="mean": F.mse_loss(a, b, reduction=reduction),
        arity=2,
        category="loss",
        operand_names=("input", "target"),
        params=(Param("reduction", "choice", "mean", ("mean", "sum", "none")),),
        method=False,
        derivative="∂L/∂input = 2·(input - target)/n",
        size_rule="broadcast",
    ),
    OpSpec(
        "cross_entropy",
        lambda a, t, reduction="mean": F.cross_entropy(a, t, reduction=reduction),
        arity=2,
        category="loss",
        operand_names=("input", "target"),
        params=(Param("reduction", "choice", "mean", ("mean", "sum", "none")),),
        method=False,
        derivative="∂L/∂input = (softmax(input) - onehot(target))/n",
    ),
    OpSpec(
        "nll_loss",
        lambda a, t, reduction="mean": F.nll_loss(a, t, reduction=reduction),
        arity=2,
        category="loss",
        operand_names=("input", "target"),
        params=(Param("reduction", "choice", "mean", ("mean", "sum", "none")),),
        method=False,
        derivative="∂L/∂input = -1/n at each target class, 0 elsewhere",
    ),
)


def from_registry(info: registry.OpInfo) -> OpSpec:
    """The catalogue entry of an op declared with ``gradviz.engine.registry.op``."""
    return OpSpec(
        info.name,
        info.call,
        arity=None if info.operand_list else info.max_operands,
        params=info.params,
        category=info.category,
        symbol=info.symbol,
        scalar_operands=info.scalar_operands,
        method="method" in info.syntax,
        derivative=info.formula.text,
        size_rule=info.size_rule,
        operand_names=info.operand_names,
        operand_list=info.operand_list,
        aliases=info.aliases,
        min_operands=info.min_operands,
        syntax=info.syntax,
    )


# Ops declared in the engine's registry; the typed entries above move there one by one.
OPS = OPS + tuple(from_registry(info) for info in registry.ops() if info.name not in {o.name for o in OPS})

CATALOGUE: dict[str, OpSpec] = {op.name: op for op in OPS}


def get(name: str) -> OpSpec:
    try:
        return CATALOGUE[name]
    except KeyError:
        raise KeyError(f"unknown operation {name!r}") from None


__all__ = [
    "CATALOGUE",
    "OPS",
    "OpSpec",
    "Param",
    "decode_index",
    "from_registry",
    "get",
]
