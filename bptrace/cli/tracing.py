"""The `run` command's options: train a network and trace every step, as tables, JSON Lines, a
handout or worksheet, or a piece at a time for a lecture (runs.py does the work)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bptrace.cli import files, options, runs
from bptrace.cli.exits import guarded
from bptrace.cli.options import AllRows, AsciiMath, Data, Lr, Precision, RunSeed

declared = typer.Typer()  # app.py adds these commands to bptrace's, in the order of its --help


@declared.command(
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
