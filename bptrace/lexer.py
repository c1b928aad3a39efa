"""Split .bp text into tokens, each with its line and column."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bptrace.diagnostics import CHARACTER_HINTS
from bptrace.errors import NetworkError, Span

KEYWORDS = ("param", "input", "target", "const", "loss", "set")

_TOKEN = re.compile(
    r"""
     (?P<space>[ \t\r\f\v]+)
    |(?P<comment>\#[^\n]*)
    |(?P<newline>\n)
    |(?P<number>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    |(?P<name>[^\W\d]\w*)
    |(?P<op>\*\*|[-+*/^(),=])
    """,
    re.VERBOSE,
)



def _name_part(word: str) -> str:
    """Return the longest prefix of `word` that is a name: letters, marks, decimal digits and _."""
    for i, ch in enumerate(word):
        ok = ch == "_" or ch.isalpha() or (i > 0 and ("0" <= ch <= "9" or unicodedata.category(ch) in ("Mn", "Mc")))
        if not ok:
            return word[:i]
    return word


_NUMBER_TAIL = re.compile(r"[\w.]*")


def _check_number(text: str, start: int, end: int, line: int, col: int) -> None:
    """Refuse numbers glued to a second point, a hex prefix or an empty exponent: 1.2.3, 0x10, 1e."""
    rest = text[end : end + 2]
    tail = _NUMBER_TAIL.match(text, end).end()
    whole = text[start:tail]
    hint = None
    if rest[:1] == ".":
        hint = "a number has at most one decimal point"
    elif rest[:1] == "_":
        hint = "numbers have no digit separators: write 1000, not 1_000"
    elif text[start:end] == "0" and rest[:1] in ("x", "X", "b", "B", "o", "O") and rest[1:2].isalnum():
        hint = "write numbers in decimal"
    elif rest[:1] in ("e", "E") and not (rest[1:2].isdecimal() or rest[1:2] in ("+", "-")):
        hint = "an exponent needs digits, as in 1e3 or 2.5e-4"
    if hint:
        raise NetworkError(f"invalid number '{whole}'", Span(line, col, line, col + tail - start), hint)


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind (number, name, keyword, op, newline, end), its text, its span."""

    kind: str
    text: str
    span: Span


def tokenize(text: str) -> list[Token]:
    """Return the tokens of `text`; newlines inside parentheses are dropped, so expressions may continue."""
    tokens: list[Token] = []
    depth = 0
    opened: list[Token] = []
    line, line_start, pos, n = 1, 0, 0, len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        col = pos - line_start + 1
        if m is None:
            ch = text[pos]
            hint = CHARACTER_HINTS.get(ch)
            shown = repr(ch) if ch.isascii() and ch.isprintable() else f"U+{ord(ch):04X}"
            if not ch.isascii() and ch.isprintable():
                shown = f"'{ch}' ({shown})"
            raise NetworkError(f"unexpected character {shown}", Span(line, col, line, col + 1), hint)
        kind, value, end = m.lastgroup, m.group(), m.end()
        if kind == "name":
            while end < n and unicodedata.category(text[end]) in ("Mn", "Mc"):
                end += 1  # combining accents: x̂ typed as x + U+0302
            value = _name_part(text[pos:end])
            end = pos + len(value)
            span_text = value
            value = unicodedata.normalize("NFC", value)  # x̂ precomposed or not is one name
            if not value:
                raise NetworkError(f"unexpected character {text[pos]!r}", Span(line, col, line, col + 1), CHARACTER_HINTS.get(text[pos]))
        elif kind == "number":
            _check_number(text, pos, end, line, col)
        span = Span(line, col, line, col + len(span_text if kind == "name" else value))
        pos = end
        if kind == "newline":
            if depth == 0:
                tokens.append(Token("newline", value, span))
            line, line_start = line + 1, end
            continue
        if kind in ("space", "comment"):
            continue
        if kind == "name" and value in KEYWORDS:
            kind = "keyword"
        token = Token(kind, value, span)
        if value == "(":
            depth += 1
            opened.append(token)
        elif value == ")" and depth > 0:
            depth -= 1
            opened.pop()
        tokens.append(token)
    if opened:
        raise NetworkError("'(' is never closed", opened[-1].span, "add the matching ')'")
    end_span = Span(line, pos - line_start + 1, line, pos - line_start + 2)
    tokens.append(Token("newline", "", end_span))
    tokens.append(Token("end", "", end_span))
    return tokens
