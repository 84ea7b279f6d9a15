"""What Backward starts from, what it will do, and the forward pass run again, checked against
PyTorch."""

from __future__ import annotations

import pytest
import torch

from gradviz.session import backward_plan
from gradviz.session.console import Console
from gradviz.session.document import Session

LEAVES = [
    "w = torch.tensor([1.5, -2.], requires_grad=True)",
    "b = torch.tensor(0.5, requires_grad=True)",
    "x = torch.tensor([3., 4.])",
]
# forward passes: (statements, output) with ops that do and don't save tensors for backward
FORWARDS = [
    (["y = (w + b).sum()"], "y"),
    (["y = (w * x).sum() + b"], "y"),
    (["h = torch.tanh(w * x + b)", "y = h.sum()"], "y"),
    (["y = (w - b).mean()"], "y"),
    (["y = (w ** 2).sum()"], "y"),
    (["y = torch.exp(w).sum() * b"], "y"),
]


def _session(lines: list[str]) -> Session:
    s = Session()
    c = Console(s)
    for line in lines:
        r = c.run(line)
        assert r.error is None, (line, r.error)
    return s


def _torch(lines: list[str]) -> dict:
    ns: dict = {"torch": torch}
    for line in lines:
        exec(line, ns)
    return ns


@pytest.mark.parametrize(("forward", "out"), FORWARDS)
def test_freed_is_said_exactly_when_pytorch_refuses(forward: list[str], out: str) -> None:
    s = _session([*LEAVES, *forward])
    assert not backward_plan.preview(s, out).freed
    s.backward(out)
    ns = _torch([*LEAVES, *forward])
    ns[out].backward()
    try:
        ns[out].backward()
        refused = False
    except RuntimeError as e:
        assert "second time" in str(e)
        refused = True
    assert backward_plan.preview(s, out).freed == refused


@pytest.mark.parametrize(("forward", "out"), FORWARDS)
def test_rerun_forward_then_backward_accumulates_as_pytorch(forward: list[str], out: str) -> None:
    s = _session([*LEAVES, *forward])
    s.backward(out)
    ns = _torch([*LEAVES, *forward])
    ns[out].backward()
    reached = [leaf for leaf in ("w", "b") if ns[leaf].grad is not None]
    plan = backward_plan.preview(s, out)
    assert plan.receives == reached and plan.accumulates == reached  # leaves, in order
    entries = len(s.entries)
    backward_plan.rerun_forward(s, out)
    assert not backward_plan.preview(s, out).freed
    s.backward(out)
    exec("\n".join(forward), ns)  # the learner runs the forward cells again
    ns[out].backward()
    for leaf in reached:
        assert s.tensor(leaf).grad.tolist() == pytest.approx(ns[leaf].grad.tolist(), rel=1e-4, abs=1e-6)
    s.undo()
    s.undo()  # the backward, then the re-run: one step each
    assert len(s.entries) == entries


def test_rerun_keeps_what_other_tensors_still_read() -> None:
    s = _session([*LEAVES, "y = (w * x).sum()", "z = y * 2", "q = y + 1"])
    old_y = s.info("y").uid
    names = backward_plan.rerun_forward(s, "q")
    assert names == ["y", "q"]
    assert s.info("y").uid != old_y  # a fresh y
    (kept,) = s.operands("z")  # z still reads the old y, now unnamed, as Python would keep it
    assert s.info(kept).hidden and s.info(kept).uid == old_y
    assert s.tensor("q").item() == pytest.approx(s.tensor(kept).item() + 1)


def test_rerun_a_leaf_is_refused() -> None:
    s = _session(LEAVES)
    with pytest.raises(Exception, match="is a leaf"):
        backward_plan.rerun_forward(s, "w")


def test_default_target_is_the_latest_scalar_result() -> None:
    s = _session(LEAVES)
    assert backward_plan.default_target(s) == ""  # leaves are not results
    c = Console(s)
    c.run("v = w * x")
    assert backward_plan.default_target(s) == "v"  # no scalar yet: the latest result
    c.run("loss = v.sum()")
    c.run("other = (w * 3).sum()")
    assert backward_plan.default_target(s) == "other"
    c.run("m = other * torch.ones(2)")  # a newer result, but not a scalar
    assert backward_plan.default_target(s) == "loss"  # other is used now; loss is the output


def test_a_choice_holds_until_its_tensor_goes() -> None:
    s = _session([*LEAVES, "y = (w * x).sum()"])
    target = backward_plan.BackwardTarget()
    assert target.resolve(s) == "y"
    target.choose("w")
    assert target.resolve(s) == "w"
    assert target.candidates(s)[:1] == ["y"] and {"w", "b"} <= set(target.candidates(s))
    s.rename("w", "w2")
    assert target.resolve(s) == "y" and target.chosen == ""


def test_a_leaf_backward_is_explained() -> None:
    s = _session(LEAVES)
    plan = backward_plan.preview(s, "b")
    assert plan.is_leaf and plan.needs_word and plan.receives == ["b"] and plan.accumulates == []
    assert "adds ∂b/∂b = 1 to b.grad" in plan.explanation(s)


@pytest.mark.parametrize(("forward", "out"), FORWARDS)
def test_forward_code_runs_under_torch_and_computes_the_same(forward: list[str], out: str) -> None:
    s = _session([*LEAVES, *forward])
    code = backward_plan.forward_code(s, out)
    assert code is not None
    ns = _torch(LEAVES)
    exec(code, ns)
    assert ns[out].item() == pytest.approx(s.tensor(out).item(), rel=1e-6)
