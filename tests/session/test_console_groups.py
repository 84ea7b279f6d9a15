"""Groups a console session draws: each call of a model built in the console is a box named as
the learner names the model (``model.0 (Linear)``), each ``with`` name scope a box named by it,
in both views; the groups are recorded in the log, so they come back after a save and reopen,
after undo and redo, and in a replayed loop."""

from __future__ import annotations

import json
import zipfile
from io import BytesIO
from pathlib import Path

import pytest

from gradviz.graph.folding import MODULE, FoldState, fold, module_groups
from gradviz.graph.model import AUTOGRAD, TENSORS
from gradviz.graph.source import SessionSource
from gradviz.session import fileformat as ff
from gradviz.session.console import Console
from gradviz.session.document import Session
from gradviz.session.log import Op

VIEWS = (TENSORS, AUTOGRAD)
MLP = "model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))"


def console(*cells: str) -> tuple[Session, Console]:
    s = Session()
    c = Console(s)
    for cell in ("torch.manual_seed(0)", "x = torch.randn(3, 2)", *cells):
        r = c.run(cell)
        assert r.ok, (cell, r.error)
    return s, c


def graph(s: Session, view: str):
    g, _ = SessionSource(s).snapshot()(view)
    return g


def groups(s: Session, view: str) -> dict[str, tuple]:
    """label -> (depth, the names of the session tensors inside, the op names inside)."""
    g = graph(s, view)
    out = {}
    for m in module_groups(g):
        assert m.label not in out, f"two groups {m.label}"
        named = sorted(
            g.nodes[v]["name"] for v in m.nodes if g.nodes[v]["type"] == "tensor" and g.nodes[v]["name"]
        )
        ops = sorted(
            str(g.nodes[v]["op"] if view == TENSORS else g.nodes[v]["label"])
            for v in m.nodes
            if g.nodes[v]["type"] in ("op", "backward")
        )
        out[m.label] = (m.depth, named, ops)
    return out


def shape(s: Session) -> dict[str, list]:
    """What both views group, by label: (depth, ids of the members) each."""
    return {
        view: sorted((m.label, m.depth, m.nodes) for m in module_groups(graph(s, view))) for view in VIEWS
    }


def test_a_sequential_built_in_the_console_is_grouped_by_its_modules_in_both_views() -> None:
    s, _ = console(MLP, "loss = model(x).sum()")
    for view in VIEWS:
        got = groups(s, view)
        assert sorted(got) == ["model (Sequential)", "model.0 (Linear)", "model.1 (Tanh)", "model.2 (Linear)"]
        depth, named, _ = got["model.0 (Linear)"]
        assert depth == 1 and named == ["model_0_bias", "model_0_weight"]  # its parameters are in its box
        assert got["model (Sequential)"][0] == 0
        assert got["model (Sequential)"][1] == [
            "model_0_bias",
            "model_0_weight",
            "model_2_bias",
            "model_2_weight",
        ]
        assert "x" not in got["model (Sequential)"][1] and "loss" not in got["model (Sequential)"][1]
    assert groups(s, TENSORS)["model.1 (Tanh)"][2] == ["tanh"]
    assert groups(s, AUTOGRAD)["model.1 (Tanh)"][2] == ["TanhBackward0"]
    assert groups(s, TENSORS)["model.2 (Linear)"][2] == ["linear"]


def test_a_module_class_of_the_console_names_its_children_by_attribute() -> None:
    net = (
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc1 = nn.Linear(2, 3)\n"
        "        self.fc2 = nn.Linear(3, 1)\n"
        "    def forward(self, x):\n"
        "        return self.fc2(torch.relu(self.fc1(x)))"
    )
    s, _ = console(net, "net = Net()", "out = net(x)")
    for view in VIEWS:
        got = groups(s, view)
        assert sorted(got) == ["net (Net)", "net.fc1 (Linear)", "net.fc2 (Linear)"]
        assert got["net.fc1 (Linear)"][1] == ["net_fc1_bias", "net_fc1_weight"]
    ops = groups(s, TENSORS)["net (Net)"][2]
    assert ops == ["linear", "linear", "relu"]  # the relu in forward is the Net's, not a child's


def test_each_call_of_a_model_is_a_box_of_its_own() -> None:
    s, _ = console(MLP, "y = model(x) + model(x * 2)")
    for view in VIEWS:
        tops = [m for m in module_groups(graph(s, view)) if m.label == "model (Sequential)"]
        assert len(tops) == 2 and not set(tops[0].nodes) & set(tops[1].nodes[-3:])
        assert len({m.key for m in tops}) == 2


def test_a_model_passed_to_a_function_keeps_its_session_name() -> None:
    s, _ = console(MLP, "def run(m, v):\n    return m(v)", "y = run(model, x)")
    assert sorted(groups(s, TENSORS)) == [
        "model (Sequential)",
        "model.0 (Linear)",
        "model.1 (Tanh)",
        "model.2 (Linear)",
    ]


def test_a_model_called_without_a_name_is_named_by_its_class() -> None:
    s, _ = console("w = torch.randn(3, 2, requires_grad=True)", "y = nn.Tanh()(w)")
    assert sorted(groups(s, TENSORS)) == ["Tanh (Tanh)"]


SCOPED = (
    MLP,
    'with torch.profiler.record_function("forward"):\n'
    "    h = model(x)\n"
    '    with gradviz.name_scope("head"):\n'
    "        out = h.pow(2)\n"
    'with torch.autograd.profiler.record_function("loss"):\n'
    "    loss = out.mean()",
    "loss.backward()",
)


def test_name_scopes_group_what_was_made_in_them_nested_as_written() -> None:
    s, _ = console(*SCOPED)
    for view in VIEWS:
        got = groups(s, view)
        assert sorted(got) == [
            "forward",
            "head",
            "loss",
            "model (Sequential)",
            "model.0 (Linear)",
            "model.1 (Tanh)",
            "model.2 (Linear)",
        ]
        assert got["forward"][0] == 0 and got["head"][0] == 1 and got["model (Sequential)"][0] == 1
        assert got["model.0 (Linear)"][0] == 2
    t = groups(s, TENSORS)
    assert t["head"][2] == ["pow"] and t["loss"][2] == ["mean"]
    assert "h" not in t["forward"][1]  # a named tensor stays outside (it is the learner's)
    assert sorted(t["forward"][2]) == ["linear", "linear", "pow", "tanh"]
    a = groups(s, AUTOGRAD)
    assert a["head"][2] == ["PowBackward0"] and a["loss"][2] == ["MeanBackward0"]


def test_a_group_folds_to_one_box_and_opens_again_in_both_views() -> None:
    s, _ = console(*SCOPED)
    for view in VIEWS:
        g = graph(s, view)
        fwd = next(m for m in module_groups(g) if m.label == "forward")
        state = FoldState()
        state.collapse_module(fwd.id)
        f = fold(g, [], state)
        boxes = [(n, a) for n, a in f.nodes(data=True) if a["type"] == MODULE]
        assert [a["label"] for _, a in boxes] == ["forward"]
        assert all(v not in f for v in fwd.nodes)
        state.expand_module(fwd.id)
        assert fold(g, [], state) is g


def test_the_groups_are_kept_in_a_saved_file_and_after_reopening(tmp_path: Path) -> None:
    s, _ = console(*SCOPED)
    before = shape(s)
    path = tmp_path / "scoped.gradviz"
    ff.save(s, path)
    with zipfile.ZipFile(path) as z:
        raw = json.loads(z.read(ff.SESSION))
        manifest = json.loads(z.read("manifest.json"))
    assert manifest["format_version"] == 4  # older gradviz refuses it by version, saying why
    scoped = [e for e in raw["entries"] if "scope" in e]
    assert scoped and all(e["kind"] == "op" for e in scoped)
    assert [level[:2] for level in scoped[0]["scope"]] == [
        ["forward", ""],
        ["model", "Sequential"],
        ["model.0", "Linear"],
    ]
    t = Session()
    ff.open_into(t, path)
    assert shape(t) == before
    # and the undo history the file kept replays with them too
    t.undo()  # the backward
    assert shape(t) == before
    t.undo()  # the cell of the scopes
    assert "loss" not in t and "head" not in groups(t, TENSORS)
    t.redo()
    t.redo()
    assert shape(t) == before


def test_undo_and_redo_keep_the_groups() -> None:
    s, _ = console(*SCOPED[:2])
    before = shape(s)
    assert before[TENSORS]
    s.undo()
    assert not module_groups(graph(s, TENSORS))
    s.redo()
    assert shape(s) == before


def test_editing_a_leaf_replays_the_ops_in_their_groups() -> None:
    s, _ = console(*SCOPED)
    before = shape(s)
    s.set_leaf_value("x", s.tensor("x").detach().numpy() * 2)
    assert shape(s) == before


def test_a_console_loop_groups_each_iteration_and_its_replay_does_too() -> None:
    loop = (
        "for i in range(3):\n"
        '    with torch.profiler.record_function(f"step{i}"):\n'
        "        loss = model(x).pow(2).mean()\n"
        "    loss.backward()"
    )
    s, _ = console(MLP, loop)
    assert any(type(e).__name__ == "Loop" for e in s.entries)
    before = shape(s)
    labels = [label for label, _, _ in before[TENSORS]]
    assert "step2" in labels and "model.0 (Linear)" in labels  # the last step's graph is drawn
    t = Session()
    Console(t)  # registers the loop's runner with this session's replays
    ff.load_into(t, *ff.loads(ff.to_bytes(s.entries, s.view)))
    assert shape(t) == before


def test_a_session_without_groups_writes_what_older_gradviz_wrote() -> None:
    s, _ = console("w = torch.tensor([1.0, 2.0], requires_grad=True)", "y = (w * x).sum()")
    with zipfile.ZipFile(BytesIO(ff.to_bytes(s.entries, s.view))) as z:
        raw = json.loads(z.read(ff.SESSION))
        assert json.loads(z.read("manifest.json"))["format_version"] == 1
    assert all("scope" not in e for e in raw["entries"])
    assert all(not e.scope for e in s.entries if isinstance(e, Op))


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("layer1", "'scope' must be a list"),
        ([["layer1", ""]], "must hold [name, class name, call] triples"),
        ([["", "", "1.1"]], "must hold [name, class name, call] triples"),
        ([["a", "", 7]], "must hold [name, class name, call] triples"),
        ([["a", "", "1.1"]] * 40, "more than 32"),
    ],
)
def test_a_damaged_scope_in_a_file_is_refused_with_where_it_is(bad, says) -> None:
    s, _ = console(MLP, "y = model(x)")
    data = ff.to_bytes(s.entries, s.view)
    with zipfile.ZipFile(BytesIO(data)) as z:
        members = {n: z.read(n) for n in z.namelist()}
    raw = json.loads(members[ff.SESSION])
    i = next(k for k, e in enumerate(raw["entries"]) if "scope" in e)
    raw["entries"][i]["scope"] = bad
    members[ff.SESSION] = json.dumps(raw).encode()
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for n, b in members.items():
            z.writestr(n, b)
    with pytest.raises(ff.SessionFileError) as info:
        ff.loads(out.getvalue())
    assert f"entry {i + 1} (op 'linear')" in str(info.value) and says in str(info.value)


@pytest.mark.parametrize(
    ("cell", "says"),
    [
        ("with torch.profiler.record_function(3):\n    y = x * 2", "argument 'name' must be str, not int"),
        ('with gradviz.name_scope(""):\n    y = x * 2', "1 to 200 characters"),
        ('with torch.profiler.record_function("a") as r:\n    y = x * 2', "with blocks are only for"),
        ("with open('f'):\n    pass", "name scopes: torch.profiler.record_function"),
    ],
)
def test_a_wrong_name_scope_is_refused_and_the_session_is_untouched(cell, says) -> None:
    s, c = console()
    n = len(s.entries)
    r = c.run(cell)
    assert not r.ok and says in r.error
    assert len(s.entries) == n


def test_a_name_scope_reads_as_torch_shows_it() -> None:
    _, c = console()
    r = c.run('torch.profiler.record_function("a")')
    assert r.ok and r.result == "<torch.autograd.profiler.record_function object>"


def test_a_session_with_name_scopes_exports_as_a_script_pytorch_runs(monkeypatch) -> None:
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch, "name_scope", None, raising=False)  # the script sets it: undone after
    from gradviz.session.export_python import script
    from gradviz.session.transcript import Cell

    cells = ("torch.manual_seed(0)", "x = torch.randn(3, 2)", *SCOPED)
    s, _ = console(*SCOPED)
    code = script([Cell(i, src) for i, src in enumerate(cells, 1)])
    ns: dict = {}
    exec(code, ns)  # under PyTorch: record_function and gradviz.name_scope both run
    assert ns["torch"] is torch
    assert abs(ns["loss"].item() - s.tensor("loss").item()) < 1e-6


def test_name_scopes_nest_only_as_deep_as_a_file_holds() -> None:
    s, c = console()
    n = len(s.entries)
    deep = "".join(f"{'    ' * k}with torch.profiler.record_function('s{k}'):\n" for k in range(33))
    r = c.run(deep + "    " * 33 + "y = x * 2")
    assert not r.ok and "nest more than 32 deep" in r.error
    assert len(s.entries) == n
    ok = "".join(f"{'    ' * k}with torch.profiler.record_function('s{k}'):\n" for k in range(32))
    assert c.run(ok + "    " * 32 + "w = torch.ones(2, requires_grad=True) * 2").ok


def test_an_lstm_loop_typed_in_the_console_folds_every_step() -> None:
    from gradviz.graph.repeats import find_repeats

    s, _ = console(
        "wx = torch.randn(2, 12, requires_grad=True)",
        "wh = torch.randn(3, 12, requires_grad=True)",
        "xs = torch.randn(8, 1, 2)",
        "h = torch.zeros(1, 3)",
        "c = torch.zeros(1, 3)",
        "for t in range(8):\n"
        "    i, f, g, o = (xs[t] @ wx + h @ wh).chunk(4, dim=1)\n"
        "    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)\n"
        "    h = torch.sigmoid(o) * torch.tanh(c)",
        "h.sum().backward()",
    )
    for view in VIEWS:
        (run,) = find_repeats(graph(s, view))
        assert run.count == 8


def format_version(s: Session) -> int:
    with zipfile.ZipFile(BytesIO(ff.to_bytes(s.entries, s.view))) as z:
        return json.loads(z.read("manifest.json"))["format_version"]


SCOPED_LOOP = (
    "for i in range(3):\n    opt.zero_grad()\n    with gradviz.name_scope('fwd'):\n"
    "        loss = model(x).sum()\n    loss.backward()\n    opt.step()"
)


def test_a_loop_with_a_name_scope_is_a_file_older_gradviz_calls_newer(monkeypatch) -> None:
    """The loop's entry holds its source, not its ops: the name scope is in the source, which an
    older console can't run; it must refuse the file by its version, not fail in the replay."""
    s, _ = console(MLP, "opt = torch.optim.SGD(model.parameters(), lr=0.1)", SCOPED_LOOP)
    assert [type(e).__name__ for e in s.entries][-1] == "Loop"
    assert format_version(s) == 4
    data = ff.to_bytes(s.entries, s.view)
    t = Session()
    Console(t)
    ff.load_into(t, *ff.loads(data))  # this gradviz opens it, groups and all
    assert shape(t) == shape(s)
    monkeypatch.setattr(ff, "FORMAT_VERSION", 3)  # a gradviz from before name scopes
    with pytest.raises(ff.SessionFileError, match="made by a newer gradviz"):
        ff.loads(data)


@pytest.mark.parametrize(
    "cells",
    [
        [
            "def step():\n    with torch.profiler.record_function('fwd'):\n        return model(x).sum()",
            "for i in range(3):\n    loss = step()",
        ],
        [
            "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.fc = nn.Linear(2, 1)\n    def forward(self, x):\n"
            "        with gradviz.name_scope('inner'):\n            return self.fc(x)",
            "net = Net()",
            "for i in range(3):\n    loss = net(x).sum()",
        ],
    ],
    ids=["in-a-function-it-calls", "in-a-module-class-it-runs"],
)
def test_a_loop_whose_replay_opens_a_name_scope_elsewhere_is_format_4(cells) -> None:
    s, _ = console(MLP, *cells)
    assert type(s.entries[-1]).__name__ == "Loop"
    assert any(label in ("fwd", "inner") for label, _, _ in shape(s)[TENSORS])
    assert format_version(s) == 4


def test_a_loop_calling_a_model_without_name_scopes_stays_format_3() -> None:
    """Older gradviz replays module calls (without their boxes): it may open the file."""
    s, _ = console(MLP, "for i in range(3):\n    loss = model(x).sum()\n    loss.backward()")
    assert type(s.entries[-1]).__name__ == "Loop"
    assert format_version(s) == 3
