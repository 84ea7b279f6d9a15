"""Loss modules and the functional losses gradviz adds, against PyTorch: values, gradients,
grad_fn names, reprs and errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gradviz as gv

RNG = np.random.default_rng(14)
LOGITS = (RNG.standard_normal((6, 3)) * 2).astype(np.float32)
PROBS = RNG.uniform(0.02, 0.98, (6, 3)).astype(np.float32)
BINARY = (RNG.random((6, 3)) > 0.5).astype(np.float32)
SOFT = RNG.random((6, 3)).astype(np.float32)
CLASSES = RNG.integers(0, 3, 6)
REAL = RNG.standard_normal((6, 3)).astype(np.float32)


def _run(lib, make_loss, x, target, **kw):
    inp = lib.tensor(x, requires_grad=True)
    loss = make_loss(lib)(inp, lib.tensor(target))
    (loss.sum() if loss.dim() else loss).backward()
    return loss, inp.grad


CASES = {
    "MSELoss": (lambda lib, r: lib.nn.MSELoss(reduction=r), REAL, SOFT),
    "L1Loss": (lambda lib, r: lib.nn.L1Loss(reduction=r), REAL, SOFT),
    "CrossEntropyLoss": (lambda lib, r: lib.nn.CrossEntropyLoss(reduction=r), LOGITS, CLASSES),
    "CrossEntropyLoss_probs": (lambda lib, r: lib.nn.CrossEntropyLoss(reduction=r), LOGITS, SOFT),
    "NLLLoss": (lambda lib, r: lib.nn.NLLLoss(reduction=r), LOGITS, CLASSES),
    "BCELoss": (lambda lib, r: lib.nn.BCELoss(reduction=r), PROBS, BINARY),
    "BCELoss_soft": (lambda lib, r: lib.nn.BCELoss(reduction=r), PROBS, SOFT),
    "BCEWithLogitsLoss": (lambda lib, r: lib.nn.BCEWithLogitsLoss(reduction=r), LOGITS, BINARY),
    "BCEWithLogitsLoss_pos": (
        lambda lib, r: lib.nn.BCEWithLogitsLoss(reduction=r, pos_weight=lib.tensor([1.0, 2.0, 0.5])),
        LOGITS,
        SOFT,
    ),
    "BCEWithLogitsLoss_weight": (
        lambda lib, r: lib.nn.BCEWithLogitsLoss(reduction=r, weight=lib.tensor([0.5, 1.0, 2.0])),
        LOGITS,
        BINARY,
    ),
    "BCELoss_weight": (
        lambda lib, r: lib.nn.BCELoss(weight=lib.tensor([0.5, 1.0, 2.0]), reduction=r),
        PROBS,
        BINARY,
    ),
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("case", list(CASES))
def test_loss_matches_torch(case: str, reduction: str) -> None:
    make, x, target = CASES[case]
    la, ga = _run(torch, lambda lib: make(lib, reduction), x, target)
    lb, gb = _run(gv, lambda lib: make(lib, reduction), x, target)
    np.testing.assert_allclose(lb.detach().numpy(), la.detach().numpy(), rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(gb.numpy(), ga.numpy(), rtol=2e-6, atol=1e-8)
    assert lb.grad_fn.name() == la.grad_fn.name()
    assert lb.dtype.__repr__().split(".")[-1] == la.dtype.__repr__().split(".")[-1]
    assert lb.shape == la.shape
    assert repr(make(gv, reduction)) == repr(make(torch, reduction))


def test_loss_reprs_print_alike() -> None:
    """A printed loss (value and grad_fn) reads as in torch."""
    for make, x, target in CASES.values():
        la, _ = _run(torch, lambda lib, make=make: make(lib, "mean"), x, target)
        lb, _ = _run(gv, lambda lib, make=make: make(lib, "mean"), x, target)
        assert repr(lb) == repr(la)


def test_bce_extremes_are_clamped() -> None:
    for lib in (torch, gv):
        loss = lib.nn.functional.binary_cross_entropy(lib.tensor([0.0, 1.0]), lib.tensor([1.0, 0.0]))
        assert loss.item() == 100.0
    big = np.array([[-100.0, 100.0, 0.0]], np.float32)
    la, ga = _run(torch, lambda lib: lib.nn.BCEWithLogitsLoss(), big, np.array([[1.0, 0.0, 1.0]], np.float32))
    lb, gb = _run(gv, lambda lib: lib.nn.BCEWithLogitsLoss(), big, np.array([[1.0, 0.0, 1.0]], np.float32))
    np.testing.assert_allclose(lb.detach().numpy(), la.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(gb.numpy(), ga.numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.nn.functional.binary_cross_entropy(lib.rand(3), lib.rand(2)),
        lambda lib: lib.nn.functional.binary_cross_entropy(lib.tensor([1.5]), lib.tensor([1.0])),
        lambda lib: lib.nn.functional.binary_cross_entropy_with_logits(lib.rand(3), lib.rand(3, 1)),
        lambda lib: lib.nn.functional.one_hot(lib.tensor([0.0, 1.0])),
        lambda lib: lib.nn.functional.one_hot(lib.tensor([0, 3]), 2),
        lambda lib: lib.nn.functional.l1_loss(lib.rand(2), lib.rand(2), reduction="avg"),
    ],
)
def test_errors_match(call) -> None:
    with pytest.raises(Exception) as ta:
        call(torch)
    with pytest.raises(Exception) as tb:
        call(gv)
    assert type(tb.value) is type(ta.value)
    assert str(tb.value).replace("gradviz.Size", "torch.Size") == str(ta.value)


def test_one_hot() -> None:
    for args in [([0, 2, 1],), ([0, 2], 4), ([[1, 0], [2, 2]],)]:
        a = torch.nn.functional.one_hot(torch.tensor(args[0]), *args[1:])
        b = gv.nn.functional.one_hot(gv.tensor(args[0]), *args[1:])
        assert repr(b) == repr(a)


def test_l1_loss_warns_on_broadcast() -> None:
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        gv.nn.functional.l1_loss(gv.rand(3, 1), gv.rand(3))
    assert "different to the input size" in str(w[0].message)


def test_create_graph_through_bce_with_logits() -> None:
    grads = []
    for lib in (torch, gv):
        x = lib.tensor(LOGITS, requires_grad=True)
        loss = lib.nn.functional.binary_cross_entropy_with_logits(x, lib.tensor(BINARY))
        (g,) = lib.autograd.grad(loss, x, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), x)
        grads.append((g.detach().numpy(), gg.numpy()))
    np.testing.assert_allclose(grads[1][0], grads[0][0], rtol=2e-6, atol=1e-8)
    np.testing.assert_allclose(grads[1][1], grads[0][1], rtol=2e-5, atol=1e-7)
