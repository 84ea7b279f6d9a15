"""Find a Graphviz ``dot`` to run, in the order DESIGN.md sets.

1. ``GRADVIZ_DOT`` (a path or a command name): the user's explicit choice;
2. the ``graphviz-pure`` wheel: a dot-compatible binary that pip installs;
3. a system ``dot`` on PATH;
4. none: the caller uses the built-in layered layout.

Each candidate is probed once by laying out a two-node graph, so a broken or foreign binary is
skipped rather than trusted. ``graphviz.version()`` is never called: it cannot parse
graphviz-pure's ``-V`` line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

ENV_VAR = "GRADVIZ_DOT"
BUILTIN = "builtin"
PROVIDERS = (ENV_VAR, "graphviz-pure", "system dot", BUILTIN)

_PROBE = b"digraph{a->b}"
_PROBE_TIMEOUT = 10.0
_probed: dict[tuple[str, float], bool] = {}


def _executable(candidate: str | None) -> str | None:
    """An absolute path for a command name or path, or None when there is nothing runnable."""
    if not candidate:
        return None
    found = shutil.which(candidate)
    # Absolute, but symlinks kept: Debian's /usr/bin/dot links to a program that acts as dot
    # only when called by that name.
    return os.path.abspath(found) if found else None


def _pure_binary() -> str | None:
    """The wheel's own binary, located through its RECORD.

    Going through the distribution rather than PATH finds it in a venv that is not activated and
    skips shims (pyenv's add ~60 ms a call).
    """
    try:
        dist = metadata.distribution("graphviz-pure")
    except metadata.PackageNotFoundError:
        dist = None
    names = {"graphviz-pure", "graphviz-pure.exe"}
    for f in (dist.files or []) if dist else []:
        if f.name in names:
            path = os.path.abspath(dist.locate_file(f))
            if os.path.isfile(path) and os.access(path, os.X_OK):
                return path
    return _executable("graphviz-pure")


def candidates() -> list[tuple[str, str]]:
    """Every (path, provider) that exists, in order of preference, before any probing."""
    out: list[tuple[str, str]] = []
    env = os.environ.get(ENV_VAR, "").strip()
    for path, provider in (
        (_executable(env), ENV_VAR),
        (_pure_binary(), "graphviz-pure"),
        (_executable("dot"), "system dot"),
    ):
        if path and path not in (p for p, _ in out):
            out.append((path, provider))
    return out


def works(path: str) -> bool:
    """Whether ``path`` lays out a tiny graph; cached per file version, so an edit is noticed."""
    try:
        key = (path, os.stat(path).st_mtime)
    except OSError:
        return False
    if key not in _probed:
        try:
            run = subprocess.run([path, "-Tplain"], input=_PROBE, capture_output=True, timeout=_PROBE_TIMEOUT)
            _probed[key] = run.returncode == 0 and run.stdout.startswith(b"graph ")
        except (OSError, subprocess.SubprocessError):
            _probed[key] = False
    return _probed[key]


def working_candidates() -> list[tuple[str, str]]:
    """The candidates that pass the probe, best first."""
    return [(p, name) for p, name in candidates() if works(p)]


def find_dot() -> tuple[str | None, str]:
    """(path, provider) of the first working dot, or (None, 'builtin')."""
    for path, provider in working_candidates():
        return path, provider
    return None, BUILTIN


def configure_python_graphviz() -> tuple[str | None, str]:
    """Point the ``graphviz`` package at the binary :func:`find_dot` picks, so ``Digraph.pipe``
    and ``render`` use it even where no ``dot`` is on PATH. Returns what :func:`find_dot` returned.
    """
    path, provider = find_dot()
    if path is not None:
        from graphviz.backend import dot_command

        dot_command.DOT_BINARY = Path(path)
    return path, provider


if __name__ == "__main__":  # `python -m gradviz.graph.dot_binary`: say what would be used
    print(*find_dot(), sep="\t", file=sys.stdout)
