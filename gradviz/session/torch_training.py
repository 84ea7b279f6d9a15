"""Recording a real PyTorch training loop for the Training view: :class:`watch`.

``with gradviz.watch(net) as run:`` around an ordinary loop (``loss = ...; opt.zero_grad();
loss.backward(); opt.step()``) records every ``backward()`` as a step, as the console's
recorder does for its own loops (session/training.py: the same :class:`TrainingRun`, so the
same Training panel plots it): the loss, and for each of ``net.named_parameters()`` that
requires grad (the frozen ones are only named, in ``run.frozen``) its gradient's norm, its value's min and max, and the size of the update the loop made to it (the
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

Recording runs inside the loop's ``backward()``, so nothing it does may raise there: a sparse
gradient is made dense, a complex one measured by its moduli, and what torch won't hand over as
an array is NaN with one warning; at the block's end the node hooks of the last step's graph
are removed (its gradients stay) and nothing is raised over the loop's own error.

torch is imported only when the block starts; without it :func:`require_torch` says how to
install it.
"""

from __future__ import annotations

import sys
import warnings
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
    default; past it every other step's picture goes). ``scaler``: the ``torch.amp.GradScaler``
    of a mixed-precision loop (``scaler.scale(loss).backward()``): the loss and the gradients
    are recorded divided by its ``get_scale()`` at that step, as the loop would have them
    unscaled (the graph's intermediate gradients stay as backward() computed them, scaled).
    Parameters that require no gradient (frozen) are listed in ``run.frozen``, not recorded.

    Recording never breaks the loop: what cannot be measured (a gradient or value torch
    cannot hand over as an array) is NaN, with one warning naming the parameter. Each ``with``
    block is a new run; nothing is recorded after the block, and every hook it set is removed."""

    def __init__(self, model: Any, *, budget: int | None = None, scaler: Any = None) -> None:
        if not hasattr(model, "named_parameters"):
            raise TypeError(
                f"gradviz.watch() takes the torch.nn.Module being trained, not {type(model).__name__}"
            )
        if scaler is not None and not callable(getattr(scaler, "get_scale", None)):
            raise TypeError(
                f"gradviz.watch(scaler=...) takes the loop's torch.amp.GradScaler, not {type(scaler).__name__}"
            )
        self.model = model
        self.scaler = scaler
        self.budget = budget
        self.run = TorchRun(model, budget)
        self._capture: capture | None = None
        self._mode: Any = None
        self._warned: set[str] = set()

    def __enter__(self) -> TorchRun:
        if self._mode is not None:
            raise RuntimeError(
                "gradviz.watch(): this watch is already recording; a with-block can't nest in itself"
            )
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

        if self.run.steps or self.run.finished:  # a watch used again: a run of its own
            self.run = TorchRun(self.model, self.budget)
        self._warned = set()
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
        # Each undoing runs whatever the one before did; none raises over the loop's own error.
        mode, self._mode = self._mode, None
        try:
            mode.__exit__(*exc)
        finally:
            try:
                self._capture.__exit__(*exc)
            finally:
                self._capture.record.unhook()  # the last step's node hooks: its values stay
                try:
                    self.run.end({name: self._array(name, p) for name, p in self._params()[0]})
                except Exception as e:  # recording must not break (or hide an error of) the loop
                    self._warn("end", f"gradviz.watch: the last step's update was not measured ({e})")
                    self.run.finished = True

    def _params(self) -> tuple[list[tuple[str, Any]], list[str]]:
        """The model's parameters that train, and the names of those that are frozen."""
        trained, frozen = [], []
        for name, p in self.model.named_parameters():
            if p.requires_grad:
                trained.append((name, p))
            else:
                frozen.append(name)
        return trained, frozen

    def _step(self, roots: list[Any], seeds: Any) -> None:
        """After a ``backward()``: its step recorded, or a warning why not (never an error,
        which would reach the loop out of its ``backward()``)."""
        try:
            self._record(roots, seeds)
        except Exception as e:
            self._warn(
                "step", f"gradviz.watch: step {self.run.steps} was not recorded ({type(e).__name__}: {e})"
            )

    def _record(self, roots: list[Any], seeds: Any) -> None:
        """After a ``backward()`` from ``roots``: one step of the run."""
        if not roots:
            return
        run, root = self.run, roots[0]
        scale = self._scale()
        loss = _unscaled(root) if scale != 1.0 else root
        run.last_loss = loss
        # (the loop's name for it; a loop that keeps no name for it keeps the one before)
        run.loss_name = _caller_name(loss) or run.loss_name or "the loss"
        loss_name = run.loss_name
        raw = self._array(loss_name, root)
        if raw is None:
            raw = np.full(1, np.nan)
        elif scale != 1.0:
            raw = (raw / scale).astype(raw.dtype)
        value = (np.abs(raw) if np.iscomplexobj(raw) else raw).astype(np.float64)
        seed = next(iter(tensors_in(seeds)), None)
        trained, run.frozen = self._params()
        params = []
        for name, p in trained:
            g = None if p.grad is None else self._array(name, p.grad, "gradient")
            params.append((name, self._array(name, p), g if g is None or scale == 1.0 else g / scale))

        def held() -> dict[str, Held]:
            pictures = {
                name: Held(0, np.array(v, copy=True), None if g is None else np.array(g, copy=True))
                for name, v, g in params
                if v is not None
            }
            # the loss too, with the gradient backward() started from (ones unless given)
            start = None if seed is None else self._array(loss_name, seed, "gradient")
            start = np.ones_like(value) if start is None else start.astype(np.float64) / scale
            pictures[loss_name] = Held(0, raw.copy(), start)
            return pictures

        run.add_step(float(value.mean()) if value.size else float("nan"), params, held)

    def _scale(self) -> float:
        """The scaler's loss scale at this step (1 without one)."""
        if self.scaler is None:
            return 1.0
        scale = float(self.scaler.get_scale())
        return scale if scale > 0 and np.isfinite(scale) else 1.0

    def _array(self, name: str, t: Any, what: str = "value") -> np.ndarray | None:
        """``t`` as a numpy array: a sparse one made dense, a quantized one dequantized; None,
        with one warning naming ``name``, if torch won't hand it over."""
        try:
            if t.layout != _strided():
                t = t.to_dense()
            if t.is_quantized:
                t = t.dequantize()
            return to_numpy(t)
        except Exception as e:
            self._warn(
                f"{what}:{name}",
                f"gradviz.watch: the {what} of {name} can't be read ({e}); it is recorded as NaN",
            )
            return None

    def _warn(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(message, RuntimeWarning, stacklevel=2)


def _strided() -> Any:
    import torch

    return torch.strided


def _unscaled(root: Any) -> Any:
    """The loss a ``GradScaler`` scaled into ``root`` (``loss * scale``): the loop's tensor that
    is the multiplication's input, or ``root`` itself if there is none."""
    fn = getattr(root, "grad_fn", None)
    if fn is None or type(fn).__name__ != "MulBackward0":
        return root
    inputs = [f for f, _ in fn.next_functions if f is not None]
    for v in _loop_locals().values():
        if getattr(v, "grad_fn", None) is not None and any(v.grad_fn is f for f in inputs):
            return v
    return root


def _loop_locals() -> dict[str, Any]:
    """The locals of the first frame outside torch and gradviz: the user's loop."""
    frame = sys._getframe(1)
    try:
        while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] in _OWN:
            frame = frame.f_back
        return {} if frame is None else dict(frame.f_locals)
    finally:
        del frame


def _caller_name(t: Any) -> str:
    """The name the user's loop gave ``t`` (``loss``), '' if none names it."""
    return next((k for k, v in _loop_locals().items() if v is t and not k.startswith("_")), "")
