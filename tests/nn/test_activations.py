"""Activation, Flatten and Dropout layers against PyTorch: values, gradients, grad_fn, masks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradviz as gv

X = np.random.default_rng(1).standard_normal((4, 3, 2)).astype(np.float32)


@pytest.mark.parametrize(
    "make",
    [
        lambda nn: nn.ReLU(),
        lambda nn: nn.Sigmoid(),
        lambda nn: nn.Tanh(),
        lambda nn: nn.LeakyReLU(),
        lambda nn: nn.LeakyReLU(0.2),
        lambda nn: nn.Softmax(dim=1),
        lambda nn: nn.LogSoftmax(dim=-1),
        lambda nn: nn.Flatten(),
        lambda nn: nn.Flatten(0, 1),
        lambda nn: nn.Identity(),
    ],
)
def test_layer_matches_torch(make) -> None:
    out = []
    for lib in (torch, gv):
        x = lib.tensor(X, requires_grad=True)
        layer = make(lib.nn)
        y = layer(x)
        (y * lib.tensor(np.arange(y.numel(), dtype=np.float32).reshape(tuple(y.shape)))).sum().backward()
        out.append(
            (repr(layer), tuple(y.shape), y.detach().numpy(), x.grad.numpy(), y.grad_fn and y.grad_fn.name())
        )
    (ra, sa, ya, ga, na), (rb, sb, yb, gb, nb) = out
    assert (rb, sb, nb) == (ra, sa, na)
    np.testing.assert_allclose(yb, ya, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(gb, ga, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 9])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
@pytest.mark.parametrize("shape", [(3,), (10, 20)])
def test_dropout_mask_matches_torch(seed: int, p: float, shape: tuple) -> None:
    out = []
    for lib in (torch, gv):
        lib.manual_seed(seed)
        x = lib.ones(shape, requires_grad=True)
        drop = lib.nn.Dropout(p)
        y = drop(x)
        y.sum().backward()
        after = lib.rand(2)
        out.append((repr(y), x.grad.numpy().copy(), after.numpy()))
    assert out[1][0] == out[0][0]
    np.testing.assert_array_equal(out[1][1], out[0][1])
    np.testing.assert_array_equal(out[1][2], out[0][2])


def test_dropout_eval_and_edges() -> None:
    for lib in (torch, gv):
        x = lib.ones(4, requires_grad=True)
        drop = lib.nn.Dropout(0.5)
        drop.eval()
        assert drop(x) is x
        assert lib.nn.functional.dropout(x, 0.0) is x
        assert lib.nn.functional.dropout(x, 1.0).tolist() == [0.0] * 4
        with pytest.raises(ValueError, match=r"dropout probability has to be between 0 and 1, but got 1\.5"):
            lib.nn.Dropout(1.5)
    assert repr(gv.nn.Dropout(0.3)) == repr(torch.nn.Dropout(0.3))
    assert repr(gv.nn.Sequential(gv.nn.Linear(2, 2), gv.nn.Dropout())) == repr(
        torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout())
    )
