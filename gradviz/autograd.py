"""``gradviz.autograd``: ``grad``, ``Function`` (on Tensors, as learners write it), hooks
handles, ``functional.jacobian``/``hessian``, ``gradcheck``, as in torch.autograd.

The engine's own array-based op class is :class:`gradviz.engine.function.Function`."""

from __future__ import annotations

import sys as _sys

from . import autograd_functional as functional
from . import profiler
from .autograd_functional import GradcheckError, gradcheck, gradgradcheck
from .engine.autograd import grad
from .engine.custom_function import BackwardCFunction, Function, FunctionCtx, Variable, backward
from .engine.function import Node, RemovableHandle
from .engine.grad_mode import enable_grad, inference_mode, no_grad, set_grad_enabled
from .engine.trace import BackwardTrace, Contribution, Step, trace_backward

_sys.modules[__name__ + ".functional"] = functional  # ``from torch.autograd.functional import jacobian``
_sys.modules[__name__ + ".profiler"] = profiler  # ``from torch.autograd.profiler import record_function``

__all__ = [
    "BackwardCFunction",
    "BackwardTrace",
    "Contribution",
    "Function",
    "FunctionCtx",
    "GradcheckError",
    "Node",
    "RemovableHandle",
    "Step",
    "Variable",
    "backward",
    "enable_grad",
    "functional",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "inference_mode",
    "no_grad",
    "profiler",
    "set_grad_enabled",
    "trace_backward",
]
