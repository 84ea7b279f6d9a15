"""What Backward will act on and do, said before it runs; and the forward pass run again.

A learner who presses Backward means "backward from my result", not "from what I clicked last".
``default_target`` picks that result; ``preview`` says what ``target.backward()`` is about to do
that surprises learners (gradients accumulate; a leaf's backward touches only itself; a freed
graph refuses), so the window can ask first; ``rerun_forward`` rebuilds a freed graph the way a
learner would in PyTorch: by running the cells that computed the target again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gradviz.engine import Tensor
from gradviz.engine.function import AccumulateGrad

from .document import Session, SessionError
from .log import Delete, Entry, Op, Rename


class BackwardTarget:
    """Which tensor Backward starts from: the session's output, unless the learner chose one
    (the choice holds while that tensor exists)."""

    def __init__(self) -> None:
        self.chosen = ""

    def resolve(self, session: Session) -> str:
        if self.chosen and self.chosen in session and not session.info(self.chosen).hidden:
            return self.chosen
        self.chosen = ""
        return default_target(session)

    def choose(self, name: str) -> None:
        """Backward from ``name`` from now on ('' to follow the session's output again)."""
        self.chosen = name

    def candidates(self, session: Session) -> list[str]:
        """What the learner may choose: every tensor that requires grad, outputs first (latest
        first), then the rest in the order they were made."""
        outputs = session.outputs()
        outputs.sort(key=_log_order(session), reverse=True)
        rest = [n for n in session.names() if n not in outputs and session.tensor(n).requires_grad]
        return outputs + rest


def _log_order(session: Session) -> Callable[[str], tuple[int, int]]:
    """A sort key: where the entry that made each named tensor stands in the log."""
    return session.log_order()


def default_target(session: Session) -> str:
    """The session's output: the latest scalar result (computed, not a leaf) that requires grad
    and from which no named tensor is computed; else the latest such result of any shape; ''
    when there is none."""
    outputs = [n for n in session.outputs() if session.tensor(n).grad_fn is not None]
    if not outputs:
        return ""
    outputs.sort(key=_log_order(session))
    scalars = [n for n in outputs if session.tensor(n).numel() == 1]
    return (scalars or outputs)[-1]


@dataclass
class BackwardPreview:
    """What ``target.backward()`` would do, found by walking its graph without running it."""

    target: str
    is_leaf: bool
    receives: list[str] = field(default_factory=list)  # named tensors whose .grad PyTorch writes
    accumulates: list[str] = field(default_factory=list)  # of those, ones that already hold a .grad
    freed: bool = False  # an earlier backward freed what this graph saved: PyTorch will refuse

    @property
    def needs_word(self) -> bool:
        """Whether the learner should hear what is about to happen before it does."""
        return not self.freed and (self.is_leaf or bool(self.accumulates))

    def explanation(self, session: Session) -> str:
        """Plain words for the question the window asks before a surprising backward."""
        t = self.target
        lines = []
        if self.is_leaf:
            lines.append(
                f"{t} is a leaf: {t}.backward() differentiates {t} with respect to itself, so it "
                f"adds ∂{t}/∂{t} = 1 to {t}.grad and changes no other gradient."
            )
        if self.accumulates:
            held = ", ".join(f"{n}.grad = {_short(session.tensor(n).grad)}" for n in self.accumulates)
            lines.append(
                f"These gradients already hold values: {held}. backward() adds the new gradient to "
                "them (PyTorch accumulates .grad); it does not replace them."
            )
            lines.append("To start afresh, zero the gradients first, as a training loop does.")
        return "\n\n".join(lines)


def preview(session: Session, target: str) -> BackwardPreview:
    t = session.tensor(target)
    out = BackwardPreview(target, is_leaf=t.is_leaf)
    names = {id(x): n for n, x in session.tensors(include_hidden=False).items()}
    reached: list[Tensor] = []
    if t.is_leaf:
        if t.requires_grad:
            reached.append(t)
    elif t.grad_fn is not None:
        seen: set[int] = set()
        stack = [t.grad_fn]
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, AccumulateGrad):
                reached.append(node.variable)
                continue
            # A node that saved something and has let it go can't run again (MulBackward after
            # backward); one that saved nothing (AddBackward) can, as in PyTorch.
            if node.saved_buffers_freed and node.saved_tensor_shapes():
                out.freed = True
            output = node.output()
            if output is not None and output is not t:
                reached.append(output)
            stack.extend(f for f, _ in node.next_functions if f is not None)
    named = {names[id(x)]: x for x in reached if id(x) in names}
    for n in sorted(named, key=_log_order(session)):
        if session.info(n).session_retained:
            continue  # (a grad the session keeps for display: PyTorch has none to accumulate)
        out.receives.append(n)
        if named[n]._grad is not None:
            out.accumulates.append(n)
    return out


def _short(g: Tensor | None, limit: int = 40) -> str:
    text = " ".join(repr(g).split()) if g is not None else "None"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def rerun_forward(session: Session, target: str) -> list[str]:
    """Compute ``target`` and every intermediate it depends on again from the same leaves, as
    running the cells that made it again would: a fresh graph with nothing freed. The old
    tensors go, unless something else still reads them (then they stay, unnamed). One undo step.
    Returns the names computed again, in order."""
    info = session.info(target)
    if not isinstance(info.entry, Op):
        raise SessionError(f"{target} is a leaf: it has no forward pass to run again")
    chain = _ancestor_ops(session, target)
    chain_uids = {session.info(n).uid for n in chain}
    entries: list[Entry] = []
    new_name: dict[str, str] = {}  # old current name -> the name its recomputation gets
    moved: dict[str, str] = {}  # visible name -> the hidden name the old tensor takes meanwhile
    for n in chain:
        if not session.info(n).hidden:
            moved[n] = f"_{session.new_uid()}"
            entries.append(Rename(n, moved[n]))
    for n in chain:
        old = session.info(n)
        assert isinstance(old.entry, Op)
        refs = iter(session.operands(n))
        args = []
        for kind, value in old.entry.args:
            if kind == "ref":
                ref = next(refs)
                args.append(("ref", new_name.get(ref, ref)))
            else:
                args.append((kind, value))
        uid = session.new_uid()
        name = f"_{uid}" if old.hidden else n
        entries.append(
            Op(uid, name, old.entry.op, tuple(args), dict(old.entry.params), old.hidden, old.entry.scope)
        )
        new_name[n] = name
    for n in _unread_after(session, chain, chain_uids):
        entries.append(Delete(moved.get(n, n)))
    visible = [n for n in chain if not session.info(n).hidden]
    session.append_entries(entries, f"re-run forward of {target}")
    return visible


def _ancestor_ops(session: Session, target: str) -> list[str]:
    """Names of the ops ``target`` is computed from (itself included), in log order."""
    found: set[str] = set()
    stack = [target]
    while stack:
        n = stack.pop()
        if n in found or not isinstance(session.info(n).entry, Op):
            continue
        found.add(n)
        stack.extend(session.operands(n))
    return sorted(found, key=_log_order(session))


def _unread_after(session: Session, chain: list[str], chain_uids: set[int]) -> list[str]:
    """The old chain tensors nothing outside the chain reads (directly, or through old ones that
    stay), in reverse log order so each goes after what read it."""
    keep: set[str] = set()
    for n in reversed(chain):
        readers = session.dependents(n)
        if any(r in keep or session.info(r).uid not in chain_uids for r in readers):
            keep.add(n)
    return [n for n in reversed(chain) if n not in keep]


def forward_code(session: Session, target: str) -> str | None:
    """The statements that compute ``target``'s chain as they stand now, as PyTorch code
    (``y = w * x + b``): what re-running the forward pass wrote, for the transcript and the
    exported script. None when an op of the chain has no plain torch spelling."""
    import gradviz

    from . import catalogue

    def expr(name: str, top: bool) -> str | None:
        info = session.info(name)
        if not isinstance(info.entry, Op) or (not top and not info.hidden):
            return name
        spec = catalogue.get(info.entry.op)
        refs = iter(session.operands(name))
        args: list[str] = []
        for kind, value in info.entry.args:
            part = expr(next(refs), False) if kind == "ref" else repr(value)
            if part is None:
                return None
            args.append(part)
        defaults = spec.defaults()
        extra = [f"{k}={v!r}" for k, v in info.entry.params.items() if defaults.get(k, object()) != v]
        if spec.symbol and len(args) == 2 and not extra:
            text = f"{args[0]} {spec.symbol} {args[1]}"
        elif spec.symbol == "-" and len(args) == 1 and not extra:
            text = f"-{args[0]}"
        elif hasattr(gradviz, spec.name):
            return f"torch.{spec.name}({', '.join(args + extra)})"
        else:
            return None
        return text if top else f"({text})"

    lines = []
    for n in _ancestor_ops(session, target):
        if session.info(n).hidden:
            continue
        code = expr(n, True)
        if code is None:
            return None
        lines.append(f"{n} = {code}")
    return "\n".join(lines)
