"""Carried forward: a cell worked out right, but from the student's own wrong earlier cells.

Each cell is worked out again as its table says, from the student's answers where they gave one
(the key's numbers elsewhere): a node from the nodes it uses, a local derivative from its formula,
∂L/∂node from the gradients and partials it sums, a path's product from its partials, an update
from the gradient, and a step's params from the step before's updates (plain gradient descent).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from bptrace.engine.evaluate import run
from bptrace.engine.graph import Graph
from bptrace.engine.tracer import Step
from bptrace.language.printer import MATH, name_text
from bptrace.views.cell_ids import ascii_name


class Recomputed(NamedTuple):
    """A cell worked out from the student's answers, and the ids of the answers it used."""

    value: float
    used: tuple[str, ...]


class Recompute:
    """Work a worksheet's cells out again from a student's answers (see the module's doc)."""

    def __init__(self, graph: Graph, steps: Sequence[Step]) -> None:
        self.graph = graph
        self.steps = {s.step: s for s in steps if s.samples is None}  # one value a cell
        names = [leaf.name for leaf in graph.leaves] + [node.name for node in graph.nodes]
        self.id = {name: ascii_name(name_text(name, MATH)) for name in names}
        self.named = {ident: name for name, ident in self.id.items()}
        self.nodes = {node.name: node for node in graph.nodes}
        self.params = set(graph.params)
        self.sgd = graph.settings["optimizer"] == "sgd"

    def __call__(self, cell: str, student: Mapping[str, float]) -> Recomputed | None:
        """Return cell `cell` worked out from `student`'s answers (by id), None if it cannot be."""
        k, table, rest = (cell.split(".", 2) + ["", ""])[:3]
        row, _, column = rest.rpartition(".")
        step = self.steps.get(int(k)) if k.isdigit() else None
        if step is None:
            return None
        used: list[str] = []

        def mine(ident: str, default: float) -> float:
            if ident in student:
                used.append(ident)
                return student[ident]
            return float(default)

        def value_of(name: str) -> float:
            if name in self.nodes:
                return mine(f"{k}.forward.{self.id[name]}.value", step.values[name])
            if name in self.params and step.step > 1:
                return mine(f"{step.step - 1}.updates.{self.id[name]}.after", step.values[name])
            return float(step.values[name])

        worked = self._worked(step, table, row, column, mine, value_of)
        if worked is None or not math.isfinite(worked):
            return None
        return Recomputed(worked, tuple(dict.fromkeys(used)))

    def _worked(self, step: Step, table: str, row: str, column: str, mine, value_of):
        k, loss = step.step, self.graph.loss
        if table == "forward" and column == "value" and self.named.get(row) in self.nodes:
            node = self.nodes[self.named[row]]
            return _run(node.program, {name: value_of(name) for name in _loads(node.program)})
        if table == "partials" and column == "value":
            of, _, wrt = row.partition("/")
            edge = next(
                (p.edge for p in step.partials if (self.id[p.of], self.id[p.wrt]) == (of, wrt)),
                None,
            )
            if edge is None:
                return None
            return _run(edge.program, {name: value_of(name) for name in _loads(edge.program)})
        if table == "gradients" and column == "value" and row != self.id[loss]:
            terms = [p for p in step.partials if self.id[p.wrt] == row]
            return (
                sum(
                    (
                        1.0
                        if p.of == loss
                        else mine(f"{k}.gradients.{self.id[p.of]}.value", step.grads[p.of])
                    )
                    * mine(f"{k}.partials.{self.id[p.of]}/{self.id[p.wrt]}.value", p.value)
                    for p in terms
                )
                if terms
                else None
            )
        if table == "chains" and column == "value":
            return self._chain(step, row, mine)
        if table == "updates" and self.sgd:
            u = next((u for u in step.updates if self.id[u.param] == row), None)
            if u is None:
                return None
            p = self.id[u.param]
            if column == "gradient":
                return mine(f"{k}.chains.{p}.value", u.grad)
            if column == "alpha_gradient":
                return u.lr * mine(f"{k}.updates.{p}.gradient", u.grad)
            if column == "after":
                before = value_of(u.param) if k > 1 else u.before
                return before - mine(f"{k}.updates.{p}.alpha_gradient", u.lr * u.grad)
            if column == "before" and k > 1:
                return value_of(u.param)
        return None

    def _chain(self, step: Step, row: str, mine):
        param, _, path = row.partition(".path")
        chain = next((c for c in step.chains if self.id[c.param] == param), None)
        if chain is None or not chain.paths or len(chain.paths) != chain.paths_total:
            return None
        k = step.step

        def product(p) -> float:
            value = 1.0
            for (a, b), factor in zip(zip(p.nodes, p.nodes[1:]), p.factors):
                value *= mine(f"{k}.partials.{self.id[a]}/{self.id[b]}.value", factor)
            return value

        if path:
            i = int(path) - 1 if path.isdigit() else -1
            return product(chain.paths[i]) if 0 <= i < len(chain.paths) else None
        if len(chain.paths) == 1:
            return product(chain.paths[0])
        return sum(
            mine(f"{k}.chains.{param}.path{i}.value", q.value) for i, q in enumerate(chain.paths, 1)
        )


def _loads(program) -> list[str]:
    from bptrace.engine.evaluate import LOAD

    return [arg for kind, arg, _ in program if kind == LOAD]


def _run(program, env: Mapping[str, float]) -> float | None:
    try:
        return float(run(program, env))
    except (ArithmeticError, ValueError):
        return None
