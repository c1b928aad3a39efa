"""What `bptrace present` does: train the network and write the steps as one self-contained page.

outputs.py declares the options and exits.py maps errors to exit codes; the page is written whole
to a temporary file and renamed (files.save), so an unwritable path fails before the run and a
stopped run leaves nothing half-written. No typer here.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from bptrace.cli import files, process
from bptrace.cli.commands import UsageProblem, load_network
from bptrace.language.diagnostics import escaped

# names (leaves and nodes) a page draws: past this, no projector shows the boxes legibly
MAX_NAMES = 200
MAX_STEPS = 1000  # steps a page holds: each is a step-through of its own


class PresentOptions(NamedTuple):
    """What `bptrace present` was asked."""

    output: Path
    steps: int = 1
    lr: float | None = None
    seed: int | None = None
    data: Path | None = None
    precision: int = 4
    max_paths: int = 8


def default_output(file: Path) -> Path:
    """Return the page of FILE when -o is not given: its name with .html, in the current folder."""
    return Path(file.stem + ".html")


def present(source: str, filename: str, how: PresentOptions) -> None:
    """Trace the network and save the page; say on stderr where it went."""
    from bptrace.views.page import page
    from bptrace.views.stepthrough import Look, page_data

    if how.steps > MAX_STEPS:
        raise UsageProblem(
            f"--steps {how.steps}: a page holds at most {MAX_STEPS:,} steps; "
            "use bptrace run --every K for a long run"
        )
    files.writable(how.output)  # before the run: an unwritable path is said at once
    net = load_network(source, filename, how.seed, how.data)
    graph = net._graph
    drawn = len(graph.leaves) + len(graph.nodes)
    if drawn > MAX_NAMES:
        raise UsageProblem(
            f"{filename} has {drawn:,} inputs, params and nodes; a page draws at most "
            f"{MAX_NAMES} legibly: use bptrace run (with --view matrix for layers)"
        )
    from bptrace.cli.runs import RunOptions, training

    run = training(net, RunOptions(how.steps, how.lr, how.precision, (), how.max_paths))
    look = Look(precision=how.precision)
    records = run._engine
    data = page_data(graph, records, f"bptrace present {filename}", look)
    files.save(how.output, page(graph, data, look))
    process.stderr().print(f"bptrace: wrote {escaped(files.shown(how.output))}", markup=False)
