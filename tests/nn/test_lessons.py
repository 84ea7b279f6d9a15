"""The classic first lessons, run as the same program text with ``import torch`` and with
``import gradviz as torch``: what they print must be the same.

The data come from ``torch.rand`` (bit-exact in gradviz); ``randn`` of 16 or more values can
differ from PyTorch's in the last bit (vectorised log/sin/cos), which training then amplifies.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .lessons import run

PROGRAMS = Path(__file__).parent / "programs"


def _same(text: str) -> str:
    # gradviz names its own Size class in reprs (DESIGN.md: `gradviz.Size([3, 2])`)
    return text.replace("gradviz.Size", "torch.Size")


@pytest.mark.parametrize("name", ["linear_regression", "logistic_regression", "mlp_classifier"])
def test_lesson_prints_what_torch_prints(name: str) -> None:
    program = (PROGRAMS / f"{name}.py").read_text()
    expected = run(program, "torch")
    got = _same(run(program, "gradviz"))
    assert got == expected
