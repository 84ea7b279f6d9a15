"""A saved session keeps the learner's work besides the log: the console transcript and the undo
history, within the file's bounds; old files open, and a damaged part is left out with a message."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from gradviz.session import fileformat as ff
from gradviz.session import limits
from gradviz.session.console import Console
from gradviz.session.document import Session
from gradviz.session.transcript import Cell, code_of


def typed(*sources: str) -> Session:
    """A session in which each source was typed in the console, transcript kept as the GUI keeps it."""
    s = Session()
    console = Console(s)
    for i, src in enumerate(sources, 1):
        r = console.run(src)
        error = f"{r.error_type}: {r.error}" if r.error else None
        s.transcript.append(Cell(i, src, r.printed, r.result, error))
    return s


SEED = (
    "x = torch.tensor(3.)",
    "w = torch.tensor([4., 1.], requires_grad=True)",
    "y = (w * x).sum()",
    "print(y)",
    "y.backward()",
    "w.grad",
)


def rewrite(path: Path, **members: bytes | None) -> None:
    """Replace (bytes) or remove (None) members of the zip at ``path``."""
    with zipfile.ZipFile(path) as zf:
        old = {n: zf.read(n) for n in zf.namelist()}
    for name, data in members.items():
        if data is None:
            old.pop(name.replace("_", "."), None)
        else:
            old[name.replace("_", ".")] = data
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, d in old.items():
            zf.writestr(n, d)
    path.write_bytes(out.getvalue())


def member(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read(name)


def test_transcript_and_undo_round_trip(tmp_path: Path) -> None:
    s = typed(*SEED)
    s.set_leaf_value("x", 5.0)  # a history edit: the undo step before it holds the old leaf
    path = tmp_path / "s.gradviz"
    ff.save(s, path)
    t = Session()
    ff.open_into(t, path)
    assert [c.source for c in t.transcript] == list(SEED)
    assert [(c.printed, c.result) for c in t.transcript] == [(c.printed, c.result) for c in s.transcript]
    assert t.transcript[3].printed == "tensor(15., grad_fn=<SumBackward0>)\n"
    assert [label for _, _, label in t.undo_steps()] == [label for _, _, label in s.undo_steps()]
    assert t.undo_label == "edit x" and not t.can_redo and not t.dirty
    t.undo()  # the last step before the save
    assert t.tensor("x").item() == 3.0 and t.tensor("w").grad.tolist() == [3.0, 3.0]
    t.undo()  # y.backward()
    assert t.tensor("w").grad is None
    while t.can_undo:
        t.undo()
    assert t.names() == []
    t.redo()
    assert t.names() == ["x"]


def test_an_old_file_without_the_new_parts_opens(tmp_path: Path) -> None:
    s = typed(*SEED)
    path = tmp_path / "old.gradviz"
    path.write_bytes(ff.to_bytes(s.entries, s.view))  # what gradviz wrote before: three members
    manifest = json.loads(member(path, ff.MANIFEST))
    rewrite(path, manifest_json=json.dumps({**manifest, "format_version": 1}).encode())
    assert sorted(zipfile.ZipFile(path).namelist()) == sorted(ff.MEMBERS)
    doc = ff.load_document(path)
    assert doc.transcript == [] and doc.undo == [] and doc.problems == []
    t = typed("q = torch.ones(2)")
    ff.open_into(t, path)
    assert t.names() == ["x", "w", "y"] and t.transcript == [] and not t.can_undo


def test_the_writer_keeps_the_newest_steps_and_cells_within_the_bounds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = typed(*(f"a{i} = torch.full((1000,), {i}.)" for i in range(12)))
    monkeypatch.setattr(limits, "MAX_UNDO_STEPS", 5)
    monkeypatch.setattr(limits, "MAX_TRANSCRIPT_CELLS", 3)
    path = tmp_path / "s.gradviz"
    ff.save(s, path)
    doc = ff.load_document(path)
    assert [c.source for c in doc.transcript] == [f"a{i} = torch.full((1000,), {i}.)" for i in (9, 10, 11)]
    assert [label for _, _, label in doc.undo] == [label for _, _, label in s.undo_steps()[-5:]]
    # the undo memory bound: after a delete, the older steps hold arrays the log no longer does
    s.delete("a11")
    s.delete("a10")
    # room for one array: "delete a10" holds a10's, the step before it a11's too
    monkeypatch.setattr(limits, "UNDO_MEMORY", 4000 + limits.NPY_OVERHEAD + 100)
    ff.save(s, path)
    assert [label for _, _, label in ff.load_document(path).undo] == ["delete a10"]


def test_the_reader_refuses_more_steps_than_the_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = typed(*SEED)
    path = tmp_path / "s.gradviz"
    ff.save(s, path)
    monkeypatch.setattr(limits, "MAX_UNDO_STEPS", 3)
    doc = ff.load_document(path)
    assert doc.undo == [] and doc.transcript  # the rest still loads
    assert doc.problems == [
        f"its undo history could not be read and was left out ({ff.UNDO}: {len(s.undo_steps())} steps, "
        "more than the 3 kept)"
    ]


@pytest.mark.parametrize(
    ("part", "data", "needle"),
    [
        ("transcript.json", b"{not json", "console transcript could not be read and was left out (transcript.json: invalid JSON"),
        ("transcript.json", json.dumps({"cells": [{"number": 1}]}).encode(), "transcript.json: cell 1: missing field 'source'"),
        ("transcript.json", json.dumps({"cells": [{"number": 1, "source": "x", "kind": "evil"}]}).encode(), "kind \"evil\""),
        ("undo.json", json.dumps({"pool": [], "steps": [{"entries": [[0, 99]], "next_uid": 1, "label": "x"}]}).encode(), "undo.json: step 1: run [0, 99] is outside"),
        ("undo.json", json.dumps({"pool": [], "steps": [{"entries": [[2, 3]], "next_uid": 1, "label": "x"}]}).encode(), "undo.json: step 1: entry 1 (op 'mul'): operand 'w' is not defined"),
        ("undo.json", json.dumps({"pool": [{"kind": "leaf", "uid": 1, "name": "__import__", "value": 1, "requires_grad": False, "source": ""}], "steps": []}).encode(), "(leaf '__import__'): value: expected an object"),
        ("undo.npz", b"garbage", "undo.npz: not a .npz archive"),
        ("undo.npz", None, "undo.npz is missing beside it"),
    ],
    ids=["transcript-json", "transcript-field", "transcript-kind", "undo-range", "undo-refs", "undo-pool", "undo-npz", "undo-npz-missing"],
)  # fmt: skip
def test_a_damaged_part_is_left_out_and_the_rest_opens(
    tmp_path: Path, part: str, data: bytes | None, needle: str
) -> None:
    s = typed(*SEED)
    s.delete("y")  # a step that is not a prefix of the live log, with an entry only undo holds
    path = tmp_path / "s.gradviz"
    ff.save(s, path)
    rewrite(path, **{part.replace(".", "_"): data})
    t = typed("keep = torch.zeros(1)")
    ff.open_into(t, path)
    assert t.names() == ["x", "w"]
    doc = ff.load_document(path)
    assert len(doc.problems) == 1 and needle in doc.problems[0], doc.problems
    if part.startswith("undo"):
        assert not t.can_undo and [c.source for c in t.transcript] == list(SEED)
    else:
        assert t.transcript == [] and t.undo_label == "delete y"


def test_a_damaged_log_still_refuses_the_file_and_leaves_the_session(tmp_path: Path) -> None:
    s = typed(*SEED)
    path = tmp_path / "s.gradviz"
    ff.save(s, path)
    rewrite(path, session_json=b"{}")
    t = typed("keep = torch.zeros(1)")
    with pytest.raises(ff.SessionFileError, match="missing field"):
        ff.open_into(t, path)
    assert t.names() == ["keep"] and [c.source for c in t.transcript] == ["keep = torch.zeros(1)"]


def test_copy_code_is_the_statements_of_the_cells_that_ran() -> None:
    s = typed("a = torch.ones(2)", "b = nope * 2", "a.sum()\nprint(a)")
    s.transcript.append(Cell(3, "a.backward()", kind="action"))
    s.transcript.append(Cell(3, "every .grad = None  (zero grads)", kind="action"))
    assert code_of(s.transcript) == (
        "a = torch.ones(2)\na.sum()\nprint(a)\na.backward()\n# every .grad = None  (zero grads)\n"
    )
