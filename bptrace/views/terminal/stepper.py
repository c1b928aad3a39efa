"""Cut a step into the pieces a lecturer reveals a key at a time, as a slide is built up.

A step's script is everything shown of it, as items (a heading, a title, a table's header, each
row), and the stops where the reveal may wait: after each forward node, each local derivative's
formula and then its number, each param's chain, each update. A stop says how much it shows, so
any screen can be drawn again from the script alone (bptrace.views.terminal.presenter goes back
and forth along the stops). Tables keep the layout of the whole table from their first row
(bptrace.views.terminal.fit: the same columns at the same widths), so rows line up as they arrive.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.control import Control
from rich.table import Table
from rich.text import Text

from bptrace.engine.graph import Graph
from bptrace.engine.tracer import Step
from bptrace.views import tables
from bptrace.views.terminal import _grid, fit
from bptrace.views.terminal.keys import Keys, Quit  # noqa: F401 - where callers found them
from bptrace.views.terminal.steps import (
    Heading,
    View,
    add_row,
    batch_loss,
    batch_note,
    leaves_line,
    writer,
)

ROW, TABLE, STEP = 0, 1, 2  # the pieces --by reveals: a stop's level says which of them it ends


@dataclass(frozen=True, slots=True)
class Stop:
    """A place where the reveal may wait: the script's items before `end`, then `tail`."""

    end: int
    tail: tuple[RenderableType, ...] = ()  # a row with its number blank: the formula comes first
    kind: str = "row"  # row; opening: a table's title and header; end: a table's last row
    level: int = ROW  # ROW, TABLE (a table's opening or end) or STEP (a step's first or last)
    page: int = 0  # the item a screen of this table alone starts at (--compact)


@dataclass(frozen=True, slots=True)
class Script:
    """A step as it is revealed: what is shown, in order, and where the reveal may wait."""

    items: tuple[RenderableType, ...]
    stops: tuple[Stop, ...]


@dataclass(frozen=True, slots=True)
class _Part:
    """One table of a step, with the lines shown just before and after it."""

    rows: tables.TableRows
    before: list[RenderableType] = field(default_factory=list)
    after: list[RenderableType] = field(default_factory=list)
    formula_first: bool = False
    by_subject: bool = False  # a param's chain, all its paths, is one piece


def script(out: Console, graph: Graph, step: Step, view: View, compact: bool = False) -> Script:
    """Return a step's script. `compact`: each table a screen of its own, under the step's heading,
    with no blank lines, and the numbers under the formula rather than in a column of their own."""
    w = writer(view, step, graph)
    opening: list[RenderableType] = [Heading(f"Step {step.step}")]
    if step.samples is not None:
        opening.append(Text(batch_note(graph, step, view), style="dim"))
    parts = []
    if "forward" in view.sections:
        after = [batch_loss(graph, step, view)] if step.samples is not None else []
        leaves = [leaves_line(graph, step, view)]
        parts.append(_Part(tables.forward(graph, step, w), leaves, after))
    if "partials" in view.sections:
        # Rewriting a row in place needs a terminal's cursor.
        parts.append(_Part(tables.partials(graph, step, w), formula_first=out.is_terminal))
    if "chains" in view.sections:
        parts.append(_Part(tables.chains(step, graph.loss, w), by_subject=True))
    if "updates" in view.sections:
        parts.append(_Part(tables.updates(graph, step, w)))
    items: list[RenderableType] = []
    stops: list[Stop] = []
    for t, part in enumerate(parts):
        first, last = t == 0, t == len(parts) - 1
        page = len(items)
        if compact:
            items += [*opening, *part.before]
        else:
            items += [*(opening if first else ()), *part.before, Text("")]
        rows = numbers_below(part.rows) if compact else part.rows
        # The whole table's, so rows line up.
        layout = fit.plan_table(_table(rows, list(rows.rows), view), out, out.width)
        items += [Text(rows.title, style="bold"), _fitted(rows, layout, out, header=True)]
        groups = list(_groups(rows.rows, part.by_subject))
        if groups:
            stops.append(
                Stop(len(items), kind="opening", level=STEP if first else TABLE, page=page)
            )
        for g, group in enumerate(groups):
            for row in group:
                if part.formula_first:
                    blank = tables.Row(
                        (*row.cells[:-1], " " * cell_len(row.cells[-1])), row.kind, row.subject
                    )
                    stops.append(Stop(len(items), (_Row(rows, layout, blank, view),), page=page))
                items.append(_Row(rows, layout, row, view))
            if g < len(groups) - 1:
                stops.append(Stop(len(items), page=page))
        left_out = [h for i, h in enumerate(rows.headers) if i not in layout.shown]
        if left_out:
            items.append(Text(fit.left_out_note(left_out, layout.needed), style="dim"))
        items += part.after
        if last and not compact:
            items.append(Text(""))
        stops.append(Stop(len(items), kind="end", level=STEP if last else TABLE, page=page))
    return Script(tuple(items), tuple(stops))


def numbers_below(rows: tables.TableRows) -> tables.TableRows:
    """Return a table with its "with numbers" column written under the formula before it: one
    column fewer, for a projector's few columns."""
    if "with numbers" not in rows.headers:
        return rows
    i = rows.headers.index("with numbers")

    def merged(row: tables.Row) -> tables.Row:
        cells = row.cells
        below = f"{cells[i - 1]}\n= {cells[i]}" if cells[i].strip() else cells[i - 1]
        return replace(row, cells=(*cells[: i - 1], below, *cells[i + 1 :]))

    return replace(
        rows,
        headers=rows.headers[:i] + rows.headers[i + 1 :],
        rows=tables.Rows(rows.rows, merged),
        numeric_from=rows.numeric_from - 1,
        text=tuple(t - (t > i) for t in rows.text if t != i),
    )


def reveal(out: Console, items: Sequence[RenderableType], before: Stop | None, after: Stop) -> None:
    """Print what `after` shows beyond `before`, a stop before it in the same items."""
    start = 0 if before is None else before.end
    if before is not None and before.tail and after.end > before.end:
        # The row's number is filled in on the same line: back up over its blank row.
        out.control(Control.move(0, -height(out, before.tail)))
    for item in (*items[start : after.end], *after.tail):
        out.print(item)


def height(out: Console, renderables: Sequence[RenderableType]) -> int:
    """Return how many lines `renderables` take on `out`."""
    return sum(len(out.render_lines(r, out.options)) for r in renderables)


def step_through(out: Console, graph: Graph, step: Step, view: View, keys: Keys) -> None:
    """Reveal one step piece by piece, waiting for a key before each piece (no going back)."""
    steps = script(out, graph, step, view)
    before = None
    for stop in steps.stops:
        reveal(out, steps.items, before, stop)
        before = stop
        if stop.kind != "end":
            keys.wait()


@dataclass(frozen=True, slots=True)
class _Row:
    """A row laid out as its whole table is, drawn when it is shown: a step of a large network has
    thousands, and a lecture shows a few of them."""

    rows: tables.TableRows
    layout: fit.Layout
    row: tables.Row
    view: View

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield _fitted(self.rows, self.layout, console, [self.row], self.view)


def _groups(rows: Sequence[tables.Row], by_subject: bool) -> Iterator[list[tables.Row]]:
    """Yield the rows revealed together: one at a time, or a param's whole chain."""
    group: list[tables.Row] = []
    for row in rows:
        if group and (not by_subject or row.subject != group[-1].subject):
            yield group
            group = []
        group.append(row)
    if group:
        yield group


def _fitted(
    rows: tables.TableRows,
    layout: fit.Layout,
    out: Console,
    body: list[tables.Row] = (),
    view: View = View(),
    header: bool = False,
) -> Table:
    """Return rows as laid out for the whole table: the same columns at the same widths."""
    return fit.fitted(_table(rows, body, view, header), layout, out, fixed=True)


def _table(
    rows: tables.TableRows, body: list[tables.Row] = (), view: View = View(), header: bool = False
) -> Table:
    table = Table(box=_grid.HEAD, show_edge=False, pad_edge=False, show_header=header)
    for i, name in enumerate(rows.headers):
        table.add_column(
            name, justify="right" if i >= rows.numeric_from and i not in rows.text else "left"
        )
    for row in body:
        add_row(table, row, view)
    return table
