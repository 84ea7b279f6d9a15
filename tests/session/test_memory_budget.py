"""One memory budget for a session: tensors, saved buffers, the log and the undo history; ops
priced before they run; Stop between ops; deleted tensors leave the log."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradviz.session.console import Console
from gradviz.session.document import Session, SessionError, StoppedError, compacted
from gradviz.session.footprint import parse_bytes
from gradviz.session.log import Leaf

MB = 2**20


def run(c: Console, source: str) -> str:
    r = c.run(source)
    assert r.ok, r.error
    return r.output


def test_many_allowed_ops_cannot_add_up_past_the_budget() -> None:
    """Each op is far below the element limit; together they cross the budget, and the one
    that would is refused with the figures, leaving the session as it was."""
    s = Session(memory_budget=64 * MB)
    c = Console(s)
    run(c, "x = torch.ones(2**20)")  # 4 MB, shared by the log and the tensor
    made = 0
    for i in range(20):
        r = c.run(f"y{i} = x * {i}")
        if not r.ok:
            break
        made += 1
    assert 5 <= made < 20
    assert r.error_type == "MemoryError"
    assert "memory budget" in r.error and "64.0 MB" in r.error and "nothing was allocated" in r.error
    before = s.entries
    assert not c.run("z = x + 1").ok and s.entries == before
    assert s.memory_use().total <= s.memory_budget


def test_a_delete_frees_room_under_the_budget() -> None:
    s = Session(memory_budget=28 * MB)
    c = Console(s)
    run(c, "x = torch.ones(2**20)\na = x * 2\nb = x * 3\nd = x * 4")  # 16 MB
    assert "memory budget" in c.run("e = torch.ones(2**22)").error  # 16 MB more
    run(c, "del a\ndel b\ndel d")
    run(c, "e = torch.ones(2**21)")


def test_views_count_once_and_gradients_count() -> None:
    s = Session()
    c = Console(s)
    run(c, "w = torch.ones(1000, 1000, requires_grad=True)")
    use = s.memory_use()
    assert (use.tensors, use.log) == (0, 4_000_000)  # the leaf's values are the log's array
    run(c, "v = w.T")
    assert s.memory_use().total == use.total  # a view of w's memory
    run(c, "y = (w * 2).sum()\ny.backward()")
    after = s.memory_use()
    assert after.tensors >= 3 * 4_000_000  # w*2 and the gradients of w and w*2
    run(c, "w.grad = None")
    assert s.memory_use().tensors == after.tensors - 4_000_000


def test_the_undo_history_keeps_what_its_window_needs_and_no_more() -> None:
    """Issue 10's scenario, scaled down: twelve cells re-assigning a big tensor."""
    s = Session(undo_memory=8 * MB)
    c = Console(s)
    for _ in range(12):
        run(c, "x = torch.ones(2**20)")  # 4 MB each
    use = s.memory_use()
    assert len([e for e in s.entries if isinstance(e, Leaf)]) == 1  # the old x's left the log
    assert use.log == 4 * MB
    assert use.history <= 8 * MB
    assert use.tensors == 0  # the live x's values are the log's array
    steps = 0
    while s.can_undo:
        s.undo()
        steps += 1
    assert 2 <= steps < 12  # the newest steps can still be undone
    assert "x" in s and s.tensor("x").numel() == 2**20


def test_an_expensive_op_is_refused_before_it_runs() -> None:
    c = Console(Session())
    run(c, "a = torch.ones(2048, 2048, dtype=torch.int64)")
    r = c.run("b = a @ a")
    assert r.error_type == "RuntimeError"
    assert (
        "matmul would take about" in r.error
        and "without BLAS" in r.error
        and "nothing was computed" in r.error
    )
    run(c, "f = torch.ones(512, 512)\ng = f @ f")  # BLAS float: quick
    slow = Console(Session(op_seconds=1e-9))
    run(slow, "f = torch.ones(64, 64)")
    assert "longer than this session lets one operation run" in slow.run("g = f @ f").error


def test_stop_ends_a_cell_between_ops_and_undoes_it() -> None:
    s = Session()
    c = Console(s)
    run(c, "x = torch.ones(3)")
    before = s.entries
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 5

    s.stop_requested = stop
    r = c.run("\n".join(f"y{i} = x * {i}" for i in range(50)))
    assert r.error_type == "KeyboardInterrupt" and "stopped" in r.error
    assert s.entries == before and s.names() == ["x"]
    s.stop_requested = None
    run(c, "y = x * 2")


def test_a_rollback_runs_to_the_end_even_when_stop_is_asked() -> None:
    s = Session()
    s.add_leaf("x", [1.0, 2.0])
    s.stop_requested = lambda: True
    with pytest.raises(StoppedError):
        s.apply("mul", ["x", 2.0], name="y")
    s.stop_requested = None
    assert s.names() == ["x"]


def test_budget_setting_parses() -> None:
    assert (
        parse_bytes("4G") == 4 * 2**30
        and parse_bytes("512M") == 512 * MB
        and parse_bytes("1.5GB") == 3 * 2**29
    )
    with pytest.raises(ValueError, match="not a size"):
        parse_bytes("lots")


NAMES = ("a", "b", "c")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["leaf", "op", "del", "backward", "rename"]),
            st.sampled_from(NAMES),
            st.sampled_from(NAMES),
        ),
        max_size=25,
    )
)
def test_compacting_the_log_never_changes_what_it_replays_to(program) -> None:
    s = Session()
    for kind, x, y in program:
        try:
            if kind == "leaf" and x not in s:
                s.add_leaf(
                    x,
                    np.random.default_rng(len(s.entries)).standard_normal(3).astype(np.float32),
                    requires_grad=True,
                )
            elif kind == "op" and y in s and x not in s:
                s.apply("mul", [y, 2.0], name=x)
            elif kind == "del" and x in s:
                s.delete(x)
            elif kind == "backward" and x in s:
                s.apply("sum", [x], name=f"{x}_s")
                s.backward(f"{x}_s")
                s.delete(f"{x}_s")
            elif kind == "rename" and x in s and y not in s:
                s.rename(x, y)
        except SessionError:
            pass
    assert compacted(s.entries) is None  # the live log is compacted already
    fresh = Session()
    fresh.load_entries(s.entries)
    assert fresh.names() == s.names()
    for n in s.names():
        a, b = s.tensor(n), fresh.tensor(n)
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())
        assert (a.grad is None) == (b.grad is None)
        if a.grad is not None:
            assert np.array_equal(a.grad.numpy(), b.grad.numpy())


def test_stop_ends_a_long_backward_between_nodes_and_changes_nothing() -> None:
    s = Session()
    s.add_leaf("a", [1.0, 2.0], requires_grad=True)
    prev = "a"
    for i in range(300):
        prev = s.apply("mul", [prev, 1.01], name=f"v{i}")
    entries = s.entries
    asked = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 50  # inside the backward: it asks before each of its 301 nodes

    s.stop_requested = stop
    with pytest.raises(StoppedError):
        s.backward(prev, gradient=[1.0, 1.0])
    assert 50 < len(asked) < 300
    s.stop_requested = None
    assert s.entries == entries and s.tensor("a").grad is None
    s.backward(prev, gradient=[1.0, 1.0])
    assert s.tensor("a").grad is not None
