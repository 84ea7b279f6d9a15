"""``nn.Flatten``: keep the batch dimension, flatten the rest."""

# PyTorch's own names: `input` arguments, `F` for functional.
# ruff: noqa: A002

from __future__ import annotations

from ...engine import Tensor
from .module import Module


class Flatten(Module):
    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
