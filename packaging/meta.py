"""What every packaging script agrees on: names, paths and the one version (pyproject.toml's)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
RESOURCES = ROOT / "resources"
ICONS = RESOURCES / "icons"
EXAMPLES = ROOT / "gradviz" / "examples"  # package data

APP_ID = "gradviz"  # command, desktop entry, icon name, bundle folder
APP_NAME = "gradviz"
BUNDLE_ID = "org.gradviz.gradviz"  # macOS CFBundleIdentifier; reverse-DNS, stable across releases
MIME_TYPE = "application/x-gradviz"
UTI = "org.gradviz.session"  # macOS Uniform Type Identifier of a .gradviz file
SUFFIX = ".gradviz"
SUMMARY = "See autograd at work: watch a computation graph colour itself by gradient"
DESCRIPTION = (
    "gradviz is a desktop application for seeing autograd at work. Create tensors, combine them,\n"
    "call backward(), and watch the dynamic computation graph grow and light up with its\n"
    "gradients. It speaks PyTorch's language on its own numpy engine and opens .gradviz sessions."
)
MAINTAINER = "gradviz developers <gradviz@users.noreply.github.com>"
HOMEPAGE = "https://github.com/gradviz/gradviz"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def version() -> str:
    """``[project] version`` from pyproject.toml: the only place the version is written."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        m = re.search(r'(?ms)^\[project\].*?^version\s*=\s*"([^"]+)"', text)
        if not m:
            raise RuntimeError("no [project] version in pyproject.toml") from None
        return m.group(1)
    return tomllib.loads(text)["project"]["version"]


def deb_version(v: str | None = None) -> str:
    """A PEP 440 version as Debian orders it: ``1.0rc1`` -> ``1.0~rc1`` (pre-releases sort first)."""
    v = v or version()
    v = re.sub(r"(?<=\d)(a|b|rc)(\d+)", r"~\1\2", v)
    return v.replace(".dev", "~dev")


def windows_version(v: str | None = None) -> str:
    """Four dotted numbers for Windows file and installer metadata (``0.1.0`` -> ``0.1.0.0``)."""
    nums = [int(n) for n in re.findall(r"\d+", (v or version()).split("+")[0])[:4]]
    return ".".join(str(n) for n in (nums + [0, 0, 0, 0])[:4])
