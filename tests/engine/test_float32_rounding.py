"""float32 maths functions against torch's CPU kernels, value by value. ATen's vectorised exp,
tanh, log ... are within an ulp of the exact value and mostly equal to its correct rounding;
gradviz rounds once from double, so it agrees with them on nearly every value (numpy's own
float32 kernels: exp on 61%, tanh on 68%) and is never further than an ulp or two."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradviz

# op -> (fewest values that must be bit-equal to torch's, largest distance in ulps). ATen picks
# its vectorised kernel by the CPU's instruction set (AVX2, AVX-512), and they round a few values
# differently: tanh agreed on 99.6% on one machine here and on 99.4% on another.
AGREEMENT = {
    "exp": (0.985, 1), "tanh": (0.99, 1), "log1p": (0.99, 1), "expm1": (0.995, 1), "log": (0.9, 1),
    "sin": (0.93, 1), "cos": (0.93, 1), "sigmoid": (0.94, 2),
}  # fmt: skip


@pytest.mark.parametrize("op", sorted(AGREEMENT))
def test_float32_values_agree_with_torch(op: str) -> None:
    x = np.random.default_rng(0).standard_normal(100_000).astype(np.float32) * 5
    if op in ("log", "log1p"):
        x = np.abs(x) + np.float32(0.01)
    want = getattr(torch, op)(torch.from_numpy(x)).numpy()
    got = getattr(gradviz, op)(gradviz.from_numpy(x)).numpy()
    ulps = np.abs(want.view(np.int32).astype(np.int64) - got.view(np.int32).astype(np.int64))
    share, most = AGREEMENT[op]
    assert np.mean(ulps == 0) >= share and ulps.max() <= most, (np.mean(ulps == 0), ulps.max())


def test_sigmoid_keeps_torch_s_zero_and_saturation() -> None:
    x = np.array([-100, -88.8, -88.7, -50, 0, 50, 100], np.float32)
    want = torch.sigmoid(torch.from_numpy(x)).numpy()
    assert gradviz.sigmoid(gradviz.from_numpy(x)).numpy().tobytes() == want.tobytes()
