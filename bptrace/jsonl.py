"""Write step records as JSON Lines: one strict RFC 8259 object per line, streamed as computed.

The terminal tables and these lines are two views of the same records (render.py and this module).
Consumers must ignore record types and keys they do not know, so the format can grow.
"""

from __future__ import annotations

import json
import math

import numpy as np
from typing import Any

from bptrace import __version__
from bptrace.graph import Graph
from bptrace.optimizers import OPTIMIZERS
from bptrace.printer import show
from bptrace.tracer import Final, Step

SCHEMA = "bptrace.trace"
VERSION = 2  # 2: values are arrays, one number per sample, when the inputs and targets hold samples
_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


def number(value: Any) -> float | str | list:
    """Return a float, or "NaN", "Infinity" or "-Infinity": JSON has no tokens for those.

    An array (one value per sample) becomes a list of them.
    """
    if type(value) is float and value - value == 0.0:  # a finite float, as nearly every value is
        return value
    if getattr(value, "ndim", 0):
        return [number(v) for v in value]
    v = float(value)
    if math.isfinite(v):
        return v
    return "NaN" if math.isnan(v) else _NON_FINITE[v]


def line(record: dict[str, Any]) -> str:
    """Return one record as one line of strict JSON (NaN and Infinity are refused, never written)."""
    return json.dumps(record, ensure_ascii=False, allow_nan=False, separators=(", ", ": ")) + "\n"


def begin(graph: Graph, network: str, steps: int, lr: float, max_paths: int) -> dict[str, Any]:
    """Return the record that opens a trace: the network, its settings and its graph."""
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
                "line": node.span.line,
            }
            for node in graph.nodes
        ],
        "warnings": [{"message": w.message, "line": w.span.line, "col": w.span.col} for w in graph.warnings],
    }


def step(graph: Graph, record: Step, formulas: dict[int, str] | None = None) -> dict[str, Any]:
    """Return the record of one training step; `formulas` keeps each partial's .bp text from step to step."""
    if formulas is None:
        formulas = {}
    return {
        "type": "step",
        "step": record.step,
        **({"batch": list(record.indices)} if record.indices is not None else {}),
        "loss": number(record.loss),
        "forward": [{"node": node.name, "value": number(record.values[node.name])} for node in graph.nodes],
        "partials": [
            {"of": p.of, "wrt": p.wrt, "formula": _formula(p.edge, formulas), "value": number(p.value)}
            for p in record.partials
        ],
        "grads": {name: number(g) for name, g in record.grads.items()},
        "chains": [
            {
                "param": c.param,
                "grad": number(c.grad),
                "paths_total": c.paths_total,
                "paths": [
                    {"nodes": list(p.nodes), "factors": [number(f) for f in p.factors], "value": number(p.value)}
                    for p in c.paths
                ],
            }
            for c in record.chains
        ],
        "updates": [
            {"param": u.param, "before": number(u.before), "grad": number(u.grad), "lr": number(u.lr), "after": number(u.after),
             **({"state": {k: number(v) for k, v in u.state.items()}} if u.state else {})}
            for u in record.updates
        ],
    }


def _formula(edge, formulas: dict[int, str]) -> str:
    text = formulas.get(id(edge))  # the edges live as long as the graph, so their ids stay theirs
    if text is None:
        text = formulas[id(edge)] = show(edge.formula)
    return text


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
    found = [f"the value of {name}" for name, v in record.values.items() if not np.isfinite(v).all()]
    found += [f"d{loss}/d{name}" for name, g in record.grads.items() if not np.isfinite(g).all()]
    return found
