"""`gradviz render FILE.gradviz -o OUT` draws a saved session headless, and refuses bad files."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "gradviz" / "examples"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gradviz", "render", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("example", ["linear", "mlp"])
def test_render_a_saved_session_to_svg(example: str, tmp_path: Path) -> None:
    out = tmp_path / f"{example}.svg"
    result = run(str(EXAMPLES / f"{example}.gradviz"), "-o", str(out))
    assert result.returncode == 0, result.stderr
    root = ET.parse(out).getroot()
    assert root.tag.endswith("svg")
    text = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    assert "loss" in text if example == "mlp" else "y" in text.split()


def test_a_corrupt_session_file_gives_one_line_and_a_nonzero_exit(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gradviz"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip")
    result = run(str(bad), "-o", str(tmp_path / "x.svg"))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad.gradviz" in lines[0] and "error" in lines[0]
    assert not (tmp_path / "x.svg").exists()
