"""Write step records as JSON Lines: one strict RFC 8259 object per line, streamed as computed.

The terminal tables and these lines are two views of the same records (terminal/steps.py and
this module). Consumers must ignore record types and keys they do not know, so the format can grow.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from bptrace import __version__
from bptrace.engine.chains import ChainPlan, edges_on_paths, plan_chains
from bptrace.engine.conventions import CONVENTIONS
from bptrace.engine.graph import Graph
from bptrace.engine.lazy import numpy
from bptrace.engine.optimizers import OPTIMIZERS
from bptrace.engine.tracer import Batches, Final, Step
from bptrace.errors import NumericFault
from bptrace.language.printer import show
from bptrace.views.matrices import elements

SCHEMA = "bptrace.trace"
# 2: arrays of samples. 3: forward and partials keyed by name, each path's nodes once in begin.
VERSION = 3
_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}
_FLOAT = {float}
# A float's place in a template, and the step's: no name holds a control character.
_BLANK, _STEP = "\x00", "\x01"


def number(value: Any) -> float | str | list:
    """Return a float, or "NaN", "Infinity" or "-Infinity": JSON has no tokens for those.

    An array (one value per sample) becomes a list of them.
    """
    if type(value) is float and value - value == 0.0:  # a finite float, as nearly every value is
        return value
    if getattr(value, "ndim", 0):
        return value.tolist() if numpy().isfinite(value).all() else [number(v) for v in value]
    v = float(value)
    if math.isfinite(v):
        return v
    return "NaN" if math.isnan(v) else _NON_FINITE[v]


def numbers(values: list[Any]) -> list[Any]:
    """Return `values` made JSON numbers by `number`: the list itself when all are finite floats."""
    return values if _plain(values) else [number(v) for v in values]


def _plain(values: list[Any]) -> bool:
    """Tell at C speed whether every value is a finite Python float, which JSON writes as its repr.

    Not an int, a bool or numpy's float64 (whose repr is not a JSON number); finite only if the sum
    is (a sum that overflows costs only the slow way).
    """
    return set(map(type, values)) <= _FLOAT and math.isfinite(sum(values, 0.0))


def _take(values: Mapping[Any, Any], keys: tuple[Any, ...]) -> list[Any]:
    """Return the values of `keys`, in order, at C speed (a run's Slots read its list directly)."""
    take = getattr(values, "take", None)
    return take(keys) if take is not None else list(map(values.__getitem__, keys))


@dataclass(frozen=True, slots=True)
class Layout:
    """What every record of a trace shares, worked out once: nodes, partials, listed paths."""

    nodes: tuple[str, ...]
    keys: tuple[tuple[str, str], ...]  # each (of, wrt) on loss-to-param paths, in backprop order
    ofs: tuple[str, ...]  # the nodes those partials are of, in that order
    wrts: tuple[tuple[str, ...], ...]  # and, for each, what it is differentiated with respect to
    chains: tuple[ChainPlan, ...]
    # The listed paths' products, left to right from the loss as math.prod takes them, each shared
    # prefix once: prefix i is prefix `parent` (−1: none) times the partial keys[edges[e]].
    edges: tuple[int, ...]
    prefixes: tuple[tuple[int, int], ...]  # (parent, e)
    ends: tuple[tuple[int, ...], ...]  # per chain, per listed path: its last prefix


def layout(graph: Graph, max_paths: int) -> Layout:
    """Return the layout of a trace of `graph` listing at most `max_paths` paths per param."""
    grouped: dict[str, list[str]] = {}
    for edge in edges_on_paths(graph):
        grouped.setdefault(edge.of, []).append(edge.wrt)
    keys = tuple((of, wrt) for of, wrts in grouped.items() for wrt in wrts)
    at = {key: i for i, key in enumerate(keys)}
    chains = plan_chains(graph, max_paths)
    edges: dict[tuple[str, str], int] = {}
    prefixes: dict[tuple[int, int], int] = {}
    ends = []
    for c in chains:
        found = []
        for path in c.paths:
            i = -1
            for edge in zip(path, path[1:]):
                i = prefixes.setdefault((i, edges.setdefault(edge, len(edges))), len(prefixes))
            found.append(i)
        ends.append(tuple(found))
    return Layout(
        tuple(node.name for node in graph.nodes),
        keys,
        tuple(grouped),
        tuple(map(tuple, grouped.values())),
        chains,
        tuple(at[edge] for edge in edges),  # every edge of a loss-to-param path is one of the keys
        tuple(prefixes),
        tuple(ends),
    )


def _products(shape: Layout, partials: list[Any]) -> list[Any]:
    """Return the product of every prefix of the listed paths (`partials` in the order of
    shape.keys): the same floats as math.prod of each path."""
    factors = list(map(partials.__getitem__, shape.edges))
    products: list[Any] = []
    push = products.append
    for parent, e in shape.prefixes:
        push(factors[e] if parent < 0 else products[parent] * factors[e])
    return products


# Characters str.splitlines (and JavaScript, for U+2028 and U+2029) ends a line at, which JSON may
# write raw in a string: written as \u escapes, so that a reader splitting lines never splits a
# record. (json escapes the others.)
_LINE_BREAKS = str.maketrans({c: f"\\u{ord(c):04x}" for c in "\x85\u2028\u2029"})


def line(record: dict[str, Any]) -> str:
    """Return one record as one line of strict JSON (NaN and Infinity are refused, never written).

    The same text as one json.dumps of it, made a piece at a time: json.dumps is a single call that
    no signal can stop, however long a step of a million samples takes it (see `_encode`).
    """
    text = "".join(_encode(record, []))
    return (text if text.isascii() else text.translate(_LINE_BREAKS)) + "\n"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(", ", ": "))


_SCALARS = {float, int, str, bool, type(None)}
# Numbers encoded in one call: a call is short, so that Ctrl-C stops a long line at once.
CHUNK = 1 << 16


def _encode(value: Any, out: list[str]) -> list[str]:
    """Append the JSON of `value` to `out`: containers of numbers whole, long lists in chunks."""
    kind = type(value)
    if kind is dict and not set(map(type, value.values())) <= _SCALARS:
        out.append("{")
        for i, (key, v) in enumerate(value.items()):
            out.append(f"{', ' if i else ''}{_dumps(key)}: ")
            _encode(v, out)
        out.append("}")
    elif kind is list and not set(map(type, value)) <= _SCALARS:
        out.append("[")
        for i, v in enumerate(value):
            if i:
                out.append(", ")
            _encode(v, out)
        out.append("]")
    elif kind is list and len(value) > CHUNK:
        out.append("[")
        out.append(
            ", ".join(_dumps(value[at : at + CHUNK])[1:-1] for at in range(0, len(value), CHUNK))
        )
        out.append("]")
    else:
        out.append(_dumps(value))
    return out


# The most digits Python's json module reads back as an int by default (sys.int_info).
JSON_INT_DIGITS = 4300


def paths_count(n: int) -> int | str:
    """Return a count of paths for JSON: an int, or past 4,300 digits a string of its digits.

    JSON itself has no limit, but Python's json refuses to read such an integer by default (and to
    write one): as a string the trace stays readable, and exact.
    """
    import sys

    # json writes an int through str(): at most this many digits (0: no limit)
    limit = sys.get_int_max_str_digits()
    if n < 10 ** min(JSON_INT_DIGITS, limit or JSON_INT_DIGITS):
        return n
    sys.set_int_max_str_digits(0)  # no limit, for this one conversion
    try:
        return str(n)
    finally:
        sys.set_int_max_str_digits(limit)


def _conventions(graph: Graph) -> dict[str, Any]:
    """Return the `conventions` key: those set to other than their defaults; {} when none is."""
    changed = {
        c.name: number(graph.settings[c.name]) if c.bounds else graph.settings[c.name]
        for c in CONVENTIONS.values()
        if c.name != "reduction" and graph.settings[c.name] != c.default
    }
    return {"conventions": changed} if changed else {}


def begin(
    graph: Graph,
    network: str,
    steps: int,
    lr: float,
    max_paths: int,
    shape: Layout | None = None,
    batches: Batches | None = None,
) -> dict[str, Any]:
    """Return the record that opens a trace: network, settings, graph and listed paths."""
    shape = shape or layout(graph, max_paths)
    batch = (
        {}
        if batches is None
        else {
            "batch": {
                "size": batches.size,
                "shuffle": batches.shuffle,
                **({"seed": batches.seed} if batches.shuffle else {}),
            }
        }
    )
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
        "optimizer": {
            "name": graph.settings["optimizer"],
            **{k: graph.settings[k] for k in OPTIMIZERS[str(graph.settings["optimizer"])].settings},
        },
        "seed": graph.seed,
        "samples": graph.samples,
        **batch,
        "reduction": graph.settings["reduction"],
        **_conventions(graph),
        "params": {name: number(v) for name, v in graph.initial_params().items()},
        "leaves": [
            {
                "name": leaf.name,
                "kind": leaf.kind,
                "value": number(_array(leaf.value)),
                "line": leaf.span.line,
                **({"drawn": leaf.drawn} if leaf.drawn else {}),
            }
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
        "chains": [
            {
                "param": c.param,
                "paths_total": paths_count(c.total),
                "paths": [list(path) for path in c.paths],
            }
            for c in shape.chains
        ],
        "warnings": [
            {"message": w.message, "line": w.span.line, "col": w.span.col} for w in graph.warnings
        ],
    }


def step(graph: Graph, record: Step, shape: Layout | None = None) -> dict[str, Any]:
    """Return the record of one training step; `shape` is the trace's layout (else worked out).

    `_numbers_in` lists its numbers in the same order: a change here is a change there.
    """
    if shape is None:
        shape = layout(graph, record.chains[0].max_paths if record.chains else 8)
    partials = _take(record.partial_values, shape.keys)
    products = _products(shape, partials)
    grads = record.grads
    # Each node's partials in turn: zip takes from it only while wrts lasts.
    each = iter(numbers(partials))
    return {
        "type": "step",
        "step": record.step,
        **({"batch": list(record.indices)} if record.indices is not None else {}),
        "loss": number(record.loss),
        "forward": dict(zip(shape.nodes, numbers(_take(record.values, shape.nodes)))),
        "partials": dict(zip(shape.ofs, map(dict, map(zip, shape.wrts, repeat(each))))),
        "grads": dict(zip(grads, numbers(list(grads.values())))),
        "chains": [
            {
                "param": c.param,
                "grad": number(c.grad),
                "paths": [number(products[end]) for end in ends],
            }
            for c, ends in zip(record.chains, shape.ends)
        ],
        "updates": [
            {
                "param": u.param,
                "before": number(u.before),
                "grad": number(u.grad),
                "lr": number(u.lr),
                "after": number(u.after),
                **({"state": {k: number(v) for k, v in u.state.items()}} if u.state else {}),
            }
            for u in record.updates
        ],
        **({"warnings": [_kink(near) for near in record.kinks]} if record.kinks else {}),
        **({"layers": layers(graph, record)} if graph.layers else {}),
    }


def layers(graph: Graph, record: Step) -> dict[str, Any]:
    """Return each vector and matrix of the network at this step, by name: its kind, shape, values
    and gradients as nested lists (a vector a list, a matrix a list of rows), each element the
    number its scalar name has in `forward` (or, a param, its value before the update), `grads`."""

    def nested(layer, numbers: Mapping[str, Any]) -> list:
        rows = [[number(numbers[name]) for name in row] for row in elements(layer)]
        return [r[0] for r in rows] if len(layer.shape) == 1 else rows

    return {
        layer.name: {
            "kind": layer.kind,
            "shape": list(layer.shape),
            "values": nested(layer, record.values),
            "grads": nested(layer, record.grads),
        }
        for layer in graph.layers
    }


def _kink(near) -> dict[str, Any]:
    """Return the warning of a kink whose argument is within rounding of 0 (see kinks.py)."""
    return {
        "message": near.message,
        "node": near.node,
        "function": near.fn,
        "value": number(near.value),
        "bound": number(near.bound),
        "line": near.span.line,
        "col": near.span.col,
    }


class StepLines:
    """Write step records as lines, each exactly line(step(graph, record, shape)), but faster.

    Every step record of a trace has the same keys in the same order; only its numbers change. So
    the first record's line is written with a placeholder for each number, and each step fills that
    template with its numbers, read straight off the run in the order the line holds them
    (`_numbers_in`): no dict per node and no key encoded again. A record holding what the template
    cannot write as it is (an inf or a nan, which JSON writes as a string; samples' arrays; numpy's
    float64) is written by `step` and `line`.
    """

    def __init__(self, graph: Graph, shape: Layout) -> None:
        self.graph, self.shape = graph, shape
        self.template, self.count = "", -1

    def __call__(self, record: Step) -> str:
        found = _numbers_in(record, self.shape)
        # a network with layers: each step's also carries them as nested lists (`layers`)
        if not _plain(found) or record.indices is not None or record.kinks or self.graph.layers:
            return line(step(self.graph, record, self.shape))
        if len(found) != self.count:
            self.template, self.count = _template(step(self.graph, record, self.shape))
        return self.template % (record.step, *found)


def _numbers_in(record: Step, shape: Layout) -> list[Any]:
    """Return the numbers of a step's record but its step number, in the order its line writes them.

    This is `step` read off in order: a change there is a change here (tests/test_json.py compares
    the two).
    """
    partials = _take(record.partial_values, shape.keys)
    products = _products(shape, partials)
    found = [record.loss]
    found += _take(record.values, shape.nodes)
    found += partials
    found += record.grads.values()
    for c, ends in zip(record.chains, shape.ends):
        found.append(c.grad)
        found += map(products.__getitem__, ends)
    for u in record.updates:
        found += (u.before, u.grad, u.lr, u.after, *u.state.values())
    return found


def _template(record: dict[str, Any]) -> tuple[str, int]:
    """Return a step record's line with %d for its step, %r for each float; and how many floats."""
    count = 0

    def blank(value: Any) -> Any:
        nonlocal count
        if type(value) is float:
            count += 1
            return _BLANK
        if type(value) is dict:
            return {k: blank(v) for k, v in value.items()}
        if type(value) is list:
            return [blank(v) for v in value]
        return value

    # The step stays first: "type" is not a number.
    text = line({**blank(record), "step": _STEP}).replace("%", "%%")
    # a float's repr is its JSON
    return text.replace(json.dumps(_STEP), "%d").replace(json.dumps(_BLANK), "%r"), count


def end(final: Final) -> dict[str, Any]:
    """Return the record that closes a completed trace."""
    return {
        "type": "end",
        "steps": final.steps,
        "final_loss": number(final.loss),
        **({"start_loss": number(final.start_loss)} if final.start_loss is not None else {}),
        "params": {name: number(v) for name, v in final.params.items()},
    }


def end_with_error(
    steps_done: int, params: dict[str, Any], error: dict[str, Any]
) -> dict[str, Any]:
    """Return the record that closes a trace stopped early: what happened, and the params then."""
    return {
        "type": "end",
        "steps": steps_done,
        "final_loss": None,
        "params": {name: number(v) for name, v in params.items()},
        "error": error,
    }


def numeric_error(fault: NumericFault) -> dict[str, Any]:
    """Return the `error` of the end record of a run a NumericFault stopped."""
    error: dict[str, Any] = {"kind": "numeric", "message": str(fault), "where": fault.where}
    error.update({"final": True} if fault.final else {"step": fault.step})
    if fault.hint:
        error["hint"] = fault.hint
    if fault.span is not None and fault.span.line:
        error.update(line=fault.span.line, col=fault.span.col)
    return error


def non_finite(record: Step, loss: str) -> list[str]:
    """Return what in a step is not a finite number (and so is written as a string), e.g. dL/dk."""
    found = [f"the value of {name}" for name in _not_finite(record.values)]
    found += [f"d{loss}/d{name}" for name in _not_finite(record.grads)]
    return found


def _array(value: Any) -> Any:
    """Return a leaf's samples as an array (numpy loads only then), a float as it is."""
    return numpy().array(value) if isinstance(value, tuple) else value


def _not_finite(values: Mapping[str, Any]) -> list[str]:
    """Return the names whose value, a float or an array of samples, is not finite everywhere."""
    found = list(values.values())
    try:  # floats: one sum at C speed says that all are finite (an inf or a nan would make it so)
        if math.isfinite(sum(found)):
            return []
    except TypeError:  # arrays of samples: their sum is an array
        pass
    return [name for name, v in zip(values, found) if not numpy().isfinite(v).all()]
