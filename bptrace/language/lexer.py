"""Split .bp text into tokens, each with its line and column."""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from bptrace.errors import NetworkError, Span
from bptrace.language.diagnostics import CHARACTER_HINTS

KEYWORDS = ("param", "input", "target", "const", "loss", "set")
_KEYWORDS = frozenset(KEYWORDS)

_TOKEN = re.compile(
    r"""
    [ \t\r\f\v]*                  # spaces before a token are skipped in the same match
    (?:                           # each alternative starts with its own characters; commonest first
     (?P<name>[^\W\d]\w*)
    |(?P<op>\*\*|[-+*/^(),=\[\]@'])
    |(?P<number>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    |(?P<newline>\n)
    |(?P<comment>\#[^\n]*)
    |(?P<end>\Z)
    |(?P<bad>.)                   # a character no token starts with
    )
    """,
    re.VERBOSE,
)
_NAME, _OP, _NUMBER, _NEWLINE, _END, _BAD = (
    _TOKEN.groupindex[g] for g in ("name", "op", "number", "newline", "end", "bad")
)
_AFTER_NUMBER = frozenset("._xXbBoOeE")  # characters that may make a number malformed


def _name_part(word: str) -> str:
    """Return the longest prefix of `word` that is a name: letters, marks, decimal digits and _."""
    for i, ch in enumerate(word):
        ok = (
            ch == "_"
            or ch.isalpha()
            or (i > 0 and ("0" <= ch <= "9" or unicodedata.category(ch) in ("Mn", "Mc")))
        )
        if not ok:
            return word[:i]
    return word


_NUMBER_TAIL = re.compile(r"[\w.]*")


def _check_number(text: str, start: int, end: int, line: int, col: int) -> None:
    """Refuse 1.2.3, 0x10 and 1e: a number glued to a second point, a hex prefix, no exponent."""
    rest = text[end : end + 2]
    tail = _NUMBER_TAIL.match(text, end).end()
    whole = text[start:tail]
    hint = None
    if rest[:1] == ".":
        hint = "a number has at most one decimal point"
    elif rest[:1] == "_":
        hint = "numbers have no digit separators: write 1000, not 1_000"
    elif (
        text[start:end] == "0"
        and rest[:1] in ("x", "X", "b", "B", "o", "O")
        and rest[1:2].isalnum()
    ):
        hint = "write numbers in decimal"
    elif rest[:1] in ("e", "E") and not (rest[1:2].isdecimal() or rest[1:2] in ("+", "-")):
        hint = "an exponent needs digits, as in 1e3 or 2.5e-4"
    if hint:
        raise NetworkError(
            f"invalid number '{whole}'", Span(line, col, line, col + tail - start), hint
        )


class Token(NamedTuple):
    """One token: its kind (number, name, keyword, op, newline, end), text, and place on a line."""

    kind: str
    text: str
    line: int
    col: int
    end: int  # the column after it

    @property
    def span(self) -> Span:
        # Span(…), at C speed
        return tuple.__new__(Span, (self.line, self.col, self.line, self.end))


def tokenize(text: str) -> list[Token]:
    """Return the tokens of `text`; newlines in parentheses are dropped: expressions continue."""
    return scan(text, frozenset())[0]


def scan(text: str, keep: frozenset[str]) -> tuple[list[Token], list[tuple[str, ...]], list[int]]:
    """Return the tokens of `text`, and each line's shape and its newline's index.

    A shape is the line's tokens with each name and number written as its kind; operators, keywords
    and the names in `keep` as their text (see _template.py). A line is a statement or nothing;
    lines are counted as the newline tokens are.
    """
    tokens: list[Token] = []
    append = tokens.append
    shapes: list[tuple[str, ...]] = []
    ends: list[int] = []
    shape: list[str] = []
    add = shape.append
    # Token(…) without NamedTuple's Python-level __new__: a million tokens is common.
    new = tuple.__new__
    depth = 0
    opened: list[Token] = []
    line, line_start, pos, n = 1, 0, 0, len(text)
    ascii = text.isascii()  # then no name needs a closer look
    done = False
    # once through, unless a name beyond ASCII ends before the regex's match: then on from there
    while not done:
        before = line_start - 1  # a column is its position minus this
        # every character is in some match, a bad one in its own group
        for m in _TOKEN.finditer(text, pos):
            group = m.lastindex
            start, end = m.span(group)
            if group == _NAME:
                value = text[start:end]
                if not ascii and (not value.isascii() or (end < n and not text[end].isascii())):
                    value, pos = _unicode_name(text, start, end, line, line_start)
                    add(value if value in _KEYWORDS or value in keep else "name")
                    append(
                        new(
                            Token,
                            (
                                "keyword" if value in _KEYWORDS else "name",
                                value,
                                line,
                                start - before,
                                pos - before,
                            ),
                        )
                    )
                    if pos != end:
                        break
                    continue
                append(
                    new(
                        Token,
                        (
                            "keyword" if value in _KEYWORDS else "name",
                            value,
                            line,
                            start - before,
                            end - before,
                        ),
                    )
                )
                add(value if value in _KEYWORDS or value in keep else "name")
            elif group == _OP:
                value = text[start:end]
                add(value)
                token = new(Token, ("op", value, line, start - before, end - before))
                if value == "(" or value == "[":
                    depth += 1
                    opened.append(token)
                elif (value == ")" or value == "]") and depth > 0:
                    depth -= 1
                    opened.pop()
                append(token)
            elif group == _NUMBER:
                if end < n and text[end] in _AFTER_NUMBER:
                    _check_number(text, start, end, line, start - before)
                append(new(Token, ("number", text[start:end], line, start - before, end - before)))
                add("number")
            elif group == _NEWLINE:
                if depth == 0:
                    shapes.append(tuple(shape))
                    shape.clear()
                    ends.append(len(tokens))
                    append(new(Token, ("newline", "\n", line, start - before, end - before)))
                line, line_start, before = line + 1, end, end - 1
            elif group == _END:
                done = True
                break
            elif group == _BAD:
                _bad_character(text, start, line, line_start)
    if opened:
        bracket = opened[-1].text
        raise NetworkError(
            f"'{bracket}' is never closed",
            opened[-1].span,
            f"add the matching '{')' if bracket == '(' else ']'}'",
        )
    end_col = n - line_start + 1
    shapes.append(tuple(shape))
    ends.append(len(tokens))
    tokens.append(Token("newline", "", line, end_col, end_col + 1))
    tokens.append(Token("end", "", line, end_col, end_col + 1))
    return tokens, shapes, ends


def _bad_character(text: str, pos: int, line: int, line_start: int):
    ch = text[pos]
    col = pos - line_start + 1
    shown = repr(ch) if ch.isascii() and ch.isprintable() else f"U+{ord(ch):04X}"
    if not ch.isascii() and ch.isprintable():
        shown = f"'{ch}' ({shown})"
    raise NetworkError(
        f"unexpected character {shown}", Span(line, col, line, col + 1), CHARACTER_HINTS.get(ch)
    )


def _unicode_name(text: str, start: int, end: int, line: int, line_start: int) -> tuple[str, int]:
    """Return a name with letters beyond ASCII, and its end: accents joined, ² and ³ left out."""
    while end < len(text) and unicodedata.category(text[end]) in ("Mn", "Mc"):
        end += 1  # combining accents: x̂ typed as x + U+0302
    value = _name_part(text[start:end])
    if not value:
        _bad_character(text, start, line, line_start)
    # x̂ precomposed or not is one name
    return unicodedata.normalize("NFC", value), start + len(value)
