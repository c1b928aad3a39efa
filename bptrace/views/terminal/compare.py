"""Render two traces' differences, table by table, with rich: `compare` and `mistakes --show`."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Group as Stack
from rich.console import RenderableType
from rich.text import Text

from bptrace.views.differences import TITLES, Group
from bptrace.views.terminal.steps import Heading, View, new_table, titled
from bptrace.views.writers import prose

FIRST = "first divergence: "


def render_groups(
    groups: Iterable[Group], view: View, names: tuple[str, str], steps: int
) -> list[RenderableType]:
    """Return each step's heading and its tables of changed numbers (`names`: the two traces'),
    the numbers after the last of `steps` under a heading of their own."""
    parts: list[RenderableType] = []
    step = 0
    for group in groups:
        if group.step != step:
            step = group.step
            heading = f"Step {step}" if step <= steps else f"After step {steps}"
            parts += [Text(""), Heading(heading)]
        table = new_table(TITLES[group.table], ("", *names, "ratio", "why"), 1, (4,))
        for row in group.rows:
            why = Text(row.why)
            if row.first:
                why = Text.assemble((FIRST, "bold"), row.why)
            # Text, not str: a cell's [i] is not rich markup
            cells = (Text(row.label), Text(row.a), Text(row.b), Text(row.ratio), why)
            table.add_row(*cells, style="bold" if row.first else None)
        if group.hidden:  # said in the last column: a long first cell would widen the names'
            more = f"{group.hidden:,} more changed numbers"
            table.add_row(
                Text(view.notation.dots, style="dim"), "", "", "", Text(more, style="dim")
            )
        notes = [group.summary.capitalize() + "."] if group.summary else []
        if group.hidden:
            notes.append("Some rows are left out: --all shows every row.")
        if notes:
            table.caption, table.caption_style = " ".join(notes), "dim"
        parts.append(titled(table))
    return parts


def render_comparison(
    title: str,
    lines: list[str],
    groups: Iterable[Group],
    view: View,
    names: tuple[str, str],
    steps: int,
) -> RenderableType:
    """Return a comparison: its title, what was compared, then each step's changed tables."""
    return Stack(
        Heading(title),
        Text(""),
        *(Text(line) for line in lines),
        *render_groups(groups, view, names, steps),
        Text(""),
    )


def render_mistakes(title: str, rows: list[tuple], view: View) -> RenderableType:
    """Return the table of mistakes: where each first departs from the right trace, and by how
    much; then what each one writes."""
    table = new_table(
        "Where each mistake first departs from the right trace",
        ("mistake", "first departs at", "right", "with it", "numbers changed"),
        2,
    )
    for mistake, where, right, wrong, changed in rows:
        style = "dim" if not right else None
        cells = (mistake.id, where, right, wrong, changed)
        table.add_row(*map(Text, cells), style=style)  # ∂h[i]/∂v[j] is not rich markup
    said = new_table("What each mistake writes", ("mistake", "the mistake", "right"))
    for mistake, *_ in rows:
        wrong, right = prose(mistake.wrong, view.notation), prose(mistake.right, view.notation)
        said.add_row(*map(Text, (mistake.id, wrong, right)))
    note = "bptrace mistakes FILE --show ID shows every number one mistake changes, and why."
    return Stack(
        Heading(title), titled(table), titled(said), Text(""), Text(note, style="dim"), Text("")
    )
