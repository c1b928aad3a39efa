"""`bptrace plot`: train the network (or several copies, each with a setting of its own) and draw
the loss by step, and the params' values, to an SVG or PNG file. No typer here.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from bptrace.cli import files, process
from bptrace.cli.commands import UsageProblem, check_params, load_network
from bptrace.errors import EXIT_USAGE, BptraceError
from bptrace.language.diagnostics import escaped

INSTALL = "pip install 'bptrace[plot]' (from a clone: pip install '.[plot]')"


class PlotOptions(NamedTuple):
    """What `plot` was asked: the file to draw, the steps, and what to draw in it."""

    out: Path
    steps: int = 1
    params: tuple[str, ...] = ()  # params whose values are drawn below the loss
    compare: str | None = None  # SETTING=V1,V2,…: a run for each value
    lr: float | None = None
    seed: int | None = None
    data: Path | None = None
    log: bool = False  # the loss on a logarithmic axis


class PlotUnavailable(BptraceError):
    """`bptrace plot` without matplotlib, the optional extra that draws."""

    exit_code = EXIT_USAGE


def form_of(out: Path) -> str | None:
    """Return the picture format `out` names by its extension (svg or png), None for another."""
    from bptrace.views.plot import FORMATS

    form = out.suffix.lower().removeprefix(".")
    return form if form in FORMATS else None


def compared(given: str) -> tuple[str, tuple[str, ...]]:
    """Return the setting and the values of --compare SETTING=V1,V2,… (a UsageProblem if it is
    not that)."""
    name, equals, values = given.partition("=")
    name = name.strip()
    each = tuple(v.strip() for v in values.split(","))
    if not equals or not name or not all(each):
        raise UsageProblem(
            f"--compare takes SETTING=V1,V2,…, as in --compare optimizer=sgd,adam; got "
            f"'{escaped(given)}'"
        )
    for i, value in enumerate(each):
        if value in each[:i]:
            raise UsageProblem(f"--compare gives {name} = {escaped(value)} twice")
    return name, each


def plot(source: str, filename: str, how: PlotOptions) -> None:
    """Train each run, then write its loss curve (and params) to `how.out` in one piece."""
    from bptrace.api.comparing import records
    from bptrace.cli.differ import _other, settings_given
    from bptrace.views import plot as drawing
    from bptrace.views.series import collect

    try:
        drawing.matplotlib_loaded()
    except drawing.MatplotlibMissing:
        raise PlotUnavailable(
            f"bptrace plot draws with matplotlib, which is not installed; install it with {INSTALL}"
        ) from None
    files.writable(how.out)
    net = load_network(source, filename, how.seed, how.data)
    graph = net._graph
    check_params(graph, how.params, filename)
    runs = [("", graph)]
    if how.compare is not None:
        name, values = compared(how.compare)
        for clash, given in (("lr", how.lr), ("seed", how.seed)):
            if name == clash and given is not None:
                raise UsageProblem(
                    f"--{clash} sets the {clash} of every run, and --compare {clash}=… each run's "
                    f"own; give one of them"
                )
        runs = []
        for value in values:
            settings = settings_given((f"{name}={value}",), "--compare")
            runs.append((f"{name} = {value}", _other(net, settings, "--compare")._graph))
    series = [collect(records(g, how.steps, how.lr), label, how.params) for label, g in runs]
    stopped = [s for s in series if s.stopped is not None]
    if how.compare is not None:  # a run of several that stops is part of the picture
        err = process.stderr()
        for s in stopped:
            err.print(
                f"bptrace: warning: with {escaped(s.label)}, training stops at "
                f"{escaped(s.stopped.message)}",
                markup=False,
            )
    if not any(s.steps for s in series):  # no point to draw: the first fault says why
        raise stopped[0].stopped
    labels = drawing.Labels(_title(graph, filename, how), graph.loss, how.log)
    fig = drawing.figure(series, labels, how.params)
    files.save(how.out, drawing.drawn(fig, form_of(how.out)))
    if how.compare is None and stopped:  # as `run` stops, once the curve up to the fault is drawn
        raise stopped[0].stopped


def _title(graph, filename: str, how: PlotOptions) -> str:
    """Return the plot's title: the file, the steps, and the settings every run shares."""
    title = f"{filename}: {how.steps:,} step{'s' if how.steps > 1 else ''}"
    varied = compared(how.compare)[0] if how.compare is not None else None
    optimizer = str(graph.settings["optimizer"])
    if varied != "optimizer" and optimizer != "sgd":
        title += f" of {optimizer}"
    if varied != "lr":
        title += f", lr = {graph.settings['lr'] if how.lr is None else how.lr:g}"
    return title
