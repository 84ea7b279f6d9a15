"""``gradviz render --timeout``: a render that runs too long stops with a clear message and
exit status 124, whatever it is stuck in, and writes nothing."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from gradviz.__main__ import DEFAULT_TIMEOUT, TIMEOUT_EXIT


def render(*args: str, timeout: float = 60) -> tuple[subprocess.CompletedProcess, float]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "gradviz", "render", *args], capture_output=True, text=True, timeout=timeout
    )
    return done, time.perf_counter() - start


@pytest.mark.parametrize(
    "body",
    [
        "while True:\n    pass",  # pure Python: the alarm stops it between steps
        "import time\ntime.sleep(3600)",  # a blocking call
        "try:\n    while True:\n        pass\nexcept Exception:\n    pass",  # a script that swallows errors
    ],
)
def test_a_stuck_script_stops_at_the_timeout(tmp_path: Path, body: str) -> None:
    script = tmp_path / "stuck.py"
    script.write_text("import gradviz as torch\nx = torch.ones(3, requires_grad=True)\n" + body + "\n")
    out = tmp_path / "out.svg"
    done, took = render(str(script), "-o", str(out), "--timeout", "1.5")
    assert done.returncode == TIMEOUT_EXIT
    assert "took longer than 1.5 s (--timeout)" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()
    assert took < 30


def test_a_render_inside_its_time_is_untouched(tmp_path: Path) -> None:
    script = tmp_path / "ok.py"
    script.write_text(
        "import gradviz as torch\nw = torch.tensor(2., requires_grad=True)\ny = w * 3\ny.backward()\n"
    )
    out = tmp_path / "ok.svg"
    done, _ = render(str(script), "-o", str(out), "--timeout", "60")
    assert done.returncode == 0, done.stderr
    assert out.read_text().startswith("<?xml") or "<svg" in out.read_text()


def test_the_default_timeout_is_in_the_help() -> None:
    done, _ = render("--help")
    assert "--timeout" in done.stdout and f"{DEFAULT_TIMEOUT:g}" in done.stdout


def test_ctrl_c_stops_a_render_without_a_traceback(tmp_path: Path) -> None:
    import signal

    script = tmp_path / "stuck.py"
    script.write_text("import gradviz as torch\nx = torch.ones(3)\nwhile True:\n    pass\n")
    out = tmp_path / "out.svg"
    p = subprocess.Popen(
        [sys.executable, "-m", "gradviz", "render", str(script), "-o", str(out)],
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 130 and "stopped" in err and "Traceback" not in err
    assert not out.exists()
