"""Exports that open in standard viewers: SVG parses as XML, PNG has its header, size and colours,
PDF its header and page, DOT re-reads in Graphviz, GraphML re-reads in networkx; and draw()."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import graphviz
import networkx as nx
import numpy as np
import pytest

import gradviz as gv
from gradviz.graph import export as export_mod
from gradviz.graph.model import build_graph
from gradviz.graph.scene import Polygon, Rect, build_scene

SVG = "{http://www.w3.org/2000/svg}"


def seed_graph(view="tensors"):
    x = gv.tensor(3.0)
    w = gv.tensor(4.0, requires_grad=True)
    b = gv.tensor(5.0, requires_grad=True)
    y = w * x + b
    y.backward()
    return build_graph(y, view=view, names=dict(x=x, w=w, b=b, y=y))


def mlp_graph(view="tensors"):
    F = gv.nn.functional
    gv.manual_seed(0)
    x = gv.randn(2, 4)
    W1 = gv.randn(4, 8, requires_grad=True)
    b1 = gv.zeros(8, requires_grad=True)
    W2 = gv.randn(8, 3, requires_grad=True)
    b2 = gv.zeros(3, requires_grad=True)
    h = gv.relu(x @ W1 + b1)
    loss = F.nll_loss(F.log_softmax(h @ W2 + b2, dim=1), gv.tensor([0, 2]))
    loss.backward()
    return build_graph(loss, view=view, names=dict(x=x, W1=W1, b1=b1, W2=W2, b2=b2, h=h, loss=loss))


def _fill_of(g, name):
    from gradviz.graph.style import fit_scale, look

    cs = fit_scale(g)
    return look(next(a for _, a in g.nodes(data=True) if a.get("name") == name), cs).paint.fill


@pytest.mark.parametrize("view", ["tensors", "autograd"])
@pytest.mark.parametrize("make", [seed_graph, mlp_graph], ids=["seed", "mlp"])
def test_every_format_parses(make, view, tmp_path):
    g = make(view)
    w = "w" if make is seed_graph else "W1"
    fill = _fill_of(g, w)

    svg = export_mod.export(g, tmp_path / "g.svg")
    root = ET.parse(svg).getroot()
    assert root.tag == f"{SVG}svg" and float(root.get("width").rstrip("pt")) > 100
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert w in texts and "grad L2 norm" in texts  # the names and the legend
    assert fill in {r.get("fill") for r in root.iter(f"{SVG}rect")}  # the colours

    png = (tmp_path / "g.png").read_bytes() if export_mod.export(g, tmp_path / "g.png") else b""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width > 200 and height > 200

    pdf = export_mod.export(g, tmp_path / "g.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1

    dot = export_mod.export(g, tmp_path / "g.dot").read_text()
    src = graphviz.Source(dot)
    assert src.source.startswith("digraph") and fill in dot and "legend" in dot
    assert len(re.findall(r"\bpos=", dot)) == len(g)  # positions of what was on screen

    back = nx.read_graphml(export_mod.export(g, tmp_path / "g.graphml"))
    assert len(back) == len(g) and back.number_of_edges() == g.number_of_edges()
    node = next(a for _, a in back.nodes(data=True) if a.get("name") == w)
    assert node["fill"] == fill and node["grad_norm"] > 0 and node["width"] > 0
    assert back.graph["stat"] == "norm" and back.graph["view"] == view
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_dot_export_renders_with_graphviz(tmp_path):
    from gradviz.graph.dot_binary import find_dot

    path, _ = find_dot()
    if path is None:
        pytest.skip("no dot binary here")
    dot = export_mod.export(mlp_graph(), tmp_path / "g.dot")
    run = subprocess.run([path, "-Tsvg", str(dot)], capture_output=True, timeout=60)
    assert run.returncode == 0, run.stderr
    ET.fromstring(run.stdout)


def test_png_shows_the_gradient_colours():
    from PIL import Image

    from gradviz.graph.writers import to_png

    g = seed_graph()
    scene = build_scene(g)
    img = Image.open(io.BytesIO(to_png(scene, dpi=72))).convert("RGB")
    assert abs(img.size[0] - scene.width) <= 1 and abs(img.size[1] - scene.height) <= 1
    for name in ("w", "b"):
        n = next(n for n, a in g.nodes(data=True) if a.get("name") == name)
        x, y, _, h = scene.boxes[n]
        pixel = img.getpixel((round(x + 4), round(y + h / 2)))
        want = tuple(int(_fill_of(g, name)[i : i + 2], 16) for i in (1, 3, 5))
        assert np.abs(np.subtract(pixel, want)).max() <= 6, (name, pixel, want)


def test_scene_geometry():
    g = mlp_graph("autograd")
    scene = build_scene(g, edge_labels=True)
    boxes = scene.boxes
    legend = next(r for r in scene.items if isinstance(r, Rect) and r.stroke == "#bdbdbd")
    for x, y, w, h in boxes.values():
        assert x >= 0 and x + w <= scene.width and y >= 0 and y + h <= scene.height
        assert x + w <= legend.x  # the legend never covers the graph
    # every arrowhead touches the border of some node box
    tips = [p.points[0] for p in scene.items if isinstance(p, Polygon)]
    assert len(tips) == g.number_of_edges()
    for tx, ty in tips:
        assert any(
            x - 1 <= tx <= x + w + 1
            and y - 1 <= ty <= y + h + 1
            and min(tx - x, x + w - tx, ty - y, y + h - ty) <= 1
            for x, y, w, h in boxes.values()
        )


def test_unicode_names_and_pdf(tmp_path):
    θ = gv.tensor(1.0, requires_grad=True)
    loss = (θ * 2).sum()
    loss.backward()
    g = build_graph(loss, names={"θ": θ, "loss": loss})
    assert export_mod.export(g, tmp_path / "u.pdf").read_bytes().startswith(b"%PDF-")
    assert "θ" in export_mod.export(g, tmp_path / "u.svg").read_text(encoding="utf-8")


def test_export_options_and_errors(tmp_path):
    g = seed_graph("autograd")
    svg = export_mod.export(
        g, tmp_path / "o.svg", edge_labels=True, title="y = w*x + b", legend=False
    ).read_text()
    assert "y = w*x + b" in svg and "scalar" in svg and "grad L2 norm" not in svg
    mean = export_mod.export(g, tmp_path / "m.svg", stat="mean", scale="log").read_text()
    assert "grad mean (log)" in mean
    with pytest.raises(ValueError, match="format"):
        export_mod.export(g, tmp_path / "g.jpeg")
    assert export_mod.export(g, tmp_path / "noext", format="svg").read_text().startswith("<?xml")
    # tensors and draw() results are accepted as well as model graphs
    t = gv.tensor(2.0, requires_grad=True) * 3
    assert export_mod.export(t, tmp_path / "t.graphml").exists()


def test_draw_returns_a_digraph_that_shows_itself_without_dot(monkeypatch, tmp_path):
    from graphviz.backend import dot_command

    x = gv.tensor(3.0)
    weight = gv.tensor(4.0, requires_grad=True)
    y = weight * x
    y.backward()
    d = gv.draw(y)
    assert isinstance(d, graphviz.Digraph)
    assert "weight" in d.source and ">x<" in d.source  # names from the caller's variables
    monkeypatch.setattr(dot_command, "DOT_BINARY", tmp_path / "no-such-dot")
    bundle = d._repr_mimebundle_()
    ET.fromstring(bundle["image/svg+xml"].split("?>", 1)[1])
    assert d._repr_image_png()[:4] == b"\x89PNG"
    assert d.save(tmp_path / "d.pdf").read_bytes().startswith(b"%PDF")

    named = gv.draw(y, name="output", names={"W": weight}, view="autograd")
    assert ">output<" in named.source and ">W<" in named.source and "MulBackward0" in named.source
    anonymous = gv.draw(y, names={})
    assert "weight" not in anonymous.source
    with pytest.raises(ValueError, match="names"):
        gv.draw([y, y], name="one")


def test_import_gradviz_stays_light():
    code = "import sys, gradviz; print('networkx' in sys.modules, 'graphviz' in sys.modules, 'PIL' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False", "False"]


def test_exports_open_in_standard_viewers(tmp_path):
    """Poppler (PDF) and librsvg (SVG) render our files, where those tools are installed."""
    import shutil

    tools = {"pdf": shutil.which("pdftoppm"), "svg": shutil.which("rsvg-convert")}
    if not any(tools.values()):
        pytest.skip("neither pdftoppm nor rsvg-convert is installed")
    g = mlp_graph()
    if tools["pdf"]:
        pdf = export_mod.export(g, tmp_path / "g.pdf")
        run = subprocess.run(
            [tools["pdf"], "-png", "-r", "20", str(pdf), str(tmp_path / "p")], capture_output=True
        )
        assert run.returncode == 0 and not run.stderr, run.stderr
        assert (tmp_path / "p-1.png").read_bytes()[:4] == b"\x89PNG"
    if tools["svg"]:
        svg = export_mod.export(g, tmp_path / "g.svg")
        run = subprocess.run([tools["svg"], str(svg)], capture_output=True)
        assert run.returncode == 0 and run.stdout[:4] == b"\x89PNG", run.stderr


def test_exports_work_without_system_fonts(monkeypatch, tmp_path):
    """Where DejaVu Sans is missing: Pillow's built-in font for PNG, Helvetica for PDF."""
    from gradviz.graph import fonts

    monkeypatch.setattr(fonts, "font_file", lambda bold=False: None)
    fonts.pil_font.cache_clear()
    fonts.text_width.cache_clear()
    try:
        θ = gv.tensor(1.0, requires_grad=True)
        (θ * 2).backward()
        g = build_graph(θ * 2, names={"θ": θ})
        assert export_mod.export(g, tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
        assert export_mod.export(g, tmp_path / "f.pdf").read_bytes().startswith(b"%PDF-")
    finally:
        fonts.pil_font.cache_clear()
        fonts.text_width.cache_clear()
