"""The graph model against the engine (and PyTorch as oracle), in both views, on awkward cases."""

from __future__ import annotations

import warnings

import networkx as nx
import numpy as np
import pytest

import gradviz as gv
from gradviz.engine.function import AccumulateGrad
from gradviz.graph.colors import FINITE, NO_GRAD
from gradviz.graph.model import (
    NodeIds,
    build_graph,
    names_from_namespace,
    op_label,
    params_text,
    preview,
)

# --- programs, written once for gradviz and for torch ----------------------------------------


def seed(T):
    x = T.tensor(3.0)
    w = T.tensor(4.0, requires_grad=True)
    b = T.tensor(5.0, requires_grad=True)
    y = w * x + b
    return [y], dict(x=x, w=w, b=b, y=y)


def mlp(T):
    F = T.nn.functional
    x = T.tensor(np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4))
    W1 = T.tensor(np.linspace(-0.5, 0.5, 32, dtype=np.float32).reshape(4, 8), requires_grad=True)
    b1 = T.zeros(8, requires_grad=True)
    W2 = T.tensor(np.linspace(0.3, -0.3, 24, dtype=np.float32).reshape(8, 3), requires_grad=True)
    b2 = T.zeros(3, requires_grad=True)
    h = T.relu(x @ W1 + b1)
    loss = F.nll_loss(F.log_softmax(h @ W2 + b2, dim=1), T.tensor([0, 2]))
    return [loss], dict(x=x, W1=W1, b1=b1, W2=W2, b2=b2, h=h, loss=loss)


def shared(T):
    a = T.tensor([1.0, -2.0], requires_grad=True)
    z = a * a  # one tensor used twice by one op
    y1 = (z + z * 3).sum()
    y2 = z.mean()  # a second output sharing z
    return [y1, y2], dict(a=a, z=z, y1=y1, y2=y2)


def detached(T):
    w = T.tensor([1.0, 2.0], requires_grad=True)
    y = w * 2
    d = y.detach()  # the branch is cut here
    out = (d * w).sum()
    return [out], dict(w=w, y=y, d=d, out=out)


def no_grad_mix(T):
    x = T.tensor([1.0, 2.0])
    c = T.tensor([3.0, 4.0])
    w = T.tensor(0.5, requires_grad=True)
    with T.no_grad():
        k = w * 10  # computed without recording: a constant
    y = ((x + c) * w + k).sum()
    return [y], dict(x=x, c=c, w=w, k=k, y=y)


def no_grad_inputs(T):
    """Inputs that take no gradient: a loss's targets, where's condition, an index mask."""
    F = T.nn.functional
    x = T.tensor([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]], requires_grad=True)
    keep = x > 0
    cols = T.tensor([True, False, True])
    target = T.tensor([1, 0])
    h = T.where(keep, x, x * 0.1)[:, cols]
    loss = F.cross_entropy(h, target)
    return [loss], dict(x=x, keep=keep, cols=cols, target=target, h=h, loss=loss)


def composite_calls(T):
    """Calls that PyTorch records as several backward nodes: one op each in the Tensors view."""
    F = T.nn.functional
    x = T.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4), requires_grad=True)
    W = T.tensor(np.linspace(0.5, -0.5, 8, dtype=np.float32).reshape(2, 4), requires_grad=True)
    b = T.tensor([0.1, -0.2], requires_grad=True)
    v = T.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    xs = T.tensor(np.linspace(-2, 2, 24, dtype=np.float32).reshape(2, 3, 4))
    z = F.linear(x, W, b)  # TBackward0, AddmmBackward0
    z3 = F.linear(xs, W, b)  # a folded batch: TBackward0, AddmmBackward0, ViewBackward0
    zv = F.linear(v, W)  # 1-d input, no bias: a matmul inside the linear
    ce = F.cross_entropy(z, T.tensor([0, 1, 1]))  # LogSoftmaxBackward0, NllLossBackward0
    cp = F.cross_entropy(z, T.tensor([[0.2, 0.8], [0.5, 0.5], [1.0, 0.0]]))  # class probabilities
    mse = F.mse_loss(z, T.tensor([[1.0, 0.0]] * 3))  # one node: drawn as it is
    with warnings.catch_warnings():  # "a target size that is different to the input size"
        warnings.simplefilter("ignore")
        mseb = F.mse_loss(b, T.ones(3, 2))  # b broadcast: ExpandBackward0 first
    mm = v @ x.t()  # 1-d @ 2-d: UnsqueezeBackward0, MmBackward0, SqueezeBackward4
    bm = xs @ W.t()  # 3-d @ 2-d, folded: MmBackward0, UnsafeViewBackward0
    o = T.outer(v, b)
    r = x.t().reshape(12)  # not viewable: CloneBackward0, UnsafeViewBackward0
    s = x[0, 1:3]  # SelectBackward0, SliceBackward0
    sm = T.softmax(x, 1, dtype=T.float64)  # ToCopyBackward0, SoftmaxBackward0
    rd = 2 / v  # ReciprocalBackward0, MulBackward0
    parts = (z, z3, zv, mm, bm, o, r, s, sm.float(), rd)
    total = ce + cp + mse + mseb
    for p in parts:
        total = total + p.sum()
    names = dict(x=x, W=W, b=b, v=v, xs=xs, z=z, z3=z3, zv=zv, ce=ce, cp=cp, mse=mse, mseb=mseb)
    names.update(mm=mm, bm=bm, o=o, r=r, s=s, sm=sm, rd=rd, total=total)
    return [total], names


PROGRAMS = [seed, mlp, shared, detached, no_grad_mix, no_grad_inputs, composite_calls]


# --- structure checks against the engine ------------------------------------------------------


def _reachable(outputs):
    seen, stack = {}, [t.grad_fn for t in outputs if t.grad_fn is not None]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen[id(n)] = n
        stack += [f for f, _ in n.next_functions if f is not None]
    return list(seen.values())


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__)
def test_tensors_view_matches_the_engine(program):
    outputs, names = program(gv)
    g = build_graph(outputs, names=names)
    nodes = [n for n in _reachable(outputs) if not isinstance(n, AccumulateGrad)]
    ops = [n for n, a in g.nodes(data=True) if a["type"] == "op"]
    # every backward node is drawn once: as an op of its own, or as a step of one call's op
    # (cross_entropy: LogSoftmaxBackward0 and NllLossBackward0 are one op)
    assert sorted(p for o in ops for p in g.nodes[o]["parts"]) == sorted(n.name() for n in nodes)
    for o in ops:
        a = g.nodes[o]
        # every argument position has exactly one incoming tensor edge; exactly one output edge
        args = sorted(i for _, _, e in g.in_edges(o, data=True) for i in e["args"])
        assert args == list(range(len(args)))
        assert all(g.nodes[u]["type"] == "tensor" for u, _ in g.in_edges(o))
        (succ,) = g.successors(o)
        assert g.nodes[succ]["type"] == "tensor" and g.nodes[succ]["shape"] == a["shape"]
    assert nx.is_directed_acyclic_graph(g)
    # the outputs are drawn under their names
    assert {g.nodes[o]["name"] for o in g.graph["outputs"]} == {
        k for k, t in names.items() if any(t is o for o in outputs)
    }


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__)
def test_autograd_view_is_pytorchs_backward_graph(program):
    torch = pytest.importorskip("torch")

    def torch_graph(outputs):
        g = nx.DiGraph()
        seen, stack = set(), [t.grad_fn for t in outputs]
        while stack:
            n = stack.pop()
            if n is None or n in seen:
                continue
            seen.add(n)
            g.add_node(id(n), name=n.name())
            for f, _ in n.next_functions:
                if f is not None:
                    g.add_edge(id(f), id(n))
                    stack.append(f)
        return g

    ours = build_graph(program(gv)[0], view="autograd")
    fns = ours.subgraph(n for n, a in ours.nodes(data=True) if a["type"] in ("backward", "accumulate")).copy()
    for n in fns:
        fns.nodes[n]["name"] = ours.nodes[n]["name"].replace("gradviz::autograd::", "")
    theirs = torch_graph(program(torch)[0])
    for n in theirs:
        theirs.nodes[n]["name"] = theirs.nodes[n]["name"].replace("torch::autograd::", "")
    assert nx.is_isomorphic(fns, theirs, node_match=lambda a, b: a["name"] == b["name"])


def test_autograd_view_has_leaves_outputs_and_saved_badges():
    outputs, names = seed(gv)
    (y,) = outputs
    before = build_graph(y, view="autograd", names=names)
    mul = next(n for n, a in before.nodes(data=True) if a.get("name") == "MulBackward0")
    assert before.nodes[mul]["saved"] and not before.nodes[mul]["saved_freed"]
    y.backward()
    g = build_graph(y, view="autograd", names=names)
    kinds = {a["label"]: a["type"] for _, a in g.nodes(data=True)}
    assert kinds["w"] == kinds["b"] == kinds["y"] == "tensor"
    assert "x" not in kinds  # a constant has no place in the backward graph
    acc = [n for n, a in g.nodes(data=True) if a["type"] == "accumulate"]
    assert {g.nodes[next(iter(g.predecessors(n)))]["name"] for n in acc} == {"w", "b"}
    # saved tensors stay a badge (an attribute), never extra nodes, and say they were freed
    assert g.nodes[mul]["saved"] == before.nodes[mul]["saved"] and g.nodes[mul]["saved_freed"]
    assert len(g) == 7
    (out,) = g.graph["outputs"]
    assert g.nodes[out]["name"] == "y" and g.nodes[out]["kind"] == "output"


def test_seed_tensors_view_kinds_and_values():
    outputs, names = seed(gv)
    outputs[0].backward()
    g = build_graph(outputs, names=names)
    by_name = {a["name"]: a for _, a in g.nodes(data=True) if a["type"] == "tensor" and a["name"]}
    assert by_name["x"]["kind"] == "constant" and by_name["x"]["grad_stats"].state == NO_GRAD
    assert by_name["w"]["kind"] == "leaf" and by_name["w"]["grad"] == "3.0"
    assert by_name["b"]["grad_stats"].state == FINITE and by_name["b"]["grad_stats"].norm == 1.0
    assert by_name["y"]["kind"] == "output" and by_name["y"]["value"] == "17.0"
    # y.grad is None, as in PyTorch; the drawing shows the gradient gradviz kept, marked so
    assert by_name["y"]["grad_stats"].state == FINITE and by_name["y"]["kept_by_gradviz"]
    assert by_name["w"]["kept_by_gradviz"] is False
    inter = [a for _, a in g.nodes(data=True) if a.get("kind") == "intermediate"]
    assert len(inter) == 1 and inter[0]["value"] == "12.0" and inter[0]["shape"] == ()


def test_shared_subexpression_and_several_outputs():
    outputs, names = shared(gv)
    g = build_graph(outputs, names=names)
    z = next(n for n, a in g.nodes(data=True) if a.get("name") == "z")
    a = next(n for n, a in g.nodes(data=True) if a.get("name") == "a")
    (mul,) = g.successors(a)
    assert g.edges[a, mul]["args"] == (0, 1)  # a * a: one edge standing for both arguments
    assert g.out_degree(z) == 3  # z + ..., z * 3, z.mean()
    assert sorted(g.nodes[o]["name"] for o in g.graph["outputs"]) == ["y1", "y2"]
    assert all(g.nodes[o]["kind"] == "output" for o in g.graph["outputs"])


def test_detached_branch_is_a_constant_with_a_dashed_link():
    outputs, names = detached(gv)
    g = build_graph([*outputs, names["y"]], names=names)  # y is not upstream of out: draw both
    node = {a["name"]: n for n, a in g.nodes(data=True) if a.get("name")}
    assert g.nodes[node["d"]]["kind"] == "constant" and not g.nodes[node["d"]]["requires_grad"]
    assert g.edges[node["y"], node["d"]]["kind"] == "detach"
    # ... and no gradient path through it
    data = nx.DiGraph((u, v) for u, v, e in g.edges(data=True) if e["kind"] == "data")
    assert not nx.has_path(data, node["w"], node["d"])
    ag = build_graph(outputs, view="autograd", names=names)
    assert "d" not in {a.get("name") for _, a in ag.nodes(data=True)}


def test_tensors_without_gradient_and_no_grad_blocks():
    outputs, names = no_grad_mix(gv)
    g = build_graph(outputs, names=names)
    kinds = {a["name"]: a["kind"] for _, a in g.nodes(data=True) if a["type"] == "tensor" and a["name"]}
    # x + c was not recorded (neither needs grad), so x and c are not in the graph: their sum
    # arrives as one unnamed constant, as in PyTorch's graph
    assert kinds == {"w": "leaf", "k": "constant", "y": "output"}
    assert "[4.0, 6.0]" in {a["value"] for _, a in g.nodes(data=True) if a.get("kind") == "constant"}
    # An output with no history at all is a graph of one node in both views.
    lone = gv.tensor([1.0, 2.0]) * 3
    for view in ("tensors", "autograd"):
        g1 = build_graph(lone, view=view, names={"lone": lone})
        assert len(g1) == 1
        (a,) = (a for _, a in g1.nodes(data=True))
        assert a["name"] == "lone" and a["grad_stats"].state == NO_GRAD


def test_inputs_without_gradient_are_drawn_as_inputs():
    """nll_loss's target, where's condition and an index mask get no edge in the backward graph
    (PyTorch's next_functions leave them out) but are inputs of their op in the Tensors view."""
    _, names = no_grad_inputs(gv)
    g = build_graph(names)  # as a session draws it: every name, outputs found
    node = {a["name"]: n for n, a in g.nodes(data=True) if a.get("name")}
    for src, op in (("keep", "where"), ("cols", "index"), ("target", "cross_entropy")):
        (op_node,) = g.successors(node[src])
        assert g.nodes[op_node]["op"] == op and g.nodes[node[src]]["kind"] == "constant"
        assert g.edges[node[src], op_node]["kind"] == "data"
    # the target's values are on its node; the label need not repeat them
    assert g.nodes[next(g.successors(node["target"]))]["label"] == "cross_entropy"
    assert [g.nodes[o]["name"] for o in g.graph["outputs"]] == ["loss"]
    # an unnamed where reads as written, condition first
    w = gv.tensor([1.0, -1.0], requires_grad=True)
    m = w > 0
    y = gv.where(m, w, w * 2).sum()
    exprs = {a.get("expr") for _, a in build_graph(y, names={"m": m, "w": w, "y": y}).nodes(data=True)}
    assert "where(m, w, w * 2.0)" in exprs
    # the backward graph is PyTorch's: no node or edge for them
    ag = build_graph(names, view="autograd")
    drawn = {a.get("name") for _, a in ag.nodes(data=True)}
    assert not drawn & {"keep", "cols", "target"}
    (nll,) = [n for n, a in ag.nodes(data=True) if a.get("name") == "NllLossBackward0"]
    assert [ag.nodes[u]["name"] for u in ag.predecessors(nll)] == ["LogSoftmaxBackward0"]
    assert "target=" in ag.nodes[nll]["params"]  # its value stays described there


def test_wrapped_python_numbers_are_labelled_by_value():
    w = gv.tensor(2.0, requires_grad=True)
    y = w * 2 + 0.5
    g = build_graph(y)
    labels = {a["label"] for _, a in g.nodes(data=True) if a.get("kind") == "constant"}
    assert labels == {"2.0", "0.5"}


def test_in_place_op_makes_two_versions_not_a_loop():
    w = gv.tensor([1.0, 2.0], requires_grad=True)
    y = w * 2
    y += 1
    g = build_graph(y, names={"y": y})
    assert nx.is_directed_acyclic_graph(g)
    tensors = [a for _, a in g.nodes(data=True) if a["type"] == "tensor"]
    assert len(tensors) == 5  # w, the wrapped 2, the old y, the wrapped 1, the new y
    old = [a for a in tensors if a["stale"]]
    assert len(old) == 1 and old[0]["shape"] == (2,) and old[0]["name"] == ""
    assert [a["name"] for a in tensors if a["kind"] == "output"] == ["y"]


def test_retained_intermediate_gets_its_gradient():
    w = gv.tensor([1.0, -2.0], requires_grad=True)
    h = w * 3
    h.retain_grad()
    (h * h).sum().backward()
    g = build_graph(h * 1, names={"h": h})
    a = next(a for _, a in g.nodes(data=True) if a.get("name") == "h")
    assert a["retains_grad"] and a["grad_stats"].state == FINITE
    assert a["grad"] == "[6.0, -12.0]"


def test_graph_stays_walkable_after_backward_frees_buffers():
    outputs, names = mlp(gv)
    before = build_graph(outputs, names=names)
    outputs[0].backward()
    after = build_graph(outputs, names=names)
    assert set(before) == set(after) and set(before.edges) == set(after.edges)
    with pytest.raises(RuntimeError, match="second time"):
        outputs[0].backward()


def test_ids_are_stable_as_the_graph_grows():
    ids = NodeIds()
    outputs, names = seed(gv)
    (y,) = outputs
    g1 = build_graph(y, names=names, ids=ids)
    w2 = gv.tensor(2.0, requires_grad=True)
    z = y * w2
    g2 = build_graph(z, names={**names, "z": z, "w2": w2}, ids=ids)
    assert set(g1) < set(g2)
    for n in g1:
        assert g2.nodes[n]["label"] == g1.nodes[n]["label"]
    assert set(g1.edges) < set(g2.edges)
    # ... and the same computation always numbers the same way, inputs first
    again = build_graph(y, names=names)
    assert list(again.nodes) == list(g1.nodes) and list(again.edges) == list(g1.edges)
    # the views share tensor ids when they share a registry
    ag = build_graph(z, view="autograd", names={"z": z}, ids=ids)
    assert {n for n, a in ag.nodes(data=True) if a["type"] == "tensor"} <= set(g2)


def test_a_session_mapping_draws_every_name_and_finds_the_outputs():
    a = gv.tensor(1.0, requires_grad=True)
    b = a * 2
    c = b + 1
    lone = gv.tensor([1.0])
    g = build_graph({"a": a, "b": b, "c": c, "lone": lone})
    kinds = {x["name"]: x["kind"] for _, x in g.nodes(data=True) if x["type"] == "tensor" and x["name"]}
    assert kinds == {"a": "leaf", "b": "intermediate", "c": "output", "lone": "constant"}
    assert sorted(g.nodes[o]["name"] for o in g.graph["outputs"]) == ["c", "lone"]


def test_names_from_namespaces_skip_private_and_history_names():
    t = gv.tensor(1.0)
    u = gv.tensor(2.0)
    names = names_from_namespace({"_": t, "_3": t, "t": t}, {"t": u, "u": u, "t_global": t})
    assert names == {id(t): "t", id(u): "t"}


def test_deep_chain_does_not_recurse():
    y = gv.tensor(1.0, requires_grad=True)
    x = y
    for _ in range(1500):  # deeper than Python's recursion limit
        x = x * 1.0001
    g = build_graph(x)
    assert sum(1 for _, a in g.nodes(data=True) if a["type"] == "op") == 1500


def test_bad_arguments():
    with pytest.raises(ValueError, match="view"):
        build_graph(gv.tensor(1.0), view="sideways")
    with pytest.raises(TypeError):
        build_graph([gv.tensor(1.0), 3])
    with pytest.raises(TypeError):
        build_graph(gv.tensor(1.0), names={"x": 3})


def _public_entry_points(tmp_path):
    from gradviz.graph.export import export

    return {
        "gradviz.draw()": gv.draw,
        "export()": lambda x: export(x, tmp_path / "g.png"),
        "build_graph()": build_graph,
    }


def test_pytorch_and_gradviz_tensors_in_one_graph_are_refused_up_front(tmp_path):
    torch = pytest.importorskip("torch")
    t = torch.tensor(1.0, requires_grad=True) * 2  # 0-d: iterating it fails deep inside
    mine = gv.tensor(1.0, requires_grad=True) * 2
    for caller, fn in _public_entry_points(tmp_path).items():
        for bad, got in (
            ([mine, t], "torch.Tensor at index 1 of the list"),
            ({"y": mine, "loss": t}, "torch.Tensor for 'loss'"),
        ):
            with pytest.raises(TypeError) as err:
                fn(bad)
            assert str(err.value) == (
                f"{caller} takes gradviz tensors, got {got}; "
                "pass PyTorch tensors and gradviz tensors separately: one graph reads one library"
            )
    assert not (tmp_path / "g.png").exists()


def test_a_pytorch_tensor_is_read_from_torch_s_own_graph(tmp_path):
    torch = pytest.importorskip("torch")
    t = torch.tensor(1.0, requires_grad=True) * 2
    for fn in _public_entry_points(tmp_path).values():
        for ok in (t, [t], {"loss": t}):
            fn(ok)
    g = build_graph(t, view="autograd")
    assert {a["label"] for _, a in g.nodes(data=True) if a["type"] == "backward"} == {"MulBackward0"}


@pytest.mark.parametrize(
    ("bad", "got"),
    [
        (3, "int"),
        (None, "None"),
        ("y", "str"),
        (np.ones(3), "numpy.ndarray"),
        ([gv.tensor(1.0), 2.5], "float at index 1 of the list"),
        ({"y": [1.0]}, "list for 'y'"),
    ],
)
def test_other_non_tensors_are_refused_up_front_by_name(tmp_path, bad, got):
    for caller, fn in _public_entry_points(tmp_path).items():
        with pytest.raises(TypeError) as err:
            fn(bad)
        assert str(err.value).startswith(
            f"{caller} takes gradviz tensors, got {got}; pass a gradviz tensor, a list of them, "
            "or a {name: tensor} dict"
        )


def test_outputs_may_be_any_iterable_of_tensors_even_a_generator():
    w = gv.tensor(2.0, requires_grad=True)
    a, b = w * 3, w + 1
    g = build_graph(t for t in (a, b))
    assert len(g.graph["outputs"]) == 2
    dot = gv.draw(t for t in (a, b))
    assert len(dot.model.graph["outputs"]) == 2


def test_text_helpers():
    assert op_label("MulBackward0") == "mul"
    assert op_label("LogSoftmaxBackward0") == "log_softmax"
    assert op_label("NllLossBackward0") == "nll_loss"
    assert params_text({"dim": 1, "keepdim": False, "dtype": None, "reduction": "mean"}) == "dim=1"
    assert preview(np.float32(4.0)) == "4.0"
    assert preview(np.array([[1, 2], [3, 4]])) == "[[1, 2], [3, 4]]"
    assert preview(np.zeros((3, 3), np.float32)) == "all 0.0"
    assert preview(np.arange(10.0)) == "0.0 .. 9.0"
    assert preview(np.array([True, False, True, True, False])) == "3 of 5 True"
