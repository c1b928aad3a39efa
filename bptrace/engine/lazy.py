"""numpy, imported where it is first needed: a network of plain numbers never loads it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import ModuleType


def numpy() -> ModuleType:
    """Return the numpy module, importing it on the first call."""
    import numpy

    return numpy
