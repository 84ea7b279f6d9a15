"""Real PyTorch graphs -> the same model graph as gradviz's engine graphs.

The graph is read from torch's own structure: ``grad_fn``, ``next_functions``, AccumulateGrad's
``.variable`` for leaves, and the ``_saved_*`` attributes of each node for the saved-tensor
badges (their names and shapes) and the node's parameters (``dim``, ``alpha`` ...). Nothing is
recomputed with gradviz's engine: values are the tensors' own, gradients their ``.grad`` or what
:class:`capture` caught.

:class:`~gradviz.graph.torch_capture.capture` (``gradviz.capture()``) keeps what the graph alone
does not: intermediates' values and gradients, saved shapes once freed, module calls.

torch is never imported here: a torch tensor passed in means it already is.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

import networkx as nx
import numpy as np

from .colors import grad_stats
from .model import (
    AUTOGRAD,
    TENSORS,
    VIEWS,
    NodeIds,
    _add_expressions,
    op_label,
    params_text,
    preview,
    scope_levels,
    topo_nodes,
)
from .torch_capture import (
    Record,
    is_accumulate_grad,
    is_torch_tensor,
    last_record,
    read_saved,
    saved_freed,
)


def torch_outputs(outputs: Any) -> bool:
    """Whether ``outputs`` (a tensor, a list or a ``{name: tensor}``) are PyTorch tensors."""
    if is_torch_tensor(outputs):
        return True
    if isinstance(outputs, Mapping):
        values = list(outputs.values())
    elif isinstance(outputs, (list, tuple)):
        values = list(outputs)
    else:
        return False
    return bool(values) and all(is_torch_tensor(v) for v in values)


def torch_names(*namespaces: Mapping[str, Any]) -> dict[str, Any]:
    """``{name: torch tensor}`` bound in these namespaces (earlier ones win; ``_names`` skipped)."""
    out: dict[str, Any] = {}
    seen: set[int] = set()
    for ns in namespaces:
        for name, value in ns.items():
            if not name.startswith("_") and is_torch_tensor(value) and id(value) not in seen:
                out[name] = value
                seen.add(id(value))
    return out


def module_names(model: Any) -> dict[str, Any]:
    """``{"layer1.0.conv1.weight": parameter}`` as torchviz's ``params=`` takes it."""
    if model is None:
        return {}
    return dict(model.named_parameters())


# --- arrays -------------------------------------------------------------------------------------


def to_numpy(t: Any) -> np.ndarray:
    """A copy-free numpy view where torch allows one (bfloat16 and friends go through float64)."""
    d = t.detach()
    if d.device.type != "cpu":
        d = d.cpu()
    try:
        return d.numpy()
    except TypeError:
        import torch

        return d.to(torch.float64).numpy()


def _dtype_name(dtype: Any) -> str:
    return str(dtype).removeprefix("torch.")


# --- stand-ins for the inspector ----------------------------------------------------------------


class _FnView:
    """A backward node as the inspector asks about it: its name and the gradient kept for it."""

    def __init__(self, fn: Any, kept: np.ndarray | None) -> None:
        self.fn, self._kept = fn, kept

    def name(self) -> str:
        return self.fn.name()

    def kept_grad(self, tensor: Any = None) -> np.ndarray | None:
        return self._kept


class TorchTensorView:
    """A PyTorch tensor seen through the methods gradviz's inspector and panels call on its own
    tensors (``peek_array``, ``peek_grad``, ``is_leaf`` ...), so they show it unchanged. Its
    ``repr`` is PyTorch's own.

    ``as_of(value, grad)`` gives a stand-in for the tensor as it was at an earlier training step
    (``gradviz.watch``'s scrubber): the same tensor's flags, that step's value and gradient."""

    def __init__(
        self,
        tensor: Any,
        kept: np.ndarray | None = None,
        then: tuple[np.ndarray, np.ndarray | None] | None = None,
    ) -> None:
        self.torch_tensor = tensor
        self._kept = kept
        self._then = then  # (value, gradient) at a past step, shown instead of the present

    # what PyTorch says
    @property
    def shape(self) -> Any:
        return self.torch_tensor.shape

    @property
    def dtype(self) -> Any:
        return self.torch_tensor.dtype

    @property
    def ndim(self) -> int:
        return self.torch_tensor.ndim

    @property
    def is_leaf(self) -> bool:
        return bool(self.torch_tensor.is_leaf)

    @property
    def requires_grad(self) -> bool:
        return bool(self.torch_tensor.requires_grad)

    @property
    def retains_grad(self) -> bool:
        return bool(self.torch_tensor.retains_grad)

    @property
    def grad_fn(self) -> _FnView | None:
        fn = self.torch_tensor.grad_fn
        if fn is None:
            return None
        return _FnView(fn, self._kept if self._then is None else self._then[1])

    def numel(self) -> int:
        return int(self.torch_tensor.numel())

    def peek_array(self) -> np.ndarray:
        return to_numpy(self.torch_tensor) if self._then is None else self._then[0]

    def peek_grad(self) -> TorchTensorView | None:
        t = self.torch_tensor
        if not (t.is_leaf or t.retains_grad):
            return None  # PyTorch keeps no .grad for it
        if self._then is not None:
            g = self._then[1]
            return None if g is None else TorchTensorView(_torch_of(g))
        return None if t.grad is None else TorchTensorView(t.grad)

    def as_of(self, value: np.ndarray, grad: np.ndarray | None) -> TorchTensorView:
        """This tensor as it was at a past step: its flags, ``value`` and ``grad``."""
        return type(self)(self.torch_tensor, None, (value, grad))

    def __repr__(self) -> str:
        if self._then is None:
            return repr(self.torch_tensor)
        return _repr_as(self.torch_tensor, self._then[0])


def _torch_of(a: np.ndarray) -> Any:
    import torch

    return torch.from_numpy(np.asarray(a))


def _repr_as(t: Any, value: np.ndarray) -> str:
    """What PyTorch would print for ``t`` holding ``value``."""
    import torch

    then = _torch_of(value)
    if isinstance(t, torch.nn.Parameter):
        return repr(torch.nn.Parameter(then, requires_grad=t.requires_grad))
    if t.grad_fn is not None:  # PyTorch names the node: tensor(0.5, grad_fn=<MseLossBackward0>)
        return repr(then)[:-1] + f", grad_fn=<{t.grad_fn.name()}>)"
    return repr(then.requires_grad_(t.requires_grad) if then.is_floating_point() else then)


class Parameter(TorchTensorView):
    """An ``nn.Parameter``: the folding code knows parameters by this class name."""


_VIEWS: dict[int, tuple[weakref.ref, TorchTensorView]] = {}


def view_of(t: Any, kept: np.ndarray | None = None) -> TorchTensorView:
    """The stand-in of ``t``, one per live tensor (the graph and the panels share it)."""
    entry = _VIEWS.get(id(t))
    if entry is not None and entry[0]() is t:
        view = entry[1]
        if kept is not None:
            view._kept = kept
        return view
    import torch

    cls = Parameter if isinstance(t, torch.nn.Parameter) else TorchTensorView
    view = cls(t, kept)
    key = id(t)

    def forget(ref: weakref.ref, key: int = key, views: dict = _VIEWS) -> None:
        if views.get(key, (None,))[0] is ref:
            del views[key]

    _VIEWS[key] = (weakref.ref(t, forget), view)
    return view


# --- the graph --------------------------------------------------------------------------------------


class _Output:
    """Output ``nr`` > 0 of a node, as a key for the id registry (the node itself is output 0)."""

    def __init__(self, fn: Any, nr: int) -> None:
        self.fn, self.nr = fn, nr


class ReadMemo:
    """What reading one node or leaf gave, shared by the builds of one moment (both views of a
    snapshot): the saved tensors, an op's and a leaf's attributes. The autograd view and the
    Tensors view read the same nodes and leaves, so the second view costs about half. Keep it
    only while the tensors stand still (one snapshot, one export): it never looks again."""

    def __init__(self) -> None:
        self.saved: dict[int, tuple] = {}
        self.ops: dict[int, dict[str, Any]] = {}
        self.leaves: dict[tuple[int, bool, str], dict[str, Any]] = {}
        self.nodes: dict[tuple[int, ...], list[Any]] = {}  # the roots' grad_fns -> topo_nodes()
        self._alive: list[Any] = []  # the nodes and tensors keyed by id, kept so no id is reused


class TorchGraphBuilder:
    """Builds one view of a PyTorch graph; ``record`` is what a capture saw (or None)."""

    def __init__(
        self,
        roots: list[Any],
        names: Mapping[str, Any],
        ids: NodeIds,
        record: Record | None,
        is_session: bool = False,
        memo: ReadMemo | None = None,
    ) -> None:
        self.roots, self.ids, self.record = roots, ids, record
        self.memo = memo if memo is not None else ReadMemo()
        self.is_session = is_session
        key = tuple(id(t.grad_fn) for t in roots)  # the list holds them: no id is reused
        self.nodes = self.memo.nodes.get(key)
        if self.nodes is None:
            self.nodes = self.memo.nodes[key] = topo_nodes(t.grad_fn for t in roots)
        self.node_ids = {id(n) for n in self.nodes}
        self.order = {id(n): i for i, n in enumerate(self.nodes)}
        self.leaf_name: dict[int, str] = {}  # id(leaf) -> name
        self.out_name: dict[tuple[int, int], str] = {}  # (node, nr) -> name
        self.out_tensor: dict[tuple[int, int], Any] = {}
        self._outkeys: dict[tuple[int, int], _Output] = {}
        for name, t in names.items():
            if t.grad_fn is None:
                self.leaf_name.setdefault(id(t), str(name))
            else:
                self.out_name.setdefault((id(t.grad_fn), t.output_nr), str(name))
                self.out_tensor.setdefault((id(t.grad_fn), t.output_nr), t)
        if record is not None:
            for k, t in record.outputs.items():
                self.out_tensor.setdefault(k, t)
        for t in roots:
            if t.grad_fn is not None:
                self.out_tensor[(id(t.grad_fn), t.output_nr)] = t

    # ids
    def key(self, fn: Any, nr: int) -> Any:
        if nr == 0:
            return fn
        k = self._outkeys.get((id(fn), nr))
        if k is None:
            k = self._outkeys[(id(fn), nr)] = _Output(fn, nr)
        return k

    def tid(self, fn_or_leaf: Any, nr: int = 0) -> str:
        return self.ids.get(self.key(fn_or_leaf, nr), "t")

    def node_id(self, fn: Any) -> str:
        return self.ids.get(fn, "acc" if is_accumulate_grad(fn) else "op")

    # attributes
    def output_keys(self) -> set[tuple[int, int]]:
        """(node, nr) of the roots that count as outputs (in a session: those nothing consumed)."""
        keys = {(id(t.grad_fn), t.output_nr) for t in self.roots if t.grad_fn is not None}
        if self.is_session:
            consumed = {(id(f), nr) for n in self.nodes for f, nr in n.next_functions if f is not None}
            keys -= consumed
        return keys

    def saved(self, fn: Any) -> tuple:
        """What ``fn`` saved; once backward() freed it, the shapes a capture noted before."""
        got = self.memo.saved.get(id(fn))
        if got is None:
            got = self.memo.saved[id(fn)] = self._read_saved(fn)
            self.memo._alive.append(fn)
        return got

    def _read_saved(self, fn: Any) -> tuple:
        noted = self.record.saved.get(id(fn)) if self.record is not None else None
        if noted is not None and noted[1] and saved_freed(fn, noted[1][0]):
            return noted[0], noted[1], noted[2], True  # what the capture read before backward()
        now = read_saved(fn)
        if noted is not None and now[3]:
            return noted[0], noted[1], {**noted[2], **now[2]}, True
        return now

    def op_attrs(self, fn: Any) -> dict[str, Any]:
        """The op node's attributes (a copy of its own: the caller may change it)."""
        got = self.memo.ops.get(id(fn))
        if got is None:
            got = self.memo.ops[id(fn)] = self._op_attrs(fn)
            self.memo._alive.append(fn)
        return dict(got)

    def _op_attrs(self, fn: Any) -> dict[str, Any]:
        name = fn.name()
        shapes, snames, params, freed = self.saved(fn)
        ptext = params_text(params)
        meta = fn._input_metadata  # what the node receives: its forward outputs' shapes
        scope = self.record.scope.get(id(fn), ()) if self.record is not None else ()
        return {
            "type": "op",
            "torch_id": id(fn),  # torchviz's node id for it: str(id(grad_fn))
            "name": name,
            "op": op_label(name),
            "label": op_label(name) + (f"({ptext})" if ptext else ""),
            "params": ptext,
            "saved": shapes,
            "saved_names": snames,
            "saved_freed": bool(freed),
            "shape": tuple(meta[0].shape) if meta else (),
            "scope": scope_levels(scope),
            "parts": (name,),
            "torch_ids": (id(fn),),  # the backward nodes this op stands for
        }

    def call_attrs(self, fn: Any, call: tuple) -> dict[str, Any]:
        """The op of one call drawn whole: named after the call, with every node it made."""
        cname, inner, _ = call
        parts = [*(self.record.nodes[i] for i in inner if i in self.record.nodes), fn]
        parts.sort(key=lambda p: self.order.get(id(p), 0))
        attrs = self.op_attrs(fn)
        saved = [self.saved(p) for p in parts]
        attrs.update(
            name=" + ".join(p.name() for p in parts),
            op=cname,
            label=cname,
            params="",
            saved=[s for sv in saved for s in sv[0]],
            saved_names=[s for sv in saved for s in sv[1]],
            saved_freed=any(sv[3] for sv in saved),
            parts=tuple(p.name() for p in parts),
            torch_ids=tuple(id(p) for p in parts),
        )
        return attrs

    def leaf_attrs(self, t: Any, is_output: bool) -> dict[str, Any]:
        """A leaf tensor's attributes (a copy of its own: the caller may change it)."""
        key = (id(t), is_output, self.leaf_name.get(id(t), ""))
        got = self.memo.leaves.get(key)
        if got is None:
            got = self.memo.leaves[key] = self._leaf_attrs(t, is_output)
            self.memo._alive.append(t)
        return dict(got)

    def _leaf_attrs(self, t: Any, is_output: bool) -> dict[str, Any]:
        grad = t.grad
        garr = None if grad is None else to_numpy(grad)
        rg = bool(t.requires_grad)
        kind = "leaf" if rg else "constant"
        value = preview(to_numpy(t))
        name = self.leaf_name.get(id(t), "")
        label = value if not name and kind == "constant" and t.ndim == 0 and value else name
        return self._tensor(
            kind, is_output, name, label, t.shape, t.dtype, rg, True, False, value, garr, False, view_of(t)
        )

    def inter_attrs(self, fn: Any, nr: int, is_output: bool) -> dict[str, Any]:
        k = (id(fn), nr)
        t = self.out_tensor.get(k)
        if t is not None and (t.grad_fn is not fn or t.output_nr != nr):
            t = None  # changed in place since: this node is its old version
        kept = False
        garr = None
        if t is not None and t.retains_grad and t.grad is not None:
            garr = to_numpy(t.grad)
        elif self.record is not None and k in self.record.grads:
            garr, kept = to_numpy(self.record.grads[k]), True
        if t is not None:
            shape, dtype, value = t.shape, t.dtype, preview(to_numpy(t))
            view = view_of(t, garr if kept else None)
        else:
            meta = fn._input_metadata
            m = meta[nr] if nr < len(meta) else None
            shape, dtype = (tuple(m.shape), m.dtype) if m is not None else ((), None)
            value, view = "", None
        name = self.out_name.get(k, "")
        kind = "output" if is_output else "intermediate"
        retains = bool(t is not None and t.retains_grad)
        # A tensor no capture saw (made inside a library call, or before the capture) is known
        # by its shape and gradient only: its value is not drawn.
        return self._tensor(
            kind, is_output, name, name, shape, dtype, True, False, retains, value, garr, kept, view
        )

    @staticmethod
    def _tensor(
        kind: str,
        is_output: bool,
        name: str,
        label: str,
        shape: Any,
        dtype: Any,
        requires_grad: bool,
        is_leaf: bool,
        retains: bool,
        value: str,
        grad: np.ndarray | None,
        kept: bool,
        view: Any,
    ) -> dict[str, Any]:
        return {
            "type": "tensor",
            "kind": kind,
            "is_output": is_output,
            "name": name,
            "label": label,
            "shape": tuple(int(s) for s in shape),
            "dtype": _dtype_name(dtype) if dtype is not None else "",
            "requires_grad": requires_grad,
            "is_leaf": is_leaf,
            "retains_grad": retains,
            "stale": False,
            "value": value,
            "grad": "None" if grad is None else preview(grad),
            "grad_stats": grad_stats(grad, requires_grad),
            "kept_by_gradviz": kept,
            "tensor": view,
            "torch_id": id(view.torch_tensor) if view is not None else None,
        }

    # views
    def build(self, view: str) -> nx.DiGraph:
        g = nx.DiGraph(view=view)
        outputs = self.output_keys()
        (self._autograd if view == AUTOGRAD else self._tensors)(g, outputs)
        g.graph["outputs"] = []
        for t in self.roots:
            if t.grad_fn is not None and (id(t.grad_fn), t.output_nr) in outputs:
                g.graph["outputs"].append(self.tid(t.grad_fn, t.output_nr))
            elif t.grad_fn is None and not self.is_session:
                g.graph["outputs"].append(self.tid(t))
        g.graph["source"] = "torch"
        return g

    def _add_leaf(self, g: nx.DiGraph, t: Any, is_output: bool = False) -> str:
        tid = self.tid(t)
        if tid not in g:
            g.add_node(tid, **self.leaf_attrs(t, is_output))
        return tid

    def _autograd(self, g: nx.DiGraph, outputs: set) -> None:
        for n in self.nodes:
            nid = self.node_id(n)
            if is_accumulate_grad(n):
                leaf = n.variable
                tid = self._add_leaf(g, leaf)
                g.add_node(
                    nid,
                    type="accumulate",
                    name="AccumulateGrad",
                    label="AccumulateGrad",
                    saved=[],
                    saved_freed=False,
                    torch_id=id(n),
                )
                g.add_edge(tid, nid, kind="data", args=(0,), shape=tuple(leaf.shape))
                continue
            tname = self.out_name.get((id(n), 0), "")
            g.add_node(
                nid, **{**self.op_attrs(n), "type": "backward", "label": n.name(), "tensor_name": tname}
            )
            for i, (fn, nr) in enumerate(n.next_functions):
                if fn is None:
                    continue  # an input that needs no gradient: PyTorch's graph has no edge
                src = self.node_id(fn)
                meta = fn._input_metadata if not is_accumulate_grad(fn) else None
                if meta is None:
                    shape = tuple(fn.variable.shape)
                else:
                    shape = tuple(meta[nr].shape) if nr < len(meta) else ()
                if g.has_edge(src, nid):
                    g.edges[src, nid]["args"] += (i,)
                else:
                    g.add_edge(src, nid, kind="data", args=(i,), shape=shape)
        for t in self.roots:
            if t.grad_fn is None:
                if t.requires_grad or not self.is_session:
                    self._add_leaf(g, t, not self.is_session)
                continue
            k = (id(t.grad_fn), t.output_nr)
            if k in outputs:
                tid = self.tid(t.grad_fn, t.output_nr)
                g.add_node(tid, **self.inter_attrs(t.grad_fn, t.output_nr, True))
                src = self.node_id(t.grad_fn)
                g.add_edge(src, tid, kind="data", args=(0,), shape=tuple(t.shape))

    def _calls(self) -> tuple[dict[int, tuple], set[int]]:
        """The calls a capture saw whose nodes are all in this graph and whose inner nodes feed
        only nodes of the same call: ``{id(last node): call}``, and the ids of the inner nodes."""
        if self.record is None:
            return {}, set()
        consumers: dict[int, set[int]] = {}
        for n in self.nodes:
            for fn, _ in n.next_functions:
                if fn is not None:
                    consumers.setdefault(id(fn), set()).add(id(n))
        calls: dict[int, tuple] = {}
        inside: set[int] = set()
        for n in self.nodes:
            call = self.record.calls.get(id(n))
            if call is None:
                continue
            members = {*call[1], id(n)}
            inputs_drawn = all(k[0] == "leaf" or id(k[1]) in self.node_ids for k in call[2])
            if (
                inputs_drawn
                and all(i in self.node_ids for i in call[1])
                and all(consumers.get(i, set()) <= members for i in call[1])
                and not (members & inside)
            ):
                calls[id(n)] = call
                inside.update(call[1])
        return calls, inside

    def _tensors(self, g: nx.DiGraph, outputs: set) -> None:
        def add_out(fn: Any, nr: int) -> str:
            tid = self.tid(fn, nr)
            if tid not in g:
                g.add_node(tid, **self.inter_attrs(fn, nr, (id(fn), nr) in outputs))
            return tid

        consumed: dict[int, set[int]] = {}
        for n in self.nodes:
            for fn, nr in n.next_functions:
                if fn is not None:
                    consumed.setdefault(id(fn), set()).add(nr)
        for t in self.roots:
            if t.grad_fn is not None:
                consumed.setdefault(id(t.grad_fn), set()).add(t.output_nr)
        calls, inside = self._calls()
        for n in self.nodes:
            if is_accumulate_grad(n) or id(n) in inside:
                continue
            in_ids: list[str] = []
            call = calls.get(id(n))
            if call is None:
                for fn, nr in n.next_functions:
                    if fn is None:
                        continue
                    in_ids.append(
                        self._add_leaf(g, fn.variable) if is_accumulate_grad(fn) else add_out(fn, nr)
                    )
                consts = self.record.consts.get(id(n), []) if self.record is not None else []
                in_ids += [self._add_leaf(g, c) for c in consts]
            else:  # the tensors passed to the call, in order
                in_ids = [self._add_leaf(g, k[1]) if k[0] == "leaf" else add_out(k[1], k[2]) for k in call[2]]
            oid = self.node_id(n)
            g.add_node(oid, **(self.op_attrs(n) if call is None else self.call_attrs(n, call)))
            for i, tid in enumerate(in_ids):
                if g.has_edge(tid, oid):
                    g.edges[tid, oid]["args"] += (i,)
                else:
                    g.add_edge(tid, oid, kind="data", args=(i,), shape=g.nodes[tid]["shape"])
            for nr in sorted(consumed.get(id(n), {0})):
                out = add_out(n, nr)
                g.add_edge(oid, out, kind="data", args=(0,), shape=g.nodes[out]["shape"])
        for t in self.roots:
            if t.grad_fn is None:
                self._add_leaf(g, t, not self.is_session)
        _add_expressions(g)


def build_torch_graph(
    outputs: Any,
    *,
    view: str = TENSORS,
    names: Mapping[str, Any] | None = None,
    ids: NodeIds | None = None,
    record: Record | None = None,
    memo: ReadMemo | None = None,
) -> nx.DiGraph:
    """The model graph of PyTorch tensors ``outputs`` (a tensor, a list, or ``{name: tensor}``),
    with the same node attributes as :func:`gradviz.graph.model.build_graph` gives engine
    tensors. ``names``: ``{name: tensor}`` labels (a model's ``named_parameters()`` among them).
    ``record``: what a :class:`capture` saw; by default the last one's. ``memo``: shared by
    the builds of both views of one moment, so each node is read once (see :class:`ReadMemo`)."""
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; choose 'tensors' or 'autograd'")
    is_session = isinstance(outputs, Mapping)
    if is_session:
        roots = list(outputs.values())
        named = {**dict(names or {}), **dict(outputs)}
    else:
        roots = [outputs] if is_torch_tensor(outputs) else list(outputs)
        named = dict(names or {})
    named = {k: v for k, v in named.items() if is_torch_tensor(v)}
    rec = record if record is not None else last_record()
    builder = TorchGraphBuilder(roots, named, ids if ids is not None else NodeIds(), rec, is_session, memo)
    return builder.build(view)


def reachable_names(outputs: Any, names: Mapping[str, Any]) -> dict[str, Any]:
    """The named torch tensors that the graph of ``outputs`` contains (the outputs included)."""
    roots = (
        list(outputs.values())
        if isinstance(outputs, Mapping)
        else ([outputs] if is_torch_tensor(outputs) else list(outputs))
    )
    nodes = topo_nodes(t.grad_fn for t in roots)
    fns = {id(n) for n in nodes}
    leaves = {id(n.variable) for n in nodes if is_accumulate_grad(n)} | {id(t) for t in roots}
    rec = last_record()
    if rec is not None:  # the constants the calls read (an input x without grad)
        for n in nodes:
            leaves.update(id(c) for c in rec.consts.get(id(n), ()))
            call = rec.calls.get(id(n))
            leaves.update(id(k[1]) for k in (call[2] if call else ()) if k[0] == "leaf")
    return {
        k: v
        for k, v in names.items()
        if is_torch_tensor(v) and (id(v) in leaves or (v.grad_fn is not None and id(v.grad_fn) in fns))
    }
