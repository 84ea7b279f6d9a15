"""The local derivative of each backward node, for the canvas's explanations and tooltips.

Catalogue ops carry their derivative (``OpSpec.derivative``), written in PyTorch's names for the
operands (``input``, ``other``) and ``result`` for the output. The autograd view shows PyTorch's
node names, some of which (``AddmmBackward0``, ``ExpandBackward0``) are no catalogue op, or mean
one case of one (``PowBackward0``: a number as exponent): the table below is keyed by those
names, in the same words. ``c`` is a Python number the node keeps, not one of its inputs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..graph.model import op_label
from ..session import catalogue

BY_NODE = {
    "RsubBackward1": "result = c - input: ∂result/∂input = -1",
    "DivBackward1": "result = input / c: ∂result/∂input = 1/c",
    "ReciprocalBackward0": "result = 1/input: ∂result/∂input = -1/input²",
    "PowBackward0": "result = input^c: ∂result/∂input = c·input^(c-1)",
    "PowBackward2": "result = c^exponent: ∂result/∂exponent = c^exponent·ln c",
    "SignBackward0": "∂result/∂input = 0 (sign is flat almost everywhere)",
    "SumBackward0": "result = Σ input: ∂result/∂inputᵢ = 1, so ∂L/∂result is copied to every element",
    "SumBackward1": "sum over dims: ∂L/∂result is copied back along the summed dims",
    "MeanBackward0": "result = (Σ input)/n: ∂result/∂inputᵢ = 1/n",
    "MeanBackward1": "mean over dims: ∂L/∂result / n is copied back along the averaged dims",
    "MaxBackward1": "∂result/∂input = 1 at each maximum along the dim, 0 elsewhere",
    "MinBackward1": "∂result/∂input = 1 at each minimum along the dim, 0 elsewhere",
    "MaximumBackward0": (
        "∂result/∂input = 1 where input > other, ∂result/∂other = 1 where other > input (half each on ties)"
    ),
    "MinimumBackward0": (
        "∂result/∂input = 1 where input < other, ∂result/∂other = 1 where other < input (half each on ties)"
    ),
    "MmBackward0": "result = input·mat2: ∂L/∂input = ∂L/∂result·mat2ᵀ, ∂L/∂mat2 = inputᵀ·∂L/∂result",
    "BmmBackward0": (
        "result = input·mat2 per batch: ∂L/∂input = ∂L/∂result·mat2ᵀ, ∂L/∂mat2 = inputᵀ·∂L/∂result"
    ),
    "MvBackward0": "result = input·vec: ∂L/∂input = ∂L/∂result ⊗ vec, ∂L/∂vec = inputᵀ·∂L/∂result",
    "DotBackward0": "result = input·tensor: ∂result/∂input = tensor, ∂result/∂tensor = input",
    "AddmmBackward0": (
        "result = input + mat1·mat2: ∂L/∂input = ∂L/∂result (summed to input's shape), "
        "∂L/∂mat1 = ∂L/∂result·mat2ᵀ, ∂L/∂mat2 = mat1ᵀ·∂L/∂result"
    ),
    "PermuteBackward0": "∂L/∂input = ∂L/∂result with the dims permuted back",
    "ReshapeAliasBackward0": "∂L/∂input = ∂L/∂result reshaped to input's shape",
    "UnsafeViewBackward0": "∂L/∂input = ∂L/∂result reshaped to input's shape",
    "AliasBackward0": "∂result/∂input = 1 (the same values)",
    "ExpandBackward0": "∂L/∂input = ∂L/∂result summed over the broadcast dims",
    "SqueezeBackward0": "∂L/∂input = ∂L/∂result with the size-1 dims restored",
    "SqueezeBackward1": "∂L/∂input = ∂L/∂result with the size-1 dim restored",
    "SqueezeBackward2": "∂L/∂input = ∂L/∂result with the size-1 dims restored",
    "SqueezeBackward4": "∂L/∂input = ∂L/∂result with the size-1 dims restored",
    "SelectBackward0": "∂L/∂input = ∂L/∂result at the selected index, 0 elsewhere",
    "SliceBackward0": "∂L/∂input = ∂L/∂result in the slice, 0 elsewhere",
    "IndexPutBackward0": (
        "∂L/∂input = ∂L/∂result outside the written positions; ∂L/∂values = ∂L/∂result at them"
    ),
    # The engine's where node takes input and other; the condition comes last, as no gradient.
    "WhereBackward0": "∂result/∂input = 1 where condition, ∂result/∂other = 1 where not condition",
    "ToCopyBackward0": "∂L/∂input = ∂L/∂result cast back to input's dtype",
    "NllLossBackward0": "∂L/∂input = -1/n at each target class, 0 elsewhere",
    "AccumulateGrad": "no derivative: it adds the gradient that arrives into the leaf's .grad",
}

# Calls the Tensors view draws as one op although the engine records several nodes (their node
# name there is the steps', "ViewBackward0 + MulBackward0"), when the catalogue has no such op.
BY_CALL = {
    "outer": (
        "result = input ⊗ vec2 (resultᵢⱼ = inputᵢ·vec2ⱼ): ∂L/∂input = ∂L/∂result·vec2, "
        "∂L/∂vec2 = (∂L/∂result)ᵀ·input"
    ),
}

# What those formulas call the node's inputs, in the order the graph numbers them, when not
# input, other.
OPERANDS_BY_NODE: dict[str, tuple[str, ...]] = {
    "MmBackward0": ("input", "mat2"),
    "BmmBackward0": ("input", "mat2"),
    "MvBackward0": ("input", "vec"),
    "DotBackward0": ("input", "tensor"),
    "AddmmBackward0": ("input", "mat1", "mat2"),
    "WhereBackward0": ("input", "other", "condition"),
    "NllLossBackward0": ("input", "target"),
    "outer": ("input", "vec2"),
}

_SHORT = re.compile(r"Backward\d*$")


@dataclass(frozen=True)
class Derivative:
    """A local derivative and the names its formula gives the node's inputs, in order."""

    formula: str
    operands: tuple[str, ...] = ("input", "other")
    spec: catalogue.OpSpec | None = None

    def operand(self, i: int) -> str:
        if self.spec is not None:
            return self.spec.operand_name(i)
        return self.operands[i] if i < len(self.operands) else f"operand {i + 1}"


def derivative_of(node_name: str, op: str = "") -> Derivative:
    """The derivative of ``MulBackward0`` (or of the catalogue op or call ``op``); its formula
    is '' if unknown."""
    base = node_name.rsplit("::", 1)[-1]
    if base in BY_NODE:
        return Derivative(BY_NODE[base], OPERANDS_BY_NODE.get(base, ("input", "other")))
    for candidate in (op, op_label(base)):
        spec = catalogue.CATALOGUE.get(candidate)
        if candidate and spec is not None:
            return Derivative(spec.derivative, spec=spec)
    return Derivative(BY_CALL.get(op, ""), OPERANDS_BY_NODE.get(op, ("input", "other")))


def local_derivative(node_name: str, op: str = "") -> str:
    """``∂result/∂input = other, ...`` for ``MulBackward0`` (or the op ``op``); '' if unknown."""
    return derivative_of(node_name, op).formula


def broadcast_dims(
    shape: tuple[int, ...], result_shape: tuple[int, ...]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The dims of ``result_shape`` an operand of ``shape`` was broadcast along: (the leading
    dims it lacked, the dims where it had size 1), as autograd sums its gradient over them."""
    lead = len(result_shape) - len(shape)
    new = tuple(range(lead))
    stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and result_shape[lead + i] != 1)
    return new, stretched


def _shape(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"


def _dims(dims: tuple[int, ...]) -> str:
    return str(dims[0]) if len(dims) == 1 else "(" + ", ".join(map(str, dims)) + ")"


def broadcast_gradient(name: str, shape: tuple[int, ...], result: str, result_shape: tuple[int, ...]) -> str:
    """How the gradient of an operand that was broadcast is summed back to its shape, in words
    and code: ``b has shape [3], out has shape [2, 3]: ∂L/∂b = (∂L/∂out).sum(dim=0)``; '' when
    ``shape`` was not broadcast."""
    if len(shape) > len(result_shape):
        return ""
    new, stretched = broadcast_dims(tuple(shape), tuple(result_shape))
    if not new and not stretched:
        return ""
    if new and stretched:
        code = f".sum_to_size({', '.join(map(str, shape))})"
    elif new:
        code = f".sum(dim={_dims(new)})"
    else:
        code = f".sum(dim={_dims(stretched)}, keepdim=True)"
    dims = new + stretched
    which = f"dim {dims[0]}" if len(dims) == 1 else "dims " + ", ".join(map(str, dims))
    has = f"{name} is a scalar" if not shape else f"{name} has shape {_shape(shape)}"
    return (
        f"{has}, {result} has shape {_shape(result_shape)}: {name} was broadcast along {which}, so "
        f"∂L/∂{result} is summed over {'it' if len(dims) == 1 else 'them'}: ∂L/∂{name} = (∂L/∂{result}){code}"
    )
