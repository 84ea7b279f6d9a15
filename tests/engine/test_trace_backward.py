"""``gradviz.autograd.trace_backward`` against the engine's own backward and against PyTorch.

Every program names each tensor it makes, in gradviz and in torch alike, so a step's node and
inputs can be found in torch too. Then: the trace's final totals equal the gradients
``backward()`` leaves (gradviz's and torch's), each contribution equals what
torch's own node sends when called on the gradient from above (the chain rule through that node
alone), and the gradient from above equals ``torch.autograd.grad(output, node_output)``, and tracing changes nothing.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gradviz
from gradviz.autograd import trace_backward
from gradviz.engine.trace import ACCUMULATE, NODE, START
from gradviz.graph.stepping import describe_step


def seed(lib):
    x = lib.tensor(3.0)
    w = lib.tensor(4.0, requires_grad=True)
    b = lib.tensor(5.0, requires_grad=True)
    wx = w * x
    y = wx + b
    return locals(), "y", None


def shared(lib):
    a = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
    sq = a * a  # a used twice by one op
    ex = a.exp()  # ... and again by another
    s = sq + ex
    loss = s.sum()
    return locals(), "loss", None


def broadcasting(lib):
    col = lib.tensor([[1.0], [2.0], [3.0]], requires_grad=True)
    row = lib.tensor([[10.0, 20.0, 30.0, 40.0]], requires_grad=True)
    bias = lib.tensor([0.1, 0.2, 0.3, 0.4], requires_grad=True)
    grid = col + row
    out = grid + bias
    sq = out * out
    loss = sq.mean()
    return locals(), "loss", None


def matmul(lib):
    gen = np.random.default_rng(3)
    X = lib.tensor(gen.standard_normal((5, 4)).tolist(), requires_grad=True)
    W = lib.tensor(gen.standard_normal((4, 8)).tolist(), requires_grad=True)
    h = X @ W
    a = h.tanh()
    loss = a.sum()
    return locals(), "loss", None


def reductions(lib):
    m = lib.tensor([[1.0, 5.0, 2.0], [4.0, 0.5, 3.0]], requires_grad=True)
    mx = m.max(dim=1).values
    mean = m.mean(dim=0)
    s = mx.sum()
    t = mean.sum()
    loss = s * t
    return locals(), "loss", None


def non_scalar(lib):
    v = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    u = v.sigmoid()
    out = u * v
    return locals(), "out", lib.tensor([1.0, -1.0, 0.5])


PROGRAMS = [seed, shared, broadcasting, matmul, reductions, non_scalar]


def run(program, lib):
    names, out, grad = program(lib)
    named = {k: v for k, v in names.items() if isinstance(v, (gradviz.Tensor, torch.Tensor))}
    return named, named[out], grad


def name_of(named: dict, t) -> str | None:
    return next((k for k, v in named.items() if v is t), None)


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__)
def test_final_totals_are_the_gradients_backward_leaves_in_gradviz_and_torch(program):
    named, out, grad = run(program, gradviz)
    trace = trace_backward(out, grad)
    totals = {name_of(named, leaf): g for leaf, g in trace.grads().values()}
    out.backward(grad)
    tnamed, tout, tgrad = run(program, torch)
    tout.backward(tgrad)
    leaves = {k for k, v in named.items() if v.is_leaf and v.requires_grad}
    assert set(totals) == leaves
    for k in leaves:
        np.testing.assert_allclose(totals[k], named[k].grad.numpy(), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(totals[k], tnamed[k].grad.numpy(), rtol=1e-5, atol=1e-6)
        assert totals[k].dtype == named[k].grad.numpy().dtype


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__)
def test_each_contribution_is_the_chain_rule_through_that_node_alone(program):
    named, out, grad = run(program, gradviz)
    tnamed, tout, tgrad = run(program, torch)
    trace = trace_backward(out, grad)
    checked = 0
    for step in trace:
        if step.kind != NODE:
            continue
        o = name_of(named, next((v for v in named.values() if v.grad_fn is step.node), None))
        if o is None:
            continue  # a node inside a composite (max's values), no tensor of its own
        from_above = torch.autograd.grad(tout, tnamed[o], tgrad, retain_graph=True)[0]
        np.testing.assert_allclose(step.incoming, from_above.numpy(), rtol=1e-5, atol=1e-6)
        # torch's node called on the gradient from above: the chain rule through it alone
        # (summed to each input's shape, as torch's engine does after the call).
        expected = tnamed[o].grad_fn(from_above)
        expected = expected if isinstance(expected, tuple) else (expected,)
        for c in step.contributions:
            i = name_of(named, c.tensor)
            e = expected[c.index].sum_to_size(tnamed[i].shape)
            np.testing.assert_allclose(
                c.value, e.detach().numpy(), rtol=1e-5, atol=1e-6, err_msg=f"{o} -> {i}"
            )
            checked += 1
    assert checked >= 2


def test_a_shared_tensor_sums_its_contributions_with_a_running_total():
    named, out, _ = run(shared, gradviz)
    trace = trace_backward(out)
    into_a = [c for s in trace for c in s.contributions if c.tensor is named["a"]]
    assert len(into_a) == 3  # twice from a * a, once from exp
    assert [c.first for c in into_a] == [True, False, False]
    running = np.zeros(3, dtype=np.float32)
    for c in into_a:
        running = running + c.value
        np.testing.assert_allclose(c.total, running, rtol=1e-6)
    (acc,) = [s for s in trace if s.kind == ACCUMULATE]
    np.testing.assert_allclose(acc.incoming, running, rtol=1e-6)


def test_the_seed_reads_as_the_chain_rule_by_hand():
    named, y, _ = run(seed, gradviz)
    trace = trace_backward(y)
    start, add, mul, *acc = trace.steps
    assert (start.kind, start.name, float(start.incoming)) == (START, "AddBackward0", 1.0)
    assert (add.name, [float(c.value) for c in add.contributions]) == ("AddBackward0", [1.0, 1.0])
    assert [c.tensor for c in add.contributions] == [named["wx"], named["b"]]
    assert mul.name == "MulBackward0"
    (to_w,) = mul.contributions  # x needs no gradient: nothing goes to it
    assert to_w.tensor is named["w"] and float(to_w.value) == 3.0 and float(to_w.local) == 3.0
    assert {s.variable.item() for s in acc} == {4.0, 5.0}
    assert all(s.grad_before is None for s in acc)


def test_a_second_backward_shows_what_grad_held_before():
    named, y, _ = run(seed, gradviz)
    y.backward(retain_graph=True)
    trace = trace_backward(y)
    w_step = next(s for s in trace if s.kind == ACCUMULATE and s.variable is named["w"])
    assert float(w_step.grad_before) == 3.0 and float(w_step.grad_after) == 6.0
    y.backward()
    assert named["w"].grad.item() == 6.0  # what the trace said


def test_local_derivatives_times_the_gradient_from_above_give_each_contribution():
    for program in PROGRAMS:
        _named, out, grad = run(program, gradviz)
        for step in trace_backward(out, grad):
            for c in step.contributions:
                if c.local is not None:
                    np.testing.assert_allclose(c.local * step.incoming, c.value, rtol=1e-5, atol=1e-6)


def test_tracing_changes_nothing():
    named, out, _ = run(broadcasting, gradviz)
    trace_backward(out)
    trace_backward(out)
    assert all(v.grad is None for v in named.values() if v.is_leaf)
    out.backward()  # the graph is still whole
    tnamed, tout, _ = run(broadcasting, torch)
    tout.backward()
    np.testing.assert_allclose(named["col"].grad.numpy(), tnamed["col"].grad.numpy(), rtol=1e-5)


def test_errors_are_the_ones_backward_raises():
    _, out, _ = run(non_scalar, gradviz)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        trace_backward(out)
    with pytest.raises(RuntimeError, match="does not require grad"):
        trace_backward(gradviz.tensor(1.0))
    _named, y, _ = run(seed, gradviz)
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        trace_backward(y)
    _tnamed, ty, _ = run(seed, torch)
    ty.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        ty.backward()


def test_retained_grads_are_named_on_their_step():
    named, y, _ = run(seed, gradviz)
    named["wx"].retain_grad()
    trace = trace_backward(y)
    (step,) = [s for s in trace if named["wx"] in s.retains]
    assert step.name == "MulBackward0" and float(step.incoming) == 1.0


def _elementwise_ops():
    from gradviz.engine import registry

    out = []
    for info in registry.ops():
        f = info.formula
        pointwise = info.category != "reduction" and info.name not in ("where", "clone")
        if f.parts and not f.adjoint and pointwise and info.max_operands in (1, 2):
            out.append(info)
    return out


@pytest.mark.parametrize("info", _elementwise_ops(), ids=lambda i: i.name)
def test_an_elementwise_formula_s_numbers_are_torch_s_derivative(info):
    """For each op whose formula gives ∂result/∂operand elementwise, the trace's local
    derivative equals torch's (the diagonal of the Jacobian, which is all there is)."""
    values = [[0.3, 0.55, 0.8], [0.6, 0.45, 0.2]][: info.max_operands]

    def call(lib, tensors):
        if "F" in info.syntax and "function" not in info.syntax:
            fn = getattr(lib.nn.functional, info.name)
        else:
            fn = getattr(lib, info.name)
        return fn(*tensors, **({"min": 0.4, "max": 0.7} if info.name == "clamp" else {}))

    ours = [gradviz.tensor(v, requires_grad=True) for v in values]
    theirs = [torch.tensor(v, requires_grad=True) for v in values]
    gradviz.manual_seed(0)  # dropout draws its mask: the same one in both
    out = call(gradviz, ours)
    torch.manual_seed(0)
    tout = call(torch, theirs)
    step = next(s for s in trace_backward(out.sum()) if s.kind == NODE and s.node is out.grad_fn)
    for c in step.contributions:
        assert c.local is not None, c.operand
        (expected,) = torch.autograd.grad(tout.sum(), theirs[c.index], retain_graph=True)
        np.testing.assert_allclose(c.local, expected.numpy(), rtol=1e-5, atol=1e-7, err_msg=c.operand)


def hooked(lib):
    w = lib.tensor([1.0, -2.0], requires_grad=True)
    h = w * 3
    h.register_hook(lambda g: g * 2)  # what reaches h is doubled before it travels on
    w.register_hook(lambda g: g + 1)  # and w's own gradient gains 1
    y = (h * h).sum()
    return locals(), "y", None


def test_tensor_hooks_change_what_travels_on_as_in_backward():
    named, out, grad = run(hooked, gradviz)
    trace = trace_backward(out, grad)
    totals = {name_of(named, leaf): g for leaf, g in trace.grads().values()}
    assert named["w"].grad is None  # the trace changed nothing
    out.backward()
    tnamed, tout, _ = run(hooked, torch)
    tout.backward()
    np.testing.assert_allclose(totals["w"], tnamed["w"].grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(totals["w"], named["w"].grad.numpy(), rtol=1e-6)
    changed = [s for s in trace.steps if s.before_hooks is not None]
    assert len(changed) == 2  # h's node and w's AccumulateGrad
    for s in changed:
        assert not np.array_equal(s.before_hooks, s.incoming)
    words = describe_step(trace, changed[0].index, {id(v): k for k, v in named.items()})
    assert any(line.startswith("a hook (register_hook) changed it from") for line in words)
