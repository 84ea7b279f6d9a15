"""``class Net(nn.Module):`` in the console: the one class shape it defines (``check.module_class``).

``__init__`` may only call ``super().__init__()`` and set ``self.name = ...`` (a module such as
``nn.Linear(2, 4)``, or a plain number or string); ``forward`` is a function like any the
console runs, with ``self`` the module. An instance is a module of the console's own
(``modules.ModuleValue``): its parameters are those of its submodules, named after it and them
(``model.fc1.weight`` is the session's ``model_fc1_weight``), and calling it runs ``forward``,
which records its ops. Its record holds the class's source, so that it can be made again.
"""

from __future__ import annotations

import ast
import textwrap
from typing import TYPE_CHECKING, Any

from .check import check
from .functions import UserFunction
from .modules import _METHODS, ModuleValue
from .records import RECORD_KINDS, register_record_kind
from .values import ConsoleError, Method, ObjectValue, TensorValue

if TYPE_CHECKING:
    from .core import Console
    from .evaluate import Run

_PLAIN = (bool, int, float, str, type(None))  # what else ``self.name = ...`` may hold


class ClassValue(ObjectValue):
    """A module class the learner defined."""

    type_name = "type"

    def __init__(
        self,
        name: str,
        init: UserFunction | None,
        forward: UserFunction,
        source: str,
        calls_super: bool = True,
    ) -> None:
        self.name = name
        self.calls_super = calls_super  # __init__ calls super().__init__() (or there is no __init__)
        self.init = init
        self.forward = forward
        self.source = source  # the class statement, for records

    def __repr__(self) -> str:
        return f"<class '__main__.{self.name}'>"

    def call(self, run: Run, args: list[Any], kwargs: dict[str, Any], node: Any) -> CustomModule:
        module = CustomModule(run.session, self)
        if self.init is not None:
            self.init.call(run, [module, *args], kwargs, node)
        elif args or kwargs:
            raise TypeError(f"{self.name}() takes no arguments")
        return module


class CustomModule(ModuleValue):
    """An instance of a learner's module class: its submodules and plain values by name."""

    def __init__(self, session: Any, cls: ClassValue) -> None:
        super().__init__(session, None, {}, {})
        self.cls = cls
        self.kind = self.type_name = cls.name
        self.modules: dict[str, ModuleValue] = {}
        self.values: dict[str, Any] = {}

    def __repr__(self) -> str:  # torch's Module.__repr__
        lines = [f"({k}): " + repr(m).replace("\n", "\n  ") for k, m in self.modules.items()]
        return f"{self.kind}(" + ("\n  " + "\n  ".join(lines) + "\n" if lines else "") + ")"

    def named_children(self) -> list[tuple[str, ModuleValue]]:
        return list(self.modules.items())

    def type_text(self) -> str:
        return repr(self.cls)

    def completions(self) -> list[str]:
        return [*self.modules, *self.values, *_METHODS]

    def attribute(self, run: Run, attr: str) -> Any:
        if attr in self.modules:
            return self.modules[attr]
        if attr in self.values:
            return self.values[attr]
        if attr in _METHODS:
            return Method(self, attr, lambda args, kwargs: self._method(run, attr, args, kwargs))
        raise AttributeError(f"'{self.kind}' object has no attribute '{attr}'")

    def set_attribute(self, run: Run, attr: str, value: Any) -> None:
        if isinstance(value, ModuleValue):
            if not self.cls.calls_super:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self.values.pop(attr, None)
            self.modules[attr] = value
        elif isinstance(value, TensorValue):
            raise ConsoleError(
                f"self.{attr} = <a tensor> is not available in the console: a module class's parameters come "
                "from the console's modules (self.fc = nn.Linear(2, 4))"
            )
        elif isinstance(value, _PLAIN):
            self.modules.pop(attr, None)
            self.values[attr] = value
        else:
            raise ConsoleError(f"self.{attr} may hold a module, a number or a string in the console")

    def _forward(self, run: Run, args: list[Any], kwargs: dict[str, Any]) -> Any:
        return self.cls.forward.call(run, [self, *args], kwargs)

    def to_record(self) -> dict[str, Any]:
        return {
            "kind": "nn.Module",
            "class": self.kind,
            "source": self.cls.source,
            "modules": {k: m.to_record() for k, m in self.modules.items()},
            "values": dict(self.values),
        }


def define_class(run: Run, node: ast.ClassDef) -> ClassValue:
    """The class of a ``class`` statement that ``check.module_class`` passed."""
    from .check import _is_super_init
    from .control import define

    methods = {f.name: f for f in node.body if isinstance(f, ast.FunctionDef)}
    init = methods.get("__init__")
    made_init = None
    calls_super = True
    if init is not None:
        body = [s for s in init.body if not _is_super_init(s)]
        calls_super = len(body) < len(init.body)
        made_init = define(run, init, f"{node.name}.__init__", body or [ast.Pass()])
    forward = define(run, methods["forward"], f"{node.name}.forward", methods["forward"].body)
    return ClassValue(node.name, made_init, forward, textwrap.dedent(run.segment(node)), calls_super)


def from_record(record: dict[str, Any], console: Console) -> CustomModule:
    """A module of a learner's class, from its record: the class defined again from its source."""
    from .evaluate import Run

    source = str(record["source"])
    tree = ast.parse(source)
    check(tree)
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.ClassDef):
        raise ConsoleError("a module record's source must be one class statement")
    cls = define_class(Run(console, source), tree.body[0])
    module = CustomModule(console.session, cls)
    for k, rec in record["modules"].items():
        module.modules[k] = RECORD_KINDS[rec["kind"]](rec, console)
    module.values = dict(record.get("values", {}))
    return module


register_record_kind("nn.Module", from_record)
