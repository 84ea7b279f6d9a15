"""How much memory a session holds, counted as it changes, for its memory budget.

Two ledgers count distinct owning arrays (a view and its base count once): one for the tensors
a replay made (values, gradients, buffers saved for backward), one for the arrays the op log
and the undo history keep (leaf values, backward gradients). Counting as things come and go
keeps each action's cost proportional to what it changed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from gradviz.engine import Tensor
from gradviz.engine.buffers import root, tensor_buffers

from .limits import BUDGET_ENV, BUDGET_FRACTION, FALLBACK_BUDGET
from .log import Backward, Entry, Leaf


class Ledger:
    """Distinct arrays, each counted once however many holders it has."""

    def __init__(self) -> None:
        self._arrays: dict[int, list] = {}  # id(root) -> [root, holders]
        self.total = 0

    def add(self, arrays: Iterable[np.ndarray]) -> None:
        for a in arrays:
            slot = self._arrays.get(id(a))
            if slot is None:
                self._arrays[id(a)] = [a, 1]
                self.total += a.nbytes
            else:
                slot[1] += 1

    def remove(self, arrays: Iterable[np.ndarray]) -> None:
        for a in arrays:
            slot = self._arrays.get(id(a))
            if slot is None:
                continue
            slot[1] -= 1
            if slot[1] == 0:
                del self._arrays[id(a)]
                self.total -= a.nbytes


class TensorLedger:
    """The bytes a state's tensors hold; per tensor, what it was counted with."""

    def __init__(self) -> None:
        self._ledger = Ledger()
        # Arrays counted elsewhere (the log's and the undo history's): a view of a leaf's values
        # adds nothing.
        self.outside: Ledger | None = None
        self._held: dict[int, list[np.ndarray]] = {}  # uid -> its buffers
        self._shared: dict[int, int] = {}  # uid -> id of the log's array its values are

    @property
    def total(self) -> int:
        return self._ledger.total

    def add(self, uid: int, t: Tensor, shared: np.ndarray | None = None) -> None:
        """Count ``t``'s buffers, except ``shared``: a leaf's values, which the log keeps and
        counts."""
        self._forget(uid)
        if shared is not None:
            self._shared[uid] = id(root(shared))
        skip = self._shared.get(uid)
        outside = self.outside._arrays if self.outside is not None else {}
        bufs = [a for a in tensor_buffers(t) if id(a) != skip and id(a) not in outside]
        self._held[uid] = bufs
        self._ledger.add(bufs)

    def remove(self, uid: int) -> None:
        self._forget(uid)
        self._shared.pop(uid, None)

    def _forget(self, uid: int) -> None:
        bufs = self._held.pop(uid, None)
        if bufs is not None:
            self._ledger.remove(bufs)

    def rebuild(self, tensors: Iterable[tuple[int, Tensor]]) -> None:
        """Count afresh: after backward (new gradients, freed buffers) or zeroing gradients."""
        self._ledger, self._held = Ledger(), {}
        for uid, t in tensors:
            self.add(uid, t)


def entry_arrays(entries: Iterable[Entry]) -> list[np.ndarray]:
    """The arrays log entries keep (leaf values, backward gradients), as owning arrays."""
    out = []
    for e in entries:
        if isinstance(e, Leaf):
            out.append(root(e.value))
        elif isinstance(e, Backward) and e.gradient is not None:
            out.append(root(e.gradient))
    return out


@dataclass(frozen=True)
class MemoryUse:
    """What a session holds, in bytes."""

    tensors: int  # values, gradients and buffers saved for backward
    log: int  # leaf values and gradients the op log keeps, to replay it
    history: int  # arrays only the undo history keeps
    budget: int

    @property
    def total(self) -> int:
        return self.tensors + self.log + self.history


def physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def parse_bytes(text: str) -> int:
    """``"4G"``, ``"512M"``, ``"1.5GB"`` or a plain byte count."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(?:I?B)?\s*", text.upper())
    if not m:
        raise ValueError(f"{text!r} is not a size: write it as 4G, 512M or a number of bytes")
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def default_budget() -> int:
    """``GRADVIZ_MEMORY_BUDGET`` if set, else half the machine's physical memory."""
    env = os.environ.get(BUDGET_ENV, "").strip()
    if env:
        try:
            return parse_bytes(env)
        except ValueError:
            pass  # a bad setting must not stop the app; the default applies
    phys = physical_memory()
    return int(phys * BUDGET_FRACTION) if phys else FALLBACK_BUDGET


def format_bytes(n: int) -> str:
    for unit, size in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


__all__ = [
    "Ledger",
    "MemoryUse",
    "TensorLedger",
    "default_budget",
    "entry_arrays",
    "format_bytes",
    "parse_bytes",
    "physical_memory",
]
