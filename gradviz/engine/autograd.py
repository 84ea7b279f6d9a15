"""The backward pass: ``Tensor.backward`` and ``gradviz.autograd.grad``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from heapq import heapify, heappop, heappush
from sys import getrefcount
from typing import TYPE_CHECKING, Any

import numpy as np

from . import dual, grad_mode
from .function import AccumulateGrad, Node

if TYPE_CHECKING:
    from .tensor import Tensor
else:
    Tensor = None  # set by tensor.py, which imports this module (an import per call is slow)


# What backward() keeps of the gradient that reached each node it ran (``Node.kept_grad``), so
# that a drawing can colour every intermediate as the session does with retain_grad(), without
# touching .grad. It is an attribute of the node, so it goes when the graph goes; the loop only
# leaves the gradients in ``pending`` instead of popping them. By default only gradients of
# up to KEEP_MAX elements are kept: holding larger ones until the end of backward() costs more
# than 5 % of its time (numpy can no longer reuse the memory it just freed, still in cache).
KEEP_MAX = 1 << 14
_keep: list = [True, KEEP_MAX]  # on, and the largest gradient kept (None: any)


@contextmanager
def keep_grads(enabled: bool = True, limit: int | None = None) -> Iterator[None]:
    """Within the block, backward() keeps every node's incoming gradient for drawings, of any
    size up to ``limit`` elements (None: all), or none with ``enabled=False``. Outside, it keeps
    those of up to ``KEEP_MAX`` elements. ``.grad`` is never affected either way."""
    prev = list(_keep)
    _keep[:] = [bool(enabled), limit]
    try:
        yield
    finally:
        _keep[:] = prev


def _keep_all(pending: dict, direct: list, create_graph: bool, free: bool) -> None:
    """Add each node's incoming gradient (``pending`` as the run left it) into what the node
    keeps (``Node.kept_grad``), and free what the nodes saved unless the graph is retained.

    ``direct``: the leaves whose new ``.grad`` is an incoming gradient itself, not a copy. Later
    backward() calls add into it in place, so a node that kept the same array (Add passes its
    gradient on unchanged) must not share it.
    """
    for t in direct:
        arr = t._grad._data
        # Held by .grad, by ``arr`` and by getrefcount's argument: any more reference is a
        # node's incoming gradient in ``pending`` (the same array), so .grad takes its own copy.
        if getrefcount(arr) > 3:
            t._grad._data = arr.copy()
    if free and not create_graph:  # the common case, and the hot part: a few lines per node
        for node, g in pending.items():
            if node._saved:
                node._checks = ()
            node._saved = None
            if g is not None and not node._retained:  # (None: larger than KEEP_MAX)
                k = node._kept
                node._kept = g if k is None else k + g
        return
    for node, g in pending.items():  # kept in step with the loop over ``ran`` in run_backward
        if free:
            if node._saved:
                node._checks = ()
            node._saved = None
        if g is None or node._retained:  # too large to keep (KEEP_MAX), or .grad holds it
            continue
        if create_graph:  # the gradient carries a graph: keep only its values
            g = (
                MultiGrad([getattr(x, "_data", x) for x in g.grads])
                if type(g) is MultiGrad
                else getattr(g, "_data", g)
            )
        k = node._kept
        node._kept = g if k is None else k + g


def _topological(roots: list[Node]) -> list[Node]:
    """Nodes reachable from ``roots``, each before every node it feeds gradients into."""
    order: list[Node] = []
    seen: set[int] = set()
    for root in roots:
        if id(root) in seen:
            continue
        seen.add(id(root))
        stack = [(root, iter(root.next_functions))]
        while stack:
            node, it = stack[-1]
            for nxt, _ in it:
                if nxt is not None and id(nxt) not in seen:
                    seen.add(id(nxt))
                    stack.append((nxt, iter(nxt.next_functions)))
                    break
            else:
                stack.pop()
                order.append(node)
    order.reverse()
    return order


def _root_grads(tensors: Sequence[Tensor], grads: Sequence[Any] | None, create_graph: bool) -> list:
    out = []
    for i, t in enumerate(tensors):
        g = grads[i] if grads is not None else None
        if g is None:
            if t._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if not t.dtype.is_floating_point:
                raise RuntimeError("grad can be implicitly created only for real scalar outputs")
            d = t._data
            # A numpy scalar stays one: its arithmetic is far cheaper than a 0-d array's.
            g = np.ones_like(d) if type(d) is np.ndarray else type(d)(1)
        else:
            if not isinstance(g, Tensor):
                g = Tensor._make(np.asarray(g, dtype=t._data.dtype), False, None)
            if tuple(g.shape) != tuple(t.shape):
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] "
                    f"has a shape of {t.shape}."
                )
            g = g if create_graph else g._data.astype(t._data.dtype, copy=True)
        if create_graph and not isinstance(g, Tensor):
            g = Tensor._make(g, False, None)
        out.append(g)
    return out


def run_backward(
    tensors: Sequence[Tensor],
    grad_tensors: Sequence[Any] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Sequence[Tensor] | None = None,
    allow_unused: bool = False,
) -> list | None:
    """Propagate gradients from ``tensors`` to the leaves.

    With ``inputs`` (``autograd.grad``) the gradients of those tensors are returned instead of
    accumulated into ``.grad``. With ``create_graph`` the backward formulas run on Tensors with
    grad mode on, so the gradients carry their own graph.
    """
    if retain_graph is None:
        retain_graph = create_graph
    roots: list[Node] = []
    for i, t in enumerate(tensors):
        node = t._grad_node()
        if node is None:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        roots.append(node)
    root_grads = _root_grads(tensors, grad_tensors, create_graph)

    capture: dict[Node, int] = {}
    needed: set[Node] | None = None
    if inputs is not None:
        order = _topological(roots)
        for k, t in enumerate(inputs):
            node = t._grad_node()
            if node is None:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
            capture[node] = k
        # Only run nodes from which some input is reachable, as PyTorch does.
        needed = set(capture)
        for node in reversed(order):
            if any(n is not None and n in needed for n, _ in node.next_functions):
                needed.add(node)

    # Nodes hash by identity, so they key the gradients waiting for them directly. A node runs
    # once every gradient has reached it: nodes run newest first (a max-heap on creation order),
    # and every node that feeds another was created after it.
    pending: dict[Node, Any] = {}
    heap: list = []
    for node, g, t in zip(roots, root_grads, tensors):
        if node._n_out != 1:
            g = MultiGrad.one(node._n_out, node._index_of(t), g)
        if node in pending:
            pending[node] = pending[node] + g
        else:
            pending[node] = g
            heap.append((-node._seq, node))
    heapify(heap)
    owned: set[int] = {id(g) for g in root_grads}
    results: list = [None] * (len(inputs) if inputs is not None else 0)

    prev = grad_mode.state.enabled
    grad_mode.state.enabled = create_graph
    fit = dual.fit
    ndarray = np.ndarray
    pending_get = pending.get
    # PyTorch produces inf and nan silently; so must numpy here.
    quiet = np.errstate(all="ignore")
    retained: list = []
    ran: list = []
    # Keeping each node's incoming gradient (Node.kept_grad) costs one check in the loop: the
    # gradients stay in ``pending`` instead of being popped; the loop that frees saved buffers
    # at the end walks ``pending`` instead of ``ran`` and keeps them on the way.
    keep = inputs is None and _keep[0]
    limit = _keep[1] if keep else None
    take = pending.__getitem__ if keep else pending.pop
    direct: list | None = [] if keep else None
    free_each = not (retain_graph or keep)
    interrupt = grad_mode.state.interrupt
    quiet.__enter__()
    try:
        while heap:
            node = heappop(heap)[1]
            if interrupt is not None:
                interrupt()
            g = take(node)
            if needed is not None and node not in needed:
                continue
            if node._hooks:
                g = _run_hooks(node, g, create_graph)
                if keep:
                    pending[node] = g
            if limit is not None and type(g) is ndarray and g.size > limit:
                pending[node] = None  # too large to keep by default (see KEEP_MAX)
            if node._retained:
                for ref in node._retained:
                    t = ref()
                    if t is not None:
                        retained.append((t, g))
            if capture:
                k = capture.get(node)
                if k is not None:
                    results[k] = g if create_graph else Tensor._make(np.array(g), False, None)
                    if type(node) is AccumulateGrad:
                        continue
            if type(node) is AccumulateGrad:
                _accumulate(node.variable, g, create_graph, owned, direct)
                if keep:  # a leaf's gradient is its .grad: nothing to keep for it
                    pending.pop(node, None)
                if node._post_hooks:
                    for hook in list(node._post_hooks.values()):
                        hook(node.variable)
                continue
            grads = node._fn.backward(node, g)
            for gi, (nxt, _), t in zip(grads, node.next_functions, node.inputs):
                if gi is None or nxt is None:
                    continue
                d = t._data
                # PyTorch's engine validates each gradient against its input's shape and dtype
                # (numpy scalars of one type agree in both, so only arrays need a closer look).
                tg = type(gi)
                if tg is not type(d) or (
                    tg is ndarray
                    and (gi.shape != d.shape or (gi.dtype is not d.dtype and gi.dtype != d.dtype))
                ):
                    gi = fit(gi, (d.shape, d.dtype))
                if nxt._n_out != 1:  # one of several outputs: its gradient goes in its slot
                    gi = MultiGrad.one(nxt._n_out, nxt._index_of(t), gi)
                p = pending_get(nxt)
                if p is None:
                    pending[nxt] = gi
                    heappush(heap, (-nxt._seq, nxt))
                else:
                    pending[nxt] = p + gi
            if free_each:
                ran.append(node)
        # Only now that every node has run, change anything: a failure above (a freed graph, an
        # in-place change) leaves gradients and buffers exactly as they were.
        for t, g in retained:
            _retain(t, g)
        if keep:
            # The loop's last values and the retained ones: references that are not kept ones.
            g = gi = grads = p = None
            retained.clear()
            _keep_all(pending, direct, create_graph, not retain_graph)
        for node in ran:
            if node._saved:  # (a node that saved nothing never set these: adding keys is slow)
                node._checks = ()
            node._saved = None
    finally:
        grad_mode.state.enabled = prev
        quiet.__exit__(None, None, None)

    if inputs is not None:
        for k, r in enumerate(results):
            if r is None and not allow_unused:
                raise RuntimeError(
                    f"The differentiated Tensor at index {k} appears to not have been used in the graph. "
                    "Set allow_unused=True if this is the desired behavior."
                )
        return results
    return None


class MultiGrad:
    """The gradients waiting for a node with several outputs, one slot per output (None where
    none arrived yet); they add slot by slot."""

    __slots__ = ("grads",)

    def __init__(self, grads: list) -> None:
        self.grads = grads

    @staticmethod
    def one(n: int, k: int, g: Any) -> MultiGrad:
        grads = [None] * n
        grads[k] = g
        return MultiGrad(grads)

    def __add__(self, other: MultiGrad) -> MultiGrad:
        return MultiGrad(
            [a if b is None else b if a is None else a + b for a, b in zip(self.grads, other.grads)]
        )


def _run_hooks(node: Node, g: Any, create_graph: bool) -> Any:
    """The tensor hooks of the tensor ``node`` stands for, in registration order: each sees the
    gradient (as a Tensor) and may return a replacement."""
    for hook in list(node._hooks.values()):
        gt = g if isinstance(g, Tensor) else Tensor._make(np.asarray(g), False, None)
        r = hook(gt)
        if r is None:
            continue
        if not isinstance(r, Tensor):
            raise TypeError(f"expected Tensor or None (got {type(r).__name__})")
        if tuple(r.shape) != tuple(gt.shape):
            name = getattr(hook, "__name__", type(hook).__name__)
            raise RuntimeError(f"hook '{name}' has changed the size of value")
        g = r if create_graph else r._data
    return g


def _accumulate(t: Tensor, g: Any, create_graph: bool, owned: set[int], direct: list | None = None) -> None:
    """Add ``g`` into ``t.grad``: in place of the array without a graph, as a new tensor with one.
    ``direct`` collects the leaves whose ``.grad`` became ``g`` itself (not a copy)."""
    if create_graph:
        if t._grad is None:
            from .ops.shape import CopyBackwards

            # A copy, as PyTorch makes: one gradient may reach several leaves (Add passes it on).
            t._grad = CopyBackwards.apply(g)
        else:
            t._grad = t._grad + g
        return
    if t._grad is None:
        # Never alias one array into two .grad fields (Add passes its gradient to both inputs).
        if type(g) is not np.ndarray or id(g) in owned or not g.flags.owndata:
            g = np.array(g, dtype=t._data.dtype)
        elif direct is not None:
            direct.append(t)
        owned.add(id(g))
        t._grad = Tensor._make(g, False, None)
    else:
        d = t._grad._data
        if type(d) is np.ndarray and d.flags.writeable and d.shape == np.shape(g):
            np.add(d, g, out=d, casting="unsafe")  # in place, as PyTorch: views of .grad see it
        else:
            t._grad._data = d + g


def _retain(t: Tensor, g: Any) -> None:
    """The ``retain_grad()`` hook: a fresh tensor every time, never an update in place."""
    if isinstance(g, Tensor):  # recording the graph: clone (CloneBackward0) or add (AddBackward0)
        t._grad = g.clone() if t._grad is None else t._grad + g
    elif t._grad is None:
        t._grad = Tensor._make(np.array(g, dtype=t._data.dtype), False, None)
    else:
        t._grad = Tensor._make(np.asarray(t._grad._data + g), False, None)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused: bool | None = None,
    materialize_grads: bool = False,
) -> tuple:
    """``torch.autograd.grad``: the gradients of ``outputs`` with respect to ``inputs``.

    ``only_inputs`` is accepted and ignored, as PyTorch does; ``materialize_grads`` turns the
    gradient of an unused input into zeros instead of None.
    """
    if allow_unused is None:
        allow_unused = materialize_grads
    elif materialize_grads and not allow_unused:
        raise ValueError(
            "Expected allow_unused to be True or not passed when materialize_grads=True, "
            "but got: allow_unused=False."
        )
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is not None and isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    res = run_backward(outs, grad_outputs, retain_graph, create_graph, ins, allow_unused)
    assert res is not None
    if materialize_grads:
        res = [
            Tensor._make(np.zeros_like(t._data), False, None) if r is None else r for r, t in zip(res, ins)
        ]
    return tuple(res)
