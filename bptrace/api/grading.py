"""Grading worksheets: each answer against a key (given, or made again from the network the
worksheet names), a wrong one explained by a known mistake or carried forward from the student's
own. `bptrace grade` prints what `grade` returns as a JSON document (docs/grading.md).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from bptrace.errors import BadArgument
from bptrace.views import grading, worksheet
from bptrace.views.worksheet import Document, WorksheetError

RTOL = grading.RTOL

# Options a worksheet may have been made with that a key made again cannot have: their files.
_NOT_REMADE = ("data", "batch_size", "shuffle")


def grade(
    worksheets: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    key: str | os.PathLike[str] | None = None,
    network: Any = None,
    rtol: float = RTOL,
) -> dict[str, Any]:
    """Grade each worksheet (Markdown or CSV; a path, or a list of them) against the answer key
    `key`, or the key made again from `network` (a path, or a Network), and return the document
    `bptrace grade --json` writes: each worksheet's answers, and the class summary.

    A worksheet that cannot be graded is listed under "failed" with why; a key or network that
    cannot be read raises FileError, WorksheetError or NetworkError.
    """
    from bptrace.api.network import Network, load
    from bptrace.api.reading import FileError, a_path, read, shown

    if key is None and network is None:
        raise ValueError("grade needs a key or a network to make the key from")
    if isinstance(worksheets, (str, bytes, os.PathLike)):  # one worksheet, not its name's letters
        worksheets = [worksheets]
    if not isinstance(worksheets, Iterable):
        raise ValueError(f"worksheets is a list of paths; got {worksheets!r}")
    worksheets = list(worksheets)
    for path in worksheets:
        a_path(path, "worksheet")
    # a worksheet named twice is graded once, as `bptrace grade` grades it: the class summary
    # counts students
    once: dict[Path, Any] = {}
    for path in worksheets:
        once.setdefault(Path(os.fsdecode(path)), path)
    worksheets = list(once.values())
    if key is not None and not isinstance(key, (str, os.PathLike)):
        raise ValueError(f"key is an answer key's path; got {key!r}")
    if network is not None and not isinstance(network, (Network, str, os.PathLike)):
        raise ValueError(f"network is a Network or a .bp file's path; got {network!r}")
    if not (isinstance(rtol, (int, float)) and 0 < rtol < 1):
        raise ValueError(f"rtol must be a number between 0 and 1; got {rtol!r}")
    keyed = None if key is None else worksheet.read(read(key, "answer key"))
    net = network if isinstance(network, Network) or network is None else load(network)
    grader = Grader(keyed, net, rtol)
    reports, failed = [], []
    for path in worksheets:
        name = shown(path)
        try:
            graded, variant = grader.grade(worksheet.read(read(path, "worksheet")))
        except (WorksheetError, FileError, BadArgument) as problem:
            failed.append((name, why(problem)))
            continue
        reports.append(grading.Report(name, variant, graded))
    return json.loads(grading.to_json(grading.summary(reports), failed, rtol, titles()))


def why(problem: Exception) -> str:
    """Return what `failed` says of a worksheet that could not be graded: the message, without the
    quoted line a file's diagnostic adds (stderr has that)."""
    from bptrace.api.reading import FileError

    return problem.message if isinstance(problem, FileError) else str(problem)


class Grader:
    """Grades worksheets against `key`, or keys made again from `network` (a Network), once per
    way a worksheet was made."""

    def __init__(self, key: Document | None, network: Any, rtol: float = RTOL) -> None:
        self.key, self.network, self.rtol = key, network, rtol
        self.networks: dict = {None: network}
        self.keys: dict[str, tuple] = {}

    def grade(self, sheet: Document) -> tuple[tuple, str | None]:
        """Return a worksheet's answers graded, and its variant."""
        key = self.key
        meta = sheet.meta or (key.meta if key is not None else None) or dict(worksheet.DEFAULTS)
        blank = frozenset(meta["blank"])
        suspected: list = []
        recompute = None
        if self.network is not None:
            made, suspected, recompute = self._made(meta, blank)
            key = key or made
        assert key is not None  # a key or a network, as grade and the CLI ask
        precision = int(meta["precision"]) if sheet.meta else None
        answers = list(grading.key_of(key.cells(blank), precision).values())
        every = {c.id for c in key.cells()}
        _same_network(sheet, key, blank, every)
        given = {c.id: c for c in sheet.cells()}
        graded = grading.grade(answers, given, suspected, self.rtol, recompute)
        return graded, meta.get("variant")

    def graph(self, meta: dict):
        """Return the network's graph with the seed and variant a worksheet was made with."""
        seed = meta.get("seed")
        if seed not in self.networks:
            self.networks[seed] = self.network.with_seed(seed)
        net = self.networks[seed]
        return (net.variant(meta["variant"]) if meta.get("variant") else net)._graph

    def _made(self, meta: dict, blank: frozenset[str]) -> tuple:
        """Return the key of a worksheet made with `meta`, the known mistakes' answers, and how
        to work its cells out from a student's answers."""
        made = json.dumps({k: v for k, v in meta.items() if k != "network"}, sort_keys=True)
        if made not in self.keys:
            given = [option for option in _NOT_REMADE if meta.get(option)]
            if given:
                raise BadArgument(
                    f"the worksheet was made with --{given[0].replace('_', '-')}: its key cannot "
                    "be made again from the network alone; grade it with --key KEY"
                )
            from bptrace.views.carried import Recompute

            graph = self.graph(meta)
            key, steps = key_made(graph, meta)
            self.keys[made] = (key, suspects(graph, meta, blank), Recompute(graph, steps))
        return self.keys[made]


def key_made(graph, meta: dict, mistake=None) -> tuple[Document, list]:
    """Return the key of a worksheet made with `meta`, as a student making `mistake` writes it,
    and its steps' records."""
    from bptrace.engine.tracer import Step, trace
    from bptrace.views.tables import MAX_ROWS

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
    from bptrace.errors import BptraceError

    precision = int(meta["precision"])
    found = []
    for mistake in MISTAKES.values():
        if not_applicable(graph, mistake) is not None:
            continue
        try:
            made, _ = key_made(graph, meta, mistake)
        except BptraceError:  # a mistake that makes a number non-finite explains no finite one
            continue
        answers = grading.key_of(made.cells(blank), precision)
        found.append(grading.Suspect(mistake.id, mistake.title, answers))
    return found


def titles() -> dict[str, str]:
    """Return each known mistake's title, by its id."""
    from bptrace.engine.mistakes import MISTAKES

    return {m.id: m.title for m in MISTAKES.values()}


def _same_network(sheet: Document, key: Document, blank: frozenset[str], every: set[str]) -> None:
    """Refuse a worksheet whose cells or given numbers are not its key's."""
    from bptrace.errors import Span
    from bptrace.language.diagnostics import did_you_mean

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
