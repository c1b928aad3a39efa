"""Worksheets read back: the Markdown `run --blank` writes, filled in, or a CSV of `cell,value`.

A worksheet carries how it was made in a comment under its title,
`<!-- bptrace worksheet {"steps": 1, "blank": [...], "variant": "s1042", ...} -->`, so that
`bptrace grade --network` can make its key again. Pure: text in, records out, or a WorksheetError
pointing at the line and column.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field

from bptrace.errors import EXIT_NETWORK, NOWHERE, BptraceError, Span
from bptrace.views.cell_ids import Cell, RowText, TableText, cells, table_named

MARK = "bptrace worksheet"
_COMMENT = re.compile(r"\s*<!--\s*bptrace worksheet\s+(.*?)\s*-->\s*")
_CSV_META = re.compile(r"#\s*bptrace worksheet\s+(.*)")
# What a worksheet made before its options were written down was made with: the defaults.
DEFAULTS = {
    "steps": 1,
    "show": ["forward", "partials", "chains", "updates"],
    "blank": ["forward", "partials", "chains", "updates"],
    "precision": 4,
    "max_paths": 8,
    "all": False,
    "ascii": False,
}


class WorksheetError(BptraceError):
    """A worksheet or key that cannot be graded: not one bptrace wrote, or not of this network."""

    exit_code = EXIT_NETWORK

    def __init__(self, message: str, span: Span = NOWHERE, hint: str | None = None) -> None:
        super().__init__(message)
        self.message, self.span, self.hint = message, span, hint


def meta_comment(meta: dict) -> str:
    """Return the comment that says how a worksheet was made (no --> inside: > is escaped)."""
    payload = json.dumps(meta, ensure_ascii=False, separators=(", ", ": "))
    return f"<!-- {MARK} " + payload.replace(">", "\\u003e") + " -->\n"


def csv_meta(meta: dict) -> str:
    """Return the first line of a CSV worksheet: how it was made."""
    return f"# {MARK} {json.dumps(meta, ensure_ascii=False, separators=(', ', ': '))}\n"


def _meta(payload: str, line: int) -> dict:
    try:
        meta = json.loads(payload)
    except ValueError:
        meta = None
    if not isinstance(meta, dict):
        raise WorksheetError(
            "the worksheet's bptrace comment is damaged", Span(line, 1, line, 2), _REMAKE
        )
    meta = {**DEFAULTS, **meta}
    for name, (fits, what) in _OPTIONS.items():
        if meta.get(name) is not None and not fits(meta[name]):
            raise WorksheetError(
                f"the worksheet's bptrace comment is damaged: its {name} is {meta[name]!r}, "
                f"not {what}",
                Span(line, 1, line, 2),
                _REMAKE,
            )
    return meta


def _whole(value: object, least: int, most: float = float("inf")) -> bool:
    return type(value) is int and least <= value <= most


def _tables(value: object) -> bool:
    from bptrace.views.tables import TABLES

    return isinstance(value, list) and all(isinstance(t, str) and t in TABLES for t in value)


def _rate(value: object) -> bool:
    import math

    return type(value) in (int, float) and math.isfinite(value) and value >= 0


def _id(value: object) -> bool:
    from bptrace.engine.variants import check_id

    return isinstance(value, str) and check_id(value) is None


# What each option a worksheet was made with can be (None: not given), checked before it is used
# to make the key again: a damaged comment is the worksheet's error, not bptrace's.
_OPTIONS = {
    "steps": (lambda v: _whole(v, 1), "a whole number of steps, 1 or more"),
    "show": (_tables, "a list of tables (forward, partials, chains, updates)"),
    "blank": (_tables, "a list of tables (forward, partials, chains, updates)"),
    "precision": (lambda v: _whole(v, 1, 17), "a whole number of digits from 1 to 17"),
    "max_paths": (lambda v: _whole(v, 1), "a whole number of paths, 1 or more"),
    "all": (lambda v: isinstance(v, bool), "true or false"),
    "ascii": (lambda v: isinstance(v, bool), "true or false"),
    "lr": (_rate, "a learning rate, a number 0 or more"),
    "seed": (lambda v: _whole(v, 0), "a whole number, 0 or more"),
    "variant": (_id, "a variant ID (letters, digits and . _ @ + -)"),
}


_REMAKE = "make the worksheet again with `bptrace run FILE --format markdown --blank …`"


@dataclass(frozen=True, slots=True)
class Document:
    """A worksheet or key read back: how it was made, each step's givens line, its tables."""

    meta: dict | None  # None: no bptrace comment (a key, or a worksheet written by hand)
    givens: dict[int, tuple[str, int]]  # step: its line of inputs and params, and where
    tables: tuple[TableText, ...] = ()
    entries: dict[str, Cell] | None = field(default=None)  # a CSV's cells, by id

    def cells(self, blank: frozenset[str] | None = None) -> list[Cell]:
        """Return the cells of numbers: with `blank`, only the answers a worksheet blanked."""
        from bptrace.views.handout import blanked

        if self.entries is not None:
            return list(self.entries.values())
        found = []
        for t in self.tables:
            answers = None if blank is None else blanked(t.name, t.step, blank, t.headers)
            found += cells(t, answers)
        return found


def read(text: str) -> Document:
    """Return the worksheet or key in `text`: Markdown, or a CSV of cell,value."""
    first = next((line for line in text.split("\n") if line.strip()), "").strip()
    if first.startswith(f"# {MARK}") or re.match(r"cell\s*[,;]", first):
        return read_csv(text)
    if first.startswith("\\documentclass"):
        raise WorksheetError(
            "a LaTeX worksheet is for paper: bptrace grades Markdown and CSV",
            Span(1, 1, 1, 2),
            "type the answers into its cells as CSV: `bptrace run FILE --format csv --blank …`",
        )
    return read_markdown(text)


def _split(line: str) -> list[tuple[str, int]]:
    """Return a table line's cells, each with the column it begins at (from 1)."""
    bounds = [m.start() for m in re.finditer(r"(?<!\\)\|", line)]
    stripped = line.rstrip()
    edges = [-1, *bounds, len(line)]
    pieces = []
    for start, end in zip(edges, edges[1:]):
        raw = line[start + 1 : end]
        pad = len(raw) - len(raw.lstrip())
        pieces.append((raw.strip(), start + 2 + pad))
    if line.lstrip().startswith("|"):
        pieces = pieces[1:]
    if bounds and stripped.endswith("|") and not stripped.endswith("\\|"):
        pieces = pieces[:-1]
    return pieces


def _unescaped(cell: str) -> str:
    return re.sub(r"\\(.)", r"\1", cell)


def _bold(cell: str) -> bool:
    return len(cell) > 4 and cell.startswith("**") and cell.endswith("**")


def read_markdown(text: str) -> Document:
    """Return a Markdown worksheet or key: its steps' tables, givens and bptrace comment."""
    lines = text.split("\n")
    meta, givens, tables = None, {}, []
    step, name, title_line = None, None, 0
    block: list[tuple[int, list[tuple[str, int]]]] = []

    def close() -> None:
        if block and step is not None and name is not None:
            tables.append(_table(step, name, block, title_line))
        block.clear()

    for n, line in enumerate(lines, 1):
        stripped = line.strip()
        comment = _COMMENT.fullmatch(line)
        if comment:
            meta = _meta(comment[1], n)
        elif stripped.startswith("|") or (block and "|" in stripped):
            block.append((n, _split(line)))
            continue
        close()
        if stripped.startswith("## "):
            heading = stripped[3:].strip()
            found = re.fullmatch(r"Step (\d+)", heading)
            step, name = (int(found[1]), None) if found else (None, None)
        elif stripped.startswith("### "):
            name, title_line = table_named(_unescaped(stripped[4:].strip())), n
        elif stripped and step is not None and step not in givens and not stripped.startswith("<"):
            givens[step] = (_unescaped(stripped), n)
    close()
    if not tables:
        raise WorksheetError(
            "no bptrace tables here: this is not a worksheet `bptrace run --blank` wrote",
            Span(1, 1, 1, 2),
            _REMAKE,
        )
    return Document(meta, givens, tuple(tables))


def _table(step: int, name: str, block, title_line: int) -> TableText:
    """Return a table from its lines: the header, the alignment row, the rows."""
    (first, headers), rest = block[0], block[1:]
    if not rest or not all(re.fullmatch(r":?-+:?", c) for c, _ in rest[0][1]):
        raise WorksheetError(
            "a table without its alignment row (| :--- | ---: |) under its header",
            Span(first + 1, 1, first + 1, 2),
            "the tables must stay as bptrace wrote them: write answers only into the empty cells",
        )
    width = len(headers)
    rows = []
    for n, pieces in rest[1:]:
        if len(pieces) != width:
            col = pieces[min(width, len(pieces) - 1)][1] if pieces else 1
            raise WorksheetError(
                f"this row has {len(pieces)} cells, but its table's header has {width}",
                Span(n, col, n, col + 1),
                "a | inside an answer splits its cell: write answers without |",
            )
        texts = tuple(_unescaped(c) for c, _ in pieces)
        bold = any(_bold(c) for c in texts[:2])
        texts = tuple(c[2:-2] if _bold(c) else c for c in texts)
        rows.append(RowText(texts, bold, n, tuple(col for _, col in pieces)))
    return TableText(step, name, tuple(_unescaped(h) for h, _ in headers), tuple(rows))


def read_csv(text: str) -> Document:
    """Return a CSV worksheet: `cell,value` rows under that header (or `cell;value`), after an
    optional first line `# bptrace worksheet {…}`."""
    lines = text.split("\n")
    meta, start = None, 0
    while start < len(lines) and (not lines[start].strip() or lines[start].startswith("#")):
        found = _CSV_META.fullmatch(lines[start].strip())
        if found:
            meta = _meta(found[1], start + 1)
        start += 1
    header = lines[start] if start < len(lines) else ""
    delimiter = ";" if header.count(";") > header.count(",") else ","
    if [h.strip().lower() for h in header.split(delimiter)] != ["cell", "value"]:
        raise WorksheetError(
            "a CSV worksheet begins with the header cell,value",
            Span(start + 1, 1, start + 1, 2),
            "list a network's cells with `bptrace run FILE --format csv --blank …`",
        )
    entries: dict[str, Cell] = {}
    for n, row in enumerate(csv.reader(lines[start + 1 :], delimiter=delimiter), start + 2):
        if not row or not "".join(row).strip():
            continue
        if len(row) != 2:
            raise WorksheetError(
                f"a row of {len(row)} fields: each row is a cell's id and its value",
                Span(n, 1, n, 2),
                'a value with a decimal comma goes in quotes: w1,"0,5"',
            )
        ident, value = row[0].strip(), row[1].strip()
        if ident in entries:
            raise WorksheetError(
                f"cell '{ident}' is given twice (first on line {entries[ident].line})",
                Span(n, 1, n, len(ident) + 1),
            )
        col = lines[n - 1].find(delimiter) + 2
        entries[ident] = Cell(ident, 0, "", ident, "", value, n, col)
    return Document(meta, {}, (), entries)


def key_document(graph, records, meta: dict, max_rows: int | None) -> Document:
    """Return the key a worksheet made with `meta` has, from the trace `records` of `graph`."""
    from bptrace.views import handout

    sheet = handout.Sheet(
        tuple(meta["show"]), frozenset(), int(meta["precision"]), max_rows, bool(meta["ascii"])
    )
    return read_markdown("".join(handout.markdown(graph, records, sheet, "answer key")))


def csv_document(graph, records, sheet, meta: dict, filled: bool):
    """Yield a CSV worksheet (`filled`: its key), a step at a time: the cells meta's blank tables
    ask for.

    As many chunks as a Markdown document of the same records, so a worksheet and its key are
    written side by side.
    """
    from bptrace.engine.tracer import Step
    from bptrace.language.printer import MATH
    from bptrace.views import handout, tables, writers

    yield csv_meta(meta) + "cell,value\n"
    answers = frozenset(meta["blank"])
    # The ids of a Markdown worksheet's cells; numbers with a hyphen-minus, as spreadsheets read
    w = writers.Writer(MATH, sheet.precision)
    for record in records:
        if not isinstance(record, Step):
            yield ""
            continue
        step_w = tables.for_step(w, graph, record)
        rows = []
        for made, name in handout.step_tables(graph, record, step_w, sheet):
            text = TableText(
                record.step,
                name,
                made.headers,
                tuple(RowText(r.cells, r.kind in ("loss", "sum")) for r in made.rows),
            )
            for cell in cells(text, handout.blanked(name, record.step, answers, made.headers)):
                value = cell.text.replace("−", "-") if filled else ""
                rows.append(f"{_csv_field(cell.id)},{_csv_field(value)}\n")
        yield "".join(rows)
    yield ""


def _csv_field(text: str) -> str:
    """Return a CSV field: quoted when it holds a comma or a quote (W1[1,2]'s id)."""
    if "," in text or '"' in text:
        return '"' + text.replace('"', '""') + '"'
    return text
