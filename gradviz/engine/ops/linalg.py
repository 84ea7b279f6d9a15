"""Matrix products: ``@``/matmul (dispatching to dot, mv, mm and batched mm) and addmm."""

from __future__ import annotations

import operator

import numpy as np

from .. import dual, registry
from ..function import Function, composite
from ..tensor import Tensor
from ._util import broadcast_shape
from .shape import SqueezeInPlace, UnsafeView, View, expand, reshape, squeeze, t, transpose, unsqueeze


def _same_dtype(a: Tensor, b: Tensor, what: str) -> None:
    if a._data.dtype != b._data.dtype:
        n1, n2 = (
            a.dtype.cpp_name,
            b.dtype.cpp_name,
        )
        raise RuntimeError(f"expected {what} to have the same dtype, but got: {n1} != {n2}")


class Mm(Function):
    """All matrix products; the node name says which one PyTorch would record."""

    name = "MmBackward0"
    statement = "result = input · mat2"
    # Adjoint: each factor's gradient is the incoming one times the other factor (transposed).
    formula = {"input": "∂L/∂result · mat2ᵀ", "mat2": "inputᵀ · ∂L/∂result"}  # noqa: RUF012
    adjoint = True
    operands = ("input", "mat2")

    @staticmethod
    def forward(ctx, a, b):
        # Each factor is saved only for the other's gradient, as PyTorch does.
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b if ctx.needs_input_grad[0] else None)
        return np.asarray(np.matmul(a, b))

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = (t._data.ndim for t in ctx.inputs)
        ga = gb = None
        if na == 1 and nb == 1:  # dot
            ga = None if b is None else g * b
            gb = None if a is None else g * a
        elif nb == 1:  # mv: (n, m) @ (m,)
            ga = (
                None
                if b is None
                else dual.matmul(dual.reshape(g, (*g.shape, 1)), dual.reshape(b, (1, *b.shape)))
            )
            gb = None if a is None else dual.matmul(dual.mT(a), g)
        else:
            ga = None if b is None else dual.matmul(g, dual.mT(b))
            gb = None if a is None else dual.matmul(dual.mT(a), g)
        return ga, gb


class Bmm(Mm):
    name = "BmmBackward0"
    statement = "result = input · mat2, one matrix product per batch (ᵀ swaps the last two dims)"


class Mv(Mm):
    name = "MvBackward0"
    statement = "result = input · vec"
    formula = {"input": "∂L/∂result ⊗ vec", "vec": "inputᵀ · ∂L/∂result"}  # noqa: RUF012
    operands = ("input", "vec")


class Dot(Mm):
    name = "DotBackward0"
    statement = "result = input · tensor = Σᵢ inputᵢ·tensorᵢ"
    formula = {"input": "∂L/∂result · tensor", "tensor": "∂L/∂result · input"}  # noqa: RUF012
    operands = ("input", "tensor")


# Their explanations open with what the product computes, then each factor's gradient.
for _node in (Mm, Bmm, Mv, Dot):
    _node.derivative = registry.Formula.of(_node.formula, _node.statement, adjoint=True).line


def _scalar(t: Tensor) -> str:
    return t.dtype.scalar_name


def _dot(a: Tensor, b: Tensor) -> Tensor:
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            f"dot : expected both vectors to have same dtype, but found {_scalar(a)} and {_scalar(b)}"
        )
    n, m = a._data.shape[0], b._data.shape[0]
    if n != m:
        raise RuntimeError(
            f"inconsistent tensor size, expected tensor [{n}] and src [{m}] to have the same number of "
            f"elements, but got {n} and {m} elements respectively"
        )
    return Dot.apply(a, b)


def _mv(m: Tensor, v: Tensor) -> Tensor:
    if m._data.dtype != v._data.dtype:
        raise RuntimeError(
            f"addmv input tensors must have the same dtype, but got {_scalar(v)}, {_scalar(m)}, and {_scalar(v)}"
        )
    (r, c), n = m._data.shape, v._data.shape[0]
    if c != n:
        raise RuntimeError(f"size mismatch, got input ({r}), mat ({r}x{c}), vec ({n})")
    return Mv.apply(m, v)


def _mm(a: Tensor, b: Tensor) -> Tensor:
    sa, sb = a._data.shape, b._data.shape
    if sa[1] != sb[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({sa[0]}x{sa[1]} and {sb[0]}x{sb[1]})")
    _same_dtype(a, b, "m1 and m2")
    return Mm.apply(a, b)


def _bmm(a: Tensor, b: Tensor) -> Tensor:
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected scalar type {_scalar(a)} but found {_scalar(b)}")
    sa, sb = a._data.shape, b._data.shape
    if sb[0] != sa[0] or sb[1] != sa[2]:
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: [{sa[0]}, {sa[2]}] but got: "
            f"[{sb[0]}, {sb[1]}]."
        )
    return Bmm.apply(a, b)


def _view(t: Tensor, shape: tuple, kind: type[View]) -> Tensor:
    return kind.apply(t, shape=tuple(shape))


def _should_fold(a: Tensor, b: Tensor) -> bool:
    """PyTorch's should_fold: fold the batch of the larger operand into an mm or mv when that
    needs no copy, or when the smaller operand requires grad."""
    larger = a._data.ndim >= b._data.ndim
    t1 = a._data if larger else np.swapaxes(b._data, -1, -2)
    dim_t2 = b._data.ndim if larger else a._data.ndim
    if not (t1.ndim >= 3 and dim_t2 <= 2):
        return False
    if (b if larger else a).requires_grad:
        return True
    if a._data.ndim == 2:
        return False
    if t1.size == 0:
        return True
    shape, strides = t1.shape, t1.strides
    return all(strides[i] == strides[i + 1] * shape[i + 1] for i in range(t1.ndim - 2))


@registry.op(
    statement="result = input @ other",
    operands=("input", "other"),
    symbol="@",
    category="linear algebra",
    size_rule="matmul",
    call=operator.matmul,
    adjoint=True,
    formula={"input": "∂L/∂result · otherᵀ", "other": "inputᵀ · ∂L/∂result"},
)
def matmul(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b``, decomposed into the same primitives (and so the same graph) as PyTorch's matmul."""
    for name, x in (("input", a), ("other", b)):
        if not isinstance(x, Tensor):
            pos = 1 if name == "input" else 2
            raise TypeError(
                f"matmul(): argument '{name}' (position {pos}) must be Tensor, not {type(x).__name__}"
            )
    na, nb = a._data.ndim, b._data.ndim
    if na == 0 or nb == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {na}D and {nb}D")
    # One node each: dot, mv, mm (the hot path of ``@``, kept free of the composite wrapper).
    if na == 1 and nb == 1:
        return _dot(a, b)
    if na == 2 and nb == 1:
        return _mv(a, b)
    if na == 2 and nb == 2:
        return _mm(a, b)
    return _matmul_steps(a, b)


@composite("matmul", lambda a, b: ((a, b), {}))
def _matmul_steps(a: Tensor, b: Tensor) -> Tensor:
    """The cases PyTorch records as several nodes (a view around mm, bmm, folded batches)."""
    na, nb = a._data.ndim, b._data.ndim
    if na == 1 and nb == 2:
        out = _mm(unsqueeze(a, 0), b)
        return _view(out, out._data.shape[1:], SqueezeInPlace)  # PyTorch squeezes in place
    if _should_fold(a, b):
        swap = nb > na
        t1 = transpose(b, -1, -2) if swap else a
        t2 = (t(a) if na == 2 else a) if swap else b
        out_shape = t1._data.shape[:-1]
        folded = t1.reshape(int(np.prod(out_shape, dtype=np.int64)), t1._data.shape[-1])
        if t2._data.ndim == 2:
            out = _view(_mm(folded, t2), (*out_shape, t2._data.shape[1]), UnsafeView)
            return transpose(out, -1, -2).contiguous() if swap else out
        return _view(_mv(folded, t2), out_shape, UnsafeView)
    if na == 3 and nb == 3 and a._data.shape[0] != b._data.shape[0]:
        # PyTorch drops a batch of one from an operand that requires grad, then starts again.
        if a._data.shape[0] == 1 and a.requires_grad:
            return matmul(squeeze(a, 0), b)
        if b._data.shape[0] == 1 and b.requires_grad:
            return matmul(a, squeeze(b, 0))
    # Broadcast the batch dimensions, flatten them, and use bmm.
    sa, sb = a._data.shape, b._data.shape
    n, m1 = (sa[-2] if na > 1 else 1), sa[-1]
    m2, p = (sb[-2] if nb > 1 else sb[0]), (sb[-1] if nb > 1 else 1)
    batch = tuple(broadcast_shape(sa[: max(na - 2, 0)], sb[: max(nb - 2, 0)]))
    bp = int(np.prod(batch, dtype=np.int64))
    a3 = reshape(expand(a, (*batch, n, m1)), (bp, n, m1))
    if nb == 1:
        b3 = unsqueeze(reshape(expand(b, (*batch, m2)), (bp, m2)), 2)
    else:
        b3 = reshape(expand(b, (*batch, m2, p)), (bp, m2, p))
    out = _bmm(a3, b3)
    if nb == 1:
        out = squeeze(out, -1)
    final = batch + ((n,) if na > 1 else ()) + ((p,) if nb > 1 else ())
    return _view(out, final, UnsafeView)


@registry.op(
    operands=("input", "mat2"),
    nodes=(Mm,),
    category="linear algebra",
    size_rule="matmul",
    statement="result = input · mat2",
    adjoint=True,
    formula={"input": "∂L/∂result · mat2ᵀ", "mat2": "inputᵀ · ∂L/∂result"},
)
def mm(a: Tensor, b: Tensor) -> Tensor:
    if a._data.ndim != 2 or b._data.ndim != 2:
        raise RuntimeError("self must be a matrix" if a._data.ndim != 2 else "mat2 must be a matrix")
    return _mm(a, b)


@registry.op(
    operands=("input", "tensor"),
    nodes=(Dot,),
    category="linear algebra",
    size_rule="matmul",
    statement="result = input · tensor",
    adjoint=True,
    formula={"input": "∂L/∂result · tensor", "tensor": "∂L/∂result · input"},
)
def dot(a: Tensor, b: Tensor) -> Tensor:
    if a._data.ndim != 1 or b._data.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a._data.ndim}D and {b._data.ndim}D tensors")
    return _dot(a, b)


@registry.op(
    operands=("input", "vec"),
    nodes=(Mv,),
    category="linear algebra",
    size_rule="matmul",
    statement="result = input · vec",
    adjoint=True,
    formula={"input": "∂L/∂result ⊗ vec", "vec": "inputᵀ · ∂L/∂result"},
)
def mv(a: Tensor, v: Tensor) -> Tensor:
    if a._data.ndim != 2 or v._data.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {a._data.ndim}, {v._data.ndim}")
    return _mv(a, v)


@registry.op(
    operands=("input", "mat2"),
    nodes=(Bmm,),
    category="linear algebra",
    size_rule="matmul",
    statement="result = input · mat2 per batch",
    adjoint=True,
    formula={"input": "∂L/∂result · mat2ᵀ", "mat2": "inputᵀ · ∂L/∂result"},
)
def bmm(a: Tensor, b: Tensor) -> Tensor:
    if a._data.ndim != 3 or b._data.ndim != 3:
        raise RuntimeError(
            "batch1 must be a 3D tensor" if a._data.ndim != 3 else "batch2 must be a 3D tensor"
        )
    return _bmm(a, b)


class Addmm(Function):
    """``bias + m1 @ m2``, the node nn.Linear records."""

    name = "AddmmBackward0"
    statement = "result = input + mat1 · mat2"
    formula = {  # noqa: RUF012
        "input": "∂L/∂result summed to input's shape",
        "mat1": "∂L/∂result · mat2ᵀ",
        "mat2": "mat1ᵀ · ∂L/∂result",
    }
    adjoint = True
    operands = ("input", "mat1", "mat2")

    @staticmethod
    def forward(ctx, bias, m1, m2):
        ctx.save_for_backward(m1, m2)
        return np.asarray(bias + m1 @ m2)

    @staticmethod
    def backward(ctx, g):
        m1, m2 = ctx.saved_tensors
        return g, dual.matmul(g, dual.mT(m2)), dual.matmul(dual.mT(m1), g)


Addmm.derivative = registry.Formula.of(Addmm.formula, Addmm.statement, adjoint=True).line


@registry.op(syntax=("function",), catalogue=False, operands=("input", "mat1", "mat2"), nodes=(Addmm,))
def addmm(bias: Tensor, m1: Tensor, m2: Tensor) -> Tensor:
    _same_dtype(m1, m2, "m1 and m2")
    if m1._data.ndim != 2 or m2._data.ndim != 2 or m1._data.shape[1] != m2._data.shape[0]:
        s1, s2 = m1._data.shape, m2._data.shape
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({'x'.join(map(str, s1))} and {'x'.join(map(str, s2))})"
        )
    broadcast_shape(bias._data.shape, (m1._data.shape[0], m2._data.shape[1]))
    return Addmm.apply(bias, m1, m2)


@registry.op(
    catalogue=False,
    operands=("input", "vec2"),
    text="result = input ⊗ vec2 (resultᵢⱼ = inputᵢ·vec2ⱼ): ∂L/∂input = ∂L/∂result·vec2, ∂L/∂vec2 = (∂L/∂result)ᵀ·input",
)
@composite("outer", lambda a, b: ((a, b), {}))
def outer(a: Tensor, b: Tensor) -> Tensor:
    return a.reshape(a._data.shape[0], 1) * b  # as PyTorch: MulBackward0(ViewBackward0, ...)


# --- norms (issue 14) -------------------------------------------------------------------------------
class VectorNorm(Function):
    name = "LinalgVectorNormBackward0"
    statement = "result = (Σ |input|^p)^(1/p) over dim"
    formula = {"input": "input·|input|^(p-2) / result^(p-1) (p=2: input/result; p=1: sign(input))"}  # noqa: RUF012

    @staticmethod
    def forward(ctx, a, ord=2.0, dims=None, keepdim=False):
        x = np.abs(a)
        with np.errstate(all="ignore"):
            if ord == np.inf or ord == -np.inf:
                if a.size == 0 and (dims is None or 0 in [a.shape[d] for d in dims]):
                    raise RuntimeError(
                        "linalg.vector_norm cannot compute the inf norm on an empty tensor because "
                        "the operation does not have an identity"
                    )
                out = (np.amax if ord > 0 else np.amin)(x, axis=dims, keepdims=keepdim)
            elif ord == 0:
                out = np.sum(x != 0, axis=dims, keepdims=keepdim).astype(a.dtype)
            elif ord == 1:
                out = np.sum(x, axis=dims, keepdims=keepdim)
            elif ord == 2:
                out = np.sqrt(np.sum(x * x, axis=dims, keepdims=keepdim))
            else:
                out = np.sum(x**ord, axis=dims, keepdims=keepdim) ** (1.0 / ord)
        out = np.asarray(out, dtype=a.dtype)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        from .reduction import _expand_back

        a, out = ctx.saved_tensors
        p, dims, keepdim = ctx.params["ord"], ctx.params["dims"], ctx.params["keepdim"]
        shape = tuple(a.shape)
        g = _expand_back(g, shape, dims, keepdim)
        r = _expand_back(out, shape, dims, keepdim)
        sign = dual.unary("sign", a)
        if p == 0:  # torch: no gradient at all
            return (None,)
        if p == 1:
            return (g * sign,)
        if p in (np.inf, -np.inf):
            absa = dual.unary("abs", a)
            m = absa == r
            m = m._data if hasattr(m, "_data") else m
            k = np.sum(m, axis=dims, keepdims=True) if shape else np.ones((), np.int64)
            share = np.where(m, 1.0 / k, 0.0).astype(np.asarray(m, dtype=float).dtype)
            share = share.astype(out.dtype if not hasattr(out, "_data") else out._data.dtype)
            if hasattr(a, "_data"):
                share = Tensor._make(share, False, None)
            return (g * sign * share,)
        with np.errstate(all="ignore"):
            if p == 2:
                q = g / r
            else:
                q = g * dual.unary("abs", a) ** (p - 2) / r ** (p - 1)
        zero = r == 0  # torch: 0 where the norm is 0
        q = dual.where(zero._data if hasattr(zero, "_data") else zero, dual.zeros_like(q), q)
        return (q * a,)


def _ord(p: object) -> float:
    if p == "fro":
        return 2.0
    if isinstance(p, str):
        raise NotImplementedError(f"gradviz: norm with p={p!r} is not supported")
    return float(p)


def vector_norm(input: Tensor, ord: object = 2, dim: object = None, keepdim: bool = False) -> Tensor:
    """torch.linalg.vector_norm (the op ``norm`` records)."""
    from .reduction import _dims

    if input._data.dtype.kind not in "fc":
        from ..dtypes import scalar_name

        raise RuntimeError(
            "linalg.vector_norm: Expected a floating point or complex tensor as input. "
            f"Got {scalar_name(input._data.dtype)}"
        )
    dims = _dims(dim, input._data.ndim)
    if dims is not None and (not input._data.ndim or not dims):
        dims = None
    return VectorNorm.apply(input, ord=_ord(ord), dims=dims, keepdim=bool(keepdim))


@registry.op(
    nodes=(VectorNorm,),
    category="reduction",
    size_rule="max",
    numpy_names=False,  # torch.norm is a Python function
    params=(
        registry.Param("p", "number", 2),
        registry.Param("dim", "dims", None),
        registry.Param("keepdim", "bool", False),
    ),
)
def norm(
    input: Tensor, p: object = "fro", dim: object = None, keepdim: bool = False, dtype: object = None
) -> Tensor:
    if dtype is not None:
        input = input.to(dtype)
    return vector_norm(input, 2 if p is None else p, dim, keepdim)


@registry.op(syntax=("function",), catalogue=False, operands=("operands",), operand_list=True)
def einsum(equation: str, *operands: Tensor) -> Tensor:
    """Einstein summation, composed of diagonal, permute, reshape, * and sum (torch records
    permutes, reshapes and a bmm instead: the values and gradients agree, the graph does not)."""
    from .pointwise import mul
    from .reduction import sum as _sum
    from .shape import diagonal, permute

    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    eq = equation.replace(" ", "")
    if "." in eq:
        raise NotImplementedError("gradviz: einsum with '...' is not supported")
    lhs, arrow, out = eq.partition("->")
    subs = lhs.split(",")
    if len(subs) != len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    if not arrow:
        counts = {c: lhs.count(c) for c in lhs if c != ","}
        out = "".join(sorted(c for c, n in counts.items() if n == 1))
    sizes: dict[str, int] = {}
    prepared = []
    for s, x in zip(subs, operands):
        if len(s) != x.ndim:
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({len(s)}) does not match the number "
                f"of dimensions ({x.ndim}) for operand {len(prepared)} and no ellipsis was given"
            )
        s = list(s)
        while len(set(s)) < len(s):  # a repeated letter: take the diagonal
            c = next(c for c in s if s.count(c) > 1)
            p = s.index(c)
            q = s.index(c, p + 1)
            x = diagonal(x, 0, p, q)
            s = [ch for i, ch in enumerate(s) if i not in (p, q)] + [c]
        for c, n in zip(s, x.shape):
            if sizes.setdefault(c, n) != n and n != 1 and sizes[c] != 1:
                raise RuntimeError(
                    f"einsum(): operands do not broadcast with remapped shapes (original->remapped): {sizes[c]} vs {n}"
                )
            sizes[c] = n if sizes[c] == 1 else sizes[c]
        prepared.append((s, x))
    order = list(out) + sorted({c for s, _ in prepared for c in s} - set(out))
    result = None
    for s, x in prepared:
        mine = [c for c in order if c in s]
        perm = [s.index(c) for c in mine]
        if perm != list(range(len(perm))) or len(prepared) == 1:
            x = permute(x, *perm)
        shape = [x.shape[mine.index(c)] if c in mine else 1 for c in order]
        if len(shape) != x.ndim:
            x = x.reshape(shape)
        result = x if result is None else mul(result, x)
    contracted = tuple(range(len(out), len(order)))
    if contracted:
        result = _sum(result, contracted)
    return result
