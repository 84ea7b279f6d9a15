"""Build gradviz's installers: one command on every platform.

    python packaging/build.py [--out dist] [--skip-deb] [--skip-tar] [--clean]

1. a PyInstaller one-folder bundle from packaging/gradviz.spec -> OUT/gradviz/ (and OUT/gradviz.app
   on macOS);
2. on Linux: OUT/gradviz-VERSION-linux-ARCH.tar.gz (the bundle) and OUT/gradviz_VERSION_ARCH.deb
   (the bundle in /opt/gradviz, the command in /usr/bin, desktop entry, icons, MIME type);
   on Windows: OUT/gradviz-VERSION-setup.exe through Inno Setup (packaging/windows/gradviz.iss), when
   ISCC.exe is on PATH or in its default folder;
   on macOS: OUT/gradviz-VERSION.dmg through packaging/macos/make_dmg.sh.

The version is pyproject.toml's, everywhere. OUT/build-info.json records what was built, the sizes
and the time each step took.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import meta

# What the bundle takes from a Debian system. PyInstaller bundles every other library it links
# (glib, freetype, fontconfig, dbus, xkbcommon, X11 and the rest) but leaves out, on purpose, the
# ones that belong to the machine: the C library, OpenGL/EGL (tied to the graphics driver), libxcb
# and Wayland's client libraries. DESIGN.md's list for Qt is declared as well, so the system keeps
# the libraries' data and configuration (fontconfig-config, fonts, XKB) that the bundled copies read.
DEB_DEPENDS = [
    # Qt offscreen (DESIGN.md)
    "libglib2.0-0",
    "libgl1",
    "libegl1",
    "libxkbcommon0",
    "libfreetype6",
    "libfontconfig1",
    "libdbus-1-3",
    # a real X display: the xcb platform plugin (DESIGN.md)
    "libxcb1",
    "libxcb-cursor0",
    "libxcb-icccm4",
    "libxcb-image0",
    "libxcb-keysyms1",
    "libxcb-render-util0",
    "libxcb-shape0",
    "libxcb-xkb1",
    "libxkbcommon-x11-0",
    # the bundle's fontconfig reads the system's configuration; DejaVu is the UI and export font
    "fontconfig-config",
    "fonts-dejavu-core",
]
# Qt 6 tries Wayland first on a Wayland session and falls back to X (XWayland) if its plugin
# cannot load, so these make it native there but are not required.
DEB_RECOMMENDS = ["libwayland-client0", "libwayland-cursor0", "libwayland-egl1"]


def log(msg: str) -> None:
    print(f"build: {msg}", flush=True)


def run(cmd: list[str], **kw) -> None:
    log("$ " + " ".join(str(c) for c in cmd))
    subprocess.run([str(c) for c in cmd], check=True, **kw)


def dir_size(path: Path) -> int:
    """Bytes of every file under ``path`` (symlinks not followed)."""
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


# --- 0. the version ---------------------------------------------------------------------------------


def check_metadata(version: str) -> None:
    """The bundle takes gradviz.__version__ from the installed package's metadata; make sure that
    metadata is pyproject.toml's version (an editable install made before a version bump is not)."""
    code = "import importlib.metadata as m; print(m.version('gradviz'))"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=meta.PACKAGING)
    if found.returncode == 0 and found.stdout.strip() == version:
        return
    log(
        f"installed gradviz metadata says {found.stdout.strip() or 'nothing'}, pyproject.toml says {version}: reinstalling"
    )
    run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "-e", str(meta.ROOT)])


# --- 1. the bundle ----------------------------------------------------------------------------------


def build_bundle(out: Path, work: Path, clean: bool) -> Path:
    for f in [
        meta.ICONS / f"{meta.APP_ID}.svg",
        meta.ICONS / f"{meta.APP_ID}.ico",
        meta.ICONS / f"{meta.APP_ID}.icns",
    ]:
        if not f.is_file():
            sys.exit(f"build: {f} is missing (run python packaging/make_icons.py)")
    cmd = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--log-level",
        "WARN",
        "--distpath",
        out,
        "--workpath",
        work / "pyinstaller",
        meta.PACKAGING / "gradviz.spec",
    ]
    if clean:
        cmd.insert(4, "--clean")
    run(cmd)
    bundle = out / meta.APP_ID
    exe = bundle / (f"{meta.APP_ID}.exe" if sys.platform == "win32" else meta.APP_ID)
    if not exe.is_file():
        sys.exit(f"build: PyInstaller made no {exe}")
    return bundle


# --- 2. Linux: tarball and .deb -----------------------------------------------------------------------


def _tar_filter(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    if info.isfile():
        info.mode = 0o755 if info.mode & 0o111 else 0o644
    elif info.isdir():
        info.mode = 0o755
    return info


def build_tarball(bundle: Path, out: Path, version: str, arch: str) -> Path:
    """The bundle as gradviz-VERSION/ in a .tar.gz, with the desktop files beside it."""
    name = f"{meta.APP_ID}-{version}-linux-{arch}"
    path = out / f"{name}.tar.gz"
    log(f"writing {path.name}")
    with tarfile.open(path, "w:gz", compresslevel=6) as tar:
        tar.add(bundle, arcname=name, filter=_tar_filter)
        linux = meta.PACKAGING / "linux"
        tar.add(linux / "README-tarball.txt", arcname=f"{name}/README.txt", filter=_tar_filter)
        tar.add(linux / "install-desktop.sh", arcname=f"{name}/install-desktop.sh", filter=_tar_filter)
    return path


def glibc_floor(root: Path) -> str:
    """The newest GLIBC_x.y symbol version any ELF file under ``root`` asks for."""
    best = (2, 17)
    pattern = re.compile(rb"GLIBC_(2\.\d+)(?:\.\d+)?\x00")
    for p in root.rglob("*"):
        if not p.is_file() or p.is_symlink():
            continue
        with open(p, "rb") as f:
            if f.read(4) != b"\x7fELF":
                continue
            data = f.read()
        for m in pattern.finditer(data):
            best = max(best, tuple(int(n) for n in m.group(1).split(b".")))
    return ".".join(map(str, best))


def deb_control(version: str, arch: str, installed_kb: int, libc: str) -> str:
    desc = "\n".join(" " + (line if line.strip() else ".") for line in meta.DESCRIPTION.splitlines())
    return (
        f"Package: {meta.APP_ID}\n"
        f"Version: {meta.deb_version(version)}\n"
        f"Architecture: {arch}\n"
        f"Maintainer: {meta.MAINTAINER}\n"
        f"Installed-Size: {installed_kb}\n"
        f"Depends: libc6 (>= {libc}), {', '.join(DEB_DEPENDS)}\n"
        f"Recommends: {', '.join(DEB_RECOMMENDS)}\n"
        "Section: science\n"
        "Priority: optional\n"
        f"Homepage: {meta.HOMEPAGE}\n"
        f"Description: {meta.SUMMARY}\n"
        f"{desc}\n"
    )


def _copyright() -> str:
    return (
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
        f"Upstream-Name: {meta.APP_ID}\n"
        f"Source: {meta.HOMEPAGE}\n"
        "\n"
        "Files: *\n"
        "Copyright: gradviz developers\n"
        "License: MIT\n"
        "\n"
        "Files: opt/gradviz/_internal/*\n"
        "Copyright: the authors of each bundled component\n"
        "License: various\n"
        " /opt/gradviz/_internal holds a Python runtime (PSF License), Qt 6 and PySide6 (LGPL-3.0,\n"
        " linked dynamically: the libraries can be replaced in place), numpy, Pillow, networkx,\n"
        " cmap, fpdf2, fontTools and graphviz-pure (MIT and BSD-style licenses; see the\n"
        " *.dist-info folders and graphviz-pure's NOTICE for each one's terms).\n"
        "\n"
        "License: MIT\n"
        " Permission is hereby granted, free of charge, to any person obtaining a copy of this\n"
        ' software and associated documentation files (the "Software"), to deal in the Software\n'
        " without restriction, including without limitation the rights to use, copy, modify,\n"
        " merge, publish, distribute, sublicense, and/or sell copies of the Software, and to\n"
        " permit persons to whom the Software is furnished to do so, subject to the following\n"
        " conditions:\n"
        " .\n"
        " The above copyright notice and this permission notice shall be included in all copies\n"
        " or substantial portions of the Software.\n"
        " .\n"
        ' THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,\n'
        " INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A\n"
        " PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT\n"
        " HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF\n"
        " CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR\n"
        " THE USE OR OTHER DEALINGS IN THE SOFTWARE.\n"
    )


def _normalise_modes(root: Path) -> None:
    for p in root.rglob("*"):
        if p.is_symlink():
            continue
        if p.is_dir():
            p.chmod(0o755)
        else:
            p.chmod(0o755 if p.stat().st_mode & 0o111 else 0o644)


def build_deb(bundle: Path, out: Path, work: Path, version: str, arch: str) -> Path:
    """The .deb: /opt/gradviz (the bundle), /usr/bin/gradviz, and the desktop integration."""
    stage = work / "deb" / f"{meta.APP_ID}_{meta.deb_version(version)}_{arch}"
    if stage.exists():
        shutil.rmtree(stage)
    log(f"staging the .deb in {stage}")
    opt = stage / "opt" / meta.APP_ID
    shutil.copytree(bundle, opt, symlinks=True)
    usr = stage / "usr"
    (usr / "bin").mkdir(parents=True)
    (usr / "bin" / meta.APP_ID).symlink_to(Path("..", "..", "opt", meta.APP_ID, meta.APP_ID))
    share = usr / "share"
    (share / "applications").mkdir(parents=True)
    shutil.copy2(meta.RESOURCES / f"{meta.APP_ID}.desktop", share / "applications" / f"{meta.APP_ID}.desktop")
    (share / "mime" / "packages").mkdir(parents=True)
    shutil.copy2(
        meta.RESOURCES / f"{meta.APP_ID}-mime.xml", share / "mime" / "packages" / f"{meta.APP_ID}.xml"
    )
    mime_icon = meta.MIME_TYPE.replace("/", "-")  # application-x-gradviz
    hicolor = share / "icons" / "hicolor"
    for size in meta.ICON_SIZES:
        for kind, name in (("apps", meta.APP_ID), ("mimetypes", mime_icon)):
            d = hicolor / f"{size}x{size}" / kind
            d.mkdir(parents=True, exist_ok=True)
            shutil.copy2(meta.ICONS / f"{meta.APP_ID}-{size}.png", d / f"{name}.png")
    for kind, name in (("apps", meta.APP_ID), ("mimetypes", mime_icon)):
        d = hicolor / "scalable" / kind
        d.mkdir(parents=True, exist_ok=True)
        shutil.copy2(meta.ICONS / f"{meta.APP_ID}.svg", d / f"{name}.svg")
    doc = share / "doc" / meta.APP_ID
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(_copyright())
    changelog = (
        f"{meta.APP_ID} ({meta.deb_version(version)}) unstable; urgency=medium\n\n"
        f"  * Release {version}.\n\n"
        f" -- {meta.MAINTAINER}  {time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime())}\n"
    )
    (doc / "changelog.gz").write_bytes(gzip.compress(changelog.encode(), mtime=0))
    _normalise_modes(stage)

    debian = stage / "DEBIAN"
    debian.mkdir()
    sums = []
    for p in sorted(stage.rglob("*")):
        if p.is_file() and not p.is_symlink() and debian not in p.parents:
            sums.append(f"{hashlib.md5(p.read_bytes()).hexdigest()}  {p.relative_to(stage).as_posix()}")
    (debian / "md5sums").write_text("\n".join(sums) + "\n")
    installed_kb = (dir_size(stage) + 1023) // 1024
    (debian / "control").write_text(deb_control(version, arch, installed_kb, glibc_floor(opt)))
    # No maintainer scripts: dpkg's triggers (shared-mime-info, desktop-file-utils,
    # hicolor-icon-theme) refresh the MIME, desktop and icon caches after install and removal.
    _normalise_modes(debian)
    (debian / "md5sums").chmod(0o644)
    (debian / "control").chmod(0o644)

    path = out / f"{meta.APP_ID}_{meta.deb_version(version)}_{arch}.deb"
    run(["dpkg-deb", "--root-owner-group", "-Zxz", "-z6", "--build", stage, path])
    return path


# --- 3. Windows and macOS -----------------------------------------------------------------------------


def find_iscc() -> str | None:
    found = shutil.which("iscc") or shutil.which("ISCC")
    if found:
        return found
    for base in (os.environ.get("PROGRAMFILES(X86)"), os.environ.get("PROGRAMFILES")):
        if base and (Path(base) / "Inno Setup 6" / "ISCC.exe").is_file():
            return str(Path(base) / "Inno Setup 6" / "ISCC.exe")
    return None


def build_windows_installer(bundle: Path, out: Path, version: str) -> Path | None:
    iscc = find_iscc()
    if iscc is None:
        log(
            "Inno Setup's ISCC.exe not found: no setup.exe (install Inno Setup 6, or: choco install innosetup)"
        )
        return None
    run(
        [
            iscc,
            f"/DAppVersion={version}",
            f"/DAppVersionNumeric={meta.windows_version(version)}",
            f"/DBundleDir={bundle.resolve()}",
            f"/DOutputDir={out.resolve()}",
            f"/DIconFile={(meta.ICONS / f'{meta.APP_ID}.ico').resolve()}",
            meta.PACKAGING / "windows" / "gradviz.iss",
        ]
    )
    return out / f"{meta.APP_ID}-{version}-setup.exe"


def build_dmg(out: Path, version: str) -> Path:
    app = out / f"{meta.APP_ID}.app"
    dmg = out / f"{meta.APP_ID}-{version}-macos-{platform.machine()}.dmg"
    run(["bash", meta.PACKAGING / "macos" / "make_dmg.sh", app, dmg])
    return dmg


# --- main ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(meta.ROOT / "dist"), help="output folder (default: dist)")
    parser.add_argument("--work", default=str(meta.ROOT / "build"), help="scratch folder (default: build)")
    parser.add_argument("--skip-deb", action="store_true", help="Linux: no .deb")
    parser.add_argument("--skip-tar", action="store_true", help="Linux: no .tar.gz")
    parser.add_argument("--clean", action="store_true", help="empty PyInstaller's cache first")
    args = parser.parse_args(argv)

    out, work = Path(args.out).resolve(), Path(args.work).resolve()
    out.mkdir(parents=True, exist_ok=True)
    version = meta.version()
    info: dict = {"version": version, "platform": sys.platform, "python": platform.python_version()}
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    log(f"gradviz {version} on {sys.platform} ({platform.machine()})")
    check_metadata(version)
    bundle = build_bundle(out, work, args.clean)
    timings["bundle"] = time.perf_counter() - t0
    info["bundle"] = {"path": str(bundle), "bytes": dir_size(bundle)}
    log(f"bundle: {bundle} ({mb(info['bundle']['bytes'])}) in {timings['bundle']:.0f} s")

    artifacts: dict[str, Path] = {}
    if sys.platform.startswith("linux"):
        arch = (
            subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
            if shutil.which("dpkg")
            else platform.machine()
        )
        if not args.skip_tar:
            t = time.perf_counter()
            artifacts["tarball"] = build_tarball(bundle, out, version, platform.machine())
            timings["tarball"] = time.perf_counter() - t
        if not args.skip_deb:
            if shutil.which("dpkg-deb") is None:
                sys.exit("build: dpkg-deb not found (apt-get install dpkg-dev, or pass --skip-deb)")
            t = time.perf_counter()
            artifacts["deb"] = build_deb(bundle, out, work, version, arch)
            timings["deb"] = time.perf_counter() - t
    elif sys.platform == "win32":
        setup = build_windows_installer(bundle, out, version)
        if setup:
            artifacts["setup"] = setup
    elif sys.platform == "darwin":
        artifacts["dmg"] = build_dmg(out, version)

    for kind, path in artifacts.items():
        info[kind] = {"path": str(path), "bytes": path.stat().st_size}
        log(f"{kind}: {path} ({mb(path.stat().st_size)})")
    info["seconds"] = {k: round(v, 1) for k, v in timings.items()}
    (out / "build-info.json").write_text(json.dumps(info, indent=2) + "\n")
    log(f"done in {time.perf_counter() - t0:.0f} s; {out / 'build-info.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
