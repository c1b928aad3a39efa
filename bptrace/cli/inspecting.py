"""The options of the commands that look inside a network: check its gradients, explain its
backprop, draw its graph, nudge a param (commands.py does the work)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bptrace.cli import commands, options
from bptrace.cli.exits import guarded
from bptrace.cli.options import AllRows, AsciiMath, Data, Lr, Precision, Seed
from bptrace.errors import EXIT_CHECK

declared = typer.Typer()  # app.py adds these commands to bptrace's, in the order of its --help


@declared.command(
    cls=options.Command,
    help="Compare every gradient with central finite differences, node by node, and exit 6 on "
    "any mismatch.",
)
def check(
    file: Annotated[
        Path, typer.Argument(help="The .bp network to check.", show_default=False, metavar="FILE")
    ],
    steps: Annotated[
        int,
        typer.Option(
            "--steps",
            "-n",
            metavar="N",
            callback=options.at_least(1),
            help="Check at each of the first N steps of training.",
        ),
    ] = 1,
    lr: Lr = None,
    precision: Precision = 6,
    seed: Seed = None,
    ascii_math: AsciiMath = False,
    data: Data = None,
) -> None:
    """Check every gradient against finite differences."""
    options.check_lr(lr)
    how = commands.CheckOptions(steps, lr, precision, seed, ascii_math, data)
    if guarded(file, commands.check, how):
        raise typer.Exit(EXIT_CHECK)


@declared.command(
    cls=options.Command,
    help="Answer five questions about backprop in FILE: the gradient's size, the local partials "
    "it takes, each param's chain rule, and whether earlier params have longer chains.",
)
def explain(
    file: Annotated[
        Path, typer.Argument(help="The .bp network to explain.", show_default=False, metavar="FILE")
    ],
    params: Annotated[
        list[str] | None,
        typer.Argument(
            help="Params whose chains to write (default: every param).",
            show_default=False,
            metavar="PARAM",
        ),
    ] = None,
    latex: Annotated[
        bool,
        typer.Option("--latex", help="Write the answers as LaTeX (amsmath) to paste into slides."),
    ] = False,
    max_paths: Annotated[
        int,
        typer.Option(
            "--max-paths",
            metavar="K",
            callback=options.at_least(1),
            help="Chain-rule paths written per parameter (at most 10,000 in all); the rest are "
            "counted exactly.",
        ),
    ] = 8,
    ascii_math: AsciiMath = False,
    all_rows: AllRows = False,
) -> None:
    """Answer five questions about backprop in FILE."""
    how = commands.ExplainOptions(tuple(params or ()), latex, max_paths, ascii_math, all_rows)
    guarded(file, commands.explain, how)


@declared.command("graph", cls=options.Command)
def draw(
    file: Annotated[
        Path, typer.Argument(help="The .bp network to draw.", show_default=False, metavar="FILE")
    ],
    form: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="text (the terminal), dot (Graphviz) or mermaid.",
        ),
    ] = "text",
    step: Annotated[
        int | None,
        typer.Option(
            "--step",
            metavar="K",
            callback=lambda v: v if v is None else options.at_least(1)(v),
            help="Annotate nodes with their value and ∂L/∂node, and edges with their local "
            "derivative, at step K.",
            show_default=False,
        ),
    ] = None,
    lr: Lr = None,
    precision: Precision = 4,
    ascii_math: AsciiMath = False,
    all_rows: AllRows = False,
    seed: Seed = None,
) -> None:
    """Draw the computational graph of FILE, layered from inputs and params to the loss."""
    if form not in options.GRAPH_FORMATS:
        raise typer.BadParameter(
            f"unknown format '{form}'; choose from {', '.join(options.GRAPH_FORMATS)}",
            param_hint="'--format'",
        )
    options.check_lr(lr)
    if lr is not None and step is None:
        raise typer.BadParameter(
            "sets the learning rate of the steps before --step K; use it with --step",
            param_hint="'--lr'",
        )
    how = commands.DrawOptions(form, step, lr, precision, ascii_math, all_rows, seed)
    guarded(file, commands.draw, how)


@declared.command(
    cls=options.Command,
    help="Change PARAM a little: the gradient's predicted loss change beside the actual one, "
    "from the forward pass.",
)
def nudge(
    file: Annotated[
        Path, typer.Argument(help="The .bp network.", show_default=False, metavar="FILE")
    ],
    param: Annotated[
        str, typer.Argument(help="The param to nudge.", show_default=False, metavar="PARAM")
    ],
    by: Annotated[
        float,
        typer.Option(
            "--by",
            metavar="D",
            help="The nudge Δ added to the param (not 0); 10Δ, Δ/10 and Δ/100 are shown too.",
        ),
    ] = 1e-3,
    step: Annotated[
        int,
        typer.Option(
            "--step",
            metavar="K",
            callback=options.at_least(1),
            help="Nudge the param as it is at step K of training.",
        ),
    ] = 1,
    lr: Lr = None,
    precision: Precision = 4,
    ascii_math: AsciiMath = False,
    seed: Seed = None,
) -> None:
    """Nudge PARAM and compare the predicted loss change with the actual one."""
    if not (options.finite(by) and by != 0):
        raise typer.BadParameter("must be a finite number other than 0", param_hint="'--by'")
    # a subnormal: fewer digits than a float64's, and no param it could move
    if abs(by) < sys.float_info.min:
        raise typer.BadParameter(
            f"{by:.3g} is subnormal: smaller than {sys.float_info.min:.3g}, the smallest float64 "
            "with full precision; try the default, 0.001",
            param_hint="'--by'",
        )
    options.check_lr(lr)
    how = commands.NudgeOptions(param, by, step, lr, precision, ascii_math, seed)
    guarded(file, commands.nudge, how)
