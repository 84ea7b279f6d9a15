"""In-place forms come from each op's declaration (``registry.op(inplace=True)``), not from a
list of names: each declared one exists as ``t.name_()`` and in torch, and none is made up."""

from __future__ import annotations

import numpy as np
import torch

import gradviz
from gradviz.engine import registry


def test_every_declared_in_place_form_exists_here_and_in_torch():
    declared = [
        n for info in registry.ops() if info.inplace for n in (info.method or info.name, *info.aliases)
    ]
    assert {"exp", "abs", "absolute", "clip", "sigmoid", "masked_fill"} <= set(declared)
    for n in declared:
        assert callable(getattr(gradviz.Tensor, n + "_")), n
        assert hasattr(torch.Tensor, n + "_"), n


def test_no_in_place_method_is_one_torch_lacks():
    ours = {n for n in dir(gradviz.Tensor) if n.endswith("_") and not n.startswith("_")}
    assert ours and all(hasattr(torch.Tensor, n) for n in ours), sorted(
        n for n in ours if not hasattr(torch.Tensor, n)
    )


def test_an_in_place_form_changes_the_tensor_and_its_version_as_torch_does():
    ours, theirs = gradviz.tensor([0.5, -1.0]), torch.tensor([0.5, -1.0])
    for t in (ours, theirs):
        t.exp_()
        t.clip_(0.0, 1.0)
    np.testing.assert_allclose(
        ours.tolist(), theirs.tolist(), rtol=1e-6
    )  # torch's exp: not correctly rounded
    assert ours._version == theirs._version == 2
