"""Present a run live, a piece at a time, back and forth, as the lecturer's keys ask.

The presenter keeps each step's script (bptrace.views.terminal.stepper) and where the lecture
stands: a step, a stop in its script, and the item its screen starts at. Going forward prints what
the next stop adds, as a slide builds up; going back, or to another step, clears the terminal and
draws the screen as it was from the scripts alone: the engine does not run again. Steps ahead are
computed when the lecture first reaches them. A status line under the screen answers ? and g, and
is wiped before the next piece.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from rich.console import Console, RenderableType
from rich.control import Control, ControlType
from rich.segment import SegmentLines
from rich.text import Text

from bptrace.engine.graph import Graph
from bptrace.engine.tracer import Final, Step
from bptrace.views.terminal import stepper
from bptrace.views.terminal.keys import ERASE, Keys, Quit
from bptrace.views.terminal.steps import View, render_final

HINT = "Enter or space: next · ←: back · ?: keys · q: quit"
HINT_ASCII = "Enter or space: next, <-: back, ?: keys, q: quit"
PIECES = {"row": stepper.ROW, "table": stepper.TABLE, "step": stepper.STEP}
HELP = (
    "Enter/space/→: next · ←/Backspace/PgUp: back · Tab: rest of table · End: rest of step · "
    "g N Enter: step N · q: quit"
)
HELP_ASCII = (
    "Enter/space/->: next, <-/Backspace/PgUp: back, Tab: rest of table, End: rest of step, "
    "g N Enter: step N, q: quit"
)


@dataclass(frozen=True, slots=True)
class Pace:
    """How the lecture goes: the size of a piece, the layout, and how many steps the run has."""

    by: str = "row"  # row, table or step: what Enter reveals
    compact: bool = False  # each table a screen of its own, numbers under the formulas
    steps: int = 1


class Place(NamedTuple):
    """Where the lecture stands: a stop of a step's script, on a screen starting at `page`."""

    step: int
    stop: int
    page: tuple[int, int]  # (step, item): the first item on the screen since it was last cleared


class Presenter:
    """Reveal a run's steps as the keys ask; keep what was revealed, for --export."""

    def __init__(
        self,
        out: Console,
        graph: Graph,
        view: View,
        records: Iterable[Step | Final],
        keys: Keys,
        pace: Pace,
    ) -> None:
        self.out, self.graph, self.view, self.keys, self.pace = out, graph, view, keys, pace
        self.records = iter(records)
        self.steps: list[Step] = []
        self.scripts: dict[int, stepper.Script] = {}
        self.final: Final | None = None
        self.place: Place | None = None
        self.history: list[Place] = []
        self.shown: dict[int, bytearray] = {}  # each step's items revealed
        self.blanks: dict[int, dict[int, tuple]] = {}  # rows revealed with their number blank
        self.summary: RenderableType | None = None
        self.status = 0  # the lines of the status message on screen, the cursor at its end

    def present(self) -> None:
        """Reveal the run until its summary; on q, say that it stopped."""
        try:
            self._script(1)
            self._go(Place(1, 0, (1, 0)))
            self._lecture()
        except Quit:
            self._unsay()
            self.out.print("Stopped (q).", style="dim")
        except BaseException:
            self._unsay()
            raise

    def _lecture(self) -> None:
        while True:
            action = self.keys.action()
            if action == "help":
                self._say(HELP if self.view.notation.pretty else HELP_ASCII)
            elif action == "back":
                if self.history:
                    self._go(self.history.pop(), redraw=True)
                else:
                    self._say("This is the first screen: there is nothing before it.")
            elif action == "goto":
                self._ask_step()
            elif action is not None:
                level = PIECES[self.pace.by] if action == "next" else PIECES[action]
                if not self._forward(level):
                    return

    def _forward(self, level: int) -> bool:
        """Go to the next stop that waits and ends a piece of `level`; show the summary after the
        last step, and return False then."""
        passed = None
        try:
            for target in self._after(self.place):
                passed = target
                stop = self._stop(target)
                if stop.level >= level and self._waits(target):
                    self.history.append(self.place)
                    self._go(target)
                    return True
        except Exception:  # a step ahead failed (a numeric fault): show all before it first
            if passed is not None:
                self._go(passed)
            raise
        self._unsay()
        if self.pace.compact:
            self._clear()
        self.summary = render_final(self.graph, self.steps[0], self.final, self.view)
        self.out.print(self.summary)
        return False

    def _after(self, place: Place) -> Iterator[Place]:
        """Yield the stops after `place`, computing the steps ahead as they are reached."""
        k, s = place.step, place.stop
        while True:
            s += 1
            if s == len(self._script(k).stops):
                if self._script(k + 1) is None:
                    return
                k, s = k + 1, 0
            page = (k, self.scripts[k].stops[s].page) if self.pace.compact else place.page
            yield Place(k, s, page)

    def _waits(self, place: Place) -> bool:
        """Tell whether the reveal waits at a stop it reaches going forward: a table's opening,
        where the next table's title and header come with the last row (one screen after another
        with --compact: its last row); the run's very last stop always."""
        kind = self._stop(place).kind
        last = (
            place.step == self.pace.steps and place.stop == len(self.scripts[place.step].stops) - 1
        )
        return last or kind != ("opening" if self.pace.compact else "end")

    def _ask_step(self) -> None:
        """Read a step number after g, then go to that step's start; say what is wrong with it."""
        typed = ""
        while True:
            self._say(f"Go to step (1 to {self.pace.steps}), then Enter: {typed}")
            key = self.keys.key()
            if key in ("\r", "\n"):
                break
            if key == "\x1b":  # Esc: never mind
                self._unsay()
                return
            if key in ERASE:
                typed = typed[:-1]
            elif len(key) == 1 and key.isprintable():
                typed += key
        steps = f"steps 1 to {self.pace.steps}" if self.pace.steps > 1 else "one step, step 1"
        if not typed:
            self._say(f"No step number typed: this run has {steps}.")
            return
        if not (typed.isascii() and typed.isdigit()):
            self._say(f"'{typed}' is not a step number: this run has {steps}.")
            return
        n = int(typed)
        if not 1 <= n <= self.pace.steps or self._script(n) is None:
            self._say(f"There is no step {n}: this run has {steps}.")
            return
        self.history.append(self.place)
        self._go(Place(n, 0, (n, 0)), redraw=True)

    def _script(self, k: int) -> stepper.Script | None:
        """Return step k's script, computing the steps up to it; None when the run has no step k."""
        while len(self.steps) < k and self.final is None:
            record = next(self.records)
            if isinstance(record, Step):
                self.steps.append(record)
            else:
                self.final = record
        if k > len(self.steps):
            return None
        if k not in self.scripts:
            step = self.steps[k - 1]
            self.scripts[k] = stepper.script(
                self.out, self.graph, step, self.view, self.pace.compact
            )
        return self.scripts[k]

    def _stop(self, place: Place) -> stepper.Stop:
        return self.scripts[place.step].stops[place.stop]

    # Drawing

    def _go(self, place: Place, redraw: bool = False) -> None:
        """Show `place`: what it adds to the screen, or the screen drawn anew."""
        self._unsay()
        old = self.place
        if old is None:
            self.out.print(self._hint())
            stepper.reveal(self.out, self.scripts[place.step].items, None, self._stop(place))
        elif redraw or place.page != old.page or place < old:
            self._clear()
            self._draw(place)
        else:
            before = self._stop(old)
            for k in range(old.step, place.step + 1):
                items = self.scripts[k].items
                stop = self._stop(place) if k == place.step else stepper.Stop(len(items))
                stepper.reveal(self.out, items, before, stop)
                before = stepper.Stop(0)
        self.place = place
        self._mark(place)

    def _draw(self, place: Place) -> None:
        """Print the last screenful of what `place` shows, from its page on."""
        room = max(1, self.out.height - 1)  # the last line holds the cursor, or the status
        lines: list = []
        for item in self._screen(place):
            lines[:0] = self.out.render_lines(item, self.out.options, pad=False)
            if len(lines) >= room:
                break
        self.out.print(SegmentLines(lines[-room:], new_lines=True))

    def _screen(self, place: Place) -> Iterator[RenderableType]:
        """Yield what `place` shows, from the last item back to its page's first."""
        stop = self._stop(place)
        yield from reversed(stop.tail)
        for k in range(place.step, place.page[0] - 1, -1):
            items = self.scripts[k].items
            end = stop.end if k == place.step else len(items)
            start = place.page[1] if k == place.page[0] else 0
            yield from reversed(items[start:end])
        if place.page == (1, 0):  # the lecture's first screen
            yield self._hint()

    def _hint(self) -> Text:
        return Text(HINT if self.view.notation.pretty else HINT_ASCII, style="dim")

    def _mark(self, place: Place) -> None:
        """Note the items `place` shows as revealed, back to those already noted."""
        stop = self._stop(place)
        for k in range(place.step, place.page[0] - 1, -1):
            items = self.scripts[k].items
            shown = self.shown.setdefault(k, bytearray(len(items)))
            i = (stop.end if k == place.step else len(items)) - 1
            low = place.page[1] if k == place.page[0] else 0
            while i >= low and not shown[i]:
                shown[i] = 1
                i -= 1
            if i >= low:
                break
        if stop.tail and not self.shown[place.step][stop.end]:
            self.blanks.setdefault(place.step, {})[stop.end] = stop.tail

    def _clear(self) -> None:
        if self.out.is_terminal:
            self.out.control(Control.clear(), Control.home())

    def _say(self, message: str) -> None:
        """Show a message under the screen, wiped before anything else is shown."""
        self._unsay()
        line = Text(message, style="dim")
        if self.out.is_terminal:
            self.out.print(line, end="")
            self.status = len(self.out.render_lines(line, self.out.options))
        else:
            self.out.print(line)

    def _unsay(self) -> None:
        """Wipe the status lines, the cursor left where they began."""
        erase = Control((ControlType.ERASE_IN_LINE, 2))
        if self.status:
            up = [c for _ in range(self.status - 1) for c in (Control.move(0, -1), erase)]
            self.out.control(Control.move_to_column(0), erase, *up)
            self.status = 0

    # What was revealed, for --export

    def revealed(self) -> Iterator[RenderableType]:
        """Yield what was revealed, step by step, a row whose number never was with it blank."""
        for k in sorted(self.shown):
            items, shown, blanks = self.scripts[k].items, self.shown[k], self.blanks.get(k, {})
            for i, item in enumerate(items):
                if shown[i]:
                    yield item
                elif i in blanks:
                    yield from blanks[i]
        if self.summary is not None:
            yield self.summary

    def exported(self, path: Path, title: str) -> str:
        """Return what was revealed as the document `path` names: SVG for .svg, else HTML."""
        from bptrace.views.terminal.export import Recorder

        recorder = Recorder(self.out, title)
        for item in self.revealed():
            recorder.copy.print(item)
        return recorder.exported(path)
