"""Render a network's computational graph in the terminal, layer by layer, with rich."""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.text import Text
from rich.tree import Tree

from bptrace.engine.chains import direct_edges
from bptrace.engine.graph import Graph
from bptrace.language.printer import name_text
from bptrace.views import tables
from bptrace.views.drawing import Labels, edge_label, layers, leaf_label, node_label
from bptrace.views.terminal.steps import Heading, View


def render_graph(graph: Graph, labels: Labels, view: View, title: str) -> RenderableType:
    """Return the graph as a tree per layer: leaves first, then each node with the edges into it."""
    n = labels.notation
    leaves = {leaf.name: leaf for leaf in graph.leaves}
    nodes = {node.name: node for node in graph.nodes}
    layered = layers(graph)
    kinds = [k for k in tables.LEAF_TITLES if any(leaf.kind == k for leaf in graph.leaves)]
    parts: list[RenderableType] = [Heading(title), Text("")]
    direct = direct_edges(graph)
    if layered and layered[0]:
        tree = Tree(
            Text(f"layer 0: {', '.join(k + 's' for k in kinds)}", style="bold"), guide_style="dim"
        )
        for name in view.pick(layered[0]):
            if name is None:
                _gap(tree, layered[0], view)
                continue
            tree.add(
                _one_line(leaf_label(graph, leaves[name], labels)),
                style="yellow" if leaves[name].kind == "param" else "",
            )
        parts.append(tree)
    for k, names in enumerate(layered[1:], start=1):
        tree = Tree(Text(f"layer {k}", style="bold"), guide_style="dim")
        for name in view.pick(names):
            if name is None:
                _gap(tree, names, view)
                continue
            node = nodes[name]
            branch = tree.add(
                _one_line(node_label(graph, node, labels)),
                style="bold yellow" if name == graph.loss else "",
            )
            width = max((cell_len(name_text(e.wrt, n)) for e in node.edges), default=0)
            for edge in node.edges:
                source = name_text(edge.wrt, n)
                label = edge_label(edge, labels, (edge.of, edge.wrt) in direct)
                pad = " " * (width - cell_len(source))
                branch.add(f"{n.arrow} {source}{pad}   {label}")
        parts.append(tree)
    return Group(*parts, Text(""))


def _gap(tree: Tree, names: list[str], view: View) -> None:
    tree.add(
        Text(
            f"{view.notation.dots} {len(names) - (view.max_rows or 0):,} more (--all shows them)",
            style="dim",
        )
    )


def _one_line(label: str) -> Text:
    return Text(label.replace("\n", "   "))
