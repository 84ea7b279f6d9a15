"""What the canvas says about a node: its title, its tooltip and the explanation a double-click
shows (HTML), all read from the graph model's attributes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import networkx as nx

from ..graph.model import shape_text
from ..session import catalogue
from .derivatives import broadcast_gradient, derivative_of, local_derivative
from .dtypes import dtype_text


def _node_title(a: Mapping[str, Any]) -> str:
    return a.get("name") or a.get("expr") or a.get("label") or "tensor"


def tensor_title(a: Mapping[str, Any], name: str = "") -> str:
    """A tensor's name (``name``: the session's, current); a hidden one reads as its expression."""
    title = name or a.get("name") or a.get("expr") or a.get("label") or "?"
    if title.startswith("_"):
        title = a.get("expr") or a.get("label") or "an unnamed tensor"
    return title


def operand_titles(g: nx.DiGraph, nid: str, names: Mapping[str, str]) -> dict[int, str]:
    """argument position -> the title of the tensor passed there, for an op node."""
    return {
        i: tensor_title(g.nodes[u], names.get(u, ""))
        for u, _, e in g.in_edges(nid, data=True)
        if g.nodes[u].get("type") == "tensor"
        for i in e.get("args", ())
    }


def tooltip_for(a: Mapping[str, Any], operands: Mapping[int, str] | None = None) -> str:
    """What hovering a node says: for a tensor its name, shape, dtype, value and gradient; for an
    op its local derivative and, in the formula's names, the tensors ``operands`` it was given."""
    t = a.get("type")
    if t == "tensor":
        kind = {
            "leaf": "leaf",
            "constant": "constant",
            "output": "output",
            "intermediate": "intermediate",
        }.get(a["kind"], "")
        flag = "requires_grad=True" if a.get("requires_grad") else "requires_grad=False"
        lines = [
            f"{_node_title(a)}  ({kind}, {flag})",
            f"shape: {shape_text(tuple(a['shape']))}   dtype: {dtype_text(a['dtype'])}",
            f"value: {a['value'] or '-'}",
            f"grad: {a['grad']}",
        ]
        return "\n".join(lines)
    if t == "op":
        derivative = derivative_of(a.get("name", ""), a.get("op", ""))
        lines = [f"{a.get('label', '')}   ({a.get('name', '')} in the autograd graph)"]
        if derivative.formula:
            lines.append(derivative.formula)
        if operands:
            lines.append(", ".join(f"{derivative.operand(i)}: {operands[i]}" for i in sorted(operands)))
        lines.append("Double-click for an explanation")
        return "\n".join(lines)
    if t == "backward":
        lines = [a.get("label", "")]
        if a.get("tensor_name"):
            lines[0] += f"  (grad_fn of {a['tensor_name']})"
        d = local_derivative(a.get("name", ""), a.get("op", ""))
        if d:
            lines.append(d)
        if a.get("saved"):
            lines.append(
                "saved for backward: "
                + ", ".join(shape_text(tuple(s)) for s in a["saved"])
                + (" (freed)" if a.get("saved_freed") else "")
            )
        lines.append("Double-click for an explanation")
        return "\n".join(lines)
    if t == "repeat":
        return (
            f"{a.get('tooltip', '')}\nthe line: the gradient norm entering each repetition (log scale)"
            "\nDouble-click to expand; right-click to expand one repetition"
        )
    if t == "module":
        return f"{a.get('tooltip', '')}\nDouble-click to expand"
    if t == "accumulate":
        return "AccumulateGrad: adds the gradient that arrives here into the leaf's .grad\nDouble-click for an explanation"
    return ""


def _tensor_title(g: nx.DiGraph, names: Mapping[str, str], nid: str) -> str:
    return tensor_title(g.nodes[nid], names.get(nid, ""))


def _operand_text(g: nx.DiGraph, names: Mapping[str, str], nid: str) -> str:
    title = _tensor_title(g, names, nid)
    value = g.nodes[nid].get("value", "")
    if value and value != title and len(value) <= 16:
        return f"{title} ({value})"
    return title


def _broadcast_notes(
    g: nx.DiGraph, names: Mapping[str, str], nid: str, spec: catalogue.OpSpec | None
) -> list[str]:
    """For an elementwise op, how each broadcast operand's gradient is summed back to its shape."""
    outs = list(g.successors(nid))
    if spec is None or spec.size_rule != "broadcast" or not outs:
        return []
    result_shape = tuple(g.nodes[outs[0]]["shape"])
    result = _tensor_title(g, names, outs[0])
    if not result.isidentifier():
        result = "result"
    notes = []
    for u in dict.fromkeys(u for u, _ in g.in_edges(nid)):
        name = _tensor_title(g, names, u)
        note = broadcast_gradient(name, tuple(g.nodes[u]["shape"]), result, result_shape)
        if note:
            notes.append(html_escape(note) + ".")
    return notes


def explain(g: nx.DiGraph, names: Mapping[str, str], nid: str) -> str:
    """What double-clicking node ``nid`` explains (HTML); '' for a tensor node."""
    if nid not in g:
        return ""
    a = g.nodes[nid]
    t = a.get("type")
    if t == "op":
        node_name = a.get("name", "")
        derivative = derivative_of(node_name, a.get("op", ""))
        d = derivative.formula
        operands: dict[int, str] = {}
        for u, _, e in g.in_edges(nid, data=True):
            for i in e.get("args", ()):
                operands[i] = _operand_text(g, names, u)
        outs = [_operand_text(g, names, v) for v in g.successors(nid)]
        steps = " + " in node_name  # one call the engine records as several backward nodes
        title = (
            f"<b>{html_escape(a.get('op') or node_name)}</b> ({html_escape(node_name)} in the autograd graph)"
            if steps
            else f"<b>{html_escape(node_name)}</b>"
        )
        parts = [f"{title}: {html_escape(d) if d else 'a step of the computation'}"]
        # The formula's names (input, other, result) are PyTorch's, the tensors' in code font:
        # a tensor called b or out can't be mistaken for an operand of the formula.
        where = [
            f"{html_escape(derivative.operand(i))} is <code>{html_escape(operands[i])}</code>"
            for i in sorted(operands)
        ]
        if outs:
            where.append(f"result is <code>{html_escape(outs[0])}</code>")
        if where:
            parts.append("Here " + ", ".join(where) + ".")
        parts.extend(_broadcast_notes(g, names, nid, derivative.spec))
        who = "these backward nodes multiply" if steps else f"{html_escape(node_name)} multiplies"
        parts.append(
            f"In <code>backward()</code>, {who} the gradient arriving at <i>result</i> by these local "
            "derivatives (the chain rule) and pass the results to their inputs."
            if steps
            else f"In <code>backward()</code>, {who} the gradient arriving at <i>result</i> by these local "
            "derivatives (the chain rule) and passes the results to its inputs."
        )
        return "<br>".join(parts)
    if t == "backward":
        node_name = a.get("label", "")
        derivative = derivative_of(a.get("name", node_name), a.get("op", ""))
        d = derivative.formula
        parts = [f"<b>{html_escape(node_name)}</b>: {html_escape(d) if d else 'a step of the backward pass'}"]
        if derivative.spec is not None and derivative.spec.size_rule == "broadcast" and "shape" in a:
            for _, _, e in g.in_edges(nid, data=True):
                for i in e.get("args", ()):
                    note = broadcast_gradient(derivative.operand(i), tuple(e["shape"]), "result", a["shape"])
                    parts.extend([html_escape(note) + "."] if note else [])
        if a.get("tensor_name"):
            parts.append(f"It is <code>{html_escape(a['tensor_name'])}.grad_fn</code>.")
        if a.get("saved"):
            shapes = ", ".join(shape_text(tuple(s)) for s in a["saved"])
            state = (
                " They were freed by backward(); retain_graph=True keeps them."
                if a.get("saved_freed")
                else ""
            )
            parts.append(f"It saved {shapes} for backward.{state}")
        inputs = [g.nodes[u].get("label", u) for u in g.predecessors(nid)]
        if inputs:
            parts.append("Its next_functions: " + ", ".join(html_escape(x) for x in inputs) + ".")
        return "<br>".join(parts)
    if t == "accumulate":
        leaf = next((_operand_text(g, names, u) for u in g.predecessors(nid)), "the leaf")
        return (
            f"<b>AccumulateGrad</b>: the end of the backward pass for {html_escape(leaf)}. It adds the "
            "gradient that arrives into <code>.grad</code>, so two backward() calls add up; zero the "
            "gradients between steps."
        )
    return ""


def html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
