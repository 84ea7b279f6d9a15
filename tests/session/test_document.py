"""The session model: replay exactness, edit-and-recompute, undo/redo, events, refusals."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradviz as gv
from gradviz.session.document import ReplayCancelledError, Session, SessionError


def seed_session() -> Session:
    s = Session()
    s.add_leaf("x", 3.0)
    s.add_leaf("w", 4.0, requires_grad=True)
    s.add_leaf("b", 5.0, requires_grad=True)
    with s.batch("y = w*x + b"):
        t = s.apply("mul", ["w", "x"], hidden=True)
        s.apply("add", [t, "b"], name="y")
    s.backward("y")
    return s


def state_of(s: Session) -> dict[str, tuple]:
    """Every tensor's name, dtype, value bytes and gradient bytes."""
    out = {}
    for name, t in s.tensors().items():
        g = t._grad
        out[name] = (
            t.dtype.name,
            tuple(t.shape),
            np.asarray(t._data).tobytes(),
            None if g is None else np.asarray(g._data).tobytes(),
            t.requires_grad,
        )
    return out


def test_seed_example_values_and_gradients() -> None:
    s = seed_session()
    assert repr(s.tensor("y")) == "tensor(17., grad_fn=<AddBackward0>)"
    assert s.tensor("w").grad.item() == 3.0
    assert s.tensor("b").grad.item() == 1.0
    assert s.tensor("x").grad is None
    assert s.names() == ["x", "w", "b", "y"]
    assert len(s.names(include_hidden=True)) == 5


def test_replay_rebuilds_every_tensor_and_gradient_bit_for_bit() -> None:
    s = seed_session()
    s.add_leaf("v", gv.randn(4, 3).numpy(), requires_grad=True)
    s.apply("tanh", ["v"], name="h")
    s.apply("sum", ["h"], {"dim": [1]}, name="r")
    s.apply("mean", ["r"], name="loss")
    s.backward("loss")
    fresh = Session()
    fresh.load_entries(s.entries)
    assert state_of(fresh) == state_of(s)


def test_intermediate_gradients_are_kept_and_marked() -> None:
    s = seed_session()
    assert s.tensor("y").grad.item() == 1.0
    assert s.info("y").session_retained
    assert not s.info("w").session_retained
    s.retain_grad("y")
    assert not s.info("y").session_retained


def test_editing_a_leaf_recomputes_forward_and_backward_like_a_fresh_engine_run() -> None:
    s = seed_session()
    s.set_leaf_value("x", 10.0)
    x = gv.tensor(10.0)
    w = gv.tensor(4.0, requires_grad=True)
    b = gv.tensor(5.0, requires_grad=True)
    y = w * x + b
    y.backward()
    assert s.tensor("y").item() == y.item() == 45.0
    assert s.tensor("w").grad.item() == w.grad.item() == 10.0
    assert s.tensor("b").grad.item() == 1.0


def test_editing_an_op_parameter_recomputes_downstream() -> None:
    s = Session()
    s.add_leaf("a", np.arange(6.0, dtype=np.float32).reshape(2, 3), requires_grad=True)
    s.apply("sum", ["a"], {"dim": [0]}, name="c")
    s.apply("sum", ["c"], name="total")
    s.backward("total")
    s.set_param("c", "dim", [1])
    assert s.tensor("c").tolist() == [3.0, 12.0]
    np.testing.assert_array_equal(s.tensor("a").grad.numpy(), np.ones((2, 3)))


def test_a_bad_edit_changes_nothing_and_says_why() -> None:
    s = Session()
    s.add_leaf("a", [1.0, 2.0, 3.0])
    s.add_leaf("b", [1.0, 2.0, 3.0])
    s.apply("add", ["a", "b"], name="c")
    before = state_of(s)
    with pytest.raises(SessionError, match=r"size of tensor a \(4\) must match the size of tensor b \(3\)"):
        s.set_leaf_value("a", [1.0, 2.0, 3.0, 4.0])
    assert state_of(s) == before
    assert s.undo_label == "c = add"


@pytest.mark.parametrize(
    "action, message",
    [
        (lambda s: s.apply("add", ["w", "nope"]), "name 'nope' is not defined"),
        (lambda s: s.backward("y"), "Trying to backward through the graph a second time"),
        (lambda s: s.add_leaf("w", 1.0), "the name 'w' is already taken"),
        (lambda s: s.add_leaf("2x", 1.0), "'2x' is not a valid name"),
        (lambda s: s.add_leaf("torch", 1.0), "'torch' is reserved"),
        (lambda s: s.rename("x", "b"), "the name 'b' is already taken"),
        (lambda s: s.delete("w"), "can't delete 'w': y depends on it"),
        (lambda s: s.add_leaf("i", [1, 2], requires_grad=True), "only Tensors of floating point"),
        (lambda s: s.add_leaf("r", [[1.0, 2.0], [3.0]]), "expected sequence of length 2 at dim 1"),
    ],
)
def test_bad_operations_change_nothing(action, message: str) -> None:
    s = seed_session()
    before, entries = state_of(s), s.entries
    with pytest.raises(SessionError, match=message):
        action(s)
    assert state_of(s) == before
    assert len(s.entries) == len(entries)


def test_non_scalar_backward_needs_a_gradient() -> None:
    s = Session()
    s.add_leaf("a", [1.0, 2.0], requires_grad=True)
    s.apply("mul", ["a", 2.0], name="b")
    with pytest.raises(SessionError, match="grad can be implicitly created only for scalar outputs"):
        s.backward("b")
    s.backward("b", gradient=[1.0, 1.0])
    assert s.tensor("a").grad.tolist() == [2.0, 2.0]


def test_size_limit_refuses_before_allocating() -> None:
    s = Session(max_elements=1000)
    s.add_leaf("a", np.zeros((100, 1), np.float32))
    s.add_leaf("b", np.zeros((1, 100), np.float32))
    with pytest.raises(SessionError, match="more than this session's limit of 1,000"):
        s.apply("add", ["a", "b"])  # would broadcast to 10,000 elements
    with pytest.raises(SessionError, match="limit"):
        s.add_leaf("c", np.zeros(2000, np.float32))
    assert s.names() == ["a", "b"]


def test_events_report_what_changed() -> None:
    s = Session()
    changes = []
    grads = []
    s.changed.connect(changes.append)
    s.gradients_updated.connect(grads.append)
    s.add_leaf("w", 2.0, requires_grad=True)
    s.apply("mul", ["w", "w"], name="y")
    s.backward("y")
    assert changes[0].added == ["w"]
    assert changes[1].added == ["y"]
    assert sorted(changes[2].grads) == ["w", "y"]
    assert grads[-1] and "w" in grads[-1]
    s.rename("w", "weight")
    assert changes[-1].renamed == [("w", "weight")]
    s.undo()
    assert changes[-1].renamed == [("weight", "w")]
    s.changed.disconnect(changes.append)
    s.redo()
    assert changes[-1].renamed == [("weight", "w")]


def test_undo_redo_walk_the_log() -> None:
    s = seed_session()
    full = state_of(s)
    s.undo()  # backward
    assert s.tensor("w").grad is None
    s.undo()  # y = w*x + b, one step
    assert "y" not in s
    assert s.can_redo
    s.redo()
    s.redo()
    assert state_of(s) == full
    assert not s.can_redo


def test_batch_rolls_back_every_part_on_failure() -> None:
    s = seed_session()
    before = state_of(s)
    with pytest.raises(SessionError), s.batch("two things"):
        s.apply("mul", ["w", 2.0], name="z")
        s.apply("add", ["z", "missing"])
    assert state_of(s) == before
    assert "z" not in s


def test_outputs_are_the_tensors_nothing_named_is_computed_from() -> None:
    s = seed_session()
    assert s.outputs() == ["y"]  # w*x is hidden: w is still used by y through it
    s.apply("mul", ["y", 2.0], name="z")
    s.apply("sum", [s.apply("exp", ["w"], hidden=True)], name="e")
    s.add_leaf("lone", [1.0, 2.0], requires_grad=True)
    s.add_leaf("const", 1.0)
    slow = [n for n in s.names() if s.tensor(n).requires_grad and not s.dependents(n, visible=True)]
    assert s.outputs() == slow == ["z", "e", "lone"]


def test_outputs_look_through_hidden_chains_once_not_along_every_path() -> None:
    from gradviz.session.console import Console

    s = Session()
    c = Console(s)
    c.run("y = torch.tensor(1., requires_grad=True)")
    for _ in range(24):  # each rebinding hides the old y, used twice by the new one
        c.run("y = y + y")
    assert s.outputs() == ["y"]  # 2**24 paths lead from the first y; each is looked at once
    s.hide("y")
    assert s.outputs() == []  # hidden leftovers are no outputs (this walk took seconds before)


class RecordingReplayer:
    """Stands in for the GUI's worker: records each call, replays, or cancels when told to."""

    def __init__(self, session: Session, cancel: bool = False) -> None:
        self.session, self.cancel, self.calls = session, cancel, []

    def __call__(self, entries, label: str, cancellable: bool):
        self.calls.append((len(entries), label, cancellable))
        if self.cancel and cancellable:
            raise ReplayCancelledError("undo cancelled; nothing was changed")
        return self.session.replay(entries)


def test_history_rewrites_replay_through_the_replayer_and_rollbacks_cannot_be_cancelled() -> None:
    s = seed_session()
    r = s.replayer = RecordingReplayer(s)
    s.undo()
    s.redo()
    s.set_leaf_value("x", 2.0)
    s.set_requires_grad("x", True)
    assert [(label, c) for _, label, c in r.calls] == [
        ("undo y.backward()", True),
        ("redo y.backward()", True),
        ("edit x", True),
        ("x.requires_grad = True", True),
    ]
    assert s.tensor("w").grad.item() == 2.0  # the edit recomputed the backward: dy/dw = x = 2
    r.calls.clear()
    with pytest.raises(SessionError), s.batch("two things"):
        s.apply("mul", ["w", 2.0], name="z")
        s.apply("add", ["z", "missing"])
    assert r.calls == [(len(s.entries), "undo two things", False)]  # a rollback must finish
    r.calls.clear()
    with pytest.raises(SessionError, match="not defined"):
        s.apply("add", ["w", "missing"])  # one failed entry changes nothing: no replay at all
    assert r.calls == []


def test_a_cancelled_replay_changes_nothing_not_even_the_undo_stacks() -> None:
    s = seed_session()
    s.apply("clamp", ["y"], params={"min": 0.0}, name="c")
    s.set_leaf_value("x", 2.0)
    before, labels = state_of(s), (s.undo_label, s.can_redo, len(s.entries))
    s.replayer = RecordingReplayer(s, cancel=True)
    seen = []
    s.changed.connect(seen.append)
    for step in (s.undo, lambda: s.set_leaf_value("x", 9.0), lambda: s.set_param("c", "min", 30.0)):
        with pytest.raises(ReplayCancelledError):
            step()
    assert state_of(s) == before
    assert (s.undo_label, s.can_redo, len(s.entries)) == labels
    assert seen == []
    s.replayer = None
    s.undo()  # and the same undo still works afterwards
    assert s.tensor("x").item() == 3.0


def test_a_failed_op_keeps_uids_and_links_as_they_were() -> None:
    s = seed_session()
    uid = s._next_uid
    with pytest.raises(SessionError):
        s.apply("add", ["w", "missing"], name="z")
    assert s._next_uid == uid
    s.apply("add", ["w", "b"], name="z")
    assert s.operands("z") == ["w", "b"]
    s.rename("w", "weight")
    assert s.operands("z") == ["weight", "b"]


ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["leaf", "op", "backward", "zero", "edit", "rename", "undo", "redo"]),
        st.integers(0, 50),
        st.floats(-3, 3, allow_nan=False, width=32),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ACTIONS)
def test_random_edit_sequences_always_equal_a_fresh_replay(actions) -> None:
    s = Session()
    for kind, k, v in actions:
        names = s.names()
        try:
            if kind == "leaf" or not names:
                s.add_leaf(s.fresh_name("p"), [v, v + 1.0], requires_grad=k % 2 == 0)
            elif kind == "op":
                op = ["add", "mul", "tanh", "sum", "exp", "sigmoid"][k % 6]
                a = names[k % len(names)]
                args = [a] if op in ("tanh", "sum", "exp", "sigmoid") else [a, names[(k // 3) % len(names)]]
                s.apply(op, args)
            elif kind == "backward":
                s.backward(
                    names[k % len(names)],
                    gradient=None
                    if s.tensor(names[k % len(names)]).dim() == 0
                    else np.ones(s.tensor(names[k % len(names)]).shape, np.float32),
                    retain_graph=k % 3 == 0,
                )
            elif kind == "zero":
                s.zero_grad()
            elif kind == "edit":
                leaves = [n for n in names if s.info(n).is_leaf_entry]
                if leaves:
                    t = s.tensor(leaves[k % len(leaves)])
                    s.set_leaf_value(leaves[k % len(leaves)], np.full(tuple(t.shape), v, dtype=t.dtype.np))
            elif kind == "rename":
                s.rename(names[k % len(names)], s.fresh_name("r"))
            elif kind == "undo":
                s.undo()
            else:
                s.redo()
        except SessionError:
            pass
        fresh = Session()
        fresh.load_entries(s.entries)
        assert state_of(fresh) == state_of(s)


def test_the_callers_no_grad_does_not_change_what_the_log_records() -> None:
    s = Session()
    with gv.no_grad():
        s.add_leaf("w", 2.0, requires_grad=True)
        s.apply("mul", ["w", 3.0], name="y")
        assert not gv.is_grad_enabled()  # the caller's mode is left as it was
    assert s.tensor("y").grad_fn is not None  # recorded, as a replay would record it
    live = state_of(s)
    s.undo()
    s.redo()  # a replay
    assert state_of(s) == live


# --- compacting reads the entries' own pins/concerns, as the switch on kinds did ----------------
def _old_compacted(entries):  # document.compacted at commit fced62a, the oracle
    from gradviz.session.log import Backward, Delete, Leaf, Op, Rename, RetainGrad, SetRequiresGrad, ZeroGrad

    current, touching, pinned, deleted = {}, {}, set(), []
    for i, e in enumerate(entries):
        if isinstance(e, Op):
            pinned.update(current[r] for r in e.refs() if r in current)
        if isinstance(e, (Leaf, Op)):
            current[e.name] = i
            touching[i] = [i]
        elif isinstance(e, Backward):
            if e.target in current:
                pinned.add(current[e.target])
        elif isinstance(e, ZeroGrad):
            if e.names is not None and len(e.names) == 1 and e.names[0] in current:
                touching[current[e.names[0]]].append(i)
            elif e.names is not None:
                pinned.update(current[n] for n in e.names if n in current)
        elif isinstance(e, (RetainGrad, SetRequiresGrad)):
            if e.name in current:
                touching[current[e.name]].append(i)
        elif isinstance(e, Rename):
            if e.old in current:
                k = current.pop(e.old)
                current[e.new] = k
                touching[k].append(i)
        elif isinstance(e, Delete) and e.name in current:
            k = current.pop(e.name)
            touching[k].append(i)
            deleted.append(k)
    drop = {i for k in deleted if k not in pinned for i in touching[k]}
    return [e for i, e in enumerate(entries) if i not in drop] if drop else None


_NAMES = st.sampled_from(["a", "b"])


@st.composite
def _entry(draw):
    from gradviz.session.log import Backward, Delete, Leaf, Op, Rename, RetainGrad, SetRequiresGrad, ZeroGrad

    uid = draw(st.integers(1, 10**6))
    kind = draw(st.sampled_from(["leaf", "op", "backward", "zero", "retain", "flag", "rename", "delete"]))
    if kind == "leaf":
        return Leaf(uid, draw(_NAMES), np.zeros(1))
    if kind == "op":
        refs = draw(st.lists(_NAMES, max_size=3))
        return Op(uid, draw(_NAMES), "add", tuple(("ref", r) for r in refs) + (("const", 1),))
    if kind == "backward":
        return Backward(draw(_NAMES))
    if kind == "zero":
        names = draw(st.none() | st.lists(_NAMES, max_size=3))
        return ZeroGrad(None if names is None else tuple(names))
    if kind == "retain":
        return RetainGrad(draw(_NAMES))
    if kind == "flag":
        return SetRequiresGrad(draw(_NAMES), draw(st.booleans()))
    if kind == "rename":
        return Rename(draw(_NAMES), draw(_NAMES))
    return Delete(draw(_NAMES))


@settings(max_examples=500, deadline=None)
@given(st.lists(_entry(), max_size=25))
def test_compacting_drops_what_it_dropped_before(entries) -> None:
    _same_compaction(entries)


def test_compacting_drops_what_touched_only_a_deleted_tensor() -> None:
    from gradviz.session.log import Delete, Leaf, Op, Rename, RetainGrad, SetRequiresGrad, ZeroGrad

    a = Leaf(1, "a", np.zeros(1))
    for touch in (ZeroGrad(("a",)), RetainGrad("a"), SetRequiresGrad("a", True)):
        _same_compaction([a, touch, Delete("a")])
    _same_compaction([a, Rename("a", "b"), Delete("b")])
    _same_compaction([a, ZeroGrad(("a", "a")), Delete("a")])  # several names: kept
    _same_compaction([a, Op(2, "y", "neg", (("ref", "a"),)), Delete("a")])


def _same_compaction(entries) -> None:
    from gradviz.session.document import compacted

    want, got = _old_compacted(entries), compacted(entries)
    assert (want is None) == (got is None)
    if want is not None:
        assert [id(e) for e in got] == [id(e) for e in want]
