"""nn.Linear's initialisation and nn.init give PyTorch's numbers under the same seed."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import gradviz as gv

SEEDS = [0, 1, 7, 42, 2024]
SHAPES = [(1, 1), (2, 3), (5, 4), (3, 17), (64, 784), (10, 64), (784, 128)]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_linear_init_is_bit_exact(seed: int, shape: tuple[int, int]) -> None:
    torch.manual_seed(seed)
    a = torch.nn.Linear(*shape)
    after_a = torch.rand(4)
    gv.manual_seed(seed)
    b = gv.nn.Linear(*shape)
    after_b = gv.rand(4)
    np.testing.assert_array_equal(b.weight.detach().numpy(), a.weight.detach().numpy())
    np.testing.assert_array_equal(b.bias.detach().numpy(), a.bias.detach().numpy())
    # the generator moved on by the same number of draws
    np.testing.assert_array_equal(after_b.numpy(), after_a.numpy())
    assert repr(b.weight) == repr(a.weight)


@pytest.mark.parametrize("seed", SEEDS)
def test_linear_without_bias_and_float64(seed: int) -> None:
    torch.manual_seed(seed)
    a = [torch.nn.Linear(3, 2, bias=False), torch.nn.Linear(4, 3, dtype=torch.float64)]
    gv.manual_seed(seed)
    b = [gv.nn.Linear(3, 2, bias=False), gv.nn.Linear(4, 3, dtype=gv.float64)]
    for la, lb in zip(a, b):
        assert repr(lb) == repr(la)
        for (n, pa), (_, pb) in zip(la.named_parameters(), lb.named_parameters()):
            np.testing.assert_array_equal(pb.detach().numpy(), pa.detach().numpy(), err_msg=n)
    assert b[0].bias is None


def _init_cases():
    return {
        "uniform": lambda init, t: init.uniform_(t),
        "uniform_ab": lambda init, t: init.uniform_(t, -0.3, 0.7),
        "kaiming_uniform": lambda init, t: init.kaiming_uniform_(t),
        "kaiming_uniform_relu": lambda init, t: init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"),
        "kaiming_uniform_a": lambda init, t: init.kaiming_uniform_(t, a=math.sqrt(5)),
        "xavier_uniform": lambda init, t: init.xavier_uniform_(t),
        "xavier_uniform_gain": lambda init, t: init.xavier_uniform_(t, gain=init.calculate_gain("tanh")),
        "zeros": lambda init, t: init.zeros_(t),
        "ones": lambda init, t: init.ones_(t),
        "constant": lambda init, t: init.constant_(t, 0.25),
    }


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("shape", [(3, 4), (20, 30), (2, 3, 5)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", list(_init_cases()))
def test_init_is_bit_exact(seed: int, shape: tuple, dtype: str, case: str) -> None:
    fn = _init_cases()[case]
    torch.manual_seed(seed)
    ta = torch.empty(shape, dtype=getattr(torch, dtype))
    out_a = fn(torch.nn.init, ta)
    gv.manual_seed(seed)
    tb = gv.empty(shape, dtype=getattr(gv, dtype))
    out_b = fn(gv.nn.init, tb)
    assert out_b is tb and out_a is ta
    np.testing.assert_array_equal(tb.numpy(), ta.numpy())


@pytest.mark.parametrize("case", ["normal", "normal_ms", "kaiming_normal", "xavier_normal"])
@pytest.mark.parametrize("shape", [(3, 4), (20, 30)])
def test_normal_inits(case: str, shape: tuple) -> None:
    """Exact below 16 elements; from 16 on as close as ``randn`` is (last bit of float32)."""
    fns = {
        "normal": lambda init, t: init.normal_(t),
        "normal_ms": lambda init, t: init.normal_(t, 0.5, 0.02),
        "kaiming_normal": lambda init, t: init.kaiming_normal_(t, nonlinearity="relu"),
        "xavier_normal": lambda init, t: init.xavier_normal_(t),
    }
    torch.manual_seed(5)
    ta = fns[case](torch.nn.init, torch.empty(shape))
    gv.manual_seed(5)
    tb = fns[case](gv.nn.init, gv.empty(shape))
    if ta.numel() < 16:
        np.testing.assert_array_equal(tb.numpy(), ta.numpy())
        assert repr(tb) == repr(ta)
    else:
        # gradviz's randn itself can differ from torch's in the last float32 bit here
        np.testing.assert_allclose(tb.numpy(), ta.numpy(), rtol=2e-6, atol=1e-6)


def test_init_is_not_recorded_and_keeps_requires_grad() -> None:
    p = gv.nn.Parameter(gv.empty(3, 2))
    gv.nn.init.uniform_(p)
    gv.nn.init.zeros_(p)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None


def test_calculate_gain_and_errors() -> None:
    for name in ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]:
        assert gv.nn.init.calculate_gain(name) == torch.nn.init.calculate_gain(name)
    assert gv.nn.init.calculate_gain("leaky_relu", 0.2) == torch.nn.init.calculate_gain("leaky_relu", 0.2)
    for lib in (torch, gv):
        with pytest.raises(ValueError, match="Unsupported nonlinearity foo"):
            lib.nn.init.calculate_gain("foo")
        with pytest.raises(ValueError, match="fewer than 2 dimensions"):
            lib.nn.init.xavier_uniform_(lib.empty(3))
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            lib.nn.init.kaiming_uniform_(lib.empty(0, 3))
        assert "Initializing zero-element tensors is a no-op" in str(w[0].message)
