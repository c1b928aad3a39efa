"""`bptrace export`: write the network as a script of another framework (PyTorch) to stdout."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import NamedTuple

from bptrace.cli import files
from bptrace.cli.commands import load_network
from bptrace.cli.runs import RunOptions, training


class ExportOptions(NamedTuple):
    """What `bptrace export` was asked."""

    steps: int
    lr: float | None = None
    seed: int | None = None
    data: Path | None = None
    batch_size: int | None = None
    shuffle: bool = False


def export(source: str, filename: str, how: ExportOptions) -> None:
    """Write the PyTorch script training the network in `source` as `bptrace run` would."""
    from bptrace.engine.tracer import batch_rows
    from bptrace.views.torch_script import Export, torch_script

    net = load_network(source, filename, how.seed, how.data, how.shuffle)
    graph = net._graph
    asked = RunOptions(how.steps, how.lr, 4, (), 1, batch_size=how.batch_size, shuffle=how.shuffle)
    rows = batch_rows(graph.samples, training(net, asked).batches, how.steps)
    lr = float(graph.settings["lr"] if how.lr is None else how.lr)
    script = torch_script(graph, Export(how.steps, lr, rows, _command(filename, how)), filename)
    sys.stdout.write(script)
    sys.stdout.flush()


def _command(filename: str, how: ExportOptions) -> str:
    """Return the command that writes the script again, its words quoted for a POSIX shell."""
    words = ["bptrace", "export", filename, "--torch", "--steps", str(how.steps)]
    given = {
        "--lr": how.lr,
        "--seed": how.seed,
        "--data": how.data and files.shown(how.data),
        "--batch-size": how.batch_size,
    }
    for option, value in given.items():
        if value is not None:
            words += [option, str(value)]
    return shlex.join(words + ["--shuffle"] * how.shuffle)
