"""A backward that fails part-way changes nothing: no gradient accumulated, nothing freed.

(PyTorch can leave some leaves' .grad updated when a later node fails; the issue asks that
nothing be half-done, so gradviz runs every node first and only then writes.)"""

from __future__ import annotations

import pytest

import gradviz


def test_failed_second_backward_leaves_every_grad_as_it_was() -> None:
    w = gradviz.tensor(4.0, requires_grad=True)
    b = gradviz.tensor(5.0, requires_grad=True)
    h = w.exp() * 1
    h.retain_grad()
    z = h + b * b
    z.backward()
    before = (w.grad.item(), b.grad.item(), h.grad.item())
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        z.backward()
    assert (w.grad.item(), b.grad.item(), h.grad.item()) == before


def test_failure_on_an_in_place_change_frees_no_buffers() -> None:
    a = gradviz.tensor([1.0, 2.0], requires_grad=True)
    e = a.exp()
    s = a.sin()
    total = (e * 2).sum() + s.sum()
    with gradviz.no_grad():
        a.mul_(1.0)  # bumps a's version: sin's saved input is now stale
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        total.backward()
    assert a.grad is None
    # The exp branch kept its saved result: it still runs on its own.
    (e * 2).sum().backward()
    assert a.grad is not None
