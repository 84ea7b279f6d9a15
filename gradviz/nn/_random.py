"""PyTorch's CPU random numbers for ``nn.init`` and ``utils.data``: thin wrappers over the
engine's generator and samplers (``gradviz.engine.random``), which hold the algorithms."""

from __future__ import annotations

from ..engine import Tensor, no_grad
from ..engine import random as _random
from ..engine.random import Generator

__all__ = ["Generator", "normal_", "random64_low32", "randperm_global", "uniform_"]


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Generator | None = None) -> Tensor:
    """``tensor.uniform_(a, b)``, unrecorded, as ``nn.init`` does."""
    with no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Generator | None = None
) -> Tensor:
    with no_grad():
        return tensor.normal_(mean, std, generator=generator)


def random64_low32(generator: Generator | None = None) -> int:
    """The low 32 bits of one ``random64()`` (two draws): all that seeding an MT19937 reads
    of a 64-bit seed."""
    return int(_random.get(generator).random64(1)[0]) & 0xFFFFFFFF


def randperm_global(n: int, generator: Generator | None = None) -> list[int]:
    """``torch.randperm(n)``, as a list."""
    return _random.randperm_values(_random.get(generator), n).tolist()


def randint_list(generator: Generator, high: int, count: int) -> list[int]:
    """``torch.randint(high, (count,), generator=generator)``, as a list."""
    return _random.randint_values(generator, 0, high, count).tolist()
