"""`compare` and `mistakes`: a network's trace beside another, under other settings or with a
student's mistake, and which numbers change and why. No typer here (app.py declares the options).
"""

from __future__ import annotations

import json
import re
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


def settings_given(vs: tuple[str, ...]):
    """Return each --vs NAME=VALUE as a `set` statement (a UsageProblem if it is not one)."""
    from bptrace.language.parser import parse
    from bptrace.language.syntax import Setting

    found: dict[str, Setting] = {}
    for given in vs:
        name, equals, value = given.partition("=")
        if not equals or not name.strip() or not value.strip():
            raise UsageProblem(f"--vs takes SETTING=VALUE, as in --vs half=false; got '{given}'")
        try:
            statements = parse(f"set {name.strip()} = {value.strip()}")
        except BptraceError as error:
            raise UsageProblem(f"--vs {given}: {error.message}") from None
        if len(statements) != 1 or not isinstance(statements[0], Setting):
            raise UsageProblem(f"--vs takes SETTING=VALUE, as in --vs half=false; got '{given}'")
        if statements[0].name in found:
            raise UsageProblem(f"--vs sets '{statements[0].name}' twice; give each setting once")
        found[statements[0].name] = statements[0]
    return tuple(found.values())


def said(setting) -> str:
    """Return a --vs setting as the second trace's name for it: `half = false`, from what was
    parsed (a comment or an escape sequence after the value is never echoed)."""
    return f"{setting.name} = {show_value(setting)}"


def flag(setting) -> str:
    """Return a --vs setting as the option that gave it: `--vs half=false`."""
    return f"--vs {setting.name}={show_value(setting)}"


def _conflicts(given, how: CompareOptions) -> None:
    """Raise UsageProblem where an option would set both traces' value of a --vs setting."""
    for s in given:
        option = {"lr": how.lr, "seed": how.seed}.get(s.name)
        if option is not None:
            raise UsageProblem(
                f"{flag(s)} and --{s.name} {option:g} both set {s.name}: --{s.name} sets it "
                f"in both traces, so B would not have {said(s)}; give one of them"
            )


def _other(source: str, graph, given, how: CompareOptions, filename: str):
    """Return the network of `source` built again with the --vs settings in place of its own; warn
    on stderr of what the second network warns of and the first does not, and of a setting that
    is the first's already."""
    from bptrace.engine.graph import build_graph
    from bptrace.language.parser import parse_layered
    from bptrace.language.syntax import Setting

    names = {s.name for s in given}
    statements, layers = parse_layered(source)
    kept = tuple(s for s in statements if not (isinstance(s, Setting) and s.name in names))
    try:
        other = build_graph((*kept, *given), how.seed, layers)
    except BptraceError as error:
        hint = getattr(error, "hint", None)
        if hint is not None and _about(error, given):  # a --vs is no line of the file
            hint = re.sub(r"`set (\w+) = ([^`]+)`", r"--vs \1=\2", hint)
            hint = hint.replace(", or remove this line", "")
        shown = " ".join(flag(s) for s in given)
        said_all = f"{shown}: {error.message}" + (f" ({hint})" if hint else "")
        raise UsageProblem(said_all) from None
    if how.data is not None:
        from bptrace.cli.commands import _with_data

        other = _with_data(other, how.data)
    err = process.stderr()
    ours = {w.message for w in graph.warnings}
    for w in other.warnings:
        if w.message not in ours:
            with_ = ", ".join(said(s) for s in given)
            err.print(f"bptrace: warning: with {with_}: {escaped(w.message)}", markup=False)
    written = {s.name for s in statements if isinstance(s, Setting)}
    for s in given:
        if graph.settings[s.name] == other.settings[s.name]:
            why = (
                f"{escaped(filename)} sets {s.name} to it already"
                if s.name in written
                else f"{said(s)} is the default"
            )
            err.print(f"bptrace: warning: {flag(s)} changes nothing: {why}", markup=False)
    return other


def show_value(setting) -> str:
    """Return a --vs setting's value as parsed."""
    from bptrace.language.printer import show

    return show(setting.value)


def _about(error: BptraceError, given) -> bool:
    """Tell whether `error` points into one of the --vs settings (not into the file)."""
    from bptrace.language.syntax import walk

    span = getattr(error, "span", None)
    return any(span is s.span or any(span is e.span for e in walk(s.value)) for s in given)


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

    settings = settings_given(how.vs)
    _conflicts(settings, how)
    graph = load_network(source, filename, how.seed, how.data)
    other = _other(source, graph, settings, how, filename)
    right, fault = collected(records(graph, how.steps, how.lr))
    if fault is not None:  # as `run` would stop
        raise fault
    theirs, fails = collected(records(other, how.steps, how.lr))
    comparison = compared(graph, right, other, theirs)
    given = ", ".join(said(s) for s in settings)
    if how.json:
        doc = {
            "schema": "bptrace.compare",
            "network": escaped(filename),
            "a": "as written",
            "b": {s.name: show_value(s) for s in settings},
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
        *map(w.prose, _effects(settings)),
        _counted(comparison, graph.loss, w),
    ]
    if fails is not None:
        lines.append(f"With {given}, training stops {_stops(fails)}: {fails.where}: {fails.detail}")
    acts = f"{given} acts here"
    groups = differences.groups(comparison, graph.loss, w, acts, None if how.all_rows else MAX_ROWS)
    title = f"Comparing {escaped(filename)} as written with {given}"
    out.print(render_comparison(title, lines, groups, view, ("A", "B"), comparison.steps))


def _effects(given) -> list[str]:
    """Return what each convention among the --vs settings changes, in a line each."""
    from bptrace.engine.conventions import CONVENTIONS

    return [
        f"{said(s)}: {CONVENTIONS[s.name].effect_of(show_value(s))}."
        for s in given
        if s.name in CONVENTIONS
    ]


def _stops(fault: NumericFault) -> str:
    """Return when a trace stopped at a numeric fault: at step 3, or after step 2 (the final
    loss)."""
    return (
        f"after step {fault.step - 1}, at the final loss"
        if fault.final
        else f"at step {fault.step}"
    )


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
        title = f"{w.prose(mistake.title)} ({mistake.id}) on {escaped(filename)}"
        if comparison is None:
            lines = [f"Not made on this network: {reason}."]
            out.print(render_comparison(title, lines, (), view, ("right", "mistake"), how.steps))
            return
        lines = [
            w.prose(f"Right: {mistake.right}.  The mistake: {mistake.wrong}."),
            _counted(comparison, graph.loss, w),
        ]
        if fails is not None:
            lines.append(
                f"With this mistake, training stops {_stops(fails)}: {fails.where}: {fails.detail}"
            )
        rows = None if how.all_rows else MAX_ROWS
        groups = differences.groups(comparison, graph.loss, w, w.prose(mistake.title), rows)
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
                where += f"; then training stops {_stops(fails)}"
            right_value, wrong_value = w.number(first.a.value), w.number(first.b.value)
            summary.append((mistake, where, right_value, wrong_value, f"{changed:,}"))
    title = f"Common mistakes on {escaped(filename)}, {steps}"
    out.print(render_mistakes(title, summary, view))
