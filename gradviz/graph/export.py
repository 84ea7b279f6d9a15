"""Export a graph as PNG, SVG, PDF, DOT or GraphML, with its colours and legend.

Every format starts from the same laid-out scene, so all five show the same picture: the picture
formats draw it, DOT carries the same styling as ``draw()`` plus the node positions, and GraphML
carries the data (names, shapes, values, gradient statistics, fill colours and positions) for
tools such as yEd, Gephi or networkx.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import networkx as nx

from ..engine.tensor import Tensor
from .colors import ColorScale
from .folding import folded_view
from .gc_pause import gc_paused
from .model import AUTOGRAD, TENSORS, NodeIds, build_graph, check_outputs, shape_text
from .scene import Scene, build_scene
from .style import fit_scale, looks
from .torch_graph import ReadMemo, torch_outputs

FORMATS = ("png", "svg", "pdf", "dot", "graphml")
_log = logging.getLogger(__name__)


def _model(
    obj: Any, view: str, names: Mapping[str, Tensor] | None, fold: bool = False
) -> tuple[nx.DiGraph, nx.DiGraph | None]:
    """The model graph to draw, and (to fold the autograd view) its Tensors view, same ids."""
    if isinstance(obj, nx.DiGraph):
        return obj, None
    model = getattr(obj, "model", None)  # a GradvizDigraph from draw()
    if isinstance(model, nx.DiGraph):
        return model, None
    outputs = check_outputs(obj, "export()", also="a graph from gradviz.draw()")
    ids = NodeIds()
    memo = ReadMemo() if torch_outputs(outputs) else None  # both views read each node once
    g = build_graph(outputs, view=view, names=names, ids=ids, memo=memo)
    tensors = (
        build_graph(outputs, view=TENSORS, names=names, ids=ids, memo=memo)
        if fold and view == AUTOGRAD
        else None
    )
    return g, tensors


def graphml_graph(g: nx.DiGraph, scene: Scene | None, cs: ColorScale) -> nx.DiGraph:
    """A copy of ``g`` whose attributes are all plain scalars, as GraphML requires."""
    node_looks = looks(g, cs, elements=False)
    out = nx.DiGraph()
    out.graph.update(
        view=g.graph.get("view", ""),
        stat=cs.stat,
        cmap=cs.cmap_name,
        scale=cs.scale,
        vmin=float(cs.vmin),
        vmax=float(cs.vmax),
        outputs=",".join(g.graph.get("outputs", [])),
        layout=scene.provider if scene else "",
    )
    for n, a in g.nodes(data=True):
        attrs: dict[str, Any] = {}
        for k, v in a.items():
            if k in ("tensor", "grad_stats"):
                continue
            if k in ("grad_norms", "body"):  # a folded loop's sparkline and steps, as text
                v = ",".join("" if x is None else str(x) for x in v)
            if k == "shape" or k == "saved":
                v = shape_text(tuple(v)) if k == "shape" else "; ".join(shape_text(tuple(s)) for s in v)
            if isinstance(v, (str, bool, int, float)):
                attrs[k] = v
        stats = a.get("grad_stats")
        if stats is not None:
            attrs.update(stats.as_dict())
        look = node_looks[n]
        attrs.update(fill=look.paint.fill, text_color=look.paint.text, border=look.paint.border)
        if scene is not None and n in scene.boxes:
            x, y, w, h = scene.boxes[n]
            attrs.update(x=x + w / 2, y=y + h / 2, width=w, height=h)
        out.add_node(str(n), **attrs)
    for u, v, a in g.edges(data=True):
        out.add_edge(
            str(u),
            str(v),
            kind=a.get("kind", "data"),
            shape=shape_text(tuple(a["shape"])) if a.get("shape") is not None else "",
            args=",".join(str(i) for i in a.get("args", ())),
        )
    return out


def render_bytes(
    g: nx.DiGraph,
    format: str,  # noqa: A002 - the word everyone uses
    *,
    stat: str = "norm",
    cmap: object = None,
    scale: str | ColorScale = "linear",
    edge_labels: bool = False,
    elements: bool = True,
    legend: bool = True,
    title: str = "",
    layout: Callable[[nx.DiGraph], Any] | None = None,
    fold: bool = False,
    tensors_graph: nx.DiGraph | None = None,
    shared_refs: bool = True,
) -> bytes:
    """The model graph ``g`` in one of :data:`FORMATS`, as bytes. ``fold``: draw each run of
    repetitions (an unrolled loop) as one group; ``tensors_graph`` gives the autograd view's
    groups their gradients (see ``folding.folded_view``). ``shared_refs``: a shared input's far
    uses are drawn as reference badges (``shared.py``), not as long edges."""
    fmt = format.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    # A ColorScale: the colours already on screen (a locked range, or one fitted on both views).
    # Fitted on the Tensors view when it is there, as the window does: one scale for both views.
    every = tensors_graph if tensors_graph is not None else g
    cs = scale if isinstance(scale, ColorScale) else fit_scale(every, stat, cmap, scale)
    if fold:  # after fitting: the colours cover every gradient, folded or not
        try:
            g = folded_view(g, tensors_graph=tensors_graph)
        except Exception:  # a bug in folding costs the fold, not the picture: drawn whole
            _log.debug("folding failed; the graph is drawn unfolded", exc_info=True)
    scene = build_scene(
        g,
        scale=cs,
        edge_labels=edge_labels,
        elements=elements,
        legend=legend,
        title=title,
        layout=layout,
        shared_refs=shared_refs,
    )
    if fmt == "svg":
        from .writers import to_svg

        return to_svg(scene).encode("utf-8")
    if fmt == "png":
        from .writers import to_png

        return to_png(scene)
    if fmt == "pdf":
        from .writers import to_pdf

        return to_pdf(scene)
    if fmt == "dot":
        from .dot import to_digraph

        centres = {n: (x + w / 2, y + h / 2) for n, (x, y, w, h) in scene.boxes.items()}
        centres.update({b: (x + w / 2, y + h / 2) for b, (_, (x, y, w, h)) in scene.refs.items()})
        return to_digraph(
            g,
            scale=cs,
            edge_labels=edge_labels,
            elements=elements,
            legend=legend,
            positions=centres,
            shared_refs=shared_refs,
        ).source.encode("utf-8")
    import io

    buf = io.BytesIO()
    nx.write_graphml(graphml_graph(g, scene, cs), buf)
    return buf.getvalue()


def export(
    obj: Any,
    path: str | os.PathLike[str],
    *,
    format: str | None = None,  # noqa: A002
    view: str = TENSORS,
    names: Mapping[str, Tensor] | None = None,
    **options: Any,
) -> Path:
    """Write ``obj`` (tensors, a model graph, or what ``draw()`` returned) to ``path``.

    The format comes from ``format`` or the file suffix. The file is written beside its final
    name and then moved into place, so a failed export never leaves half a file.
    """
    path = Path(path)
    fmt = (format or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise ValueError(f"cannot tell the format of {path.name!r}; use one of .{', .'.join(FORMATS)}")
    with gc_paused():
        g, tensors = _model(obj, view, names, bool(options.get("fold")))
        data = render_bytes(g, fmt, tensors_graph=tensors, **options)
    # Not mkstemp: its 0600 mode would follow the file into place; open() honours the umask.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
