"""Recording a real PyTorch training loop for the Training view: :class:`watch`.

``with gradviz.watch(net) as run:`` around an ordinary loop (``loss = ...; opt.zero_grad();
loss.backward(); opt.step()``) records every ``backward()`` as a step, as the console's
recorder does for its own loops (session/training.py: the same :class:`TrainingRun`, so the
same Training panel plots it): the loss, and for each of ``net.named_parameters()`` its
gradient's norm, its value's min and max, and the size of the update the loop made to it (the
norm of its change until the next ``backward()``, or the end of the block). Each step's
parameter values and gradients are kept as pictures within the run's memory budget, for the
scrubber. ``gradviz.show(run)`` (or ``run.show()``) opens them.

How a step is seen: a ``TorchFunctionMode`` catches ``Tensor.backward`` and
``torch.autograd.backward`` (``torch.autograd.grad`` fills no ``.grad``: not a step). It sees
the tensor backward() starts from (the loss) and runs after backward() has returned, when every
parameter's ``.grad`` is complete, with nothing in the loop changed. Hooks on the parameters
(``register_post_accumulate_grad_hook``) would fire once per parameter in the middle of
backward(), would not see the loss, and could not tell where one backward() ends. The block
also runs in a :class:`~gradviz.graph.torch_capture.capture` of the model (the same kind of mode:
the two nest), so the last step's graph is drawn with every intermediate's value and gradient
and its ops grouped by module.

Gradient accumulation (two ``backward()`` calls before ``opt.step()``) counts two steps: the
first one's update is 0 (nothing changed the parameters before the second), and the second one's
gradient norm is that of the summed gradient, as ``.grad`` holds it then.

torch is imported only when the block starts; without it :func:`require_torch` says how to
install it.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ..graph.torch_capture import capture, require_torch, tensors_in
from ..graph.torch_graph import to_numpy
from .training import Held, TrainingRun

_OWN = ("torch", "gradviz")  # modules whose frames are not the user's loop
_last: list[TorchRun] = []  # the most recent watch's run: gradviz.show(its last loss) opens it


def last_run() -> TorchRun | None:
    return _last[-1] if _last else None


class TorchRun(TrainingRun):
    """What :class:`watch` recorded: a :class:`TrainingRun` (``losses()``, ``series(name,
    what)``, ``steps``, ``pictures``) of a PyTorch loop, with what the window draws: the model
    and the last step's loss, whose graph the capture kept."""

    def __init__(self, model: Any, budget: int | None = None) -> None:
        super().__init__(0, budget)
        self.pictured = "parameters"
        self.model = model
        self.last_loss: Any = None  # the tensor the last backward() started from
        self.capture: capture | None = None  # what drew the last step's graph

    def __repr__(self) -> str:
        losses = self.losses()
        trend = f", loss {losses[0]:.4g} → {losses[-1]:.4g}" if losses.size else ""
        return f"<gradviz.watch run of {type(self.model).__name__}: {self.steps} steps{trend}>"

    def show(self, **options: Any) -> None:
        """Open the window on this run: ``gradviz.show(run, **options)``, the caller's variables
        naming its tensors unless ``names=`` does."""
        import gradviz

        if "names" not in options:
            frame = sys._getframe(1)
            try:
                options["names"] = {**frame.f_globals, **frame.f_locals}
            finally:
                del frame
        gradviz.show(self, **options)


class watch:
    """``with gradviz.watch(net) as run:`` records each ``backward()`` of the loop inside as a
    training step (see the module's docstring); afterwards ``gradviz.show(run)`` opens the
    graph of the last step with the Training panel, whose scrubber shows each step's
    parameter values and gradients. ``budget``: bytes of pictures kept for scrubbing (64 MB by
    default; past it every other step's picture goes). Nothing is recorded after the block,
    and every hook it set is removed."""

    def __init__(self, model: Any, *, budget: int | None = None) -> None:
        if not hasattr(model, "named_parameters"):
            raise TypeError(
                f"gradviz.watch() takes the torch.nn.Module being trained, not {type(model).__name__}"
            )
        self.model = model
        self.run = TorchRun(model, budget)
        self._capture: capture | None = None
        self._mode: Any = None

    def __enter__(self) -> TorchRun:
        torch = require_torch()
        from torch.overrides import TorchFunctionMode

        backward_fns = {torch.Tensor.backward, torch.autograd.backward}
        step = self._step

        class _Steps(TorchFunctionMode):
            def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
                kwargs = kwargs or {}
                out = func(*args, **kwargs)
                if func in backward_fns:
                    roots = args[0] if args else kwargs.get("tensors")
                    seeds = args[1] if len(args) > 1 else kwargs.get("gradient", kwargs.get("grad_tensors"))
                    step(list(tensors_in(roots)), seeds)
                return out

        # The capture's mode first, then ours inside it: ours sees backward() first and hands
        # it on to the capture, which hooks the graph before it runs.
        self._capture = capture(model=self.model)
        self._capture.__enter__()
        self.run.capture = self._capture
        self._mode = _Steps()
        self._mode.__enter__()
        _last[:] = [self.run]
        return self.run

    def __exit__(self, *exc: Any) -> None:
        self._mode.__exit__(*exc)
        self._capture.__exit__(*exc)
        self.run.end({name: to_numpy(p) for name, p in self.model.named_parameters()})

    def _step(self, roots: list[Any], seeds: Any) -> None:
        """After a ``backward()`` from ``roots``: one step of the run."""
        if not roots:
            return
        run, loss = self.run, roots[0]
        run.last_loss = loss
        # (the loop's name for it; a loop that keeps no name for it keeps the one before)
        run.loss_name = _caller_name(loss) or run.loss_name or "the loss"
        loss_name = run.loss_name
        value = to_numpy(loss).astype(np.float64)
        seed = next(iter(tensors_in(seeds)), None)
        params = [
            (name, to_numpy(p), None if p.grad is None else to_numpy(p.grad))
            for name, p in self.model.named_parameters()
        ]

        def held() -> dict[str, Held]:
            pictures = {
                name: Held(0, np.array(v, copy=True), None if g is None else np.array(g, copy=True))
                for name, v, g in params
            }
            # the loss too, with the gradient backward() started from (ones unless given)
            start = np.ones_like(value) if seed is None else to_numpy(seed).astype(np.float64)
            pictures[loss_name] = Held(0, to_numpy(loss).copy(), start)
            return pictures

        run.add_step(float(value.mean()) if value.size else float("nan"), params, held)


def _caller_name(t: Any) -> str:
    """The name the user's loop gave ``t`` (``loss``), from the first frame outside torch and
    gradviz ('' if none names it)."""
    frame = sys._getframe(1)
    try:
        while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] in _OWN:
            frame = frame.f_back
        if frame is None:
            return ""
        return next((k for k, v in frame.f_locals.items() if v is t and not k.startswith("_")), "")
    finally:
        del frame
