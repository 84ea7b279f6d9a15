"""The tensor methods that change the session rather than compute a tensor: ``backward()``,
``retain_grad()``, ``requires_grad_()`` and ``.grad.zero_()`` (and ``x.requires_grad = flag``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..document import SessionError, StoppedError
from .values import (
    ConsoleError,
    GradValue,
    PendingLeaf,
    PendingOp,
    TensorValue,
    name_of_uid,
    plain,
    snapshot,
    type_name,
)

if TYPE_CHECKING:
    from .evaluate import Run

NON_LEAF_FLAG = (
    "you can only change requires_grad flags of leaf variables. If you want to use a computed variable "
    "in a subgraph that doesn't require differentiation use var_no_grad = var.detach()."
)


def do_backward(
    run: Run,
    tv: TensorValue,
    gradient: Any = None,
    retain_graph: Any = None,
    create_graph: bool = False,
    inputs: Any = None,
) -> None:
    if create_graph:
        raise ConsoleError("backward(create_graph=True) is not available in the console")
    if inputs is not None:
        raise ConsoleError("backward(inputs=...) is not available in the console")
    name = tv.record(run)
    grad = None if gradient is None else plain(gradient, run)
    try:
        run.session.backward(name, grad, bool(retain_graph))
    except StoppedError:  # the person's Stop, between two backward nodes: not PyTorch's error
        raise
    except SessionError as e:
        raise RuntimeError(str(e)) from None
    if run.console.recording is not None:  # a step of a training loop: the Training panel's
        run.console.recording.backward(name)


def do_retain_grad(run: Run, tv: TensorValue) -> None:
    t = tv.tensor(run)
    if not t.requires_grad:
        raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
    if t.is_leaf:
        return None  # a no-op on leaves, as in PyTorch
    name = tv.record(run)
    try:
        run.session.retain_grad(name)
    except SessionError as e:
        raise RuntimeError(str(e)) from None
    return None


def do_requires_grad_(run: Run, tv: TensorValue, requires_grad: Any = True) -> TensorValue:
    if not isinstance(requires_grad, bool):
        raise TypeError(
            f"requires_grad_(): argument 'requires_grad' must be bool, not {type_name(requires_grad)}"
        )
    return set_requires_grad(
        run, tv, requires_grad, "only Tensors of floating point dtype can require gradients"
    )


def do_zero_(run: Run, tv: GradValue) -> Any:
    owner = name_of_uid(run.session, tv.owner_uid)
    if owner is None or tv.uid is not None:
        raise ConsoleError("this gradient no longer belongs to a tensor in the session")
    run.session.zero_grad([owner], set_to_none=False)
    g = run.session.tensor(owner)._grad
    return None if g is None else GradValue(g, tv.owner_uid, owner)


ACTIONS: dict[str, Callable[..., Any]] = {
    "backward": do_backward,
    "retain_grad": do_retain_grad,
    "requires_grad_": do_requires_grad_,
    "zero_": do_zero_,
}


def set_requires_grad(run: Run, tv: TensorValue, flag: bool, int_message: str) -> TensorValue:
    """``requires_grad_(flag)`` or ``x.requires_grad = flag``: the tensor that has the flag now."""
    if tv.uid is None:
        return _flag_unrecorded(run, tv, flag, int_message)
    name = tv.name(run)
    t = run.session.tensor(name)
    if t.grad_fn is not None:
        if flag:
            return tv
        raise RuntimeError(NON_LEAF_FLAG)
    if flag == t.requires_grad:
        return tv
    if flag and not t.dtype.is_floating_point:
        raise RuntimeError(int_message)
    # From now on, as in PyTorch: what was computed from it before stays as it was.
    run.session.requires_grad_(name, flag)
    return tv


def _flag_unrecorded(run: Run, tv: TensorValue, flag: bool, int_message: str) -> TensorValue:
    t = tv.tensor(run)
    if isinstance(tv, PendingOp) and t.grad_fn is not None:
        if flag:
            return tv
        raise RuntimeError(NON_LEAF_FLAG)
    if flag and not t.dtype.is_floating_point:
        raise RuntimeError(int_message)
    # A constructor's own tensor can take the flag; anything else (a gradient, an op without
    # history, which PyTorch treats as a leaf) becomes a new leaf holding its values.
    leaf = tv if type(tv) is PendingLeaf else snapshot(t, tv.source if isinstance(tv, PendingLeaf) else "")
    leaf.tensor(run).requires_grad_(flag)
    return leaf
