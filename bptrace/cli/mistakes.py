"""`mistakes`: a network's right trace beside a student's, for each common mistake, and where each
first departs from it (engine/mistakes.py makes them, bptrace.api's comparing.py compares). No
typer here (teaching.py declares the options).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

from bptrace.api.comparing import collected, mistaken, mistakes_document, records, short
from bptrace.cli import process
from bptrace.cli.commands import UsageProblem, load_network
from bptrace.cli.differ import MAX_ROWS, counted, stops, warn_of_kinks, writer
from bptrace.language.diagnostics import escaped


class MistakesOptions(NamedTuple):
    """What `mistakes` was asked: steps, and one mistake to show in full (or every one's first)."""

    steps: int = 1
    lr: float | None = None
    precision: int = 4
    seed: int | None = None
    ascii_math: bool = False
    data: Path | None = None
    show: str | None = None  # a mistake's id: its every changed number, as compare shows them
    all_rows: bool = False
    json: bool = False


def mistakes(source: str, filename: str, how: MistakesOptions) -> None:
    """Print where each common mistake first departs from the right trace (or all of one)."""
    from bptrace.engine.mistakes import MISTAKES
    from bptrace.language.diagnostics import did_you_mean

    graph = load_network(source, filename, how.seed, how.data)._graph
    if how.show is not None and how.show not in MISTAKES:
        hint = did_you_mean(how.show, list(MISTAKES)) or f"the mistakes are {', '.join(MISTAKES)}"
        raise UsageProblem(f"--show: no mistake '{short(how.show)}'; {hint}")
    chosen = [MISTAKES[how.show]] if how.show else list(MISTAKES.values())
    right, fault = collected(records(graph, how.steps, how.lr))
    warn_of_kinks(right, filename, source)
    if fault is not None:  # as `run` would stop
        raise fault
    found = mistaken(graph, right, how.steps, how.lr, chosen)
    if how.json:
        doc = mistakes_document(graph, filename, how.steps, how.show is not None, found)
        process.write_utf8(json.dumps(doc, ensure_ascii=False, allow_nan=False) + "\n")
    else:
        _mistakes_text(graph, filename, how, found)


def _mistakes_text(graph, filename: str, how: MistakesOptions, found) -> None:
    from bptrace.views import differences
    from bptrace.views.terminal.compare import render_comparison, render_mistakes
    from bptrace.views.terminal.steps import View, output

    out = output(how.ascii_math)
    view = View(precision=how.precision, notation=process.notation(out, how.ascii_math, graph))
    w = writer(view)
    names = differences.names(graph)
    steps = f"{how.steps} step{'s' if how.steps > 1 else ''}"
    if how.show:
        mistake, reason, comparison, fails = found[0]
        title = f"{w.prose(mistake.title)} ({mistake.id}) on {escaped(filename)}"
        if comparison is None:
            lines = [w.prose(f"Not made on this network: {reason}.")]
            out.print(render_comparison(title, lines, (), view, ("right", "mistake"), how.steps))
            return
        lines = [
            w.prose(f"Right: {mistake.right}.  The mistake: {mistake.wrong}."),
            counted(comparison, names, w),
        ]
        if fails is not None:
            lines.append(
                f"With this mistake, training stops {stops(fails)}: {fails.where}: {fails.detail}"
            )
        rows = None if how.all_rows else MAX_ROWS
        groups = differences.groups(comparison, names, w, w.prose(mistake.title), rows)
        out.print(render_comparison(title, lines, groups, view, ("right", "mistake"), how.steps))
        return
    summary = []
    for mistake, reason, comparison, fails in found:
        first = None if comparison is None else comparison.first
        if comparison is None:
            summary.append((mistake, w.prose(f"not made here: {reason}"), "", "", ""))
        elif first is None:
            summary.append((mistake, f"changes no number in {steps}", "", "", ""))
        else:
            step, table = first.cell.key[:2]
            when = f"step {step}" if step <= comparison.steps else f"after step {comparison.steps}"
            where = f"{when}, {differences.TITLES[table].lower()}: "
            where += differences.label(first.cell.key, names, w)
            changed = comparison.changed
            if fails is not None:
                where += f"; then training stops {stops(fails)}"
            right_value, wrong_value = differences.shown_values(first, w)
            summary.append((mistake, where, right_value, wrong_value, f"{changed:,}"))
    title = f"Common mistakes on {escaped(filename)}, {steps}"
    out.print(render_mistakes(title, summary, view))
