"""The words of errors: hints for common slips, and compiler-style text with a caret underline."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable

from bptrace.errors import Span

# Characters people paste from slides, with what to write instead.
CHARACTER_HINTS = {
    "×": "use * for multiplication",
    "·": "use * for multiplication",
    "⋅": "use * for multiplication",
    "−": "use - (the ASCII minus sign)",
    "–": "use - (the ASCII minus sign)",
    "÷": "use / for division",
    "²": "use ^2 for a square",
    "³": "use ^3 for a cube",
    "[": "use ( and ) for grouping",
    "]": "use ( and ) for grouping",
    "{": "use ( and ) for grouping",
    "}": "use ( and ) for grouping",
    ";": "put one statement per line",
    "%": "comments start with #",
    "!": "bptrace has no factorial or negation operator",
    "½": "write 1/2",
    "¼": "write 1/4",
    "¾": "write 3/4",
    "√": "write sqrt(x)",
    "∑": "write the sum out term by term",
    "\u00a0": "a non-breaking space, as pasted from a document: use a plain space",
    "\u202f": "a narrow non-breaking space, as pasted from a document: use a plain space",
    "\u2009": "a thin space, as pasted from a document: use a plain space",
    "\u200b": "a zero-width space, as pasted from a document: delete it",
    "\u3000": "a full-width space: use a plain space",
}

# Names from other languages and textbooks, with what bptrace calls them.
FUNCTION_HINTS = {
    "ln": "did you mean 'log'? (log is the natural logarithm)",
    "log10": "write log(x)/log(10)",
    "log2": "write log(x)/log(2)",
    "logistic": "did you mean 'sigmoid'?",
    "pow": "write a^b for a power",
    "square": "write x^2 for a square",
    "softplus": "write log(1 + exp(x))",
    "sgn": "did you mean 'sign'?",
    "maximum": "did you mean 'max'?",
    "minimum": "did you mean 'min'?",
    # a draw where a value is computed, in a list or an expression
    "uniform": "a draw is a param's whole value: param w = uniform(-1, 1); a layer draws each "
    "element, param W[3,2] = uniform(-1, 1)",
    "normal": "a draw is a param's whole value: param w = normal(0, 1); a layer draws each "
    "element, param W[3,2] = normal(0, 1)",
}

# Names of mathematical constants, which bptrace leaves to the user.
NAME_HINTS = {
    "e": "for Euler's number write exp(1), and exp(x) for e^x",
    "pi": "write 3.141592653589793, or declare `const pi = 3.141592653589793`",
    "π": "write 3.141592653589793, or declare `const π = 3.141592653589793`",
}


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """Return a 'did you mean' hint for the closest choice, if any is close."""
    by_lower = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return f"did you mean '{by_lower[close[0]]}'?" if close else None


_WIDTH = 100  # the widest part of a source line a diagnostic quotes

# What is written as an escape, as compilers do: controls (ESC starts a colour or a clipboard write,
# C1's 0x9b too), line and paragraph breaks, and the invisible format characters that reorder a
# line (bidi controls).
_INVISIBLE = ("Cc", "Cf", "Cs", "Zl", "Zp")


def escaped(text: str, keep_tabs: bool = False) -> str:
    """Return `text` with each character that acts on a terminal, ends a line or shows nothing
    written as its escape: \\x1b, \\n, \\u202e, and a byte of a file name that is not UTF-8 as
    \\xff (tabs too, unless kept).

    Every output puts such text on one line, where a line break could start a command (LaTeX), a
    heading or a table row (Markdown), and a bidi control could reorder what a reader sees.
    """
    if text.isprintable():
        return text
    return "".join(
        _escape(ch)
        if unicodedata.category(ch) in _INVISIBLE and not (keep_tabs and ch == "\t")
        else ch
        for ch in text
    )


def _escape(ch: str) -> str:
    if "\udc80" <= ch <= "\udcff":  # a byte of a file name that is not UTF-8 (os.fsdecode): as \xff
        return f"\\x{ord(ch) - 0xDC00:02x}"
    return ch.encode("unicode_escape").decode("ascii")


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
    filename, message, hint = escaped(filename), escaped(message), hint and escaped(hint)
    if not 1 <= span.line <= len(lines) or not lines[span.line - 1].strip():
        head = f"{filename}:{max(span.line, 1)}:{max(span.col, 1)}: {severity}: {message}"
        return head + (f"\n  hint: {hint}" if hint else "")
    text = lines[span.line - 1]
    start = max(span.col - 1, 0)
    end = span.end_col - 1 if span.end_line == span.line else len(text.rstrip())
    end = max(end, start + 1)
    if len(text) > _WIDTH:
        # Quote a window around the culprit, not a whole megabyte of line.
        left = max(0, min(start - _WIDTH // 3, len(text) - _WIDTH))
        right = left + _WIDTH
        prefix, suffix = ("..." if left else ""), ("..." if right < len(text) else "")
        text = prefix + text[left:right] + suffix
        start, end = start - left + len(prefix), min(end, right) - left + len(prefix)
    # Escape control characters and expand tabs: the underline lines up with the terminal's text.
    shown = escaped(text, keep_tabs=True).expandtabs(4)
    pad = len(escaped(text[:start], keep_tabs=True).expandtabs(4))
    width = max(len(escaped(text[:end], keep_tabs=True).expandtabs(4)) - pad, 1)
    gutter = str(span.line)
    out = [
        f"{filename}:{span.line}:{span.col}: {severity}: {message}",
        f" {gutter} | {shown}",
        f" {' ' * len(gutter)} | {' ' * pad}^{'~' * (width - 1)}",
    ]
    if hint:
        out.append(f"  hint: {hint}")
    return "\n".join(out)


# What other tools and textbooks call bptrace's settings.
SETTING_HINTS = {
    name: "the learning rate is called lr: write `set lr = VALUE`"
    for name in (
        "learning_rate",
        "learningrate",
        "alpha",
        "α",
        "eta",
        "η",
        "step_size",
        "stepsize",
        "rate",
    )
}
