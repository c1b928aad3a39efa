"""Fit a table into the terminal's width without ever cutting a number, a name or a header word.

plan() decides from the cells' text alone; fitted() rebuilds a rich Table to that plan.

Names and numbers stay whole, on one line. A formula wraps only between its pieces: at a space,
after a product's dot, after a division's slash (never the slash of ∂L/∂w). A header wraps only at
its spaces. When even the narrowest such layout is too wide, plan() leaves columns out, formulas
first (the rightmost first), then numbers right to left, the last of them (the value, the param
after its update) kept longest and the first column always. The terminal shows the columns left
out in tables of their own under the first, the names repeated (steps._Fitted); --pause names
them in a note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console
from rich.errors import MarkupError
from rich.table import Table
from rich.text import Text

from bptrace.views.terminal import _grid

_OPERATORS = "·*+−-=/×"  # binary, written with a space on each side
GAP = 3  # between two columns: a cell's padding on each side and the divider


def breaks(text: str) -> list[int]:
    """Return where a line of `text` may end: before each index, never inside a number or name."""
    out = []
    for j in range(1, len(text)):
        before, at = text[j - 1], text[j]
        if at == " " or (at in _OPERATORS and text[j + 1 : j + 2] in (" ", "")):
            continue  # a line ends in `a ·`, never begins with `· b`
        # After a space, a product's dot or a division's slash; ∂L/∂w and dL/dw are one name.
        if before == " " or before in "·*" or (before == "/" and at not in "∂d"):
            out.append(j)
    return out


def pieces(text: str) -> list[str]:
    """Return `text` cut at every break, each piece without the spaces around it."""
    cuts = [0, *breaks(text), len(text)]
    return [text[a:b].strip(" ") for a, b in zip(cuts, cuts[1:]) if text[a:b].strip(" ")]


def narrowest(text: str, formula: bool) -> int:
    """Return the least width `text` wraps to: its widest piece (a formula) or word (other text)."""
    parts = [p for line in text.split("\n") for p in (pieces(line) if formula else line.split(" "))]
    return max((cell_len(p) for p in parts), default=0)


def wrap(text: str, width: int, formula: bool = True) -> list[tuple[int, int]]:
    """Return the lines of `text` at most `width` wide as (start, end) offsets, cut only at breaks
    (a formula) or spaces (any other text); a piece wider than `width` stays whole on its own line.
    """
    lines: list[tuple[int, int]] = []
    offset = 0
    for paragraph in text.split("\n"):
        cuts = breaks(paragraph) if formula else _spaces(paragraph)
        start, last = 0, 0
        for cut in [*cuts, len(paragraph)]:
            if last > start and cell_len(paragraph[start:cut].strip(" ")) > width:
                lines.append(_trimmed(paragraph, start, last, offset))
                start = last
            last = cut
        lines.append(_trimmed(paragraph, start, len(paragraph), offset))
        offset += len(paragraph) + 1
    return lines


def _spaces(text: str) -> list[int]:
    """Return where a line of plain text may end: after its spaces."""
    return [j for j in range(1, len(text)) if text[j - 1] == " " != text[j]]


def _trimmed(text: str, start: int, end: int, offset: int) -> tuple[int, int]:
    while start < end and text[start] == " ":
        start += 1
    while end > start and text[end - 1] == " ":
        end -= 1
    return offset + start, offset + end


@dataclass(frozen=True, slots=True)
class Layout:
    """Which columns a table shows and how wide each is; `one_line` when no cell wraps."""

    shown: tuple[int, ...]
    widths: tuple[int, ...]  # of the shown columns
    one_line: bool
    needed: int  # the least width that shows every column


def plan(columns: Sequence[Sequence[str]], keep: Sequence[bool], width: int) -> Layout:
    """Return the layout of columns (each its header, then its cells) in `width`; `keep` columns
    hold names or numbers, which never wrap (their headers may, at spaces), the others formulas."""
    n = len(columns)
    natural = [
        max(cell_len(line) for text in column for line in text.split("\n")) for column in columns
    ]
    if sum(natural) + GAP * (n - 1) <= width:
        return Layout(tuple(range(n)), tuple(natural), True, sum(natural) + GAP * (n - 1))
    least = [_least(column, keep[i]) for i, column in enumerate(columns)]
    needed = sum(least) + GAP * (n - 1)
    shown = list(range(n))
    # The last of them (a value, a param after its update) goes last.
    numbers = [i for i in range(1, n) if keep[i]]
    order = [i for i in reversed(range(1, n)) if not keep[i]] + numbers[-2::-1] + numbers[-1:]
    for drop in [None, *order]:
        if drop is not None and drop in shown and len(shown) > 1:
            shown.remove(drop)
        room = width - GAP * (len(shown) - 1)
        if sum(least[i] for i in shown) <= room:
            return Layout(tuple(shown), _spread(shown, least, natural, keep, room), False, needed)
    # A name wider than the terminal: it must fold.
    return Layout((0,), (min(least[0], width),), False, needed)


def _least(column: Sequence[str], keep: bool) -> int:
    """Return a column's least width: its header's widest word, widest number or formula piece."""
    cells = [
        max(cell_len(line) for line in text.split("\n")) if keep else narrowest(text, True)
        for text in column[1:]
    ]
    return max([narrowest(column[0], False), *cells])


def _spread(
    shown: list[int], least: list[int], natural: list[int], keep: Sequence[bool], room: int
) -> tuple[int, ...]:
    """Return the shown columns' widths: each its least, then the room left given to the headers of
    numbers (so they need not wrap), then to formulas, the one furthest from its natural width
    first."""
    widths = {i: least[i] for i in shown}
    spare = room - sum(widths.values())
    for group in ([i for i in shown if keep[i]], [i for i in shown if not keep[i]]):
        while spare > 0:
            short = [i for i in group if widths[i] < natural[i]]
            if not short:
                break
            i = max(short, key=lambda i: natural[i] - widths[i])
            widths[i] += 1
            spare -= 1
    return tuple(widths[i] for i in shown)


# The same, for a rich Table: what steps.py and stepper.py show.


def left_out_note(headers: list[str], needed: int) -> str:
    """Return the note under a table too wide: the columns left out, and the width showing them."""
    names = ", ".join(" ".join(h.split()) for h in headers)
    them = "it" if len(headers) == 1 else "them"
    return f"Not shown at this width: {names}; {needed} columns show {them}."


def plain(cell, console: Console) -> Text:
    """Return a cell as the Text rich would render (a string's markup read)."""
    if isinstance(cell, Text):
        return cell
    # No markup, no emoji code: the string is the text (and much faster)
    if "[" not in cell and ":" not in cell:
        return Text(cell)
    try:
        return console.render_str(cell, highlight=False)
    except MarkupError:  # rich says so when it renders the cell
        return Text(cell)


def plan_table(table: Table, console: Console, width: int) -> Layout:
    """Return `table`'s layout in `width`: names and numbers whole, formulas wrapped at breaks."""
    texts = [
        [
            x if isinstance(x, str) and "[" not in x and ":" not in x else plain(x, console).plain
            for x in (c.header, *c.cells)
        ]
        for c in table.columns
    ]
    keep = [c.justify == "right" or i == 0 for i, c in enumerate(table.columns)]
    return plan(texts, keep, width)


def columns(table: Table, indices: list[int]) -> Table:
    """Return a table of some of `table`'s columns, in its rows' styles."""
    out = Table(box=_grid.HEAD, show_edge=False, pad_edge=False, show_header=table.show_header)
    for i in indices:
        column = table.columns[i]
        out.add_column(column.header, justify=column.justify)
    cells = [list(table.columns[i].cells) for i in indices]
    for r, row in enumerate(table.rows):
        out.add_row(*(column[r] for column in cells), style=row.style)
    return out


def fitted(table: Table, layout: Layout, console: Console, fixed: bool = False) -> Table:
    """Return `table` with only the columns `layout` shows, at its widths, each cell wrapped where
    it may break; `fixed`, every column at its width, even where no cell of this table's wraps (a
    table revealed row by row)."""
    out = Table(box=_grid.HEAD, show_edge=False, pad_edge=False, show_header=table.show_header)
    columns = [table.columns[i] for i in layout.shown]
    cells = [
        [_wrapped(plain(x, console), width, i != 0 and c.justify != "right") for x in c.cells]
        for i, c, width in zip(layout.shown, columns, layout.widths)
    ]
    for column, width, body in zip(columns, layout.widths, cells):
        header = _wrapped(plain(column.header, console), width, False)
        # Else its width is its widest cell's, as grid lays it out.
        wraps = any("\n" in x.plain for x in [header, *body])
        # Folding is for a name wider than the terminal alone: nothing else can show it.
        out.add_column(
            header, justify=column.justify, width=width if wraps or fixed else None, overflow="fold"
        )
    for r, row in enumerate(table.rows):
        out.add_row(*(body[r] for body in cells), style=row.style)
    return out


def _wrapped(text: Text, width: int, formula: bool) -> Text:
    lines = wrap(text.plain, width, formula)
    if len(lines) == 1:
        return text
    # One divide() for every line: slicing a Text copies it, so a slice per line is quadratic.
    pieces = text.divide(offset for line in lines for offset in line)
    return Text("\n").join(pieces[1::2])
