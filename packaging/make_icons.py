"""Render the app icon from its SVG source into every size the platforms need.

    python packaging/make_icons.py          # rewrite resources/icons/*.png, .ico, .icns
    python packaging/make_icons.py --check  # exit 1 if a committed file differs from a fresh render

resources/icons/gradviz.svg is the source. Qt's SVG renderer (QtSvg, part of PySide6-Essentials)
draws it at each size, so small sizes are rendered, not downscaled. Pillow writes the Windows .ico
(16-256 px) and the macOS .icns (16-1024 px, Retina pairs included).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import meta

SVG = meta.ICONS / f"{meta.APP_ID}.svg"
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (16, 32, 64, 128, 256, 512, 1024)


def render(sizes: tuple[int, ...]) -> dict[int, Image.Image]:
    """The SVG drawn at each size, as Pillow RGBA images."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    # QImage and QSvgRenderer need no application object; never create one when a test process
    # may already have (or later want) a QApplication.
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"make_icons: {SVG} is not an SVG that Qt can draw")
    out = {}
    for size in sizes:
        img = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        img.fill(Qt.GlobalColor.transparent)
        painter = QPainter(img)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        buf = QBuffer()
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        img.save(buf, "PNG")
        out[size] = Image.open(io.BytesIO(bytes(buf.data()))).convert("RGBA")
    return out


def _differ(path: Path, data: bytes) -> bool:
    from PIL import ImageChops, ImageStat

    old, new = Image.open(path).convert("RGBA"), Image.open(io.BytesIO(data)).convert("RGBA")
    if old.size != new.size:
        return True
    return max(ImageStat.Stat(ImageChops.difference(old, new)).mean) > 2.0


def build() -> dict[str, bytes]:
    """Every icon file's name and bytes."""
    images = render(tuple(sorted(set(meta.ICON_SIZES) | set(ICO_SIZES) | set(ICNS_SIZES))))
    files: dict[str, bytes] = {}
    for size in meta.ICON_SIZES:
        buf = io.BytesIO()
        images[size].save(buf, "PNG", optimize=True)
        files[f"{meta.APP_ID}-{size}.png"] = buf.getvalue()
    buf = io.BytesIO()
    largest = images[max(ICO_SIZES)]
    largest.save(buf, "ICO", sizes=[(s, s) for s in ICO_SIZES], append_images=[images[s] for s in ICO_SIZES])
    files[f"{meta.APP_ID}.ico"] = buf.getvalue()
    buf = io.BytesIO()
    images[1024].save(buf, "ICNS", append_images=[images[s] for s in ICNS_SIZES if s != 1024])
    files[f"{meta.APP_ID}.icns"] = buf.getvalue()
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed files")
    args = parser.parse_args(argv)
    files = build()
    if args.check:
        # PNG encoders and Qt's antialiasing differ a little between versions: compare pixels,
        # allowing a mean difference of 2/255 per channel.
        stale = []
        for name, data in files.items():
            path = meta.ICONS / name
            if not path.is_file() or (name.endswith(".png") and _differ(path, data)):
                stale.append(name)
        if stale:
            print(f"make_icons: out of date: {', '.join(stale)} (run python packaging/make_icons.py)")
            return 1
        print("make_icons: icons are up to date")
        return 0
    meta.ICONS.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (meta.ICONS / name).write_bytes(data)
        print(meta.ICONS / name, f"{len(data):,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
