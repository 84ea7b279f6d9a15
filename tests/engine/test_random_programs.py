"""Random programs, run with gradviz and with PyTorch: every value and every gradient must agree.

hypothesis draws a few leaves with broadcast-compatible shapes (0-d tensors and size-1 dimensions
included), then a random sequence of ops, each chosen among those valid for the values made so
far: arithmetic with safe denominators, powers of positive values, exp of bounded values,
activations, reductions over random dims, views and transposes, matmul, indexing, softmax, cat,
where, max/min, detach/no_grad, and in-place arithmetic on tensors in the graph. Each step runs in
both libraries at once and is compared on the spot (shape, dtype, values, requires_grad and the
grad_fn's name), so a failure names the first step that differs; a step PyTorch refuses must be
refused by gradviz with the same exception and message. Every intermediate keeps its gradient
(``retain_grad``), a weighted sum of all of them is differentiated, and every leaf's and every
intermediate's ``.grad`` is compared. A second-order variant differentiates a weighted sum of the
first gradients again (``autograd.grad(create_graph=True)``).

A second family mixes dtypes (float32, float64, int64, int32, bool; 0-d and dimensioned) with Python
scalars on either side, to check PyTorch's type promotion, including in-place ops across dtypes.

Not generated, because gradviz does not model memory shared between views: in-place changes of a
view, of a tensor that has views, or of a tensor that PyTorch reads through an internal view
(matmul's folding); PyTorch shares one version counter between a view and its base.

Set ``GRADVIZ_FUZZ_EXAMPLES`` to run more examples than the default.
"""

from __future__ import annotations

import math
import operator
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradviz

FUZZ = int(os.environ.get("GRADVIZ_FUZZ_EXAMPLES", "0"))


def examples(n: int) -> settings:
    return settings(
        max_examples=FUZZ or n,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# Results are kept below this magnitude so that float64 comparisons can stay tight.
LIMIT = 1e3
TOLERANCE = {"float64": (1e-9, 1e-10), "float32": (2e-4, 2e-5)}


OPERATORS = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "<": operator.lt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
}  # fmt: skip


def _np(t: Any) -> np.ndarray:
    if getattr(t, "_is_zerotensor", None) and t._is_zerotensor():  # PyTorch's lazy zeros
        return np.zeros(tuple(t.shape), dtype=str(t.dtype).rsplit(".", 1)[-1])
    return np.asarray(t.detach().numpy())


def _dtype_name(t: Any) -> str:
    return str(t.dtype).rsplit(".", 1)[-1]


VERSION_ERROR = (
    "one of the variables needed for gradient computation has been modified by an inplace operation"
)


def _same_message(ours: str, theirs: str) -> bool:
    """Error messages agree, up to the library's name and PyTorch's C++ source locations.

    gradviz prints ``gradviz.Size`` but keeps ``torch.DoubleTensor`` as ``Tensor.type()`` does; it
    has no anomaly mode, so it leaves out PyTorch's hint about it.
    """
    theirs = theirs.split("\nException raised from")[0].split(" Hint: enable anomaly")[0]
    if theirs.startswith(VERSION_ERROR):
        # Which outdated tensor is met first depends on the order the two engines run the
        # backward nodes in (PyTorch: newest first among the ready ones); the error must agree.
        return ours.startswith(VERSION_ERROR)
    return ours.replace("torch.", "gradviz.").strip() == theirs.replace("torch.", "gradviz.").strip()


def _node_name(fn: Any) -> str | None:
    return None if fn is None else fn.name().rsplit("::", 1)[-1]


def _amax(a: np.ndarray) -> float:
    return float(np.max(np.abs(a))) if a.size else 0.0


@dataclass
class Val:
    """One value of a program, in both libraries."""

    name: str
    g: Any  # gradviz
    t: Any  # torch
    leaf: bool = False
    # Read by an op that PyTorch implements through an internal view (matmul folds batch dims):
    # that view shares the version counter, which gradviz does not model. No in-place on it.
    pinned: bool = False

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.g.shape)

    @property
    def ndim(self) -> int:
        return len(self.g.shape)

    @property
    def arr(self) -> np.ndarray:
        return _np(self.g)

    @property
    def amax(self) -> float:
        return _amax(self.arr)

    @property
    def dtype(self) -> str:
        return _dtype_name(self.g)

    @property
    def is_float(self) -> bool:
        return self.dtype.startswith("float")


@dataclass
class Program:
    """The interpreter: draws steps, runs them in both libraries and keeps a readable log."""

    data: Any
    rng: np.random.Generator
    dtype: str = "float64"
    # Mixed-dtype programs pass values through float32, so float64 results inherit its precision.
    loose: bool = False
    vals: list[Val] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    def draw(self, strategy: st.SearchStrategy) -> Any:
        return self.data.draw(strategy)

    def pick(self, options: list) -> Any:
        return options[self.draw(st.integers(0, len(options) - 1))]

    def value(self, options: list[Val]) -> Val:
        """One of ``options``, leaning towards the most recent, so that programs grow deep."""
        return self.pick(options[::-1])

    def where(self) -> str:
        return "\n".join(self.log)

    def compare(self, ours: Any, theirs: Any, what: str) -> None:
        assert isinstance(ours, gradviz.Tensor), f"{what}: gradviz gave {type(ours)}\n{self.where()}"
        assert tuple(ours.shape) == tuple(theirs.shape), (
            f"{what}: shape {tuple(ours.shape)} != torch {tuple(theirs.shape)}\n{self.where()}"
        )
        assert _dtype_name(ours) == _dtype_name(theirs), (
            f"{what}: dtype {ours.dtype} != torch {theirs.dtype}\n{self.where()}"
        )
        o, t = _np(ours), _np(theirs)
        if o.dtype.kind == "f":
            rtol, atol = TOLERANCE["float32" if self.loose else o.dtype.name]
            np.testing.assert_allclose(
                o, t, rtol=rtol, atol=atol * max(1.0, _amax(t)), err_msg=f"{what}\n{self.where()}"
            )
        else:
            np.testing.assert_array_equal(o, t, err_msg=f"{what}\n{self.where()}")

    def leaf(self, shape: tuple[int, ...], dtype: str | None = None, requires_grad: bool = True) -> Val:
        dtype = dtype or self.dtype
        if dtype == "bool":
            arr = self.rng.random(shape) > 0.5
        elif dtype.startswith("int"):
            arr = self.rng.integers(-4, 5, size=shape)
        else:
            arr = self.rng.uniform(-2, 2, size=shape)
        requires_grad = requires_grad and dtype.startswith("float")
        g = gradviz.tensor(arr, dtype=getattr(gradviz, dtype), requires_grad=requires_grad)
        t = torch.tensor(arr, dtype=getattr(torch, dtype), requires_grad=requires_grad)
        name = f"x{sum(v.leaf for v in self.vals)}"
        self.log.append(f"{name} = leaf({list(shape)}, {dtype}, requires_grad={requires_grad})")
        v = Val(name, g, t, leaf=True)
        self.vals.append(v)
        return v

    def const(self, shape: tuple[int, ...], dtype: str) -> tuple[Any, Any]:
        """A constant operand (no gradient) in both libraries."""
        arr = self.rng.uniform(-2, 2, size=shape)
        return gradviz.tensor(arr, dtype=getattr(gradviz, dtype)), torch.tensor(
            arr, dtype=getattr(torch, dtype)
        )

    def run(self, text: str, fn: Callable[..., Any], *args: Val, keep: bool = True) -> Any:
        """Run ``fn(lib, *tensors)`` in both libraries and compare the results at once."""
        names = [a.name for a in args]
        name = f"v{len(self.vals)}"
        self.log.append(f"{name} = {text.format(*names)}")
        done = self.both(
            f"{name} = {text.format(*names)}",
            lambda: fn(gradviz, *[a.g for a in args]),
            lambda: fn(torch, *[a.t for a in args]),
        )
        if done is None:
            self.log.pop(-2)  # keep only the line that says torch raised
            return None
        ours, theirs = done
        if isinstance(theirs, tuple):  # max/min with dim: (values, indices)
            assert isinstance(ours, tuple) and len(ours) == len(theirs), self.where()
            self.compare(ours[1], theirs[1], f"{name} indices")
            ours, theirs = ours[0], theirs[0]
        self.compare(ours, theirs, name)
        assert ours.requires_grad == theirs.requires_grad, f"{name}: requires_grad\n{self.where()}"
        assert _node_name(ours.grad_fn) == _node_name(theirs.grad_fn), (
            f"{name}: grad_fn {_node_name(ours.grad_fn)} != torch {_node_name(theirs.grad_fn)}\n{self.where()}"
        )
        v = Val(name, ours, theirs)
        if keep:
            if ours.requires_grad:
                ours.retain_grad()
                theirs.retain_grad()
            self.vals.append(v)
        return v

    def both(self, what: str, ours: Callable[[], Any], theirs: Callable[[], Any]) -> tuple | None:
        """Run a step in both libraries; None when both raise the same error, as they must."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                t = theirs()
            except Exception as e:
                self.log.append(f"{what}  # torch raises {type(e).__name__}")
                try:
                    ours()
                except Exception as mine:
                    kind = next(k for k in type(e).__mro__ if k.__module__ == "builtins")
                    assert isinstance(mine, kind), (
                        f"{what}: gradviz raises {mine!r}, torch {e!r}\n{self.where()}"
                    )
                    assert _same_message(str(mine), str(e)), (
                        f"{what}: gradviz says {mine!s}, torch says {e!s}\n{self.where()}"
                    )
                    return None
                raise AssertionError(
                    f"{what}: torch raises {e!r}, gradviz does not\n{self.where()}"
                ) from None
            return ours(), t

    def loss(self) -> tuple[Any, Any] | None:
        """A weighted sum of every intermediate that requires grad, in both libraries."""
        terms, seen = [], set()
        for v in self.vals:
            if not v.leaf and v.g.requires_grad and v.arr.size and id(v.g) not in seen:
                seen.add(id(v.g))
                terms.append(v)
        if not terms:
            return None
        weights = [self.const(v.shape, v.dtype) for v in terms]
        self.log.append("loss = " + " + ".join(f"({v.name} * w).sum()" for v in terms))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = sum((v.g * w[0]).sum() for v, w in zip(terms, weights))
            theirs = sum((v.t * w[1]).sum() for v, w in zip(terms, weights))
        return ours, theirs

    def check_gradients(self) -> None:
        """Differentiate the loss with backward(); compare every leaf's and intermediate's .grad."""
        losses = self.loss()
        if losses is None:
            return
        if self.both("loss.backward()", losses[0].backward, losses[1].backward) is None:
            return
        for v in self.vals:
            if not v.g.requires_grad:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ours, theirs = v.g.grad, v.t.grad
            if theirs is None:
                assert ours is None, f"{v.name}.grad should be None\n{self.where()}"
                continue
            assert ours is not None, f"{v.name}.grad is None, torch has one\n{self.where()}"
            self.compare(ours, theirs, f"{v.name}.grad")

    def check_second_order(self) -> None:
        """autograd.grad(create_graph=True) of the loss, then the gradient of a weighted sum of
        those gradients. Where a gradient is None in one library and zeros in the other (PyTorch
        keeps some constant-derivative paths in the graph) the two count as equal."""
        leaves = [v for v in self.vals if v.leaf and v.g.requires_grad]
        losses = self.loss()
        if losses is None or not leaves:
            return
        self.log.append("grads = autograd.grad(loss, leaves, create_graph=True)")
        firsts = self.both(
            "grads",
            lambda: gradviz.autograd.grad(
                losses[0], [v.g for v in leaves], create_graph=True, allow_unused=True
            ),
            lambda: torch.autograd.grad(
                losses[1], [v.t for v in leaves], create_graph=True, allow_unused=True
            ),
        )
        if firsts is None:
            return
        for v, o, t in zip(leaves, *firsts):
            self.compare_or_zero(o, t, v, f"d loss / d {v.name}")
        weights = [self.const(v.shape, v.dtype) for v in leaves]
        self.log.append("loss2 = sum((g * w).sum() for g in grads)")
        seconds = []
        for side, lib in enumerate((gradviz, torch)):
            total = sum((g * w[side]).sum() for g, w in zip(firsts[side], weights) if g is not None)
            if isinstance(total, lib.Tensor) and total.requires_grad:
                inputs = [v.g if side == 0 else v.t for v in leaves]
                # Keep the graph: which buffers a second pass frees differs between the two
                # engines (PyTorch's double-backward graph runs through more forward nodes).
                seconds.append(lib.autograd.grad(total, inputs, retain_graph=True, allow_unused=True))
            else:
                seconds.append([None] * len(leaves))
        for v, o, t in zip(leaves, *seconds):
            self.compare_or_zero(o, t, v, f"d loss2 / d {v.name}")

    def compare_or_zero(self, ours: Any, theirs: Any, like: Val, what: str) -> None:
        if ours is None and theirs is None:
            return
        if ours is None:
            ours = gradviz.zeros(like.shape, dtype=getattr(gradviz, like.dtype))
        if theirs is None:
            theirs = torch.zeros(like.shape, dtype=getattr(torch, like.dtype))
        self.compare(ours, theirs, what)


# --- shapes ------------------------------------------------------------------------------------
def leaf_shapes(prog: Program, n: int) -> list[tuple[int, ...]]:
    """``n`` shapes that broadcast together: suffixes of one base shape, some dims set to 1.

    ``sampled_from`` keeps generation spread out (plain integers lean towards 0-d, size-1 cases).
    """
    ndim = prog.draw(st.sampled_from([2, 3, 1, 0]))
    base = [prog.draw(st.sampled_from([3, 2, 4, 1])) for _ in range(ndim)]
    shapes = []
    for _ in range(n):
        nd = ndim - prog.draw(st.sampled_from([0, 0, 1, 2, 3][: ndim + 1] or [0]))
        nd = max(nd, 0)
        suffix = base[ndim - nd :]
        ones = [prog.draw(st.sampled_from([False, False, False, True])) for _ in suffix]
        shapes.append(tuple(1 if o else d for d, o in zip(suffix, ones)))
    return shapes


def fits_into(target: Val, v: Val) -> bool:
    """Whether ``v`` broadcasts to ``target``'s shape (an in-place operand must)."""
    return broadcasts(target.shape, v.shape) and np.broadcast_shapes(target.shape, v.shape) == target.shape


def broadcasts(*shapes: tuple[int, ...]) -> bool:
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        return False
    return True


def floats(prog: Program) -> list[Val]:
    return [v for v in prog.vals if v.is_float]


# --- the ops ---------------------------------------------------------------------------------------
# Each op takes the program, returns False when it cannot apply to the values made so far.


def op_binary(prog: Program) -> bool:
    a = prog.value(floats(prog))
    partners = [v for v in floats(prog) if broadcasts(a.shape, v.shape)]
    b = prog.value(partners)
    kind = prog.pick(["+", "-", "*", "/", "rdiv"])
    if kind == "*" and a.amax * b.amax > LIMIT:
        kind = "+"
    if kind in "+-*":
        if prog.draw(st.booleans()):
            prog.run(f"{{0}} {kind} {{1}}", lambda lib, x, y: OPERATORS[kind](x, y), a, b)
        else:
            fn = {"+": "add", "-": "sub", "*": "mul"}[kind]
            prog.run(f"lib.{fn}({{0}}, {{1}})", lambda lib, x, y: getattr(lib, fn)(x, y), a, b)
    elif kind == "/":
        prog.run("{0} / ({1} * {1} + 1)", lambda lib, x, y: x / (y * y + 1), a, b)
    else:
        prog.run("{0}.div({1}.abs() + 0.5)", lambda lib, x, y: x.div(y.abs() + 0.5), a, b)
    return True


def op_scalar(prog: Program) -> bool:
    a = prog.value(floats(prog))
    s = prog.pick([2, -3, 0.5, 1.5, -0.25, True])
    kind = prog.pick(["s+", "+s", "s-", "-s", "s*", "*s", "/s", "s/"])
    if "*" in kind and a.amax * abs(s) > LIMIT:
        return False
    op = OPERATORS[kind.strip("s")]
    if kind == "s/":
        prog.run(f"{s!r} / ({{0}} * {{0}} + 1)", lambda lib, x: s / (x * x + 1), a)
    elif kind.startswith("s"):
        prog.run(f"{s!r} {kind[1]} {{0}}", lambda lib, x: op(s, x), a)
    else:
        prog.run(f"{{0}} {kind[0]} {s!r}", lambda lib, x: op(x, s), a)
    return True


def op_pow(prog: Program) -> bool:
    a = prog.value(floats(prog))
    kind = prog.pick(["int", "positive", "tensor", "rpow"])
    if kind == "int":
        e = prog.pick([2, 3, 1, 0])
        if a.amax**e > LIMIT:
            return False
        prog.run(f"{{0}} ** {e}", lambda lib, x: x**e, a)
    elif kind == "positive":
        e = prog.pick([0.5, 1.5, -1, -0.5, 2.5, 0.0])
        if (a.amax**2 + 0.5) ** e > LIMIT:
            return False
        prog.run(f"({{0}} * {{0}} + 0.5) ** {e}", lambda lib, x: (x * x + 0.5) ** e, a)
    elif kind == "tensor":
        b = prog.value([v for v in floats(prog) if broadcasts(a.shape, v.shape)])
        if (a.amax**2 + 0.5) ** 1.0 > LIMIT:
            return False
        prog.run("({0} * {0} + 0.5) ** {1}.tanh()", lambda lib, x, y: (x * x + 0.5) ** y.tanh(), a, b)
    else:
        if a.amax > 8:
            return False
        prog.run("2.0 ** {0}", lambda lib, x: 2.0**x, a)
    return True


def op_unary(prog: Program) -> bool:
    a = prog.value(floats(prog))
    name = prog.pick(["tanh", "sigmoid", "relu", "exp", "neg", "abs", "sin", "cos", "log", "sqrt", "clamp"])
    if name == "exp":
        if a.amax > 5:
            return False
        how = prog.pick(["method", "function"])
        if how == "method":
            prog.run("{0}.exp()", lambda lib, x: x.exp(), a)
        else:
            prog.run("lib.exp({0})", lambda lib, x: lib.exp(x), a)
    elif name == "neg":
        prog.run("-{0}", lambda lib, x: -x, a)
    elif name == "log":
        prog.run("({0} * {0} + 0.1).log()", lambda lib, x: (x * x + 0.1).log(), a)
    elif name == "sqrt":
        prog.run("({0} * {0} + 0.1).sqrt()", lambda lib, x: (x * x + 0.1).sqrt(), a)
    elif name == "clamp":
        lo, hi = prog.pick([(-0.5, None), (None, 0.7), (-1.0, 1.0)])
        prog.run(f"{{0}}.clamp({lo}, {hi})", lambda lib, x: x.clamp(lo, hi), a)
    elif name in ("tanh", "sigmoid", "relu") and prog.draw(st.booleans()):
        prog.run(f"F.{name}({{0}})", lambda lib, x: getattr(lib.nn.functional, name)(x), a)
    else:
        prog.run(f"lib.{name}({{0}})", lambda lib, x: getattr(lib, name)(x), a)
    return True


def _dims(prog: Program, ndim: int) -> Any:
    """None, one dim (maybe negative), or a tuple of distinct dims."""
    if ndim == 0:
        return prog.pick([None, 0, -1])
    choice = prog.pick(["none", "one", "tuple"])
    if choice == "none":
        return None
    if choice == "one":
        return prog.draw(st.integers(-ndim, ndim - 1))
    picked = prog.draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(d - ndim if prog.draw(st.booleans()) else d for d in picked)


def op_reduce(prog: Program) -> bool:
    a = prog.value(floats(prog))
    name = prog.pick(["sum", "mean"])
    dims = _dims(prog, a.ndim)
    if name == "sum" and a.amax * max(a.arr.size, 1) > LIMIT:
        return False
    if name == "mean" and a.arr.size == 0:
        return False
    if dims is None:
        prog.run(f"{{0}}.{name}()", lambda lib, x: getattr(x, name)(), a)
        return True
    keepdim = prog.draw(st.booleans())
    prog.run(
        f"{{0}}.{name}({dims}, keepdim={keepdim})", lambda lib, x: getattr(x, name)(dims, keepdim=keepdim), a
    )
    return True


def op_extreme(prog: Program) -> bool:
    a = prog.value([v for v in floats(prog) if v.arr.size])
    name = prog.pick(["max", "min"])
    if a.ndim == 0 or prog.draw(st.booleans()):
        # Ties (after relu, or from repeated elements) would make the chosen index arbitrary.
        if a.ndim == 0 or len(np.unique(a.arr)) == a.arr.size:
            prog.run(f"{{0}}.{name}()", lambda lib, x: getattr(x, name)(), a)
            return True
        return False
    dim = prog.draw(st.integers(-a.ndim, a.ndim - 1))
    keepdim = prog.draw(st.booleans())
    sorted_ = np.sort(a.arr, axis=dim)
    if a.shape[dim] > 1 and np.any(np.diff(sorted_, axis=dim) == 0):
        return False
    prog.run(
        f"{{0}}.{name}(dim={dim}, keepdim={keepdim})",
        lambda lib, x: getattr(x, name)(dim=dim, keepdim=keepdim),
        a,
    )
    return True


def _reshapes(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    n = math.prod(shape)
    out = [(-1,), (n,), (1, n), (*shape, 1), shape[::-1]]
    if n == 1:
        out.append(())
    out += [(d, -1) for d in range(2, n + 1) if n % d == 0]
    return out


def op_shape(prog: Program) -> bool:
    a = prog.value(floats(prog))
    kind = prog.pick(["reshape", "view", "transpose", "unsqueeze", "squeeze", "flatten", "permute", "T"])
    if kind in ("reshape", "view"):
        shape = prog.pick(_reshapes(a.shape))
        if kind == "view" and not (a.g.is_contiguous() and a.t.is_contiguous()):
            kind = "reshape"
        prog.run(f"{{0}}.{kind}({shape})", lambda lib, x: getattr(x, kind)(shape), a)
    elif kind == "transpose":
        if a.ndim == 0:
            return False
        d0, d1 = (prog.draw(st.integers(-a.ndim, a.ndim - 1)) for _ in range(2))
        prog.run(f"{{0}}.transpose({d0}, {d1})", lambda lib, x: x.transpose(d0, d1), a)
    elif kind == "unsqueeze":
        d = prog.draw(st.integers(-a.ndim - 1, a.ndim))
        prog.run(f"{{0}}.unsqueeze({d})", lambda lib, x: x.unsqueeze(d), a)
    elif kind == "squeeze":
        if a.ndim and prog.draw(st.booleans()):
            d = prog.draw(st.integers(-a.ndim, a.ndim - 1))
            prog.run(f"{{0}}.squeeze({d})", lambda lib, x: x.squeeze(d), a)
        else:
            prog.run("{0}.squeeze()", lambda lib, x: x.squeeze(), a)
    elif kind == "flatten":
        prog.run("{0}.flatten()", lambda lib, x: x.flatten(), a)
    elif kind == "permute":
        order = prog.draw(st.permutations(range(a.ndim)))
        prog.run(f"{{0}}.permute({order})", lambda lib, x: x.permute(tuple(order)), a)
    else:
        if a.ndim > 2:
            return False
        prog.run("{0}.T", lambda lib, x: x.T, a)
    return True


def op_index(prog: Program) -> bool:
    a = prog.value([v for v in floats(prog) if v.ndim and v.shape[0]])
    n0 = a.shape[0]
    kind = prog.pick(["int", "slice", "list", "mask", "last", "newaxis", "tensor"])
    if kind == "int":
        i = prog.draw(st.integers(-n0, n0 - 1))
        idx: Any = i
    elif kind == "slice":
        start = prog.draw(st.one_of(st.none(), st.integers(-n0, n0)))
        stop = prog.draw(st.one_of(st.none(), st.integers(-n0, n0)))
        step = prog.draw(st.one_of(st.none(), st.integers(1, 3)))
        idx = slice(start, stop, step)
    elif kind == "list":
        idx = prog.draw(st.lists(st.integers(-n0, n0 - 1), min_size=1, max_size=4))
    elif kind == "mask":
        threshold = prog.pick([0.0, -0.5, 0.5])
        prog.run(f"{{0}}[{{0}} > {threshold}]", lambda lib, x: x[x > threshold], a)
        return True
    elif kind == "last":
        j = prog.draw(st.integers(-a.shape[-1], a.shape[-1] - 1))
        idx = (Ellipsis, j)
    elif kind == "newaxis":
        idx = (None, slice(None), None)
    else:
        rows = prog.draw(st.lists(st.integers(0, n0 - 1), min_size=1, max_size=3))
        prog.run(f"{{0}}[lib.tensor({rows})]", lambda lib, x: x[lib.tensor(rows)], a)
        return True
    prog.run(f"{{0}}[{idx!r}]", lambda lib, x: x[idx], a)
    return True


def op_softmax(prog: Program) -> bool:
    a = prog.value(floats(prog))
    dim = prog.draw(st.integers(-max(a.ndim, 1), max(a.ndim, 1) - 1))
    name = prog.pick(["softmax", "log_softmax"])
    how = prog.pick(["method", "function", "F"])
    if how == "method":
        prog.run(f"{{0}}.{name}({dim})", lambda lib, x: getattr(x, name)(dim), a)
    elif how == "function":
        prog.run(f"lib.{name}({{0}}, {dim})", lambda lib, x: getattr(lib, name)(x, dim), a)
    else:
        prog.run(
            f"F.{name}({{0}}, dim={dim})", lambda lib, x: getattr(lib.nn.functional, name)(x, dim=dim), a
        )
    return True


def op_matmul(prog: Program) -> bool:
    a = prog.value([v for v in floats(prog) if v.ndim])
    inner = a.shape[-1]
    k = prog.draw(st.integers(1, 3))
    # The other factor: an existing value if one fits, else a fresh leaf of a fitting shape.
    fits = [
        v for v in floats(prog) if v.ndim and v.shape[-2 if v.ndim > 1 else 0] == inner
        and (v.ndim < 2 or a.ndim < 2 or broadcasts(a.shape[:-2], v.shape[:-2]))
    ]  # fmt: skip
    if fits and prog.draw(st.booleans()):
        b = prog.value(fits)
    else:
        batch = a.shape[:-2] if a.ndim > 2 and prog.draw(st.booleans()) else ()
        b = prog.leaf(prog.pick([(inner,), (inner, k), (*batch, inner, k), (2, inner, k)]))
    if a.amax * b.amax * inner > LIMIT:
        return False
    a.pinned = b.pinned = True
    if prog.draw(st.booleans()):
        prog.run("{0} @ {1}", lambda lib, x, y: x @ y, a, b)
    else:
        prog.run("lib.matmul({0}, {1})", lambda lib, x, y: lib.matmul(x, y), a, b)
    return True


def op_cat(prog: Program) -> bool:
    a = prog.value([v for v in floats(prog) if v.ndim])
    dim = prog.draw(st.integers(-a.ndim, a.ndim - 1))
    d = dim % a.ndim
    fits = [
        v for v in floats(prog)
        if v.ndim == a.ndim and all(s == t for i, (s, t) in enumerate(zip(v.shape, a.shape)) if i != d)
    ]  # fmt: skip
    parts = [a, prog.value(fits)]  # may be a itself: its gradient then adds up
    if prog.draw(st.booleans()):
        extra = list(a.shape)
        extra[d] = prog.draw(st.integers(1, 3))
        parts.append(prog.leaf(tuple(extra)))
    names = ", ".join(f"{{{i}}}" for i in range(len(parts)))
    if prog.draw(st.booleans()):
        prog.run(f"lib.cat([{names}], {dim})", lambda lib, *xs: lib.cat(list(xs), dim), *parts)
    else:
        prog.run(f"lib.stack([{{0}}, {{0}}], {dim})", lambda lib, x: lib.stack([x, x], dim), a)
    return True


def op_where(prog: Program) -> bool:
    c = prog.value(floats(prog))
    a = prog.value([v for v in floats(prog) if broadcasts(v.shape, c.shape)])
    rest = [v for v in floats(prog) if broadcasts(v.shape, c.shape, a.shape)]
    if prog.draw(st.booleans()):
        b = prog.value(rest)
        prog.run("lib.where({0} > 0, {1}, {2})", lambda lib, z, x, y: lib.where(z > 0, x, y), c, a, b)
    else:
        s = prog.pick([0.0, 1.5, -2])
        prog.run(f"lib.where({{0}} < 0.3, {{1}}, {s})", lambda lib, z, x: lib.where(z < 0.3, x, s), c, a)
    return True


INPLACE = {"+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv}


def op_inplace(prog: Program) -> bool:
    """An in-place op on a value in the graph (PyTorch rebases its history), or on a leaf that
    requires grad, or with an operand that does not broadcast to it (both must refuse).

    Views are left out on both sides: gradviz does not track which tensors share memory, so an
    in-place change neither reaches a view's base nor its other views (see the module notes).
    """
    viewed = {id(v.t._base) for v in prog.vals if v.t._is_view()}
    targets = [v for v in floats(prog) if not (v.leaf or v.pinned or v.t._is_view() or id(v.t) in viewed)]
    if not targets or prog.draw(st.sampled_from([False] * 6 + [True])):
        targets = [v for v in floats(prog) if v.leaf]
    a = prog.value(targets)
    if prog.draw(st.sampled_from([True] * 6 + [False])):
        others = [v for v in floats(prog) if fits_into(a, v)]
    else:
        others = floats(prog)
    kind = prog.pick(["+=", "-=", "*=", "/=", "add_", "mul_", "scalar"])
    if kind == "scalar":
        s = prog.pick([2, 0.5, -1.5])
        prog.run(f"{{0}}.mul_({s})", lambda lib, x: x.mul_(s), a)
        return True
    b = prog.value(others)
    if kind in ("*=", "mul_") and a.amax * b.amax > LIMIT:
        kind = "+="
    if kind == "/=":
        prog.run("{0} /= {1} * {1} + 1", lambda lib, x, y: operator.itruediv(x, y * y + 1), a, b)
    elif kind in INPLACE:
        prog.run(f"{{0}} {kind} {{1}}", lambda lib, x, y: INPLACE[kind](x, y), a, b)
    else:
        prog.run(f"{{0}}.{kind}({{1}})", lambda lib, x, y: getattr(x, kind)(y), a, b)
    return True


def op_detach(prog: Program) -> bool:
    a = prog.value(floats(prog))
    kind = prog.pick(["detach", "no_grad", "clone"])
    if kind == "detach":
        prog.run("{0}.detach() * 2", lambda lib, x: x.detach() * 2, a)
    elif kind == "clone":
        prog.run("{0}.clone()", lambda lib, x: x.clone(), a)
    else:

        def under_no_grad(lib: Any, x: Any) -> Any:
            with lib.no_grad():
                return x * 3

        prog.run("no_grad: {0} * 3", under_no_grad, a)
    return True


OPS = {
    "binary": op_binary, "scalar": op_scalar, "pow": op_pow, "unary": op_unary, "reduce": op_reduce,
    "extreme": op_extreme, "shape": op_shape, "index": op_index, "softmax": op_softmax,
    "matmul": op_matmul, "cat": op_cat, "where": op_where, "detach": op_detach, "inplace": op_inplace,
}  # fmt: skip
NEEDS_DIM = {"index", "matmul", "cat"}


def random_program(data: Any, dtype: str, max_steps: int = 8) -> Program:
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    prog = Program(data, np.random.default_rng(seed), dtype)
    n_leaves = prog.draw(st.integers(1, 3))
    for shape in leaf_shapes(prog, n_leaves):
        prog.leaf(shape)
    steps = prog.draw(st.integers(1, max_steps))
    done = 0
    while done < steps:
        name = prog.draw(st.sampled_from(sorted(OPS)))
        if name in NEEDS_DIM and not any(v.ndim and v.shape[0] for v in floats(prog)):
            continue
        if name == "extreme" and not any(v.arr.size for v in floats(prog)):
            continue
        if OPS[name](prog):
            done += 1
    return prog


@given(st.data())
@examples(200)
def test_random_programs_float64(data):
    prog = random_program(data, "float64")
    prog.check_gradients()


@given(st.data())
@examples(100)
def test_random_programs_second_order(data):
    prog = random_program(data, "float64", max_steps=6)
    prog.check_second_order()
    prog.check_gradients()  # the create_graph pass retained the graph


@given(st.data())
@examples(80)
def test_random_programs_float32(data):
    prog = random_program(data, "float32", max_steps=6)
    prog.check_gradients()


# --- dtype promotion ---------------------------------------------------------------------------------
DTYPES = ["float32", "float64", "int64", "int32", "bool"]
SCALARS = [2, -1, 0, 0.5, -1.5, True, False]


def op_mixed_binary(prog: Program) -> bool:
    a = prog.value(prog.vals)
    kind = prog.pick(["tensor", "scalar_right", "scalar_left"])
    op = prog.pick(["+", "*", "-", "/"])
    if kind == "tensor":
        b = prog.value([v for v in prog.vals if broadcasts(a.shape, v.shape)])
        if op == "-" and a.dtype == "bool" and b.dtype == "bool":
            op = "+"
        if op == "*" and a.amax * b.amax > LIMIT:
            op = "+"
        if op == "/":
            prog.run("{0} / ({1} * {1} + 1)", lambda lib, x, y: x / (y * y + 1), a, b)
        else:
            prog.run(f"{{0}} {op} {{1}}", lambda lib, x, y: OPERATORS[op](x, y), a, b)
        return True
    s = prog.pick(SCALARS)
    if op == "-" and a.dtype == "bool" and isinstance(s, bool):
        op = "+"
    if op == "*" and a.amax * abs(s) > LIMIT:
        op = "+"
    if kind == "scalar_right":
        if op == "/" and s == 0:
            s = 2
        prog.run(f"{{0}} {op} {s!r}", lambda lib, x: OPERATORS[op](x, s), a)
    elif op == "/":
        prog.run(f"{s!r} / ({{0}} * {{0}} + 1)", lambda lib, x: s / (x * x + 1), a)
    else:
        prog.run(f"{s!r} {op} {{0}}", lambda lib, x: OPERATORS[op](s, x), a)
    return True


def op_mixed_other(prog: Program) -> bool:
    a = prog.value(prog.vals)
    kind = prog.pick(["where", "cat", "compare", "unary", "sum", "pow", "mean", "to"])
    if kind == "where":
        b = prog.value([v for v in prog.vals if broadcasts(a.shape, v.shape)])
        c = prog.value([v for v in prog.vals if broadcasts(a.shape, b.shape, v.shape)])
        prog.run("lib.where({0} > 0, {1}, {2})", lambda lib, z, x, y: lib.where(z > 0, x, y), c, a, b)
    elif kind == "cat":
        if a.ndim == 0:
            return False
        fits = [v for v in prog.vals if v.ndim == a.ndim and v.shape[1:] == a.shape[1:]]
        b = prog.value(fits)
        prog.run("lib.cat([{0}, {1}])", lambda lib, x, y: lib.cat([x, y]), a, b)
    elif kind == "compare":
        b = prog.value([v for v in prog.vals if broadcasts(a.shape, v.shape)])
        op = prog.pick(["<", ">=", "==", "!="])
        prog.run(f"{{0}} {op} {{1}}", lambda lib, x, y: OPERATORS[op](x, y), a, b)
    elif kind == "unary":
        name = prog.pick(["exp", "tanh", "sigmoid", "sin", "relu", "abs"])
        if name == "exp" and a.amax > 5:
            return False
        if a.dtype == "bool" and name in ("relu", "abs"):
            return False
        prog.run(f"lib.{name}({{0}})", lambda lib, x: getattr(lib, name)(x), a)
    elif kind == "sum":
        if a.amax * max(a.arr.size, 1) > LIMIT:
            return False
        prog.run("{0}.sum()", lambda lib, x: x.sum(), a)
    elif kind == "mean":
        if not a.is_float:
            return False
        prog.run("{0}.mean()", lambda lib, x: x.mean(), a)
    elif kind == "to":
        target = prog.pick(DTYPES)
        prog.run(f"{{0}}.to(lib.{target})", lambda lib, x: x.to(getattr(lib, target)), a)
    else:
        if a.dtype == "bool":
            return False
        e = prog.pick([2, 3, 0.5, 2.0])
        if isinstance(e, float) and not e.is_integer():
            prog.run(f"({{0}} * {{0}} + 1) ** {e}", lambda lib, x: (x * x + 1) ** e, a)
        elif a.amax**e <= LIMIT:
            prog.run(f"{{0}} ** {e!r}", lambda lib, x: x**e, a)
        else:
            return False
    return True


def op_mixed_inplace(prog: Program) -> bool:
    """In-place arithmetic across dtypes: PyTorch computes in the promoted dtype and refuses to
    cast a float result into an integer tensor or anything but bool into a bool tensor."""
    viewed = {id(v.t._base) for v in prog.vals if v.t._is_view()}
    targets = [v for v in prog.vals if not (v.pinned or v.t._is_view() or id(v.t) in viewed)]
    if not targets:
        return False
    a = prog.value(targets)
    fits = [v for v in prog.vals if fits_into(a, v)]
    kind = prog.pick(["+=", "*=", "add_", "scalar"])
    if kind == "scalar" or not fits:
        s = prog.pick(SCALARS)
        prog.run(f"{{0}}.add_({s!r})", lambda lib, x: x.add_(s), a)
        return True
    b = prog.value(fits)
    if kind in ("*=",) and a.amax * b.amax > LIMIT:
        kind = "+="
    if kind == "add_":
        prog.run("{0}.add_({1})", lambda lib, x, y: x.add_(y), a, b)
    else:
        prog.run(f"{{0}} {kind} {{1}}", lambda lib, x, y: INPLACE[kind](x, y), a, b)
    return True


@given(st.data())
@examples(200)
def test_random_programs_mixing_dtypes_and_python_scalars(data):
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    prog = Program(data, np.random.default_rng(seed), loose=True)
    n = prog.draw(st.integers(1, 3))
    for shape in leaf_shapes(prog, n):
        dtype = prog.draw(st.sampled_from(DTYPES))
        prog.leaf(shape, dtype, requires_grad=prog.draw(st.booleans()))
    if not any(v.g.requires_grad for v in prog.vals):
        prog.leaf(prog.pick([(), (1,), (3,)]), prog.pick(["float32", "float64"]))
    steps = prog.draw(st.integers(1, 6))
    done = 0
    while done < steps:
        op = prog.pick([op_mixed_binary, op_mixed_other, op_mixed_binary, op_mixed_other, op_mixed_inplace])
        if op(prog):
            done += 1
    prog.check_gradients()


# --- a few fixed programs that the random ones reach only rarely ------------------------------------
@pytest.mark.parametrize(("a", "b"), [((), (3,)), ((3,), ()), ((), ()), ((1,), (3,))])
@pytest.mark.parametrize(
    ("da", "db"), [("float64", "float32"), ("int64", "float32"), ("float32", "int32"), ("bool", "int32")]
)
def test_zero_dim_tensors_promote_by_category(a, b, da, db):
    # A 0-d tensor does not promote a dimensioned tensor of the same category (float64 0-d +
    # float32 vector stays float32), but it does across categories (int vector + float 0-d).
    def dtypes(lib):
        x, y = lib.ones(a, dtype=getattr(lib, da)), lib.ones(b, dtype=getattr(lib, db))
        return [_dtype_name(r) for r in (x + y, y * x, lib.where(x > 0, x, y), x / y)]

    assert dtypes(gradviz) == dtypes(torch)


def test_gradient_of_a_shared_subexpression_used_many_ways():
    # One value feeds an index with repeats, a transpose, a reduction and a cat with itself.
    def program(lib):
        x = lib.tensor(np.linspace(-1, 1, 12).reshape(3, 4), dtype=lib.float64, requires_grad=True)
        h = lib.tanh(x) * 2
        y = h[[0, 2, 0]].sum() + (h.T @ h).mean() + lib.cat([h, h], 1).softmax(1)[1].sum()
        y = y + h.max(dim=1).values.sum() + lib.where(h > 0, h, h * h).sum(0, keepdim=True).sum()
        y.backward()
        return y, x.grad

    ours, theirs = program(gradviz), program(torch)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(_np(o), _np(t), rtol=1e-12, atol=1e-12)
