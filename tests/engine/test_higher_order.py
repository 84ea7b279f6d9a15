"""Higher-order gradients and the life cycle of the graph, compared with PyTorch.

``backward(create_graph=True)`` and ``autograd.grad(..., create_graph=True)`` record the graph of
the gradient computation, so gradients of gradients (second and third derivatives, mixed
partials, Hessian-vector products, gradient penalties) must come out as PyTorch's do. The rest of
the file covers ``retain_graph``, ``allow_unused``, non-leaf inputs, and the graph staying walkable
after its buffers are freed.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch

import gradviz

LIBS = (gradviz, torch)


@pytest.fixture(autouse=True)
def _quiet_create_graph_warning():
    # PyTorch warns that backward(create_graph=True) makes a reference cycle through .grad.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using backward\\(\\) with create_graph=True")
        yield


def arr(t) -> np.ndarray:
    """A tensor of either library as a numpy array (None stays None)."""
    if t is None:
        return None
    return np.asarray(t.detach().numpy())


def assert_same(ours, theirs, rtol=1e-10, atol=1e-12):
    if theirs is None:
        assert ours is None
        return
    assert ours is not None
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_allclose(arr(ours), arr(theirs), rtol=rtol, atol=atol)


def both(program):
    """Run ``program(lib)`` with gradviz and with torch."""
    return program(gradviz), program(torch)


def assert_both(program, **tol):
    ours, theirs = both(program)
    if not isinstance(ours, (tuple, list)):
        ours, theirs = (ours,), (theirs,)
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        assert_same(o, t, **tol)


X = [-1.3, -0.4, 0.2, 0.7, 1.9]


# --- derivatives of one variable, to the third order ------------------------------------------------
UNARY = {
    "cube": lambda lib, x: x**3,
    "sin": lambda lib, x: lib.sin(x),
    "cos": lambda lib, x: x.cos(),
    "exp": lambda lib, x: lib.exp(x),
    "tanh": lambda lib, x: lib.tanh(x),
    "sigmoid": lambda lib, x: lib.sigmoid(x),
    "log": lambda lib, x: lib.log(x * x + 1),
    "sqrt": lambda lib, x: lib.sqrt(x * x + 0.5),
    "reciprocal": lambda lib, x: 1 / (x * x + 1),
    "quotient": lambda lib, x: lib.sin(x) / (x * x + 2),
    "rpow": lambda lib, x: 2.0**x,
    "pow_tensor": lambda lib, x: (x * x + 1) ** (x * 0.5),
    "softmax": lambda lib, x: lib.softmax(x, 0) * lib.arange(5, dtype=lib.float64),
    "log_softmax": lambda lib, x: lib.log_softmax(x, 0) * lib.arange(5, dtype=lib.float64),
    "relu_times_square": lambda lib, x: lib.relu(x) * x * x,
    "abs_cube": lambda lib, x: x.abs() ** 3,
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_first_second_third_derivative(name):
    f = UNARY[name]

    def program(lib):
        x = lib.tensor(X, dtype=lib.float64, requires_grad=True)
        y = f(lib, x)
        (d1,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        (d2,) = lib.autograd.grad(d1.sum(), x, create_graph=True)
        (d3,) = lib.autograd.grad(d2.sum(), x, allow_unused=True)
        return y, d1, d2, d3

    ours, theirs = both(program)
    for o, t in zip(ours, theirs):
        if t is None:  # the third derivative of x**3 is constant; torch may still give zeros
            assert o is None or not np.any(arr(o))
            continue
        if o is None:
            assert not np.any(arr(t))
            continue
        assert_same(o, t)
    assert ours[1].requires_grad and ours[1].grad_fn is not None
    assert ours[2].requires_grad


def test_known_derivatives_of_cube():
    x = gradviz.tensor(2.0, dtype=gradviz.float64, requires_grad=True)
    y = x**3
    (d1,) = gradviz.autograd.grad(y, x, create_graph=True)
    (d2,) = gradviz.autograd.grad(d1, x, create_graph=True)
    (d3,) = gradviz.autograd.grad(d2, x)
    assert (d1.item(), d2.item(), d3.item()) == (12.0, 12.0, 6.0)
    assert not d3.requires_grad


def test_backward_create_graph_then_backward_of_grad():
    def program(lib):
        x = lib.tensor(X, dtype=lib.float64, requires_grad=True)
        y = (x**3 + lib.sin(x) * x).sum()
        y.backward(create_graph=True)
        g = x.grad
        assert g.requires_grad
        x.grad = None
        (g * g).sum().backward()
        return g, x.grad

    assert_both(program)


def test_backward_create_graph_accumulates_into_grad():
    def program(lib):
        x = lib.tensor(X, dtype=lib.float64, requires_grad=True)
        (x**2).sum().backward(create_graph=True)
        (x**3).sum().backward(create_graph=True)  # .grad = 2x + 3x²
        g = x.grad
        x.grad = None
        g.sum().backward()  # d/dx (2x + 3x²) = 2 + 6x
        return g, x.grad

    assert_both(program)


# --- several variables ------------------------------------------------------------------------------
def test_mixed_partials_of_a_product():
    def program(lib):
        x = lib.tensor(1.5, dtype=lib.float64, requires_grad=True)
        y = lib.tensor(-0.7, dtype=lib.float64, requires_grad=True)
        f = x**2 * y**3 + lib.sin(x * y) + x / (y * y + 1)
        fx, fy = lib.autograd.grad(f, (x, y), create_graph=True)
        fxx, fxy = lib.autograd.grad(fx, (x, y), retain_graph=True)
        fyx, fyy = lib.autograd.grad(fy, (x, y))
        return f, fx, fy, fxx, fxy, fyx, fyy

    ours, theirs = both(program)
    for o, t in zip(ours, theirs):
        assert_same(o, t)
    # Schwarz: the mixed partials agree.
    assert ours[4].item() == pytest.approx(ours[5].item(), rel=1e-12)


def test_mixed_partials_with_broadcasting():
    def program(lib):
        a = lib.tensor([[0.3], [-1.2], [0.8]], dtype=lib.float64, requires_grad=True)
        b = lib.tensor([0.5, -0.25, 2.0, 1.0], dtype=lib.float64, requires_grad=True)
        f = (lib.tanh(a * b) * (a - b) ** 2).sum()
        ga, gb = lib.autograd.grad(f, (a, b), create_graph=True)
        h = (ga**2).sum() + (gb * lib.exp(b)).sum()
        return (ga, gb, *lib.autograd.grad(h, (a, b)))

    assert_both(program)


def _mlp(lib, params, x):
    w1, b1, w2, b2 = params
    hidden = lib.tanh(x @ w1.T + b1)
    return hidden @ w2.T + b2


def _mlp_params(lib, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(5, 3), (5,), (2, 5), (2,)]
    return [lib.tensor(rng.normal(size=s), dtype=lib.float64, requires_grad=True) for s in shapes]


def test_mlp_hessian_vector_product():
    rng = np.random.default_rng(1)
    xs, labels = rng.normal(size=(4, 3)), [0, 1, 1, 0]
    vs = [rng.normal(size=s) for s in [(5, 3), (5,), (2, 5), (2,)]]

    def program(lib):
        params = _mlp_params(lib)
        x = lib.tensor(xs, dtype=lib.float64)
        logp = lib.log_softmax(_mlp(lib, params, x), 1)
        loss = -logp[lib.arange(4), lib.tensor(labels)].mean()
        grads = lib.autograd.grad(loss, params, create_graph=True)
        dot = sum((g * lib.tensor(v, dtype=lib.float64)).sum() for g, v in zip(grads, vs))
        hvp = lib.autograd.grad(dot, params)
        return (loss, *grads, *hvp)

    assert_both(program)


def test_mlp_hessian_vector_product_with_nn_functional():
    rng = np.random.default_rng(2)
    xs, ys = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))

    def program(lib):
        F = lib.nn.functional
        w1, b1, w2, b2 = _mlp_params(lib, seed=3)
        x, y = lib.tensor(xs, dtype=lib.float64), lib.tensor(ys, dtype=lib.float64)
        out = F.linear(F.sigmoid(F.linear(x, w1, b1)), w2, b2)
        loss = F.mse_loss(out, y)
        grads = lib.autograd.grad(loss, (w1, b1, w2, b2), create_graph=True)
        norm2 = sum((g * g).sum() for g in grads)
        return (loss, *grads, *lib.autograd.grad(norm2, (w1, b1, w2, b2)))

    assert_both(program)


def test_grad_of_vector_output_with_grad_outputs():
    def program(lib):
        x = lib.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], dtype=lib.float64, requires_grad=True)
        y = lib.exp(x) * x.sum(0)
        v = lib.tensor([[1.0, -2.0, 0.5], [0.0, 3.0, 1.0]], dtype=lib.float64)
        (vjp,) = lib.autograd.grad(y, x, grad_outputs=v, create_graph=True)
        (second,) = lib.autograd.grad(vjp, x, grad_outputs=lib.ones_like(vjp))
        return y, vjp, second

    assert_both(program)


def test_grad_outputs_as_a_sequence_for_several_outputs():
    def program(lib):
        x = lib.tensor([0.3, -0.6, 1.1], dtype=lib.float64, requires_grad=True)
        y1, y2 = x * x, lib.sin(x).sum()
        v1, v2 = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64), lib.tensor(0.5, dtype=lib.float64)
        return lib.autograd.grad([y1, y2], [x], grad_outputs=[v1, v2])

    assert_both(program)


def test_gradient_penalty():
    # WGAN-GP: penalise the norm of d(critic)/d(input); the penalty's gradient flows to the weights.
    rng = np.random.default_rng(4)
    xs = rng.normal(size=(4, 3))

    def program(lib):
        params = _mlp_params(lib, seed=5)
        x = lib.tensor(xs, dtype=lib.float64, requires_grad=True)
        critic = _mlp(lib, params, x)[:, 0]
        (gx,) = lib.autograd.grad(critic, x, grad_outputs=lib.ones_like(critic), create_graph=True)
        norms = lib.sqrt((gx**2).sum(1))
        penalty = ((norms - 1) ** 2).mean()
        penalty.backward()
        return (penalty, gx, x.grad, *(p.grad for p in params))

    assert_both(program)


def test_double_backward_through_shape_ops_and_reductions():
    def program(lib):
        x = lib.tensor(np.linspace(-1, 1, 12).reshape(3, 4), dtype=lib.float64, requires_grad=True)
        w = lib.tensor(np.linspace(0.5, 2, 8).reshape(4, 2), dtype=lib.float64, requires_grad=True)
        y = lib.cat([x[:, :2], x.T[1:3].T * 2], 1).reshape(2, 6).transpose(0, 1).unsqueeze(0)
        z = (y**2).mean(dim=1, keepdim=True).sum() + (lib.where(x > 0, x, x * x) @ w).max()
        z = z + lib.stack([x.sum(0), x.mean(0)]).softmax(1)[1, 2]
        gx, gw = lib.autograd.grad(z, (x, w), create_graph=True)
        return gx, gw, *lib.autograd.grad((gx**3).sum() + (gw * gx.sum()).sum(), (x, w))

    assert_both(program)


def test_second_derivative_in_float32():
    def program(lib):
        x = lib.tensor(X, requires_grad=True)
        (d1,) = lib.autograd.grad(lib.tanh(x).sum() * 2, x, create_graph=True)
        (d2,) = lib.autograd.grad((d1 * x).sum(), x)
        return d1, d2

    assert_both(program, rtol=1e-5, atol=1e-6)


def test_create_graph_false_gives_constants():
    for lib in LIBS:
        x = lib.tensor(X, dtype=lib.float64, requires_grad=True)
        (g,) = lib.autograd.grad((x**3).sum(), x)
        assert not g.requires_grad and g.grad_fn is None and g.is_leaf


# --- retain_graph ---------------------------------------------------------------------------------------
def _freed_message():
    x = torch.tensor(2.0, requires_grad=True)
    y = x * x
    y.backward()
    with pytest.raises(RuntimeError) as info:
        y.backward()
    return str(info.value)


def test_second_backward_without_retain_graph_raises_pytorchs_error():
    message = _freed_message()
    assert "Trying to backward through the graph a second time" in message
    x = gradviz.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=re.escape(message)):
        y.backward()
    # The failed call changed nothing.
    assert x.grad.tolist() == [2.0, 4.0]


def test_autograd_grad_frees_the_graph_too():
    message = _freed_message()
    for lib in LIBS:
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = (lib.exp(x) * x).sum()
        lib.autograd.grad(y, x)
        with pytest.raises(RuntimeError, match=re.escape(message)):
            lib.autograd.grad(y, x)


def test_retain_graph_lets_backward_run_again_and_accumulate():
    def program(lib):
        x = lib.tensor([1.0, -2.0, 0.5], dtype=lib.float64, requires_grad=True)
        y = (lib.sigmoid(x) * x * x).sum()
        y.backward(retain_graph=True)
        first = x.grad.clone()
        y.backward(retain_graph=True)
        y.backward()
        return first, x.grad

    ours, theirs = both(program)
    assert_same(ours[0], theirs[0])
    assert_same(ours[1], theirs[1])
    np.testing.assert_allclose(arr(ours[1]), 3 * arr(ours[0]))


def test_grad_retain_graph_then_backward():
    def program(lib):
        x = lib.tensor([1.0, -2.0], dtype=lib.float64, requires_grad=True)
        y = (x**3).sum()
        (g,) = lib.autograd.grad(y, x, retain_graph=True)
        y.backward()
        return g, x.grad

    assert_both(program)


def test_create_graph_retains_the_graph_by_default():
    def program(lib):
        x = lib.tensor([1.0, -2.0], dtype=lib.float64, requires_grad=True)
        y = (lib.exp(x) * x).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        (again,) = lib.autograd.grad(y, x)  # no error: create_graph implies retain_graph
        return g, again

    assert_both(program)


def test_second_order_graph_can_be_freed_and_raises():
    for lib in LIBS:
        x = lib.tensor([1.0, -2.0], dtype=lib.float64, requires_grad=True)
        (g,) = lib.autograd.grad((x**4).sum(), x, create_graph=True)
        s = (g * g).sum()
        s.backward()
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            s.backward()


# --- the graph after backward -----------------------------------------------------------------------
def _structure(fn):
    """(name, [structure of each next function]), down to the AccumulateGrad nodes."""
    if fn is None:
        return None
    return (fn.name().rsplit("::", 1)[-1], [_structure(n) for n, _ in fn.next_functions])


def test_graph_stays_walkable_after_backward():
    def program(lib):
        w = lib.tensor([[0.5, -1.0], [2.0, 0.3]], requires_grad=True)
        b = lib.tensor([0.1, 0.2], requires_grad=True)
        x = lib.tensor([[1.0, 2.0]])
        y = lib.relu(x @ w + b).sum()
        before = _structure(y.grad_fn)
        y.backward()
        after = _structure(y.grad_fn)
        assert before == after
        leaf = y.grad_fn.next_functions[0][0].next_functions[0][0].next_functions[1][0]
        return after, leaf

    (ours, our_leaf), (theirs, _) = both(program)
    assert ours == theirs
    assert our_leaf.name().endswith("AccumulateGrad")
    assert our_leaf.variable.shape == (2,)


def test_freed_nodes_keep_names_and_edges():
    x = gradviz.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    mul = y.grad_fn.next_functions[0][0]
    assert mul.saved_tensor_shapes() == [(2,), (2,)]
    y.backward()
    assert mul.saved_buffers_freed
    assert mul.name() == "MulBackward0"
    names = [n.name().rsplit("::", 1)[-1] for n, _ in mul.next_functions]
    assert names == ["ExpBackward0", "AccumulateGrad"]
    assert mul.next_functions[1][0].variable is x
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        _ = mul.saved_tensors


def test_retain_graph_keeps_buffers():
    x = gradviz.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    mul = y.grad_fn.next_functions[0][0]
    assert not mul.saved_buffers_freed
    assert len(mul.saved_tensors) == 2


# --- inputs that are not leaves, unused inputs, and .grad left alone -------------------------------
def test_grad_with_respect_to_non_leaf_inputs():
    def program(lib):
        x = lib.tensor([0.5, -1.5, 2.0], dtype=lib.float64, requires_grad=True)
        h = lib.tanh(x) * 3
        k = h.exp()
        out = (k * h).sum()
        gh, gk, gx = lib.autograd.grad(out, (h, k, x), create_graph=True)
        (ggx,) = lib.autograd.grad(gh.sum(), x)
        return gh, gk, gx, ggx, x.grad, h.grad if h.retains_grad else None

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert_both(program)


def test_grad_of_an_input_with_respect_to_itself():
    for lib in LIBS:
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        (g,) = lib.autograd.grad(x, x, lib.tensor([3.0, 4.0]))
        assert g.tolist() == [3.0, 4.0]


def _torch_message(fn):
    """PyTorch's error message for ``fn(torch)``, with its names in gradviz's spelling."""
    with pytest.raises(RuntimeError) as info:
        fn(torch)
    return str(info.value).replace("torch.Size", "gradviz.Size")


def test_allow_unused():
    def unused(lib, allow):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = lib.tensor(3.0, requires_grad=True)
        return lib.autograd.grad((x * 2).sum(), [x, y], allow_unused=allow)

    message = _torch_message(lambda lib: unused(lib, False))
    with pytest.raises(RuntimeError, match=re.escape(message)):
        unused(gradviz, False)
    gx, gy = unused(gradviz, True)
    assert gx.tolist() == [2.0, 2.0] and gy is None
    assert unused(torch, True)[1] is None


def test_materialize_grads():
    def program(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = lib.tensor([[3.0]], dtype=lib.float64, requires_grad=True)
        return lib.autograd.grad((x * 2).sum(), [x, y], materialize_grads=True)

    assert_both(program)

    def refused(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        return lib.autograd.grad((x * 2).sum(), [x], allow_unused=False, materialize_grads=True)

    with pytest.raises(ValueError) as info:
        refused(torch)
    with pytest.raises(ValueError, match=re.escape(str(info.value))):
        refused(gradviz)


def test_allow_unused_for_a_non_leaf_on_another_branch():
    def program(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        a, b = x * 3, x * 4
        return lib.autograd.grad((a * a).sum(), [a, b, x], allow_unused=True)

    assert_both(program)


def test_differentiating_with_respect_to_a_constant_raises():
    def program(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        c = lib.tensor(1.0)
        return lib.autograd.grad((x * c).sum(), [x, c])

    message = _torch_message(program)
    with pytest.raises(RuntimeError, match=re.escape(message)):
        program(gradviz)


def test_grad_of_an_output_without_graph_raises():
    def program(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        return lib.autograd.grad(lib.tensor(1.0) * 2, [x])

    message = _torch_message(program)
    with pytest.raises(RuntimeError, match=re.escape(message)):
        program(gradviz)


def test_grad_of_a_non_scalar_needs_grad_outputs():
    def implicit(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        return lib.autograd.grad(x * 2, x)

    def wrong_shape(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        return lib.autograd.grad(x * 2, x, lib.ones(3))

    for program in (implicit, wrong_shape):
        message = _torch_message(program)
        with pytest.raises(RuntimeError, match=re.escape(message)):
            program(gradviz)


def test_autograd_grad_leaves_grad_fields_alone():
    def program(lib):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        w = lib.tensor([0.5, -0.5], dtype=lib.float64, requires_grad=True)
        (x * w).sum().backward()
        before = x.grad.clone(), w.grad.clone()
        h = x * w
        h.retain_grad()
        out = (h**2).sum()
        gs = lib.autograd.grad(out, (x,), create_graph=True)
        # The retain_grad() hook does run, as in PyTorch: h.grad is filled (a clone, with a graph).
        retained = h.grad
        assert retained.grad_fn.name() == "CloneBackward0"
        lib.autograd.grad(gs[0].sum(), (w,))
        # Accumulating without create_graph gives a new tensor with no history.
        assert h.grad is not retained and h.grad.grad_fn is None
        return (*before, x.grad, w.grad, *gs, retained, h.grad)

    ours, theirs = both(program)
    for o, t in zip(ours, theirs):
        assert_same(o, t)
    assert_same(ours[2], ours[0])
    assert_same(ours[3], ours[1])


def test_create_graph_grads_are_separate_copies():
    def program(lib):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        y = lib.tensor([3.0, 4.0], dtype=lib.float64, requires_grad=True)
        (x + y).sum().backward(create_graph=True)
        assert x.grad is not y.grad
        first = x.grad
        (x * 2).sum().backward()  # accumulates in place into x.grad only
        assert x.grad is first
        return x.grad, y.grad

    assert_both(program)


def test_grad_returns_a_tuple():
    for lib in LIBS:
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        res = lib.autograd.grad((x * x).sum(), x)
        assert isinstance(res, tuple) and len(res) == 1


def test_backward_with_inputs_accumulates_only_there():
    def program(lib):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        w = lib.tensor([0.5, -0.5], dtype=lib.float64, requires_grad=True)
        (x * w * x).sum().backward(inputs=[w])
        return x.grad, w.grad

    assert_both(program)


def test_grad_mode_is_restored_after_create_graph():
    def program(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        (g,) = lib.autograd.grad((x**2).sum(), x, create_graph=True)
        assert lib.is_grad_enabled()
        y = (x**2).sum()
        with lib.no_grad():
            (h,) = lib.autograd.grad(y, x, create_graph=True)
            assert not lib.is_grad_enabled()
        (k,) = lib.autograd.grad((x**2).sum(), x)
        return g.requires_grad, h.requires_grad, k.requires_grad

    ours, theirs = both(program)
    assert ours == theirs
