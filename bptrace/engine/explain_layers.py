"""Answer the handout's questions for a network written with layers: counts per layer, and each
layer's chain in matrix form (δ₂ = ∂L/∂z₂, ∂L/∂W₂ = δ₂ h₁ᵀ, δ₁ = (W₂ᵀ δ₂) ⊙ σ′(z₁), …).

The counts group the scalar answers (explain.py) by the layer each name belongs to, so they add up
to them. The matrix form is read from the layers' formulas as written; a formula that is not of a
recognised pattern (`z = W @ v + b`, `z = W @ v`, `h = f(z)` elementwise: language/patterns.py)
is said to be one.
"""

from __future__ import annotations

from dataclasses import dataclass

from bptrace.engine.explain import Explanation
from bptrace.engine.graph import Graph
from bptrace.language import patterns
from bptrace.language.patterns import Affine, Elementwise
from bptrace.language.syntax import Layer


def layer_of(name: str) -> str:
    """Return the layer an element belongs to (W1[2,1] is W1's), or a scalar's own name."""
    return name.partition("[")[0]


@dataclass(frozen=True, slots=True)
class ParamLayer:
    """A layer of params (or one scalar param): its gradient entries and their chains' lengths."""

    name: str
    shape: tuple[int, ...]  # () for a scalar param
    entries: int
    shortest: int  # factors on the shortest path to any of its elements (0: none reached)
    longest: int


@dataclass(frozen=True, slots=True)
class PartialGroup:
    """The local partials ∂of[i]/∂wrt[j] between two layers (or scalars): how many."""

    of: str
    wrt: str
    count: int


# -- the matrix form: a few records, written out by each view ------------------------------------


@dataclass(frozen=True, slots=True)
class Ref:
    """A layer by its name, or its transpose: W₂ᵀ, h₁ᵀ."""

    name: str
    transposed: bool = False


@dataclass(frozen=True, slots=True)
class Delta:
    """δ of a layer z = W @ v + b: ∂L/∂z. `mark` is its subscript: z2's 2, or the name itself."""

    name: str
    mark: str


@dataclass(frozen=True, slots=True)
class Grad:
    """∂L/∂name for a whole layer."""

    name: str


@dataclass(frozen=True, slots=True)
class Derivative:
    """f′(z): the elementwise function's derivative at each element of z."""

    fn: str
    name: str


@dataclass(frozen=True, slots=True)
class Product:
    """A matrix product, written side by side: W₂ᵀ δ₂."""

    factors: tuple[MatrixExpr, ...]


@dataclass(frozen=True, slots=True)
class Hadamard:
    """An elementwise product: a ⊙ b."""

    left: MatrixExpr
    right: MatrixExpr


@dataclass(frozen=True, slots=True)
class Total:
    """A sum of terms, one per layer that uses a name."""

    terms: tuple[MatrixExpr, ...]


MatrixExpr = Ref | Delta | Grad | Derivative | Product | Hadamard | Total


@dataclass(frozen=True, slots=True)
class MatrixLine:
    """One line of the matrix form: left = right; or a layer whose formula is not recognised.

    `unrecognised` names the layer whose formula stopped the derivation (right is then None, or
    ∂L/∂z element by element for a δ).
    """

    left: Delta | Grad
    right: MatrixExpr | None
    unrecognised: Layer | None = None


@dataclass(frozen=True, slots=True)
class LayerAnswers:
    """The layer view of the five answers."""

    params: tuple[ParamLayer, ...]  # question 1, by layer; their entries add up to the params
    partials: tuple[PartialGroup, ...]  # question 2, by layer; they add up to the partials
    lines: tuple[MatrixLine, ...]  # questions 3–4 in matrix form, back from the loss


class _Unrecognised(Exception):
    def __init__(self, layer: Layer) -> None:
        self.layer = layer


def explain_layers(graph: Graph, answers: Explanation) -> LayerAnswers:
    """Return the answers of `explain` grouped by layer, and the matrix form of each chain."""
    chains = {c.param: c for c in answers.chains}
    grouped: dict[str, list[str]] = {}
    for p in graph.params:
        grouped.setdefault(layer_of(p), []).append(p)
    shapes = {layer.name: layer.shape for layer in graph.layers}
    params = []
    for name, elements in grouped.items():
        reached = [chains[p] for p in elements if chains[p].total]
        params.append(
            ParamLayer(
                name,
                shapes.get(name, ()),
                len(elements),
                min((c.shortest for c in reached), default=0),
                max((c.longest for c in reached), default=0),
            )
        )
    counts: dict[tuple[str, str], int] = {}
    for edge in answers.partials:
        key = (layer_of(edge.of), layer_of(edge.wrt))
        counts[key] = counts.get(key, 0) + 1
    partials = tuple(PartialGroup(of, wrt, n) for (of, wrt), n in counts.items())
    return LayerAnswers(tuple(params), partials, _MatrixForm(graph).lines())


class _MatrixForm:
    """Derive ∂L/∂layer for each layer, back from the loss, from the layers' formulas."""

    def __init__(self, graph: Graph) -> None:
        self.layers = {layer.name: layer for layer in graph.layers}
        self.nodes = [layer for layer in graph.layers if layer.kind == "node"]
        self.patterns = {layer.name: self.pattern(layer) for layer in self.nodes}
        self.users: dict[str, list[str]] = {}  # each layer's users that are layers
        for layer in self.nodes:
            for used in dict.fromkeys(patterns.names(layer.expr)):
                self.users.setdefault(used, []).append(layer.name)
        # names used by scalar statements (the loss, say), which the matrix form starts from
        self.scalar_users = {
            layer_of(e.wrt) for node in graph.nodes if "[" not in node.name for e in node.edges
        }
        affine = [n for n, p in self.patterns.items() if isinstance(p, Affine)]
        marks = [n[len(n.rstrip("0123456789")) :] for n in affine]
        unique = all(marks) and len(set(marks)) == len(marks)
        self.deltas = {n: Delta(n, m if unique else n) for n, m in zip(affine, marks, strict=True)}
        # the layers on a path to a param
        self.leads = {layer_of(n) for n in graph.leads_to_params()}

    def pattern(self, layer: Layer) -> Affine | Elementwise | None:
        """Return what `layer`'s formula is: W @ v + b, W @ v, f(z); None when none of these."""
        p = patterns.pattern(layer.expr)
        if (
            isinstance(p, Affine)
            and self.matrix(p.weights)
            and self.vector(p.operand)
            and (p.bias is None or self.vector(p.bias))
        ):
            return p
        if isinstance(p, Elementwise) and self.vector(p.operand):
            return p
        return None

    def matrix(self, name: str) -> bool:
        return len(self.layers.get(name, _NONE).shape) == 2

    def vector(self, name: str) -> bool:
        return len(self.layers.get(name, _NONE).shape) == 1

    def lines(self) -> tuple[MatrixLine, ...]:
        out: list[MatrixLine] = []
        explained: set[str] = set()
        for layer in reversed(self.nodes):
            if layer.name not in self.leads:
                continue  # no param below it
            p = self.patterns[layer.name]
            if p is None:
                out.append(MatrixLine(Grad(layer.name), None, layer))
                continue
            if not isinstance(p, Affine):
                continue  # h = f(z): folded into the δ of z
            delta = self.deltas[layer.name]
            try:
                out.append(MatrixLine(delta, self.derived(layer.name)))
            except _Unrecognised as stop:
                out.append(MatrixLine(delta, Grad(layer.name), stop.layer))
            for name, right in (
                (p.weights, Product((delta, Ref(p.operand, True)))),
                (p.bias, delta),
            ):
                if name is not None and self.layers[name].kind == "param":
                    if self.users.get(name) == [layer.name] and name not in self.scalar_users:
                        out.append(MatrixLine(Grad(name), right))
                        explained.add(name)
        for layer in self.layers.values():
            if layer.kind == "param" and layer.name not in explained and layer.name in self.leads:
                users = self.users.get(layer.name, [])
                stop = self.layers[users[0]] if users else layer
                out.append(MatrixLine(Grad(layer.name), None, stop))
        return tuple(out)

    def derived(self, name: str) -> MatrixExpr:
        """Return ∂L/∂name from the gradients of the layers that use it."""
        users = self.users.get(name, [])
        if not users:
            return Grad(name)  # used by the loss's scalar formula: element by element
        if name in self.scalar_users:
            raise _Unrecognised(self.layers[name])
        terms = []
        for user in users:
            p = self.patterns[user]
            if isinstance(p, Affine) and p.operand == name and name not in (p.weights, p.bias):
                terms.append(Product((Ref(p.weights, True), self.deltas[user])))
            elif isinstance(p, Elementwise):
                terms.append(Hadamard(self.gradient(user), Derivative(p.fn, name)))
            else:
                raise _Unrecognised(self.layers[user])
        return terms[0] if len(terms) == 1 else Total(tuple(terms))

    def gradient(self, name: str) -> MatrixExpr:
        """Return ∂L/∂name: its δ, or derived from its users."""
        return self.deltas[name] if name in self.deltas else self.derived(name)


_NONE = Layer("", "", (), None, None)  # type: ignore[arg-type]
