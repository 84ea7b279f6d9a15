"""``obj.attr`` in the console: every attribute and method is an entry in a table here, never a
lookup on a live object by the name the user typed."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

import numpy as np

import gradviz.engine as E
from gradviz.engine import Tensor

from .actions import ACTIONS
from .binding import call_op, make_op
from .check import not_offered
from .limits import check_items, check_numpy_result, tolist_items
from .numpy_surface import array_attribute
from .queries import CONSTANT_OPS, constant_call
from .values import (
    ConsoleError,
    Device,
    GradValue,
    Method,
    Namespace,
    NodeValue,
    ObjectValue,
    ReturnTypes,
    TensorValue,
    plain,
    snapshot,
    type_name,
)

if TYPE_CHECKING:
    from .evaluate import Run

NON_LEAF_GRAD_WARNING = (
    "UserWarning: The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad field to be "
    "populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you access the "
    "non-leaf Tensor by mistake, make sure you access the leaf Tensor instead. See "
    "github.com/pytorch/pytorch/pull/30531 for more information."
)
READ_METHODS = (
    "item", "tolist", "size", "dim", "ndimension", "numel", "nelement", "element_size", "is_floating_point",
    "numpy", "type", "is_contiguous", "is_inference", "stride",
)  # fmt: skip
ACTION_METHODS = tuple(ACTIONS)
CAST_METHODS = {"float": "float32", "double": "float64", "half": "float16", "long": "int64", "int": "int32",
                "short": "int16", "char": "int8", "byte": "uint8", "bool": "bool"}  # fmt: skip
TENSOR_PROPERTIES = ("grad", "shape", "dtype", "requires_grad", "is_leaf", "grad_fn", "T", "data", "ndim",
                     "device", "is_cuda", "retains_grad")  # fmt: skip


def attribute(run: Run, obj: Any, attr: str, node: ast.Attribute) -> Any:
    if isinstance(obj, Namespace):
        if attr in obj.members:
            return obj.members[attr]
        if obj.path in ("torch.nn", "torch.optim") and attr[:1].isupper():  # a class, by torch's naming
            raise ConsoleError(not_offered(f"{obj.path}.{attr}"))
        if attr in dir(obj.module):
            raise ConsoleError(f"{obj.path}.{attr} is not available in the console")
        raise AttributeError(f"module '{obj.path}' has no attribute '{attr}'")
    if isinstance(obj, TensorValue):
        return tensor_attribute(run, obj, attr, node)
    if isinstance(obj, ObjectValue):
        return obj.attribute(run, attr)
    if isinstance(obj, np.ndarray):
        return array_attribute(run, obj, attr)
    if isinstance(obj, ReturnTypes) and attr in ("values", "indices"):
        return obj.values if attr == "values" else obj.indices
    if isinstance(obj, NodeValue):
        if attr == "next_functions":
            return tuple((None if n is None else NodeValue(n), i) for n, i in obj.node.next_functions)
        if attr == "name":
            return Method(obj, "name", lambda args, kwargs: obj.node.name())
    if isinstance(obj, E.Size) and attr == "numel":
        return Method(obj, "numel", lambda args, kwargs: obj.numel())
    if isinstance(obj, E.dtype) and attr in ("is_floating_point", "is_signed", "itemsize"):
        return getattr(obj, attr)
    raise ConsoleError(f"attribute '{attr}' of a {type_name(obj)} is not available in the console")


def tensor_attribute(run: Run, tv: TensorValue, attr: str, node: ast.Attribute) -> Any:
    if attr in TENSOR_PROPERTIES:
        return _property(run, tv, attr)
    if attr in run.console.methods:
        spec = run.console.methods[attr]
        return Method(tv, attr, lambda args, kwargs: call_op(run, spec, args, kwargs, attr, self_value=tv))
    if attr in CAST_METHODS:
        spec = run.console.ops["to"]
        return Method(
            tv, attr, lambda args, kwargs: call_op(run, spec, [CAST_METHODS[attr], *args], kwargs, attr, tv)
        )
    if attr in READ_METHODS:
        return Method(tv, attr, lambda args, kwargs: read(run, tv, attr, args, kwargs))
    if attr in CONSTANT_OPS:  # x.argmax(): no gradient ever, the result kept as a constant
        return Method(tv, attr, lambda args, kwargs: constant_call(attr, tv)(run, args, kwargs))
    if attr in run.console.live_methods:
        live = run.console.live_methods[attr]
        return Method(tv, attr, lambda args, kwargs: live(run, tv, args, kwargs))
    if attr in ACTIONS:
        if attr == "zero_" and not isinstance(tv, GradValue):
            raise ConsoleError(_inplace_message(run, node, attr))
        action = ACTIONS[attr]
        return Method(tv, attr, lambda args, kwargs: action(run, tv, *args, **kwargs))
    if hasattr(Tensor, attr):
        if attr.endswith("_"):
            raise ConsoleError(_inplace_message(run, node, attr))
        raise ConsoleError(
            f"Tensor.{attr} is not available in the console (it isn't in gradviz's catalogue of operations)"
        )
    raise AttributeError(f"'Tensor' object has no attribute '{attr}'")


def _property(run: Run, tv: TensorValue, attr: str) -> Any:
    t = tv.tensor(run)
    if attr == "grad":
        return grad(run, tv)
    if attr == "T":
        return make_op(run, run.console.ops["T"], [tv], {}, "T")
    if attr == "data":
        return tv if isinstance(tv, GradValue) else make_op(run, run.console.ops["detach"], [tv], {}, "data")
    if attr == "grad_fn":
        return None if t.grad_fn is None else NodeValue(t.grad_fn)
    if attr == "device":
        return Device()
    return getattr(t, attr)  # shape, dtype, requires_grad, is_leaf, ndim, is_cuda, retains_grad


def _inplace_message(run: Run, node: ast.Attribute, attr: str) -> str:
    return (
        f"{run.segment(node)}() changes a tensor in place, which the console doesn't record; "
        f"assign the result of {attr[:-1]}() to a name instead"
        if hasattr(Tensor, attr[:-1])
        else f"{run.segment(node)}() changes a tensor in place, which the console doesn't record"
    )


def grad(run: Run, tv: TensorValue) -> Any:
    if isinstance(tv, GradValue) and tv.uid is None:
        return None  # a gradient has no gradient of its own
    if tv.uid is None:
        g = tv.tensor(run).grad  # an unrecorded tensor was never part of a backward()
        return None if g is None else snapshot(g)
    name = tv.name(run)
    info = run.session.info(name)
    t = run.session.tensor(name)
    if info.session_retained and t.grad_fn is not None:
        run.warn(NON_LEAF_GRAD_WARNING)  # PyTorch doesn't keep it; the session does, for the graph
        return None
    g = t._grad
    return None if g is None else GradValue(g, info.uid, name)


def read(run: Run, tv: TensorValue, attr: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    t = tv.tensor(run)
    if attr == "numpy":
        # a copy (the session's arrays are read-only): it needs memory of its own
        check_numpy_result(run.session, tuple(t.shape), t.element_size(), _call_text(run, tv, "numpy"))
        return np.array(t.numpy(*args, **kwargs), copy=True)
    if attr == "tolist":
        check_items(tolist_items(tuple(t.shape)), _call_text(run, tv, "tolist"), run.session)
    if attr == "type":
        if args or kwargs:
            return call_op(run, run.console.ops["to"], args, kwargs, "type", tv)
        return t.type()
    args = [plain(a, run) for a in args]
    return getattr(t, attr)(*args, **kwargs)


def _call_text(run: Run, tv: TensorValue, method: str) -> str:
    """A method call in a message: ``x.tolist()``, or ``tolist() of this tensor`` for a
    tensor without a name."""
    name = run.session.name_of_uid(tv.uid) if tv.uid is not None else None
    return (
        f"{name}.{method}()"
        if name is not None and not name.startswith("_")
        else f"{method}() of this tensor"
    )
