"""Run training steps on a graph and yield one plain record per step: the trace every view shows."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from bptrace.chains import ChainPlan, plan_chains
from bptrace.errors import NumericFault
from bptrace.evaluate import find_fault, op_of, run
from bptrace.graph import Edge, Graph
from bptrace.printer import show


@dataclass(frozen=True, slots=True)
class Partial:
    """One local derivative ∂of/∂wrt at this step: its formula and its value."""

    of: str
    wrt: str
    edge: Edge
    value: Any


@dataclass(frozen=True, slots=True)
class Path:
    """One path of the chain rule: names from the loss to a param, the factor on each edge, their product."""

    nodes: tuple[str, ...]
    factors: tuple[Any, ...]
    value: Any


@dataclass(frozen=True, slots=True)
class Chain:
    """∂L/∂param as a sum over paths of products of local derivatives."""

    param: str
    grad: Any
    paths: tuple[Path, ...]
    paths_total: int


@dataclass(frozen=True, slots=True)
class Update:
    """One gradient-descent update: after = before − lr·grad."""

    param: str
    before: Any
    grad: Any
    lr: float
    after: Any


@dataclass(frozen=True, slots=True)
class Step:
    """Everything one training step computed, before its update is applied."""

    step: int
    lr: float
    loss: Any
    values: dict[str, Any]  # every leaf and node, in source order
    partials: tuple[Partial, ...]  # the local derivatives on loss-to-param paths, in backprop order
    grads: dict[str, Any]  # ∂loss/∂name for every leaf and node
    chains: tuple[Chain, ...]
    updates: tuple[Update, ...]


@dataclass(frozen=True, slots=True)
class Final:
    """The state after the last update: the loss with the final parameters."""

    steps: int
    loss: Any
    params: dict[str, Any]


def trace(graph: Graph, steps: int, lr: float | None = None, max_paths: int = 8) -> Iterator[Step | Final]:
    """Yield a Step record for each training step, then a Final record."""
    lr = graph.settings["lr"] if lr is None else lr
    plans = plan_chains(graph, max_paths)
    needed = _leads_to_param(graph)
    shown = _shown_edges(graph, needed)
    params = {leaf.name: np.float64(leaf.value) for leaf in graph.leaves if leaf.kind == "param"}
    for k in range(1, steps + 1):
        with np.errstate(all="ignore"):
            record = _step(graph, plans, shown, needed, params, k, lr)
        yield record
        params = {u.param: u.after for u in record.updates}
    with np.errstate(all="ignore"):
        values = _forward(graph, params, steps + 1, final=True)
    yield Final(steps, values[graph.loss], params)


def forward(graph: Graph, params: dict[str, Any]) -> dict[str, Any]:
    """Return every leaf's and node's value with the given params (non-finite values allowed)."""
    with np.errstate(all="ignore"):
        env = _leaf_values(graph, params)
        for node in graph.nodes:
            env[node.name] = run(node.program, env)
    return env


def _leaf_values(graph: Graph, params: dict[str, Any]) -> dict[str, Any]:
    return {
        leaf.name: params[leaf.name] if leaf.kind == "param" else np.float64(leaf.value) for leaf in graph.leaves
    }


def _forward(graph: Graph, params: dict[str, Any], step: int, final: bool = False) -> dict[str, Any]:
    env = _leaf_values(graph, params)
    for node in graph.nodes:
        value = run(node.program, env)
        if not np.all(np.isfinite(value)):
            raise _fault(step, f"node {node.name} = {show(node.expr)}", node.expr, env, value, final)
        env[node.name] = value
    return env


def _backward(graph: Graph, values: dict[str, Any], step: int, needed: frozenset[str]):
    """Return ∂loss/∂name for every name and every local partial's value, by reverse accumulation."""
    grads = dict.fromkeys(values, np.float64(0.0))
    grads[graph.loss] = np.float64(1.0)
    partials: dict[tuple[str, str], Any] = {}
    reached = {graph.loss}
    for node in reversed(graph.nodes):
        if node.name not in reached:
            continue
        adjoint = grads[node.name]
        for edge in node.edges:
            value = run(edge.program, values)
            # Only a partial on the way to a param can spoil training; ∂L/∂input may be inf in peace.
            if edge.wrt in needed and not np.all(np.isfinite(value)):
                where = f"local derivative d{edge.of}/d{edge.wrt} = {show(edge.formula)}"
                raise _fault(step, where, edge.formula, values, value)
            partials[(edge.of, edge.wrt)] = value
            grads[edge.wrt] = grads[edge.wrt] + adjoint * value
            reached.add(edge.wrt)
    for name in needed:
        if not np.all(np.isfinite(grads[name])):
            raise NumericFault(step, f"gradient dL/d{name}", f"is {grads[name]} (the gradients overflow)")
    return grads, partials


def _step(graph, plans: tuple[ChainPlan, ...], shown: tuple[Edge, ...], needed, params, k: int, lr: float) -> Step:
    values = _forward(graph, params, k)
    grads, partial_values = _backward(graph, values, k, needed)
    partials = tuple(Partial(e.of, e.wrt, e, partial_values[(e.of, e.wrt)]) for e in shown)
    chains = tuple(_chain(plan, grads, partial_values) for plan in plans)
    updates = []
    for name, before in params.items():
        after = before - lr * grads[name]
        if not np.all(np.isfinite(after)):
            detail = f"{before} - {lr}*{grads[name]} is {after} (training diverges; try a smaller lr)"
            raise NumericFault(k, f"update of {name}", detail)
        updates.append(Update(name, before, grads[name], lr, after))
    return Step(k, lr, values[graph.loss], values, partials, grads, chains, tuple(updates))


def _chain(plan: ChainPlan, grads, partial_values) -> Chain:
    paths = []
    for nodes in plan.paths:
        factors = tuple(partial_values[(a, b)] for a, b in zip(nodes, nodes[1:]))
        paths.append(Path(nodes, factors, math.prod(factors) if factors else np.float64(1.0)))
    return Chain(plan.param, grads[plan.param], tuple(paths), plan.total)


def _leads_to_param(graph: Graph) -> frozenset[str]:
    """Return the params and every node that depends on one."""
    found = set(graph.params)
    for node in graph.nodes:
        if any(e.wrt in found for e in node.edges):
            found.add(node.name)
    return frozenset(found)


def _shown_edges(graph: Graph, leads_to_param: frozenset[str]) -> tuple[Edge, ...]:
    """Return the edges on some loss-to-param path, from the loss backwards."""
    from_loss = {graph.loss}
    shown = []
    for node in reversed(graph.nodes):
        if node.name in from_loss:
            for edge in node.edges:
                if edge.wrt in leads_to_param:
                    from_loss.add(edge.wrt)
                    shown.append(edge)
    return tuple(shown)


def _fault(step: int, where: str, expr, env, value, final: bool = False) -> NumericFault:
    found = find_fault(expr, env)
    if found is None:
        return NumericFault(step, where, f"the value is {value}", final)
    node, args, result = found
    shown_args = ", ".join(f"{float(a):.6g}" for a in args)
    return NumericFault(step, where, f"{op_of(node).fault}: {show(node)} with ({shown_args}) gives {result}", final)
