"""Errors bptrace raises, each pointing at its source, and the exit code each maps to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

# Exit codes, documented in README.md and docs/language.md. 2 is click's own code for usage errors.
# 0 is success.
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
        return tuple.__new__(
            Span, (self.line, self.col, other.end_line, other.end_col)
        )  # Span(…), at C speed


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
class Warning_:
    """Something legal but probably unintended in a .bp file."""

    message: str
    span: Span
    hint: str | None = None


class BadArgument(BptraceError):
    """A command-line argument that does not fit the network's values, found only once they are computed."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(f"{message}; {hint}" if hint else message)
        self.message, self.hint = message, hint


class NumericFault(BptraceError):
    """A value stopped being a finite number during a run."""

    exit_code = EXIT_NUMERIC

    def __init__(
        self, step: int, where: str, detail: str, span: Span | None = None, final: bool = False
    ) -> None:
        when = f"after step {step - 1}, with the final params" if final else f"step {step}"
        super().__init__(f"{when}: {where}: {detail}")
        self.message = str(self)
        self.step = step
        self.where = where
        self.detail = detail
        self.span = span  # where in the source the fault arose, when known
        self.final = final
        self.hint: str | None = (
            None  # what to do about it, when that is known (see tracer.diverged)
        )
        self.computed: dict | None = (
            None  # a forward pass's values up to the fault, when it arose there
        )
