"""PyTorch's CPU random numbers for ``nn.init`` and ``utils.data``, on gradviz's generator.

Only the engine's public functions touch the global generator here: ``rand`` returns the
generator's draws exactly (24 bits of one 32-bit draw for float32, 53 bits of two for float64),
so every transformation below starts from the same bits PyTorch starts from.
TODO(engine): ``Tensor.uniform_/normal_/random_``, ``randperm`` and ``Generator`` belong in the engine.
"""

from __future__ import annotations

import numpy as np

from ..engine import Tensor, float64, from_numpy, no_grad, rand, randint, randn


def _write(tensor: Tensor, values: np.ndarray) -> Tensor:
    """Write ``values`` into ``tensor`` in place, unrecorded, as ``nn.init`` does."""
    with no_grad():
        tensor.copy_(from_numpy(np.array(values, dtype=tensor.numpy(force=True).dtype, order="C")))
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """``tensor.uniform_(a, b)``: ATen's ``uniform_real_distribution``.

    For float32 the bounds are cast to float first, ``b - a`` is a float subtraction, and
    ``x * (b - a) + a`` is evaluated in double and rounded once (checked against torch 2.13).
    """
    n = tensor.numel()
    if tensor.dtype is float64:
        x = rand(n, dtype=float64).numpy()
        values = _fma_exact(x, b - a, a)
    else:
        x = rand(n).numpy().astype(np.float64)  # exact: k / 2**24
        lo, hi = np.float32(a), np.float32(b)
        values = x * np.float64(hi - lo) + np.float64(lo)
    return _write(tensor, values.reshape(tensor.shape))


def _fma_exact(x: np.ndarray, scale: float, shift: float) -> np.ndarray:
    """``x * scale + shift`` rounded once, in double (ATen fuses it; numpy has no fma).

    Each x is k / 2**53, so the exact value is a ratio of integers, and Python's int division
    rounds correctly: slower than numpy, but float64 parameters are small and rare.
    """
    ps, qs = float(scale).as_integer_ratio()
    pa, qa = float(shift).as_integer_ratio()
    den = (1 << 53) * qs * qa
    off = pa * (1 << 53) * qs
    ks = (x * 2.0**53).astype(np.int64).ravel().tolist()
    return np.array([(k * ps * qa + off) / den for k in ks], np.float64).reshape(x.shape)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """``tensor.normal_(mean, std)``: standard normals as ``randn`` draws them, then scaled.

    Below 16 elements ATen samples doubles one by one and scales in double; from 16 on it fills
    the tensor's own dtype and scales with a fused multiply-add, emulated here in double.
    """
    n = tensor.numel()
    if n < 16 or tensor.dtype is float64:
        z = randn(n, dtype=float64).numpy()
        values = z * std + mean
    else:
        z = randn(n).numpy().astype(np.float64)
        values = z * np.float64(np.float32(std)) + np.float64(np.float32(mean))
    return _write(tensor, values.reshape(tensor.shape))


def random64_low32() -> int:
    """The low 32 bits of one ``random64()`` of the global generator (two draws).

    ``rand(1, dtype=float64)`` keeps the low 53 bits of that draw, which include these 32; they
    are all that seeding a new MT19937 reads of a 64-bit seed.
    """
    v = rand(1, dtype=float64).numpy()[0]
    return int(v * 2.0**53) & 0xFFFFFFFF


def randperm_global(n: int) -> list[int]:
    """``torch.randperm(n)`` on the global generator: a Fisher-Yates walk, one 32-bit draw per
    step taken modulo the remaining length (what ``randint(0, n - i)`` draws)."""
    r = list(range(n))
    for i in range(n - 1):
        z = int(randint(0, n - i, (1,)).item())
        r[i], r[i + z] = r[i + z], r[i]
    return r


class Generator:
    """A private MT19937 seeded as ``torch.Generator().manual_seed(seed)`` seeds it."""

    def __init__(self, seed: int = 67280421310721) -> None:
        self.manual_seed(seed)

    def manual_seed(self, seed: int) -> Generator:
        self._seed = int(seed)
        # init_genrand of MT19937 with the low 32 bits of the seed, as ATen's mt19937 does.
        key = np.empty(624, np.uint32)
        x = self._seed & 0xFFFFFFFF
        key[0] = x
        for i in range(1, 624):
            x = (1812433253 * (x ^ (x >> 30)) + i) & 0xFFFFFFFF
            key[i] = x
        self._bits = np.random.MT19937()
        self._bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": 624}}
        return self

    def initial_seed(self) -> int:
        return self._seed

    def randperm(self, n: int) -> list[int]:
        """ATen's ``randperm_cpu`` for n below 2**32 / 20: ``random() % (n - i)`` per step."""
        draws = self._bits.random_raw(max(n - 1, 0)).astype(np.int64)
        r = list(range(n))
        for i in range(n - 1):
            z = int(draws[i]) % (n - i)
            r[i], r[i + z] = r[i + z], r[i]
        return r

    def random64(self) -> int:
        hi, lo = (int(v) for v in self._bits.random_raw(2))
        return (hi << 32) | lo

    def randint(self, high: int, count: int) -> list[int]:
        """``torch.randint(high, (count,), generator=self)`` for high below 2**32."""
        return [int(v) % high for v in self._bits.random_raw(count)]
