"""The command line: the `bptrace` app, its --version, its commands in the order --help lists
them, and main(), which runs it with every way it can stop mapped to an exit code (exits.py)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from bptrace import __version__
from bptrace.cli import exits, inspecting, options, outputs, process, teaching, tracing
from bptrace.errors import EXIT_FILE

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


# the order `bptrace --help` lists the commands in; a command left out of it stops the import
HELP_ORDER = (
    "run",
    "grade",
    "check",
    "explain",
    "graph",
    "nudge",
    "compare",
    "mistakes",
    "plot",
    "present",
    "examples",
    "export",
    "schema",
)
app.registered_commands = sorted(
    (
        info
        for module in (tracing, inspecting, teaching, outputs)
        for info in module.declared.registered_commands
    ),
    key=lambda info: HELP_ORDER.index(info.name or info.callback.__name__),
)


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
