"""The options of the commands for teaching with backprop's conventions and mistakes: compare two
conventions, show where each common mistake departs, grade worksheets (differ.py, mistakes.py and
grading.py do the work)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bptrace.cli import files, options, process
from bptrace.cli.exits import guarded, report
from bptrace.cli.options import (
    AllChanged,
    AsciiMath,
    Data,
    JsonDocument,
    Lr,
    Precision,
    Seed,
    TrainSteps,
)
from bptrace.errors import BptraceError

declared = typer.Typer()  # app.py adds these commands to bptrace's, in the order of its --help


@declared.command(
    cls=options.Command,
    help="Run FILE as written and with other settings (--vs half=false), and show which numbers "
    "change and why.",
)
def compare(
    file: Annotated[
        Path, typer.Argument(help="The .bp network.", show_default=False, metavar="FILE")
    ],
    vs: Annotated[
        list[str],
        typer.Option(
            "--vs",
            metavar="SETTING=VALUE",
            help="A setting of the second run, as `set SETTING = VALUE` in the file would set it "
            "(repeatable): half=false, tie=split, relu_at_0=1, momentum_form=nesterov, "
            "reduction=sum, lr=0.5, optimizer=adam, …",
            show_default=False,
        ),
    ],
    steps: TrainSteps = 1,
    lr: Lr = None,
    precision: Precision = 4,
    seed: Seed = None,
    ascii_math: AsciiMath = False,
    data: Data = None,
    all_rows: AllChanged = False,
    json: JsonDocument = False,
) -> None:
    """Compare FILE's trace under two conventions."""
    options.check_lr(lr)
    from bptrace.cli import differ  # not loaded by every other command's start-up

    how = differ.CompareOptions(
        tuple(vs), steps, lr, precision, seed, ascii_math, data, all_rows, json
    )
    guarded(file, differ.compare, how)


@declared.command(
    cls=options.Command,
    help="Run FILE with each common student mistake and show where each first departs from the "
    "right trace; --show ID shows one in full.",
)
def mistakes(
    file: Annotated[
        Path, typer.Argument(help="The .bp network.", show_default=False, metavar="FILE")
    ],
    steps: TrainSteps = 1,
    show: Annotated[
        str | None,
        typer.Option(
            "--show",
            metavar="ID",
            help="Show every number one mistake changes, and why (ids as listed).",
            show_default=False,
        ),
    ] = None,
    lr: Lr = None,
    precision: Precision = 4,
    seed: Seed = None,
    ascii_math: AsciiMath = False,
    data: Data = None,
    all_rows: AllChanged = False,
    json: JsonDocument = False,
) -> None:
    """Show where each common mistake departs from the right trace."""
    options.check_lr(lr)
    from bptrace.cli import mistakes as mistaken  # `mistakes` is this command

    how = mistaken.MistakesOptions(
        steps, lr, precision, seed, ascii_math, data, show, all_rows, json
    )
    guarded(file, mistaken.mistakes, how)


@declared.command(
    cls=options.Command,
    help="Grade filled-in worksheets against their key: each wrong cell, the mistake that explains "
    "it, and a class summary.",
)
def grade(
    worksheets: Annotated[
        list[Path],
        typer.Argument(
            help="Worksheets filled in: the Markdown `run --blank` writes, or a CSV of cell,value.",
            show_default=False,
            metavar="WORKSHEET",
        ),
    ],
    key: Annotated[
        Path | None,
        typer.Option(
            "--key", metavar="KEY", help="The answer key `run --key` wrote.", show_default=False
        ),
    ] = None,
    network: Annotated[
        Path | None,
        typer.Option(
            "--network",
            metavar="FILE",
            help="The .bp network: make the key again (the steps, lr and variant each worksheet "
            "names), and name the mistake behind each wrong cell.",
            show_default=False,
        ),
    ] = None,
    rtol: Annotated[
        float,
        typer.Option(
            "--rtol",
            metavar="R",
            help="Relative tolerance: an answer within R·|key| (or one unit in the key's last "
            "digit) is right.",
        ),
    ] = 0.01,  # views/grading.py's RTOL (not imported: start-up stays quick)
    json_out: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Write the grades as one JSON document: each worksheet's score and each cell not "
            "right (the answer, the key's, the mistakes that explain it), and a class summary.",
        ),
    ] = False,
) -> None:
    """Grade worksheets against their key."""
    from bptrace.cli import grading

    if key is None and network is None:
        raise options.UsageError("missing the key: give --key KEY or --network FILE (or both)")
    if not (options.finite(rtol) and 0 <= rtol < 1):
        raise typer.BadParameter("must be a number from 0 to less than 1", param_hint="'--rtol'")
    # a worksheet named twice is graded once: the class summary counts students
    how = grading.GradeOptions(tuple(dict.fromkeys(worksheets)), key, network, rtol, json_out)
    try:
        with options.exit_on_failed_writes(), process.Interrupts():
            code = grading.grade(how, report)
    except (BptraceError, RecursionError) as error:
        raise typer.Exit(report(error, files.shown(network or key), "")) from None
    if code:
        raise typer.Exit(code)
