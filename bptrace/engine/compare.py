"""Compare two traces of one network cell by cell: which numbers differ, and where each difference
comes from.

A cell differs either because a cell it was computed from differs (its `cause`), or, where none
does, because the change itself acts there: a convention's or a mistake's formula, optimiser or
update. Where the change acted at a step, it acts at the same place of every later step too, where
a cell it was computed from may differ already: such a cell has a cause and `acts`. The first
difference in the order the tables show a step is the first divergence.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bptrace.engine.cells import Cell, Key, cells, final_cells
from bptrace.engine.graph import Graph
from bptrace.engine.lazy import numpy
from bptrace.engine.tracer import Final, Step

# Two numbers within this relative distance are the same: conventions that move params the same
# way by other arithmetic (momentum's two forms) differ in the last bits only.
SAME = 1e-12


@dataclass(frozen=True, slots=True)
class Difference:
    """One cell that differs: its two versions (None where one trace has no such cell), the first
    differing cell it was computed from (None where the change itself acts), and b/a where that is
    one number."""

    a: Cell | None
    b: Cell | None
    cause: Key | None
    ratio: float | None
    acts: bool = False  # the change acts here too, as it did here at an earlier step
    also: int = 0  # how many other differing cells it was computed from, besides `cause`

    @property
    def carried(self) -> bool:
        """Tell whether it only repeats the difference before it: a param's value at a step is
        the last step's `after`."""
        step, table, subject, _ = self.cell.key
        return table == "leaves" and self.cause == (step - 1, "updates", subject, "after")

    @property
    def cell(self) -> Cell:
        """Return the cell, as the first trace has it (or the second, where the first has none)."""
        return self.a if self.a is not None else self.b  # type: ignore[return-value]

    @property
    def formula_only(self) -> bool:
        """Tell whether only the formula differs: the same number by another formula."""
        return self.a is not None and self.b is not None and same(self.a.value, self.b.value)


@dataclass(frozen=True, slots=True)
class Comparison:
    """The differences between two traces, in the order their tables show them."""

    differences: tuple[Difference, ...]
    compared: int  # cells compared in all, but params carried from the last step's update
    steps: int

    @property
    def changed(self) -> int:
        """Return how many numbers differ, each once (a param carried to the next step is not
        counted again)."""
        return sum(not d.formula_only and not d.carried for d in self.differences)

    @property
    def first(self) -> Difference | None:
        """Return the first divergence: the first cell whose number differs."""
        return next((d for d in self.differences if not d.formula_only), None)

    @property
    def roots(self) -> tuple[Difference, ...]:
        """Return the differences the change makes itself (no differing cell leads to them)."""
        return tuple(d for d in self.differences if d.cause is None)


def compare(
    graph_a: Graph,
    records_a: Iterable[Step | Final],
    graph_b: Graph,
    records_b: Iterable[Step | Final],
) -> Comparison:
    """Return how the second trace's cells differ from the first's, step by step, as far as both
    go (a trace that stopped at a numeric fault is compared up to it)."""
    found: list[Difference] = []
    differing: set[Key] = set()
    # where the change acted, as (table, subject, column): a param's first value is no such place,
    # it is set once (a seed's draw)
    acted: set[tuple] = set()
    compared = steps = carried = 0
    for ra, rb in zip(records_a, records_b):
        if isinstance(ra, Step) and isinstance(rb, Step):
            steps += 1
            pairs = _paired(cells(graph_a, ra), cells(graph_b, rb))
        elif isinstance(ra, Final) and isinstance(rb, Final):
            pairs = _paired(final_cells(graph_a, ra), final_cells(graph_b, rb))
        else:  # one trace stopped early: it ends with its last step, the other goes on
            break
        for a, b in pairs:
            compared += 1
            one = a if a is not None else b
            if one is not None and one.table == "leaves" and one.step > 1:
                carried += 1  # a param's value: its last `after`, compared there
            # A formula that differs is where the change acts, whatever its numbers come from.
            formula = a is not None and b is not None and a.formula != b.formula
            if a is not None and b is not None and not formula and same(a.value, b.value):
                continue
            either = a if a is not None else b
            assert either is not None
            uses = dict.fromkeys((*(a.uses if a else ()), *(b.uses if b else ())))
            causes = [] if formula else [key for key in uses if key in differing]
            cause = causes[0] if causes else None
            place = either.key[1:]
            if cause is None and either.table != "leaves":
                acted.add(place)
            acts = cause is not None and place in acted
            difference = Difference(a, b, cause, _ratio(a, b), acts, max(len(causes) - 1, 0))
            if not difference.formula_only:
                differing.add(either.key)
            found.append(difference)
    return Comparison(tuple(found), compared - carried, steps)


def _paired(a: Iterable[Cell], b: Iterable[Cell]) -> list[tuple[Cell | None, Cell | None]]:
    """Return two steps' cells paired by key, in order: a cell only one has where that one has it
    (momentum's velocity before the update it makes)."""
    mine, theirs = list(a), {cell.key: cell for cell in b}
    keys, order = {cell.key for cell in mine}, list(theirs)
    pairs: list[tuple[Cell | None, Cell | None]] = []
    at = 0
    for cell in mine:
        if cell.key in theirs:
            while order[at] != cell.key:  # theirs before it, that mine lacks
                if order[at] not in keys:
                    pairs.append((None, theirs[order[at]]))
                at += 1
            at += 1
        pairs.append((cell, theirs.get(cell.key)))
    pairs.extend((None, theirs[key]) for key in order[at:] if key not in keys)
    return pairs


def same(a: Any, b: Any) -> bool:
    """Tell whether two numbers (or arrays of one per sample) are the same, to SAME."""
    if isinstance(a, float) and isinstance(b, float):
        if a == b or (math.isnan(a) and math.isnan(b)):
            return True
        return abs(a - b) <= SAME * max(abs(a), abs(b))
    np = numpy()
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    try:
        return bool(np.allclose(a, b, rtol=SAME, atol=0.0, equal_nan=True))
    except ValueError:  # shapes that do not broadcast: a batch of another size
        return False


def _ratio(a: Cell | None, b: Cell | None) -> float | None:
    """Return b/a where both are one number, or the same factor for every sample; else None."""
    if a is None or b is None:
        return None
    x, y = a.value, b.value
    if isinstance(x, float) and isinstance(y, float):
        if x == 0 or not math.isfinite(x) or not math.isfinite(y):
            return None
        ratio = y / x
        return ratio if math.isfinite(ratio) else None  # 1e308/0.5 overflows: no factor
    np = numpy()
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or not np.all(np.isfinite(x)) or not np.all(np.isfinite(y)):
        return None
    if np.any(x == 0):
        return None
    with np.errstate(over="ignore"):
        r = y / x
    if not np.all(np.isfinite(r)):
        return None
    return float(r.flat[0]) if np.allclose(r, r.flat[0], rtol=1e-9, atol=0.0) else None
