"""Hooks, learner-written ``autograd.Function``, ``functional.jacobian``/``hessian``,
``gradcheck`` and ``inference_mode``, against PyTorch."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import gradviz as gv


def norm(s: str) -> str:
    return re.sub(r"0x[0-9a-f]+", "0x", s).replace("gradviz", "torch")


def run_both(fn):
    return fn(torch), fn(gv)


def test_hooks_on_leaf_and_non_leaf_order_and_replacement() -> None:
    def prog(t):
        log = []
        x = t.tensor([1.0, 2.0], requires_grad=True)
        x.register_hook(lambda g: log.append(("leaf", g.tolist())) or g * 10)
        y = x * 3
        y.retain_grad()
        y.register_hook(lambda g: log.append(("y1", g.tolist())))
        y.register_hook(lambda g: g + 1)
        y.register_hook(lambda g: log.append(("y3", g.tolist())))
        (y * y).sum().backward()
        return log, x.grad.tolist(), y.grad.tolist()

    a, b = run_both(prog)
    assert b == a


def test_hook_handle_remove_and_accumulation() -> None:
    def prog(t):
        x = t.tensor([1.0, -1.0], requires_grad=True)
        h = x.register_hook(lambda g: g * 2)
        (x * x).sum().backward()
        first = x.grad.tolist()
        h.remove()
        (x * x).sum().backward()
        return first, x.grad.tolist()

    a, b = run_both(prog)
    assert b == a


def test_hook_on_tensor_used_twice_sees_the_sum() -> None:
    def prog(t):
        seen = []
        x = t.tensor([2.0], requires_grad=True)
        y = x * 1
        y.register_hook(lambda g: seen.append(g.tolist()))
        (y * 3 + y * 4).sum().backward()
        return seen, x.grad.tolist()

    a, b = run_both(prog)
    assert b == a


def test_hook_errors() -> None:
    for t in (torch, gv):
        with pytest.raises(
            RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"
        ):
            t.ones(2).register_hook(lambda g: g)
        x = t.ones(2, requires_grad=True)
        x.register_hook(lambda g, t=t: t.ones(3))
        with pytest.raises(RuntimeError, match="hook '<lambda>' has changed the size of value"):
            (x * 2).sum().backward()


def test_hook_under_create_graph() -> None:
    def prog(t):
        x = t.tensor([1.5], dtype=t.float64, requires_grad=True)
        x2 = x * 1
        x2.register_hook(lambda g: g * x)
        y = x2**3
        (g,) = t.autograd.grad(y, x, create_graph=True)
        (gg,) = t.autograd.grad(g, x)
        return g.tolist(), gg.tolist()

    a, b = run_both(prog)
    np.testing.assert_allclose(b, a)


def _functions(t):
    class MyFn(t.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.save_for_backward(x)
            ctx.k = k
            ctx.seen = (type(x).__name__, ctx.needs_input_grad, t.is_grad_enabled())
            return x * k + x.exp()

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * (ctx.k + x.exp()), None

    class Two(t.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a + b, a * b

        @staticmethod
        def backward(ctx, ga, gb):
            a, b = ctx.saved_tensors
            return ga + gb * b, ga + gb * a

    return MyFn, Two


def test_custom_function_values_grads_names_and_ctx() -> None:
    def prog(t):
        MyFn, _ = _functions(t)
        x = t.tensor([0.5, 1.0, -2.0], requires_grad=True)
        y = MyFn.apply(x, 3)
        node = y.grad_fn
        y.sum().backward()
        return (
            repr(y),
            norm(repr(node)),
            node.name(),
            [type(n).__name__ for n, _ in node.next_functions],
            x.grad.tolist(),
            node.seen[1:],
        )

    a, b = run_both(prog)
    assert b == a


def test_custom_function_two_outputs_and_unused_output() -> None:
    def prog(t):
        _, Two = _functions(t)
        x = t.tensor([1.0, 2.0], requires_grad=True)
        w = t.tensor([3.0, -1.0], requires_grad=True)
        p, q = Two.apply(x, w)
        same_node = p.grad_fn is q.grad_fn
        (p * q).sum().backward(retain_graph=True)
        g1 = (x.grad.tolist(), w.grad.tolist())
        x.grad = None
        w.grad = None
        p.sum().backward()  # q's gradient arrives as zeros
        return repr(p), repr(q), same_node, g1, x.grad.tolist(), w.grad.tolist()

    a, b = run_both(prog)
    assert b == a


def test_custom_function_without_grad_and_errors() -> None:
    for t in (torch, gv):
        MyFn, _ = _functions(t)
        out = MyFn.apply(t.tensor([1.0]), 2)
        assert out.grad_fn is None and not out.requires_grad

        class Bad(t.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                return a * 2

            @staticmethod
            def backward(ctx, g):
                return g, g

        x = t.ones(2, requires_grad=True)
        with pytest.raises(
            RuntimeError,
            match=r"function BadBackward returned an incorrect number of gradients \(expected 1, got 2\)",
        ):
            Bad.apply(x).sum().backward()

        class NoBackward(t.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                return a * 2

        with pytest.raises(NotImplementedError, match="You must implement either the backward or vjp method"):
            NoBackward.apply(x).sum().backward()

        y = MyFn.apply(x, 2)
        y.sum().backward()
        with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
            y.sum().backward()


def test_custom_function_double_backward() -> None:
    def prog(t):
        class Cube(t.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x**3

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return 3 * x**2 * g

        x = t.tensor([2.0], dtype=t.float64, requires_grad=True)
        (g,) = t.autograd.grad(Cube.apply(x), x, create_graph=True)
        (gg,) = t.autograd.grad(g, x)
        return g.tolist(), gg.tolist()

    a, b = run_both(prog)
    assert b == a


def test_engine_function_still_importable() -> None:
    from gradviz.engine.function import Function

    assert Function is not gv.autograd.Function


def _fns(t):
    return [
        (lambda a: a.exp() * a.sum(), "single"),
        (lambda a, b: (a.sum() * b, a * 2), "pair"),
        (lambda a: t.ones(2, dtype=t.float64), "const"),
    ]


def test_jacobian_and_hessian() -> None:
    def prog(t):
        x = t.tensor([1.0, 2.0, 3.0], dtype=t.float64)
        y = t.tensor([0.5, -1.0], dtype=t.float64)
        F = t.autograd.functional
        out = [
            F.jacobian(lambda a: a.exp() * a.sum(), x),
            F.jacobian(lambda a, b: (a.sum() * b, a * 2), (x, y)),
            F.jacobian(lambda a: t.ones(2, dtype=t.float64), x),
            F.jacobian(lambda a: (a * a).sum(), t.tensor(2.0)),
            F.hessian(lambda a: (a**3).sum() * a[0], x),
            F.hessian(lambda a, b: (a**2).sum() * b.sum(), (x, y)),
            F.jacobian(lambda a: a * 2, x, create_graph=True),
        ]
        return norm(repr(out))

    a, b = run_both(prog)
    assert b == a


def test_jacobian_create_graph_keeps_history() -> None:
    def prog(t):
        x = t.tensor([1.0, 2.0], dtype=t.float64, requires_grad=True)
        J = t.autograd.functional.jacobian(lambda a: a**3, x, create_graph=True)
        J.sum().backward()
        return norm(repr(J.detach())), J.requires_grad, x.grad.tolist()

    a, b = run_both(prog)
    assert b == a


def test_gradcheck() -> None:
    for t in (torch, gv):
        x = t.tensor([0.3, -1.2, 2.0], dtype=t.float64, requires_grad=True)
        w = t.tensor([[1.0, 2.0], [0.5, -1.0], [0.1, 0.2]], dtype=t.float64, requires_grad=True)
        assert t.autograd.gradcheck(lambda a, b: (a.sin() @ b).tanh(), (x, w))
        assert t.autograd.gradgradcheck(lambda a: (a**3).sum(), (x,))

        class Wrong(t.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                ctx.save_for_backward(a)
                return a * a

            @staticmethod
            def backward(ctx, g):
                (a,) = ctx.saved_tensors
                return g * a

        assert t.autograd.gradcheck(Wrong.apply, (x,), raise_exception=False) is False
        with pytest.raises(RuntimeError, match="Jacobian mismatch for output 0 with respect to input 0"):
            t.autograd.gradcheck(Wrong.apply, (x,))
        with pytest.warns(UserWarning, match="is not a double precision floating point"):
            t.autograd.gradcheck(
                lambda a: a * 2, (t.ones(2, requires_grad=True),), eps=1e-2, atol=1e-2, rtol=1e-2
            )


def test_inference_mode() -> None:
    def prog(t):
        x = t.ones(2, requires_grad=True)
        with t.inference_mode():
            a = x * 2
            inside = (t.is_grad_enabled(), t.is_inference_mode_enabled())

        @t.inference_mode()
        def f(v):
            return v * 3

        @t.inference_mode
        def h(v):
            return v * 3

        @t.no_grad
        def k(v):
            return v * 3

        with t.inference_mode(False):
            c = x * 2
        return (
            a.requires_grad, inside, f(x).requires_grad, h(x).requires_grad, k(x).requires_grad,
            c.requires_grad, t.is_grad_enabled(), t.is_inference_mode_enabled(),
        )  # fmt: skip

    a, b = run_both(prog)
    assert b == a


def test_vjp_jvp_vhp_hvp() -> None:
    def prog(t):
        F = t.autograd.functional
        x = t.tensor([1.0, 2.0, 3.0], dtype=t.float64)
        y = t.tensor([0.5, -1.0], dtype=t.float64)
        v3 = t.tensor([1.0, -1.0, 0.5], dtype=t.float64)

        def f(a):
            return a.exp() * a.sum()

        def g(a, b):
            return a.sum() * b, a * 2

        def s(a):
            return (a**3).sum() * a[0]

        def s2(a, b):
            return (a**2).sum() * b.sum()

        out = [
            F.vjp(f, x, v3),
            F.vjp(g, (x, y), (y, v3)),
            F.vjp(s, x),
            F.jvp(f, x, v3),
            F.jvp(g, (x, y), (v3, y)),
            F.vhp(s, x, v3),
            F.hvp(s, x, v3),
            F.vhp(s2, (x, y), (v3, y)),
            F.hvp(s2, (x, y), (v3, y)),
        ]
        return norm(repr(out))

    a, b = run_both(prog)
    assert b == a


def test_post_accumulate_grad_hook() -> None:
    def prog(t):
        seen = []
        x = t.tensor([1.0, 2.0], requires_grad=True)
        h = x.register_post_accumulate_grad_hook(lambda v: seen.append((v.grad.tolist(), v is x)))
        (x * 3).sum().backward()
        (x * 3).sum().backward()
        t.autograd.grad((x * 3).sum(), x)  # grad() accumulates nothing: no call
        h.remove()
        (x * 3).sum().backward()
        errors = []
        for bad in (
            lambda: (x * 2).register_post_accumulate_grad_hook(print),
            lambda: t.ones(1).register_post_accumulate_grad_hook(print),
        ):
            with pytest.raises(RuntimeError) as e:
                bad()
            errors.append(str(e.value))
        return seen, errors

    a, b = run_both(prog)
    assert b == a
