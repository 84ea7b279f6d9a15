"""Log entries are types: every kind round-trips through the file format field by field, a
damaged field is named with its entry, and the format on disk is the one gradviz wrote before
entries were types (files cross between this code and commit fced62a's, both ways)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gradviz.session import codec, examples
from gradviz.session import fileformat as ff
from gradviz.session.console import Console
from gradviz.session.document import _RUNNERS, Session
from gradviz.session.log import (
    ENTRY_TYPES,
    Backward,
    Delete,
    Leaf,
    Loop,
    Op,
    Rename,
    RetainGrad,
    SetRequiresGrad,
    WriteInPlace,
    ZeroGrad,
    describe,
    same_entry,
)

BEFORE = "fced62a"  # the last commit whose entries were switched on by kind
LIMITS = codec.Limits(2**20, ff.MAX_TOTAL_BYTES)

# One entry of every kind, and every optional field both ways, as one log that checks.
LOG = [
    Leaf(1, "x", np.array([1.0, float("nan"), -0.0], dtype=np.float32), True, "torch.tensor([1., nan, -0.])"),
    Leaf(2, "_2", np.arange(6, dtype=np.int64).reshape(2, 3)),
    Op(3, "y", "mul", (("ref", "x"), ("const", 2.5))),
    Op(4, "_4", "sum", (("ref", "y"),), {"dim": [0], "keepdim": False}, True),
    Op(5, "r", "reshape", (("ref", "_2"),), {"shape": [-1]}),
    Op(6, "z", "index", (("ref", "y"),), {"index": [{"slice": [0, 2, None]}]}),
    Backward("_4", None, True),
    Backward("_4", np.array(2.0, dtype=np.float32)),
    ZeroGrad(None, True),
    ZeroGrad(("x",), False),
    ZeroGrad(("x", "y")),
    RetainGrad("y"),
    SetRequiresGrad("x", False),
    Rename("r", "flat"),
    Delete("flat"),
    WriteInPlace("_2", np.array([[0, 1, 2], [7, 7, 7]], dtype=np.int64)),
    # made in a name scope and a module call (the field is left out of a file when empty)
    Op(
        7,
        "s",
        "mul",
        (("ref", "x"), ("const", 3.0)),
        {},
        False,
        (("block", "", "7.1"), ("m.0", "Linear", "7.2")),
    ),
]


def _a_loop_after(log: list) -> Loop:
    """A console loop typed after ``log``: a Loop entry that replays after it."""
    s = Session()
    s.load_entries(log)
    assert Console(s).run("for k in range(2):\n    q = z * k").ok
    assert isinstance(s.entries[-1], Loop)
    return s.entries[-1]


LOG.append(_a_loop_after(LOG))


def _decode(encoded: list[dict[str, Any]], arrays: dict[str, np.ndarray]) -> list:
    entries, specs = codec.decode_entries(json.loads(json.dumps(encoded)), LIMITS)
    return codec.build(entries, {s.key: arrays[s.key] for s in specs})


def test_the_log_holds_every_kind() -> None:
    assert {type(e) for e in LOG} == set(ENTRY_TYPES.values())
    assert set(_RUNNERS) == set(ENTRY_TYPES.values())  # each kind runs


def test_every_kind_round_trips_field_by_field() -> None:
    arrays: dict[str, np.ndarray] = {}
    encoded = [codec.encode_entry(i, e, arrays) for i, e in enumerate(LOG)]
    for e, raw in zip(LOG, encoded):
        written = [
            f.name
            for f in fields(e)
            if not codec.FIELD_CODECS[f.metadata["json"]].may_be_absent or getattr(e, f.name)
        ]
        assert list(raw) == ["kind", *written]
        assert raw["kind"] == e.kind
    back = _decode(encoded, arrays)
    assert len(back) == len(LOG)
    for a, b in zip(LOG, back):
        assert type(a) is type(b) and same_entry(a, b), (a, b)
        assert describe(a) == describe(b)


def test_every_kind_round_trips_through_a_file() -> None:
    data = ff.to_bytes(LOG, {"selection": ["y"]})
    entries, view = ff.loads(data)
    assert view == {"selection": ["y"]}
    assert all(same_entry(a, b) for a, b in zip(LOG, entries, strict=True))
    s = Session()
    ff.load_into(s, entries, view)  # and it replays
    assert "flat" not in s and s.tensor("z").shape == (2,)


# A value of the wrong type for every kind of field; each message names the entry and field.
@pytest.mark.parametrize("index", range(len(LOG)), ids=lambda i: LOG[i].kind + str(i))
def test_a_damaged_field_names_its_entry_and_field(index: int) -> None:
    arrays: dict[str, np.ndarray] = {}
    encoded = [codec.encode_entry(i, e, arrays) for i, e in enumerate(LOG)]
    for f in fields(LOG[index]):
        damaged = json.loads(json.dumps(encoded))
        damaged[index][f.name] = 12.5
        label = codec.entry_label(index, damaged[index])
        assert label.startswith(f"entry {index + 1} ({LOG[index].kind.split('_')[0]}")
        with pytest.raises(ff.SessionFileError) as info:
            codec.decode_entries(damaged, LIMITS)
        message = str(info.value)
        assert message.startswith(f"session.json: {label}: "), message
        assert f"'{f.name}'" in message or f": {f.name}:" in message, message


def test_damaged_fields_say_what_is_wrong_as_before() -> None:
    cases = {
        (0, "uid"): "session.json: entry 1 (leaf 'x'): 'uid' must be an integer, found a number 12.5",
        (0, "value"): "session.json: entry 1 (leaf 'x'): value: expected an object, found a number",
        (2, "args"): "session.json: entry 3 (op 'mul'): 'args' must be a list, found a number 12.5",
        (
            6,
            "target",
        ): "session.json: entry 7 (backward of '?'): 'target' must be a string, found a number 12.5",
        (
            9,
            "names",
        ): "session.json: entry 10 (zero_grad): 'names' must be null or a list of names, found a number 12.5",
        (13, "new"): "session.json: entry 14 (rename 'r'): 'new' must be a string, found a number 12.5",
    }
    arrays: dict[str, np.ndarray] = {}
    encoded = [codec.encode_entry(i, e, arrays) for i, e in enumerate(LOG)]
    for (i, key), want in cases.items():
        damaged = json.loads(json.dumps(encoded))
        damaged[i][key] = 12.5
        with pytest.raises(ff.SessionFileError) as info:
            codec.decode_entries(damaged, LIMITS)
        assert str(info.value) == want


def test_references_and_parameters_are_checked_where_they_are() -> None:
    arrays: dict[str, np.ndarray] = {}
    encoded = [codec.encode_entry(i, e, arrays) for i, e in enumerate(LOG)]
    damaged = json.loads(json.dumps(encoded))
    damaged[4]["params"] = {"shape": [-1, -1]}
    with pytest.raises(
        ff.SessionFileError, match=r"^session.json: entry 5 \(op 'reshape'\): parameter 'shape'"
    ):
        codec.decode_entries(damaged, LIMITS)
    damaged = json.loads(json.dumps(encoded))
    damaged[11]["name"] = "nope"
    with pytest.raises(
        ff.SessionFileError, match=r"entry 12 \(retain_grad of 'nope'\): name 'nope' is not defined$"
    ):
        codec.decode_entries(damaged, LIMITS)
    damaged = json.loads(json.dumps(encoded))
    damaged[2]["name"] = "_y"  # a named op may not take a hidden name
    with pytest.raises(ff.SessionFileError, match="starts with _, which is reserved"):
        codec.decode_entries(damaged, LIMITS)


def test_the_shipped_examples_load_and_are_written_byte_for_byte_as_before() -> None:
    """gradviz/examples were written by earlier gradviz: they load, and this code writes their
    session.json again to the same bytes."""
    for ex in examples.EXAMPLES:
        path = examples.examples_dir() / f"{ex.name}.gradviz"
        entries, view = ff.load(path)
        with zipfile.ZipFile(path) as zf:
            stored = zf.read(ff.SESSION)
        with zipfile.ZipFile(io.BytesIO(ff.to_bytes(entries, view))) as zf:
            assert zf.read(ff.SESSION) == stored, ex.name


# --- crossing files with the code of commit fced62a --------------------------------------------------
BUILD = """
import numpy as np
from gradviz.session.document import Session

def build():
    s = Session()
    s.add_leaf("a", np.array([[1.5, -0.0], [np.nan, 2.0]], dtype=np.float32), requires_grad=True)
    s.add_leaf("i", np.array([1, 2], dtype=np.int16))
    s.add_leaf("k", 3.0, hidden=True)
    s.apply("mul", ["a", 2.5], name="p")
    s.apply("sum", ["p"], {"dim": [1], "keepdim": True}, name="q")
    s.apply("reshape", ["q"], {"shape": [-1]}, name="f")
    s.apply("index", ["f"], {"index": [{"slice": [0, 1, None]}]}, name="g")
    s.apply("clamp", ["p"], {"min": -1.0}, name="c")
    s.apply("sum", ["g"], name="loss")
    s.retain_grad("p")
    s.backward("loss", retain_graph=True)
    s.backward("f", gradient=np.ones(2, dtype=np.float32), retain_graph=True)
    s.zero_grad(["a"], set_to_none=False)
    s.zero_grad()
    s.rename("c", "c2")
    s.hide("c2")
    s.requires_grad_("i", False)
    s.apply("sum", ["a"], name="tmp")
    s.delete("tmp")
    s.view = {"mode": "autograd", "selection": ["loss"]}
    return s
"""

OLD = (
    BUILD
    + """
import sys
from gradviz.session import fileformat as ff
s = build()
ff.save(s, sys.argv[1])  # what fced62a writes
t = Session()
ff.open_into(t, sys.argv[2])  # what this code wrote: fced62a opens it
assert len(t.entries) == len(s.entries)
from gradviz.session.log import same_entry
assert all(same_entry(a, b) for a, b in zip(s.entries, t.entries))
print("ok", len(t.entries))
"""
)


@pytest.fixture(scope="module")
def old_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = Path(__file__).resolve().parents[2]
    if shutil.which("git") is None:
        pytest.skip("git is needed to check out the old code")
    try:
        archive = subprocess.run(
            ["git", "-C", str(root), "archive", BEFORE, "gradviz"],
            capture_output=True,
            check=True,
            timeout=120,
        ).stdout
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        pytest.skip(f"commit {BEFORE} is not in this repository")
    out = tmp_path_factory.mktemp("old")
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(out, filter="data")
    return out


def test_files_cross_between_this_code_and_fced62a_both_ways(old_tree: Path, tmp_path: Path) -> None:
    scope: dict[str, Any] = {}
    exec(BUILD, scope)
    s: Session = scope["build"]()
    new_file, old_file = tmp_path / "new.gradviz", tmp_path / "old.gradviz"
    ff.save(s, new_file)
    env = {**os.environ, "PYTHONPATH": str(old_tree)}
    run = subprocess.run(
        [sys.executable, "-c", OLD, str(old_file), str(new_file)],
        cwd=old_tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0 and run.stdout.startswith("ok"), run.stderr[-3000:]
    entries, view = ff.load(old_file)  # what fced62a wrote, this code reads
    assert view == s.view
    assert all(same_entry(a, b) for a, b in zip(s.entries, entries, strict=True))
    with zipfile.ZipFile(old_file) as a, zipfile.ZipFile(new_file) as b:
        assert a.read(ff.SESSION) == b.read(ff.SESSION)  # the same bytes on disk
        assert a.read(ff.UNDO) == b.read(ff.UNDO)


def test_an_absent_bias_is_not_stored() -> None:
    """linear's bias may be left out (OpSpec.optional_operands): two operands, or three."""
    from gradviz.session import catalogue
    from gradviz.session.log import operand_counts

    assert operand_counts(catalogue.get("linear")) == (2, 3)
    s = Session()
    s.add_leaf("x", np.ones((2, 3), dtype=np.float32))
    s.add_leaf("w", np.ones((4, 3), dtype=np.float32))
    s.add_leaf("b", np.ones(4, dtype=np.float32))
    s.apply("linear", ["x", "w"], name="y")
    s.apply("linear", ["x", "w", "b"], name="z")
    assert [len(e.args) for e in s.entries[-2:]] == [2, 3]
    entries, _ = ff.loads(ff.to_bytes(s.entries))
    assert [len(e.args) for e in entries[-2:]] == [2, 3]
    arrays: dict[str, np.ndarray] = {}
    encoded = [codec.encode_entry(i, e, arrays) for i, e in enumerate(s.entries)]
    for args in ([["ref", "x"]], [["ref", "x"], ["ref", "w"], ["ref", "b"], ["ref", "b"]]):
        encoded[3]["args"] = args
        with pytest.raises(
            ff.SessionFileError, match=rf"entry 4 \(op 'linear'\): linear can't take {len(args)} operands"
        ):
            codec.decode_entries(encoded, LIMITS)
