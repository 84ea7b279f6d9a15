"""Global switch for graph recording: ``no_grad``, ``enable_grad``, ``is_grad_enabled``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


class _State:
    enabled = True


state = _State()


def is_grad_enabled() -> bool:
    return state.enabled


def set_grad_enabled(mode: bool) -> None:
    state.enabled = bool(mode)


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


class no_grad(_GradMode):  # noqa: N801 - PyTorch's name
    _mode = False


class enable_grad(_GradMode):  # noqa: N801 - PyTorch's name
    _mode = True
