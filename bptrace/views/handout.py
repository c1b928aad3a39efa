"""Write a run's tables as Markdown or LaTeX for handouts and worksheets, with chosen columns blank.

The rows come from tables.py, as on the terminal. A worksheet leaves the columns a student should
work out empty (all but the SCAFFOLD columns); the same run without blanks is its answer key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from bptrace.engine.graph import Graph
from bptrace.engine.tracer import Final, Step
from bptrace.language.diagnostics import escaped
from bptrace.language.printer import ASCII, BP, MATH, Notation, name_text, partial_text, show
from bptrace.views import latex, tables, writers

# The columns a worksheet keeps, by table: the rest (values, formulas, numbers, the optimiser's
# state, the batch's mean) are what a student works out, and are left empty.
SCAFFOLD = {
    "forward": ("node", "expression"),
    "partials": ("partial",),
    # ∂L/∂node summed over its uses: shown with the partials, blanked with them or the chains.
    "gradients": ("gradient",),
    "chains": ("gradient", "chain"),
    "updates": ("param", "before"),
}


@dataclass(frozen=True, slots=True)
class Sheet:
    """What a handout shows: its tables, the ones with blanks, digits, and how many rows at most."""

    sections: tuple[str, ...]
    blank: frozenset[str] = frozenset()
    precision: int = 4
    max_rows: int | None = None
    ascii_math: bool = False  # Markdown in plain .bp notation (LaTeX is ASCII anyway)


def markdown(
    graph: Graph, records: Iterator[Step | Final], sheet: Sheet, title: str, comment: str = ""
) -> Iterator[str]:
    """Yield a Markdown document, a step at a time; `comment` (HTML) goes under its title."""
    w = writers.Writer(_notation(sheet), sheet.precision)
    return _document(
        graph,
        records,
        sheet,
        w,
        _Form(
            begin=f"# {_md(title)}\n{comment}",
            step=lambda k, leaves: f"\n## Step {k}\n\n{_md(leaves)}\n",
            note=lambda prose, math: f"\n{_md(prose + math)}\n",
            table=lambda rows, blank: (
                f"\n### {_md(rows.title)}\n\n" + _md_table(rows, blank, sheet)
            ),
            summary=lambda rows: "\n## Summary\n\n" + _md_table(rows, set(), sheet),
            end=ending("markdown"),
            dots="…",
        ),
    )


def latex_document(
    graph: Graph, records: Iterator[Step | Final], sheet: Sheet, title: str
) -> Iterator[str]:
    """Yield a LaTeX document (article, amsmath), a step at a time."""
    names = [leaf.name for leaf in graph.leaves] + [node.name for node in graph.nodes]
    w = writers.TexWriter(replace(latex.TEX, spelled=latex.spellings(names)), sheet.precision)
    return _document(
        graph,
        records,
        sheet,
        w,
        _Form(
            begin=(
                "\\documentclass{article}\n\\usepackage{amsmath}\n\\usepackage{longtable}\n"
                "\\usepackage[margin=2cm]{geometry}\n"
                "\\renewcommand{\\arraystretch}{1.8}  % room for fractions between rows\n"
                f"\\begin{{document}}\n\\section*{{{latex.text(_ascii(escaped(title)))}}}\n"
            ),
            step=lambda k, leaves: f"\n\\subsection*{{Step {k}}}\n{leaves}.\n",
            note=lambda prose, math: f"\n{latex.text(prose)}{f'${math}$' if math else ''}\n",
            table=lambda rows, blank: _tex_table(rows, blank, sheet),
            summary=lambda rows: "\n\\subsection*{Summary}\n" + _tex_table(rows, set(), sheet),
            end=ending("latex"),
            dots="...",  # in prose: LaTeX sets ... as it is
        ),
    )


@dataclass(frozen=True, slots=True)
class _Form:
    """How one document format writes its parts."""

    begin: str
    step: Callable[[int, str], str]  # a step's heading, given its number and its leaves line
    note: Callable[[str, str], str]  # a paragraph: its prose, then math (LaTeX sets it in $…$)
    table: Callable[[tables.TableRows, set[int]], str]  # a table, given its blank columns
    summary: Callable[[tables.TableRows], str]  # the summary, under its heading
    end: str
    dots: str  # rows or samples left out, in prose


def _document(
    graph: Graph, records: Iterator[Step | Final], sheet: Sheet, w: writers.Writer, form: _Form
) -> Iterator[str]:
    """Yield a document's chunks: its beginning, one per step and per table, the summary, its end.

    A worksheet and its key yield the same number of chunks, so they can be written side by side.
    """
    yield form.begin
    first = None
    for record in records:
        if isinstance(record, Step):
            first = first or record
            w = tables.for_step(w, graph, record)
            yield form.step(record.step, _leaves(graph, record, w, sheet))
            if record.samples is not None:
                # Which samples, and that the loss and the gradients are their mean.
                said = tables.samples_said(graph, record, form.dots)
                yield form.note(said[0].upper() + said[1:] + ".", "")
            for rows, name in step_tables(graph, record, w, sheet):
                yield form.table(rows, _blanked(record, name, sheet, rows.headers))
                if name == "forward" and record.samples is not None:
                    # The loss training lowers: an answer where forward is blank.
                    loss = f"{w.name(graph.loss)} = " + (
                        "" if "forward" in sheet.blank else w.number(record.loss)
                    )
                    yield form.note(tables.batch_loss_said(graph, record), loss)
        elif first is not None:
            # A worksheet has no summary: its final values are the answers. (An empty chunk keeps
            # the worksheet in step with its key.)
            yield "" if sheet.blank else form.summary(tables.summary(graph, first, record, w))
    yield form.end


def ending(form: str) -> str:
    """Return what closes a document of `form`: nothing for Markdown, \\end{document} for LaTeX."""
    return "\n\\end{document}\n" if form == "latex" else ""


def step_tables(graph: Graph, step: Step, w: writers.Writer, sheet: Sheet):
    """Return the step's tables a sheet shows, each with its name, in the order shown."""
    made = {
        "forward": lambda: tables.forward(graph, step, w),
        "partials": lambda: tables.partials(graph, step, w),
        "chains": lambda: tables.chains(step, graph.loss, w),
        "updates": lambda: tables.updates(graph, step, w),
    }
    made = [(made[name](), name) for name in tables.TABLES if name in sheet.sections]
    # As the terminal shows it: after the partials, when a node has a gradient to sum.
    if "partials" in sheet.sections:
        gradients = tables.gradients(graph, step, w)
        if len(gradients.rows) > 1:  # more than the seed ∂L/∂L = 1
            made.insert([name for _, name in made].index("partials") + 1, (gradients, "gradients"))
    return made


def _notation(sheet: Sheet) -> Notation:
    """Return the notation of a Markdown sheet's math: slide math, or .bp text."""
    return BP if sheet.ascii_math else MATH


def _blanked(step: Step, name: str, sheet: Sheet, headers: tuple[str, ...]) -> set[int]:
    return blanked(name, step.step, sheet.blank, headers)


def blanked(name: str, step: int, blank: frozenset[str], headers: tuple[str, ...]) -> set[int]:
    """Return the columns left empty: the table's answers, an update's "before" after step 1.

    Also the numbers another table substitutes from a blank one (the chains' "with numbers" are the
    local derivatives' values).
    """
    if name == "chains" and "partials" in blank and name not in blank:
        return {i for i, header in enumerate(headers) if header == "with numbers"}
    if name not in blank and not (name == "gradients" and blank & {"partials", "chains"}):
        return set()  # (the summed gradients give the partials' and the chains' answers away)
    kept = set(SCAFFOLD[name]) - ({"before"} if name == "updates" and step > 1 else set())
    return {i for i, header in enumerate(headers) if header not in kept}


def leaks(graph: Graph, sheet: Sheet, steps: int) -> list[str]:
    """Return how a worksheet's tables, filled in, would give its blanks away, and what to do."""
    blank, shown = sheet.blank, set(sheet.sections)
    said = []
    using = (
        graph.partials_using_nodes() if "forward" in blank and "partials" in shown - blank else ()
    )
    if using:
        n, e = _notation(sheet), using[0]
        said.append(
            f"the local derivatives use node values, which the blank forward pass asks for "
            f"({partial_text(e.of, e.wrt, n)} = {show(e.formula, n)}): blank the partials too, "
            "or leave them out with --show"
        )
    if "chains" in blank and "updates" in shown - blank:
        said.append(
            "the updates show each gradient, which the blank chains ask for: "
            "blank the updates too, or leave them out with --show"
        )
    if "updates" in blank and steps > 1:
        said.append(
            "from step 2 on, the values shown come from the params the blank updates ask for: "
            "give --steps 1"
        )
    return said


def _leaves(graph: Graph, step: Step, w: writers.Writer, sheet: Sheet) -> str:
    """Return the step's inputs, targets, params and consts; a worksheet hides updated params."""
    hidden = _hides_updates(step, sheet)
    groups: dict[str, list[str]] = {}
    for leaf in graph.leaves:
        value = "?" if hidden and leaf.kind == "param" else w.number(step.values[leaf.name])
        item = f"{w.name(leaf.name)} = {value}"
        groups.setdefault(leaf.kind, []).append(w.math(item))
    return "; ".join(
        f"{tables.LEAF_TITLES[kind]}: {', '.join(items)}" for kind, items in groups.items()
    )


def _hides_updates(step: Step, sheet: Sheet) -> bool:
    """Tell whether a step's params would give away the blanked updates of the step before."""
    return "updates" in sheet.blank and step.step > 1


# -- Markdown -------------------------------------------------------------------------------------

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_{}[]<>|#$&~"})


def _md(text: str) -> str:
    """Return text on one line, Markdown's special characters escaped: w_1 and x*y stay as written.

    (& is escaped so that no entity is read, $ for renderers that set $…$ as math, ~ for
    strikethrough.)
    """
    return escaped(text).translate(_MD_SPECIAL)


def _md_table(rows: tables.TableRows, blank: set[int], sheet: Sheet) -> str:
    aligns = ["---:" if i >= rows.numeric_from else ":---" for i in range(len(rows.headers))]
    lines = [
        "| " + " | ".join(_md(h) for h in rows.headers) + " |",
        "| " + " | ".join(aligns) + " |",
    ]
    for row in tables.picked(rows.rows, sheet.max_rows):
        if row is None:
            hidden = len(rows.rows) - (sheet.max_rows or 0)
            lines.append(
                "| "
                + " | ".join(
                    [f"… {hidden:,} more rows (--all shows them)", *[""] * (len(rows.headers) - 1)]
                )
                + " |"
            )
            continue
        cells = ["" if i in blank and cell else _md(cell) for i, cell in enumerate(row.cells)]
        if row.kind in ("loss", "sum"):
            cells = [f"**{c}**" if c else c for c in cells]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# -- LaTeX ----------------------------------------------------------------------------------------


def _ascii(text: str) -> str:
    """Return text pdflatex can set (a file name): θ spelled theta, other letters unaccented."""
    return text if text.isascii() else name_text(text, ASCII)


# Characters a formula column's widest cell may show before the column wraps (in math, at + − ·).
_LONG = 40


def _shown_length(cell: str) -> int:
    """Return about how many characters a LaTeX cell shows: its text without commands and braces."""
    return len(re.sub(r"\\[a-zA-Z]+|[{}^_$]", "", cell))


def _tex_spec(rows: tables.TableRows, shown: list[tables.Row | None]) -> str:
    """Return a table's column spec: names left, numbers right, long text in columns that wrap.

    Long text: formulas with numbers, and formulas of more than _LONG characters in `shown` rows.
    """

    def column(i: int) -> str:
        if i in rows.text:
            return "p{4.5cm}"
        if i >= rows.numeric_from:
            return "r"
        if (
            i > 0
            and max((_shown_length(row.cells[i]) for row in shown if row is not None), default=0)
            > _LONG
        ):
            return "p{5cm}"
        return "l"

    return "".join(column(i) for i in range(len(rows.headers)))


def _tex_table(rows: tables.TableRows, blank: set[int], sheet: Sheet) -> str:
    shown = tables.picked(rows.rows, sheet.max_rows)
    spec = _tex_spec(rows, shown)
    title = rows.title  # written by the LaTeX writer: already LaTeX
    headers = [h if "$" in h else latex.text(h) for h in rows.headers]
    # Four samples' columns and more: narrower, to fit the page.
    room = r"\hspace{2.5cm}" if len(blank) <= 3 else r"\hspace{1.5cm}"
    lines = [
        f"\n\\paragraph{{{title}}}\\mbox{{}}",
        f"\\begin{{longtable}}{{{spec}}}",
        r"\hline",
        " & ".join(headers) + r" \\",
        r"\hline",
        r"\endhead",
    ]
    for row in shown:
        if row is None:
            hidden = len(rows.rows) - (sheet.max_rows or 0)
            lines.append(
                f"\\multicolumn{{{len(rows.headers)}}}{{l}}{{\\ldots\\ {hidden:,} more rows}} \\\\"
            )
            continue
        cells = []
        for i, cell in enumerate(row.cells):
            if i in blank and cell:
                cells.append(room)  # to write the answer in
            elif not cell:
                cells.append("")
            elif i == 0 and row.kind == "loss":
                cells.append(f"loss ${cell}$")
            else:
                cells.append(f"${cell}$")
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\hline", r"\end{longtable}", ""]
    return "\n".join(lines)
