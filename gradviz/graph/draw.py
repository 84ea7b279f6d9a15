"""``gradviz.draw(y)``: the graph of a tensor as a ``graphviz.Digraph``, for notebooks.

Jupyter shows the returned object inline. Its picture is gradviz's own SVG (the same as the SVG
export and the desktop canvas), so it appears even where no ``dot`` is on PATH; its DOT source
(``.source``, ``.render()``) is the same graph for anyone who wants Graphviz to draw it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import graphviz
import networkx as nx

from ..engine.tensor import Tensor
from .dot import to_digraph
from .model import TENSORS, NodeIds, build_graph, check_outputs, names_from_namespace
from .torch_graph import torch_outputs


class GradvizDigraph(graphviz.Digraph):
    """A ``graphviz.Digraph`` that also carries the model graph and draws itself without dot."""

    model: nx.DiGraph | None = None
    options: dict[str, Any] | None = None

    def _scene(self):
        from .scene import build_scene

        return build_scene(self.model, **(self.options or {}))

    def _repr_image_svg_xml(self) -> str:
        if self.model is None:  # a copy made by graphviz's own methods: plain behaviour
            return super()._repr_image_svg_xml()
        from .writers import to_svg

        return to_svg(self._scene())

    def _repr_image_png(self) -> bytes:
        if self.model is None:
            return super()._repr_image_png()
        from .writers import to_png

        return to_png(self._scene())

    def save(self, path: str | Path, format: str | None = None) -> Path:  # noqa: A002 - graphviz's name
        """Export to PNG, SVG, PDF, DOT or GraphML (chosen by ``format`` or the suffix)."""
        from .export import export

        return export(self.model, path, format=format, **(self.options or {}))


def _from_caller(depth: int, read: Callable[[Mapping[str, Any], Mapping[str, Any]], dict]) -> dict:
    """``read(locals, globals)`` of the frame ``depth`` calls above the one that called this."""
    frame = inspect.currentframe()
    try:
        for _ in range(depth + 1):
            frame = frame.f_back if frame is not None else None
        if frame is None:
            return {}
        return read(frame.f_locals, frame.f_globals)
    finally:
        del frame  # frames in local variables make reference cycles


def caller_names(depth: int = 2) -> dict[int, str]:
    """``{id(tensor): name}`` from the variables of the frame ``depth`` calls up (locals first)."""
    return _from_caller(depth, names_from_namespace)


def _output_names(outputs: Any, name: str | Iterable[str] | None) -> dict[int, str]:
    if name is None:
        return {}
    tensors = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    names = [name] if isinstance(name, str) else list(name)
    if len(names) != len(tensors):
        raise ValueError(f"name= gives {len(names)} names for {len(tensors)} outputs")
    return {id(t): n for t, n in zip(tensors, names)}


def caller_torch_tensors(depth: int = 3) -> dict[str, Any]:
    """``{name: torch tensor}`` from the variables of the frame ``depth`` calls up."""
    from .torch_graph import torch_names

    return _from_caller(depth, torch_names)


def _torch_labels(outputs: Any, name: Any, names: Mapping[str, Any] | None, model: Any) -> dict[str, Any]:
    """Names for a PyTorch graph: the model's parameter names first, then the caller's (or
    ``names``), then the outputs' ``name=``."""
    from .torch_graph import module_names

    labels = dict(module_names(model))
    taken = {id(t) for t in labels.values()}
    given = caller_torch_tensors(3) if names is None else dict(names)
    labels.update({k: t for k, t in given.items() if id(t) not in taken})
    if name is not None and not isinstance(outputs, Mapping):
        tensors = [outputs] if not isinstance(outputs, list) else outputs
        out_names = [name] if isinstance(name, str) else list(name)
        if len(out_names) != len(tensors):
            raise ValueError(f"name= gives {len(out_names)} names for {len(tensors)} outputs")
        labels = {k: t for k, t in labels.items() if id(t) not in {id(x) for x in tensors}}
        labels.update(zip(out_names, tensors))
    return labels


def draw(
    outputs: Tensor | Iterable[Tensor] | Mapping[str, Tensor],
    view: str = TENSORS,
    stat: str = "norm",
    cmap: object = None,
    scale: str = "linear",
    name: str | Iterable[str] | None = None,
    names: Mapping[str, Tensor] | None = None,
    edge_labels: bool = False,
    elements: bool = True,
    legend: bool = True,
    title: str = "",
    ids: NodeIds | None = None,
    model: Any = None,
) -> GradvizDigraph:
    """The computation graph of ``outputs``, coloured by gradient.

    view: ``"tensors"`` (every tensor a node, ops between them) or ``"autograd"`` (PyTorch's
    backward graph as torchviz draws it). stat: ``"norm"``, ``"mean"`` or ``"maxabs"``. cmap:
    any ``cmap`` colour map name (default: viridis, or vik for the signed mean). scale:
    ``"linear"`` or ``"log"``. name: the output's name (or one per output). names:
    ``{name: tensor}`` for other tensors; without it, the caller's variable names are used.

    PyTorch tensors are read from torch's own graph (``grad_fn``); ``model``: an ``nn.Module``
    whose parameters are then named as ``named_parameters()`` names them. Run the forward and
    backward in ``gradviz.capture()`` to see every intermediate's value and gradient.

    Every intermediate is coloured by the gradient backward() brought it, which gradviz keeps
    (marked "kept by gradviz": PyTorch's ``.grad`` stays None); gradients of more than
    ``KEEP_MAX`` (16,384) elements only when backward() ran inside ``gradviz.keep_grads()``.
    """
    outputs = check_outputs(outputs, "gradviz.draw()")
    if torch_outputs(outputs):
        g = build_graph(outputs, view=view, names=_torch_labels(outputs, name, names, model), ids=ids)
    else:
        label_of: dict[Any, Any] = {}
        if names is None:
            label_of.update(caller_names())
        else:
            label_of.update({id(t): k for k, t in names.items()})
        if not isinstance(outputs, Mapping):
            label_of.update(_output_names(outputs, name))
        g = build_graph(outputs, view=view, names=label_of, ids=ids)
    options = {
        "stat": stat,
        "cmap": cmap,
        "scale": scale,
        "edge_labels": edge_labels,
        "elements": elements,
        "legend": legend,
        "title": title,
    }
    dot = to_digraph(
        g,
        stat=stat,
        cmap=cmap,
        scale=scale,
        edge_labels=edge_labels,
        elements=elements,
        legend=legend,
        cls=GradvizDigraph,
    )
    dot.model = g
    dot.options = options
    return dot
