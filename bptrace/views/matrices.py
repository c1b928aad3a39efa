"""Arrange a step's scalar records as the vectors and matrices of its layers: the matrix view.

The scalar engine computed every number; this module only says which scalar goes in which cell.
`z1 = W1 @ x + b1` expands into z1[i] = W1[i,1]*x[1] + … + b1[i], so where W1 and b1 are used
there alone, ∂L/∂W1[i,j] = δ[i]·x[j] and ∂L/∂b1[i] = δ[i], with δ = ∂L/∂z1: the chain rule in
matrix form, ∂L/∂W1 = δ·xᵀ (an outer product) and ∂L/∂b1 = δ. `outer` and `bias` say where
that holds; the numbers shown are still the records' own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bptrace.engine.graph import Graph
from bptrace.engine.tracer import Step, Update
from bptrace.language.syntax import Binary, Call, Expr, Index, Layer, Name, Neg, Transpose


@dataclass(frozen=True, slots=True)
class Grid:
    """A vector or matrix of numbers: each cell's scalar name and value, row by row.

    A vector is a column: one row per element, each of one cell.
    """

    names: tuple[tuple[str, ...], ...]
    values: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True, slots=True)
class Outer:
    """∂L/∂W = δ·vᵀ: the node whose δ, and the vector v, of `node = W @ v + …`."""

    node: str
    vector: str


@dataclass(frozen=True, slots=True)
class ParamView:
    """A param vector or matrix at one step: ∂L/∂W arranged, and its update."""

    layer: Layer
    grad: Grid  # ∂L/∂W, the scalar gradients arranged by index
    before: Grid
    after: Grid
    outer: Outer | None  # ∂L/∂W = δ·vᵀ, where W is used in one `W @ v` term and nowhere else
    vector: Grid | None  # with outer: v's forward values
    bias: str | None  # ∂L/∂b = δ of this node, where b is a term of it and used nowhere else


@dataclass(frozen=True, slots=True)
class NodeView:
    """A vector node at one step: its forward values, its δ = ∂L/∂node, the params it uses."""

    layer: Layer
    value: Grid
    delta: Grid
    params: tuple[ParamView, ...]  # the params whose gradient reads this node's δ (outer or bias)


@dataclass(frozen=True, slots=True)
class MatrixStep:
    """One step in the matrix view: the data, each vector node in source order, other params."""

    step: int
    lr: float
    data: tuple[tuple[Layer, Grid], ...]  # inputs, targets and consts
    nodes: tuple[NodeView, ...]
    params: tuple[ParamView, ...]  # params not read from one node's δ


def elements(layer: Layer) -> tuple[tuple[str, ...], ...]:
    """Return the scalar names of a layer, row by row: a vector as a column (see Grid)."""
    if len(layer.shape) == 1:
        return tuple((f"{layer.name}[{i}]",) for i in range(1, layer.shape[0] + 1))
    rows, columns = layer.shape
    return tuple(
        tuple(f"{layer.name}[{i},{j}]" for j in range(1, columns + 1)) for i in range(1, rows + 1)
    )


def grid(layer: Layer, numbers: Mapping[str, Any]) -> Grid:
    """Return the layer's elements with their numbers in `numbers` (values, gradients, …)."""
    names = elements(layer)
    return Grid(names, tuple(tuple(numbers[n] for n in row) for row in names))


def arrange(graph: Graph, step: Step) -> MatrixStep:
    """Return the step's records arranged by the graph's layers (a step without samples)."""
    by_name = {layer.name: layer for layer in graph.layers}
    updates = {u.param: u for u in step.updates}
    users = _users(graph)
    found: dict[str, tuple[Outer | None, str | None]] = {}
    for layer in graph.layers:
        if layer.kind == "node":
            for param, outer in _read_from_delta(layer, by_name, users):
                found.setdefault(param, (outer, None if outer else layer.name))
    params = {
        layer.name: _param(layer, step, updates, *found.get(layer.name, (None, None)), by_name)
        for layer in graph.layers
        if layer.kind == "param"
    }
    nodes = []
    for layer in graph.layers:
        if layer.kind == "node":
            own = tuple(
                p for p in params.values() if layer.name in (p.bias, p.outer and p.outer.node)
            )
            nodes.append(NodeView(layer, grid(layer, step.values), grid(layer, step.grads), own))
    shown = {p.layer.name for n in nodes for p in n.params}
    return MatrixStep(
        step.step,
        step.lr,
        tuple(
            (layer, grid(layer, step.values))
            for layer in graph.layers
            if layer.kind not in ("param", "node")
        ),
        tuple(nodes),
        tuple(p for name, p in params.items() if name not in shown),
    )


def _param(
    layer: Layer,
    step: Step,
    updates: Mapping[str, Update],
    outer: Outer | None,
    bias: str | None,
    layers: Mapping[str, Layer],
) -> ParamView:
    names = [n for row in elements(layer) for n in row]
    before = {n: updates[n].before for n in names}
    grads = {n: updates[n].grad for n in names}
    after = {n: updates[n].after for n in names}
    grad = grid(layer, grads)
    vector = grid(layers[outer.vector], step.values) if outer else None
    # The form is read from the formulas; the numbers must bear it out, or it is not claimed.
    if outer is not None:
        delta = grid(layers[outer.node], step.grads)
        if not _agree(grad.values, outer_product(delta, vector)):
            outer = vector = None
    if bias is not None and not _agree(grad.values, grid(layers[bias], step.grads).values):
        bias = None
    return ParamView(layer, grad, grid(layer, before), grid(layer, after), outer, vector, bias)


def _agree(a: tuple[tuple[Any, ...], ...], b: tuple[tuple[Any, ...], ...]) -> bool:
    """Tell whether two grids of numbers agree to rounding (a product's order of operations)."""
    return all(
        math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-300)
        for ra, rb in zip(a, b, strict=True)
        for x, y in zip(ra, rb, strict=True)
    )


def _users(graph: Graph) -> dict[str, tuple[str, ...]]:
    """Return, for each name, the nodes whose formula uses it."""
    found: dict[str, list[str]] = {}
    for node in graph.nodes:
        for edge in node.edges:
            found.setdefault(edge.wrt, []).append(node.name)
    return {name: tuple(nodes) for name, nodes in found.items()}


def _terms(e: Expr) -> list[Expr]:
    """Return the terms of a sum a + b + …, the sum's own operands first to last."""
    if isinstance(e, Binary) and e.op == "+":
        return _terms(e.left) + _terms(e.right)
    return [e]


def _read_from_delta(node: Layer, layers: Mapping[str, Layer], users: Mapping[str, tuple]):
    """Yield (param, Outer) for each term `W @ v` and (param, None) for each term `b` of the
    node's formula whose param is used in that term and nowhere else: its gradient is δ·vᵀ, or δ.
    """
    terms = _terms(node.expr)
    for k, term in enumerate(terms):
        others = terms[:k] + terms[k + 1 :]
        if isinstance(term, Binary) and term.op == "@":
            w, v = term.left, term.right
            if not (isinstance(w, Name) and isinstance(v, Name)) or w.id not in layers:
                continue
            matrix, vector = layers[w.id], layers.get(v.id)
            if (
                matrix.kind == "param"
                and len(matrix.shape) == 2
                and vector is not None
                and vector.shape == matrix.shape[1:]
                and node.shape == matrix.shape[:1]
                and w.id != v.id
                and _only_in(matrix, node, users)
                and not any(mentions(t, w.id) for t in others)
            ):
                yield w.id, Outer(node.name, v.id)
        elif isinstance(term, Name) and term.id in layers:
            bias = layers[term.id]
            if (
                bias.kind == "param"
                and bias.shape == node.shape
                and _only_in(bias, node, users)
                and not any(mentions(t, term.id) for t in others)
            ):
                yield term.id, None


def _only_in(param: Layer, node: Layer, users: Mapping[str, tuple]) -> bool:
    """Tell whether every element of `param` in row i is used by node[i] and by no other node."""
    for row, names in zip(elements(node), elements(param), strict=True):
        if any(users.get(name, ()) != row for name in names):
            return False
    return True


def mentions(e: Expr, name: str) -> bool:
    """Tell whether the layer formula `e` uses the vector or matrix `name`."""
    return name in _names(e)


def named_in(node: Layer, layers: tuple[Layer, ...]) -> tuple[Layer, ...]:
    """Return the node and each layer its formula names, in reading order."""
    by_name = {la.name: la for la in layers}
    found = {node.name: node}
    for name in _names(node.expr):
        if name in by_name:
            found.setdefault(name, by_name[name])
    return tuple(found.values())


def _names(e: Expr):
    """Yield the names a layer formula uses, in reading order (h1[2] uses h1)."""
    if isinstance(e, Name):
        yield e.id
    elif isinstance(e, Index):
        yield e.name.id
    elif isinstance(e, Transpose | Neg):
        yield from _names(e.operand)
    elif isinstance(e, Binary):
        yield from _names(e.left)
        yield from _names(e.right)
    elif isinstance(e, Call):
        for a in e.args:
            yield from _names(a)


def outer_product(delta: Grid, vector: Grid) -> tuple[tuple[Any, ...], ...]:
    """Return δ·vᵀ: the cell (i, j) is δ[i]·v[j] (the two given as columns)."""
    return tuple(tuple(d * v for (v,) in vector.values) for (d,) in delta.values)


def cells(g: Grid):
    """Yield each (name, value) of a grid, row by row."""
    for names, values in zip(g.names, g.values, strict=True):
        yield from zip(names, values, strict=True)
