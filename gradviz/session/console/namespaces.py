"""What the console's names mean before the learner defines any: ``torch`` (and ``gradviz``),
``torch.nn`` (its modules: ``modules``), ``torch.nn.functional`` (also ``F``), ``torch.optim``
(``optimisers``) and the builtins, built from the catalogue of
operations and the constructors, and the tensor methods that are catalogue ops."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradviz
import gradviz.engine as E
import gradviz.nn.functional as F_module
import gradviz.optim

from .. import catalogue
from . import classes, data, live_ops, modules, numpy_surface, optimisers, queries  # noqa: F401 - classes: its record kind
from .binding import call_op
from .builtins import BUILTINS
from .construct import CONSTRUCTORS, builtin_manual_seed, construct
from .values import Function, Namespace

DTYPES = dict(E.dtypes.BY_NAME)  # torch.float32, torch.float, ...: the engine's one dtype table


@dataclass
class Names:
    """The console's predefined names: ``ops`` by name, Tensor ``methods`` (with aliases) and the
    ``globals`` a name lookup falls back to."""

    ops: dict[str, catalogue.OpSpec]
    methods: dict[str, catalogue.OpSpec]
    globals: dict[str, Any]
    live_methods: dict[str, Callable[..., Any]]  # Tensor methods of ops outside the catalogue
    imports: dict[str, Any]  # what an import binds (numpy)


def build() -> Names:
    methods: dict[str, catalogue.OpSpec] = {}
    torch_ops: dict[str, catalogue.OpSpec] = {}
    f_ops: dict[str, catalogue.OpSpec] = {}
    for spec in catalogue.OPS:
        for n in (spec.name, *spec.aliases):
            if spec.method:
                methods[n] = spec
            if "function" in spec.syntax:  # as each op declares: torch.x, F.x, or both
                torch_ops[n] = spec
            if "F" in spec.syntax:
                f_ops[n] = spec
    functional = _namespace("torch.nn.functional", F_module, f_ops, {}, numpy_names=False)
    functional.members = {**live_ops.f_members(), **functional.members}  # the catalogue's first
    nn = Namespace("torch.nn", {"functional": functional, **modules.members()}, gradviz.nn)
    optim = Namespace("torch.optim", optimisers.members(), gradviz.optim)
    # ops outside the catalogue, where no catalogue op or alias has the name (clip is clamp's)
    extra: dict[str, Any] = {k: v for k, v in live_ops.torch_members().items() if k not in torch_ops}
    extra.update({c: Function(c, _constructor(c), "constructor") for c in CONSTRUCTORS})
    extra["manual_seed"] = Function("manual_seed", builtin_manual_seed)
    extra.update(DTYPES)
    extra.update(queries.members())
    extra["nn"] = nn
    extra["optim"] = optim
    utils_data = data.build()
    extra["utils"] = Namespace("torch.utils", {"data": utils_data}, None)
    torch = _namespace("torch", gradviz, torch_ops, extra)
    names: dict[str, Any] = {
        "torch": torch,
        "gradviz": Namespace("gradviz", torch.members, gradviz),
        "F": functional,
        "nn": nn,
        "optim": optim,
    }
    for b, fn in BUILTINS.items():
        names[b] = Function(b, fn, "builtin")
    live_methods = {n: f for n, f in live_ops.methods().items() if n not in methods}
    imports = {"numpy": numpy_surface.build(), "torch.utils.data": utils_data, "torch.optim": optim}
    return Names({spec.name: spec for spec in catalogue.OPS}, methods, names, live_methods, imports)


def _namespace(
    path: str, module: Any, ops: dict[str, catalogue.OpSpec], extra: dict[str, Any], numpy_names: bool = True
) -> Namespace:
    """``numpy_names=False``: the namespace's ops are Python functions in torch (F.softmax),
    which refuse numpy's ``axis=``."""
    members: dict[str, Any] = {
        n: Function(n, _op_function(spec, n, numpy_names), "op") for n, spec in ops.items()
    }
    members.update(extra)
    return Namespace(path, members, module)


def _op_function(spec: catalogue.OpSpec, display: str, numpy_names: bool) -> Callable[..., Any]:
    return lambda run, args, kwargs, node: call_op(run, spec, args, kwargs, display, numpy_names=numpy_names)


def _constructor(name: str) -> Callable[..., Any]:
    return lambda run, args, kwargs, node: construct(run, name, args, kwargs, node)
