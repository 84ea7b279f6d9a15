"""File ▸ Open PyTorch Script: a user's script that uses real PyTorch, run in a process of its own.

:func:`run_script` starts ``python -c`` (the same Python as the app) in the script's folder with
``sys.argv == [script]``, and waits for it without blocking whoever asks (``progress`` is called
as it waits and may raise, which ends the child at once: the GUI's Stop). The child (:func:`child_main`)
runs the script as ``gradviz render --torch`` does (``render.load_torch_script``: inside
``gradviz.capture()``, the tensors it leaves with a history or requiring grad, its modules'
parameter names), takes a :class:`~gradviz.graph.snapshot.Snapshot` of the graph and writes it as
a snapshot file (``snapshot_file``) in a temporary folder, which the parent reads back with the
same checks as any file. The script's failure comes back as a :class:`ScriptError` whose message
names the line and whose ``details`` hold the traceback; so does a script that leaves no graph.

No PyTorch code runs in the app's own process, and a script that hangs or crashes takes only its
own process with it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gradviz.graph.snapshot import Snapshot
from gradviz.graph.torch_capture import INSTALL_HINT

from . import snapshot_file

RESULT = "snapshot.gradviz"
ERROR = "error.json"
POLL_S = 0.05
TAIL = 4000  # characters of the child's stderr shown when it died without a word
OUTPUT_LINES = 200  # of what the script printed, the last lines kept ...
OUTPUT_BYTES = 64 * 2**10  # ... and no more than this


class ScriptError(Exception):
    """The script could not be drawn: the message says why (and where), ``details`` more."""

    def __init__(self, message: str, details: str = "", output: str = "") -> None:
        super().__init__(message)
        self.output = output  # the last of what the script printed
        if output:
            details = f"{details.rstrip()}\n\n{output_heading(output)}\n{output}".lstrip()
        self.details = details


def output_heading(output: str) -> str:
    """``Output (the last 200 lines):`` or ``Output:`` over what a script printed."""
    n = output.count("\n") + (not output.endswith("\n"))
    return f"Output (the last {n} lines):" if n >= OUTPUT_LINES else "Output:"


def torch_available() -> bool:
    """Whether PyTorch is installed for this Python (found, not imported)."""
    return importlib.util.find_spec("torch") is not None


def _child_env() -> dict[str, str]:
    """The environment of the child: the app's own, its output unbuffered (so that what a script
    printed before it crashed is kept). The path is left alone: see :data:`_CHILD_CODE`."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    return env


# The child imports this gradviz (the folder that holds it, argv[1], first on the path for that one
# import), then takes that folder off again: the script sees the path plain ``python script.py``
# would give it, with its own modules, PYTHONPATH and the standard library in their usual order.
_CHILD_CODE = (
    "import sys; sys.path.insert(0, sys.argv[1]); import gradviz.session.pytorch_script as m; "
    "sys.path.remove(sys.argv[1]); sys.exit(m.child_main(sys.argv[2:]))"
)


def _gradviz_folder() -> str:
    import gradviz

    return str(Path(gradviz.__file__).resolve().parent.parent)


def _kill(proc: subprocess.Popen) -> None:
    """End the child and whatever it started (a DataLoader's workers): its process group."""
    if proc.poll() is not None:
        return
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _tail(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return text[-TAIL:]


def read_output(path: Path) -> str:
    """The last :data:`OUTPUT_LINES` lines (within :data:`OUTPUT_BYTES`) of what the script
    printed; only that much of the file is read, however much it printed."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - OUTPUT_BYTES))
            data = f.read(OUTPUT_BYTES)
    except OSError:
        return ""
    lines = data.decode("utf-8", errors="replace").splitlines(keepends=True)
    if size > OUTPUT_BYTES and lines:
        lines = lines[1:]  # the first was cut somewhere in its middle
    return "".join(lines[-OUTPUT_LINES:])


def run_script(
    path: str | os.PathLike[str],
    *,
    progress: Callable[[float], None] | None = None,
    timeout: float | None = None,
) -> Snapshot:
    """Run the script at ``path`` in a child process and return the snapshot it left.

    ``progress(seconds so far)`` is called as it waits; whatever it raises ends the child and
    is raised here. ``timeout``: seconds before the child is ended with a :class:`ScriptError`.
    """
    script = Path(path).resolve()
    if not script.is_file():
        raise ScriptError(
            f"{script.name}: no such file" if not script.exists() else f"{script.name}: not a file"
        )
    if script.suffix != ".py":
        raise ScriptError(f"{script.name}: a PyTorch script is a .py file")
    if not torch_available():
        raise ScriptError(INSTALL_HINT)
    with tempfile.TemporaryDirectory(prefix="gradviz-script-") as tmp:
        out = Path(tmp)
        with open(out / "stdout.txt", "wb") as stdout, open(out / "stderr.txt", "wb") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-c", _CHILD_CODE, _gradviz_folder(), str(script), str(out)],
                cwd=script.parent,
                env=_child_env(),
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                start_new_session=os.name == "posix",
            )
            start = time.monotonic()
            try:
                while proc.poll() is None:
                    elapsed = time.monotonic() - start
                    if timeout is not None and elapsed > timeout:
                        raise ScriptError(f"{script.name}: still running after {timeout:g} s; it was ended")
                    if progress is not None:
                        progress(elapsed)
                    time.sleep(POLL_S)
            finally:
                _kill(proc)
        return _result(script, out, proc.returncode)


def _result(script: Path, out: Path, status: int) -> Snapshot:
    """The snapshot the child left, its ``meta["output"]`` what the script printed; or the
    :class:`ScriptError` it wrote (or its death), with that output in its details."""
    output = read_output(out / "stdout.txt")
    try:
        raw = json.loads((out / ERROR).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raw = None  # none written (or cut short): the process's status and stderr say more
    if isinstance(raw, dict):
        raise ScriptError(str(raw.get("message", "")), str(raw.get("details", "")), output)
    if status != 0 or not (out / RESULT).exists():
        why = f"killed by signal {-status}" if status < 0 else f"exit status {status}"
        raise ScriptError(
            f"{script.name}: the script's process ended ({why}) before it left a graph",
            _tail(out / "stderr.txt"),
            output,
        )
    try:
        snap = snapshot_file.load(out / RESULT)
    except snapshot_file.SessionFileError as e:
        raise ScriptError(
            f"{script.name}: the graph it left could not be read back: {e}", output=output
        ) from None
    snap.meta["output"] = output
    return snap


# --- in the child ---------------------------------------------------------------------------------


def child_main(argv: list[str]) -> int:
    """``python -c ... SCRIPT OUT``: run SCRIPT, write OUT/snapshot.gradviz or OUT/error.json."""
    from gradviz.graph.render import RenderError, load_torch_script, torch_script_names
    from gradviz.graph.snapshot import take_snapshot

    script, out = Path(argv[0]), Path(argv[1])
    sys.argv = [str(script)]
    sys.path[0] = str(script.parent)  # as `python script.py` has it: the script's own modules
    try:
        tensors, names = load_torch_script(script)
        snap = take_snapshot(tensors, torch_script_names(tensors, names), script=script.name)
        snapshot_file.save(snap, out / RESULT)
    except RenderError as e:
        message = str(e).replace(str(script), script.name, 1)
        _write_error(out, message, e.details)
        return 1
    except Exception as e:  # the snapshot could not be taken or written: say so, not crash
        import traceback

        _write_error(out, f"{script.name}: {type(e).__name__}: {e}", traceback.format_exc())
        return 1
    return 0


def _write_error(out: Path, message: str, details: str) -> None:
    (out / ERROR).write_text(json.dumps({"message": message, "details": details}), encoding="utf-8")
