"""The seed notebook, split into cells: shared by the engine's and the console's seed tests.

The notebook text (a copy of shared/seed/) is split into cells; ``run_cell`` runs one as IPython
would (stdout, then the repr of a trailing expression).
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
from pathlib import Path

SEED = Path(__file__).resolve().parent / "data" / "seed_notebook.txt"
CELL = re.compile(r"^In \[(\d*| )\]:\n", re.M)


def parse_cells(text: str) -> list[tuple[str, str]]:
    """(code, printed output) for each cell; output runs until the next prose paragraph."""
    parts = CELL.split(text)[1:]
    cells = []
    for i in range(0, len(parts), 2):
        body = parts[i + 1]
        blocks = re.split(r"\n\s*\n", body.strip("\n"), maxsplit=1)
        code = blocks[0]
        rest = blocks[1] if len(blocks) > 1 else ""
        # The printed output is the run of lines that look like output (tensor reprs, dtypes,
        # 'dy/dx:' lines) before the notebook's prose resumes.
        out_lines = []
        for para in re.split(r"\n\s*\n", rest):
            if re.match(r"^(tensor|torch\.|dy/d|\s)", para) or para.startswith("        ["):
                out_lines.append(para)
            else:
                break
        cells.append((code, "\n".join(out_lines)))
    return cells


def run_cell(code: str, ns: dict) -> str:
    out = io.StringIO()
    tree = ast.parse(code)
    last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    body = tree.body[:-1] if last else tree.body
    with contextlib.redirect_stdout(out):
        exec(compile(ast.Module(body=body, type_ignores=[]), "<cell>", "exec"), ns)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), ns)
            if value is not None:
                print(repr(value))
    return out.getvalue()


def normalise(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines() if line.strip())


ALL_CELLS = parse_cells(SEED.read_text())
