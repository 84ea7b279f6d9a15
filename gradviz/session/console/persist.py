"""The console's modules and optimisers kept with the session, so that opening it gives back
``model`` and ``opt`` (their tensors are the log's; only what ties them together is kept here).

After each run the records of the modules and optimisers bound to names (``records``) are put
in ``session.view["console"]``, which the file saves; ``restore`` makes them again when a
session is opened. A record that does not fit the session's log (a stranger's file, a tensor
since deleted) is left out: nothing of it runs but the console's own checked code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .records import RECORD_KINDS
from .values import ConsoleError, ObjectValue

if TYPE_CHECKING:
    from .core import Console

VIEW_KEY = "console"
MAX_OBJECTS = 64  # records read back from a file


def remember(console: Console) -> None:
    """Put the records of the console's modules and optimisers in the session's view."""
    records: dict[str, Any] = {}
    for name, value in console.variables.items():
        to_record = getattr(type(value), "to_record", None) if isinstance(value, ObjectValue) else None
        if to_record is None:
            continue
        try:
            records[name] = to_record(value)
        except (ConsoleError, KeyError, RuntimeError):  # its tensors are gone (undone, deleted)
            continue
    if records:
        console.session.view[VIEW_KEY] = records
    else:
        console.session.view.pop(VIEW_KEY, None)


def restore(console: Console) -> list[str]:
    """Make the recorded modules and optimisers again, as console variables; their names."""
    records = console.session.view.get(VIEW_KEY)
    if not isinstance(records, dict):
        return []
    made = []
    for name, record in list(records.items())[:MAX_OBJECTS]:
        if not (isinstance(name, str) and name.isidentifier() and not name.startswith("_")):
            continue
        make = RECORD_KINDS.get(record.get("kind")) if isinstance(record, dict) else None
        if make is None or not isinstance(record.get("kind"), str):
            continue
        try:
            value = make(record, console)
        except Exception:  # a record that does not fit this session: left out
            continue
        console.variables[name] = value
        made.append(name)
    return made
