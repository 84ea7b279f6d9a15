"""The examples are package data: `gradviz --example NAME` and `gradviz render --example NAME`
work from any folder and from a wheel, and `gradviz --help` lists them and `render`."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from gradviz import resources

ROOT = Path(__file__).resolve().parents[2]
NAMES = [
    "broadcasting",
    "linear",
    "linear_nn",
    "linear_regression",
    "logistic_regression",
    "mlp",
    "neuron",
    "vanishing_gradients",
    "xor_mlp",
]


def gradviz(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gradviz", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_the_examples_are_found_by_name() -> None:
    assert resources.example_names() == NAMES
    assert resources.example_file("mlp").is_file()
    with pytest.raises(ValueError, match="no example called 'nope'; the examples are: broadcasting"):
        resources.example_file("nope")


def test_help_lists_the_examples_and_render(tmp_path: Path) -> None:
    out = gradviz("--help", cwd=tmp_path).stdout
    assert "--example NAME" in out and "gradviz render" in out
    assert all(n in out.replace("\n", " ") for n in NAMES)
    render_help = gradviz("render", "--help", cwd=tmp_path).stdout
    assert "--example NAME" in render_help and "mlp" in render_help


@pytest.mark.parametrize("name", ["linear", "mlp"])
def test_render_an_example_from_any_folder(tmp_path: Path, name: str) -> None:
    done = gradviz("render", "--example", name, "-o", "out.svg", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "<svg" in (tmp_path / "out.svg").read_text()


def test_render_refuses_an_unknown_example_and_both_inputs(tmp_path: Path) -> None:
    done = gradviz("render", "--example", "nope", "-o", "out.svg", cwd=tmp_path)
    assert done.returncode == 2 and "invalid choice: 'nope'" in done.stderr
    done = gradviz("render", "x.gradviz", "--example", "mlp", "-o", "out.svg", cwd=tmp_path)
    assert done.returncode == 2 and "one of them" in done.stderr


def test_the_window_opens_an_example_by_name(tmp_path: Path) -> None:
    out = tmp_path / "window.png"
    done = gradviz("--screenshot", str(out), "--example", "neuron", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_wheel_carries_the_examples(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("gradviz-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert sorted(Path(n).stem for n in names if n.startswith("gradviz/examples/")) == NAMES
