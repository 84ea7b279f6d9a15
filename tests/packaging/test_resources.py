"""gradviz.resources finds the data files in a source tree and inside a PyInstaller bundle; the
packaging files agree with each other (fast: no build)."""

from __future__ import annotations

import configparser
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gradviz import resources

ROOT = Path(__file__).resolve().parents[2]


def test_source_tree_paths() -> None:
    assert not resources.frozen()
    assert resources.resources_dir() == ROOT / "resources"
    assert (resources.examples_dir() / "linear.gradviz").is_file()
    assert resources.icon_file() == ROOT / "resources" / "icons" / "gradviz.svg"
    assert resources.icon_file(20).name == "gradviz-24.png"
    assert resources.icon_file(4096).name == "gradviz-512.png"
    assert [p.name for p in resources.icon_files()] == [f"gradviz-{s}.png" for s in resources.ICON_SIZES]
    assert resources.bundled_dot() is None


def test_bundle_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside a bundle everything is under sys._MEIPASS, where gradviz.spec puts it."""
    (tmp_path / "bin").mkdir()
    dot = tmp_path / "bin" / "graphviz-pure"
    dot.write_text("#!/bin/sh\n")
    dot.chmod(0o755)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resources.frozen()
    # The examples are package data: the bundle keeps them in the package's folder.
    assert resources.examples_dir() == ROOT / "gradviz" / "examples"
    assert resources.icon_file() is None and resources.icon_files() == []
    assert resources.bundled_dot() == str(dot)


def test_icons_match_their_svg() -> None:
    sys.path.insert(0, str(ROOT / "packaging"))
    try:
        import make_icons

        assert make_icons.main(["--check"]) == 0
    finally:
        sys.path.remove(str(ROOT / "packaging"))
    for name in ("gradviz.ico", "gradviz.icns"):
        assert (ROOT / "resources" / "icons" / name).stat().st_size > 10_000


def test_desktop_entry_and_mime_type_agree() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(ROOT / "resources" / "gradviz.desktop")
    d = entry["Desktop Entry"]
    assert d["Exec"] == "gradviz %f" and d["Icon"] == resources.APP_ID
    assert resources.MIME_TYPE in d["MimeType"].split(";")
    ns = "{http://www.freedesktop.org/standards/shared-mime-info}"
    t = ET.parse(ROOT / "resources" / "gradviz-mime.xml").getroot().find(f"{ns}mime-type")
    assert t is not None and t.get("type") == resources.MIME_TYPE
    assert [g.get("pattern") for g in t.findall(f"{ns}glob")] == ["*.gradviz"]


def test_one_version() -> None:
    """pyproject.toml's version is the package's (what --version, About and the .deb show)."""
    import gradviz

    sys.path.insert(0, str(ROOT / "packaging"))
    try:
        import meta
    finally:
        sys.path.remove(str(ROOT / "packaging"))
    assert gradviz.__version__ == meta.version()
    assert meta.deb_version("1.2rc1") == "1.2~rc1" and meta.windows_version("1.2.3") == "1.2.3.0"
