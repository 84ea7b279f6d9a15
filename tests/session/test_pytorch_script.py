"""File ▸ Open PyTorch Script's runner: the script runs in a child process, and what it leaves is
a snapshot whose values and gradients are PyTorch's own (checked against the same script run
here with torch); its errors name the line; a snapshot saved and read back is the same; a
damaged snapshot file is refused with a message that says what and where."""

from __future__ import annotations

import io
import json
import os
import runpy
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch_models import MLP_SCRIPT as MLP  # noqa: E402 - tests/, shared

from gradviz.graph.snapshot import SnapshotSource  # noqa: E402
from gradviz.session import snapshot_file  # noqa: E402
from gradviz.session.fileformat import SessionFileError  # noqa: E402
from gradviz.session.pytorch_script import ScriptError, run_script  # noqa: E402


def write(tmp_path: Path, name: str, code: str) -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(code))
    return p


def node_of(snap, view: str, name: str) -> dict:
    g, names = snap.views[view]
    nid = next(n for n, m in names.items() if m == name)
    return g.nodes[nid]


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    """The MLP script's snapshot, and the same script run here (the oracle)."""
    path = write(tmp_path_factory.mktemp("mlp"), "mlp.py", MLP)
    return run_script(path), runpy.run_path(str(path))


def test_a_scripts_mlp_loss_comes_back_with_pytorchs_values_and_gradients(mlp) -> None:
    snap, ns = mlp
    model = ns["model"]
    assert {"0.weight", "0.bias", "2.weight", "2.bias", "x", "h", "loss"} <= set(snap.named)
    for name, p in model.named_parameters():
        t = snap.named[name]
        assert np.array_equal(t.peek_array(), p.detach().numpy()), name
        assert np.array_equal(t.peek_grad().peek_array(), p.grad.numpy()), name
        assert repr(t) == repr(p) and repr(t.peek_grad()) == repr(p.grad)
        assert repr(t.dtype) == "torch.float32" and repr(t.shape) == repr(p.shape)
        assert t.is_leaf and t.requires_grad and type(t).__name__ == "Parameter"
    loss = snap.named["loss"]
    assert loss.peek_array() == pytest.approx(ns["loss"].item()) and loss.grad_fn.name() == "MseLossBackward0"
    assert node_of(snap, "tensors", "loss")["is_output"]
    # the intermediate h: its value, and the gradient the capture kept (PyTorch's .grad is None)
    h = snap.named["h"]
    assert np.array_equal(h.peek_array(), ns["h"].detach().numpy()) and h.peek_grad() is None
    hh = ns["h"].detach().requires_grad_()
    ns["head"](hh).backward()
    node = node_of(snap, "tensors", "h")
    assert node["kept_by_gradviz"]
    np.testing.assert_allclose(node["grad_array"], hh.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(h.grad_fn.kept_grad(), hh.grad.numpy(), rtol=1e-6)
    # both views are there; the autograd view is PyTorch's backward graph
    kinds = {a["type"] for _, a in snap.views["autograd"][0].nodes(data=True)}
    assert {"backward", "accumulate", "tensor"} <= kinds


def test_a_snapshot_saved_and_read_back_is_the_same(mlp, tmp_path) -> None:
    snap, _ = mlp
    path = tmp_path / "mlp.gradviz"
    snapshot_file.save(snap, path)
    assert snapshot_file.is_snapshot(path)
    back = snapshot_file.load(path)
    assert back.script == "mlp.py" and back.torch_version == torch.__version__
    assert list(back.named) == list(snap.named)
    for view, (g, names) in snap.views.items():
        g2, names2 = back.views[view]
        assert names2 == names and set(g2.edges) == set(g.edges) and g2.graph["outputs"] == g.graph["outputs"]
        for nid, a in g.nodes(data=True):
            b = g2.nodes[nid]
            assert set(b) == set(a), nid
            for k, v in a.items():
                if k == "tensor":
                    assert (v is None) == (b[k] is None) and (v is None or repr(b[k]) == repr(v))
                elif k == "grad_array":
                    assert (v is None and b[k] is None) or np.array_equal(v, b[k])
                else:
                    assert b[k] == v and type(b[k]) is type(v), (nid, k)
        for u, v, a in g.edges(data=True):
            assert g2.edges[u, v] == a
    for name, t in snap.named.items():
        t2 = back.named[name]
        assert (
            np.array_equal(t2.peek_array(), t.peek_array()) and t2.peek_array().dtype == t.peek_array().dtype
        )
        assert (t2.peek_grad() is None) == (t.peek_grad() is None)
        if t.peek_grad() is not None:
            assert np.array_equal(t2.peek_grad().peek_array(), t.peek_grad().peek_array())
        assert (repr(t2), t2.is_leaf, t2.requires_grad, type(t2)) == (
            repr(t),
            t.is_leaf,
            t.requires_grad,
            type(t),
        )
    # what the window reads
    source = SnapshotSource(back)
    g, names = source.snapshot()("tensors")
    assert set(names.values()) <= set(source.names()) and source.tensor("loss") is back.named["loss"]


def test_a_read_snapshot_is_coloured_as_the_live_graph_was(tmp_path) -> None:
    """The colours of a read snapshot are computed again from the gradients it holds: they
    match those the graph builder gave the live torch graph, the steps inside a library call
    (known by their shape and gradient only, no value) included."""
    from gradviz.graph.render import load_torch_script, torch_script_names
    from gradviz.graph.snapshot import take_snapshot

    path = write(
        tmp_path,
        "mha.py",
        """\
        import torch
        import torch.nn as nn
        torch.manual_seed(0)
        mha = nn.MultiheadAttention(8, 2, batch_first=True)
        x = torch.randn(2, 3, 8)
        out, weights = mha(x, x, x)
        loss = out.sum() + weights.pow(2).sum()
        loss.backward()
        """,
    )
    tensors, names = load_torch_script(path)
    live = take_snapshot(tensors, torch_script_names(tensors, names), script="mha.py")
    back = snapshot_file.loads(snapshot_file.to_bytes(live))
    inner = 0
    for view, (g, _) in live.views.items():
        for nid, a in g.nodes(data=True):
            if a["type"] == "tensor":
                assert back.views[view][0].nodes[nid]["grad_stats"] == a["grad_stats"], (view, nid)
                inner += a["tensor"] is None and a["grad_stats"].state == "finite"
    assert inner > 5


def test_a_snapshot_file_opens_without_torch(mlp, tmp_path) -> None:
    path = tmp_path / "mlp.gradviz"
    snapshot_file.save(mlp[0], path)
    code = (
        "import sys; sys.modules['torch'] = None\n"  # import torch now fails
        "from gradviz.session import snapshot_file\n"
        "from gradviz.graph.snapshot import SnapshotSource\n"
        f"s = snapshot_file.load({str(path)!r})\n"
        "g, names = SnapshotSource(s).snapshot()('autograd')\n"
        "print(len(g), repr(s.named['0.weight'].peek_grad()))"
    )
    root = Path(snapshot_file.__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=120, check=True
    )
    assert out.stdout.split(" ", 1)[1].strip() == repr(mlp[1]["model"][0].weight.grad)


def test_the_script_runs_in_its_folder_with_its_own_argv(tmp_path) -> None:
    (tmp_path / "data.txt").write_text("2.5")
    path = write(
        tmp_path,
        "here.py",
        """\
        import os, sys
        import torch
        assert sys.argv == [__file__], sys.argv
        import helper  # a module beside the script
        w = torch.tensor(float(open("data.txt").read()), requires_grad=True)
        pid = torch.tensor(float(os.getpid()))
        y = helper.square(w) + pid
        y.backward()
        """,
    )
    (tmp_path / "helper.py").write_text("def square(t):\n    return t * t\n")
    snap = run_script(path)
    assert snap.named["w"].peek_grad().peek_array() == 5.0
    assert int(snap.named["pid"].peek_array()) != os.getpid()  # another process ran it


_PATH_PROBE = """\
import json, sys
import torch
import helper  # beside the script, and in PYTHONPATH too: the script's own is found first
import only_on_pythonpath
json.dump({"path": sys.path, "helper": helper.WHERE, "extra": only_on_pythonpath.WHERE}, open(sys.argv[1] if len(sys.argv) > 1 else "seen.json", "w"))
w = torch.ones(2, requires_grad=True)
(w * 2).sum().backward()
"""


def test_a_script_sees_the_module_path_plain_python_gives_it(tmp_path, monkeypatch) -> None:
    folder, libs = tmp_path / "script", tmp_path / "libs"
    folder.mkdir()
    libs.mkdir()
    (folder / "helper.py").write_text("WHERE = 'beside the script'\n")
    (libs / "helper.py").write_text("WHERE = 'PYTHONPATH'\n")
    (libs / "only_on_pythonpath.py").write_text("WHERE = 'PYTHONPATH'\n")
    monkeypatch.setenv("PYTHONPATH", str(libs))
    path = write(folder, "probe.py", _PATH_PROBE)
    run_script(path)
    seen = json.loads((folder / "seen.json").read_text())
    plain = subprocess.run(
        [sys.executable, str(path), str(tmp_path / "plain.json")], cwd=folder, capture_output=True, text=True
    )
    assert plain.returncode == 0, plain.stderr
    expected = json.loads((tmp_path / "plain.json").read_text())
    assert seen["helper"] == expected["helper"] == "beside the script"
    assert seen["extra"] == expected["extra"] == "PYTHONPATH"
    real = [os.path.realpath(p) for p in seen["path"]]
    assert real == [os.path.realpath(p) for p in expected["path"]]  # the same folders, in the same order


def test_what_a_script_prints_is_kept_its_last_lines(tmp_path) -> None:
    import gradviz.session.pytorch_script as ps

    snap = run_script(
        write(
            tmp_path,
            "talks.py",
            """\
            import torch
            w = torch.ones(2, requires_grad=True)
            for i in range(250):
                print(f"step {i}: loss {0.5 ** i:.3g}")
            (w * 2).sum().backward()
            """,
        )
    )
    printed = [f"step {i}: loss {0.5**i:.3g}" for i in range(250)]
    assert snap.meta["output"].splitlines() == printed[-ps.OUTPUT_LINES :]
    chatty = run_script(
        write(
            tmp_path,
            "chatty.py",
            """\
            import torch
            w = torch.ones(2, requires_grad=True)
            for i in range(100):
                print(str(i) * 2000)
            print("done")
            (w * 2).sum().backward()
            """,
        )
    )
    out = chatty.meta["output"]
    assert len(out.encode()) <= ps.OUTPUT_BYTES and out.endswith("99" * 2000 + "\ndone\n")
    assert out.splitlines()[0] in {str(i) * 2000 for i in range(100)}  # whole lines only
    with pytest.raises(ScriptError) as e:
        run_script(write(tmp_path, "dies.py", "print('epoch 1: loss 0.5')\nraise SystemExit(3)\n"))
    assert "Output:\nepoch 1: loss 0.5\n" in e.value.details and e.value.output == "epoch 1: loss 0.5\n"
    with pytest.raises(ScriptError) as e:
        run_script(
            write(
                tmp_path,
                "fails.py",
                "print('before the error')\nimport torch\ntorch.ones(2) @ torch.ones(3)\n",
            )
        )
    assert str(e.value).startswith("fails.py: line 3: RuntimeError")
    assert "Traceback" in e.value.details and e.value.details.endswith("Output:\nbefore the error\n")


def test_a_script_error_names_the_line_and_comes_with_the_traceback(tmp_path) -> None:
    path = write(
        tmp_path,
        "bad.py",
        """\
        import torch
        w = torch.ones(3, requires_grad=True)

        def f(t):
            return t @ torch.ones(2)

        y = f(w)
        """,
    )
    with pytest.raises(ScriptError) as e:
        run_script(path)
    assert str(e.value).startswith("bad.py: line 5: RuntimeError: ")
    assert f'File "{path}", line 7' in e.value.details and f'File "{path}", line 5, in f' in e.value.details
    assert "torch_capture" not in e.value.details  # gradviz's own frames are not the script's
    with pytest.raises(ScriptError, match=r"syntax.py: line 2: SyntaxError"):
        run_script(write(tmp_path, "syntax.py", "import torch\nx = (\n"))


def test_a_script_that_leaves_no_graph_says_so(tmp_path) -> None:
    path = write(tmp_path, "nograph.py", "import torch\nx = torch.ones(3)\nprint('hello')\n")
    with pytest.raises(ScriptError, match="leaves no PyTorch tensor with a history or requires_grad=True"):
        run_script(path)


def test_a_script_that_exits_or_kills_its_process_says_so(tmp_path) -> None:
    with pytest.raises(ScriptError, match=r"exits.py: the script exited with status 3"):
        run_script(write(tmp_path, "exits.py", "import sys, torch\nsys.exit(3)\n"))
    path = write(
        tmp_path, "dies.py", "import os, sys, torch\nsys.stderr.write('going down\\n')\nos._exit(7)\n"
    )
    with pytest.raises(ScriptError, match=r"dies.py: the script's process ended \(exit status 7\)") as e:
        run_script(path)
    assert "going down" in e.value.details


def _children_running(marker: str) -> list[int]:
    """Processes whose command line names ``marker`` (ours: the scripts these tests started)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if marker in (d / "cmdline").read_bytes().decode(errors="replace"):
                    out.append(int(d.name))
            except OSError:
                pass
    return out


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to see the child is gone")
def test_stopping_ends_the_child_process(tmp_path) -> None:
    path = write(tmp_path, "forever_stop.py", "import torch\nwhile True:\n    pass\n")

    class StopError(Exception):
        pass

    seen: list[float] = []

    def progress(seconds: float) -> None:
        seen.append(seconds)
        if seconds > 1.0:
            assert _children_running(str(path))  # it was running until now
            raise StopError

    t = time.monotonic()
    with pytest.raises(StopError):
        run_script(path, progress=progress)
    assert time.monotonic() - t < 10 and seen
    assert _children_running(str(path)) == []
    with pytest.raises(ScriptError, match=r"still running after 1 s; it was ended"):
        run_script(path, timeout=1)
    assert _children_running(str(path)) == []


def test_without_torch_the_runner_says_how_to_install_it(tmp_path, monkeypatch) -> None:
    import gradviz.session.pytorch_script as ps

    monkeypatch.setattr(ps, "torch_available", lambda: False)
    with pytest.raises(ScriptError, match=r"pip install gradviz\[torch\]"):
        run_script(write(tmp_path, "mlp.py", MLP))


# --- damaged snapshot files ----------------------------------------------------------------------


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    return out.getvalue()


def _edit(data: bytes, change) -> bytes:
    m = _members(data)
    doc = json.loads(m["snapshot.json"])
    change(doc)
    m["snapshot.json"] = json.dumps(doc).encode()
    return _zip(m)


def _first_tensor_node(doc: dict) -> list:
    return next(n for n in doc["views"]["tensors"]["nodes"] if n[1]["type"] == "tensor")


def _with(doc: dict, field: str) -> dict:
    """The first tensor whose ``field`` is not null."""
    return next(t for t in doc["tensors"] if t[field] is not None)


def _other_shape(doc: dict, shape: list) -> dict:
    """A reference to an array of the snapshot whose shape is not ``shape``."""
    return dict(next(t["value"] for t in doc["tensors"] if t["shape"] != shape))


def _graft_kept(doc: dict) -> None:
    t = _with(doc, "kept")
    t["kept"] = _other_shape(doc, t["shape"])


def _graft_grad_array(doc: dict) -> None:
    node = next(n for n in doc["views"]["autograd"]["nodes"] if n[1].get("grad_array") is not None)
    node[1]["grad_array"] = _other_shape(doc, node[1]["shape"]["tuple"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        # each declared shape against its array: what the inspector shows must be what is held
        (
            lambda d: _with(d, "grad")["grad"].__setitem__("shape", [99]),
            r"tensor \d+: grad: shape \[99\] but its array a\d+ is \[",
        ),
        (_graft_kept, r"tensor \d+: kept: shape \[[\d, ]*\] but its array a\d+ is \["),
        (
            _graft_grad_array,
            r"autograd view: node \S+: grad_array: shape \[[\d, ]*\] but its array a\d+ is \[",
        ),
        (lambda d: d["views"]["tensors"]["edges"][0].__setitem__(1, "t999"), r"edge 1: names node \"t999\""),
        (
            lambda d: _first_tensor_node(d)[1].__setitem__("tensor", 10_000),
            r"'tensor' must be null or an index",
        ),
        (lambda d: _first_tensor_node(d)[1].__setitem__("shape", "big"), r"'shape' must be a tuple of sizes"),
        (lambda d: _first_tensor_node(d)[1].pop("label"), r"missing attribute 'label'"),
        (lambda d: _first_tensor_node(d)[1].__setitem__("type", "exec"), r"'type' must be one of"),
        (
            lambda d: d["tensors"][0]["value"].__setitem__("shape", [7, 7]),
            r"shape is \[.*\], but .* says \[7, 7\]",
        ),
        (lambda d: d["named"].append(["ghost", 10_000]), r"'named' must be a list of \[name, tensor index"),
        (lambda d: d["views"].pop("autograd"), r"'views' must be an object with the views"),
    ],
)
def test_a_damaged_snapshot_is_refused_saying_what_and_where(mlp, change, message) -> None:
    data = snapshot_file.to_bytes(mlp[0])
    with pytest.raises(SessionFileError, match=message):
        snapshot_file.loads(_edit(data, change), name="s.gradviz")


def test_a_truncated_or_foreign_snapshot_is_refused(mlp, tmp_path) -> None:
    data = snapshot_file.to_bytes(mlp[0])
    for cut in (10, len(data) // 2, len(data) - 5):
        with pytest.raises(SessionFileError, match=r"s.gradviz: "):
            snapshot_file.loads(data[:cut], name="s.gradviz")
    m = _members(data)
    m["arrays.npz"] = m["arrays.npz"][: len(m["arrays.npz"]) // 2]
    with pytest.raises(SessionFileError, match=r"arrays.npz"):
        snapshot_file.loads(_zip(m), name="s.gradviz")
    m = _members(data)
    m["payload.py"] = b"import os"
    with pytest.raises(SessionFileError, match=r"unexpected member 'payload.py'"):
        snapshot_file.loads(_zip(m), name="s.gradviz")
    newer = _members(data)
    manifest = json.loads(newer["manifest.json"])
    manifest["format_version"] = 99
    newer["manifest.json"] = json.dumps(manifest).encode()
    with pytest.raises(SessionFileError, match="made by a newer gradviz"):
        snapshot_file.loads(_zip(newer))
    (tmp_path / "x.gradviz").write_bytes(data[:100])
    assert not snapshot_file.is_snapshot(tmp_path / "x.gradviz")
