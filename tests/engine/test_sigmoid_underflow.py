"""sigmoid far below zero: float32 gives exactly 0 where PyTorch does (its exp(-x) overflows),
not the denormals a careful formula would give; float64 is left as it was (it matches)."""

from __future__ import annotations

import numpy as np
import torch

import gradviz


def test_float32_sigmoid_is_zero_exactly_where_torch_s_is():
    edge = np.float32(-88.72283172607422)
    xs = np.concatenate(
        [np.linspace(-120, -80, 4001, dtype=np.float32), [edge, np.nextafter(edge, np.float32(-1e3))]]
    )
    ours = gradviz.sigmoid(gradviz.tensor(xs)).numpy()
    theirs = torch.sigmoid(torch.tensor(xs)).numpy()
    assert np.array_equal(ours == 0, theirs == 0)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=0)
    assert (
        repr(gradviz.sigmoid(gradviz.tensor([-100.0])))
        == "tensor([0.])"
        == repr(torch.sigmoid(torch.tensor([-100.0])))
    )


def test_float64_keeps_its_tiny_values_as_torch_does():
    x = np.array([-100.0, -700.0])
    np.testing.assert_allclose(
        gradviz.sigmoid(gradviz.tensor(x)).numpy(), torch.sigmoid(torch.tensor(x)).numpy(), rtol=1e-12
    )
