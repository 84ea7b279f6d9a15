"""``gradviz render INPUT -o OUT``: draw a graph to a file, no window involved.

INPUT is a small Python script that builds tensors with gradviz. It runs in a fresh namespace;
every tensor it leaves bound to a name is drawn under that name, and the tensors no other named
tensor was computed from are the outputs. Every intermediate is coloured by the gradient the
engine kept for it in backward(), of any size (marked "kept by gradviz"; ``.grad`` stays None).

With ``torch=True`` (``gradviz render script.py --torch``) the script uses real PyTorch: it runs
inside ``gradviz.capture()`` in the render command's own process, under its ``--timeout``, and
its PyTorch tensors are drawn from torch's own graph, coloured by the gradients captured.

Session files (``.gradviz``) are read by the command line, which sits above the session layer,
and passed in as ``tensors``.

Errors are reported as one line naming the file and the problem, by raising :class:`RenderError`.
"""

from __future__ import annotations

import runpy
import traceback
from pathlib import Path
from typing import Any

import networkx as nx

from ..engine.autograd import keep_grads
from ..engine.tensor import Tensor
from .export import FORMATS, export


class RenderError(Exception):
    """A problem with the input or the output, worded for a one-line message; ``details``: the
    script's traceback when the script failed."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


def _where(exc: BaseException, script: Path) -> str:
    """``line N`` of the deepest frame inside the script, if the error passed through it."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == script.resolve():
            line = frame.lineno
    return f"line {line}: " if line else ""


def _traceback(exc: BaseException, script: Path) -> str:
    """The traceback from the script's first frame on (runpy's and gradviz's own left out)."""
    frames = traceback.extract_tb(exc.__traceback__)
    first = next((i for i, f in enumerate(frames) if Path(f.filename).resolve() == script.resolve()), 0)
    ours = Path(__file__).resolve().parent.parent  # the gradviz package: capture's hooks
    kept = [f for f in frames[first:] if not Path(f.filename).resolve().is_relative_to(ours)]
    shown = "".join(traceback.format_list(kept))
    head = "Traceback (most recent call last):\n" if shown else ""
    return head + shown + "".join(traceback.format_exception_only(type(exc), exc))


def load_script(path: str | Path) -> dict[str, Tensor]:
    """Run a Python script and return the tensors it left in its namespace, by name."""
    script = Path(path)
    if not script.exists():
        raise RenderError(f"{script}: no such file")
    if not script.is_file():
        raise RenderError(f"{script}: not a file")
    if script.suffix == ".gradviz":
        raise RenderError(f"{script}: session files cannot be rendered yet; pass a Python script")
    if script.suffix != ".py":
        raise RenderError(
            f"{script}: unknown input type {script.suffix or '(no suffix)'!r}; expected a .py script"
        )
    # Keep every gradient backward() computes, of any size, so every node can be coloured.
    namespace = _run_script(script, keep_grads(limit=None))
    tensors = {k: v for k, v in namespace.items() if isinstance(v, Tensor) and not k.startswith("_")}
    if not tensors:
        raise RenderError(
            f"{script}: the script leaves no tensors in its namespace, so there is nothing to draw"
        )
    return tensors


def _checked_script(path: str | Path) -> Path:
    script = Path(path)
    if not script.exists():
        raise RenderError(f"{script}: no such file")
    if not script.is_file():
        raise RenderError(f"{script}: not a file")
    if script.suffix != ".py":
        raise RenderError(f"{script}: --torch runs a Python script; got {script.suffix or '(no suffix)'!r}")
    return script


def _run_script(script: Path, context: Any) -> dict[str, Any]:
    """Run ``script`` as ``__main__`` inside ``context``; its namespace, or a RenderError that
    says where and why it failed."""
    try:
        with context:
            return runpy.run_path(str(script), run_name="__main__")
    except SyntaxError as exc:
        raise RenderError(
            f"{script}: line {exc.lineno}: SyntaxError: {exc.msg}", _traceback(exc, script)
        ) from None
    except SystemExit as exc:
        if exc.code in (None, 0):
            raise RenderError(f"{script}: the script exited before it finished") from None
        raise RenderError(f"{script}: the script exited with status {exc.code}") from None
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else ""
        raise RenderError(
            f"{script}: {_where(exc, script)}{type(exc).__name__}: {msg}".rstrip(": "),
            _traceback(exc, script),
        ) from None


def load_torch_script(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run a script that uses real PyTorch inside ``gradviz.capture()``; return the tensors it
    left in its namespace that have a history or require grad, by name, and names for the
    parameters of the ``nn.Module`` objects it left (``layer1.0.conv1.weight``; prefixed with
    the module's variable name when it left several)."""
    from .torch_capture import capture, is_torch_tensor, require_torch

    script = _checked_script(path)
    try:
        torch = require_torch()
    except ImportError as exc:
        raise RenderError(f"{script}: --torch needs PyTorch. {exc}") from None
    namespace = _run_script(script, capture())
    tensors = {
        k: v
        for k, v in namespace.items()
        if not k.startswith("_") and is_torch_tensor(v) and (v.grad_fn is not None or v.requires_grad)
    }
    if not tensors:
        raise RenderError(
            f"{script}: the script leaves no PyTorch tensor with a history or requires_grad=True in "
            "its namespace, so there is nothing to draw"
        )
    modules = {k: v for k, v in namespace.items() if not k.startswith("_") and isinstance(v, torch.nn.Module)}
    names: dict[str, Any] = {}
    for var, m in modules.items():
        for pname, p in m.named_parameters():
            names.setdefault(pname if len(modules) == 1 else f"{var}.{pname}", p)
    # the script's other tensors (an input x without grad) name the constants they are
    taken = {id(p) for p in names.values()}
    for k, v in namespace.items():
        if not k.startswith("_") and is_torch_tensor(v) and k not in tensors and id(v) not in taken:
            names.setdefault(k, v)
    return tensors, names


def torch_script_names(tensors: dict[str, Any], names: dict[str, Any]) -> dict[str, Any]:
    """What :func:`load_torch_script` found, as one ``{name: tensor}``: parameters by their
    module names, the script's own variable names for the rest."""
    taken = {id(p) for p in names.values()}
    return {**names, **{k: v for k, v in tensors.items() if id(v) not in taken}}


def render(
    input_path: str | Path,
    output_path: str | Path,
    *,
    tensors: dict[str, Tensor] | None = None,
    graph: nx.DiGraph | None = None,
    torch: bool = False,
    **options: Any,
) -> Path:
    """Load ``input_path`` (or use ``tensors`` already loaded from it, e.g. a session file read by
    a higher layer, or ``graph``, a model graph such as a PyTorch snapshot's) and export its graph
    to ``output_path`` (format from the suffix). Runs of repetitions are folded unless
    ``fold=False``."""
    out = Path(output_path)
    fmt = out.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise RenderError(
            f"{out}: unknown output format {out.suffix or '(no suffix)'!r}; use .{', .'.join(FORMATS)}"
        )
    if not out.parent.exists():
        raise RenderError(f"{out}: folder {out.parent} does not exist")
    if graph is None and torch and tensors is None:
        tensors, param_names = load_torch_script(input_path)
        options["names"] = torch_script_names(tensors, param_names)
    if graph is None and tensors is None:
        tensors = load_script(input_path)
    view = options.pop("view", "tensors")
    options.setdefault("fold", True)  # a loop of 300 steps fits one screen folded
    try:
        return export(tensors if graph is None else graph, out, view=view, **options)
    except OSError as exc:
        raise RenderError(f"{out}: cannot write: {exc.strerror or exc}") from None
