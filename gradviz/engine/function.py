"""Autograd nodes: ``Function`` (forward and backward of one op) and ``Node`` (a grad_fn).

An op is a ``Function`` subclass with a numpy ``forward(ctx, *arrays, **params)`` and a
``backward(ctx, grad)`` written with the operators and the helpers in ``dual``, so the same
formula runs on plain arrays (ordinary backward, fast) or on Tensors (``create_graph=True``,
which records the graph of the gradient itself).
"""

from __future__ import annotations

import functools
import itertools
import re
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from . import grad_mode
from .registry import NODE_CLASSES

if TYPE_CHECKING:
    from .tensor import Tensor

FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward."
)

_state = grad_mode.state
# How many name scopes are open, on any thread (scopes.py): while none is, making a node costs
# one global read for them, not a read of the thread's own.
_scopes_open = 0
# Creation order of nodes: a node's inputs always exist before it, so running nodes from the
# newest down is a valid backward order (PyTorch's engine orders its ready queue the same way).
_next_seq = itertools.count(1).__next__
_weakref = weakref.ref
# What forward may return as is: arrays and numpy scalars (0-d results stay scalars; see Tensor).
_ARRAY_TYPES = frozenset([np.ndarray, *{np.dtype(c).type for c in "?bhilqBHILQefdg"}])


class _Output:
    """A saved reference to a node's own output; holding the array avoids a reference cycle."""

    __slots__ = ("data",)

    def __init__(self, data: np.ndarray) -> None:
        self.data = data


class Node:
    """A ``grad_fn``: one step of the backward graph.

    ``next_functions`` and ``inputs`` survive ``backward()``; only the saved buffers are freed,
    so a graph can always be walked and drawn.
    """

    # Defaults live on the class so that recording an op sets as few attributes as possible;
    # each Function gets its own Node subclass named like PyTorch's (MulBackward0, ...).
    _fn: type[Function]
    _name = "Node"
    _seq = 0
    _saved: tuple | None = ()  # what forward saved, as given; None once freed
    _refs: tuple = ()  # the same, mapped to input Tensors / _Output for recording a graph
    _checks: tuple = ()  # (input tensor, its version when saved), checked before use
    _saves_output = False  # forward saved its own output, which must not change in place
    _out_version = 0  # the output's version when this node made it
    _retained: list | None = None
    # The gradient that reached this node in backward() (what retain_grad() on its output would
    # hold), kept by the engine for drawings: see ``kept_grad``. It lives as long as the node.
    _kept: Any = None
    _output: Any = None
    params: dict[str, Any] = {}  # noqa: RUF012 - never mutated; instances assign their own
    inputs: tuple = ()
    next_functions: tuple = ()
    # Tensors the op also read that take no gradient (nll_loss's target, where's condition, the
    # mask in a[mask]): PyTorch keeps them out of next_functions, as we do, but they are inputs
    # all the same, and the Tensors view draws them. See note_nondiff_inputs.
    nondiff_inputs: tuple = ()
    # Set on the node that made the result of a call the engine records as several nodes
    # (F.linear: TBackward0, AddmmBackward0): see Composite.
    composite: Composite | None = None
    # The nn.Module calls and name scopes this node was made in, outermost first: (name in its
    # parent, class name, call number, id of the module) each; see mark_module_call. A name
    # scope, or a call named whole by the session, has no module id: see scopes.py.
    scope: tuple = ()
    _meta: Any = ((), None)  # see output_meta
    _hooks: dict | None = None  # Tensor.register_hook: run on the gradient before this node
    _n_out = 1  # outputs of the node (a custom Function may return several: see _index_of)

    def name(self) -> str:
        return self._name

    @property
    def output_meta(self) -> tuple:
        """``(shape, dtype)`` of the output this node produced (kept after the output is gone)."""
        m = self._meta  # the output itself when it is a numpy scalar: cheaper to record
        return m if type(m) is tuple else (m.shape, m.dtype)

    def __repr__(self) -> str:
        return f"<{self._name.rsplit(':', 1)[-1]} object at {id(self):#x}>"

    # --- used by forward -------------------------------------------------------------------
    def save_for_backward(self, *arrays: Any) -> None:
        self._saved = arrays

    # --- used by backward ------------------------------------------------------------------
    @property
    def saved_tensors(self) -> tuple:
        """Saved values: arrays during a plain backward, Tensors while recording a graph."""
        saved = self._saved
        if saved is None:
            raise RuntimeError(FREED_MESSAGE)
        for t, v in self._checks:
            if t._version != v:
                self._version_error(t, v)
        if self._saves_output:
            out = self._output()
            if out is not None and out._version != self._out_version:  # changed in place since
                self._version_error(out, 0, self)
        if _state.enabled:
            return tuple([self._as_tensor(s) for s in self._refs])
        return saved

    @property
    def saved_buffers_freed(self) -> bool:
        return self._saved is None

    def saved_tensor_shapes(self) -> list[tuple[int, ...]]:
        """Shapes of what this node saved, before and after backward() frees it; graph badges."""
        refs = self._refs or self._saved or ()
        return [
            tuple(np.shape(s.data if isinstance(s, _Output) else getattr(s, "_data", s)))
            for s in refs
            if s is not None
        ]

    def _as_tensor(self, s: Any) -> Tensor | None:
        from .tensor import Tensor

        if s is None or isinstance(s, Tensor):
            return s
        if isinstance(s, _Output):
            # A fresh alias of the output that routes gradients back through this node.
            return Tensor._make(s.data, True, self)
        return Tensor._make(np.asarray(s), False, None)

    @staticmethod
    def _version_error(s: Tensor, v: int, producer: Node | None = None) -> None:
        # PyTorch names the producer without "Backward0" (MaxBackward1 is "Max1") and says
        # nothing for a leaf.
        producer = producer or s.grad_fn
        where = f", which is output 0 of {re.sub(r'Backward(0$)?', '', producer.name())}," if producer else ""
        raise RuntimeError(
            "one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: [{s.type()} {list(s.shape)}]{where} is at version {s._version}; "
            f"expected version {v} instead."
        )

    def release(self) -> None:
        # What was saved stays described in _refs (input tensors are kept alive by ``inputs``
        # anyway), so a drawn graph can still badge it as "saved ... (freed)".
        self._saved = None
        self._checks = ()

    def retain(self, tensor: Tensor) -> None:
        if self._retained is None:
            self._retained = []
        self._retained.append(weakref.ref(tensor))

    def kept_grad(self, tensor: Tensor | None = None) -> np.ndarray | np.generic | None:
        """The gradient of this node's output that backward() brought here, summed over every
        backward() since the node was made, as ``retain_grad()`` would have summed it; None if
        none reached it (or keeping was off: ``gradviz.engine.autograd.keep_grads``).

        gradviz keeps it for drawings, so that every intermediate can be coloured without the
        user calling ``retain_grad()``; ``.grad`` is untouched and stays None, as in PyTorch.
        For a node with several outputs, ``tensor`` picks the output (the first by default).
        """
        k = self._kept
        if k is None:
            return None
        from .autograd import MultiGrad

        if isinstance(k, MultiGrad):
            k = k.grads[self._index_of(tensor) if tensor is not None else 0]
        return getattr(k, "_data", k)

    def output(self) -> Tensor | None:
        """The tensor this node produced, if it is still alive."""
        return self._output() if self._output is not None else None


class RemovableHandle:
    """What ``register_hook`` returns: ``remove()`` takes the hook off again."""

    _ids = itertools.count()

    def __init__(self, hooks: dict) -> None:
        self.id = next(RemovableHandle._ids)
        self._hooks = hooks

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class AccumulateGrad(Node):
    """The sink of a leaf that requires grad: gradients arriving here land in ``leaf.grad``."""

    _name = "gradviz::autograd::AccumulateGrad"
    derivative = "no derivative: it adds the gradient that arrives into the leaf's .grad"

    _post_hooks: dict | None = None  # Tensor.register_post_accumulate_grad_hook

    def __init__(self, leaf: Tensor) -> None:
        # A sink: it may run after every other node, so it sorts below all of them.
        self._seq = -_next_seq()
        self.variable = leaf
        self._meta = (leaf._data.shape, leaf._data.dtype)


NODE_CLASSES["AccumulateGrad"] = AccumulateGrad


class _NoneNeeded:
    """``needs_input_grad`` when nothing is recorded: False for every input."""

    __slots__ = ()

    def __getitem__(self, i: int) -> bool:
        return False


class _Discard:
    """The ctx handed to forward when no graph is recorded: it forgets everything."""

    __slots__ = ()
    needs_input_grad = _NoneNeeded()

    def save_for_backward(self, *arrays: Any) -> None:
        pass

    def __setattr__(self, key: str, value: Any) -> None:
        pass


_DISCARD = _Discard()


class Function:
    """One differentiable op. Subclasses set ``name`` (PyTorch's grad_fn name) and define
    ``forward(ctx, *arrays, **params)`` returning an array, and ``backward(ctx, grad)`` returning
    one gradient per input (``None`` where there is none).

    The local derivative is data beside them (read through ``registry.formula_for``):
    ``formula`` maps each operand (PyTorch's name) to ∂result/∂operand (∂L/∂operand when
    ``adjoint``), ``statement`` says what the op computes; ``derivative`` is the whole line
    instead, where it does not split that way. A node that is one case of another op (SumBackward1:
    sum over dims) is a subclass of its own with another ``name``.
    """

    name = "Function"
    formula: ClassVar[dict[str, str]] = {}
    statement: ClassVar[str] = ""
    derivative: ClassVar[str] = ""
    adjoint: ClassVar[bool] = False
    operands: ClassVar[tuple[str, ...]] = ("input", "other")  # what ``formula`` calls the inputs

    @staticmethod
    def forward(ctx: Any, *arrays: np.ndarray, **params: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Any, grad: Any) -> tuple:
        raise NotImplementedError

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._node_type = type(cls.name, (Node,), {"_fn": cls, "_name": cls.name})
        if "name" in cls.__dict__:  # not ViewFunction, which only adds behaviour
            NODE_CLASSES[cls.name] = cls

    @classmethod
    def apply(cls, *inputs: Tensor, **params: Any) -> Tensor:
        # This is the hot path of every op: keep it free of imports and helper calls.
        if _state.enabled:
            for t in inputs:
                if t._requires_grad:
                    break
            else:
                return _apply_plain(cls, inputs, params)
        else:
            return _apply_plain(cls, inputs, params)

        node = cls._node_type()
        node.inputs = inputs
        # As in PyTorch, forward may save only what the gradients actually needed will use.
        if len(inputs) == 2:
            a, b = inputs
            node.needs_input_grad = (a._requires_grad, b._requires_grad)
            out = cls.forward(node, a._data, b._data, **params)
            node.next_functions = ((a.grad_fn or a._grad_node(), 0), (b.grad_fn or b._grad_node(), 0))
        else:
            node.needs_input_grad = tuple([t._requires_grad for t in inputs])
            out = cls.forward(node, *[t._data for t in inputs], **params)
            node.next_functions = tuple([(t.grad_fn or t._grad_node(), 0) for t in inputs])
        node._seq = _next_seq()  # after the inputs' AccumulateGrad nodes exist
        if _scopes_open and _state.scope:
            node.scope = _state.scope
        if type(out) not in _ARRAY_TYPES and not isinstance(out, np.generic):
            out = np.asarray(out)
        result = make_tensor(out, True, node)
        if params:
            node.params = params
        node._meta = (out.shape, out.dtype) if type(out) is np.ndarray else out
        node._output = _weakref(result)
        if node._saved:
            _resolve_saved(node, inputs, out)
        return result

    @classmethod
    def _apply2(cls, a: Tensor, b: Tensor) -> Tensor:
        """``apply(a, b)`` for a binary op without parameters: the hot path of arithmetic,
        kept apart so that it packs no arguments. Keep it in step with ``apply``."""
        if not (_state.enabled and (a._requires_grad or b._requires_grad)):
            return _apply_plain(cls, (a, b), {})
        node = cls._node_type()
        node.inputs = inputs = (a, b)
        node.needs_input_grad = (a._requires_grad, b._requires_grad)
        da, db = a._data, b._data
        out = cls.forward(node, da, db)
        node.next_functions = ((a.grad_fn or a._grad_node(), 0), (b.grad_fn or b._grad_node(), 0))
        node._seq = _next_seq()
        if _scopes_open and _state.scope:
            node.scope = _state.scope
        if type(out) not in _ARRAY_TYPES and not isinstance(out, np.generic):
            out = np.asarray(out)
        result = make_tensor(out, True, node)
        node._meta = (out.shape, out.dtype) if type(out) is np.ndarray else out
        node._output = _weakref(result)
        saved = node._saved
        if saved:
            if len(saved) == 2 and saved[0] is da and saved[1] is db:  # both operands, as given
                node._refs = inputs
                node._checks = ((a, a._version), (b, b._version))
            else:
                _resolve_saved(node, inputs, out)
        return result


class ViewFunction(Function):
    """An op whose result shares memory with its input (view, expand, basic indexing).

    A 0-d input may hold a numpy scalar, which cannot share memory: promote it first."""

    @classmethod
    def apply(cls, *inputs: Tensor, **params: Any) -> Tensor:
        for t in inputs:
            if type(t._data) is not np.ndarray:
                t._storage()
        return Function.apply.__func__(cls, *inputs, **params)


def _apply_plain(cls: type[Function], inputs: tuple, params: dict) -> Tensor:
    out = cls.forward(_DISCARD, *[t._data for t in inputs], **params)
    if type(out) not in _ARRAY_TYPES and not isinstance(out, np.generic):
        out = np.asarray(out)
    return make_tensor(out, False, None)


def note_nondiff_inputs(out: Tensor, tensors: tuple) -> Tensor:
    """Record ``tensors`` (Tensors only) as inputs of the node that made ``out``, beside its
    differentiable ones; nothing to do when no graph was recorded."""
    if tensors and out.grad_fn is not None:
        out.grad_fn.nondiff_inputs = tensors
    return out


# Set by tensor.py once Tensor exists (function.py is imported first).
make_tensor: Any = None


class Composite:
    """One call the learner wrote (``F.linear(x, w, b)``) that is recorded as several nodes, as
    PyTorch records it (TBackward0, then AddmmBackward0). The backward graph keeps every node;
    the Tensors view draws the call as one op, ``name(params)``, from ``inputs`` to the result.

    ``inputs``: what each tensor passed in stood for at the call: the tensor itself if it had no
    history, else its ``grad_fn`` (a later in-place op cannot change that). ``start``: a sequence
    number taken before the call, so the nodes the call made are the ones reachable from the
    result whose ``_seq`` is higher (see :meth:`internal_nodes`).
    """

    __slots__ = ("inputs", "name", "params", "start")

    def __init__(self, name: str, inputs: tuple, params: dict[str, Any], start: int) -> None:
        self.name, self.inputs, self.params, self.start = name, inputs, params, start

    def internal_nodes(self, node: Node) -> list[Node]:
        """The nodes the call made before ``node`` (its result's node), inputs first."""
        start, seen, stack = self.start, {id(node)}, [node]
        found: list[Node] = []
        while stack:
            for fn, _ in stack.pop().next_functions:
                if fn is not None and fn._seq > start and id(fn) not in seen:
                    seen.add(id(fn))
                    found.append(fn)
                    stack.append(fn)
        found.sort(key=lambda n: n._seq)
        return found

    def __repr__(self) -> str:
        return f"<Composite {self.name} of {len(self.inputs)} input(s)>"


def _several(node: Node | None, start: int) -> bool:
    """Whether ``node`` and at least one node behind it were made since ``start``."""
    if node is None or node._seq <= start:
        return False
    return any(f is not None and f._seq > start for f, _ in node.next_functions)


def _reads_its_own(node: Node | None, start: int, tensors: tuple) -> bool:
    """Whether ``node``, made since ``start``, read a tensor the call made itself rather than
    one passed in: ``F.linear(x, W)`` with a frozen ``W`` records one node, MmBackward0, of
    ``x`` and ``W.t()``; drawn as it is, ``W`` would hang unconnected."""
    if node is None or node._seq <= start:
        return False
    passed = {id(t) for t in tensors}
    return any(id(t) not in passed for t in node.inputs)


def call_start() -> int:
    """A sequence number before a call: the nodes the call makes have higher ones."""
    return _next_seq()


def mark_module_call(outputs: Any, start: int, module: Any, children: dict[int, str]) -> None:
    """Note on every node made since ``start`` that ``outputs`` were computed through that it
    was made in a call of ``module`` (an ``nn.Module``); ``children`` names its child modules by
    id, which names the calls made inside it. The Tensors and autograd views can then draw a
    module as one box. Runs once per module call, never per op."""
    outs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
    entry = ("", type(module).__name__, start, id(module))
    # The name scopes open around the call stay outside it: every node it made starts with them.
    k = len(_state.scope)
    stack = [fn for fn in (getattr(t, "grad_fn", None) for t in outs) if fn is not None]
    seen: set[int] = set()
    while stack:
        n = stack.pop()
        if id(n) in seen or n._seq <= start or isinstance(n, AccumulateGrad):
            continue
        seen.add(id(n))
        outer, inner = n.scope[:k], n.scope[k:]
        # A child's call (the first module inside, past any name scope opened in forward): its name
        child = next((i for i, e in enumerate(inner) if e[3] is not None), None)
        if child is not None and not inner[child][0] and inner[child][3] in children:
            e = inner[child]
            inner = (*inner[:child], (children[e[3]], *e[1:]), *inner[child + 1 :])
        n.scope = (*outer, entry, *inner)
        stack.extend(fn for fn, _ in n.next_functions if fn is not None)


def composite(
    name: str, signature: Callable[..., tuple[tuple, dict[str, Any]]], with_result: bool = False
) -> Callable:
    """Decorate an engine function that may record several nodes for one call, so that the
    Tensors view can draw the call as one op named ``name``, from the tensors passed in to the
    result (see :class:`Composite`). Nothing is noted without grad, or for a call that recorded
    one node (``mse_loss`` without broadcasting): that node is drawn under its own name.

    ``signature`` takes the function's own arguments (after the result, if ``with_result``) and
    returns ``(tensors, params)``: the tensors passed in, in the order the call names them (a
    Python number as the 0-d constant made of it), and the parameters worth showing in the
    label. It runs only when the call recorded more than one node. The wrapper costs a sequence number and an attribute read per
    call: keep it off the hot path of ordinary ops (``matmul`` wraps only its many-node cases).
    """

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            start = _next_seq()
            out = fn(*args, **kwargs)
            node = getattr(out, "grad_fn", None)
            if node is not None and node._seq > start:
                tensors, params = (
                    signature(out, *args, **kwargs) if with_result else signature(*args, **kwargs)
                )
                if _several(node, start) or _reads_its_own(node, start, tensors):
                    keys = tuple(t if t.grad_fn is None else t.grad_fn for t in tensors)
                    node.composite = Composite(name, keys, params, start)
            return out

        return call

    return decorate


def _resolve_saved(node: Node, inputs: tuple, out: Any) -> None:
    """Map saved arrays back to the tensors they belong to, so a recorded backward can
    differentiate through them; remember versions to detect later in-place changes."""
    refs, checks = [], []
    for a in node._saved:
        if a is None:
            refs.append(None)
            continue
        for t in inputs:
            if t._data is a:
                refs.append(t)
                checks.append((t, t._version))
                break
        else:
            if a is out:
                refs.append(_Output(out))
                node._saves_output = True
            else:
                refs.append(a)
    node._refs = tuple(refs)
    if checks:
        node._checks = tuple(checks)
