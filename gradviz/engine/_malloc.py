"""Let the process keep the memory of large freed arrays (glibc only; a speed setting).

Every large numpy result is a fresh ``malloc``. By default glibc returns freed memory at the top
of its heap to the system as soon as a few MB are free, so the next pass page-faults all of it
back in: about 1 ms per 4 MB array on these machines, more than the arithmetic costs. gradviz
keeps every intermediate of a graph (the app draws them) and so frees them all at once when a
graph goes away, which is exactly what triggers it. Higher thresholds keep that memory for reuse.

Set ``GRADVIZ_MALLOC_TUNING=0`` to leave the allocator alone.
"""

from __future__ import annotations

import ctypes
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's maximum: smaller blocks come from the heap, and are reused
TRIM_THRESHOLD = 128 << 20  # keep up to this much free memory instead of returning it


def tune() -> bool:
    """Raise glibc's mmap and trim thresholds; False where that is not possible or wanted."""
    if os.environ.get("GRADVIZ_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 - only glibc has mallopt with these meanings
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # Both, or neither: setting either turns off glibc's own adjustment of the other.
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
