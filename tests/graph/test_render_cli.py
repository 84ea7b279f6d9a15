"""``gradviz render INPUT -o OUT``: headless drawing, and one-line errors for bad input."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
import zipfile

import networkx as nx
import pytest

from gradviz.__main__ import main

SCRIPT = """
import gradviz as torch
x = torch.tensor(3.0)
w = torch.tensor(4.0, requires_grad=True)
b = torch.tensor(5.0, requires_grad=True)
y = w * x + b
y.backward()
"""


def write(tmp_path, text, name="model.py"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf", "dot", "graphml"])
def test_render_each_format(tmp_path, capsys, fmt):
    out = tmp_path / f"y.{fmt}"
    assert main(["render", str(write(tmp_path, SCRIPT)), "-o", str(out)]) == 0
    assert out.stat().st_size > 100
    assert capsys.readouterr().out.strip() == str(out)


def test_outputs_are_the_named_tensors_nothing_else_was_computed_from(tmp_path):
    script = write(
        tmp_path,
        SCRIPT
        + """
h = w * 2
z = (h + 1).sum()
_private = torch.tensor(1.0)
alone = torch.ones(2)
""",
    )
    out = tmp_path / "g.graphml"
    assert (
        main(["render", str(script), "-o", str(out), "--view", "tensors", "--stat", "mean", "--scale", "log"])
        == 0
    )
    g = nx.read_graphml(out)
    outputs = {g.nodes[n]["name"] for n in g.graph["outputs"].split(",")}
    assert outputs == {"y", "z", "alone"}
    names = {a.get("name") for _, a in g.nodes(data=True)}
    assert {"x", "w", "b", "h"} <= names and "_private" not in names
    assert g.graph["stat"] == "mean" and g.graph["scale"] == "log"


def test_render_options(tmp_path):
    out = tmp_path / "g.svg"
    args = ["render", str(write(tmp_path, SCRIPT)), "-o", str(out), "--view", "autograd", "--edge-labels"]
    assert main([*args, "--title", "seed", "--no-legend", "--cmap", "magma"]) == 0
    texts = [t.text for t in ET.parse(out).getroot().iter("{http://www.w3.org/2000/svg}text")]
    assert "seed" in texts and "AddBackward0" in texts and "grad L2 norm" not in texts


@pytest.mark.parametrize(
    ("script", "out", "message"),
    [
        (None, "y.png", "no such file"),
        ("x = (1,\n", "y.png", "line 1: SyntaxError"),
        (
            "import gradviz as torch\nx = torch.tensor(1.0)\ny = x + undefined\n",
            "y.png",
            "line 3: NameError: name 'undefined'",
        ),
        (
            "import gradviz as torch\ny = torch.tensor(1.0, requires_grad=True) * 2\ny.backward(); y.backward()\n",
            "y.png",
            "line 3: RuntimeError: Trying to backward",
        ),
        ("a = 1\n", "y.png", "leaves no tensors"),
        ("import sys\nsys.exit(3)\n", "y.png", "exited with status 3"),
        (SCRIPT, "y.jpeg", "unknown output format '.jpeg'"),
        (SCRIPT, "missing/y.png", "does not exist"),
    ],
)
def test_bad_input_gets_one_line_and_a_non_zero_exit(tmp_path, capsys, script, out, message):
    src = tmp_path / "model.py" if script is None else write(tmp_path, script)
    assert main(["render", str(src), "-o", str(tmp_path / out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert message in err and (str(src) in err or str(tmp_path / out) in err), err


def test_other_inputs_and_unknown_colour_maps(tmp_path, capsys):
    session = tmp_path / "s.gradviz"
    session.write_bytes(b"PK")
    text = tmp_path / "notes.txt"
    text.write_text("hi")
    for src, message in (
        (session, "not a gradviz session"),
        (text, "expected a .py script"),
        (tmp_path, "not a file"),
    ):
        assert main(["render", str(src), "-o", str(tmp_path / "y.png")]) == 1
        assert message in capsys.readouterr().err
    script = write(tmp_path, SCRIPT)
    assert main(["render", str(script), "-o", str(tmp_path / "y.svg"), "--cmap", "no-such-map"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(script) in err


def test_usage_errors_exit_non_zero(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["render", "x.py"])  # no -o
    assert exc.value.code == 2
    assert "-o" in capsys.readouterr().err


def test_no_arguments_opens_the_window(monkeypatch):
    import gradviz.gui.app

    calls = []
    monkeypatch.setattr(gradviz.gui.app, "main", lambda argv: calls.append(list(argv)) or 0)
    assert main([]) == 0
    assert main(["session.gradviz"]) == 0
    assert calls == [[], ["session.gradviz"]]


def test_python_dash_m_gradviz_render(tmp_path):
    out = tmp_path / "y.svg"
    run = subprocess.run(
        [sys.executable, "-m", "gradviz", "render", str(write(tmp_path, SCRIPT)), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    ET.parse(out)
    bad = subprocess.run(
        [sys.executable, "-m", "gradviz", "render", str(tmp_path / "nope.py"), "-o", str(out)],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "nope.py: no such file" in bad.stderr


LOOP = """
import gradviz as torch
x = torch.tensor([0.5, -0.3], requires_grad=True)
w = torch.tensor([0.9, 1.1], requires_grad=True)
y = x
for i in range({steps}):
    y = torch.tanh(y * w + x)
    y.retain_grad()
y.sum().backward()
"""


def test_render_folds_a_loop_by_default(tmp_path):
    script = write(tmp_path, LOOP.format(steps=300))
    out = tmp_path / "g.graphml"
    assert main(["render", str(script), "-o", str(out)]) == 0
    g = nx.read_graphml(out)
    (group,) = [a for _, a in g.nodes(data=True) if a.get("type") == "repeat"]
    assert group["label"] == "× 300" and group["count"] == 300
    assert group["body"] == "mul,add,tanh"
    assert len(group["grad_norms"].split(",")) == 300
    assert g.number_of_nodes() == 4  # x, w, the group, y
    png = tmp_path / "g.png"
    assert main(["render", str(script), "-o", str(png)]) == 0
    from PIL import Image

    with Image.open(png) as im:  # one screen, not 157 x 32,000 pixels
        assert im.size[0] <= 1920 and im.size[1] <= 1200, im.size


def test_render_draws_a_small_loop_whole(tmp_path):
    script = write(tmp_path, LOOP.format(steps=10))
    out = tmp_path / "g.graphml"
    assert main(["render", str(script), "-o", str(out)]) == 0
    assert sum(1 for _, a in nx.read_graphml(out).nodes(data=True) if a.get("op") == "tanh") == 10


def test_render_no_fold_draws_every_step(tmp_path):
    script = write(tmp_path, LOOP.format(steps=30))
    out = tmp_path / "g.graphml"
    assert main(["render", str(script), "-o", str(out), "--no-fold"]) == 0
    g = nx.read_graphml(out)
    assert not [a for _, a in g.nodes(data=True) if a.get("type") == "repeat"]
    assert sum(1 for _, a in g.nodes(data=True) if a.get("op") == "tanh") == 30


def test_render_folds_the_autograd_view_too(tmp_path):
    script = write(tmp_path, LOOP.format(steps=60))
    out = tmp_path / "g.graphml"
    assert main(["render", str(script), "-o", str(out), "--view", "autograd"]) == 0
    g = nx.read_graphml(out)
    (group,) = [a for _, a in g.nodes(data=True) if a.get("type") == "repeat"]
    assert group["label"] == "× 60" and "" not in group["grad_norms"].split(",")


REVIEWED_LOOP = """
import gradviz as torch
h = torch.tensor([0.5, 0.1], requires_grad=True)
for _ in range(30):
    g = h.tanh()
    h = (g + h).tanh() * g.tanh()
h.sum().backward()
"""


def test_render_folds_a_step_that_uses_a_value_twice(tmp_path):
    """Once a TypeError in the search for repeats."""
    out = tmp_path / "g.graphml"
    assert main(["render", str(write(tmp_path, REVIEWED_LOOP)), "-o", str(out)]) == 0
    (group,) = [a for _, a in nx.read_graphml(out).nodes(data=True) if a.get("type") == "repeat"]
    assert group["label"] == "× 30" and group["body"] == "tanh,add,tanh,tanh,mul"


def test_render_draws_whole_when_folding_fails(tmp_path, monkeypatch, capsys):
    import gradviz.graph.folding as folding

    def broken(g, *args, **kw):
        raise IndexError("a bug in the search for repeats")

    monkeypatch.setattr(folding, "find_repeats", broken)
    out = tmp_path / "g.graphml"
    assert main(["render", str(write(tmp_path, REVIEWED_LOOP)), "-o", str(out)]) == 0
    g = nx.read_graphml(out)
    assert not [a for _, a in g.nodes(data=True) if a.get("type") == "repeat"]
    assert sum(1 for _, a in g.nodes(data=True) if a.get("op") == "tanh") == 90
    assert "bug" not in capsys.readouterr().err


# --- a PyTorch snapshot (.gradviz) is drawn as the script it was taken from --------------------

TORCH_SCRIPT = """
import torch
torch.manual_seed(0)
w = torch.randn(3, requires_grad=True)
x = torch.tensor([1.0, 2.0, 3.0])
h = (w * x).tanh()
loss = h.sum()
loss.backward()
"""


@pytest.fixture(scope="module")
def torch_snapshot(tmp_path_factory):
    """A PyTorch script, and its snapshot file as File ▸ Open PyTorch Script saves it."""
    pytest.importorskip("torch")
    from gradviz.graph.render import load_torch_script, torch_script_names
    from gradviz.graph.snapshot import take_snapshot
    from gradviz.session import snapshot_file

    folder = tmp_path_factory.mktemp("snap")
    script = write(folder, TORCH_SCRIPT, "s.py")
    tensors, names = load_torch_script(script)
    snapshot_file.save(
        take_snapshot(tensors, torch_script_names(tensors, names), script="s.py"), folder / "s.gradviz"
    )
    return script, folder / "s.gradviz"


def _fills(dot: str) -> list[str]:
    return sorted(
        line.split('fillcolor="')[1].split('"')[0] for line in dot.splitlines() if "fillcolor=" in line
    )


def test_render_draws_a_pytorch_snapshot_as_its_script_drawn_live(torch_snapshot, tmp_path, capsys):
    script, snap = torch_snapshot
    for fmt in ("svg", "png", "pdf", "dot"):
        out = tmp_path / f"snap.{fmt}"
        assert main(["render", str(snap), "-o", str(out)]) == 0, capsys.readouterr().err
        assert capsys.readouterr().out.strip() == str(out) and out.stat().st_size > 100
    svg = (tmp_path / "snap.svg").read_text()
    assert all(f">{name}<" in svg for name in ("w", "x", "h", "loss"))
    for view in ("tensors", "autograd"):
        live, kept = tmp_path / f"live_{view}.dot", tmp_path / f"kept_{view}.dot"
        assert main(["render", str(script), "--torch", "--view", view, "-o", str(live)]) == 0
        assert main(["render", str(snap), "--view", view, "-o", str(kept)]) == 0
        if view == "tensors":  # the same ids: the same picture, byte for byte
            assert kept.read_text() == live.read_text()
        else:  # the same nodes, coloured alike (one scale, fitted on the Tensors view)
            assert _fills(kept.read_text()) == _fills(live.read_text())
            assert kept.read_text().count("->") == live.read_text().count("->")


def test_a_snapshot_where_a_session_is_expected_is_named_as_such(torch_snapshot, tmp_path, capsys):
    from gradviz.session import fileformat
    from gradviz.session.document import Session

    _, snap = torch_snapshot
    with pytest.raises(
        fileformat.SessionFileError, match=r"s.gradviz: manifest.json: this is a PyTorch snapshot"
    ):
        fileformat.open_into(Session(), snap)
    assert main(["render", str(snap), "--step", "0", "-o", str(tmp_path / "x.svg")]) == 1
    err = capsys.readouterr().err
    assert "a PyTorch snapshot keeps its graph as data" in err and "without --step" in err
    assert not (tmp_path / "x.svg").exists()
    bad = tmp_path / "bad.gradviz"
    with zipfile.ZipFile(snap) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    doc = json.loads(members["snapshot.json"])
    next(t for t in doc["tensors"] if t["grad"] is not None)["grad"]["shape"] = [99]
    members["snapshot.json"] = json.dumps(doc).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    bad.write_bytes(buf.getvalue())
    assert main(["render", str(bad), "-o", str(tmp_path / "x.svg")]) == 1
    err = capsys.readouterr().err
    assert (
        err.startswith(f"gradviz render: error: {bad}: snapshot.json: tensor ") and "grad: shape [99]" in err
    )
    assert not (tmp_path / "x.svg").exists()
