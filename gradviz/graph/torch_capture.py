"""Capturing a real PyTorch forward and backward for drawing: :class:`capture`.

It is a ``TorchFunctionMode``. While the user's forward and backward run in it:

- every call's result is kept, so an intermediate shows its value, and the tensors a call read
  without needing a gradient (``x`` in ``w * x``) are drawn as its constant inputs; a call that
  torch recorded as several backward nodes (``F.linear``) is noted, to be drawn as one op;
- each new backward node is noted with the ``nn.Module`` calls it was made in (forward
  pre-hooks and hooks on ``model``'s modules, or on every module without a model), and the
  name scopes (``with torch.profiler.record_function("layer1"):``, seen as the profiler's
  enter and exit calls pass through the mode);
- when ``backward()``, ``torch.autograd.backward`` or ``torch.autograd.grad`` is called, a
  pre-hook (``torch.autograd.graph.Node.register_prehook``) goes on every node of the graph
  before it runs: a node's pre-hook receives the gradient of each of its outputs, which is the
  gradient of each intermediate tensor, including those made inside library calls that the mode
  never sees (``F.multi_head_attention_forward``'s steps); what each node saved is noted then,
  before backward() frees it. The gradients are shown marked "kept by gradviz" (PyTorch's
  ``.grad`` stays None), accumulated over backward calls as ``retain_grad()`` would.

torch is imported only when a capture starts; without it, :func:`require_torch` says how to
install it. Nothing here is recomputed: the record holds torch's own tensors.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import Any

INSTALL_HINT = (
    "PyTorch is not installed: install it with `pip install torch` (or `pip install gradviz[torch]`)"
)
SAVED = "_saved_"


def require_torch() -> Any:
    """The ``torch`` module, or an ImportError that says how to install it."""
    try:
        import torch
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    return torch


def is_torch_tensor(x: Any) -> bool:
    """Whether ``x`` is a ``torch.Tensor``, without importing torch (a torch tensor implies it is)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def is_accumulate_grad(fn: Any) -> bool:
    """Whether ``fn`` is the node that puts a leaf's gradient in its ``.grad``."""
    return type(fn).__name__ == "AccumulateGrad"


# --- saved tensors --------------------------------------------------------------------------------


_saved_attrs: dict[type, tuple[str, ...]] = {}


def _saved_attrs_of(fn: Any) -> tuple[str, ...]:
    """The ``_saved_*`` attribute names of ``fn``'s class: one ``dir()`` per node class, not per
    node (torch defines them on the class; dir() of thousands of nodes was a tenth of a read)."""
    cls = type(fn)
    attrs = _saved_attrs.get(cls)
    if attrs is None:
        attrs = _saved_attrs[cls] = tuple(a for a in dir(fn) if a.startswith(SAVED))
    return attrs


def read_saved(fn: Any) -> tuple[list[tuple[int, ...]], list[str], dict[str, Any], bool]:
    """What ``fn`` saved: tensor shapes and names, its other saved values (the node's
    parameters), and whether backward() has freed the tensors already."""
    import torch

    shapes: list[tuple[int, ...]] = []
    names: list[str] = []
    params: dict[str, Any] = {}
    freed = False
    for attr in _saved_attrs_of(fn):
        name = attr[len(SAVED) :]
        try:
            v = getattr(fn, attr)
        except RuntimeError:  # freed by backward()
            freed = True
            continue
        if torch.is_tensor(v):
            shapes.append(tuple(v.shape))
            names.append(name)
        elif isinstance(v, tuple) and v and all(torch.is_tensor(x) for x in v):
            for i, x in enumerate(v):
                shapes.append(tuple(x.shape))
                names.append(f"{name}[{i}]")
        elif "_sym_" in name or name.endswith(("_sizes", "_strides", "_options", "_numel")):
            continue  # bookkeeping for the shapes, not something a reader set
        elif isinstance(v, int) and not isinstance(v, bool) and v >= 2**63:
            params[name] = v - 2**64  # a negative dim, read back as unsigned
        elif isinstance(v, (bool, int, float, str)) or (
            isinstance(v, tuple) and all(isinstance(x, (bool, int, float)) for x in v)
        ):
            params[name] = v
    return shapes, names, params, freed


def saved_freed(fn: Any, name: str) -> bool:
    """Has backward() freed ``fn``'s saved tensor ``name`` (as :func:`read_saved` names it)?
    It frees all of a node's at once, so one tells for all: a read of every attribute, each
    freed one raising, was most of reading a big graph's nodes again."""
    try:
        getattr(fn, SAVED + name.split("[", 1)[0])
    except RuntimeError:
        return True
    return False


# --- the capture ----------------------------------------------------------------------------------


def tensors_in(x: Any, depth: int = 2) -> Iterable[Any]:
    if is_torch_tensor(x):
        yield x
    elif depth and isinstance(x, (list, tuple)):
        for y in x:
            yield from tensors_in(y, depth - 1)
    elif depth and isinstance(x, Mapping):
        for y in x.values():
            yield from tensors_in(y, depth - 1)


class Record:
    """What a capture saw, by backward node (``id(node)``; the nodes are kept alive here)."""

    def __init__(self) -> None:
        self.nodes: dict[int, Any] = {}
        self.outputs: dict[tuple[int, int], Any] = {}  # (node, output_nr) -> the tensor
        self.grads: dict[tuple[int, int], Any] = {}  # (node, output_nr) -> its gradient
        self.saved: dict[int, tuple] = {}  # node -> read_saved() before backward()
        self.scope: dict[int, tuple] = {}  # node -> its module calls, outermost first
        self.consts: dict[int, list] = {}  # node -> tensors its call read without grad
        self.calls: dict[int, tuple] = {}  # last node of a call -> (name, inner nodes, inputs)
        self.hooked: set[int] = set()
        self.handles: dict[int, Any] = {}  # node -> its pre-hook's handle
        self.feeds: dict[int, list] = {}  # node -> the leaves whose .grad it gives (see unalias)
        self._last_ops: set[int] = set()  # the backward nodes of the last backward's graph

    def note_node(self, fn: Any, scope: tuple) -> bool:
        if id(fn) in self.nodes:
            return False
        self.nodes[id(fn)] = fn
        if scope:
            self.scope[id(fn)] = scope
        return True

    def note_call(self, func: Any, args: Any, kwargs: Any, out: Any, scope: tuple) -> None:
        results = [t for t in tensors_in(out) if t.grad_fn is not None]
        if not results:
            return
        new_roots = []
        for t in results:
            fn = t.grad_fn
            self.outputs[(id(fn), t.output_nr)] = t
            if id(fn) not in self.nodes:
                new_roots.append(fn)
        made: list[Any] = []
        stack = list(new_roots)
        while stack:  # the new nodes this call made (its internal steps too)
            fn = stack.pop()
            if not self.note_node(fn, scope):
                continue
            if not is_accumulate_grad(fn):
                made.append(fn)
            stack.extend(f for f, _ in fn.next_functions if f is not None and id(f) not in self.nodes)
        passed = list({id(t): t for t in (*tensors_in(args), *tensors_in(kwargs))}.values())
        consts = [t for t in passed if not t.requires_grad]
        for fn in new_roots:
            if consts:
                self.consts.setdefault(id(fn), consts)
        if len(new_roots) == 1 and len({id(t.grad_fn) for t in results}) == 1 and len(made) > 1:
            # One call that torch recorded as several nodes (F.linear: TBackward0 then
            # AddmmBackward0): the Tensors view draws it as one op, as it does the engine's.
            end = new_roots[0]
            keys = [("leaf", t) if t.grad_fn is None else ("out", t.grad_fn, t.output_nr) for t in passed]
            name = getattr(func, "__name__", "") or type(func).__name__
            self.calls[id(end)] = (name, [id(f) for f in made if f is not end], keys)

    def hook_graph(self, roots: Iterable[Any]) -> None:
        """A pre-hook on every node reachable from ``roots`` not hooked yet: it keeps the
        gradient of each output of the node, i.e. of each intermediate tensor.

        A backward whose graph shares no node with the previous one's (the next step of a
        training loop) lets go of everything the earlier graphs held: a loop of a thousand
        steps inside a capture keeps one step, not a thousand."""
        reach: dict[int, Any] = {}
        stack = [getattr(r, "grad_fn", None) for r in roots]
        while stack:
            fn = stack.pop()
            if fn is None or id(fn) in reach:
                continue
            reach[id(fn)] = fn
            stack.extend(f for f, _ in fn.next_functions if f is not None)
        ops = {k for k, fn in reach.items() if not is_accumulate_grad(fn)}
        if self._last_ops and not (ops & self._last_ops):
            self.prune(set(reach))
        self._last_ops = ops
        for key, fn in reach.items():
            if key in self.hooked:
                continue
            self.note_node(fn, ())
            self.hooked.add(key)
            if not is_accumulate_grad(fn):
                self.saved[key] = read_saved(fn)  # now, before backward() frees it
                self.handles[key] = fn.register_prehook(self._prehook(key))
                leaves = [f.variable for f, _ in fn.next_functions if f is not None and is_accumulate_grad(f)]
                if leaves:
                    self.feeds[key] = leaves

    def unalias(self) -> None:
        """After a backward(): a gradient kept that torch handed on as a leaf's ``.grad`` (a
        node that passes its gradient through, such as ``t()``'s, gives the leaf that very
        tensor) is copied, or a later backward(), ``zero_grad(set_to_none=False)`` or
        ``clip_grad_norm_`` would change it in place. Only those are copied."""
        import torch

        taken: dict[int, set[int]] = {}  # node -> the storages of the .grad it gave
        for key, leaves in self.feeds.items():
            ptrs = {
                leaf.grad.untyped_storage().data_ptr()
                for leaf in leaves
                if leaf.grad is not None and leaf.grad.layout == torch.strided
            }
            if ptrs:
                taken[key] = ptrs
        for (key, nr), g in list(self.grads.items()):
            if key in taken and g.layout == torch.strided and g.untyped_storage().data_ptr() in taken[key]:
                self.grads[(key, nr)] = g.clone()

    def unhook(self) -> None:
        """Remove every node's pre-hook, keeping what they recorded: a later backward() through
        these nodes adds nothing here."""
        for handle in self.handles.values():
            handle.remove()
        self.handles.clear()

    def prune(self, keep: set[int]) -> None:
        """Forget every node not in ``keep`` (ids), with its hook, outputs and gradients."""
        for key in [k for k in self.handles if k not in keep]:
            self.handles.pop(key).remove()
        for d in (self.saved, self.scope, self.consts, self.calls, self.feeds):
            for key in [k for k in d if k not in keep]:
                del d[key]
        for d in (self.outputs, self.grads):
            for key in [k for k in d if k[0] not in keep]:
                del d[key]
        self.hooked &= keep
        self.nodes = {k: v for k, v in self.nodes.items() if k in keep}

    def _prehook(self, key: int) -> Any:
        grads = self.grads

        def keep(grad_outputs: tuple) -> None:
            for nr, g in enumerate(grad_outputs):
                if g is None:
                    continue
                g = g.detach()
                prev = grads.get((key, nr))
                grads[(key, nr)] = g if prev is None else prev + g

        return keep


_last: list[Record] = []  # the most recent capture's record: draw() after the with-block uses it


def last_record() -> Record | None:
    return _last[-1] if _last else None


class capture:
    """``with gradviz.capture(model=net): loss = net(x); loss.backward()`` keeps what drawing a
    real PyTorch graph needs: every intermediate's value and gradient, what each node saved,
    and the module each node was made in. ``gradviz.draw(loss)`` afterwards uses it."""

    def __init__(self, model: Any = None) -> None:
        self.model = model
        self.record = Record()
        self._mode: Any = None
        self._module_handles: list[Any] = []
        self._stack: list[tuple] = []
        self._calls = 0

    def __enter__(self) -> capture:
        torch = require_torch()
        from torch.overrides import TorchFunctionMode

        record, stack = self.record, self._stack
        backward_fns = {torch.Tensor.backward, torch.autograd.backward, torch.autograd.grad}
        profiler = torch.ops.profiler
        enter = (profiler._record_function_enter_new, profiler._record_function_enter_new.default)
        scopes: dict[int, int] = {}  # id(record_function's handle) -> its entry's place in stack
        outer = self

        class _Mode(TorchFunctionMode):
            def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
                kwargs = kwargs or {}
                if func in backward_fns:
                    roots = args[0] if args else kwargs.get("tensors", kwargs.get("outputs"))
                    record.hook_graph(tensors_in(roots))
                    out = func(*args, **kwargs)
                    record.unalias()
                    return out
                if func in enter:  # record_function("layer1").__enter__: a name scope opens
                    out = func(*args, **kwargs)
                    outer._calls += 1
                    name = str(args[0] if args else kwargs.get("name", ""))
                    scopes[id(out)] = len(stack)
                    stack.append((name, "", outer._calls, None))
                    return out
                if getattr(func, "overloadpacket", func) is profiler._record_function_exit:
                    k = scopes.pop(id(args[0]), None) if args else None
                    if k is not None:
                        del stack[k:]
                    return func(*args, **kwargs)
                out = func(*args, **kwargs)
                record.note_call(func, args, kwargs, out, tuple(stack))
                return out

        self._hook_modules(self.model)
        self._mode = _Mode()
        self._mode.__enter__()
        _last[:] = [self.record]
        return self

    def __exit__(self, *exc: Any) -> None:
        self._mode.__exit__(*exc)
        for h in self._module_handles:
            h.remove()
        self._module_handles.clear()

    def _hook_modules(self, model: Any) -> None:
        """Note the ``nn.Module`` calls each node is made in: ``model``'s modules, or every
        module's (torch's global module hooks) when no model was given."""
        import torch

        mods: list[Any] = []

        def pre(module: Any, args: Any) -> None:
            name = ""
            if mods:  # its name in the module that called it, as named_modules() spells it
                name = next((n for n, m in mods[-1].named_children() if m is module), "")
            self._calls += 1
            mods.append(module)
            self._stack.append((name, type(module).__name__, self._calls, id(module)))

        def post(module: Any, args: Any, out: Any) -> None:
            if mods and mods[-1] is module:
                mods.pop()
                self._stack.pop()

        if model is None:
            hooks = torch.nn.modules.module
            self._module_handles.append(hooks.register_module_forward_pre_hook(pre))
            self._module_handles.append(hooks.register_module_forward_hook(post, always_call=True))
            return
        for m in model.modules():
            self._module_handles.append(m.register_forward_pre_hook(pre))
            self._module_handles.append(m.register_forward_hook(post, always_call=True))
