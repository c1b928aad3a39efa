"""Samples from a CSV file: a header row of input and target names, then one row per sample."""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import replace

from bptrace.engine.graph import BATCH_WITHOUT_SAMPLES, Graph
from bptrace.errors import EXIT_FILE, BptraceError
from bptrace.language.diagnostics import did_you_mean

# A first row no CSV file of samples has: a comment, or a statement of a network (`input x = 0`).
_NETWORK_LINE = re.compile(r"#|(param|input|target|const|set|loss)\s")


class DataError(BptraceError, ValueError):
    """Samples that cannot be used: not CSV, a cell not a number, a column the network lacks."""

    exit_code = EXIT_FILE


def read_csv(
    text: str, filename: str, wanted: tuple[str, ...] = ()
) -> dict[str, tuple[float, ...]]:
    """Return each column of a CSV text (a header row, then numbers) by its header's name; `wanted`,
    the network's inputs and targets, are what a missing header row should hold.

    Lines may end in LF, CRLF or a lone CR (old Mac files): all three end a line.
    """
    rows = _header_joined(_rows(text, ",", filename), ",")
    # cells separated by ; (a spreadsheet set for decimal commas) or by tabs
    if rows and len(rows[0][1]) == 1:
        separator = next((c for c in ";\t" if c in rows[0][1][0]), None)
        rows = _header_joined(_rows(text, separator, filename), separator) if separator else rows
    if not rows:  # nothing, or separators alone
        raise DataError(
            f"{filename}: empty: a CSV file needs a header row of names, then one row per sample"
        )
    names = [cell.strip() for cell in rows[0][1]]
    if filename.lower().endswith(".bp") or (len(names) == 1 and _NETWORK_LINE.match(names[0])):
        raise DataError(
            f"{filename}: a .bp network, not a CSV file of samples: give the network as FILE, and "
            "a CSV file (a header row of input and target names, then a row per sample) as --data"
        )
    # a header row names inputs and targets, and no name is a number
    if all(_number(name) for name in names):
        shown = ",".join(names) if len(",".join(names)) <= 40 else ",".join(names)[:40] + "..."
        header = f": {','.join(wanted)}" if wanted else ""
        raise DataError(
            f"{filename}: line {rows[0][0]} holds numbers ({shown}), not names: "
            f"start the file with a header row naming the inputs and targets{header}"
        )
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise DataError(f"{filename}: line {rows[0][0]}: the column '{twice}' appears twice")
    if len(rows) == 1:
        raise DataError(f"{filename}: no samples: the header row is the only row")
    columns: dict[str, list[float]] = {name: [] for name in names}
    for line, row in rows[1:]:
        if len(row) != len(names):
            raise DataError(
                f"{filename}: line {line}: {len(row)} cell{'s' if len(row) != 1 else ''}, "
                f"but the header names {len(names)} column{'s' if len(names) != 1 else ''}"
            )
        for name, cell in zip(names, row):
            try:
                value = float(cell)
            except ValueError:
                hint = (
                    f": use a decimal point, {cell.strip().replace(',', '.')}"
                    if _decimal_comma(cell)
                    else ""
                )
                raise DataError(
                    f"{filename}: line {line}, column '{name}': '{cell.strip()}' is not a "
                    f"number{hint}"
                ) from None
            if not math.isfinite(value):
                raise DataError(
                    f"{filename}: line {line}, column '{name}': {cell.strip()} is not a finite "
                    "number"
                )
            columns[name].append(value)
    return {name: tuple(values) for name, values in columns.items()}


def _rows(text: str, separator: str, filename: str) -> list[tuple[int, list[str]]]:
    """Return the CSV text's rows with their line numbers, cells split at `separator`, no blanks."""
    # newline=None: \r\n and a lone \r read as \n, as Python reads text files
    reader = csv.reader(io.StringIO(text, newline=None), delimiter=separator)
    rows = []
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((reader.line_num, row))
    except csv.Error as error:
        line = reader.line_num
        if "field larger than field limit" in str(error):
            raise DataError(
                f"{filename}: line {line}: a cell of more than {csv.field_size_limit():,} "
                "characters; "
                "a cell holds one number"
            ) from None
        raise DataError(f"{filename}: line {line}: not a CSV file of samples ({error})") from None
    return rows


def _header_joined(
    rows: list[tuple[int, list[str]]], separator: str
) -> list[tuple[int, list[str]]]:
    """Return the rows with a header cell split inside brackets joined again: a matrix element's
    name, X[1,2], is one column, whether quoted or not."""
    if not rows:
        return rows
    names: list[str] = []
    for cell in rows[0][1]:
        if names and names[-1].count("[") > names[-1].count("]"):
            names[-1] += separator + cell
        else:
            names.append(cell)
    return [(rows[0][0], names), *rows[1:]]


def _number(cell: str) -> bool:
    """Tell whether a cell is a number, written with a decimal point or comma."""
    try:
        float(cell.replace(",", "."))
    except ValueError:
        return False
    return True


def _decimal_comma(cell: str) -> bool:
    """Tell whether a cell is a number written with a decimal comma, 1,5."""
    return cell.count(",") == 1 and _number(cell)


def with_data(graph: Graph, columns: dict[str, tuple[float, ...]], filename: str) -> Graph:
    """Return `graph` with the inputs and targets the columns name holding the columns' samples."""
    data = {leaf.name: leaf for leaf in graph.leaves if leaf.kind in ("input", "target")}
    for name in columns:
        if name not in data:
            other = next((leaf.kind for leaf in graph.leaves if leaf.name == name), None)
            if other is not None:
                raise DataError(
                    f"{filename}: the column '{name}' is a {other} of the network; only inputs and "
                    "targets take data"
                )
            hint = did_you_mean(name, list(data)) or (
                f"the inputs and targets are {', '.join(data)}"
                if data
                else "the network has no inputs or targets"
            )
            raise DataError(
                f"{filename}: the column '{name}' is not an input or target of the network; {hint}"
            )
    samples = len(next(iter(columns.values())))
    for leaf in data.values():
        if (
            leaf.name not in columns
            and isinstance(leaf.value, tuple)
            and len(leaf.value) != samples
        ):
            raise DataError(
                f"{filename}: {_count(samples, 'sample')}, but '{leaf.name}' (line "
                f"{leaf.span.line}) holds "
                f"{len(leaf.value)}: give it a column too, or one value"
            )
    # One value where a column was meant would be every sample's, said nowhere: a column left out or
    # misnamed.
    missing = [
        leaf
        for leaf in data.values()
        if leaf.name not in columns and not isinstance(leaf.value, tuple)
    ]
    if missing:
        named = " and ".join(
            f"the {leaf.kind} '{leaf.name}' (line {leaf.span.line})" for leaf in missing
        )
        which = "the column" if len(missing) == 1 else "a column for each"
        raise DataError(
            f"{filename}: no column for {named}: the header names {', '.join(columns)}; add "
            f"{which}, "
            "or declare a value every sample shares with `const`"
        )
    leaves = tuple(
        replace(leaf, value=columns[leaf.name]) if leaf.name in columns else leaf
        for leaf in graph.leaves
    )
    # the samples are here now
    warnings = tuple(w for w in graph.warnings if w.message != BATCH_WITHOUT_SAMPLES)
    return replace(graph, leaves=leaves, samples=samples, warnings=warnings)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
