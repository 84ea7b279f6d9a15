"""What the console offers of torch beyond the catalogue: questions about tensors and the build
(``torch.is_tensor``, ``torch.cuda.is_available()``, ``torch.device("cpu")``) answered with plain
values, and ops whose result never has a gradient (``argmax``, ``isnan``, ``nonzero``), whose
result is recorded as a constant, as sort's indices are. Nothing here records an op."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import gradviz
import gradviz.engine as E

from .values import ConsoleError, Device, Function, Namespace, TensorValue, plain, snapshot

if TYPE_CHECKING:
    from .evaluate import Run

# Ops torch never records a gradient for (integer or bool results): the console computes them
# at once and keeps the result as a constant tensor, a leaf of the session.
CONSTANT_OPS = ("argmax", "argmin", "argsort", "nonzero", "isnan", "isinf", "isfinite", "logical_not")
# Functions of tensors and values whose answer is a plain value (a bool, a dtype, a Size).
PLAIN_FUNCTIONS = ("equal", "allclose", "is_tensor", "promote_types", "result_type", "broadcast_shapes")
# The state a console never changes: grad mode is on, inference mode off, float32 the default.
STATE = {"is_grad_enabled": True, "is_inference_mode_enabled": False, "get_default_dtype": E.float32}


def _plain_call(name: str) -> Callable[..., Any]:
    fn = getattr(gradviz, name)

    def call(run: Run, args: list[Any], kwargs: dict[str, Any], node: Any) -> Any:
        if name == "is_tensor":
            if len(args) != 1 or kwargs:
                raise TypeError(f"is_tensor() takes 1 positional argument but {len(args)} were given")
            return isinstance(args[0], TensorValue)
        return fn(*[plain(a, run) for a in args], **{k: plain(v, run) for k, v in kwargs.items()})

    return call


def constant_call(name: str, self_value: TensorValue | None = None) -> Callable[..., Any]:
    """``torch.<name>(...)`` (or ``x.<name>(...)`` with ``self_value``): the result as a constant."""
    fn = getattr(gradviz, name)
    shown = f"torch.{name}" if self_value is None else name

    def call(run: Run, args: list[Any], kwargs: dict[str, Any], node: Any = None) -> Any:
        values = [plain(a, run) for a in ([self_value, *args] if self_value is not None else args)]
        out = fn(*values, **{k: plain(v, run) for k, v in kwargs.items()})
        if isinstance(out, tuple):  # nonzero(as_tuple=True)
            return tuple(snapshot(t, f"{shown}(...)") for t in out)
        return snapshot(out, f"{shown}(...)")

    return call


def _state(value: Any) -> Callable[..., Any]:
    def call(run: Run, args: list[Any], kwargs: dict[str, Any], node: Any) -> Any:
        if args or kwargs:
            raise TypeError("takes 0 positional arguments")
        return value

    return call


def _constant(value: Any) -> Callable[..., Any]:
    return lambda run, args, kwargs, node: value


def _device(run: Run, args: list[Any], kwargs: dict[str, Any], node: Any) -> Device:
    """``torch.device("cpu")``; any other device is torch's to name but not the console's to use."""
    d = E.device(*[plain(a, run) for a in args], **kwargs)  # torch's refusal of "foo"
    if d.type != "cpu":
        raise ConsoleError(
            f"the console computes on the CPU only: torch.device({str(d)!r}) has no use here "
            "(torch.cuda.is_available() is False)"
        )
    return Device()


def members() -> dict[str, Any]:
    """The ``torch.<name>`` members this module adds to the console's ``torch``."""
    out: dict[str, Any] = {n: Function(n, constant_call(n)) for n in CONSTANT_OPS}
    out.update({n: Function(n, _plain_call(n)) for n in PLAIN_FUNCTIONS})
    out.update({n: Function(n, _state(v)) for n, v in STATE.items()})
    out["device"] = Function("device", _device)
    cuda = {n: Function(n, _constant(getattr(E.cuda, n)())) for n in ("is_available", "device_count")}
    out["cuda"] = Namespace("torch.cuda", cuda, E.cuda)
    mps = {n: Function(n, _constant(getattr(E.backends.mps, n)())) for n in ("is_available", "is_built")}
    out["backends"] = Namespace(
        "torch.backends", {"mps": Namespace("torch.backends.mps", mps, E.backends.mps)}, E.backends
    )
    return out
