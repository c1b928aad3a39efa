"""The arguments of the API's methods, checked: what cannot be right raises ValueError."""

from __future__ import annotations

import math
from collections.abc import Mapping


def settings_of(settings: Mapping[str, float | str]) -> tuple:
    """Return each of `settings` as the `set` statement that writes it, or raise ValueError."""
    from bptrace.errors import BptraceError
    from bptrace.language.parser import parse as parse_statements
    from bptrace.language.syntax import Setting

    if not isinstance(settings, Mapping):
        raise ValueError(
            f"settings is a mapping of names to values, such as {{'lr': 0.2}}; got {settings!r}"
        )
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
    if lr is not None and not (a_number(lr) and math.isfinite(lr) and lr >= 0):
        raise ValueError(f"lr must be a finite number, 0 or more; got {lr!r}")


def a_number(value: object) -> bool:
    """Whether `value` is a real number a float holds (a bool is not, nor an int too large)."""
    from numbers import Real

    if isinstance(value, bool) or not isinstance(value, Real):  # numpy's numbers are Real too
        return False
    try:
        float(value)
    except OverflowError:
        return False
    return True


def yes_or_no(**given: bool) -> None:
    for name, value in given.items():
        kind = type(value)
        numpy_bool = kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_")
        if not (isinstance(value, bool) or numpy_bool):
            raise ValueError(f"{name} must be True or False; got {value!r}")


def names(what: str, given: object) -> tuple[str, ...]:
    """Return `given`, a sequence of names, as a tuple; one str alone is one name (not a sequence
    of letters)."""
    from collections.abc import Iterable

    if isinstance(given, str):
        return (given,)
    if isinstance(given, bytes):
        raise ValueError(f"{what} is a list of names (str); got {given!r}")
    if not isinstance(given, Iterable):
        raise ValueError(f"{what} is a list of names; got {given!r}")
    return tuple(given)
