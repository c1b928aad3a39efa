"""What `bptrace grade` does: read each worksheet and its key, grade it, print the grades.

The key is a file (--key) or made again from the network (--network), with the steps, learning
rate and variant the worksheet says it was made with. A worksheet that cannot be graded is said
on stderr and the others are graded still; the exit code is then that problem's. No typer here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from bptrace.cli import builtin, files, process
from bptrace.cli.commands import UsageProblem, load_network
from bptrace.errors import BptraceError, NetworkError, NumericFault
from bptrace.language.diagnostics import did_you_mean
from bptrace.views import grading, worksheet
from bptrace.views.worksheet import Document, WorksheetError


class GradeOptions(NamedTuple):
    """What `bptrace grade` was asked: the worksheets, where their key comes from, how to grade."""

    worksheets: tuple[Path, ...]
    key: Path | None = None
    network: Path | None = None
    rtol: float = grading.RTOL
    json: bool = False


RTOL = grading.RTOL

# Options a worksheet may have been made with that a key made again cannot have: their files.
_NOT_REMADE = ("data", "batch_size", "shuffle")


class _Network:
    """The --network file, loaded once per seed, and the keys made from it, once per making."""

    def __init__(self, source: str, name: str) -> None:
        self.source, self.name = source, name
        self.graphs: dict = {}
        self.keys: dict[str, tuple] = {}
        self.graphs[None] = load_network(self.source, self.name)  # its errors said once, first

    def graph(self, meta: dict):
        """Return the network with the seed and variant a worksheet was made with."""
        seed = meta.get("seed")
        if seed not in self.graphs:
            self.graphs[seed] = load_network(self.source, self.name, seed)
        net = self.graphs[seed]
        return (net.variant(meta["variant"]) if meta.get("variant") else net)._graph

    def key(self, meta: dict, blank: frozenset[str]) -> tuple:
        """Return the key of a worksheet made with `meta`, the known mistakes' answers, and how
        to work its cells out from a student's answers."""
        made = json.dumps({k: v for k, v in meta.items() if k != "network"}, sort_keys=True)
        if made not in self.keys:
            given = [option for option in _NOT_REMADE if meta.get(option)]
            if given:
                raise UsageProblem(
                    f"the worksheet was made with --{given[0].replace('_', '-')}: its key cannot "
                    "be made again from the network alone; grade it with --key KEY"
                )
            from bptrace.views.carried import Recompute

            graph = self.graph(meta)
            key, steps = _made(graph, meta)
            self.keys[made] = (key, suspects(graph, meta, blank), Recompute(graph, steps))
        return self.keys[made]


def _made(graph, meta: dict, mistake=None) -> tuple[Document, list]:
    """Return the key of a worksheet made with `meta`, as a student making `mistake` writes it,
    and its steps' records."""
    from bptrace.engine.tracer import Step, trace
    from bptrace.views.terminal.steps import MAX_ROWS

    extra = {} if mistake is None else {"mistake": mistake}
    records = list(
        trace(graph, int(meta["steps"]), meta.get("lr"), int(meta["max_paths"]), **extra)
    )
    rows = None if meta["all"] else MAX_ROWS
    document = worksheet.key_document(graph, iter(records), meta, rows)
    return document, [r for r in records if isinstance(r, Step)]


def suspects(graph, meta: dict, blank: frozenset[str]) -> list[grading.Suspect]:
    """Return each known mistake's answers to a worksheet made with `meta`, in MISTAKES order.

    Where the mistakes (bptrace/engine/mistakes.py) are wired into grading: each traced as a
    student making it would, its answers read as a key is.
    """
    from bptrace.engine.mistakes import MISTAKES, not_applicable

    precision = int(meta["precision"])
    found = []
    for mistake in MISTAKES.values():
        if not_applicable(graph, mistake) is not None:
            continue
        try:
            made, _ = _made(graph, meta, mistake)
        except BptraceError:  # a mistake that makes a number non-finite explains no finite one
            continue
        answers = grading.key_of(made.cells(blank), precision)
        found.append(grading.Suspect(mistake.id, mistake.title, answers))
    return found


def titles() -> dict[str, str]:
    """Return each known mistake's title, by its id."""
    from bptrace.engine.mistakes import MISTAKES

    return {m.id: m.title for m in MISTAKES.values()}


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
            network = _Network(source, name)
        except (NetworkError, RecursionError) as problem:
            return report(problem, name, source)
    out = output()
    reports, failed, code = [], [], 0
    named = titles()
    for path in how.worksheets:
        name, text = files.shown(path), ""
        try:
            text = files.read(path, "worksheet")
            graded = _graded(worksheet.read(text), key, network, how.rtol)
        except (WorksheetError, files.FileError, UsageProblem) as problem:
            code = code or report(problem, name, text)
            failed.append((name, str(problem)))
            continue
        except (NetworkError, NumericFault) as problem:  # the network's, under this worksheet
            assert network is not None
            return report(problem, network.name, network.source)
        result = grading.Report(name, graded[1], graded[0])
        reports.append(result)
        if not how.json:
            out.print(render_report(result, named))
    summary = grading.summary(reports)
    if how.json:
        process.write_utf8(grading.to_json(summary, failed, how.rtol, named))
    elif len(reports) > 1:
        out.print(render_summary(summary, named))
    return code


def _graded(sheet: Document, key: Document | None, network: _Network | None, rtol: float):
    """Return a worksheet's answers graded, and its variant."""
    meta = sheet.meta or (key.meta if key is not None else None) or dict(worksheet.DEFAULTS)
    blank = frozenset(meta["blank"])
    suspected: list = []
    recompute = None
    if network is not None:
        made, suspected, recompute = network.key(meta, blank)
        key = key or made
    assert key is not None  # the CLI asks for --key or --network
    precision = int(meta["precision"]) if sheet.meta else None
    answers = list(grading.key_of(key.cells(blank), precision).values())
    every = {c.id for c in key.cells()}
    _same_network(sheet, key, blank, every)
    given = {c.id: c for c in sheet.cells()}
    return grading.grade(answers, given, suspected, rtol, recompute), meta.get("variant")


def _same_network(sheet: Document, key: Document, blank: frozenset[str], every: set[str]) -> None:
    """Refuse a worksheet whose cells or given numbers are not its key's."""
    from bptrace.errors import Span

    for cell in sheet.cells(None if sheet.entries is not None else blank):
        if cell.id not in every:
            where = Span(cell.line, max(cell.col, 1), cell.line, max(cell.col, 1) + 1)
            if sheet.entries is not None:
                where = Span(cell.line, 1, cell.line, len(cell.id) + 1)
                hint = did_you_mean(cell.id, sorted(every)) or (
                    "list the cells with `bptrace run FILE --format csv --blank …`"
                )
                raise WorksheetError(f"the key has no cell '{cell.id}'", where, hint)
            made_from = (sheet.meta or {}).get("network")
            raise WorksheetError(
                f"the key has no cell '{cell.id}' ({cell.label}, {cell.header}): "
                "a worksheet of another network?",
                where,
                f"the worksheet says it was made from {made_from}" if made_from else None,
            )
    for step, (line, n) in sheet.givens.items():
        theirs = key.givens.get(step)
        if theirs is not None and not _alike(line, theirs[0]):
            raise WorksheetError(
                f"step {step}'s given numbers are not the key's ({theirs[0]})",
                Span(n, 1, n, len(line) + 1),
                "a worksheet of another variant or network? a worksheet made with --variant "
                "names its variant in its title",
            )
        break  # later steps' params may be hidden (?) on a worksheet


def _alike(sheet: str, key: str) -> bool:
    return sheet.split() == key.split()
