"""Two traces' differences as rows of text and as JSON: each changed number, and why it changed.

The terminal (terminal/compare.py) and `--json` show these, for `compare` (two conventions) and
`mistakes` (the right trace and a student's).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from bptrace.engine.cells import Cell, Key
from bptrace.engine.chains import direct_edges
from bptrace.engine.compare import Comparison, Difference
from bptrace.engine.graph import Graph
from bptrace.language.printer import show
from bptrace.views.jsonl import number
from bptrace.views.writers import Writer

TITLES = {
    "leaves": "Params",
    "forward": "Forward pass",
    "partials": "Local derivatives",
    "gradients": "Gradients",
    "updates": "Updates",
    "final": "After the last update",
}
MAX_PRECISION = 17  # significant digits that tell any two floats apart
# Factors said in words in a table's summary line.
WORDS = {2.0: "doubles", 0.5: "halves", -1.0: "changes sign", 4.0: "is 4 times as large"}


@dataclass(frozen=True, slots=True)
class Changed:
    """One changed number as shown: where, its two values, b/a, why, and whether it is the first."""

    label: str
    a: str
    b: str
    ratio: str
    why: str
    first: bool = False


@dataclass(frozen=True, slots=True)
class Group:
    """The changed numbers of one table at one step, and what they have in common."""

    step: int
    table: str
    rows: tuple[Changed, ...]
    summary: str  # "every number that changes here doubles (×2)", or ""
    hidden: int = 0  # rows left out (past max_rows)


@dataclass(frozen=True, slots=True)
class Names:
    """What a cell's label needs of the network: its loss, and the edges from the loss whose local
    partial ∂L/∂x is not the gradient ∂L/∂x (marked "(direct)", as `run` marks them)."""

    loss: str
    direct: frozenset[tuple[str, str]] = frozenset()


def names(graph: Graph) -> Names:
    """Return the names the labels of `graph`'s cells need."""
    return Names(graph.loss, direct_edges(graph))


def label(key: Key, names: Names, w: Writer) -> str:
    """Return how a cell is named on a slide: h, ∂g/∂h, ∂L/∂w₁, w₁'s velocity."""
    _step, table, subject, column = key
    if table in ("leaves", "forward", "final"):
        name = w.name(subject[0])
        return f"{name} ({column})" if column not in ("value",) else name
    if table == "partials":  # ∂L/∂a (direct), where the gradient ∂L/∂a sums other paths too
        return w.partial(*subject) + (w.note(" (direct)") if subject in names.direct else "")
    if table == "gradients":
        return w.partial(names.loss, subject[0])
    return f"{w.name(subject[0])} {column}"  # updates: w₁ after, w₁ velocity


def nice(ratio: float | None) -> str:
    """Return b/a as a factor a lecturer reads at a glance (×2, ×0.5, ×−1), else ""."""
    if ratio is None or not math.isfinite(ratio) or ratio == 0 or ratio == 1:
        return ""
    rounded = float(f"{ratio:.3g}")
    if abs(rounded - ratio) > 1e-9 * abs(ratio):
        return ""
    return f"×{rounded:g}".replace("-", "−")


def groups(
    comparison: Comparison, names: Names, w: Writer, acts: str, max_rows: int | None = None
) -> Iterator[Group]:
    """Yield each step's changed tables in order, each row saying why: from which changed cell,
    or `acts` (the change itself) where no cell it was computed from changed."""
    first = comparison.first
    current: list[Difference] = []
    shown = [d for d in comparison.differences if not d.carried]
    for d in (*shown, None):
        if current and (d is None or d.cell.key[:2] != current[0].cell.key[:2]):
            yield _group(current, first, names, w, acts, max_rows)
            current = []
        if d is not None:
            current.append(d)


def _group(
    found: list[Difference],
    first: Difference | None,
    names: Names,
    w: Writer,
    acts: str,
    max_rows: int | None,
) -> Group:
    step, table = found[0].cell.key[:2]
    shown = found if max_rows is None or len(found) <= max_rows else found[:max_rows]
    rows = tuple(
        Changed(
            label(d.cell.key, names, w),
            *shown_values(d, w),
            w.prose(nice(d.ratio)),
            w.prose(why(d, names, w, acts)),
            d is first,
        )
        for d in shown
    )
    ratios = {nice(d.ratio) for d in found}
    summary = ""
    if len(found) > 1 and len(ratios) == 1 and "" not in ratios:
        factor = found[0].ratio
        said = WORDS.get(float(f"{factor:.3g}"), f"is multiplied by {nice(factor)[1:]}")
        summary = w.prose(f"every number that changes here {said} ({nice(factor)})")
    return Group(step, table, rows, summary, len(found) - len(shown))


def why(d: Difference, names: Names, w: Writer, acts: str) -> str:
    """Return why a cell changed: the change itself (and its formula), or the cell it came from."""
    if d.a is None or d.b is None:
        return "B only" if d.a is None else "A only"
    if d.cause is None:
        if d.a.formula is not None and d.a.formula != d.b.formula:
            formulas = f"{w.expr(d.a.formula)} → {w.expr(d.b.formula)}"
            if d.formula_only:
                return f"{acts}: {formulas}, the same number here"
            return f"{acts}: {formulas}"
        return acts
    cause = label(d.cause, names, w)
    if d.cause[1] == "partials":  # ∂L/∂a the local derivative, not the gradient ∂L/∂a
        cause = f"local {cause}"
    if d.cause[0] != d.cell.step:
        cause += f" at step {d.cause[0]}"
    if d.also:  # the first named: the others are the rows above it
        cause += f" and {d.also} more"
    return f"from {cause}, and {acts}" if d.acts else f"from {cause}"


def _value(cell: Cell | None, w: Writer) -> str:
    return "" if cell is None else w.number(cell.value)


def shown_values(d: Difference, w: Writer) -> tuple[str, str]:
    """Return a changed cell's two values as shown: with more digits where the writer's precision
    would show two different numbers alike (−0.228 and −0.228 for −0.22804 and −0.22798)."""
    a, b = _value(d.a, w), _value(d.b, w)
    precision = w.precision
    while a == b and not d.formula_only and precision < MAX_PRECISION:
        precision += 1
        wider = replace(w, precision=precision)
        a, b = _value(d.a, wider), _value(d.b, wider)
    return a, b


def to_json(comparison: Comparison, loss: str) -> dict[str, Any]:
    """Return the differences as a JSON document's body: every changed cell, in order."""
    first = comparison.first
    return {
        "steps": comparison.steps,
        "compared": comparison.compared,
        "first": None if first is None else _key(first.cell.key),
        "differences": [
            {
                **_key(d.cell.key),
                "a": None if d.a is None else number(d.a.value),
                "b": None if d.b is None else number(d.b.value),
                "ratio": None if d.ratio is None else number(d.ratio),
                "formula_a": _formula(d.a),
                "formula_b": _formula(d.b),
                "cause": None if d.cause is None else _key(d.cause),
                "also": d.also,
                "acts": d.cause is None or d.acts,  # the change itself acts here
            }
            for d in comparison.differences
        ],
        "loss": loss,
    }


def to_json_key(key: Key) -> dict[str, Any]:
    """Return where a cell is, as JSON: step, table, subject and column."""
    return _key(key)


def _key(key: Key) -> dict[str, Any]:
    step, table, subject, column = key
    return {"step": step, "table": table, "subject": list(subject), "column": column}


def _formula(cell: Cell | None) -> str | None:
    return None if cell is None or cell.formula is None else show(cell.formula)
