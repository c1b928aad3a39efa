"""Incremental evaluation: rerunning a program's cone gives `run`'s value bit for bit, and `check`
built on it gives the comparisons that evaluating everything whole gave."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from conftest import NETWORKS, examples, load
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_properties import _extend

from bptrace.engine.check import GradCheck, PartialCheck, _check_step, _culprit, compare
from bptrace.engine.evaluate import compile_expr, cone, rerun, run, traced
from bptrace.engine.graph import Graph
from bptrace.engine.tracer import Step, batch, forward, trace
from bptrace.errors import NumericFault
from bptrace.language.printer import show
from bptrace.language.syntax import Binary, Call, Name, Neg, Num

NAMES = ["a", "b", "c", "d"]
NUMBERS = [Fraction(n) for n in ("0", "1", "2", "0.5", "-3", "1/3", "1e300", "2.5e-8")]

leaves = st.one_of(
    st.builds(Name, st.sampled_from(NAMES)), st.builds(Num, st.sampled_from(NUMBERS))
)
expressions = st.recursive(leaves, _extend, max_leaves=16)
numbers = st.one_of(st.floats(allow_nan=False), st.sampled_from([0.0, -0.0, 1.0, 1e-300, 710.0]))


def same(x, y) -> bool:
    """Tell whether two values are the same bits and the same type (float, float64 or array)."""
    return (
        type(x) is type(y)
        and np.asarray(x).dtype == np.asarray(y).dtype
        and (np.asarray(x).tobytes() == np.asarray(y).tobytes())
    )


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expr=expressions, data=st.data())
def test_rerunning_a_cone_equals_running_the_whole_program(expr, data):
    program = compile_expr(expr)
    env = {n: data.draw(numbers) for n in NAMES}
    moved = data.draw(st.sets(st.sampled_from(NAMES), min_size=1))
    with np.errstate(all="ignore"):
        c = cone(traced(program, env), moved)
        assert same(traced(program, env).values[-1], run(program, env))
        for _ in range(3):
            changed = {n: data.draw(numbers) for n in moved}
            whole = run(program, {**env, **changed})
            assert same(rerun(c, changed), whole), (show(expr), env, changed)


@settings(max_examples=examples(1 / 3), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expr=expressions, data=st.data())
def test_rerunning_a_cone_on_samples_equals_running_the_whole_program(expr, data):
    program = compile_expr(expr)
    samples = st.lists(numbers, min_size=3, max_size=3).map(np.array)
    # Per-sample arrays, float64 scalars (one sample of them) and floats, mixed as check mixes them.
    values = st.one_of(samples, numbers, numbers.map(np.float64))
    env = {n: data.draw(values) for n in NAMES}
    moved = data.draw(st.sets(st.sampled_from(NAMES), min_size=1))
    with np.errstate(all="ignore"):
        c = cone(traced(program, env), moved)
        for _ in range(3):
            changed = {n: data.draw(values) for n in moved}
            whole = run(program, {**env, **changed})
            assert same(rerun(c, changed), whole), (show(expr), env, changed)


def test_a_cone_of_a_balanced_sum_holds_a_path_not_the_tree():
    names = [Name(f"w{i}") for i in range(1024)]
    while len(names) > 1:
        names = [Binary("+", a, b) for a, b in zip(names[::2], names[1::2])]
    (expr,) = names
    env = {f"w{i}": float(i) for i in range(1024)}
    c = cone(traced(compile_expr(expr), env), ("w517",))
    assert len(c.steps) == 11  # the load and the ten sums above it
    assert rerun(c, {"w517": 0.5}) == sum(range(1024)) - 517 + 0.5


def test_a_name_used_twice_and_a_name_alone():
    program = compile_expr(Binary("*", Name("a"), Call("sin", (Name("a"),))))
    c = cone(traced(program, {"a": 0.3}), ("a",))
    assert same(rerun(c, {"a": 1.7}), run(program, {"a": 1.7}))
    alone = compile_expr(Name("a"))
    assert rerun(cone(traced(alone, {"a": 0.3}), ("a",)), {"a": 2.0}) == 2.0
    assert rerun(cone(traced(alone, {"a": 0.3}), ("b",)), {"b": 2.0}) == 0.3  # b is not used
    assert rerun(cone(traced(compile_expr(Neg(Num(Fraction(2)))), {}), ("a",)), {}) == -2.0


# `check`'s comparisons, made as before the cones: each difference quotient evaluated whole.


def whole_check_step(graph: Graph, record: Step):
    """Return the partials and grads that `_check_step` made by running every program whole."""
    params = {u.param: u.before for u in record.updates}
    nodes = {node.name: node for node in graph.nodes}
    values = record.values
    with np.errstate(all="ignore"):
        partials = [
            PartialCheck(p.edge, _whole_local(nodes[p.of].program, p.wrt, values, p.value))
            for p in record.partials
        ]
        grads = []
        for chain in record.chains:

            def loss(x: float, name: str = chain.param) -> float:
                return float(batch(graph, forward(graph, {**params, name: float(x)})[graph.loss]))

            result = compare(chain.grad, loss, float(params[chain.param]))
            wrong = result.status == "mismatch"
            culprit = _culprit(graph, chain.param, partials) if wrong else None
            grads.append(GradCheck(chain.param, result, culprit))
    return tuple(grads), tuple(partials)


def _whole_local(program, wrt, values, analytic):
    if np.ndim(analytic) == 0 and all(np.ndim(v) == 0 for v in values.values()):
        return _whole_local_at(program, wrt, values, analytic)
    samples = max(np.size(v) for v in values.values())
    found = [
        _whole_local_at(
            program,
            wrt,
            {k: np.broadcast_to(v, (samples,))[i] for k, v in values.items()},
            np.broadcast_to(analytic, (samples,))[i],
        )
        for i in range(samples)
    ]
    rank = {"ok": 0, "unstable": 1, "mismatch": 2}
    return max(found, key=lambda c: (rank[c.status], c.abs_error))


def _whole_local_at(program, wrt, values, analytic):
    def node_value(x: float) -> float:
        return float(run(program, {**values, wrt: float(x)}))

    return compare(analytic, node_value, float(values[wrt]))


def assert_checks_unchanged(graph: Graph, steps: int) -> None:
    for record in trace(graph, steps, max_paths=1):
        if isinstance(record, Step):
            made = _check_step(graph, record)
            # repr writes every float exactly (and a nan as nan, which == would not match).
            assert repr((made.grads, made.partials)) == repr(whole_check_step(graph, record))


@pytest.mark.parametrize("path", NETWORKS, ids=[p.name for p in NETWORKS])
def test_check_compares_the_examples_as_evaluating_whole_did(path):
    assert_checks_unchanged(load(path), 3)


WITH_SAMPLES = """\
input x = [0.5, -1, 2]
target y = [1, 0, 1e-3]
param w = 0.3
param b = -0.2
param u = 1.5
z = x*w + b
a = tanh(z) + max(z, 0)*u
loss L = (a - y)^2 + w*w*1e-3
"""


def test_check_with_samples_compares_as_evaluating_whole_did():
    assert_checks_unchanged(load(WITH_SAMPLES), 2)


@st.composite
def networks(draw):
    """A random DAG: three params and an input, then nodes over earlier names, the last the loss."""
    names = ["a", "b", "c", "x"]
    starts = st.sampled_from(["0.3", "0.7", "1.3", "-0.4", "2", "0"])
    lines = [f"param {n} = {draw(starts)}" for n in names[:3]]
    lines.append(f"input x = {draw(st.sampled_from(['1.5', '[0.5, -2]', '[0, 1, 3]']))}")
    for i in range(draw(st.integers(1, 5))):
        pool = st.sampled_from(names)
        leaves = st.one_of(st.builds(Name, pool), st.builds(Num, st.sampled_from(NUMBERS[:6])))
        expr = draw(st.recursive(leaves, _extend, max_leaves=6))
        lines.append(f"n{i} = {show(expr)}")
        names.append(f"n{i}")
    lines[-1] = "loss " + lines[-1]
    return "\n".join(lines) + "\n"


@settings(
    max_examples=examples(1 / 3),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(text=networks())
def test_check_of_random_networks_compares_as_evaluating_whole_did(text):
    try:
        graph = load(text)
        assert_checks_unchanged(graph, 2)
    except NumericFault:
        assume(False)  # log of a negative, 0/0 …: training stops before a check
