"""Handouts: a run's tables as a Markdown or LaTeX document, or a worksheet's cells as CSV, some
tables left blank for students; its answer key; and the record of how a worksheet was made, which
`grade` reads to make its key again. `bptrace run --format` and `Network.handout` share these.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

FORMS = ("markdown", "latex", "csv")


def made(
    network: str, sheet: Any, steps: int, max_paths: int, options: Mapping[str, Any]
) -> dict[str, Any]:
    """Return how a worksheet was made: the network's name, its steps, the views.handout Sheet's
    tables, blanks and digits, and the `options` given (those that are None left out)."""
    from bptrace.views.tables import TABLES

    made: dict[str, Any] = {
        "network": network,
        "steps": steps,
        "show": list(sheet.sections),
        "blank": [t for t in TABLES if t in sheet.blank],
        "precision": sheet.precision,
        "max_paths": max_paths,
        "all": sheet.max_rows is None,
        "ascii": sheet.ascii_math,
    }
    return made | {k: v for k, v in options.items() if v is not None}


def writer(form: str, meta: dict[str, Any]) -> Callable[..., Iterator[str]]:
    """Return what writes a document of `form` a step at a time: (graph, records, sheet, title)
    → chunks; a Markdown worksheet (a sheet with blanks) carries `meta` in a comment."""
    from bptrace.views import handout

    if form == "csv":
        from bptrace.views.worksheet import csv_document

        def csv(graph: Any, records: Any, sheet: Any, title: str) -> Iterator[str]:
            return csv_document(graph, records, sheet, meta, filled=not sheet.blank)

        return csv
    if form == "latex":
        return handout.latex_document

    def markdown(graph: Any, records: Any, sheet: Any, title: str) -> Iterator[str]:
        from bptrace.views.worksheet import meta_comment

        comment = meta_comment(meta) if sheet.blank else ""
        return handout.markdown(graph, records, sheet, title, comment)

    return markdown


def title(name: str, blank: bool, variant: str | None, key: bool = False) -> str:
    """Return a handout's title: the run's, then whether it is a worksheet, a key, a variant."""
    said = f", variant {variant}" if variant else ""
    if key:
        return f"{name} (answer key{said})"
    if blank:
        return f"{name} (worksheet{said})"
    return f"{name} (variant {variant})" if variant else name
