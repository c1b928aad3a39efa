"""A run's records, as the JSON trace writes them: the run as it goes (`Run`), a step (`StepRecord`)
and the run kept whole (`Trace`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, overload

from bptrace.errors import NumericFault

if TYPE_CHECKING:
    from bptrace.engine.graph import Graph
    from bptrace.engine.tracer import Batches, Final, Step


@dataclass(frozen=True, slots=True)
class Training:
    """How a run trains: what `Network.steps` and `bptrace run` were asked."""

    steps: int = 1
    lr: float | None = None  # None: the file's `set lr`
    max_paths: int = 8  # the paths each chain lists
    batch_size: int | None = None  # None: the file's `set batch`, else every sample at each step
    shuffle: bool = False  # shuffle the samples on each pass, with the network's seed
    seed: int | None = None  # what shuffles; None: the file's `set seed`


class StepRecord(dict):
    """One training step: a dict with exactly the keys of the JSON trace's step record (see
    docs/json.md), the numbers at full precision; in a notebook, its tables."""

    def __init__(self, record: Mapping[str, Any], begin: Mapping[str, Any]) -> None:
        super().__init__(record)
        self._begin = begin

    def _repr_html_(self) -> str:
        from bptrace.views.notebook import step_html

        return step_html(self, self._begin)


class Run(Iterator[StepRecord]):
    """A run as it goes: its `begin` record at once, a StepRecord per step as it is computed (each
    step is computed when asked for), then its `end` record.

    A step whose numbers stop being finite raises NumericFault; `end` then says so, as the end
    record of `bptrace run --json` does.
    """

    def __init__(self, graph: Graph, name: str, training: Training, source: str = "") -> None:
        from bptrace.engine.tracer import batches_of, trace

        self.name, self.training = name, training
        self._graph, self._source = graph, source
        # too large or impossible batches are refused here, before any step
        self.batches: Batches | None = batches_of(
            graph, training.batch_size, training.shuffle, training.seed
        )
        self.final: Final | None = None  # the engine's last record, once the run is over
        self.last: Step | None = None  # the engine's record of the last step computed
        self.fault: NumericFault | None = None
        self._engine = self._records(
            trace(graph, training.steps, training.lr, training.max_paths, self.batches)
        )

    @cached_property
    def begin(self) -> dict[str, Any]:
        """The record that opens the trace: the network, its settings, graph and listed paths."""
        from bptrace.views import jsonl

        lr = self.training.lr
        rate = float(self._graph.settings["lr"]) if lr is None else lr
        steps, max_paths = self.training.steps, self.training.max_paths
        return jsonl.begin(
            self._graph, self.name, steps, rate, max_paths, self._shape, self.batches
        )

    @property
    def end(self) -> dict[str, Any] | None:
        """The record that closes the trace, once the run is over (None before): the final loss
        and params, or the error that stopped it and the params after the last step."""
        from bptrace.views import jsonl

        if self.final is not None:
            return jsonl.end(self.final)
        if self.fault is not None:
            return jsonl.end_with_error(*self._stopped(self.last), jsonl.numeric_error(self.fault))
        return None

    def ended(self) -> dict[str, Any]:
        """Return the end record of a run that is over (one that is not raises RuntimeError)."""
        end = self.end
        if end is None:
            raise RuntimeError(f"the run of {self.name} is not over: it has no end record yet")
        return end

    @property
    def params(self) -> dict[str, Any]:
        """The params after the last step computed (before any step, the starting ones): what
        `Network.with_params` takes to go on from here."""
        return self._stopped(self.last)[1]

    def _stopped(self, last: Step | None) -> tuple[int, dict[str, Any]]:
        """Return the steps done up to the step `last` and the params after it; before any step
        (None), the starting ones."""
        if last is None:
            return 0, self._graph.initial_params()
        return last.step, {u.param: u.after for u in last.updates}

    def _line(self, step: Step) -> str:
        """Return the JSON line of one of this run's steps, as `bptrace run --json` writes it."""
        return self._lines(step)

    def __next__(self) -> StepRecord:
        from bptrace.engine.tracer import Step
        from bptrace.views import jsonl

        for record in self._engine:
            if isinstance(record, Step):
                return StepRecord(jsonl.step(self._graph, record, self._shape), self.begin)
        raise StopIteration

    def _records(self, records: Iterator[Step | Final]) -> Iterator[Step | Final]:
        """Yield the engine's records, a Step per step then the Final one, keeping the last step,
        the final record and a fault. bptrace's own views read these."""
        from bptrace.api.problems import Named
        from bptrace.engine.tracer import Step

        try:
            with Named(self.name, self._source):
                for record in records:
                    if isinstance(record, Step):
                        self.last = record
                    else:
                        self.final = record
                    yield record
        except NumericFault as fault:
            self.fault = fault
            raise

    @cached_property
    def _shape(self):
        from bptrace.views import jsonl

        return jsonl.layout(self._graph, self.training.max_paths)

    @cached_property
    def _lines(self):
        from bptrace.views import jsonl

        return jsonl.StepLines(self._graph, self._shape)


class Trace(Sequence[StepRecord]):
    """A run: its begin record, a StepRecord per step (iterate, index, len) and its end record."""

    def __init__(
        self, begin: dict[str, Any], steps: tuple[StepRecord, ...], end: dict[str, Any]
    ) -> None:
        self.begin, self.steps, self.end = begin, steps, end

    @overload
    def __getitem__(self, i: int) -> StepRecord: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[StepRecord]: ...
    def __getitem__(self, i):
        return self.steps[i]

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[StepRecord]:
        return iter(self.steps)

    @property
    def losses(self) -> list[Any]:
        """Each step's loss, before its update (with samples: over the step's samples)."""
        return [s["loss"] for s in self.steps]

    @property
    def final(self) -> dict[str, Any]:
        """The end record: the loss with the final params (`final_loss`) and the params."""
        return self.end

    def to_jsonl(self) -> str:
        """Return the trace as JSON Lines: byte for byte what `bptrace run --json` writes."""
        from bptrace.views.jsonl import line

        return "".join(map(line, (self.begin, *self.steps, self.end)))

    def _repr_html_(self) -> str:
        from bptrace.views.notebook import trace_html

        return trace_html(self.begin, self.losses, self.end)

    def __repr__(self) -> str:
        return f"<bptrace.Trace of {self.begin['network']!r}: {len(self)} steps>"
