"""A network read from .bp text, and everything done with it: run, check, explain (docs/api.md).

`bptrace run` and the other commands go through this module too: they parse, bind samples and
train here, and hand the engine's records to their views.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bptrace.api.answers import Chain, CheckedStep, Explanation, Partial
from bptrace.api.problems import Named, NetworkWarning
from bptrace.api.reading import read, shown
from bptrace.api.records import Run, Trace, Training

if TYPE_CHECKING:
    from bptrace.engine.nudge import NudgeReport


def load(path: str | os.PathLike[str]) -> Network:
    """Read the .bp file at `path` (UTF-8, at most 256 MB) and return its network."""
    return parse(read(path), shown(path))


def parse(text: str, name: str = "<string>") -> Network:
    """Return the network written in `text`; `name` is the file its errors and traces name."""
    return Network(text, name)


class Network:
    """A checked network: run it (`run`, `steps`), check its gradients (`check`), explain them
    (`explain`); `with_seed`, `with_data` and `variant` return it changed.

    Made by `load` or `parse`; in a notebook it shows as its graph, with step 1's numbers.
    """

    def __init__(self, text: str, name: str = "<string>") -> None:
        self.name, self.source = name, text
        self._seed: int | None = None
        self._data: tuple[dict[str, tuple[float, ...]], str] | None = None
        self._variant: str | None = None
        with self._named():
            self._statements, self._layers, self._drawn = _built(text)
        self._graph = self._drawn

    @property
    def loss(self) -> str:
        """The loss node's name."""
        return self._graph.loss

    @property
    def params(self) -> dict[str, Any]:
        """Each param's starting value (as declared, drawn with the seed, or the variant's), in
        source order."""
        return dict(self._graph.initial_params())

    @property
    def samples(self) -> int | None:
        """How many samples the inputs and targets hold; None when they hold one value each."""
        return self._graph.samples

    @property
    def warnings(self) -> tuple[NetworkWarning, ...]:
        """What `bptrace run` warns of on stderr, in source order."""
        return tuple(
            NetworkWarning(w.message, w.span.line, w.span.col, w.hint) for w in self._graph.warnings
        )

    def with_seed(self, seed: int) -> Network:
        """Return this network with its params written uniform(…) or normal(…) drawn with `seed`,
        which also shuffles its samples (as `--seed`)."""
        from bptrace.engine.graph import build_graph

        _whole(seed=seed)
        with self._named():
            drawn = build_graph(self._statements, seed, self._layers)
        return self._changed(_seed=seed, _drawn=drawn)

    def with_data(self, data: str | os.PathLike[str] | Mapping[str, Sequence[float]]) -> Network:
        """Return this network with its inputs and targets replaced by `data`'s columns, by name:
        a CSV file's path (as `--data`), or a mapping of columns."""
        if not isinstance(data, Mapping):
            return self._with_csv(read(data, "CSV file"), shown(data))
        columns = {str(k): tuple(map(float, v)) for k, v in data.items()}
        counts = {len(column) for column in columns.values()}
        if len(counts) != 1 or 0 in counts:
            said = ", ".join(f"{k}: {len(v)}" for k, v in columns.items()) or "no columns"
            raise ValueError(f"data's columns must hold as many samples each, 1 or more ({said})")
        return self._changed(_data=(columns, "data"))

    def with_settings(self, **settings: float | str) -> Network:
        """Return this network with `settings` in place of its own `set` lines, each as a `set`
        line would write it: `with_settings(lr=0.2, half="false")`.

        A setting the language does not know, or a value it cannot take, raises ValueError saying
        why, as `bptrace compare --vs` would.
        """
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
        try:
            return self._with_settings(tuple(given))
        except BptraceError as error:
            hint = getattr(error, "hint", None)
            said = ", ".join(f"{s.name}={written}" for s in given)
            raise ValueError(f"{said}: {error}" + (f" ({hint})" if hint else "")) from None

    def variant(self, student: str) -> Network:
        """Return this network with each param's starting value drawn for `student` (an ID): the
        numbers of `bptrace run --variant`, the same for the same ID."""
        if not isinstance(student, str) or not student:
            raise ValueError(f"a variant is a student's ID, a non-empty string; got {student!r}")
        return self._changed(_variant=student)

    def steps(
        self,
        steps: int = 1,
        lr: float | None = None,
        max_paths: int = 8,
        batch_size: int | None = None,
        shuffle: bool = False,
    ) -> Run:
        """Return the run of `steps` steps, computed one step at a time as it is iterated.

        `lr` replaces the file's `set lr`; `max_paths` caps the paths each chain lists;
        `batch_size` the file's `set batch`; `shuffle` shuffles the samples on each pass.
        """
        _at_least_1(steps=steps, max_paths=max_paths)
        if batch_size is not None:
            _at_least_1(batch_size=batch_size)
        _a_rate(lr)
        training = Training(steps, lr, max_paths, batch_size, shuffle, self._seed)
        with self._named():
            return Run(self._graph, self.name, training, self.source)

    def run(
        self,
        steps: int = 1,
        lr: float | None = None,
        data: str | os.PathLike[str] | Mapping[str, Sequence[float]] | None = None,
        seed: int | None = None,
        max_paths: int = 8,
        *,
        batch_size: int | None = None,
        shuffle: bool = False,
    ) -> Trace:
        """Train for `steps` steps and return the trace, as `bptrace run --json` writes it.

        `data` and `seed` are `with_data`'s and `with_seed`'s; the rest are `steps`'. A run whose
        numbers stop being finite raises NumericFault, its `trace` the steps before.
        """
        from bptrace.errors import NumericFault

        net = self if seed is None else self.with_seed(seed)
        net = net if data is None else net.with_data(data)
        run = net.steps(steps, lr, max_paths, batch_size, shuffle)
        records = []
        try:
            records.extend(run)
        except NumericFault as fault:
            fault.trace = Trace(run.begin, tuple(records), run.end)
            raise
        return Trace(run.begin, tuple(records), run.end)

    def check(self, steps: int = 1, lr: float | None = None) -> list[CheckedStep]:
        """Compare every gradient and local partial with central finite differences, as `bptrace
        check` does, at each of the first `steps` steps (training between them); return a
        CheckedStep per step."""
        return [CheckedStep.of_check(checked) for checked in self._checks(steps, lr)]

    def nudge(
        self, param: str, by: float = 1e-3, step: int = 1, lr: float | None = None
    ) -> NudgeReport:
        """Nudge `param` by `by` (and by 10×, 1/10 and 1/100 of it) as it is at `step`, as `bptrace
        nudge` does: the loss change the gradient predicts beside the actual one."""
        from bptrace.engine.nudge import nudge

        self._knows(param)
        _at_least_1(step=step)
        _a_rate(lr)
        if not (isinstance(by, (int, float)) and math.isfinite(by) and by):
            raise ValueError(f"by must be a finite number other than 0; got {by!r}")
        if abs(by) < sys.float_info.min:  # fewer digits than a float64's: no param it could move
            raise ValueError(f"by = {by!r} is subnormal: too small to nudge by")
        with self._named():
            return nudge(self._graph, param, float(by), step, lr)

    def draw(
        self,
        form: str = "dot",
        step: int | None = None,
        lr: float | None = None,
        ascii_math: bool = False,
    ) -> str:
        """Return the computational graph as `bptrace graph --format` writes it: "dot" (Graphviz)
        or "mermaid" (in a notebook the network itself shows as a drawing). With `step`, each box
        and edge carries its value and partial at that step (`lr` trains up to it); `ascii_math`
        writes ∂ and · as d and *."""
        from bptrace.language.printer import BP, MATH
        from bptrace.views.drawing import Labels, dot, mermaid

        if form not in ("dot", "mermaid"):
            raise ValueError(f"form is dot or mermaid; got {form!r}")
        if step is not None:
            _at_least_1(step=step)
        _a_rate(lr)
        record = None if step is None else self._at(step, lr)
        labels = Labels(BP if ascii_math else MATH, record, 4)
        if form == "dot":
            return dot(self._graph, labels, Path(self.name).stem)
        return mermaid(self._graph, labels)

    def explain(self, params: Sequence[str] = (), max_paths: int = 8) -> Explanation:
        """Answer the handout's five questions, as `bptrace explain` does; `params` picks whose
        chains to list (default: every param)."""
        from bptrace.engine.explain import conclusion, explain
        from bptrace.language.printer import show

        _at_least_1(max_paths=max_paths)
        for param in params:
            self._knows(param)
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
        from bptrace.errors import BptraceError
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

    def _checks(self, steps: int, lr: float | None) -> Iterator[Any]:
        """Yield the engine's checks of each step (what `check` returns, for bptrace's views)."""
        from bptrace.engine.check import check

        _at_least_1(steps=steps)
        _a_rate(lr)
        with self._named():
            yield from check(self._graph, steps, lr)

    def _at(self, step: int, lr: float | None) -> Any:
        """Return the engine's record of step `step` of training."""
        from bptrace.engine.tracer import Step, trace

        with self._named():
            for record in trace(self._graph, step, lr, max_paths=1):
                if isinstance(record, Step) and record.step == step:
                    return record
        raise AssertionError("a trace of `step` steps yields step `step`")

    def _knows(self, param: str) -> None:
        """Raise ValueError when `param` is not one of this network's params."""
        if param not in self._graph.params:
            raise ValueError(
                f"'{param}' is not a param of {self.name}; "
                f"its params are {', '.join(self._graph.params) or 'none'}"
            )

    def _with_settings(self, given: tuple) -> Network:
        """Return this network with the `set` statements `given` in place of its own of the same
        names (a setting's error raised as the engine raises it)."""
        from bptrace.engine.graph import build_graph
        from bptrace.language.syntax import Setting

        names = {s.name for s in given}
        kept = tuple(
            s for s in self._statements if not (isinstance(s, Setting) and s.name in names)
        )
        statements = (*kept, *given)
        drawn = build_graph(statements, self._seed, self._layers)
        return self._changed(_statements=statements, _drawn=drawn)

    def _with_csv(self, text: str, name: str) -> Network:
        """Return this network with the samples of the CSV `text` (the file `name`)."""
        from bptrace.engine.data import read_csv

        wanted = tuple(leaf.name for leaf in self._drawn.leaves if leaf.kind in ("input", "target"))
        return self._changed(_data=(read_csv(text, name, wanted), name))

    def _changed(self, **fields: Any) -> Network:
        """Return a copy with `fields` replaced, its graph made again from its recipe: the params
        drawn with the seed, the samples bound, then the variant's starting values."""
        from bptrace.engine.data import with_data
        from bptrace.engine.variants import variant

        net = object.__new__(Network)
        net.__dict__.update(self.__dict__, **fields)
        graph = net._drawn
        if net._data is not None:
            graph = with_data(graph, *net._data)
        if net._variant is not None:
            graph = variant(graph, net._variant)
        net._graph = graph
        return net

    def _named(self) -> Named:
        return Named(self.name, self.source)


def _built(text: str):
    """Return the statements and layers of `text`, and its graph."""
    import gc

    from bptrace.engine.graph import build_graph
    from bptrace.language.parser import parse_layered

    # Parsing allocates millions of small acyclic objects that all survive; the cycle collector
    # would walk them again and again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        statements, layers = parse_layered(text)
        return statements, layers, build_graph(statements, None, layers)
    finally:
        if collecting:
            gc.enable()


def _at_least_1(**given: int) -> None:
    for name, value in given.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number, 1 or more; got {value!r}")


def _whole(**given: int) -> None:
    for name, value in given.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be a whole number; got {value!r}")


def _a_rate(lr: float | None) -> None:
    if lr is not None and not (math.isfinite(lr) and lr >= 0):
        raise ValueError(f"lr must be a finite number, 0 or more; got {lr!r}")
