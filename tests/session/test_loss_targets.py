"""Inputs that take no gradient (a loss's class targets, where's condition, an index mask) are
operands all the same: linked in the Tensors view, guarding against deletion, kept through
renames and files, with values and gradients as PyTorch computes them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gradviz.graph.model import AUTOGRAD, build_graph
from gradviz.session import fileformat as ff
from gradviz.session.console import Console
from gradviz.session.document import Session, SessionError
from gradviz.session.log import same_entry

X = [[1.0, -2.0, 0.5, 3.0], [0.0, 1.5, -1.0, 2.0], [-0.5, 0.25, 2.0, -3.0]]
TARGET = [3, 0, 2]
SETUP = f"x = torch.tensor({X}, requires_grad=True)\ntarget = torch.tensor({TARGET})\nlogp = F.log_softmax(x, dim=1)"
CALLS = {
    "nll_loss": "F.nll_loss(logp, target)",
    "nll_loss_keyword": "F.nll_loss(logp, target=target)",
    "cross_entropy": "F.cross_entropy(x, target)",
    "cross_entropy_keyword": "torch.nn.functional.cross_entropy(input=x, target=target, reduction='sum')",
}


def session(call: str) -> Session:
    c = Console(Session())
    for line in [*SETUP.splitlines(), f"loss = {call}", "loss.backward()"]:
        r = c.run(line)
        assert r.ok, f"{line}\n{r.text}"
    return c.session


def tensors_view(s: Session):
    """The Tensors view as the canvas builds it: every visible name."""
    return build_graph(s.tensors(include_hidden=False))


def node(g, name: str) -> str:
    (nid,) = [n for n, a in g.nodes(data=True) if a["type"] == "tensor" and a["name"] == name]
    return nid


def assert_feeds(g, src: str, out: str, op: str) -> None:
    """``src`` is an input of the op node that makes ``out``."""
    (op_node,) = g.predecessors(node(g, out))
    assert g.nodes[op_node]["op"] == op
    assert g.has_edge(node(g, src), op_node)


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_target_is_an_input_of_the_loss_op(call: str) -> None:
    s = session(call)
    g = tensors_view(s)
    # cross_entropy is recorded as log_softmax then nll_loss, but drawn as the one call it was
    op = "cross_entropy" if "cross_entropy" in call else "nll_loss"
    assert_feeds(g, "target", "loss", op)
    if op == "cross_entropy":
        assert_feeds(g, "x", "loss", op)
    tid = node(g, "target")
    assert g.nodes[tid]["kind"] == "constant" and tid not in g.graph["outputs"]
    assert "loss" in {g.nodes[o]["name"] for o in g.graph["outputs"]}
    # the target's values are its node's; the op label need not repeat them
    (op_node,) = g.successors(tid)
    assert "target" not in g.nodes[op_node]["label"]
    # the same session recorded it as an operand
    assert "target" in s.operands("loss")
    assert "loss" in s.dependents("target")


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_autograd_view_is_unchanged_and_has_no_target(call: str) -> None:
    s = session(call)
    g = build_graph(s.tensors(include_hidden=False), view=AUTOGRAD)
    assert "target" not in {a.get("name") for _, a in g.nodes(data=True)}
    (nll,) = [n for n, a in g.nodes(data=True) if a.get("name") == "NllLossBackward0"]
    assert [g.nodes[u]["name"] for u in g.predecessors(nll)] == ["LogSoftmaxBackward0"]
    # as in PyTorch: NllLossBackward0's only next function is the input's
    fn = s.tensor("loss").grad_fn
    assert fn.name() == "NllLossBackward0" and len(fn.next_functions) == 1
    logits = torch.tensor(X, requires_grad=True)
    ref = torch.nn.functional.nll_loss(torch.log_softmax(logits, 1), torch.tensor(TARGET))
    assert len(ref.grad_fn.next_functions) == len(fn.next_functions)


def test_keyword_target_records_the_same_entry_as_positional() -> None:
    a = session(CALLS["nll_loss"]).entries
    b = session(CALLS["nll_loss_keyword"]).entries
    assert len(a) == len(b) and all(same_entry(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize(
    ("call", "oracle"),
    [
        (CALLS["nll_loss"], lambda F, x, t: F.nll_loss(F.log_softmax(x, dim=1), t)),
        (CALLS["nll_loss_keyword"], lambda F, x, t: F.nll_loss(F.log_softmax(x, dim=1), target=t)),
        (CALLS["cross_entropy"], lambda F, x, t: F.cross_entropy(x, t)),
        (CALLS["cross_entropy_keyword"], lambda F, x, t: F.cross_entropy(x, t, reduction="sum")),
    ],
    ids=CALLS.keys(),
)
def test_values_and_gradients_match_torch(call: str, oracle) -> None:
    s = session(call)
    x = torch.tensor(X, requires_grad=True)
    loss = oracle(torch.nn.functional, x, torch.tensor(TARGET))
    loss.backward()
    np.testing.assert_allclose(s.tensor("loss").detach().numpy(), loss.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(s.tensor("x").grad.numpy(), x.grad.numpy(), rtol=1e-5, atol=1e-7)
    assert s.tensor("target").grad is None and not s.tensor("target").requires_grad


def test_deleting_the_target_is_refused_while_the_loss_uses_it() -> None:
    s = session(CALLS["nll_loss"])
    n = len(s.entries)
    with pytest.raises(SessionError, match=r"can't delete 'target': loss depends on it; delete it first"):
        s.delete("target")
    assert len(s.entries) == n and "target" in s
    s.delete("loss")
    s.delete("target")  # nothing uses it now
    assert "target" not in s


def test_rename_keeps_the_link() -> None:
    s = session(CALLS["cross_entropy"])
    s.rename("target", "labels")
    assert s.operands("loss") == ["x", "labels"] and s.dependents("labels") == ["loss"]
    g = tensors_view(s)
    assert_feeds(g, "labels", "loss", "cross_entropy")
    assert "target" not in {a["name"] for _, a in g.nodes(data=True)}
    with pytest.raises(SessionError, match="can't delete 'labels'"):
        s.delete("labels")
    # editing the renamed target replays the loss with the new classes
    s.set_leaf_value("labels", [0, 1, 2])
    x = torch.tensor(X, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(x, torch.tensor([0, 1, 2]))
    np.testing.assert_allclose(s.tensor("loss").detach().numpy(), ref.detach().numpy(), rtol=1e-6)
    assert_feeds(tensors_view(s), "labels", "loss", "cross_entropy")


def test_save_and_load_keep_the_link(tmp_path) -> None:
    s = session(CALLS["nll_loss_keyword"])
    s.rename("target", "labels")
    path = tmp_path / "loss.gradviz"
    ff.save(s, path)
    t = Session()
    ff.open_into(t, path)
    assert len(t.entries) == len(s.entries)
    assert all(same_entry(a, b) for a, b in zip(s.entries, t.entries))
    assert t.operands("loss") == ["logp", "labels"]
    assert_feeds(tensors_view(t), "labels", "loss", "nll_loss")
    np.testing.assert_array_equal(t.tensor("x").grad.numpy(), s.tensor("x").grad.numpy())
    with pytest.raises(SessionError, match="can't delete 'labels'"):
        t.delete("labels")


def test_committed_mlp_example_draws_its_target_as_an_input() -> None:
    """A file saved before the fix loads unchanged and is drawn with the link."""
    from gradviz.session.examples import examples_dir

    s = Session()
    ff.open_into(s, examples_dir() / "mlp.gradviz")
    assert_feeds(tensors_view(s), "target", "loss", "cross_entropy")


@pytest.mark.parametrize(
    ("line", "src", "op"),
    [
        ("y = torch.where(keep, x, x * 2)", "keep", "where"),
        ("y = x[:, cols]", "cols", "index"),
        ("y = x[rows]", "rows", "index"),
        ("y = x[row]", "row", "select"),
    ],
)
def test_conditions_and_index_tensors_are_inputs_too(line: str, src: str, op: str) -> None:
    c = Console(Session())
    setup = [
        f"x = torch.tensor({X}, requires_grad=True)",
        "keep = x > 0",
        "cols = torch.tensor([True, False, True, False])",
        "rows = torch.tensor([2, 0])",
        "row = torch.tensor(1)",
        line,
    ]
    for stmt in setup:
        r = c.run(stmt)
        assert r.ok, f"{stmt}\n{r.text}"
    s = c.session
    assert src in s.operands("y")
    g = tensors_view(s)
    assert_feeds(g, src, "y", op)
    assert node(g, src) not in g.graph["outputs"]
    with pytest.raises(SessionError, match=f"can't delete '{src}'"):
        s.delete(src)
