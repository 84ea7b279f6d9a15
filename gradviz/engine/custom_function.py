"""``torch.autograd.Function`` as learners write it: forward and backward on Tensors.

::

    class Square(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return 2 * x * grad_output

    y = Square.apply(x)  # y.grad_fn is a SquareBackward

Forward runs without recording (its Tensors have no history), and its outputs get one node,
``<Name>Backward``, whose backward calls the learner's with Tensors, recording a graph of its
own only under ``create_graph=True``. The engine's own ops use the array-based
:class:`gradviz.engine.function.Function` instead.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from . import function, grad_mode
from .autograd import MultiGrad
from .function import FREED_MESSAGE, Node, _next_seq, _weakref
from .tensor import Tensor


class FunctionCtx:
    """What ``forward`` and ``backward`` receive as ``ctx``: a place to keep what backward needs."""

    def save_for_backward(self, *tensors: Any) -> None:
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    "save_for_backward can only save variables, but argument 0 is of type " + type(t).__name__
                )
        self.to_save = tensors

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        self.non_differentiable = tensors

    def mark_dirty(self, *tensors: Tensor) -> None:
        self.dirty_tensors = tensors

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)


class BackwardCFunction(FunctionCtx, Node):
    """The node of one ``apply``: the ctx the learner saw, and a grad_fn of the outputs."""

    _function: type[Function]
    materialize_grads = True
    to_save: tuple = ()
    _arg_is_tensor: tuple = ()

    def __repr__(self) -> str:
        return f"<torch.autograd.function.{self._name} object at {id(self):#x}>"

    @property
    def saved_tensors(self) -> tuple:
        if self._saved is None:
            raise RuntimeError(FREED_MESSAGE)
        for t, v in self._checks:
            if t._version != v:
                self._version_error(t, v)
        return tuple(self._saved)

    def _index_of(self, t: Tensor) -> int:
        """Which of this node's outputs ``t`` is."""
        for k, ref in enumerate(self._outputs):
            if ref is not None and ref() is t:
                return k
        return 0

    @property
    def saved_variables(self) -> tuple:
        return self.saved_tensors


class _Slot:
    """Where a tensor argument stood in an ``apply`` call (see ``Node.params``)."""

    def __repr__(self) -> str:
        return "<tensor>"


_SLOT = _Slot()


def _fill(template: tuple, tensors: Any) -> list:
    it = iter(tensors)
    return [next(it) if a is _SLOT else a for a in template]


class _Adapter:
    """What the engine calls as the node's ``_fn``: backward on arrays (or Tensors) in, one
    gradient per tensor input out; ``forward``/``apply`` replay the call on new inputs (as the
    engine's gradient checker does), the other arguments being kept in ``params["args"]``."""

    _function: type[Function]

    @classmethod
    def forward(cls, ctx: Any, *arrays: Any, args: tuple = ()) -> Any:
        tensors = [Tensor._make(a, False, None) for a in arrays]
        with grad_mode.no_grad():
            out = cls._function.forward(FunctionCtx(), *_fill(args, tensors))
        first = out[0] if isinstance(out, tuple) else out
        return first._data

    @classmethod
    def apply(cls, *inputs: Tensor, args: tuple = ()) -> Any:
        out = cls._function.apply(*_fill(args, inputs))
        return out[0] if isinstance(out, tuple) else out

    @staticmethod
    def backward(node: BackwardCFunction, g: Any) -> tuple:
        recording = isinstance(g, Tensor) or (
            isinstance(g, MultiGrad) and any(isinstance(x, Tensor) for x in g.grads)
        )
        # (A caller that does not track outputs, such as trace_backward, passes one gradient:
        # it is taken as the first output's.)
        grads = g.grads if isinstance(g, MultiGrad) else [g] + [None] * (node._n_out - 1)
        outs = node._out_meta
        wrapped = []
        for k, gk in enumerate(grads):
            if gk is None:
                if not node.materialize_grads:
                    wrapped.append(None)
                    continue
                shape, dtype = outs[k]
                gk = np.zeros(shape, dtype)
            wrapped.append(gk if isinstance(gk, Tensor) else Tensor._make(np.asarray(gk), False, None))
        result = node._function.backward(node, *wrapped)
        if not isinstance(result, tuple):
            result = (result,)
        n_args = len(node._arg_is_tensor)
        if len(result) != n_args:
            if len(result) > n_args and all(r is None for r in result[n_args:]):
                result = result[:n_args]
            else:
                raise RuntimeError(
                    f"function {node._name} returned an incorrect number of gradients "
                    f"(expected {n_args}, got {len(result)})"
                )
        out = []
        for i, (r, is_tensor) in enumerate(zip(result, node._arg_is_tensor)):
            if not is_tensor:
                if r is not None:
                    raise RuntimeError(
                        f"function {node._name} returned a gradient different than None at position "
                        f"{i + 1}, but the corresponding forward input was not a Variable"
                    )
                continue
            if r is None:
                out.append(None)
                continue
            if not isinstance(r, Tensor):
                r = Tensor(r)
            inp = node.inputs[len(out)]
            if tuple(r.shape) != tuple(inp.shape):
                raise RuntimeError(
                    f"Function {node._name} returned an invalid gradient at index {len(out)} - got "
                    f"{list(r.shape)} but expected shape compatible with {list(inp.shape)}"
                )
            out.append(r if recording else r._data)
        return tuple(out)


class _FunctionMeta(type):
    def __init__(cls, name: str, bases: tuple, ns: dict) -> None:
        super().__init__(name, bases, ns)
        cls._backward_cls = type(
            f"{name}Backward",
            (BackwardCFunction,),
            {
                "_fn": type(f"{name}Adapter", (_Adapter,), {"_function": cls}),
                "_name": f"{name}Backward",
                "_function": cls,
            },
        )


class Function(FunctionCtx, metaclass=_FunctionMeta):
    """Subclass with ``@staticmethod forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)``,
    then call ``YourFunction.apply(*args)``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        warnings.warn(
            f"{self.__class__} should not be instantiated. Methods on autograd functions are all "
            "static, so you should invoke them on the class itself. Instantiating an autograd "
            "function will raise an error in a future version of PyTorch.",
            DeprecationWarning,
            stacklevel=2,
        )

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your custom autograd.Function "
            "to use it with backward mode AD."
        )

    vjp = backward

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        if kwargs:
            raise TypeError("apply() takes no keyword arguments")
        node = cls._backward_cls()
        is_tensor = tuple(isinstance(a, Tensor) for a in args)
        tensors = tuple(a for a in args if isinstance(a, Tensor))
        node._arg_is_tensor = is_tensor
        node.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        with grad_mode.no_grad():
            raw = cls.forward(node, *args)
        record = grad_mode.state.enabled and any(t._requires_grad for t in tensors)
        outputs = raw if isinstance(raw, tuple) else (raw,)
        non_diff = {id(t) for t in getattr(node, "non_differentiable", ())}
        results = []
        for o in outputs:
            if isinstance(o, Tensor) and any(o is t for t in tensors):
                o = Tensor._make(o._storage(), False, None)  # an input returned as is: a new alias
            results.append(o)
        if not record:
            return raw if isinstance(raw, tuple) else results[0]
        node.inputs = tensors
        node.params = {"args": tuple(_SLOT if isinstance(a, Tensor) else a for a in args)}
        node.next_functions = tuple((t.grad_fn or t._grad_node(), 0) for t in tensors)
        node._seq = _next_seq()
        if function._scopes_open and grad_mode.state.scope:
            node.scope = grad_mode.state.scope
        node._n_out = len(results)
        node._out_meta = [
            (o._data.shape, o._data.dtype) if isinstance(o, Tensor) else ((), np.float32) for o in results
        ]
        first = next((o for o in results if isinstance(o, Tensor)), None)
        if first is not None:
            node._meta = (first._data.shape, first._data.dtype)
            node._output = _weakref(first)
        for o in results:
            if isinstance(o, Tensor) and id(o) not in non_diff and o.dtype.is_floating_point:
                o.grad_fn = node
                o._requires_grad = True
        node._outputs = [_weakref(o) if isinstance(o, Tensor) else None for o in results]
        saved = tuple(node.to_save)
        node._saved = saved
        node._refs = saved
        node._checks = tuple((t, t._version) for t in saved if t is not None and t.grad_fn is not node)
        return tuple(results) if isinstance(raw, tuple) else results[0]


class _VariableMeta(type):
    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, Tensor)


class Variable(metaclass=_VariableMeta):
    """``torch.autograd.Variable``, from before Variables and Tensors merged: ``Variable(t,
    requires_grad=True)`` is a tensor sharing ``t``'s data; every tensor is a Variable."""

    def __new__(cls, data: Tensor, requires_grad: bool = False, volatile: bool = False) -> Any:  # type: ignore[misc]
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        out = Tensor._make(data._storage(), False, None)
        return out.requires_grad_(requires_grad) if requires_grad else out


def backward(
    tensors: Any,
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    grad_variables: Any = None,
    inputs: Any = None,
) -> None:
    """``torch.autograd.backward``: ``t.backward(g)`` for each of several tensors at once."""
    from .autograd import run_backward

    outs = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    grads = grad_tensors if grad_tensors is not None else grad_variables
    if isinstance(grads, Tensor):
        grads = [grads]
    if inputs is not None:
        ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        from .autograd import _accumulate

        res = run_backward(outs, grads, retain_graph, create_graph, ins, True)
        for t, g in zip(ins, res or []):
            if g is not None:
                _accumulate(t, g if create_graph else g._data, create_graph, set())
        return
    run_backward(outs, None if grads is None else list(grads), retain_graph, create_graph)
