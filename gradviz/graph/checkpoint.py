"""Cooperative cancellation for long graph work (layout, scene building) on a worker thread.

The long loops of the layout call :func:`checkpoint` now and then. By default it does nothing;
a worker that may be stopped runs its work inside ``with checking(hook):`` and ``hook`` raises
to stop it (the canvas's job raises once the person pressed Cancel or the layout's time ran
out). The hook is per thread, so an export on another thread is never stopped by the canvas.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_local = threading.local()


def checkpoint() -> None:
    """Give the current thread's hook, if any, the chance to stop the work (by raising)."""
    hook = getattr(_local, "hook", None)
    if hook is not None:
        hook()


@contextmanager
def checking(hook: Callable[[], None]) -> Iterator[None]:
    """Call ``hook`` at every checkpoint of this thread while the block runs."""
    previous = getattr(_local, "hook", None)
    _local.hook = hook
    try:
        yield
    finally:
        _local.hook = previous
