"""The loss curve of a run as a sparkline: a bar per column, log scale when it spans decades."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bptrace.language.printer import MATH

LOG_SPAN = 100.0  # the loss spans decades when its largest value is this many times its smallest


@dataclass(frozen=True, slots=True)
class Curve:
    """A sparkline of losses: the bars, the first and last values, the extremes, and the scale."""

    bars: str
    first: float
    last: float
    low: float
    high: float
    log: bool
    steps: int  # losses drawn: one per step, and the final one


def curve(losses: list[float], width: int = 60, bars: str = MATH.bars) -> Curve:
    """Return the sparkline of `losses` in `bars`, each column the mean of its share of steps."""
    finite = [x for x in losses if math.isfinite(x)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 0.0)
    log = low > 0 and high / low >= LOG_SPAN
    columns = min(width, len(losses))
    drawn = []
    for c in range(columns):
        share = losses[c * len(losses) // columns : (c + 1) * len(losses) // columns]
        value = sum(share) / len(share)
        if not math.isfinite(value) or high == low:
            drawn.append(bars[0] if high == low else "?")
            continue
        if log:
            level = (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
        else:
            level = (value - low) / (high - low)
        drawn.append(bars[min(len(bars) - 1, max(0, round(level * (len(bars) - 1))))])
    return Curve("".join(drawn), losses[0], losses[-1], low, high, log, len(losses))
