"""A network's trace beside another's: under other settings (`compare`), or as a student making a
common mistake would compute it (`mistakes`). Pure: records and JSON documents; `bptrace compare`
and `bptrace mistakes` print them as tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bptrace.errors import NumericFault

SHOWN = 40  # characters of a setting's value echoed in prose; the JSON has it whole


@dataclass(frozen=True, slots=True)
class Compared:
    """Two traces of a network, A as written and B with `given` settings, and what differs."""

    graph: Any  # A's engine graph
    other: Any  # B's
    given: tuple  # the `set` statements B has in place of A's
    warned: tuple[
        str, ...
    ]  # what B warns of that A does not, and each setting that changes nothing
    right: tuple  # A's engine records
    theirs: tuple  # B's, up to a fault
    fails: NumericFault | None  # where B stopped
    comparison: Any  # engine/compare.py's Comparison; None when A stopped
    fault: NumericFault | None = None  # where A stopped (B is then not run)


def compared(net, other, given: tuple, steps: int, lr: float | None, option: str | None):
    """Return A (`net`) beside B (`other`, `net` with the settings `given`) over `steps`; where A
    stops at a fault, as `run` would, B is not run. `option` (--vs) names the settings in
    warnings; None writes them as a `set` line would."""
    from bptrace.engine.compare import compare
    from bptrace.language.syntax import Setting

    graph, theirs_graph = net._graph, other._graph
    written = frozenset(s.name for s in net._statements if isinstance(s, Setting))
    warned = warnings(graph, theirs_graph, given, written, net.name, option)
    right, fault = collected(records(graph, steps, lr))
    if fault is not None:
        return Compared(
            graph, theirs_graph, given, tuple(warned), tuple(right), (), None, None, fault
        )
    theirs, fails = collected(records(theirs_graph, steps, lr))
    comparison = compare(graph, right, theirs_graph, theirs)
    return Compared(
        graph, theirs_graph, given, tuple(warned), tuple(right), tuple(theirs), fails, comparison
    )


def document(c: Compared, filename: str) -> dict[str, Any]:
    """Return the comparison as `bptrace compare --json` writes it."""
    from bptrace.language.diagnostics import escaped
    from bptrace.views import differences

    return {
        "schema": "bptrace.compare",
        "network": escaped(filename),
        "a": "as written",
        "b": {s.name: show_value(s) for s in c.given},
        **differences.to_json(c.comparison, c.graph.loss),
        "fails": failure(c.fails),
        "warnings": list(c.warned),
    }


def mistaken(graph, right: list, steps: int, lr: float | None, chosen: list) -> list[tuple]:
    """Return, for each mistake `chosen`, why it cannot be made here (None if it can), the trace it
    gives beside the right one (`right`), and where that trace stopped."""
    from bptrace.engine.compare import compare
    from bptrace.engine.mistakes import not_applicable

    found = []
    for mistake in chosen:
        reason = not_applicable(graph, mistake)
        comparison = fails = None
        if reason is None:
            wrong, fails = collected(records(graph, steps, lr, mistake))
            comparison = compare(graph, right, graph, wrong)
        found.append((mistake, reason, comparison, fails))
    return found


def mistakes_document(graph, filename: str, steps: int, whole: bool, found) -> dict[str, Any]:
    """Return the mistakes `found` as `bptrace mistakes --json` writes them; `whole` lists each
    one's every difference (as `--show` does)."""
    from bptrace.language.diagnostics import escaped
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
            entry["changed"] = comparison.changed
            entry["compared"] = comparison.compared
            entry["fails"] = failure(fails)
            if whole:
                entry["differences"] = differences.to_json(comparison, graph.loss)["differences"]
        listed.append(entry)
    return {
        "schema": "bptrace.mistakes",
        "network": escaped(filename),
        "steps": steps,
        "loss": graph.loss,
        "mistakes": listed,
    }


def records(graph, steps: int, lr: float | None, mistake=None):
    """Return the trace of `graph` over `steps`, in mini-batches where the file sets them."""
    from bptrace.engine.tracer import batches_of, trace

    batches = batches_of(graph)
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


def failure(fault: NumericFault | None) -> dict | None:
    """Return where a trace stopped at a numeric fault, as JSON (None when it ran through)."""
    return None if fault is None else {"step": fault.step, "message": fault.message}


def warnings(
    graph, other, given, written: frozenset[str], filename: str, option: str | None = "--vs"
) -> list[str]:
    """Return what the second network warns of and the first does not, and each setting given
    that is the first's already (B would be A there)."""
    ours = {w.message for w in graph.warnings}
    with_ = ", ".join(said(s) for s in given)
    found = [f"with {with_}: {w.message}" for w in other.warnings if w.message not in ours]
    for s in given:
        named = flag(s, option) if option else said(s)
        if graph.settings[s.name] == other.settings[s.name]:
            why = (
                f"{filename} sets {s.name} to it already"
                if s.name in written
                else f"{said(s)} is the default"
            )
            found.append(f"{named} changes nothing: {why}")
        elif s.name in _IDLE and _IDLE[s.name][0](other):
            found.append(f"{named} changes nothing: {filename} {_IDLE[s.name][1]}")
    return found


# Settings that act on what a network may not have: the test of its absence, and its words.
_IDLE = {
    "seed": (
        lambda graph: graph.seed is None,
        "draws no param at random (uniform(...) or normal(...))",
    ),
    "reduction": (
        lambda graph: graph.samples is None,
        "has one sample: no samples' gradients to add up or average",
    ),
}


def said(setting) -> str:
    """Return a setting given as the second trace's name for it: `half = false`, from what was
    parsed (a comment or an escape sequence after the value is never echoed)."""
    return f"{setting.name} = {short(show_value(setting))}"


def flag(setting, option: str = "--vs") -> str:
    """Return a setting as the option that gave it: `--vs half=false`."""
    return f"{option} {setting.name}={short(show_value(setting))}"


def short(text: str) -> str:
    """Return an argument as echoed: its first SHOWN characters, then ... (as numbers are)."""
    return text if len(text) <= SHOWN else f"{text[: SHOWN - 3]}..."


def show_value(setting) -> str:
    """Return a setting's value as parsed."""
    from bptrace.language.printer import show

    return show(setting.value)
