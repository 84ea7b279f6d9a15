"""A learner's nn/optim lesson in the console, against a live torch run of the same program:
what it prints (exactly), the parameters and gradients after training, torch's errors; and
that training is in the session's log: undo, save and open, records of modules and optimisers."""

from __future__ import annotations

import ast
import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from gradviz.session import fileformat as ff
from gradviz.session.console import Console
from gradviz.session.console.records import RECORD_KINDS
from gradviz.session.document import Session

HEADER = """import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim
"""
CROPS = """inputs = torch.tensor([[73, 67, 43], [91, 88, 64], [87, 134, 58], [102, 43, 37], [69, 96, 70]], dtype=torch.float32)
targets = torch.tensor([[56, 70], [81, 101], [119, 133], [22, 37], [103, 119]], dtype=torch.float32)
"""
LINEAR = (
    HEADER
    + CROPS
    + """torch.manual_seed(42)
model = nn.Linear(3, 2)
print(model.weight)
print(model.bias)
print(list(model.parameters()))
print(model)
loss_fn = nn.MSELoss()
opt = optim.SGD(model.parameters(), lr=1e-5)
print(opt)
for epoch in range(100):
    preds = model(inputs)
    loss = loss_fn(preds, targets)
    loss.backward()
    opt.step()
    opt.zero_grad()
print(loss)
print(model.weight.grad)
model
"""
)
XOR = (
    HEADER
    + """torch.manual_seed(0)
X = torch.tensor([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
y = torch.tensor([[0.], [1.], [1.], [0.]])
model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1), nn.Sigmoid())
print(model)
print(model[0].weight)
for name, p in model.named_parameters():
    print(name, list(p.shape), p.requires_grad)
loss_fn = nn.BCELoss()
opt = optim.Adam(model.parameters(), lr=0.1, betas=(0.9, 0.99))
for step in range(150):
    loss = loss_fn(model(X), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
print(loss.item() < 0.05)
print(model(X).round())
"""
)
VARIANTS = [
    # F.mse_loss, momentum and weight decay: SGD's state is a session tensor too
    HEADER
    + CROPS
    + """torch.manual_seed(1)
model = nn.Linear(3, 2)
opt = optim.SGD(model.parameters(), lr=1e-5, momentum=0.9, weight_decay=0.01)
for i in range(20):
    loss = F.mse_loss(model(inputs), targets)
    loss.backward()
    opt.step()
    opt.zero_grad()
print(loss)
print(model.bias.grad)
""",
    # ReLU, L1Loss, a second cell of training after printing the parameters by name
    HEADER
    + """torch.manual_seed(3)
x = torch.randn(8, 3)
t = torch.randn(8, 1)
model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 1))
opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.5)
for i in range(10):
    opt.zero_grad()
    loss = nn.L1Loss()(model(x), t)
    loss.backward()
    opt.step()
for name, p in model.named_parameters():
    print(name, p)
print(loss)
""",
    # BCEWithLogitsLoss and CrossEntropyLoss (with an integer target), reduction='sum'
    HEADER
    + """torch.manual_seed(5)
x = torch.randn(6, 4)
labels = torch.tensor([0, 2, 1, 1, 0, 2])
flags = torch.tensor([[1.], [0.], [1.], [1.], [0.], [0.]])
head = nn.Linear(4, 3)
gate = nn.Linear(4, 1, bias=False)
print(gate.bias)
ce = nn.CrossEntropyLoss(reduction='sum')
bce = nn.BCEWithLogitsLoss()
print(ce, bce)
opt = optim.SGD(list(head.parameters()) + list(gate.parameters()), lr=0.01)
for i in range(5):
    loss = ce(head(x), labels) + bce(gate(x), flags)
    loss.backward()
    opt.step()
    opt.zero_grad()
print(loss)
print(head.weight.grad)
head.weight
""",
]


ENGINE_HEADER = """import gradviz as torch
import gradviz.nn as nn
import gradviz.nn.functional as F
import gradviz.optim as optim
"""
_NUMBER = re.compile(r"-?\d+\.\d*(?:e[-+]?\d+)?|-?\d+e[-+]?\d+")


def python_run(src: str) -> tuple[str, dict]:
    """What ``src`` prints in Python, and the trailing expression's repr (as the notebook shows
    it); and its namespace."""
    tree = ast.parse(src)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    ns: dict = {"__name__": "__main__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(tree, "<lesson>", "exec"), ns)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), "<lesson>", "eval"), ns)
            if value is not None:
                print(repr(value))
    return out.getvalue(), ns


def engine_run(src: str) -> tuple[str, dict]:
    """The same program with ``import gradviz as torch``: the console's arithmetic is the engine's."""
    assert src.startswith(HEADER)
    return python_run(ENGINE_HEADER + src[len(HEADER) :])


def console_run(src: str, session: Session | None = None) -> tuple[Console, str]:
    c = Console(session or Session())
    r = c.run(src)
    assert r.ok, r.text
    return c, r.output


def same_text(got: str, want: str) -> None:
    """The same text, each printed number torch's to its last printed digit (float32 sums of
    products round differently in numpy's matmul and torch's BLAS: 1 ulp, which the last digit
    of a 4-decimal print may show)."""
    assert _NUMBER.split(got) == _NUMBER.split(want), (got, want)
    for a, b in zip(_NUMBER.findall(got), _NUMBER.findall(want)):
        x, y = float(a), float(b)
        assert abs(x - y) <= 1e-4 * max(1.0, abs(y)) + 1e-4, (a, b)


def same(session_tensor, reference, exact: bool = True) -> None:
    a = session_tensor.detach().numpy()
    b = reference.detach().numpy()
    assert a.dtype == b.dtype and a.shape == b.shape
    if exact:
        assert a.tobytes() == b.tobytes(), (a, b)
    else:
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def params_match(c: Console, model, prefix: str, exact: bool = True) -> None:
    for name, p in model.named_parameters():
        t = c.session.tensor(f"{prefix}_{name.replace('.', '_')}")
        same(t, p, exact)
        if p.grad is None:
            assert t.grad is None
        else:
            same(t.grad, p.grad, exact)


def check_lesson(src: str, prefixes: tuple[str, ...] = ("model",)) -> Console:
    """The console's run of ``src``: the engine's to the bit (text, parameters, gradients),
    torch's to its rounding."""
    c, got = console_run(src)
    want, ns = engine_run(src)
    assert got == want
    torch_out, torch_ns = python_run(src)
    same_text(got, torch_out)
    for prefix in prefixes:
        if prefix in ns:
            params_match(c, ns[prefix], prefix)
            params_match(c, torch_ns[prefix], prefix, exact=False)
    return c


def test_a_module_s_parameters_are_torch_s_and_print_as_torch_prints_them() -> None:
    setup = LINEAR.split("for epoch")[0]
    c, got = console_run(setup)
    want, _ = python_run(setup)
    assert got == want  # to the bit: initialisation, Parameter reprs, module and optimiser reprs
    entry = c.session.info("model_weight").entry
    assert entry.requires_grad and entry.source == "nn.Linear(3, 2).weight"
    assert c.session.names() == ["inputs", "targets", "model_weight", "model_bias"]


def test_linear_regression_trains_as_torch_does() -> None:
    c = check_lesson(LINEAR)
    assert c.session.tensor("model_weight").grad is None  # zero_grad(set_to_none=True)


@pytest.mark.parametrize("src", VARIANTS, ids=["sgd-momentum-mse", "relu-l1", "ce-bce-logits"])
def test_variants_match_torch(src: str) -> None:
    check_lesson(src, ("model", "head", "gate"))


def test_xor_mlp_with_adam_converges_as_in_torch() -> None:
    c = check_lesson(XOR)
    assert "tensor([[0.],\n        [1.],\n        [1.],\n        [0.]]" in c.run("model(X).round()").output


def test_adam_state_is_in_the_session_as_hidden_constants() -> None:
    c, _ = console_run(XOR.replace("range(150)", "range(1)"))
    s = c.session
    hidden = [n for n in s.names(include_hidden=True) if n.startswith("_")]
    sources = {s.info(n).entry.source for n in hidden if s.info(n).is_leaf_entry}
    for key in ("step", "exp_avg", "exp_avg_sq"):
        assert f"Adam state '{key}' of model_0_weight" in sources


def test_errors_are_torch_s() -> None:
    c, _ = console_run(HEADER + "model = nn.Linear(3, 2)\nx = torch.ones(5, 4)")
    tmodel, tx = torch.nn.Linear(3, 2), torch.ones(5, 4)
    with pytest.raises(RuntimeError) as e:
        tmodel(tx)
    r = c.run("y = model(x)")
    assert (r.error_type, r.error) == ("RuntimeError", str(e.value))
    with pytest.raises(ValueError) as e:
        torch.optim.SGD(tmodel.parameters(), lr=-1)
    r = c.run("opt = optim.SGD(model.parameters(), lr=-1)")
    assert (r.error_type, r.error) == ("ValueError", str(e.value))
    with pytest.raises(TypeError) as e:
        torch.nn.Sequential(torch.nn.Linear(2, 2), 3)
    r = c.run("m = nn.Sequential(nn.Linear(2, 2), 3)")
    assert (r.error_type, r.error) == ("TypeError", str(e.value))
    r = c.run("model(x, x)")
    assert (
        r.error_type == "TypeError" and "forward() takes 2 positional arguments but 3 were given" in r.error
    )
    r = c.run("model.weights")
    assert (r.error_type, r.error) == ("AttributeError", "'Linear' object has no attribute 'weights'")


def test_undo_of_a_training_cell_puts_the_parameters_and_state_back() -> None:
    setup = (
        HEADER
        + CROPS
        + "torch.manual_seed(0)\nmodel = nn.Linear(3, 2)\nopt = optim.SGD(model.parameters(), lr=1e-5, momentum=0.9)"
    )
    train = "for i in range(5):\n    loss = F.mse_loss(model(inputs), targets)\n    loss.backward()\n    opt.step()\n    opt.zero_grad()"
    c, _ = console_run(setup)
    s = c.session
    before = s.tensor("model_weight").detach().numpy().copy()
    assert c.run(train).ok
    once = s.tensor("model_weight").detach().numpy().copy()
    assert c.run(train).ok
    twice = s.tensor("model_weight").detach().numpy().copy()
    s.undo()
    assert s.tensor("model_weight").detach().numpy().tobytes() == once.tobytes()
    s.undo()
    assert s.tensor("model_weight").detach().numpy().tobytes() == before.tobytes()
    # training again from there: the momentum starts afresh, as it did the first time
    assert c.run(train).ok and c.run(train).ok
    assert s.tensor("model_weight").detach().numpy().tobytes() == twice.tobytes()


def test_save_and_open_give_the_trained_session_and_training_goes_on_from_records(tmp_path: Path) -> None:
    src = (
        HEADER
        + CROPS
        + "torch.manual_seed(7)\nmodel = nn.Linear(3, 2)\nopt = optim.SGD(model.parameters(), lr=1e-5, momentum=0.9)"
    )
    train = "for i in range(3):\n    loss = F.mse_loss(model(inputs), targets)\n    loss.backward()\n    opt.step()\n    opt.zero_grad()"
    c, _ = console_run(src)
    assert c.run(train).ok
    records = {k: c.variables[k].to_record() for k in ("model", "opt")}
    assert records["model"] == {
        "kind": "nn.Linear",
        "in_features": 3,
        "out_features": 2,
        "parameters": {"weight": "model_weight", "bias": "model_bias"},
    }
    assert records["opt"]["kind"] == "optim.SGD" and records["opt"]["params"] == [
        "model_weight",
        "model_bias",
    ]
    assert set(records["opt"]["state"]) == {"model_weight", "model_bias"}
    path = tmp_path / "trained.gradviz"
    ff.save(c.session, path)
    opened = Session()
    ff.open_into(opened, path)
    for n in c.session.names(include_hidden=True):
        same(opened.tensor(n), c.session.tensor(n))
    # the module and optimiser made again from their records, in the opened session
    c2 = Console(opened)
    for k, rec in records.items():
        c2.variables[k] = RECORD_KINDS[rec["kind"]](rec, c2)
        assert c2.variables[k].to_record() == rec
    assert repr(c2.variables["model"]) == "Linear(in_features=3, out_features=2, bias=True)"
    assert c.run(train).ok and c2.run(train).ok
    for n in ("model_weight", "model_bias", "loss"):
        same(opened.tensor(n), c.session.tensor(n))


def test_sequential_records_round_trip() -> None:
    c, _ = console_run(XOR.replace("range(150)", "range(2)"))
    rec = c.variables["model"].to_record()
    assert rec["kind"] == "nn.Sequential"
    assert [m["kind"] for m in rec["modules"]] == ["nn.Linear", "nn.Tanh", "nn.Linear", "nn.Sigmoid"]
    assert rec["modules"][2]["parameters"] == {"weight": "model_2_weight", "bias": "model_2_bias"}
    again = RECORD_KINDS["nn.Sequential"](rec, c)
    assert again.to_record() == rec and repr(again) == repr(c.variables["model"])
    opt = c.variables["opt"].to_record()
    assert opt["options"]["betas"] == [0.9, 0.99] and set(opt["state"]["model_0_weight"]) == {
        "step",
        "exp_avg",
        "exp_avg_sq",
    }
    assert RECORD_KINDS["optim.Adam"](opt, c).to_record() == opt


def test_rebinding_a_model_keeps_what_an_optimiser_still_holds() -> None:
    c, _ = console_run(
        HEADER + CROPS + "model = nn.Linear(3, 2)\nopt = optim.SGD(model.parameters(), lr=1e-5)"
    )
    old = c.session.info("model_weight").uid
    assert c.run("model = nn.Linear(3, 2)").ok
    assert c.session.info("model_weight").uid != old
    assert c.session.name_of_uid(old) is not None  # hidden, still opt's
    r = c.run("loss = F.mse_loss(model(inputs), targets)\nloss.backward()\nopt.step()")
    assert r.ok, r.text


NET = (
    HEADER
    + """torch.manual_seed(0)
class Net(nn.Module):
    \"\"\"XOR, as a class.\"\"\"
    def __init__(self, hidden=4):
        super().__init__()
        self.fc1 = nn.Linear(2, hidden)
        self.act = nn.Tanh()
        self.head = nn.Sequential(nn.Linear(hidden, 1), nn.Sigmoid())
        self.scale = 2.0
    def forward(self, x):
        h = self.act(self.fc1(x) * self.scale)
        return self.head(h)
X = torch.tensor([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
y = torch.tensor([[0.], [1.], [1.], [0.]])
model = Net(hidden=3)
print(model)
print(Net, model.scale)
print(model.fc1.weight)
for name, p in model.named_parameters():
    print(name, list(p.shape))
opt = optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
for i in range(60):
    opt.zero_grad()
    loss = F.binary_cross_entropy(model(X), y)
    loss.backward()
    opt.step()
print(loss)
model(X).round()
"""
)


def test_a_module_class_runs_as_in_torch() -> None:
    c = check_lesson(NET)
    assert c.session.names()[2:6] == [
        "model_fc1_weight",
        "model_fc1_bias",
        "model_head_0_weight",
        "model_head_0_bias",
    ]
    rec = c.variables["model"].to_record()
    assert rec["kind"] == "nn.Module" and rec["class"] == "Net" and rec["values"] == {"scale": 2.0}
    assert rec["modules"]["head"]["modules"][0]["parameters"]["weight"] == "model_head_0_weight"
    again = RECORD_KINDS["nn.Module"](rec, c)
    assert again.to_record() == rec and repr(again) == repr(c.variables["model"])
    c.variables["copy"] = again  # made again from its record, it computes what the original does
    assert c.run("copy(X)").output == c.run("model(X)").output


@pytest.mark.parametrize(
    ("src", "words"),
    [
        ("class Net(nn.Module):\n    def forward(self, x):\n        return x\n    def extra(self):\n        pass",
         "extra in class Net: a module class in the console holds only __init__ and forward (line 4)"),
        ("class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        print(1)\n    def forward(self, x):\n        return x",
         "__init__ of a module class does only super().__init__() and self.name = ... in the console (line 4)"),
        ("class Net(nn.Module):\n    size = 3\n    def forward(self, x):\n        return x", "Assign in class Net"),
        ("class Net(object):\n    pass", "except a module: class Net(nn.Module)"),
        ("class Net(nn.Module):\n    def forward(self, x):\n        return x.__class__", "attribute '__class__' is not accessible"),
    ],
)  # fmt: skip
def test_other_class_shapes_are_refused_naming_what_and_where(src: str, words: str) -> None:
    r = Console(Session()).run(src)
    assert r.error_type == "ConsoleError" and words in r.error, r.error


def test_a_module_class_without_super_init_fails_as_in_torch() -> None:
    src = (
        HEADER
        + "class Net(nn.Module):\n    def __init__(self):\n        self.fc = nn.Linear(2, 1)\n    def forward(self, x):\n        return self.fc(x)\nm = Net()"
    )
    with pytest.raises(AttributeError) as e:
        python_run(src)
    r = Console(Session()).run(src)
    assert (r.error_type, r.error) == ("AttributeError", str(e.value))
    r = Console(Session()).run(
        HEADER
        + "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.w = torch.ones(2)\n    def forward(self, x):\n        return x\nm = Net()"
    )
    assert r.error_type == "ConsoleError" and "self.w = <a tensor> is not available" in r.error


def test_a_hand_written_step_over_parameters_writes_them_in_place_as_torch_does() -> None:
    src = (
        HEADER
        + CROPS
        + """torch.manual_seed(2)
model = nn.Linear(3, 2)
for i in range(3):
    loss = F.mse_loss(model(inputs), targets)
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p -= 1e-5 * p.grad
    model.zero_grad()
w = model.weight
print(w)
print(model.in_features, model.out_features, model.bias.grad)
"""
    )
    check_lesson(src)


def test_an_unnamed_module_records_nothing_and_an_undone_one_says_so() -> None:
    c, _ = console_run(HEADER + "x = torch.ones(4, 3)")
    entries = c.session.entries
    r = c.run("nn.Linear(3, 2)(x).shape")
    assert r.ok and c.session.entries == entries
    assert c.run("model = nn.Linear(3, 2)").ok
    assert c.complete("model.we") == ["model.weight"] and c.complete("nn.Seq") == ["nn.Sequential"]
    c.session.undo()
    r = c.run("model(x)")
    assert r.error_type == "ConsoleError" and "no longer in the session" in r.error


def test_a_sequential_is_indexed_iterated_and_measured_as_in_torch() -> None:
    src = (
        HEADER
        + """torch.manual_seed(4)
model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
print(len(model), model[-1], model[0].bias)
for layer in model:
    print(layer)
first, act, last = model
print(act)
"""
    )
    c, got = console_run(src)
    assert got == python_run(src)[0]
    r = c.run("model[3]")
    with pytest.raises(IndexError) as e:
        torch.nn.Sequential(torch.nn.ReLU())[3]
    assert (r.error_type, r.error) == ("IndexError", str(e.value))


def test_modules_are_kept_only_under_names_of_their_own() -> None:
    """A module in a list would keep its parameters outside the session (and their memory
    outside its budget): refused, as lists of tensors are."""
    c = Console(Session())
    r = c.run("layers = []\nfor i in range(3):\n    layers = layers + [nn.Linear(2, 2)]")
    assert r.error_type == "ConsoleError" and "holding modules or optimisers can't be stored" in r.error
    assert c.session.entries == () and "layers" not in c.variables
    r = c.run("big = nn.Linear(100_000, 100_000)")
    assert "elements" in r.error and "nothing was allocated" in r.error, r.text


def test_a_learner_s_own_tensor_keeps_its_name() -> None:
    c, _ = console_run(HEADER + "model_weight = torch.ones(2)\nmodel = nn.Linear(3, 2)")
    assert c.session.tensor("model_weight").tolist() == [1.0, 1.0]
    assert c.session.names() == ["model_weight", "model_weight_1", "model_bias"]
    assert c.run("print(model.weight.shape == (2, 3))").output == "True\n"


def test_the_modules_and_optimisers_open_again_with_the_session(tmp_path: Path) -> None:
    from gradviz.session.console import persist

    src = (
        HEADER
        + CROPS
        + "torch.manual_seed(9)\nmodel = nn.Linear(3, 2)\nloss_fn = nn.MSELoss()\nopt = optim.Adam(model.parameters(), lr=0.1)"
    )
    train = "for i in range(3):\n    loss = loss_fn(model(inputs), targets)\n    loss.backward()\n    opt.step()\n    opt.zero_grad()"
    c, _ = console_run(src)
    assert c.run(train).ok
    assert set(c.session.view["console"]) == {"model", "loss_fn", "opt"}
    path = tmp_path / "adam.gradviz"
    ff.save(c.session, path)
    opened = Session()
    ff.open_into(opened, path)
    c2 = Console(opened)
    assert persist.restore(c2) == ["model", "loss_fn", "opt"]
    assert c.run(train).ok and c2.run(train).ok  # Adam goes on from its saved moments
    for n in ("model_weight", "model_bias", "loss"):
        same(opened.tensor(n), c.session.tensor(n))


def test_records_that_do_not_fit_the_session_are_left_out() -> None:
    from gradviz.session.console import persist

    c, _ = console_run(HEADER + "w = torch.ones(2, 3, requires_grad=True)")
    c.session.view["console"] = {
        "huge": {
            "kind": "nn.Linear",
            "in_features": 10**6,
            "out_features": 10**6,
            "parameters": {"weight": "w", "bias": None},
        },
        "code": {"kind": "nn.Module", "class": "A", "source": "import os", "modules": {}},
        "gone": {"kind": "optim.SGD", "params": ["nope"], "options": {"lr": 0.1}, "state": {}},
        "odd": {"kind": "optim.SGD", "params": ["w"], "options": {"lr": "fast"}, "state": {}},
        "_private": {"kind": "nn.Tanh"},
        "fine": {
            "kind": "nn.Linear",
            "in_features": 3,
            "out_features": 2,
            "parameters": {"weight": "w", "bias": None},
        },
        "junk": [1, 2],
    }
    assert persist.restore(c) == ["fine"]
    assert repr(c.variables["fine"]) == "Linear(in_features=3, out_features=2, bias=False)"


def test_after_an_undo_an_optimiser_never_writes_to_a_tensor_that_took_its_parameter_s_uid() -> None:
    c, _ = console_run(HEADER + "x = torch.ones(4, 3)")
    assert c.run("model = nn.Linear(3, 2)\nopt = optim.SGD(model.parameters(), lr=0.1)").ok
    c.session.undo()  # the module and optimiser stay in the console; their tensors are gone
    assert c.run("a = torch.zeros(2, 3, requires_grad=True)\nb = torch.zeros(2, requires_grad=True)").ok
    r = c.run("(a.sum() + b.sum()).backward()\nopt.step()")
    assert r.error_type == "ConsoleError" and "no longer in the session" in r.error
    assert c.session.tensor("a").detach().numpy().tolist() == [[0.0] * 3] * 2
    assert "console" not in c.session.view  # nothing stale is saved with the file
