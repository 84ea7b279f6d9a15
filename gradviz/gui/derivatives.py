"""The local derivative of each backward node, for the canvas's double-click explanation.

Catalogue ops carry their derivative (``OpSpec.derivative``); the autograd view shows PyTorch's
node names, some of which (``AddmmBackward0``, ``ExpandBackward0``) are not catalogue ops, so
the table below is keyed by those names. ``a``, ``b`` are the node's inputs in order.
"""

from __future__ import annotations

import re

from ..session import catalogue

BY_NODE = {
    "AddBackward0": "∂out/∂a = 1, ∂out/∂b = 1",
    "SubBackward0": "∂out/∂a = 1, ∂out/∂b = -1",
    "RsubBackward1": "out = c - a: ∂out/∂a = -1",
    "MulBackward0": "∂out/∂a = b, ∂out/∂b = a",
    "DivBackward0": "∂out/∂a = 1/b, ∂out/∂b = -a/b²",
    "DivBackward1": "out = a / c: ∂out/∂a = 1/c",
    "ReciprocalBackward0": "out = 1/a: ∂out/∂a = -1/a²",
    "PowBackward0": "out = a^c: ∂out/∂a = c·a^(c-1)",
    "PowBackward1": "∂out/∂a = b·a^(b-1), ∂out/∂b = a^b·ln a",
    "PowBackward2": "out = c^b: ∂out/∂b = c^b·ln c",
    "NegBackward0": "∂out/∂a = -1",
    "ExpBackward0": "∂out/∂a = exp(a) = out",
    "LogBackward0": "∂out/∂a = 1/a",
    "SqrtBackward0": "∂out/∂a = 1/(2·√a)",
    "SinBackward0": "∂out/∂a = cos(a)",
    "CosBackward0": "∂out/∂a = -sin(a)",
    "AbsBackward0": "∂out/∂a = sign(a)",
    "SignBackward0": "∂out/∂a = 0 (sign is flat almost everywhere)",
    "ClampBackward1": "∂out/∂a = 1 inside [min, max], 0 outside",
    "TanhBackward0": "∂out/∂a = 1 - tanh²(a) = 1 - out²",
    "SigmoidBackward0": "∂out/∂a = σ(a)·(1 - σ(a)) = out·(1 - out)",
    "ReluBackward0": "∂out/∂a = 1 where a > 0, else 0",
    "SoftmaxBackward0": "∂L/∂a = out·(∂L/∂out - Σ ∂L/∂out·out)",
    "LogSoftmaxBackward0": "∂L/∂a = ∂L/∂out - softmax(a)·Σ ∂L/∂out",
    "SumBackward0": "out = Σ a: ∂out/∂aᵢ = 1, so ∂L/∂out is copied to every element",
    "SumBackward1": "sum over dims: ∂L/∂out is copied back along the summed dims",
    "MeanBackward0": "out = (Σ a)/n: ∂out/∂aᵢ = 1/n",
    "MeanBackward1": "mean over dims: ∂L/∂out / n is copied back along the averaged dims",
    "MaxBackward0": "∂out/∂a = 1 at the maximum, 0 elsewhere",
    "MaxBackward1": "∂out/∂a = 1 at each maximum along the dim, 0 elsewhere",
    "MinBackward0": "∂out/∂a = 1 at the minimum, 0 elsewhere",
    "MinBackward1": "∂out/∂a = 1 at each minimum along the dim, 0 elsewhere",
    "MaximumBackward0": "∂out/∂a = 1 where a > b, ∂out/∂b = 1 where b > a (half each on ties)",
    "MinimumBackward0": "∂out/∂a = 1 where a < b, ∂out/∂b = 1 where b < a (half each on ties)",
    "MmBackward0": "out = A·B: ∂L/∂A = ∂L/∂out·Bᵀ, ∂L/∂B = Aᵀ·∂L/∂out",
    "BmmBackward0": "out = A·B per batch: ∂L/∂A = ∂L/∂out·Bᵀ, ∂L/∂B = Aᵀ·∂L/∂out",
    "MvBackward0": "out = A·v: ∂L/∂A = ∂L/∂out ⊗ v, ∂L/∂v = Aᵀ·∂L/∂out",
    "DotBackward0": "out = a·b: ∂out/∂a = b, ∂out/∂b = a",
    "AddmmBackward0": "out = c + A·B: ∂L/∂c = ∂L/∂out (summed to c's shape), ∂L/∂A = ∂L/∂out·Bᵀ, ∂L/∂B = Aᵀ·∂L/∂out",
    "TBackward0": "∂L/∂a = (∂L/∂out)ᵀ",
    "TransposeBackward0": "∂L/∂a = ∂L/∂out with the two dims swapped back",
    "PermuteBackward0": "∂L/∂a = ∂L/∂out with the dims permuted back",
    "ViewBackward0": "∂L/∂a = ∂L/∂out viewed as a's shape",
    "ReshapeAliasBackward0": "∂L/∂a = ∂L/∂out reshaped to a's shape",
    "UnsafeViewBackward0": "∂L/∂a = ∂L/∂out reshaped to a's shape",
    "AliasBackward0": "∂out/∂a = 1 (the same values)",
    "ExpandBackward0": "∂L/∂a = ∂L/∂out summed over the broadcast dims",
    "SqueezeBackward0": "∂L/∂a = ∂L/∂out with the size-1 dims restored",
    "SqueezeBackward1": "∂L/∂a = ∂L/∂out with the size-1 dim restored",
    "SqueezeBackward2": "∂L/∂a = ∂L/∂out with the size-1 dims restored",
    "SqueezeBackward4": "∂L/∂a = ∂L/∂out with the size-1 dims restored",
    "UnsqueezeBackward0": "∂L/∂a = ∂L/∂out with the new dim removed",
    "SelectBackward0": "∂L/∂a = ∂L/∂out at the selected index, 0 elsewhere",
    "SliceBackward0": "∂L/∂a = ∂L/∂out in the slice, 0 elsewhere",
    "IndexBackward0": "∂L/∂a = ∂L/∂out scattered back to the indexed positions, 0 elsewhere",
    "IndexPutBackward0": "∂L/∂a = ∂L/∂out outside the written positions; ∂L/∂values = ∂L/∂out at them",
    "CatBackward0": "∂L/∂aᵢ = the slice of ∂L/∂out that aᵢ filled",
    "StackBackward0": "∂L/∂aᵢ = the i-th slice of ∂L/∂out",
    "WhereBackward0": "∂out/∂a = 1 where cond, ∂out/∂b = 1 where not cond",
    "CloneBackward0": "∂out/∂a = 1 (a copy)",
    "ToCopyBackward0": "∂L/∂a = ∂L/∂out cast back to a's dtype",
    "MseLossBackward0": "∂L/∂input = 2·(input - target)/n",
    "NllLossBackward0": "∂L/∂input = -1/n at each target class, 0 elsewhere",
    "AccumulateGrad": "no derivative: it adds the gradient that arrives into the leaf's .grad",
}

# Calls the Tensors view draws as one op although the engine records several nodes (their node
# name there is the steps', "ViewBackward0 + MulBackward0"), when the catalogue has no such op.
BY_CALL = {
    "outer": "out = a ⊗ b (outᵢⱼ = aᵢ·bⱼ): ∂L/∂a = ∂L/∂out·b, ∂L/∂b = (∂L/∂out)ᵀ·a",
}

# What those formulas call the operands, in argument order, when not a, b, c.
SYMBOLS_BY_NODE: dict[str, tuple[str, ...]] = {
    "MmBackward0": ("A", "B"),
    "BmmBackward0": ("A", "B"),
    "MvBackward0": ("A", "v"),
    "AddmmBackward0": ("c", "A", "B"),
}

_SHORT = re.compile(r"Backward\d*$")


def local_derivative(node_name: str, op: str = "") -> str:
    """``∂out/∂a = b, ∂out/∂b = a`` for ``MulBackward0`` (or the catalogue op ``op``); '' if unknown."""
    base = node_name.rsplit("::", 1)[-1]
    if base in BY_NODE:
        return BY_NODE[base]
    for candidate in (op, _SHORT.sub("", base).lower()):
        if candidate and candidate in catalogue.CATALOGUE:
            return catalogue.CATALOGUE[candidate].derivative
    return BY_CALL.get(op, "")
