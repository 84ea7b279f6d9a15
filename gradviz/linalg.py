"""``torch.linalg``: the norms (``import gradviz as torch; torch.linalg.norm(x)``)."""

from __future__ import annotations

from typing import Any

from .engine.ops.linalg import vector_norm
from .engine.ops.reduction import amax, amin
from .engine.tensor import Tensor


def norm(A: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:  # noqa: N803, A002 (torch's names)
    """The vector 2-norm of all of ``A`` by default; with ``ord`` and a 2-D ``A`` (or two ``dim``),
    a matrix norm: 'fro', 1, -1, inf, -inf (2, -2 and 'nuc' need an SVD, which gradviz lacks)."""
    if dtype is not None:
        A = A.to(dtype)  # noqa: N806
    if isinstance(dim, int):
        dim = (dim,)
    matrix = (dim is not None and len(dim) == 2) or (dim is None and ord is not None and A.ndim == 2)
    if ord is None:
        return vector_norm(A, 2, dim, keepdim)
    if not matrix:
        if isinstance(ord, str):
            raise RuntimeError(
                f"linalg.norm: If dim is specified, it must be of length 2. Got {list(dim or ())}"
            )
        return vector_norm(A, ord, dim, keepdim)
    from .engine.ops._util import wrap_dim

    rows, cols = (wrap_dim(d, A.ndim) for d in (dim if dim is not None else (-2, -1)))
    if ord == "fro":
        return vector_norm(A, 2, (rows, cols), keepdim)
    if ord in (1, -1, float("inf"), float("-inf")):
        over, then = (rows, cols) if ord in (1, -1) else (cols, rows)
        pick = amax if ord > 0 else amin
        if keepdim:
            return pick(vector_norm(A, 1, over, keepdim=True), then, keepdim=True)
        return pick(vector_norm(A, 1, over), then - (then > over))
    raise NotImplementedError(f"gradviz: linalg.norm with ord={ord!r} on a matrix is not supported")


__all__ = ["norm", "vector_norm"]
