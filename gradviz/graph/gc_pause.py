"""Python's cyclic garbage collector held off while a graph is read, laid out and drawn.

That work makes hundreds of thousands of small dicts, lists and tuples, and each burst starts a
full collection that walks every object alive, the user's model and tensors included: on a
48-layer encoder's 3,264 nodes, collections were 40% of the layout's time. Nothing made then is
garbage until the work ends, so holding the collector off loses nothing; it runs again after.
Where it is already off (the window collects on its own timer, gui/gc_guard.py) it stays off.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
