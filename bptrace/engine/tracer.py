"""Run training steps on a graph and yield one plain record per step: the trace every view shows."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import repeat
from typing import TYPE_CHECKING, Any

from bptrace.engine._tape import Slots, Tape, forward_backward, lower
from bptrace.engine.chains import ChainFinder, edges_on_paths
from bptrace.engine.evaluate import find_fault, op_of, run
from bptrace.engine.graph import Edge, Graph
from bptrace.engine.kinks import NearKink, Watch, kinks
from bptrace.engine.lazy import numpy
from bptrace.engine.optimizers import OPTIMIZERS
from bptrace.errors import BadArgument, NumericFault
from bptrace.language.printer import format_number, show

if TYPE_CHECKING:
    import numpy as np

    from bptrace.engine.mistakes import Mistake


@dataclass(slots=True)
class Partial:
    """One local derivative ∂of/∂wrt at this step: its formula and its value."""

    of: str
    wrt: str
    edge: Edge
    value: Any


class _Records(Sequence):
    """A sequence of a step's records, each made when first read: big networks' views read few."""

    __slots__ = ("_made",)

    def __init__(self) -> None:
        self._made: dict[int, Any] = {}

    def _make(self, i: int) -> Any:
        raise NotImplementedError

    def __getitem__(self, i):
        if isinstance(i, slice):
            return tuple(self[k] for k in range(*i.indices(len(self))))
        return self._made_once(range(len(self))[i])  # negative indices, and IndexError past the end

    def __iter__(self):
        return map(self._made_once, range(len(self)))

    def _made_once(self, i: int) -> Any:
        made = self._made.get(i)
        if made is None:
            made = self._made[i] = self._make(i)
        return made


class Partials(_Records):
    """A step's local partials, as Partial records."""

    __slots__ = ("edges", "values")

    def __init__(self, edges: tuple[Edge, ...], values: Mapping[tuple[str, str], Any]) -> None:
        super().__init__()
        self.edges, self.values = edges, values

    def _make(self, i: int) -> Partial:
        e = self.edges[i]
        return Partial(e.of, e.wrt, e, self.values[(e.of, e.wrt)])

    def __len__(self) -> int:
        return len(self.edges)


@dataclass(slots=True)
class Path:
    """One path of the chain rule: names from the loss to a param, each edge's factor, product."""

    nodes: tuple[str, ...]
    factors: tuple[Any, ...]
    value: Any


@dataclass(slots=True)
class Chain:
    """∂L/∂param as a sum over paths of products of local derivatives.

    The listed paths are worked out when first read: a view of a big network reads a few chains.
    """

    param: str
    grad: Any
    paths_total: int
    finder: ChainFinder = field(repr=False, compare=False)
    partial_values: Mapping[tuple[str, str], Any] = field(repr=False, compare=False)
    listed: tuple[Path, ...] | None = field(default=None, repr=False, compare=False)

    @property
    def max_paths(self) -> int:
        """Return how many paths per param the trace was asked to list."""
        return self.finder.max_paths

    @property
    def capped(self) -> bool:
        """Tell whether fewer paths are listed than were asked for (see chains.listed_per_param)."""
        return self.finder.capped

    @property
    def paths(self) -> tuple[Path, ...]:
        """Return the listed paths, each with its factors and their product."""
        if self.listed is None:
            paths = []
            for nodes in self.finder.plan(self.param).paths:
                factors = tuple(self.partial_values[(a, b)] for a, b in zip(nodes, nodes[1:]))
                paths.append(Path(nodes, factors, math.prod(factors) if factors else 1.0))
            self.listed = tuple(paths)
        return self.listed


class Chains(_Records):
    """A step's chains, one per param, as Chain records."""

    __slots__ = ("params", "grads", "finder", "values")

    def __init__(
        self, params: tuple[str, ...], grads: dict[str, Any], finder: ChainFinder, values: Mapping
    ) -> None:
        super().__init__()
        self.params, self.grads, self.finder, self.values = params, grads, finder, values

    def _make(self, i: int) -> Chain:
        p = self.params[i]
        return Chain(p, self.grads[p], self.finder.totals[p], self.finder, self.values)

    def __len__(self) -> int:
        return len(self.params)


@dataclass(slots=True)
class Update:
    """One param's update by the optimiser: after = before − lr·grad for sgd; see optimizers."""

    param: str
    before: Any
    grad: Any
    lr: float
    after: Any
    # the optimiser's state after this step: velocity, m, v, …
    state: dict[str, Any] = field(default_factory=dict)
    previous: dict[str, Any] = field(default_factory=dict)  # and before it (empty at step 1)


class Updates(_Records):
    """A step's updates as Update records, one per param; the numbers in lists, one per param."""

    __slots__ = ("params", "before", "grad", "lr", "after", "state", "previous")

    def __init__(
        self,
        params: tuple[str, ...],
        before: list,
        grad: list,
        lr: float,
        after: list,
        state: list,
        previous: list,
    ) -> None:
        super().__init__()
        self.params, self.before, self.grad, self.lr = params, before, grad, lr
        self.after, self.state, self.previous = after, state, previous

    def _make(self, i: int) -> Update:
        return Update(
            self.params[i],
            self.before[i],
            self.grad[i],
            self.lr,
            self.after[i],
            self.state[i],
            self.previous[i],
        )

    def __len__(self) -> int:
        return len(self.params)


@dataclass(slots=True)
class Step:
    """Everything one training step computed, before its update is applied."""

    step: int
    lr: float
    loss: Any
    values: Mapping[str, Any]  # every leaf and node, in source order
    partials: Sequence[Partial]  # the local derivatives on loss-to-param paths, in backprop order
    # ∂loss/∂name for every leaf and node (may be non-finite for inputs and consts)
    grads: Mapping[str, Any]
    chains: Sequence[Chain]
    updates: Sequence[Update]  # one per param, in source order
    # with samples, values, partials, grads and path values are per-sample arrays
    samples: int | None = None
    # with mini-batches: which samples (numbered from 0) this step ran
    indices: tuple[int, ...] | None = None
    # (of, wrt) → value, every partial computed
    partial_values: Mapping[tuple[str, str], Any] = field(default_factory=dict)
    # kinks whose argument is within rounding of 0, each node's first only (see kinks.py)
    kinks: tuple[NearKink, ...] = ()


@dataclass(slots=True)
class Final:
    """The state after the last update: the loss with the final params (over all the samples)."""

    steps: int
    loss: Any  # None when the run was interrupted after `steps` (see commands.py)
    params: dict[str, Any]
    start_loss: Any = None  # with mini-batches: the loss over all the samples before training


@dataclass(frozen=True, slots=True)
class Batches:
    """Mini-batches: each step takes the next `size` samples in order, wrapping around; or,
    shuffled, each pass through the samples is a fresh permutation cut into batches of `size`
    (the last may be smaller)."""

    size: int
    shuffle: bool = False
    seed: int = 0


def batches_of(
    graph: Graph, size: int | None = None, shuffle: bool = False, seed: int | None = None
) -> Batches | None:
    """Return the mini-batches a run of `graph` trains on: of `size` (else the file's `set batch`),
    shuffled with `seed` (else the file's `set seed`); None for all the samples at every step (no
    samples, no size, or a size not smaller than the samples).

    Raise BadArgument for a size or shuffling without samples, and for shuffling without a size.
    """
    if graph.samples is None:
        if size or shuffle:
            raise BadArgument(
                "--batch-size and --shuffle (in Python, batch_size and shuffle) pick samples, but "
                "the inputs and targets hold one value each"
            )
        return None
    size = size or int(graph.settings["batch"])
    if shuffle and not size:
        raise BadArgument(
            "--shuffle shuffles mini-batches: give --batch-size B (in Python, batch_size=B) or "
            "`set batch = B` too"
        )
    if not size or size >= graph.samples:
        return None
    return Batches(size, shuffle, seed if seed is not None else int(graph.settings["seed"]))


def trace(
    graph: Graph,
    steps: int,
    lr: float | None = None,
    max_paths: int = 8,
    batches: Batches | None = None,
    mistake: Mistake | None = None,
) -> Iterator[Step | Final]:
    """Yield a Step record for each training step, then a Final record.

    With a `mistake` (see mistakes.py), each step is computed as a student making it would.
    """
    lr = graph.settings["lr"] if lr is None else lr
    if mistake is not None:
        from bptrace.engine.mistakes import student_graph  # a run with no mistake never loads it

        graph = student_graph(graph, mistake)
    needed, used = graph.leads_to_params(), graph.used_by_loss()
    initial = graph.initial_params()
    plan = _Plan(
        graph,
        ChainFinder(graph, max_paths),
        used,
        needed,
        edges_on_paths(graph, needed),
        lower(graph, used),
        {leaf.name: _data(leaf.value) for leaf in graph.leaves if leaf.kind != "param"},
        {leaf.name: leaf.span for leaf in graph.leaves},
        tuple(initial),
        tuple(leaf.name for leaf in graph.leaves),
        mistake.id if mistake is not None else None,
    )
    # in plan.params' order; plain floats: the fast path of ops
    params = [float(v) for v in initial.values()]
    states: list[dict[str, Any]] = [{} for _ in params]
    picks = _picks(graph.samples, batches)
    start_loss = None
    if picks is not None:
        with quiet(graph):
            start_loss = batch(graph, _values(plan, params, 1)[graph.loss])
    # Step 1's loss and the last step's: a fault after it grew is training diverging. Not with
    # mini-batches, whose losses are over different samples (harder samples are no divergence).
    losses: list[tuple[int, float]] = []
    watched = _kinks(graph, used)
    try:
        for k in range(1, steps + 1):
            indices = next(picks) if picks is not None else None
            with quiet(graph):
                record = _step(plan, params, k, lr, states, indices)
            if picks is None:
                losses[1:] = [(k, float(record.loss))]
            if watched is not None:
                record.kinks = watched.near(record.values, k)
            yield record
            params, states = record.updates.after, record.updates.state
            # Gone before the next step: its floats take the memory this one's leave, still cached.
            del record
        with quiet(graph):
            values = _values(plan, params, steps + 1, final=True)
            # a mean of huge losses may overflow: inf, reported, not warned of
            loss = batch(graph, values[graph.loss])
    except NumericFault as fault:
        # An update's fault says what to do itself.
        if fault.hint is not None or fault.where.startswith("update of"):
            raise
        raise replace(fault, hint=diverged(losses, lr)) from fault
    yield Final(steps, loss, dict(zip(plan.params, params)), start_loss)


def _kinks(graph: Graph, used: frozenset[str]) -> Watch | None:
    """Return the kinks of the nodes the loss uses, to examine each step (floats only)."""
    if graph.samples is not None:
        return None
    exprs = {node.name: node.expr for node in graph.nodes}
    tie = str(graph.settings["tie"])
    found = [
        k
        for node in graph.nodes
        if node.name in used
        for k in kinks(node.name, node.expr, exprs, tie)
    ]
    return Watch(found, exprs) if found else None


def diverged(losses: list[tuple[int, float]], lr: float) -> str | None:
    """Return the hint for a fault after the loss grew from step 1 to the last (else None)."""
    # a nan compares false: no claim
    if len(losses) < 2 or not lr or not losses[1][1] > losses[0][1]:
        return None
    (_, first), (k, last) = losses
    return (
        f"the loss grew from {format_number(first, 4)} at step 1 to {format_number(last, 4)} at "
        f"step {k}: "
        "training diverges; try a smaller lr"
    )


def quiet(graph: Graph):
    """Return numpy's error state letting an inf or a nan through, with samples (arrays warn).

    Without samples every value is a Python float, which never warns, and numpy may not be loaded at
    all: the few operations that call it on floats set their own error state (ops.py, _tape.py).
    """
    if graph.samples is None:
        return contextlib.nullcontext()
    np = numpy()

    return np.errstate(all="ignore")


def _picks(samples: int | None, batches: Batches | None) -> Iterator[np.ndarray] | None:
    """Yield each step's sample indices: the next `size`, wrapping around (None: all, each step)."""
    if samples is None or batches is None or batches.size >= samples:
        return None
    np = numpy()

    def indices() -> Iterator[np.ndarray]:
        # each pass a fresh permutation, cut into batches: no sample twice in a batch
        if batches.shuffle:
            rng = np.random.default_rng(batches.seed)
            while True:
                order = rng.permutation(samples)
                for at in range(0, samples, batches.size):
                    yield order[at : at + batches.size]  # the last batch of a pass may be smaller
        order, at = np.arange(samples), 0
        while True:  # in order, wrapping around
            yield np.take(order, range(at, at + batches.size), mode="wrap")
            at = (at + batches.size) % samples

    return indices()


def batch_rows(
    samples: int | None, batches: Batches | None, steps: int
) -> tuple[tuple[int, ...], ...] | None:
    """Return the samples (numbered from 0) each of the first `steps` steps trains on (None: all
    of them at every step), as `trace` picks them."""
    picks = _picks(samples, batches)
    if picks is None:
        return None
    return tuple(tuple(int(i) for i in next(picks)) for _ in range(steps))


def batch(graph: Graph, per_sample, size: int | None = None):
    """Return the batch's value of per-sample numbers: their mean, or their sum (`reduction`).

    Without samples there is one value, returned as it is. `size` is the batch's, when not all the
    samples.
    """
    if graph.samples is None:
        return per_sample
    np = numpy()

    n = size or graph.samples
    each = per_sample
    if getattr(each, "shape", None) != (n,):  # a value the samples do not change counts for each
        each = np.broadcast_to(per_sample, (n,))
    # what .sum() and .mean() add up, without their Python-level wrappers
    total = float(np.add.reduce(each))
    return total / n if graph.settings["reduction"] == "mean" else total


def finite(value) -> bool:
    """Tell whether a value (a float64, or an array of them) is finite everywhere."""
    if isinstance(value, float):  # a float, or numpy's float64: math.isfinite is far cheaper
        return math.isfinite(value)
    np = numpy()

    return bool(np.isfinite(value).all())


def forward(
    graph: Graph,
    params: dict[str, Any],
    checked: frozenset[str] = frozenset(),
    step: int = 0,
    final: bool = False,
    indices: np.ndarray | None = None,
) -> dict[str, Any]:
    """Return every leaf's and node's value; a `checked` node's non-finite value is a NumericFault.

    With `indices`, only those samples are run (a mini-batch).
    """
    env = {
        leaf.name: params[leaf.name] if leaf.kind == "param" else _data(leaf.value, indices)
        for leaf in graph.leaves
    }
    with quiet(graph):
        for node in graph.nodes:
            value = run(node.program, env)
            if node.name in checked and not finite(value):
                fault = _fault(
                    step,
                    f"node {node.name} = {show(node.expr)}",
                    node.expr,
                    env,
                    node.expr.span,
                    final,
                    indices,
                )
                raise replace(fault, computed={**env, node.name: value})
            env[node.name] = value
    return env


def _data(value, indices: np.ndarray | None = None):
    """Return a leaf's value: a float, or a numpy array of one float64 per sample picked."""
    if not isinstance(value, tuple):
        return float(value)
    np = numpy()

    samples = np.array(value, dtype=np.float64)
    return samples if indices is None else samples[indices]


@dataclass(frozen=True, slots=True)
class _Plan:
    """What every step needs and never changes: the graph, its chains and reachability sets."""

    graph: Graph
    chains: ChainFinder
    used: frozenset[str]  # what the loss depends on: only these may stop a run by going non-finite
    needed: frozenset[str]  # params and the nodes that depend on them: what training needs
    shown: tuple[Edge, ...]  # the local partials on loss-to-param paths, from the loss back
    tape: Tape  # the same forward and backward passes on one straight-line tape: the fast path
    # the inputs', targets' and consts' values: floats, or arrays of all the samples
    data: dict[str, Any]
    spans: dict[str, Any]  # where each leaf is declared
    # the params, in source order: a step's params, grads and updates are lists in this order
    params: tuple[str, ...]
    leaves: tuple[str, ...]  # every leaf, in source order: the tape's first slots
    # the mistake made at the accumulate, reduction or update stage (see mistakes.py), by its id
    mistake: str | None = None


def _backward(plan: _Plan, values: dict[str, Any], step: int, indices=None):
    """Return ∂loss/∂name for every name and every local partial's value, by reverse accumulation.

    With samples, each is an array: sample i's loss differentiated with respect to sample i's values
    (the batch's gradient of a param is then their mean or sum, see `batch`). With the mistake
    overwrite-at-fork, each contribution replaces the one before instead of adding to it.
    """
    overwrite = plan.mistake == "overwrite-at-fork"
    graph = plan.graph
    grads = dict.fromkeys(values, 0.0)
    grads[graph.loss] = 1.0
    partials: dict[tuple[str, str], Any] = {}
    for node in reversed(graph.nodes):
        if node.name not in plan.used:
            continue
        adjoint = grads[node.name]
        for edge in node.edges:
            value = run(edge.program, values)
            # Only a partial on the way to a param spoils training; ∂L/∂input may be inf in peace.
            if edge.wrt in plan.needed and not finite(value):
                where = f"local derivative d{edge.of}/d{edge.wrt} = {show(edge.formula)}"
                raise _fault(step, where, edge.formula, values, node.expr.span, indices=indices)
            partials[(edge.of, edge.wrt)] = value
            grads[edge.wrt] = adjoint * value if overwrite else grads[edge.wrt] + adjoint * value
    for leaf in graph.leaves:
        if leaf.kind == "param" and not finite(grads[leaf.name]):
            detail = f"is {grads[leaf.name]}: the gradients overflow"
            raise NumericFault(step, f"gradient dL/d{leaf.name}", detail, leaf.span)
    return grads, partials


def _passes(plan: _Plan, params, k: int, indices=None):
    """Return a step's values, ∂L/∂name for every name, and the local partials' values.

    The tape computes them; when it meets an inf, a nan or an error, the step is run again name by
    name, which raises a NumericFault saying where (or, where the non-finite value does no
    harm, carries on).
    """
    graph, tape = plan.graph, plan.tape
    data = (
        plan.data
        if indices is None
        else {name: _pick(value, indices) for name, value in plan.data.items()}
    )
    fast = (
        forward_backward(tape, _leaves(plan, params, data), arrays=graph.samples is not None)
        if plan.mistake != "overwrite-at-fork"  # the tape adds at a fork: name by name instead
        else None
    )
    if fast is None:
        values = forward(graph, dict(zip(plan.params, params)), plan.used, k, indices=indices)
        return (values, *_backward(plan, values, k, indices))
    v, g = fast
    return (
        Slots(tape.names, v, tape.taken),
        Slots(tape.names, g, tape.taken),
        Slots(tape.partials, v, tape.taken),
    )


def _values(plan: _Plan, params, k: int, final: bool = False) -> Mapping[str, Any]:
    """Return every leaf's and node's value over all the samples (a forward pass alone)."""
    graph = plan.graph
    fast = forward_backward(
        plan.tape,
        _leaves(plan, params, plan.data),
        arrays=graph.samples is not None,
        backward=False,
    )
    if fast is None:
        return forward(graph, dict(zip(plan.params, params)), plan.used, k, final=final)
    return Slots(plan.tape.names, fast[0], plan.tape.taken)


def _leaves(plan: _Plan, params: list[Any], data: dict[str, Any]) -> list[Any]:
    """Return the leaves' values in the tape's order, from the params (in order) and the data."""
    known = dict(data)
    known.update(zip(plan.params, params))
    return list(map(known.__getitem__, plan.leaves))


def _pick(value, indices):
    return value if isinstance(value, float) else value[indices]  # a float, or an array of samples


def _step(
    plan: _Plan, params: list[Any], k: int, lr: float, states: list[dict[str, Any]], indices=None
) -> Step:
    """Return step k's record: its passes from `params` and the optimiser's `states`."""
    graph, names = plan.graph, plan.params
    values, grads, partial_values = _passes(plan, params, k, indices)
    size = len(indices) if indices is not None else None
    partials = Partials(plan.shown, partial_values)
    if graph.samples:  # the batch's: per-sample gradients averaged (or summed)
        gradient = [batch(graph, grads[p], size) for p in names]
        if plan.mistake == "mean-twice" and graph.settings["reduction"] == "mean":
            gradient = [g / (size or graph.samples) for g in gradient]
    else:
        gradient = grads.take(names) if isinstance(grads, Slots) else [grads[p] for p in names]
    optimizer = OPTIMIZERS[str(graph.settings["optimizer"])]
    settings = {name: float(graph.settings[name]) for name in optimizer.settings}
    given = gradient if plan.mistake != "sign-flipped" else [-g for g in gradient]
    if plan.mistake == "one-at-a-time":
        moved, grads = _one_at_a_time(plan, params, gradient, grads, states, (k, lr, indices))
    else:
        step = optimizer.step_under(graph.settings)  # in its `set momentum_form`
        moved = list(map(step, params, given, states, repeat(k), repeat(lr), repeat(settings)))
    chains = Chains(names, dict(zip(names, gradient)), plan.chains, partial_values)
    after, state = [m[0] for m in moved], [m[1] for m in moved]
    if not finite(sum(after)):  # one check for all (an overflowing sum only costs the search)
        for name, before, grad, new in zip(names, params, given, after):
            if not finite(new):
                detail = f"{before} - {lr}*{grad} is {new}: training diverges; try a smaller lr"
                if optimizer.name != "sgd":
                    detail = (
                        f"{optimizer.name} moves it from {before} to {new}: training "
                        "diverges; try a smaller lr"
                    )
                raise NumericFault(k, f"update of {name}", detail, plan.spans[name])
    samples = size or graph.samples
    picked = tuple(int(i) for i in indices) if indices is not None else None
    updates = Updates(names, params, gradient, lr, after, state, states)
    return Step(
        k,
        lr,
        batch(graph, values[graph.loss], size),
        values,
        partials,
        grads,
        chains,
        updates,
        samples,
        picked,
        partial_values,
    )


def _one_at_a_time(plan: _Plan, params, gradient: list, grads, states, step: tuple):
    """Return the moves of params updated one at a time in source order (the mistake one-at-a-time),
    and the step's gradients with each param's own.

    `gradient` (the batch's, changed in place) and `grads` are the step's first pass's; each param
    after the first is given the gradient of a fresh pass with the params before it moved.
    """
    graph, (k, lr, indices) = plan.graph, step
    optimizer = OPTIMIZERS[str(graph.settings["optimizer"])]
    settings = {name: float(graph.settings[name]) for name in optimizer.settings}
    size = len(indices) if indices is not None else None
    current, grads, moved = list(params), dict(grads), []
    for i, name in enumerate(plan.params):
        if i:
            fresh = _passes(plan, current, k, indices)[1][name]
            grads[name] = fresh
            gradient[i] = batch(graph, fresh, size) if graph.samples else fresh
        step = optimizer.step_under(graph.settings)
        moved.append(step(current[i], gradient[i], states[i], k, lr, settings))
        current[i] = moved[-1][0]
    return moved, grads


def _fault(
    step: int, where: str, expr, env, span, final: bool = False, indices=None
) -> NumericFault:
    """Return the fault of a non-finite value, naming the innermost operation that produced it (and,
    with samples, the sample: its number among all the samples, with `indices` the batch's)."""
    found = find_fault(expr, env)
    if found is None:
        return NumericFault(step, where, "the value is not finite", span, final)
    node, args = found[0], found[1]
    if node.span.line:  # a subexpression of the source: point at it exactly
        span = node.span
    detail = op_of(node).fault(*args)
    if len(found) == 4:
        sample = int(indices[found[3]]) if indices is not None else found[3]
        detail = f"sample {sample + 1}: {detail}"
    return NumericFault(step, where, detail, span, final)
