"""The common mistakes students make in backpropagation, each a documented transformation.

A mistake is made at one stage of a training step, and the tracer makes it there
(`trace(..., mistake=MISTAKES[id])`), so that every view shows the step a student making it
would write down:

- partial: a local derivative written wrong. The graph itself is transformed (`student_graph`):
  the affected edges carry the student's formula and its compiled program, so the fast tape and
  every view (the formula column included) run unchanged.
- accumulate: the adjoints summed wrong at a fork; the tracer's name-by-name backward pass.
- reduction: the batch's gradient made wrong from the per-sample ones; the tracer's `_step`.
- update: the params moved wrong from right gradients; the tracer's `_step`.

The mistakes, in order:

1. overwrite-at-fork (accumulate). Where a name feeds several nodes, its gradient is overwritten
   instead of added to: grad[x] = adjoint·partial, not +=. Backprop visits the nodes in reverse
   source order, so the contribution that survives is the last one visited: that of the consumer
   earliest in source order. The local partials stay right; ∂L/∂name of the forks and of
   everything behind them (params' gradients too) go wrong.
2. one-at-a-time (update). The params are updated one at a time in source order, each one's
   gradient computed afresh (a forward and a backward pass) with the params before it already
   updated. The step's values, partials and the gradients of nodes are those of its first pass;
   each param's gradient and update are those of its own pass.
3. sigmoid-from-z (partial). σ′ written z·(1 − z) with z the pre-activation (σ's argument),
   instead of σ(z)·(1 − σ(z)) = a·(1 − a); and likewise tanh′ written 1 − z² instead of 1 − a².
   Made at each node a = σ(z) or a = tanh(z) (any argument z: ∂a/∂w = z·(1 − z)·∂z/∂w).
4. sigmoid-missing (partial). The σ′ (or tanh′) factor left out: ∂a/∂z taken as 1, at the same
   nodes.
5. half-dropped (partial). Differentiating ½·(y − g)², the ½ is dropped: ∂L/∂g = −2(y − g), every
   local partial of the loss node doubles (the loss's value stays right). The loss must be ½·X
   at its top, found as `set half` finds it (engine/half.py: 1/2*X, 0.5*X, X/2, 1/2*X*Y, …); the
   student's partial is ∂X/∂name.
6. half-doubled (partial). The ½ applied again after the power rule has cancelled it:
   ∂L/∂g = −½(y − g), every local partial of the loss node halves.
7. sign-flipped (update). The update adds: p ← p + α·∂L/∂p (momentum and adam are given −g).
8. mean-twice (reduction). With samples and `reduction = mean`, the batch's gradient is divided
   by the batch size twice: (1/m²)·Σᵢ ∂Lᵢ/∂p. The loss's value and the per-sample gradients stay
   right.
9. transpose-missing (partial). In a layer h = W @ v (+ b), the backward pass uses W instead of
   Wᵀ: ∂h[i]/∂v[j] taken as W[j,i] instead of W[i,j]. Only a square W lets a student make it (any
   other meets a shape error). Where v is an input, only ∂L/∂x would go wrong,
   which no table a student fills in shows: the mistake is then not applicable.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from fractions import Fraction

from bptrace.engine.algebra import ONE, mul, num, power, rename, simplify, sub
from bptrace.engine.evaluate import compile_expr
from bptrace.engine.graph import Edge, Graph, Node
from bptrace.engine.half import without_half
from bptrace.engine.ops import derivative
from bptrace.language.syntax import Binary, Call, Expr, Name, walk

STAGES = ("partial", "accumulate", "update", "reduction")


@dataclass(frozen=True, slots=True)
class Mistake:
    """One common mistake: what the student writes, what is right, and the stage it is made at."""

    id: str
    title: str  # a short phrase
    wrong: str  # the student's formula or step, as a lecturer would write it
    right: str  # the right one
    stage: str  # one of STAGES


MISTAKES: dict[str, Mistake] = {
    m.id: m
    for m in (
        Mistake(
            "overwrite-at-fork",
            "gradients overwritten at a fork",
            "∂L/∂x = ∂L/∂h·∂h/∂x for each node h using x (=, not +=): the last one visited wins",
            "∂L/∂x = Σ over the nodes h using x of ∂L/∂h·∂h/∂x (+=)",
            "accumulate",
        ),
        Mistake(
            "one-at-a-time",
            "params updated one at a time",
            "p₁ ← p₁ − α·∂L/∂p₁, then ∂L/∂p₂ computed again with the new p₁, and so on",
            "every ∂L/∂p from the same forward and backward pass, then all params updated",
            "update",
        ),
        Mistake(
            "sigmoid-from-z",
            "σ′ (or tanh′) computed from z, not from a = σ(z)",
            "∂a/∂z = z·(1 − z) (tanh: 1 − z²)",
            "∂a/∂z = σ(z)·(1 − σ(z)) = a·(1 − a) (tanh: 1 − a²)",
            "partial",
        ),
        Mistake(
            "sigmoid-missing",
            "σ′ (or tanh′) left out",
            "∂a/∂z = 1",
            "∂a/∂z = a·(1 − a) (tanh: 1 − a²)",
            "partial",
        ),
        Mistake(
            "half-dropped",
            "the ½ of the loss dropped in its derivative",
            "L = ½(y − g)², ∂L/∂g = −2(y − g)",
            "∂L/∂g = ½·2(y − g)·(−1) = −(y − g)",
            "partial",
        ),
        Mistake(
            "half-doubled",
            "the ½ of the loss applied twice",
            "L = ½(y − g)², ∂L/∂g = ½·(−(y − g))",
            "∂L/∂g = ½·2(y − g)·(−1) = −(y − g)",
            "partial",
        ),
        Mistake(
            "sign-flipped",
            "the update's sign flipped",
            "p ← p + α·∂L/∂p",
            "p ← p − α·∂L/∂p",
            "update",
        ),
        Mistake(
            "mean-twice",
            "the mean over samples taken twice",
            "∂L/∂p = (1/m²)·Σᵢ ∂Lᵢ/∂p",
            "∂L/∂p = (1/m)·Σᵢ ∂Lᵢ/∂p",
            "reduction",
        ),
        Mistake(
            "transpose-missing",
            "a transpose missing in W @ v",
            "∂L/∂v = W·∂L/∂h (∂h[i]/∂v[j] taken as W[j,i])",
            "∂L/∂v = Wᵀ·∂L/∂h (∂h[i]/∂v[j] = W[i,j])",
            "partial",
        ),
    )
}

# the activations whose derivative a student writes from the wrong value, or forgets
_ACTIVATIONS = ("sigmoid", "tanh")


def not_applicable(graph: Graph, mistake: Mistake) -> str | None:
    """Return why `mistake` cannot be made on `graph`, in a few words; None when it can."""
    used, needed = graph.used_by_loss(), graph.leads_to_params()
    if not graph.params:  # every mistake is in the gradients of params, or in their updates
        return "no param"
    if mistake.id == "overwrite-at-fork":
        forks = _forks(graph, used)
        if not forks:
            return "no fork: each name feeds one node"
        if not any(name in needed for name in forks):
            return "no fork on a param's path: only inputs feed several nodes"
    elif mistake.id == "one-at-a-time":
        if len(graph.params) < 2:
            return "one param only"
    elif mistake.id in ("sigmoid-from-z", "sigmoid-missing"):
        if not any(node.name in needed for node in _activations(graph, used)):
            if any(
                isinstance(e, Call) and e.fn in _ACTIVATIONS
                for n in graph.nodes
                for e in walk(n.expr)
            ):
                return "no node a = σ(z) or tanh(z) on a param's path"
            return "no sigmoid in this network"
    elif mistake.id in ("half-dropped", "half-doubled"):
        if without_half(_loss_node(graph).expr) is None:
            return "the loss has no ½ factor"
    elif mistake.id == "mean-twice":
        if not graph.samples or graph.samples < 2:
            return "one sample: no mean to take twice"
        if graph.settings["reduction"] != "mean":
            return "reduction = sum: no mean to take"
    elif mistake.id == "transpose-missing":
        square = _square_products(graph)
        if not square:
            return "no square W @ v layer"
        # ∂L/∂v goes wrong; where v is an input, no param's gradient passes back through it
        if not any(_on_paths(graph, v, needed) for _h, _w, v, _n in square):
            return "W @ v is square only where v is an input"
    return None


def _on_paths(graph: Graph, v: str, needed: frozenset[str]) -> bool:
    """Tell whether any element of the vector (or matrix) `v` depends on a param."""
    return any(name == v or name.startswith(f"{v}[") for name in needed if name not in graph.params)


def student_graph(graph: Graph, mistake: Mistake) -> Graph:
    """Return `graph` with the local partials a student making `mistake` writes.

    A mistake made at another stage than "partial" leaves the graph as it is.
    """
    if mistake.stage != "partial":
        return graph
    used = graph.used_by_loss()
    formulas: dict[tuple[str, str], Expr] = {}
    if mistake.id in ("sigmoid-from-z", "sigmoid-missing"):
        for node in _activations(graph, used):
            (z,) = node.expr.args
            for edge in node.edges:
                inner = derivative(simplify(z), edge.wrt, None, graph.settings)
                if mistake.id == "sigmoid-missing":
                    formulas[(edge.of, edge.wrt)] = inner
                    continue
                fn = node.expr.fn
                slope = mul(z, sub(ONE, z)) if fn == "sigmoid" else sub(ONE, power(z, num(2)))
                formulas[(edge.of, edge.wrt)] = mul(slope, inner)
    elif mistake.id in ("half-dropped", "half-doubled"):
        loss = _loss_node(graph)
        x = without_half(loss.expr)
        for edge in loss.edges if x is not None else ():
            if mistake.id == "half-dropped":
                formulas[(edge.of, edge.wrt)] = derivative(
                    simplify(x), edge.wrt, None, graph.settings
                )
            else:
                formulas[(edge.of, edge.wrt)] = mul(num(Fraction(1, 2)), edge.formula)
    elif mistake.id == "transpose-missing":
        formulas = _transposed(graph)
    return _with_formulas(graph, formulas)


def _with_formulas(graph: Graph, formulas: dict[tuple[str, str], Expr]) -> Graph:
    """Return `graph` with the edges in `formulas` given those formulas (and their programs)."""
    if not formulas:
        return graph
    nodes = []
    for node in graph.nodes:
        if any((e.of, e.wrt) in formulas for e in node.edges):
            edges = tuple(
                _edge(e, formulas[(e.of, e.wrt)]) if (e.of, e.wrt) in formulas else e
                for e in node.edges
            )
            node = replace(node, edges=edges)
        nodes.append(node)
    return replace(graph, nodes=tuple(nodes))


def _edge(edge: Edge, formula: Expr) -> Edge:
    """Return `edge` computing the student's `formula` (written in the network's names)."""
    return Edge(edge.of, edge.wrt, formula, {}, compile_expr(formula))


def _forks(graph: Graph, used: frozenset[str]) -> tuple[str, ...]:
    """Return the names that feed more than one node the loss uses, in source order."""
    feeds = Counter(e.wrt for node in graph.nodes if node.name in used for e in node.edges)
    order = [leaf.name for leaf in graph.leaves] + [node.name for node in graph.nodes]
    return tuple(name for name in order if feeds[name] > 1)


def _activations(graph: Graph, used: frozenset[str]) -> tuple[Node, ...]:
    """Return the nodes a = σ(z) or a = tanh(z) the loss uses, in source order."""
    return tuple(
        node
        for node in graph.nodes
        if node.name in used
        and isinstance(node.expr, Call)
        and node.expr.fn in _ACTIVATIONS
        and len(node.expr.args) == 1
    )


def _loss_node(graph: Graph) -> Node:
    return next(node for node in graph.nodes if node.name == graph.loss)


def _square_products(graph: Graph) -> tuple[tuple[str, str, str, int], ...]:
    """Return each layer h = … W @ v … with W square: (h, W, v, n) for W of n×n, in source order."""
    shapes = {layer.name: layer.shape for layer in graph.layers}
    found = []
    for layer in graph.layers:
        if layer.kind != "node" or layer.expr is None:
            continue
        for e in walk(layer.expr):
            if (
                isinstance(e, Binary)
                and e.op == "@"
                and isinstance(e.left, Name)
                and isinstance(e.right, Name)
            ):
                shape = shapes.get(e.left.id, ())
                if len(shape) == 2 and shape[0] == shape[1]:
                    found.append((layer.name, e.left.id, e.right.id, shape[0]))
    return tuple(found)


def _transposed(graph: Graph) -> dict[tuple[str, str], Expr]:
    """Return the student's ∂h[i]/∂v[j] of each square W @ v: the right one, W[j,i] for W[i,j]."""
    from bptrace.language.layers import element_name  # only a network with layers gets here

    shapes = {layer.name: layer.shape for layer in graph.layers}
    edges = {(e.of, e.wrt): e for node in graph.nodes for e in node.edges}
    formulas: dict[tuple[str, str], Expr] = {}
    for h, w, v, n in _square_products(graph):
        for index in _indices(shapes[h]):
            i, columns = index[0], index[1:]
            for j in range(1, n + 1):
                edge = edges.get((element_name(h, index), element_name(v, (j, *columns))))
                if i == j or edge is None:
                    continue
                right = formulas.get((edge.of, edge.wrt), edge.formula)
                swap = {element_name(w, (i, j)): element_name(w, (j, i))}
                formulas[(edge.of, edge.wrt)] = rename(right, swap)
    return formulas


def _indices(shape: tuple[int, ...]):
    """Yield every index of `shape`, row by row, counted from 1."""
    from itertools import product

    return product(*(range(1, n + 1) for n in shape))
