"""Tensors -> a networkx graph, in two views of the same computation.

*tensors*: every tensor is a node (leaf, constant, intermediate, output) and every op a small node
between its inputs and its output, the picture a learner has in mind when writing ``y = w*x + b``.

*autograd*: PyTorch's backward graph as torchviz draws it: ``AddBackward0``, ``AccumulateGrad``,
the leaves they feed and the outputs; the tensors a node saved for backward are a badge on it.

Both views walk the engine's structure (``grad_fn``, ``next_functions``, ``inputs``), which stays
walkable after ``backward()`` has freed the saved buffers. The tensors view also draws a node's
``nondiff_inputs`` (nll_loss's target, where's condition, an index mask): inputs all the same,
though they take no gradient and the backward graph has no edge for them.

One call that the engine records as several nodes, as PyTorch does (``F.linear`` is TBackward0
then AddmmBackward0; ``F.cross_entropy`` is LogSoftmaxBackward0 then NllLossBackward0), is one
op in the tensors view, named after the call, from the tensors passed in to the result: the
learner wrote one call, not a transpose and an addmm. The engine marks such calls (see
``gradviz.engine.function.Composite``); the autograd view keeps every node.

Node ids come from a :class:`NodeIds` registry: an object keeps its id for as long as it lives, so
a graph rebuilt after one more op keeps every existing id (hold on to the registry to get this).
A fresh registry numbers nodes inputs-first, so the same computation always gets the same ids.
"""

from __future__ import annotations

import functools
import math
import re
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import networkx as nx
import numpy as np

from ..engine.function import AccumulateGrad, Node
from ..engine.tensor import Tensor
from .colors import format_number, grad_stats
from .expression import INFIX, Expr, atom, call, infix, negate

TENSORS = "tensors"
AUTOGRAD = "autograd"
VIEWS = (TENSORS, AUTOGRAD)

# Parameters the engine keeps for itself; they mean nothing to a reader.
_HIDDEN_PARAMS = {"dtype", "kind"}
# PyTorch's defaults: the reader did not write them, so the label does not show them.
_DEFAULT_PARAMS = {"reduction": "mean", "ignore_index": -100, "keepdim": False, "alpha": 1}


class NodeIds:
    """Stable string ids for engine objects: the same live object always gets the same id."""

    def __init__(self) -> None:
        self._ids: dict[tuple[int, str], tuple[weakref.ref, str]] = {}
        self._next: dict[str, int] = {}
        self._strong: dict[tuple[int, str], tuple[object, str]] = {}

    def get(self, obj: object, prefix: str) -> str:
        key = (id(obj), prefix)
        entry = self._ids.get(key)
        if entry is not None and entry[0]() is obj:
            return entry[1]
        if key in self._strong:
            return self._strong[key][1]
        n = self._next.get(prefix, 0)
        self._next[prefix] = n + 1
        sid = f"{prefix}{n}"

        def forget(ref: weakref.ref, key: tuple[int, str] = key) -> None:
            # id() values are reused after an object dies: drop the entry so a newcomer at the
            # same address is not mistaken for it (only if the entry is still this object's).
            if self._ids.get(key, (None,))[0] is ref:
                del self._ids[key]

        try:
            self._ids[key] = (weakref.ref(obj, forget), sid)
        except TypeError:  # PyTorch's backward nodes take no weak references: held instead
            self._strong[key] = (obj, sid)
        return sid


# --- names ----------------------------------------------------------------------------------


def names_from_namespace(*namespaces: Mapping[str, Any]) -> dict[int, str]:
    """``{id(tensor): variable name}`` for the tensors bound to names in these namespaces.

    Earlier namespaces win (pass locals before globals). Names starting with ``_`` are skipped:
    they are IPython's output history (``_``, ``_3``) or private helpers, not the user's names.
    """
    out: dict[int, str] = {}
    for ns in namespaces:
        for name, value in ns.items():
            if isinstance(value, Tensor) and not name.startswith("_") and id(value) not in out:
                out[id(value)] = name
    return out


def _tensor_names(names: Mapping[str, Tensor] | Mapping[int, str] | None) -> dict[int, str]:
    """Accept ``{name: tensor}`` (the natural way to write it) or ``{id(tensor): name}``."""
    if not names:
        return {}
    out: dict[int, str] = {}
    for k, v in names.items():
        if isinstance(v, Tensor):
            out.setdefault(id(v), str(k))
        elif isinstance(k, int) and isinstance(v, str):
            out.setdefault(k, v)
        else:
            raise TypeError(f"names must map str -> Tensor; got {type(k).__name__} -> {type(v).__name__}")
    return out


# --- text previews ----------------------------------------------------------------------------


def _fmt(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (complex, np.complexfloating)):
        # As torch prints one: 1.5-2.25j, nan+1.0j (no brackets; the imaginary part's sign
        # between, a -0.0's too, as torch's 1.-0.j).
        im = float(v.imag)
        sign = "-" if math.copysign(1.0, im) < 0 else "+"
        return f"{_fmt(float(v.real))}{sign}{_fmt(abs(im))}j"
    s = format_number(float(v), 3)
    # A float that happens to be whole still reads as a float (torch prints 4. for 4.0).
    return s + ".0" if s.lstrip("-").isdigit() else s


def preview(arr: np.ndarray | None, max_elements: int = 4) -> str:
    """A value as a short line: ``3``, ``[1, 2, 3]``, ``[[1, 2], [3, 4]]``, or a range."""
    if arr is None:
        return ""
    a = np.asarray(arr)
    if a.size == 0:
        return "[]"
    if a.ndim == 0:
        return _fmt(a.item())
    if a.size <= max_elements:

        def nest(x: np.ndarray) -> str:
            return "[" + ", ".join(nest(s) if s.ndim else _fmt(s.item()) for s in x) + "]"

        return nest(a)
    if a.dtype.kind == "b":
        return f"{int(a.sum())} of {a.size} True"
    if a.dtype.kind == "c":  # no order among complex numbers: the range of their sizes
        lo, hi = np.abs(a).min(), np.abs(a).max()
        if lo == hi and np.all(a == a.flat[0]):
            return f"all {_fmt(a.flat[0])}"
        return f"abs {_fmt(lo)} .. {_fmt(hi)}"
    lo, hi = a.min(), a.max()
    if a.dtype.kind == "f" and not (np.isfinite(lo) and np.isfinite(hi)):
        # Some NaN or Inf: the range of the rest (only then the copy of the finite part).
        finite = a[np.isfinite(a)]
        if finite.size == 0:
            return "all non-finite"
        lo, hi = finite.min(), finite.max()
        if lo == hi and finite.size == a.size:
            return f"all {_fmt(lo)}"
        return f"{_fmt(lo)} .. {_fmt(hi)}"
    if lo == hi:
        return f"all {_fmt(lo)}"
    return f"{_fmt(lo)} .. {_fmt(hi)}"


def shape_text(shape: tuple[int, ...]) -> str:
    """``[2, 3]`` as ``torch.Size`` prints it, ``scalar`` for 0-d."""
    return "scalar" if len(shape) == 0 else "[" + ", ".join(str(s) for s in shape) + "]"


@functools.lru_cache(maxsize=4096)  # a graph repeats a few dozen names thousands of times
def op_label(backward_name: str) -> str:
    """``MulBackward0`` -> ``mul``, ``LogSoftmaxBackward0`` -> ``log_softmax``."""
    base = re.sub(r"Backward\d*$", "", backward_name.rsplit("::", 1)[-1])
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", base).lower() or backward_name


def params_text(params: Mapping[str, Any], hidden: Iterable[str] = _HIDDEN_PARAMS) -> str:
    parts = []
    for k, v in params.items():
        if k in hidden or v is None:
            continue
        if k in _DEFAULT_PARAMS and not isinstance(v, np.ndarray) and v == _DEFAULT_PARAMS[k]:
            continue
        if isinstance(v, np.ndarray):
            v = preview(v) if v.size <= 4 else f"<{shape_text(v.shape)} {v.dtype}>"
        elif isinstance(v, float):
            v = format_number(v)
        parts.append(f"{k}={v}")
    return ", ".join(parts)


# --- building ---------------------------------------------------------------------------------


def _type_name(x: Any) -> str:
    """``int``, ``None``, ``torch.Tensor``, ``numpy.ndarray``: what a user would call the type."""
    if x is None:
        return "None"
    cls = type(x)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def _is_torch(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "torch"


_TORCH_HINT = "pass PyTorch tensors and gradviz tensors separately: one graph reads one library"
_TAKES = "a gradviz tensor, a list of them, or a {name: tensor} dict (or the same of PyTorch tensors)"


def check_outputs(outputs: Any, caller: str = "build_graph()", also: str = "") -> Any:
    """``outputs`` as a tensor, a ``{name: tensor}`` mapping or a list of tensors; anything else
    (a PyTorch tensor, a number, None ...) is a TypeError that names it and says what to pass.

    ``caller`` names the public function in the message; ``also`` adds what else it accepts.
    """
    if isinstance(outputs, Tensor):
        return outputs
    from .torch_graph import torch_outputs

    if torch_outputs(outputs):  # real PyTorch tensors: read from torch's own graph
        return outputs if not isinstance(outputs, (list, tuple)) else list(outputs)
    takes = f"{_TAKES}{f', or {also}' if also else ''}"

    def refuse(got: str, culprit: Any) -> TypeError:
        hint = _TORCH_HINT if _is_torch(culprit) else f"pass {takes}"
        return TypeError(f"{caller} takes gradviz tensors, got {got}; {hint}")

    if isinstance(outputs, Mapping):
        for k, v in outputs.items():
            if not isinstance(v, Tensor):
                raise refuse(f"{_type_name(v)} for {k!r}", v)
        return outputs
    # An array or another library's tensor is iterable, but never a collection of our tensors
    # (and iterating a 0-d one fails deep inside): refuse it by name, before looking inside.
    if isinstance(outputs, (str, bytes)) or hasattr(outputs, "shape") or not isinstance(outputs, Iterable):
        raise refuse(_type_name(outputs), outputs)
    roots = list(outputs)  # once: a generator can only be read once
    for i, t in enumerate(roots):
        if not isinstance(t, Tensor):
            raise refuse(f"{_type_name(t)} at index {i} of the {_type_name(outputs)}", t)
    return roots


def _as_outputs(outputs: Any) -> tuple[list[Tensor], dict[int, str], bool]:
    """Roots, names that came with them, and whether they were a name -> tensor mapping."""
    outputs = check_outputs(outputs)
    if isinstance(outputs, Tensor):
        return [outputs], {}, False
    if isinstance(outputs, Mapping):
        return list(outputs.values()), _tensor_names(outputs), True
    return outputs, {}, False


def _tensor_key(t: Tensor) -> object:
    """The object a tensor node is keyed by: its producing node if it has one, else itself.

    Keying non-leaves by ``grad_fn`` keeps in-place ops honest: after ``y += 1`` the same Python
    object stands for two versions of ``y``, produced by two different nodes.
    """
    return t.grad_fn if t.grad_fn is not None else t


def _input_key(node: Node, i: int) -> object:
    fn = node.next_functions[i][0]
    if fn is None or isinstance(fn, AccumulateGrad):
        return node.inputs[i]
    return fn


def _nondiff_keys(node: Node) -> list[object]:
    """Keys of the tensors ``node`` read without differentiating (nll_loss's target): drawn as
    inputs after the differentiable ones, though the backward graph has no edge for them."""
    return [_tensor_key(t) for t in node.nondiff_inputs]


def topo_nodes(roots: Iterable[Node]) -> list[Node]:
    """Backward nodes reachable from ``roots``, inputs first (iterative: graphs can be deep).
    Anything with ``next_functions`` as autograd has them serves: PyTorch's nodes too."""
    order: list[Node] = []
    seen: set[int] = set()
    for root in roots:
        if root is None or id(root) in seen:
            continue
        stack: list[tuple[Node, bool]] = [(root, False)]
        while stack:
            n, done = stack.pop()
            if done:
                order.append(n)
                continue
            if id(n) in seen:
                continue
            seen.add(id(n))
            stack.append((n, True))
            for fn, _ in reversed(n.next_functions):
                if fn is not None and id(fn) not in seen:
                    stack.append((fn, False))
    return order


def build_graph(
    outputs: Tensor | Iterable[Tensor] | Mapping[str, Tensor],
    *,
    view: str = TENSORS,
    names: Mapping[str, Tensor] | Mapping[int, str] | None = None,
    ids: NodeIds | None = None,
    grads: Callable[[object], np.ndarray | None] | None = None,
    memo: Any = None,
    grow: nx.DiGraph | None = None,
) -> nx.DiGraph:
    """The graph of the computation that produced ``outputs``.

    ``outputs``: a tensor, several tensors, or a ``{name: tensor}`` mapping (a session's named
    tensors: each is drawn, those no other tensor was computed from are the outputs).
    ``names``: ``{name: tensor}`` labels for any tensor in the graph.
    ``ids``: a registry kept between calls so that node ids stay the same as the graph grows.
    ``grads``: each tensor's gradient to show instead of its ``.grad``, by its key (a leaf, or
    the node that made the tensor); None: none yet. The backward stepper draws its steps so.
    ``memo``: PyTorch tensors only, a ``torch_graph.ReadMemo`` shared by the builds of both
    views of one moment, so each node is read once.
    ``grow``: the tensors-view graph of an earlier call with the same ``ids``, whose outputs
    were some of these (same objects, unchanged since): grown in place by what is new and
    returned, its nodes kept as they were but for those that stopped being outputs.
    """
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; choose 'tensors' or 'autograd'")
    from .torch_graph import build_torch_graph, torch_outputs

    if torch_outputs(outputs):
        if names and not all(isinstance(k, str) for k in names):
            raise TypeError("names for PyTorch tensors must map str -> torch.Tensor")
        return build_torch_graph(outputs, view=view, names=names, ids=ids, memo=memo)
    roots, root_names, is_session = _as_outputs(outputs)
    name_of = {**_tensor_names(names), **root_names}
    ids = ids if ids is not None else NodeIds()
    if grow is not None and (view != TENSORS or grow.graph.get("view") != TENSORS):
        raise ValueError("only a tensors-view graph can be grown")
    g = grow if grow is not None else nx.DiGraph(view=view)
    builder = _TensorsBuilder if view == TENSORS else _AutogradBuilder
    builder(g, roots, name_of, ids, is_session, grads).build()
    return g


class _Builder:
    def __init__(
        self,
        g: nx.DiGraph,
        roots: list[Tensor],
        name_of: dict[int, str],
        ids: NodeIds,
        is_session: bool,
        grads: Callable[[object], np.ndarray | None] | None = None,
    ):
        self.g = g
        self.grads = grads
        self.roots = roots
        self.name_of = name_of
        self.ids = ids
        self.is_session = is_session
        self.nodes = topo_nodes(t.grad_fn for t in roots)
        # key object -> the live tensor that currently stands for it (for names and values)
        self.tensor_of: dict[int, Tensor] = {}
        for t in roots:
            self.tensor_of[id(_tensor_key(t))] = t
        for n in self.nodes:
            out = n.output()
            if out is not None and out.grad_fn is n:
                self.tensor_of[id(n)] = out
        for n in self.nodes:
            for i, t in enumerate(n.inputs):
                key = _input_key(n, i)
                if key is t:
                    self.tensor_of.setdefault(id(key), t)
            for t in n.nondiff_inputs:
                self.tensor_of.setdefault(id(_tensor_key(t)), t)

    def tensor_id(self, key: object) -> str:
        return self.ids.get(key, "t")

    def op_id(self, node: Node) -> str:
        return self.ids.get(node, "op")

    def output_kinds(self) -> dict[int, bool]:
        """key id -> True for the roots that count as outputs."""
        if not self.is_session:
            return {id(_tensor_key(t)): True for t in self.roots}
        consumed = {id(_input_key(n, i)) for n in self.nodes for i in range(len(n.inputs))}
        consumed.update(id(k) for n in self.nodes for k in _nondiff_keys(n))
        # A call drawn as one op consumes what was passed in, though its steps may not have.
        consumed.update(
            id(k) for n in self.nodes if getattr(n, "composite", None) for k in n.composite.inputs
        )
        return {id(_tensor_key(t)): True for t in self.roots if id(_tensor_key(t)) not in consumed}

    def tensor_attrs(self, key: object, tensor: Tensor | None, is_output: bool) -> dict[str, Any]:
        """Everything a tensor node shows; ``tensor`` is None when only the node's record remains.

        A non-leaf's gradient is its ``.grad`` if it has one (``retain_grad()``), else the one the
        engine kept for drawings (``Node.kept_grad``), marked ``kept_by_gradviz`` (PyTorch: None).
        """
        kept = False
        if isinstance(key, Tensor):
            tensor = key  # a leaf is its own key
        if tensor is not None and (tensor is key or tensor.grad_fn is key):
            data = tensor.peek_array()
            shape, dtype = tuple(data.shape), data.dtype
            requires_grad, is_leaf = tensor.requires_grad, tensor.is_leaf
            if self.grads is not None:
                grad = self.grads(key) if requires_grad else None
            else:
                held = tensor.peek_grad()
                grad = held.peek_array() if held is not None else None
                if grad is None and requires_grad and key is tensor.grad_fn:
                    grad = key.kept_grad(tensor)
                    kept = grad is not None
            stats = grad_stats(grad, requires_grad)
            value = preview(data)
            name = self.name_of.get(id(tensor), "")
            # A leaf that an in-place op has since given a history: this node is its old self.
            stale = tensor is key and tensor.grad_fn is not None
            if stale:
                requires_grad, is_leaf, grad, name = False, True, None, ""
                stats, value = grad_stats(None, False), "(changed in place since)"
        else:
            # A version overwritten in place (or gone): the node still knows shape and dtype.
            shape, dtype = tuple(key.output_meta[0]), key.output_meta[1]
            requires_grad, is_leaf, value, name, stale = True, False, "", "", True
            grad = key.kept_grad()  # the gradient that version received, if backward reached it
            kept = grad is not None
            stats = grad_stats(grad, True)
            tensor = None
        if is_output:
            kind = "output" if not is_leaf else ("leaf" if requires_grad else "constant")
        elif is_leaf:
            kind = "leaf" if requires_grad else "constant"
        else:
            kind = "intermediate"
        # A wrapped Python number (the 2 in y * 2) has no name: its value is its name.
        label = value if not name and kind == "constant" and len(shape) == 0 and value else name
        return {
            "type": "tensor",
            "kind": kind,
            "is_output": is_output,
            "name": name,
            "label": label,
            "shape": shape,
            "dtype": np.dtype(dtype).name,
            "requires_grad": bool(requires_grad),
            "is_leaf": bool(is_leaf),
            "retains_grad": bool(tensor is not None and tensor.retains_grad),
            "stale": stale,
            "value": value,
            "grad": "None" if grad is None else preview(grad),
            "grad_stats": stats,
            "kept_by_gradviz": kept,
            "tensor": tensor,
        }


class _TensorsBuilder(_Builder):
    def build(self) -> None:
        g = self.g
        outputs = self.output_kinds()
        growing = g.number_of_nodes() > 0  # an earlier graph of part of this: add what is new

        def add_tensor(key: object) -> str:
            nid = self.tensor_id(key)
            if nid not in g:
                tensor = self.tensor_of.get(id(key))
                g.add_node(nid, **self.tensor_attrs(key, tensor, outputs.get(id(key), False)))
            return nid

        calls, inside = self._calls()
        for n in self.nodes:
            if isinstance(n, AccumulateGrad) or id(n) in inside:
                continue
            if growing and self.op_id(n) in g:  # drawn already, with its inputs and output
                continue
            parts = calls.get(id(n))
            if parts is None:
                keys = [_input_key(n, i) for i in range(len(n.inputs))] + _nondiff_keys(n)
            else:  # one call drawn as one op: the tensors passed in, not the steps inside
                keys = list(n.composite.inputs)
            # Inputs first, so that numbering in a fresh registry runs in computation order.
            in_ids = [add_tensor(k) for k in keys]
            oid = self.op_id(n)
            if parts is None:
                attrs = _op_attrs(n, inputs_drawn=True)
                attrs["parts"] = (attrs["name"],)  # the backward nodes this op stands for
            else:
                attrs = _call_attrs(n, parts)
            g.add_node(oid, **attrs)
            for i, tid in enumerate(in_ids):
                shape = g.nodes[tid]["shape"]
                if g.has_edge(tid, oid):  # x * x: one edge, both argument positions
                    g.edges[tid, oid]["args"] += (i,)
                else:
                    g.add_edge(tid, oid, kind="data", args=(i,), shape=shape)
            out = add_tensor(n)
            g.add_edge(oid, out, kind="data", args=(0,), shape=tuple(n.output_meta[0]))
        for t in self.roots:
            key = _tensor_key(t)
            nid = add_tensor(key)
            is_output = outputs.get(id(key), False)
            if g.nodes[nid]["is_output"] != is_output:  # grown: an output that now feeds an op
                g.nodes[nid].update(self.tensor_attrs(key, self.tensor_of.get(id(key)), is_output))
        self._link_detached()
        _add_expressions(g)
        g.graph["outputs"] = [
            self.tensor_id(_tensor_key(t)) for t in self.roots if outputs.get(id(_tensor_key(t)))
        ]

    def _calls(self) -> tuple[dict[int, list[Node]], set[int]]:
        """``{id(node): every node of its call}`` for the nodes that end a composite call, and
        the ids of the nodes inside calls (drawn as part of their call, not on their own). A
        call inside another (linear's matmul) is inside the outer one and drawn as part of it."""
        calls: dict[int, list[Node]] = {}
        inside: set[int] = set()
        for n in self.nodes:
            c = n.composite
            if c is not None:
                internal = c.internal_nodes(n)
                calls[id(n)] = [*internal, n]
                inside.update(id(m) for m in internal)
        return calls, inside

    def _link_detached(self) -> None:
        """``d = y.detach()`` shares y's array: draw a dashed link so the branch reads as cut."""
        by_array: dict[int, str] = {}
        g = self.g
        for nid, a in g.nodes(data=True):
            t = a.get("tensor")
            if t is not None and t.requires_grad:
                by_array[id(t.peek_array())] = nid
        for nid, a in list(g.nodes(data=True)):
            t = a.get("tensor")
            if t is not None and not t.requires_grad and id(t.peek_array()) in by_array:
                src = by_array[id(t.peek_array())]
                if not g.has_edge(src, nid):
                    g.add_edge(src, nid, kind="detach", args=(), shape=a["shape"])


class _AutogradBuilder(_Builder):
    def build(self) -> None:
        g = self.g
        outputs = self.output_kinds()
        for n in self.nodes:
            nid = self.ids.get(n, "acc") if isinstance(n, AccumulateGrad) else self.op_id(n)
            if isinstance(n, AccumulateGrad):
                leaf = n.variable
                tid = self.tensor_id(leaf)
                if tid not in g:
                    g.add_node(tid, **self.tensor_attrs(leaf, leaf, outputs.get(id(leaf), False)))
                g.add_node(
                    nid,
                    type="accumulate",
                    name="AccumulateGrad",
                    label="AccumulateGrad",
                    saved=[],
                    saved_freed=False,
                )
                g.add_edge(tid, nid, kind="data", args=(0,), shape=tuple(leaf.shape))
                continue
            out = self.tensor_of.get(id(n))
            tname = self.name_of.get(id(out), "") if out is not None else ""
            g.add_node(nid, **{**_op_attrs(n), "type": "backward", "label": n.name(), "tensor_name": tname})
            for i, (fn, _) in enumerate(n.next_functions):
                if fn is None:
                    continue  # an input that needs no gradient: PyTorch's graph has no edge
                src = self.ids.get(fn, "acc") if isinstance(fn, AccumulateGrad) else self.op_id(fn)
                shape = tuple(n.inputs[i].shape) if i < len(n.inputs) else tuple(fn.output_meta[0])
                if g.has_edge(src, nid):
                    g.edges[src, nid]["args"] += (i,)
                else:
                    g.add_edge(src, nid, kind="data", args=(i,), shape=shape)
        for t in self.roots:
            key = _tensor_key(t)
            if isinstance(key, Tensor) and not t.requires_grad:
                # No history and no gradient: not part of the backward graph. Drawn only when it
                # was asked for as an output (alone, as torchviz would), not as a session's input.
                if outputs.get(id(key)):
                    g.add_node(self.tensor_id(t), **self.tensor_attrs(t, t, True))
                continue
            if t.grad_fn is not None and outputs.get(id(key)):
                tid = self.tensor_id(key)
                g.add_node(tid, **self.tensor_attrs(key, t, True))
                g.add_edge(self.op_id(t.grad_fn), tid, kind="data", args=(0,), shape=tuple(t.shape))
            elif t.grad_fn is None:
                tid = self.tensor_id(t)
                if tid not in g:
                    g.add_node(tid, **self.tensor_attrs(t, t, outputs.get(id(key), False)))
        g.graph["outputs"] = [
            self.tensor_id(_tensor_key(t)) for t in self.roots if outputs.get(id(_tensor_key(t)))
        ]


# What each node saved, noted whenever a graph is built before backward() frees it: the engine
# forgets the shapes with the buffers, and a badge saying "saved: [2, 3] (freed)" teaches more
# than no badge. Weak keys: the note goes when the node does.
_SAVED_SEEN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _saved_shapes(n: Node) -> list[tuple[int, ...]]:
    shapes = [tuple(s) for s in n.saved_tensor_shapes()]
    if shapes:
        _SAVED_SEEN[n] = shapes
        return shapes
    return _SAVED_SEEN.get(n, []) if n.saved_buffers_freed else []


EXPR_MAX = 24  # longer expressions help less than they clutter


def _add_expressions(g: nx.DiGraph) -> None:
    """Give each unnamed intermediate an ``expr`` such as ``w * x`` or ``relu(h)``.

    Built from the names (and the values of wrapped numbers) of its inputs, so the picture of
    ``y = w*x + b`` reads like the code; left empty when it would be too long to help.
    """
    exprs: dict[str, Expr] = {}  # node -> (text, precedence)
    for n in nx.topological_sort(g):
        a = g.nodes[n]
        if a["type"] != "tensor":
            continue
        if a["label"]:
            exprs[n] = atom(a["label"])
            continue
        ops = list(g.predecessors(n))
        if len(ops) != 1 or g.nodes[ops[0]]["type"] != "op":
            continue
        op = g.nodes[ops[0]]
        args: list[Expr | None] = [None] * (
            1 + max((i for _, _, e in g.in_edges(ops[0], data=True) for i in e["args"]), default=-1)
        )
        for u, _, e in g.in_edges(ops[0], data=True):
            for i in e["args"]:
                args[i] = exprs.get(u)
        if any(x is None for x in args) or not args:
            continue
        if op["op"] in INFIX and len(args) == 2:
            text, prec = infix(op["op"], args[0], args[1])
        elif op["op"] == "where" and len(args) == 3:
            # The condition is drawn as the last input (it takes no gradient); it comes first in code.
            text, prec = call("where", [args[2][0], args[0][0], args[1][0]])
        elif op["op"] == "neg" and len(args) == 1:
            text, prec = negate(args[0])
        else:
            text, prec = call(op["op"], [x[0] for x in args])
        if len(text) <= EXPR_MAX:
            exprs[n] = (text, prec)
            a["expr"] = text


@functools.lru_cache(maxsize=4096)  # the nodes of one module call share their scope
def scope_levels(scope: tuple) -> tuple[tuple[str, str], ...]:
    """A node's ``nn.Module`` calls and name scopes as ``(key, label)``, outermost first: the key
    names the call (two calls of one module are two boxes), the label the module as the learner's
    code does: ``Net``, ``fc1 (Linear)``, ``layers[0] (Linear)``, ``Sequential[2] (Linear)``; a
    name scope by its name (``layer1``), a call the session named whole as it is (``model.0
    (Linear)``). A module called inside a name scope is named afresh there."""
    out = []
    path = ""
    for i, (name, cls, _, ident) in enumerate(scope):
        key = "/".join(str(e[2]) for e in scope[: i + 1])
        if ident is None:  # named whole: a name scope, or a console module by its session name
            path = name if cls else ""
            out.append((key, f"{name} ({cls})" if cls else name))
            continue
        if i and name.isdigit():  # a Sequential's or ModuleList's i-th
            path = f"{path or scope[i - 1][1]}[{name}]"
        elif i and name:
            path = f"{path}.{name}" if path else name
        out.append((key, f"{path} ({cls})" if path else cls))
    return tuple(out)


def _op_attrs(n: Node, *, inputs_drawn: bool = False) -> dict[str, Any]:
    name = n.name()
    params = n.params
    if inputs_drawn and n.nondiff_inputs:
        # The engine also keeps those inputs' values as array params; drawn as edges, they
        # need not be repeated in the label.
        params = {k: v for k, v in params.items() if not isinstance(v, np.ndarray)}
    ptext = params_text(params)
    return {
        "type": "op",
        "name": name,
        "op": op_label(name),
        "label": op_label(name) + (f"({ptext})" if ptext else ""),
        "params": ptext,
        "saved": _saved_shapes(n),
        "saved_freed": bool(n.saved_buffers_freed),
        "shape": tuple(n.output_meta[0]),
        "scope": scope_levels(n.scope),
        "seq": n._seq,  # when it was made: an unrolled loop's steps come one after another
    }


def _call_attrs(n: Node, parts: list[Node]) -> dict[str, Any]:
    """The op node of a composite call ``n.composite`` whose nodes are ``parts`` (``n`` last)."""
    call = n.composite
    ptext = params_text(call.params, hidden=())  # the call's own parameters, all meant for a reader
    saved = [s for p in parts for s in _saved_shapes(p)]
    return {
        "type": "op",
        # What it is in the backward graph, for tooltips: "TBackward0 + AddmmBackward0".
        "name": " + ".join(p.name() for p in parts),
        "op": call.name,
        "label": call.name + (f"({ptext})" if ptext else ""),
        "params": ptext,
        "saved": saved,
        "saved_freed": any(p.saved_buffers_freed for p in parts),
        "shape": tuple(n.output_meta[0]),
        "parts": tuple(p.name() for p in parts),
        "scope": scope_levels(n.scope),
        "seq": n._seq,
    }
