"""Keep a copy of what the terminal shows, in full colour, and save it as HTML or SVG for slides."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console, RenderableType

from bptrace.language.diagnostics import escaped


class Recorder:
    """Print to the terminal and to a recording console that keeps colours even when the terminal
    has none.

    A terminal that cannot be written (its reader gone, `| head`, or a full disk) stops being
    printed to, and the recording goes on: the export is whole, and `lost` says why the terminal is
    not.
    """

    def __init__(self, out: Console, title: str) -> None:
        self.out = out
        # Rich escapes it as SVG text, but no escape makes a control character valid XML.
        self.title = escaped(title)
        self.lost: OSError | None = None
        from bptrace.views.terminal.steps import PipeConsole

        self.copy = PipeConsole(
            record=True,
            file=io.StringIO(),
            width=out.width,
            force_terminal=True,
            color_system="truecolor",
            highlight=False,
            soft_wrap=False,
            no_color=False,
            ascii_only=getattr(out, "ascii_only", False),
        )

    @property
    def width(self) -> int:
        return self.out.width

    def print(self, renderable: RenderableType) -> None:
        if self.lost is None:
            try:
                self.out.print(renderable)
            except OSError as error:
                self.lost = error
        self.copy.print(renderable)

    def exported(self, path: Path) -> str:
        """Return the recording as the document `path` names: SVG for .svg, else HTML."""
        return (
            self.copy.export_svg(title=self.title)
            if path.suffix.lower() == ".svg"
            else self.copy.export_html()
        )
