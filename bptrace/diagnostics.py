"""Turn errors and warnings into compiler-style text: file:line:col, the line, a caret underline."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from bptrace.errors import Span


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """Return a 'did you mean' hint for the closest choice, if any is close."""
    by_lower = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return f"did you mean '{by_lower[close[0]]}'?" if close else None


def format_diagnostic(
    filename: str,
    source: str,
    span: Span,
    message: str,
    hint: str | None = None,
    severity: str = "error",
) -> str:
    """Return the diagnostic as plain text lines, the culprit underlined with ^~~~."""
    # Split at \n only, as the lexer counts lines (splitlines would also split at \f, \x85, …).
    lines = [line.removesuffix("\r") for line in source.split("\n")]
    if not 1 <= span.line <= len(lines) or not lines[span.line - 1].strip():
        head = f"{filename}:{max(span.line, 1)}:{max(span.col, 1)}: {severity}: {message}"
        return head + (f"\n  hint: {hint}" if hint else "")
    text = lines[span.line - 1]
    start = max(span.col - 1, 0)
    end = span.end_col - 1 if span.end_line == span.line else len(text.rstrip())
    end = max(end, start + 1)
    # Expand tabs so the underline lines up with what the terminal shows.
    shown = text.expandtabs(4)
    pad = len(text[:start].expandtabs(4))
    width = max(len(text[:end].expandtabs(4)) - pad, 1)
    gutter = str(span.line)
    out = [
        f"{filename}:{span.line}:{span.col}: {severity}: {message}",
        f" {gutter} | {shown}",
        f" {' ' * len(gutter)} | {' ' * pad}^{'~' * (width - 1)}",
    ]
    if hint:
        out.append(f"  hint: {hint}")
    return "\n".join(out)
