"""Turn parsed statements into a checked computational graph with every local partial derivative."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from fractions import Fraction

from bptrace.engine.algebra import rename, replace, simplify
from bptrace.engine.conventions import CONVENTIONS
from bptrace.engine.evaluate import LOAD, Program, compile_expr, find_fault, run
from bptrace.engine.half import squares, with_half, without_half
from bptrace.engine.lazy import numpy
from bptrace.engine.ops import FUNCTIONS, derivative
from bptrace.engine.optimizers import OPTIMIZERS, SETTING_RANGES
from bptrace.errors import NetworkError, NetworkWarning, Span
from bptrace.language.diagnostics import NAME_HINTS, SETTING_HINTS, did_you_mean
from bptrace.language.printer import show
from bptrace.language.syntax import (
    Assignment,
    Call,
    Declaration,
    Draw,
    Expr,
    Layer,
    Name,
    Num,
    Samples,
    Setting,
    Statement,
    names_in,
    walk,
)

# Every setting with its default.
SETTINGS: dict[str, float | str] = {
    "lr": 0.1,
    "reduction": "mean",
    "batch": 0,
    "optimizer": "sgd",
    "seed": 0,
}
for _optimizer in OPTIMIZERS.values():
    SETTINGS.update(_optimizer.settings)
# the conventions (engine/conventions.py): reduction is among the settings above
SETTINGS.update({c.name: c.default for c in CONVENTIONS.values() if c.name not in SETTINGS})
# settings that are words, the default first
CHOICES = {
    "optimizer": tuple(OPTIMIZERS),
    **{c.name: c.choices for c in CONVENTIONS.values() if c.choices},
}
# the conventions a node's partials or the loss's expression follow: read before any node
_DERIVED_BY = ("half", "relu_at_0", "tie")


@dataclass(frozen=True, slots=True)
class Leaf:
    """A declared value: a param (trained), an input or target (data), or a const."""

    name: str
    kind: str
    value: float | tuple[float, ...]  # a tuple: one value per sample (inputs and targets only)
    span: Span
    drawn: str = ""  # for a param drawn at random: its distribution, as written (uniform(-1, 1))


@dataclass(frozen=True, slots=True)
class Edge:
    """The local partial derivative ∂of/∂wrt, as a formula and as its compiled program.

    The formula is kept as derived on the node's shape, with the names to put back: a view writes
    the formulas of the few rows it shows, so a big network does not rename thousands up front.
    """

    of: str
    wrt: str
    shape: Expr  # the formula on the node's shape, its names numbered placeholders
    names: dict[str, str] = field(compare=False, hash=False)  # each placeholder's name
    program: Program = ()

    @property
    def formula(self) -> Expr:
        """Return ∂of/∂wrt as an expression in the network's names."""
        return rename(self.shape, self.names)


@dataclass(frozen=True, slots=True)
class Node:
    """One statement `NAME = EXPR` of the graph, with one edge per distinct name it uses."""

    name: str
    expr: Expr
    program: Program
    edges: tuple[Edge, ...]
    span: Span


@dataclass(frozen=True)
class Graph:
    """A checked network: leaves and nodes in source order, the loss, the settings."""

    leaves: tuple[Leaf, ...]
    nodes: tuple[Node, ...]
    loss: str
    settings: dict[str, float | str]
    warnings: tuple[NetworkWarning, ...]
    # how many samples the inputs and targets hold; None: no lists, one value each
    samples: int | None = None
    seed: int | None = None  # the seed params were drawn with; None when none was drawn
    # The vectors and matrices the file was written with (parse_layered), for views to group its
    # scalars by; () for a network without layers.
    layers: tuple[Layer, ...] = ()

    @property
    def params(self) -> tuple[str, ...]:
        """Return the names of the trained parameters, in source order."""
        return tuple(leaf.name for leaf in self.leaves if leaf.kind == "param")

    def used_by_loss(self) -> frozenset[str]:
        """Return the loss and every name it depends on."""
        return _used_by(self.nodes, self.loss)

    def initial_params(self) -> dict[str, float]:
        """Return each param's declared value, in source order."""
        return {leaf.name: leaf.value for leaf in self.leaves if leaf.kind == "param"}

    def leads_to_params(self) -> frozenset[str]:
        """Return the params and every node that depends on one."""
        return self.depends_on(self.params)

    def partials_using_nodes(self) -> tuple[Edge, ...]:
        """Return the edges whose local partial's formula uses a node's value (∂L/∂p = p − y uses
        p): shown filled in, a partial's value gives that node's away."""
        nodes = {node.name for node in self.nodes}
        return tuple(
            e
            for node in self.nodes
            for e in node.edges
            if any(n.id in nodes for n in names_in(e.formula))
        )

    def depends_on(self, names) -> frozenset[str]:
        """Return `names` and every node that depends on one of them."""
        found = set(names)
        for node in self.nodes:
            if any(e.wrt in found for e in node.edges):
                found.add(node.name)
        return frozenset(found)


def build_graph(
    statements: tuple[Statement, ...], seed: int | None = None, layers: tuple[Layer, ...] = ()
) -> Graph:
    """Check the statements and return their graph.

    Params written uniform(…) or normal(…) are drawn with `seed` (--seed), else the file's
    `set seed`, else 0. The graph keeps `layers` (parse_layered's) for the views.
    """
    if seed is None:
        written = [_setting(s) for s in statements if isinstance(s, Setting) and s.name == "seed"]
        seed = int(written[0]) if written else 0
    rng = _Draws(seed)
    conventions, set_by = _conventions(statements)
    defined: dict[str, Span] = {}
    leaves: list[Leaf] = []
    nodes: list[Node] = []
    settings = dict(SETTINGS)
    loss: Assignment | None = None
    last_node: Assignment | None = None
    later = {s.name: s.span for s in statements if not isinstance(s, Setting)}
    set_on: dict[str, Span] = {}
    shapes: dict[Expr, tuple] = {}  # each shape of expression, derived once
    spent = 0  # operations of the nodes' partials so far, against MAX_PARTIALS_IN_ALL
    first: Leaf | None = None  # the first leaf with samples: every other must have as many
    for s in statements:
        if isinstance(s, Setting):
            if s.name in set_on:
                raise NetworkError(
                    f"'{s.name}' is already set on line {set_on[s.name].line}",
                    s.span,
                    "set each setting once",
                )
            settings[s.name] = _setting(s)
            set_on[s.name] = s.span
            continue
        if s.name in defined:
            raise NetworkError(
                f"'{s.name}' is already defined on line {defined[s.name].line}",
                s.span,
                "each name is defined once; choose another name",
            )
        if isinstance(s, Declaration):
            leaf = _leaf(s, rng)
            if isinstance(leaf.value, tuple):
                first = first or leaf
                if len(leaf.value) != len(first.value):
                    raise NetworkError(
                        f"'{leaf.name}' has {len(leaf.value)} "
                        f"sample{'s' if len(leaf.value) > 1 else ''}, "
                        f"but '{first.name}' (line {first.span.line}) has {len(first.value)}",
                        s.value.span,
                        "every input and target holds one value per sample",
                    )
            leaves.append(leaf)
        else:
            names = names_in(s.expr)
            _check_uses(s, names, defined, later)
            if s.is_loss and loss is not None:
                raise NetworkError(
                    f"two losses: '{loss.name}' (line {loss.span.line}) and '{s.name}'",
                    s.span,
                    "mark exactly one node with `loss`",
                )
            if s.is_loss and conventions["half"] != "written":
                s = _halved(s, str(conventions["half"]), set_by["half"])
            loss = s if s.is_loss else loss
            last_node = s
            nodes.append(_node(s, names, shapes, conventions))
            spent += sum(len(edge.program) for edge in nodes[-1].edges)
            if spent > MAX_PARTIALS_IN_ALL:
                raise NetworkError(
                    "the local derivatives of the network would take more than "
                    f"{MAX_PARTIALS_IN_ALL:,} operations in all",
                    s.span,
                    "each partial of a function of a long sum holds the sum: write one layer per "
                    "node (z = W @ x + b, then h = relu(z)), or use smaller layers",
                )
        defined[s.name] = s.span
    if loss is None:
        span = last_node.span if last_node else Span(1, 1, 1, 2)
        hint = f"write `loss {last_node.name} = ...`" if last_node else "write `loss L = EXPR`"
        raise NetworkError("no loss: mark one node with `loss`", span, hint)
    samples = len(first.value) if first is not None else None
    found = (
        _warnings(leaves, nodes, loss.name)
        + _unused_settings(settings, set_on)
        + _idle_conventions(nodes, settings, set_on)
    )
    if conventions["half"] == "true" and not squares(loss.expr):
        found += (
            NetworkWarning(
                f"`set half = true` halves the loss '{loss.name}', which squares nothing: the ½ "
                "is a squared error's, ½(y − g)²",
                set_on["half"],
                "remove it: it halves every gradient of this loss",
            ),
        )
    # as --batch-size is refused there (with --data, see data.with_data)
    if samples is None and settings["batch"]:
        found += (
            NetworkWarning(
                BATCH_WITHOUT_SAMPLES,
                set_on["batch"],
                "give the inputs and targets samples, "
                "input x = [0, 1, 1, 0], or a CSV file with --data; or remove it",
            ),
        )
    drew = any(leaf.drawn for leaf in leaves)
    return Graph(
        tuple(leaves),
        tuple(nodes),
        loss.name,
        settings,
        found,
        samples,
        seed if drew else None,
        layers,
    )


BATCH_WITHOUT_SAMPLES = (
    "`set batch` picks mini-batches of samples, but the inputs and targets hold one value each"
)


def _unused_settings(settings: dict, set_on: dict[str, Span]) -> tuple[NetworkWarning, ...]:
    """Warn of an optimiser's setting given while another one trains: `set momentum` with sgd."""
    used = OPTIMIZERS[str(settings["optimizer"])].all_settings
    found = []
    for name, span in set_on.items():
        owner = next((o.name for o in OPTIMIZERS.values() if name in o.all_settings), None)
        if owner is not None and name not in used:
            found.append(
                NetworkWarning(
                    f"'{name}' is a setting of the {owner} optimizer, and this network trains with "
                    f"{settings['optimizer']}",
                    span,
                    f"add `set optimizer = {owner}`, or remove it",
                )
            )
    return tuple(found)


def _idle_conventions(
    nodes: list[Node], settings: dict, set_on: dict[str, Span]
) -> tuple[NetworkWarning, ...]:
    """Warn of a convention of functions the network never calls: `set tie = split` without max
    or min (its default, written out, changes nothing anywhere: no warning)."""
    found = []
    for name, span in set_on.items():
        fns = tuple(fn for fn, op in FUNCTIONS.items() if op.convention == name)
        if (
            fns
            and settings[name] != SETTINGS[name]
            and not any(
                isinstance(e, Call) and e.fn in fns for node in nodes for e in walk(node.expr)
            )
        ):
            found.append(
                NetworkWarning(
                    f"'{name}' changes nothing here: the network calls no {' or '.join(fns)}",
                    span,
                    "remove it",
                )
            )
    return tuple(found)


def _conventions(statements) -> tuple[dict[str, float | str], dict[str, Setting]]:
    """Return the conventions the nodes are derived under, and the settings that wrote them.

    They are read before any node, wherever the file sets them; a second `set` of one is
    reported where the statements are read in order.
    """
    found: dict[str, Fraction | float | str] = {name: SETTINGS[name] for name in _DERIVED_BY}
    written: dict[str, Setting] = {}
    for s in statements:
        if isinstance(s, Setting) and s.name in found and s.name not in written:
            found[s.name] = _setting(s)
            written[s.name] = s
            exact = simplify(s.value) if not isinstance(found[s.name], str) else None
            if isinstance(exact, Num) and isinstance(exact.value, Fraction):
                found[s.name] = exact.value  # relu_at_0 = 1/3 is written heaviside(z, 1/3)
    return found, written


def _halved(s: Assignment, half: str, setting: Setting) -> Assignment:
    """Return the loss `s` with its ½ dropped (`set half = false`) or added (`true`)."""
    if half == "true":
        return dataclasses.replace(s, expr=with_half(s.expr))
    expr = without_half(s.expr)
    if expr is None:
        raise NetworkError(
            f"`set half = false` drops the loss's ½, but the loss '{s.name}' (line "
            f"{s.span.line}) has none",
            setting.value.span,
            "write the loss as 1/2*X, 0.5*X or X/2, or remove this line",
        )
    return dataclasses.replace(s, expr=expr)


def _leaf(s: Declaration, rng: _Draws) -> Leaf:
    article = "an" if s.kind[0] in "aeiou" else "a"
    if isinstance(s.value, Draw):
        return _drawn(s, rng)
    if not isinstance(s.value, Samples):
        return Leaf(s.name, s.kind, _constant(s.value, f"{article} {s.kind}'s value"), s.span)
    if s.kind not in ("input", "target"):
        raise NetworkError(
            f"{article} {s.kind} is one number; only inputs and targets hold samples",
            s.value.span,
            f"write `{s.kind} {s.name} = VALUE`",
        )
    return Leaf(
        s.name,
        s.kind,
        tuple(_constant(item, f"a sample of {s.name}") for item in s.value.items),
        s.span,
    )


class _Draws:
    """The seeded generator of params' initial values, made at the first draw: numpy loads then."""

    def __init__(self, seed: int) -> None:
        self.seed, self.rng = seed, None

    def draw(self, dist: str, a: float, b: float) -> float:
        """Return the next draw from uniform(a, b) or normal(a, b); inf where it overflows."""
        np = numpy()

        if self.rng is None:
            self.rng = np.random.default_rng(self.seed)
        with np.errstate(all="ignore"):
            try:
                return float(self.rng.uniform(a, b) if dist == "uniform" else self.rng.normal(a, b))
            except (OverflowError, ValueError):
                return float("inf")


def _drawn(s: Declaration, rng: _Draws) -> Leaf:
    """Return a param whose initial value is drawn: uniform(low, high) or normal(mean, sd)."""
    if s.kind != "param":
        raise NetworkError(
            f"only a param starts at a random value, not {'an' if s.kind[0] in 'aeiou' else 'a'} "
            f"{s.kind}",
            s.value.span,
            "inputs, targets and consts are data: write their values",
        )
    a, b = (_constant(arg, f"an argument of {s.value.dist}") for arg in s.value.args)
    if s.value.dist == "uniform" and not a < b:
        raise NetworkError(
            f"uniform({a:g}, {b:g}) needs its low end below its high end",
            s.value.span,
            "write uniform(LOW, HIGH)",
        )
    if s.value.dist == "normal" and not b >= 0:
        raise NetworkError(
            f"normal({a:g}, {b:g}) needs a standard deviation of 0 or more",
            s.value.span,
            "write normal(MEAN, SD)",
        )
    value = rng.draw(s.value.dist, a, b)
    if not math.isfinite(value):
        raise NetworkError(
            f"{s.value.dist}({a:g}, {b:g}) spans more than a float can hold",
            s.value.span,
            "choose a narrower range",
        )
    return Leaf(
        s.name,
        s.kind,
        value,
        s.span,
        f"{s.value.dist}({show(s.value.args[0])}, {show(s.value.args[1])})",
    )


def _setting(s: Setting) -> float | str:
    if s.name not in SETTINGS:
        hint = (
            SETTING_HINTS.get(s.name.lower())
            or did_you_mean(s.name, SETTINGS)
            or f"known settings: {', '.join(SETTINGS)}"
        )
        raise NetworkError(f"unknown setting '{s.name}'", s.span, hint)
    if s.name in CHOICES:
        choices = CHOICES[s.name]
        if isinstance(s.value, Name) and s.value.id in choices:
            return s.value.id
        written = s.value.id if isinstance(s.value, Name) else None
        hint = did_you_mean(written, choices) if written else None
        raise NetworkError(
            f"'{s.name}' must be {', '.join(choices[:-1])} or {choices[-1]}",
            s.value.span,
            hint or f"write `set {s.name} = {choices[0]}`",
        )
    if isinstance(s.value, Samples):
        raise NetworkError(
            f"setting '{s.name}' is one number", s.value.span, f"write `set {s.name} = VALUE`"
        )
    value = _constant(s.value, f"setting '{s.name}'")
    if s.name == "lr" and value < 0:
        raise NetworkError(
            "lr must not be negative",
            s.value.span,
            "gradient descent subtracts lr·gradient; lr = 0 leaves params unchanged",
        )
    if s.name == "seed" and not (value == int(value) and 0 <= value < 2**63):
        raise NetworkError(
            "seed must be a whole number, 0 or more", s.value.span, _whole("seed", value, 0)
        )
    if s.name == "batch" and not (value == int(value) and 0 <= value < 2**63):
        raise NetworkError(
            "batch must be a whole number of samples (0: all of them)",
            s.value.span,
            _whole("batch", value, 1),
        )
    bounds = CONVENTIONS[s.name].bounds if s.name in CONVENTIONS else None
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        raise NetworkError(
            f"{s.name} must be from {bounds[0]:g} to {bounds[1]:g}",
            s.value.span,
            f"{CONVENTIONS[s.name].doc}; the default is {SETTINGS[s.name]:g}",
        )
    if s.name in SETTING_RANGES:
        low, high = SETTING_RANGES[s.name]
        if high is not None and not low <= value < high:
            raise NetworkError(
                f"{s.name} must be at least {low:g} and less than {high:g}",
                s.value.span,
                f"the usual value is {SETTINGS[s.name]:g}",
            )
        if high is None and not value > low:
            raise NetworkError(
                f"{s.name} must be more than {low:g}",
                s.value.span,
                f"the usual value is {SETTINGS[s.name]:g}",
            )
    return value


def _whole(name: str, value: float, least: int) -> str:
    """Return the hint for a setting that must be a whole number: the allowed value nearest."""
    if 0 <= value < 2**63:  # a fraction: its whole part
        return f"write `set {name} = {max(int(value), least)}`"
    if -(2**63) < value < 0 and value == int(value):  # a minus sign too many
        return f"write `set {name} = {int(-value)}`"
    return f"a whole number from 0 to 2^63 - 1, as in `set {name} = 3`"


def _constant(e: Expr, what: str) -> float:
    for name in names_in(e):
        raise NetworkError(
            f"{what} must be a constant, but uses the name '{name.id}'",
            name.span,
            "use numbers, operators and functions only; write a node `NAME = EXPR` to compute from "
            "other values",
        )
    value = run(compile_expr(e), {})  # on floats: an inf or a nan comes back, without a warning
    if not math.isfinite(value):
        fault = find_fault(e, {})
        detail = f" ({show(fault[0])} is {value})" if fault else ""
        raise NetworkError(f"{what} is not a finite number{detail}", e.span)
    return float(value)


def _check_uses(
    s: Assignment, names: tuple[Name, ...], defined: dict[str, Span], later: dict[str, Span]
) -> None:
    for name in names:
        if name.id in defined:
            continue
        if name.id == s.name:
            raise NetworkError(
                f"'{s.name}' is used in its own definition", name.span, "a graph has no cycles"
            )
        if name.id in later:
            raise NetworkError(
                f"'{name.id}' is used before it is defined",
                name.span,
                f"it is defined on line {later[name.id].line}; move that line above this one",
            )
        hint = (
            NAME_HINTS.get(name.id)
            or _product_hint(name.id, defined)
            or did_you_mean(name.id, list(defined))
            or "declare it with `param`, `input`, `target` or `const`"
        )
        raise NetworkError(f"unknown name '{name.id}'", name.span, hint)


def _product_hint(name: str, defined: dict[str, Span]) -> str | None:
    """Return the hint for two defined names written together, `wx` for w·x (else None)."""
    for i in range(1, len(name)):
        if name[:i] in defined and name[i:] in defined:
            return (
                f"write {name[:i]}*{name[i:]} for a product: bptrace has no implicit multiplication"
            )
    return None


def _node(
    s: Assignment, names: tuple[Name, ...], shapes: dict[Expr, tuple], conventions: dict
) -> Node:
    """Return the node of `s`, with every local partial, derived once per shape of expression.

    Big networks repeat a few shapes (tanh(a*w + b) for every unit): the derivatives are worked
    out on the shape, its names numbered in order of use, and the names put back for each node.
    """
    wrts = tuple(dict.fromkeys(n.id for n in names))
    placeholders = {name: f"\0{i}" for i, name in enumerate(wrts)}  # no .bp name contains NUL
    shape = rename(s.expr, placeholders)
    derived = shapes.get(shape)
    if derived is None:
        derived = shapes[shape] = _derive(shape, tuple(placeholders.values()), s, conventions)
    back = dict(zip(placeholders.values(), wrts))
    back[_SELF] = s.name
    edges = tuple(
        Edge(s.name, wrt, formula, back, _load(program, back))
        for wrt, (formula, program) in zip(wrts, derived[1])
    )
    return Node(s.name, s.expr, _load(derived[0], back), edges, s.span)


_SELF = "\0self"  # the node's own name inside a shape


# The operations a node's local partials may take in all, written out. Each partial of a balanced
# max (or min) of n names holds much of the expression, so all n of them take about 4n² operations:
# n = 10,000 that is gigabytes. Projected from the partials derived so far, an expression beyond it
# is refused at once.
MAX_PARTIALS = 5_000_000
# The operations of all the nodes' partials, each node's loaded apart (about 100 bytes each): a
# shape derived once is still one program per node. 20,000,000 is about 2 GB; a layer's nodes,
# h = relu(W1 @ x + b1) of 784 inputs and 16 units, would take 59,000,000.
MAX_PARTIALS_IN_ALL = 20_000_000


def _derive(
    shape: Expr, wrts: tuple[str, ...], s: Assignment, conventions: dict
) -> tuple[Program, tuple[tuple[Expr, Program], ...]]:
    """Return a shape's program and, for each name it uses, its partial's formula and program,
    under `conventions` (relu′(0), max's tie)."""
    expr = simplify(shape)
    partials = []
    uses: dict[int, frozenset[str]] = {}  # the names under each part of expr: see derivative
    size = 0
    for wrt in wrts:
        formula = derivative(expr, wrt, uses, conventions)
        if not isinstance(expr, (Name, Num)):
            # Write σ/tanh/exp derivatives in terms of the node itself: ∂a/∂z = a*(1 - a).
            formula = replace(formula, expr, Name(_SELF))
        program = compile_expr(formula)
        partials.append((formula, program))
        size += len(program)
        projected = size * len(wrts) // len(partials)
        if projected > MAX_PARTIALS:
            raise NetworkError(
                f"the local derivatives of '{s.name}' would take about {projected:,} operations in "
                "all, over "
                f"{len(wrts):,} names (at most {MAX_PARTIALS:,})",
                s.span,
                "split it into several nodes: each partial of one big max, min or logsumexp holds "
                "much of its expression",
            )
    return compile_expr(shape), tuple(partials)


def _load(program: Program, names: dict[str, str]) -> Program:
    """Return `program` loading the named values `names` maps its placeholders to."""
    return tuple(
        (kind, names[arg], arity) if kind == LOAD else (kind, arg, arity)
        for kind, arg, arity in program
    )


def _used_by(nodes, loss: str) -> frozenset[str]:
    used = {loss}
    for node in reversed(nodes):
        if node.name in used:
            used.update(e.wrt for e in node.edges)
    return frozenset(used)


def _warnings(leaves: list[Leaf], nodes: list[Node], loss: str) -> tuple[NetworkWarning, ...]:
    used = _used_by(nodes, loss)
    found = [
        NetworkWarning(
            f"param '{leaf.name}' cannot affect the loss '{loss}'",
            leaf.span,
            "its gradient is always 0, so it never changes",
        )
        for leaf in leaves
        if leaf.kind == "param" and leaf.name not in used
    ]
    found += [
        NetworkWarning(f"node '{node.name}' is not used by the loss '{loss}'", node.span)
        for node in nodes
        if node.name not in used
    ]
    if not any(leaf.kind == "param" for leaf in leaves):
        span = next(node.span for node in nodes if node.name == loss)
        found.append(
            NetworkWarning(
                "the network has no param: training changes nothing",
                span,
                "declare what training should change with `param`, as `param w = 0.5` (an input "
                "never changes)",
            )
        )
    return tuple(found)
