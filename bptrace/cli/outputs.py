"""The options of the commands that write something to keep: a page to present, a plot, a script
of another framework, a built-in example, the JSON Schema (present.py, plot.py, export.py and
builtin.py do the work)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bptrace.cli import builtin, files, options, process
from bptrace.cli.exits import guarded, report
from bptrace.cli.options import Data, Lr, Precision, RunSeed, Seed
from bptrace.errors import BptraceError
from bptrace.language.diagnostics import did_you_mean, escaped

declared = typer.Typer()  # app.py adds these commands to bptrace's, in the order of its --help


@declared.command(
    cls=options.Command,
    help="Train FILE and draw the loss by step (and params' values) to an SVG or PNG file; "
    "--compare draws several runs, one per setting.",
)
def plot(
    file: Annotated[
        Path, typer.Argument(help="The .bp network to train.", show_default=False, metavar="FILE")
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            metavar="PICTURE",
            help="The file to draw: PICTURE.svg or PICTURE.png.",
            show_default=False,
        ),
    ],
    steps: Annotated[
        int,
        typer.Option(
            "--steps", "-n", metavar="N", callback=options.at_least(1), help="Training steps."
        ),
    ] = 100,
    params: Annotated[
        str | None,
        typer.Option(
            "--params",
            metavar="PARAMS",
            help="Also draw these params' values by step, comma-separated (w1,b1), in a panel "
            "below the loss.",
            show_default=False,
        ),
    ] = None,
    compare: Annotated[
        list[str] | None,
        typer.Option(
            "--compare",
            metavar="SETTING=V1,V2,…",
            help="Draw a run for each value of a setting, as `set SETTING = V` in the file would "
            "set it: optimizer=sgd,momentum,adam, lr=0.1,0.5, momentum_form=pytorch,nesterov, …",
            show_default=False,
        ),
    ] = None,
    log: Annotated[
        bool, typer.Option("--log", help="Draw the loss on a logarithmic axis.")
    ] = False,
    lr: Lr = None,
    seed: Seed = None,
    data: Data = None,
) -> None:
    """Draw the loss curve of FILE to a picture."""
    from bptrace.cli import plot as plotting

    options.check_lr(lr)
    if plotting.form_of(out) is None:
        raise typer.BadParameter(
            f"'{files.shown(out)}' must end in .svg or .png", param_hint="'--output'"
        )
    replaced = files.overwritten(out, {"the network FILE": file, "the --data file": data})
    if replaced:
        raise typer.BadParameter(
            f"'{files.shown(out)}' is {replaced}: writing it there would replace it; "
            "give another file",
            param_hint="'--output'",
        )
    named = tuple(dict.fromkeys(p.strip() for p in params.split(","))) if params is not None else ()
    if params is not None and not all(named):
        raise typer.BadParameter(
            f"takes params' names, comma-separated, as in --params w1,b1; got '{params}'",
            param_hint="'--params'",
        )
    if compare and len(compare) > 1:
        raise typer.BadParameter(
            "draws the values of one setting; give it once, as in --compare lr=0.1,0.5",
            param_hint="'--compare'",
        )
    varied = compare[0] if compare else None
    how = plotting.PlotOptions(out, steps, named, varied, lr, seed, data, log)
    guarded(file, plotting.plot, how)


@declared.command(
    cls=options.Command,
    help="Write FILE's steps as one self-contained HTML page for a lecture: the graph, revealed "
    "node by node and step by step with the keys, offline, no server.",
)
def present(
    file: Annotated[
        Path, typer.Argument(help="The .bp network.", show_default=False, metavar="FILE")
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="PAGE",
            help="Where to write the page.",
            show_default="FILE's name with .html, in the current folder",
        ),
    ] = None,
    steps: Annotated[
        int,
        typer.Option(
            "--steps", "-n", metavar="N", callback=options.at_least(1), help="Steps of training."
        ),
    ] = 1,
    lr: Lr = None,
    precision: Precision = 4,
    seed: Seed = None,
    data: Data = None,
) -> None:
    """Write FILE's steps as one HTML page to step through."""
    from bptrace.cli import present as presenting

    options.check_lr(lr)
    page = output if output is not None else presenting.default_output(file)
    replaced = files.overwritten(page, {"the network FILE": file, "the --data file": data})
    if replaced:
        raise typer.BadParameter(
            f"'{files.shown(page)}' is {replaced}: writing it there would replace it; "
            "give another file",
            param_hint="'--output'",
        )
    how = presenting.PresentOptions(page, steps, lr, seed, data, precision)
    guarded(file, presenting.present, how)


@declared.command(
    "examples",
    cls=options.Command,
    help="List the example networks built into bptrace (run one by its name alone: bptrace run "
    "simple), or write one here to edit with --copy.",
)
def list_examples(
    copy: Annotated[
        str | None,
        typer.Option(
            "--copy",
            metavar="NAME",
            help="Write the example NAME (and the samples it trains on) to the current folder.",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="With --copy: replace files of the same names.")
    ] = False,
) -> None:
    """List the built-in example networks, or copy one here."""
    from bptrace.examples import NAMES

    if copy is None:
        if force:
            raise typer.BadParameter(
                "replaces what --copy writes; use it with --copy", param_hint="'--force'"
            )
        with options.exit_on_failed_writes():
            process.write_utf8(builtin.listing())
        return
    name = copy.removesuffix(".bp")
    if name not in NAMES:
        hint = did_you_mean(name, NAMES)
        raise typer.BadParameter(
            f"no built-in example '{name}'; "
            + (f"{hint} " if hint else "")
            + f"(the examples: {', '.join(NAMES)})",
            param_hint="'--copy'",
        )
    try:
        written = builtin.copy(name, Path(), force)
    except BptraceError as error:
        raise typer.Exit(report(error, name, "")) from None
    for path in written:
        process.stderr().print(f"bptrace: wrote {escaped(files.shown(path))}", markup=False)


@declared.command(
    cls=options.Command,
    help="Write FILE as a standalone PyTorch script (--torch) that trains it as `run` does and "
    "prints each step's loss and gradients as JSON lines, to compare the two.",
)
def export(
    file: Annotated[
        Path, typer.Argument(help="The .bp network.", show_default=False, metavar="FILE")
    ],
    torch: Annotated[bool, typer.Option("--torch", help="Write a PyTorch script.")] = False,
    steps: Annotated[
        int,
        typer.Option(
            "--steps", "-n", metavar="N", callback=options.at_least(1), help="Steps to train."
        ),
    ] = 1,
    lr: Lr = None,
    seed: RunSeed = None,
    data: Data = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size",
            "-b",
            metavar="B",
            callback=lambda v: v if v is None else options.at_least(1)(v),
            help="With samples: each step trains on the next B of them, as `run --batch-size`.",
            show_default="the file's `set batch`, or all samples",
        ),
    ] = None,
    shuffle: Annotated[
        bool, typer.Option("--shuffle", help="Shuffle the mini-batches, as `run --shuffle`.")
    ] = False,
) -> None:
    """Write FILE as a script of another framework."""
    from bptrace.cli.export import ExportOptions
    from bptrace.cli.export import export as write_export

    if not torch:
        raise typer.BadParameter("give the framework: --torch", param_hint="'--torch'")
    options.check_lr(lr)
    how = ExportOptions(steps, lr, seed, data, batch_size, shuffle)
    guarded(file, write_export, how)


@declared.command(cls=options.Command)
def schema() -> None:
    """Print the JSON Schema of the records `bptrace run --json` writes."""
    from importlib.resources import files

    text = files("bptrace.views").joinpath("schema/trace.schema.json").read_text(encoding="utf-8")
    with options.exit_on_failed_writes():
        process.write_utf8(text)
