"""The classic first lessons, run as the same program text with ``import torch`` and with
``import gradviz as torch``: what they print must be the same.

The data come from ``torch.rand`` (bit-exact in gradviz); ``randn`` of 16 or more values can
differ from PyTorch's in the last bit (vectorised log/sin/cos), which training then amplifies.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .lessons import as_gradviz, run

PROGRAMS = Path(__file__).parent / "programs"


def _same(text: str) -> str:
    # gradviz names its own Size class in reprs (DESIGN.md: `gradviz.Size([3, 2])`)
    return text.replace("gradviz.Size", "torch.Size")


@pytest.mark.parametrize(
    "name", ["linear_regression", "logistic_regression", "mlp_classifier", "custom_module"]
)
def test_lesson_prints_what_torch_prints(name: str) -> None:
    program = (PROGRAMS / f"{name}.py").read_text()
    expected = run(program, "torch")
    got = _same(run(program, "gradviz"))
    assert got == expected


def test_torch_style_names_resolve() -> None:
    import gradviz as torch_like
    from gradviz import nn, optim

    assert torch_like.nn.Linear is nn.Linear
    assert torch_like.optim.SGD is optim.SGD
    assert torch_like.utils.data.DataLoader.__name__ == "DataLoader"
    assert (
        torch_like.nn.functional.binary_cross_entropy_with_logits.__name__
        == "binary_cross_entropy_with_logits"
    )
    assert torch_like.nn.init.kaiming_uniform_.__module__ == "gradviz.nn.init"


def test_program_rewrite_targets_gradviz_only() -> None:
    program = "import torch\nimport torch.nn.functional as F\nfrom torch import nn\nfrom torch.utils.data import DataLoader\n"
    assert as_gradviz(program) == (
        "import gradviz as torch\nimport gradviz.nn.functional as F\nfrom gradviz import nn\n"
        "from gradviz.utils.data import DataLoader\n"
    )


def _numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+\.\d+(?:e[-+]?\d+)?", text)]


@pytest.mark.parametrize("name", ["logistic_regression", "mlp_classifier", "custom_module"])
def test_lesson_on_randn_data_prints_the_same_to_tolerance(name: str) -> None:
    """The same lessons on ``randn`` data, as learners usually write them. gradviz's randn of 16
    or more values may differ from torch's in the last float32 bit, and training carries that
    into the fourth decimal now and then: same text, numbers within a tolerance."""
    program = re.sub(
        r"torch\.rand\((\d+), (\d+)\) \* \d - \d",
        r"torch.randn(\1, \2)",
        (PROGRAMS / f"{name}.py").read_text(),
    )
    assert "randn" in program
    expected = run(program, "torch")
    got = _same(run(program, "gradviz"))
    strip = r"-?\d+\.\d+(?:e[-+]?\d+)?"
    assert re.sub(strip, "#", got) == re.sub(strip, "#", expected)
    assert _numbers(got) == pytest.approx(_numbers(expected), rel=1e-4, abs=1e-5)
