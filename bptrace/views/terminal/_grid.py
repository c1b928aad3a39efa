"""Lay out a bptrace table that fits the width: the characters and styles of rich's Table, faster.

Every table bptrace shows is a rich Table of one shape (HEAD: a rule under the header and no other
line, no edge, no edge padding, one line per cell). When no cell has to wrap, its layout is simple:
each column as wide as its widest cell, three spaces between columns, a rule under the header.
Writing those lines as segments is much faster than rich's general layout, which was most of the
time a small run took (docs/performance.md). Anything else, a cell that must wrap, markup with
styles, a control character, a renderable that is not text, gets None, and rich lays the table out
itself. The tests compare the two, character by character and style by style, on every table the
example networks produce and on random ones.
"""

from __future__ import annotations

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions
from rich.errors import MarkupError
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.text import Text

_NULL = Style.null()


class _HeadRule(box.Box):
    """box.SIMPLE_HEAD, drawn with '-' where only ASCII shows (rich's ASCII box has | dividers)."""

    def substitute(self, options: ConsoleOptions, safe: bool = True) -> box.Box:
        return ASCII_HEAD if options.ascii_only else self


HEAD = _HeadRule(str(box.SIMPLE_HEAD))  # the box of every table bptrace shows
ASCII_HEAD = box.Box(str(box.SIMPLE_HEAD).replace("─", "-"), ascii=True)


def lines(table: Table, console: Console, options: ConsoleOptions) -> list[Segment] | None:
    """Return the table as segments, or None when rich must lay it out (see the docstring above)."""
    if not _plain_shape(table):
        return None
    # ASCII_HEAD where only ASCII can show.
    drawn = table.box.substitute(options, safe=console.safe_box)
    get_style = console.get_style
    columns = table.columns
    n = len(columns)
    header_style = get_style(table.header_style or "")
    if any(column.style or column.header_style for column in columns):
        return None
    pads = [(0 if i == 0 else 1) + (0 if i == n - 1 else 1) for i in range(n)]
    room = options.max_width - sum(pads) - (n - 1)  # for the columns' text
    # Row by row: a table too wide is given up at its first long row, before every cell is measured.
    # Per column: the header, then each row's.
    grid: list[list[tuple[str, Style | None]]] = [[] for _ in columns]
    widths = [column.min_width or 0 for column in columns]
    rows = [[column.header for column in columns], *zip(*(column.cells for column in columns))]
    if len(rows) != table.row_count + 1:
        return None  # a column added after the rows has fewer cells: zip would drop rows
    for row in rows:
        for i, cell in enumerate(row):
            cell = _cell(cell, console)
            # A newline, a tab, a control character: rich's to handle.
            if cell is None or not cell[0].isprintable():
                return None
            grid[i].append(cell)
            width = cell_len(cell[0])
            if width > widths[i]:
                widths[i] = width
                if sum(widths) > room:
                    return None
    if not all(widths):
        return None  # a column with no text at all: rich gives it a width of its own
    total = sum(widths) + sum(pads) + n - 1
    row_styles = [_NULL] + [
        get_style(row.style) if row.style is not None else _NULL for row in table.rows
    ]
    # Rich styles the dividers with a row's background.
    if any(s.bgcolor is not None for s in row_styles):
        return None
    out: list[Segment] = []
    add = out.append
    newline = Segment.line()
    divider = Segment(" ", _NULL)
    right = [c.justify == "right" for c in columns]
    for r, row_style in enumerate(row_styles):
        base = header_style + row_style if r == 0 else row_style
        for i in range(n):
            text, own = grid[i][r]
            if right[i]:
                text = text.rstrip()  # as rich justifies to the right
                body = " " * (widths[i] - cell_len(text)) + text
            else:
                body = text + " " * (widths[i] - cell_len(text))
            left = " " if i else ""
            end = " " if i < n - 1 else ""
            if own is None:
                add(Segment(left + body + end, base))
            else:
                if left:
                    add(Segment(left, base))
                add(Segment(body, base + own))
                if end:
                    add(Segment(end, base))
            if i < n - 1:
                add(divider)
        add(newline)
        if r == 0:
            cells = [w + p for w, p in zip(widths, pads)]
            add(
                Segment(
                    drawn.get_row(cells, "head", edge=False), get_style(table.border_style or "")
                )
            )
            add(newline)
    if table.caption:
        style = Style.pick_first(table.caption_style, "table.caption")
        caption = (
            console.render_str(table.caption, style=style, highlight=False)
            if isinstance(table.caption, str)
            else table.caption
        )
        out += console.render(
            caption,
            options.update(
                width=total, justify=table.caption_justify, highlight=False, height=None
            ),
        )
    return out


def _plain_shape(table: Table) -> bool:
    """Tell whether the table has the one shape this module lays out."""
    return (
        table.box is HEAD
        and not table.show_edge
        and not table.pad_edge
        and table.show_header
        and not table.show_footer
        and not table.show_lines
        and not table.title
        and not table.expand
        and table.width is None
        and table.padding == (0, 1, 0, 1)
        and not table.collapse_padding
        and not table.row_styles
        and table.style in (None, "", "none")
        and not table.leading
        and table.min_width is None
        and not table.border_style
        and not table.highlight
        and bool(table.columns)
        and all(not r.end_section for r in table.rows)
        and not any(c.highlight for c in table.columns)
        and all(
            c.width is None
            and c.max_width is None
            and c.ratio is None
            and c.justify in ("left", "right")
            and c.vertical == "top"
            for c in table.columns
        )
    )


def _cell(cell, console: Console) -> tuple[str, Style | None] | None:
    """Return a cell's text and own style (None for none), or None when it needs rich's layout."""
    if isinstance(cell, str):
        if "[" in cell or ":" in cell:  # markup or an emoji code: read as rich would
            try:
                cell = console.render_str(cell, highlight=False)
            except MarkupError:  # rich's own layout says so, if it gets as far as this cell
                return None
        else:
            return cell, None
    if (
        type(cell) is not Text
        or cell.spans
        or cell.justify
        or cell.overflow
        or cell.no_wrap
        or cell.end != "\n"
    ):
        return None
    # as rich renders a Text
    return cell.plain, console.get_style(cell.style, default=_NULL) if cell.style else None
