"""``torch.autograd.functional`` (``jacobian``, ``hessian``) and ``torch.autograd.gradcheck``.

The Jacobian is built one row at a time: a backward pass per element of each output, with a
one-hot gradient (``autograd.grad``), as torch's reverse-mode strategy does. ``gradcheck``
compares it with central differences of the function itself.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .engine import Tensor, float64, zeros
from .engine.autograd import grad as _grad
from .engine.grad_mode import enable_grad, no_grad

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck", "hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


def _as_tuple(x: Any, arg: str, fn: str) -> tuple[bool, tuple]:
    if isinstance(x, Tensor):
        return False, (x,)
    if isinstance(x, (tuple, list)):
        for i, t in enumerate(x):
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"The {arg} given to {fn} must be either a Tensor or a tuple of Tensors but the "
                    f"value at index {i} has type {type(t)}."
                )
        return True, tuple(x)
    raise TypeError(
        f"The {arg} given to {fn} must be either a Tensor or a tuple of Tensors but the given "
        f"{arg} has type {type(x)}."
    )


def _prepare(inputs: tuple, create_graph: bool) -> tuple:
    # As torch: with create_graph an input that already requires grad keeps its history.
    return tuple(t if (create_graph and t.requires_grad) else t.detach().requires_grad_(True) for t in inputs)


def jacobian(
    func: Callable[..., Any],
    inputs: Tensor | Sequence[Tensor],
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
) -> Any:
    """The Jacobian of ``func`` at ``inputs``: for output ``o`` and input ``x`` a tensor of
    shape ``o.shape + x.shape``; a tuple over inputs (and over outputs) when they are tuples."""
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode".')
    in_tuple, ins = _as_tuple(inputs, "inputs", "jacobian")
    with enable_grad():
        ins = _prepare(ins, create_graph)
        raw = func(*ins)
        out_tuple, outs = _as_tuple(raw, "outputs of the user-provided function", "jacobian")
        table = []
        for k, out in enumerate(outs):
            rows: list[list[Tensor]] = [[] for _ in ins]
            n = out.numel()
            for i in range(n):
                grads: tuple = (None,) * len(ins)
                if out.requires_grad:
                    onehot = np.zeros(n, out._data.dtype)
                    onehot[i] = 1
                    seed = Tensor._make(onehot.reshape(out.shape), False, None)
                    grads = _grad(
                        out, ins, seed, retain_graph=True, create_graph=create_graph, allow_unused=True
                    )
                for j, (g, x) in enumerate(zip(grads, ins)):
                    if g is None:
                        if strict:
                            raise RuntimeError(
                                f"Output {k} of the user-provided function is independent of input {j}. "
                                "This is not allowed in strict mode."
                            )
                        g = zeros(x.shape, dtype=x.dtype)
                    rows[j].append(g)
            per_input = []
            for j, x in enumerate(ins):
                if rows[j]:
                    from .engine import stack

                    jac = stack(rows[j]).reshape(*out.shape, *x.shape)
                else:
                    jac = zeros(*out.shape, *x.shape, dtype=x.dtype)
                per_input.append(jac if create_graph else jac.detach())
            table.append(tuple(per_input) if in_tuple else per_input[0])
    return tuple(table) if out_tuple else table[0]


def hessian(
    func: Callable[..., Any],
    inputs: Tensor | Sequence[Tensor],
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
) -> Any:
    """The Hessian of a scalar ``func``: the Jacobian of its gradient."""
    in_tuple, ins = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*xs: Tensor) -> Any:
        out = func(*xs)
        _, outs = _as_tuple(out, "outputs of the user-provided function", "hessian")
        if len(outs) != 1:
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if outs[0].numel() != 1:
            raise RuntimeError(
                "The Tensor returned by the function given to hessian should contain a single element"
            )
        return jacobian(func, xs, create_graph=True, strict=strict)

    res = jacobian(gradient, ins, create_graph=create_graph, strict=strict)
    if not in_tuple:
        return res[0][0]
    return res


def _grads(outs: tuple, ins: tuple, vs: Any, create_graph: bool) -> tuple:
    """Gradients of ``outs`` (weighted by ``vs``) for each of ``ins``; zeros where unused."""
    live = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
    if not live:
        return tuple(zeros(x.shape, dtype=x.dtype) for x in ins)
    gs = _grad(
        [o for o, _ in live],
        ins,
        [v for _, v in live],
        retain_graph=True,
        create_graph=create_graph,
        allow_unused=True,
    )
    return tuple(zeros(x.shape, dtype=x.dtype) if g is None else g for g, x in zip(gs, ins))


def _vectors(v: Any, like: tuple, fn: str) -> tuple:
    if v is None:
        if len(like) != 1 or like[0].numel() != 1:
            raise RuntimeError(
                "The vector v can only be None if the user-provided function returns a single Tensor with a single element."
            )
        return (Tensor._make(np.ones(like[0].shape, like[0]._data.dtype), False, None),)
    _, vs = _as_tuple(v, "v", fn)
    if len(vs) != len(like):
        raise RuntimeError(f"v is a tuple of invalid length: should be {len(like)} but got {len(vs)}.")
    for i, (a, b) in enumerate(zip(vs, like)):
        if tuple(a.shape) != tuple(b.shape):
            raise RuntimeError(
                f"Mismatch in size for v at index {i}: expected torch.Size({list(b.shape)}) but got torch.Size({list(a.shape)})."
            )
    return vs


def _post(xs: tuple, create_graph: bool, as_tuple: bool) -> Any:
    xs = tuple(x if create_graph else x.detach() for x in xs)
    return xs if as_tuple else xs[0]


def vjp(
    func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
) -> tuple:
    """``(func(inputs), v^T · J)``: the vector-Jacobian product at ``inputs``."""
    in_tuple, ins = _as_tuple(inputs, "inputs", "vjp")
    with enable_grad():
        ins = _prepare(ins, create_graph)
        out_tuple, outs = _as_tuple(func(*ins), "outputs of the user-provided function", "vjp")
        res = _grads(outs, ins, _vectors(v, outs, "vjp"), create_graph)
    return _post(outs, create_graph, out_tuple), _post(res, create_graph, in_tuple)


def jvp(
    func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
) -> tuple:
    """``(func(inputs), J · v)``, by the double-backward trick (as torch computes it)."""
    _, ins = _as_tuple(inputs, "inputs", "jvp")
    vs = _vectors(v, ins, "jvp")
    with enable_grad():
        ins = _prepare(ins, create_graph)
        out_tuple, outs = _as_tuple(func(*ins), "outputs of the user-provided function", "jvp")
        dummies = tuple(
            Tensor._make(np.zeros(o.shape, o._data.dtype), False, None).requires_grad_() for o in outs
        )
        g = _grads(outs, ins, dummies, True)
        live = [(gi, vi) for gi, vi in zip(g, vs) if gi.requires_grad]
        if live:
            res = _grads(tuple(gi for gi, _ in live), dummies, tuple(vi for _, vi in live), create_graph)
        else:
            res = tuple(zeros(o.shape, dtype=o.dtype) for o in outs)
    return _post(outs, create_graph, out_tuple), _post(res, create_graph, out_tuple)


def _scalar_out(func: Callable[..., Any], ins: tuple, fn: str) -> Tensor:
    _, outs = _as_tuple(func(*ins), "outputs of the user-provided function", fn)
    if len(outs) != 1 or outs[0].numel() != 1:
        raise RuntimeError(
            f"The function given to {fn} should return a single Tensor with a single element."
            if len(outs) == 1
            else f"The function given to {fn} should return a single Tensor"
        )
    return outs[0]


def vhp(
    func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
) -> tuple:
    """``(func(inputs), v^T · H)`` for a scalar ``func``."""
    in_tuple, ins = _as_tuple(inputs, "inputs", "vhp")
    vs = _vectors(v, ins, "vhp")
    with enable_grad():
        ins = _prepare(ins, create_graph)
        out = _scalar_out(func, ins, "vhp")
        g = _grads((out,), ins, (Tensor._make(np.ones(out.shape, out._data.dtype), False, None),), True)
        live = [(gi, vi) for gi, vi in zip(g, vs) if gi.requires_grad]
        res = (
            _grads(tuple(gi for gi, _ in live), ins, tuple(vi for _, vi in live), create_graph)
            if live
            else tuple(zeros(x.shape, dtype=x.dtype) for x in ins)
        )
    return _post((out,), create_graph, False), _post(res, create_graph, in_tuple)


def hvp(
    func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
) -> tuple:
    """``(func(inputs), H · v)`` for a scalar ``func`` (H is symmetric: the same as ``vhp``)."""
    return vhp(func, inputs, v, create_graph, strict)


class GradcheckError(RuntimeError):
    """``gradcheck`` found an analytical gradient that differs from the numerical one."""


def _numerical(func: Callable[..., Any], ins: tuple, eps: float) -> list[list[np.ndarray]]:
    """Central differences: for each input j and output k, d out_k / d in_j as out.shape + in.shape."""
    with no_grad():
        base = func(*ins)
        _, outs = _as_tuple(base, "outputs", "gradcheck")
        table = [[np.zeros((*o.shape, *x.shape), np.float64) for x in ins] for o in outs]
        for j, x in enumerate(ins):
            if not x.requires_grad:
                continue
            flat = x._storage().reshape(-1)
            for i in range(flat.size):
                orig = flat[i]
                flat[i] = orig + eps
                _, plus = _as_tuple(func(*ins), "outputs", "gradcheck")
                flat[i] = orig - eps
                _, minus = _as_tuple(func(*ins), "outputs", "gradcheck")
                flat[i] = orig
                for k in range(len(outs)):
                    d = (np.asarray(plus[k]._data, np.float64) - np.asarray(minus[k]._data, np.float64)) / (
                        2 * eps
                    )
                    table[k][j].reshape(outs[k].numel(), -1)[:, i] = d.reshape(-1)
    return table


def gradcheck(
    func: Callable[..., Any],
    inputs: Tensor | Sequence[Tensor],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    **kwargs: Any,
) -> bool:
    """Whether ``func``'s gradients (through backward) match central differences at ``inputs``
    (elementwise ``|analytical - numerical| <= atol + rtol * |numerical|``)."""
    _, ins = _as_tuple(inputs, "inputs", "gradcheck")
    for i, x in enumerate(ins):
        if x.requires_grad and x.dtype is not float64:
            warnings.warn(
                f"Input #{i} requires gradient and is not a double precision floating point or complex. "
                "This check will likely fail if all the inputs are not of double precision floating point or complex. ",
                UserWarning,
                stacklevel=2,
            )
    if not any(x.requires_grad for x in ins):
        raise ValueError(
            "gradcheck expects at least one input tensor to require gradient, but none of the them have requires_grad=True."
        )
    numeric = _numerical(func, ins, eps)
    with enable_grad():
        out = func(*ins)
        _, outs = _as_tuple(out, "outputs", "gradcheck")
        for k, o in enumerate(outs):
            n = o.numel()
            analytic = [np.zeros((n, x.numel()), np.float64) for x in ins]
            for r in range(n):
                if not o.requires_grad:
                    break
                seed = np.zeros(n, o._data.dtype)
                seed[r] = 1
                need = [x for x in ins if x.requires_grad]
                grads = _grad(
                    o,
                    need,
                    Tensor._make(seed.reshape(o.shape), False, None),
                    retain_graph=True,
                    allow_unused=True,
                )
                it = iter(grads)
                for j, x in enumerate(ins):
                    if x.requires_grad:
                        g = next(it)
                        if g is not None:
                            analytic[j][r] = np.asarray(g._data, np.float64).reshape(-1)
            for j, x in enumerate(ins):
                if not x.requires_grad:
                    continue
                num = numeric[k][j].reshape(n, -1)
                ok = np.abs(analytic[j] - num) <= atol + rtol * np.abs(num)
                if not ok.all():
                    if not raise_exception:
                        return False
                    # torch prints each Jacobian input-major: rows are the input's elements.
                    raise GradcheckError(
                        f"Jacobian mismatch for output {k} with respect to input {j},\n"
                        f"numerical:{_fmt(num.T, x.dtype)}\nanalytical:{_fmt(analytic[j].T, x.dtype)}\n"
                    )
    return True


def _fmt(a: np.ndarray, dtype: Any) -> str:
    from .engine import tensor

    return repr(tensor(a.tolist(), dtype=dtype))


def gradgradcheck(
    func: Callable[..., Any],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    **kwargs: Any,
) -> bool:
    """``gradcheck`` of the gradient: the vector-Jacobian product of ``func`` with fixed random
    ``grad_outputs`` (torch draws them; any fixed ones check the same formulas)."""
    _, ins = _as_tuple(inputs, "inputs", "gradgradcheck")
    with no_grad():
        _, outs = _as_tuple(func(*ins), "outputs", "gradgradcheck")
    if grad_outputs is None:
        gen = np.random.default_rng(0)
        gos = tuple(
            Tensor._make(gen.standard_normal(o.shape).astype(o._data.dtype), False, None) for o in outs
        )
    else:
        _, gos = _as_tuple(grad_outputs, "grad_outputs", "gradgradcheck")
    need = [i for i, x in enumerate(ins) if x.requires_grad]

    def vjp(*xs: Tensor) -> tuple:
        with enable_grad():  # also while gradcheck differences it numerically
            _, os_ = _as_tuple(func(*xs), "outputs", "gradgradcheck")
            gs = _grad(list(os_), [xs[i] for i in need], list(gos), create_graph=True, allow_unused=True)
        return tuple(g if g is not None else zeros(xs[i].shape, dtype=xs[i].dtype) for g, i in zip(gs, need))

    return gradcheck(vjp, ins, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception)
