"""Names with Python's meaning: ``=``, ``+=``, ``del`` and ``x.attr = ...``.

A tensor bound to a name is recorded in the session under it; a plain value lives in the console's
``variables``. A tensor that loses its last name is deleted, or hidden when something still reads
it; hidden tensors left without dependents are collected.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

import numpy as np

import gradviz.engine as E

from ..log import Op
from .actions import set_requires_grad
from .check import IMPORTED, IMPORTED_FROM
from .limits import check_items, check_string
from .modules import ModuleValue, ParamValue
from .operators import BINOPS, binop
from .values import (
    ConsoleError,
    GradValue,
    Named,
    ObjectValue,
    PendingOp,
    ReturnTypes,
    TensorValue,
    contains_tensor,
    snapshot,
    type_name,
)

if TYPE_CHECKING:
    from .evaluate import Run

SCALAR_TYPE = {d.name: d.scalar_name for d in E.dtypes.ALL}  # the engine's one dtype table


def assign(run: Run, target: ast.expr, value: Any, later: tuple[Any, ...] = ()) -> None:
    if isinstance(target, ast.Name):
        bind(run, target.id, value, later)
    elif isinstance(target, (ast.Tuple, ast.List)):
        if any(not isinstance(t, ast.Name) for t in target.elts):
            raise ConsoleError("only names can be unpacked into in the console (a, b = ...)")
        items = run.items(value)
        n = len(target.elts)
        if len(items) > n:
            raise ValueError(f"too many values to unpack (expected {n})")
        if len(items) < n:
            raise ValueError(f"not enough values to unpack (expected {n}, got {len(items)})")
        for i, (t, v) in enumerate(zip(target.elts, items)):
            assign(run, t, v, tuple(items[i + 1 :]))
    elif isinstance(target, ast.Attribute):
        set_attribute(run, target, value)
    elif isinstance(target, ast.Subscript):
        raise ConsoleError(
            f"{run.segment(target)} = ... changes a tensor in place, which the console doesn't record; "
            "compute a new tensor instead (for example with torch.where)"
        )
    else:
        raise ConsoleError(f"can't assign to {run.segment(target)} in the console")


def bind(run: Run, name: str, value: Any, later: tuple[Any, ...] = ()) -> None:
    """``name = value`` with Python's meaning."""
    if isinstance(value, PendingOp) and not E.is_grad_enabled():
        # computed under torch.no_grad(): a tensor without history, as PyTorch makes it (and
        # so it replays the same, whatever the grad mode of the replay)
        value = snapshot(value.tensor(run))
    if run.scopes:  # a function's local: not a session name
        run.scopes[-1][name] = value
        return
    s = run.session
    s.check_name(name, allow_existing=True)
    if isinstance(value, ReturnTypes):
        raise ConsoleError("a (values, indices) pair can't be stored; use .values or unpack it: v, i = ...")
    if isinstance(value, ModuleValue):
        record_parameters(run, name, value)
    if isinstance(value, ParamValue):  # p = model.weight, for p in model.parameters(): another name for it
        if name in s and not s.info(name).hidden:
            if s.info(name).uid == value.uid:
                return
            unbind(run, name, later)
        run.console.variables[name] = value
        return
    if not isinstance(value, TensorValue):
        _bind_plain(run, name, value, later)
        return
    if value.uid is not None:  # already a session tensor
        current = s.info(name).uid if name in s else None
        if value.uid == current:
            return
        other = value.name(run)
        if s.info(other).hidden:  # a function's result (its local), or a hidden step: named now
            if name in s:
                unbind(run, name, later)
            s.rename(other, name)
            return
        raise ConsoleError(
            f"{name} = {other} would give one tensor two names, which a session can't hold; "
            f"use {other}.clone() for a copy, or rename {other}"
            if not other.startswith("_")
            else f"{name} = ... would give one tensor two names, which a session can't hold"
        )
    run.console.variables.pop(name, None)
    if name in s:
        unbind(run, name, (value, *later))
    value.record(run, name)


def _bind_plain(run: Run, name: str, value: Any, later: tuple[Any, ...]) -> None:
    """A plain Python value: kept in the console, bounded as every value it makes."""
    s = run.session
    if contains_tensor(value):
        raise ConsoleError(
            f"a {type(value).__name__} holding tensors can't be stored in the console; give each tensor its own name"
        )
    if isinstance(value, (list, tuple)) and any(isinstance(v, ObjectValue) for v in _flat(value)):
        # a module kept there would hold its parameters outside the session (and its memory)
        raise ConsoleError(
            f"a {type(value).__name__} holding modules or optimisers can't be stored in the console; give each "
            "its own name, or put the modules in nn.Sequential(...)"
        )
    if isinstance(value, str):
        check_string(len(value), f"{name}")
    elif isinstance(value, (list, tuple)):
        check_items(run.measure.of(value).items, f"{name}", s)
    if name in s:
        unbind(run, name, later)
    run.console.variables[name] = value


def record_parameters(run: Run, name: str, module: ModuleValue) -> None:
    """``model = nn.Linear(3, 2)``: the module's parameters not yet in the session are recorded
    as leaves named after it (``model_weight``; ``model_0_bias`` for ``model[0].bias``), taking
    the names from the parameters that had them (the old model's, kept hidden while an optimiser
    holds them); a tensor of the learner's own keeps its name (``model_weight_1`` then)."""
    owned = held(run)  # parameters of modules (and optimisers): their names may be taken over
    if run.console.variables.get(name) is not module:
        run.console.variables.pop(name, None)  # the old module no longer holds its parameters
    s = run.session
    for path, slot in module.named_slots():
        if slot.uid is not None:
            continue
        target = f"{name}_{path.replace('.', '_')}"
        if target in s and not s.info(target).hidden:
            if s.info(target).uid in owned:
                unbind(run, target)  # the old model's: hidden while an optimiser holds it
            else:
                target = s.fresh_name(f"{target}_")  # the learner's own tensor keeps its name
        slot.record(run, target)


def held(run: Run) -> set[int]:
    """The session tensors the console's modules and optimisers refer to."""
    return {u for v in run.console.variables.values() if isinstance(v, ObjectValue) for u in v.holds()}


def in_scope(run: Run) -> set[int]:
    """The session tensors the locals of the learner's functions under way refer to: alive until
    the call returns, as in Python (``loss = ...; loss.backward(); return loss.item()``)."""
    return {
        x.uid
        for scope in run.scopes
        for v in scope.values()
        for x in _flat(v)
        if isinstance(x, TensorValue) and x.uid is not None
    }


def _flat(value: Any) -> list[Any]:
    out, stack = [], [value]
    while stack:
        v = stack.pop()
        if isinstance(v, (list, tuple)):
            stack.extend(v)
        else:
            out.append(v)
    return out


def unbind(run: Run, name: str, pending: tuple[Any, ...] = ()) -> None:
    """Take ``name`` off its tensor, as rebinding or ``del`` does in Python: a tensor that
    something still uses (or that a value about to be recorded reads) stays, hidden;
    otherwise it goes, with any hidden tensors it leaves behind."""
    s = run.session
    uid = s.info(name).uid
    if (
        s.dependents(name)
        or any(isinstance(v, TensorValue) and v.depends_on(uid) for v in pending)
        or uid in held(run)
    ):
        run.unbound.append(s.hide(name))
        return
    operands = s.operands(name)
    s.delete(name)
    collect(run, operands)


def collect(run: Run, names: list[str]) -> None:
    """Delete hidden tensors that nothing depends on (and then their hidden operands)."""
    s = run.session
    stack = list(names)
    kept: set[int] | None = None
    local: set[int] = in_scope(run) if run.scopes else set()
    while stack:
        n = stack.pop()
        if n not in s or not s.info(n).hidden or s.dependents(n):
            continue
        kept = held(run) if kept is None else kept
        if s.info(n).uid in kept:
            continue
        if s.info(n).uid in local:  # a function's local: collected once the call is over
            run.deferred.append(n)
            continue
        operands = s.operands(n)
        s.delete(n)
        stack.extend(operands)


def augassign(run: Run, stmt: ast.AugAssign) -> None:
    if not isinstance(stmt.target, ast.Name):
        raise ConsoleError(
            f"{run.segment(stmt.target)} {BINOPS.get(type(stmt.op), ('?',))[0]}= ... changes a tensor in place, "
            "which the console doesn't record; assign a new tensor instead"
        )
    current = run.lookup(stmt.target.id)
    rhs = run.eval(stmt.value)
    if not isinstance(current, TensorValue):
        bind(run, stmt.target.id, binop(run, stmt.op, current, rhs))
        return
    t = current.tensor(run)
    grad_mode = E.is_grad_enabled()
    if t.requires_grad and t.is_leaf and grad_mode:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    base = view_base(run, current)
    if base is not None and grad_mode and run.session.tensor(base).requires_grad:
        if run.session.tensor(base).is_leaf:
            raise RuntimeError(
                "a view of a leaf Variable that requires grad is being used in an in-place operation."
            )
        base = None  # a view of a computed tensor: PyTorch rebases its history (see below)
    new = binop(run, stmt.op, current, rhs)
    if isinstance(new, TensorValue) and new.tensor(run).dtype is not t.dtype:
        got, want = new.tensor(run).dtype.name, t.dtype.name
        raise RuntimeError(
            f"result type {SCALAR_TYPE.get(got, got)} can't be cast to the desired output type {SCALAR_TYPE.get(want, want)}"
        )
    if current.uid is not None and (base is not None or not t.requires_grad or not grad_mode):
        # In place, as PyTorch does it: w -= lr * w.grad under no_grad keeps w (its grad too),
        # and row += 1 on a view writes through to the tensor it views.
        write_through(run, current.name(run), new.tensor(run).detach().numpy())
        return
    # A tensor with history, in grad mode: PyTorch rebases it on the new op; the console records
    # the new tensor under the same name, which reads and differentiates the same.
    bind(run, stmt.target.id, new)


_VIEW_OPS = ("index", "detach")  # ops whose result PyTorch shares with its operand (basic indexing)


def view_base(run: Run, tv: TensorValue) -> str | None:
    """The session tensor that ``tv`` is a view of, or None."""
    if tv.uid is None:
        return None
    entry = run.session.info(tv.name(run)).entry
    if not isinstance(entry, Op) or entry.op not in _VIEW_OPS or len(entry.args) != 1:
        return None  # index with a tensor or list operand is a copy (advanced indexing)
    if entry.op == "index" and any(
        isinstance(i, dict) and "list" in i for i in entry.params.get("index", ())
    ):
        return None
    kind, base = entry.args[0]
    return base if kind == "ref" else None


def write_through(run: Run, name: str, value: np.ndarray) -> None:
    """Write ``value`` into ``name`` in place, and into what it is a view of (recursively)."""
    s = run.session
    base = view_base(run, Named(s.info(name).uid))
    if base is not None:
        entry = s.info(name).entry
        whole = np.array(s.tensor(base).detach().numpy(), copy=True)
        if entry.op == "index":
            whole[E.ops.indexing.decode_index(entry.params["index"], ())] = value
        else:
            whole[...] = value
        write_through(run, base, whole)
    s.write_in_place(name, value)


def import_names(run: Run, stmt: ast.Import | ast.ImportFrom) -> None:
    """``import numpy as np`` binds np; the torch imports name what is always defined."""
    if isinstance(stmt, ast.Import):
        bindings = [(IMPORTED.get((a.name, a.asname)), a.name, None) for a in stmt.names]
    else:
        bindings = [
            (a.name, stmt.module, a.name) for a in stmt.names if (stmt.module, a.name) in IMPORTED_FROM
        ]
    for bound, module, member in bindings:
        if bound is None:
            continue  # a torch import: its names are always defined
        value = run.console.imports[module]
        if member is not None:
            value = value.members[member]
        if bound in run.session and not run.session.info(bound).hidden:  # np is reserved for tensors
            unbind(run, bound)
        run.console.variables[bound] = value


def delete(run: Run, target: ast.expr) -> None:
    if isinstance(target, (ast.Tuple, ast.List)):
        for t in target.elts:
            delete(run, t)
        return
    if not isinstance(target, ast.Name):
        raise ConsoleError(
            f"del {run.segment(target)} is not supported in the console; only names can be deleted"
        )
    name = target.id
    console = run.console
    if name in console.globals and name not in console.variables:
        raise ConsoleError(f"'{name}' is built into the console and can't be deleted")
    if name in run.session and not run.session.info(name).hidden:
        unbind(run, name)
    elif name in console.variables:
        del console.variables[name]
    else:
        raise NameError(f"name '{name}' is not defined")


def set_attribute(run: Run, target: ast.Attribute, value: Any) -> None:
    obj = run.eval(target.value)
    what = run.segment(target)
    if isinstance(obj, ObjectValue):  # self.fc1 = nn.Linear(2, 4) in a module class's __init__
        obj.set_attribute(run, target.attr, value)
        return
    if not isinstance(obj, TensorValue):
        raise ConsoleError(f"can't assign to {what} in the console")
    if target.attr == "grad":
        if value is not None:
            raise ConsoleError(f"only {what} = None can be assigned in the console (it clears the gradient)")
        if obj.uid is not None and not isinstance(obj, GradValue):
            run.session.zero_grad([obj.name(run)], set_to_none=True)
        return
    if target.attr == "requires_grad":
        if not isinstance(value, bool):
            raise TypeError(f"requires_grad must be a bool, not {type_name(value)}")
        set_requires_grad(
            run, obj, value, "only Tensors of floating point and complex dtype can require gradients"
        )
        return
    raise ConsoleError(f"can't assign to {what} in the console")
