"""Checking a gradient by nudging (``gradviz.engine.gradcheck``): the numeric derivative agrees
with autograd (gradviz's and torch's) on every program, on leaves and intermediate tensors,
after backward freed the buffers, and it catches a planted wrong derivative."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_trace_backward import PROGRAMS, run

import gradviz
from gradviz.autograd import Function
from gradviz.engine.gradcheck import check_gradient, check_indices, evaluate
from gradviz.nn import functional as nnf_gradviz


def mlp(lib):
    gen = np.random.default_rng(7)
    nnf = nnf_gradviz if lib is gradviz else torch.nn.functional
    x = lib.tensor(gen.standard_normal((4, 3)).tolist())
    W1 = lib.tensor(gen.standard_normal((5, 3)).tolist(), requires_grad=True)
    b1 = lib.tensor(gen.standard_normal(5).tolist(), requires_grad=True)
    W2 = lib.tensor(gen.standard_normal((2, 5)).tolist(), requires_grad=True)
    target = lib.tensor([0, 1, 1, 0])
    h = nnf.linear(x, W1, b1)
    a = h.relu()
    logits = a @ W2.T
    p = logits.softmax(dim=1)
    lp = logits.log_softmax(dim=1)
    picked = lp[:, 0]
    mixed = lib.where(picked > -1.0, picked, p[:, 1])
    loss = nnf.cross_entropy(logits, target) + mixed.mean()
    return locals(), "loss", None


def in_place(lib):
    a = lib.tensor([0.5, 1.5, -2.0], requires_grad=True)
    c = a * 2
    c += a.exp()
    d = c.reshape(3, 1).permute(1, 0)
    loss = (d * d).sum()
    return locals(), "loss", None


ALL = [*PROGRAMS, mlp, in_place]


@pytest.mark.parametrize("program", ALL, ids=lambda p: p.__name__)
def test_running_the_graph_again_gives_the_same_values(program):
    named, out, _ = run(program, gradviz)
    for name, t in named.items():
        if t.grad_fn is not None:
            np.testing.assert_allclose(evaluate(t), t.detach().numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
    assert evaluate(out).dtype == np.float64


@pytest.mark.parametrize("program", ALL, ids=lambda p: p.__name__)
def test_the_numeric_derivative_agrees_with_autograd_on_every_leaf(program):
    named, out, grad = run(program, gradviz)
    tnamed, tout, tgrad = run(program, torch)
    if grad is not None:  # a non-scalar output: check the weighted sum backward computes
        out, tout = (out * grad).sum(), (tout * tgrad).sum()
    out.backward()  # frees the buffers: the check needs none
    tout.backward()
    leaves = [k for k, v in named.items() if v.is_leaf and v.requires_grad]
    for k in leaves:
        check = check_gradient(out, named[k], named[k].grad.numpy())
        assert check.ok, (k, check.numeric, check.analytic)
        np.testing.assert_allclose(
            check.numeric, tnamed[k].grad.numpy().ravel()[: len(check.indices)], rtol=1e-3, atol=1e-5
        )
        assert check.rel_error < 1e-3


def test_an_intermediate_tensor_is_nudged_where_it_was_made():
    named, loss, _ = run(broadcasting_program(), gradviz)
    named["grid"].retain_grad()
    loss.backward()
    check = check_gradient(loss, named["grid"], named["grid"].grad.numpy())
    assert check.ok and check.total == 12 and not check.sampled
    tnamed, tloss, _ = run(broadcasting_program(), torch)
    tnamed["grid"].retain_grad()
    tloss.backward()
    np.testing.assert_allclose(check.numeric, tnamed["grid"].grad.numpy().ravel(), rtol=1e-4)


def broadcasting_program():
    return next(p for p in PROGRAMS if p.__name__ == "broadcasting")


class WrongSquare(Function):
    """x² with a planted mistake: backward forgets the factor 2."""

    name = "WrongSquareBackward0"
    statement = "result = input²"
    formula = {"input": "2·input"}  # noqa: RUF012 - what it claims; backward computes input

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (g * x,)


def test_a_planted_wrong_derivative_is_caught():
    x = gradviz.tensor([1.0, 2.0, -3.0], requires_grad=True)
    y = WrongSquare.apply(x).sum()
    y.backward()
    check = check_gradient(y, x, x.grad.numpy())
    assert not check.ok
    np.testing.assert_allclose(check.numeric, [2.0, 4.0, -6.0], rtol=1e-6)
    np.testing.assert_allclose(check.analytic, [1.0, 2.0, -3.0])
    assert check.rel_error == pytest.approx(0.5, rel=1e-6)


def test_a_large_tensor_is_checked_on_a_fixed_sample():
    assert len(check_indices((5, 5), limit=64)) == 25
    sample = check_indices((20, 20), limit=64)
    assert len(sample) == 64 == len(set(sample)) and sample == check_indices((20, 20), limit=64)
    x = gradviz.tensor(np.linspace(-1, 1, 400, dtype=np.float32).reshape(20, 20).tolist(), requires_grad=True)
    y = (x * x).sum()
    y.backward()
    seen = []
    check = check_gradient(y, x, x.grad.numpy(), progress=lambda done, total: seen.append((done, total)))
    assert check.sampled and check.total == 400 and check.ok
    assert seen[-1] == (64, 64) and len(seen) == 64


def test_a_progress_callback_can_stop_it():
    x = gradviz.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x).sum()

    def stop(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        check_gradient(y, x, np.zeros(3), progress=stop)
    assert x.grad is None and x.tolist() == [1.0, 2.0, 3.0]


def test_a_tensor_without_grad_is_refused():
    x = gradviz.tensor([1.0, 2.0])
    w = gradviz.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="does not require grad"):
        check_gradient((x * w).sum(), x, np.zeros(2))


@pytest.mark.parametrize("program", ALL, ids=lambda p: p.__name__)
def test_autograd_on_a_fresh_float64_copy_of_the_graph_agrees_with_torch(program):
    named, out, grad = run(program, gradviz)
    tnamed, tout, tgrad = run(program, torch)
    if grad is not None:
        out, tout = (out * grad).sum(), (tout * tgrad).sum()
    out.backward()
    out_again = out  # the buffers are freed: the copy needs none
    tout.backward()
    for k, v in named.items():
        if v.is_leaf and v.requires_grad:
            check = check_gradient(out_again, v)  # analytic computed afresh
            assert check.ok, (k, check.numeric, check.analytic)
            np.testing.assert_allclose(check.analytic, tnamed[k].grad.numpy().ravel(), rtol=1e-5, atol=1e-6)
            assert v.grad.dtype == gradviz.float32  # the learner's tensors are untouched


def test_the_fresh_gradient_is_one_backward_whatever_grad_accumulated():
    x = gradviz.tensor(3.0)
    w = gradviz.tensor(4.0, requires_grad=True)
    y = w * x
    y.backward(retain_graph=True)
    y.backward()
    assert w.grad.item() == 6.0
    check = check_gradient(y, w)
    assert check.ok and check.analytic.tolist() == [3.0]
    assert not check_gradient(y, w, w.grad.numpy()).ok  # against the accumulated .grad: 6 != 3
