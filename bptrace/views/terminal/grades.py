"""Render graded worksheets with rich: each sheet's cells not right, and the class summary."""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Group, RenderableType
from rich.text import Text

from bptrace.views.grading import Report, Summary
from bptrace.views.terminal.steps import Heading, new_table, titled


def score_line(report: Report) -> str:
    """Return a worksheet's score in words."""
    right, total = report.count("right"), len(report.graded)
    return (
        f"Score: {right} of {total} cells right ({report.score:.0%}); "
        f"{report.count('wrong')} wrong, {report.count('unanswered')} unanswered."
    )


def render_report(report: Report, titles: Mapping[str, str]) -> RenderableType:
    """Return one worksheet's wrong and unanswered cells, and its score."""
    variant = f" (variant {report.variant})" if report.variant else ""
    parts: list[RenderableType] = [Heading(f"{report.file}{variant}")]
    problems = report.problems
    if problems:
        table = new_table("Cells not right", ("cell", "answer", "key", "why"))
        for g in problems:
            answer = "" if g.given is None else g.given.text
            table.add_row(
                g.expected.cell.id,
                answer,
                g.expected.cell.text,
                g.why,
                style="dim" if g.status == "unanswered" else None,
            )
        parts.append(titled(table))
        named = dict.fromkeys(m for g in problems for m in g.mistakes if m in titles)
        if named:  # each mistake's title once, under the table
            parts += [Text(""), *(Text(f"{m}: {titles[m]}") for m in named)]
    parts += [Text(""), Text(score_line(report), style="bold"), Text("")]
    return Group(*parts)


def render_summary(summary: Summary, titles: Mapping[str, str], top: int = 10) -> RenderableType:
    """Return the class summary: the cells most often not right, and the commonest mistakes."""
    reports = summary.reports
    mean = sum(r.score for r in reports) / len(reports) if reports else 0.0
    parts: list[RenderableType] = [
        Heading("Class summary"),
        Text(f"{len(reports)} worksheets graded, mean score {mean:.0%}."),
    ]
    if summary.cells:
        cells = new_table(
            "Cells most often not right",
            ("cell", "key", "wrong", "unanswered", "mistake"),
            numeric_from=2,
            text=(4,),
        )
        for c in summary.cells[:top]:
            key = c.key if c.key is not None else "varies"  # each variant has its own
            cells.add_row(c.cell.id, key, str(c.wrong), str(c.unanswered), c.mistake or "")
        if len(summary.cells) > top:
            cells.caption = f"… and {len(summary.cells) - top} more cells (--json lists them all)"
        parts.append(titled(cells))
    if summary.mistakes or summary.unexplained or summary.carried:
        # The title last, where it may wrap: beside the counts, not in a table of its own.
        mistakes = new_table(
            "Mistakes most common",
            ("mistake", "cells", "worksheets", "what"),
            numeric_from=1,
            text=(3,),
        )
        for mistake, n, sheets in summary.mistakes:
            mistakes.add_row(mistake, str(n), str(sheets), titles.get(mistake, ""))
        if summary.carried:
            mistakes.add_row("carried forward", str(summary.carried), "", "from a wrong cell")
        if summary.unexplained:
            mistakes.add_row("unexplained", str(summary.unexplained), "", "no known mistake")
        parts.append(titled(mistakes))
    parts.append(Text(""))
    return Group(*parts)
