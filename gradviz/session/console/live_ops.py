"""What the console reaches beyond the session's catalogue of recordable ops: the engine's other
registered ops (``argmax``, ``allclose``, ``mm``, ``permute`` ...: every ``registry.op`` declared
with ``catalogue=False``), ``torch.from_numpy``, ``torch.no_grad()``, ``torch.set_printoptions``
and ``torch.autograd.grad``.

A non-catalogue op is run on the tensors' values and its result kept as a constant (a hidden
leaf once recorded): right for results without a gradient (argmax, allclose, ops under
``no_grad``). A result that would carry a gradient is refused, since the session could record
only its values and backward would silently miss it.
"""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

import gradviz.engine as E
from gradviz.engine import Tensor, registry

from .. import catalogue
from . import groups
from .values import (
    ConsoleError,
    Function,
    GradMode,
    Namespace,
    PendingLeaf,
    TensorValue,
    plain,
    snapshot,
    type_name,
)

if TYPE_CHECKING:
    from .evaluate import Run


def uncatalogued() -> list[registry.OpInfo]:
    """The engine's registered ops the session can't record (``catalogue=False``)."""
    return [i for i in registry.ops() if not i.catalogue]


def _result(run: Run, info: registry.OpInfo, display: str, out: Any) -> Any:
    if isinstance(out, Tensor):
        if out.requires_grad and E.is_grad_enabled():
            raise ConsoleError(
                f"{display}() on tensors that require grad isn't recorded by the console yet: {info.name} is "
                "not in the session's catalogue of operations, so its gradient would be lost. Use it on "
                "tensors that don't require grad, or under torch.no_grad()"
                + (
                    "; x @ y records the same product with its gradient"
                    if info.name in ("mm", "dot", "mv")
                    else ""
                )
            )
        run.session.check_size(out.numel())
        return snapshot(out, f"{display}(...)")
    if isinstance(out, (tuple, list)) and any(isinstance(o, Tensor) for o in out):
        raise ConsoleError(f"{display}() returns several tensors, which the console doesn't offer yet")
    return out


def call_live(run: Run, info: registry.OpInfo, display: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    values = [plain(a, run) for a in args]
    params = {k: plain(v, run) for k, v in kwargs.items()}
    tensors = [v for v in values if isinstance(v, Tensor)]
    # Its result's size first; an estimate that can't read these arguments leaves it to the op.
    with contextlib.suppress(TypeError, ValueError, IndexError, KeyError):
        run.session.check_op(catalogue.from_registry(info), tensors, {})
    return _result(run, info, display, info.fn(*values, **params))


def _function(info: registry.OpInfo) -> Function:
    return Function(info.name, lambda run, args, kwargs, node: call_live(run, info, info.name, args, kwargs))


def torch_members() -> dict[str, Any]:
    """``torch.<name>`` for the uncatalogued ops torch spells as functions, and the extras."""
    members: dict[str, Any] = {
        i.name: _function(i) for i in uncatalogued() if "function" in i.syntax or "F" not in i.syntax
    }
    members["from_numpy"] = Function("from_numpy", _from_numpy)
    members["no_grad"] = Function("no_grad", lambda run, args, kwargs, node: GradMode(False))
    members["enable_grad"] = Function("enable_grad", lambda run, args, kwargs, node: GradMode(True))
    members["is_grad_enabled"] = Function(
        "is_grad_enabled", lambda run, args, kwargs, node: E.is_grad_enabled()
    )
    members["set_printoptions"] = Function("set_printoptions", _set_printoptions)
    scopes = groups.torch_members()
    members.update(scopes)
    members["autograd"] = Namespace(
        "torch.autograd",
        {"grad": Function("grad", _autograd_grad), "profiler": scopes["profiler"]},
        E.autograd,
    )
    return members


def f_members() -> dict[str, Any]:
    return {i.name: _function(i) for i in uncatalogued() if "F" in i.syntax}


def methods() -> dict[str, Callable[[Run, TensorValue], Any]]:
    """``x.<name>(...)`` for the uncatalogued ops that are Tensor methods."""
    out: dict[str, Callable[[Run, TensorValue], Any]] = {}
    for i in uncatalogued():
        if "method" in i.syntax:
            out[i.method or i.name] = _method(i)
    return out


def _method(info: registry.OpInfo) -> Callable[..., Any]:
    name = info.method or info.name
    return lambda run, tv, args, kwargs: call_live(run, info, name, [tv, *args], kwargs)


def _from_numpy(run: Run, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> PendingLeaf:
    if kwargs or len(args) != 1:
        raise TypeError(f"from_numpy() takes exactly one argument ({len(args) + len(kwargs)} given)")
    (arr,) = args
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type_name(arr)})")
    run.session.check_size(arr.size)
    # The session keeps its own copy: PyTorch's would share the array's memory.
    return PendingLeaf(E.from_numpy(np.array(arr, copy=True)), run.segment(node))


def _set_printoptions(run: Run, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> None:
    E.set_printoptions(*[plain(a, run) for a in args], **{k: plain(v, run) for k, v in kwargs.items()})


def _autograd_grad(run: Run, args: list[Any], kwargs: dict[str, Any], node: ast.Call) -> tuple[Any, ...]:
    """``torch.autograd.grad(y, [w, b])``: the gradients as constants; the session's own
    ``.grad`` fields are left alone, as PyTorch leaves them."""
    if kwargs.get("create_graph"):
        raise ConsoleError("torch.autograd.grad(..., create_graph=True) is not available in the console")
    kwargs = {k: plain(v, run) for k, v in kwargs.items()}
    kwargs["retain_graph"] = True  # the session's graph stays whole (it is replayed, not consumed)
    values = [plain(a, run) for a in args]
    grads = E.autograd.grad(*values, **kwargs)
    return tuple(None if g is None else snapshot(g, "torch.autograd.grad(...)") for g in grads)
