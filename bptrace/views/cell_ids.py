"""Worksheet cells: an ASCII id for every number a step's tables show, and numbers read back.

A cell's id is STEP.TABLE.ROW.COLUMN, all in ASCII: `1.forward.h.value`, `1.partials.L/g.value`
(∂L/∂g), `1.gradients.h.value` (∂L/∂h summed over its uses), `1.chains.w1.value` (∂L/∂w₁; with
several paths, path k's product is `1.chains.w1.path2.value`), `1.updates.w1.after`. A row is
named by its subject (w₁ is w1, θ is theta), a column by its header (α·gradient is
alpha_gradient, sample 2 is sample_2). Ids are made from the tables' text, so the tables of a
trace and a worksheet read back from Markdown name their cells alike.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from bptrace.language.printer import ASCII, name_text

# A table's name, by how its title begins.
TITLES = (
    ("Forward pass", "forward"),
    ("Local derivatives", "partials"),
    ("Gradients", "gradients"),
    ("Chain rule", "chains"),
    ("Update", "updates"),
)
# Columns of text, not numbers: formulas, and formulas with numbers (…with numbers).
_TEXT = frozenset({"expression", "formula", "chain", "chain rule"})
_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_PARTIAL = re.compile(r"(?:∂|d)(.+?)/(?:∂|d)(.+?)(?: \(direct\))?")


def table_named(title: str) -> str | None:
    """Return the name of the table with this title (forward, partials, …), None if not one."""
    return next((name for start, name in TITLES if title.startswith(start)), None)


@dataclass(frozen=True, slots=True)
class RowText:
    """A table row as text: its cells, whether bold (the loss, a sum), where it sits in its file."""

    cells: tuple[str, ...]
    bold: bool = False
    line: int = 0
    cols: tuple[int, ...] = ()  # each cell's column, from 1 (0: not from a file)


@dataclass(frozen=True, slots=True)
class TableText:
    """One of a step's tables as text: its step, name (forward, …), headers and rows."""

    step: int
    name: str
    headers: tuple[str, ...]
    rows: tuple[RowText, ...]


@dataclass(frozen=True, slots=True)
class Cell:
    """A number's place in a table: its id, row label and header as shown, its text."""

    id: str
    step: int
    table: str
    label: str  # the row as the table shows it: ∂L/∂w₁
    header: str  # the column as the table shows it: value, after
    text: str
    line: int = 0
    col: int = 0


def ascii_name(name: str) -> str:
    """Return a name as a cell id writes it: w₁ as w1, θ as theta."""
    name = name.translate(_SUBSCRIPTS)
    return name if name.isascii() else name_text(name, ASCII)


def column_id(header: str) -> str:
    """Return a column's id from its header: α·gradient is alpha_gradient."""
    spelled = "".join(
        ch if ch.isascii() else name_text(ch, ASCII) if ch.isalpha() else "_" for ch in header
    )
    words = re.sub(r"[^a-z0-9]+", "_", spelled.lower()).strip("_").split("_")
    # The same id in .bp notation (--ascii): lr*gradient is α·gradient.
    return "_".join("alpha" if word == "lr" else word for word in words)


def numeric_columns(headers: tuple[str, ...]) -> list[int]:
    """Return the columns that hold numbers: all but the label and the formulas."""
    return [
        i
        for i, h in enumerate(headers)
        if i > 0 and h not in _TEXT and not h.endswith("with numbers")
    ]


def _subject(table: str, label: str) -> str | None:
    """Return a row's id from its label, None for a row of no subject (… 12 more rows)."""
    label = label.strip()
    if not label or label.startswith(("…", "...")):
        return None
    if table == "forward":
        return ascii_name(label.removeprefix("loss "))
    if table in ("partials", "gradients", "chains"):
        found = _PARTIAL.fullmatch(label)
        if found is None:
            return ascii_name(label)
        of, wrt = ascii_name(found[1]), ascii_name(found[2])
        return f"{of}/{wrt}" if table == "partials" else wrt
    return ascii_name(label)


def _row_ids(table: TableText) -> list[str | None]:
    """Return each row's id; a chain's paths are its param's .path1, .path2, … and its sum the
    param's own."""
    if table.name != "chains":
        return [_subject(table.name, row.cells[0]) for row in table.rows]
    ids: list[str | None] = []
    group: list[int] = []  # the rows of one param's chain

    def close() -> None:
        paths = [i for i in group if not table.rows[i].bold and not _is_note(table.rows[i])]
        if any(table.rows[i].bold for i in group) or len(paths) > 1:
            for k, i in enumerate(paths, 1):
                ids[i] = f"{ids[i]}.path{k}"
        for i in group:
            if _is_note(table.rows[i]) and not table.rows[i].bold:
                ids[i] = None

    param = None
    for i, row in enumerate(table.rows):
        subject = _subject("chains", row.cells[0])
        if subject is not None:
            close()
            group, param = [], subject
        ids.append(param)
        group.append(i)
    close()
    return ids


def _is_note(row: RowText) -> bool:
    """Tell whether a chain's row is a note of paths not listed (… and 3 more paths)."""
    return len(row.cells) > 1 and row.cells[1].startswith(("…", "..."))


def cells(table: TableText, answers: set[int] | None = None) -> list[Cell]:
    """Return the table's cells of numbers (only those in columns `answers`, when given)."""
    columns = numeric_columns(table.headers)
    if answers is not None:
        columns = [i for i in columns if i in answers]
    found = []
    for row, row_id in zip(table.rows, _row_ids(table)):
        if row_id is None:
            continue
        for i in columns:
            if i >= len(row.cells):
                continue
            found.append(
                Cell(
                    f"{table.step}.{table.name}.{row_id}.{column_id(table.headers[i])}",
                    table.step,
                    table.name,
                    row.cells[0] or _label_above(table, row),
                    table.headers[i],
                    row.cells[i],
                    row.line,
                    row.cols[i] if i < len(row.cols) else 0,
                )
            )
    return found


def _label_above(table: TableText, row: RowText) -> str:
    """Return the label of the row a chain's path or sum belongs to: the last one given above."""
    label = ""
    for above in table.rows:
        label = above.cells[0] or label
        if above is row:
            break
    return label


# -- numbers as people write them ---------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?")
_TIMES_TEN = re.compile(r"(.+?)\s*[x×·*]\s*10\s*\^?\s*\(?([+-]?\d+)\)?")
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")


def read_number(text: str) -> float | None:
    """Return the number in a cell, None when it holds none.

    Read as written by hand or by bptrace: −0.13 (a minus sign) or -0.13, 1.2e-3 or 1.2e−03,
    1.2·10^-3 or 1.2×10⁻³, a decimal comma (1,5) when there is no point, spaces anywhere, bold
    (**0.5**). No thousands separators: bptrace never writes them.
    """
    t = text.strip().strip("*").strip()
    t = t.replace("−", "-").replace("–", "-").replace("E", "e").translate(_SUPERSCRIPTS)
    t = re.sub(r"\s+", "", t)
    if t.count(",") == 1 and "." not in t:
        t = t.replace(",", ".")
    times_ten = _TIMES_TEN.fullmatch(t)
    if times_ten is not None and _NUMBER.fullmatch(times_ten[1]):
        t = f"{times_ten[1]}e{times_ten[2]}"
    if not _NUMBER.fullmatch(t):
        return None
    value = float(t)
    return value if math.isfinite(value) else None


def significant_digits(text: str) -> int:
    """Return how many significant digits a number's text shows (0.06385: 4; 1: 1)."""
    t = text.strip().strip("*").replace("−", "-").lower().split("e")[0].lstrip("+-")
    digits = t.replace(".", "").lstrip("0")
    return max(len(digits), 1)
