"""The four tables of a step as rows of text, written by a Writer: Unicode math or LaTeX.

The terminal (render.py), Markdown and LaTeX handouts (handout.py) all show these rows, so the
three can never disagree about what a cell says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bptrace import latex
from bptrace.chains import MAX_LISTED_LENGTH
from bptrace.graph import Graph
from bptrace.printer import Notation, format_number, name_text, partial_text, show
from bptrace.syntax import Expr
from bptrace.tracer import Chain, Step

TABLES = ("forward", "partials", "chains", "updates")


@dataclass(frozen=True, slots=True)
class Writer:
    """How a cell writes names, formulas, partials and numbers."""

    notation: Notation
    precision: int
    tex: bool = False  # LaTeX math instead of Unicode text

    def name(self, name: str) -> str:
        return latex.name(name) if self.tex else name_text(name, self.notation)

    def expr(self, e: Expr, value_of: Callable[[str], str] | None = None) -> str:
        return latex.formula(e, value_of) if self.tex else show(e, self.notation, value_of)

    def inline(self, name: str) -> str:
        """Return a name inside prose: $w_{1}$ in LaTeX."""
        return f"${latex.name(name)}$" if self.tex else name_text(name, self.notation)

    def partial(self, of: str, wrt: str) -> str:
        return latex.partial(of, wrt) if self.tex else partial_text(of, wrt, self.notation)

    def number(self, v) -> str:
        text = format_number(v, self.precision, self.notation)
        return latex.number(text) if self.tex else text

    @property
    def times(self) -> str:
        return r" \cdot " if self.tex else f" {self.notation.times} "

    @property
    def alpha(self) -> str:
        return r"\alpha" if self.tex else "α" if self.notation.pretty else "lr"

    def note(self, text: str) -> str:
        """Return prose inside a math cell."""
        return rf"\text{{{text}}}" if self.tex else text


@dataclass(frozen=True, slots=True)
class Row:
    """One row: its cells, and what kind of row it is (for styling): plain, loss, note or sum."""

    cells: tuple[str, ...]
    kind: str = "plain"
    subject: tuple[str, ...] = ()  # the names the row is about: a node, an edge's two ends, a param


@dataclass(frozen=True, slots=True)
class TableRows:
    """A table's title, column headers (numeric columns from `numeric_from` on) and rows."""

    title: str
    headers: tuple[str, ...]
    rows: list[Row] = field(default_factory=list)
    numeric_from: int = 99


def forward(graph: Graph, step: Step, w: Writer, only: set[str] | None = None) -> TableRows:
    value_of = lambda name: w.number(step.values[name])  # noqa: E731
    table = TableRows("Forward pass", ("node", "expression", "with numbers", "value"), numeric_from=3)
    for node in graph.nodes:
        if only is not None and node.name not in only:
            continue
        is_loss = node.name == graph.loss
        label = f"loss {w.name(node.name)}" if is_loss and not w.tex else w.name(node.name)
        cells = (label, w.expr(node.expr), w.expr(node.expr, value_of), w.number(step.values[node.name]))
        table.rows.append(Row(cells, "loss" if is_loss else "plain", (node.name,)))
    return table


def partials(graph: Graph, step: Step, w: Writer) -> TableRows:
    table = TableRows(f"Local derivatives, backwards from {w.inline(graph.loss)}", ("partial", "formula", "value"), numeric_from=2)
    for p in step.partials:
        table.rows.append(Row((w.partial(p.of, p.wrt), w.expr(p.edge.formula), w.number(p.value)), subject=(p.of, p.wrt)))
    return table


def chain_rows(chain: Chain, loss: str, w: Writer) -> list[Row]:
    """Return one param's rows: a product per listed path, a note of the rest, the sum over paths."""
    label = w.partial(loss, chain.param)
    if chain.paths_total == 0:
        return [Row((label, w.note("no path: the loss does not depend on it"), "", w.number(chain.grad)), "note", (chain.param,))]
    if not chain.paths:
        paths = "1 path of" if chain.paths_total == 1 else f"{chain.paths_total:,} paths, each of"
        text = f"{paths} more than {MAX_LISTED_LENGTH:,} factors: counted, not listed"
        return [Row((label, w.note(text), "", w.number(chain.grad)), "note", (chain.param,))]
    rows = []
    for i, path in enumerate(chain.paths):
        symbols = w.times.join(w.partial(a, b) for a, b in zip(path.nodes, path.nodes[1:]))
        if len(path.nodes) == 2 and chain.paths_total > 1:
            symbols += w.note(" (direct)")  # the local partial, not the whole gradient of the same name
        numbers = w.times.join(f"({w.number(f)})" for f in path.factors)
        rows.append(Row((label if i == 0 else "", symbols, numbers, w.number(path.value)), subject=(chain.param,)))
    if chain.paths_total > 1:
        more = chain.paths_total - len(chain.paths)
        if more:
            noun = "path" if more == 1 else "paths"
            dots = "…" if w.notation.pretty and not w.tex else "..."
            rows.append(Row(("", w.note(f"{dots} and {more:,} more {noun} (not listed; --max-paths shows more)"), "", ""), "note", (chain.param,)))
        rows.append(Row(("", w.note(f"sum over the {chain.paths_total:,} paths"), "", w.number(chain.grad)), "sum", (chain.param,)))
    return rows


CHAINS_TITLE = "Chain rule, one product per path"
CHAINS_HEADERS = ("gradient", "chain", "with numbers", "value")


def chains(step: Step, loss: str, w: Writer) -> TableRows:
    table = TableRows(CHAINS_TITLE, CHAINS_HEADERS, numeric_from=3)
    for chain in step.chains:
        table.rows.extend(chain_rows(chain, loss, w))
    return table


def updates(step: Step, w: Writer) -> TableRows:
    # Written in the columns' words, so it never clashes with a node the user called p.
    if w.tex:
        title = rf"Update: after $=$ before $- \alpha \cdot$ gradient, with $\alpha = {w.number(step.lr)}$"
        scaled = r"$\alpha \cdot$ gradient"
    else:
        n = w.notation
        title = f"Update  after = before {n.minus} {w.alpha}{n.times}gradient   ({w.alpha} = {w.number(step.lr)})"
        scaled = f"{w.alpha}{n.times}gradient"
    table = TableRows(title, ("param", "before", "gradient", scaled, "after"), numeric_from=1)
    for u in step.updates:
        cells = (w.name(u.param), w.number(u.before), w.number(u.grad), w.number(u.lr * u.grad), w.number(u.after))
        table.rows.append(Row(cells, subject=(u.param,)))
    return table
