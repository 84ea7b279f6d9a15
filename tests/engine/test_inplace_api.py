"""In-place pointwise ops (``exp_``, ``pow_`` ...) and training-step updates, against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradviz as gv

CASES = [
    ("exp_", ()),
    ("pow_", (2,)),
    ("pow_", (1.5,)),
    ("sqrt_", ()),
    ("abs_", ()),
    ("neg_", ()),
    ("sin_", ()),
    ("cos_", ()),
    ("tanh_", ()),
    ("sigmoid_", ()),
    ("log_", ()),
    ("reciprocal_", ()),
    ("square_", ()),
    ("relu_", ()),
    ("clamp_", (0.2, 0.6)),
    ("clamp_", (None, 0.5)),
]


@pytest.mark.parametrize("name,args", CASES)
def test_inplace_value_node_version_and_gradient(name: str, args: tuple) -> None:
    vals = [[0.3, 0.7, 1.2], [0.05, 0.5, 2.0]]
    res = []
    for t in (torch, gv):
        x = t.tensor(vals, requires_grad=True)
        y = x * 1.0
        v0 = y._version
        out = getattr(y, name)(*args)
        assert out is y
        (y * t.arange(6.0).reshape(2, 3)).sum().backward()
        res.append((y.detach().numpy().copy(), y.grad_fn.name(), y._version - v0, x.grad.numpy().copy()))
    (ta, tn, tv, tg), (ga, gn, gv_, gg) = res
    np.testing.assert_allclose(ga, ta, rtol=1e-6)
    assert gn == tn
    assert gv_ == tv == 1
    np.testing.assert_allclose(gg, tg, rtol=1e-5)


@pytest.mark.parametrize("name,args", CASES[:6])
def test_inplace_on_leaf_requiring_grad_is_refused(name: str, args: tuple) -> None:
    for t in (torch, gv):
        x = t.tensor([0.5, 1.0], requires_grad=True)
        with pytest.raises(RuntimeError) as e:
            getattr(x, name)(*args)
        assert str(e.value) == "a leaf Variable that requires grad is being used in an in-place operation."


def test_inplace_on_saved_tensor_breaks_backward() -> None:
    msgs = []
    for t in (torch, gv):
        x = t.tensor([0.5, 1.0], requires_grad=True)
        y = x.exp()
        z = y.sum() * 1.0
        w = y * 1.0
        y2 = w.pow(2)
        w.add_(1)
        with pytest.raises(RuntimeError) as e:
            y2.sum().backward()
        msgs.append(str(e.value).split("[")[0])
        del z
    assert msgs[0] == msgs[1]


def test_inplace_on_plain_tensor_and_dtype_rules() -> None:
    for t in (torch, gv):
        a = t.tensor([1.0, 4.0, 9.0])
        a.sqrt_()
        assert a.tolist() == [1.0, 2.0, 3.0] and a._version == 1
        i = t.tensor([1, -2, 3])
        i.abs_()
        assert i.tolist() == [1, 2, 3] and str(i.dtype).endswith("int64")
        with pytest.raises(
            RuntimeError, match="result type Float can't be cast to the desired output type Long"
        ):
            i.sqrt_()


def test_sgd_step_under_no_grad_with_zero_grad() -> None:
    out = []
    for t in (torch, gv):
        t.manual_seed(0)
        w = t.randn(3, requires_grad=True)
        x = t.tensor([1.0, 2.0, 3.0])
        losses = []
        for _ in range(4):
            loss = ((w * x).sum() - 1.0) ** 2
            loss.backward()
            with t.no_grad():
                w -= 0.05 * w.grad
                w.grad.zero_()
            losses.append(loss.item())
        assert w.is_leaf and w.requires_grad and w.grad_fn is None
        assert w.grad.tolist() == [0.0, 0.0, 0.0]
        out.append((losses, w.detach().numpy().copy(), w._version))
    np.testing.assert_allclose(out[1][0], out[0][0], rtol=1e-6)
    np.testing.assert_allclose(out[1][1], out[0][1], rtol=1e-6)
    assert out[1][2] == out[0][2]


def test_augmented_assignment_on_leaf_outside_no_grad_is_refused() -> None:
    for t in (torch, gv):
        w = t.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            w -= 1
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            w *= 2
