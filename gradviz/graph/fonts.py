"""One font for measuring and drawing text, found without any system setup.

Boxes are sized with the font the PNG is drawn with, so text always fits in a PNG. DejaVu Sans is
used where the system has it (it covers Greek and most symbols, so a variable named ``θ`` draws);
otherwise Pillow's built-in scalable font, which every Pillow wheel carries. DejaVu is wide, and
SVG asks for it first (then Verdana, whose metrics are close), so SVG text fits too.
"""

from __future__ import annotations

from functools import cache, lru_cache

SVG_FAMILY = "'DejaVu Sans', Verdana, Geneva, sans-serif"
_FILES = {False: "DejaVuSans.ttf", True: "DejaVuSans-Bold.ttf"}


@cache
def font_file(bold: bool = False) -> str | None:
    """Path of the TrueType file used for text (DejaVu Sans), or None if the system lacks it."""
    try:
        from PIL import ImageFont

        return ImageFont.truetype(_FILES[bold], 10).path
    except OSError:
        return None


@lru_cache(maxsize=256)
def pil_font(size: float, bold: bool = False):
    """A Pillow font at ``size`` pixels."""
    from PIL import ImageFont

    path = font_file(bold)
    if path is not None:
        return ImageFont.truetype(path, max(1, round(size)))
    return ImageFont.load_default(max(1.0, size))


_MEASURE = 20.0  # measure at a large size and scale down: hinting at small sizes rounds widths


@lru_cache(maxsize=4096)
def text_width(text: str, size: float, bold: bool = False) -> float:
    """Width of ``text`` in points at font size ``size`` points."""
    font = pil_font(_MEASURE, bold)
    width = font.getlength(text) * size / _MEASURE
    if font_file(bold) is None:
        width *= 1.1  # the fallback font is narrower than the DejaVu/Verdana an SVG viewer may use
    return width
