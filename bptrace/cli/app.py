"""The command line: every command, and main(); exits.py maps each way one can stop to a code."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bptrace import __version__
from bptrace.cli import builtin, commands, exits, files, options, process, runs
from bptrace.cli.exits import guarded, report
from bptrace.cli.options import (
    AllChanged,
    AllRows,
    AsciiMath,
    Data,
    JsonDocument,
    Lr,
    Precision,
    RunSeed,
    Seed,
    TrainSteps,
)
from bptrace.errors import (
    EXIT_CHECK,
    EXIT_FILE,
    BptraceError,
)
from bptrace.language.diagnostics import did_you_mean, escaped

app = typer.Typer(
    cls=options.Group,
    name="bptrace",
    help="Trace backpropagation step by step: forward values, local derivatives, chain-rule "
    "products and updates. FILE is a .bp network, or a built-in example's name: try "
    "`bptrace run simple`; `bptrace examples` lists them.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bptrace {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Trace backpropagation step by step through a network written in a .bp file."""


@app.command(
    cls=options.Command,
    help="Train the network in FILE and print every step's forward pass, local derivatives, "
    "chain rule and updates.",
)
def run(
    file: Annotated[
        Path, typer.Argument(help="The .bp network to train.", show_default=False, metavar="FILE")
    ],
    steps: Annotated[
        int,
        typer.Option(
            "--steps",
            "-n",
            metavar="N",
            callback=options.at_least(1),
            help="Training steps to run.",
        ),
    ] = 1,
    lr: Lr = None,
    precision: Precision = 4,
    show: Annotated[
        str,
        typer.Option(
            "--show",
            metavar="TABLES",
            show_default=False,
            help="Tables to show, comma-separated, from forward,partials,chains,updates "
            "(default: all four).",
        ),
    ] = "forward,partials,chains,updates",
    max_paths: Annotated[
        int,
        typer.Option(
            "--max-paths",
            metavar="K",
            callback=options.at_least(1),
            help="Chain-rule paths listed per parameter (at most 10,000 in all); the rest, and any "
            "path of more than 100 factors, are counted exactly.",
        ),
    ] = 8,
    ascii_math: AsciiMath = False,
    json_lines: Annotated[
        bool,
        typer.Option(
            "--json", help="Write the trace as JSON Lines (see `bptrace schema`) instead of tables."
        ),
    ] = False,
    all_rows: AllRows = False,
    export: Annotated[
        Path | None,
        typer.Option(
            "--export",
            metavar="FILE",
            help="Also save what the terminal shows (with --pause: what was revealed), in colour, "
            "as FILE.html or FILE.svg (for slides).",
            show_default=False,
        ),
    ] = None,
    form: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="text (the terminal), markdown or latex (tables for handouts and worksheets), "
            "csv (with --blank: a worksheet's cells, cell,value, for `bptrace grade`).",
        ),
    ] = "text",
    blank: Annotated[
        str | None,
        typer.Option(
            "--blank",
            metavar="TABLES",
            help="Make a worksheet: leave the answer columns of these tables empty "
            "(markdown, latex, or csv: its cells to fill in).",
            show_default=False,
        ),
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option(
            "--key",
            metavar="FILE",
            help="With --blank, also write the answer key (the same tables, filled in) to FILE.",
            show_default=False,
        ),
    ] = None,
    pause: Annotated[
        bool,
        typer.Option(
            "--pause",
            help="Reveal each step a piece at a time, for a lecture: Enter or space the next "
            "piece, ← back, Tab the rest of the table, End the rest of the step, g N Enter step N, "
            "? the keys, q quits.",
        ),
    ] = False,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            metavar="PIECE",
            help="With --pause: what a key reveals: row (a node, a derivative's formula then its "
            "number, a param's chain, an update), table or step.",
            show_default="row",
        ),
    ] = None,
    compact: Annotated[
        bool,
        typer.Option(
            "--compact",
            help="With --pause: a projector's layout: each table a screen of its own under the "
            "step's heading, the numbers under the formulas instead of a column of their own.",
        ),
    ] = False,
    focus: Annotated[
        str | None,
        typer.Option(
            "--focus",
            metavar="PARAM",
            help="Highlight PARAM's paths to the loss in every table.",
            show_default=False,
        ),
    ] = None,
    every: Annotated[
        int,
        typer.Option(
            "--every",
            metavar="K",
            callback=options.at_least(1),
            help="Show the tables of every K-th step (and always the first and the last).",
        ),
    ] = 1,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="Show no step's tables: only the summary and the loss curve."
        ),
    ] = False,
    seed: RunSeed = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size",
            "-b",
            metavar="B",
            callback=lambda v: v if v is None else options.at_least(1)(v),
            help="With samples: each step trains on the next B of them, wrapping around.",
            show_default="the file's `set batch`, or all samples",
        ),
    ] = None,
    data: Data = None,
    shuffle: Annotated[
        bool,
        typer.Option(
            "--shuffle",
            help="With --batch-size: shuffle the samples on every pass through them (with --seed), "
            "each pass cut into batches.",
        ),
    ] = False,
    view_as: Annotated[
        str,
        typer.Option(
            "--view",
            metavar="VIEW",
            help="scalar (every node's tables), matrix (a network written with layers as vectors "
            "and matrices: δ, ∂L/∂W = δ·xᵀ, the updates) or both.",
        ),
    ] = "scalar",
    block: Annotated[
        str | None,
        typer.Option(
            "--block",
            metavar="SPEC",
            help="With --view matrix: show rows and columns of one layer whole, counted from 1: "
            "'W1[1:4,1:8]', or 'z1[2:5]' for a vector.",
            show_default=False,
        ),
    ] = None,
    sample: Annotated[
        int | None,
        typer.Option(
            "--sample",
            metavar="I",
            help="With samples: show sample I alone, with numbers in the formulas (the first 4 are "
            "shown side by side by default).",
            show_default=False,
        ),
    ] = None,
    variant: Annotated[
        str | None,
        typer.Option(
            "--variant",
            metavar="ID",
            help="Draw the params afresh for student ID (each within 0.5 of the written value, "
            "one decimal): a worksheet and key of their own, named in the title.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Train the network in FILE and show every step."""
    from bptrace.engine.variants import check_id

    if variant is not None and (problem := check_id(variant)):
        raise typer.BadParameter(problem, param_hint="'--variant'")
    from bptrace.views.tables import TABLES as SECTIONS

    sections = options.tables_named(show, SECTIONS)
    options.check_lr(lr)
    if export is not None and export.suffix.lower() not in (".html", ".svg"):
        raise typer.BadParameter(
            f"'{files.shown(export)}' must end in .html or .svg", param_hint="'--export'"
        )
    for written, option in ((key, "--key"), (export, "--export")):
        replaced = written is not None and files.overwritten(
            written, {"the network FILE": file, "the --data file": data}
        )
        if replaced:
            raise typer.BadParameter(
                f"'{files.shown(written)}' is {replaced}: writing it there would replace it; "
                "give another file",
                param_hint=f"'{option}'",
            )
    blanks, blank_problem = frozenset(), ""
    if blank is not None:
        try:
            blanks = frozenset(options.tables_named(blank, SECTIONS, "--blank"))
        except typer.BadParameter as problem:
            blank_problem = problem.message
    left_out = ",".join(t for t in SECTIONS if t in blanks - set(sections))
    # looked at only with --pause
    given = {
        "--json": json_lines,
        "--export": export is not None,
        "--format": form != "text",
        "--show": set(sections) != set(SECTIONS),
        "--precision": precision != 4,  # a default given cannot be told from one not given
        "--ascii": ascii_math,
        "--all": all_rows,
        "--blank": blank is not None,
        "--key": key is not None,
        "--pause": pause,
        "no --pause": not pause,
        "--by": by is not None,
        "an unknown piece": by is not None and by not in options.RUN_PIECES,
        "--by step": by == "step",
        "--compact": compact,
        "--focus": focus is not None,
        "--sample": sample is not None,
        "--every": every > 1,
        "--quiet": quiet,
        "--view": view_as != "scalar",
        "an unknown view": view_as not in options.RUN_VIEWS,
        "--view matrix": view_as == "matrix",
        "--block": block is not None,
        "no matrix view": view_as == "scalar",
        "an unknown format": form not in options.RUN_FORMATS,
        "csv without --blank": form == "csv" and blank is None,
        "an unknown table": bool(blank_problem),
        "a table --show leaves out": bool(left_out),
        "no --format": form == "text",
        "no --blank": blank is None,
        "no terminal": lambda: not (sys.stdin and sys.stdin.isatty()),
    }
    options.check_clashes(
        options.RUN_CLASHES,
        given,
        form=form,
        formats=", ".join(options.RUN_FORMATS),
        blank_problem=blank_problem,
        left_out=left_out,
        view=view_as,
        views=", ".join(options.RUN_VIEWS),
        by=by,
        pieces=", ".join(options.RUN_PIECES),
    )
    how = runs.RunOptions(
        steps=steps,
        lr=lr,
        precision=precision,
        sections=sections,
        max_paths=max_paths,
        ascii_math=ascii_math,
        all_rows=all_rows,
        export=export,
        focus=focus,
        sample=sample,
        every=every,
        quiet=quiet,
        seed=seed,
        batch_size=batch_size,
        data=data,
        shuffle=shuffle,
        form=form,
        blanks=blanks,
        key=key,
        view=view_as,
        block=block,
        variant=variant,
        by=by or "row",
        compact=compact,
    )
    if pause:
        guarded(file, runs.run_paused, how)
    elif form != "text":
        guarded(file, runs.run_handout, how)
    elif json_lines:
        guarded(file, runs.run_json, how)
    else:
        guarded(file, runs.run_tables, how)


@app.command(
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


@app.command(
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


@app.command(
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


@app.command("graph", cls=options.Command)
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


@app.command(
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


@app.command(
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


@app.command(
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


@app.command(
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


@app.command(
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


@app.command(
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


@app.command(
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


@app.command(cls=options.Command)
def schema() -> None:
    """Print the JSON Schema of the records `bptrace run --json` writes."""
    from importlib.resources import files

    text = files("bptrace.views").joinpath("schema/trace.schema.json").read_text(encoding="utf-8")
    with options.exit_on_failed_writes():
        process.write_utf8(text)


def main() -> None:
    """Run the command line, mapping interrupts, closed pipes and bugs to quiet exits with codes."""
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    process.tune()
    process.tolerant_streams()
    if sys.stdout is None:  # closed (`>&-`): Python found no stdout to open
        print("bptrace: error: cannot write the output: standard output is closed", file=sys.stderr)
        sys.exit(EXIT_FILE)
    with exits.quiet_exits():
        app(prog_name="bptrace")
