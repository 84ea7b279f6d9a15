"""Console values that a recorded loop (``loop_entry``) stores as plain data and rebuilds.

A value that is not a number, a string, a list or an array (an ``nn.Module``, an optimiser, a
``DataLoader``) may still be read by a loop that is logged as one entry: its class has a method
``to_record(self) -> dict`` giving JSON data with a ``"kind"`` key, and that kind is registered
here with the function that builds the value again from that data, on replay, in the replaying
console. A value of any other kind makes the loop fall back to unrolled entries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core import Console

FromRecord = Callable[[dict[str, Any], "Console"], Any]

_KINDS: dict[str, FromRecord] = {}
RECORD_KINDS = _KINDS  # kind -> from_record, for modules that rebuild the values they hold


def register_record_kind(kind: str, from_record: FromRecord) -> None:
    """Let values whose ``to_record()`` gives ``{"kind": kind, ...}`` be rebuilt by
    ``from_record(record, console)``."""
    _KINDS[kind] = from_record


def record_of(value: Any) -> dict[str, Any] | None:
    """``value.to_record()`` when its kind is registered; None when it can't be recorded."""
    to_record = getattr(type(value), "to_record", None)
    if to_record is None:
        return None
    try:
        record = to_record(value)
    except Exception:  # a value that can't say what it is: the loop runs unrolled instead
        return None
    if not isinstance(record, dict) or record.get("kind") not in _KINDS:
        return None
    return record


def from_record(record: dict[str, Any], console: Console) -> Any:
    """The value ``record`` describes, built in ``console``; KeyError for an unknown kind."""
    return _KINDS[record["kind"]](record, console)


def kinds() -> tuple[str, ...]:
    return tuple(_KINDS)
