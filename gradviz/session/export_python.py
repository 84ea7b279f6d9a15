"""File › Export as Python: the console's transcript as a script that runs under ``import torch``.

The console speaks PyTorch's language, so each cell that ran is written as typed; the value the
console echoed after a cell (``Out [n]:``) is printed with ``show()``, as IPython shows it (its
repr, nothing for None). What the app did through its dialogs and toolbar is in the transcript
as Python too (``y.backward()``, ``w.grad = None``); a cell that failed was undone whole, so it
stays a comment, as does an app line that is not Python.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from .transcript import Cell, is_python

HEADER = '''\
# Exported from gradviz: the console's cells, in order. Run it with PyTorch: python {name}
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

gradviz = torch  # the console's other name for torch

def show(value):
    """What the console echoed after a cell: the value's repr (nothing for None), as IPython does."""
    if value is not None:
        print(repr(value))

'''


# ``gradviz.name_scope`` is gradviz's own; PyTorch's name scope is record_function.
NAME_SCOPE = "gradviz.name_scope = torch.profiler.record_function  # gradviz's name for it\n"


def script(cells: Iterable[Cell], name: str = "session.py") -> str:
    """The Python script of a transcript (``name`` is the file it is saved as, for its header)."""
    cells = list(cells)
    parts = [HEADER.format(name=name)]
    if any("name_scope" in c.source for c in cells):
        parts[0] += NAME_SCOPE
    for cell in cells:
        parts.append(_cell_code(cell))
    return "\n".join(parts)


def _cell_code(cell: Cell) -> str:
    if cell.kind == "action":
        body = cell.source.rstrip("\n")
        return body + "\n" if is_python(body) else _commented(body)
    if not cell.ran:
        return f"# In [{cell.number}] failed ({cell.error}); nothing of it was kept:\n" + _commented(
            cell.source
        )
    source = cell.source.rstrip("\n")
    return f"# In [{cell.number}]\n" + (_echoed(source) if cell.result is not None else source) + "\n"


def _commented(text: str) -> str:
    return "".join(f"# {line}\n" for line in text.split("\n"))


def _echoed(source: str) -> str:
    """``source`` with its last statement, an expression whose value the console showed,
    wrapped in ``show(...)``."""
    last = ast.parse(source).body[-1]
    if not isinstance(last, ast.Expr):
        return source
    lines = source.split("\n")
    # ast offsets are in UTF-8 bytes within a line
    start = len(lines[last.lineno - 1].encode()[: last.col_offset].decode())
    end = len(lines[last.end_lineno - 1].encode()[: last.end_col_offset].decode())
    before = "\n".join(lines[: last.lineno - 1] + [lines[last.lineno - 1][:start]])
    after = lines[last.end_lineno - 1][end:]
    expr = ast.get_source_segment(source, last.value)
    return f"{before}show(({expr})){after}" + "".join("\n" + x for x in lines[last.end_lineno :])


__all__ = ["HEADER", "script"]
