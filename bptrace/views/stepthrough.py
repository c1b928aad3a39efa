"""A step-through of the trace for the browser: each step's texts, and the order they are revealed.

Every text is written by the terminal's Writer (writers.py) and every table row by tables.py, so the
page says what `bptrace run` says. Each step is revealed a piece at a time: the forward pass node by
node, then the local derivatives edge by edge, the gradients ∂L/∂node, each param's chain, and its
update. page.py writes the result into the page as one JSON object; present.js plays it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bptrace.engine.graph import Graph
from bptrace.engine.tracer import Final, Step
from bptrace.language.printer import MATH, Notation
from bptrace.views import tables
from bptrace.views.writers import Writer

# What each kind of reveal shows in the graph, in the order a step reveals them.
PARTS = {
    "forward": "value",  # a node's value
    "partials": "partial",  # an edge's local derivative
    "gradients": "grad",  # a node's ∂L/∂node
    "chains": "chain",  # a param's paths, and its gradient
    "updates": "update",  # a param's value after the step
}


@dataclass(frozen=True, slots=True)
class Look:
    """How the page writes its numbers and math: the notation and the significant digits."""

    notation: Notation = MATH
    precision: int = 4


def names(graph: Graph) -> list[str]:
    """Return every name of the graph, leaves then nodes, in source order: the page's ids."""
    return [*(leaf.name for leaf in graph.leaves), *(node.name for node in graph.nodes)]


def edges(graph: Graph) -> list[tuple[str, str]]:
    """Return every edge (of, wrt) in source order: the page's edge ids."""
    return [(e.of, e.wrt) for node in graph.nodes for e in node.edges]


def paths_of(graph: Graph, param: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Return the names and edges on a param's paths to the loss, as `run --focus` highlights."""
    on = graph.depends_on((param,)) & graph.used_by_loss()
    return [n for n in names(graph) if n in on], [
        e for e in edges(graph) if e[0] in on and e[1] in on
    ]


def step_data(graph: Graph, step: Step, look: Look) -> dict:
    """Return one step's texts: every name's value and gradient, the tables, and the reveals."""
    w = tables.for_step(Writer(look.notation, look.precision), graph, step)
    ids = {name: i for i, name in enumerate(names(graph))}
    edge_ids = {e: i for i, e in enumerate(edges(graph))}
    grads = {u.param: u.grad for u in step.updates}  # the batch's, with samples
    value_of = lambda name: w.number(w.at(step.values[name]))  # noqa: E731
    partial_texts: dict[int, dict] = {}
    for p in step.partials:
        with_numbers = w.expr(p.edge.formula, value_of) if w.one_sample else ""
        partial_texts[edge_ids[(p.of, p.wrt)]] = {
            "value": w.number(p.value),
            "formula": f"{w.partial(p.of, p.wrt)} = {w.expr(p.edge.formula)}",
            "numbers": with_numbers,
        }
    data = {
        "step": step.step,
        "note": tables.samples_said(graph, step, look.notation.dots) + "."
        if step.samples is not None
        else "",
        "values": [w.number(step.values[name]) for name in ids],
        "grads": [w.number(grads.get(name, step.grads[name])) for name in ids],
        "after": {ids[u.param]: w.number(u.after) for u in step.updates},
        "partials": partial_texts,
        "numbers": {},  # a node's formula with numbers, from the forward table
        "tables": [],
        "reveals": [],
    }
    _tables(graph, step, w, data, ids, edge_ids)
    return data


def _tables(graph: Graph, step: Step, w: Writer, data: dict, ids: dict, edge_ids: dict) -> None:
    """Add the step's tables, and one reveal per row (per param's rows, in the chain rule)."""

    def add(name: str, table: tables.TableRows, groups: list[tuple[list[int], tuple]]) -> None:
        t = len(data["tables"])
        data["tables"].append(table_data(name, table))
        for rows, subject in groups:
            kind = PARTS[name]
            target = edge_ids[subject] if kind == "partial" else ids[subject[0]]
            data["reveals"].append({"table": t, "rows": rows, "kind": kind, "of": target})

    forward = tables.forward(graph, step, w)
    add("forward", forward, [([i], r.subject) for i, r in enumerate(forward.rows)])
    if w.one_sample:
        for r in forward.rows:
            data["numbers"][ids[r.subject[0]]] = r.cells[2]
    partials = tables.partials(graph, step, w)
    add("partials", partials, [([i], r.subject) for i, r in enumerate(partials.rows)])
    gradients = tables.gradients(graph, step, w)
    if len(gradients.rows) > 1:  # more than the seed ∂L/∂L = 1, as the terminal shows it
        add("gradients", gradients, [([i], r.subject) for i, r in enumerate(gradients.rows)])
    chains = tables.chains_head(w)
    groups = []
    for chain in step.chains:
        rows = tables.chain_rows(chain, graph.loss, w, step.grads.get(chain.param))
        start = len(chains.rows)
        chains.rows.extend(rows)
        groups.append((list(range(start, len(chains.rows))), (chain.param,)))
    add("chains", chains, groups)
    updates = tables.updates(graph, step, w)
    add("updates", updates, [([i], r.subject) for i, r in enumerate(updates.rows)])


def summary_data(graph: Graph, first: Step, final: Final, look: Look) -> dict:
    """Return the run's summary table: the loss and each param at the start and at the end."""
    return table_data(
        "summary", tables.summary(graph, first, final, Writer(look.notation, look.precision))
    )


def table_data(name: str, table: tables.TableRows) -> dict:
    """Return a table as plain data: its title, headers, which columns are numbers, its rows."""
    return {
        "name": name,
        "title": table.title,
        "headers": list(table.headers),
        "numeric_from": table.numeric_from,
        "text": list(table.text),
        "rows": [{"cells": list(r.cells), "kind": r.kind} for r in table.rows],
    }


def page_data(graph: Graph, records: Iterable[Step | Final], title: str, look: Look) -> dict:
    """Return everything the page shows, as plain data: names, edges, paths, steps, summary.

    Each Step record is written as it comes, and only the first is kept (for the summary).
    """
    every = names(graph)
    ids = {name: i for i, name in enumerate(every)}
    edge_ids = {e: i for i, e in enumerate(edges(graph))}
    params = [leaf.name for leaf in graph.leaves if leaf.kind == "param"]
    focus = {}
    for param in params:
        on, through = paths_of(graph, param)
        focus[ids[param]] = {"names": [ids[n] for n in on], "edges": [edge_ids[e] for e in through]}
    shown, first = [], None
    for record in records:
        if isinstance(record, Step):
            first = first or record
            shown.append(step_data(graph, record, look))
        elif first is not None:  # the summary is the last step's last reveal
            last = shown[-1]
            last["tables"].append(summary_data(graph, first, record, look))
            rows = list(range(len(last["tables"][-1]["rows"])))
            last["reveals"].append(
                {"table": len(last["tables"]) - 1, "rows": rows, "kind": "summary", "of": None}
            )
    return {
        "title": title,
        "names": every,  # as written in the file, for whoever reads the data
        "edges": [list(e) for e in edge_ids],
        "loss": ids[graph.loss],
        "leaves": len(graph.leaves),
        "params": [ids[p] for p in params],
        "focus": focus,
        "steps": shown,
    }
