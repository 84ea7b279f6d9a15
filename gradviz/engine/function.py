"""Autograd nodes: ``Function`` (forward and backward of one op) and ``Node`` (a grad_fn).

An op is a ``Function`` subclass with a numpy ``forward(ctx, *arrays, **params)`` and a
``backward(ctx, grad)`` written with the operators and the helpers in ``dual``, so the same
formula runs on plain arrays (ordinary backward, fast) or on Tensors (``create_graph=True``,
which records the graph of the gradient itself).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

import numpy as np

from . import grad_mode

if TYPE_CHECKING:
    from .tensor import Tensor

FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward."
)


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
    _saved: tuple | None = ()
    _versions: tuple = ()
    _retained: list | None = None
    _output: Any = None
    params: dict[str, Any] = {}  # noqa: RUF012 - never mutated; instances assign their own
    inputs: tuple = ()
    next_functions: tuple = ()
    output_meta: tuple = ((), None)

    def name(self) -> str:
        return self._name

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
        if self._versions:
            self._check_versions()
        if grad_mode.state.enabled:
            return tuple(self._as_tensor(s) for s in saved)
        return tuple(s.data if isinstance(s, _Output) else getattr(s, "_data", s) for s in saved)

    @property
    def saved_buffers_freed(self) -> bool:
        return self._saved is None

    def saved_tensor_shapes(self) -> list[tuple[int, ...]]:
        """Shapes of what this node saved (empty once freed); shown as badges in graphs."""
        if not self._saved:
            return []
        return [
            tuple(np.shape(s.data if isinstance(s, _Output) else getattr(s, "_data", s)))
            for s in self._saved
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

    def _check_versions(self) -> None:
        for s, v in zip(self._saved, self._versions):
            if v is not None and s._version != v:
                producer = s.grad_fn.name() if s.grad_fn is not None else "a leaf"
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an "
                    f"inplace operation: [{s.type()} {list(s.shape)}], which is output 0 of "
                    f"{producer}, is at version {s._version}; expected version {v} instead."
                )

    def release(self) -> None:
        self._saved = None
        self._versions = ()

    def retain(self, tensor: Tensor) -> None:
        if self._retained is None:
            self._retained = []
        self._retained.append(weakref.ref(tensor))

    def output(self) -> Tensor | None:
        """The tensor this node produced, if it is still alive."""
        return self._output() if self._output is not None else None


class AccumulateGrad(Node):
    """The sink of a leaf that requires grad: gradients arriving here land in ``leaf.grad``."""

    _name = "gradviz::autograd::AccumulateGrad"

    def __init__(self, leaf: Tensor) -> None:
        self.variable = leaf
        self.output_meta = (leaf._data.shape, leaf._data.dtype)


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
    one gradient per input (``None`` where there is none)."""

    name = "Function"

    @staticmethod
    def forward(ctx: Any, *arrays: np.ndarray, **params: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Any, grad: Any) -> tuple:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Tensor, **params: Any) -> Tensor:
        # This is the hot path of every op: keep it free of imports and helper calls.
        if grad_mode.state.enabled:
            for t in inputs:
                if t._requires_grad:
                    break
            else:
                return _apply_plain(cls, inputs, params)
        else:
            return _apply_plain(cls, inputs, params)

        node_type = cls.__dict__.get("_node_type")
        if node_type is None:
            node_type = cls._node_type = type(cls.name, (Node,), {"_fn": cls, "_name": cls.name})
        node = node_type()
        # As in PyTorch, forward may save only what the gradients actually needed will use.
        node.needs_input_grad = tuple([t._requires_grad for t in inputs])
        out = cls.forward(node, *[t._data for t in inputs], **params)
        if type(out) is not np.ndarray and not isinstance(out, np.generic):
            out = np.asarray(out)
        result = make_tensor(out, True, node)
        node.inputs = inputs
        node.params = params
        node.output_meta = (out.shape, out.dtype)
        node._output = weakref.ref(result)
        node.next_functions = tuple(
            [(t.grad_fn, 0) if t.grad_fn is not None else (t._grad_node(), 0) for t in inputs]
        )
        if node._saved:
            node._saved, node._versions = _resolve_saved(node._saved, inputs, out)
        return result


def _apply_plain(cls: type[Function], inputs: tuple, params: dict) -> Tensor:
    out = cls.forward(_DISCARD, *[t._data for t in inputs], **params)
    if type(out) is not np.ndarray and not isinstance(out, np.generic):
        out = np.asarray(out)
    return make_tensor(out, False, None)


# Set by tensor.py once Tensor exists (function.py is imported first).
make_tensor: Any = None


def _resolve_saved(arrays: tuple, inputs: tuple, out: np.ndarray) -> tuple[tuple, tuple]:
    """Map saved arrays back to the tensors they belong to, so a recorded backward can
    differentiate through them; remember versions to detect later in-place changes."""
    saved, versions = [], []
    for a in arrays:
        for t in inputs:
            if t._data is a:
                saved.append(t)
                versions.append(t._version)
                break
        else:
            saved.append(_Output(out) if a is out else a)
            versions.append(None)
    return tuple(saved), tuple(versions)
