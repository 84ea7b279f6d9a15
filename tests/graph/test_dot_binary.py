"""Which dot runs: GRADVIZ_DOT, then the graphviz-pure wheel, then a system dot, then none.

Each provider is hidden in turn. A "system dot" is faked with a `dot` script on PATH that hands
over to graphviz-pure, so that step is tested without installing Graphviz.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import networkx as nx
import pytest

from gradviz.graph import dot_binary, layout

PURE = dot_binary._pure_binary()
needs_pure = pytest.mark.skipif(PURE is None, reason="the graphviz-pure wheel is not installed")


def _script(path: Path, body: str) -> str:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(path)


@pytest.fixture
def bare(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No GRADVIZ_DOT, no wheel binary and a PATH holding only an empty folder of ours."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    monkeypatch.delenv(dot_binary.ENV_VAR, raising=False)
    monkeypatch.setattr(dot_binary, "_pure_binary", lambda: None)
    monkeypatch.setenv("PATH", str(bindir))
    return bindir


def test_nothing_found_means_builtin(bare: Path) -> None:
    assert dot_binary.find_dot() == (None, "builtin")


@needs_pure
def test_system_dot_is_used_when_it_is_all_there_is(bare: Path) -> None:
    fake = _script(bare / "dot", f'exec "{PURE}" "$@"')
    assert dot_binary.find_dot() == (fake, "system dot")


@needs_pure
def test_the_wheel_comes_before_system_dot(bare: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _script(bare / "dot", f'exec "{PURE}" "$@"')
    monkeypatch.setattr(dot_binary, "_pure_binary", lambda: PURE)
    assert dot_binary.find_dot() == (PURE, "graphviz-pure")


@needs_pure
def test_gradviz_dot_comes_first(bare: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(dot_binary, "_pure_binary", lambda: PURE)
    mine = _script(tmp_path / "my-dot", f'exec "{PURE}" "$@"')
    monkeypatch.setenv(dot_binary.ENV_VAR, mine)
    assert dot_binary.find_dot() == (mine, "GRADVIZ_DOT")
    assert [p for _, p in dot_binary.working_candidates()] == ["GRADVIZ_DOT", "graphviz-pure"]


def test_gradviz_dot_may_be_a_command_name(bare: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _script(bare / "mydot", '/bin/cat >/dev/null; echo "graph 1 1 1"; echo stop')
    monkeypatch.setenv(dot_binary.ENV_VAR, "mydot")
    assert dot_binary.find_dot()[1] == "GRADVIZ_DOT"


def test_a_failing_or_missing_gradviz_dot_is_passed_over(
    bare: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(dot_binary.ENV_VAR, _script(tmp_path / "broken", "exit 1"))
    assert dot_binary.find_dot() == (None, "builtin")
    monkeypatch.setenv(dot_binary.ENV_VAR, str(tmp_path / "does-not-exist"))
    assert dot_binary.find_dot() == (None, "builtin")


@needs_pure
def test_the_wheel_is_found_through_its_record() -> None:
    path = Path(PURE)
    assert path.name.startswith("graphviz-pure") and os.access(path, os.X_OK)
    assert dot_binary.works(PURE)


def test_layout_falls_back_when_the_binary_fails_on_a_real_graph(
    bare: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # passes the two-node probe, then fails on anything else
    picky = _script(
        tmp_path / "picky",
        'in=$(/bin/cat); if [ "$in" = "digraph{a->b}" ]; then echo "graph 1 1 1"; exit 0; fi; echo boom >&2; exit 1',
    )
    monkeypatch.setenv(dot_binary.ENV_VAR, picky)
    assert dot_binary.find_dot()[1] == "GRADVIZ_DOT"
    g = nx.DiGraph([("a", "b"), ("b", "c")])
    lay = layout.layout(g, prefer="dot")
    assert lay.provider == "builtin"
    assert "GRADVIZ_DOT" in lay.notes[0] and "boom" in lay.notes[0]
    assert set(lay.positions) == {"a", "b", "c"}


@needs_pure
def test_layout_goes_on_to_the_next_binary(
    bare: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(dot_binary, "_pure_binary", lambda: PURE)
    garbage = _script(tmp_path / "garbage", '/bin/cat >/dev/null; echo "graph 1 1 1"; exit 0')  # not JSON
    monkeypatch.setenv(dot_binary.ENV_VAR, garbage)
    lay = layout.layout(nx.DiGraph([("a", "b")]), prefer="dot")
    assert lay.provider == "graphviz-pure"
    assert lay.notes and lay.notes[0].startswith("GRADVIZ_DOT")


@needs_pure
def test_a_slow_binary_times_out(bare: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    slow = _script(
        tmp_path / "slow",
        f'in=$(/bin/cat); if [ "$in" = "digraph{{a->b}}" ]; then echo "$in" | "{PURE}" "$@"; exit $?; fi; /bin/sleep 5',
    )
    monkeypatch.setenv(dot_binary.ENV_VAR, slow)
    lay = layout.layout(nx.DiGraph([("a", "b")]), prefer="dot", timeout=0.5)
    assert lay.provider == "builtin"
    assert "timed out" in lay.notes[0]


@needs_pure
def test_python_graphviz_is_pointed_at_the_binary(bare: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from graphviz.backend import dot_command

    monkeypatch.setattr(dot_binary, "_pure_binary", lambda: PURE)
    monkeypatch.setattr(dot_command, "DOT_BINARY", dot_command.DOT_BINARY)
    assert dot_binary.configure_python_graphviz() == (PURE, "graphviz-pure")
    import graphviz

    svg = graphviz.Digraph(body=["a -> b"]).pipe(format="svg")
    assert b"<svg" in svg


@pytest.mark.skipif(shutil.which("dot") is None, reason="no system Graphviz")
def test_a_real_system_dot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(dot_binary.ENV_VAR, raising=False)
    monkeypatch.setattr(dot_binary, "_pure_binary", lambda: None)
    _, provider = dot_binary.find_dot()
    assert provider == "system dot"
    lay = layout.layout(nx.DiGraph([("a", "b"), ("a", "c")]), prefer="dot")
    assert lay.provider == "system dot"
    assert lay.positions["a"][1] < lay.positions["b"][1]
