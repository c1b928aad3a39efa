"""The options: typer made to speak bptrace's words, the options several commands share, and
which options of `run` cannot be used together (a table, checked in one loop).

Only the command modules (tracing.py, inspecting.py, teaching.py, outputs.py) use this; typer is
imported only in the cli layer.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NamedTuple

import typer

from bptrace.cli import process
from bptrace.errors import EXIT_FILE
from bptrace.language.diagnostics import escaped


class _Flags:
    """Show a flag without a type in --help: `--ascii`, not `--ascii <bool>`, which reads as if it
    took a value; say what is wrong with a value that is not a number in bptrace's words, not the
    validator's; and end --help and --version written to a closed pipe or a full disk as a
    command's output ends (exit_on_failed_writes)."""

    def get_params(self, ctx):
        params = super().get_params(ctx)
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        return params

    def make_context(self, *args, **kwargs):
        try:
            # --help and --version write while the command line is parsed
            with exit_on_failed_writes():
                return super().make_context(*args, **kwargs)
        except SystemExit as stop:
            # typer's help console exits with 1 when its reader goes
            if isinstance(stop.__context__, BrokenPipeError):
                raise typer.Exit(0) from None
            raise

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except typer.BadParameter as error:
            raise _no_file_at_hand(_not_a_number(error), ctx) from None

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except typer.BadParameter as error:  # it may quote a value as given: `--format` ESC[2J
            error.message = escaped(error.message)
            raise


def _not_a_number(error: typer.BadParameter) -> typer.BadParameter:
    """Return `error` saying which value is not a number, in bptrace's words.

    typer's validator says "Input should be a valid number, unable to parse string as a number";
    the option's name is added when it is shown.
    """
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


def _no_file_at_hand(error: typer.BadParameter, ctx) -> typer.BadParameter:
    """Return `error`, and if it says FILE is missing to someone at a terminal, how to try a
    built-in example instead (a `pip install` has no networks/ folder)."""
    missing = type(error).__name__ == "MissingParameter"  # click's, in typer or beside it
    if missing and getattr(error.param, "metavar", None) == "FILE" and _at_a_terminal():
        error.message = (
            f"No .bp file at hand? Give a built-in example's name, as in "
            f"`{ctx.command_path} simple`; `bptrace examples` lists them"
        )
    return error


def _at_a_terminal() -> bool:
    return bool(sys.stdin and sys.stdin.isatty())


class Command(_Flags, typer.core.TyperCommand):
    """A command with bptrace's flags and messages."""


class Group(_Flags, typer.core.TyperGroup):
    """The group of commands, with bptrace's flags and messages."""


def at_least(low: int, high: int | None = None):
    """Return a callback refusing a whole number below `low` (or above `high`)."""

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
        callback=at_least(1, 17),
        help="Significant digits shown, 1 to 17 (the engine keeps full float64).",
    ),
]
AsciiMath = Annotated[
    bool,
    typer.Option(
        "--ascii",
        help="Write math as .bp text (dL/dw1, *, sigmoid) instead of ∂L/∂w₁, ·, σ, and lines "
        "with - instead of ─; names as written.",
    ),
]
AllRows = Annotated[
    bool,
    typer.Option(
        "--all",
        help="Show every row of every table; by default a table of more than 60 rows shows its "
        "first 50 and last 10.",
    ),
]

# compare's and mistakes': the steps both traces run, and their one JSON document
TrainSteps = Annotated[
    int,
    typer.Option(
        "--steps", "-n", metavar="N", callback=at_least(1), help="Steps of training to compare."
    ),
]
AllChanged = Annotated[
    bool,
    typer.Option("--all", help="Show every changed number; by default 12 a table and step."),
]
JsonDocument = Annotated[
    bool, typer.Option("--json", help="Write what changes as one JSON document, not tables.")
]


RUN_FORMATS = ("text", "markdown", "latex", "csv")
RUN_VIEWS = ("scalar", "matrix", "both")
RUN_PIECES = ("row", "table", "step")  # what a key reveals with --pause
GRAPH_FORMATS = ("text", "dot", "mermaid")


class Clash(NamedTuple):
    """An option that cannot be used while any of `others` holds, and what it says then."""

    option: str
    others: tuple[str, ...]  # options given, or facts such as "no terminal"
    message: str  # formatted with the option and the values check_clashes is given
    usage: bool = False  # said as a usage error naming no option (click's UsageError)


_LEAVES_OUT = (
    "leaves step tables out of the terminal view; "
    "it cannot be used with --format, --json or --pause"
)
_SHAPES = (
    "'{option}' cannot be used with --json: --json writes every record, every number at "
    "full precision; the tables' options do not apply"
)

# In the order they are checked: the first that holds is said. A few rows check a value where
# its check stands in that order (an unknown format, an unknown table, stdin not a terminal).
RUN_CLASHES = (
    Clash("--export", ("--json",), "exports the tables; it cannot be used with --json"),
    Clash("--format", ("an unknown format",), "unknown format '{form}'; choose from {formats}"),
    Clash(
        "--format",
        ("csv without --blank",),
        "csv writes a worksheet's cells, one a line, to fill in: use it with --blank",
    ),
    Clash(
        "--format",
        ("--json", "--export"),
        "writes the tables as {form}; it cannot be used with --json or --export",
    ),
    *(
        Clash(shape, ("--json",), _SHAPES, usage=True)
        for shape in ("--show", "--precision", "--ascii", "--all")
    ),
    Clash("--blank", ("an unknown table",), "{blank_problem}"),
    Clash("--blank", ("a table --show leaves out",), "blanks {left_out}, which --show leaves out"),
    Clash(
        "--blank",
        ("no --format",),
        "makes a worksheet: use it with --format markdown, latex or csv",
    ),
    Clash("--key", ("no --blank",), "is the answer key of a worksheet: use it with --blank"),
    Clash("--by", ("an unknown piece",), "unknown piece '{by}'; choose from {pieces}"),
    Clash("--by", ("no --pause",), "sets what a key reveals: use it with --pause"),
    Clash("--compact", ("no --pause",), "lays out the screens of --pause: use it with --pause"),
    Clash(
        "--compact",
        ("--by step",),
        "shows one table a screen, but --by step reveals a whole step at once: "
        "use --by table, or drop --compact",
    ),
    Clash(
        "--pause",
        ("--format", "--json"),
        "reveals the tables live in the terminal; it cannot be used with --format or --json",
    ),
    Clash(
        "--pause",
        ("no terminal",),
        "reads keys from a terminal, but stdin is not one; "
        "run bptrace in a terminal, or drop --pause",
    ),
    Clash(
        "--focus",
        ("--format", "--json"),
        "highlights rows of the terminal tables; it cannot be used with --format or --json",
    ),
    Clash(
        "--sample",
        ("--format", "--json"),
        "picks the sample the terminal tables show; it cannot be used with --format or --json",
    ),
    Clash(
        "--sample",
        ("--view matrix",),
        "picks the sample the scalar tables show; the matrix view shows every sample as a "
        "column: use --view both, or drop --sample",
    ),
    Clash(
        "--every",
        ("--quiet",),
        "shows every K-th step's tables, but --quiet shows none: use one of them",
    ),
    Clash("--view", ("an unknown view",), "unknown view '{view}'; choose from {views}"),
    Clash(
        "--view",
        ("--format", "--json", "--pause"),
        "shows the layers in the terminal; it cannot be used with --format, --json or --pause",
    ),
    Clash(
        "--block",
        ("no matrix view",),
        "shows part of a layer in the matrix view: use it with --view matrix or --view both",
    ),
    Clash("--every", ("--format", "--json", "--pause"), _LEAVES_OUT),
    Clash("--quiet", ("--format", "--json", "--pause"), _LEAVES_OUT),
)


def check_clashes(clashes: tuple[Clash, ...], given: dict, **values: str) -> None:
    """Raise the error of the first of `clashes` that holds, given which options and facts hold.

    A fact may be a function, looked at only when its row is reached (stdin's isatty, with --pause).
    """
    for clash in clashes:
        if given[clash.option] and any(_holds(given[other]) for other in clash.others):
            message = clash.message.format(option=clash.option, **values)
            if clash.usage:
                raise _UsageError(message)
            raise typer.BadParameter(message, param_hint=f"'{clash.option}'")


def _holds(fact) -> bool:
    return fact() if callable(fact) else fact


_UsageError = typer.BadParameter.__bases__[0]  # click's UsageError (typer >= 0.29 vendors click)
UsageError = _UsageError  # a usage error naming no option (exit 2)


def seed_option(also: str = ""):
    """Return the --seed option, its help naming what else the seed decides (`also`)."""
    return Annotated[
        int | None,
        typer.Option(
            "--seed",
            metavar="S",
            callback=lambda v: v if v is None else at_least(0)(v),
            show_default="the file's `set seed`, or 0",
            help=f"Seed for params written uniform(…) or normal(…){also}: the same seed, "
            "the same run.",
        ),
    ]


Seed = seed_option()
RunSeed = seed_option(", and for --shuffle")
Data = Annotated[
    Path | None,
    typer.Option(
        "--data",
        metavar="CSV",
        help="Samples from a CSV file: a header row naming inputs and targets, then one row "
        "per sample.",
        show_default=False,
    ),
]


def check_lr(lr: float | None) -> None:
    """Refuse a learning rate that is not a finite number, 0 or more."""
    if lr is not None and not (finite(lr) and lr >= 0):
        raise typer.BadParameter("must be a finite number, 0 or more", param_hint="'--lr'")


@contextmanager
def exit_on_failed_writes():
    """Turn a write to stdout that fails into an exit: quietly 0 when the reader went away
    (`| head`), as Unix tools do, else 3 with a message (a full disk).

    typer would exit with 1 for the first and crash on the second.
    """
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


def tables_named(show: str, known: tuple[str, ...], option: str = "--show") -> tuple[str, ...]:
    """Return the tables `show` names, comma-separated, in `known`'s order; refuse unknown ones."""
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


def finite(x: float) -> bool:
    """Return whether `x` is neither NaN nor infinite."""
    return x == x and abs(x) != float("inf")
