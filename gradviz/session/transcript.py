"""The console's transcript: the cells a person ran, as plain text, saved with the session.

A cell is what was typed (``source``) and what came back (printed text, the echoed value, an
error). Cells of kind ``action`` are lines the app ran for the person (a dialog, a toolbar
button) and show as comments. The transcript lives on the session (``Session.transcript``) so
that saving, autosave and recovery carry it; the console widget draws it.
"""

from __future__ import annotations

import ast
from dataclasses import asdict, dataclass, field
from typing import Any

CELL_KINDS = ("code", "action")


@dataclass
class Cell:
    """One run: what was typed and what came back."""

    number: int
    source: str
    printed: str = ""
    result: str | None = None
    error: str | None = None  # "NameError: name 'q' is not defined"
    note: str = ""  # e.g. which line failed in a multi-statement cell
    warnings: list[str] = field(default_factory=list)
    kind: str = "code"  # "code", or "action" for a line recorded by the app's dialogs

    @property
    def ran(self) -> bool:
        """The cell's statements took effect (a failed cell was undone whole)."""
        return self.error is None


def to_plain(cell: Cell) -> dict[str, Any]:
    """The cell as JSON-ready plain data."""
    return asdict(cell)


def code_of(cells: list[Cell]) -> str:
    """The statements of ``cells`` as runnable Python, without prompts or outputs: what Copy
    code puts on the clipboard. Failed cells are left out (nothing of them was kept), and an
    app's line that is not Python stays a comment."""
    return "".join(_statements(c) for c in cells if c.ran)


def _statements(cell: Cell) -> str:
    text = cell.source.rstrip("\n") + "\n"
    return text if cell.kind == "code" or is_python(text) else f"# {text}"


def is_python(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


__all__ = ["CELL_KINDS", "Cell", "code_of", "is_python", "to_plain"]
