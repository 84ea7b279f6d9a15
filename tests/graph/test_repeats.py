"""Loop detection on unrolled loops built with the engine, compared with the loop written."""

from __future__ import annotations

import random
import time
from collections import Counter

import networkx as nx
import pytest

import gradviz as torch
from gradviz.graph.folding import FoldState, body_ops, body_text, fold, folded_view
from gradviz.graph.model import AUTOGRAD, TENSORS, NodeIds, build_graph
from gradviz.graph.repeats import MIN_REPEATS, find_repeats, signature


def leaves():
    x = torch.tensor([0.5, -0.3], requires_grad=True)
    w = torch.tensor([0.9, 1.1], requires_grad=True)
    return x, w


def graph(named, view=TENSORS):
    return build_graph(named, view=view)


def ops_of(g, run, i=0):
    return body_ops(g, run.blocks[i])


def node_of(g, tensor):
    return next(n for n, a in g.nodes(data=True) if a.get("tensor") is tensor)


def check_disjoint(runs):
    seen = set()
    for r in runs:
        if r.parent is None:
            assert not (r.nodes() & seen)
            seen |= r.nodes()


@pytest.mark.parametrize(
    ("step", "ops"),
    [
        (lambda y, x, w: torch.tanh(y), ["tanh"]),
        (lambda y, x, w: torch.tanh(y * w), ["mul", "tanh"]),
        (lambda y, x, w: torch.sigmoid(torch.exp(y * w + x) * 0.5), ["mul", "add", "exp", "mul", "sigmoid"]),
    ],
    ids=["one-op", "two-ops", "five-ops"],
)
def test_chain_of_steps_is_one_run(step, ops):
    x, w = leaves()
    y = x
    for _ in range(12):
        y = step(y, x, w)
    g = graph({"x": x, "w": w, "y": y})
    runs = find_repeats(g)
    assert len(runs) == 1
    run = runs[0]
    assert run.count == 12
    assert ops_of(g, run) == ops and ops_of(g, run, 11) == ops
    inside = run.nodes()
    assert node_of(g, x) not in inside and node_of(g, w) not in inside  # shared, drawn once
    assert node_of(g, y) not in inside  # the named result stays where it was drawn


def test_six_op_body_with_a_neg():
    x, w = leaves()
    y = x
    for _ in range(10):
        y = torch.relu(torch.exp(-(y * w)) + x).tanh()
    g = graph({"y": y, "x": x, "w": w})
    (run,) = find_repeats(g)
    assert run.count == 10
    assert ops_of(g, run) == ["mul", "neg", "exp", "add", "relu", "tanh"]


def test_residual_body():
    x, w = leaves()
    y = x
    for _ in range(8):
        y = y + torch.tanh(y * w)
    for view in (TENSORS, AUTOGRAD):
        g = graph({"y": y, "x": x, "w": w}, view)
        (run,) = find_repeats(g)
        assert run.count == 8
        assert Counter(ops_of(g, run)) == (Counter({"mul": 1, "tanh": 1, "add": 1}))


def test_nested_loops_fold_outer_with_inner_nested():
    x, w = leaves()
    y = x
    for _ in range(4):
        for _ in range(5):
            y = torch.tanh(y * w)
        y = y + x
    g = graph({"y": y, "x": x, "w": w})
    runs = find_repeats(g)
    outer = [r for r in runs if r.parent is None]
    assert len(outer) == 1 and outer[0].count == 4
    assert Counter(ops_of(g, outer[0])) == Counter({"mul": 5, "tanh": 5, "add": 1})
    assert body_text(ops_of(g, outer[0])) == "(mul → tanh) ×5 → add"
    inner = [r for r in runs if r.parent is not None]
    assert inner and all(r.parent[0] == outer[0].id and r.count == 5 for r in inner)
    for r in inner:  # each inside one repetition of the outer loop
        assert r.nodes() <= set(outer[0].blocks[r.parent[1]])
    # Opening the outer loop shows the inner ones folded, each "× 5".
    state = FoldState()
    state.expand(outer[0].id)
    opened = fold(g, runs, state)
    assert sorted(a["count"] for _, a in opened.nodes(data=True) if a["type"] == "repeat") == [5] * len(inner)


def test_two_interleaved_chains_fold_apart():
    x, w = leaves()
    v = torch.tensor([1.2, 0.7], requires_grad=True)
    a, b = x, x
    for _ in range(6):
        a = torch.tanh(a * w)
        b = torch.sigmoid(b * v)
    loss = a.sum() + b.sum()
    g = graph({"loss": loss, "x": x, "w": w, "v": v})
    runs = find_repeats(g)
    check_disjoint(runs)
    bodies = sorted(tuple(ops_of(g, r)) for r in runs)
    assert bodies == [("mul", "sigmoid"), ("mul", "tanh")]
    assert all(r.count == 6 for r in runs)


def test_coupled_chains_are_not_misfolded():
    x, w = leaves()
    a, b = x, x * 2
    for _ in range(6):
        a, b = torch.tanh(a * w + b), torch.sigmoid(b * w + a)
    g = graph({"a": a, "b": b})
    for run in find_repeats(g):  # either nothing, or blocks that really are the same
        first = Counter(ops_of(g, run))
        assert all(Counter(ops_of(g, run, i)) == first for i in range(run.count - 1))


def test_per_step_loss_is_not_misfolded():
    x, w = leaves()
    y, loss = x, (x * 0).sum()
    for _ in range(6):
        y = torch.tanh(y * w)
        loss = loss + (y * y).sum()
    g = graph({"loss": loss, "x": x, "w": w})
    for run in find_repeats(g):
        first = Counter(ops_of(g, run))
        assert all(Counter(ops_of(g, run, i)) == first for i in range(run.count - 1))
        assert node_of(g, w) not in run.nodes()


def test_nothing_repeats():
    x, w = leaves()
    h = torch.relu(x * w)
    h = torch.exp(h + x).sum()
    out = h * 3 - torch.tanh(w).mean()
    assert find_repeats(graph({"out": out, "x": x, "w": w})) == []
    assert find_repeats(graph({"out": out}, AUTOGRAD)) == []


def test_too_few_repetitions_fold_nothing():
    x, w = leaves()
    y = x
    for _ in range(MIN_REPEATS - 1):
        y = torch.tanh(y * w)
    assert find_repeats(graph({"y": y, "x": x, "w": w})) == []


def test_different_shapes_do_not_repeat():
    """A stack of layers of different widths is not one layer applied again."""
    x = torch.ones(1, 8, requires_grad=True)
    h = x
    for width in (7, 6, 5, 4, 3):
        h = torch.tanh(h @ torch.ones(h.shape[1], width))
    assert find_repeats(graph({"h": h, "x": x})) == []


def test_both_views_fold_the_same_loop():
    x, w = leaves()
    y = x
    for _ in range(20):
        y = torch.tanh(y * w + x)
        y.retain_grad()
    y.sum().backward()
    ids = NodeIds()
    t = build_graph({"x": x, "w": w, "y": y}, view=TENSORS, ids=ids)
    a = build_graph({"x": x, "w": w, "y": y}, view=AUTOGRAD, ids=ids)
    for g in (t, a):
        folded = folded_view(g, tensors_graph=t, min_nodes=0)
        groups = [(n, d) for n, d in folded.nodes(data=True) if d["type"] == "repeat"]
        assert len(groups) == 1
        gid, d = groups[0]
        assert d["count"] == 20 and d["label"] == "× 20" and d["body_text"] == "mul → add → tanh"
        assert len(d["grad_norms"]) == 20 and all(v is not None for v in d["grad_norms"])
        # The gradient entering the last repetition is y's: the norm of ones(2).
        assert d["grad_norms"][-1] == pytest.approx(2**0.5)
        assert d["grad_first"] == d["grad_norms"][0] and d["grad_last"] == d["grad_norms"][-1]
        # Shared inputs keep one edge each to the group.
        assert folded.number_of_nodes() < 12
        assert all(folded.in_degree(gid) <= 2 for _ in [0])


def test_ten_thousand_nodes_in_well_under_a_second():
    x, w = leaves()
    y = x
    for _ in range(1700):
        y = torch.tanh(y * w + x)
    g = graph({"y": y, "x": x, "w": w})
    assert g.number_of_nodes() > 10_000
    t0 = time.perf_counter()
    runs = find_repeats(g)
    seconds = time.perf_counter() - t0
    assert [r.count for r in runs] == [1700]
    assert seconds < 1.0, seconds  # about 0.15 s alone; the margin is for a busy machine


def test_an_lstm_like_cell_is_not_misfolded():
    """h and c feed each other every step: never folded wrong."""
    torch.manual_seed(0)
    wi, wf, wg, wo = (torch.randn(4, 4, requires_grad=True) for _ in range(4))
    h, c = torch.zeros(1, 4), torch.zeros(1, 4)
    for _ in range(8):
        z = torch.randn(1, 4) + h
        i, f, g, o = torch.sigmoid(z @ wi), torch.sigmoid(z @ wf), torch.tanh(z @ wg), torch.sigmoid(z @ wo)
        c = f * c + i * g
        h = o * torch.tanh(c)
    for view in (TENSORS, AUTOGRAD):
        gr = graph({"loss": h.sum()}, view)
        for run in find_repeats(gr):
            first = Counter(ops_of(gr, run))
            assert all(Counter(ops_of(gr, run, i)) == first for i in range(run.count - 1))


def lstm(steps: int, named: bool = False):
    """``h, c = cell(x_t, h, c)`` unrolled: a step whose state is two tensors."""
    torch.manual_seed(0)
    hidden = 3
    wx = torch.randn(2, 4 * hidden, requires_grad=True)
    wh = torch.randn(hidden, 4 * hidden, requires_grad=True)
    b = torch.zeros(4 * hidden, requires_grad=True)
    xs = torch.randn(steps, 1, 2)

    def cell(x, h, c):
        i, f, g, o = (x @ wx + h @ wh + b).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c

    h, c = torch.zeros(1, hidden), torch.zeros(1, hidden)
    for t in range(steps):
        h, c = cell(xs[t], h, c)
    loss = h.sum()
    loss.backward()
    return {"loss": loss, "h": h, "wx": wx, "wh": wh, "b": b} if named else {"loss": loss}


@pytest.mark.parametrize("view", [TENSORS, AUTOGRAD])
def test_a_cell_carrying_two_states_folds_every_step(view):
    steps = 12
    g = graph(lstm(steps), view)
    (run,) = find_repeats(g)
    assert run.count == steps
    # One step is the cell: both matmuls, the gates, c's update and h's.
    cell = Counter({"split": 4, "add": 3, "sigmoid": 3, "mul": 3, "mm": 2, "tanh": 2})
    assert all(Counter(ops_of(g, run, i)) == cell for i in range(steps))
    # The steps are disjoint, in order, and each one's nodes are made after the one before's.
    assert len(run.nodes()) == sum(len(b) for b in run.blocks)
    check_disjoint([run])
    folded = fold(g, [run])
    (gid,) = [n for n, a in folded.nodes(data=True) if a["type"] == "repeat"]
    assert folded.nodes[gid]["label"] == f"× {steps}"
    if view == TENSORS:  # the gradient entering each step, read from its carried h
        assert all(v is not None for v in folded.nodes[gid]["grad_norms"])


def test_a_two_state_cell_keeps_its_named_result_and_shared_weights_outside():
    named = lstm(6, named=True)
    g = graph(named)
    (run,) = find_repeats(g)
    inside = run.nodes()
    for name in ("h", "wx", "wh", "b"):
        assert node_of(g, named[name]) not in inside, name
    assert run.count == 6


def test_the_same_work_side_by_side_is_not_a_loop():
    """Twenty equal terms summed: each repeats the others, but none feeds the next."""
    torch.manual_seed(0)
    w = torch.randn(4, requires_grad=True)
    terms = [((torch.randn(4) * w).tanh() * 2).sum() for _ in range(20)]
    for view in (TENSORS, AUTOGRAD):
        assert find_repeats(graph({"loss": torch.stack(terms).sum()}, view)) == []


# --- graphs that once crashed the search, and random ones -------------------------------------


def test_a_value_used_twice_under_one_op():
    """``h`` reaches the ``mul`` by two ways: a child of its post-dominator with no edge to it,
    beside one with an edge (the two once compared as None < tuple)."""
    x = torch.tensor([0.5, 0.1], requires_grad=True)
    h = x.tanh()
    y = (h + x).tanh() * h.tanh()
    for view in (TENSORS, AUTOGRAD):
        assert find_repeats(graph({"y": y.sum()}, view)) == []


@pytest.mark.parametrize("view", [TENSORS, AUTOGRAD])
def test_that_step_thirty_times_is_one_run_of_thirty(view):
    x = torch.tensor([0.5, 0.1], requires_grad=True)
    h = x
    for _ in range(30):
        g = h.tanh()
        h = (g + h).tanh() * g.tanh()
    gr = graph({"y": h.sum()}, view)
    (run,) = find_repeats(gr)
    assert run.count == 30
    assert ops_of(gr, run) == ["tanh", "add", "tanh", "tanh", "mul"]
    assert_translates(gr, run)


def test_an_input_whose_uses_end_a_step_later():
    """``x``'s last use is in the third add, yet it feeds the second: the third step holds a
    node more than the second, whose image one step back does not exist (once an IndexError).
    Only two adds are alike (the first is ``x + x``): nothing folds."""
    x = torch.tensor([0.5, 0.1], requires_grad=True)
    y = x + x
    for _ in range(2):
        y = y + x
    assert find_repeats(graph({"y": y.sum()}, AUTOGRAD)) == []
    for _ in range(4):
        y = y + x
    (run,) = find_repeats(graph({"y": y.sum()}, AUTOGRAD))
    assert run.count == 6


def test_a_side_input_used_again_after_the_step():
    x = torch.tensor([0.5, 0.1], requires_grad=True)
    a, t = x * 0.3, x.tanh()
    y = (t * a) * t
    for view in (TENSORS, AUTOGRAD):
        assert find_repeats(graph({"y": y.sum()}, view)) == []


def assert_translates(g, run):
    """``run``'s blocks are disjoint and each is the one before moved a step on: the same ops
    place for place, each input from inside the run one block further back, each from outside
    it the same node (a shared input). The last block may leave out its trailing result."""
    where = {}
    for i, b in enumerate(run.blocks):
        for k, v in enumerate(b):
            assert v not in where, f"{v} in two blocks of {run.id}"
            where[v] = (i, k)
    for i in range(1, run.count):
        prev, cur = run.blocks[i - 1], run.blocks[i]
        last = i == run.count - 1
        assert len(cur) == len(prev) or (last and len(cur) == len(prev) - 1), (run.id, i)
        for k, w in enumerate(cur):
            v = prev[k]
            assert signature(g.nodes[v]) == signature(g.nodes[w]), (run.id, i, k)
            if i > 1:
                assert g.in_degree(v) == g.in_degree(w), (run.id, i, k)
            for u2 in g.predecessors(w):
                m, q = where.get(u2, (None, None))
                if m == 0:
                    continue  # block 0's counterpart comes from before the run
                u = u2 if m is None else run.blocks[m - 1][q]
                assert g.has_edge(u, v), (run.id, i, k, u2)
                assert g.edges[u, v].get("args") == g.edges[u2, w].get("args"), (run.id, i, k, u2)


def random_chain(rng, n):
    """``n`` ops, each on a recent value: tanh, times a constant, plus or times another value,
    plus one of four shared weights (a review's fuzzer, where 50 of 60 graphs crashed)."""
    params = [torch.tensor([1.0, 2.0], requires_grad=True) for _ in range(4)]
    vals = [torch.tensor([0.5, 0.1], requires_grad=True)]
    for _ in range(n):
        a = vals[-1 - min(int(rng.expovariate(1.5)), len(vals) - 1)]
        r = rng.random()
        if r < 0.3:
            out = a.tanh()
        elif r < 0.65:
            out = a * torch.tensor([rng.random(), 1.0])
        elif r < 0.885:
            out = a + vals[-1 - rng.randrange(min(len(vals), 3))]
        elif r < 0.985:
            out = a * vals[-1 - rng.randrange(min(len(vals), 12))]
        else:
            out = a + rng.choice(params)
        vals.append(out)
    return vals[-1].sum()


def _operand(ref, states, here, params, before):
    kind, i = ref
    if kind == "here":
        return here[i]
    if kind == "weight":
        return params[i]
    if kind == "before" and before is not None:
        return before[i]
    return states[i if kind == "state" else 0]


def random_loop(rng):
    """A random step of 1-8 ops on one or two states, earlier results of the step, shared
    weights and the step before's results, unrolled 1-12 times."""
    params = [torch.tensor([1.0, 2.0], requires_grad=True) for _ in range(3)]
    states = [torch.tensor([0.5, 0.1], requires_grad=True) for _ in range(rng.choice([1, 1, 2]))]
    body = []
    for j in range(rng.randint(1, 8)):

        def operand(j=j):
            r = rng.random()
            if r < 0.35 or j == 0:
                return ("state", rng.randrange(len(states)))
            if r < 0.75:
                return ("here", rng.randrange(j))
            return ("weight", rng.randrange(3)) if r < 0.9 else ("before", rng.randrange(j))

        body.append((rng.choice(["tanh", "sigmoid", "half", "mul", "add"]), operand(), operand()))
    outs = [rng.randrange(len(body)) for _ in states]
    before = None
    for _ in range(rng.randint(1, 12)):
        here = []
        for op, *refs in body:
            x, y = (_operand(ref, states, here, params, before) for ref in refs)
            if op in ("tanh", "sigmoid"):
                here.append(getattr(x, op)())
            elif op == "half":
                here.append(x * 0.5)
            else:
                here.append(x * y if op == "mul" else x + y)
        before, states = here, [here[o] for o in outs]
    return sum(s.sum() for s in (states if rng.random() < 0.5 else before))


def test_random_graphs_fold_only_what_translates():
    """Sixty random chains of 50-400 ops and sixty random unrolled loops, both views taken in
    turn: the search never raises, every run it finds is a chain of translates, top-level runs
    are disjoint, and the folded graph has no cycle (a wrong fold makes one)."""
    found = 0
    for seed in range(60):
        rng = random.Random(seed)
        view = (TENSORS, AUTOGRAD)[seed % 2]
        for loss in (random_chain(rng, rng.randint(50, 400)), random_loop(rng)):
            g = graph({"loss": loss}, view)
            runs = find_repeats(g)
            check_disjoint(runs)
            for run in runs:
                assert run.count >= MIN_REPEATS
                assert_translates(g, run)
            folded = fold(g, runs)
            assert nx.is_directed_acyclic_graph(folded), seed
            assert set(folded.graph.get("folded_into", {})) <= set(g)
            found += len(runs)
    assert found > 100  # the graphs do repeat: the checks above ran on something
