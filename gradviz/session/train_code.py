"""Train: the console source of a training loop for a session's scalar output, in PyTorch's words.

    for step in range(100):
        y = w * x + b
        y.backward()
        with torch.no_grad():
            w -= 0.1 * w.grad
            b -= 0.1 * b.grad
        w.grad.zero_()
        b.grad.zero_()

The loop is code, not a new kind of log entry: the window runs it through the console, so it is
in the log, the transcript, undo and an exported script exactly as the same loop typed would
be. The forward pass is read off the session's log: every op between the chosen leaves and the
output, in the order it ran, re-computed each step because PyTorch builds the graph afresh each
time; its unnamed steps are written inline, and how each op is spelt comes from its
declaration (``op_code``). What doesn't depend on the chosen leaves stays as it is.

``train_code`` refuses (with a reason, never an exception) what PyTorch would refuse or what
could never train: a non-scalar output, a leaf that doesn't require grad, one the output
doesn't depend on, a step count or learning rate out of range. Qt-free.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterable
from dataclasses import dataclass

from gradviz.graph.expression import ATOM, Expr

from . import catalogue
from .document import Session, SessionError
from .log import Leaf, Op
from .op_code import index_code, name_expr, number_expr, op_expr

SGD, MOMENTUM, ADAM = "SGD", "SGD with momentum", "Adam"
OPTIMISERS = (SGD, MOMENTUM, ADAM)
MOMENTUM_VALUE = 0.9  # torch.optim.SGD's momentum as the classic recipes set it
MAX_STEPS = 10_000
MAX_LR = 10.0
MAX_LINE = 5_000  # characters of one line of the forward pass
# Constants a loop may write again each step: made from torch alone, and the same each time.
_RANDOM = frozenset({"rand", "randn", "randint", "randperm", "normal", "bernoulli", "multinomial", "rand_like",
                     "randn_like", "randint_like", "manual_seed", "empty", "empty_like"})  # fmt: skip
_MODULES = frozenset({"torch", "gradviz", "F", "nn", "np", "numpy"})


@dataclass(frozen=True)
class TrainPlan:
    """What the Train dialog chose: the leaves to change, how, how fast and how often."""

    leaves: tuple[str, ...]
    optimiser: str = SGD
    lr: float = 0.1
    steps: int = 100


@dataclass(frozen=True)
class TrainCode:
    """The loop's source, or why there is none (``refusal``, in a learner's words)."""

    source: str = ""
    refusal: str = ""
    forward: tuple[str, ...] = ()  # the names the loop computes again each step, in order

    @property
    def ok(self) -> bool:
        return not self.refusal


def trainable(session: Session) -> list[str]:
    """The named leaves a loop could train: floating-point leaves (the dialog offers these; the
    ones that require grad are the ones it ticks)."""
    out = []
    for n in session.names():
        t = session.tensor(n)
        if session.info(n).is_leaf_entry and t.is_leaf and t.dtype.is_floating_point:
            out.append(n)
    return out


def scalar_output(session: Session, name: str) -> str:
    """Why ``name`` can't be what a loop minimises ('' if it can)."""
    if not name or name not in session or session.info(name).hidden:
        return "choose an output to train: a scalar computed from tensors that require grad (a loss)"
    t = session.tensor(name)
    if t.numel() != 1:
        return (
            f"{name} has {t.numel():,} elements: backward() starts only from a scalar (grad can be implicitly "
            f"created only for scalar outputs). Reduce it to one number first, a loss such as {name}.sum() or "
            f"{name}.mean()"
        )
    if not t.dtype.is_floating_point:
        return f"{name} is an integer tensor ({t.dtype}): only floating point outputs have gradients"
    if t.grad_fn is None:
        return (
            f"{name} is not computed from any tensor that requires grad (it has no grad_fn), so a "
            "training step has nothing to differentiate"
        )
    return ""


def train_code(session: Session, output: str, plan: TrainPlan, in_use: Iterable[str] = ()) -> TrainCode:
    """The console source of ``plan.steps`` training steps that minimise ``output``. ``in_use``:
    the console's own names (``opt``, ``model`` ...), which the loop's names must not overwrite."""
    why = scalar_output(session, output) or _check_plan(session, plan)
    if why:
        return TrainCode(refusal=why)
    leaves = list(dict.fromkeys(plan.leaves))
    ancestors = _ancestors(session, output)
    for n in leaves:
        if n not in ancestors:
            return TrainCode(
                refusal=f"{output} doesn't depend on {n}: backward() would leave {n}.grad None, and no step "
                f"could change {output} through {n}. Untick {n}"
            )
    taken = set(session.names(include_hidden=True)) | set(leaves) | set(in_use)
    chain, temps = _chain(session, ancestors, set(leaves), taken)
    ops: list[str] = []  # each op a step runs
    try:
        body = [
            f"{temps.get(n, n)} = {_expr(session, n, set(leaves), temps, ops, top=True)[0]}" for n in chain
        ]
    except SessionError as e:
        return TrainCode(refusal=str(e))
    if any(len(line) > MAX_LINE for line in body):
        return TrainCode(refusal=f"the forward pass to {output} is too long to write out as code")
    taken |= set(temps.values())
    step = next(v for v in ("step", "epoch", "i", "k", "step_") if v not in taken)
    lr = repr(float(plan.lr))
    names = ", ".join(leaves)
    lines: list[str] = []
    if plan.optimiser == SGD:
        held = [n for n in leaves if session.tensor(n).peek_grad() is not None]
        if held:  # backward adds to .grad: start the first step from nothing, as zero_grad() would
            lines += [f"{n}.grad = None" for n in held]
        lines.append(f"for {step} in range({plan.steps}):")
        lines += [f"    {line}" for line in body]
        lines.append(f"    {output}.backward()")
        lines.append("    with torch.no_grad():")
        lines += [f"        {n} -= {lr} * {n}.grad" for n in leaves]
        lines += [f"    {n}.grad.zero_()" for n in leaves]
    else:
        opt = next(v for v in ("opt", "optimizer", "optim", "opt_") if v not in taken)
        if plan.optimiser == MOMENTUM:
            make = f"torch.optim.SGD([{names}], lr={lr}, momentum={MOMENTUM_VALUE})"
        else:
            make = f"torch.optim.Adam([{names}], lr={lr})"
        lines.append(f"{opt} = {make}")
        lines.append(f"for {step} in range({plan.steps}):")
        lines.append(f"    {opt}.zero_grad()")
        lines += [f"    {line}" for line in body]
        lines.append(f"    {output}.backward()")
        lines.append(f"    {opt}.step()")
    return TrainCode("\n".join(lines) + "\n", forward=tuple(chain))


def loop_length(source: str) -> int:
    """How many iterations the input runs, when it is one ``for`` over a range of numbers with
    no other loop or function in it (what the window counts as "step k of N"); else 0."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return 0
    loops = [s for s in tree.body if isinstance(s, ast.For)]
    others = (ast.For, ast.While, ast.FunctionDef, ast.Lambda, ast.comprehension)
    if len(loops) != 1 or sum(isinstance(n, others) for n in ast.walk(tree)) != 1:
        return 0
    it = loops[0].iter
    if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range"):
        return 0
    bounds = [a.value for a in it.args if isinstance(a, ast.Constant) and type(a.value) is int]
    if it.keywords or not 1 <= len(bounds) == len(it.args) <= 3 or (len(bounds) == 3 and bounds[2] == 0):
        return 0
    try:
        return len(range(*bounds))
    except OverflowError:
        return 0


def _check_plan(session: Session, plan: TrainPlan) -> str:
    if plan.optimiser not in OPTIMISERS:
        return f"unknown optimiser {plan.optimiser!r}: choose one of {', '.join(OPTIMISERS)}"
    if isinstance(plan.steps, bool) or not isinstance(plan.steps, int) or not 1 <= plan.steps <= MAX_STEPS:
        return f"the number of steps must be a whole number from 1 to {MAX_STEPS:,}, not {plan.steps!r}"
    lr = plan.lr
    if (
        isinstance(lr, bool)
        or not isinstance(lr, (int, float))
        or not math.isfinite(lr)
        or not 0 < lr <= MAX_LR
    ):
        return f"the learning rate must be a number above 0 and at most {MAX_LR:g}, not {lr!r}"
    if not plan.leaves:
        return "choose at least one leaf to train: the tensors each step changes"
    for n in plan.leaves:
        if n not in session or session.info(n).hidden:
            return f"name '{n}' is not defined"
        t = session.tensor(n)
        if not (session.info(n).is_leaf_entry and t.is_leaf):
            return (
                f"{n} is not a leaf: it is computed from other tensors, and a step can only change the "
                "leaves it was computed from (an optimiser is given leaf tensors)"
            )
        if not t.dtype.is_floating_point:
            return f"{n} is an integer tensor ({t.dtype}): only floating point tensors can require gradients"
        if not t.requires_grad:
            return (
                f"{n} doesn't require grad, so backward() gives it no gradient to step with: make it with "
                f"requires_grad=True (or call {n}.requires_grad_()) first"
            )
    return ""


def _ancestors(session: Session, output: str) -> set[str]:
    """Every tensor ``output`` is computed from, itself included."""
    found: set[str] = set()
    stack = [output]
    while stack:
        n = stack.pop()
        if n not in found:
            found.add(n)
            stack.extend(session.operands(n))
    return found


def _chain(
    session: Session, ancestors: set[str], leaves: set[str], taken: set[str]
) -> tuple[list[str], dict[str, str]]:
    """The named ops between the leaves and the output, in log order: what each step computes;
    and names for the unnamed ones read more than once (``y = y * y`` twice over), which
    written inline would be computed twice each, a graph other than the session's."""
    ordered = sorted(ancestors, key=session.log_order())  # (a Loop's tensors in the order it made them)
    depends: set[str] = set()
    reads: dict[str, int] = {}
    for n in ordered:
        hidden, operands = session.info(n).hidden, session.operands(n)
        if n in leaves or any(m in depends for m in operands):
            depends.add(n)
        if n in depends or hidden:  # written out (an op named and not recomputed is read by name)
            for m in operands:
                reads[m] = reads.get(m, 0) + 1
    temps: dict[str, str] = {}
    for n in ordered:
        if session.info(n).hidden and isinstance(session.info(n).entry, Op) and reads.get(n, 0) > 1:
            k = len(temps) + 1
            while f"t{k}" in taken:
                k += 1
            temps[n] = f"t{k}"
            taken = taken | {temps[n]}
    chain = [
        n for n in ordered if n not in leaves and isinstance(session.info(n).entry, Op)
        and ((n in depends and not session.info(n).hidden) or n in temps)
    ]  # fmt: skip
    return chain, temps


def _expr(
    session: Session, name: str, leaves: set[str], temps: dict[str, str], ops: list[str], top: bool = False
) -> Expr:
    """``name``'s expression: its op with unnamed operands written inline, named ones by name."""
    info = session.info(name)
    if not top and (not info.hidden or name in leaves or name in temps):
        return name_expr(temps.get(name, name))
    entry = info.entry
    if isinstance(entry, Leaf):  # a constant the user never named: written as it was made
        return _constant(entry)
    assert isinstance(entry, Op)
    spec = catalogue.get(entry.op)
    ops.append(entry.op)
    refs = iter(session.operands(name))
    operands: list[Expr] = []
    for kind, value in entry.args:
        operands.append(
            _expr(session, next(refs), leaves, temps, ops) if kind == "ref" else number_expr(value)
        )
    index = ""
    if "index" in spec.syntax:
        index = index_code(entry.params.get("index", []), [x for x, _ in operands])
    return op_expr(spec, operands, dict(entry.params), index, dims=True)


def _constant(entry: Leaf) -> Expr:
    """An unnamed constant as the code that made it, when that code gives the same tensor each
    time (``torch.tensor(2.)``); one read from a tensor (``w.grad``) or drawn at random can't be."""
    source = entry.source.strip()
    try:
        tree = ast.parse(source, mode="eval") if source else None
    except SyntaxError:
        tree = None
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} if tree is not None else {"?"}
    calls = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)} if tree is not None else set()
    if tree is None or not names <= _MODULES or calls & _RANDOM:
        what = f"made by {source}" if source else "an unnamed constant"
        raise SessionError(
            f"the forward pass reads a constant {what}, which a loop can't make again the same each step: "
            "give it a name first (for example c = ...) and compute with the name"
        )
    return source, ATOM if isinstance(tree.body, (ast.Call, ast.Name, ast.Constant, ast.Attribute)) else 0


__all__ = [
    "ADAM",
    "MAX_LR",
    "MAX_STEPS",
    "MOMENTUM",
    "OPTIMISERS",
    "SGD",
    "TrainCode",
    "TrainPlan",
    "loop_length",
    "scalar_output",
    "train_code",
    "trainable",
]
