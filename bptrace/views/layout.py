"""Place a computational graph's boxes in columns, from inputs and params on the left to the loss.

A node's column is drawing.layers' layer; a leaf sits one column before its first user, so a param
used only near the loss stands next to it. Within a column, boxes are ordered by the mean row of
their neighbours (a few sweeps each way), which keeps edges from crossing where it can. Pure: the
sizes come in, the positions go out; the page (page.py) draws them as SVG.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bptrace.engine.graph import Graph
from bptrace.views.drawing import layers

COLUMN_GAP = 56.0  # between columns, room for the edges and their labels
ROW_GAP = 10.0  # between boxes in a column
MARGIN = 8.0
SWEEPS = 4  # of the ordering, each way


@dataclass(frozen=True, slots=True)
class Box:
    """Where a name's box goes: its top-left corner, its size, and its column."""

    x: float
    y: float
    width: float
    height: float
    column: int

    @property
    def left(self) -> tuple[float, float]:
        return self.x, self.y + self.height / 2

    @property
    def right(self) -> tuple[float, float]:
        return self.x + self.width, self.y + self.height / 2


@dataclass(frozen=True, slots=True)
class Placement:
    """Every name's box, and the size of the whole drawing."""

    boxes: dict[str, Box]
    width: float
    height: float


def columns(graph: Graph) -> list[list[str]]:
    """Return the names in each column, in source order: nodes by layer, leaves before their use."""
    layered = layers(graph)
    layer = {name: k for k, names in enumerate(layered) for name in names}
    users: dict[str, list[int]] = {}
    for node in graph.nodes:
        for edge in node.edges:
            users.setdefault(edge.wrt, []).append(layer[node.name])
    column = {name: k for name, k in layer.items()}
    for leaf in graph.leaves:
        column[leaf.name] = max(min(users.get(leaf.name, [1])) - 1, 0)
    found: list[list[str]] = [[] for _ in range(max(column.values(), default=0) + 1)]
    for name in column:  # leaves first, then nodes, each in source order
        found[column[name]].append(name)
    return found


def ordered(graph: Graph, placed: list[list[str]]) -> list[list[str]]:
    """Return each column's names ordered by the mean row of their neighbours (barycentres)."""
    neighbours: dict[str, list[str]] = {}
    for node in graph.nodes:
        for edge in node.edges:
            neighbours.setdefault(node.name, []).append(edge.wrt)
            neighbours.setdefault(edge.wrt, []).append(node.name)
    order = [list(names) for names in placed]
    for sweep in range(2 * SWEEPS):
        row = {name: i / max(len(names), 1) for names in order for i, name in enumerate(names)}
        forward = sweep % 2 == 0
        ks = range(1, len(order)) if forward else range(len(order) - 2, -1, -1)
        for k in ks:
            # the neighbours already placed this sweep: in the columns before (or after) this one
            side = {n for names in (order[:k] if forward else order[k + 1 :]) for n in names}
            centres = {name: _centre(name, neighbours, side, row) for name in order[k]}
            order[k] = sorted(order[k], key=centres.__getitem__)  # stable: ties keep their order
            row.update((name, i / len(order[k])) for i, name in enumerate(order[k]))
    return order


def _centre(name: str, neighbours: dict, side: set, row: dict) -> float:
    """Return the mean row of `name`'s neighbours among `side`; its own row if it has none."""
    near = [row[n] for n in neighbours.get(name, []) if n in side]
    return sum(near) / len(near) if near else row[name]


def place(graph: Graph, sizes: Mapping[str, tuple[float, float]]) -> Placement:
    """Return each name's box, given each box's (width, height): columns left to right, each
    column's boxes stacked and centred on the tallest column."""
    order = ordered(graph, columns(graph))
    heights = [
        sum(sizes[name][1] for name in names) + ROW_GAP * max(len(names) - 1, 0) for names in order
    ]
    tallest = max(heights, default=0.0)
    boxes: dict[str, Box] = {}
    x = MARGIN
    for k, names in enumerate(order):
        width = max((sizes[name][0] for name in names), default=0.0)
        y = MARGIN + (tallest - heights[k]) / 2
        for name in names:
            w, h = sizes[name]
            boxes[name] = Box(x + (width - w) / 2, y, w, h, k)
            y += h + ROW_GAP
        x += width + COLUMN_GAP
    return Placement(boxes, x - COLUMN_GAP + MARGIN, tallest + 2 * MARGIN)
