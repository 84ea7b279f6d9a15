"""nn.utils (gradient clipping, parameter vectors) and Module.apply against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradviz as gv


def _model_with_grads(lib, seed: int):
    lib.manual_seed(seed)
    model = lib.nn.Sequential(lib.nn.Linear(5, 7), lib.nn.Tanh(), lib.nn.Linear(7, 3))
    (model(lib.rand(6, 5)) * 10).sum().backward()
    return model


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    ("max_norm", "norm_type"), [(0.5, 2.0), (100.0, 2.0), (1.0, "inf"), (0.3, 1.0), (2.0, 3.0)]
)
def test_clip_grad_norm(seed: int, max_norm: float, norm_type) -> None:
    out = []
    for lib in (torch, gv):
        model = _model_with_grads(lib, seed)
        total = lib.nn.utils.clip_grad_norm_(model.parameters(), max_norm, norm_type=norm_type)
        out.append((repr(total), total.item(), [p.grad.numpy().copy() for p in model.parameters()]))
    if norm_type in (2.0, "inf"):
        assert out[1][0] == out[0][0]
    # other orders: torch sums |g|**p in float32, gradviz in double; the last digit may differ
    assert out[1][1] == pytest.approx(out[0][1], rel=1e-6)
    for a, b in zip(out[0][2], out[1][2]):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-8)


def test_clip_grad_value_and_vectors() -> None:
    out = []
    for lib in (torch, gv):
        model = _model_with_grads(lib, 4)
        lib.nn.utils.clip_grad_value_(model.parameters(), 0.5)
        vec = lib.nn.utils.parameters_to_vector(model.parameters())
        lib.nn.utils.vector_to_parameters(vec * 2, model.parameters())
        out.append(([p.grad.numpy().copy() for p in model.parameters()], repr(vec), repr(model[0].bias)))
    for a, b in zip(out[0][0], out[1][0]):
        np.testing.assert_array_equal(b, a)
    assert out[1][1:] == out[0][1:]


def test_apply_init_weights() -> None:
    def init_weights(lib):
        def fn(m):
            if isinstance(m, lib.nn.Linear):
                lib.nn.init.xavier_uniform_(m.weight)
                lib.nn.init.zeros_(m.bias)

        return fn

    reprs = []
    for lib in (torch, gv):
        lib.manual_seed(11)
        model = lib.nn.Sequential(lib.nn.Linear(4, 3), lib.nn.ReLU(), lib.nn.Linear(3, 2))
        assert model.apply(init_weights(lib)) is model
        reprs.append([repr(p) for p in model.parameters()])
    assert reprs[1] == reprs[0]
