"""Split .bp text into tokens, each with its line and column."""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from bptrace.diagnostics import CHARACTER_HINTS
from bptrace.errors import NetworkError, Span

KEYWORDS = ("param", "input", "target", "const", "loss", "set")

_TOKEN = re.compile(
    r"""
    [ \t\r\f\v]*                  # spaces before a token are skipped in the same match
    (?:
     (?P<comment>\#[^\n]*)
    |(?P<newline>\n)
    |(?P<number>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    |(?P<name>[^\W\d]\w*)
    |(?P<op>\*\*|[-+*/^(),=\[\]])
    |(?P<end>\Z)
    )
    """,
    re.VERBOSE,
)
_SPACES = re.compile(r"[ \t\r\f\v]*")
_AFTER_NUMBER = frozenset("._xXbBoOeE")  # characters that may make a number malformed



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


class Token(NamedTuple):
    """One token: its kind (number, name, keyword, op, newline, end), its text, its span."""

    kind: str
    text: str
    span: Span


def tokenize(text: str) -> list[Token]:
    """Return the tokens of `text`; newlines inside parentheses are dropped, so expressions may continue."""
    tokens: list[Token] = []
    append = tokens.append
    match = _TOKEN.match
    depth = 0
    opened: list[Token] = []
    line, line_start, pos, n = 1, 0, 0, len(text)
    while True:
        m = match(text, pos)
        if m is None:
            _bad_character(text, _SPACES.match(text, pos).end(), line, line_start)
        kind = m.lastgroup
        start, end = m.span(kind)
        value = text[start:end]
        col = start - line_start + 1
        if kind == "name":
            if not value.isascii() or (end < n and not text[end].isascii()):
                value, end = _unicode_name(text, start, end, line, line_start)
            if value in KEYWORDS:
                kind = "keyword"
        elif kind == "number":
            if end < n and text[end] in _AFTER_NUMBER:
                _check_number(text, start, end, line, col)
        elif kind == "newline":
            if depth == 0:
                append(Token("newline", value, Span(line, col, line, col + 1)))
            pos, line, line_start = end, line + 1, end
            continue
        elif kind == "comment":
            pos = end
            continue
        elif kind == "end":
            break
        token = Token(kind, value, Span(line, col, line, col + end - start))
        if value == "(" or value == "[":
            depth += 1
            opened.append(token)
        elif (value == ")" or value == "]") and depth > 0:
            depth -= 1
            opened.pop()
        append(token)
        pos = end
    if opened:
        bracket = opened[-1].text
        raise NetworkError(f"'{bracket}' is never closed", opened[-1].span, f"add the matching '{')' if bracket == '(' else ']'}'")
    end_col = n - line_start + 1
    end_span = Span(line, end_col, line, end_col + 1)
    tokens.append(Token("newline", "", end_span))
    tokens.append(Token("end", "", end_span))
    return tokens


def _bad_character(text: str, pos: int, line: int, line_start: int):
    ch = text[pos]
    col = pos - line_start + 1
    shown = repr(ch) if ch.isascii() and ch.isprintable() else f"U+{ord(ch):04X}"
    if not ch.isascii() and ch.isprintable():
        shown = f"'{ch}' ({shown})"
    raise NetworkError(f"unexpected character {shown}", Span(line, col, line, col + 1), CHARACTER_HINTS.get(ch))


def _unicode_name(text: str, start: int, end: int, line: int, line_start: int) -> tuple[str, int]:
    """Return a name with letters beyond ASCII, and where it ends: accents joined, ² and ³ left out."""
    while end < len(text) and unicodedata.category(text[end]) in ("Mn", "Mc"):
        end += 1  # combining accents: x̂ typed as x + U+0302
    value = _name_part(text[start:end])
    if not value:
        _bad_character(text, start, line, line_start)
    return unicodedata.normalize("NFC", value), start + len(value)  # x̂ precomposed or not is one name
