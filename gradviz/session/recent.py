"""The recent files list: ``recent.json`` in the data directory, most recent first."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from .autosave import data_dir
from .fileformat import write_atomic

CAP = 10
FILE = "recent.json"


class RecentFiles:
    """Most recent first, each file once, at most ``cap``; files that are gone are dropped."""

    def __init__(self, path: str | os.PathLike[str] | None = None, cap: int = CAP) -> None:
        self.path = Path(path) if path is not None else data_dir() / FILE
        self.cap = cap

    def _read(self) -> list[str]:
        try:
            with open(self.path, "rb") as f:
                data = json.loads(f.read(1024 * 1024).decode("utf-8"))
        except (OSError, ValueError):
            return []  # missing or damaged: start afresh rather than fail
        files = data.get("files") if isinstance(data, dict) else None
        if not isinstance(files, list):
            return []
        return [f for f in files if isinstance(f, str) and f]

    def _write(self, files: list[str]) -> None:
        with contextlib.suppress(OSError):  # a read-only home must not stop the app
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, json.dumps({"version": 1, "files": files}, indent=1).encode("utf-8"))

    def files(self) -> list[Path]:
        """The recent files that still exist, most recent first."""
        out: list[Path] = []
        seen: set[str] = set()
        for f in self._read():
            if f not in seen and os.path.isfile(f):
                seen.add(f)
                out.append(Path(f))
        return out[: self.cap]

    def add(self, path: str | os.PathLike[str]) -> None:
        """Record ``path`` as the most recent file."""
        p = os.path.abspath(os.fspath(path))
        files = [p] + [f for f in self._read() if f != p and os.path.isfile(f)]
        self._write(files[: self.cap])

    def remove(self, path: str | os.PathLike[str]) -> None:
        p = os.path.abspath(os.fspath(path))
        self._write([f for f in self._read() if f != p])

    def clear(self) -> None:
        self._write([])


def recent_files() -> list[Path]:
    return RecentFiles().files()


def add_recent(path: str | os.PathLike[str]) -> None:
    RecentFiles().add(path)


__all__ = ["CAP", "RecentFiles", "add_recent", "recent_files"]
