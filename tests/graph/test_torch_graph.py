"""Real PyTorch graphs drawn by gradviz: checked against torchviz's ``make_dot`` on the same
tensors (the same backward nodes and edges as our autograd view), and the gradients shown
against ``param.grad`` and ``retain_grad()``.

torchvision cannot be installed beside torch 2.13 here, so its resnet18 is rebuilt from
``torch.nn`` in tests/torch_models.py (shared with benchmarks/torch_graph.py), module for module.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
import textwrap
from collections import Counter

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torchviz = pytest.importorskip("torchviz")
nn = torch.nn
F = torch.nn.functional

from torch_models import RESNET18_PARAMETERS, resnet18_loss  # noqa: E402 - tests/, shared

import gradviz  # noqa: E402
from gradviz.graph import torch_capture, torch_graph  # noqa: E402
from gradviz.graph.model import AUTOGRAD, TENSORS, build_graph, preview  # noqa: E402
from gradviz.graph.torch_capture import capture  # noqa: E402
from gradviz.graph.torch_graph import build_torch_graph  # noqa: E402

# --- torchviz's graph, read from its DOT lines --------------------------------------------------

_NODE = re.compile(r'^\t(\d+) \[label=(".*?"|\S+?)(?: fillcolor=(\S+))?\]$', re.S)
_EDGE = re.compile(r"^\t(\d+) -> (\d+)(?: \[(.*)\])?$")


def torchviz_graph(out, params=None):
    """(nodes {id: (label, fill)}, edges {(a, b)}) of make_dot(out): the backward graph only
    (a view's base tensor, drawn dotted by torchviz, is not part of it)."""
    dot = torchviz.make_dot(out, params=params)
    nodes: dict[int, tuple[str, str | None]] = {}
    edges: set[tuple[int, int]] = set()
    for line in dot.body:
        line = line.rstrip("\n")
        m = _EDGE.match(line)
        if m:
            if "dotted" not in (m.group(3) or ""):
                edges.add((int(m.group(1)), int(m.group(2))))
            continue
        m = _NODE.match(line)
        if m:
            nodes[int(m.group(1))] = (m.group(2).strip('"'), m.group(3))
    base = {n for n, (_, fill) in nodes.items() if fill == "darkolivegreen3"}
    return {n: v for n, v in nodes.items() if n not in base}, {e for e in edges if not set(e) & base}


def ours(g):
    """Our autograd view in torchviz's terms: {torch id: label}, {(torch id, torch id)}."""
    nodes = {}
    for _, a in g.nodes(data=True):
        nodes[a["torch_id"]] = a["label"] if a["type"] != "tensor" else ("tensor", a["shape"], a["kind"])
    edges = {(g.nodes[u]["torch_id"], g.nodes[v]["torch_id"]) for u, v in g.edges}
    return nodes, edges


def assert_same_as_torchviz(out, **kw):
    g = gradviz.draw(out, view=AUTOGRAD, **kw).model
    tv_nodes, tv_edges = torchviz_graph(out)
    nodes, edges = ours(g)
    assert set(nodes) == set(tv_nodes)
    assert edges == tv_edges
    for nid, (label, fill) in tv_nodes.items():
        if fill is None:  # a backward node: the same name
            assert nodes[nid] == label
        else:  # a tensor: leaf (lightblue) or output (darkolivegreen1), the same shape
            _kind, shape, our_kind = nodes[nid]
            assert f"({', '.join(str(s) for s in shape)})" in label
            assert our_kind == {"lightblue": "leaf", "darkolivegreen1": "output"}[fill]
    # The Tensors view stands for the same backward nodes: each op for one node, or for every
    # node of one call (F.linear: TBackward0 + AddmmBackward0), each node in exactly one op.
    t = build_graph(out, view=TENSORS)
    parts = [i for _, a in t.nodes(data=True) if a["type"] == "op" for i in a["torch_ids"]]
    assert len(parts) == len(set(parts))
    assert set(parts) == {
        i for i, (label, fill) in tv_nodes.items() if fill is None and label != "AccumulateGrad"
    }
    return g


def assert_grads_shown(g, tensors):
    """Every tensor node of ``tensors`` (name -> tensor with a .grad) shows that gradient."""
    by_id = {a["torch_id"]: a for _, a in g.nodes(data=True) if a["type"] == "tensor"}
    for name, t in tensors.items():
        a = by_id[id(t)]
        grad = t.grad.detach().numpy()
        assert a["grad"] == preview(grad), name
        assert a["grad_stats"].norm == pytest.approx(float(np.linalg.norm(grad.astype(np.float64))), rel=1e-6)


# --- the models ---------------------------------------------------------------------------------


def seed():
    x = torch.tensor([1.0, 2.0, 3.0])
    w = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    b = torch.tensor([0.1, 0.2, 0.3], requires_grad=True)
    with capture():
        y = w * x + b
        y.backward(torch.ones_like(y))
    return y, {"w": w, "b": b, "x": x}


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(4, 8), nn.Linear(8, 3)

    def forward(self, x, keep=None):
        h = self.fc1(x)
        a = F.relu(h)
        logits = self.fc2(a)
        if keep is not None:
            for k, t in (("h", h), ("a", a), ("logits", logits)):
                t.retain_grad()
                keep[k] = t
        return logits


class Block(nn.Module):
    """A resnet BasicBlock in miniature: conv-bn-relu-conv-bn, plus the input, relu."""

    def __init__(self, c):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + x)


def small_cnn(blocks=2):
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        *[Block(8) for _ in range(blocks)],
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 10),
    )


def transformer_block():
    return nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32, dropout=0.0, batch_first=True)


# --- the same graph as torchviz ---------------------------------------------------------------


def test_the_seed_is_torchviz_s_graph_with_its_gradients():
    y, t = seed()
    g = assert_same_as_torchviz(y)
    assert_grads_shown(g, {"w": t["w"], "b": t["b"]})
    tv = gradviz.draw(y, names={**t, "y": y}).model  # the tensors view: w * x + b, x a constant
    labels = {a["label"]: a for _, a in tv.nodes(data=True) if a["type"] == "tensor"}
    assert {"w", "b", "x", "y"} <= set(labels)
    assert labels["x"]["kind"] == "constant" and labels["y"]["kind"] == "output"
    assert labels["y"]["value"] == preview(y.detach().numpy())
    assert any(a.get("expr") == "w * x" for _, a in tv.nodes(data=True))


def test_an_mlp_with_cross_entropy_and_its_intermediate_gradients():
    torch.manual_seed(0)
    net = MLP()
    oracle_net = copy.deepcopy(net)
    x, target = torch.randn(5, 4), torch.tensor([0, 2, 1, 1, 0])
    kept: dict = {}
    F.cross_entropy(oracle_net(x, keep=kept), target).backward()  # retain_grad(): the oracle
    with capture(model=net):
        loss = F.cross_entropy(net(x), target)
        loss.backward()
    g = assert_same_as_torchviz(loss, model=net)
    params = dict(net.named_parameters())
    assert_grads_shown(g, params)
    leaves = {a["name"] for _, a in g.nodes(data=True) if a["type"] == "tensor" and a["kind"] == "leaf"}
    assert leaves == set(params)  # named by module path, as torchviz's params= would
    # Intermediates: PyTorch's .grad is None; gradviz shows what the hooks caught, which is
    # what retain_grad() gives the same computation.
    tv = build_graph(loss, view=TENSORS)
    shown = {
        a["shape"]: a
        for _, a in tv.nodes(data=True)
        if a["type"] == "tensor" and a["kind"] == "intermediate" and a["kept_by_gradviz"]
    }
    for name, shape in (("h", (5, 8)), ("logits", (5, 3))):
        want = kept[name].grad.numpy()
        candidates = [a for _, a in tv.nodes(data=True) if a["type"] == "tensor" and a["shape"] == shape]
        assert any(a["grad"] == preview(want) and a["kept_by_gradviz"] for a in candidates), name
        assert shape in shown
    scopes = {a["scope"][-1][1] for _, a in tv.nodes(data=True) if a["type"] == "op" and a["scope"]}
    assert {"fc1 (Linear)", "fc2 (Linear)"} <= scopes
    # one call, one op, as gradviz's engine draws it
    calls = sorted((a["label"], a["parts"]) for _, a in tv.nodes(data=True) if a["type"] == "op")
    assert calls == [
        ("cross_entropy", ("LogSoftmaxBackward0", "NllLossBackward0")),
        ("linear", ("TBackward0", "AddmmBackward0")),
        ("linear", ("TBackward0", "AddmmBackward0")),
        ("relu", ("ReluBackward0",)),
    ]


def test_a_transformer_block_built_from_torch_nn():
    torch.manual_seed(0)
    block = transformer_block()
    x = torch.randn(2, 5, 16)
    with capture(model=block) as cap:
        out = block(x)
        loss = out.pow(2).mean() + out.sum() * 0.01
        loss.backward()
    g = assert_same_as_torchviz(loss, model=block)
    assert_grads_shown(g, dict(block.named_parameters()))
    names = {a["name"] for _, a in g.nodes(data=True) if a["type"] == "tensor"}
    assert "self_attn.in_proj_weight" in names
    # attention is one call, one op; the nodes inside it, which the mode never saw, were hooked
    tv = build_graph(loss, view=TENSORS)
    (mha,) = [a for _, a in tv.nodes(data=True) if a.get("op") == "multi_head_attention_forward"]
    assert len(mha["parts"]) > 20 and "ScaledDotProductFlashAttentionForCpuBackward0" in mha["parts"]
    assert all((i, 0) in cap.record.grads for i in mha["torch_ids"])
    kept = [a for _, a in tv.nodes(data=True) if a["type"] == "tensor" and a["kept_by_gradviz"]]
    assert len(kept) > 10 and all(a["grad"] != "None" for a in kept)


def test_a_multihead_attention_alone():
    torch.manual_seed(1)
    mha = nn.MultiheadAttention(16, 4, batch_first=True)
    q = torch.randn(2, 3, 16, requires_grad=True)
    with capture(model=mha):
        out, _ = mha(q, q, q)
        out.sum().backward()
    g = assert_same_as_torchviz(out, model=mha)
    assert_grads_shown(g, {"q": q, **dict(mha.named_parameters())})


def test_a_resnet_like_cnn():
    torch.manual_seed(0)
    net = small_cnn()
    x = torch.randn(2, 3, 8, 8)
    with capture(model=net):
        loss = F.cross_entropy(net(x), torch.tensor([1, 7]))
        loss.backward()
    g = assert_same_as_torchviz(loss, model=net)
    assert_grads_shown(g, dict(net.named_parameters()))
    names = {a.get("label") for _, a in g.nodes(data=True)}
    assert {
        "ConvolutionBackward0",
        "NativeBatchNormBackward0",
        "AddBackward0",
        "MaxPool2DWithIndicesBackward0",
    } <= names
    assert "4.conv1.weight" in names  # Sequential index, then the block's own names
    # saved-tensor badges, noted before backward() freed them
    conv = next(a for _, a in g.nodes(data=True) if a.get("label") == "ConvolutionBackward0")
    assert conv["saved_freed"] and conv["saved"] and "weight" in conv["saved_names"]


def test_saved_values_after_backward_are_those_read_before_it():
    # A captured node's saved tensors freed by backward(): its badges and parameters are what
    # read_saved() gave before backward(); with retain_graph nothing is freed, and they are read now.
    for retain in (False, True):
        x = torch.randn(1, 2, 6, 6, requires_grad=True)
        conv = torch.nn.Conv2d(2, 3, 3, stride=2, padding=1)
        with capture(model=conv):
            y = conv(x).relu().sum()
            before = {n.name(): torch_capture.read_saved(n) for n in (y.grad_fn.next_functions[0][0],)}
            y.backward(retain_graph=retain)
        g = build_torch_graph(y, view=AUTOGRAD)
        relu = next(a for _, a in g.nodes(data=True) if a.get("label") == "ReluBackward0")
        shapes, names, _params, _freed = before["ReluBackward0"]
        assert (relu["saved"], relu["saved_names"], relu["saved_freed"]) == (shapes, names, not retain)
        c = next(a for _, a in g.nodes(data=True) if a.get("label") == "ConvolutionBackward0")
        assert "stride=" in c["params"] and c["saved_freed"] is (not retain)
        assert "weight" in c["saved_names"] and (3, 2, 3, 3) in c["saved"]


def test_torchvision_s_resnet18_full_width():
    loss, net = resnet18_loss()
    params = dict(net.named_parameters())
    assert sum(p.numel() for p in params.values()) == RESNET18_PARAMETERS and len(params) == 62
    g = assert_same_as_torchviz(loss, model=net)
    assert_grads_shown(g, params)
    kinds = Counter(a["label"] if a["type"] != "tensor" else a["kind"] for _, a in g.nodes(data=True))
    # torchviz's make_dot of torchvision's resnet18 has these, 197 nodes in all
    assert kinds["ConvolutionBackward0"] == kinds["NativeBatchNormBackward0"] == 20
    assert kinds["ReluBackward0"] == 17 and kinds["AddBackward0"] == 8  # in-place, as torchvision's
    assert kinds["AccumulateGrad"] == kinds["leaf"] == 62 and g.number_of_nodes() == 197
    assert "layer2.0.downsample.1.weight" in {a.get("name") for _, a in g.nodes(data=True)}


def test_a_double_backward_graph():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with capture():
        y = (x**3).sum()
        (gx,) = torch.autograd.grad(y, x, create_graph=True)
        z = (gx**2).sum()
        z.backward()
    g = assert_same_as_torchviz(z)
    assert_grads_shown(g, {"x": x})
    assert x.grad is not None and np.allclose(x.grad.numpy(), 36 * x.detach().numpy() ** 3)


def test_graph_read_without_a_capture_and_before_backward():
    torch_capture._last.clear()  # no capture at all
    w = torch.randn(3, requires_grad=True)
    y = (w.exp() * 2).sum()
    g = assert_same_as_torchviz(y)
    exp = next(a for _, a in g.nodes(data=True) if a.get("label") == "ExpBackward0")
    assert exp["saved"] == [(3,)] and exp["saved_names"] == ["result"] and not exp["saved_freed"]
    leaf = next(a for _, a in g.nodes(data=True) if a["type"] == "tensor" and a["kind"] == "leaf")
    assert leaf["grad"] == "None"
    y.backward()
    g = build_torch_graph(y, view=AUTOGRAD)
    exp = next(a for _, a in g.nodes(data=True) if a.get("label") == "ExpBackward0")
    assert exp["saved_freed"]


def test_params_of_backward_nodes_and_negative_dims():
    x = torch.randn(2, 3, requires_grad=True)
    y = x.unsqueeze(-1).transpose(0, 1).sum()
    g = build_torch_graph(y, view=TENSORS)
    labels = {a["label"] for _, a in g.nodes(data=True) if a["type"] == "op"}
    assert "unsqueeze(dim=-1)" in labels and "transpose(dim0=0, dim1=1)" in labels


_COMPLEX = re.compile(r"(\S+?)(?<!e)([+-])(\S+)j")  # re, the imaginary part's sign, |im|: torch's "1.5-2.25j"


def _complex_parts(text):
    m = _COMPLEX.fullmatch(text.strip())
    assert m, text
    return float(m[1]), m[2], float(m[3])


@pytest.mark.parametrize(
    "values",
    [[1 + 2j], [1.5 - 2.25j, 3j], [-0.0003 + 1e5j, 1 + 1j], [complex(1, -0.0), complex(float("nan"), 1)]],
    ids=["whole", "fractions", "tiny-and-huge", "signed-zero-and-nan"],
)
def test_a_complex_value_previews_as_torch_prints_it(values):
    """Each element as torch's repr writes it, a+bj without brackets, to three digits."""
    for t in (torch.tensor(values), torch.tensor(values[0])):
        ours = preview(t.numpy())
        theirs = repr(t).removeprefix("tensor(").removesuffix(")")
        ours_items, theirs_items = (s.strip("[]").split(",") for s in (ours, theirs))
        assert len(ours_items) == len(theirs_items), (ours, theirs)
        for mine, torch_s in zip(ours_items, theirs_items, strict=True):
            (re_a, sign_a, im_a), (re_b, sign_b, im_b) = _complex_parts(mine), _complex_parts(torch_s)
            assert sign_a == sign_b, (mine, torch_s)
            np.testing.assert_allclose([re_a, im_a], [re_b, im_b], rtol=5e-3, equal_nan=True)


def test_a_script_leaving_a_complex_tensor_is_drawn_with_its_value_and_gradient():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    oracle = torch.complex(x, x * 2)
    oracle.retain_grad()
    (oracle * oracle).abs().sum().backward()
    with capture():  # once "float() argument must be ... not 'complex'" here
        z = torch.complex(x, x * 2)
        loss = (z * z).abs().sum()
        loss.backward()
    build_torch_graph(loss, view=AUTOGRAD)
    g = build_torch_graph(loss, view=TENSORS, names={"z": z, "loss": loss})
    node = next(a for _, a in g.nodes(data=True) if a["type"] == "tensor" and a["name"] == "z")
    assert node["dtype"] == "complex64"
    for text, want in ((node["value"], oracle.detach()), (node["grad"], oracle.grad)):
        items = [complex(s.strip()) for s in text.strip("[]").split(",")]
        np.testing.assert_allclose(items, want.numpy(), rtol=5e-3)
    # Coloured by the gradient's norm as torch measures it, the imaginary part included.
    assert node["grad_stats"].norm == pytest.approx(torch.linalg.vector_norm(oracle.grad).item(), rel=1e-6)


# --- the window's stand-ins -------------------------------------------------------------------


def test_the_inspector_s_stand_in_speaks_for_the_tensor():
    y, t = seed()
    view = torch_graph.view_of(t["w"])
    assert repr(view) == repr(t["w"]) and view.is_leaf and view.requires_grad
    assert np.array_equal(view.peek_array(), t["w"].detach().numpy())
    assert repr(view.peek_grad()) == repr(t["w"].grad)
    yv = torch_graph.view_of(y)
    assert yv.peek_grad() is None and yv.grad_fn.name() == "AddBackward0"  # PyTorch: None
    g = build_graph(y, view=TENSORS)
    node = next(a for _, a in g.nodes(data=True) if a["type"] == "tensor" and a.get("torch_id") == id(y))
    assert node["tensor"] is yv and yv.grad_fn.kept_grad(yv) is not None


def test_a_tensors_source_names_torch_tensors():
    from gradviz.graph.source import TensorsSource

    y, t = seed()
    src = TensorsSource(y, {"w": t["w"], "y": y})
    _g, names = src.snapshot()(TENSORS)
    assert sorted(names.values()) == ["w", "y"]
    assert repr(src.tensor("w")) == repr(t["w"])


# --- render --torch, and without torch ----------------------------------------------------------

SCRIPT = """
import torch
import torch.nn as nn
torch.manual_seed(0)
block = nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32, dropout=0.0, batch_first=True)
x = torch.randn(2, 5, 16)
out = block(x)
loss = out.pow(2).mean()
loss.backward()
"""


def test_render_torch_draws_what_the_script_leaves(tmp_path):
    script = tmp_path / "block.py"
    script.write_text(textwrap.dedent(SCRIPT))
    out = tmp_path / "block.graphml"
    run = subprocess.run(
        [sys.executable, "-m", "gradviz", "render", str(script), "--torch", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    import networkx as nx

    g = nx.read_graphml(out)
    names = {a.get("name") for _, a in g.nodes(data=True)}
    assert {"loss", "out", "self_attn.in_proj_weight", "linear1.weight"} <= names
    kept = [a for _, a in g.nodes(data=True) if a.get("kept_by_gradviz")]
    assert kept and all(a.get("grad_state") in ("finite", "zero") for a in kept)


def test_render_torch_stops_at_the_timeout(tmp_path):
    script = tmp_path / "loop.py"
    script.write_text("import torch\nx = torch.ones(2, requires_grad=True)\nwhile True:\n    y = x * 2\n")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "gradviz",
            "render",
            str(script),
            "--torch",
            "--timeout",
            "2",
            "-o",
            str(tmp_path / "o.svg"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 124 and "--timeout" in run.stderr
    assert not (tmp_path / "o.svg").exists()


def test_without_torch_the_entry_points_say_how_to_install_it(tmp_path, monkeypatch):
    from gradviz.graph.render import RenderError, render

    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails
    with pytest.raises(ImportError, match=r"pip install torch"), gradviz.capture():
        pass
    script = tmp_path / "s.py"
    script.write_text("x = 1\n")
    with pytest.raises(RenderError, match=r"--torch needs PyTorch.*pip install torch"):
        render(script, tmp_path / "o.svg", torch=True)
    # everything else works
    w = gradviz.tensor(2.0, requires_grad=True)
    y = w * 3
    y.backward()
    g = gradviz.draw(y).model
    assert any(a.get("name") == "w" for _, a in g.nodes(data=True))
    gv_script = tmp_path / "gv.py"
    gv_script.write_text("import gradviz as torch\nw = torch.tensor(2.0, requires_grad=True)\ny = w * 3\n")
    assert render(gv_script, tmp_path / "gv.svg").exists()


def test_a_training_loop_inside_a_capture_keeps_only_the_last_step():
    torch.manual_seed(0)
    net = MLP()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, target = torch.randn(5, 4), torch.tensor([0, 2, 1, 1, 0])
    sizes = []
    with capture(model=net) as cap:
        for _ in range(30):
            opt.zero_grad()
            loss = F.cross_entropy(net(x), target)
            loss.backward()
            opt.step()
            sizes.append((len(cap.record.nodes), len(cap.record.outputs), len(cap.record.grads)))
    assert sizes[-1] == sizes[2]  # bounded: one step's graph, not thirty
    g = assert_same_as_torchviz(loss, model=net)
    assert_grads_shown(g, dict(net.named_parameters()))
    kept = [
        a for _, a in build_graph(loss).nodes(data=True) if a["type"] == "tensor" and a["kept_by_gradviz"]
    ]
    assert kept and all(a["grad"] != "None" for a in kept)


def test_module_calls_are_noted_without_a_model_too():
    torch.manual_seed(0)
    net = small_cnn(blocks=1)
    with capture():
        loss = net(torch.randn(1, 3, 8, 8)).sum()
        loss.backward()
    g = build_graph(loss, view=TENSORS)
    scopes = {tuple(label for _, label in a["scope"]) for _, a in g.nodes(data=True) if a["type"] == "op"}
    assert ("Sequential", "Sequential[4] (Block)", "Sequential[4].conv1 (Conv2d)") in scopes
    # an exception inside a forward leaves no module open for the next call
    bad = nn.Sequential(nn.Linear(2, 2))
    with capture(model=bad) as cap, pytest.raises(RuntimeError):
        bad(torch.randn(1, 3))
    assert cap._stack == []


def test_drawing_gradviz_tensors_never_imports_torch():
    code = (
        "import sys, gradviz\n"
        "from gradviz.graph import export, render, source, torch_graph\n"
        "y = gradviz.tensor(2.0, requires_grad=True) * 3\n"
        "y.backward()\n"
        "gradviz.draw(y)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
