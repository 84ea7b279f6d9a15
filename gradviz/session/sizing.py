"""What an op will cost before it runs: the exact shape of its result, the memory it needs and
about how long it takes.

The session refuses an op whose result is over its element limit, whose memory would cross
its budget, or that would run longer than it lets one op run (a 2048×2048 int64 matmul takes
about half a minute: numpy has no BLAS for integers). Shapes come from numpy's own rules
(``np.broadcast_shapes``, and indexing or concatenating zero-byte stand-in arrays), which are
the rules the engine computes with, so the figure is exact, not a guess.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import gradviz.engine as E
from gradviz.engine import Tensor

from . import catalogue

# Rates measured on a 2-core machine of 2026 (benchmarks/memory.py prints them): BLAS matmul
# of float32/float64, numpy's plain loops for other dtypes, and elementwise work.
BLAS_MACS_PER_S = 2e10
LOOP_MACS_PER_S = 2e8
ELEMENTS_PER_S = 1e8
_BLAS_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_ZERO = np.dtype([])  # itemsize 0: stand-ins of any shape that take no memory

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Cost:
    """What one op needs: its result's element count and the bytes and seconds it takes."""

    numel: int
    nbytes: int
    seconds: float
    work: str = ""  # how the time was estimated, for the refusal message


def numel(shape: Sequence[int]) -> int:
    return math.prod(int(d) for d in shape)


def _shape(v: Any) -> Shape:
    return tuple(v.shape) if isinstance(v, Tensor) else ()


def _itemsize(operands: Sequence[Any]) -> int:
    sizes = [v.element_size() for v in operands if isinstance(v, Tensor)]
    return max([4, *sizes])  # an int tensor and a float number give float32


def broadcast(*shapes: Shape) -> Shape:
    return tuple(np.broadcast_shapes(*shapes))


def matmul_shape(a: Shape, b: Shape) -> tuple[Shape, int]:
    """``a @ b``'s shape and its inner length, by PyTorch's (and numpy's) matmul rule."""
    if not a or not b:
        raise ValueError("matmul needs at least 1-D operands")
    inner = a[-1]
    if len(a) == 1 and len(b) == 1:
        return (), inner
    if len(b) == 1:
        return a[:-1], inner
    if len(a) == 1:
        return b[:-2] + (b[-1],), inner
    return broadcast(a[:-2], b[:-2]) + (a[-2], b[-1]), inner


def _stand_in(shape: Shape) -> np.ndarray:
    return np.empty(shape, dtype=_ZERO)


def _index_shape(shape: Shape, operands: Sequence[Any], params: dict[str, Any]) -> Shape:
    masks = [np.asarray(t.detach().numpy()) if isinstance(t, Tensor) else t for t in operands[1:]]
    items = catalogue.decode_index(params.get("index", ()), [_stand_in(shape), *masks])
    return _stand_in(shape)[items if len(items) != 1 else items[0]].shape


def _index_bound(shape: Shape, operands: Sequence[Any], params: dict[str, Any]) -> int:
    """An upper bound for indexing that numpy's rule couldn't size (the op will say why)."""
    factor = 1
    for t in operands[1:]:
        factor *= max(1, numel(_shape(t)))
    for item in params.get("index", ()):
        if isinstance(item, dict) and "list" in item:
            factor *= max(1, len(item["list"]))
    return max(1, numel(shape)) * factor


def result_shape(spec: catalogue.OpSpec, operands: Sequence[Any], params: dict[str, Any]) -> Shape | None:
    """The exact shape of ``spec``'s result on these operands (for ops that only rearrange
    their input, a shape of the same element count), or None where the shape is not given by
    the operands' shapes alone (reductions and losses: never larger than their input).
    Raises ValueError or IndexError where the op itself will refuse."""
    shapes = [_shape(v) for v in operands]
    rule = spec.size_rule
    if spec.category == "loss":  # one number, or one per element (mse) or per sample
        if params.get("reduction", "mean") != "none":
            return ()
        return broadcast(*shapes) if rule == "broadcast" else shapes[1]
    if rule == "broadcast":
        return broadcast(*shapes)
    if rule == "matmul_t":  # input @ other.T (+ a bias): linear
        w = shapes[1]
        out, _ = matmul_shape(shapes[0], w[::-1] if len(w) == 2 else w)
        return broadcast(out, shapes[2]) if len(shapes) > 2 else out
    if rule == "matmul":
        return matmul_shape(shapes[0], shapes[1])[0]
    if rule == "sum":  # cat and stack
        return (sum(numel(s) for s in shapes),)
    if rule == "index":
        return _index_shape(shapes[0], operands, params)
    if rule == "same":
        return shapes[0]
    if spec.category == "reduction":
        return reduced_shape(shapes[0], params.get("dim"), bool(params.get("keepdim")))
    return None


def reduced_shape(shape: Shape, dim: int | Sequence[int] | None, keepdim: bool) -> Shape:
    """The shape left by reducing ``dim`` (all dims when None): an empty input still gives
    one element per kept position (the sum of nothing is 0, its mean NaN)."""
    if dim is None:
        dims = set(range(len(shape)))
    else:
        dims = {d % max(1, len(shape)) for d in ([dim] if isinstance(dim, int) else dim)}
    if keepdim:
        return tuple(1 if i in dims else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in dims)


def estimate(spec: catalogue.OpSpec, operands: Sequence[Any], params: dict[str, Any]) -> Cost:
    """What running ``spec`` on ``operands`` will take, before anything is allocated."""
    shapes = [_shape(v) for v in operands]
    biggest = max([1, *(numel(s) for s in shapes)])
    try:
        shape = result_shape(spec, operands, params)
    except (ValueError, IndexError, TypeError):
        # The op refuses these operands itself, before allocating; only indexing, whose rule
        # has corners numpy sizes differently, gets a bound instead.
        shape = None
        n = _index_bound(shapes[0], operands, params) if spec.size_rule == "index" else 1
    else:
        # Losses give at most one element per input element, and at least one.
        n = biggest if shape is None else numel(shape)
    itemsize = 1 if spec.category == "comparison" else _itemsize(operands)
    if "dtype" in params:  # a cast: the target's size
        itemsize = max(itemsize, np.dtype(E.dtypes.to_dtype(params["dtype"]).np).itemsize)
    # Losses and softmaxes keep an input-sized softmax (or difference) for backward.
    extra = biggest if spec.category == "loss" or spec.name in ("softmax", "log_softmax") else 0
    if spec.category == "loss" and spec.size_rule == "broadcast":
        with contextlib.suppress(ValueError):
            extra = numel(broadcast(*shapes))
    if spec.size_rule in ("matmul", "matmul_t") and shape is not None and len(shapes) > 1 and shapes[0]:
        macs = n * shapes[0][-1]
        dtypes = {np.dtype(v.dtype.np) for v in operands[:2] if isinstance(v, Tensor)}
        blas = dtypes <= set(_BLAS_DTYPES)
        rate = BLAS_MACS_PER_S if blas else LOOP_MACS_PER_S
        kind = (
            ""
            if blas
            else f" in {'/'.join(sorted(str(d) for d in dtypes))}, which numpy multiplies without BLAS"
        )
        return Cost(n, (n + extra) * itemsize, macs / rate, f"{macs:,} multiply-adds{kind}")
    work = max(n, biggest) * max(1, len(shapes))
    return Cost(n, (n + extra) * itemsize, work / ELEMENTS_PER_S, f"{work:,} element operations")


__all__ = ["Cost", "broadcast", "estimate", "matmul_shape", "numel", "reduced_shape", "result_shape"]
