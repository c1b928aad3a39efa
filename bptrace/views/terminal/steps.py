"""Render step records as the four tables a lecturer writes on the board, with rich."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.rule import Rule
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from bptrace.engine.graph import Graph
from bptrace.engine.tracer import Chain, Final, Step
from bptrace.errors import NumericFault
from bptrace.language.printer import MATH, Notation, format_number, name_text, partial_text, show
from bptrace.views import tables, writers
from bptrace.views.tables import MAX_ROWS
from bptrace.views.terminal import _grid, fit

if TYPE_CHECKING:
    from bptrace.engine.check import CheckStep
    from bptrace.views.matrices import Block

T = TypeVar("T")


class PipeConsole(Console):
    """The console of a command's output: it raises BrokenPipeError when its reader goes away,
    instead of exiting with 1, and ends no line in the spaces that pad it (see _trimmed). With
    `ascii_only`, rules and tables are drawn in ASCII, as on a terminal that cannot show Unicode
    (`--ascii`)."""

    def __init__(self, *args, ascii_only: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.ascii_only = ascii_only

    @property
    def options(self) -> ConsoleOptions:
        options = super().options
        if self.ascii_only:
            # What rich reads to draw rules with '-' and boxes in ASCII (_grid.HEAD too).
            options.encoding = "ascii"
        return options

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError

    _rendering = False  # inside a render: what a table renders for its cells is left as it is

    def render(self, renderable, options=None):
        if self._rendering:
            return super().render(renderable, options)
        self._rendering = True
        try:
            # Rendered in full here, nested renders too.
            return iter(_trimmed(super().render(renderable, options)))
        finally:
            self._rendering = False


def output(ascii_only: bool = False) -> PipeConsole:
    """Return the console of a command's results, on stdout (see PipeConsole)."""
    return PipeConsole(highlight=False, soft_wrap=False, ascii_only=ascii_only)


@dataclass(frozen=True, slots=True)
class View:
    """What to show and how: sections, significant digits, and the notation for math."""

    sections: tuple[str, ...] = tables.TABLES
    precision: int = 4
    notation: Notation = MATH
    max_rows: int | None = MAX_ROWS  # rows per table before the middle is summarised; None: all
    # One param and the nodes on its paths to the loss, highlighted.
    focus: frozenset[str] = frozenset()
    sample: int | None = None  # with samples: the one shown (numbered from 0), else the first few
    block: Block | None = None  # the matrix view: the rows and columns of one layer to show whole

    def focused(self, subject: tuple[str, ...]) -> bool:
        """Tell whether a row about `subject` (node, edge's ends, param) is on the focused paths."""
        return bool(self.focus) and bool(subject) and all(name in self.focus for name in subject)

    def pick(self, items: Sequence[T]) -> list[T | None]:
        """Return the items a table shows: all, or the first and last few with None for the gap."""
        return tables.picked(items, self.max_rows)

    def gap(
        self, table: Table, items: Sequence, columns: int, noun: str = "", hidden: int | None = None
    ) -> None:
        """Add a row standing for the rows left out, and say under the table how to see them."""
        if hidden is None:
            hidden = len(items) - (self.max_rows or 0)
        label = f"{self.notation.dots} {hidden:,} more {noun}".rstrip()
        table.add_row(Text(label, style="dim"), *([""] * (columns - 1)))
        table.caption = "Some rows are left out: --all shows every row."
        table.caption_justify = "left"
        table.caption_style = "dim"


def render_step(graph: Graph, step: Step, view: View) -> RenderableType:
    """Return everything shown for one step."""
    parts: list[RenderableType] = [Heading(f"Step {step.step}")]
    if step.samples is not None:
        parts.append(Text(batch_note(graph, step, view), style="dim"))
    if graph.seed is not None and step.step == 1:
        parts.append(Text(drawn_note(graph, view), style="dim"))
    if "forward" in view.sections:
        parts += [leaves_line(graph, step, view), titled(_forward(graph, step, view))]
        if step.samples is not None:
            parts.append(batch_loss(graph, step, view))
    if "partials" in view.sections:
        parts.append(titled(_partials(graph, step, view)))
        gradients = _gradients(graph, step, view)
        if gradients.row_count > 1:  # more than the seed ∂L/∂L = 1
            parts.append(titled(gradients))
    if "chains" in view.sections:
        parts.append(titled(_chains(graph, step, view)))
    if "updates" in view.sections:
        parts.append(titled(_updates(graph, step, view)))
    return Group(*parts, Text(""))


@dataclass(frozen=True, slots=True)
class Heading:
    """A rule with a title in it, as rich's Rule; a title too long for the width goes whole under a
    plain rule (rich would cut it short with an ellipsis)."""

    title: str
    style: str = "bold"

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        # A space and a rule character on each side.
        if cell_len(self.title) + 4 <= options.max_width:
            # A file name's [red] is not markup.
            yield Rule(Text(self.title, style="rule.text"), style=self.style)
        else:
            # rich's Rule draws a rule without a title in its own characters, even in ASCII
            yield Rule(style=self.style, characters="-" if options.ascii_only else "─")
            yield Text(self.title, style=self.style)


def batch_loss(graph: Graph, step: Step, view: View) -> Text:
    """Return the line under the forward pass giving the loss training lowers: the batch's mean."""
    loss = name_text(graph.loss, view.notation)
    return Text.assemble(
        f"{tables.batch_loss_said(graph, step)}{loss} = ",
        (format_number(step.loss, view.precision, view.notation), "bold"),
    )


def drawn_note(graph: Graph, view: View) -> str:
    """Return which params started at random values, and the seed that makes them reproducible."""
    n = view.notation
    drawn = [
        f"{name_text(leaf.name, n)} ~ {leaf.drawn.replace('-', n.minus)}"
        for leaf in graph.leaves
        if leaf.drawn
    ]
    return f"drawn with seed {graph.seed}: {', '.join(drawn)}."


def batch_note(graph: Graph, step: Step, view: View) -> str:
    """Return what a batch step shows: how many samples, which of them, and what the means are."""
    n, dots = step.samples, view.notation.dots
    said = tables.samples_said(graph, step, dots)
    if view.sample is not None:
        return f"{said}; showing sample {view.sample + 1}."
    if n > tables.MAX_SAMPLES:
        numbers = step.indices or range(n)
        shown = ", ".join(str(i + 1) for i in numbers[: tables.MAX_SAMPLES])
        more = "" if step.indices is not None else " (--sample i shows sample i)"
        return f"{said}; showing samples {shown}, {dots}{more}."
    return said + "."


def render_final(graph: Graph, first: Step, final: Final, view: View) -> RenderableType:
    """Return the summary after the last step: the final loss and the final params."""
    rows = tables.summary(graph, first, final, writers.Writer(view.notation, view.precision))
    rows.rows[0] = tables.Row(rows.rows[0].cells, "total")  # bold, not the forward pass's yellow
    return Group(Heading("Summary"), titled(_rich(rows, view)), Text(""))


def render_curve(
    losses: list[float], view: View, width: int, batched: bool = False, stopped: bool = False
) -> RenderableType:
    """Return the loss over the run as a sparkline, from the first step to the final params (or the
    last batch); when the run `stopped` at a fault, each step's loss until then."""
    from bptrace.views.curve import curve

    num = _num(view)
    first, last = num(losses[0]), num(losses[-1])
    drawn = curve(
        losses,
        max(10, min(60, width - len(first) - len(last) - 4)),
        view.notation.bars,
    )
    scale = "log scale" if drawn.log else "linear scale"
    steps = len(losses) if batched else len(losses) - 1
    what = "each step's batch loss" if batched else "loss"
    when = f"at steps 1 to {len(losses):,}" if stopped else f"over {steps:,} steps"
    extremes = f"lowest {num(drawn.low)}, highest {num(drawn.high)}"
    title = f"{what[0].upper()}{what[1:]} {when} ({scale}, {extremes})"
    line = Text.assemble(first + "  ", (drawn.bars, "bold"), "  " + last)
    return Group(Text(title, style="bold"), line, Text(""))


def _num(view: View):
    return lambda v: format_number(v, view.precision, view.notation)


def new_table(
    title: str, headers: Iterable[str], numeric_from: int = 99, text: Iterable[int] = ()
) -> Table:
    """Return a table: columns from `numeric_from` on hold numbers (right-justified), but `text`."""
    # The title is a caption above the table, not rich's title, which would wrap at the table's
    # width.
    table = Table(box=_grid.HEAD, show_edge=False, pad_edge=False)
    table.caption_title = title
    for i, header in enumerate(headers):
        table.add_column(
            header,
            justify="right" if i >= numeric_from and i not in text else "left",
            overflow="fold",
        )
    return table


def titled(table: Table, gap: bool = True) -> RenderableType:
    """Return a table under its title (after a blank line, with `gap`), and its note (rows left out,
    say) under it, at the terminal's width: as rich's caption it would wrap at the table's, one word
    a line under a narrow table."""
    note, table.caption = table.caption, None
    below = [Text(note, style=table.caption_style or "dim")] if note else []
    return Group(*[Text("")] * gap, Text(table.caption_title, style="bold"), _Fitted(table), *below)


@dataclass(frozen=True, slots=True)
class _Fitted:
    """A table in the terminal's width, cutting no number, name or header word (see
    bptrace.views.terminal.fit).

    A table that fits on one line a row is laid out by bptrace.views.terminal._grid; one that must
    wrap is rebuilt, each cell wrapped at its own breaks. Columns that do not fit beside the others
    follow in a table of their own under it, the first column (the names) repeated; only a column
    too wide to stand even beside the names alone is left out, with a note.
    """

    table: Table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        layout = fit.plan_table(self.table, console, width)
        rest = [i for i in range(len(self.table.columns)) if i not in layout.shown]
        part = self.table if layout.one_line else fit.fitted(self.table, layout, console)
        left_out: list[int] = []
        while part is not None:
            segments = _grid.lines(part, console, options)
            yield part if segments is None else _Segments(segments)
            part = None
            while rest and part is None:
                # The next columns in their order, as many as fit beside the names.
                for k in range(len(rest), 0, -1):
                    picked = fit.columns(self.table, [0, *rest[:k]])
                    layout = fit.plan_table(picked, console, width)
                    if len(layout.shown) == k + 1:
                        yield Text("")
                        part, rest = (
                            picked if layout.one_line else fit.fitted(picked, layout, console),
                            rest[k:],
                        )
                        break
                else:  # too wide to stand even beside the names alone
                    left_out.append(rest.pop(0))
        if left_out:
            headers = [fit.plain(self.table.columns[i].header, console).plain for i in left_out]
            yield Text(
                fit.left_out_note(headers, fit.plan_table(self.table, console, 0).needed),
                style="dim",
            )


@dataclass(frozen=True, slots=True)
class _Segments:
    """Segments already laid out (by bptrace.views.terminal._grid), rendered as they are."""

    segments: list

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        return self.segments


def _trimmed(segments: Iterable[Segment]) -> list[Segment]:
    """Return lines without the spaces that pad them: a table's last cells to their column's width,
    wrapped text to the terminal's. Copied into slides, they would be trailing whitespace. Spaces
    that show (a background, an underline, reverse video) stay."""
    out: list[Segment] = []
    start = 0  # where the current line began in `out`

    def end_line(newline: Segment) -> None:
        nonlocal start
        while len(out) > start and _invisible(out[-1]):
            last = out.pop()
            if last.text.strip(" "):
                out.append(Segment(last.text.rstrip(" "), last.style))
                break
        out.append(newline)
        start = len(out)

    for segment in segments:
        if segment.control or "\n" not in segment.text:
            out.append(segment)
            continue
        *lines, rest = segment.text.split("\n")  # wrapped text: one segment holds several lines
        for text in lines:
            if text:
                out.append(Segment(text, segment.style))
            end_line(Segment("\n", segment.style) if segment.text == "\n" else Segment.line())
        if rest:
            out.append(Segment(rest, segment.style))
    return out


def _invisible(segment: Segment) -> bool:
    """Tell whether a segment's trailing spaces are invisible: no background, underline, reverse."""
    style = segment.style
    return not segment.control and (
        style is None or not (style.bgcolor or style.underline or style.reverse or style.strike)
    )


MAX_LEAVES = 16  # of each kind on the line above the forward pass, unless --all
# Factors of a path in the chain rule table, unless --all: a path of 90 would fill a screen.
MAX_FACTORS = 8


def leaves_line(graph: Graph, step: Step, view: View) -> _Packed:
    n = view.notation
    num = writers.Writer(n, view.precision).number  # samples as [0, 1, 1, 0]
    groups: dict[str, list] = {}
    for leaf in graph.leaves:
        groups.setdefault(leaf.kind, []).append(leaf)
    units = []
    for kind, leaves in groups.items():
        # A thousand params: no one reads them all here.
        if view.max_rows is not None and len(leaves) > MAX_LEAVES:
            shown = leaves[:MAX_LEAVES] + [
                leaf for leaf in leaves[MAX_LEAVES:] if leaf.name in view.focus
            ]
            more = f"{n.dots} and {len(leaves) - len(shown):,} more (--all shows every one)"
        else:
            shown, more = leaves, None
        items = [f"{name_text(leaf.name, n)} = {num(step.values[leaf.name])}" for leaf in shown] + (
            [more] if more else []
        )
        labelled = [f"{tables.LEAF_TITLES[kind]}: {items[0]}", *items[1:]]
        units += [item + "," for item in labelled[:-1]] + [labelled[-1] + "  "]
    return _Packed(units, "dim")


@dataclass(frozen=True, slots=True)
class _Packed:
    """Units of text laid out left to right, wrapped only between units (never in `w₂ = 0.3`)."""

    units: list[str]
    style: str

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        line = ""
        for unit in self.units:
            candidate = f"{line} {unit}" if line else unit
            if line and cell_len(candidate.rstrip()) > options.max_width:
                yield Text(line.rstrip(), style=self.style)
                candidate = unit
            line = candidate
        if line:
            yield Text(line.rstrip(), style=self.style)


def render_stopped(graph: Graph, fault: NumericFault, view: View) -> RenderableType:
    """Return the stopped step's forward pass, up to the node whose value is not finite."""
    values = fault.computed or {}
    when = f"after step {fault.step - 1}" if fault.final else f"Step {fault.step}"
    stopped = Step(
        step=fault.step,
        lr=0.0,
        loss=values.get(graph.loss, float("nan")),
        values=values,
        partials=(),
        grads={},
        chains=(),
        updates=(),
    )
    table = _forward(graph, stopped, view, only=set(values))
    table.caption_title = "Forward pass, until a value stopped being finite"
    return Group(Heading(f"{when}: stopped", "bold red"), titled(table), Text(""))


def _forward(graph: Graph, step: Step, view: View, only: set[str] | None = None) -> Table:
    return _rich(tables.forward(graph, step, writer(view, step, graph), only), view)


def _partials(graph: Graph, step: Step, view: View) -> Table:
    return _rich(tables.partials(graph, step, writer(view, step, graph)), view)


def _gradients(graph: Graph, step: Step, view: View) -> Table:
    return _rich(tables.gradients(graph, step, writer(view, step, graph)), view)


def _chains(graph: Graph, step: Step, view: View) -> Table:
    w = writer(view, step, graph)
    empty = tables.chains_head(w)
    table = new_table(empty.title, empty.headers, empty.numeric_from)
    picked = _pick_chains(step.chains, view)
    limit, shortened = (MAX_FACTORS if view.max_rows is not None else None), False
    for chain in picked:
        if chain is None:
            view.gap(
                table,
                step.chains,
                len(empty.headers),
                noun="params",
                hidden=len(step.chains) - len(picked) + 1,
            )
            continue
        shown = tables.Shortened(limit, _shown_paths(view))
        for row in tables.chain_rows(chain, graph.loss, w, step.grads.get(chain.param), shown):
            add_row(table, row, view)
        shortened = shortened or (
            limit is not None and any(len(path.factors) > limit for path in chain.paths)
        )
    if shortened:  # after the gap's caption, which this one includes
        table.caption = (
            "Long paths are shortened, and some rows may be left out: --all shows everything."
        )
        table.caption_justify, table.caption_style = "left", "dim"
    return table


def _pick_chains(chains: Sequence[Chain], view: View) -> list[Chain | None]:
    """Return the chains to show: whole chains, until about max_rows rows, then the last few.

    Only the chains looked at are worked out, so a network of 10,000 params costs no more than one
    of 60.
    """
    if view.max_rows is None:
        return list(chains)
    used = 0
    for chain in chains:
        used += _rows(chain, view)
        if used > view.max_rows:
            break
    else:
        return list(chains)
    head, used = 0, 0
    while head < len(chains) and used + _rows(chains[head], view) <= view.max_rows - 10:
        used, head = used + _rows(chains[head], view), head + 1
    tail, used = len(chains), 0
    while tail > head + 1 and used + _rows(chains[tail - 1], view) <= 10:
        used, tail = used + _rows(chains[tail - 1], view), tail - 1
    if tail <= max(head, 1):  # one chain longer than the table: shown whole, nothing left out
        return list(chains)
    return [*chains[: max(head, 1)], None, *chains[tail:]]


def _shown_paths(view: View) -> int | None:
    """Return how many of a chain's paths a view shows: a table's worth (--all: all listed)."""
    return None if view.max_rows is None else view.max_rows - 10


def _rows(chain: Chain, view: View) -> int:
    """Return how many table rows a chain takes: its paths, a note of those not listed, the sum."""
    listed = min(len(chain.paths), _shown_paths(view) or len(chain.paths))
    return 1 if not listed else listed + (chain.paths_total > listed) + (chain.paths_total > 1)


def _updates(graph: Graph, step: Step, view: View) -> Table:
    return _rich(tables.updates(graph, step, writer(view, step, graph)), view)


def writer(view: View, step: Step, graph: Graph) -> writers.Writer:
    """Return how the view writes cells: with samples, which ones are columns."""
    return tables.for_step(writers.Writer(view.notation, view.precision), graph, step, view.sample)


def _rich(rows: tables.TableRows, view: View) -> Table:
    """Return a table's rows as a rich Table, the middle of a long one summarised by the view."""
    table = new_table(rows.title, rows.headers, rows.numeric_from, rows.text)
    for row in view.pick(rows.rows):
        if row is None:
            view.gap(table, rows.rows, len(rows.headers))
            continue
        add_row(table, row, view)
    return table


_ROW_STYLES = {"loss": "bold yellow", "sum": "bold", "total": "bold"}
_NOTE_STYLES = {"note": "dim", "sum": "italic"}


def add_row(table: Table, row: tables.Row, view: View) -> None:
    cells: list = list(row.cells)
    if row.kind in _NOTE_STYLES:
        cells[1] = Text(cells[1], style=_NOTE_STYLES[row.kind])
    style = _ROW_STYLES.get(row.kind)
    if view.focused(row.subject):
        cells[0] = marked(cells[0], view)
        style = FOCUS_STYLE
    table.add_row(*cells, style=style)


FOCUS_STYLE = "bold red"  # as the handout marks g in red


def marked(label: str, view: View) -> str:
    """Return a focused row's label with a marker, visible without colour too."""
    return f"{view.notation.marker} {label}" if label else label


def render_check(graph: Graph, checked: CheckStep, view: View) -> RenderableType:
    """Return a step's gradient check: each param's analytic and numeric gradient, bad partials."""
    n, num = view.notation, _num(view)
    table = new_table(
        f"Gradient check, step {checked.step}: analytic beside central differences",
        ("gradient", "analytic", "numeric", "abs error", "rel error", "result"),
        numeric_from=1,
    )
    for g in checked.grads:
        r = g.result
        error = lambda v: format_number(v, 3, n)  # noqa: E731 - errors need no more digits
        table.add_row(
            partial_text(graph.loss, g.param, n),
            num(r.analytic),
            num(r.numeric),
            error(r.abs_error),
            error(r.rel_error),
            _STATUS[r.status],
            style=_STATUS_STYLE[r.status],
        )
    # The output's first line is the title.
    parts: list[RenderableType] = [titled(table, gap=checked.step > 1)]
    wrong = [p for p in checked.partials if p.result.status != "ok"]
    if wrong:
        kinds = {p.result.status for p in wrong}
        if kinds == {"mismatch"}:
            title = "Local derivatives that disagree, node by node"
        elif kinds == {"unstable"}:
            title = "Local derivatives finite differences cannot check here, node by node"
        else:
            title = (
                "Local derivatives that disagree, or that finite differences cannot check here, "
                "node by node"
            )
        local = new_table(
            title, ("partial", "formula", "analytic", "numeric", "result"), numeric_from=2
        )
        for p in wrong:
            local.add_row(
                partial_text(p.edge.of, p.edge.wrt, n),
                show(p.edge.formula, n),
                num(p.result.analytic),
                num(p.result.numeric),
                _STATUS[p.result.status],
                style=_STATUS_STYLE[p.result.status],
            )
        parts.append(titled(local))
    return Group(*parts, Text(""))


_STATUS = {"ok": "ok", "mismatch": "MISMATCH", "unstable": "unstable"}
_STATUS_STYLE = {"ok": None, "mismatch": "bold red", "unstable": "yellow"}
