"""Name scopes: a part of a computation grouped under a name the learner chose, so that the
graph can draw it as one box (as it draws an ``nn.Module`` call).

``with gradviz.name_scope("layer1"):`` reads as what it does; PyTorch's own spelling,
``with torch.autograd.profiler.record_function("layer1"):`` (also ``torch.profiler``), works
the same here, so code written for torch runs under gradviz unchanged and groups its graph.

Every node made while a scope is open notes the scopes open, outermost first, in its
``scope`` (see ``function.Node.scope``): an entry ``(name, "", call number, None)`` for a name
scope. The open scopes are per thread, like grad mode. :func:`entered` opens scopes given as
data, which is how a session replays the scopes its log recorded.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from . import function
from .function import _next_seq
from .grad_mode import state

_count_lock = threading.Lock()


def _push(entries: tuple) -> tuple:
    """Open ``entries`` inside the scopes open on this thread; returns what to restore."""
    before = state.scope
    with _count_lock:
        function._scopes_open += 1
    state.scope = (*before, *entries)
    return before


def _pop(before: tuple) -> None:
    state.scope = before
    with _count_lock:
        function._scopes_open -= 1


@contextlib.contextmanager
def entered(levels: Iterable[tuple[str, str, Any]]) -> Iterator[None]:
    """Open the scopes ``levels``, each ``(name, class name or "", call key)``, outermost first,
    inside those already open: a name scope has no class name, a module call named whole
    (``model.0``, by the session) has its class's."""
    before = _push(tuple((str(n), str(c), k, None) for n, c, k in levels))
    try:
        yield
    finally:
        _pop(before)


def open_scopes() -> tuple:
    """The scopes open on this thread, outermost first, as nodes note them."""
    return state.scope


class name_scope(contextlib.ContextDecorator):
    """``with gradviz.name_scope("layer1"):`` groups the ops made inside under "layer1"; nested
    scopes nest their groups. Also a decorator: ``@gradviz.name_scope("attention")``."""

    def __init__(self, name: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"name_scope(): argument 'name' must be str, not {type(name).__name__}")
        self.name = name
        self._before: list[tuple] = []

    def __enter__(self) -> name_scope:
        self._before.append(_push(((self.name, "", _next_seq(), None),)))
        return self

    def __exit__(self, *exc: object) -> None:
        _pop(self._before.pop())


class record_function(name_scope):
    """``torch.autograd.profiler.record_function(name, args=None)``: in PyTorch a profiler
    label; here (no profiler) a name scope, so a graph drawn of the code groups its ops."""

    def __init__(self, name: str, args: str | None = None) -> None:
        super().__init__(name)
        self.args = args
