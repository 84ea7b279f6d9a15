"""``gradviz.autograd``: ``grad`` and the ``Function``/``Node`` classes, as in torch.autograd."""

from __future__ import annotations

from .engine.autograd import grad
from .engine.function import Function, Node
from .engine.grad_mode import enable_grad, no_grad, set_grad_enabled
from .engine.trace import BackwardTrace, Contribution, Step, trace_backward

__all__ = [
    "BackwardTrace",
    "Contribution",
    "Function",
    "Node",
    "Step",
    "enable_grad",
    "grad",
    "no_grad",
    "set_grad_enabled",
    "trace_backward",
]
