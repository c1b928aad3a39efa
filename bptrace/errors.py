"""Errors bptrace raises, each pointing at its source, and the exit code each maps to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

# Exit codes, documented in README.md and docs/language.md. 0 is success.
EXIT_INTERNAL = 1
EXIT_USAGE = 2  # raised by click itself for bad options and arguments
EXIT_FILE = 3
EXIT_NETWORK = 4
EXIT_NUMERIC = 5
EXIT_CHECK = 6  # bptrace check found a gradient that disagrees with finite differences
EXIT_INTERRUPTED = 130


class Span(NamedTuple):
    """Where a piece of source text sits: 1-based line and columns, end exclusive."""

    line: int
    col: int
    end_line: int
    end_col: int

    def to(self, other: Span) -> Span:
        """Return the span from the start of this one to the end of `other`."""
        # Span(…) at C speed: no NamedTuple __new__ in Python
        return tuple.__new__(Span, (self.line, self.col, other.end_line, other.end_col))


NOWHERE = Span(0, 0, 0, 0)


class BptraceError(Exception):
    """Base of every error bptrace reports to a user."""

    exit_code = EXIT_INTERNAL


class NetworkError(BptraceError):
    """A mistake in a .bp file, at a position in it."""

    exit_code = EXIT_NETWORK

    def __init__(self, message: str, span: Span, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint


@dataclass(frozen=True, slots=True)
class NetworkWarning:
    """Something legal but probably unintended in a .bp file."""

    message: str
    span: Span
    hint: str | None = None


class BadArgument(BptraceError, ValueError):
    """An argument that does not fit the network (a command-line option, or an API call's), once
    the network is known."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(f"{message}; {hint}" if hint else message)
        self.message, self.hint = message, hint


@dataclass(eq=False)
class NumericFault(BptraceError):
    """A value stopped being a finite number during a run."""

    exit_code = EXIT_NUMERIC

    step: int
    where: str
    detail: str
    span: Span | None = None  # where in the source the fault arose, when known
    final: bool = False  # after the last step, with the final params
    hint: str | None = None  # what to do about it, when that is known (see tracer.diverged)
    # A forward pass's values up to the fault, when it arose there: for the view to show.
    computed: dict | None = field(default=None, repr=False)
    # The public API's run up to the fault (bptrace.Trace), set by Network.run.
    trace: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        when = (
            f"after step {self.step - 1}, with the final params"
            if self.final
            else f"step {self.step}"
        )
        super().__init__(f"{when}: {self.where}: {self.detail}")
        self.message = str(self)
