"""Arrange a step's scalar records as the vectors and matrices of its layers: the matrix view.

The scalar engine computed every number; this module only says which scalar goes in which cell.
`z1 = W1 @ x + b1` expands into z1[i] = W1[i,1]*x[1] + … + b1[i], so where W1 and b1 are used
there alone, ∂L/∂W1[i,j] = δ[i]·x[j] and ∂L/∂b1[i] = δ[i], with δ = ∂L/∂z1: the chain rule in
matrix form, ∂L/∂W1 = δ·xᵀ (an outer product) and ∂L/∂b1 = δ. `outer` and `bias` say where
that holds; the numbers shown are still the records' own.

With samples (a batch of m), each vector is a matrix with one column per sample: column j holds
sample j's values, X = [x⁽¹⁾ … x⁽ᵐ⁾], and Δ = [δ⁽¹⁾ … δ⁽ᵐ⁾] its per-sample δs. The param gradient
is the batch's, the mean (or, `set reduction = sum`, the sum) of the per-sample gradients:
∂L/∂W1 = (1/m)·Δ·Xᵀ = (1/m)·Σⱼ δ⁽ʲ⁾·x⁽ʲ⁾ᵀ, and ∂L/∂b1 = (1/m)·Δ·1, the mean of Δ's columns.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bptrace.engine.graph import Graph
from bptrace.engine.tracer import Step, Update
from bptrace.language import patterns
from bptrace.language.syntax import Expr, Layer, Name


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
    samples: int | None = None  # with samples: the step's (the batch's), one column each
    scale: float = 1.0  # 1/m with `reduction = mean`, 1 with sum: ∂L/∂W = scale·Δ·Xᵀ
    indices: tuple[int, ...] | None = None  # with mini-batches: the samples run (from 0)


@dataclass(frozen=True, slots=True)
class Block:
    """Rows and columns of one layer to show whole in the matrix view, counted from 1, inclusive."""

    name: str
    rows: tuple[int, int]
    columns: tuple[int, int] | None  # None: a vector

    def text(self) -> str:
        rows = f"{self.rows[0]}:{self.rows[1]}"
        if self.columns is None:
            return f"{self.name}[{rows}]"
        return f"{self.name}[{rows},{self.columns[0]}:{self.columns[1]}]"


_BLOCK = re.compile(r"^\s*([^\s\[\]]+)\[\s*(\d+)\s*:\s*(\d+)\s*(?:,\s*(\d+)\s*:\s*(\d+)\s*)?\]\s*$")


def block_of(spec: str, layers: tuple[Layer, ...]) -> Block:
    """Return the block `spec` names, W1[1:4,1:8] or z1[2:5]; ValueError says what is wrong."""
    found = _BLOCK.match(spec)
    if found is None:
        raise ValueError("write a layer's rows and columns, from 1: W1[1:4,1:8], or z1[2:5]")
    name, r1, r2, c1, c2 = found.groups()
    layer = next((la for la in layers if la.name == name), None)
    if layer is None:
        names = ", ".join(la.name for la in layers) or "none"
        raise ValueError(f"'{name}' is not a layer; the layers are {names}")
    wanted = [(int(r1), int(r2))] + ([(int(c1), int(c2))] if c1 is not None else [])
    if len(wanted) != len(layer.shape):
        what = (
            "a vector: give one range" if len(layer.shape) == 1 else "a matrix: give rows,columns"
        )
        raise ValueError(
            f"'{name}' is {what}, as in {name}[1:2]"
            if len(layer.shape) == 1
            else f"'{name}' is {what}, as in {name}[1:2,1:2]"
        )
    for (a, b), n, what in zip(wanted, layer.shape, ("rows", "columns"), strict=False):
        if not 1 <= a <= b <= n:
            raise ValueError(f"{what} {a}:{b} of '{name}': it has {n}, counted from 1")
    return Block(name, wanted[0], wanted[1] if len(wanted) > 1 else None)


@dataclass(frozen=True, slots=True)
class Summary:
    """A big vector or matrix in a few numbers: its shape, Frobenius norm, least and greatest."""

    rows: int
    columns: int
    norm: float  # √(Σ cell²)
    low: float
    high: float


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


def per_sample(layer: Layer, numbers: Mapping[str, Any], m: int) -> Grid:
    """Return a vector over m samples as a matrix: row i its element i, column j sample j's
    number (a number the samples do not change stands in every column)."""
    if len(layer.shape) != 1:
        raise ValueError(f"{layer.name} is a matrix: one per sample is no grid")
    names = tuple((name,) * m for (name,) in elements(layer))
    return Grid(names, tuple(tuple(_columns(numbers[row[0]], m)) for row in names))


def _columns(value: Any, m: int) -> list[float]:
    if getattr(value, "shape", None) == (m,):
        return [float(v) for v in value]
    return [float(value)] * m


def varies(layer: Layer, numbers: Mapping[str, Any]) -> bool:
    """Tell whether a layer holds one number per sample (an input or a node), not one in all."""
    return any(getattr(numbers[n], "shape", ()) != () for row in elements(layer) for n in row)


def batchable(graph: Graph) -> Layer | None:
    """Return the first matrix layer whose values change with the samples (one matrix per sample:
    no grid shows it), or None."""
    for layer in graph.layers:
        if len(layer.shape) == 2 and layer.kind not in ("param", "const"):
            return layer
    return None


def summary(g: Grid) -> Summary:
    """Return a grid's shape, Frobenius norm √(Σ cell²), least and greatest cell."""
    flat = [float(v) for row in g.values for v in row]
    norm = math.sqrt(math.fsum(v * v for v in flat))
    return Summary(len(g.values), len(g.values[0]), norm, min(flat), max(flat))


def arrange(graph: Graph, step: Step) -> MatrixStep:
    """Return the step's records arranged by the graph's layers; with samples, each vector node
    and each input or target a matrix with one column per sample."""
    m = step.samples
    scale = 1.0 if m is None or graph.settings["reduction"] == "sum" else 1 / m

    def vectors(layer: Layer, numbers: Mapping[str, Any]) -> Grid:
        if m is None or layer.kind == "param" or not varies(layer, numbers):
            return grid(layer, numbers)
        return per_sample(layer, numbers, m)

    by_name = {layer.name: layer for layer in graph.layers}
    updates = {u.param: u for u in step.updates}
    users = _users(graph)
    found: dict[str, tuple[Outer | None, str | None]] = {}
    for layer in graph.layers:
        if layer.kind == "node":
            for param, outer in _read_from_delta(layer, by_name, users):
                found.setdefault(param, (outer, None if outer else layer.name))
    params = {
        layer.name: _param(
            layer, step, updates, *found.get(layer.name, (None, None)), by_name, vectors, scale
        )
        for layer in graph.layers
        if layer.kind == "param"
    }
    nodes = []
    for layer in graph.layers:
        if layer.kind == "node":
            own = tuple(
                p for p in params.values() if layer.name in (p.bias, p.outer and p.outer.node)
            )
            value, delta = vectors(layer, step.values), _deltas(layer, step, vectors)
            nodes.append(NodeView(layer, value, delta, own))
    shown = {p.layer.name for n in nodes for p in n.params}
    return MatrixStep(
        step.step,
        step.lr,
        tuple(
            (layer, vectors(layer, step.values))
            for layer in graph.layers
            if layer.kind not in ("param", "node")
        ),
        tuple(nodes),
        tuple(p for name, p in params.items() if name not in shown),
        m,
        scale,
        step.indices,
    )


def _deltas(layer: Layer, step: Step, vectors) -> Grid:
    """Return a node's δ; with samples, every sample's (a node the samples do not change has the
    same value in each, but a δ of its own in each: δ goes back from each sample's loss)."""
    if step.samples is None:
        return grid(layer, step.grads)
    return (
        per_sample(layer, step.grads, step.samples)
        if len(layer.shape) == 1
        else vectors(layer, step.grads)
    )


def _param(
    layer: Layer,
    step: Step,
    updates: Mapping[str, Update],
    outer: Outer | None,
    bias: str | None,
    layers: Mapping[str, Layer],
    vectors=grid,
    scale: float = 1.0,
) -> ParamView:
    names = [n for row in elements(layer) for n in row]
    before = {n: updates[n].before for n in names}
    grads = {n: updates[n].grad for n in names}
    after = {n: updates[n].after for n in names}
    grad = grid(layer, grads)
    vector = vectors(layers[outer.vector], step.values) if outer else None
    # The form is read from the formulas; the numbers must bear it out, or it is not claimed.
    if outer is not None:
        delta = _deltas(layers[outer.node], step, vectors)
        if vector is not None and len(vector.values[0]) != len(delta.values[0]):
            vector = per_sample(layers[outer.vector], step.values, step.samples)  # a const x
        size = _magnitude(delta, vector, scale)
        if not _agree(grad.values, outer_product(delta, vector, scale), size):
            outer = vector = None
    if bias is not None:
        delta = _deltas(layers[bias], step, vectors)
        ones = Grid((), (tuple(1.0 for _ in delta.values[0]),))  # Δ·1: the sum of Δ's columns
        shown = outer_product(delta, ones, scale)
        if not _agree(grad.values, shown, _magnitude(delta, ones, scale)):
            bias = None
    return ParamView(layer, grad, grid(layer, before), grid(layer, after), outer, vector, bias)


def _agree(a, b, size) -> bool:
    """Tell whether two grids of numbers agree to rounding (a sum's order of operations), `size`
    the sum of its terms' magnitudes, cell by cell."""
    return all(
        abs(x - y) <= 1e-9 * max(s, abs(x), abs(y)) + 1e-300
        for ra, rb, rs in zip(a, b, size, strict=True)
        for x, y, s in zip(ra, rb, rs, strict=True)
    )


def _magnitude(delta: Grid, vector: Grid, scale: float) -> tuple[tuple[float, ...], ...]:
    """Return scale·|Δ|·|V|ᵀ: how large the terms of each cell of scale·Δ·Vᵀ are."""
    return outer_product(
        Grid((), tuple(tuple(abs(d) for d in r) for r in delta.values)),
        Grid((), tuple(tuple(abs(v) for v in r) for r in vector.values)),
        abs(scale),
    )


def _users(graph: Graph) -> dict[str, tuple[str, ...]]:
    """Return, for each name, the nodes whose formula uses it."""
    found: dict[str, list[str]] = {}
    for node in graph.nodes:
        for edge in node.edges:
            found.setdefault(edge.wrt, []).append(node.name)
    return {name: tuple(nodes) for name, nodes in found.items()}


def _read_from_delta(node: Layer, layers: Mapping[str, Layer], users: Mapping[str, tuple]):
    """Yield (param, Outer) for each term `W @ v` and (param, None) for each term `b` of the
    node's formula whose param is used in that term and nowhere else: its gradient is δ·vᵀ, or δ.
    """
    parts = patterns.terms(node.expr)
    for k, term in enumerate(parts):
        others = parts[:k] + parts[k + 1 :]
        if (p := patterns.product(term)) is not None:
            if p.weights not in layers:
                continue
            matrix, vector = layers[p.weights], layers.get(p.operand)
            if (
                matrix.kind == "param"
                and len(matrix.shape) == 2
                and vector is not None
                and vector.shape == matrix.shape[1:]
                and node.shape == matrix.shape[:1]
                and p.weights != p.operand
                and _only_in(matrix, node, users)
                and not any(mentions(t, p.weights) for t in others)
            ):
                yield p.weights, Outer(node.name, p.operand)
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
    return name in patterns.names(e)


def named_in(node: Layer, layers: tuple[Layer, ...]) -> tuple[Layer, ...]:
    """Return the node and each layer its formula names, in reading order."""
    by_name = {la.name: la for la in layers}
    found = {node.name: node}
    for name in patterns.names(node.expr):
        if name in by_name:
            found.setdefault(name, by_name[name])
    return tuple(found.values())


def outer_product(delta: Grid, vector: Grid, scale: float = 1.0) -> tuple[tuple[Any, ...], ...]:
    """Return scale·Δ·Vᵀ: the cell (i, k) is scale·Σⱼ Δ[i,j]·V[k,j], one column j per sample;
    with one sample, δ·vᵀ, the cell (i, k) δ[i]·v[k]."""
    if len(delta.values[0]) == 1 and scale == 1.0:
        return tuple(tuple(d * v for (v,) in vector.values) for (d,) in delta.values)
    return tuple(
        tuple(scale * math.fsum(d * v for d, v in zip(dr, vr, strict=True)) for vr in vector.values)
        for dr in delta.values
    )


def cells(g: Grid):
    """Yield each (name, value) of a grid, row by row."""
    for names, values in zip(g.names, g.values, strict=True):
        yield from zip(names, values, strict=True)
