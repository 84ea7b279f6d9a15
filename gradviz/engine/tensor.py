"""The ``Tensor``: a numpy array plus autograd state, with PyTorch's attributes and errors.

Ops are defined in ``gradviz.engine.ops`` and bound to this class as methods by their
registration (``registry.op``), so each exists once as ``gradviz.exp(x)`` and as ``x.exp()``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import dtypes, grad_mode
from .autograd import run_backward
from .dtypes import dtype as DType
from .function import AccumulateGrad, Node
from .registry import accept_numpy_names
from .size import Size

if TYPE_CHECKING:  # the methods the ops bind, named for type checkers and "go to definition"
    from .ops._generated import TensorMethods as _Methods
else:
    _Methods = object


class Tensor(_Methods):
    """An n-dimensional array that records the operations applied to it."""

    __slots__ = (
        "__weakref__", "_acc", "_data", "_grad", "_inference", "_requires_grad", "_retains", "_version", "grad_fn",
    )  # fmt: skip
    # Make numpy defer to our reflected operators (ndarray * Tensor -> Tensor.__rmul__).
    __array_ufunc__ = None

    def __init__(self, data: Any = (), *, dtype: DType | None = None, requires_grad: bool = False) -> None:
        from .creation import as_array

        arr = as_array(data, dtype)
        # A 0-d value is kept as a numpy scalar (see _storage): its arithmetic is ~10x cheaper.
        self._data = arr if arr.ndim else arr[()]
        self.grad_fn = None
        self._grad = None
        self._acc = None
        self._version = 0
        self._retains = False
        self._inference = grad_mode.state.inference
        self._requires_grad = False
        if requires_grad:
            self._set_requires_grad(
                True, "Only Tensors of floating point and complex dtype can require gradients"
            )

    @staticmethod
    def _make(data: np.ndarray, requires_grad: bool, grad_fn: Node | None) -> Tensor:
        t = object.__new__(Tensor)
        t._data = data
        t._requires_grad = requires_grad
        t.grad_fn = grad_fn
        t._grad = None
        t._acc = None
        t._version = 0
        t._retains = False
        t._inference = grad_mode.state.inference
        return t

    # --- autograd state ------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self._set_requires_grad(
            value, "only Tensors of floating point and complex dtype can require gradients"
        )

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        return self._set_requires_grad(
            requires_grad, "only Tensors of floating point dtype can require gradients"
        )

    def _set_requires_grad(self, requires_grad: bool, message: str) -> Tensor:
        """Each entry point words PyTorch's refusal differently; ``message`` is its wording."""
        if self.grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want to use "
                    "a computed variable in a subgraph that doesn't require differentiation use "
                    "var_no_grad = var.detach()."
                )
            return self
        if requires_grad and not self.dtype.is_floating_point:
            raise RuntimeError(message)
        self._requires_grad = bool(requires_grad)
        return self

    def is_inference(self) -> bool:
        """Whether the tensor was made under ``inference_mode`` (torch's inference tensors)."""
        return self._inference

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def grad(self) -> Tensor | None:
        if self.grad_fn is not None and not self._retains and self._grad is None:
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its "
                ".grad attribute won't be populated during autograd.backward(). If you indeed want "
                "the .grad field to be populated for a non-leaf Tensor, use .retain_grad() on the "
                "non-leaf Tensor. If you access the non-leaf Tensor by mistake, make sure you access "
                "the leaf Tensor instead. See github.com/pytorch/pytorch/pull/30531 for more information.",
                UserWarning,
                stacklevel=2,
            )
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(
                    f"assigned grad expected to be a Tensor or None but got grad of type {type(value).__name__}"
                )
            if value.shape != self.shape:
                raise RuntimeError(
                    f"attempting to assign a gradient of size '{list(value.shape)}' to a tensor of size "
                    f"'{list(self.shape)}'. Please ensure that the gradient and the tensor are the same size"
                )
            if value.dtype is not self.dtype:
                raise RuntimeError(
                    f"attempting to assign a gradient with dtype '{value.dtype.cpp_name}' "
                    f"to a tensor with grad_dtype '{self.dtype.scalar_name}'. The "
                    "gradient must match the tensor's grad_dtype (defaults to the tensor's dtype). You can set "
                    "the tensor's grad_dtype attribute with a specific dtype, or None to allow any dtype. Set "
                    "grad_dtype with caution. Diverging the dtypes of a tensor and its gradient may break "
                    "downstream systems that assume they match."
                )
        self._grad = value

    @property
    def retains_grad(self) -> bool:
        return self._retains

    def retain_grad(self) -> None:
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is not None and not self._retains:
            self.grad_fn.retain(self)
            self._retains = True

    def register_hook(self, hook: Any) -> Any:
        """Call ``hook(grad)`` whenever a gradient for this tensor is computed; a Tensor it
        returns replaces the gradient (what a leaf accumulates, what a non-leaf passes on)."""
        from .function import RemovableHandle

        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        node = self._grad_node()
        if node._hooks is None:
            node._hooks = {}
        handle = RemovableHandle(node._hooks)
        node._hooks[handle.id] = hook
        return handle

    def register_post_accumulate_grad_hook(self, hook: Any) -> Any:
        """Call ``hook(self)`` after each gradient is accumulated into this leaf's ``.grad``."""
        from .function import RemovableHandle

        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        node = self._grad_node()
        if node._post_hooks is None:
            node._post_hooks = {}
        handle = RemovableHandle(node._post_hooks)
        node._post_hooks[handle.id] = hook
        return handle

    def _grad_node(self) -> Node | None:
        """The node gradients for this tensor flow into: its grad_fn, or its AccumulateGrad."""
        if self.grad_fn is not None:
            return self.grad_fn
        if not self._requires_grad:
            return None
        if self._acc is None:
            self._acc = AccumulateGrad(self)
        return self._acc

    def backward(
        self,
        gradient: Tensor | None = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs: Sequence[Tensor] | None = None,
    ) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``."""
        global _warned_create_graph
        if create_graph and not _warned_create_graph:
            _warned_create_graph = True  # once per process, as PyTorch's TORCH_WARN_ONCE
            warnings.warn(_CREATE_GRAPH_WARNING, UserWarning, stacklevel=2)
        if inputs is not None:
            ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
            res = run_backward(
                [self], None if gradient is None else [gradient], retain_graph, create_graph, ins, True
            )
            from .autograd import _accumulate

            for t, g in zip(ins, res or []):
                if g is not None:
                    _accumulate(t, g if create_graph else g._data, create_graph, set())
            return
        run_backward([self], None if gradient is None else [gradient], retain_graph, create_graph)

    def _storage(self) -> np.ndarray:
        """The data as a writable-in-place ndarray, for anything that shares it.

        Ops may leave a 0-d result as a numpy scalar (much faster arithmetic); sharing memory
        (detach, .data, .numpy()) needs a real array, so promote it first.
        """
        if type(self._data) is not np.ndarray:
            self._data = np.array(self._data)
        return self._data

    def detach(self) -> Tensor:
        return Tensor._make(self._storage(), False, None)

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self._requires_grad = False
        return self

    @property
    def data(self) -> Tensor:
        return Tensor._make(self._storage(), False, None)

    @data.setter
    def data(self, value: Tensor) -> None:
        self._data = value._data

    # --- metadata ------------------------------------------------------------------------------
    @property
    def dtype(self) -> DType:
        return dtypes._FROM_NP[self._data.dtype]

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    @accept_numpy_names  # x.size(axis=0), as torch's
    def size(self, dim: int | None = None) -> Size | int:
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[self._wrap_dim(dim)]

    def dim(self) -> int:
        return self._data.ndim

    @property
    def ndim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    @property
    def device(self) -> Any:
        from .device import CPU

        return CPU

    @property
    def is_cuda(self) -> bool:
        return False

    def type(self, dtype: Any = None) -> Any:
        if dtype is None:
            return self.dtype.tensor_type
        return self.to(dtype)

    def is_contiguous(self) -> bool:
        return bool(self._data.flags.c_contiguous)

    @accept_numpy_names
    def stride(self, dim: int | None = None) -> tuple[int, ...] | int:
        """Elements to step over per index of each dimension, from numpy's byte strides; the
        contiguous layout's where torch's differ from numpy's (negative, or an empty tensor)."""
        a = np.asarray(self._data)
        steps = tuple(s // a.itemsize for s in a.strides)
        if a.size == 0 or any(s < 0 for s in steps):
            sizes = [max(n, 1) for n in a.shape]
            steps = tuple(int(np.prod(sizes[i + 1 :])) for i in range(a.ndim))
        return steps if dim is None else steps[self._wrap_dim(dim)]

    def contiguous(self) -> Tensor:
        # As in PyTorch: itself if already contiguous, else a copy (recorded as CloneBackward0).
        if self._data.flags.c_contiguous:
            return self
        from .ops import clone

        return clone(self)

    def _wrap_dim(self, dim: int, ndim: int | None = None) -> int:
        n = self._data.ndim if ndim is None else ndim
        lo, hi = (-1, 0) if n == 0 else (-n, n - 1)
        if not lo <= dim <= hi:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})"
            )
        return dim % max(n, 1)

    # --- conversion ----------------------------------------------------------------------------
    def numpy(self, *, force: bool = False) -> np.ndarray:
        if self._requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
            )
        return self._storage()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = self.numpy()
        return arr if dtype is None else arr.astype(dtype)

    def item(self) -> float | int | bool:
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.reshape(()).item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def __float__(self) -> float:
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return float(self.item())

    def __int__(self) -> int:
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.is_floating_point or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            amount = "no values" if self._data.size == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {amount} is ambiguous")
        return bool(self._data.reshape(()))

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        from .formatting import tensor_repr

        return tensor_repr(self)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    # --- in-place ops --------------------------------------------------------------------------
    def _check_inplace(self) -> None:
        if not (grad_mode.state.enabled and self._requires_grad):
            return
        if self.grad_fn is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        base = _view_base(self)
        if base is not None:
            # PyTorch rewrites the base's history here (CopySlices); gradviz does not, and a
            # silently wrong gradient would teach the wrong thing, so refuse clearly instead.
            if base.grad_fn is None:
                raise RuntimeError(
                    "a view of a leaf Variable that requires grad is being used in an in-place operation."
                )
            raise RuntimeError(
                "gradviz does not support in-place changes to a view of a tensor that requires grad "
                "(PyTorch records them as CopySlices); use an out-of-place operation instead."
            )

    def _inplace(self, result: Tensor) -> Tensor:
        """Make ``self`` take the value (and, when recording, the history) of ``result``."""
        self._check_inplace()
        data = result._data
        if data.shape != self._data.shape:
            raise RuntimeError(
                f"output with shape {list(self._data.shape)} doesn't match the broadcast shape {list(data.shape)}"
            )
        if result.grad_fn is not None:
            # Rebase history, as PyTorch does: self now stands for the result of this op.
            node = result.grad_fn
            if node.inputs and node.inputs[0] is self:
                # The op read self before this change: let it keep that version (PyTorch saves
                # the original self of an in-place op), so its own check does not trip. Only
                # the first use is self's old value: in ``h.mul_(h)`` the other operand is the
                # live h, which this op changes, and PyTorch refuses its backward.
                old = Tensor._make(self._data, self._requires_grad, self.grad_fn)
                old._version, old._acc = self._version, self._acc
                node.inputs = (old, *node.inputs[1:])
                node._refs = _replace_first(node._refs, self, old)
                k = next((i for i, (t, _) in enumerate(node._checks) if t is self), None)
                if k is not None:
                    node._checks = (*node._checks[:k], (old, node._checks[k][1]), *node._checks[k + 1 :])
            prev = self.grad_fn
            if self._retains and prev is not None and prev._retained:
                # retain_grad() follows the tensor to its new history, as in PyTorch.
                prev._retained = [r for r in prev._retained if r() is not self]
                node.retain(self)
            self._data = data.astype(self._data.dtype, copy=False)
            self.grad_fn = node
            self._requires_grad = True
            node._output = _weak(self)
            node._out_version = self._version + 1
        else:
            # Write through, so numpy arrays sharing memory (from_numpy) see the change.
            if not self._data.flags.writeable:
                self._data = np.array(self._data)
            np.copyto(self._data, data, casting="unsafe")
        self._version += 1
        return self

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value: Any) -> Tensor:
        self._check_inplace()
        if not self._data.flags.writeable:
            self._data = np.array(self._data)
        self._data[...] = value.item() if isinstance(value, Tensor) else value
        self._version += 1
        return self

    def copy_(self, src: Tensor) -> Tensor:
        from .ops import expand

        return self._inplace(expand(src, self.shape).to(self.dtype) if isinstance(src, Tensor) else src)

    def _cast_back(self, result: Tensor) -> Tensor:
        """Check that an in-place result fits self's dtype: PyTorch refuses float -> int and
        anything -> bool. The result keeps its own node (AddBackward0, not a ToCopyBackward0):
        ``_inplace`` casts the values, and backward casts each gradient to its input's dtype."""
        have, want = result._data.dtype, self._data.dtype
        if have == want:
            return result
        if (have.kind == "f" and want.kind in "biu") or (want.kind == "b" and have.kind != "b"):
            raise RuntimeError(
                f"result type {dtypes.scalar_name(have)} can't be cast to the desired output type "
                f"{dtypes.scalar_name(want)}"
            )
        if result.grad_fn is not None:
            result.grad_fn._meta = (result._data.shape, want)
        return result

    def add_(self, other: Any, *, alpha: Any = 1) -> Tensor:
        self._check_inplace()  # before the op's own checks, as in PyTorch
        return self._inplace(self._cast_back(self.add(other, alpha=alpha)))

    def sub_(self, other: Any, *, alpha: Any = 1) -> Tensor:
        self._check_inplace()  # before the op's own checks, as in PyTorch
        return self._inplace(self._cast_back(self.sub(other, alpha=alpha)))

    def mul_(self, other: Any) -> Tensor:
        self._check_inplace()  # before the op's own checks, as in PyTorch
        return self._inplace(self._cast_back(self.mul(other)))

    def div_(self, other: Any) -> Tensor:
        self._check_inplace()  # before the op's own checks, as in PyTorch
        return self._inplace(self._cast_back(self.div(other)))

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        return self._inplace(self.clamp(min, max))

    # --- in-place random initialisers (PyTorch's numbers for the same seed; see random.py) ----
    def _fill_random(self, values: np.ndarray) -> Tensor:
        self._check_inplace()
        if not self._data.flags.writeable or type(self._data) is not np.ndarray:
            self._data = np.array(self._data)
        self._data[...] = np.asarray(values).reshape(self._data.shape).astype(self._data.dtype)
        self._version += 1
        return self

    def _float_only(self, kernel: str) -> None:
        if not self.dtype.is_floating_point:
            raise RuntimeError(f"\"{kernel}\" not implemented for '{dtypes.scalar_name(self._data.dtype)}'")

    def uniform_(self, from_: float = 0.0, to: float = 1.0, *, generator: Any = None, **kw: Any) -> Tensor:
        from . import random

        from_ = kw.pop("from", from_)
        self._float_only("check_uniform_bounds")
        if from_ > to:
            raise RuntimeError(
                f"uniform_ expects to return a [from, to) range, but found from={from_} > to={to}"
            )
        gen = random.get(generator)
        return self._fill_random(
            random.uniform_values(gen, self.numel(), from_, to, self.dtype is dtypes.float64)
        )

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Tensor:
        from . import random

        self._float_only("normal_kernel_cpu")
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {float(std)}")
        gen = random.get(generator)
        return self._fill_random(
            random.normal_values(gen, self.numel(), mean, std, self.dtype is dtypes.float64)
        )

    def random_(
        self, from_: int | None = None, to: int | None = None, *, generator: Any = None, **kw: Any
    ) -> Tensor:
        from . import random

        from_ = kw.pop("from", from_)
        gen = random.get(generator)
        if from_ is None:
            return self._fill_random(random.random_values(gen, self.numel(), self._data.dtype))
        if to is None:
            from_, to = 0, from_
        return self._fill_random(random.randint_values(gen, int(from_), int(to), self.numel()))

    def bernoulli_(self, p: Any = 0.5, *, generator: Any = None) -> Tensor:
        from . import random

        gen = random.get(generator)
        if isinstance(p, Tensor):
            probs = np.broadcast_to(np.asarray(p._data), self._data.shape)
            return self._fill_random(random.bernoulli_tensor(gen, probs))
        if not 0 <= p <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
        return self._fill_random(random.bernoulli_scalar(gen, self.numel(), float(p)))

    def exponential_(self, lambd: float = 1.0, *, generator: Any = None) -> Tensor:
        from . import random

        self._float_only("exponential_cpu")
        if lambd <= 0:
            raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={float(lambd)}")
        return self._fill_random(random.exponential_values(random.get(generator), self.numel(), lambd))

    def cpu(self, memory_format: Any = None) -> Tensor:
        return self

    def cuda(self, device: Any = None, non_blocking: bool = False, **kwargs: Any) -> Tensor:
        from .device import check_cuda

        check_cuda(device)  # always refuses: gradviz is a CPU-only torch
        return self

    def __iadd__(self, other: Any) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: Any) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: Any) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self.div_(other)

    def __setitem__(self, idx: Any, value: Any) -> None:
        from .ops.indexing import normalize_index

        if grad_mode.state.enabled and self.grad_fn is None and self._requires_grad and _is_view_index(idx):
            # PyTorch writes through a view (select/slice) of the leaf, and says so.
            raise RuntimeError(
                "a view of a leaf Variable that requires grad is being used in an in-place operation."
            )
        self._check_inplace()
        if self.grad_fn is not None or (
            isinstance(value, Tensor) and value.requires_grad and grad_mode.state.enabled
        ):
            raise RuntimeError(
                "gradviz does not record item assignment on tensors that require grad; use torch.where or cat instead"
            )
        if not self._data.flags.writeable:
            self._data = np.array(self._data)
        self._data[normalize_index(idx)] = value._data if isinstance(value, Tensor) else value
        self._version += 1

    # --- read-only views for tools (the GUI) -----------------------------------------------------
    # A tool looks at every tensor, often from another thread: these neither warn, copy nor
    # change anything (``.grad`` warns for a non-leaf, ``.numpy()`` refuses requires_grad).
    def peek_grad(self) -> Tensor | None:
        """``.grad`` as it is, without PyTorch's warning for a non-leaf that doesn't retain it."""
        return self._grad

    def peek_array(self) -> np.ndarray | np.generic:
        """The values, shared with the tensor (a numpy scalar for some 0-d results): to read only."""
        return self._data

    def as_of(self, value: np.ndarray, grad: np.ndarray | None) -> Tensor:
        """A stand-in for this tensor as it was earlier: its grad_fn and flags, other values and
        gradient (the Training panel shows a past step with it). Nothing runs through it."""
        t = Tensor._make(
            np.asarray(value) if np.ndim(value) else np.asarray(value)[()], self._requires_grad, self.grad_fn
        )
        t._retains, t._inference = self._retains, self._inference
        t._grad = None if grad is None else Tensor._make(np.asarray(grad), False, None)
        return t


def make_inplace(name: str) -> Any:
    """``name_``: the in-place form of the method ``name`` (an op declared ``inplace=True``)."""

    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        self._check_inplace()  # before the op's own checks, as in PyTorch
        return self._inplace(self._cast_back(getattr(self, name)(*args, **kwargs)))

    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"In-place ``{name}``: the tensor takes the result, and its history."
    method.__module__ = __name__ + ".inplace"  # a registered ``name_`` op replaces it
    return method


def _is_view_index(idx: Any) -> bool:
    """Whether ``t[idx] = v`` goes through a view in PyTorch (any int, slice or None in it)."""
    items = idx if isinstance(idx, tuple) else (idx,)
    for i in items:
        if (
            i is None
            or isinstance(i, slice)
            or (isinstance(i, (int, np.integer)) and not isinstance(i, bool))
        ):
            return True
        if isinstance(i, Tensor) and i._data.ndim == 0 and i._data.dtype.kind in "iu":
            return True
    return False


_warned_create_graph = False
_CREATE_GRAPH_WARNING = (
    "Using backward() with create_graph=True will create a reference cycle between the parameter and "
    "its gradient which can cause a memory leak. We recommend using autograd.grad when creating the "
    "graph to avoid this. If you have to use this function, make sure to reset the .grad fields of "
    "your parameters to None after use to break the cycle and avoid the leak."
)


def _replace_first(items: tuple, target: Any, new: Any) -> tuple:
    for i, x in enumerate(items):
        if x is target:
            return (*items[:i], new, *items[i + 1 :])
    return items


# SqueezeBackward4 is matmul's in-place squeeze_ of its own mm result: no view in PyTorch either.
_NOT_VIEWS = frozenset({"IndexBackward0", "UnsafeViewBackward0", "SqueezeBackward4"})


def _view_base(t: Tensor) -> Tensor | None:
    """The tensor ``t`` is a view of (through any chain of views), or None if it is no view."""
    from .function import ViewFunction

    base = None
    node = t.grad_fn
    # Advanced indexing copies, and so does reshape of a non-viewable tensor (UnsafeView of a clone).
    while node is not None and issubclass(node._fn, ViewFunction) and node._name not in _NOT_VIEWS:
        base = node.inputs[0]
        node = base.grad_fn
    return base


def _weak(t: Tensor) -> Any:
    import weakref

    return weakref.ref(t)


def _register() -> None:
    from . import autograd, function

    function.make_tensor = Tensor._make
    autograd.Tensor = Tensor


_register()
