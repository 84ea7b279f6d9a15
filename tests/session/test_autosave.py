"""Crash recovery: debounced recovery files, finding what a crash left, and a real kill -9."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from gradviz.session import autosave
from gradviz.session import fileformat as ff
from gradviz.session.autosave import Autosaver, Debouncer, find_recoveries, find_recovery
from gradviz.session.document import Session
from gradviz.session.log import same_entry

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "data"
    monkeypatch.setenv(autosave.ENV_VAR, str(d))
    return d


def build(s: Session, steps: int) -> None:
    """The same edits, step by step, in this process and in the one that gets killed."""
    s.add_leaf("x", [1.0, 2.0, 3.0])
    s.add_leaf("w", 0.5, requires_grad=True)
    for k in range(steps):
        s.apply("mul", ["x" if k == 0 else f"y{k - 1}", "w"], name=f"y{k}")
    s.apply("sum", [f"y{steps - 1}"], name="loss")
    s.backward("loss")
    s.set_leaf_value("w", 0.25)  # a rewrite replays everything, gradients included
    s.rename("loss", "L")
    s.view = {"mode": "autograd", "selection": ["L"]}
    s.add_leaf("last", 42.0)  # the last change, which makes the view part of the snapshot


def assert_same(entries: list, view: dict, s: Session) -> None:
    assert len(entries) == len(s.entries)
    assert all(same_entry(a, b) for a, b in zip(entries, s.entries))
    assert view == s.view


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def as_left_by(path: Path, pid: int) -> Path:
    """Pretend another (dead) process wrote this recovery file."""
    new = path.with_name(f"recovery-{pid}-deadbeef.gradviz")
    path.rename(new)
    meta = path.with_suffix(".json")
    if meta.exists():
        info = json.loads(meta.read_text())
        info.update(pid=pid, started=autosave._start_time(pid))
        new.with_suffix(".json").write_text(json.dumps(info))
        meta.unlink()
    return new


# --- where files go -------------------------------------------------------------------------------
def test_data_dir_env_and_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert autosave.data_dir() == tmp_path / "data"
    assert autosave.recovery_dir() == tmp_path / "data" / "recovery"
    monkeypatch.delenv(autosave.ENV_VAR)
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
        assert autosave.data_dir() == tmp_path / "xdg" / "gradviz"
        monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        assert autosave.data_dir() == tmp_path / "home" / ".local" / "share" / "gradviz"


# --- the autosaver, driven without threads ----------------------------------------------------------
def test_changes_are_written_when_flushed(data_dir: Path) -> None:
    s = Session()
    a = Autosaver(s, threaded=False, delay=0.5)
    assert not a.pending and not a.path.exists()
    s.add_leaf("x", 1.0)
    assert a.pending and not a.path.exists()
    assert not a.due(time.monotonic()) and a.due(time.monotonic() + 1)
    assert not a.poll(time.monotonic())
    assert a.poll(time.monotonic() + 1)
    assert a.path.exists() and a.path.parent == data_dir / "recovery"
    assert not a.pending and a.written_generation == a.generation == 1
    entries, _ = ff.load(a.path)
    assert [e.name for e in entries] == ["x"]
    assert not a.flush()  # nothing new
    # its own file is not reported as a crash while it runs
    assert find_recovery() is None


def test_clean_save_and_close_discard(data_dir: Path, tmp_path: Path) -> None:
    s = Session()
    a = Autosaver(s, threaded=False)
    s.add_leaf("x", 1.0)
    a.flush()
    assert a.path.exists() and a.meta_path.exists()
    ff.save(s, tmp_path / "saved.gradviz")
    a.discard()
    assert not a.path.exists() and not a.meta_path.exists()
    s.add_leaf("y", 2.0)
    a.flush()
    assert a.path.exists()
    a.close()
    assert not a.path.exists()
    s.add_leaf("z", 3.0)  # no longer listening
    assert not a.pending


def test_discard_does_not_wait_for_a_write_and_the_write_leaves_no_file(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = Session()
    a = Autosaver(s, threaded=False)
    s.add_leaf("x", 1.0)
    writing, release = threading.Event(), threading.Event()
    real = autosave.to_bytes

    def slow_to_bytes(*args, **kwargs):  # a big session: seconds of compressing
        writing.set()
        release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(autosave, "to_bytes", slow_to_bytes)
    writer = threading.Thread(target=a.flush)
    writer.start()
    assert writing.wait(5)
    discarder = threading.Thread(target=a.discard)  # as opening another document does
    discarder.start()
    discarder.join(2)
    assert not discarder.is_alive()  # it returned while the write still ran
    release.set()
    writer.join(10)
    assert not a.path.exists() and not a.meta_path.exists()  # the obsolete write was removed
    s.add_leaf("y", 2.0)  # later changes are saved as usual
    monkeypatch.setattr(autosave, "to_bytes", real)
    assert a.flush() and a.path.exists()


def test_opening_a_document_discards(tmp_path: Path) -> None:
    other = Session()
    other.add_leaf("q", 1.0)
    ff.save(other, tmp_path / "q.gradviz")
    s = Session()
    a = Autosaver(s, threaded=False)
    s.add_leaf("x", 1.0)
    a.flush()
    ff.open_into(s, tmp_path / "q.gradviz")  # a clean document now: nothing to recover
    assert not a.pending and not a.path.exists()


def test_unclean_close_writes_the_last_change() -> None:
    s = Session()
    a = Autosaver(s, threaded=False)
    s.add_leaf("x", 1.0)
    a.close(clean=False)
    assert a.path.exists()


def test_write_errors_are_kept_not_raised(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    s = Session()
    a = Autosaver(s, blocker / "recovery", threaded=False)
    s.add_leaf("x", 1.0)
    assert not a.flush()
    assert isinstance(a.last_error, OSError) and a.pending  # kept for the next try


def test_find_recovery_reports_dead_owners_only(data_dir: Path) -> None:
    s = Session()
    s.add_leaf("x", 1.0)
    a = Autosaver(s, threaded=False, document="/home/me/work.gradviz")
    s.add_leaf("y", 2.0)
    a.flush()
    # a live process's file is not offered
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        as_left_by(a.path, live.pid)
        assert find_recovery() is None
    finally:
        live.kill()
        live.wait()
    found = find_recovery()
    assert found is not None and found.pid == live.pid
    assert found.document == "/home/me/work.gradviz"
    entries, _ = found.load()
    assert [e.name for e in entries if hasattr(e, "name")] == ["x", "y"]
    # restore into a new session with its own autosaver: the old file goes, a new one holds it
    t = Session()
    b = Autosaver(t, threaded=False)
    found.open_into(t, b)
    assert t.names() == ["x", "y"] and t.dirty
    assert not found.path.exists() and b.path.exists()
    assert find_recoveries() == []


def test_newest_recovery_first(data_dir: Path) -> None:
    paths = []
    for name in ("old", "new"):
        s = Session()
        a = Autosaver(s, threaded=False)
        s.add_leaf(name, 1.0)
        a.flush()
        paths.append(as_left_by(a.path, dead_pid()))
        time.sleep(0.05)
    os.utime(paths[0], (time.time() - 100, time.time() - 100))
    found = find_recoveries()
    assert [r.path for r in found] == [paths[1], paths[0]]
    assert find_recovery().path == paths[1]


def test_stray_files_are_ignored(data_dir: Path) -> None:
    d = data_dir / "recovery"
    d.mkdir(parents=True)
    (d / "notes.txt").write_text("x")
    (d / "recovery-abc-12.gradviz").write_text("x")
    old_tmp = d / ".recovery-1-ab.gradviz.x.tmp"
    old_tmp.write_text("half written")
    os.utime(old_tmp, (time.time() - 7200, time.time() - 7200))
    assert find_recoveries() == []
    assert not old_tmp.exists()


# --- the threaded debouncer ----------------------------------------------------------------------------
def test_debouncer_coalesces() -> None:
    calls = []
    d = Debouncer(0.1, lambda: calls.append(time.monotonic()))
    for _ in range(5):
        d.trigger()
        time.sleep(0.02)
    assert calls == []
    time.sleep(0.3)
    assert len(calls) == 1
    d.trigger()
    d.cancel()
    time.sleep(0.2)
    assert len(calls) == 1


def test_debouncer_max_delay() -> None:
    calls = []
    d = Debouncer(0.1, lambda: calls.append(1), max_delay=0.25)
    end = time.monotonic() + 0.6
    while time.monotonic() < end:  # a steady stream of changes still gets written
        d.trigger()
        time.sleep(0.02)
    d.cancel()
    assert len(calls) >= 2


def test_threaded_autosaver_writes_after_the_last_change() -> None:
    s = Session()
    a = Autosaver(s, delay=0.1)
    done = threading.Event()
    a.saved.connect(lambda path: done.set())
    build(s, 3)
    assert done.wait(5)
    deadline = time.monotonic() + 5
    while a.written_generation < a.generation and time.monotonic() < deadline:
        time.sleep(0.01)
    entries, view = ff.load(a.path)
    assert_same(entries, view, s)
    a.close()


# --- a real kill -9 ---------------------------------------------------------------------------------------
CHILD = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {tests!r})
    from test_autosave import build
    from gradviz.session.autosave import Autosaver
    from gradviz.session.document import Session

    s = Session()
    a = Autosaver(s, delay=0.2)
    build(s, 4)
    deadline = time.monotonic() + 20
    while a.written_generation < a.generation and time.monotonic() < deadline:
        time.sleep(0.01)
    print("written", a.generation, a.written_generation, a.path, flush=True)
    time.sleep(60)  # mid-session: killed here
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_kill_9_restores_every_change(data_dir: Path) -> None:
    env = {**os.environ, autosave.ENV_VAR: str(data_dir), "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(tests=str(Path(__file__).parent))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        line = child.stdout.readline()
        assert line.startswith("written"), line or child.stderr.read()
        _, generation, written, _ = line.split(maxsplit=3)
        assert generation == written
        assert find_recovery() is None  # its owner is still running
        child.send_signal(signal.SIGKILL)
        assert child.wait(10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        child.stderr.close()

    found = find_recovery()
    assert found is not None and found.pid == child.pid
    expected = Session()
    build(expected, 4)
    entries, view = found.load()
    assert_same(entries, view, expected)
    restored = Session()
    found.open_into(restored)
    for name in expected.names(include_hidden=True):
        a, b = expected.tensor(name), restored.tensor(name)
        assert a._data.tobytes() == b._data.tobytes()
        assert (a._grad is None) == (b._grad is None)
        if a._grad is not None:
            assert a._grad._data.tobytes() == b._grad._data.tobytes()
    found.discard()
    assert find_recovery() is None


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_reused_pid_does_not_hide_a_crash(data_dir: Path) -> None:
    """The file's pid now belongs to another process (started later): still a crash."""
    s = Session()
    a = Autosaver(s, threaded=False)
    s.add_leaf("x", 1.0)
    a.flush()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        new = a.path.with_name(f"recovery-{live.pid}-deadbeef.gradviz")
        a.path.rename(new)
        a.meta_path.rename(new.with_suffix(".json"))  # "started" is this process's start time
        assert find_recovery() is not None
    finally:
        live.kill()
        live.wait()


# --- timeliness: within about a second of the last change, even while changes keep coming --------
def write_times(a: Autosaver) -> list[float]:
    times: list[float] = []
    a.saved.connect(lambda path: times.append(time.monotonic()))
    return times


def test_a_change_reaches_the_file_within_a_second_and_a_half() -> None:
    s = Session()
    a = Autosaver(s)  # the app's defaults
    times = write_times(a)
    for k in range(3):
        changed = time.monotonic()
        s.add_leaf(f"x{k}", float(k))
        deadline = changed + 5
        while len(times) <= k and time.monotonic() < deadline:
            time.sleep(0.005)
        assert len(times) == k + 1
        assert 0.5 <= times[k] - changed <= 1.5  # debounced, but not by much
        assert [e.name for e in ff.load(a.path)[0]] == [f"x{i}" for i in range(k + 1)]
    a.close()


def test_steady_changes_are_written_at_least_every_two_seconds() -> None:
    s = Session()
    a = Autosaver(s)
    times = write_times(a)
    start = time.monotonic()
    k = 0
    while time.monotonic() - start < 5.0:  # typing that never pauses for a whole second
        s.add_leaf(f"x{k}", float(k))
        k += 1
        time.sleep(0.2)
    last_change = time.monotonic()
    while a.written_generation < a.generation and time.monotonic() - last_change < 5:
        time.sleep(0.005)
    end = time.monotonic()
    assert len(times) >= 3, times
    gaps = [b - a_ for a_, b in zip([start, *times], times)]
    assert max(gaps) <= 2.0, gaps
    assert end - last_change <= 1.5
    assert len(ff.load(a.path)[0]) == k  # the very last change is in the file
    a.close()


def test_the_debouncer_retry_never_postpones_a_sooner_call() -> None:
    calls = []
    d = Debouncer(0.05, lambda: calls.append(time.monotonic()), max_delay=0.1)
    d.trigger()
    d.retry_in(5.0)  # a change is already due: the retry must not push it back
    time.sleep(0.3)
    assert len(calls) == 1
    d.retry_in(0.05)
    time.sleep(0.3)
    assert len(calls) == 2
    d.cancel()


# --- failures are told, retried, and untold once writing works again ----------------------------------
@pytest.mark.parametrize(
    ("error", "words"),
    [
        (OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), "the disk is full"),
        (OSError(errno.EDQUOT, os.strerror(errno.EDQUOT)), "quota"),
        (PermissionError(errno.EACCES, os.strerror(errno.EACCES), "/r/x.tmp"), "no permission"),
        (OSError(errno.EROFS, os.strerror(errno.EROFS)), "no permission"),
        (OSError(errno.EIO, os.strerror(errno.EIO)), os.strerror(errno.EIO)),
        (ff.SessionFileError("the name 'x' is too long"), "the name 'x' is too long"),
    ],
)
def test_describe_error_says_what_and_where(error: Exception, words: str) -> None:
    text = autosave.describe_error(error, "/data/recovery")
    assert words in text
    if isinstance(error, OSError):
        assert ("/r/x.tmp" if error.filename else "/data/recovery") in text


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EIO])
def test_a_failing_write_is_told_retried_and_cleared(monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    s = Session()
    a = Autosaver(s, retry=0.2)
    problems: list[str] = []
    a.problem_changed.connect(problems.append)
    real = autosave.write_atomic
    broken = threading.Event()
    broken.set()

    def writer(path, data):
        if broken.is_set():
            raise OSError(code, os.strerror(code))
        real(path, data)

    monkeypatch.setattr(autosave, "write_atomic", writer)
    s.add_leaf("x", 1.0)
    deadline = time.monotonic() + 5
    while not problems and time.monotonic() < deadline:
        time.sleep(0.005)
    assert problems == [a.problem] and str(a.directory) in a.problem
    assert a.pending and not a.path.exists()
    time.sleep(0.5)  # retried, still failing: told once, not on every retry
    assert len(problems) == 1
    broken.clear()  # space is freed; no new change is needed for the retry to succeed
    deadline = time.monotonic() + 5
    while a.problem and time.monotonic() < deadline:
        time.sleep(0.005)
    assert problems[-1] == "" and a.problem == "" and a.last_error is None
    assert [e.name for e in ff.load(a.path)[0]] == ["x"]
    a.close()


def test_a_recovery_folder_that_is_a_file_is_told(data_dir: Path) -> None:
    """A real failure, also as root (who ignores read-only folders): the folder is a file."""
    data_dir.mkdir(parents=True)
    (data_dir / "recovery").write_text("in the way")
    s = Session()
    a = Autosaver(s, threaded=False)
    s.add_leaf("x", 1.0)
    assert not a.flush()
    assert a.problem and str(data_dir / "recovery") in a.problem
    (data_dir / "recovery").unlink()
    assert a.flush() and a.problem == ""


def test_a_discard_during_a_failing_write_revives_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    s = Session()
    a = Autosaver(s, threaded=False)
    s.add_leaf("x", 1.0)
    writing, release = threading.Event(), threading.Event()

    def failing(path, data):
        writing.set()
        release.wait(10)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(autosave, "write_atomic", failing)
    writer = threading.Thread(target=a.flush)
    writer.start()
    assert writing.wait(5)
    a.discard()  # a clean save came meanwhile
    release.set()
    writer.join(10)
    assert not a.pending and a.problem == ""  # the saved work is not retried nor reported
