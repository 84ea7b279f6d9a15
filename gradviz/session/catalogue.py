"""The one catalogue of operations a session can record, derived from the engine's registry.

The console, the app's toolbar and dialogs, and the file format all read this list, so an op
declared once in the engine (``gradviz.engine.registry.op``) appears everywhere. Each entry says
how many tensor operands it takes, which parameters it has (with JSON-safe kinds), how to call
the engine, and what its local derivative is, for the app's explanations: all of it comes from
the op's declaration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradviz.engine as E
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
    numpy_names: bool = True  # takes axis=/keepdims= for dim/keepdim (registry.NUMPY_NAMES)

    @property
    def optional_operands(self) -> tuple[str, ...]:
        """Trailing operands a call may leave out (linear's ``bias``): declared by the op, as
        more operand names than its fewest operands."""
        if self.arity is not None or self.operand_list:
            return ()
        return self.operand_names[self.min_operands :]

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


def returns_values_and_indices(spec: OpSpec, params: dict[str, Any]) -> bool:
    """Whether torch's call returns ``(values, indices)`` (``torch.return_types``), of which the
    op records the values: sort and topk, and max, min and median along a dim."""
    return spec.name in ("sort", "topk") or (
        spec.name in ("max", "min", "median") and params.get("dim") is not None
    )


# The index of ``t[...]`` is stored as JSON-safe items; the engine decodes them.
decode_index = E.ops.indexing.decode_index
DTYPE_NAMES = E.dtypes.NAMES
# The order the app lists categories in (the op dialog, the toolbar); an op of a category not
# listed comes after these.
CATEGORIES = (
    "arithmetic", "linear algebra", "math", "activation", "reduction", "shape", "autograd", "dtype",
    "comparison", "nn", "loss",
)  # fmt: skip


def from_registry(info: registry.OpInfo) -> OpSpec:
    """The catalogue entry of an op declared with ``gradviz.engine.registry.op``."""
    return OpSpec(
        info.name,
        info.call,
        arity=info.arity,
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
        numpy_names=info.numpy_names,
    )


def _order(info: registry.OpInfo) -> int:
    return CATEGORIES.index(info.category) if info.category in CATEGORIES else len(CATEGORIES)


# Every op the engine's registry offers to sessions, by category, in the order declared.
OPS: tuple[OpSpec, ...] = tuple(from_registry(i) for i in sorted(registry.ops(), key=_order) if i.catalogue)

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
    "returns_values_and_indices",
]
