"""Check Gradient (the inspector) and Tensor ▸ Check All Gradients: a gradient checked by
nudging, off the GUI thread with progress and Cancel.

The numbers come from ``gradviz.engine.gradcheck``: central differences in float64 on the graph
run again, beside autograd's derivative from a fresh float64 copy of it (what one ``backward()``
gives). The verdict shows in the inspector and as a badge on the node; a changed session
forgets them (they were about the graph as it was).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..engine.gradcheck import GradientCheck, check_gradient
from ..graph.colors import format_number
from ..session.document import SessionError
from .work import WorkCancelledError

if TYPE_CHECKING:
    from .main_window import MainWindow


def verdict(name: str, output: str, check: GradientCheck, held: np.ndarray | None) -> str:
    """What a check found, in words: ✓ or ✗, the numbers, and whether ``.grad`` is one backward's."""
    mark = "✓" if check.ok else "✗"
    wrt = f"∂{output}/∂{name}"
    if check.total == 1:
        line = (
            f"{mark} {wrt}: nudging gives {format_number(float(check.numeric[0]))}, autograd "
            f"{format_number(float(check.analytic[0]))} (relative error {check.rel_error:.1e})"
        )
    else:
        which = (
            f"a sample of {len(check.indices)} of its {check.total} elements"
            if check.sampled
            else (f"all {check.total} elements")
        )
        line = f"{mark} {wrt}, {which}: largest relative error {check.rel_error:.1e}"
        if not check.ok:
            worst = int(np.argmax(check.abs_error))
            where = list(check.indices[worst])
            line += (
                f"; at {where} nudging gives {format_number(float(check.numeric[worst]))}, autograd "
                f"{format_number(float(check.analytic[worst]))}"
            )
    if held is not None and check.ok:
        one = np.array([check.analytic[i] for i in range(len(check.indices))])
        mine = np.array([np.asarray(held, dtype=np.float64)[i] for i in check.indices])
        if not np.allclose(mine, one, rtol=1e-3, atol=1e-6):
            line += (
                f". {name}.grad holds more than one backward's worth: backward() calls add up "
                "(Zero Grads starts afresh)"
            )
    return line


def check_one(window: MainWindow, name: str) -> GradientCheck | None:
    """Check ``name``'s gradient of the backward target; None when cancelled."""
    session = window.session
    output = window.backward_target()
    if not output:
        raise SessionError("nothing to check against: no result requires grad (make one first)")
    out, t = session.tensor(output), session.tensor(name)
    if not t.requires_grad:
        raise SessionError(f"{name} does not require grad: backward() never gives it a gradient to check")
    try:
        check = window.run_off_thread(
            lambda progress: check_gradient(out, t, progress=progress),
            f"Checking ∂{output}/∂{name} by nudging…",
            progress_after_ms=150,
        )
    except WorkCancelledError:
        window.say(f"Check of ∂{output}/∂{name} cancelled; nothing changed")
        return None
    _record(window, name, output, check)
    return check


def check_all(window: MainWindow) -> dict[str, GradientCheck]:
    """Check every leaf that requires grad (off the GUI thread, one progress bar)."""
    session = window.session
    output = window.backward_target()
    if not output:
        raise SessionError("nothing to check against: no result requires grad (make one first)")
    out = session.tensor(output)
    leaves = [n for n in session.names() if session.tensor(n).is_leaf and session.tensor(n).requires_grad]
    if not leaves:
        raise SessionError("no leaf requires grad: there is no gradient to check")
    tensors = {n: session.tensor(n) for n in leaves}

    def task(progress: object) -> dict[str, GradientCheck]:
        found: dict[str, GradientCheck] = {}
        for i, n in enumerate(leaves):
            found[n] = check_gradient(out, tensors[n], progress=lambda d, t, i=i: progress(i, len(leaves)))
        progress(len(leaves), len(leaves))
        return found

    try:
        found = window.run_off_thread(
            task, f"Checking every leaf's ∂{output} by nudging…", progress_after_ms=150
        )
    except WorkCancelledError:
        window.say("Check All Gradients cancelled; nothing changed")
        return {}
    for n, check in found.items():
        _record(window, n, output, check)
    bad = [n for n, c in found.items() if not c.ok]
    window.say(
        f"✓ All {len(found)} gradients agree with nudging"
        if not bad
        else f"✗ Nudging disagrees for {', '.join(bad)}"
    )
    return found


def _record(window: MainWindow, name: str, output: str, check: GradientCheck) -> None:
    held = window.session.tensor(name).peek_grad()
    window.source.checks[name] = check.ok
    window.inspector.check_results[name] = verdict(
        name, output, check, held.peek_array() if held is not None else None
    )
    window.inspector.refresh()
    window.canvas.refresh()
    window.say(window.inspector.check_results[name].split(";")[0])


def forget(window: MainWindow) -> None:
    """The session changed: the checks were about the graph before."""
    if window.source is not None and getattr(window.source, "checks", None):
        window.source.checks.clear()
    window.inspector.check_results.clear()
