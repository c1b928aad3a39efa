"""Write step records as JSON Lines: one strict RFC 8259 object per line, streamed as computed.

The terminal tables and these lines are two views of the same records (render.py and this module).
Consumers must ignore record types and keys they do not know, so the format can grow.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from bptrace import __version__
from bptrace.chains import ChainPlan, edges_on_paths, plan_chains
from bptrace.graph import Graph
from bptrace.optimizers import OPTIMIZERS
from bptrace.printer import show
from bptrace.tracer import Final, Step

SCHEMA = "bptrace.trace"
VERSION = 3  # 2: arrays of samples. 3: forward and partials keyed by name, each path's nodes once in begin
_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


def number(value: Any) -> float | str | list:
    """Return a float, or "NaN", "Infinity" or "-Infinity": JSON has no tokens for those.

    An array (one value per sample) becomes a list of them.
    """
    if type(value) is float and value - value == 0.0:  # a finite float, as nearly every value is
        return value
    if getattr(value, "ndim", 0):
        return value.tolist() if np.isfinite(value).all() else [number(v) for v in value]
    v = float(value)
    if math.isfinite(v):
        return v
    return "NaN" if math.isnan(v) else _NON_FINITE[v]


def numbers(values: dict[Any, Any]) -> dict[Any, Any]:
    """Return `values` with each value made a JSON number by `number`: the dict itself when all are finite floats."""
    total = sum(values.values(), 0.0)  # at C speed: a float only if every value is one, finite only if each is
    if type(total) is float and math.isfinite(total):
        return values
    return {k: number(v) for k, v in values.items()}


@dataclass(frozen=True, slots=True)
class Layout:
    """What every record of a trace shares, worked out once: the nodes, the partials by node, the listed paths."""

    nodes: tuple[str, ...]
    partials: tuple[tuple[str, tuple[str, ...]], ...]  # (of, its wrts) on loss-to-param paths, in backprop order
    chains: tuple[ChainPlan, ...]
    # The listed paths' products, left to right from the loss as math.prod takes them, each shared prefix once:
    # prefix i is prefix `parent` (−1: none) times the partial edges[e]; each path ends at one prefix.
    edges: tuple[tuple[str, str], ...]
    prefixes: tuple[tuple[int, int], ...]  # (parent, e)
    ends: tuple[tuple[int, ...], ...]  # per chain, per listed path: its last prefix


def layout(graph: Graph, max_paths: int) -> Layout:
    """Return the layout of a trace of `graph` listing at most `max_paths` paths per param."""
    grouped: dict[str, list[str]] = {}
    for edge in edges_on_paths(graph):
        grouped.setdefault(edge.of, []).append(edge.wrt)
    chains = plan_chains(graph, max_paths)
    edges: dict[tuple[str, str], int] = {}
    prefixes: dict[tuple[int, int], int] = {}
    ends = []
    for c in chains:
        found = []
        for path in c.paths:
            at = -1
            for edge in zip(path, path[1:]):
                at = prefixes.setdefault((at, edges.setdefault(edge, len(edges))), len(prefixes))
            found.append(at)
        ends.append(tuple(found))
    return Layout(
        tuple(node.name for node in graph.nodes),
        tuple((of, tuple(wrts)) for of, wrts in grouped.items()),
        chains,
        tuple(edges),
        tuple(prefixes),
        tuple(ends),
    )


def _products(shape: Layout, partials: dict[tuple[str, str], Any]) -> list[Any]:
    """Return the product of every prefix of the listed paths: the same floats as math.prod of each path."""
    factors = list(map(partials.__getitem__, shape.edges))
    products: list[Any] = []
    push = products.append
    for parent, e in shape.prefixes:
        push(factors[e] if parent < 0 else products[parent] * factors[e])
    return products


def line(record: dict[str, Any]) -> str:
    """Return one record as one line of strict JSON (NaN and Infinity are refused, never written)."""
    return json.dumps(record, ensure_ascii=False, allow_nan=False, separators=(", ", ": ")) + "\n"


def begin(graph: Graph, network: str, steps: int, lr: float, max_paths: int, shape: Layout | None = None) -> dict[str, Any]:
    """Return the record that opens a trace: the network, its settings, its graph and its listed paths."""
    shape = shape or layout(graph, max_paths)
    return {
        "type": "begin",
        "schema": SCHEMA,
        "version": VERSION,
        "bptrace": __version__,
        "network": network,
        "loss": graph.loss,
        "lr": number(lr),
        "steps": steps,
        "max_paths": max_paths,
        "optimizer": {"name": graph.settings["optimizer"],
                      **{k: graph.settings[k] for k in OPTIMIZERS[str(graph.settings["optimizer"])].settings}},
        "seed": graph.seed,
        "samples": graph.samples,
        "reduction": graph.settings["reduction"],
        "params": {name: number(v) for name, v in graph.initial_params().items()},
        "leaves": [
            {"name": leaf.name, "kind": leaf.kind, "value": number(np.array(leaf.value)), "line": leaf.span.line,
             **({"drawn": leaf.drawn} if leaf.drawn else {})}
            for leaf in graph.leaves
        ],
        "nodes": [
            {
                "name": node.name,
                "kind": "loss" if node.name == graph.loss else "node",
                "expr": show(node.expr),
                "uses": [edge.wrt for edge in node.edges],
                "partials": {edge.wrt: show(edge.formula) for edge in node.edges},
                "line": node.span.line,
            }
            for node in graph.nodes
        ],
        "chains": [{"param": c.param, "paths_total": c.total, "paths": [list(path) for path in c.paths]} for c in shape.chains],
        "warnings": [{"message": w.message, "line": w.span.line, "col": w.span.col} for w in graph.warnings],
    }


def step(graph: Graph, record: Step, shape: Layout | None = None) -> dict[str, Any]:
    """Return the record of one training step; `shape` is the trace's layout (worked out here if not given)."""
    if shape is None:
        finder = record.chains[0].finder if record.chains else None
        shape = layout(graph, finder.max_paths if finder else 8)
    values = record.values.copy()  # plain dicts: read at C speed
    partials = record.partial_values.copy()
    products = _products(shape, partials)
    return {
        "type": "step",
        "step": record.step,
        **({"batch": list(record.indices)} if record.indices is not None else {}),
        "loss": number(record.loss),
        "forward": numbers({name: values[name] for name in shape.nodes}),
        "partials": {of: numbers({wrt: partials[(of, wrt)] for wrt in wrts}) for of, wrts in shape.partials},
        "grads": numbers(record.grads.copy()),
        "chains": [
            {"param": c.param, "grad": number(c.grad), "paths": [number(products[end]) for end in ends]}
            for c, ends in zip(record.chains, shape.ends)
        ],
        "updates": [
            {"param": u.param, "before": number(u.before), "grad": number(u.grad), "lr": number(u.lr), "after": number(u.after),
             **({"state": {k: number(v) for k, v in u.state.items()}} if u.state else {})}
            for u in record.updates
        ],
    }


def end(final: Final) -> dict[str, Any]:
    """Return the record that closes a completed trace."""
    return {
        "type": "end",
        "steps": final.steps,
        "final_loss": number(final.loss),
        **({"start_loss": number(final.start_loss)} if final.start_loss is not None else {}),
        "params": {name: number(v) for name, v in final.params.items()},
    }


def end_with_error(steps_done: int, params: dict[str, Any], error: dict[str, Any]) -> dict[str, Any]:
    """Return the record that closes a trace stopped early: what happened, and the params it stopped at."""
    return {
        "type": "end",
        "steps": steps_done,
        "final_loss": None,
        "params": {name: number(v) for name, v in params.items()},
        "error": error,
    }


def non_finite(record: Step, loss: str) -> list[str]:
    """Return what in a step is not a finite number (and so is written as a string), e.g. dL/dk."""
    found = [f"the value of {name}" for name in _not_finite(record.values.copy())]
    found += [f"d{loss}/d{name}" for name in _not_finite(record.grads.copy())]
    return found


def _not_finite(values: dict[str, Any]) -> list[str]:
    """Return the names whose value, a float or an array of samples, is not finite everywhere."""
    try:  # floats: one sum at C speed says that all are finite (an inf or a nan would make it so)
        if math.isfinite(sum(values.values())):
            return []
    except TypeError:  # arrays of samples: their sum is an array
        pass
    return [name for name, v in values.items() if not np.isfinite(v).all()]
