"""Conventions given on the command line in place of the file's `set`: `compare --vs tie=split`.

The statements are changed, not the graph: the network is then built as if the file had said so,
and every number follows from the one engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from bptrace.engine.conventions import CONVENTIONS
from bptrace.engine.half import without_half
from bptrace.errors import NOWHERE, BadArgument
from bptrace.language.diagnostics import did_you_mean
from bptrace.language.syntax import Assignment, Name, Num, Setting, Statement


def convention_value(name: str, text: str) -> float | str:
    """Return the value of convention `name` written `text`; BadArgument if it has none such."""
    convention = CONVENTIONS.get(name)
    if convention is None:
        raise BadArgument(
            f"unknown convention '{name}'",
            did_you_mean(name, CONVENTIONS) or f"the conventions: {', '.join(CONVENTIONS)}",
        )
    if convention.bounds is None:
        if text not in convention.choices:
            choices = convention.choices
            raise BadArgument(
                f"{name} must be {', '.join(choices[:-1])} or {choices[-1]}, not '{text}'",
                did_you_mean(text, choices) or f"as in {name}={choices[0]}",
            )
        return text
    low, high = convention.bounds
    try:
        value = float(Fraction(text.strip()))  # 0.5 or 1/2, exactly as a .bp file writes them
    except (ValueError, ZeroDivisionError):
        value = None
    if value is None or not convention.allows(value):
        raise BadArgument(
            f"{name} must be a number from {low:g} to {high:g}, not '{text}'",
            f"as in {name}={convention.default:g}",
        )
    return value


def with_conventions(
    statements: tuple[Statement, ...], values: Mapping[str, float | str]
) -> tuple[Statement, ...]:
    """Return `statements` with `set NAME = VALUE` for each of `values` (convention_value's) in
    place of the file's own `set NAME`, or after the statements where the file has none.

    `half = false` on a loss without a ½ is a BadArgument here: there is no line to point at.
    """
    if values.get("half") == "false":
        loss = next((s for s in statements if isinstance(s, Assignment) and s.is_loss), None)
        if loss is not None and without_half(loss.expr) is None:
            raise BadArgument(
                f"half=false drops the loss's ½, but the loss '{loss.name}' (line "
                f"{loss.span.line}) has none",
                "write the loss as 1/2*X, 0.5*X or X/2 to compare with and without it",
            )
    done: set[str] = set()
    out: list[Statement] = []
    for s in statements:
        if isinstance(s, Setting) and s.name in values:
            if s.name in done:
                continue  # the file's second `set` of it: the value given replaces both
            done.add(s.name)
            s = Setting(s.name, _written(values[s.name], s.value.span), s.span)
        out.append(s)
    for name, value in values.items():
        if name not in done:
            out.append(Setting(name, _written(value, NOWHERE), NOWHERE))
    return tuple(out)


def _written(value: float | str, span) -> Name | Num:
    """Return a setting's value as the file would write it."""
    if isinstance(value, str):
        return Name(value, span)
    return Num(Fraction(repr(value)), span)
