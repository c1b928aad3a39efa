"""Variants of a worksheet: each student's own starting params, drawn from a seeded range.

A variant ID (a student's name or number) picks every param's value from the values of one decimal
within HALF_WIDTH of the written one (or half of it, when that is wider), of the written value's
sign (a written 0 may move either way or stay 0). The draw is sha256 of the ID and the param's
name, so it is the same on every platform and Python version, and a param's value does not depend
on the others. Inputs, targets and consts stay as written: they are the data and the task.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from bptrace.engine.graph import Graph

HALF_WIDTH = Decimal("0.5")  # the least distance a param may move from its written value
STEP = Decimal("0.1")  # the values drawn: multiples of STEP, one decimal a student can work with
_ID = re.compile(r"[\w.@+-]{1,64}")


def check_id(ident: str) -> str | None:
    """Return why `ident` cannot name a variant, or None when it can."""
    if _ID.fullmatch(ident):
        return None
    return (
        "a variant ID is 1 to 64 letters, digits and . _ @ + - (no spaces): "
        "a student's number or name, such as s1042 or ana-lopez"
    )


def choices(written: float) -> list[Decimal]:
    """Return the values a param written as `written` may take, in increasing order."""
    v = Decimal(repr(float(written)))
    half = max(HALF_WIDTH, abs(v) / 2)
    low = ((v - half) / STEP).to_integral_value(ROUND_CEILING)
    high = ((v + half) / STEP).to_integral_value(ROUND_FLOOR)
    values = [k * STEP for k in range(int(low), int(high) + 1)]
    if v != 0:  # keep its sign, and never 0
        values = [x for x in values if (x > 0) == (v > 0) and x != 0]
    return values or [v]


def drawn(ident: str, name: str, written: float) -> float:
    """Return the value variant `ident` gives the param `name` written as `written`."""
    if not math.isfinite(written):
        return written
    digest = hashlib.sha256(f"bptrace variant\0{ident}\0{name}".encode()).digest()
    values = choices(written)
    return float(values[int.from_bytes(digest[:8], "big") % len(values)])


def variant(graph: Graph, ident: str) -> Graph:
    """Return `graph` with each param's value drawn for the variant `ident`."""
    leaves = tuple(
        replace(leaf, value=drawn(ident, leaf.name, leaf.value)) if leaf.kind == "param" else leaf
        for leaf in graph.leaves
    )
    return replace(graph, leaves=leaves)
