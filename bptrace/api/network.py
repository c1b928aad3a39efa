"""A network read from .bp text: made (`load`, `parse`), changed (`with_seed`, `with_data`,
`with_settings`, `variant`) and trained (`steps`, `run`); questions.py adds what can be asked of it.

Every command goes through this module too: it parses, binds samples and trains here, and hands
the engine's records (`Network._graph`, `Run._engine`) to its views.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from bptrace.api.arguments import a_number, a_rate, at_least_1, settings_of, whole, yes_or_no
from bptrace.api.problems import Named
from bptrace.api.questions import Questions
from bptrace.api.reading import read, shown
from bptrace.api.records import Run, StepRecord, Trace, Training

if TYPE_CHECKING:
    from bptrace.api.answers import NetworkWarning


def load(path: str | os.PathLike[str]) -> Network:
    """Read the .bp file at `path` (UTF-8, at most 256 MB) and return its network."""
    from bptrace.api.reading import FileError

    try:
        return parse(read(path), shown(path))
    except FileError as problem:
        from bptrace.examples import named

        name = named(os.path.basename(shown(path)))
        if name is None or os.path.lexists(path):
            raise
        hint = f"for the built-in example, bptrace.example({name!r})"
        raise FileError(f"{problem}; {hint}", problem.file, problem.span) from None


def example(name: str) -> Network:
    """Return the built-in example `name`, named as its file is ("simple" or "simple.bp" gives
    simple.bp); `bptrace examples` lists them."""
    from bptrace.examples import NAMES, named, text

    found = named(name) if isinstance(name, str) else None
    if found is None:
        from bptrace.language.diagnostics import did_you_mean

        close = did_you_mean(str(name), NAMES) if isinstance(name, str) else None
        raise ValueError(f"no example {name!r}; {close or 'the examples are ' + ', '.join(NAMES)}")
    return parse(text(found), f"{found}.bp")


def parse(text: str, name: str = "<string>") -> Network:
    """Return the network written in `text`; `name` is the file its errors and traces name."""
    if not isinstance(text, str):
        raise ValueError(f"text is a network's .bp text, a str; got {type(text).__name__}")
    if not isinstance(name, str):
        raise ValueError(f"name is the file errors name, a str; got {name!r}")
    return Network(text, name)


class Network(Questions):
    """A checked network: train it (`run`, `steps`), ask it questions (`check`, `explain`,
    `nudge`, `draw`, `handout`, `compare`, `mistakes`); `with_seed`, `with_data`, `with_settings`
    and `variant` return it changed, the network itself unchanged.

    Made by `load` or `parse`; in a notebook it shows as its graph, with step 1's numbers.
    """

    def __init__(self, text: str, name: str = "<string>") -> None:
        self._read(text, name, None)

    @classmethod
    def _drawn_with(cls, text: str, name: str, seed: int | None) -> Network:
        """Return `parse(text, name).with_seed(seed)`, its graph built once (as the CLI reads a
        file with --seed), not once unseeded and again with the seed."""
        net = object.__new__(cls)
        net._read(text, name, seed)
        return net

    def _read(self, text: str, name: str, seed: int | None) -> None:
        self.name, self.source = name, text
        self._seed: int | None = seed
        self._data: tuple[dict[str, tuple[float, ...]], str] | None = None
        self._variant: str | None = None
        self._params: dict[str, float] | None = None
        with self._named():
            self._statements, self._layers, self._drawn = _built(text, seed)
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
        from bptrace.api.answers import NetworkWarning

        return tuple(
            NetworkWarning(w.message, w.span.line, w.span.col, w.hint) for w in self._graph.warnings
        )

    def with_seed(self, seed: int) -> Network:
        """Return this network with its params written uniform(…) or normal(…) drawn with `seed`,
        which also shuffles its samples (as `--seed`)."""
        whole(seed=seed)
        with self._named():
            drawn = _graph(self._statements, seed, self._layers)
        return self._changed(_seed=seed, _drawn=drawn)

    def with_data(self, data: str | os.PathLike[str] | Mapping[str, Sequence[float]]) -> Network:
        """Return this network with its inputs and targets replaced by `data`'s columns, by name:
        a CSV file's path (as `--data`), or a mapping of columns."""
        if not isinstance(data, Mapping):
            if not isinstance(data, (str, bytes, os.PathLike)):
                raise ValueError(
                    f"data is a CSV file's path or a mapping of columns by name; got {data!r}"
                )
            return self._with_csv(read(data, "CSV file"), shown(data))
        columns = {str(k): _column(k, v) for k, v in data.items()}
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
        return self._with_settings_said(settings_of(settings))

    def variant(self, student: str) -> Network:
        """Return this network with each param's starting value drawn for `student` (an ID): the
        numbers of `bptrace run --variant`, the same for the same ID."""
        from bptrace.engine.variants import check_id

        if not isinstance(student, str):
            raise ValueError(f"a variant is a student's ID, a str; got {student!r}")
        if problem := check_id(student):  # as `bptrace run --variant` checks it
            raise ValueError(f"{student!r}: {problem}")
        return self._changed(_variant=student)

    def with_params(self, params: Mapping[str, float]) -> Network:
        """Return this network starting from `params` (by name; the others as they were): e.g.
        a run's `params`, to go on training, or to try them on other data."""
        from bptrace.language.diagnostics import did_you_mean

        if not isinstance(params, Mapping):
            raise ValueError(f"params is a mapping of param names to numbers; got {params!r}")
        given = {}
        for name, value in params.items():
            if name not in self._graph.params:
                hint = did_you_mean(str(name), self._graph.params) or (
                    f"its params are {', '.join(self._graph.params) or 'none'}"
                )
                raise ValueError(f"{name!r} is not a param of {self.name}; {hint}")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name} must be a number; got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number; got {value!r}")
            given[name] = float(value)
        return self._changed(_params={**(self._params or {}), **given})

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
        at_least_1(steps=steps, max_paths=max_paths)
        yes_or_no(shuffle=shuffle)
        if batch_size is not None:
            at_least_1(batch_size=batch_size)
        a_rate(lr)
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
        records: list[StepRecord] = []
        try:
            records.extend(run)
        except NumericFault as fault:
            fault.trace = Trace(run.begin, tuple(records), run.ended())
            raise
        return Trace(run.begin, tuple(records), run.ended())

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

    def _with_settings_said(self, given: tuple) -> Network:
        """Return `_with_settings(given)`, an error in a setting raised as ValueError."""
        from bptrace.errors import BptraceError

        try:
            return self._with_settings(given)
        except BptraceError as error:
            from bptrace.api.comparing import said

            hint = getattr(error, "hint", None)
            shown = ", ".join(map(said, given))
            raise ValueError(f"{shown}: {error}" + (f" ({hint})" if hint else "")) from None

    def _with_settings(self, given: tuple) -> Network:
        """Return this network with the `set` statements `given` in place of its own of the same
        names (a setting's error raised as the engine raises it)."""
        from bptrace.language.syntax import Setting

        names = {s.name for s in given}
        kept = tuple(
            s for s in self._statements if not (isinstance(s, Setting) and s.name in names)
        )
        statements = (*kept, *given)
        drawn = _graph(statements, self._seed, self._layers)
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
        if net._params is not None:
            graph = _started(graph, net._params)
        net._graph = graph
        return net

    def _named(self) -> Named:
        return Named(self.name, self.source)


def _column(name: object, values: object) -> tuple[float, ...]:
    """Return a column of `with_data`'s mapping as floats, or raise ValueError saying why not."""
    from collections.abc import Iterable

    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ValueError(f"data[{name!r}] must be a list of numbers; got {values!r}")
    values = tuple(values)
    for value in values:
        if not a_number(value):
            raise ValueError(f"data[{name!r}] must be a list of numbers; it holds {value!r}")
        if not math.isfinite(value):  # as a CSV file's column: a sample cannot be trained on
            raise ValueError(f"data[{name!r}] holds {value!r}, which is not a finite number")
    return tuple(map(float, values))


def _started(graph: Any, params: Mapping[str, float]) -> Any:
    """Return `graph` with the params `params` names starting from their values there."""
    from dataclasses import replace

    leaves = tuple(
        replace(leaf, value=params[leaf.name]) if leaf.name in params else leaf
        for leaf in graph.leaves
    )
    return replace(graph, leaves=leaves)


def _built(text: str, seed: int | None):
    """Return the statements and layers of `text`, and its graph, params drawn with `seed`."""
    from bptrace.language.parser import parse_layered

    with _no_cycle_collector():
        statements, layers = parse_layered(text)
    return statements, layers, _graph(statements, seed, layers)


def _graph(statements: Any, seed: int | None, layers: Any) -> Any:
    """Return the graph of `statements`, params drawn with `seed`."""
    from bptrace.engine.graph import build_graph

    with _no_cycle_collector():
        return build_graph(statements, seed, layers)


@contextmanager
def _no_cycle_collector() -> Iterator[None]:
    """Parse and build with the cycle collector off: they allocate millions of small acyclic objects
    that all survive, which it would walk again and again."""
    import gc

    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
