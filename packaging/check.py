"""Build the Linux installers and prove them: install the .deb into a clean root and run it there.

    python packaging/check.py [--out build/check] [--skip-build]

Steps (each one reported as passed, failed or skipped, all of them run even after a failure):

1. ``packaging/build.py`` builds the bundle, the .tar.gz and the .deb;
2. sizes stay within the budgets below;
3. the .deb's metadata (version from pyproject.toml, Depends) and contents (command, desktop entry,
   icons, MIME type) are right; the desktop entry and MIME XML are valid and the MIME database
   built from the package maps ``*.gradviz`` to application/x-gradviz;
4. ``dpkg --root`` installs it into an empty root (dependencies forced: the root has no system;
   ``apt-get install --simulate`` checks separately that Debian can satisfy them), and every
   library the installed bundle loads from outside itself belongs to a declared dependency;
5. the installed ``gradviz``, run with an empty PATH (so no system Graphviz), no GRADVIZ_DOT, a
   fresh HOME and QT_QPA_PLATFORM=offscreen: prints the version; renders an example session to
   SVG and PNG, laid out by the bundled graphviz-pure (its SVG equals the source tree's with
   graphviz-pure); screenshots the main window with the seed example open; refuses corrupt
   session files with a one-line error and exit status 1;
6. the same window on a real X server (Xvfb) through the xcb plugin, when xvfb-run is there;
7. the tarball's ``gradviz`` runs where it is unpacked;
8. ``dpkg --root -r`` removes every file again.

It ends with ``packaging: N passed, N failed, N skipped`` and exits 1 if anything failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build
import meta

# Size budgets, with ~20% headroom over gradviz 0.1.0 (measured: bundle 249 MB, .deb 72 MB,
# .tar.gz 99 MB). The bundle is: Qt 6 (QtCore/Gui/Widgets + plugins) 86 MB, of which ICU's
# data alone is 31 MB; numpy 42 MB (28 of them OpenBLAS); the Python runtime 37 MB; Pillow 19 MB;
# graphviz-pure 13 MB; fontTools (for fpdf2's PDF export) 7 MB; the rest (networkx, cmap, system
# libraries, gradviz itself) about 45 MB. Growing past a budget means a new dependency or a Qt
# module got in: look at it before raising the number.
BUNDLE_BUDGET_MB = 300
DEB_BUDGET_MB = 90
TARBALL_BUDGET_MB = 120

SEED_EXAMPLE = "linear"  # the seed notebook's y = w*x + b
RENDER_EXAMPLES = ("linear", "mlp")


class Checks:
    def __init__(self) -> None:
        self.results: list[tuple[str, str, str]] = []  # (status, name, detail)

    def record(self, status: str, name: str, detail: str = "") -> None:
        self.results.append((status, name, detail))
        mark = {"passed": "ok  ", "failed": "FAIL", "skipped": "skip"}[status]
        print(f"check: [{mark}] {name}" + (f": {detail}" if detail else ""), flush=True)

    def ok(self, cond: bool, name: str, detail: str = "") -> bool:
        self.record("passed" if cond else "failed", name, detail)
        return cond

    def skip(self, name: str, why: str) -> None:
        self.record("skipped", name, why)

    def count(self, status: str) -> int:
        return sum(1 for s, _, _ in self.results if s == status)

    def summary(self) -> int:
        """The closing line (CI reads it) and the exit status."""
        print(
            f"packaging: {self.count('passed')} passed, {self.count('failed')} failed, {self.count('skipped')} skipped"
        )
        return 1 if self.count("failed") else 0


def clean_env(tmp: Path, **extra: str) -> dict[str, str]:
    """What a fresh desktop user's process has, minus every PATH entry: no system Graphviz, no
    GRADVIZ_DOT, a HOME and data folder of its own, offscreen Qt."""
    home = tmp / "home"
    empty = tmp / "empty-path"
    for d in (home, empty, tmp / "runtime", tmp / "data"):
        d.mkdir(parents=True, exist_ok=True)
    (tmp / "runtime").chmod(0o700)
    env = {
        "HOME": str(home),
        "PATH": str(empty),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "XDG_RUNTIME_DIR": str(tmp / "runtime"),
        "GRADVIZ_DATA_DIR": str(tmp / "data"),
        "QT_QPA_PLATFORM": "offscreen",
    }
    env.update(extra)
    return env


def run_app(
    exe: Path, args: list[str], env: dict[str, str], timeout: float = 180
) -> tuple[int, str, str, float]:
    t = time.perf_counter()
    p = subprocess.run([str(exe), *args], env=env, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr, time.perf_counter() - t


def png_ok(path: Path, min_size: tuple[int, int] = (50, 50)) -> tuple[bool, str]:
    from PIL import Image

    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            colours = len(im.resize((160, 100)).getcolors(maxcolors=160 * 100) or ())
            ok = im.width >= min_size[0] and im.height >= min_size[1] and colours > 8
            return ok, f"{im.width}x{im.height}, {colours} colours in a 160x100 thumbnail"
    except OSError as e:
        return False, str(e)


def svg_ok(path: Path) -> tuple[bool, str]:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        return False, str(e)
    shapes = sum(1 for el in root.iter() if el.tag.split("}")[-1] in ("rect", "path", "polygon", "ellipse"))
    texts = sum(1 for el in root.iter() if el.tag.split("}")[-1] == "text")
    ok = root.tag.split("}")[-1] == "svg" and shapes > 3 and texts > 3
    return ok, f"{shapes} shapes, {texts} texts"


def corrupt_files(d: Path) -> dict[str, Path]:
    """Session files that must be refused: garbage, a truncated session, a foreign zip."""
    d.mkdir(parents=True, exist_ok=True)
    out = {}
    out["garbage"] = d / "garbage.gradviz"
    out["garbage"].write_bytes(b"this is not a gradviz session\x00\xff" * 20)
    seed = (meta.EXAMPLES / f"{SEED_EXAMPLE}.gradviz").read_bytes()
    out["truncated"] = d / "truncated.gradviz"
    out["truncated"].write_bytes(seed[: len(seed) // 2])
    out["wrong manifest"] = d / "wrong-manifest.gradviz"
    with zipfile.ZipFile(out["wrong manifest"], "w") as zf:
        zf.writestr("manifest.json", json.dumps({"format": "not-gradviz", "version": 99}))
        zf.writestr("session.json", "{")
    return out


def host_package_closure(packages: list[str]) -> set[str]:
    """The packages given plus, transitively, the installed packages they depend on."""
    seen: set[str] = set()
    todo = list(packages)
    while todo:
        pkg = todo.pop()
        if pkg in seen:
            continue
        seen.add(pkg)
        p = subprocess.run(
            ["dpkg-query", "-W", "-f=${Depends},${Pre-Depends}", pkg], capture_output=True, text=True
        )
        if p.returncode != 0:
            continue
        for alt in p.stdout.split(","):
            for name in alt.split("|"):
                name = name.strip().split(" ")[0].split(":")[0]
                if name:
                    todo.append(name)
    return seen


def soname_package(soname: str) -> str:
    """Debian's name for the package of a library soname: libxcb-icccm.so.4 -> libxcb-icccm4."""
    m = re.match(r"(lib[\w.+-]+?)\.so\.(\d+)", soname)
    if not m:
        return soname
    name, n = m.group(1).lower(), m.group(2)
    return f"{name}-{n}" if name[-1].isdigit() else f"{name}{n}"


def external_libraries(bundle: Path) -> dict[str, str | None]:
    """Every library that the bundle's ELF files load from outside the bundle: soname -> path (None:
    not found on this machine). The bundle's own folder comes first, as it does at run time."""
    internal = bundle / "_internal"
    env = dict(os.environ, LD_LIBRARY_PATH=str(internal))
    out: dict[str, str | None] = {}
    for p in bundle.rglob("*"):
        if not p.is_file() or p.is_symlink():
            continue
        with open(p, "rb") as f:
            if f.read(4) != b"\x7fELF":
                continue
        res = subprocess.run(["ldd", str(p)], capture_output=True, text=True, env=env)
        for line in res.stdout.splitlines():
            if "=>" not in line:
                continue
            soname, _, rest = line.strip().partition(" => ")
            target = rest.split(" (")[0].strip()
            if target == "not found":
                out.setdefault(soname, None)
            elif not Path(target).resolve().is_relative_to(bundle.resolve()):
                out[soname] = target
    return out


def owner_package(path: str) -> str | None:
    for candidate in (path, str(Path(path).resolve())):
        for variant in (
            candidate,
            candidate.replace("/usr/lib/", "/lib/", 1),
            candidate.replace("/lib/", "/usr/lib/", 1),
        ):
            p = subprocess.run(["dpkg", "-S", variant], capture_output=True, text=True)
            if p.returncode == 0:
                return p.stdout.split(":")[0].strip()
    return None


def check_deb_metadata(c: Checks, deb: Path, version: str) -> None:
    def field(name: str) -> str:
        return subprocess.run(
            ["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True
        ).stdout.strip()

    c.ok(field("Version") == meta.deb_version(version), "deb Version is pyproject's", field("Version"))
    depends = field("Depends")
    missing = [p for p in build.DEB_DEPENDS if p not in depends]
    c.ok(
        not missing and "libc6 (>=" in depends,
        "deb Depends declares the system libraries",
        ", ".join(missing) or f"{depends.count(',') + 1} packages",
    )
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True).stdout
    wanted = [
        "./opt/gradviz/gradviz",
        "./usr/bin/gradviz -> ../../opt/gradviz/gradviz",
        "./usr/share/applications/gradviz.desktop",
        "./usr/share/mime/packages/gradviz.xml",
        "./usr/share/icons/hicolor/scalable/apps/gradviz.svg",
        "./usr/share/doc/gradviz/copyright",
        *[f"./usr/share/icons/hicolor/{s}x{s}/apps/gradviz.png" for s in meta.ICON_SIZES],
        *[f"./usr/share/icons/hicolor/{s}x{s}/mimetypes/application-x-gradviz.png" for s in meta.ICON_SIZES],
        "./opt/gradviz/_internal/bin/graphviz-pure",
        "./opt/gradviz/_internal/gradviz/examples/linear.gradviz",
    ]
    absent = [w for w in wanted if w not in listing]
    c.ok(
        not absent,
        "deb holds the command, desktop entry, icons, MIME type, Graphviz and examples",
        ", ".join(absent),
    )


def check_desktop_integration(c: Checks, root: Path, tmp: Path) -> None:
    desktop = root / "usr/share/applications/gradviz.desktop"
    text = desktop.read_text()
    entries = dict(
        line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#")
    )
    ok = (
        text.startswith("[Desktop Entry]")
        and entries.get("Type") == "Application"
        and entries.get("Exec", "").split()[0] == "gradviz"
        and "%f" in entries.get("Exec", "")
        and (root / "usr/bin" / entries.get("TryExec", "?")).exists()
        and meta.MIME_TYPE in entries.get("MimeType", "").split(";")
        and (root / f"usr/share/icons/hicolor/48x48/apps/{entries.get('Icon')}.png").is_file()
    )
    c.ok(ok, "desktop entry: runs gradviz %f, declares application/x-gradviz, icon installed")
    validator = shutil.which("desktop-file-validate")
    if validator:
        p = subprocess.run([validator, str(desktop)], capture_output=True, text=True)
        c.ok(
            p.returncode == 0 and not p.stdout.strip(),
            "desktop-file-validate",
            (p.stdout + p.stderr).strip()[:300],
        )
    else:
        c.skip("desktop-file-validate", "not installed (apt-get install desktop-file-utils)")

    mime = root / "usr/share/mime/packages/gradviz.xml"
    ns = "{http://www.freedesktop.org/standards/shared-mime-info}"
    try:
        t = ET.parse(mime).getroot().find(f"{ns}mime-type")
        globs = [g.get("pattern") for g in t.findall(f"{ns}glob")] if t is not None else []
        c.ok(
            t is not None and t.get("type") == meta.MIME_TYPE and "*.gradviz" in globs,
            "MIME XML declares application/x-gradviz for *.gradviz",
        )
    except ET.ParseError as e:
        c.ok(False, "MIME XML parses", str(e))
    updater = shutil.which("update-mime-database")
    if updater:
        mime_dir = tmp / "mime"
        shutil.copytree(root / "usr/share/mime", mime_dir)
        p = subprocess.run([updater, str(mime_dir)], capture_output=True, text=True)
        globs2 = (mime_dir / "globs2").read_text() if (mime_dir / "globs2").is_file() else ""
        c.ok(
            p.returncode == 0 and f"{meta.MIME_TYPE}:*.gradviz" in globs2,
            "update-mime-database maps *.gradviz to application/x-gradviz",
            p.stderr.strip()[:300],
        )
    else:
        c.skip("update-mime-database", "not installed (apt-get install shared-mime-info)")


def check_libraries(c: Checks, bundle: Path) -> None:
    external = external_libraries(bundle)
    allowed = host_package_closure(["libc6", *build.DEB_DEPENDS, *build.DEB_RECOMMENDS]) | set(
        build.DEB_RECOMMENDS
    )
    allowed |= {"libc6", *build.DEB_DEPENDS}
    bad, missing = [], []
    for soname, path in sorted(external.items()):
        if path is None:
            pkg = soname_package(soname)
            (missing if pkg in allowed else bad).append(f"{soname} ({pkg}, not installed here)")
        else:
            pkg = owner_package(path)
            if pkg not in allowed:
                bad.append(f"{soname} from {pkg or 'no package'}")
    c.ok(
        not bad,
        "every library loaded from outside the bundle is a declared dependency's",
        "; ".join(bad) or f"{len(external)} external: " + ", ".join(sorted(external)),
    )
    if missing:
        print(f"check:        declared but not installed on this machine: {', '.join(missing)}")


def check_app(c: Checks, exe: Path, version: str, tmp: Path, timings: dict, keep: Path) -> None:
    env = clean_env(tmp)
    # 1. version, and start-up time (the first run reads the bundle from disk; then the best of 3)
    rc, out, err, dt = run_app(exe, ["--version"], env)
    c.ok(
        rc == 0 and out.strip() == f"gradviz {version}",
        "installed gradviz --version",
        (out + err).strip()[:200],
    )
    runs = [dt] + [run_app(exe, ["--version"], env)[3] for _ in range(3)]
    timings["version_first_s"], timings["version_best_s"] = round(runs[0], 3), round(min(runs[1:]), 3)

    # 2. render examples with no Graphviz on PATH, through the bundled graphviz-pure
    pure = build_graphviz_pure()
    for name in RENDER_EXAMPLES:
        session = meta.EXAMPLES / f"{name}.gradviz"
        for fmt in ("svg", "png"):
            out_file = tmp / f"{name}.{fmt}"
            rc, out, err, dt = run_app(exe, ["render", str(session), "-o", str(out_file)], env)
            timings[f"render_{name}_{fmt}_s"] = round(dt, 3)
            good, detail = (
                (svg_ok if fmt == "svg" else png_ok)(out_file)
                if rc == 0 and out_file.is_file()
                else (False, err.strip()[-300:])
            )
            c.ok(good, f"render {name}.gradviz to {fmt.upper()} with an empty PATH", f"{detail}, {dt:.2f} s")
        # laid out by the bundled graphviz-pure: the source tree's SVG with graphviz-pure is the same
        if pure:
            ref = tmp / f"{name}-source.svg"
            src_env = dict(os.environ, GRADVIZ_DOT=pure)
            p = subprocess.run(
                [sys.executable, "-m", "gradviz", "render", str(session), "-o", str(ref)],
                env=src_env,
                cwd=meta.ROOT,
                capture_output=True,
                text=True,
            )
            same = p.returncode == 0 and ref.read_bytes() == (tmp / f"{name}.svg").read_bytes()
            c.ok(
                same,
                f"{name}: laid out by the bundled graphviz-pure (SVG equals the source tree's with graphviz-pure)",
            )
        else:
            c.skip(
                f"{name}: layout provider",
                "graphviz-pure not installed in this Python: nothing to compare with",
            )

    # 3. the main window, offscreen, with the seed example open
    rc, out, err, _ = run_app(exe, ["--help"], env)
    has_screenshot = "--screenshot" in out
    if not has_screenshot:
        c.skip(
            "offscreen screenshot of the main window",
            "this gradviz has no --screenshot option yet (the desktop app has not landed)",
        )
    else:
        shot = tmp / "window.png"
        seed = meta.EXAMPLES / f"{SEED_EXAMPLE}.gradviz"
        rc, out, err, dt = run_app(exe, ["--screenshot", str(shot), str(seed)], env)
        timings["screenshot_s"] = round(dt, 3)
        good, detail = png_ok(shot, (800, 500)) if rc == 0 and shot.is_file() else (False, err.strip()[-300:])
        c.ok(
            good,
            f"offscreen screenshot with {SEED_EXAMPLE}.gradviz open",
            f"{detail}, {dt:.2f} s (start to saved image)",
        )
        if good:
            shutil.copy2(shot, keep / "window.png")

    # 4. corrupt sessions: a one-line error, exit status 1, no traceback
    for kind, path in corrupt_files(tmp / "corrupt").items():
        commands = [["render", str(path), "-o", str(tmp / "never.svg")]]
        if has_screenshot:
            commands.append(["--screenshot", str(tmp / "never.png"), str(path)])
        for args in commands:
            rc, _, e, _ = run_app(exe, args, env)
            lines = [ln for ln in e.strip().splitlines() if ln.strip()]
            clean = (
                rc == 1
                and "Traceback" not in e
                and len(lines) >= 1
                and "error" in lines[-1]
                and path.name in e
            )
            what = "render" if args[0] == "render" else "window"
            c.ok(
                clean and not (tmp / "never.svg").exists(),
                f"{what} refuses a {kind} session cleanly",
                f"exit {rc}: {lines[-1] if lines else '(nothing on stderr)'}"[:300],
            )


def build_graphviz_pure() -> str | None:
    """This Python's graphviz-pure binary, as the source tree finds it (None if not installed)."""
    p = subprocess.run(
        [sys.executable, "-m", "gradviz.graph.dot_binary"],
        capture_output=True,
        text=True,
        cwd=meta.ROOT,
        env={k: v for k, v in os.environ.items() if k != "GRADVIZ_DOT"},
    )
    path, _, provider = p.stdout.strip().partition("\t")
    return path if p.returncode == 0 and provider == "graphviz-pure" else None


def check_real_display(c: Checks, exe: Path, tmp: Path, timings: dict) -> None:
    xvfb = shutil.which("xvfb-run")
    if not xvfb:
        c.skip("window on a real X display (xcb)", "xvfb-run not installed (apt-get install xvfb)")
        return
    env = clean_env(tmp, QT_QPA_PLATFORM="xcb")
    shot = tmp / "xcb.png"
    seed = meta.EXAMPLES / "neuron.gradviz"
    # xvfb-run sets DISPLAY and XAUTHORITY for the command; pass them through the clean env
    keep = " ".join(f"{k}={shlex_quote(v)}" for k, v in env.items())
    script = f'exec env -i {keep} DISPLAY="$DISPLAY" XAUTHORITY="$XAUTHORITY" {shlex_quote(str(exe))} --screenshot {shlex_quote(str(shot))} {shlex_quote(str(seed))}'
    t = time.perf_counter()
    p = subprocess.run(
        [xvfb, "-a", "-s", "-screen 0 1400x900x24", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=180,
    )
    timings["screenshot_xcb_s"] = round(time.perf_counter() - t, 3)
    if p.returncode != 0 and "xcb-cursor0" in p.stderr + p.stdout:
        c.skip(
            "window on a real X display (xcb)", "the xcb libraries the .deb depends on are not installed here"
        )
        return
    good, detail = (
        png_ok(shot, (800, 500))
        if p.returncode == 0 and shot.is_file()
        else (False, (p.stdout + p.stderr).strip()[-300:])
    )
    c.ok(good, "window on a real X display (Xvfb, xcb plugin)", detail)


def shlex_quote(s: str) -> str:
    import shlex

    return shlex.quote(s)


def check_tarball(c: Checks, tarball: Path, version: str, tmp: Path) -> None:
    d = tmp / "unpacked"
    d.mkdir(parents=True)
    with tarfile.open(tarball) as tar:
        if hasattr(tarfile, "tar_filter"):  # 3.12, and 3.8-3.11 security releases
            tar.extractall(d, filter="tar")
        else:
            tar.extractall(d)
    tops = list(d.iterdir())
    exe = tops[0] / "gradviz" if len(tops) == 1 else d / "missing"
    env = clean_env(tmp)
    rc, out, err, _ = run_app(exe, ["--version"], env)
    c.ok(
        rc == 0 and out.strip() == f"gradviz {version}",
        f"tarball: {tops[0].name if tops else '?'}/gradviz --version",
        (out + err).strip()[:200],
    )
    svg = tmp / "tar.svg"
    rc, out, err, _ = run_app(exe, ["render", str(meta.EXAMPLES / "neuron.gradviz"), "-o", str(svg)], env)
    good, detail = svg_ok(svg) if rc == 0 else (False, err.strip()[-300:])
    c.ok(good, "tarball: renders a session with an empty PATH", detail)
    c.ok(
        (exe.parent / "install-desktop.sh").is_file()
        and os.access(exe.parent / "install-desktop.sh", os.X_OK),
        "tarball: carries install-desktop.sh",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        default=str(meta.ROOT / "build" / "check"),
        help="where to build and test (default: build/check)",
    )
    parser.add_argument("--skip-build", action="store_true", help="test what --out already holds")
    args = parser.parse_args(argv)
    if not sys.platform.startswith("linux") or shutil.which("dpkg-deb") is None:
        print("check: this check needs Linux with dpkg (Debian or Ubuntu)")
        print("packaging: 0 passed, 0 failed, 1 skipped")
        return 0

    out = Path(args.out).resolve()
    dist, work = out / "dist", out / "work"
    version = meta.version()
    c = Checks()
    timings: dict = {}
    t0 = time.perf_counter()

    if not args.skip_build:
        t = time.perf_counter()
        p = subprocess.run(
            [sys.executable, str(meta.PACKAGING / "build.py"), "--out", str(dist), "--work", str(work)]
        )
        timings["build_s"] = round(time.perf_counter() - t, 1)
        if not c.ok(
            p.returncode == 0, "build.py builds the bundle, .tar.gz and .deb", f"{timings['build_s']} s"
        ):
            return c.summary()
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
    bundle = dist / meta.APP_ID
    deb = dist / f"{meta.APP_ID}_{meta.deb_version(version)}_{arch}.deb"
    tarball = next(dist.glob(f"{meta.APP_ID}-{version}-linux-*.tar.gz"), dist / "missing.tar.gz")

    # sizes
    sizes = {"bundle": build.dir_size(bundle) if bundle.is_dir() else 0}
    for name, path in (("deb", deb), ("tarball", tarball)):
        sizes[name] = path.stat().st_size if path.is_file() else 0
    for name, budget in (
        ("bundle", BUNDLE_BUDGET_MB),
        ("deb", DEB_BUDGET_MB),
        ("tarball", TARBALL_BUDGET_MB),
    ):
        c.ok(
            0 < sizes[name] <= budget * 1e6,
            f"{name} size within its budget",
            f"{sizes[name] / 1e6:.1f} MB of {budget} MB",
        )
    if not deb.is_file():
        return c.summary()

    check_deb_metadata(c, deb, version)
    if (
        Path("/var/lib/apt/lists").is_dir()
        and any(Path("/var/lib/apt/lists").glob("*Packages*"))
        and shutil.which("apt-get")
    ):
        p = subprocess.run(
            ["apt-get", "install", "--simulate", "-qq", str(deb)], capture_output=True, text=True
        )
        c.ok(
            p.returncode == 0,
            "apt-get --simulate: Debian satisfies the .deb's dependencies",
            (p.stdout + p.stderr).strip().splitlines()[-1][:200] if (p.stdout + p.stderr).strip() else "",
        )
    else:
        c.skip("apt-get --simulate", "no apt package lists here (apt-get update)")

    with tempfile.TemporaryDirectory(prefix="gradviz-check-") as tmpdir:
        tmp = Path(tmpdir)
        # install into a clean root
        root = tmp / "root"
        for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"):
            (root / d).mkdir(parents=True)
        for f in ("status", "available"):
            (root / "var/lib/dpkg" / f).touch()
        dpkg = ["dpkg", f"--root={root}", "--force-not-root", "--force-script-chrootless"]
        t = time.perf_counter()
        p = subprocess.run([*dpkg, "--force-depends", "-i", str(deb)], capture_output=True, text=True)
        timings["dpkg_install_s"] = round(time.perf_counter() - t, 1)
        status = subprocess.run([*dpkg, "-s", meta.APP_ID], capture_output=True, text=True).stdout
        installed = p.returncode == 0 and "Status: install ok installed" in status
        c.ok(
            installed,
            "dpkg --root installs the .deb into an empty root",
            p.stderr.strip().splitlines()[-1][:200]
            if not installed and p.stderr.strip()
            else f"{timings['dpkg_install_s']} s",
        )
        exe = root / "usr" / "bin" / meta.APP_ID
        if installed:
            check_desktop_integration(c, root, tmp)
            check_libraries(c, root / "opt" / meta.APP_ID)
            check_app(c, exe, version, tmp / "app", timings, out)
            check_real_display(c, exe, tmp / "xcb", timings)
        if tarball.is_file():
            check_tarball(c, tarball, version, tmp / "tar")
        if installed:
            p = subprocess.run([*dpkg, "-r", meta.APP_ID], capture_output=True, text=True)
            left = [str(q.relative_to(root)) for q in (root / "opt").rglob("*")] + [
                str(q.relative_to(root)) for q in (root / "usr").rglob("*") if not q.is_dir()
            ]
            c.ok(p.returncode == 0 and not left, "dpkg --root -r removes every file", ", ".join(left[:5]))

    timings["check_total_s"] = round(time.perf_counter() - t0, 1)
    report = {"version": version, "sizes_bytes": sizes, "timings": timings, "results": c.results}
    (out / "check-report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"check: sizes: bundle {sizes['bundle'] / 1e6:.1f} MB, .deb {sizes['deb'] / 1e6:.1f} MB, .tar.gz {sizes['tarball'] / 1e6:.1f} MB"
    )
    print("check: timings: " + ", ".join(f"{k} {v}" for k, v in timings.items()))
    print(f"check: report in {out / 'check-report.json'}")
    return c.summary()


if __name__ == "__main__":
    raise SystemExit(main())
