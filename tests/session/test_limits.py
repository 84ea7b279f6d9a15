"""What gradviz writes, gradviz can read: one table of limits for the session, the writer and
the reader; uids that never run out; only regular files opened; saving through a symlink; any
exception in a replay a clean refusal, in the CLI too."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gradviz.session import fileformat as ff
from gradviz.session import limits
from gradviz.session.console import Console
from gradviz.session.document import Session, SessionError
from gradviz.session.log import Leaf, Op

# One console input per limit of the reader. Each is refused in the console, naming the limit.
OVER_THE_LIMIT = {
    "source": ("x = torch.tensor([" + ",".join(["1."] * 4000) + "])", "10,000 characters"),
    "name": (f"{'a' * 201} = torch.tensor(1.)", "200 characters"),
    "leaf dims": ("x = torch.ones(" + ",".join(["1"] * 33) + ")", "more than 32"),
    "nested leaf dims": ("x = torch.tensor(" + "[" * 33 + "1." + "]" * 33 + ")", "more than 32"),
    "cat operands": ("a = torch.ones(1)\nx = torch.cat([" + ",".join(["a"] * 1025) + "])", "1,024"),
    "shape param": ("a = torch.ones(1)\nx = a.reshape(" + ",".join(["1"] * 33) + ")", "more than 32"),
    "index items": ("a = torch.ones(1)\nx = a[" + ",".join(["None"] * 33) + "]", "more than 32"),
    "slice bound": ("a = torch.ones(3)\nx = a[:2**70]", "64 bits"),
    "float param": ("a = torch.ones(3)\nx = a.clamp(min=2**70)", "64 bits"),
    "int constant": ("a = torch.ones(3)\nx = a * 2**64", "64 bits"),
    "gradient dims": (
        "a = torch.ones(" + ",".join(["1"] * 32) + ", requires_grad=True)\n"
        "b = a.unsqueeze(0)\nb.backward(torch.ones(" + ",".join(["1"] * 33) + "))",
        "more than 32",
    ),
}


@pytest.mark.parametrize("case", sorted(OVER_THE_LIMIT))
def test_the_console_refuses_what_a_file_cannot_hold(case: str) -> None:
    source, figure = OVER_THE_LIMIT[case]
    s = Session()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = Console(s).run(source)
    assert r.error is not None, f"{case}: accepted"
    assert figure in r.error and ".gradviz file" in r.error, r.error
    assert s.entries == ()  # the cell was undone whole


@pytest.mark.parametrize(
    "source",
    [
        "x = torch.tensor([" + ",".join(["1."] * 3000) + "])",  # 9,000 characters of source
        f"{'a' * 200} = torch.tensor(1.)",
        "x = torch.ones(" + ",".join(["1"] * 32) + ")",
        "a = torch.ones(1)\nx = torch.cat([" + ",".join(["a"] * 1024) + "])",
        "a = torch.ones(3)\nx = a[: 2**63 - 1]\ny = a * (2**63 - 1)\nz = a * -(2**63)",
    ],
    ids=["source", "name", "dims", "operands", "int64"],
)
def test_at_the_limit_saves_and_opens(source: str, tmp_path: Path) -> None:
    s = Session()
    r = Console(s).run(source)
    assert r.error is None, r.error
    ff.save(s, tmp_path / "edge.gradviz")
    t = Session()
    ff.open_into(t, tmp_path / "edge.gradviz")
    assert sorted(t.names()) == sorted(s.names())


def test_set_param_and_edits_are_checked_too() -> None:
    s = Session()
    s.add_leaf("a", np.ones(3, np.float32))
    s.apply("clamp", ["a"], {"min": 0.0}, name="b")
    with pytest.raises(SessionError, match="64 bits"):
        s.set_param("b", "min", 2**70)
    assert s.entries[1].params == {"min": 0.0}


def _leaf(uid: int, name: str, value: Any, source: str = "") -> Leaf:
    return Leaf(uid, name, np.asarray(value), False, source)


@pytest.mark.parametrize(
    "entries",
    [
        [_leaf(1, "x", [1.0], source="s" * (limits.MAX_SOURCE + 1))],
        [_leaf(1, "x" * (limits.MAX_NAME + 1), [1.0])],
        [_leaf(1, "x", np.ones((1,) * (limits.MAX_NDIM + 1)))],
        [_leaf(limits.MAX_UID + 1, "x", [1.0])],
        [_leaf(1, "x", [1.0]), Op(2, "y", "mul", (("ref", "x"), ("const", 2**63)), {}, False)],
        [_leaf(1, "x", [1.0]), Op(2, "y", "cat", (("ref", "x"),) * (limits.MAX_OPERANDS + 1), {}, False)],
    ],
    ids=["source", "name", "dims", "uid", "int", "operands"],
)
def test_the_writer_refuses_what_the_reader_would(entries: list) -> None:
    with pytest.raises(ff.SessionFileError, match="can't save"):
        ff.to_bytes(entries)


def test_the_writer_drops_a_stale_selection() -> None:
    s = Session()
    s.add_leaf("x", 1.0)
    _, view = ff.loads(ff.to_bytes(s.entries, {"selection": ["x", "gone"]}))
    assert view["selection"] == ["x"]


def test_session_json_and_array_totals(monkeypatch: pytest.MonkeyPatch) -> None:
    """Totals over the whole log: the file's session.json and its arrays."""
    monkeypatch.setattr(ff, "MAX_SESSION_BYTES", 40_000)
    monkeypatch.setattr(ff, "_SESSION_RESERVE", 0)
    s = Session()
    c = Console(s)
    n = 0
    with pytest.raises(SessionError, match=r"bytes of session\.json"):
        for n in range(100):
            s.add_leaf(f"x{n}", 1.0, source="s" * 5000)
    assert 4 <= n <= 8
    # What was accepted is exactly what fits: the real file is within the cap.
    data = ff.to_bytes(s.entries)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert len(zf.read(ff.SESSION)) <= 40_000
    monkeypatch.setattr(limits, "MAX_ARRAY_BYTES", 10_000)
    monkeypatch.setattr(ff.table, "MAX_ARRAY_BYTES", 10_000)
    r = c.run("big = torch.ones(2000, dtype=torch.float64)")
    assert r.error is not None and "arrays" in r.error, r.error


def test_the_tally_follows_undo_and_compaction() -> None:
    """The running totals are recounted when the log is replaced, not only appended to."""
    s = Session()
    for i in range(5):
        s.add_leaf(f"x{i}", np.ones(100, np.float32))
    s.undo()
    s.undo()
    s.add_leaf("y", 1.0)
    t = ff._tallies[s]
    sizes = [ff._entry_sizes(i, e) for i, e in enumerate(s.entries)]
    assert t.n == len(s.entries) - 1 or t.n == len(s.entries)
    assert t.array_bytes <= sum(a for _, _, a in sizes)
    with zipfile.ZipFile(io.BytesIO(ff.to_bytes(s.entries))) as zf:
        real = len(zf.read(ff.SESSION))
    assert sum(j for _, j, _ in sizes) >= real - 100  # an upper bound of each entry's share


# --- uids ---------------------------------------------------------------------------------------
def test_next_free_uid() -> None:
    assert limits.next_free_uid([]) == 1
    assert limits.next_free_uid([3, 7]) == 8
    top = limits.MAX_UID
    got = limits.next_free_uid([1, 2, top, top - 5, 10**30])
    assert got > 2 and all(got + k not in (top, top - 5) for k in range(2**20))
    got = limits.next_free_uid([top])
    assert got < top - 2**40


def _with_hidden(hidden: str, first_uid: int | None) -> bytes:
    s = Session()
    Console(s).run("x = torch.tensor([1., 2.], requires_grad=True)\ny = x * 2\ny = y + 1")
    data = ff.to_bytes(s.entries, s.view)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        doc = json.loads(zf.read(ff.SESSION))
        members = {n: zf.read(n) for n in ff.MEMBERS}
    old = next(e["new"] for e in doc["entries"] if e["kind"] == "rename")
    text = json.dumps(doc).replace(f'"{old}"', f'"{hidden}"')
    doc = json.loads(text)
    if first_uid is not None:
        doc["entries"][0]["uid"] = first_uid
    members[ff.SESSION] = json.dumps(doc).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    return out.getvalue()


@pytest.mark.parametrize(
    "hidden", ["_99999999999999999999", f"_{2**53}", f"_{2**53 - 1}", f"_{2**52}", "_" + "9" * 199]
)
@pytest.mark.parametrize("first_uid", [None, 2**53, 2**53 - 3])
def test_extreme_hidden_ids_load_edit_save_and_load(hidden: str, first_uid: int | None) -> None:
    entries, view = ff.loads(_with_hidden(hidden, first_uid))
    s = Session()
    ff.load_into(s, entries, view)
    r = Console(s).run("y = y * 3\nz = torch.tensor(2.) * y\nz = z + 1\nz.sum().backward()")
    assert r.error is None, r.error
    again, view = ff.loads(ff.to_bytes(s.entries, s.view))  # the next save reloads
    t = Session()
    ff.load_into(t, again, view)
    assert sorted(t.names()) == sorted(s.names())


# --- only regular files -------------------------------------------------------------------------
def _refused_quickly(path: Path) -> str:
    """load(path) in a thread: it must answer (with a refusal) within a few seconds."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            ff.load(path)
        except ff.SessionFileError as e:
            out["error"] = str(e)
        except BaseException as e:  # pragma: no cover - reported below
            out["other"] = e

    th = threading.Thread(target=run, daemon=True)
    th.start()
    th.join(10)
    assert not th.is_alive(), f"load({path}) hangs"
    assert "other" not in out, out
    return out["error"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.gradviz"
    os.mkfifo(fifo)
    assert "named pipe" in _refused_quickly(fifo)
    link = tmp_path / "to-pipe.gradviz"
    link.symlink_to(fifo)
    assert "named pipe" in _refused_quickly(link)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_link_to_dev_zero_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "zero.gradviz"
    link.symlink_to("/dev/zero")
    assert "device" in _refused_quickly(link)
    with pytest.raises(ff.SessionFileError, match="device"):
        ff.read_manifest(link)


def test_a_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "dir.gradviz"
    folder.mkdir()
    assert "folder" in _refused_quickly(folder)


def test_a_link_to_a_regular_file_opens(tmp_path: Path) -> None:
    s = Session()
    s.add_leaf("x", 1.0)
    ff.save(s, tmp_path / "real.gradviz")
    link = tmp_path / "link.gradviz"
    link.symlink_to(tmp_path / "real.gradviz")
    entries, _ = ff.load(link)
    assert [e.name for e in entries] == ["x"]


def test_saving_through_a_symlink_updates_its_target(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    target = tmp_path / "store" / "real.gradviz"
    s = Session()
    s.add_leaf("x", 1.0)
    ff.save(s, target)
    link = tmp_path / "link.gradviz"
    link.symlink_to(target)
    s.add_leaf("y", 2.0)
    ff.save(s, link)
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert [e.name for e in ff.load(target)[0]] == ["x", "y"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # nothing left beside


# --- exceptions in a replay -----------------------------------------------------------------------
def _odd_file(tmp_path: Path) -> Path:
    """uint8 plus -1: the writer takes it (it does not replay), the replay raises OverflowError."""
    entries = [
        Leaf(1, "a", np.array([1], np.uint8), False, ""),
        Op(2, "b", "add", (("ref", "a"), ("const", -1)), {}, False),
    ]
    path = tmp_path / "odd.gradviz"
    path.write_bytes(ff.to_bytes(entries))
    return path


def test_an_engine_exception_in_a_replay_is_a_refusal_naming_the_entry(tmp_path: Path) -> None:
    path = _odd_file(tmp_path)
    s = Session()
    s.add_leaf("keep", 1.0)
    for opener in (ff.open_into, lambda s, p: ff.load_into(s, *ff.prepare(s, p))):
        with pytest.raises(ff.SessionFileError, match=r"entry 2 .*b = add") as e:
            opener(s, path)
        assert "OverflowError" in str(e.value) or "out of bounds" in str(e.value)
        assert not e.value.internal
        assert s.names() == ["keep"]


def _cli(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "gradviz", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )


def test_the_cli_refuses_an_odd_replay_without_a_traceback(tmp_path: Path) -> None:
    path = _odd_file(tmp_path)
    r = _cli("render", str(path), "-o", str(tmp_path / "out.svg"), tmp_path=tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert "entry 2" in r.stderr
    r = _cli("--screenshot", str(tmp_path / "shot.png"), str(path), tmp_path=tmp_path)
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr
    assert "entry 2" in r.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_the_cli_refuses_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.gradviz"
    os.mkfifo(fifo)
    r = _cli("render", str(fifo), "-o", str(tmp_path / "out.svg"), tmp_path=tmp_path)
    assert r.returncode == 1 and "named pipe" in r.stderr, r.stderr
