"""PyTorch's CPU random numbers: ``Generator`` and the sampling algorithms ATen runs on it.

A ``Generator`` is an MT19937 seeded as ATen seeds its own (``init_genrand`` with the low 32
bits of the seed), so each sampler below, fed the same 32-bit draws and transforming them the
way ATen's CPU kernels do, yields PyTorch's numbers for the same seed:

- a float32 uniform keeps 24 bits of one draw; a float64 one keeps 53 bits of ``random64()``
  (two draws, the first high);
- normals below 16 elements are ATen's ``normal_distribution<double>`` (Box-Muller on two
  doubles, the sine half cached for the next draw); from 16 on ``normal_fill`` fills every
  slot with uniforms and transforms blocks of 16. For float32 that transform is the AVX2 one,
  whose ``log`` and ``sincos`` are Cephes-style polynomials evaluated in float32 with fused
  multiply-adds: :func:`_log_ps` and :func:`_sincos_ps` evaluate those polynomials (emulating
  each fma in double, exact for these operands), which gives torch's bits.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

DEFAULT_SEED = 67280421310721  # what torch.Generator() starts from


class Generator:
    """``torch.Generator``: a private stream of random numbers, passed as ``generator=``."""

    def __init__(self, device: Any = "cpu") -> None:
        if str(device) != "cpu":
            raise RuntimeError(f"gradviz only has CPU generators (got device {device!r})")
        self._normal_cache: list[float] = []
        self.manual_seed(DEFAULT_SEED)

    @property
    def device(self) -> Any:
        from .device import device

        return device("cpu")

    def manual_seed(self, seed: Any) -> Generator:
        seed = int(seed)
        if seed < -(2**63) or seed >= 2**64:
            raise RuntimeError("Overflow when unpacking long long")
        self._seed = seed % 2**64
        self._bits = np.random.MT19937()
        self._bits._legacy_seeding(self._seed & 0xFFFFFFFF)
        self._normal_cache.clear()
        return self

    def seed(self) -> int:
        """Seed from the operating system's entropy; return that seed."""
        s = int(np.random.SeedSequence().entropy % 2**63)
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Any:
        """The whole state as a uint8 tensor (gradviz's own layout, not torch's 5056 bytes)."""
        from .tensor import Tensor

        st = self._bits.state["state"]
        cache = self._normal_cache[0] if self._normal_cache else math.nan
        head = np.array([self._seed, int(st["pos"]), len(self._normal_cache)], np.uint64)
        raw = np.concatenate(
            [
                head.view(np.uint8),
                np.array([cache], np.float64).view(np.uint8),
                st["key"].astype(np.uint32).view(np.uint8),
            ]
        )
        return Tensor._make(raw, False, None)

    def set_state(self, new_state: Any) -> Generator:
        from .tensor import Tensor

        if not isinstance(new_state, Tensor) or new_state.dtype.name != "uint8":
            raise TypeError("expected a torch.ByteTensor, but got " + type(new_state).__name__)
        raw = np.ascontiguousarray(new_state._data)
        if raw.size != 32 + 624 * 4:
            raise RuntimeError(f"Expected a state of {32 + 624 * 4} bytes, got {raw.size}")
        seed, pos, cached = (int(v) for v in raw[:24].view(np.uint64))
        cache = float(raw[24:32].view(np.float64)[0])
        key = raw[32:].view(np.uint32).copy()
        self._seed = seed
        self._bits = np.random.MT19937()
        self._bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": pos}}
        self._normal_cache[:] = [cache] if cached else []
        return self

    def __repr__(self) -> str:
        return f"<torch._C.Generator object at {id(self):#x}>"  # what torch prints

    # --- the draws every sampler starts from -----------------------------------------------
    def random(self, n: int) -> np.ndarray:
        """``n`` 32-bit draws, as uint64."""
        return self._bits.random_raw(n) if n else np.zeros(0, np.uint64)

    def random64(self, n: int) -> np.ndarray:
        raw = self.random(2 * n).reshape(n, 2)
        return (raw[:, 0] << np.uint64(32)) | raw[:, 1]

    def uniform(self, n: int, double: bool) -> np.ndarray:
        """Uniforms in [0, 1) as float64 values: 53 bits (double) or 24 bits (float)."""
        if double:
            return (self.random64(n) & np.uint64((1 << 53) - 1)).astype(np.float64) * 2.0**-53
        return (self.random(n) & np.uint64((1 << 24) - 1)).astype(np.float64) * 2.0**-24


default_generator = Generator()
default_generator.seed()


def get(generator: Any) -> Generator:
    if generator is None:
        return default_generator
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a torch.Generator, not {type(generator).__name__}")
    return generator


# --- normals -----------------------------------------------------------------------------------
def standard_normal(gen: Generator, n: int, double: bool) -> np.ndarray:
    """``randn``'s numbers (float64 values; round to float32 exactly for a float32 tensor)."""
    return normal_fill(gen, n, double) if n >= 16 else normal_serial(gen, n)


def normal_serial(gen: Generator, n: int) -> np.ndarray:
    out = np.empty(n, np.float64)
    cache = gen._normal_cache
    for i in range(n):
        if cache:
            out[i] = cache.pop()
            continue
        u1, u2 = gen.uniform(2, True)
        r = math.sqrt(-2.0 * math.log1p(-u2))
        theta = 2.0 * math.pi * u1
        cache.append(r * math.sin(theta))
        out[i] = r * math.cos(theta)
    return out


def normal_fill(gen: Generator, n: int, double: bool) -> np.ndarray:
    """ATen's normal_fill: uniforms in every slot, Box-Muller in blocks of 16 (the first 8 of a
    block pair with the last 8); a ragged tail redraws and refills the final 16."""
    work = np.float64 if double else np.float32
    data = gen.uniform(n, double).astype(work)
    fill = _fill64 if double else _fill32
    full = (n // 16) * 16
    data[:full] = fill(data[:full].reshape(-1, 16)).reshape(-1)
    if n % 16:
        tail = gen.uniform(16, double).astype(work)
        data[n - 16 :] = fill(tail.reshape(1, 16)).reshape(-1)
    return data.astype(np.float64)


def _fill64(block: np.ndarray) -> np.ndarray:
    # The C library's log, cos and sin (Python's math), not numpy's SIMD ones: ATen's double
    # path calls the C library, and numpy's differ in the last bit now and then.
    u1 = (1 - block[:, :8]).ravel().tolist()
    theta = (2.0 * np.pi * block[:, 8:]).ravel().tolist()
    log, cos, sin = math.log, math.cos, math.sin
    radius = np.sqrt(-2.0 * np.array([log(u) for u in u1])).reshape(-1, 8)
    c = np.array([cos(t) for t in theta]).reshape(-1, 8)
    s = np.array([sin(t) for t in theta]).reshape(-1, 8)
    return np.concatenate([radius * c, radius * s], axis=1)


_f32 = np.float32
_u32 = np.uint32


def _fma(a: np.ndarray, b: Any, c: Any) -> np.ndarray:
    """float32 ``a * b + c`` rounded once (the product of two floats is exact in double)."""
    return (a.astype(np.float64) * np.float64(b) + np.asarray(c, np.float64)).astype(_f32)


def _fill32(block: np.ndarray) -> np.ndarray:
    u1 = _f32(1) - block[:, :8]
    u2 = block[:, 8:]
    radius = np.sqrt(_f32(-2) * _log_ps(u1))
    sin, cos = _sincos_ps(_f32(2 * np.pi) * u2)
    return np.concatenate([radius * cos, radius * sin], axis=1)


_LOG_P = (
    7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
    -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
)  # fmt: skip


def _log_ps(x: np.ndarray) -> np.ndarray:
    """Natural log in float32: split off the exponent, a degree-8 polynomial on the mantissa."""
    x = np.maximum(x, _f32(1.17549435e-38)).astype(_f32)
    bits = x.view(_u32)
    e = ((bits >> _u32(23)).astype(np.int32) - 127).astype(_f32) + _f32(1)
    m = ((bits & _u32(0x807FFFFF)) | _f32(0.5).view(_u32)).view(_f32)  # mantissa in [0.5, 1)
    small = m < _f32(0.707106781186547524)
    m, e = m - _f32(1) + np.where(small, m, _f32(0)), e - small.astype(_f32)
    z = m * m
    y = np.full_like(m, _f32(_LOG_P[0]))
    for p in _LOG_P[1:]:
        y = _fma(y, m, _f32(p))
    y = y * m
    y = _fma(y, z, e * _f32(-2.12194440e-4))
    y = y - z * _f32(0.5)
    return _fma(e, _f32(0.693359375), m + y)


def _sincos_ps(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sin and cos in float32: reduce by multiples of pi/4 (in three parts), then polynomials."""
    sign_sin = x.view(_u32) & _u32(0x80000000)
    x = np.abs(x)
    j = (x * _f32(1.27323954473516)).astype(np.int32)
    j = (j + 1) & ~1
    y = j.astype(_f32)
    swap = ((j & 4) << 29).astype(_u32)
    poly = (j & 2) == 0
    for dp in (-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8):
        x = _fma(y, _f32(dp), x)
    sign_cos = (((~(j - 2)) & 4) << 29).astype(_u32)
    sign_sin = sign_sin ^ swap
    z = x * x
    c = np.full_like(x, _f32(2.443315711809948e-5))
    c = _fma(c, z, _f32(-1.388731625493765e-3))
    c = _fma(c, z, _f32(4.166664568298827e-2))
    c = _fma(c * z, z, -(z * _f32(0.5))) + _f32(1)
    s = np.full_like(x, _f32(-1.9515295891e-4))
    s = _fma(s, z, _f32(8.3321608736e-3))
    s = _fma(s, z, _f32(-1.6666654611e-1))
    s = _fma(s * z, x, x)
    xsin, xcos = np.where(poly, s, c), np.where(poly, c, s)
    return (xsin.view(_u32) ^ sign_sin).view(_f32), (xcos.view(_u32) ^ sign_cos).view(_f32)


# --- the in-place samplers (Tensor.uniform_ and friends) ---------------------------------------
def uniform_values(gen: Generator, n: int, a: float, b: float, double: bool) -> np.ndarray:
    """ATen's ``uniform_real_distribution``: for float32 the bounds are cast to float first,
    ``b - a`` is a float subtraction and ``x * (b - a) + a`` is evaluated in double and rounded
    once; for float64 it is one fused multiply-add, emulated exactly."""
    if double:
        return _fma_exact(gen.uniform(n, True), b - a, a)
    lo, hi = np.float32(a), np.float32(b)
    return gen.uniform(n, False) * np.float64(hi - lo) + np.float64(lo)


def _fma_exact(x: np.ndarray, scale: float, shift: float) -> np.ndarray:
    """``x * scale + shift`` rounded once, each x being k / 2**53 (Python's int division rounds
    correctly: slower than numpy, but exact)."""
    ps, qs = float(scale).as_integer_ratio()
    pa, qa = float(shift).as_integer_ratio()
    den = (1 << 53) * qs * qa
    off = pa * (1 << 53) * qs
    ks = (x * 2.0**53).astype(np.int64).ravel().tolist()
    return np.array([(k * ps * qa + off) / den for k in ks], np.float64).reshape(x.shape)


def normal_values(gen: Generator, n: int, mean: float, std: float, double: bool) -> np.ndarray:
    """``normal_(mean, std)``: below 16 elements doubles scaled in double; from 16 on the
    tensor's own dtype, scaled with a fused multiply-add (emulated in double)."""
    if n < 16:
        return fma64(normal_serial(gen, n), float(std), float(mean))
    if double:  # normal_fill's double loop: one fused multiply-add
        return fma64(normal_fill(gen, n, True), float(std), float(mean))
    z = normal_fill(gen, n, False)
    return z * np.float64(np.float32(std)) + np.float64(np.float32(mean))


def fma64(a: np.ndarray, b: float, c: float) -> np.ndarray:
    """``a * b + c`` in double rounded once (Dekker's exact product, then a compensated sum)."""
    split = 134217729.0
    p = a * b
    ah = a * split - (a * split - a)
    bh = b * split - (b * split - b)
    e = ((ah * bh - p) + ah * (b - bh) + (a - ah) * bh) + (a - ah) * (b - bh)
    s = p + c
    bb = s - p
    t = (p - (s - bb)) + (c - bb)
    return s + (t + e)


def randint_values(gen: Generator, low: int, high: int, n: int) -> np.ndarray:
    """``random_from_to``: one 32-bit draw modulo the range (random64 past 2**32)."""
    span = high - low
    if span <= 0:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    if span >= 2**32:
        draws = [int(v) % span for v in gen.random64(n)]
        return low + np.array(draws, np.int64)
    return low + (gen.random(n) % np.uint64(span)).astype(np.int64)


def random_values(gen: Generator, n: int, np_dtype: np.dtype) -> np.ndarray:
    """``random_()`` without bounds: ``[0, 2**mantissa]`` for floats, ``[0, max]`` for ints."""
    dt = np.dtype(np_dtype)
    if dt.kind == "b":
        return (gen.random(n) & np.uint64(1)).astype(bool)
    if dt == np.float64 or dt == np.int64:
        raw = gen.random64(n)
    else:
        raw = gen.random(n)
    if dt.kind == "f":
        digits = {2: 11, 4: 24, 8: 53}[dt.itemsize]
        return (raw % np.uint64((1 << digits) + 1)).astype(dt)
    top = int(np.iinfo(dt).max) + 1
    return (raw % np.uint64(top)).astype(dt)


def randperm_values(gen: Generator, n: int) -> np.ndarray:
    """ATen's ``randperm_cpu``: a Fisher-Yates walk, ``random() % (n - i)`` per step."""
    draws = gen.random(max(n - 1, 0)).astype(np.int64)
    r = list(range(n))
    for i in range(n - 1):
        z = i + int(draws[i]) % (n - i)
        r[i], r[z] = r[z], r[i]
    return np.array(r, np.int64)


def bernoulli_scalar(gen: Generator, n: int, p: float) -> np.ndarray:
    """``bernoulli_(p)`` with a float ``p``: a 53-bit uniform below p (ATen's default kernel;
    torch on Intel CPUs with MKL draws these from MKL's own stream instead)."""
    return gen.uniform(n, True) < p


def bernoulli_tensor(gen: Generator, p: np.ndarray) -> np.ndarray:
    """``bernoulli(p)`` with a tensor of probabilities: a uniform below each p, of 53 bits
    for float64 probabilities and 24 bits otherwise."""
    u = gen.uniform(p.size, p.dtype == np.float64)
    return (u < p.ravel().astype(np.float64)).reshape(p.shape)


def exponential_values(gen: Generator, n: int, lambd: float) -> np.ndarray:
    """``exponential_(lambd)``: ``(-1 / lambd) * log1p(-u)`` on a 53-bit uniform, in double
    (the C library's log1p, as ATen's)."""
    scale, log1p = -1.0 / lambd, math.log1p
    return np.array([scale * log1p(-u) for u in gen.uniform(n, True).tolist()], np.float64)


# --- ``torch.random``: the global generator's controls ---------------------------------------
def manual_seed(seed: int) -> Generator:
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Any:
    return default_generator.get_state()


def set_rng_state(new_state: Any) -> None:
    default_generator.set_state(new_state)
