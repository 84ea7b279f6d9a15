"""The recent files list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gradviz.session import autosave
from gradviz.session.recent import CAP, RecentFiles, add_recent, recent_files


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    out = []
    for i in range(15):
        p = tmp_path / f"s{i}.gradviz"
        p.write_bytes(b"")
        out.append(p)
    return out


def test_most_recent_first_deduped_and_capped(tmp_path: Path, files: list[Path]) -> None:
    r = RecentFiles(tmp_path / "recent.json")
    assert r.files() == []
    r.add(files[0])
    r.add(files[1])
    r.add(files[0])
    assert r.files() == [files[0], files[1]]
    for f in files:
        r.add(f)
    assert r.files() == list(reversed(files))[:CAP]
    assert len(json.loads((tmp_path / "recent.json").read_text())["files"]) == CAP


def test_missing_files_are_dropped(tmp_path: Path, files: list[Path]) -> None:
    r = RecentFiles(tmp_path / "recent.json", cap=5)
    for f in files[:3]:
        r.add(f)
    files[1].unlink()
    assert r.files() == [files[2], files[0]]
    r.remove(files[2])
    assert r.files() == [files[0]]
    r.clear()
    assert r.files() == []


def test_relative_paths_are_made_absolute(
    tmp_path: Path, files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    r = RecentFiles(tmp_path / "recent.json")
    r.add("s3.gradviz")
    r.add(files[3])
    assert r.files() == [files[3]]


@pytest.mark.parametrize(
    "content", [b"", b"{", b"[1, 2]", b'{"files": "x"}', b'{"files": [1, null, ""]}', b"\xff\xfe"]
)
def test_damaged_list_starts_afresh(tmp_path: Path, files: list[Path], content: bytes) -> None:
    path = tmp_path / "recent.json"
    path.write_bytes(content)
    r = RecentFiles(path)
    assert r.files() == []
    r.add(files[0])
    assert r.files() == [files[0]]


def test_default_location_is_the_data_dir(
    tmp_path: Path, files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(autosave.ENV_VAR, str(tmp_path / "data"))
    add_recent(files[0])
    assert (tmp_path / "data" / "recent.json").exists()
    assert recent_files() == [files[0]]


def test_unwritable_data_dir_is_not_fatal(tmp_path: Path, files: list[Path]) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    r = RecentFiles(blocker / "recent.json")
    r.add(files[0])  # nothing raised
    assert r.files() == []
