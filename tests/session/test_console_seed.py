"""The seed notebook typed into the console, cell by cell, shows what the notebook showed."""

from __future__ import annotations

import sys
from pathlib import Path

import gradviz
from gradviz.session.console import Console
from gradviz.session.document import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from seed_cells import ALL_CELLS, normalise, run_cell  # the shared seed parser


def test_every_seed_cell_shows_the_seed_output() -> None:
    s = Session()
    console = Console(s)
    assert len(ALL_CELLS) >= 12
    for code, expected in ALL_CELLS:  # including `import torch`, which the console accepts
        r = console.run(code)
        assert r.ok, f"cell:\n{code}\n{r.text}"
        assert normalise(r.output) == normalise(expected.replace("torch.", "gradviz.")), f"cell:\n{code}"


def test_every_seed_cell_prints_byte_for_byte_what_python_prints() -> None:
    """The notebook text loses blank lines; ``import gradviz as torch`` in plain Python keeps them."""
    console = Console(Session())
    ns: dict = {"torch": gradviz}
    for code, _ in ALL_CELLS:
        got = console.run(code).output
        want = "" if code.strip() == "import torch" else run_cell(code, ns)  # keep ns["torch"] gradviz
        assert got == want, f"cell:\n{code}"


def test_the_seed_session_holds_the_notebook_tensors_and_replays_exactly() -> None:
    s = Session()
    console = Console(s)
    for code, _ in ALL_CELLS:
        console.run(code)
    assert s.names() == ["t1", "t2", "t3", "t4", "x", "w", "b", "y"]
    assert [i for i in s.names(include_hidden=True) if i.startswith("_")] == ["_" + str(s.info("y").uid - 1)]
    assert (
        s.tensor("w").grad.item() == 3.0 and s.tensor("b").grad.item() == 1.0 and s.tensor("x").grad is None
    )
    assert s.info("w").entry.source == "torch.tensor(4., requires_grad=True)"
    fresh = Session()
    fresh.load_entries(s.entries)
    for name in s.names(include_hidden=True):
        a, b = s.tensor(name), fresh.tensor(name)
        assert repr(a) == repr(b)
        assert (a._grad is None) == (b._grad is None)
    # Each cell was one undo step; undoing them all leaves an empty session.
    while s.can_undo:
        s.undo()
    assert s.names(include_hidden=True) == []
