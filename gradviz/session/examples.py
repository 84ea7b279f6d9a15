"""The example sessions shipped in ``gradviz/examples``, built through the session's own API.

``python -m gradviz.session.examples gradviz/examples`` writes them again; a test checks the
committed files equal what this module builds (the manifest's time and app version aside).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import gradviz.engine as E

from .document import Session
from .fileformat import SUFFIX, save
from .transcript import Cell


def linear() -> Session:
    """The seed notebook's ``y = w*x + b``, with ``y.backward()`` done: w.grad is 3, b.grad is 1."""
    s = Session()
    s.add_leaf("x", 3.0, source="torch.tensor(3.)")
    s.add_leaf("w", 4.0, requires_grad=True, source="torch.tensor(4., requires_grad=True)")
    s.add_leaf("b", 5.0, requires_grad=True, source="torch.tensor(5., requires_grad=True)")
    s.apply("add", [s.apply("mul", ["w", "x"], hidden=True), "b"], name="y")
    s.backward("y")
    s.view = {"mode": "tensors", "statistic": "norm", "log_scale": False, "selection": ["y"]}
    return s


def neuron() -> Session:
    """micrograd's neuron: ``o = tanh(x1*w1 + x2*w2 + b)``, with the numbers of its lecture
    (b chosen so that o = 0.7071 and every gradient is a round number)."""
    s = Session()
    for name, value in (("x1", 2.0), ("x2", 0.0), ("w1", -3.0), ("w2", 1.0)):
        s.add_leaf(name, value, dtype=E.float64, requires_grad=True, source=f"torch.tensor({value}).double()")
    s.add_leaf(
        "b",
        6.8813735870195432,
        dtype=E.float64,
        requires_grad=True,
        source="torch.tensor(6.8813735870195432).double()",
    )
    s.apply("mul", ["x1", "w1"], name="x1w1")
    s.apply("mul", ["x2", "w2"], name="x2w2")
    s.apply("add", ["x1w1", "x2w2"], name="x1w1x2w2")
    s.apply("add", ["x1w1x2w2", "b"], name="n")
    s.apply("tanh", ["n"], name="o")
    s.backward("o")
    s.view = {"mode": "tensors", "statistic": "norm", "log_scale": False, "selection": ["o"]}
    return s


def mlp() -> Session:
    """A 2-layer MLP (4 inputs, 8 hidden tanh units, 3 classes) on a batch of 5, with a softmax
    cross-entropy loss."""
    E.manual_seed(0)
    s = Session()
    s.add_leaf("X", E.randn(5, 4), source="torch.randn(5, 4)")
    s.add_leaf("target", np.array([0, 2, 1, 2, 0], dtype=np.int64), source="torch.tensor([0, 2, 1, 2, 0])")
    s.add_leaf("W1", E.randn(8, 4) * 0.5, requires_grad=True, source="torch.randn(8, 4) * 0.5")
    s.add_leaf("b1", E.zeros(8), requires_grad=True, source="torch.zeros(8)")
    s.add_leaf("W2", E.randn(3, 8) * 0.5, requires_grad=True, source="torch.randn(3, 8) * 0.5")
    s.add_leaf("b2", E.zeros(3), requires_grad=True, source="torch.zeros(3)")
    s.apply("linear", ["X", "W1", "b1"], name="z1")
    s.apply("tanh", ["z1"], name="h")
    s.apply("linear", ["h", "W2", "b2"], name="logits")
    s.apply("cross_entropy", ["logits", "target"], name="loss")
    s.backward("loss")
    s.view = {"mode": "tensors", "statistic": "norm", "log_scale": False, "selection": ["loss"]}
    return s


def vanishing() -> Session:
    """Twelve sigmoid layers, ``a_k = sigmoid(w_k * a_(k-1) + c_k)``: each layer multiplies the
    gradient by at most 1/4, so w1's gradient is orders of magnitude smaller than w12's."""
    s = Session()
    s.add_leaf("x", 1.0, source="torch.tensor(1.)")
    prev = "x"
    for k in range(1, 13):
        s.add_leaf(f"w{k}", 1.0, requires_grad=True, source="torch.tensor(1., requires_grad=True)")
        s.add_leaf(f"c{k}", 0.5, requires_grad=True, source="torch.tensor(0.5, requires_grad=True)")
        z = s.apply("add", [s.apply("mul", [f"w{k}", prev], hidden=True), f"c{k}"], name=f"z{k}")
        prev = s.apply("sigmoid", [z], name=f"a{k}")
    s.backward(prev)
    s.view = {"mode": "tensors", "statistic": "maxabs", "log_scale": True, "selection": ["w1", "w12"]}
    return s


def broadcasting() -> Session:
    """A column (3, 1) plus a row (1, 4) broadcasts to (3, 4); a bias vector (4,) is added to
    every row. After backward each gradient is summed back to its own input's shape."""
    s = Session()
    s.add_leaf(
        "col",
        [[1.0], [2.0], [3.0]],
        requires_grad=True,
        source="torch.tensor([[1.], [2.], [3.]], requires_grad=True)",
    )
    s.add_leaf(
        "row",
        [[10.0, 20.0, 30.0, 40.0]],
        requires_grad=True,
        source="torch.tensor([[10., 20., 30., 40.]], requires_grad=True)",
    )
    s.add_leaf(
        "bias",
        [0.1, 0.2, 0.3, 0.4],
        requires_grad=True,
        source="torch.tensor([0.1, 0.2, 0.3, 0.4], requires_grad=True)",
    )
    s.apply("add", ["col", "row"], name="grid")
    s.apply("add", ["grid", "bias"], name="out")
    s.apply("mul", ["out", "out"], name="sq")
    s.apply("sum", ["sq"], name="loss")
    s.backward("loss")
    s.view = {"mode": "tensors", "statistic": "norm", "log_scale": False, "selection": ["grid"]}
    return s


NN_HEADER = """import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim
"""
LINEAR_NN_CELLS = (
    NN_HEADER
    + """torch.manual_seed(42)
inputs = torch.tensor([[73, 67, 43], [91, 88, 64], [87, 134, 58], [102, 43, 37], [69, 96, 70]], dtype=torch.float32)
targets = torch.tensor([[56, 70], [81, 101], [119, 133], [22, 37], [103, 119]], dtype=torch.float32)
model = nn.Linear(3, 2)
loss_fn = nn.MSELoss()
opt = optim.SGD(model.parameters(), lr=1e-5)
print(model.weight)
print(model.bias)""",
    """for epoch in range(100):
    preds = model(inputs)
    loss = loss_fn(preds, targets)
    loss.backward()
    opt.step()
    opt.zero_grad()
print(loss)""",
    """preds = model(inputs)
loss = F.mse_loss(preds, targets)
loss.backward()
loss""",
)
XOR_MLP_CELLS = (
    NN_HEADER
    + """torch.manual_seed(0)
X = torch.tensor([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
y = torch.tensor([[0.], [1.], [1.], [0.]])
model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1), nn.Sigmoid())
loss_fn = nn.BCELoss()
opt = optim.Adam(model.parameters(), lr=0.1)
model""",
    """for step in range(150):
    opt.zero_grad()
    loss = loss_fn(model(X), y)
    loss.backward()
    opt.step()
print(loss)""",
    """opt.zero_grad()
preds = model(X)
loss = loss_fn(preds, y)
loss.backward()
preds.round()""",
)


def _from_console(cells: tuple[str, ...], selection: list[str]) -> Session:
    """A session made by running ``cells`` in the console, its transcript theirs."""
    from .console import Console

    s = Session()
    console = Console(s)
    for i, src in enumerate(cells, 1):
        r = console.run(src)
        if not r.ok:  # pragma: no cover - the examples' test runs them
            raise RuntimeError(f"example cell {i} failed: {r.text}")
        s.transcript.append(Cell(i, src, r.printed, r.result, warnings=r.warnings))
    # (the view also holds the console's modules and optimisers: model and opt open again)
    s.view.update({"mode": "tensors", "statistic": "norm", "log_scale": False, "selection": selection})
    return s


def linear_nn() -> Session:
    """Linear regression with ``nn.Linear(3, 2)``, ``nn.MSELoss`` and ``optim.SGD(lr=1e-5)``:
    100 steps on the crops table (temperature, rainfall, humidity -> apples, oranges), then one
    more forward and backward, so the trained model's gradients show."""
    return _from_console(LINEAR_NN_CELLS, ["loss"])


def xor_mlp() -> Session:
    """XOR learned by ``nn.Sequential(Linear(2, 4), Tanh, Linear(4, 1), Sigmoid)`` with
    ``nn.BCELoss`` and ``optim.Adam``: its predictions round to 0, 1, 1, 0."""
    return _from_console(XOR_MLP_CELLS, ["loss"])


CROPS = """\
inputs = torch.tensor([[73., 67, 43], [91, 88, 64], [87, 134, 58], [102, 43, 37], [69, 96, 70]])
targets = torch.tensor([[56., 70], [81, 101], [119, 133], [22, 37], [103, 119]])"""
CROPS_MODEL = """\
    preds = inputs @ w.t() + b
    diff = preds - targets
    loss = (diff * diff).sum() / diff.numel()"""


def linear_regression() -> Session:
    """Linear regression from scratch: apples and oranges from temperature, rainfall and
    humidity in five regions, 100 steps of gradient descent on the mean squared error, then
    one more forward pass and backward, so the graph shows the last gradients."""
    model = CROPS_MODEL.replace("\n    ", "\n")[4:]
    return _from_console(
        (
            "torch.manual_seed(42)\n" + CROPS,
            "w = torch.randn(2, 3, requires_grad=True)\nb = torch.randn(2, requires_grad=True)",
            "for epoch in range(100):\n" + CROPS_MODEL + "\n    loss.backward()\n"
            "    with torch.no_grad():\n"
            "        w -= 1e-5 * w.grad\n"
            "        b -= 1e-5 * b.grad\n"
            "    w.grad.zero_()\n"
            "    b.grad.zero_()",
            model + "\nloss.backward()\nloss",
        ),
        ["loss"],
    )


POINTS = """\
X = torch.tensor([[0.5, 1.0], [1.0, 0.5], [1.5, 2.0], [2.0, 1.0], [3.0, 3.5], [3.5, 2.5], [4.0, 3.0], [4.5, 4.0]])
labels = torch.tensor([0., 0., 0., 0., 1., 1., 1., 1.])"""
LOGISTIC_MODEL = """\
    p = torch.sigmoid(X @ w + b)
    loss = -(labels * torch.log(p) + (1 - labels) * torch.log(1 - p)).mean()"""


def logistic_regression() -> Session:
    """Logistic regression from scratch: two classes of 2-D points, p = sigmoid(X @ w + b),
    the binary cross-entropy written out, 100 steps of gradient descent, then one more forward
    pass and backward, so the graph shows the last gradients."""
    model = LOGISTIC_MODEL.replace("\n    ", "\n")[4:]
    return _from_console(
        (
            POINTS,
            "w = torch.zeros(2, requires_grad=True)\nb = torch.zeros(1, requires_grad=True)",
            "for epoch in range(100):\n" + LOGISTIC_MODEL + "\n    loss.backward()\n"
            "    with torch.no_grad():\n"
            "        w -= 0.5 * w.grad\n"
            "        b -= 0.5 * b.grad\n"
            "    w.grad.zero_()\n"
            "    b.grad.zero_()",
            model + "\nloss.backward()\nloss",
        ),
        ["loss"],
    )


@dataclass(frozen=True)
class Example:
    name: str  # the file's stem
    title: str
    build: Callable[[], Session]

    @property
    def description(self) -> str:
        return (self.build.__doc__ or "").split("\n\n")[0].replace("\n", " ").strip()


EXAMPLES: tuple[Example, ...] = (
    Example("linear", "y = w*x + b", linear),
    Example("neuron", "A neuron: tanh(w·x + b)", neuron),
    Example("mlp", "A 2-layer MLP with cross-entropy", mlp),
    Example("vanishing_gradients", "Vanishing gradients in a sigmoid chain", vanishing),
    Example("broadcasting", "Broadcasting (3, 1) + (1, 4) + bias", broadcasting),
    Example("linear_regression", "Linear regression from scratch (crops)", linear_regression),
    Example("linear_nn", "Linear regression with nn.Linear and optim.SGD", linear_nn),
    Example("logistic_regression", "Logistic regression from scratch (2-D points)", logistic_regression),
    Example("xor_mlp", "XOR with nn.Sequential and optim.Adam", xor_mlp),
)


def examples_dir() -> Path:
    """The examples shipped with the package (``gradviz/examples``)."""
    from gradviz.resources import examples_dir

    return examples_dir()


def write_all(directory: str | Path) -> list[Path]:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for ex in EXAMPLES:
        path = directory / f"{ex.name}{SUFFIX}"
        session = ex.build()
        session.restore_undo(())  # an example is a starting point: nothing to undo into
        save(session, path)
        out.append(path)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m gradviz.session.examples DIRECTORY", file=sys.stderr)
        return 2
    for path in write_all(argv[0]):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
