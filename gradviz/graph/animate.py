"""Backward as an animation, frame by frame, for slides: ``gradviz animate FILE -o backward.gif``.

Each frame is the graph after one step of the trace (see ``stepping``), laid out once so that
nothing moves between frames, coloured on one scale, with the step in words beneath it. GIF is
written with Pillow (already the PNG writer); no video library is needed.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from ..engine.trace import BackwardTrace
from .fonts import pil_font
from .model import TENSORS, NodeIds
from .scene import _default_layout, build_scene, sized_graph
from .stepping import describe_step, final_scale, step_graph
from .style import looks
from .writers import to_png

CAPTION_SIZE = 15  # px of the words under each frame
SECONDS_PER_STEP = 1.6


def frames(
    outputs: Any,
    trace: BackwardTrace,
    name_of: Mapping[int, str],
    *,
    view: str = TENSORS,
    stat: str = "norm",
    cmap: object = None,
    scale: str = "auto",
    elements: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[Image.Image]:
    """One image per step: the graph after it, and the step's words under it."""
    ids = NodeIds()
    cs = final_scale(outputs, trace, view=view, stat=stat, cmap=cmap, scale=scale)
    last = step_graph(outputs, trace, len(trace) - 1, view=view, ids=ids)
    fixed = _default_layout(
        sized_graph(last, looks(last, cs, elements))
    )  # one layout: no node moves between frames
    for k in range(len(trace)):
        g = step_graph(outputs, trace, k, view=view, ids=ids)
        scene = build_scene(g, scale=cs, elements=elements, layout=lambda _sized, lay=fixed: lay)
        picture = Image.open(io.BytesIO(to_png(scene))).convert("RGB")
        yield _with_caption(picture, describe_step(trace, k, name_of))
        if progress is not None:
            progress(k + 1, len(trace))


def _with_caption(picture: Image.Image, lines: list[str]) -> Image.Image:
    font, bold = pil_font(CAPTION_SIZE), pil_font(CAPTION_SIZE, bold=True)
    pad, line_h = 14, round(CAPTION_SIZE * 1.45)
    height = pad * 2 + line_h * len(lines)
    out = Image.new("RGB", (picture.width, picture.height + height), "white")
    out.paste(picture, (0, 0))
    draw = ImageDraw.Draw(out)
    draw.line([(pad, picture.height), (picture.width - pad, picture.height)], fill="#c8c8c8", width=1)
    for i, line in enumerate(lines):
        draw.text(
            (pad, picture.height + pad + i * line_h), line, fill="#000000", font=bold if i == 0 else font
        )
    return out


def write_animation(
    path: str | os.PathLike[str], images: list[Image.Image], seconds: float = SECONDS_PER_STEP
) -> Path:
    """Write the frames as a looping GIF (every frame the size of the largest), the last held
    longer; written beside its final name and moved into place."""
    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise ValueError(f"{path.name}: animations are written as .gif")
    if not images:
        raise ValueError("no frames to write")
    w, h = max(i.width for i in images), max(i.height for i in images)
    padded = []
    for im in images:
        canvas = Image.new("RGB", (w, h), "white")
        canvas.paste(im, (0, 0))
        padded.append(canvas.convert("P", palette=Image.Palette.ADAPTIVE, colors=255))
    durations = [round(seconds * 1000)] * len(padded)
    durations[-1] *= 2
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        padded[0].save(tmp, format="GIF", save_all=True, append_images=padded[1:], duration=durations, loop=0)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
