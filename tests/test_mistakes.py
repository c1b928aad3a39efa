"""The mistakes engine: each mistake's trace against values worked out apart from bptrace.

Each expected value is computed in the test: by hand with the arithmetic written out, or by a
plain-Python / numpy re-implementation of the student's wrong algorithm written here.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SQUARE

from bptrace.engine.graph import Graph, build_graph
from bptrace.engine.mistakes import MISTAKES, STAGES, Mistake, not_applicable, student_graph
from bptrace.engine.tracer import Batches, Final, Step, trace
from bptrace.language.parser import parse_layered
from bptrace.language.printer import show

SIMPLE = ROOT / "networks" / "simple.bp"


def load(text_or_path: str | Path) -> Graph:
    """Build a graph, its layers kept (transpose-missing needs them), from text or a path."""
    text = text_or_path.read_text("utf-8") if isinstance(text_or_path, Path) else text_or_path
    statements, layers = parse_layered(text)
    return build_graph(statements, None, layers)


def run(graph: Graph, steps: int = 1, mistake: str | None = None, **options) -> list:
    """Return the records of a trace, with the mistake of that id (or none)."""
    made = MISTAKES[mistake] if mistake is not None else None
    return list(trace(graph, steps, mistake=made, **options))


def grads_of(step: Step) -> dict[str, float]:
    """Return each param's batch gradient, as the update was given it (sign-flipped aside)."""
    return {u.param: u.grad for u in step.updates}


def after(step: Step) -> dict[str, float]:
    return {u.param: u.after for u in step.updates}


def flat(records: list) -> list:
    """Return every number of a trace, labelled, in order (arrays as lists)."""
    out = []
    for r in records:
        if isinstance(r, Final):
            out += [("final", r.loss), *sorted(r.params.items())]
            continue
        out.append(("loss", r.loss))
        out += [("value", k, v) for k, v in r.values.items()]
        out += [("grad", k, v) for k, v in r.grads.items()]
        out += [("partial", k, v) for k, v in r.partial_values.items()]
        out += [("chain", c.param, c.grad) for c in r.chains]
        out += [("update", u.param, u.grad, u.after) for u in r.updates]
    return [tuple(np.asarray(x).tolist() if not isinstance(x, str) else x for x in t) for t in out]


# -- the table ---------------------------------------------------------------------------------


def test_the_mistakes_in_order():
    assert list(MISTAKES) == [
        "overwrite-at-fork",
        "one-at-a-time",
        "sigmoid-from-z",
        "sigmoid-missing",
        "half-dropped",
        "half-doubled",
        "sign-flipped",
        "mean-twice",
        "transpose-missing",
    ]
    for key, m in MISTAKES.items():
        assert isinstance(m, Mistake) and m.id == key
        assert m.title and m.wrong and m.right and m.wrong != m.right
        assert m.stage in STAGES


def test_no_mistake_is_the_plain_trace(network):
    graph = load(network)
    assert flat(list(trace(graph, 3))) == flat(list(trace(graph, 3, mistake=None)))


def test_each_mistake_applies_or_says_why(network):
    """Each mistake either changes the trace somewhere, or is not applicable, with a reason."""
    graph = load(network)
    right = flat(run(graph, 2))
    for key, m in MISTAKES.items():
        reason = not_applicable(graph, m)
        if reason is None:
            assert flat(run(graph, 2, key)) != right, (network.name, key)
        else:
            assert isinstance(reason, str) and 0 < len(reason.split()) <= 12, (key, reason)


@pytest.mark.parametrize(
    "name, key, reason",
    [
        ("simple.bp", "overwrite-at-fork", "no fork: each name feeds one node"),
        (
            "two_layer.bp",
            "overwrite-at-fork",
            "no fork on a param's path: only inputs feed several nodes",
        ),
        ("fanout.bp", "one-at-a-time", "one param only"),
        ("simple.bp", "sigmoid-from-z", "no sigmoid in this network"),
        ("simple.bp", "sigmoid-missing", "no sigmoid in this network"),
        ("logistic.bp", "half-dropped", "the loss has no ½ factor"),
        ("softmax.bp", "half-doubled", "the loss has no ½ factor"),
        ("simple.bp", "mean-twice", "one sample: no mean to take twice"),
        ("two_layer.bp", "transpose-missing", "no square W @ v layer"),
        ("layers.bp", "transpose-missing", "no square W @ v layer"),
        ("two_layer_matrix.bp", "transpose-missing", "W @ v is square only where v is an input"),
    ],
)
def test_not_applicable_reasons(name, key, reason):
    assert not_applicable(load(ROOT / "networks" / name), MISTAKES[key]) == reason


@pytest.mark.parametrize(
    "name, key",
    [
        ("fanout.bp", "overwrite-at-fork"),
        ("softmax.bp", "overwrite-at-fork"),
        ("simple.bp", "one-at-a-time"),
        ("two_layer.bp", "sigmoid-from-z"),
        ("logistic.bp", "sigmoid-missing"),
        ("simple.bp", "half-dropped"),
        ("layers.bp", "half-doubled"),
        ("fanout.bp", "sign-flipped"),
        ("xor.bp", "mean-twice"),
    ],
)
def test_applicable(name, key):
    assert not_applicable(load(ROOT / "networks" / name), MISTAKES[key]) is None


# -- simple.bp by hand: x = 2, y = 1, w1 = 0.5, b1 = 0.1, w2 = -0.3, b2 = 0.2, lr 0.1 ------------
# h = 2·0.5 + 0.1 = 1.1, g = 1.1·(−0.3) + 0.2 = −0.13, ∂L/∂g = −(y − g) = −1.13;
# ∂L/∂w1 = −1.13·(−0.3)·2 = 0.678, ∂L/∂b1 = 0.339, ∂L/∂w2 = −1.13·1.1 = −1.243, ∂L/∂b2 = −1.13.
RIGHT = {"w1": 0.678, "b1": 0.339, "w2": -1.243, "b2": -1.13}
START = {"w1": 0.5, "b1": 0.1, "w2": -0.3, "b2": 0.2}


def simple_grads(w1: float, b1: float, w2: float, b2: float) -> dict[str, float]:
    """Return simple.bp's gradients at these params: its backward pass in plain Python."""
    x, y = 2.0, 1.0
    h = x * w1 + b1
    g = h * w2 + b2
    dg = -(y - g)
    return {"w1": dg * w2 * x, "b1": dg * w2, "w2": dg * h, "b2": dg}


def test_simple_right_by_hand():
    assert grads_of(run(load(SIMPLE))[0]) == pytest.approx(RIGHT, rel=1e-12)
    assert simple_grads(**START) == pytest.approx(RIGHT, rel=1e-12)


def test_half_dropped_doubles_the_loss_partials():
    step = run(load(SIMPLE), 1, "half-dropped")[0]
    # the student's ∂L/∂g = −2(y − g) = −2·1.13 = −2.26: every gradient doubles
    assert step.partial_values[("L", "g")] == pytest.approx(-2.26)
    assert grads_of(step) == pytest.approx({"w1": 1.356, "b1": 0.678, "w2": -2.486, "b2": -2.26})
    assert step.loss == pytest.approx(0.5 * 1.13**2)  # the loss itself stays right: 0.63845
    # w1 ← 0.5 − 0.1·1.356 = 0.3644
    assert after(step)["w1"] == pytest.approx(0.3644)
    partial = next(p for p in step.partials if (p.of, p.wrt) == ("L", "g"))
    assert show(partial.edge.formula) == "-2*(y - g)"


def test_half_doubled_halves_the_loss_partials():
    step = run(load(SIMPLE), 1, "half-doubled")[0]
    # ∂L/∂g = ½·(−1.13) = −0.565: every gradient halves
    assert step.partial_values[("L", "g")] == pytest.approx(-0.565)
    assert grads_of(step) == pytest.approx({"w1": 0.339, "b1": 0.1695, "w2": -0.6215, "b2": -0.565})
    assert step.loss == pytest.approx(0.63845)


@pytest.mark.parametrize("loss", ["1/2*(y - g)^2", "0.5*(y - g)^2", "(y - g)^2*0.5", "(y - g)^2/2"])
def test_half_written_any_way(loss):
    graph = load(SIMPLE.read_text().replace("1/2*(y - g)^2", loss))
    assert not_applicable(graph, MISTAKES["half-dropped"]) is None
    step = run(graph, 1, "half-dropped")[0]
    assert grads_of(step)["w2"] == pytest.approx(2 * -1.243)


def test_half_not_there():
    graph = load(SIMPLE.read_text().replace("1/2*(y - g)^2", "(y - g)^2"))
    assert not_applicable(graph, MISTAKES["half-dropped"]) == "the loss has no ½ factor"
    assert flat(run(graph, 2, "half-dropped")) == flat(run(graph, 2))  # nothing to drop


def test_sign_flipped_by_hand():
    step = run(load(SIMPLE), 1, "sign-flipped")[0]
    assert grads_of(step) == pytest.approx(RIGHT)  # the gradients are right
    # p ← p + 0.1·∂L/∂p: w1 = 0.5 + 0.0678, b1 = 0.1 + 0.0339, w2 = −0.3 − 0.1243, b2 = 0.2 − 0.113
    assert after(step) == pytest.approx({"w1": 0.5678, "b1": 0.1339, "w2": -0.4243, "b2": 0.087})


def test_sign_flipped_with_momentum():
    """Momentum is given −g: v = 0.9·v − g, p ← p − α·v, over two steps."""
    graph = load(
        SIMPLE.read_text().replace("set lr = 0.1", "set lr = 0.1\nset optimizer = momentum")
    )
    records = run(graph, 2, "sign-flipped")
    params, velocity = dict(START), dict.fromkeys(START, 0.0)
    for step in records[:2]:
        g = simple_grads(**params)
        assert grads_of(step) == pytest.approx(g)
        for name in params:
            velocity[name] = 0.9 * velocity[name] + -g[name]
            params[name] = params[name] - 0.1 * velocity[name]
        assert after(step) == pytest.approx(params)
        assert {u.param: u.state["velocity"] for u in step.updates} == pytest.approx(velocity)


def test_one_at_a_time_by_hand():
    step = run(load(SIMPLE), 1, "one-at-a-time")[0]
    # w1 first, from the step's one pass: 0.678, w1 ← 0.5 − 0.0678 = 0.4322
    w1 = 0.5 - 0.1 * 0.678
    # b1 with the new w1: h = 2·0.4322 + 0.1 = 0.9644, g = 0.9644·(−0.3) + 0.2 = −0.08932,
    # ∂L/∂b1 = −(1 + 0.08932)·(−0.3) = 0.326796, b1 ← 0.1 − 0.0326796
    h = 2 * w1 + 0.1
    g = h * -0.3 + 0.2
    d_b1 = -(1 - g) * -0.3
    assert d_b1 == pytest.approx(0.326796)
    b1 = 0.1 - 0.1 * d_b1
    # w2 with the new w1 and b1: h = 0.8644 + 0.0673204 = 0.9317204, ∂L/∂w2 = −(1 − g)·h
    h = 2 * w1 + b1
    g = h * -0.3 + 0.2
    d_w2 = -(1 - g) * h
    w2 = -0.3 - 0.1 * d_w2
    # b2 with all three new: ∂L/∂b2 = −(1 − g)
    g = h * w2 + 0.2
    d_b2 = -(1 - g)
    b2 = 0.2 - 0.1 * d_b2
    assert grads_of(step) == pytest.approx({"w1": 0.678, "b1": d_b1, "w2": d_w2, "b2": d_b2})
    assert after(step) == pytest.approx({"w1": w1, "b1": b1, "w2": w2, "b2": b2})
    # the step's gradients table gives each param its own pass's gradient
    assert {p: step.grads[p] for p in START} == pytest.approx(grads_of(step))
    # its values are those of the first pass, before any update
    assert step.values["g"] == pytest.approx(-0.13)
    assert step.loss == pytest.approx(0.63845)


def test_one_at_a_time_over_steps():
    """The student's algorithm in plain Python over three steps, against the trace."""
    records = run(load(SIMPLE), 3, "one-at-a-time")
    params = dict(START)
    for step in records[:3]:
        for name in params:
            grad = simple_grads(**params)[name]
            assert grads_of(step)[name] == pytest.approx(grad)
            params[name] -= 0.1 * grad
        assert after(step) == pytest.approx(params)
    assert records[-1].params == pytest.approx(params)


# -- overwrite-at-fork -------------------------------------------------------------------------

FORK = """
param a = 3
b = 2*a
loss L = b*b + 5*a
"""


def test_overwrite_at_fork_by_hand():
    """a feeds b and L: the last visited, b (the earliest consumer), overwrites L's 5."""
    graph = load(FORK)
    step = run(graph, 1, "overwrite-at-fork")[0]
    # right: ∂L/∂a = 2b·2 + 5 = 2·6·2 + 5 = 29
    assert run(graph)[0].grads["a"] == pytest.approx(29)
    # backprop visits L (∂L/∂b = 2b = 12, grad[a] = 5), then b: grad[a] = 12·2 = 24, not 24 + 5
    assert step.grads["a"] == pytest.approx(24)
    assert grads_of(step) == {"a": pytest.approx(24)}
    assert after(step)["a"] == pytest.approx(3 - 0.1 * 24)
    # the local partials stay right
    assert step.partial_values[("L", "a")] == 5 and step.partial_values[("b", "a")] == 2


def test_overwrite_at_fork_fanout():
    """fanout.bp: L = c·a with c = b + b, b = a + a, a = 3."""
    step = run(load(ROOT / "networks" / "fanout.bp"), 1, "overwrite-at-fork")[0]
    # right: 8a = 24. Student: L first: grad[c] = a = 3, grad[a] = c = 12; c: grad[b] = 3·2 = 6;
    # b: grad[a] = 6·2 = 12 (overwriting 12): ∂L/∂a = 12, and a ← 3 − 0.05·12 = 2.4
    assert step.grads["a"] == pytest.approx(12)
    assert after(step)["a"] == pytest.approx(2.4)


def overwritten(graph: Graph, partials) -> dict[str, float]:
    """Return ∂L/∂name by the student's backward pass: `=` where `+=` belongs (plain Python)."""
    grads = {graph.loss: 1.0}
    for node in reversed(graph.nodes):
        for edge in node.edges:
            grads[edge.wrt] = grads.get(node.name, 0.0) * partials[(edge.of, edge.wrt)]
    return grads


@pytest.mark.parametrize("name", ["softmax.bp", "fanout.bp", "layers.bp"])
def test_overwrite_at_fork_reimplemented(name):
    graph = load(ROOT / "networks" / name)
    right, wrong = run(graph, 2)[0], run(graph, 2, "overwrite-at-fork")[0]
    assert wrong.partial_values == pytest.approx(dict(right.partial_values))  # partials stay right
    expected = overwritten(graph, right.partial_values)
    for name_, value in expected.items():
        assert wrong.grads[name_] == pytest.approx(value, abs=1e-12), name_


# -- σ′ from z, σ′ missing: two_layer.bp in plain Python ---------------------------------------


def two_layer_grads(slope) -> dict[str, float]:
    """Return two_layer.bp's step-1 gradients with σ′ computed as slope(z, a)."""
    x0, x1, y = 0.5, -1.0, 1.0
    w0, w1, w2, w3, w4, w5, b0, b1, b2 = 0.1, -0.2, 0.3, 0.4, 0.5, -0.6, 0.1, 0.0, 0.2
    z0 = x0 * w0 + x1 * w2 + b0
    z1 = x0 * w1 + x1 * w3 + b1
    a0, a1 = 1 / (1 + math.exp(-z0)), 1 / (1 + math.exp(-z1))
    a2 = a0 * w4 + a1 * w5 + b2
    d2 = -(y - a2)
    d0, d1 = d2 * w4 * slope(z0, a0), d2 * w5 * slope(z1, a1)
    return {
        "w0": d0 * x0,
        "w1": d1 * x0,
        "w2": d0 * x1,
        "w3": d1 * x1,
        "w4": d2 * a0,
        "w5": d2 * a1,
        "b0": d0,
        "b1": d1,
        "b2": d2,
    }


TWO_LAYER = ROOT / "networks" / "two_layer.bp"


def test_two_layer_right():
    assert grads_of(run(load(TWO_LAYER))[0]) == pytest.approx(
        two_layer_grads(lambda z, a: a * (1 - a))
    )


def test_sigmoid_from_z():
    step = run(load(TWO_LAYER), 1, "sigmoid-from-z")[0]
    # z0 = 0.5·0.1 + (−1)·0.3 + 0.1 = −0.15: the student's ∂a0/∂z0 = −0.15·(1 + 0.15) = −0.1725
    assert step.values["z0"] == pytest.approx(-0.15)
    assert step.partial_values[("a0", "z0")] == pytest.approx(-0.1725)
    z1 = step.values["z1"]
    assert step.partial_values[("a1", "z1")] == pytest.approx(z1 * (1 - z1))
    assert grads_of(step) == pytest.approx(two_layer_grads(lambda z, a: z * (1 - z)))
    formulas = {(p.of, p.wrt): show(p.edge.formula) for p in step.partials}
    assert formulas[("a0", "z0")] == "z0*(1 - z0)"
    assert formulas[("a2", "a0")] == "w4"  # the others as they were


def test_sigmoid_missing():
    step = run(load(TWO_LAYER), 1, "sigmoid-missing")[0]
    assert step.partial_values[("a0", "z0")] == 1
    assert grads_of(step) == pytest.approx(two_layer_grads(lambda z, a: 1.0))


TANH = """
input x = 2
target y = 1
param w = 0.3
z = x*w
a = tanh(z)
loss L = 1/2*(y - a)^2
"""


def test_tanh_from_z_and_missing():
    graph = load(TANH)
    # z = 0.6, a = tanh(0.6); ∂L/∂w = −(y − a)·tanh′·x
    z, a = 0.6, math.tanh(0.6)
    right = run(graph)[0]
    assert right.grads["w"] == pytest.approx(-(1 - a) * (1 - a**2) * 2)
    from_z = run(graph, 1, "sigmoid-from-z")[0]
    assert from_z.partial_values[("a", "z")] == pytest.approx(1 - 0.36)  # 1 − z² = 0.64
    assert from_z.grads["w"] == pytest.approx(-(1 - a) * (1 - z**2) * 2)
    missing = run(graph, 1, "sigmoid-missing")[0]
    assert missing.grads["w"] == pytest.approx(-(1 - a) * 2)


def test_sigmoid_of_an_expression():
    """p = σ(x·w + b) in one node: ∂p/∂w = u·(1 − u)·x with u = x·w + b."""
    graph = load(
        "input x = 2\ntarget y = 1\nparam w = 0.5\nparam b = 0.1\np = σ(x*w + b)\n"
        "loss L = 1/2*(y - p)^2\n"
    )
    step = run(graph, 1, "sigmoid-from-z")[0]
    u = 2 * 0.5 + 0.1
    assert step.partial_values[("p", "w")] == pytest.approx(u * (1 - u) * 2)
    assert step.partial_values[("p", "b")] == pytest.approx(u * (1 - u))


def test_student_graph_leaves_the_right_one():
    graph = load(TWO_LAYER)
    student = student_graph(graph, MISTAKES["sigmoid-from-z"])
    assert student is not graph and student.nodes != graph.nodes
    assert student_graph(graph, MISTAKES["sign-flipped"]) is graph
    a0 = next(n for n in graph.nodes if n.name == "a0")
    assert show(a0.edges[0].formula) == "a0*(1 - a0)"


# -- mean twice ----------------------------------------------------------------------------------

SAMPLES = """
input  x = [1, 2, 3]
target y = [2, 4, 5]
param  w = 0.5
set lr = 0.1
loss L = 1/2*(y - x*w)^2
"""


def test_mean_twice_by_hand():
    # x·w = 0.5, 1, 1.5; y − x·w = 1.5, 3, 3.5; ∂Lᵢ/∂w = −(y − x·w)·x = −1.5, −6, −10.5
    # right: the mean, −18/3 = −6; the student's: −18/3/3 = −2
    right, wrong = run(load(SAMPLES))[0], run(load(SAMPLES), 1, "mean-twice")[0]
    assert grads_of(right)["w"] == pytest.approx(-6)
    assert grads_of(wrong)["w"] == pytest.approx(-2)
    assert after(wrong)["w"] == pytest.approx(0.5 + 0.2)
    assert wrong.loss == right.loss  # the loss and per-sample gradients stay right
    assert np.array_equal(wrong.grads["w"], right.grads["w"])


def test_mean_twice_mini_batches():
    step = run(load(SAMPLES), 1, "mean-twice", batches=Batches(2))[0]
    # samples 1 and 2: (−1.5 − 6)/2 = −3.75, and again /2: −1.875
    assert grads_of(step)["w"] == pytest.approx(-1.875)


def test_mean_twice_not_with_sum():
    graph = load(SAMPLES + "set reduction = sum\n")
    assert not_applicable(graph, MISTAKES["mean-twice"]) == "reduction = sum: no mean to take"
    assert flat(run(graph, 2, "mean-twice")) == flat(run(graph, 2))


def test_mean_twice_xor_numpy():
    """xor.bp's batch gradient in numpy, divided by 4 twice."""
    graph = load(ROOT / "networks" / "xor.bp")
    p = graph.initial_params()
    x0, x1, y = np.array([0, 0, 1, 1.0]), np.array([0, 1, 0, 1.0]), np.array([0, 1, 1, 0.0])

    def sig(v):
        return 1 / (1 + np.exp(-v))

    a0 = sig(x0 * p["w0"] + x1 * p["w2"] + p["b0"])
    a1 = sig(x0 * p["w1"] + x1 * p["w3"] + p["b1"])
    out = sig(a0 * p["w4"] + a1 * p["w5"] + p["b2"])
    d2 = -(y - out) * out * (1 - out)
    d0, d1 = d2 * p["w4"] * a0 * (1 - a0), d2 * p["w5"] * a1 * (1 - a1)
    per_sample = {
        "w0": d0 * x0, "w1": d1 * x0, "w2": d0 * x1, "w3": d1 * x1,
        "b0": d0, "b1": d1, "w4": d2 * a0, "w5": d2 * a1, "b2": d2,
    }  # fmt: skip
    expected = {k: v.sum() / 4 / 4 for k, v in per_sample.items()}
    step = run(graph, 1, "mean-twice")[0]
    assert grads_of(step) == pytest.approx(expected)
    assert after(step) == pytest.approx({k: p[k] - 5 * expected[k] for k in p})


# -- transpose missing ----------------------------------------------------------------------------


def test_transpose_missing_numpy():
    graph = load(SQUARE)
    assert not_applicable(graph, MISTAKES["transpose-missing"]) is None
    x, y = np.array([1.0, 2.0]), np.array([1.0, 0.0])
    w1, w2 = np.array([[0.1, 0.2], [0.3, 0.4]]), np.array([[0.5, -0.6], [0.7, 0.8]])
    h = w1 @ x
    g = w2 @ h
    dg = g - y
    right_dh, wrong_dh = w2.T @ dg, w2 @ dg  # the student forgets the transpose
    right, wrong = run(graph)[0], run(graph, 1, "transpose-missing")[0]
    for step, dh in ((right, right_dh), (wrong, wrong_dh)):
        d_w1, d_w2 = np.outer(dh, x), np.outer(dg, h)
        d_x = (w1.T if step is right else w1) @ dh
        expected = {f"W1[{i + 1},{j + 1}]": d_w1[i, j] for i in range(2) for j in range(2)}
        expected |= {f"W2[{i + 1},{j + 1}]": d_w2[i, j] for i in range(2) for j in range(2)}
        assert grads_of(step) == pytest.approx(expected)
        assert [step.grads["h[1]"], step.grads["h[2]"]] == pytest.approx(list(dh))
        assert [step.grads["x[1]"], step.grads["x[2]"]] == pytest.approx(list(d_x))
    # the student's formula: ∂g[1]/∂h[2] = W2[2,1], not W2[1,2]
    formulas = {(p.of, p.wrt): show(p.edge.formula) for p in wrong.partials}
    assert formulas[("g[1]", "h[2]")] == "W2[2,1]"
    assert formulas[("g[1]", "h[1]")] == "W2[1,1]"
    assert wrong.partial_values[("g[1]", "h[2]")] == 0.7


SQUARE_ON_X = """
input  x[2] = [1, 2]
target y[1] = [1]
param W1[2,2] = [[0.1, 0.2],
                 [0.3, 0.4]]
param W2[1,2] = [[0.5, -0.6]]
h = W1 @ x
g = W2 @ h
loss L = 1/2*sum((y - g)^2)
"""


def test_transpose_missing_only_square():
    text = SQUARE_ON_X
    graph = load(text)
    # W1 is square but meets the input x: only ∂L/∂x would change, which no table shows
    reason = "W @ v is square only where v is an input"
    assert not_applicable(graph, MISTAKES["transpose-missing"]) == reason
    right, wrong = run(graph)[0], run(graph, 1, "transpose-missing")[0]
    assert grads_of(wrong) == grads_of(right)
    assert wrong.grads["x[1]"] != right.grads["x[1]"]
    assert not_applicable(load(ROOT / "networks" / "softmax.bp"), MISTAKES["transpose-missing"])


@pytest.mark.parametrize("name", ["simple.bp", "two_layer.bp", "xor.bp"])
def test_half_dropped_is_the_derivative_without_the_half(name):
    """The student's ∂L/∂out is the central difference of (y − out)², the loss without its ½."""
    graph = load(ROOT / "networks" / name)
    step = run(graph, 1, "half-dropped")[0]
    out = {"simple.bp": "g", "two_layer.bp": "a2", "xor.bp": "p"}[name]
    y, g, h = np.asarray(step.values["y"]), np.asarray(step.values[out]), 1e-6
    central = ((y - (g + h)) ** 2 - (y - (g - h)) ** 2) / (2 * h)
    assert np.asarray(step.partial_values[("L", out)]) == pytest.approx(central, rel=1e-6)


def test_one_at_a_time_keeps_the_first_pass():
    """With samples, the step's values and partials stay those of its first pass: the later passes
    (one per param) do not overwrite them."""
    graph = load(ROOT / "networks" / "xor.bp")
    right, wrong = run(graph, 1)[0], run(graph, 1, "one-at-a-time")[0]
    for k in right.values:
        assert np.array_equal(wrong.values[k], right.values[k]), k
    for k in right.partial_values:
        assert np.array_equal(wrong.partial_values[k], right.partial_values[k]), k
    first = graph.params[0]  # the first param's gradient is the step's own
    assert grads_of(wrong)[first] == grads_of(right)[first]
    assert grads_of(wrong)[graph.params[-1]] != grads_of(right)[graph.params[-1]]
