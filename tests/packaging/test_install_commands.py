"""The README's set-up commands stay true: their apt lines bring every library Qt's xcb platform
plugin links to, and `.ci/run` runs the README's test command as written."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def command(heading: str) -> str:
    """The line after ``# <heading>`` in the README (as .ci/run reads it)."""
    lines = README.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(f"# {heading}"):
            return lines[i + 1]
    raise AssertionError(f"README.md has no '# {heading}' command")


def apt_packages(cmd: str) -> list[str]:
    m = re.match(r"sudo apt-get install -y ([^&]+)&&", cmd)
    assert m, f"the command does not start with an apt-get line: {cmd[:80]}"
    return m.group(1).split()


def test_both_commands_use_a_virtual_environment_and_the_same_libraries() -> None:
    app, tests = command("Run the app"), command("Run the tests")
    for cmd in (app, tests):
        assert "python3 -m venv .venv" in cmd and ".venv/bin/pip install" in cmd
        assert "python3 -m pip install" not in cmd  # Debian 12 refuses it outside a venv
    assert set(apt_packages(app)) <= set(apt_packages(tests))
    assert tests.endswith(".venv/bin/python -m pytest -q") and app.endswith(".venv/bin/gradviz")


def test_ci_runs_the_readme_test_command_as_written() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    extract = re.search(r"cmd=\$\((awk .+ README\.md)\)", script)
    assert extract, ".ci/run no longer reads its command from README.md"
    got = subprocess.run(
        ["bash", "-c", extract.group(1)], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert got.stdout.strip() == command("Run the tests")
    assert 'bash -c "$cmd"' in script
    assert not re.search(r"^\s*(python3?|pip3?|pytest)\b", script, re.M)  # nothing installed or run beside it


def _qxcb() -> Path:
    import PySide6

    return Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"


def _owner(path: str) -> str | None:
    for p in dict.fromkeys(
        [path, os.path.realpath(path), "/usr" + path if not path.startswith("/usr") else path]
    ):
        done = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
        if done.returncode == 0:
            return done.stdout.split(":", 1)[0].strip()
    return None


@pytest.mark.skipif(shutil.which("dpkg") is None or shutil.which("ldd") is None, reason="needs Debian's dpkg")
def test_the_apt_line_brings_every_library_the_xcb_plugin_links_to() -> None:
    plugin = _qxcb()
    assert plugin.is_file()
    ldd = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, check=True).stdout
    wheel = str(plugin.parents[3])
    missing = [line.split()[0] for line in ldd.splitlines() if "not found" in line]
    assert not missing, (
        f"libqxcb.so needs {', '.join(sorted(set(missing)))}, which are not installed: the README's apt "
        "line must name the packages that bring them"
    )
    named = apt_packages(command("Run the app"))
    closure = subprocess.run(
        ["apt-cache", "depends", "--recurse", "--installed", "--no-recommends", "--no-suggests",
         "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", *named],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    brought = {line.strip() for line in closure.splitlines() if not line.startswith(" ")}
    libs = [m.group(1) for m in re.finditer(r"=> (/\S+)", ldd) if not m.group(1).startswith(wheel)]
    unnamed = {}
    for lib in libs:
        owner = _owner(lib)
        assert owner is not None, f"no Debian package owns {lib}"
        owner = owner.split(",")[0]
        if owner in brought:
            continue
        priority = subprocess.run(
            ["dpkg-query", "-W", "-f=${Priority}", owner], capture_output=True, text=True
        ).stdout
        if priority not in ("required", "important"):  # on every Debian system
            unnamed[lib] = owner
    assert not unnamed, f"the README's apt line brings no package for: {unnamed}"
