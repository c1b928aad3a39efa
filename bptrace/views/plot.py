"""The loss curve as a picture: matplotlib's Agg backend draws the series to SVG or PNG bytes.

Only `bptrace plot` imports this module, and matplotlib is an optional extra (`bptrace[plot]`): it
takes half a second to import, which no other command should pay.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from bptrace.views.series import Series

FORMATS = ("svg", "png")
LINE_STYLES = ("-", "--", ":", "-.")  # the params of compared runs: the colour is the run's
WIDTH, HEIGHT, PANEL = 6.4, 4.0, 2.6  # inches; PANEL: the params' panel below the loss
BATCHED = " (each step's batch)"  # a loss over one mini-batch, not all the samples
DPI = 150  # a PNG of 960 × 600 pixels: sharp on a projector and on a course page
STYLE = {
    "svg.fonttype": "none",  # text as <text>: searchable, editable, and small
    "svg.hashsalt": "bptrace",  # ids the same from run to run: the same series, the same bytes
    "font.family": ["DejaVu Sans", "sans-serif"],
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
}
# matplotlib writes its version and the date into each file unless told not to
METADATA = {"svg": {"Date": None, "Creator": "bptrace"}, "png": {"Software": "bptrace"}}


class MatplotlibMissing(ImportError):
    """matplotlib is not installed."""


@dataclass(frozen=True, slots=True)
class Labels:
    """The words on a plot: its title and the loss's name."""

    title: str
    loss: str = "L"
    log: bool = False  # the loss on a logarithmic axis


def matplotlib_loaded():
    """Return matplotlib's Figure, drawn by Agg (no display); MatplotlibMissing if not there."""
    try:
        import matplotlib
    except ImportError:
        raise MatplotlibMissing("matplotlib is not installed") from None
    matplotlib.use("Agg")  # no window, no display: a file is drawn
    from matplotlib.figure import Figure

    return Figure


def figure(runs: Sequence[Series], labels: Labels, params: tuple[str, ...] = ()):
    """Return the figure: the loss of each run by step, and below it, with `params`, their values.

    One run's params are told apart by colour; compared runs' by line style, each run keeping its
    colour, the legends saying which is which.
    """
    import matplotlib
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    Figure = matplotlib_loaded()
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(WIDTH, HEIGHT + (PANEL if params else 0)), layout="constrained")
        if params:
            loss_axes, param_axes = fig.subplots(2, 1, sharex=True, height_ratios=(HEIGHT, PANEL))
        else:
            loss_axes, param_axes = fig.subplots(), None
        compared = len(runs) > 1 or bool(runs and runs[0].label)
        for i, run in enumerate(runs):
            colour = f"C{i % 10}"
            name = _named(run)
            if name and run.batched and not all(r.batched for r in runs):
                name += BATCHED
            (line,) = loss_axes.plot(run.steps, run.losses, color=colour, label=name)
            line.set_gid(f"loss-{i + 1}")
            if run.stopped is not None and run.steps:
                loss_axes.plot(run.steps[-1:], run.losses[-1:], "x", color=colour, markersize=8)
            if param_axes is None:
                continue
            for j, name in enumerate(params):
                style = dict(color=colour, linestyle=LINE_STYLES[j % len(LINE_STYLES)])
                if not compared:
                    style = dict(color=f"C{j % 10}", label=_plain(name))
                (line,) = param_axes.plot(run.steps, run.params[name], **style)
                line.set_gid(f"param-{i + 1}-{j + 1}")
        loss_axes.set_title(_plain(labels.title))
        batched = all(run.batched for run in runs)  # else the legend says which runs are
        loss_axes.set_ylabel(f"loss {_plain(labels.loss)}" + (BATCHED if batched else ""))
        if labels.log:
            loss_axes.set_yscale("log", nonpositive="mask")  # a loss of 0 is left out
        if compared:
            loss_axes.legend()
        lowest = param_axes or loss_axes
        lowest.set_xlabel("step")
        lowest.xaxis.set_major_locator(MaxNLocator(integer=True))
        if param_axes is not None:
            param_axes.set_ylabel("param value")
            if compared:  # a line style per param, in black: the colours are the runs'
                handles = [
                    Line2D([], [], color="black", linestyle=LINE_STYLES[j % len(LINE_STYLES)])
                    for j in range(len(params))
                ]
                param_axes.legend(handles, [_plain(p) for p in params])
            else:
                param_axes.legend()
    return fig


def drawn(fig, form: str) -> bytes:
    """Return the figure as an SVG or PNG file's bytes."""
    import matplotlib

    out = io.BytesIO()
    with matplotlib.rc_context(STYLE):
        fig.savefig(out, format=form, dpi=DPI, metadata=METADATA[form])
    return out.getvalue()


def _plain(text: str) -> str:
    """Return `text` shown as written: a $ would start matplotlib's math."""
    return text.replace("$", r"\$")


def _named(run: Series) -> str | None:
    """Return a run's name in the legend, saying where a numeric fault stopped it."""
    if not run.label:
        return None
    if run.stopped is None:
        return _plain(run.label)
    fault = run.stopped
    when = f"after step {fault.step - 1}" if fault.final else f"at step {fault.step}"
    return f"{_plain(run.label)} (stops {when})"
