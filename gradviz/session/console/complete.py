"""Completion of the dotted name being typed: session tensors, console variables, the predefined
names and their members (``torch.ze`` -> ``torch.zeros``, ``w.ex`` -> ``w.exp``)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .attributes import ACTION_METHODS, CAST_METHODS, READ_METHODS, TENSOR_PROPERTIES
from .values import Namespace, ObjectValue

if TYPE_CHECKING:
    from .core import Console


def complete(console: Console, prefix: str) -> list[str]:
    """Completions of the dotted name at the end of ``prefix``, each the whole of ``prefix``
    completed: ``complete("y = w.ex")`` gives ``["y = w.exp"]``."""
    m = re.search(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\.?$", prefix)
    token = m.group(0) if m else ""
    head = prefix[: len(prefix) - len(token)]
    if head[-1:].isalnum() or head[-1:] in (".", "_"):
        return []  # inside a number (0.1, 1e3) or a word the pattern can't end: nothing to complete
    if "." in token:
        base, _, part = token.rpartition(".")
        candidates = _members(console, base)
        lead = base + "."
    else:
        part, lead = token, ""
        candidates = [*console.session.names(), *console.variables, *console.globals]
    found = sorted({c for c in candidates if c.startswith(part) and not c.startswith("_")})
    return [head + lead + c for c in found]


def _members(console: Console, base: str) -> list[str]:
    parts = base.split(".")
    root = parts[0]
    obj: Any
    if root in console.session and not console.session.info(root).hidden:
        obj = "tensor"
    elif isinstance(console.variables.get(root), ObjectValue):
        obj = console.variables[root]
    elif root in console.globals:
        obj = console.globals[root]
    else:
        return []
    for p in parts[1:]:
        if isinstance(obj, Namespace):
            obj = obj.members.get(p)
        elif obj == "tensor" and p in ("grad", "T", "data"):
            obj = "tensor"
        else:
            return []
    if isinstance(obj, Namespace):
        return list(obj.members)
    if isinstance(obj, ObjectValue):
        return obj.completions()
    if obj == "tensor":
        return [*TENSOR_PROPERTIES, *console.methods, *CAST_METHODS, *READ_METHODS, *ACTION_METHODS]
    return []
