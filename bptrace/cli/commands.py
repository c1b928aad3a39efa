"""What each command but `run` does between reading its file and exiting: load, ask, print.

The command modules (tracing.py, inspecting.py, teaching.py, outputs.py) declare the options and
exits.py maps errors to exit codes; process.py and files.py touch the outside world; these
functions load the network through bptrace.api, ask it, and hand its answers to the views. No
typer here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from bptrace.cli import builtin, files, process
from bptrace.errors import EXIT_USAGE, BptraceError
from bptrace.language.diagnostics import escaped

if TYPE_CHECKING:
    from bptrace.api import Network


class UsageProblem(BptraceError):
    """A command-line argument that does not fit the network, such as a param it does not have."""

    exit_code = EXIT_USAGE


MAX_WARNINGS = 10  # shown in full on stderr; the rest are counted


def load_network(
    source: str,
    filename: str,
    seed: int | None = None,
    data: Path | None = None,
    shuffles: bool = False,
) -> Network:
    """Return the network of `source` (bptrace.api's), its warnings printed to stderr.

    Params written uniform(…) or normal(…) are drawn with `seed`; with `data`, the inputs and
    targets are that CSV file's samples. A `seed` that changes nothing is warned of.
    """
    from bptrace.api.network import Network

    net = Network._drawn_with(source, filename, seed)  # parse(…).with_seed(seed), built once
    if data is not None:  # a bare name may be an example's samples (builtin.samples)
        net = net._with_csv(builtin.samples(data), files.shown(data))
    graph = net._graph
    process.settled(graph)
    err = process.stderr()
    for w in graph.warnings[:MAX_WARNINGS]:
        process.diagnose(err, filename, source, w, "warning")
    if len(graph.warnings) > MAX_WARNINGS:  # a generated network may have hundreds
        more = len(graph.warnings) - MAX_WARNINGS
        err.print(
            f"{escaped(filename)}: warning: and {more:,} more warning{'s' if more > 1 else ''} "
            "(the begin record of --json lists them all)",
            markup=False,
        )
    _unused_seed(graph, seed, filename, shuffles)
    return net


def _unused_seed(graph, seed: int | None, filename: str, shuffles: bool) -> None:
    """Warn on stderr of a --seed that changes nothing: no param drawn, and no samples shuffled."""
    if seed is not None and graph.seed is None and not shuffles:
        also = ", and no samples are shuffled (--shuffle)" if graph.samples else ""
        process.stderr().print(
            f"bptrace: warning: --seed {seed} changes nothing: {escaped(filename)} draws no param "
            f"at random (uniform(...) or normal(...)){also}",
            markup=False,
        )


def check_params(graph, params, filename: str) -> None:
    """Raise UsageProblem for the first of `params` that is not a param of `graph`."""
    from bptrace.language.diagnostics import did_you_mean

    kinds = {leaf.name: leaf.kind for leaf in graph.leaves}
    for name in params:
        if name not in graph.params and kinds.get(name, "param") != "param":
            raise UsageProblem(
                f"'{name}' is {_a(kinds[name])} of {filename}, not a param; "
                f"its params are {', '.join(graph.params) or 'none'}"
            )
        if name not in graph.params:
            elements = [p for p in graph.params if p.startswith(f"{name}[")]  # W1: W1[1,1], …
            hint = (
                (
                    f"'{name}' is a layer: name one of its elements, {elements[0]} to "
                    f"{elements[-1]} (quote it for the shell)"
                    if elements
                    else None
                )
                or did_you_mean(name, graph.params)
                or f"its params are {', '.join(graph.params) or 'none'}"
            )
            raise UsageProblem(f"'{name}' is not a param of {filename}; {hint}")


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


class CheckOptions(NamedTuple):
    """What `bptrace check` was asked."""

    steps: int
    lr: float | None
    precision: int
    seed: int | None = None
    ascii_math: bool = False
    data: Path | None = None  # the samples, from a CSV file: every step checks all of them


def check(source: str, filename: str, how: CheckOptions) -> int:
    """Print the check of each step; report each mismatch on stderr; return how many there were."""
    from bptrace.views.terminal.steps import View, output, render_check

    net = load_network(source, filename, how.seed, how.data)
    graph = net._graph
    out = output(how.ascii_math)
    notation = process.notation(out, how.ascii_math, graph)
    view = View(precision=how.precision, notation=notation)
    err = process.stderr()
    failures = unstable = 0
    nodes = {node.name: node for node in graph.nodes}
    with process.Interrupts() as interrupts:
        for checked in net._checks(how.steps, how.lr):
            laid = process.laid_out(out, render_check(graph, checked, view))
            with interrupts.writing():  # a step's table and its errors together
                process.write_laid_out(out, laid)
                compared = (*checked.grads, *checked.partials)
                unstable += sum(c.result.status == "unstable" for c in compared)
                failures += _mismatches(err, checked, nodes, filename, source)
    if not failures:
        out.print(_agreement(unstable, notation), markup=False, highlight=False)
    return failures


def _mismatches(err, checked, nodes: dict, filename: str, source: str) -> int:
    """Report on `err` each mismatch of a checked step; return how many there were."""
    from bptrace.language.printer import show

    failures = 0
    blamed = set()
    for g in checked.grads:
        if g.result.status != "mismatch":
            continue
        failures += 1
        message = (
            f"step {checked.step}: dL/d{g.param} is {g.result.analytic:.9g} by backprop "
            f"but {g.result.numeric:.9g} by finite differences"
        )
        if g.culprit is None:
            err.print(f"bptrace: error: {message}", markup=False)
            continue
        edge, local = g.culprit.edge, g.culprit.result
        blamed.add((edge.of, edge.wrt))
        message += (
            f"; the first wrong local derivative is d{edge.of}/d{edge.wrt} = "
            f"{show(edge.formula)}, {local.analytic:.9g} instead of {local.numeric:.9g}"
        )
        process.diagnose(err, filename, source, process.Said(nodes[edge.of].expr.span, message))
    # a wrong local derivative fails the check even when no gradient shows it
    for p in checked.partials:
        edge, local = p.edge, p.result
        if local.status == "mismatch" and (edge.of, edge.wrt) not in blamed:
            failures += 1
            message = (
                f"step {checked.step}: the local derivative d{edge.of}/d{edge.wrt} = "
                f"{show(edge.formula)} is {local.analytic:.9g}, but {local.numeric:.9g} "
                "by finite differences"
            )
            said = process.Said(nodes[edge.of].expr.span, message)
            process.diagnose(err, filename, source, said)
    return failures


def _agreement(unstable: int, notation) -> str:
    """Return the closing line of a check that found no mismatch, with the tolerances it used."""
    from bptrace.engine.check import ATOL, EPS, RTOL

    said = "All gradients agree with finite differences"
    if unstable:
        said = (
            f"No gradient disagrees with finite differences, but {unstable} "
            f"comparison{'s' if unstable > 1 else ''} could not be made: within the step h lies "
            "a kink, or a value where the function is not defined, and a finite difference "
            "cannot tell"
        )
    times, minus, at_most = notation.times, notation.minus, notation.at_most
    return (
        f"{said} (step h = {_power(EPS)}{times}max(1, |x|), |analytic {minus} numeric| "
        f"{at_most} {_power(ATOL)} + {_power(RTOL)}{times}|numeric|)."
    )


def _power(tolerance: float) -> str:
    """Write a tolerance as the docs do: 1e-6, not 1e-06 or 0.001."""
    mantissa, exponent = f"{tolerance:e}".split("e")
    return f"{float(mantissa):g}e{int(exponent)}"


class ExplainOptions(NamedTuple):
    """What `bptrace explain` was asked."""

    params: tuple[str, ...]  # none: every param
    latex: bool = False
    max_paths: int = 8
    ascii_math: bool = False
    all_rows: bool = False


def explain(source: str, filename: str, how: ExplainOptions) -> None:
    """Answer the handout's questions about each param's gradient, as tables or as LaTeX."""
    net = load_network(source, filename)
    graph = net._graph
    check_params(graph, how.params, filename)
    answers = net._answers(how.params, how.max_paths)
    title = f"bptrace explain {escaped(filename)}"
    if how.latex:
        from bptrace.views.latex import explanation, spellings

        names = [leaf.name for leaf in graph.leaves] + [node.name for node in graph.nodes]
        layers = None
        if graph.layers:
            from bptrace.engine.explain_layers import explain_layers

            layers = explain_layers(graph, answers)
        process.write_utf8(explanation(answers, title, spellings(names), layers))
        return
    from bptrace.views.terminal.explain import render_explain
    from bptrace.views.terminal.steps import MAX_ROWS, View, output

    out = output(how.ascii_math)
    view = View(
        precision=4,
        notation=process.notation(out, how.ascii_math, graph),
        max_rows=None if how.all_rows else MAX_ROWS,
    )
    out.print(render_explain(graph, answers, view, f"Questions about {escaped(filename)}"))


class DrawOptions(NamedTuple):
    """What `bptrace graph` was asked."""

    form: str = "text"  # text, dot or mermaid
    step: int | None = None  # annotate the drawing with the values at this step
    lr: float | None = None
    precision: int = 4
    ascii_math: bool = False
    all_rows: bool = False
    seed: int | None = None


def draw(source: str, filename: str, how: DrawOptions) -> None:
    """Draw the computational graph, for the terminal, Graphviz or Mermaid."""
    from bptrace.views.drawing import Labels, dot, mermaid
    from bptrace.views.terminal.steps import MAX_ROWS, View, output

    net = load_network(source, filename, how.seed)
    graph = net._graph
    out = output(how.ascii_math)
    notation = process.notation(out, how.ascii_math, graph)
    record = None if how.step is None else net._at(how.step, how.lr)
    labels = Labels(notation, record, how.precision)
    title = Path(filename).stem
    if how.form == "dot":
        process.write_utf8(dot(graph, labels, title))
    elif how.form == "mermaid":
        process.write_utf8(mermaid(graph, labels))
    else:
        from bptrace.views.terminal.graph import render_graph

        when = f" at step {how.step}" if how.step else ""
        max_rows = None if how.all_rows else MAX_ROWS
        view = View(precision=how.precision, notation=notation, max_rows=max_rows)
        heading = f"Computational graph of {escaped(filename)}{when}"
        out.print(render_graph(graph, labels, view, heading))


class NudgeOptions(NamedTuple):
    """What `bptrace nudge` was asked."""

    param: str
    by: float = 1e-3  # the nudge Δ
    step: int = 1  # nudge the param as it is at this step
    lr: float | None = None
    precision: int = 4
    ascii_math: bool = False
    seed: int | None = None


def nudge(source: str, filename: str, how: NudgeOptions) -> None:
    """Print the loss change the gradient predicts for a nudge beside the actual one."""
    from bptrace.views.terminal.nudge import render_nudge
    from bptrace.views.terminal.steps import View, output

    net = load_network(source, filename, how.seed)
    graph = net._graph
    check_params(graph, (how.param,), filename)
    report = net.nudge(how.param, how.by, how.step, how.lr)
    out = output(how.ascii_math)
    view = View(precision=how.precision, notation=process.notation(out, how.ascii_math, graph))
    when = "its declared value" if how.step == 1 else f"step {how.step}"
    title = f"Nudging {how.param} in {escaped(filename)}, at {when}"
    out.print(render_nudge(report, graph.loss, view, title))
