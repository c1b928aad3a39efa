"""`compare` and `mistakes`: a network's trace beside another, under other settings or with a
student's mistake, and which numbers change and why. No typer here (app.py declares the options).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

from bptrace.cli import process
from bptrace.cli.commands import UsageProblem, load_network
from bptrace.errors import BptraceError, NumericFault
from bptrace.language.diagnostics import escaped


class CompareOptions(NamedTuple):
    """What `compare` was asked: the settings of the second trace, and how to show them."""

    vs: tuple[str, ...]  # NAME=VALUE, each a `set` of the second trace
    steps: int = 1
    lr: float | None = None
    precision: int = 4
    seed: int | None = None
    ascii_math: bool = False
    data: Path | None = None
    all_rows: bool = False
    json: bool = False


MAX_ROWS = 12  # changed numbers shown per table and step, without --all


def settings_given(vs: tuple[str, ...], option: str = "--vs"):
    """Return each NAME=VALUE of `option` as a `set` statement (a UsageProblem if it is not one)."""
    from bptrace.language.parser import parse
    from bptrace.language.syntax import Setting

    found: dict[str, Setting] = {}
    for given in vs:
        name, equals, value = given.partition("=")
        if not equals or not name.strip() or not value.strip():
            raise UsageProblem(
                f"{option} takes SETTING=VALUE, as in {option} half=false; got '{given}'"
            )
        try:
            statements = parse(f"set {name.strip()} = {value.strip()}")
        except BptraceError as error:
            raise UsageProblem(f"{option} {given}: {error.message}") from None
        if len(statements) != 1 or not isinstance(statements[0], Setting):
            raise UsageProblem(
                f"{option} takes SETTING=VALUE, as in {option} half=false; got '{given}'"
            )
        if statements[0].name in found:
            raise UsageProblem(
                f"{option} sets '{statements[0].name}' twice; give each setting once"
            )
        found[statements[0].name] = statements[0]
    return tuple(found.values())


def _other(source: str, graph, how: CompareOptions, option: str = "--vs"):
    """Return the network of `source` built again with the --vs settings in place of its own
    (`option` names them in a message)."""
    from bptrace.engine.graph import build_graph
    from bptrace.language.parser import parse_layered
    from bptrace.language.syntax import Setting

    given = settings_given(how.vs, option)
    names = {s.name for s in given}
    statements, layers = parse_layered(source)
    kept = tuple(s for s in statements if not (isinstance(s, Setting) and s.name in names))
    try:
        other = build_graph((*kept, *given), how.seed, layers)
    except BptraceError as error:
        hint = getattr(error, "hint", None)
        said = f"{option} {' '.join(how.vs)}: {error.message}" + (f" ({hint})" if hint else "")
        raise UsageProblem(said) from None
    if how.data is not None:
        from bptrace.cli.commands import _with_data

        other = _with_data(other, how.data)
    return other


def records(graph, steps: int, lr: float | None, mistake=None):
    """Return the trace of `graph` over `steps`, in mini-batches where the file sets them."""
    from bptrace.engine.tracer import Batches, trace

    size = int(graph.settings["batch"])
    batches = None
    if graph.samples is not None and 0 < size < graph.samples:
        batches = Batches(size, False, int(graph.settings["seed"]))
    if mistake is None:
        return trace(graph, steps, lr, batches=batches)
    return trace(graph, steps, lr, batches=batches, mistake=mistake)


def collected(records) -> tuple[list, NumericFault | None]:
    """Return a trace's records up to a numeric fault, and the fault (None when it ran through)."""
    got = []
    try:
        for record in records:
            got.append(record)
    except NumericFault as fault:
        return got, fault
    return got, None


def compare(source: str, filename: str, how: CompareOptions) -> None:
    """Print which numbers of the trace change under the --vs settings, and why."""
    from bptrace.engine.compare import compare as compared
    from bptrace.views import differences
    from bptrace.views.terminal.compare import render_comparison
    from bptrace.views.terminal.steps import View, output

    graph = load_network(source, filename, how.seed, how.data)
    other = _other(source, graph, how)
    right, fault = collected(records(graph, how.steps, how.lr))
    if fault is not None:  # as `run` would stop
        raise fault
    theirs, fails = collected(records(other, how.steps, how.lr))
    comparison = compared(graph, right, other, theirs)
    given = ", ".join(s.replace("=", " = ", 1) for s in how.vs)
    if how.json:
        doc = {
            "schema": "bptrace.compare",
            "network": escaped(filename),
            "a": "as written",
            "b": {s.partition("=")[0].strip(): s.partition("=")[2].strip() for s in how.vs},
            **differences.to_json(comparison, graph.loss),
            "fails": _failure(fails),
        }
        process.write_utf8(json.dumps(doc, ensure_ascii=False, allow_nan=False) + "\n")
        return
    out = output(how.ascii_math)
    view = View(precision=how.precision, notation=process.notation(out, how.ascii_math, graph))
    w = _writer(view)
    lines = [
        f"A: as written.  B: with {given}.",
        *_effects(how.vs),
        _counted(comparison, graph.loss, w),
    ]
    if fails is not None:
        lines.append(f"With {given}, training stops at {fails.message}")
    acts = f"{given} acts here"
    groups = differences.groups(comparison, graph.loss, w, acts, None if how.all_rows else MAX_ROWS)
    title = f"Comparing {escaped(filename)} as written with {given}"
    out.print(render_comparison(title, lines, groups, view, ("A", "B"), comparison.steps))


def _effects(vs: tuple[str, ...]) -> list[str]:
    """Return what each convention among the --vs settings changes, in a line each."""
    from bptrace.engine.conventions import CONVENTIONS

    said = []
    for given in vs:
        name, _, value = (part.strip() for part in given.partition("="))
        if name in CONVENTIONS:
            said.append(f"{name} = {value}: {CONVENTIONS[name].effect}.")
    return said


def _failure(fault: NumericFault | None) -> dict | None:
    """Return where a trace stopped at a numeric fault, as JSON (None when it ran through)."""
    return None if fault is None else {"step": fault.step, "message": fault.message}


def _writer(view):
    from bptrace.views.writers import Writer

    return Writer(view.notation, view.precision)


def _counted(comparison, loss: str, w) -> str:
    """Return how many numbers differ and where the first does."""
    from bptrace.views.differences import TITLES, label

    changed = sum(not d.formula_only for d in comparison.differences)
    steps = f"{comparison.steps} step{'s' if comparison.steps > 1 else ''}"
    first = comparison.first
    if first is None:
        formulas = len(comparison.differences)
        also = f" ({formulas} formula{'s' if formulas > 1 else ''} differ)" if formulas else ""
        return f"No number differs over {steps}{also}."
    step, table = first.cell.key[:2]
    where = f"step {step}" if step <= comparison.steps else "after the last update"
    return (
        f"{changed:,} of {comparison.compared:,} numbers differ over {steps}; the first at "
        f"{where}, {TITLES[table].lower()}: {label(first.cell.key, loss, w)}."
    )


class MistakesOptions(NamedTuple):
    """What `mistakes` was asked: steps, and one mistake to show in full (or every one's first)."""

    steps: int = 1
    lr: float | None = None
    precision: int = 4
    seed: int | None = None
    ascii_math: bool = False
    data: Path | None = None
    show: str | None = None  # a mistake's id: its every changed number, as compare shows them
    all_rows: bool = False
    json: bool = False


def mistakes(source: str, filename: str, how: MistakesOptions) -> None:
    """Print where each common mistake first departs from the right trace (or all of one)."""
    from bptrace.engine.compare import compare as compared
    from bptrace.engine.mistakes import MISTAKES, not_applicable
    from bptrace.language.diagnostics import did_you_mean

    graph = load_network(source, filename, how.seed, how.data)
    if how.show is not None and how.show not in MISTAKES:
        hint = did_you_mean(how.show, list(MISTAKES)) or f"the mistakes are {', '.join(MISTAKES)}"
        raise UsageProblem(f"--show: no mistake '{how.show}'; {hint}")
    chosen = [MISTAKES[how.show]] if how.show else list(MISTAKES.values())
    found = []
    right, fault = collected(records(graph, how.steps, how.lr))
    if fault is not None:  # as `run` would stop
        raise fault
    for mistake in chosen:
        reason = not_applicable(graph, mistake)
        comparison = fails = None
        if reason is None:
            wrong, fails = collected(records(graph, how.steps, how.lr, mistake))
            comparison = compared(graph, right, graph, wrong)
        found.append((mistake, reason, comparison, fails))
    if how.json:
        _mistakes_json(graph, filename, how, found)
    else:
        _mistakes_text(graph, filename, how, found)


def _mistakes_json(graph, filename: str, how: MistakesOptions, found) -> None:
    from bptrace.views import differences
    from bptrace.views.jsonl import number

    listed = []
    for mistake, reason, comparison, fails in found:
        entry = {
            "id": mistake.id,
            "title": mistake.title,
            "wrong": mistake.wrong,
            "right": mistake.right,
            "applicable": reason is None,
            "reason": reason,
        }
        if comparison is not None:
            first = comparison.first
            entry["first"] = None if first is None else differences.to_json_key(first.cell.key)
            entry["right_value"] = None if first is None else number(first.a.value)
            entry["mistaken_value"] = None if first is None else number(first.b.value)
            entry["changed"] = sum(not d.formula_only for d in comparison.differences)
            entry["compared"] = comparison.compared
            entry["fails"] = _failure(fails)
            if how.show:
                entry["differences"] = differences.to_json(comparison, graph.loss)["differences"]
        listed.append(entry)
    doc = {
        "schema": "bptrace.mistakes",
        "network": escaped(filename),
        "steps": how.steps,
        "loss": graph.loss,
        "mistakes": listed,
    }
    process.write_utf8(json.dumps(doc, ensure_ascii=False, allow_nan=False) + "\n")


def _mistakes_text(graph, filename: str, how: MistakesOptions, found) -> None:
    from bptrace.views import differences
    from bptrace.views.terminal.compare import render_comparison, render_mistakes
    from bptrace.views.terminal.steps import View, output

    out = output(how.ascii_math)
    view = View(precision=how.precision, notation=process.notation(out, how.ascii_math, graph))
    w = _writer(view)
    steps = f"{how.steps} step{'s' if how.steps > 1 else ''}"
    if how.show:
        mistake, reason, comparison, fails = found[0]
        title = f"{mistake.title} ({mistake.id}) on {escaped(filename)}"
        if comparison is None:
            lines = [f"Not made on this network: {reason}."]
            out.print(render_comparison(title, lines, (), view, ("right", "mistake"), how.steps))
            return
        lines = [
            f"Right: {mistake.right}.  The mistake: {mistake.wrong}.",
            _counted(comparison, graph.loss, w),
        ]
        if fails is not None:
            lines.append(f"With this mistake, training stops at {fails.message}")
        rows = None if how.all_rows else MAX_ROWS
        groups = differences.groups(comparison, graph.loss, w, mistake.title, rows)
        out.print(render_comparison(title, lines, groups, view, ("right", "mistake"), how.steps))
        return
    summary = []
    for mistake, reason, comparison, fails in found:
        first = None if comparison is None else comparison.first
        if comparison is None:
            summary.append((mistake, f"not made here: {reason}", "", "", ""))
        elif first is None:
            summary.append((mistake, f"changes no number in {steps}", "", "", ""))
        else:
            step, table = first.cell.key[:2]
            when = f"step {step}" if step <= comparison.steps else f"after step {comparison.steps}"
            where = f"{when}, {differences.TITLES[table].lower()}: "
            where += differences.label(first.cell.key, graph.loss, w)
            changed = sum(not d.formula_only for d in comparison.differences)
            if fails is not None:
                where += f"; then training stops at step {fails.step}"
            right_value, wrong_value = w.number(first.a.value), w.number(first.b.value)
            summary.append((mistake, where, right_value, wrong_value, f"{changed:,}"))
    title = f"Common mistakes on {escaped(filename)}, {steps}"
    out.print(render_mistakes(title, summary, view))
