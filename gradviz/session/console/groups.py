"""The groups a console computation is made in: module calls (``model(x)``) and name scopes
(``with torch.profiler.record_function("layer1"):``, ``with gradviz.name_scope("layer1"):``).

Each op made while groups are open is recorded with them (``Op.scope``), outermost first, so
the graph draws a box per call, named as the learner names the model (``model``, ``model.0``,
``model.fc1``), and a box per name scope, in a replay as in the live session: a replay runs
each op alone, with no module and no ``with`` around it, so the groups are recorded rather
than found again. A call's key is the session's next uid when it began and a count: unique in
the log (a later call starts past every uid recorded), so two calls of one module are two boxes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..limits import MAX_NAME, MAX_SCOPE_DEPTH
from .values import ConsoleError, Function, Namespace, plain, type_name

if TYPE_CHECKING:
    from .evaluate import Run


class NameScope:
    """``torch.profiler.record_function(name)`` or ``gradviz.name_scope(name)``, for a ``with``."""

    def __init__(self, name: str, spelling: str) -> None:
        self.name = name
        self.spelling = spelling

    def __repr__(self) -> str:
        return f"<{self.spelling} object>"


@contextlib.contextmanager
def opened(run: Run, name: str, cls: str = "") -> Iterator[None]:
    """Ops made inside are in the group ``name`` (of class ``cls``: a module; "": a name scope)."""
    if len(run.groups) >= MAX_SCOPE_DEPTH:
        raise ConsoleError(
            f"module calls and name scopes nest more than {MAX_SCOPE_DEPTH} deep in the console"
        )
    run.group_calls += 1
    run.groups.append((name[:MAX_NAME], cls[:MAX_NAME], f"{run.session.next_uid}.{run.group_calls}"))
    try:
        yield
    finally:
        run.groups.pop()


@contextlib.contextmanager
def module_call(run: Run, module: Any) -> Iterator[None]:
    """A call of ``module`` (a ``ModuleValue``): its ops in a group named by its path."""
    path = module_path(run, module)
    with opened(run, path, module.kind):
        run.calling.append((module, path))
        try:
            yield
        finally:
            run.calling.pop()


def module_path(run: Run, module: Any) -> str:
    """How the learner's code names ``module``: a child of the module being called by its path
    (``model.0``, ``model.fc1``), else the session name it is bound to (``model``; a function's
    local name if it has none), else its class."""
    if run.calling:
        parent, path = run.calling[-1]
        for key, child in parent.named_children():
            if child is module:
                return f"{path}.{key}"
    for scope in (run.console.variables, *reversed(run.scopes)):
        for name, value in scope.items():
            if value is module and name != "self":
                return name
    return module.kind


def _scope_function(spelling: str, display: str, extra: tuple[str, ...] = ()) -> Function:
    params = ("name", *extra)

    def make(run: Run, args: list[Any], kwargs: dict[str, Any], node: Any) -> NameScope:
        bound = dict(zip(params, args))
        if len(args) > len(params):
            raise TypeError(f"{display}() takes at most {len(params)} arguments ({len(args)} given)")
        for k, v in kwargs.items():
            if k not in params or k in bound:
                raise TypeError(f"{display}() got an unexpected keyword argument '{k}'")
            bound[k] = v
        name = plain(bound.get("name"), run)
        if not isinstance(name, str):
            raise TypeError(f"{display}(): argument 'name' must be str, not {type_name(name)}")
        if not name or len(name) > MAX_NAME:
            raise ConsoleError(f"{display}(): a name scope's name has 1 to {MAX_NAME} characters")
        return NameScope(name, spelling)

    return Function(display, make)


def torch_members() -> dict[str, Any]:
    """``torch.profiler`` (with ``record_function``) and ``name_scope``, for ``torch`` and
    ``gradviz``; ``autograd_profiler`` goes under ``torch.autograd``."""
    record = _scope_function("torch.autograd.profiler.record_function", "record_function", ("args",))
    profiler = Namespace("torch.profiler", {"record_function": record}, None)
    return {
        "profiler": profiler,
        "name_scope": _scope_function("gradviz.engine.scopes.name_scope", "name_scope"),
    }
