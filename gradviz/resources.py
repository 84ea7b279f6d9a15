"""Where gradviz's data files are, in a source tree and inside a PyInstaller bundle.

A source tree keeps them in ``resources/`` beside the ``gradviz`` package. A bundle built by
``packaging/gradviz.spec`` copies that folder to ``resources/`` inside the bundle's data folder
(``sys._MEIPASS``), and the Graphviz binary to ``bin/`` beside it. No Qt here: every layer may ask.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_ID = "gradviz"  # the desktop entry's name, the icon's name, the MIME type's icon
MIME_TYPE = "application/x-gradviz"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def frozen() -> bool:
    """Whether this is a PyInstaller bundle rather than Python running a source tree or a wheel."""
    return bool(getattr(sys, "frozen", False)) and hasattr(sys, "_MEIPASS")


def bundle_dir() -> Path | None:
    """The bundle's data folder (``sys._MEIPASS``), or None when not frozen."""
    return Path(sys._MEIPASS) if frozen() else None


def resources_dir() -> Path:
    """The ``resources`` folder: inside the bundle when frozen, else beside the package."""
    base = bundle_dir()
    if base is not None:
        return base / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def examples_dir() -> Path:
    """The shipped example sessions (``*.gradviz``): package data, so a wheel has them too
    (the bundle keeps the package's folder layout)."""
    return Path(__file__).resolve().parent / "examples"


def example_names() -> list[str]:
    """The shipped examples, by name (``gradviz --example NAME``)."""
    return sorted(p.stem for p in examples_dir().glob("*.gradviz"))


def example_file(name: str) -> Path:
    """The file of the shipped example ``name``; ValueError names the ones there are."""
    path = examples_dir() / f"{name}.gradviz"
    if name not in example_names():
        raise ValueError(f"no example called {name!r}; the examples are: {', '.join(example_names())}")
    return path


def icon_file(size: int | None = None) -> Path | None:
    """The app icon: the SVG source when ``size`` is None, else the nearest PNG at least that
    large (the largest there is otherwise). None when the icons are not there (a wheel install)."""
    icons = resources_dir() / "icons"
    if size is None:
        svg = icons / f"{APP_ID}.svg"
        return svg if svg.is_file() else None
    pngs = sorted((s, p) for s in ICON_SIZES if (p := icons / f"{APP_ID}-{s}.png").is_file())
    if not pngs:
        return None
    return next((p for s, p in pngs if s >= size), pngs[-1][1])


def icon_files() -> list[Path]:
    """Every PNG size of the app icon there is, smallest first (for a multi-size window icon)."""
    icons = resources_dir() / "icons"
    return [p for s in ICON_SIZES if (p := icons / f"{APP_ID}-{s}.png").is_file()]


def bundled_dot() -> str | None:
    """The Graphviz-compatible binary shipped inside the bundle, or None outside one."""
    base = bundle_dir()
    if base is None:
        return None
    for name in ("graphviz-pure", "graphviz-pure.exe"):
        path = base / "bin" / name
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    return None
