"""Switch for graph recording: ``no_grad``, ``enable_grad``, ``is_grad_enabled``.

Like PyTorch's, the switch is per thread: a replay on a worker thread keeps recording while the
GUI thread previews a result under ``no_grad``."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any


class _State(threading.local):
    enabled = True  # each thread starts with grad mode on, as in PyTorch
    interrupt: Callable[[], None] | None = None  # see interruptible


state = _State()


def is_grad_enabled() -> bool:
    return state.enabled


class _GradMode:
    """Context manager and decorator that sets grad mode and restores it on exit."""

    _mode = True

    def __enter__(self) -> None:
        self._prev = state.enabled
        state.enabled = self._mode

    def __exit__(self, *exc: object) -> None:
        state.enabled = self._prev

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    _mode = False


class enable_grad(_GradMode):
    _mode = True


class set_grad_enabled(_GradMode):
    """Sets grad mode at once; as a context manager or decorator, restores it afterwards."""

    def __init__(self, mode: bool) -> None:
        self._prev = state.enabled
        self._mode = bool(mode)
        state.enabled = self._mode

    def __enter__(self) -> None:
        state.enabled = self._mode

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        state.enabled = self._prev  # as a decorator it changes nothing until the call
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


@contextlib.contextmanager
def interruptible(check: Callable[[], None] | None) -> Iterator[None]:
    """Within it, ``backward()`` on this thread calls ``check()`` before each node, so a long
    backward can be stopped by raising there (nothing is applied until every node has run)."""
    prev = state.interrupt
    state.interrupt = check
    try:
        yield
    finally:
        state.interrupt = prev
