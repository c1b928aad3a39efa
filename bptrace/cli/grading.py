"""What `bptrace grade` does: read each worksheet and its key, grade it, print the grades.

The key is a file (--key) or made again from the network (--network), with the steps, learning
rate and variant the worksheet says it was made with; bptrace.api's Grader grades. A worksheet
that cannot be graded is said on stderr and the others are graded still; the exit code is then
that problem's. No typer here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from bptrace.api.grading import Grader, titles, why
from bptrace.cli import builtin, files, process
from bptrace.cli.commands import load_network
from bptrace.errors import BadArgument, BptraceError, NetworkError, NumericFault
from bptrace.views import grading, worksheet
from bptrace.views.worksheet import WorksheetError


class GradeOptions(NamedTuple):
    """What `bptrace grade` was asked: the worksheets, where their key comes from, how to grade."""

    worksheets: tuple[Path, ...]
    key: Path | None = None
    network: Path | None = None
    rtol: float = grading.RTOL
    json: bool = False


def grade(how: GradeOptions, report: Callable[[BptraceError, str, str], int]) -> int:
    """Grade each worksheet, print the grades, and return the exit code.

    `report` says a problem on stderr (as the CLI says every error) and returns its exit code.
    """
    from bptrace.views.terminal.grades import render_report, render_summary
    from bptrace.views.terminal.steps import output

    key = network = None
    if how.key is not None:
        text = files.read(how.key, "answer key")
        try:
            key = worksheet.read(text)
        except WorksheetError as problem:
            return report(problem, files.shown(how.key), text)
    if how.network is not None:
        source, name = builtin.network(how.network)  # or the built-in example a bare name means
        try:
            network = load_network(source, name)  # its warnings said once, first
        except (NetworkError, RecursionError) as problem:
            return report(problem, name, source)
    grader = Grader(key, network, how.rtol)
    out = output()
    reports, failed, code = [], [], 0
    named = titles()
    for path in how.worksheets:
        name, text = files.shown(path), ""
        try:
            text = files.read(path, "worksheet")
            graded, variant = grader.grade(worksheet.read(text))
        except (WorksheetError, files.FileError, BadArgument) as problem:
            code = code or report(problem, name, text)
            failed.append((name, why(problem)))
            continue
        except (NetworkError, NumericFault) as problem:  # the network's, under this worksheet
            assert network is not None
            return report(problem, network.name, network.source)
        result = grading.Report(name, variant, graded)
        reports.append(result)
        if not how.json:
            out.print(render_report(result, named))
    summary = grading.summary(reports)
    if how.json:
        process.write_utf8(grading.to_json(summary, failed, how.rtol, named))
    elif len(reports) > 1:
        out.print(render_summary(summary, named))
    return code
