"""nn.Embedding and nn.ModuleDict against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradviz as gv


@pytest.mark.parametrize(("rows", "dim", "padding_idx"), [(5, 3, None), (5, 3, 0), (4, 2, -1), (10, 8, 3)])
def test_embedding_matches_torch(rows: int, dim: int, padding_idx) -> None:
    idx = [[0, 2, 1], [rows - 1, rows - 1, 0]]
    seen = []
    for lib in (torch, gv):
        lib.manual_seed(2)
        emb = lib.nn.Embedding(rows, dim, padding_idx=padding_idx)
        y = emb(lib.tensor(idx))
        (y * lib.arange(y.numel()).reshape(tuple(y.shape)).float()).sum().backward()
        seen.append(
            (
                repr(emb),
                y.grad_fn.name(),
                y.detach().numpy().copy(),
                emb.weight.grad.numpy().copy(),
                emb.weight.detach().numpy().copy(),
            )
        )
    (ra, na, ya, ga, wa), (rb, nb, yb, gb, wb) = seen
    assert (rb, nb) == (ra, na)
    exact = rows * dim < 16  # from 16 values on, randn can differ in the last bit
    check = (
        np.testing.assert_array_equal
        if exact
        else lambda b, a: np.testing.assert_allclose(b, a, rtol=2e-6, atol=1e-6)
    )
    check(wb, wa)
    check(yb, ya)
    np.testing.assert_array_equal(gb, ga)


def test_embedding_errors_and_pretrained() -> None:
    for lib in (torch, gv):
        emb = lib.nn.Embedding(3, 2)
        with pytest.raises(IndexError, match="index out of range in self"):
            emb(lib.tensor([3]))
        pre = lib.nn.Embedding.from_pretrained(lib.tensor([[1.0, 2.0], [3.0, 4.0]]))
        assert not pre.weight.requires_grad
        assert pre(lib.tensor([1, 0])).tolist() == [[3.0, 4.0], [1.0, 2.0]]


def test_module_dict() -> None:
    seen = []
    for lib in (torch, gv):
        lib.manual_seed(0)
        d = lib.nn.ModuleDict({"enc": lib.nn.Linear(2, 3), "act": lib.nn.ReLU()})
        d["dec"] = lib.nn.Linear(3, 1)
        d.update([("out", lib.nn.Sigmoid())])
        seen.append(
            (
                repr(d),
                list(d.keys()),
                len(d),
                "enc" in d,
                [n for n, _ in d.named_parameters()],
                list(d.state_dict()),
            )
        )
        d.pop("act")
        seen.append(repr(d))
    assert seen[2:] == seen[:2]
