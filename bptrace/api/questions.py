"""What can be asked of a network: its gradients checked (`check`), a param nudged (`nudge`), its
graph drawn (`draw`), the handout's questions answered (`explain`), its tables as a document
(`handout`), its trace under other settings (`compare`) or with common mistakes (`mistakes`).

Network (network.py) has these methods from Questions; each goes through the engine as the
command of the same name does.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bptrace.api.arguments import a_number, a_rate, at_least_1, names, settings_of, yes_or_no

if TYPE_CHECKING:
    from bptrace.api.answers import CheckedStep, Explanation
    from bptrace.api.network import Network
    from bptrace.api.problems import Named
    from bptrace.api.records import Run
    from bptrace.engine.nudge import NudgeReport


class Questions:
    """The questions a Network answers; the Network supplies what is declared here."""

    name: str
    source: str
    _graph: Any  # the engine's Graph
    _seed: int | None
    _data: tuple[dict[str, tuple[float, ...]], str] | None
    _variant: str | None

    if TYPE_CHECKING:  # the Network's own (network.py)

        def _named(self) -> Named: ...
        def _with_settings_said(self, given: tuple[Any, ...]) -> Network: ...
        def steps(self, steps: int = 1, lr: float | None = None) -> Run: ...

    def handout(
        self,
        steps: int = 1,
        form: str = "markdown",
        blank: Sequence[str] | str = (),
        lr: float | None = None,
        precision: int = 4,
        *,
        key: bool = False,
    ) -> str:
        """Return the tables of the first `steps` steps as `bptrace run --format` writes them:
        "markdown", "latex", or "csv" (a worksheet's cells). The tables `blank` names ("forward",
        "partials", "chains", "updates") are left blank for students, and a worksheet records how
        it was made, so `bptrace.grade(…, network=…)` can make its key again. With `key`, the
        answer key instead, as `--key` writes it: the same document with every blank filled in.
        Every row is shown."""
        from bptrace.api.handouts import FORMS, made, title, writer
        from bptrace.views import handout
        from bptrace.views.tables import TABLES

        if form not in FORMS:
            raise ValueError(f"form is markdown, latex or csv; got {form!r}")
        blanks = names("blank", blank)
        for name in blanks:
            if name not in TABLES:
                raise ValueError(f"no table {name!r}; the tables are {', '.join(TABLES)}")
        at_least_1(steps=steps, precision=precision)
        sheet = handout.Sheet(TABLES, frozenset(blanks), precision)
        data = None if self._data is None else self._data[1]
        options = {"lr": lr, "seed": self._seed, "variant": self._variant, "data": data}
        meta = made(self.name, sheet, steps, 8, options)
        records = self.steps(steps, lr)._engine
        heading = title(self.name, bool(blanks), self._variant, key=key and bool(blanks))
        if key:
            sheet = handout.Sheet(TABLES, frozenset(), precision)
        return "".join(writer(form, meta)(self._graph, records, sheet, heading))

    def compare(
        self, settings: Mapping[str, float | str], steps: int = 1, lr: float | None = None
    ) -> dict[str, Any]:
        """Return which numbers of the first `steps` steps change with `settings` in place of the
        file's, and why: the document `bptrace compare --vs NAME=VALUE … --json` writes."""
        from bptrace.api import comparing

        at_least_1(steps=steps)
        a_rate(lr)
        if lr is not None and "lr" in settings:
            raise ValueError("lr and settings['lr'] both set lr: lr sets it in both traces")
        given = settings_of(settings)
        other = self._with_settings_said(given)
        with self._named():
            c = comparing.compared(self, other, given, steps, lr, None)
        if c.fault is not None:  # as `run` would stop
            raise c.fault
        return comparing.document(c, self.name)

    def mistakes(
        self, steps: int = 1, lr: float | None = None, mistake: str | None = None
    ) -> dict[str, Any]:
        """Return where each common mistake (or the one `mistake` names) first departs from the
        right trace: the document `bptrace mistakes --json` writes (`--show ID` with `mistake`)."""
        from bptrace.api.comparing import collected, mistaken, mistakes_document, records
        from bptrace.engine.mistakes import MISTAKES

        at_least_1(steps=steps)
        a_rate(lr)
        if mistake is not None and (not isinstance(mistake, str) or mistake not in MISTAKES):
            raise ValueError(f"no mistake {mistake!r}; the mistakes are {', '.join(MISTAKES)}")
        chosen = [MISTAKES[mistake]] if mistake else list(MISTAKES.values())
        with self._named():
            right, fault = collected(records(self._graph, steps, lr))
            if fault is not None:  # as `run` would stop
                raise fault
            found = mistaken(self._graph, right, steps, lr, chosen)
        return mistakes_document(self._graph, self.name, steps, mistake is not None, found)

    def check(self, steps: int = 1, lr: float | None = None) -> list[CheckedStep]:
        """Compare every gradient and local partial with central finite differences, as `bptrace
        check` does, at each of the first `steps` steps (training between them); return a
        CheckedStep per step."""
        from bptrace.api.answers import CheckedStep

        return [CheckedStep.of_check(checked) for checked in self._checks(steps, lr)]

    def nudge(
        self, param: str, by: float = 1e-3, step: int = 1, lr: float | None = None
    ) -> NudgeReport:
        """Nudge `param` by `by` (and by 10×, 1/10 and 1/100 of it) as it is at `step`, as `bptrace
        nudge` does: the loss change the gradient predicts beside the actual one."""
        from bptrace.engine.nudge import nudge

        self._knows(param)
        at_least_1(step=step)
        a_rate(lr)
        if not (a_number(by) and math.isfinite(by) and by):
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
            at_least_1(step=step)
        a_rate(lr)
        yes_or_no(ascii_math=ascii_math)
        record = None if step is None else self._at(step, lr)
        labels = Labels(BP if ascii_math else MATH, record, 4)
        if form == "dot":
            return dot(self._graph, labels, Path(self.name).stem)
        return mermaid(self._graph, labels)

    def explain(self, params: Sequence[str] = (), max_paths: int = 8) -> Explanation:
        """Answer the handout's five questions, as `bptrace explain` does; `params` picks whose
        chains to list (default: every param)."""
        from bptrace.api.answers import Chain, Explanation, Partial
        from bptrace.engine.explain import conclusion
        from bptrace.language.printer import show

        params = names("params", params)
        for param in params:
            self._knows(param)
        answers = self._answers(params, max_paths)
        return Explanation(
            answers.loss,
            answers.params,
            tuple(Partial(e.of, e.wrt, show(e.formula)) for e in answers.partials),
            tuple(Chain(c.param, c.paths, c.total, c.shortest, c.longest) for c in answers.chains),
            conclusion(answers, str),
        )

    def _answers(self, params: tuple[str, ...], max_paths: int) -> Any:
        """Return the engine's answers (what `explain` returns, for bptrace's views)."""
        from bptrace.engine.explain import explain

        at_least_1(max_paths=max_paths)
        return explain(self._graph, params, max_paths)

    def _checks(self, steps: int, lr: float | None) -> Iterator[Any]:
        """Yield the engine's checks of each step (what `check` returns, for bptrace's views)."""
        from bptrace.engine.check import check

        at_least_1(steps=steps)
        a_rate(lr)
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
        if not isinstance(param, str) or param not in self._graph.params:
            raise ValueError(
                f"{param!r} is not a param of {self.name}; "
                f"its params are {', '.join(self._graph.params) or 'none'}"
            )
