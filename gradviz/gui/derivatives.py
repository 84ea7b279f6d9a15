"""The local derivative of each backward node, for the canvas's explanations and tooltips.

The formulas are the engine's (``gradviz.engine.registry``): each backward node class and each op
declares its own, written in PyTorch's names for the operands (``input``, ``other``) and
``result`` for the output. The autograd view shows PyTorch's node names, some of which
(``AddmmBackward0``, ``ExpandBackward0``) are no catalogue op, or mean one case of one
(``PowBackward0``: a number as exponent): those nodes carry a formula of their own. ``c`` is a
Python number the node keeps, not one of its inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..engine import registry
from ..graph.model import op_label
from ..session import catalogue


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
    node = registry.node_class(base)
    own = registry.formula_for(base, own=True)
    if own is not None:
        return Derivative(own.text, getattr(node, "operands", ("input", "other")))
    for candidate in (op, op_label(base)):
        spec = catalogue.CATALOGUE.get(candidate)
        if candidate and spec is not None:
            return Derivative(spec.derivative, spec=spec)
    # A call the Tensors view draws as one op that the session does not offer (outer).
    info = registry.REGISTRY.get(op)
    if info is not None:
        return Derivative(info.formula.text, info.operand_names)
    return Derivative("")


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
