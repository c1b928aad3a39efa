"""Grading: each answer of a worksheet against its key, each wrong one explained by a mistake.

A cell is right when |student − key| ≤ max(rtol·|key|, one unit in the key's last significant
digit at the worksheet's precision). A wrong cell is explained by every known mistake whose trace
gives the student's value within the same tolerance (and changes this cell), in the mistakes'
order. Pure: records in, records and JSON text out.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bptrace.views.cell_ids import Cell, read_number, significant_digits

if TYPE_CHECKING:
    from bptrace.views.carried import Recomputed

RTOL = 0.01  # 1%: a student who keeps 3 significant digits through a chain of products stays in
UNEXPLAINED = "no known mistake explains it"


@dataclass(frozen=True, slots=True)
class Expected:
    """A key's answer: its cell (id, label, header, text as shown) and the number it shows."""

    cell: Cell
    value: float
    precision: int  # the significant digits the key was written with

    @property
    def unit(self) -> float:
        """Return one unit in the last significant digit the key shows."""
        if self.value == 0:
            return 10.0**-self.precision
        return 10.0 ** (math.floor(math.log10(abs(self.value))) - self.precision + 1)


@dataclass(frozen=True, slots=True)
class Suspect:
    """A known mistake and the answers a student making it writes, by cell id."""

    id: str  # sign-flipped, …
    title: str  # the sign of the update flipped
    answers: Mapping[str, Expected]


@dataclass(frozen=True, slots=True)
class Graded:
    """One answer graded: right, wrong or unanswered, and the mistakes that explain a wrong one."""

    expected: Expected
    given: Cell | None  # the student's cell: its text and where it is
    status: str  # right, wrong, unanswered
    value: float | None = None  # the student's number (None: none given, or not a number)
    mistakes: tuple[str, ...] = ()
    carried: str | None = None  # the student's wrong earlier cell this one was worked out from

    @property
    def why(self) -> str:
        """Return what explains a wrong answer, in words."""
        if self.status == "unanswered":
            return "unanswered"
        if self.value is None:
            return "not a number"
        if self.mistakes:
            return ", ".join(self.mistakes)
        return f"carried forward from {self.carried}" if self.carried else UNEXPLAINED


@dataclass(frozen=True, slots=True)
class Report:
    """One worksheet graded: its file, variant and every answer."""

    file: str
    variant: str | None
    graded: tuple[Graded, ...]

    def count(self, status: str) -> int:
        return sum(g.status == status for g in self.graded)

    @property
    def problems(self) -> list[Graded]:
        """Return the answers that are not right, in the worksheet's order."""
        return [g for g in self.graded if g.status != "right"]

    @property
    def score(self) -> float:
        return self.count("right") / len(self.graded) if self.graded else 0.0


def key_of(cells: Iterable[Cell], precision: int | None = None) -> dict[str, Expected]:
    """Return a key's answers by cell id: the cells holding a finite number.

    `precision`: the significant digits it was written with; None, the most any cell shows.
    """
    numbers = [(c, read_number(c.text)) for c in cells]
    numbers = [(c, v) for c, v in numbers if v is not None]
    if precision is None:
        precision = max((significant_digits(c.text) for c, _ in numbers), default=4)
    return {c.id: Expected(c, v, precision) for c, v in numbers}


def close(value: float, expected: Expected, rtol: float) -> bool:
    """Tell whether `value` is `expected`'s answer, within the tolerance."""
    return abs(value - expected.value) <= max(rtol * abs(expected.value), expected.unit)


def explain_cell(
    cell_id: str, value: float, right: Expected, suspects: Sequence[Suspect], rtol: float
) -> tuple[str, ...]:
    """Return the ids of the mistakes whose answer for `cell_id` is `value`, in their order.

    A mistake whose answer here is the right one explains nothing here.
    """
    found = []
    for suspect in suspects:
        theirs = suspect.answers.get(cell_id)
        if theirs is None or close(theirs.value, right, rtol):
            continue
        if close(value, theirs, rtol):
            found.append(suspect.id)
    return tuple(found)


def grade(
    answers: Sequence[Expected],
    given: Mapping[str, Cell],
    suspects: Sequence[Suspect] = (),
    rtol: float = RTOL,
    recompute: Callable[[str, Mapping[str, float]], Recomputed | None] | None = None,
) -> tuple[Graded, ...]:
    """Return each answer of the key graded against the student's cell of the same id.

    A wrong answer no mistake explains is carried forward when `recompute` (carried.Recompute)
    works it out from the student's own answers, wrong ones among them.
    """
    graded = _graded(answers, given, suspects, rtol)
    if recompute is None:
        return graded
    student = {g.expected.cell.id: g.value for g in graded if g.value is not None}
    wrong = {g.expected.cell.id for g in graded if g.status == "wrong"}
    carried = []
    for g in graded:
        if g.status == "wrong" and g.value is not None and not g.mistakes:
            worked = recompute(g.expected.cell.id, student)
            culprits = [u for u in worked.used if u in wrong] if worked else []
            if culprits and close(g.value, replace(g.expected, value=worked.value), rtol):
                g = replace(g, carried=culprits[0])
        carried.append(g)
    return tuple(carried)


def _graded(answers, given, suspects, rtol) -> tuple[Graded, ...]:
    graded = []
    for expected in answers:
        cell = given.get(expected.cell.id)
        if cell is None or not cell.text.strip().strip("*").strip():
            graded.append(Graded(expected, cell, "unanswered"))
            continue
        value = read_number(cell.text)
        if value is None:
            graded.append(Graded(expected, cell, "wrong"))
        elif close(value, expected, rtol):
            graded.append(Graded(expected, cell, "right", value))
        else:
            why = explain_cell(expected.cell.id, value, expected, suspects, rtol)
            graded.append(Graded(expected, cell, "wrong", value, why))
    return tuple(graded)


@dataclass(frozen=True, slots=True)
class CellCount:
    """How often one cell was not right over a class's worksheets."""

    cell: Cell  # as the first worksheet not right there has it
    wrong: int
    unanswered: int
    mistake: str | None  # the mistake that explains it most often
    key: str | None  # the key's text, None where variants have keys of their own


@dataclass(frozen=True, slots=True)
class Summary:
    """A class's worksheets together: the cells most often wrong, the mistakes most common."""

    reports: tuple[Report, ...]
    cells: tuple[CellCount, ...]  # most often not right first
    mistakes: tuple[tuple[str, int, int], ...]  # mistake id, cells, worksheets
    unexplained: int  # wrong cells nothing explains
    carried: int = 0  # wrong cells carried forward from a wrong earlier one


def summary(reports: Sequence[Report]) -> Summary:
    """Return the class summary: cells by how often they are not right, mistakes by how often."""
    wrong, blank, first = Counter(), Counter(), {}
    keys: dict[str, set[str]] = {}
    by_cell: dict[str, Counter] = {}
    cells_made, sheets_made = Counter(), Counter()
    unexplained = carried = 0
    for report in reports:
        made = set()
        for g in report.graded:
            keys.setdefault(g.expected.cell.id, set()).add(g.expected.cell.text)
        for g in report.problems:
            ident = g.expected.cell.id
            first.setdefault(ident, g.expected.cell)
            (wrong if g.status == "wrong" else blank)[ident] += 1
            by_cell.setdefault(ident, Counter()).update(g.mistakes[:1])
            cells_made.update(g.mistakes[:1])
            made.update(g.mistakes[:1])
            carried += g.carried is not None and not g.mistakes
            unexplained += (
                g.status == "wrong" and g.value is not None and not g.mistakes and not g.carried
            )
        sheets_made.update(made)
    place = {ident: i for i, ident in enumerate(first)}
    ranked = sorted(first, key=lambda i: (-(wrong[i] + blank[i]), place[i]))
    cells = tuple(
        CellCount(
            first[i],
            wrong[i],
            blank[i],
            by_cell[i].most_common(1)[0][0] if by_cell[i] else None,
            next(iter(keys[i])) if len(keys[i]) == 1 else None,
        )
        for i in ranked
    )
    mistakes = tuple(
        (m, n, sheets_made[m]) for m, n in sorted(cells_made.items(), key=lambda kv: -kv[1])
    )
    return Summary(tuple(reports), cells, mistakes, unexplained, carried)


def to_json(
    summary_: Summary, failed: Sequence[tuple[str, str]], rtol: float, titles: Mapping[str, str]
) -> str:
    """Return the grades as one strict JSON document (docs/grading.md describes its fields)."""

    def problem(g: Graded) -> dict:
        c = g.expected.cell
        return {
            "cell": c.id,
            "step": c.step,
            "table": c.table,
            "row": c.label,
            "column": c.header,
            "status": g.status,
            "answer": None if g.given is None else g.given.text,
            "answer_value": g.value,
            "expected": c.text,
            "expected_value": g.expected.value,
            "mistakes": list(g.mistakes),
            "carried_from": g.carried,
            "why": g.why,
            "line": None if g.given is None or not g.given.line else g.given.line,
            "col": None if g.given is None or not g.given.col else g.given.col,
        }

    document = {
        "bptrace": "grade",
        "version": 1,
        "rtol": rtol,
        "worksheets": [
            {
                "file": r.file,
                "variant": r.variant,
                "cells": len(r.graded),
                "right": r.count("right"),
                "wrong": r.count("wrong"),
                "unanswered": r.count("unanswered"),
                "score": r.score,
                "problems": [problem(g) for g in r.problems],
            }
            for r in summary_.reports
        ],
        "failed": [{"file": f, "error": e} for f, e in failed],
        "summary": {
            "worksheets": len(summary_.reports),
            "mean_score": (
                sum(r.score for r in summary_.reports) / len(summary_.reports)
                if summary_.reports
                else None
            ),
            "cells": [
                {
                    "cell": c.cell.id,
                    "wrong": c.wrong,
                    "unanswered": c.unanswered,
                    "mistake": c.mistake,
                    "key": c.key,
                }
                for c in summary_.cells
            ],
            "mistakes": [
                {"mistake": m, "title": titles.get(m, m), "cells": n, "worksheets": k}
                for m, n, k in summary_.mistakes
            ],
            "carried": summary_.carried,
            "unexplained": summary_.unexplained,
        },
    }
    return json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
