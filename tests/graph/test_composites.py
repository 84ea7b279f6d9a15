"""One call is one op in the Tensors view, even when the engine records it as several backward
nodes, as PyTorch does: ``F.linear`` is TBackward0 then AddmmBackward0, ``F.cross_entropy`` is
LogSoftmaxBackward0 then NllLossBackward0. The learner wrote one call: the Tensors view draws one
op named after it, from the tensors passed in to the result, and none of the steps inside. The
Autograd view keeps every node (test_model.py checks it against PyTorch's, composite_calls
included)."""

from __future__ import annotations

import warnings

import networkx as nx
import numpy as np
import pytest

import gradviz as gv
from gradviz.engine.function import Node
from gradviz.graph.colors import FINITE
from gradviz.graph.layout import layout
from gradviz.graph.model import AUTOGRAD, NodeIds, build_graph
from gradviz.gui.derivatives import local_derivative
from gradviz.session import examples

F = gv.nn.functional


def ops(g: nx.DiGraph) -> list[str]:
    return [n for n, a in g.nodes(data=True) if a["type"] == "op"]


def tensor_node(g: nx.DiGraph, name: str) -> str:
    (nid,) = [n for n, a in g.nodes(data=True) if a["type"] == "tensor" and a["name"] == name]
    return nid


def shown(g: nx.DiGraph, nid: str) -> str:
    a = g.nodes[nid]
    return a["name"] or a["label"] or a.get("expr", "")


def operands(g: nx.DiGraph, op: str) -> list[str]:
    """What feeds ``op``, in argument order."""
    by_pos = {i: u for u, _, e in g.in_edges(op, data=True) for i in e["args"]}
    assert sorted(by_pos) == list(range(len(by_pos)))
    return [shown(g, by_pos[i]) for i in sorted(by_pos)]


def the_call(g: nx.DiGraph, result: str) -> str:
    """The op node that makes the tensor named ``result``."""
    (op,) = g.predecessors(tensor_node(g, result))
    assert g.nodes[op]["type"] == "op"
    return op


def strip_calls(outputs: list[gv.Tensor]) -> None:
    """Forget every composite mark: the graph is then drawn step by step, as before."""
    stack, seen = [t.grad_fn for t in outputs], set()
    while stack:
        n = stack.pop()
        if n is None or id(n) in seen:
            continue
        seen.add(id(n))
        n.composite = None
        stack += [f for f, _ in n.next_functions]


# --- linear and cross_entropy -----------------------------------------------------------------


def _linear_case(kind: str) -> tuple[dict, list[str]]:
    W = gv.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4), requires_grad=True)
    b = gv.tensor([0.5, -0.5, 0.0], requires_grad=True)
    X = {
        "2d": gv.ones(5, 4),
        "no_bias": gv.ones(5, 4),
        "1d": gv.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True),  # a matmul inside the linear
        "3d": gv.ones(2, 5, 4),  # batch folded into one addmm, then a view
    }[kind]
    if kind in ("no_bias", "1d"):
        return dict(X=X, W=W, z=F.linear(X, W)), ["X", "W"]
    return dict(X=X, W=W, b=b, z=F.linear(X, W, b)), ["X", "W", "b"]


@pytest.mark.parametrize("kind", ["2d", "no_bias", "1d", "3d"])
def test_linear_is_one_op_from_its_inputs_to_its_result(kind: str) -> None:
    names, inputs = _linear_case(kind)
    z = names["z"]
    assert len(z.grad_fn.composite.internal_nodes(z.grad_fn)) >= 1  # several nodes were recorded
    g = build_graph(names)  # every name drawn, as a session draws it
    (op,) = ops(g)
    a = g.nodes[op]
    assert a["op"] == "linear" and a["label"] == "linear"
    assert operands(g, op) == inputs
    assert [shown(g, v) for v in g.successors(op)] == ["z"]
    # no tensor of the steps inside (t(W), the addmm's result before the view): only the names
    assert sorted(shown(g, n) for n in g if g.nodes[n]["type"] == "tensor") == sorted(names)
    assert a["shape"] == tuple(z.shape) and a["parts"][-1] == z.grad_fn.name()
    assert "TBackward0" in a["parts"] and a["name"] == " + ".join(a["parts"])
    # the backward graph keeps every step
    ag = build_graph(names, view=AUTOGRAD)
    assert "TBackward0" in {d.get("name") for _, d in ag.nodes(data=True)}


@pytest.mark.parametrize(
    ("target", "reduction", "label"),
    [
        (gv.tensor([0, 2, 1]), "mean", "cross_entropy"),
        (gv.tensor([0, 2, 1]), "sum", "cross_entropy(reduction=sum)"),
        (gv.tensor([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0], [0.0, 0.5, 0.5]]), "mean", "cross_entropy"),
    ],
    ids=["classes", "classes_sum", "probabilities"],
)
def test_cross_entropy_is_one_op(target: gv.Tensor, reduction: str, label: str) -> None:
    logits = gv.tensor(np.linspace(-2, 2, 9, dtype=np.float32).reshape(3, 3), requires_grad=True)
    loss = F.cross_entropy(logits, target, reduction=reduction)
    names = dict(logits=logits, target=target, loss=loss)
    g = build_graph(names)
    (op,) = ops(g)
    assert g.nodes[op]["label"] == label and g.nodes[op]["op"] == "cross_entropy"
    assert operands(g, op) == ["logits", "target"]
    assert g.nodes[tensor_node(g, "target")]["kind"] == "constant"
    assert len(g) == 4 and g.graph["outputs"] == [tensor_node(g, "loss")]
    assert g.nodes[op]["parts"][0] == "LogSoftmaxBackward0"
    assert not {"log_softmax", "nll_loss"} & {g.nodes[o]["op"] for o in ops(g)}


# --- the other calls recorded as several nodes -------------------------------------------------


def _x() -> gv.Tensor:
    return gv.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4), requires_grad=True)


def _v() -> gv.Tensor:
    return gv.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)


# name -> (build {name: tensor} with the call's result as "out", its label, its operands)
CASES: dict[str, tuple] = {}


def case(label: str, operands: list[str]):
    def register(build):
        CASES[build.__name__] = (build, label, operands)
        return build

    return register


@case("matmul", ["v", "m"])
def matmul_1d_2d() -> dict:  # UnsqueezeBackward0, MmBackward0, SqueezeBackward4
    v, m = _v(), _x().detach().t()
    return dict(v=v, m=m, out=v @ m)


@case("matmul", ["a", "m"])
def matmul_3d_2d() -> dict:  # batch folded: ViewBackward0, MmBackward0, UnsafeViewBackward0
    a, m = gv.ones(2, 3, 4, requires_grad=True), _x().detach().t()
    return dict(a=a, m=m, out=a @ m)


@case("outer", ["v", "w"])
def outer() -> dict:  # ViewBackward0, MulBackward0
    v, w = _v(), _v()
    return dict(v=v, w=w, out=gv.outer(v, w))


@case("reshape(shape=(12,))", ["xt"])
def reshape_copy() -> dict:  # not viewable: CloneBackward0, UnsafeViewBackward0
    xt = _x().t()
    return dict(xt=xt, out=xt.reshape(12))


@case("flatten", ["xt"])
def flatten_copy() -> dict:
    xt = _x().t()
    return dict(xt=xt, out=xt.flatten())


@case("index(idx=[0, 1:3])", ["x"])
def index_steps() -> dict:  # SelectBackward0, SliceBackward0
    x = _x()
    return dict(x=x, out=x[0, 1:3])


@case("index(idx=[None, 0])", ["x"])
def index_new_axis() -> dict:  # UnsqueezeBackward0, SelectBackward0
    x = _x()
    return dict(x=x, out=x[None, 0])


@case("softmax(dim=1, dtype=float64)", ["x"])
def softmax_dtype() -> dict:  # ToCopyBackward0, SoftmaxBackward0
    x = _x()
    return dict(x=x, out=gv.softmax(x, 1, dtype=gv.float64))


@case("log_softmax(dim=0, dtype=float64)", ["x"])
def log_softmax_dtype() -> dict:
    x = _x()
    return dict(x=x, out=F.log_softmax(x, dim=0, dtype=gv.float64))


@case("div", ["2.0", "v"])
def number_over_tensor() -> dict:  # ReciprocalBackward0, MulBackward0; the 2 drawn by value
    v = _v()
    return dict(v=v, out=2 / v)


@case("mse_loss", ["b", "target"])
def mse_loss_broadcast() -> dict:  # ExpandBackward0, MseLossBackward0
    b, target = gv.tensor([1.0, 2.0], requires_grad=True), gv.ones(3, 2)
    with warnings.catch_warnings():  # "a target size that is different to the input size"
        warnings.simplefilter("ignore")
        return dict(b=b, target=target, out=F.mse_loss(b, target))


@pytest.mark.parametrize("case", CASES, ids=CASES.keys())
def test_other_calls_recorded_as_several_nodes_are_one_op(case: str) -> None:
    build, label, inputs = CASES[case]
    names = build()
    out = names["out"]
    assert out.grad_fn.composite is not None and out.grad_fn.composite.internal_nodes(out.grad_fn)
    g = build_graph(names)
    op = the_call(g, "out")
    assert g.nodes[op]["label"] == label
    assert operands(g, op) == inputs
    # nothing but the call: its operands, its op, its result (and what the operands came from)
    inside = nx.ancestors(g, op)
    assert all(g.nodes[n]["type"] == "tensor" for n in g.predecessors(op))
    assert len(ops(g)) == 1 + sum(1 for n in inside if g.nodes[n]["type"] == "op")
    assert nx.is_directed_acyclic_graph(g)


def test_calls_recorded_as_one_node_are_drawn_as_before() -> None:
    x, W = _x(), gv.ones(4, 2)
    with_same_shape = F.mse_loss(x, gv.zeros(3, 4))
    with warnings.catch_warnings():  # "a target size that is different to the input size"
        warnings.simplefilter("ignore")
        broadcast_target = F.mse_loss(x, gv.zeros(4))
    for out, label, name in (
        (with_same_shape, "mse_loss", "MseLossBackward0"),
        (x @ W, "mm", "MmBackward0"),
        (x[1], "select(idx=(1,))", "SelectBackward0"),
        (gv.softmax(x, 1), "softmax(dim=1)", "SoftmaxBackward0"),
        (x.reshape(12), "view(shape=(12,))", "ViewBackward0"),
        (x / 2, "div", "DivBackward0"),
    ):
        assert out.grad_fn.composite is None
        g = build_graph(out)
        (op,) = ops(g)
        assert (g.nodes[op]["label"], g.nodes[op]["name"], g.nodes[op]["parts"]) == (label, name, (name,))
    # One node, but of a target the call expanded itself: drawn as the call, from what was passed.
    assert broadcast_target.grad_fn.composite is not None
    g = build_graph(broadcast_target)
    (op,) = ops(g)
    assert (g.nodes[op]["label"], g.nodes[op]["parts"]) == ("mse_loss", ("MseLossBackward0",))
    assert sorted(g.nodes[u]["shape"] for u in g.predecessors(op)) == [(3, 4), (4,)]


def test_nothing_is_noted_without_a_graph_and_ordinary_ops_carry_nothing() -> None:
    X, W, b = gv.ones(5, 4), gv.ones(3, 4, requires_grad=True), gv.zeros(3, requires_grad=True)
    with gv.no_grad():
        assert F.linear(X, W, b).grad_fn is None
    assert F.linear(X, W.detach(), b.detach()).grad_fn is None
    y = W * 2 + 1
    assert y.grad_fn.composite is None and Node.composite is None
    assert "composite" not in vars(y.grad_fn)  # a class default: ordinary ops set nothing


# --- the MLP example ---------------------------------------------------------------------------


def test_mlp_example_is_one_op_per_call_and_fewer_ranks() -> None:
    s = examples.mlp()
    tensors = s.tensors(include_hidden=False)
    g = build_graph(tensors)
    labels = [g.nodes[n]["label"] for n in nx.topological_sort(g) if g.nodes[n]["type"] == "op"]
    assert labels == ["linear", "tanh", "linear", "cross_entropy"]
    # one op node per op the session recorded, each from the operands it recorded
    recorded = [e for e in s.entries if e.kind == "op"]
    assert len(recorded) == len(labels)
    for e in recorded:
        assert operands(g, the_call(g, e.name)) == list(s.operands(e.name))
    # only the session's tensors: no t(W1), no log_softmax(logits)
    assert sorted(shown(g, n) for n in g if g.nodes[n]["type"] == "tensor") == sorted(tensors)
    ranks = nx.dag_longest_path_length(g)
    height = layout(g, prefer="builtin").height

    # The same session drawn step by step (as before calls were folded) is taller.
    strip_calls([tensors["loss"]])
    steps = build_graph(tensors)
    assert ranks == 8 and nx.dag_longest_path_length(steps) == 12
    assert height < layout(steps, prefer="builtin").height
    assert {"t(W1)", "t(W2)", "log_softmax(logits)"} <= {a.get("expr") for _, a in steps.nodes(data=True)}


def test_mlp_example_autograd_view_keeps_every_node() -> None:
    s = examples.mlp()
    ag = build_graph(s.tensors(include_hidden=False), view=AUTOGRAD)
    backward = sorted(a["name"] for _, a in ag.nodes(data=True) if a["type"] == "backward")
    assert backward == sorted(
        ["TBackward0", "AddmmBackward0"] * 2 + ["TanhBackward0", "LogSoftmaxBackward0", "NllLossBackward0"]
    )
    assert all("parts" not in a for _, a in ag.nodes(data=True))


# --- what the other nodes keep ------------------------------------------------------------------


def _mlp_program() -> dict:
    X = gv.tensor(np.linspace(-1, 1, 20, dtype=np.float32).reshape(5, 4))
    W = gv.tensor(np.linspace(-0.5, 0.5, 32, dtype=np.float32).reshape(8, 4), requires_grad=True)
    b = gv.zeros(8, requires_grad=True)
    target = gv.tensor([0, 1, 2, 3, 4])
    z = F.linear(X, W, b)
    loss = F.cross_entropy(z, target)
    return dict(X=X, W=W, b=b, target=target, z=z, loss=loss)


def test_gradients_and_saved_tensors_of_a_call() -> None:
    names = _mlp_program()
    g = build_graph(names)
    lin = the_call(g, "z")
    # what the steps saved for backward: addmm's two matrices (X and t(W)); log_softmax's output
    assert g.nodes[lin]["saved"] == [(5, 4), (4, 8)] and not g.nodes[lin]["saved_freed"]
    assert g.nodes[the_call(g, "loss")]["saved"] == [(5, 8)]
    names["loss"].backward()
    g = build_graph(names)
    lin = the_call(g, "z")
    assert g.nodes[lin]["saved"] == [(5, 4), (4, 8)] and g.nodes[lin]["saved_freed"]
    state = {n: g.nodes[tensor_node(g, n)]["grad_stats"].state for n in ("W", "b", "z", "loss")}
    # every tensor coloured: W and b by .grad, z and loss by what the engine kept for drawings
    assert state == {"W": FINITE, "b": FINITE, "z": FINITE, "loss": FINITE}
    assert [g.nodes[tensor_node(g, n)]["kept_by_gradviz"] for n in ("W", "z", "loss")] == [False, True, True]
    # the backward graph still badges what each step saved, drawn only now
    ag = build_graph(names, view=AUTOGRAD)
    (addmm,) = [a for _, a in ag.nodes(data=True) if a.get("name") == "AddmmBackward0"]
    assert addmm["saved"] == [(5, 4), (4, 8)] and addmm["saved_freed"]


def test_ids_stay_the_same_as_the_graph_grows() -> None:
    names = _mlp_program()
    ids = NodeIds()
    before = build_graph({k: names[k] for k in ("X", "W", "b", "z")}, ids=ids)
    after = build_graph(names, ids=ids)
    for n, a in before.nodes(data=True):
        assert n in after and after.nodes[n]["label"] == a["label"]
    assert set(before.edges) <= set(after.edges)
    # a fresh registry numbers the same computation the same way, inputs first
    again = build_graph(_mlp_program())
    assert sorted(again.nodes) == sorted(build_graph(_mlp_program()).nodes)
    assert sorted(again.edges) == sorted(build_graph(_mlp_program()).edges)
    assert operands(again, the_call(again, "z")) == ["X", "W", "b"]


def test_unnamed_results_read_like_the_call() -> None:
    X, W, b, v = gv.ones(5, 4), gv.ones(3, 4, requires_grad=True), gv.zeros(3, requires_grad=True), _v()
    A = gv.ones(2, 3, 4)
    g = build_graph([F.linear(X, W, b), 2 / v, A @ v], names=dict(X=X, W=W, b=b, v=v, A=A))
    exprs = {a.get("expr") for _, a in g.nodes(data=True)}
    assert {"linear(X, W, b)", "2.0 / v", "A @ v"} <= exprs


def test_in_place_changes_around_a_call() -> None:
    x = gv.tensor([[1.0, 2.0, 3.0, 4.0]], requires_grad=True)
    W = gv.ones(3, 4, requires_grad=True)
    h = x * 1
    z = F.linear(h, W)
    h.mul_(2)  # the call read h's old version
    z.add_(1)  # and its result is changed afterwards
    g = build_graph(dict(x=x, W=W, h=h, z=z))
    assert nx.is_directed_acyclic_graph(g)
    (lin,) = [n for n in ops(g) if g.nodes[n]["op"] == "linear"]
    old_h, w_node = (u for u, _, e in sorted(g.in_edges(lin, data=True), key=lambda e: e[2]["args"]))
    assert w_node == tensor_node(g, "W") and old_h != tensor_node(g, "h")
    assert g.has_edge(old_h, the_call(g, "h"))  # the old h is what mul_ changed
    (old_z,) = g.successors(lin)
    assert old_z != tensor_node(g, "z") and g.has_edge(old_z, the_call(g, "z"))


@pytest.mark.parametrize("op", ["linear", "cross_entropy", "mse_loss", "matmul", "outer", "index", "div"])
def test_each_call_has_a_local_derivative_to_explain(op: str) -> None:
    # a call's node name is its steps' ("TBackward0 + AddmmBackward0"): found by the op's name
    assert local_derivative("AB0 + CD0", op)


def test_a_tensor_passed_into_a_folded_call_is_no_output() -> None:
    x = gv.ones(2, 3, 4)  # no grad, 3-D: linear folds it through a reshape the view doesn't draw
    W = gv.ones(5, 4, requires_grad=True)
    b = gv.zeros(5, requires_grad=True)
    h = gv.nn.functional.linear(x, W, b)
    g = build_graph({"x": x, "W": W, "b": b, "h": h})
    names = {a.get("name"): n for n, a in g.nodes(data=True) if a.get("type") == "tensor"}
    assert g.graph["outputs"] == [names["h"]]
    assert not g.nodes[names["x"]].get("is_output")


def test_a_call_that_records_one_node_of_its_own_tensors_is_still_one_op() -> None:
    # With W frozen, linear records only MmBackward0 / AddmmBackward0, of x and W.t(): drawn
    # as recorded, W would hang unconnected beside an unnamed transposed copy.
    x = gv.ones(4, 3, requires_grad=True)
    W = gv.ones(2, 3)
    b = gv.zeros(2, requires_grad=True)
    h = gv.nn.functional.linear(x, W, b)
    h2 = gv.nn.functional.linear(x, W)
    g = build_graph({"x": x, "W": W, "b": b, "h": h, "h2": h2})
    names = {n: a.get("name") for n, a in g.nodes(data=True)}
    ops = [n for n, a in g.nodes(data=True) if a.get("type") == "op"]
    assert sorted(g.nodes[n]["label"] for n in ops) == ["linear", "linear"]
    inputs = sorted(sorted(names[u] for u in g.predecessors(n)) for n in ops)
    assert inputs == [["W", "b", "x"], ["W", "x"]]
    assert all(
        a.get("name") in {"x", "W", "b", "h", "h2"}
        for _, a in g.nodes(data=True)
        if a.get("type") == "tensor"
    )
