"""Keep a copy of what the terminal shows, in full colour, and save it as HTML or SVG for slides."""

from __future__ import annotations

import io
import os
from pathlib import Path

from rich.console import Console, RenderableType

FORMATS = (".html", ".svg")


class Recorder:
    """Print to the terminal and to a recording console that keeps colours even when the terminal has none."""

    def __init__(self, out: Console, title: str) -> None:
        self.out = out
        self.title = title
        self.copy = Console(
            record=True, file=io.StringIO(), width=out.width, force_terminal=True, color_system="truecolor",
            highlight=False, soft_wrap=False, no_color=False,
        )

    def print(self, renderable: RenderableType) -> None:
        self.out.print(renderable)
        self.copy.print(renderable)

    def save(self, path: Path) -> None:
        """Write the recording to `path` (.html or .svg) at once, so no half-written file is ever left."""
        text = self.copy.export_svg(title=self.title) if path.suffix.lower() == ".svg" else self.copy.export_html()
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            temporary.write_text(text, encoding="utf-8")
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
