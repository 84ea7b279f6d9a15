"""Argument binding: ``torch.<op>(...)``, ``F.<op>(...)`` and ``x.<op>(...)`` matched to a catalogue
op's operands and parameters the way PyTorch matches them, each parameter coerced to what the
catalogue stores (JSON-safe), and the op computed at once as a ``PendingOp``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gradviz.engine.device import check as check_device
from gradviz.engine.registry import NUMPY_NAMES

from .. import catalogue, param_kinds
from .values import (
    ConsoleError,
    Device,
    PendingOp,
    ReturnTypes,
    TensorValue,
    is_num,
    snapshot,
    type_name,
)

if TYPE_CHECKING:
    from .evaluate import Run


def call_op(
    run: Run,
    spec: catalogue.OpSpec,
    args: list[Any],
    kwargs: dict[str, Any],
    display: str,
    self_value: Any = None,
    numpy_names: bool = True,
) -> Any:
    """Bind the arguments the way PyTorch does and make the pending op. ``numpy_names``: the
    spelling takes ``axis=``/``keepdims=`` where the op does (``torch.sum``, not ``F.softmax``)."""
    pos = list(args)
    kwargs = dict(kwargs)
    if spec.name == "to":  # x.to(dtype), x.to(other), x.to("cpu")
        pos, kwargs = _to_args(run, pos, kwargs)
        if not pos and "dtype" not in kwargs:
            return self_value
    if self_value is not None:
        pos.insert(0, self_value)
    if spec.name == "chunk":
        return _chunk(run, spec, pos, kwargs, display)
    operands, pos = _bind_operands(spec, pos, kwargs, display)
    params = _bind_params(spec, pos, kwargs, display, numpy_names and spec.numpy_names)
    if spec.name == "to" and params.get("dtype", "float32") == operands[0].tensor(run).dtype.name:
        return operands[0]  # already that dtype: PyTorch returns the tensor itself
    out = make_op(run, spec, operands, params, display)
    # torch.return_types: (values, indices); the catalogue op records the values.
    if catalogue.returns_values_and_indices(spec, params):
        shown = getattr(operands[0].tensor(run), spec.name)(**params)
        return ReturnTypes(shown, out, snapshot(shown.indices, f"{display}(...).indices"))
    return out


def _chunk(run: Run, spec: catalogue.OpSpec, pos: list[Any], kwargs: dict[str, Any], display: str) -> tuple:
    """``x.chunk(n)``: torch's tuple of pieces, each recorded as its own entry (``piece``, which
    torch's chunk has not, says which), so that ``a, b = x.chunk(2)`` names both."""
    if "piece" in kwargs:
        raise TypeError(f"{display}() got an unexpected keyword argument 'piece'")
    if len(pos) > 3:
        raise TypeError(f"{display}() takes from 2 to 3 positional arguments but {len(pos)} were given")
    operands, pos = _bind_operands(spec, pos, kwargs, display)
    params = _bind_params(spec, pos, kwargs, display, True)
    if not isinstance(operands[0], TensorValue):
        return make_op(run, spec, operands, params, display)  # its refusal of a non-tensor
    count = len(operands[0].tensor(run).chunk(params["chunks"], params.get("dim", 0)))
    return tuple(make_op(run, spec, operands, {**params, "piece": k}, display) for k in range(count))


def _bind_operands(
    spec: catalogue.OpSpec, pos: list[Any], kwargs: dict[str, Any], display: str
) -> tuple[list[Any], list[Any]]:
    """(the op's operands, the positional arguments left for its parameters); takes operands
    given by keyword out of ``kwargs``."""
    optional = spec.optional_operands  # linear's bias
    if optional:
        fewest = spec.min_operands
        for n in spec.operand_names[len(pos) : fewest]:  # by keyword: F.binary_cross_entropy(x, target=t)
            if n not in kwargs:
                break
            pos.append(kwargs.pop(n))
        if len(pos) < fewest:
            names = " and ".join(f"'{n}'" for n in spec.operand_names[:fewest])
            raise TypeError(f"{spec.name}() missing required arguments {names}")
        given = list(pos[:fewest])
        for k, n in enumerate(optional):
            v = pos[fewest + k] if len(pos) > fewest + k else kwargs.pop(n, None)
            if v is None:
                break  # an absent optional operand is not stored, nor are those after it
            given.append(v)
        return given, pos[fewest + len(optional) :]
    if spec.arity is None:  # cat, stack: a sequence of tensors first
        seq = pos.pop(0) if pos else kwargs.pop("tensors", None)
        if not isinstance(seq, (list, tuple)) or not seq or not all(isinstance(v, TensorValue) for v in seq):
            raise TypeError(f"{display}(): argument 'tensors' must be a non-empty list or tuple of Tensors")
        return list(seq), pos
    names = spec.operand_names[: spec.arity]
    for n in names[len(pos) :]:  # operands given by keyword: F.nll_loss(x, target=t)
        if n not in kwargs:
            raise TypeError(f"{display}() missing required argument '{n}'")
        pos.append(kwargs.pop(n))
    for n in names:
        if n in kwargs:
            raise TypeError(f"{display}() got multiple values for argument '{n}'")
    return pos[: spec.arity], pos[spec.arity :]


def _bind_params(
    spec: catalogue.OpSpec, pos: list[Any], kwargs: dict[str, Any], display: str, numpy_names: bool
) -> dict[str, Any]:
    """The op's parameters from what is left of the arguments, coerced, the required ones present;
    with ``numpy_names``, ``axis``/``keepdims`` stand for ``dim``/``keepdim``, given once."""
    params: dict[str, Any] = {}
    names = [p.name for p in spec.params]
    if pos and spec.params and spec.params[0].kind == "shape":
        params["shape"] = pos[0] if len(pos) == 1 and isinstance(pos[0], (list, tuple)) else list(pos)
        pos = []
    if len(pos) > len(names):
        raise TypeError(f"{display}() takes {spec.arity or 1 + len(names)} arguments but more were given")
    params.update(zip(names, pos))
    for k, v in kwargs.items():
        given = k
        if numpy_names and k not in names and NUMPY_NAMES.get(k) in names:
            k = NUMPY_NAMES[k]
            if k in params or k in kwargs:  # dim and axis both: torch refuses the alias
                raise TypeError(f"{display}() got an unexpected keyword argument '{given}'")
        if k not in names:
            raise TypeError(f"{display}() got an unexpected keyword argument '{given}'")
        if k in params:
            raise TypeError(f"{display}() got multiple values for argument '{k}'")
        params[k] = v
    for p in spec.params:
        if p.name in params:
            params[p.name] = coerce_param(display, p, params[p.name])
        elif p.required:
            raise TypeError(f"{display}() missing required argument '{p.name}'")
    return params


def _to_args(run: Run, args: list[Any], kwargs: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    device = kwargs.pop("device", None)
    for a in [*args, device]:
        if isinstance(a, int) and not isinstance(a, bool):
            check_device(a)  # x.to(0): torch's "Cannot access accelerator device"
    devices = [a for a in [*args, device] if isinstance(a, (str, Device))]
    for d in devices:
        if str(d) != "cpu" and not (isinstance(d, str) and d in catalogue.DTYPE_NAMES):
            check_device(str(d))  # torch's refusal ("cuda": Torch not compiled with CUDA enabled)
            raise ConsoleError(f"only the 'cpu' device is available, not {str(d)!r}")
    kwargs.pop("copy", None)
    kwargs.pop("non_blocking", None)
    out = [
        a.tensor(run).dtype if isinstance(a, TensorValue) else a
        for a in args
        if not isinstance(a, (str, Device)) or a in catalogue.DTYPE_NAMES
    ]
    return out, kwargs


def coerce_param(display: str, p: catalogue.Param, v: Any) -> Any:
    """A parameter as the catalogue stores it (JSON-safe), or PyTorch's TypeError: its kind's rule."""
    return param_kinds.KINDS[p.kind].coerce(v, display, p, type_name=type_name)


def make_op(
    run: Run, spec: catalogue.OpSpec, operands: list[Any], params: dict[str, Any], display: str
) -> PendingOp:
    """Check the operands, bound the result's size, compute it now; record it later if needed."""
    positions = spec.operand_names
    for i, o in enumerate(operands):
        if isinstance(o, TensorValue) or (is_num(o) and spec.scalar_operands):
            continue
        where = positions[i] if i < len(positions) else f"operand {i + 1}"
        raise TypeError(
            f"{display}(): argument '{where}' (position {i + 1}) must be Tensor, not {type_name(o)}"
        )
    if not any(isinstance(o, TensorValue) for o in operands):
        raise TypeError(
            f"{display}(): argument 'input' (position 1) must be Tensor, not {type_name(operands[0])}"
        )
    values = [o.tensor(run) if isinstance(o, TensorValue) else o for o in operands]
    full = {**spec.defaults(), **params}
    run.session.check_op(spec, values, full)
    out = spec.fn(*values, **full)
    return PendingOp(spec, list(operands), dict(params), out, tuple(run.groups))
