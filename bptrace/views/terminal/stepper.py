"""Step through a trace live, a piece at a time, as a lecturer builds up a slide.

Each forward node, then each local derivative (its formula, then its number), each param's chain and
each update appear on the next key: Enter or space; q quits. What was revealed stays on screen.
Tables keep the layout of the whole table from their first row (bptrace.views.terminal.fit: the same
columns at the same widths), so rows line up as they arrive.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

from rich.cells import cell_len
from rich.console import Console
from rich.control import Control
from rich.table import Table
from rich.text import Text

from bptrace.engine.graph import Graph
from bptrace.engine.tracer import Step
from bptrace.views import tables
from bptrace.views.terminal import _grid, fit
from bptrace.views.terminal.steps import (
    Heading,
    View,
    add_row,
    batch_loss,
    batch_note,
    leaves_line,
    writer,
)

ADVANCE = ("\r", "\n", " ")
ADVANCE_SEQUENCES = (
    "\x1b[C",
    "\x1b[B",
    "\x1b[6~",
    "\x1bOC",
    "\x1bOB",
    "\x00M",
    "\x00P",
    "\xe0M",
    "\xe0P",
    "\xe0Q",
)
QUIT = ("q", "Q", "\x1b")  # q, or Esc alone


class Quit(Exception):
    """The lecturer pressed q."""


class Keys:
    """Read single key presses from the terminal on stdin, without echo, restoring it afterwards.

    A signal must stop a wait for a key at once. Python runs its handler between two operations, so
    a signal arriving just before os.read() would wait inside it for the next key; here a key is
    read only once select() says one is there, and select() also watches the pipe that the C-level
    handler writes each signal to (signal.set_wakeup_fd), which wakes it whenever the signal came.
    """

    def __enter__(self) -> Keys:
        self.fd = sys.stdin.fileno()
        self.saved = None
        self.wakeup = None
        if os.name == "posix":
            import termios
            import tty

            self.saved = termios.tcgetattr(self.fd)
            try:
                tty.setcbreak(self.fd)  # keys arrive one by one; Ctrl-C still interrupts
                self._watch_signals()
            except BaseException:  # a signal right now: __exit__ will not be called
                self.__exit__()
                raise
        return self

    def _watch_signals(self) -> None:
        import signal

        read, write = os.pipe()
        os.set_blocking(read, False)
        os.set_blocking(write, False)
        try:
            self.previous_wakeup = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        except ValueError:  # not the main thread, where no handler runs anyway
            os.close(read)
            os.close(write)
            return
        self.wakeup = (read, write)

    def __exit__(self, *exc) -> None:
        if self.wakeup is not None:
            import signal

            signal.set_wakeup_fd(self.previous_wakeup)
            for fd in self.wakeup:
                os.close(fd)
            self.wakeup = None
        if self.saved is not None:
            import termios

            try:
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)
            except termios.error:  # the terminal is gone (SIGHUP): nothing left to restore
                pass
            self.saved = None

    def wait(self) -> None:
        """Return on Enter, space, → ↓ or Page Down (as clickers send); raise Quit on q or Esc."""
        while True:
            key = self._key()
            if not key or key in QUIT:  # stdin ended, q, or Esc alone
                raise Quit
            if key in ADVANCE or key in ADVANCE_SEQUENCES:
                return

    def _key(self) -> str:
        if os.name != "posix":  # pragma: no cover - Windows
            import msvcrt

            key = msvcrt.getwch()
            return key + msvcrt.getwch() if key in ("\x00", "\xe0") else key
        import select

        watched = [self.fd] if self.wakeup is None else [self.fd, self.wakeup[0]]
        while self.fd not in select.select(watched, [], [])[0]:
            os.read(self.wakeup[0], 64)  # a signal's byte: its handler runs next and stops the run
        key = os.read(self.fd, 1).decode("utf-8", "replace")
        if key == "\x03":  # Ctrl-C as a byte: the terminal sends no SIGINT (stty -isig)
            raise KeyboardInterrupt
        if key == "\x1b":  # Esc alone, or the start of an arrow key's sequence
            while select.select([self.fd], [], [], 0.05)[0]:
                key += os.read(self.fd, 1).decode("utf-8", "replace")
                if key[-1].isalpha() or key[-1] == "~":
                    break
        return key


def step_through(out: Console, graph: Graph, step: Step, view: View, keys: Keys) -> None:
    """Reveal one step piece by piece, waiting for a key before each piece."""
    w = writer(view, step, graph)
    out.print(Heading(f"Step {step.step}"))
    if step.samples is not None:
        out.print(Text(batch_note(graph, step, view), style="dim"))
    if "forward" in view.sections:
        out.print(leaves_line(graph, step, view))
        _reveal(out, tables.forward(graph, step, w), view, keys)
        if step.samples is not None:
            out.print(batch_loss(graph, step, view))
    if "partials" in view.sections:
        _reveal(out, tables.partials(graph, step, w), view, keys, formula_first=True)
    if "chains" in view.sections:
        _reveal(out, tables.chains(step, graph.loss, w), view, keys, by_subject=True)
    if "updates" in view.sections:
        _reveal(out, tables.updates(graph, step, w), view, keys)
    out.print()


def _reveal(
    out: Console,
    rows: tables.TableRows,
    view: View,
    keys: Keys,
    formula_first: bool = False,
    by_subject: bool = False,
) -> None:
    # The whole table's, so rows line up.
    layout = fit.plan_table(_table(rows, list(rows.rows), view), out, out.width)
    out.print()
    out.print(Text(rows.title, style="bold"))
    out.print(_fitted(rows, layout, out, header=True))
    rewrite = formula_first and out.is_terminal
    for group in _groups(rows.rows, by_subject):
        keys.wait()
        for row in group:
            if rewrite:
                blank = tables.Row(
                    (*row.cells[:-1], " " * cell_len(row.cells[-1])), row.kind, row.subject
                )
                part = _fitted(rows, layout, out, [blank], view)
                out.print(part)
                keys.wait()
                out.control(Control.move(0, -len(out.render_lines(part, out.options))))
            out.print(_fitted(rows, layout, out, [row], view))
    left_out = [h for i, h in enumerate(rows.headers) if i not in layout.shown]
    if left_out:
        out.print(Text(fit.left_out_note(left_out, layout.needed), style="dim"))


def _groups(rows: list[tables.Row], by_subject: bool) -> Iterator[list[tables.Row]]:
    """Yield the rows revealed together: one at a time, or a param's whole chain."""
    group: list[tables.Row] = []
    for row in rows:
        if group and (not by_subject or row.subject != group[-1].subject):
            yield group
            group = []
        group.append(row)
    if group:
        yield group


def _fitted(
    rows: tables.TableRows,
    layout: fit.Layout,
    out: Console,
    body: list[tables.Row] = (),
    view: View = View(),
    header: bool = False,
) -> Table:
    """Return rows as laid out for the whole table: the same columns at the same widths."""
    return fit.fitted(_table(rows, body, view, header), layout, out, fixed=True)


def _table(
    rows: tables.TableRows, body: list[tables.Row] = (), view: View = View(), header: bool = False
) -> Table:
    table = Table(box=_grid.HEAD, show_edge=False, pad_edge=False, show_header=header)
    for i, name in enumerate(rows.headers):
        table.add_column(
            name, justify="right" if i >= rows.numeric_from and i not in rows.text else "left"
        )
    for row in body:
        add_row(table, row, view)
    return table
