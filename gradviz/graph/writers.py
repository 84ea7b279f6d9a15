"""Scene -> SVG, PNG and PDF bytes.

SVG is written by hand (it is XML); PNG is drawn with Pillow and PDF with fpdf2. Both are pure pip
installs with wheels and no system libraries, which is what makes PDF work where the only Graphviz
is the graphviz-pure wheel (it has no PDF output).
"""

from __future__ import annotations

import io
import itertools
from xml.sax.saxutils import escape, quoteattr

from . import fonts
from .fonts import SVG_FAMILY
from .scene import Path, Polygon, Rect, Scene, Text

# --- SVG ------------------------------------------------------------------------------------


def _f(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


class _Numbers(dict):
    """``_f`` of each number, written once: a picture repeats its coordinates (a rank's y, a
    column's x, the sizes), and a 3,000-node SVG formats 150,000 numbers, a quarter of them new."""

    def __missing__(self, v: float) -> str:
        s = self[v] = _f(v)
        return s


def _bezier_d(pts: list[tuple[float, float]], curve: bool, n: _Numbers) -> str:
    head = f"M{n[pts[0][0]]},{n[pts[0][1]]}"
    if curve:
        segs = [
            "C" + " ".join(f"{n[x]},{n[y]}" for x, y in pts[i : i + 3]) for i in range(1, len(pts) - 2, 3)
        ]
    else:
        segs = [f"L{n[x]},{n[y]}" for x, y in pts[1:]]
    return head + "".join(segs)


def to_svg(scene: Scene) -> str:
    n = _Numbers()
    out = [
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_f(scene.width)}pt" height="{_f(scene.height)}pt" '
        f'viewBox="0 0 {_f(scene.width)} {_f(scene.height)}" font-family="{SVG_FAMILY}">',
    ]
    if scene.title:
        out.append(f"<title>{escape(scene.title)}</title>")
    out.append(f'<rect width="100%" height="100%" fill="{scene.background}"/>')
    for it in scene.items:
        if isinstance(it, Rect):
            attrs = f'x="{n[it.x]}" y="{n[it.y]}" width="{n[it.w]}" height="{n[it.h]}"'
            if it.radius:
                attrs += f' rx="{n[it.radius]}"'
            attrs += f' fill="{it.fill or "none"}"'
            if it.stroke:
                attrs += f' stroke="{it.stroke}" stroke-width="{n[it.stroke_width]}"'
                if it.dashed:
                    attrs += ' stroke-dasharray="4,3"'
            out.append(f"<rect {attrs}/>")
        elif isinstance(it, Text):
            anchor = {"start": "start", "middle": "middle", "end": "end"}[it.anchor]
            weight = ' font-weight="bold"' if it.bold else ""
            out.append(
                f'<text x="{n[it.x]}" y="{n[it.y]}" font-size="{n[it.size]}" fill="{it.color}" '
                f'text-anchor="{anchor}"{weight}>{escape(it.text)}</text>'
            )
        elif isinstance(it, Path):
            dash = ' stroke-dasharray="4,3"' if it.dashed else ""
            out.append(
                f'<path d="{_bezier_d(it.points, it.curve, n)}" fill="none" stroke="{it.stroke}" '
                f'stroke-width="{n[it.width]}"{dash}/>'
            )
        elif isinstance(it, Polygon):
            pts = " ".join(f"{n[x]},{n[y]}" for x, y in it.points)
            out.append(f'<polygon points={quoteattr(pts)} fill="{it.fill}"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


# --- shared geometry --------------------------------------------------------------------------


def flatten(pts: list[tuple[float, float]], curve: bool, steps: int = 12) -> list[tuple[float, float]]:
    """Cubic Bezier control points -> a polyline (raster output draws lines only)."""
    if not curve:
        return pts
    out = [pts[0]]
    for i in range(0, len(pts) - 3, 3):
        p0, p1, p2, p3 = pts[i : i + 4]
        for k in range(1, steps + 1):
            t = k / steps
            u = 1 - t
            out.append(
                (
                    u**3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t**3 * p3[0],
                    u**3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t**3 * p3[1],
                )
            )
    return out


def _dashes(
    pts: list[tuple[float, float]], on: float = 4.0, off: float = 3.0
) -> list[list[tuple[float, float]]]:
    """Split a polyline into dash segments (Pillow has no dashed lines)."""
    import math

    out, cur, pos, drawing = [], [pts[0]], 0.0, True
    limit = on
    for a, b in itertools.pairwise(pts):
        seg = math.hypot(b[0] - a[0], b[1] - a[1])
        t0 = 0.0
        while seg - t0 > 1e-9:
            step = min(limit - pos, seg - t0)
            t0 += step
            pos += step
            p = (a[0] + (b[0] - a[0]) * t0 / seg, a[1] + (b[1] - a[1]) * t0 / seg)
            if drawing:
                cur.append(p)
            if pos >= limit - 1e-9:
                if drawing:
                    out.append(cur)
                drawing = not drawing
                cur = [p]
                pos = 0.0
                limit = on if drawing else off
    if drawing and len(cur) > 1:
        out.append(cur)
    return out


def _rect_outline(x: float, y: float, w: float, h: float, r: float) -> list[tuple[float, float]]:
    """A rounded rectangle's outline as a closed polyline (for dashed raster borders)."""
    import math

    r = min(r, w / 2, h / 2)
    pts = []
    for cx, cy, a0 in (
        (x + w - r, y + r, -90),
        (x + w - r, y + h - r, 0),
        (x + r, y + h - r, 90),
        (x + r, y + r, 180),
    ):
        for k in range(7):
            a = math.radians(a0 + 15 * k)
            pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    pts.append(pts[0])
    return pts


# --- PNG --------------------------------------------------------------------------------------


MAX_SIDE = 32000  # pixels: beyond this many viewers refuse a PNG
MAX_PIXELS = 100e6  # and beyond this it is too big to be useful (or to fit in memory twice)


def to_png(scene: Scene, dpi: float = 144.0) -> bytes:
    """Draw at 2x the target size and scale down: Pillow's shapes are not anti-aliased.

    A huge graph is drawn at a lower resolution rather than not at all.
    """
    from PIL import Image, ImageDraw

    w, h = max(scene.width, 1.0), max(scene.height, 1.0)
    k = min(dpi / 72.0, MAX_SIDE / max(w, h), (MAX_PIXELS / (w * h)) ** 0.5)
    dpi = k * 72.0
    ss = 2.0 if (w * k * 2) * (h * k * 2) <= MAX_PIXELS else 1.0
    s = k * ss
    size = (max(1, round(scene.width * s)), max(1, round(scene.height * s)))
    img = Image.new("RGB", size, scene.background)
    d = ImageDraw.Draw(img)

    def P(p: tuple[float, float]) -> tuple[float, float]:
        return (p[0] * s, p[1] * s)

    for it in scene.items:
        if isinstance(it, Rect):
            box = [it.x * s, it.y * s, (it.x + it.w) * s, (it.y + it.h) * s]
            r = it.radius * s
            if it.fill:
                d.rounded_rectangle(box, r, fill=it.fill)
            if it.stroke:
                width = max(1, round(it.stroke_width * s))
                if it.dashed:
                    for dash in _dashes(_rect_outline(it.x, it.y, it.w, it.h, it.radius)):
                        d.line([P(p) for p in dash], fill=it.stroke, width=width)
                else:
                    d.rounded_rectangle(box, r, outline=it.stroke, width=width)
        elif isinstance(it, Text):
            font = fonts.pil_font(it.size * s, it.bold)
            anchor = {"start": "ls", "middle": "ms", "end": "rs"}[it.anchor]
            d.text(P((it.x, it.y)), it.text, fill=it.color, font=font, anchor=anchor)
        elif isinstance(it, Path):
            pts = flatten(it.points, it.curve)
            width = max(1, round(it.width * s))
            for seg in _dashes(pts) if it.dashed else [pts]:
                d.line([P(p) for p in seg], fill=it.stroke, width=width, joint="curve")
        elif isinstance(it, Polygon):
            d.polygon([P(p) for p in it.points], fill=it.fill)
    if ss > 1:
        img = img.reduce(int(ss))  # a box filter: exactly what 2x supersampling wants, and fast
    buf = io.BytesIO()
    img.save(buf, "PNG", dpi=(dpi, dpi))
    return buf.getvalue()


# --- PDF --------------------------------------------------------------------------------------


def _rgb255(color: str) -> tuple[int, int, int]:
    h = color.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def to_pdf(scene: Scene) -> bytes:
    """One page the size of the picture, vector shapes, text in DejaVu Sans (embedded) or Helvetica."""
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format=(scene.width, scene.height))
    pdf.set_auto_page_break(False)
    pdf.set_margin(0)
    pdf.set_creator("gradviz")
    if scene.title:
        pdf.set_title(scene.title)
    regular, bold = fonts.font_file(False), fonts.font_file(True)
    if regular and bold:
        pdf.add_font("gv", "", regular)
        pdf.add_font("gv", "B", bold)
        family, encode = "gv", (lambda t: t)
    else:
        # The core font needs no embedding but only knows Latin-1: replace anything else.
        family = "helvetica"

        def encode(t: str) -> str:
            return t.encode("latin-1", "replace").decode("latin-1")

    pdf.add_page()
    pdf.set_fill_color(*_rgb255(scene.background))
    pdf.rect(0, 0, scene.width, scene.height, style="F")
    for it in scene.items:
        if isinstance(it, Rect):
            style = ("F" if it.fill else "") + ("D" if it.stroke else "")
            if not style:
                continue
            if it.fill:
                pdf.set_fill_color(*_rgb255(it.fill))
            if it.stroke:
                pdf.set_draw_color(*_rgb255(it.stroke))
                pdf.set_line_width(it.stroke_width)
                pdf.set_dash_pattern(4, 3) if it.dashed else pdf.set_dash_pattern()
            # fpdf2 divides a radius of half the side or more by the side: stay just below it
            r = min(it.radius, min(it.w, it.h) / 2 * 0.999)
            if r > 0:
                pdf.rect(it.x, it.y, it.w, it.h, style=style, round_corners=True, corner_radius=r)
            else:
                pdf.rect(it.x, it.y, it.w, it.h, style=style)
            pdf.set_dash_pattern()
        elif isinstance(it, Text):
            pdf.set_font(family, "B" if it.bold else "", it.size)
            pdf.set_text_color(*_rgb255(it.color))
            text = encode(it.text)
            w = pdf.get_string_width(text)
            x = it.x - (w / 2 if it.anchor == "middle" else (w if it.anchor == "end" else 0))
            pdf.text(x, it.y, text)
        elif isinstance(it, Path):
            pdf.set_draw_color(*_rgb255(it.stroke))
            pdf.set_line_width(it.width)
            pdf.set_dash_pattern(4, 3) if it.dashed else pdf.set_dash_pattern()
            pts = flatten(it.points, it.curve)
            pdf.polyline(pts, style="D")
            pdf.set_dash_pattern()
        elif isinstance(it, Polygon):
            pdf.set_fill_color(*_rgb255(it.fill))
            pdf.polygon(it.points, style="F")
    return bytes(pdf.output())
