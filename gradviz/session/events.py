"""A tiny observer: the model announces changes without knowing who listens (the GUI turns
these into Qt signals)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Event:
    """``connect`` a callable, ``emit`` to call every connected one in order."""

    def __init__(self) -> None:
        self._handlers: list[Callable[..., Any]] = []

    def connect(self, handler: Callable[..., Any]) -> None:
        if handler not in self._handlers:
            self._handlers.append(handler)

    def disconnect(self, handler: Callable[..., Any]) -> None:
        self._handlers.remove(handler)

    def emit(self, *args: Any, **kwargs: Any) -> None:
        for handler in list(self._handlers):
            handler(*args, **kwargs)
