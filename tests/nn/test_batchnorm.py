"""nn.BatchNorm1d against PyTorch: outputs, gradients, running statistics, eval mode, state."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradviz as gv

RNG = np.random.default_rng(5)


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5)])
@pytest.mark.parametrize(
    "kwargs", [{}, {"affine": False}, {"momentum": None}, {"momentum": 0.3, "eps": 1e-3}, {"bias": False}]
)
def test_batchnorm_matches_torch(shape: tuple, kwargs: dict) -> None:
    batches = [(RNG.standard_normal(shape) * 3 + 1).astype(np.float32) for _ in range(3)]
    weights = RNG.standard_normal(shape).astype(np.float32)
    seen = []
    for lib in (torch, gv):
        bn = lib.nn.BatchNorm1d(3, **kwargs)
        outs, grads = [], []
        for xb in batches:
            x = lib.tensor(xb, requires_grad=True)
            y = bn(x)
            (y * lib.tensor(weights)).sum().backward()
            outs.append(y.detach().numpy().copy())
            grads.append(x.grad.numpy().copy())
        pgrads = [p.grad.numpy().copy() for p in bn.parameters()]
        bn.eval()
        x = lib.tensor(batches[0], requires_grad=True)
        y = bn(x)
        y.sum().backward()
        outs.append(y.detach().numpy().copy())
        grads.append(x.grad.numpy().copy())
        state = {k: v.numpy().copy() for k, v in bn.state_dict().items()}
        seen.append((repr(bn), y.grad_fn.name(), outs, grads, pgrads, state))
    (ra, na, oa, ga, pa, sa), (rb, nb, ob, gb, pb, sb) = seen
    assert (rb, nb) == (ra, na)
    for a, b in zip(oa + ga + pa, ob + gb + pb):
        np.testing.assert_allclose(b, a, rtol=2e-5, atol=2e-5)
    assert list(sb) == list(sa)
    for k in sa:
        np.testing.assert_allclose(sb[k], sa[k], rtol=1e-5, atol=1e-6, err_msg=k)
        assert sb[k].dtype == sa[k].dtype, k


def test_batchnorm_errors() -> None:
    for args in [(3, (1, 3)), (3, (2, 4)), (3, (2, 3, 4, 5))]:
        with pytest.raises(Exception) as ta:
            torch.nn.BatchNorm1d(args[0])(torch.ones(args[1]))
        with pytest.raises(Exception) as tb:
            gv.nn.BatchNorm1d(args[0])(gv.ones(args[1]))
        assert type(tb.value) is type(ta.value)
        assert str(tb.value).replace("gradviz.Size", "torch.Size") == str(ta.value)
