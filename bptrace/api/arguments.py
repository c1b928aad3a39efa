"""The arguments of the API's methods, checked: what cannot be right raises ValueError."""

from __future__ import annotations

import math
from collections.abc import Mapping


def settings_of(settings: Mapping[str, float | str]) -> tuple:
    """Return each of `settings` as the `set` statement that writes it, or raise ValueError."""
    from bptrace.errors import BptraceError
    from bptrace.language.parser import parse as parse_statements
    from bptrace.language.syntax import Setting

    given = []
    for name, value in settings.items():
        written = repr(value) if isinstance(value, (int, float)) else str(value)
        try:
            statements = parse_statements(f"set {name} = {written}")
        except BptraceError as error:
            raise ValueError(f"{name}={written}: {error}") from None
        if len(statements) != 1 or not isinstance(statements[0], Setting):
            raise ValueError(f"{name}={written} is not a setting and its value")
        given.append(statements[0])
    return tuple(given)


def at_least_1(**given: int) -> None:
    for name, value in given.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number, 1 or more; got {value!r}")


def whole(**given: int) -> None:
    for name, value in given.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be a whole number; got {value!r}")


def a_rate(lr: float | None) -> None:
    if lr is not None and not (math.isfinite(lr) and lr >= 0):
        raise ValueError(f"lr must be a finite number, 0 or more; got {lr!r}")
