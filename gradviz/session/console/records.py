"""Console values that can be written as plain data: ``kind`` -> the function that rebuilds one.

A module or an optimiser of the console gives ``to_record()`` (a JSON-able dict with a "kind",
naming its tensors by their session names); ``RECORD_KINDS[record["kind"]](record, console)``
makes the value again, so a log entry can hold one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

RECORD_KINDS: dict[str, Callable[..., Any]] = {}


def register_record_kind(kind: str, fn: Callable[..., Any]) -> None:
    RECORD_KINDS[kind] = fn
