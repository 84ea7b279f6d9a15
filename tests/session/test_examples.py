"""The example sessions in resources/examples: committed files equal what the script builds,
each one opens, and each shows what it is there to show."""

from __future__ import annotations

import io
import itertools
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from gradviz.session import examples
from gradviz.session import fileformat as ff
from gradviz.session.document import Session

COMMITTED = examples.examples_dir()
NAMES = [ex.name for ex in examples.EXAMPLES]


def contents(path: Path) -> tuple[dict, bytes, dict[str, tuple[str, tuple, bytes]], bytes]:
    """What a file holds, minus the manifest's time and app version (an example made in the
    console also holds its transcript)."""
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert names in (
            [ff.MANIFEST, ff.SESSION, ff.ARRAYS],
            [ff.MANIFEST, ff.SESSION, ff.ARRAYS, ff.TRANSCRIPT],
        )
        transcript = zf.read(ff.TRANSCRIPT) if ff.TRANSCRIPT in names else b""
        manifest = json.loads(zf.read(ff.MANIFEST))
        del manifest["time"], manifest["app_version"]
        with np.load(io.BytesIO(zf.read(ff.ARRAYS)), allow_pickle=False) as npz:
            arrays = {k: (npz[k].dtype.str, npz[k].shape, npz[k].tobytes()) for k in npz.files}
        return manifest, zf.read(ff.SESSION), arrays, transcript


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("examples")
    assert examples.main([str(d)]) == 0
    return d


def test_the_committed_set_is_complete() -> None:
    assert sorted(p.name for p in COMMITTED.glob("*.gradviz")) == sorted(f"{n}.gradviz" for n in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_committed_file_equals_regenerated(name: str, regenerated: Path) -> None:
    committed, fresh = COMMITTED / f"{name}.gradviz", regenerated / f"{name}.gradviz"
    assert contents(committed) == contents(fresh), (
        f"{committed} is out of date: run `python -m gradviz.session.examples resources/examples`"
    )


def open_example(name: str) -> Session:
    s = Session()
    ff.open_into(s, COMMITTED / f"{name}.gradviz")
    return s


@pytest.mark.parametrize("name", NAMES)
def test_each_example_opens_with_gradients(name: str) -> None:
    s = open_example(name)
    assert any(t._grad is not None for t in s.tensors().values())
    assert s.view.get("mode") == "tensors"
    ex = next(e for e in examples.EXAMPLES if e.name == name)
    assert ex.title and ex.description


def test_linear() -> None:
    s = open_example("linear")
    assert s.tensor("y").item() == 17.0
    assert s.tensor("w").grad.item() == 3.0 and s.tensor("b").grad.item() == 1.0
    assert s.tensor("x").grad is None
    assert s.names() == ["x", "w", "b", "y"]


def test_neuron_matches_micrograd() -> None:
    s = open_example("neuron")
    assert s.tensor("o").item() == pytest.approx(0.7071, abs=1e-4)
    grads = {n: s.tensor(n).grad.item() for n in ("x1", "x2", "w1", "w2", "b")}
    assert grads == pytest.approx({"x1": -1.5, "x2": 0.5, "w1": 1.0, "w2": 0.0, "b": 0.5}, abs=1e-6)


def test_mlp() -> None:
    s = open_example("mlp")
    assert tuple(s.tensor("X").shape) == (5, 4) and tuple(s.tensor("logits").shape) == (5, 3)
    assert tuple(s.tensor("loss").shape) == ()
    for p, shape in {"W1": (8, 4), "b1": (8,), "W2": (3, 8), "b2": (3,)}.items():
        g = s.tensor(p).grad
        assert g is not None and tuple(g.shape) == shape and np.isfinite(g.numpy()).all()


def test_vanishing_gradients() -> None:
    s = open_example("vanishing_gradients")
    g = [abs(s.tensor(f"w{k}").grad.item()) for k in range(1, 13)]
    assert all(a < b for a, b in itertools.pairwise(g))  # smaller at every layer further from the loss
    assert g[0] < 1e-6 * g[-1]


def test_broadcasting() -> None:
    s = open_example("broadcasting")
    assert tuple(s.tensor("grid").shape) == (3, 4)
    assert {n: tuple(s.tensor(n).grad.shape) for n in ("col", "row", "bias")} == {
        "col": (3, 1),
        "row": (1, 4),
        "bias": (4,),
    }
    out = s.tensor("out").detach().numpy()
    np.testing.assert_allclose(s.tensor("bias").grad.numpy(), (2 * out).sum(axis=0), rtol=1e-6)


def test_linear_nn_is_the_crops_regression_trained_by_sgd() -> None:
    s = open_example("linear_nn")
    assert s.names() == ["inputs", "targets", "model_weight", "model_bias", "preds", "loss"]
    assert {n: tuple(s.tensor(n).grad.shape) for n in ("model_weight", "model_bias")} == {
        "model_weight": (2, 3),
        "model_bias": (2,),
    }
    assert s.tensor("loss").item() < 300  # from about 2,500 before training
    assert [c.source.splitlines()[0] for c in s.transcript] == [
        "import torch",
        "for epoch in range(100):",
        "preds = model(inputs)",
    ]


def test_xor_mlp_predicts_xor_as_torch_does() -> None:
    s = open_example("xor_mlp")
    assert s.tensor("preds").detach().numpy().round().ravel().tolist() == [0.0, 1.0, 1.0, 0.0]
    # the same program in torch: the same predictions
    ns: dict = {}
    exec("\n".join(examples.XOR_MLP_CELLS[:2]) + "\npreds = model(X)", ns)
    assert ns["preds"].detach().numpy().round().ravel().tolist() == [0.0, 1.0, 1.0, 0.0]
    np.testing.assert_allclose(
        s.tensor("preds").detach().numpy(), ns["preds"].detach().numpy(), rtol=1e-3, atol=1e-4
    )


def _torch_run(session: Session) -> dict:
    """The example's cells (its transcript) run by PyTorch itself."""
    import torch

    ns: dict = {"torch": torch}
    for cell in session.transcript:
        exec(cell.source, ns)
    return ns


@pytest.mark.parametrize(
    ("name", "params"), [("linear_regression", ("w", "b")), ("logistic_regression", ("w", "b"))]
)
def test_the_regressions_were_trained_as_torch_trains_them(name: str, params: tuple[str, ...]) -> None:
    s = open_example(name)
    assert [c.number for c in s.transcript] == [1, 2, 3, 4] and "for epoch in range(100):" in s.transcript[
        2
    ].source
    ns = _torch_run(s)
    for n in (*params, "loss"):
        np.testing.assert_allclose(s.tensor(n).detach().numpy(), ns[n].detach().numpy(), rtol=1e-5, err_msg=n)
    for n in params:  # the final backward's gradients colour the graph
        np.testing.assert_allclose(s.tensor(n).grad.numpy(), ns[n].grad.numpy(), rtol=1e-4, atol=1e-6)
        assert s.tensor(n).grad.numpy().any()


def test_linear_regression_is_the_lesson() -> None:
    s = open_example("linear_regression")
    assert s.names() == ["inputs", "targets", "w", "b", "preds", "diff", "loss"]
    import torch

    torch.manual_seed(42)
    w, b = torch.randn(2, 3), torch.randn(2)
    inputs, targets = (torch.tensor(s.tensor(n).numpy()) for n in ("inputs", "targets"))
    before = (((inputs @ w.t() + b) - targets) ** 2).mean().item()
    assert s.tensor("loss").item() < before / 10  # 100 small steps from a loss ten times larger


def test_logistic_regression_separates_the_two_classes() -> None:
    s = open_example("logistic_regression")
    p, labels = s.tensor("p").detach().numpy(), s.tensor("labels").numpy()
    assert ((p > 0.5) == (labels == 1)).all()
    assert s.tensor("loss").item() < 0.2
