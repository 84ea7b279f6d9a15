"""In-place changes through views: PyTorch's error for views of leaves, a clear refusal (never a
silently wrong gradient) for views of tensors with history, and writes under no_grad."""

from __future__ import annotations

import pytest
import torch

import gradviz


@pytest.mark.parametrize(
    "make_view", [lambda x: x[0:1], lambda x: x.view(3), lambda x: x.unsqueeze(0), lambda x: x.T]
)
def test_in_place_on_a_view_of_a_leaf_raises_pytorchs_error(make_view) -> None:
    for lib in (torch, gradviz):
        x = lib.ones(3, requires_grad=True)
        with pytest.raises(
            RuntimeError,
            match="a view of a leaf Variable that requires grad is being used in an in-place operation",
        ):
            make_view(x).add_(1)


def test_in_place_on_a_view_of_a_non_leaf_is_refused_not_miscomputed() -> None:
    x = gradviz.ones(3, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="in-place changes to a view"):
        y[0:1].add_(1)
    assert y.tolist() == [2.0, 2.0, 2.0]
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_writes_through_a_view_under_no_grad_reach_the_base() -> None:
    for lib in (torch, gradviz):
        w = lib.ones(3, requires_grad=True)
        with lib.no_grad():
            w[0:2].mul_(5)
        assert w.tolist() == [5.0, 5.0, 1.0]


def test_reshape_that_copies_is_no_view() -> None:
    for lib in (torch, gradviz):
        x = lib.ones(2, 3, requires_grad=True)
        y = (x * 1).T.reshape(6)  # not viewable: a copy, so in-place is fine
        y.add_(1)
        y.sum().backward()
        assert x.grad.tolist() == [[1.0] * 3] * 2
