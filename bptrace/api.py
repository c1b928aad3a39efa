"""The public Python API: read a network, run it, check it, explain it (docs/api.md).

What this module defines is public and follows semantic versioning; every other module is private.
Pure: it prints nothing and never exits. A mistake in a network is raised as NetworkError, which
carries file:line:col; a run whose numbers stop being finite raises NumericFault.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

from bptrace import errors
from bptrace.errors import BptraceError, NumericFault

__all__ = [
    "BptraceError",
    "Chain",
    "Explanation",
    "Network",
    "NetworkError",
    "NetworkWarning",
    "NumericFault",
    "Partial",
    "StepRecord",
    "Trace",
    "load",
    "parse",
]


class NetworkError(errors.NetworkError):
    """A mistake in a network, at `file`:`line`:`col`; str() is the whole diagnostic, the line
    quoted and the culprit underlined."""

    def __init__(
        self, message: str, span: errors.Span, hint: str | None, file: str, source: str
    ) -> None:
        super().__init__(message, span, hint)
        self.file, self.source = file, source

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def col(self) -> int:
        return self.span.col

    def __str__(self) -> str:
        from bptrace.language.diagnostics import format_diagnostic

        return format_diagnostic(self.file, self.source, self.span, self.message, self.hint)


@dataclass(frozen=True, slots=True)
class NetworkWarning:
    """Something legal but probably unintended in a network, at its line and column."""

    message: str
    line: int
    col: int
    hint: str | None = None


def load(path: str | os.PathLike[str]) -> Network:
    """Read the .bp file at `path` (UTF-8) and return its network."""
    with open(path, encoding="utf-8-sig", newline="") as stream:
        text = stream.read()
    # a lone CR ends a line, as \n and \r\n do (as `bptrace run` reads a file)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return parse(text, _shown(path))


def parse(text: str, name: str = "<string>") -> Network:
    """Return the network written in `text`; `name` is the file its errors and traces name."""
    return Network(text, name)


class Network:
    """A checked network: run it (`run`), check its gradients (`check`), explain them (`explain`).

    Made by `load` or `parse`; in a notebook it shows as its graph, with step 1's numbers.
    """

    def __init__(self, text: str, name: str = "<string>") -> None:
        from bptrace.language.parser import parse_layered

        self.name, self.source = name, text
        with self._named():
            self._statements, self._layers = parse_layered(text)
            self._graph = self._built(None)

    @property
    def loss(self) -> str:
        """The loss node's name."""
        return self._graph.loss

    @property
    def params(self) -> dict[str, Any]:
        """Each param's declared value (drawn with the file's seed), in source order."""
        return dict(self._graph.initial_params())

    @property
    def warnings(self) -> tuple[NetworkWarning, ...]:
        """What `bptrace run` warns of on stderr, in source order."""
        return tuple(
            NetworkWarning(w.message, w.span.line, w.span.col, w.hint) for w in self._graph.warnings
        )

    def run(
        self,
        steps: int = 1,
        lr: float | None = None,
        data: str | os.PathLike[str] | Mapping[str, Sequence[float]] | None = None,
        seed: int | None = None,
        max_paths: int = 8,
    ) -> Trace:
        """Train for `steps` steps and return the trace, as `bptrace run --json` writes it.

        `lr` replaces the file's `set lr`; `data` replaces the inputs and targets, by name: a CSV
        file's path, or a mapping of columns; `seed` draws the params written uniform(…) or
        normal(…) afresh; `max_paths` caps the paths each chain lists. A run whose numbers stop
        being finite raises NumericFault, its `trace` the steps before.
        """
        from bptrace.engine.tracer import Step, batches_of, trace
        from bptrace.views import jsonl

        _at_least_1(steps=steps, max_paths=max_paths)
        _a_rate(lr)
        with self._named():
            graph = self._graph if seed is None else self._built(seed)
            if data is not None:
                graph = _with_data(graph, data)
            picked = batches_of(graph, seed=seed)
            rate = graph.settings["lr"] if lr is None else lr
            shape = jsonl.layout(graph, max_paths)
            begin = jsonl.begin(graph, self.name, steps, rate, max_paths, shape, picked)
            records: list[StepRecord] = []
            try:
                for record in trace(graph, steps, lr, max_paths, picked):
                    if isinstance(record, Step):
                        records.append(StepRecord(jsonl.step(graph, record, shape), begin))
                    else:
                        end = jsonl.end(record)
            except NumericFault as fault:
                # the steps before it, and an end record saying what happened: as run --json
                done, params = (
                    (records[-1]["step"], {u["param"]: u["after"] for u in records[-1]["updates"]})
                    if records
                    else (0, graph.initial_params())
                )
                end = jsonl.end_with_error(done, params, jsonl.numeric_error(fault))
                fault.trace = Trace(begin, tuple(records), end)
                raise
        return Trace(begin, tuple(records), end)

    def check(self, steps: int = 1, lr: float | None = None) -> list[dict[str, Any]]:
        """Compare every gradient and local partial with central finite differences, as `bptrace
        check` does, at each of the first `steps` steps; return a record per step."""
        from bptrace.engine.check import check
        from bptrace.language.printer import show

        _at_least_1(steps=steps)
        _a_rate(lr)

        def compared(c) -> dict[str, Any]:
            return {"analytic": c.analytic, "numeric": c.numeric, "status": c.status}

        with self._named():
            return [
                {
                    "step": checked.step,
                    "ok": checked.ok,
                    "grads": [
                        {
                            "param": g.param,
                            **compared(g.result),
                            "culprit": None
                            if g.culprit is None
                            else {"of": g.culprit.edge.of, "wrt": g.culprit.edge.wrt},
                        }
                        for g in checked.grads
                    ],
                    "partials": [
                        {
                            "of": p.edge.of,
                            "wrt": p.edge.wrt,
                            "formula": show(p.edge.formula),
                            **compared(p.result),
                        }
                        for p in checked.partials
                    ],
                }
                for checked in check(self._graph, steps, lr)
            ]

    def explain(self, params: Sequence[str] = (), max_paths: int = 8) -> Explanation:
        """Answer the handout's five questions, as `bptrace explain` does; `params` picks whose
        chains to list (default: every param)."""
        from bptrace.engine.explain import conclusion, explain
        from bptrace.language.printer import show

        _at_least_1(max_paths=max_paths)
        unknown = [p for p in params if p not in self._graph.params]
        if unknown:
            raise ValueError(
                f"'{unknown[0]}' is not a param of {self.name}; "
                f"its params are {', '.join(self._graph.params) or 'none'}"
            )
        answers = explain(self._graph, tuple(params), max_paths)
        return Explanation(
            answers.loss,
            answers.params,
            tuple(Partial(e.of, e.wrt, show(e.formula)) for e in answers.partials),
            tuple(Chain(c.param, c.paths, c.total, c.shortest, c.longest) for c in answers.chains),
            conclusion(answers, str),
        )

    def _repr_html_(self) -> str:
        from bptrace.engine.tracer import Step, trace
        from bptrace.views.notebook import MAX_NAMES, graph_html

        first = None
        if len(self._graph.leaves) + len(self._graph.nodes) > MAX_NAMES:
            return graph_html(self._graph, self.name, None)  # says it is too large to draw
        try:
            first = next(r for r in trace(self._graph, 1, max_paths=1) if isinstance(r, Step))
        except BptraceError:  # no finite step 1: the graph alone
            pass
        return graph_html(self._graph, self.name, first)

    def __repr__(self) -> str:
        return f"<bptrace.Network {self.name!r}: loss {self.loss}, params {', '.join(self.params)}>"

    def _built(self, seed: int | None):
        from bptrace.engine.graph import build_graph

        return build_graph(self._statements, seed, self._layers)

    def _named(self) -> _Named:
        return _Named(self.name, self.source)


class _Named:
    """Raise a NetworkError met inside as the public one, naming the file and quoting its text."""

    def __init__(self, name: str, source: str) -> None:
        self.name, self.source = name, source

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:
        if isinstance(error, errors.NetworkError) and not isinstance(error, NetworkError):
            raise NetworkError(
                error.message, error.span, error.hint, self.name, self.source
            ) from None
        return False


class StepRecord(dict):
    """One training step: a dict with exactly the keys of the JSON trace's step record (see
    docs/json.md), the numbers at full precision; in a notebook, its tables."""

    def __init__(self, record: Mapping[str, Any], begin: Mapping[str, Any]) -> None:
        super().__init__(record)
        self._begin = begin

    def _repr_html_(self) -> str:
        from bptrace.views.notebook import step_html

        return step_html(self, self._begin)


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


@dataclass(frozen=True, slots=True)
class Partial:
    """A local partial ∂of/∂wrt and its formula."""

    of: str
    wrt: str
    formula: str


@dataclass(frozen=True, slots=True)
class Chain:
    """∂loss/∂param by the chain rule: its listed paths (loss first), every path counted, and the
    factors on its shortest and longest path."""

    param: str
    paths: tuple[tuple[str, ...], ...]
    paths_total: int
    shortest: int
    longest: int


@dataclass(frozen=True, slots=True)
class Explanation:
    """The five answers: ∇loss's entries (`params`), the local partials, each param's chain and
    its lengths, and which params have the longest chains (`conclusion`)."""

    loss: str
    params: tuple[str, ...]
    partials: tuple[Partial, ...]
    chains: tuple[Chain, ...]
    conclusion: str

    def _repr_html_(self) -> str:
        from bptrace.views.notebook import explanation_html

        return explanation_html(self)


def _at_least_1(**given: int) -> None:
    for name, value in given.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number, 1 or more; got {value!r}")


def _a_rate(lr: float | None) -> None:
    if lr is not None and not (math.isfinite(lr) and lr >= 0):
        raise ValueError(f"lr must be a finite number, 0 or more; got {lr!r}")


def _shown(path: str | os.PathLike[str]) -> str:
    """Return a file's name as `bptrace run` writes it (bytes not UTF-8 as \\xff escapes)."""
    return (
        os.fspath(Path(path)).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    )


def _with_data(graph, data: str | os.PathLike[str] | Mapping[str, Sequence[float]]):
    """Return `graph` with its inputs and targets replaced by `data`'s columns."""
    from bptrace.engine.data import read_csv, with_data

    if isinstance(data, Mapping):
        columns = {str(k): tuple(map(float, v)) for k, v in data.items()}
        counts = {len(column) for column in columns.values()}
        if len(counts) != 1 or 0 in counts:
            said = ", ".join(f"{k}: {len(v)}" for k, v in columns.items()) or "no columns"
            raise ValueError(f"data's columns must hold as many samples each, 1 or more ({said})")
        return with_data(graph, columns, "data")
    wanted = tuple(leaf.name for leaf in graph.leaves if leaf.kind in ("input", "target"))
    with open(data, encoding="utf-8-sig", newline="") as stream:
        text = stream.read()
    return with_data(graph, read_csv(text, _shown(data), wanted), _shown(data))
