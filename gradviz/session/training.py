"""What a training loop did, step by step: the series the Training panel plots and the values
the scrubber shows.

A *step* is one ``backward()`` run inside a console ``for`` loop (the outermost one; a loop over
epochs with a loop over batches inside makes one step per batch, as an optimiser counts them).
At each step the recorder keeps:

- the loss: the value ``backward()`` started from (its mean if it was not a scalar);
- for each parameter (a leaf that requires grad and existed before the step): its gradient's
  norm, its value's min and max, and the size of the update the loop then made to it (the norm
  of its change from this ``backward()`` to the next one, or to the end of the loop);
- a picture: the value and gradient of every tensor alive at that moment, so the canvas and the
  inspector can show that step as it was. Pictures share a memory budget; past it every other
  one is dropped and only every 2nd, 4th ... step keeps one (the series are kept for every step).

Nothing here is saved with the session: it is a by-product of running the loop.

A run takes its steps as plain numbers and arrays (``TrainingRun.add_step`` and ``end``), so
the console's loops (``record``/``finish`` read the session) and real PyTorch loops
(``gradviz.watch``, session/torch_training.py: pictures of the model's parameters only) fill
the same series and the same Training panel.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from .document import Session

PICTURE_BUDGET = 64 * 1024 * 1024  # bytes of values and gradients kept for scrubbing


@dataclass(frozen=True)
class Held:
    """One tensor's value and gradient as they were at a step."""

    uid: int
    value: np.ndarray
    grad: np.ndarray | None
    made_by: str = ""  # its grad_fn's name ('' for a leaf): what pairs it with a later step's

    @property
    def nbytes(self) -> int:
        return self.value.nbytes + (0 if self.grad is None else self.grad.nbytes)


@dataclass
class Picture:
    """Every tensor alive at one step's ``backward()``, by name."""

    step: int
    tensors: dict[str, Held]

    @property
    def nbytes(self) -> int:
        return sum(h.nbytes for h in self.tensors.values())


@dataclass
class ParamSeries:
    """One parameter's numbers, one per step."""

    grad_norm: list[float] = field(default_factory=list)
    value_min: list[float] = field(default_factory=list)
    value_max: list[float] = field(default_factory=list)
    update: list[float] = field(default_factory=list)  # float("nan") until the next step measures it


class Pictures:
    """The steps' pictures within a memory budget: past it, every other one goes and only
    every ``stride``-th step keeps one from then on; the newest step always has its picture
    (``last``: the end of a training is where a learner looks). Written by the loop's thread,
    read by the GUI's."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.kept: dict[int, Picture] = {}
        self.last: Picture | None = None  # the newest step, when it is not one of ``kept``
        self.stride = 1
        self._bytes = 0
        self._lock = threading.Lock()

    def wanted(self, step: int) -> bool:
        return step % self.stride == 0

    def keep_last(self, picture: Picture) -> None:
        """A step that is not one of the stride's: kept until the next step comes."""
        with self._lock:
            self.last = picture

    def keep(self, picture: Picture) -> None:
        with self._lock:
            self.last = None
            self.kept[picture.step] = picture
            self._bytes += picture.nbytes
            while len(self.kept) > 1 and self._bytes > self.budget:
                self.stride *= 2
                self.kept = {k: p for k, p in self.kept.items() if k % self.stride == 0}
                self._bytes = sum(p.nbytes for p in self.kept.values())

    def nearest(self, k: int) -> int | None:
        """The step nearest ``k`` that has a picture (None if none has)."""
        with self._lock:
            steps = list(self.kept) + ([self.last.step] if self.last is not None else [])
        return min(steps, key=lambda s: (abs(s - k), s)) if steps else None

    def __getitem__(self, step: int) -> Picture:
        last = self.last
        return last if last is not None and last.step == step else self.kept[step]

    def __len__(self) -> int:
        return len(self.kept)


def _norm(a: np.ndarray) -> float:
    """The L2 norm in float64, without BLAS (whose threads, spinning beside torch's, made it
    ten times slower in a PyTorch loop); a complex array's is that of its moduli."""
    if np.iscomplexobj(a):
        a = np.abs(a)
    return float(np.sqrt(np.sum(np.square(a, dtype=np.float64))))


def _real(a: np.ndarray) -> np.ndarray:
    """What a value range is drawn from: a complex array's moduli (its min and max mean nothing)."""
    return np.abs(a) if np.iscomplexobj(a) else a


class TrainingRun:
    """The record of one loop. The loop's thread appends; the GUI thread reads (``steps`` is
    the number of complete entries in every series, so a reader never sees half a step)."""

    def __init__(self, first_uid: int, budget: int | None = None) -> None:
        self.first_uid = first_uid  # tensors with a larger uid were made by the loop
        self.loss: list[float] = []
        self.loss_name = ""
        self.params: dict[str, ParamSeries] = {}
        self.frozen: list[str] = []  # parameters that require no gradient: not plotted, listed
        self.pictures = Pictures(PICTURE_BUDGET if budget is None else budget)
        self.steps = 0
        self.finished = False
        self.last_uid = 1 << 62  # the last tensor the loop made (set when it ends)
        self.mark: object = None  # the log's last entry once the input that ran the loop was kept
        self.source = ""  # the loop's code
        # What a picture holds: every tensor alive at the step ("tensors", a console loop's), or
        # only the parameters and the loss ("parameters", a real PyTorch loop's: see
        # torch_training), whose names stay the same from step to step (``pictured_at``).
        self.pictured = "tensors"
        self._last_values: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    # --- reading ------------------------------------------------------------------------------------
    def stands_in(self, session: Session) -> bool:
        """Whether the session still holds what the loop did (an undo of it, or an open, ends that)."""
        return self.mark is not None and any(e is self.mark for e in reversed(session.entries))

    def series(self, name: str, what: str, n: int | None = None) -> np.ndarray:
        """``what`` in grad_norm, value_min, value_max, update, for the first ``n`` steps (the
        complete ones: a reader on another thread passes the ``steps`` it read once)."""
        n = self.steps if n is None else n
        y = np.full(n, np.nan)
        got = getattr(self.params[name], what)[:n]  # shorter if the parameter is gone
        y[: len(got)] = got
        return y

    def losses(self, n: int | None = None) -> np.ndarray:
        return np.asarray(self.loss[: self.steps if n is None else n], dtype=float)

    # --- recording (the loop's thread) ------------------------------------------------------------------
    # ``add_step`` and ``end`` take plain numbers and arrays, so any loop can be recorded: the
    # console's (``record``/``finish`` below read the session) or real PyTorch's (torch_training).
    def add_step(
        self,
        loss: float,
        params: Iterable[tuple[str, np.ndarray | None, np.ndarray | None]],
        held: Callable[[], dict[str, Held]],
    ) -> None:
        """One step: its loss, each parameter's (name, value, gradient) as they are at this
        ``backward()`` (None: not measurable, its numbers are NaN), and ``held()`` making its
        picture (what the scrubber shows of it). Everything is measured before anything is
        kept, so a step that fails to measure leaves the run as it was."""
        k = self.steps
        nan = float("nan")
        rows = []
        for name, value, g in params:
            real = None if value is None else _real(value)
            rows.append(
                (
                    name,
                    _norm(g) if g is not None else nan,
                    float(real.min()) if real is not None and real.size else nan,
                    float(real.max()) if real is not None and real.size else nan,
                    value,
                )
            )
        picture = Picture(k, held())
        self.loss.append(loss)
        for name, norm, lo, hi, value in rows:
            s = self.params.get(name)
            if s is None:  # a parameter seen first now: earlier steps have no numbers for it
                s = self.params[name] = ParamSeries()
                for series in (s.grad_norm, s.value_min, s.value_max, s.update):
                    series.extend([nan] * k)
            s.grad_norm.append(norm)
            s.value_min.append(lo)
            s.value_max.append(hi)
            if value is not None:
                self._measure_update(name, value)
            s.update.append(nan)
        if self.pictures.wanted(k):
            self.pictures.keep(picture)
        else:
            self.pictures.keep_last(picture)
        with self._lock:
            self.steps = k + 1

    def end(self, values: Mapping[str, np.ndarray | None]) -> None:
        """At the end of the loop: the last step's update is measured against ``values`` now
        (None: not measurable)."""
        for name, value in values.items():
            if name in self.params and value is not None:
                self._measure_update(name, value)
        self.finished = True

    def record(self, session: Session, loss_name: str) -> None:
        """After ``backward()`` from ``loss_name``."""
        everything = session.tensors(include_hidden=True)
        loss = everything[loss_name].peek_array()
        self.loss_name = loss_name
        params = []
        for name, t in everything.items():
            info = session.info(name)
            # A parameter: a leaf that requires grad, made before the loop or given a name of
            # its own (``w = (w - lr * w.grad).detach().requires_grad_()`` makes a new one each step)
            if not (t.is_leaf and t.requires_grad) or (info.uid > self.first_uid and info.hidden):
                continue
            grad = t.peek_grad()
            params.append((name, t.peek_array(), None if grad is None else grad.peek_array()))
        self.add_step(
            float(np.mean(loss)) if loss.size else float("nan"),
            params,
            lambda: self._held(session, everything),
        )

    def finish(self, session: Session) -> None:
        """At the end of the loop: the last step's update is measured against the values now."""
        self.last_uid = session.next_uid - 1
        self.end({name: session.tensor(name).peek_array() for name in self.params if name in session})

    def _measure_update(self, name: str, value: np.ndarray) -> None:
        before = self._last_values.get(name)
        series = self.params[name].update
        if before is not None and before.shape == value.shape and series:
            series[-1] = _norm(np.subtract(value, before, dtype=np.result_type(before, value, np.float64)))
        wide = np.complex128 if np.iscomplexobj(value) else np.float64
        self._last_values[name] = value.astype(wide, copy=True)

    def _held(self, session: Session, everything: dict) -> dict[str, Held]:
        held = {}
        for name, t in everything.items():
            uid = session.info(name).uid
            if uid <= self.first_uid and not t.requires_grad:
                continue  # data made before the loop (the inputs): its value now is its value then
            grad = t.peek_grad()
            held[name] = Held(
                uid,
                np.array(t.peek_array(), copy=True),
                None if grad is None else np.array(grad.peek_array(), copy=True),
                "" if t.grad_fn is None else t.grad_fn.name(),
            )
        return held


def match_names(
    run: TrainingRun, picture: Picture, now: dict[str, tuple[int, tuple[int, ...], str]]
) -> dict[str, str | None]:
    """Which tensor of ``picture`` each tensor alive ``now`` (name -> (uid, shape, grad_fn's
    name)) stands for; None for one of the loop's tensors that step did not make.

    A tensor made before the loop is itself. The loop's own tensors are new every step (PyTorch
    rebuilds the graph each time), so the two steps' tensors, in their order of making, are
    aligned as sequences of (shape, op that made it): the same body makes the same tensors in
    the same order each time round, and where an ``if`` made that step's graph otherwise, what
    it made differently is left unpaired. Tensors made after the loop are not the loop's."""
    pairs: dict[str, str | None] = {}
    ours = [n for _, n in sorted((u, n) for n, (u, _, _) in now.items() if run.first_uid < u <= run.last_uid)]
    theirs = [n for _, n in sorted((h.uid, n) for n, h in picture.tensors.items() if h.uid > run.first_uid)]
    mine_sig = [now[n][1:] for n in ours]
    then_sig = [(tuple(picture.tensors[n].value.shape), picture.tensors[n].made_by) for n in theirs]
    for block in difflib.SequenceMatcher(None, then_sig, mine_sig, autojunk=False).get_matching_blocks():
        for j in range(block.size):
            pairs[ours[block.b + j]] = theirs[block.a + j]
    for mine in ours:
        pairs.setdefault(mine, None)
    for name, (uid, _, _) in now.items():
        if uid <= run.first_uid and name in picture.tensors and picture.tensors[name].uid == uid:
            pairs[name] = name
    return pairs


class TrainingRecorder:
    """Made by the console for its outermost ``for`` loop: hands ``backward()`` calls to a run."""

    def __init__(self, session: Session) -> None:
        self.session = session
        uids = [session.info(n).uid for n in session.tensors(include_hidden=True)]
        self.run = TrainingRun(max(uids, default=0))

    def backward(self, loss_name: str) -> None:
        self.run.record(self.session, loss_name)

    def finish(self) -> TrainingRun | None:
        """The run, if the loop called ``backward()`` at all."""
        self.run.finish(self.session)
        return self.run if self.run.steps else None


Past = dict[str, "tuple[np.ndarray, np.ndarray | None] | None"]


def values_at(session: Session, run: TrainingRun, k: int) -> tuple[int, Past]:
    """What each tensor alive now held at step ``k`` (or the nearest step with a picture): that
    step, and name -> (value, gradient) for every tensor it can be matched to (``match_names``),
    or None for one of the loop's tensors that step did not make."""
    step = run.pictures.nearest(k)
    if step is None:
        return k, {}
    picture = run.pictures[step]
    now = {
        n: (session.info(n).uid, tuple(t.shape), "" if t.grad_fn is None else t.grad_fn.name())
        for n, t in session.tensors(include_hidden=True).items()
    }
    pairs = match_names(run, picture, now)
    return step, {
        mine: None if old is None else (picture.tensors[old].value, picture.tensors[old].grad)
        for mine, old in pairs.items()
    }


def pictured_at(run: TrainingRun, k: int) -> tuple[int, Past]:
    """What a run whose pictures hold the same names every step (a real PyTorch loop's
    parameters) held at step ``k`` (or the nearest step with a picture): that step, and
    name -> (value, gradient)."""
    step = run.pictures.nearest(k)
    if step is None:
        return k, {}
    return step, {n: (h.value, h.grad) for n, h in run.pictures[step].tensors.items()}
