"""``gradviz.watch(model)`` records a real PyTorch training loop (session/torch_training.py):
each ``backward()`` is a step, with the loss, every parameter's gradient norm, value range and
update size, and pictures of the parameters for the scrubber. Checked against what the loop
itself sees of torch at every step."""

from __future__ import annotations

import copy
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import gradviz  # noqa: E402
from gradviz.session.torch_training import TorchRun, last_run  # noqa: E402


def mlp() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))


def data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(16, 4, generator=g), torch.randint(0, 3, (16,), generator=g)


def seen_by_the_loop(net, opt, steps: int, *, set_to_none: bool = True, accumulate: int = 1) -> dict:
    """Runs the loop, noting at each backward() what torch says: the loss, each parameter's
    ``p.grad.norm()``, min, max, value and grad, and after each optimiser step the change."""
    x, y = data()
    seen: dict = {"loss": [], "norm": {}, "min": {}, "max": {}, "value": {}, "grad": {}, "change": {}}
    for name, _ in net.named_parameters():
        for k in ("norm", "min", "max", "value", "grad", "change"):
            seen[k][name] = []
    for _ in range(steps):
        opt.zero_grad(set_to_none=set_to_none)
        for part in range(accumulate):
            before = {n: p.detach().clone() for n, p in net.named_parameters()}
            half = slice(part * 16 // accumulate, (part + 1) * 16 // accumulate)
            loss = F.cross_entropy(net(x[half]), y[half])
            loss.backward()
            seen["loss"].append(loss.item())
            for n, p in net.named_parameters():
                seen["norm"][n].append(p.grad.norm().item() if p.grad is not None else float("nan"))
                seen["min"][n].append(p.min().item())
                seen["max"][n].append(p.max().item())
                seen["value"][n].append(p.detach().numpy().copy())
                seen["grad"][n].append(None if p.grad is None else p.grad.numpy().copy())
            if part == accumulate - 1:
                opt.step()
            for n, p in net.named_parameters():
                seen["change"][n].append((p.detach().double() - before[n].double()).norm().item())
    return seen


def check(run: TorchRun, seen: dict, steps: int) -> None:
    assert run.steps == steps and run.finished and run.loss_name == "loss"
    np.testing.assert_allclose(run.losses(), seen["loss"], rtol=1e-6)
    for name in seen["norm"]:
        np.testing.assert_allclose(run.series(name, "grad_norm"), seen["norm"][name], rtol=1e-5)
        np.testing.assert_allclose(run.series(name, "value_min"), seen["min"][name], rtol=1e-6)
        np.testing.assert_allclose(run.series(name, "value_max"), seen["max"][name], rtol=1e-6)
        np.testing.assert_allclose(run.series(name, "update"), seen["change"][name], rtol=1e-6, atol=1e-12)


def test_sgd_steps_are_what_torch_computed() -> None:
    net = mlp()
    opt = torch.optim.SGD(net.parameters(), lr=0.3)
    with gradviz.watch(net) as run:
        seen = seen_by_the_loop(net, opt, 20)
    assert isinstance(run, TorchRun) and last_run() is run
    assert list(run.params) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    check(run, seen, 20)
    assert seen["loss"][-1] < seen["loss"][0]  # it trained
    # plain SGD: each update is lr times the gradient
    np.testing.assert_allclose(
        run.series("0.weight", "update"), 0.3 * np.array(seen["norm"]["0.weight"]), rtol=1e-5
    )
    # every step has its picture: each parameter's value and gradient at that backward()
    assert len(run.pictures) == 20
    for k in (0, 7, 19):
        held = run.pictures[k].tensors
        np.testing.assert_array_equal(held["2.weight"].value, seen["value"]["2.weight"][k])
        np.testing.assert_array_equal(held["2.weight"].grad, seen["grad"]["2.weight"][k])
        assert held["loss"].value == np.float32(seen["loss"][k])


def test_adam_and_zero_grad_keeping_zeros() -> None:
    net = mlp()
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    with gradviz.watch(net) as run:
        seen = seen_by_the_loop(net, opt, 20, set_to_none=False)
    check(run, seen, 20)
    # Adam's step is not lr * grad: the update is what really changed
    ratio = run.series("0.weight", "update") / np.array(seen["norm"]["0.weight"])
    assert np.ptp(ratio) > 0.01


def test_a_parameter_backward_never_reaches_has_no_gradient_norm() -> None:
    class TwoHeads(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body, self.unused = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)

        def forward(self, x):
            return self.body(x)

    torch.manual_seed(0)
    net = TwoHeads()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with gradviz.watch(net) as run:
        seen = seen_by_the_loop(net, opt, 5)  # zero_grad(set_to_none=True): unused.grad stays None
    check(run, seen, 5)
    assert np.isnan(run.series("unused.weight", "grad_norm")).all()
    assert (run.series("unused.weight", "update") == 0).all()
    assert run.pictures[4].tensors["unused.weight"].grad is None


def test_gradient_accumulation_counts_each_backward_as_a_step() -> None:
    net = mlp()
    opt = torch.optim.SGD(net.parameters(), lr=0.2)
    with gradviz.watch(net) as run:
        seen = seen_by_the_loop(net, opt, 6, accumulate=2)
    check(run, seen, 12)
    update = run.series("2.bias", "update")
    assert (update[0::2] == 0).all() and (update[1::2] > 0).all()  # the optimiser steps after the 2nd
    # the 2nd backward's gradient is the sum of both halves', as .grad holds it
    norms = run.series("2.bias", "grad_norm")
    g1, g2 = seen["grad"]["2.bias"][0], seen["grad"]["2.bias"][1]
    assert norms[1] == pytest.approx(np.linalg.norm(g2.astype(np.float64)), rel=1e-6)
    assert not np.allclose(g1, g2)


def test_nothing_is_recorded_outside_the_block_and_its_hooks_go() -> None:
    net, twin = mlp(), mlp()
    x, y = data()
    opts = [torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9) for m in (net, twin)]

    def one_step(m, opt) -> None:
        opt.zero_grad()
        F.cross_entropy(m(x), y).backward()
        opt.step()

    one_step(net, opts[0])  # before the block
    with gradviz.watch(net) as run:
        for _ in range(3):
            one_step(net, opts[0])
        torch.autograd.grad(net(x).sum(), net[0].weight)  # fills no .grad: not a step
    for _ in range(4):
        one_step(net, opts[0])  # after it
    assert run.steps == 3 and len(run.loss) == 3
    # the model trains as it would unwatched, and keeps no hook of the block's
    for _ in range(8):
        one_step(twin, opts[1])
    for (n, p), q in zip(net.named_parameters(), twin.parameters()):
        assert torch.equal(p, q), n
    assert not torch._C._is_torch_function_mode_enabled()
    for m in net.modules():
        assert not m._forward_hooks and not m._forward_pre_hooks and not m._backward_hooks


def test_an_error_in_the_loop_still_removes_the_hooks() -> None:
    net = mlp()
    x, y = data()
    with pytest.raises(RuntimeError, match="shape"), gradviz.watch(net) as run:
        F.cross_entropy(net(x), y).backward()
        net(torch.randn(2, 5))  # a wrong input
    assert run.steps == 1 and run.finished
    assert not torch._C._is_torch_function_mode_enabled()
    assert all(not m._forward_hooks for m in net.modules())


def test_past_the_budget_every_other_picture_goes_but_every_series_stays() -> None:
    net = mlp()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    one = sum(p.numel() * 4 * 2 for p in net.parameters()) + 4 + 8  # a step's values and grads
    with gradviz.watch(net, budget=5 * one) as run:
        seen = seen_by_the_loop(net, opt, 17)
    check(run, seen, 17)
    assert run.pictures.stride == 4 and sorted(run.pictures.kept) == [0, 4, 8, 12, 16]
    assert run.pictures.nearest(6) in (4, 8)


def test_watch_takes_a_module_and_needs_torch(monkeypatch) -> None:
    with pytest.raises(TypeError, match=r"torch.nn.Module being trained, not Tensor"):
        gradviz.watch(torch.ones(2))
    net = mlp()
    watcher = gradviz.watch(net)
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails
    with pytest.raises(ImportError, match=r"pip install torch"), watcher:
        pass


def test_a_deep_copied_model_is_its_own() -> None:
    """The names are the watched model's: a copy trained beside it is not recorded."""
    net = mlp()
    other = copy.deepcopy(net)
    x, y = data()
    with gradviz.watch(net) as run:
        F.cross_entropy(other(x), y).backward()
    assert run.steps == 1  # a backward() is a step whatever it reaches...
    assert np.isnan(run.series("0.weight", "grad_norm")).all()  # ...but net got no gradient


def test_a_non_scalar_backward_and_autograd_backward_are_steps_too() -> None:
    net = mlp()
    x, _ = data()
    seed = torch.linspace(-1, 1, 48).reshape(16, 3)
    with gradviz.watch(net) as run:
        out = net(x)
        out.backward(seed)  # a gradient to start from: the loss series takes the output's mean
        after_one = net[2].bias.grad.norm().item()
        total = net(x).pow(2).sum()
        torch.autograd.backward(total)
    assert run.steps == 2 and run.loss_name == "total"  # the last backward()'s name for it
    assert run.loss == pytest.approx([out.mean().item(), total.item()], rel=1e-6)
    assert run.series("2.bias", "grad_norm")[0] == pytest.approx(after_one, rel=1e-6)
    np.testing.assert_array_equal(run.pictures[0].tensors["out"].grad, seed.numpy())
    assert run.pictures[1].tensors["total"].value == np.float32(total.item())
    assert run.last_loss is total
    assert "2 steps" in repr(run)


def test_after_the_block_a_backward_through_the_last_graph_changes_nothing_recorded() -> None:
    """The last step's node pre-hooks go with the block; what they recorded stays."""
    net = mlp()
    x, y = data()
    with gradviz.watch(net) as run:
        loss = F.cross_entropy(net(x), y)
        loss.backward(retain_graph=True)
    record = run.capture.record
    kept = {k: g.clone() for k, g in record.grads.items()}
    assert kept and not record.handles
    loss.backward()  # the same graph again: torch's .grad doubles...
    net.zero_grad(set_to_none=False)  # ...and is zeroed in place
    assert record.grads.keys() == kept.keys()
    for k, g in kept.items():
        assert torch.equal(record.grads[k], g), record.nodes[k[0]].name()
    assert run.steps == 1


def test_a_sparse_embedding_is_recorded_and_the_loop_runs_on() -> None:
    torch.manual_seed(0)
    emb = torch.nn.Embedding(10, 3, sparse=True)
    opt = torch.optim.SGD(emb.parameters(), lr=0.1)
    idx = torch.tensor([1, 2, 2])
    norms, losses = [], []
    with gradviz.watch(emb) as run:
        for _ in range(3):
            opt.zero_grad()
            loss = emb(idx).sum()
            loss.backward()
            norms.append(emb.weight.grad.to_dense().norm().item())
            losses.append(loss.item())
            opt.step()
    assert run.steps == 3 and run.finished
    np.testing.assert_allclose(run.losses(), losses, rtol=1e-6)
    np.testing.assert_allclose(run.series("weight", "grad_norm"), norms, rtol=1e-6)
    np.testing.assert_allclose(run.series("weight", "update"), 0.1 * np.array(norms), rtol=1e-5)
    np.testing.assert_array_equal(run.pictures[2].tensors["weight"].grad, emb.weight.grad.to_dense().numpy())


def test_a_complex_parameter_is_measured_by_its_moduli() -> None:
    class Phase(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.tensor([1 + 2j, -0.5j, 3 + 0j], dtype=torch.complex64))

        def forward(self, x):
            return (self.w * x).abs().sum()

    m = Phase()
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    x = torch.tensor([1.0, 2.0, -1.0])
    with gradviz.watch(m) as run:
        opt.zero_grad()
        before = m.w.detach().clone()
        loss = m(x)
        loss.backward()
        norm = m.w.grad.norm().item()
        lo, hi = m.w.detach().abs().min().item(), m.w.detach().abs().max().item()
        opt.step()
    assert run.series("w", "grad_norm")[0] == pytest.approx(norm, rel=1e-6)
    assert (run.series("w", "value_min")[0], run.series("w", "value_max")[0]) == pytest.approx((lo, hi))
    assert run.series("w", "update")[0] == pytest.approx((m.w.detach() - before).norm().item(), rel=1e-5)


def test_what_cannot_be_read_is_nan_with_one_warning_and_the_loop_s_own_error_stands(monkeypatch) -> None:
    import gradviz.session.torch_training as tt

    net = mlp()
    x, y = data()
    real = tt.to_numpy

    def refuses_2_weight(t):
        if t.shape == net[2].weight.shape:
            raise TypeError("no numpy for this one")
        return real(t)

    monkeypatch.setattr(tt, "to_numpy", refuses_2_weight)
    with (
        pytest.warns(RuntimeWarning, match=r"value of 2\.weight can't be read") as caught,
        pytest.raises(ValueError, match="the loop's own"),
        gradviz.watch(net) as run,
    ):
        for _ in range(3):
            net.zero_grad()
            loss = F.cross_entropy(net(x), y)
            loss.backward()
        raise ValueError("the loop's own")  # __exit__ reads every value again: it must not mask this
    assert run.steps == 3 and run.finished
    assert (
        np.isnan(run.series("2.weight", "value_max")).all()
        and np.isnan(run.series("2.weight", "grad_norm")).all()
    )
    assert np.isfinite(run.series("0.weight", "grad_norm")).all()
    assert sum("2.weight" in str(w.message) and "value" in str(w.message) for w in caught) == 1

    # a step that fails anywhere is skipped with a warning; the loop carries on
    monkeypatch.setattr(tt.TorchRun, "add_step", lambda *a: 1 / 0)
    with (
        pytest.warns(RuntimeWarning, match=r"step 0 was not recorded \(ZeroDivisionError"),
        gradviz.watch(net) as run,
    ):
        F.cross_entropy(net(x), y).backward()
        F.cross_entropy(net(x), y).backward()
        done = True
    assert done and run.steps == 0


class HalvingScaler:
    """A GradScaler's interface as watch uses it: ``scale`` and ``get_scale``."""

    def __init__(self, scale: float) -> None:
        self.s = scale

    def scale(self, loss):
        return loss * self.s

    def get_scale(self) -> float:
        return self.s

    def update(self) -> None:
        self.s /= 2


@pytest.mark.parametrize("kind", ["torch", "fake"])
def test_with_a_grad_scaler_the_loss_and_gradients_are_unscaled(kind) -> None:
    net = mlp()
    x, y = data()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0) if kind == "torch" else HalvingScaler(512.0)
    losses, norms, scales = [], [], []
    with gradviz.watch(net, scaler=scaler) as run:
        for _ in range(4):
            opt.zero_grad()
            loss = F.cross_entropy(net(x), y)
            scaler.scale(loss).backward()
            scales.append(scaler.get_scale())
            losses.append(loss.item())
            norms.append(net[0].weight.grad.norm().item() / scales[-1])  # the true gradient's
            if kind == "torch":
                scaler.step(opt)
            else:
                for p in net.parameters():
                    p.grad /= scales[-1]
                opt.step()
            scaler.update()
    assert scales[0] > 100 and (kind == "torch" or scales[-1] < scales[0])
    np.testing.assert_allclose(run.losses(), losses, rtol=1e-6)
    np.testing.assert_allclose(run.series("0.weight", "grad_norm"), norms, rtol=1e-5)
    assert run.loss_name == "loss" and run.last_loss is loss  # the loop's loss, not the scaled one
    np.testing.assert_allclose(run.pictures[3].tensors["loss"].value, losses[3], rtol=1e-6)
    with pytest.raises(TypeError, match=r"scaler=\.\.\.\) takes the loop's torch.amp.GradScaler, not float"):
        gradviz.watch(net, scaler=1024.0)


def test_each_with_block_of_one_watch_is_a_run_of_its_own() -> None:
    net = mlp()
    x, y = data()
    w = gradviz.watch(net)
    with w as first:
        F.cross_entropy(net(x), y).backward()
    with w as second:
        for _ in range(2):
            F.cross_entropy(net(x), y).backward()
    assert first is not second and (first.steps, second.steps) == (1, 2)
    assert first.finished and second.finished and last_run() is second
    with w, pytest.raises(RuntimeError, match="already recording"), w:
        pass
    assert not torch._C._is_torch_function_mode_enabled()


def test_frozen_parameters_are_listed_not_recorded() -> None:
    net = mlp()
    for p in net[0].parameters():
        p.requires_grad_(False)
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.1)
    with gradviz.watch(net) as run:
        seen = seen_by_the_loop(net, opt, 3)
    assert list(run.params) == ["2.weight", "2.bias"] and run.frozen == ["0.weight", "0.bias"]
    assert "0.weight" not in run.pictures[2].tensors
    np.testing.assert_allclose(run.series("2.weight", "grad_norm"), seen["norm"]["2.weight"], rtol=1e-5)
