"""A step's numbers as cells: each value a table shows, keyed, with the cells it was computed from.

Two traces of one network (under two conventions, or the right one and a student's mistake) are
compared cell by cell (engine/compare.py); each cell's `uses` say why a number changed: because
one it was computed from did, or, where none did, because of the change itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bptrace.engine.graph import Graph
from bptrace.engine.tracer import Final, Step
from bptrace.language.syntax import Expr, names_in

# The tables, in the order a step shows them. A param's value at a step is the `leaves` cell.
TABLES = ("leaves", "forward", "partials", "gradients", "updates", "final")

Key = tuple[int, str, tuple[str, ...], str]  # (step, table, subject, column)


@dataclass(frozen=True, slots=True)
class Cell:
    """One number of a step: where it is (step, table, the names it is about, column), its value,
    the formula it was computed with (None where the table shows none) and the cells it used."""

    step: int
    table: str
    subject: tuple[str, ...]
    column: str
    value: Any
    formula: Expr | None = None
    uses: tuple[Key, ...] = ()

    @property
    def key(self) -> Key:
        return (self.step, self.table, self.subject, self.column)


def cells(graph: Graph, step: Step) -> Iterator[Cell]:
    """Yield a step's cells in the order its tables show them."""
    k = step.step
    nodes = {node.name for node in graph.nodes}

    def value_of(name: str) -> Key:
        return (k, "forward" if name in nodes else "leaves", (name,), "value")

    for name in graph.params:
        # a param's value is the last step's update (step 1's is as declared)
        uses = ((k - 1, "updates", (name,), "after"),) if k > 1 else ()
        yield Cell(k, "leaves", (name,), "value", step.values[name], None, uses)
    for node in graph.nodes:
        used = tuple(dict.fromkeys(value_of(n.id) for n in names_in(node.expr)))
        yield Cell(k, "forward", (node.name,), "value", step.values[node.name], node.expr, used)
    if step.samples is not None:  # the batch's loss: the samples' mean (or sum)
        loss = ((k, "forward", (graph.loss,), "value"),)
        yield Cell(k, "forward", (graph.loss,), "batch", step.loss, None, loss)
    for p in step.partials:
        formula = p.edge.formula
        used = tuple(dict.fromkeys(value_of(n.id) for n in names_in(formula)))
        yield Cell(k, "partials", (p.of, p.wrt), "value", p.value, formula, used)
    consumers: dict[str, list[str]] = {}
    for p in step.partials:
        consumers.setdefault(p.wrt, []).append(p.of)
    for name in (graph.loss, *consumers):
        used = tuple(
            key
            for of in consumers.get(name, ())
            for key in ((k, "gradients", (of,), "value"), (k, "partials", (of, name), "value"))
        )
        yield Cell(k, "gradients", (name,), "value", step.grads[name], None, used)
    for u in step.updates:
        gradient = (k, "updates", (u.param,), "gradient")
        summed = ((k, "gradients", (u.param,), "value"),)
        yield Cell(k, "updates", (u.param,), "gradient", u.grad, None, summed)
        state = tuple((k, "updates", (u.param,), name) for name in u.state)
        for name, value in u.state.items():
            before = ((k - 1, "updates", (u.param,), name),) if k > 1 else ()
            yield Cell(k, "updates", (u.param,), name, value, None, (gradient, *before))
        before = (k, "leaves", (u.param,), "value")
        yield Cell(k, "updates", (u.param,), "after", u.after, None, (before, gradient, *state))


def final_cells(graph: Graph, final: Final) -> Iterator[Cell]:
    """Yield the cells after the last update: the loss (over all the samples) and each param."""
    k = final.steps + 1
    for name, value in final.params.items():
        yield Cell(
            k, "leaves", (name,), "value", value, None, ((k - 1, "updates", (name,), "after"),)
        )
    if final.loss is not None:
        used = tuple((k, "leaves", (name,), "value") for name in final.params)
        yield Cell(k, "final", (graph.loss,), "value", final.loss, None, used)
