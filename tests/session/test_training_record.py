"""What the console records of a training loop (session/training.py), against PyTorch running
the same loop: each step's loss, gradient norms, value ranges and update sizes; the values a
scrubbed step shows; the pictures' memory budget; what a failed input leaves."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gradviz.session import training
from gradviz.session.console import Console
from gradviz.session.document import Session

SETUP = """torch.manual_seed(0)
x = torch.randn(8, 3)
t = torch.randn(8, 1)
w = torch.randn(3, 1, requires_grad=True)
b = torch.zeros(1, requires_grad=True)"""
BODY = """    y = x @ w + b
    loss = ((y - t) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        w -= 0.1 * w.grad
        b -= 0.1 * b.grad
    w.grad.zero_()
    b.grad.zero_()"""


def console_run(steps: int) -> tuple[Session, Console]:
    s = Session()
    c = Console(s)
    assert c.run(SETUP).ok
    r = c.run(f"for i in range({steps}):\n{BODY}")
    assert r.ok, r.text
    return s, c


def torch_run(steps: int) -> dict[str, list]:
    ns: dict = {"torch": torch}
    exec(SETUP, ns)
    w, b = ns["w"], ns["b"]
    out: dict[str, list] = {
        k: [] for k in ("loss", "wnorm", "bnorm", "wmin", "wmax", "wgrad", "wvalue", "wstep")
    }
    for _ in range(steps):
        y = ns["x"] @ w + b
        loss = ((y - ns["t"]) ** 2).mean()
        loss.backward()
        out["loss"].append(loss.item())
        out["wnorm"].append(w.grad.norm().item())
        out["bnorm"].append(b.grad.norm().item())
        out["wmin"].append(w.min().item())
        out["wmax"].append(w.max().item())
        out["wgrad"].append(w.grad.numpy().copy())
        out["wvalue"].append(w.detach().numpy().copy())
        before = w.detach().clone()
        with torch.no_grad():
            w -= 0.1 * w.grad
            b -= 0.1 * b.grad
        out["wstep"].append((w.detach() - before).double().norm().item())
        w.grad.zero_()
        b.grad.zero_()
    return out


def test_each_step_s_numbers_are_pytorch_s() -> None:
    _, c = console_run(30)
    run = c.last_training
    want = torch_run(30)
    assert run is not None and run.steps == 30 and run.finished and run.loss_name == "loss"
    assert list(run.params) == ["w", "b"]
    np.testing.assert_allclose(run.losses(), want["loss"], rtol=1e-6)
    # (gradients of float32 sums torch adds in another order: equal to about 1e-7)
    np.testing.assert_allclose(run.series("w", "grad_norm"), want["wnorm"], rtol=1e-5, atol=2e-7)
    np.testing.assert_allclose(run.series("b", "grad_norm"), want["bnorm"], rtol=1e-5, atol=2e-7)
    np.testing.assert_allclose(run.series("w", "value_min"), want["wmin"], rtol=1e-6)
    np.testing.assert_allclose(run.series("w", "value_max"), want["wmax"], rtol=1e-6)
    # (the change of a float32 value near where it settles: differences of ulps)
    np.testing.assert_allclose(run.series("w", "update"), want["wstep"], rtol=1e-3, atol=1e-7)


def test_a_scrubbed_step_holds_that_step_s_values_and_gradients() -> None:
    s, c = console_run(12)
    run = c.last_training
    want = torch_run(12)
    for k in (0, 5, 11):
        shown, past = training.values_at(s, run, k)
        assert shown == k
        np.testing.assert_allclose(past["w"][0], want["wvalue"][k], rtol=1e-6)
        np.testing.assert_allclose(past["w"][1], want["wgrad"][k], rtol=1e-5, atol=2e-7)
        assert past["loss"][0] == pytest.approx(want["loss"][k], rel=1e-6)  # the loop's own tensors
        assert past["y"][0].shape == (8, 1)


def test_past_the_budget_pictures_thin_out_but_every_step_keeps_its_numbers(monkeypatch) -> None:
    s = Session()
    c = Console(s)
    assert c.run(SETUP).ok
    assert c.run(f"for i in range(1):\n{BODY}").ok
    each = c.last_training.pictures[0].nbytes
    monkeypatch.setattr(training, "PICTURE_BUDGET", 3 * each)
    assert c.run(f"for i in range(20):\n{BODY}").ok
    run = c.last_training
    assert run.steps == 20 and len(run.losses()) == 20 and np.isfinite(run.series("w", "grad_norm")).all()
    kept = run.pictures
    assert kept.stride > 1 and len(kept) <= 3
    assert all(k % kept.stride == 0 for k in kept.kept)
    assert kept.nearest(7) in kept.kept and abs(kept.nearest(7) - 7) <= kept.stride
    assert kept.nearest(19) == 19 and kept[19].step == 19  # the last step always has its picture
    _, past = training.values_at(s, run, 19)
    np.testing.assert_array_equal(past["loss"][0], s.tensor("loss").detach().numpy())  # as it ended


def test_a_failed_input_keeps_the_last_good_run_and_one_without_backward_records_nothing() -> None:
    s, c = console_run(5)
    run = c.last_training
    r = c.run(f"for i in range(5):\n{BODY}\n    nope")  # fails in its first step: undone whole
    assert not r.ok and c.last_training is run
    assert c.run("for i in range(3):\n    z = w * 2").ok
    assert c.last_training is run  # no backward: not a training loop
    assert run.stands_in(s)
    s.undo()  # the first loop's input
    s.undo()
    assert not run.stands_in(s)


def test_nested_loops_make_one_step_per_backward() -> None:
    s = Session()
    c = Console(s)
    assert c.run(SETUP).ok
    r = c.run(
        f"for epoch in range(3):\n    for i in range(4):\n    {BODY.replace(chr(10), chr(10) + '    ')}"
    )
    assert r.ok, r.text
    assert c.last_training.steps == 12
    np.testing.assert_allclose(c.last_training.losses(), torch_run(12)["loss"], rtol=1e-6)


def test_tensors_made_after_the_loop_are_not_taken_for_the_loop_s() -> None:
    s, c = console_run(5)
    run = c.last_training
    want = torch_run(5)
    assert c.run("pred = x @ w + b\nerr = ((pred - t) ** 2).mean()").ok  # a later cell
    _, past = training.values_at(s, run, 0)
    assert "pred" not in past and "err" not in past  # the present's own: shown as they are
    assert past["loss"][0] == pytest.approx(want["loss"][0], rel=1e-6)


def test_a_step_whose_if_made_another_graph_pairs_only_what_it_made() -> None:
    s = Session()
    c = Console(s)
    assert c.run(SETUP).ok
    body = """    y = x @ w + b
    if i % 2 == 0:
        loss = ((y - t) ** 2).mean()
    else:
        loss = (y - t).abs().mean()
    loss.backward()
    with torch.no_grad():
        w -= 0.1 * w.grad
    w.grad.zero_()
    b.grad = None"""
    assert c.run(f"for i in range(4):\n{body}").ok
    run = c.last_training
    step, past = training.values_at(s, run, 0)  # step 0 squared; the graph now (step 3) took abs
    assert step == 0
    made_by = {n: (s.tensor(n).grad_fn.name() if s.tensor(n).grad_fn else "") for n in past}
    abs_node = next(n for n, m in made_by.items() if m == "AbsBackward0")
    assert past[abs_node] is None  # step 0 made no abs: not shown with another op's values
    assert past["y"] is not None and past["y"][0].shape == (8, 1)  # y = x @ w + b was made alike
    _, now = training.values_at(s, run, 3)
    assert now[abs_node] is not None


def test_a_parameter_made_again_each_step_is_followed_by_its_name() -> None:
    s = Session()
    c = Console(s)
    assert c.run(SETUP).ok
    body = """    loss = ((x @ w + b - t) ** 2).mean()
    loss.backward()
    w = (w - 0.1 * w.grad).detach().requires_grad_()
    b.grad = None"""
    assert c.run(f"for i in range(4):\n{body}").ok
    run = c.last_training
    ns: dict = {"torch": torch}
    exec(SETUP, ns)
    w, norms, steps = ns["w"], [], []
    for _ in range(4):
        loss = ((ns["x"] @ w + ns["b"] - ns["t"]) ** 2).mean()
        loss.backward()
        norms.append(w.grad.norm().item())
        new = (w - 0.1 * w.grad).detach().requires_grad_()
        steps.append((new - w).detach().double().norm().item())
        w = new
        ns["b"].grad = None
    np.testing.assert_allclose(run.series("w", "grad_norm"), norms, rtol=1e-5, atol=2e-7)
    np.testing.assert_allclose(run.series("w", "update"), steps, rtol=1e-3, atol=1e-7)
