"""`compare`: a network's trace beside its trace under other settings (--vs), and which numbers
change and why; and what `mistakes` (cli/mistakes.py) shares with it: the traces, their faults and
the count of differences. bptrace.api's comparing.py computes; this prints. No typer here
(teaching.py declares the options).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import NamedTuple

from bptrace.api import comparing
from bptrace.api.comparing import flag, said, short, show_value
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
                f"{option} takes SETTING=VALUE, as in {option} half=false; got '{short(given)}'"
            )
        try:
            statements = parse(f"set {name.strip()} = {value.strip()}")
        except BptraceError as error:
            raise UsageProblem(f"{option} {short(given)}: {error.message}") from None
        if len(statements) != 1 or not isinstance(statements[0], Setting):
            raise UsageProblem(
                f"{option} takes SETTING=VALUE, as in {option} half=false; got '{short(given)}'"
            )
        if statements[0].name in found:
            raise UsageProblem(
                f"{option} sets '{statements[0].name}' twice; give each setting once"
            )
        found[statements[0].name] = statements[0]
    return tuple(found.values())


def _conflicts(given, how: CompareOptions) -> None:
    """Raise UsageProblem where an option would set both traces' value of a --vs setting."""
    for s in given:
        option = {"lr": how.lr, "seed": how.seed}.get(s.name)
        if option is not None:
            raise UsageProblem(
                f"{flag(s)} and --{s.name} {option:g} both set {s.name}: --{s.name} sets it "
                f"in both traces, so B would not have {said(s)}; give one of them"
            )


def _other(net, given, option: str = "--vs"):
    """Return the network `net` (bptrace.api's) with the --vs settings in place of its own
    (`option` names the settings in a message)."""
    try:
        other = net._with_settings(given)
    except BptraceError as error:
        hint = getattr(error, "hint", None)
        if hint is not None and _about(error, given):  # a --vs is no line of the file
            hint = re.sub(r"`set (\w+) = ([^`]+)`", rf"{option} \1=\2", hint)
            hint = hint.replace(", or remove this line", "")
        shown = " ".join(flag(s, option) for s in given)
        said_all = f"{shown}: {error.message}" + (f" ({hint})" if hint else "")
        raise UsageProblem(said_all) from None
    return other


def _about(error: BptraceError, given) -> bool:
    """Tell whether `error` points into one of the --vs settings (not into the file)."""
    from bptrace.language.syntax import walk

    span = getattr(error, "span", None)
    return any(span is s.span or any(span is e.span for e in walk(s.value)) for s in given)


def warn_of_kinks(records, filename: str, source: str) -> None:
    """Warn on stderr, as `run` does, of each kink whose argument is within rounding of 0 in the
    trace as written: where a convention (relu_at_0, tie) or a hand calculation takes it as 0."""
    for record in records:
        for near in getattr(record, "kinks", ()):
            process.diagnose(process.stderr(), filename, source, near, "warning")


def compare(source: str, filename: str, how: CompareOptions) -> None:
    """Print which numbers of the trace change under the --vs settings, and why."""
    from bptrace.views import differences
    from bptrace.views.terminal.compare import render_comparison
    from bptrace.views.terminal.steps import View, output

    settings = settings_given(how.vs)
    _conflicts(settings, how)
    net = load_network(source, filename, how.seed, how.data)
    graph = net._graph
    other = _other(net, settings)
    c = comparing.compared(net, other, settings, how.steps, how.lr, "--vs")
    for said_ in c.warned:
        process.stderr().print(f"bptrace: warning: {escaped(said_)}", markup=False)
    warn_of_kinks(c.right, filename, source)
    if c.fault is not None:  # as `run` would stop
        raise c.fault
    comparison, fails = c.comparison, c.fails
    given = ", ".join(said(s) for s in settings)
    if how.json:
        doc = comparing.document(c, filename)
        process.write_utf8(json.dumps(doc, ensure_ascii=False, allow_nan=False) + "\n")
        return
    out = output(how.ascii_math)
    view = View(precision=how.precision, notation=process.notation(out, how.ascii_math, graph))
    w = writer(view)
    names = differences.names(graph)
    lines = [
        f"A: as written.  B: with {given}.",
        *map(w.prose, _effects(settings)),
        counted(comparison, names, w),
    ]
    if fails is not None:
        lines.append(f"With {given}, training stops {stops(fails)}: {fails.where}: {fails.detail}")
    acts = f"{given} acts here"
    rows = None if how.all_rows else MAX_ROWS
    groups = differences.groups(comparison, names, w, acts, rows)
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


def stops(fault: NumericFault) -> str:
    """Return when a trace stopped at a numeric fault: at step 3, or after step 2 (the final
    loss)."""
    return (
        f"after step {fault.step - 1}, at the final loss"
        if fault.final
        else f"at step {fault.step}"
    )


def writer(view):
    from bptrace.views.writers import Writer

    return Writer(view.notation, view.precision)


def counted(comparison, names, w) -> str:
    """Return how many numbers differ and where the first does."""
    from bptrace.views.differences import TITLES, label

    changed = comparison.changed
    steps = f"{comparison.steps} step{'s' if comparison.steps > 1 else ''}"
    first = comparison.first
    if first is None:
        formulas = len(comparison.differences)
        said = f"{formulas} formulas differ" if formulas > 1 else f"{formulas} formula differs"
        also = f" ({said})" if formulas else ""
        return f"No number differs over {steps}{also}."
    step, table = first.cell.key[:2]
    where = (
        f"at step {step}, {TITLES[table].lower()}"
        if step <= comparison.steps
        else (
            "after the last update"  # the table's title says it too
        )
    )
    return (
        f"{changed:,} of {comparison.compared:,} numbers differ over {steps}; the first "
        f"{where}: {label(first.cell.key, names, w)}."
    )
