"""Model graph -> ``graphviz.Digraph``: the DOT text of ``draw()`` and of the DOT export.

Each node's :class:`~gradviz.graph.style.Look` becomes an HTML-like label (lines of text, the
per-element gradient cells, the saved-tensors badge), so the DOT file rendered by any Graphviz
shows the same colours and legend as the SVG, PNG and PDF exports.
"""

from __future__ import annotations

from html import escape as _html_escape

import graphviz
import networkx as nx

from .colors import ColorScale, Legend, format_number
from .model import shape_text
from .shared import ref_id, ref_label, ref_target, shared_uses
from .style import BADGE_FILL, KEPT_BADGE, KEPT_BORDER, KEPT_FILL, Look, fit_scale, legend_states, looks

FONT = "Helvetica"  # a name every Graphviz (graphviz-pure too) has metrics for
LEGEND_ID = "legend"


def escape(text: str) -> str:
    """HTML-escape, with non-ASCII as character references: graphviz-pure measures raw UTF-8
    byte by byte (and warns), but it reads ``&#183;`` as the one character it stands for."""
    return _html_escape(text).encode("ascii", "xmlcharrefreplace").decode("ascii")


def _pt(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _html_lines(look: Look) -> str:
    rows = []
    for line in look.lines:
        text = escape(line.text)
        if line.bold:
            text = f"<B>{text}</B>"
        rows.append(f'<TR><TD><FONT POINT-SIZE="{_pt(line.size)}">{text}</FONT></TD></TR>')
    if look.cells:
        cells = "".join(
            "<TR>"
            + "".join(f'<TD BGCOLOR="{c}" WIDTH="10" HEIGHT="10" FIXEDSIZE="TRUE"></TD>' for c in row)
            + "</TR>"
            for row in look.cells
        )
        color = look.paint.text  # the text colour shows on the fill, so the cell borders do too
        grid = f'<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="1" CELLPADDING="0" COLOR="{color}">{cells}</TABLE>'
        rows.append(f"<TR><TD>{grid}</TD></TR>")
    if look.badge:
        fill, border = (KEPT_FILL, KEPT_BORDER) if look.badge == KEPT_BADGE else (BADGE_FILL, "#b07020")
        rows.append(
            f'<TR><TD BGCOLOR="{fill}" STYLE="rounded" BORDER="1" COLOR="{border}" CELLPADDING="2">'
            f'<FONT POINT-SIZE="8.5" COLOR="#000000">{escape(look.badge)}</FONT></TD></TR>'
        )
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{"".join(rows)}</TABLE>>'


def _node_attrs(look: Look) -> dict[str, str]:
    p = look.paint
    style = ["filled", "rounded"]
    if p.dashed:
        style.append("dashed")
    attrs = {
        "shape": "box",
        "style": ",".join(style),
        "fillcolor": p.fill,
        "color": p.border,
        "penwidth": _pt(p.border_width),
        "fontcolor": p.text,
        "tooltip": escape(look.tooltip),
    }
    if look.shape == "op":
        attrs.update(label=escape(look.lines[0].text), fontsize="10", height="0.3", margin="0.12,0.02")
    else:
        attrs["label"] = _html_lines(look)
        attrs["margin"] = "0.1,0.05"
    return attrs


def legend_label(legend: Legend, cs: ColorScale, cells: int = 24) -> str:
    """The legend as an HTML-like table: title, colour bar, range (ends and middle), state swatches."""
    bar = "".join(
        f'<TD BGCOLOR="{cs.color_at(k / (cells - 1))}" WIDTH="7" HEIGHT="12" FIXEDSIZE="TRUE"></TD>'
        for k in range(cells)
    )
    bar = f'<TABLE BORDER="1" COLOR="#5a5a5a" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0"><TR>{bar}</TR></TABLE>'
    lo, mid, hi = (format_number(cs.value_at(t)) for t in (0.0, 0.5, 1.0))
    ticks = "".join(
        f'<TD ALIGN="{align}" WIDTH="56"><FONT POINT-SIZE="8.5">{escape(text)}</FONT></TD>'
        for align, text in (("LEFT", lo), ("CENTER", mid), ("RIGHT", hi))
    )
    ticks = f'<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="0"><TR>{ticks}</TR></TABLE>'
    rows = [
        f'<TR><TD COLSPAN="2" ALIGN="LEFT"><B><FONT POINT-SIZE="10.5">{escape(legend.title)}</FONT></B></TD></TR>',
        f'<TR><TD COLSPAN="2">{bar}</TD></TR>',
        f'<TR><TD COLSPAN="2">{ticks}</TD></TR>',
    ]
    for text, paint in legend.swatches:
        style = ' STYLE="dashed"' if paint.dashed else ""
        rows.append(
            f'<TR><TD BGCOLOR="{paint.fill}" BORDER="{max(1, round(paint.border_width))}" COLOR="{paint.border}"'
            f' WIDTH="26" HEIGHT="13" FIXEDSIZE="TRUE"{style}></TD>'
            f'<TD ALIGN="LEFT"><FONT POINT-SIZE="8.5">{escape(text)}</FONT></TD></TR>'
        )
    for _, text in legend.marks:  # outline, cells, kept grads: told in words here
        rows.append(
            f'<TR><TD COLSPAN="2" ALIGN="LEFT"><FONT POINT-SIZE="8.5">{escape(text)}</FONT></TD></TR>'
        )
    for note in legend.notes:
        rows.insert(
            3, f'<TR><TD COLSPAN="2" ALIGN="LEFT"><FONT POINT-SIZE="8.5">{escape(note)}</FONT></TD></TR>'
        )
    return (
        '<<TABLE BORDER="1" COLOR="#bdbdbd" CELLBORDER="0" CELLSPACING="3" CELLPADDING="1" BGCOLOR="#ffffff">'
        f"{''.join(rows)}</TABLE>>"
    )


def to_digraph(
    g: nx.DiGraph,
    *,
    stat: str = "norm",
    cmap: object = None,
    scale: str | ColorScale = "linear",
    edge_labels: bool = False,
    elements: bool = True,
    legend: bool = True,
    positions: dict[str, tuple[float, float]] | None = None,
    cls: type[graphviz.Digraph] = graphviz.Digraph,
    shared_refs: bool = True,
) -> graphviz.Digraph:
    """A ``graphviz.Digraph`` of the model graph ``g`` with colours and legend.

    ``positions`` (node -> centre in points, y downward) are written as ``pos`` so that
    ``neato -n2`` redraws the exact picture; ``dot`` ignores them and lays the graph out anew.
    ``shared_refs``: a shared input's far uses get reference badges, as in the other exports
    (``shared.py``); without them Graphviz takes minutes on an unrolled loop.
    """
    cs = scale if isinstance(scale, ColorScale) else fit_scale(g, stat, cmap, scale)
    node_looks = looks(g, cs, elements)
    dot = cls(
        name=f"gradviz_{g.graph.get('view', 'graph')}",
        graph_attr={
            "rankdir": "TB",
            "bgcolor": "white",
            "nodesep": "0.3",
            "ranksep": "0.35",
            "fontname": FONT,
        },
        node_attr={"fontname": FONT, "fontsize": "10"},
        edge_attr={
            "color": "#4d4d4d",
            "arrowsize": "0.7",
            "fontname": FONT,
            "fontsize": "8",
            "fontcolor": "#333333",
        },
    )
    height = max((p[1] for p in positions.values()), default=0.0) if positions else 0.0
    for n in g.nodes:
        attrs = _node_attrs(node_looks[n])
        if positions and n in positions:
            x, y = positions[n]
            attrs["pos"] = f"{_pt(x)},{_pt(height - y)}"  # Graphviz's y grows upward
        dot.node(str(n), **attrs)
    badged = {}
    if shared_refs:
        for leaf, users in shared_uses(g).items():
            paint = node_looks[ref_target(g, leaf)].paint
            label = "-> " + ref_label(g, leaf)  # graphviz-pure has no width for an arrow glyph
            for user in users:
                b = badged[(leaf, user)] = f"ref{len(badged)}"  # "ref:..." would read as a port
                attrs = dict(
                    label=f"<<b>{escape(label)}</b>>",
                    shape="box",
                    style="rounded,filled",
                    fillcolor=paint.fill,
                    color=paint.border,
                    fontcolor=paint.text,
                    fontsize="9",
                    height="0.22",
                    width="0.3",
                    margin="0.06,0.02",
                )
                if positions and ref_id(leaf, user) in positions:
                    x, y = positions[ref_id(leaf, user)]
                    attrs["pos"] = f"{_pt(x)},{_pt(height - y)}"
                dot.node(b, **attrs)
    for u, v, a in g.edges(data=True):
        attrs = {}
        if (u, v) in badged:
            u = badged[(u, v)]  # the edge starts at the use's badge
        elif badged:
            attrs["weight"] = "8"  # the real edges stay straight; the badges sit beside them
        if a.get("kind") == "detach":
            attrs.update(style="dashed", color="#8a8a8a", label="detach()")
        elif edge_labels and a.get("shape") is not None:
            attrs["label"] = shape_text(tuple(a["shape"]))
        dot.edge(str(u), str(v), **attrs)
    if legend:
        dot.node(
            LEGEND_ID,
            label=legend_label(cs.legend(legend_states(g, elements)), cs),
            shape="plaintext",
            margin="0",
        )
    return dot
