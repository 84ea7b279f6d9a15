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
    inference = False  # inside inference_mode
    interrupt: Callable[[], None] | None = None  # see interruptible
    scope: tuple = ()  # the name scopes open (scopes.py): each node made now is noted in them


state = _State()


def is_grad_enabled() -> bool:
    return state.enabled


class _GradMode:
    """Context manager and decorator that sets grad mode and restores it on exit; as in
    PyTorch 2, ``@no_grad`` works without parentheses too."""

    _mode = True

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        self = super().__new__(cls)
        if cls in (no_grad, enable_grad) and len(args) == 1 and callable(args[0]) and not kwargs:
            self.__init__()
            return self(args[0])
        return self

    def __init__(self, *args: Any) -> None:
        pass

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


class inference_mode(_GradMode):
    """``torch.inference_mode``: like ``no_grad`` (gradviz keeps no other difference), as a
    context manager or decorator, with or without parentheses."""

    def __new__(cls, mode: Any = True) -> Any:
        self = object.__new__(cls)
        if callable(mode) and not isinstance(mode, bool):
            self.__init__()
            return self(mode)
        return self

    def __init__(self, mode: bool = True) -> None:
        self._on = bool(mode)

    def __enter__(self) -> None:
        self._prev = (state.enabled, state.inference)
        if self._on:
            state.enabled, state.inference = False, True
        else:
            state.inference = False

    def __exit__(self, *exc: object) -> None:
        state.enabled, state.inference = self._prev

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        on = self._on

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with inference_mode(on):
                return fn(*args, **kwargs)

        return wrapper

    def clone(self) -> inference_mode:
        return inference_mode(self._on)


def is_inference_mode_enabled() -> bool:
    return state.inference


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
