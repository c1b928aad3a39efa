"""The command line: every command and option, checked, and every way a command can stop mapped to an exit code."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from bptrace import __version__
from bptrace.cli import commands, files, process
from bptrace.errors import EXIT_CHECK, EXIT_FILE, EXIT_INTERNAL, EXIT_INTERRUPTED, BptraceError


class _Flags:
    """Show a flag without a type in --help: `--ascii`, not `--ascii <bool>`, which reads as if it took a value;
    say what is wrong with a value that is not a number in bptrace's words, not the validator's; and end --help
    and --version written to a closed pipe or a full disk as a command's output ends (_output)."""

    def get_params(self, ctx):
        params = super().get_params(ctx)
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        return params

    def make_context(self, *args, **kwargs):
        try:
            with _output():  # --help and --version write while the command line is parsed
                return super().make_context(*args, **kwargs)
        except SystemExit as stop:
            if isinstance(
                stop.__context__, BrokenPipeError
            ):  # typer's help console exits with 1 when its reader goes
                raise typer.Exit(0) from None
            raise

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except typer.BadParameter as error:
            raise _not_a_number(error) from None

    def invoke(self, ctx):
        from bptrace.language.diagnostics import escaped

        try:
            return super().invoke(ctx)
        except typer.BadParameter as error:  # it may quote a value as given: `--format` ESC[2J
            error.message = escaped(error.message)
            raise


def _not_a_number(error: typer.BadParameter) -> typer.BadParameter:
    """Return `error` saying which value is not a number, where typer's validator said "Input should be a valid
    number, unable to parse string as a number" (the option's name is added when it is shown)."""
    from bptrace.language.diagnostics import escaped

    problems = getattr(error.__cause__, "errors", lambda: [])()  # a pydantic ValidationError's
    kind = problems[0].get("type", "") if problems else ""
    if kind.startswith(("int_", "float_")) and "input" in problems[0]:
        value = escaped(str(problems[0]["input"]))
        error.message = (
            f"'{value}' is not a whole number"
            if kind.startswith("int_")
            else f"'{value}' is not a number"
        )
    return error


class _Command(_Flags, typer.core.TyperCommand):
    pass


class _Group(_Flags, typer.core.TyperGroup):
    pass


app = typer.Typer(
    cls=_Group,
    name="bptrace",
    help="Trace backpropagation step by step: forward values, local derivatives, chain-rule products and updates.",
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


def _at_least(low: int, high: int | None = None):
    def check(value: int) -> int:
        if value < low or (high is not None and value > high):
            raise typer.BadParameter(
                f"must be a whole number from {low} to {high}"
                if high
                else f"must be at least {low}"
            )
        return value

    return check


Lr = Annotated[
    float | None,
    typer.Option(
        "--lr",
        metavar="A",
        help="Learning rate α (0 or more); overrides `set lr` in the file.",
        show_default="the file's, or 0.1",
    ),
]
Precision = Annotated[
    int,
    typer.Option(
        "--precision",
        "-p",
        metavar="P",
        callback=_at_least(1, 17),
        help="Significant digits shown, 1 to 17 (the engine keeps full float64).",
    ),
]
AsciiMath = Annotated[
    bool,
    typer.Option(
        "--ascii",
        help="Write math as .bp text (dL/dw1, *, sigmoid) instead of ∂L/∂w₁, ·, σ, and lines with - instead of ─; names as written.",
    ),
]
AllRows = Annotated[
    bool,
    typer.Option(
        "--all",
        help="Show every row of every table; by default a table of more than 60 rows shows its first 50 and last 10.",
    ),
]


@app.command(cls=_Command)
def run(
    file: Annotated[
        Path, typer.Argument(help="The .bp network to train.", show_default=False, metavar="FILE")
    ],
    steps: Annotated[
        int,
        typer.Option(
            "--steps", "-n", metavar="N", callback=_at_least(1), help="Training steps to run."
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
            help="Tables to show, comma-separated, from forward,partials,chains,updates (default: all four).",
        ),
    ] = "forward,partials,chains,updates",
    max_paths: Annotated[
        int,
        typer.Option(
            "--max-paths",
            metavar="K",
            callback=_at_least(1),
            help="Chain-rule paths listed per parameter (at most 10,000 in all); the rest, and any path of more than 100 factors, are counted exactly.",
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
            help="Also save what the terminal shows, in colour, as FILE.html or FILE.svg (for slides).",
            show_default=False,
        ),
    ] = None,
    form: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="text (the terminal), markdown or latex (tables for handouts and worksheets).",
        ),
    ] = "text",
    blank: Annotated[
        str | None,
        typer.Option(
            "--blank",
            metavar="TABLES",
            help="Make a worksheet: leave the answer columns of these tables empty (markdown or latex).",
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
            help="Reveal each step a piece at a time, on Enter or space (q quits): for a lecture.",
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
            callback=_at_least(1),
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
            callback=lambda v: v if v is None else _at_least(1)(v),
            help="With samples: each step trains on the next B of them, wrapping around.",
            show_default="the file's `set batch`, or all samples",
        ),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            metavar="CSV",
            help="Samples from a CSV file: a header row naming inputs and targets, then one row per sample.",
            show_default=False,
        ),
    ] = None,
    shuffle: Annotated[
        bool,
        typer.Option(
            "--shuffle",
            help="With --batch-size: shuffle the samples on every pass through them (with --seed), each pass cut into batches.",
        ),
    ] = False,
    sample: Annotated[
        int | None,
        typer.Option(
            "--sample",
            metavar="I",
            help="With samples: show sample I alone, with numbers in the formulas (the first 4 are shown side by side by default).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Train the network in FILE and print every step's forward pass, local derivatives, chain rule and updates."""
    from bptrace.views.tables import TABLES as SECTIONS

    sections = _sections(show, SECTIONS)
    _check_lr(lr)
    if export is not None and export.suffix.lower() not in (".html", ".svg"):
        raise typer.BadParameter(
            f"'{process.shown(export)}' must end in .html or .svg", param_hint="'--export'"
        )
    for written, option in ((key, "--key"), (export, "--export")):
        replaced = written is not None and files.overwritten(
            written, {"the network FILE": file, "the --data file": data}
        )
        if replaced:
            raise typer.BadParameter(
                f"'{process.shown(written)}' is {replaced}: writing it there would replace it; give another file",
                param_hint=f"'{option}'",
            )
    if export is not None and json_lines:
        raise typer.BadParameter(
            "exports the tables; it cannot be used with --json", param_hint="'--export'"
        )
    if form not in RUN_FORMATS:
        raise typer.BadParameter(
            f"unknown format '{form}'; choose from {', '.join(RUN_FORMATS)}",
            param_hint="'--format'",
        )
    if form != "text" and (json_lines or export is not None):
        raise typer.BadParameter(
            f"writes the tables as {form}; it cannot be used with --json or --export",
            param_hint="'--format'",
        )
    shaping = [
        name
        for name, given in (
            ("--show", set(sections) != set(SECTIONS)),
            ("--precision", precision != 4),
            ("--ascii", ascii_math),
            ("--all", all_rows),
        )
        if given
    ]
    if (
        json_lines and shaping
    ):  # (an option given its default value cannot be told from one not given)
        usage_error = typer.BadParameter.__bases__[
            0
        ]  # click's UsageError (typer >= 0.29 vendors click)
        raise usage_error(
            f"'{shaping[0]}' cannot be used with --json: --json writes every record, every number at "
            "full precision; the tables' options do not apply"
        )
    blanks = frozenset(_sections(blank, SECTIONS, "--blank")) if blank is not None else frozenset()
    if blanks - set(sections):
        left_out = ",".join(t for t in SECTIONS if t in blanks - set(sections))
        raise typer.BadParameter(
            f"blanks {left_out}, which --show leaves out", param_hint="'--blank'"
        )
    if blanks and form == "text":
        raise typer.BadParameter(
            "makes a worksheet: use it with --format markdown or latex", param_hint="'--blank'"
        )
    if key is not None and not blanks:
        raise typer.BadParameter(
            "is the answer key of a worksheet: use it with --blank", param_hint="'--key'"
        )
    if pause and (form != "text" or json_lines or export is not None):
        raise typer.BadParameter(
            "reveals the tables live in the terminal; it cannot be used with --format, --json or --export",
            param_hint="'--pause'",
        )
    if pause and not sys.stdin.isatty():
        raise typer.BadParameter(
            "reads keys from a terminal, but stdin is not one; run bptrace in a terminal, or drop --pause",
            param_hint="'--pause'",
        )
    if focus is not None and (form != "text" or json_lines):
        raise typer.BadParameter(
            "highlights rows of the terminal tables; it cannot be used with --format or --json",
            param_hint="'--focus'",
        )
    if sample is not None and (form != "text" or json_lines):
        raise typer.BadParameter(
            "picks the sample the terminal tables show; it cannot be used with --format or --json",
            param_hint="'--sample'",
        )
    if every > 1 and quiet:
        raise typer.BadParameter(
            "shows every K-th step's tables, but --quiet shows none: use one of them",
            param_hint="'--every'",
        )
    if (every > 1 or quiet) and (form != "text" or json_lines or pause):
        raise typer.BadParameter(
            "leaves step tables out of the terminal view; it cannot be used with --format, --json or --pause",
            param_hint="'--every'" if every > 1 else "'--quiet'",
        )
    how = commands.TableRun(
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
        shuffle=shuffle,
        data=data,
    )
    if pause:
        _guarded(file, lambda source: commands.run_paused(source, process.shown(file), how))
    elif form != "text":
        _guarded(
            file,
            lambda source: commands.run_handout(
                source, process.shown(file), how, form, blanks, key
            ),
        )
    elif json_lines:
        _guarded(file, lambda source: commands.run_json(source, process.shown(file), how))
    else:
        _guarded(file, lambda source: commands.run_tables(source, process.shown(file), how))


def _seed(also: str = ""):
    return Annotated[
        int | None,
        typer.Option(
            "--seed",
            metavar="S",
            callback=lambda v: v if v is None else _at_least(0)(v),
            show_default="the file's `set seed`, or 0",
            help=f"Seed for params written uniform(…) or normal(…){also}: the same seed, the same run.",
        ),
    ]


Seed = _seed()
RunSeed = _seed(", and for --shuffle")


def _check_lr(lr: float | None) -> None:
    if lr is not None and not (_finite(lr) and lr >= 0):
        raise typer.BadParameter("must be a finite number, 0 or more", param_hint="'--lr'")


def _guarded(file: Path, command):
    """Read FILE and run `command` on its text, turning every way it can stop into a message and an exit code."""
    source = ""
    try:
        with (
            _output(),
            process.Interrupts(),
        ):  # a signal stops reading and building too, not only the steps
            source = process.read(file)
            return command(source)
    except (BptraceError, RecursionError) as error:
        raise typer.Exit(process.report(error, process.shown(file), source)) from None
    except KeyboardInterrupt as stop:
        if not isinstance(
            stop, process.Interrupted
        ):  # Python's own, from a Ctrl-C outside Interrupts
            stop = process.Interrupted(EXIT_INTERRUPTED - 128)
        try:
            process.stderr().print(stop.message, markup=False)
        except OSError:  # SIGHUP: the terminal may be gone
            pass
        raise typer.Exit(stop.exit_code) from None


@contextmanager
def _output():
    """Turn a write to stdout that fails into an exit: quietly 0 when the reader went away (`| head`), as Unix
    tools do, else 3 with a message (a full disk). typer would exit with 1 for the first and crash on the second."""
    try:
        yield
    except BrokenPipeError:
        process.silence_stdout()
        raise typer.Exit(0) from None
    except OSError as error:  # the output cannot be written: a full disk, a closed terminal
        process.silence_stdout()
        process.stderr().print(
            f"bptrace: error: cannot write the output: {error.strerror or error}", markup=False
        )
        raise typer.Exit(EXIT_FILE) from None


RUN_FORMATS = ("text", "markdown", "latex")


@app.command(cls=_Command)
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
            callback=_at_least(1),
            help="Check at each of the first N steps of training.",
        ),
    ] = 1,
    lr: Lr = None,
    precision: Precision = 6,
    seed: Seed = None,
    ascii_math: AsciiMath = False,
) -> None:
    """Compare every gradient with central finite differences, node by node, and exit 6 on any mismatch."""
    _check_lr(lr)
    if _guarded(
        file,
        lambda source: commands.check(
            source, steps, lr, precision, process.shown(file), seed, ascii_math
        ),
    ):
        raise typer.Exit(EXIT_CHECK)


@app.command(cls=_Command)
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
            callback=_at_least(1),
            help="Chain-rule paths written per parameter (at most 10,000 in all); the rest are counted exactly.",
        ),
    ] = 8,
    ascii_math: AsciiMath = False,
    all_rows: AllRows = False,
) -> None:
    """Answer the handout's five questions for FILE: gradient size, local partials, each chain and its length."""
    _guarded(
        file,
        lambda source: commands.explain(
            source, tuple(params or ()), latex, max_paths, ascii_math, all_rows, process.shown(file)
        ),
    )


GRAPH_FORMATS = ("text", "dot", "mermaid")


@app.command(cls=_Command)
def graph(
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
            callback=lambda v: v if v is None else _at_least(1)(v),
            help="Annotate nodes with their value and ∂L/∂node, and edges with their local derivative, at step K.",
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
    if form not in GRAPH_FORMATS:
        raise typer.BadParameter(
            f"unknown format '{form}'; choose from {', '.join(GRAPH_FORMATS)}",
            param_hint="'--format'",
        )
    _check_lr(lr)
    if lr is not None and step is None:
        raise typer.BadParameter(
            "sets the learning rate of the steps before --step K; use it with --step",
            param_hint="'--lr'",
        )
    _guarded(
        file,
        lambda source: commands.graph(
            source, form, step, lr, precision, ascii_math, all_rows, process.shown(file), seed
        ),
    )


@app.command(cls=_Command)
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
            callback=_at_least(1),
            help="Nudge the param as it is at step K of training.",
        ),
    ] = 1,
    lr: Lr = None,
    precision: Precision = 4,
    ascii_math: AsciiMath = False,
    seed: Seed = None,
) -> None:
    """Change PARAM a little: the gradient's predicted loss change beside the actual one, from the forward pass."""
    if not (_finite(by) and by != 0):
        raise typer.BadParameter("must be a finite number other than 0", param_hint="'--by'")
    if (
        abs(by) < sys.float_info.min
    ):  # a subnormal: fewer digits than a float64's, and no param it could move
        raise typer.BadParameter(
            f"{by:.3g} is subnormal: smaller than {sys.float_info.min:.3g}, the smallest float64 "
            "with full precision; try the default, 0.001",
            param_hint="'--by'",
        )
    _check_lr(lr)
    _guarded(
        file,
        lambda source: commands.nudge(
            source, param, by, step, lr, precision, ascii_math, process.shown(file), seed
        ),
    )


@app.command(cls=_Command)
def schema() -> None:
    """Print the JSON Schema of the records `bptrace run --json` writes."""
    from importlib.resources import files

    text = files("bptrace.views").joinpath("schema/trace.schema.json").read_text(encoding="utf-8")
    with _output():
        process.write_utf8(text)


def _sections(show: str, known: tuple[str, ...], option: str = "--show") -> tuple[str, ...]:
    from bptrace.language.diagnostics import did_you_mean

    chosen = tuple(s.strip() for s in show.split(",") if s.strip())
    for s in chosen:
        if s not in known:
            hint = did_you_mean(s, known) or f"choose from {','.join(known)}"
            raise typer.BadParameter(f"unknown table '{s}'; {hint}", param_hint=f"'{option}'")
    if not chosen:
        raise typer.BadParameter(
            f"choose at least one of {','.join(known)}", param_hint=f"'{option}'"
        )
    return tuple(s for s in known if s in chosen)


def _finite(x: float) -> bool:
    return x == x and abs(x) != float("inf")


def main() -> None:
    """Run the command line, mapping interrupts, closed pipes and bugs to quiet exits with codes."""
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    process.tolerant_streams()
    if sys.stdout is None:  # closed (`>&-`): Python found no stdout to open
        print("bptrace: error: cannot write the output: standard output is closed", file=sys.stderr)
        sys.exit(EXIT_FILE)
    try:
        app(prog_name="bptrace")
    except KeyboardInterrupt:
        print("bptrace: interrupted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        process.silence_stdout()
        sys.exit(0)
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001 - the last line of defence: no traceback reaches a user
        from bptrace.language.diagnostics import escaped

        print(
            f"bptrace: internal error: {type(e).__name__}: {escaped(str(e))}\nplease report this with the .bp file",
            file=sys.stderr,
        )
        sys.exit(EXIT_INTERNAL)
