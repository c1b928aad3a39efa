"""The edge where a command stops: every bptrace error, interrupt, closed pipe and bug mapped to a
message on stderr and an exit code (docs/language.md §11.4)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from bptrace.cli import builtin, files, options, process
from bptrace.errors import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_NETWORK,
    BptraceError,
    NetworkError,
)
from bptrace.language.diagnostics import escaped


def guarded(file: Path, command, how) -> Any:
    """Read FILE and run `command` on its text with the options `how`, turning every way it can
    stop into a message and an exit code."""
    source, name = "", files.shown(file)
    try:
        # a signal stops reading and building too, not only the steps
        with options.exit_on_failed_writes(), process.Interrupts():
            source, name = builtin.network(file)  # or the built-in example a bare name means
            return command(source, name, how)
    except (BptraceError, RecursionError) as error:
        raise typer.Exit(report(error, name, source)) from None
    except KeyboardInterrupt as stop:
        if not isinstance(stop, process.Interrupted):  # Python's own, from a Ctrl-C outside
            stop = process.Interrupted(EXIT_INTERRUPTED - 128)
        try:
            process.stderr().print(stop.message, markup=False)
        except OSError:  # SIGHUP: the terminal may be gone
            pass
        raise typer.Exit(stop.exit_code) from None


def report(error: BptraceError | RecursionError, filename: str, source: str) -> int:
    """Print `error` to stderr as a diagnostic and return its exit code."""
    err = process.stderr()
    if isinstance(error, RecursionError):
        err.print(
            f"{escaped(filename)}: error: the network is nested too deeply to process", markup=False
        )
        return EXIT_NETWORK
    if isinstance(error, files.FileError) and error.span is not None:
        # in a file of its own: the network's, or --data's
        process.diagnose(err, error.file, error.text, error)
    elif isinstance(error, NetworkError) or getattr(error, "span", None) is not None:
        said = process.Said(error.span, error.message, getattr(error, "hint", None))
        process.diagnose(err, filename, source, said)
    else:  # it may quote a file's name or a cell
        err.print(f"bptrace: error: {escaped(str(error))}", markup=False)
    return error.exit_code


@contextmanager
def quiet_exits() -> Iterator[None]:
    """Map interrupts, closed pipes and bugs in the command line to quiet exits with codes."""
    try:
        yield
    except KeyboardInterrupt:
        print("bptrace: interrupted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        process.silence_stdout()
        sys.exit(0)
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001 - the last line of defence: no traceback reaches a user
        print(
            f"bptrace: internal error: {type(e).__name__}: {escaped(str(e))}\n"
            "please report this with the .bp file",
            file=sys.stderr,
        )
        sys.exit(EXIT_INTERNAL)
