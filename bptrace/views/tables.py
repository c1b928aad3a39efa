"""The four tables of a step as rows of text, written by a Writer (views/writers.py).

The terminal (terminal/steps.py), Markdown and LaTeX handouts (handout.py) all show these rows,
so the three can never disagree about what a cell says.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

from bptrace.engine.chains import MAX_LISTED_LENGTH, MAX_LISTED_PATHS, direct_edges
from bptrace.engine.graph import Graph
from bptrace.engine.tracer import Chain, Final, Step
from bptrace.views.writers import Writer

TABLES = ("forward", "partials", "chains", "updates")
MAX_ROWS = 60  # a table longer than this shows its first 50 and last 10 rows
T = TypeVar("T")
LEAF_TITLES = {"input": "inputs", "target": "targets", "param": "params", "const": "consts"}
MAX_SAMPLES = 4  # sample columns shown side by side; --sample i shows any one


def picked(items: Sequence[T], max_rows: int | None) -> list[T | None]:
    """Return the items a table shows: all, or the first and last few with None for the gap."""
    if max_rows is None or len(items) <= max_rows:
        return list(items)
    return [*items[: max_rows - 10], None, *items[-10:]]


def for_step(w: Writer, graph: Graph, step: Step, sample: int | None = None) -> Writer:
    """Return `w` set for a step: with samples, which are columns (the first few, or `sample`)."""
    if step.samples is None:
        return w
    shown = (sample,) if sample is not None else tuple(range(min(step.samples, MAX_SAMPLES)))
    return replace(w, shown=shown, reduction=str(graph.settings["reduction"]), numbers=step.indices)


@dataclass(frozen=True, slots=True)
class Row:
    """One row: its cells, and what kind of row it is (for styling): plain, loss, note or sum."""

    cells: tuple[str, ...]
    kind: str = "plain"
    subject: tuple[str, ...] = ()  # the names the row is about: a node, an edge's two ends, a param


class Rows(Sequence):
    """A table's rows, each written when read: a view of a big network reads a few of thousands."""

    __slots__ = ("items", "write")

    def __init__(self, items: Sequence, write: Callable[..., Row]) -> None:
        self.items, self.write = items, write

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self.write(item) for item in self.items[i]]
        return self.write(self.items[i])


@dataclass(frozen=True, slots=True)
class TableRows:
    """A table's title, column headers (numeric columns from `numeric_from` on) and rows."""

    title: str
    headers: tuple[str, ...]
    rows: list[Row] | Rows = field(default_factory=list)
    numeric_from: int = 99
    # Columns of text among the numeric ones: a formula with numbers, which may wrap.
    text: tuple[int, ...] = ()


def forward(graph: Graph, step: Step, w: Writer, only: set[str] | None = None) -> TableRows:
    value_of = lambda name: w.number(w.at(step.values[name]))  # noqa: E731
    numbers = ("with numbers",) if w.one_sample else ()

    def row(node) -> Row:
        is_loss = node.name == graph.loss
        label = w.loss_label(w.name(node.name)) if is_loss else w.name(node.name)
        substituted = (w.expr(node.expr, value_of),) if w.one_sample else ()
        cells = (label, w.expr(node.expr), *substituted, *w.values(step.values[node.name]))
        return Row(cells, "loss" if is_loss else "plain", (node.name,))

    nodes = [node for node in graph.nodes if only is None or node.name in only]
    return TableRows(
        "Forward pass",
        ("node", "expression", *numbers, *w.value_headers()),
        Rows(nodes, row),
        2 + len(numbers),
    )


class _Direct:
    """Which edges leave the loss for a name it also reaches through other nodes (direct_edges).

    Their local partial ∂L/∂name is not the gradient ∂L/∂name, and tables mark it "(direct)".
    Found once, when a table first shows an edge of the loss: it counts paths over the whole graph.
    """

    __slots__ = ("graph", "edges")

    def __init__(self, graph: Graph) -> None:
        self.graph, self.edges = graph, None

    def mark(self, of: str, wrt: str, w: Writer) -> str:
        if of != self.graph.loss:
            return ""
        if self.edges is None:
            self.edges = direct_edges(self.graph)
        return w.note(" (direct)") if (of, wrt) in self.edges else ""


def partials(graph: Graph, step: Step, w: Writer) -> TableRows:
    direct = _Direct(graph)

    def row(p) -> Row:
        label = w.partial(p.of, p.wrt) + direct.mark(p.of, p.wrt, w)
        return Row((label, w.expr(p.edge.formula), *w.values(p.value)), subject=(p.of, p.wrt))

    return TableRows(
        f"Local derivatives, backwards from {w.inline(graph.loss)}",
        ("partial", "formula", *w.value_headers()),
        Rows(step.partials, row),
        2,
    )


def gradients(graph: Graph, step: Step, w: Writer) -> TableRows:
    """Return each node's gradient ∂L/∂node, summed over its uses, from the loss backwards."""
    numbers = ("with numbers",) if w.one_sample else ()
    uses: dict[str, list] = {}
    for p in step.partials:
        uses.setdefault(p.wrt, []).append(p)
    direct = _Direct(graph)

    def row(name: str) -> Row:
        if name == graph.loss:  # the seed: ∂L/∂L = 1
            return Row(
                (w.partial(graph.loss, graph.loss), "", *[""] * len(numbers), *w.values(1.0)),
                subject=(graph.loss,),
            )
        terms = uses[name]
        symbols = " + ".join(
            w.partial(graph.loss, p.of)
            + w.times
            + w.partial(p.of, p.wrt)
            + direct.mark(p.of, p.wrt, w)
            for p in terms
        )
        substituted = (
            " + ".join(
                f"({w.number(w.at(step.grads[p.of]))}){w.times}({w.number(w.at(p.value))})"
                for p in terms
            ),
        )
        cells = (
            w.partial(graph.loss, name),
            symbols,
            *(substituted if numbers else ()),
            *w.values(step.grads[name]),
        )
        return Row(cells, subject=(name,))

    # Each node where its own partials begin: from the loss back, as the partials are listed.
    names = [
        graph.loss,
        *(name for name in dict.fromkeys(p.of for p in step.partials) if name in uses),
    ]
    return TableRows(
        f"Gradients {w.inline_partial(graph.loss, 'node')}, summed over each node's uses",
        ("gradient", "chain rule", *numbers, *w.value_headers()),
        Rows(names, row),
        2 + len(numbers),
    )


@dataclass(frozen=True, slots=True)
class Shortened:
    """How much of a chain a view shows: `factors` of a path, `paths` of a chain (None: all)."""

    factors: int | None = None
    paths: int | None = None


def chain_rows(
    chain: Chain, loss: str, w: Writer, per_sample=None, shortened: Shortened = Shortened()
) -> list[Row]:
    """Return one param's rows: a product per listed path, a note of the rest, the sum over paths.

    With samples, each path's value is shown per sample, and the last column holds the batch's
    (the mean over samples, or their sum); `per_sample` is ∂L/∂param of each sample. A path of more
    than `shortened.factors` factors shows its first and last few, and how many lie between.
    """
    max_factors, max_shown = shortened.factors, shortened.paths
    label = w.partial(loss, chain.param)
    numbers = 1 if w.one_sample else 0
    batched = w.shown is not None
    blank = ("",) * (numbers + len(w.value_headers()))
    total = w.values(per_sample) if batched else ()

    def row(
        first: str,
        second: str,
        substituted: str,
        values: tuple[str, ...],
        batch_value: str,
        kind: str = "plain",
    ) -> Row:
        cells = (
            first,
            second,
            *((substituted,) if numbers else ()),
            *values,
            *((batch_value,) if batched else ()),
        )
        return Row(cells, kind, (chain.param,))

    if chain.paths_total == 0:
        return [
            row(
                label,
                w.note("no path: the loss does not depend on it"),
                "",
                total or w.values(chain.grad),
                w.number(chain.grad),
                "note",
            )
        ]
    if not chain.paths:
        paths = (
            "1 path of"
            if chain.paths_total == 1
            else f"{w.count(chain.paths_total)} paths, each of"
        )
        text = f"{paths} more than {MAX_LISTED_LENGTH:,} factors: counted, not listed"
        return [
            row(
                label, w.note(text), "", total or w.values(chain.grad), w.number(chain.grad), "note"
            )
        ]
    rows = []
    single = chain.paths_total == 1
    # A view of a few rows shows the first.
    shown = chain.paths if max_shown is None else chain.paths[:max_shown]
    for i, path in enumerate(shown):
        edges = list(zip(path.nodes, path.nodes[1:]))
        symbols = w.times.join(
            _elided([w.partial(a, b) for a, b in _ends(edges, max_factors)], len(edges), w)
        )
        # The local partial: the whole gradient when it is the only path, else a part.
        if len(path.nodes) == 2:
            symbols += w.note(" (direct)")
        substituted = w.times.join(
            _elided(
                [f"({w.number(w.at(f))})" for f in _ends(path.factors, max_factors)],
                len(path.factors),
                w,
            )
        )
        mean = w.number(chain.grad) if single else ""  # one path: its batch value is the gradient
        rows.append(row(label if i == 0 else "", symbols, substituted, w.values(path.value), mean))
    if not single:
        more = chain.paths_total - len(shown)
        if more:
            noun = "path" if more == 1 else "paths"
            dots = w.notation.dots
            if len(shown) < len(chain.paths):
                why = f"not shown; --all shows the first {len(chain.paths):,}"
            else:
                why = (
                    f"not listed; a trace lists at most {MAX_LISTED_PATHS:,} paths"
                    if chain.capped
                    else "not listed; --max-paths shows more"
                )
            note = w.note(f"{dots} and {w.count(more)} more {noun} ({why})")
            rows.append(
                Row(("", note, *blank, *(("",) if batched else ())), "note", (chain.param,))
            )
        rows.append(
            row(
                "",
                w.note(f"sum over the {w.count(chain.paths_total)} paths"),
                "",
                total or w.values(chain.grad),
                w.number(chain.grad),
                "sum",
            )
        )
    return rows


_HEAD = 3  # factors a shortened path shows before its gap (and one after it)


def _ends(items: Sequence, max_factors: int | None) -> Sequence:
    """Return the factors a path shows: all of them, or the first few and the last."""
    if max_factors is None or len(items) <= max_factors:
        return items
    return [*items[:_HEAD], items[-1]]


def _elided(written: list[str], total: int, w: Writer) -> list[str]:
    """Put the gap into a shortened path's written factors: ∂L/∂h₉ · … 93 more … · ∂h₁/∂w."""
    if len(written) == total:
        return written
    dots = w.notation.dots
    return [*written[:-1], w.note(f"{dots} {total - len(written):,} more {dots}"), written[-1]]


CHAINS_TITLE = "Chain rule, one product per path"


def chains_head(w: Writer) -> TableRows:
    """Return the chain rule table without its rows: its title and headers."""
    numbers = ("with numbers",) if w.one_sample else ()
    batch = (f"batch {w.reduction}",) if w.shown is not None else ()
    return TableRows(
        CHAINS_TITLE,
        ("gradient", "chain", *numbers, *w.value_headers(), *batch),
        numeric_from=2 + len(numbers),
    )


def chains(step: Step, loss: str, w: Writer) -> TableRows:
    table = chains_head(w)
    for chain in step.chains:
        table.rows.extend(chain_rows(chain, loss, w, step.grads.get(chain.param)))
    return table


def updates(graph: Graph, step: Step, w: Writer) -> TableRows:
    """Return each param's update, with the optimiser's state: momentum's velocity, adam's m, v."""
    settings, optimizer = graph.settings, graph.settings["optimizer"]
    # The batch's, from the samples'.
    gradient = "gradient" if w.shown is None else f"{w.reduction} gradient"
    if optimizer == "momentum":
        return _momentum(step, w, gradient, settings)
    if optimizer == "adam":
        return _adam(step, w, gradient, settings)
    # Written in the columns' words, so it never clashes with a node the user called p.
    n = w.notation
    title = w.update_title(
        "Update",
        [f"after {w.math('=')} before {w.scaled(f'{n.minus} {n.alpha}', 'gradient')}"],
        [f"{n.alpha} = {w.number(step.lr)}"],
    )
    scaled = w.scaled(n.alpha, "gradient")
    table = TableRows(title, ("param", "before", gradient, scaled, "after"), numeric_from=1)
    for u in step.updates:
        cells = (
            w.name(u.param),
            w.number(u.before),
            w.number(u.grad),
            w.number(u.lr * u.grad),
            w.number(u.after),
        )
        table.rows.append(Row(cells, subject=(u.param,)))
    return table


def _momentum(step: Step, w: Writer, gradient: str, settings: dict) -> TableRows:
    """Return the update table of momentum, in its `set momentum_form` (see _MOMENTUM_FORMS)."""
    n, momentum = w.notation, w.number(settings["momentum"])
    form = _MOMENTUM_FORMS[str(settings["momentum_form"])]
    title = w.update_title(
        "Update with momentum" + form.titled,
        form.clauses(w),
        [f"{n.alpha} = {w.number(step.lr)}, {n.mu} = {momentum}"],
    )
    # The formula with numbers goes last: on a narrow terminal it wraps, and the numbers keep
    # their width.
    headers = ("param", "before", gradient, *form.headers(w), "after", "velocity with numbers")
    table = TableRows(title, headers, numeric_from=1, text=(len(headers) - 1,))
    for u in step.updates:
        previous = w.paren(w.number(u.previous.get("velocity", 0.0)))
        cells = (
            w.name(u.param),
            w.number(u.before),
            w.number(u.grad),
            *map(w.number, form.values(u)),
            w.number(u.after),
            f"{momentum}{w.times}{previous} + {w.paren(w.number(form.added(u)))}",
        )
        table.rows.append(Row(cells, subject=(u.param,)))
    return table


@dataclass(frozen=True, slots=True)
class _MomentumForm:
    """How the update table shows one momentum form: its formulas and the columns before `after`."""

    titled: str  # after "Update with momentum"
    clauses: Callable[[Writer], list[str]]
    headers: Callable[[Writer], tuple[str, ...]]
    values: Callable[[object], tuple]  # an Update's numbers in those columns
    added: Callable[[object], object]  # what the velocity adds to μ·velocity: g, or α·g


_MOMENTUM_FORMS = {
    "pytorch": _MomentumForm(
        "",
        lambda w: [
            f"velocity {w.scaled(f'= {w.notation.mu}', 'velocity')} {w.math('+')} gradient",
            f"after {w.math('=')} before "
            f"{w.scaled(f'{w.notation.minus} {w.notation.alpha}', 'velocity')}",
        ],
        lambda w: ("velocity", w.scaled(w.notation.alpha, "velocity")),
        lambda u: (u.state["velocity"], u.lr * u.state["velocity"]),
        lambda u: u.grad,
    ),
    # Sutskever et al. (2013): the velocity holds α·g, and is the whole move
    "sutskever": _MomentumForm(
        " (Sutskever)",
        lambda w: [
            f"velocity {w.scaled(f'= {w.notation.mu}', 'velocity')} "
            f"{w.scaled(f'+ {w.notation.alpha}', 'gradient')}",
            f"after {w.math('=')} before {w.math(w.notation.minus)} velocity",
        ],
        lambda w: (w.scaled(w.notation.alpha, "gradient"), "velocity"),
        lambda u: (u.lr * u.grad, u.state["velocity"]),
        lambda u: u.lr * u.grad,
    ),
    # PyTorch's nesterov=True: the move looks ahead along the new velocity
    "nesterov": _MomentumForm(
        " (Nesterov)",
        lambda w: [
            f"velocity {w.scaled(f'= {w.notation.mu}', 'velocity')} {w.math('+')} gradient",
            f"direction {w.math('=')} gradient {w.scaled(f'+ {w.notation.mu}', 'velocity')}",
            f"after {w.math('=')} before "
            f"{w.scaled(f'{w.notation.minus} {w.notation.alpha}', 'direction')}",
        ],
        lambda w: ("velocity", "direction", w.scaled(w.notation.alpha, "direction")),
        lambda u: (
            u.state["velocity"],
            u.state["direction"],
            u.lr * u.state["direction"],
        ),
        lambda u: u.grad,
    ),
}


def _adam(step: Step, w: Writer, gradient: str, settings: dict) -> TableRows:
    n, by = w.notation, w.implicit_times
    b1, b2, eps, alpha, minus = n.beta1, n.beta2, n.eps, n.alpha, n.minus
    m_hat, v_hat = n.hat.format("m"), n.hat.format("v")
    after = f"{minus} {alpha}{by}{m_hat}/({n.root.format(v_hat)} + {eps})"
    title = w.update_title(
        "Update with adam",
        [
            w.math(f"m = {b1}{by}m + (1 {minus} {b1}){by}g"),
            w.math(f"v = {b2}{by}v + (1 {minus} {b2}){by}g{n.squared}"),
            w.math(f"{m_hat} = m/(1 {minus} {b1}^t)"),
            w.math(f"{v_hat} = v/(1 {minus} {b2}^t)"),
            f"after {w.math('=')} before {w.math(after)}",
        ],
        [
            f"{alpha} = {w.number(step.lr)}",
            f"{b1} = {w.number(settings['beta1'])}",
            f"{b2} = {w.number(settings['beta2'])}",
            f"{eps} = {w.number(settings['eps'])}",
            f"t = {step.step}",
        ],
    )
    # m̂ and v̂ appear in the formula with numbers (and in the JSON state): a column each would
    # not fit 80 columns.
    table = TableRows(
        title,
        ("param", "before", gradient, w.math("m"), w.math("v"), "after", "after with numbers"),
        numeric_from=1,
        text=(6,),
    )
    for u in step.updates:
        s = u.state
        # after = before − α·m̂/(√v̂ + ε), every symbol replaced by its number
        root = n.root.format(w.number(s["v_hat"]))
        fraction = f"{w.paren(w.number(s['m_hat']))}/({root} + {w.number(settings['eps'])})"
        lr = f"{w.number(u.lr)}{w.tight_times}"
        substituted = f"{w.number(u.before)} {minus} {lr}{fraction}"
        cells = (
            w.name(u.param),
            w.number(u.before),
            w.number(u.grad),
            w.number(s["m"]),
            w.number(s["v"]),
            w.number(u.after),
            substituted,
        )
        table.rows.append(Row(cells, subject=(u.param,)))
    return table


def samples_said(graph: Graph, step: Step, dots: str = "…") -> str:
    """Return what a step with samples trains on: how many (which, for a batch), and that the loss
    and the gradients are their mean (or sum). Without a full stop: views add what they show."""
    n, how = step.samples, graph.settings["reduction"]  # "mean" or "sum"
    whom = f"{n} sample{'s' if n > 1 else ''}"
    if step.indices is not None:
        picked = ", ".join(str(i + 1) for i in step.indices[:8]) + (
            f", {dots}" if len(step.indices) > 8 else ""
        )
        whom = f"a batch of {n} of the {graph.samples} samples ({picked})"
    if n == 1:  # a mean over one sample is that sample's
        return f"{whom}: the loss and the gradients that update the params are that sample's"
    return f"{whom}: the loss and the gradients that update the params are the {how} over them"


def batch_loss_said(graph: Graph, step: Step) -> str:
    """Return the words before the loss training lowers: "The mean over the 4 samples, …"."""
    whose = "the batch's" if step.indices is not None else "the"
    if step.samples == 1:
        return f"The loss of {whose} one sample, what training lowers: "
    how = graph.settings["reduction"]
    return f"The {how} over {whose} {step.samples} samples, what training lowers: "


def summary(graph: Graph, first: Step, final: Final, w: Writer) -> TableRows:
    """Return the run's summary: the loss and each param at the start and after the last step."""
    steps = "1 step" if final.steps == 1 else f"{final.steps} steps"
    stopped = final.loss is None  # interrupted: the loss with the last params was never computed
    table = TableRows(
        f"Interrupted after {steps}" if stopped else f"After {steps}",
        ("", "start", "final"),
        numeric_from=1,
    )
    loss = w.loss_label(w.name(graph.loss))
    start = first.loss
    # Mini-batches: both losses over all the samples, not step 1's batch's.
    if final.start_loss is not None:
        loss, start = loss + w.note(" (all samples)"), final.start_loss
    table.rows.append(
        Row((loss, w.number(start), "" if stopped else w.number(final.loss)), "loss", (graph.loss,))
    )
    for u in first.updates:
        table.rows.append(
            Row(
                (w.name(u.param), w.number(u.before), w.number(final.params[u.param])),
                subject=(u.param,),
            )
        )
    return table
