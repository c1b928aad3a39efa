"""Lay a network out as a computational graph, and write it as Graphviz DOT or Mermaid text.

Leaves (inputs, targets, params, consts) form layer 0; a node sits one layer above the highest
layer it uses, so data flows from inputs and params up to the loss. With a step's values, every
node carries its value and ∂L/∂node, and every edge its local derivative, as micrograd's draw_dot.
"""

from __future__ import annotations

from dataclasses import dataclass

from bptrace.engine.chains import direct_edges
from bptrace.engine.evaluate import run
from bptrace.engine.graph import Edge, Graph, Leaf, Node
from bptrace.engine.lazy import numpy
from bptrace.engine.tracer import Step
from bptrace.language.diagnostics import escaped
from bptrace.language.printer import MATH, Notation, format_value, name_text, partial_text, show
from bptrace.language.syntax import Num


@dataclass(frozen=True, slots=True)
class Labels:
    """How to write a drawing's labels: the notation, the step whose values to show, the digits."""

    notation: Notation = MATH
    step: Step | None = None
    precision: int = 4

    def num(self, value) -> str:
        return format_value(value, self.precision, self.notation)


def layers(graph: Graph) -> list[list[str]]:
    """Return the names in each layer, from the leaves (layer 0) to the loss, in source order."""
    layer = {leaf.name: 0 for leaf in graph.leaves}
    for node in graph.nodes:
        layer[node.name] = 1 + max((layer[e.wrt] for e in node.edges), default=0)
    found: list[list[str]] = [[] for _ in range(max(layer.values(), default=0) + 1)]
    for name, k in layer.items():
        found[k].append(name)
    return found


def leaf_label(graph: Graph, leaf: Leaf, labels: Labels) -> str:
    """Return `param w1 = 0.5`; with a step, the param's value then and ∂L/∂param below."""
    n, name = labels.notation, leaf.name
    value = (
        labels.step.values[name]
        if labels.step is not None
        else numpy().array(leaf.value)
        if isinstance(leaf.value, tuple)
        else leaf.value
    )
    text = f"{leaf.kind} {name_text(name, n)} = {labels.num(value)}"
    if leaf.drawn and labels.step is None:
        text += f" ~ {leaf.drawn}"  # drawn at random (with the seed in the title)
    if labels.step is not None and leaf.kind == "param":
        # The batch's, with samples.
        grad = next(u.grad for u in labels.step.updates if u.param == name)
        text += f"\n{partial_text(graph.loss, name, n)} = {labels.num(grad)}"
    return text


def node_label(graph: Graph, node: Node, labels: Labels) -> str:
    """Return `h = x*w1 + b1`, and with a step its value and ∂L/∂h on the lines below."""
    n, name = labels.notation, node.name
    text = f"{'loss ' if name == graph.loss else ''}{name_text(name, n)} = {show(node.expr, n)}"
    if labels.step is not None:
        text += f"\nvalue {labels.num(labels.step.values[name])}"
        text += f"\n{partial_text(graph.loss, name, n)} = {labels.num(labels.step.grads[name])}"
    return text


def edge_label(edge: Edge, labels: Labels, direct: bool = False) -> str:
    """Return `∂h/∂x = w1`, and with a step `= 0.5` after it.

    `direct` marks an edge from the loss to a name the loss also reaches another way: its local
    partial ∂L/∂a is then only part of the gradient ∂L/∂a the name's own label shows.
    """
    n = labels.notation
    marked = " (direct)" if direct else ""
    text = f"{partial_text(edge.of, edge.wrt, n)}{marked} = {show(edge.formula, n)}"
    if labels.step is not None and not isinstance(edge.formula, Num):  # not "∂h/∂b = 1 = 1"
        with numpy().errstate(all="ignore"):  # ∂L/∂k of a const may be nan, shown as such
            text += f" = {labels.num(run(edge.program, labels.step.values))}"
    return text


def dot(graph: Graph, labels: Labels, title: str) -> str:
    """Return the graph as Graphviz DOT: leaves as boxes on one rank, the loss doubly outlined."""
    lines = [
        f"digraph {_quote(title)} {{",
        "  rankdir=LR;",
        '  node [fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    leaves, nodes = _by_name(graph)
    for k, names in enumerate(layers(graph)):
        lines.append(f"  // layer {k}")
        for name in names:
            if name in leaves:
                style = (
                    ', style=filled, fillcolor="#fff2cc"' if leaves[name].kind == "param" else ""
                )
                label = _quote(leaf_label(graph, leaves[name], labels))
                lines.append(f"  {_quote(name)} [shape=box{style}, label={label}];")
            else:
                shape = "doubleoctagon" if name == graph.loss else "ellipse"
                label = _quote(node_label(graph, nodes[name], labels))
                lines.append(f"  {_quote(name)} [shape={shape}, label={label}];")
        if k == 0 and names:
            lines.append("  { rank=same; " + " ".join(_quote(name) + ";" for name in names) + " }")
    direct = direct_edges(graph)
    for node in graph.nodes:
        for edge in node.edges:
            label = edge_label(edge, labels, (edge.of, edge.wrt) in direct)
            lines.append(f"  {_quote(edge.wrt)} -> {_quote(edge.of)} [label={_quote(label)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _by_name(graph: Graph) -> tuple[dict[str, Leaf], dict[str, Node]]:
    return {leaf.name: leaf for leaf in graph.leaves}, {node.name: node for node in graph.nodes}


def _quote(text: str) -> str:
    """Return a DOT string: quoted, \\ and " escaped, line breaks as \\n, other controls visible."""
    lines = (escaped(part).replace("\\", "\\\\").replace('"', '\\"') for part in text.split("\n"))
    return '"' + "\\n".join(lines) + '"'


def mermaid(graph: Graph, labels: Labels) -> str:
    """Return the graph as a Mermaid flowchart (left to right), for Markdown pages and slides."""
    ids = {
        name: f"n{i}"
        for i, name in enumerate(
            [*(leaf.name for leaf in graph.leaves), *(n.name for n in graph.nodes)]
        )
    }
    leaves, nodes = _by_name(graph)
    lines = ["flowchart LR"]
    for names in layers(graph):
        for name in names:
            if name in leaves:
                lines.append(
                    f"  {ids[name]}[{_mermaid_text(leaf_label(graph, leaves[name], labels))}]"
                )
            elif name == graph.loss:
                lines.append(
                    f"  {ids[name]}[[{_mermaid_text(node_label(graph, nodes[name], labels))}]]"
                )
            else:
                lines.append(
                    f"  {ids[name]}([{_mermaid_text(node_label(graph, nodes[name], labels))}])"
                )
    direct = direct_edges(graph)
    for node in graph.nodes:
        for edge in node.edges:
            label = edge_label(edge, labels, (edge.of, edge.wrt) in direct)
            lines.append(f"  {ids[edge.wrt]} -->|{_mermaid_text(label)}| {ids[edge.of]}")
    params = [ids[leaf.name] for leaf in graph.leaves if leaf.kind == "param"]
    if params:
        lines.append("  classDef param fill:#fff2cc")
        lines.append(f"  class {','.join(params)} param")
    return "\n".join(lines) + "\n"


_MERMAID_SPECIAL = str.maketrans(
    {"#": "#35;", "&": "#amp;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "`": "#96;"}
)


def _mermaid_text(text: str) -> str:
    """Return a quoted Mermaid label: " # & < > ` as entities (#quot;), line breaks as <br>."""
    return (
        '"'
        + "<br>".join(escaped(part).translate(_MERMAID_SPECIAL) for part in text.split("\n"))
        + '"'
    )
