"""Which backward to step through, for ``gradviz render --step``, the animation and the stepper.

A saved session usually ran its backward already (its graph is freed, its leaves hold grads). To
show that backward step by step, its log is replayed up to the backward into a fresh session: the
tensors as they were the moment before, graph whole. A session whose log has no backward steps
through a backward from its output (see ``backward_plan.default_target``), changing nothing.
A console loop logged as one entry is run again unrolled, to step through its last backward.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..engine.tensor import Tensor
from ..engine.trace import BackwardTrace, trace_backward
from .backward_plan import default_target
from .document import Session, SessionError
from .log import Backward, Loop


@dataclass(frozen=True)
class BackwardSteps:
    """A backward ready to step through: the session as it stood before it, its target's name,
    the gradient given (None: 1 for a scalar), and the trace."""

    session: Session
    target: str
    gradient: Any
    trace: BackwardTrace

    def tensors(self) -> dict[str, Tensor]:
        """The named tensors to draw (hidden intermediates are drawn unnamed, as in the window)."""
        return self.session.tensors(include_hidden=False)

    def names(self) -> dict[int, str]:
        """``{id(tensor): name}`` of the named tensors, for the steps' words."""
        return {id(t): n for n, t in self.session.tensors(include_hidden=False).items()}


def last_backward(session: Session) -> BackwardSteps:
    """The session's last ``backward()`` (replayed up to it), or one from its output."""
    entries = session.entries
    at = next((i for i in range(len(entries) - 1, -1, -1) if isinstance(entries[i], (Backward, Loop))), None)
    if at is not None and isinstance(entries[at], Loop):  # its backwards are inside: unroll it
        from .console import loop_entry

        unrolled = Session()
        unrolled.load_entries(entries[:at])
        loop_entry.unroll(unrolled, entries[at])
        return last_backward(unrolled)
    if at is None:
        target = default_target(session)
        if not target:
            raise SessionError(
                "nothing to step through: no result requires grad (make one and call backward)"
            )
        return steps_from(session, target)
    entry = entries[at]
    before = Session()
    before.load_entries(entries[:at])
    return steps_from(before, entry.target, entry.gradient)


def steps_from(session: Session, target: str, gradient: Any = None) -> BackwardSteps:
    """The steps of ``target.backward(gradient)`` in ``session`` now; raises SessionError with
    PyTorch's words if that backward would fail (a freed graph, a non-scalar without gradient)."""
    try:
        trace = trace_backward(session.tensor(target), gradient)
    except RuntimeError as exc:
        raise SessionError(f"{target}.backward() cannot be stepped through: {exc}") from None
    return BackwardSteps(session, target, gradient, trace)
