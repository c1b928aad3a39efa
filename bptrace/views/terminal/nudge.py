"""Render a nudge: the gradient's predicted loss change beside the actual one, with rich."""

from __future__ import annotations

import math

from rich.console import Group, RenderableType
from rich.text import Text

from bptrace.engine.nudge import NudgeReport, exact, how_the_error_shrinks, smooth, too_small
from bptrace.language.printer import format_number, name_text, partial_text
from bptrace.views.terminal.steps import Heading, View, new_table, titled


def render_nudge(report: NudgeReport, loss: str, view: View, title: str) -> RenderableType:
    """Return the prediction, the actual change and a table of nudges of four sizes."""
    n = view.notation
    num = lambda v: format_number(v, view.precision, n)  # noqa: E731
    p, L, d = name_text(report.param, n), name_text(loss, n), partial_text(loss, report.param, n)
    asked = report.asked
    step, delta, times, approx = n.delta, n.change, f" {n.times} ", n.approx
    lines = [
        f"{p} = {num(report.value)}, {L} = {num(report.loss)}, {d} = {num(report.grad)}",
        "",
        f"The gradient predicts:  {delta}{L} {approx} {d}{times}{step} = "
        f"{num(report.grad)}{times}{_signed(num(asked.by))} = {num(asked.predicted)}",
        f"The forward pass with {p} = {_moved(asked, view)} gives "
        f"{L} = {num(report.loss + asked.actual)}, so {delta}{L} = {num(asked.actual)}",
    ]
    # Else the paragraph below says why.
    if not exact(report) and not too_small(report) and math.isfinite(asked.error):
        why = (
            "the loss curves away from it"
            if smooth(report)
            else "the loss departs from it (see below)"
        )
        lines.append(
            f"The prediction is off by {num(asked.error)}: "
            f"the gradient is the slope at {p}, and {why}."
        )
    table = new_table(
        "Nudges of four sizes",
        (step, p, f"predicted {delta}{L}", f"actual {delta}{L}", "error"),
        numeric_from=0,
    )
    for nudge in report.nudges:
        style = "bold" if nudge is asked else None
        table.add_row(
            num(nudge.by),
            _moved(nudge, view),
            num(nudge.predicted),
            num(nudge.actual),
            num(nudge.error),
            style=style,
        )
    return Group(
        Heading(title),
        Text(""),
        *(Text(line) for line in lines),
        titled(table),
        Text(""),
        Text(how_the_error_shrinks(report, n.delta, n.delta + n.squared, n)),
        Text(""),
    )


def _moved(nudge, view: View) -> str:
    """Return p + Δ with enough digits to differ from p on the page: 0.50001, not 0.5."""
    if not (math.isfinite(nudge.value) and math.isfinite(nudge.by)):
        return format_number(nudge.value, view.precision, view.notation)
    # Logarithms subtracted, not divided: 1e306 / 1e-5 would overflow to inf.
    digits = (
        math.ceil(math.log10(max(abs(nudge.value), abs(nudge.by))) - math.log10(abs(nudge.by))) + 1
    )
    return format_number(nudge.value, min(max(view.precision, digits), 17), view.notation)


def _signed(text: str) -> str:
    return f"({text})" if text.startswith(("−", "-")) else text
