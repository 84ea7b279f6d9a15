"""Issue 15: a console ``for`` loop is one log entry (log.Loop), with its body and count, not
thousands of unrolled entries; undo, redo, save and open treat it as one step, and opening a file
replays it to the tensors PyTorch's own loop computes."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from gradviz import engine
from gradviz.session import fileformat
from gradviz.session.console import Console, records
from gradviz.session.document import ReplayCancelledError, Session, SessionError
from gradviz.session.log import Loop, live_names

SETUP = (
    "import torch\n"
    "inputs = torch.tensor([[73, 67, 43], [91, 88, 64], [87, 134, 58], [102, 43, 37], [69, 96, 70]], "
    "dtype=torch.float32)\n"
    "targets = torch.tensor([[56, 70], [81, 101], [119, 133], [22, 37], [103, 119]], dtype=torch.float32)\n"
    "torch.manual_seed(42)\n"
    "w = torch.randn(2, 3, requires_grad=True)\n"
    "b = torch.randn(2, requires_grad=True)\n"
)
BODY = (
    "    preds = inputs @ w.t() + b\n"
    "    diff = preds - targets\n"
    "    loss = torch.sum(diff * diff) / diff.numel()\n"
    "    loss.backward()\n"
    "    with torch.no_grad():\n"
    "        w -= w.grad * 1e-5\n"
    "        b -= b.grad * 1e-5\n"
    "        w.grad.zero_()\n"
    "        b.grad.zero_()\n"
)


def loop(n: int, extra: str = "") -> str:
    return f"for i in range({n}):\n" + BODY + extra


def with_torch(source: str) -> dict:
    """``source`` run by Python with real torch: what the console must give."""
    ns: dict = {"torch": torch}
    exec(compile(source, "<torch>", "exec"), ns)
    return ns


def typed(*cells: str) -> tuple[Session, Console]:
    s = Session()
    c = Console(s)
    for cell in cells:
        r = c.run(cell)
        assert r.ok, r.text
    return s, c


def arr(s: Session, name: str) -> np.ndarray:
    return s.tensor(name).detach().numpy().copy()


def grad(s: Session, name: str) -> np.ndarray:
    return s.tensor(name).grad.numpy().copy()


def assert_like_torch(s: Session, ns: dict, names: tuple[str, ...] = ("w", "b")) -> None:
    for n in names:
        np.testing.assert_allclose(arr(s, n), ns[n].detach().numpy(), rtol=1e-5, atol=1e-6, err_msg=n)
        if not ns[n].is_leaf:  # the session keeps intermediates' gradients; torch doesn't
            continue
        g, tg = s.tensor(n).grad, ns[n].grad
        if tg is None:
            assert g is None
        else:
            np.testing.assert_allclose(g.numpy(), tg.numpy(), rtol=1e-5, atol=1e-6, err_msg=f"{n}.grad")


def reopened(s: Session, tmp_path: Path, name: str = "s.gradviz") -> Session:
    path = tmp_path / name
    fileformat.save(s, path)
    opened = Session()
    fileformat.open_into(opened, path)
    return opened


def assert_same_tensors(a: Session, b: Session) -> None:
    assert sorted(a.names(include_hidden=True)) == sorted(b.names(include_hidden=True))
    for n in a.names(include_hidden=True):
        np.testing.assert_array_equal(arr(a, n), arr(b, n), err_msg=n)
        ga, gb = a.tensor(n)._grad, b.tensor(n)._grad
        assert (ga is None) == (gb is None), n
        if ga is not None:
            np.testing.assert_array_equal(ga.numpy(), gb.numpy(), err_msg=f"{n}.grad")


def test_a_loop_is_one_entry_that_computes_what_torch_computes() -> None:
    s, c = typed(SETUP)
    n = len(s.entries)
    r = c.run(loop(100))
    assert r.ok, r.text
    assert len(s.entries) == n + 1
    entry = s.entries[-1]
    assert isinstance(entry, Loop) and entry.iterations == 100
    assert entry.source == loop(100).rstrip("\n")
    assert set(entry.reads) == {"inputs", "targets", "w", "b"}
    assert {"preds", "diff", "loss"} <= live_names(s.entries)
    assert_like_torch(s, with_torch(SETUP + loop(100)), ("w", "b", "loss", "preds"))


def test_undo_and_redo_take_the_loop_as_one_step() -> None:
    s, c = typed(SETUP)
    before_w, log = arr(s, "w"), s.entries
    assert c.run(loop(50)).ok
    after_w, after_b, after_grad = arr(s, "w"), arr(s, "b"), grad(s, "w")
    s.undo()
    assert s.entries == log
    np.testing.assert_array_equal(arr(s, "w"), before_w)
    assert "loss" not in s
    s.redo()
    np.testing.assert_array_equal(arr(s, "w"), after_w)
    np.testing.assert_array_equal(arr(s, "b"), after_b)
    np.testing.assert_array_equal(grad(s, "w"), after_grad)
    assert isinstance(s.entries[-1], Loop)


def test_save_and_open_replay_the_loop_to_the_same_tensors(tmp_path: Path) -> None:
    s, c = typed(SETUP, loop(200), "z = (inputs @ w.t()).sum()\nz.backward()", loop(30))
    assert sum(isinstance(e, Loop) for e in s.entries) == 2
    opened = reopened(s, tmp_path)
    assert_same_tensors(s, opened)
    assert_like_torch(
        opened, with_torch(SETUP + loop(200) + "z = (inputs @ w.t()).sum()\nz.backward()\n" + loop(30))
    )
    with zipfile.ZipFile(tmp_path / "s.gradviz") as zf:
        assert json.loads(zf.read("manifest.json"))["format_version"] == 3
        kinds = [e["kind"] for e in json.loads(zf.read("session.json"))["entries"]]
    assert kinds.count("loop") == 2 and len(kinds) < 40
    # the console goes on from the opened session as from the live one
    c2 = Console(opened)
    for cell in ("del loss", loop(5), "preds = inputs @ w.t()"):
        assert c.run(cell).ok and c2.run(cell).ok
    assert_same_tensors(s, opened)
    assert_same_tensors(s, reopened(opened, tmp_path, "again.gradviz"))


def test_randn_and_a_shuffled_dataloader_in_a_loop_replay_the_same_draws(tmp_path: Path) -> None:
    source = SETUP + (
        "from torch.utils.data import TensorDataset, DataLoader\n"
        "dl = DataLoader(TensorDataset(inputs, targets), batch_size=2, shuffle=True)\n"
        "lr = 1e-5\n"
    )
    body = (
        "for epoch in range(4):\n"
        "    for xb, yb in dl:\n"
        "        noise = torch.randn(2) * 0.01\n"
        "        preds = xb @ w.t() + b + noise\n"
        "        loss = torch.sum((preds - yb) ** 2) / preds.numel()\n"
        "        loss.backward()\n"
        "        with torch.no_grad():\n"
        "            w -= w.grad * lr\n"
        "            b -= b.grad * lr\n"
        "            w.grad.zero_()\n"
        "            b.grad.zero_()\n"
    )
    s, _ = typed(source, body)
    entry = s.entries[-1]
    assert isinstance(entry, Loop)
    assert entry.inputs["dl"] == {
        "kind": "DataLoader",
        "dataset": ["inputs", "targets"],
        "options": {"batch_size": 2, "shuffle": True},
    }
    assert entry.inputs["lr"] == 1e-5
    assert_like_torch(s, with_torch(source + body), ("w", "b", "loss", "noise", "xb"))
    opened = reopened(s, tmp_path)
    assert_same_tensors(s, opened)
    # a replay draws from the RNG state it recorded, and leaves the live generator alone
    state = torch.get_rng_state()  # (real torch: untouched anyway)
    live = engine.get_rng_state().numpy().copy()
    s.undo()
    s.redo()
    np.testing.assert_array_equal(engine.get_rng_state().numpy(), live)
    assert torch.equal(state, torch.get_rng_state())


def test_break_ends_the_count_where_it_broke(tmp_path: Path) -> None:
    extra = "    if i == 6:\n        break\n"
    s, _ = typed(SETUP, loop(100, extra))
    entry = s.entries[-1]
    assert isinstance(entry, Loop) and entry.iterations == 7
    ns = with_torch(SETUP + loop(100, extra))
    assert ns["i"] == 6
    assert_like_torch(s, ns)
    assert_same_tensors(s, reopened(s, tmp_path))


def test_functions_the_body_calls_are_recorded_and_replayed(tmp_path: Path) -> None:
    defs = (
        "def model(x):\n    return x @ w.t() + b\n"
        "def mse(t1, t2, scale=1.0):\n    diff = t1 - t2\n    return scale * torch.sum(diff * diff) / diff.numel()\n"
        "step = lambda t: t.grad * 1e-5\n"
    )
    body = (
        "for i in range(40):\n"
        "    loss = mse(model(inputs), targets)\n"
        "    loss.backward()\n"
        "    with torch.no_grad():\n"
        "        w -= step(w)\n"
        "        b -= step(b)\n"
        "        w.grad.zero_()\n"
        "        b.grad.zero_()\n"
    )
    s, _ = typed(SETUP, defs, body)
    entry = s.entries[-1]
    assert isinstance(entry, Loop) and len(entry.functions) == 3
    assert entry.iterations == 40 * 5  # iterations and calls (4 an iteration): the console's budget it spent
    assert_like_torch(s, with_torch(SETUP + defs + body), ("w", "b", "loss"))
    assert_same_tensors(s, reopened(s, tmp_path))


def test_a_tampered_loop_is_refused_naming_it_and_the_open_session_is_untouched(tmp_path: Path) -> None:
    s, _ = typed(SETUP, loop(20))
    path = tmp_path / "s.gradviz"
    fileformat.save(s, path)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    doc = json.loads(members["session.json"])
    index = next(i for i, e in enumerate(doc["entries"]) if e["kind"] == "loop")

    def tampered(change: dict) -> Path:
        d = json.loads(members["session.json"])
        d["entries"][index].update(change)
        out = tmp_path / "bad.gradviz"
        with zipfile.ZipFile(out, "w") as zf:
            for n, data in members.items():
                zf.writestr(n, json.dumps(d) if n == "session.json" else data)
        return out

    victim, _ = typed(SETUP + "x = w * 3")
    before = victim.entries
    for change in (
        {"source": doc["entries"][index]["source"].replace("range(20)", "range(21)")},
        {"source": doc["entries"][index]["source"].replace("1e-5", "2e-5")},
        {"iterations": 19},
        {"iterations": 21},
        {"source": "for i in range(3):\n    open('x')"},
        {"source": "import os"},
    ):
        with pytest.raises(fileformat.SessionFileError) as e:
            fileformat.open_into(victim, tampered(change))
        assert f"session.json: entry {index + 1} (" in str(e.value), str(e.value)
        assert "the loop" in str(e.value), str(e.value)
        assert victim.entries is not before and victim.entries == before
        assert "x" in victim and "loss" not in victim


def test_an_edit_upstream_of_a_loop_is_refused_with_the_reason() -> None:
    s, _ = typed(SETUP, loop(10))
    w = arr(s, "w")
    log = s.entries
    with pytest.raises(SessionError, match="replayed to other tensors"):
        s.set_leaf_value("inputs", np.ones((5, 3), np.float32))
    assert s.entries == log
    np.testing.assert_array_equal(arr(s, "w"), w)


def test_an_old_format_file_still_opens(tmp_path: Path) -> None:
    s, _ = typed(SETUP, "y = w * 2 + 1\ny.sum().backward()")
    path = tmp_path / "old.gradviz"
    fileformat.save(s, path)
    with zipfile.ZipFile(path) as zf:
        assert json.loads(zf.read("manifest.json"))["format_version"] == 2
    # as gradviz before loops wrote it: version 1, the log alone
    buf = io.BytesIO()
    with zipfile.ZipFile(path) as zf, zipfile.ZipFile(buf, "w") as out:
        for n in ("manifest.json", "session.json", "arrays.npz"):
            data = zf.read(n)
            if n == "manifest.json":
                data = json.dumps({**json.loads(data), "format_version": 1}).encode()
            out.writestr(n, data)
    (tmp_path / "v1.gradviz").write_bytes(buf.getvalue())
    opened = Session()
    fileformat.open_into(opened, tmp_path / "v1.gradviz")
    assert_same_tensors(s, opened)


def test_a_body_reading_what_cant_be_recorded_falls_back_to_unrolled_entries(tmp_path: Path) -> None:
    # a closure (its scope would have to be recorded too) and np.random (numpy's own generator,
    # which a Loop doesn't hold) are run unrolled, as before loops were entries: still one undo
    # step, and the file replays it from the values each entry holds
    cells = (
        SETUP,
        "import numpy as np\ndef scaled(k):\n    return lambda t: t * k\nhalf = scaled(0.5)",
    )
    for body in (
        "for i in range(3):\n    y = half(w)\n    y.sum().backward()",
        "for i in range(3):\n    y = w * float(np.random.rand())\n    y.sum().backward()",
    ):
        s, c = typed(*cells)
        n, steps = len(s.entries), len(s.undo_steps())
        assert c.run(body).ok
        assert not any(isinstance(e, Loop) for e in s.entries)
        assert len(s.entries) > n + 3 and len(s.undo_steps()) == steps + 1
        opened = reopened(s, tmp_path)
        assert_same_tensors(s, opened)
        with zipfile.ZipFile(tmp_path / "s.gradviz") as zf:
            assert json.loads(zf.read("manifest.json"))["format_version"] == 2


class _Schedule:
    """A console value of another kind, recorded by the records protocol."""

    built = 0

    def __init__(self, factor: float) -> None:
        self.factor = factor

    def __repr__(self) -> str:
        return f"Schedule({self.factor})"

    def to_record(self) -> dict:
        return {"kind": "test-schedule", "factor": self.factor}


def _schedule_from_record(record: dict, console: Console) -> _Schedule:
    _Schedule.built += 1
    return _Schedule(record["factor"])


def test_a_value_with_to_record_is_stored_and_rebuilt_by_its_registered_kind(tmp_path: Path) -> None:
    records.register_record_kind("test-schedule", _schedule_from_record)
    s, c = typed(SETUP)
    c.variables["sched"] = _Schedule(0.5)
    r = c.run("for i in range(2):\n    print(sched)\n    y = w * 2")
    assert r.ok and r.printed == "Schedule(0.5)\nSchedule(0.5)\n"
    entry = s.entries[-1]
    assert isinstance(entry, Loop)
    assert entry.inputs["sched"] == {"kind": "record", "record": {"kind": "test-schedule", "factor": 0.5}}
    built = _Schedule.built
    assert_same_tensors(s, reopened(s, tmp_path))
    assert _Schedule.built == built + 1


def test_a_failing_loop_leaves_nothing() -> None:
    s, c = typed(SETUP)
    log, w = s.entries, arr(s, "w")
    r = c.run(loop(5, "    if i == 3:\n        q = w @ inputs\n"))
    assert r.error_type == "RuntimeError"
    assert s.entries == log and "loss" not in s
    np.testing.assert_array_equal(arr(s, "w"), w)
    assert c.run(loop(5)).ok
    assert_like_torch(s, with_torch(SETUP + loop(5)))


def test_stepping_through_the_last_backward_unrolls_the_loop() -> None:
    from gradviz.session.backward_steps import last_backward

    s, _ = typed(SETUP, loop(30))
    steps = last_backward(s)
    assert steps.target == "loss"
    # the moment before the 30th backward: w and b after 29 steps, as torch has them
    ns = with_torch(SETUP + loop(29))
    np.testing.assert_allclose(arr(steps.session, "w"), ns["w"].detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(arr(steps.session, "b"), ns["b"].detach().numpy(), rtol=1e-5, atol=1e-6)
    assert isinstance(s.entries[-1], Loop)  # the session itself is left as it was


def test_the_output_after_a_loop_is_what_it_made_last() -> None:
    from gradviz.session.backward_plan import default_target

    s, c = typed(SETUP, loop(3))
    assert s.outputs() == ["loss"] and default_target(s) == "loss"
    assert c.run("y = (w * 2).sum()").ok and default_target(s) == "y"
    assert c.run(loop(2)).ok and default_target(s) == "loss"


def test_a_tensor_the_loop_made_cant_be_edited_on_its_own() -> None:
    s, _ = typed(SETUP, loop(3, "    noise = torch.randn(2)\n"))
    log = s.entries
    with pytest.raises(SessionError, match="made inside a for loop"):
        s.set_leaf_value("noise", np.zeros(2, np.float32))
    with pytest.raises(SessionError, match="made inside a for loop"):
        s.set_requires_grad("noise", True)
    assert s.entries == log


def test_a_nested_loop_is_one_entry_and_a_for_inside_with_is_unrolled(tmp_path: Path) -> None:
    nested = (
        "for epoch in range(3):\n    for k in range(2):\n        y = (w * k).sum()\n        y.backward()\n"
    )
    s, _ = typed(SETUP, nested)
    assert isinstance(s.entries[-1], Loop) and s.entries[-1].iterations == 3 + 6
    assert_like_torch(s, with_torch(SETUP + nested), ("w", "y"))
    assert_same_tensors(s, reopened(s, tmp_path))
    inside = "with torch.no_grad():\n    for k in range(3):\n        w *= 2\n"
    s, _ = typed(SETUP, inside)
    assert not any(isinstance(e, Loop) for e in s.entries)  # not a top-level for: unrolled
    assert_like_torch(s, with_torch(SETUP + inside))


def test_the_saved_undo_history_holds_the_loop_as_one_step(tmp_path: Path) -> None:
    s, _ = typed(SETUP, loop(20), "y = (w * 2).sum()", loop(5))
    opened = reopened(s, tmp_path)
    assert [label for _, _, label in opened.undo_steps()] == [label for _, _, label in s.undo_steps()]
    for session in (s, opened):
        session.undo()  # the second loop
        assert "y" in session and not isinstance(session.entries[-1], Loop)
        session.undo()  # y
        assert isinstance(session.entries[-1], Loop) and "y" not in session
    assert_same_tensors(s, opened)
    assert_like_torch(opened, with_torch(SETUP + loop(20)))


def test_a_long_loop_s_replay_reports_progress_and_hears_a_cancel() -> None:
    s, _ = typed(SETUP, loop(300))
    at = len(s.entries) - 1
    calls: list[int] = []

    class CancelledError(Exception):
        pass

    def progress(done: int, total: int) -> None:
        calls.append(done)
        if calls.count(at) == 3:  # reported again while the loop replays: cancel there
            raise CancelledError

    with pytest.raises(ReplayCancelledError) as e:
        s.replay(s.entries, progress)
    assert isinstance(e.value.__cause__, CancelledError)
    assert calls.count(at) == 3
