"""What `bptrace plot` draws: a run's loss and params at each step, read off the trace's records.

The loss at step k is the one step k computes, with the params before its update; the point after
the last step, N + 1, is the final loss (with mini-batches, whose steps each see other samples,
it is left out, as the terminal's curve leaves it out). A param's value at step k is the one step k
starts from. Plain numbers only: no table is built.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bptrace.engine.tracer import Final, Step
from bptrace.errors import NumericFault


@dataclass(frozen=True, slots=True)
class Series:
    """One run's curve: its name in the legend, the steps, the loss and each param at each."""

    label: str
    steps: tuple[int, ...]
    losses: tuple[float, ...]
    params: dict[str, tuple[float, ...]]  # name → its value at each of `steps`
    batched: bool = False  # each loss is one mini-batch's
    stopped: NumericFault | None = None  # the fault that stopped the run after the last step drawn


def collect(records: Iterable[Step | Final], label: str, params: tuple[str, ...] = ()) -> Series:
    """Return the series of a trace's records, up to a numeric fault if one stops it."""
    steps: list[int] = []
    losses: list[float] = []
    values: dict[str, list[float]] = {name: [] for name in params}
    at: dict[str, int] | None = None  # each param's place in a step's updates
    batched, stopped = False, None
    try:
        for record in records:
            if isinstance(record, Step):
                if at is None:
                    at = {name: record.updates.params.index(name) for name in params}
                steps.append(record.step)
                losses.append(float(record.loss))
                before = record.updates.before
                for name in params:
                    values[name].append(float(before[at[name]]))
            elif record.start_loss is not None:
                batched = True
            elif record.loss is not None:
                steps.append(record.steps + 1)
                losses.append(float(record.loss))
                for name in params:
                    values[name].append(float(record.params[name]))
    except NumericFault as fault:
        stopped = fault
    drawn = {name: tuple(v) for name, v in values.items()}
    return Series(label, tuple(steps), tuple(losses), drawn, batched, stopped)
