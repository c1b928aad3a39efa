"""softmax, logsumexp, cross_entropy and cross_entropy_logits: layers written out as scalars.

Values are checked against numpy's formulas, gradients against central finite differences and
against the classic identity ∂L/∂z = softmax(z) − y, and the stable forms at logits of ±1000, where
exp overflows a float.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import ROOT, examples, finite_difference, load
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bptrace.cli.app import app
from bptrace.engine.tracer import trace
from bptrace.errors import NetworkError, NumericFault
from bptrace.language.parser import parse
from bptrace.language.printer import show

SOFTMAX = ROOT / "networks" / "softmax.bp"


def literal(values) -> str:
    return "[" + ", ".join(repr(float(v)) for v in values) + "]"


def first_step(text: str):
    return next(trace(load(text), 1))


def np_softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())  # numpy's own shift: an independent way to the same numbers
    return e / e.sum()


def grads(step) -> dict[str, float]:
    return {c.param: c.grad for c in step.chains}


# -- values ----------------------------------------------------------------------------------

logits = st.lists(st.floats(-5, 5, allow_nan=False), min_size=1, max_size=6)


@settings(max_examples=examples(0.2))  # each example builds and runs a small network
@given(z=logits, data=st.data())
def test_values_equal_numpys(z, data):
    n = len(z)
    y = data.draw(st.lists(st.floats(0, 1), min_size=n, max_size=n))
    text = f"""
param z[{n}] = {literal(z)}
target y[{n}] = {literal(y)}
p = softmax(z)
lse = logsumexp(z)
ce = cross_entropy(p, y)
loss L = cross_entropy_logits(z, y)
"""
    values = first_step(text).values
    z, y = np.array(z), np.array(y)
    p = np.exp(z) / np.exp(z).sum()
    assert [values[f"p[{k}]"] for k in range(1, n + 1)] == pytest.approx(p, rel=1e-12)
    assert values["lse"] == pytest.approx(np.log(np.exp(z).sum()), rel=1e-12, abs=1e-12)
    ce = -(y * np.log(p)).sum()
    assert values["ce"] == pytest.approx(ce, rel=1e-10, abs=1e-12)
    # the same loss for any y, one-hot or not: (Σ y)·logsumexp(z) − Σ y·z
    assert values["L"] == pytest.approx(ce, rel=1e-10, abs=1e-12)


def test_logsigmoid_of_a_vector_is_elementwise():
    values = first_step("param z[3] = [-2, 0, 3]\ns = logsigmoid(z)\nloss L = sum(s)\n").values
    expected = [math.log(1 / (1 + math.exp(-v))) for v in (-2, 0, 3)]
    assert [values[f"s[{k}]"] for k in (1, 2, 3)] == pytest.approx(expected, rel=1e-14)


# -- how they expand -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("logsumexp(z)", "logaddexp(logaddexp(z[1], z[2]), z[3])"),
        ("softmax(z)", "exp(z[1] - logaddexp(logaddexp(z[1], z[2]), z[3]))"),
        ("cross_entropy(z, y)", "-(y[1]*log(z[1]) + y[2]*log(z[2]) + y[3]*log(z[3]))"),
        (
            "cross_entropy_logits(z, y)",
            "(y[1] + y[2] + y[3])*logaddexp(logaddexp(z[1], z[2]), z[3])"
            " - (y[1]*z[1] + y[2]*z[2] + y[3]*z[3])",
        ),
        ("logsigmoid(z)", "logsigmoid(z[1])"),
        (
            "sum(softmax(2*z))",  # of any vector expression, inside another
            " + ".join(
                f"exp(2*z[{k}] - logaddexp(logaddexp(2*z[1], 2*z[2]), 2*z[3]))" for k in (1, 2, 3)
            ),
        ),
    ],
)
def test_each_function_writes_element_1(expression, expected):
    text = f"param z[3] = 0\ntarget y[3] = 0\nv = {expression}\nloss L = sum(z)\n"
    v = next(s for s in parse(text) if s.name in ("v", "v[1]"))
    assert show(v.expr) == expected


def test_logsumexp_of_many_pairs_nests_log2_deep():
    text = "param z[5] = 0\nv = logsumexp(z)\nloss L = v\n"
    v = next(s for s in parse(text) if s.name == "v")
    assert show(v.expr) == (
        "logaddexp(logaddexp(logaddexp(z[1], z[2]), logaddexp(z[3], z[4])), z[5])"
    )
    one = next(s for s in parse("param z[1] = 0\nloss L = logsumexp(z)\n") if s.name == "L")
    assert show(one.expr) == "z[1]"  # log(e^z) = z


def test_the_names_are_not_reserved():
    step = first_step("param softmax = 2\nloss L = softmax^2\n")
    assert step.loss == 4


# -- gradients -------------------------------------------------------------------------------

CLASSIFIER = """
input  x[2] = [0.5, -1]
target y[3] = [0, 0, 1]
param W1[4,2] = [[0.1, 0.3], [-0.2, 0.4], [0.5, -0.1], [0.3, 0.2]]
param b1[4] = [0.1, 0, -0.1, 0.2]
param W2[3,4] = [[0.5, -0.6, 0.2, 0.1], [-0.3, 0.4, 0.1, -0.2], [0.2, 0.2, -0.5, 0.3]]
param b2[3] = [0, 0.1, -0.1]
h = tanh(W1 @ x + b1)
z = W2 @ h + b2
"""


@pytest.mark.parametrize(
    "loss",
    [
        "p = softmax(z)\nloss L = cross_entropy(p, y)",
        "loss L = cross_entropy_logits(z, y)",
        "loss L = logsumexp(z) - dot(y, z)",
        "loss L = -sum(y*log(softmax(z)))",
        "loss L = -dot(y, logsigmoid(z)) - dot(1 - y, logsigmoid(-z))",  # one-vs-rest
    ],
)
def test_a_softmax_classifier_gradients_match_central_differences(loss):
    graph = load(CLASSIFIER + loss + "\n")
    params = graph.initial_params()
    step = next(trace(graph, 1))
    assert len(step.chains) == 8 + 4 + 12 + 3
    for chain in step.chains:
        numeric = finite_difference(graph, params, chain.param)
        assert chain.grad == pytest.approx(numeric, rel=1e-6, abs=1e-9), chain.param


def test_the_softmax_forms_give_one_loss_and_one_gradient():
    steps = [
        first_step(CLASSIFIER + loss + "\n")
        for loss in (
            "p = softmax(z)\nloss L = cross_entropy(p, y)",
            "loss L = cross_entropy_logits(z, y)",
        )
    ]
    a, b = steps
    assert a.loss == pytest.approx(b.loss, rel=1e-14)
    assert grads(a) == pytest.approx(grads(b), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("form", ["cross_entropy(softmax(z), y)", "cross_entropy_logits(z, y)"])
@pytest.mark.parametrize(
    ("z", "y"),
    [
        ([-0.25, -0.5, 0.35], [0, 1, 0]),
        ([2.0, -1.0, 0.5, 3.0], [0.1, 0.2, 0.3, 0.4]),  # a distribution, not one-hot
        ([0.0, 0.0], [1, 0]),
    ],
)
def test_the_gradient_wrt_the_logits_is_softmax_minus_y(form, z, y):
    n = len(z)
    step = first_step(
        f"param z[{n}] = {literal(z)}\ntarget y[{n}] = {literal(y)}\nloss L = {form}\n"
    )
    expected = np_softmax(np.array(z)) - np.array(y)  # for Σ y = 1
    got = [grads(step)[f"z[{k}]"] for k in range(1, n + 1)]
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_a_softmax_elements_partial_is_p_times_one_minus_p():
    step = first_step("param z[3] = [0.2, -1, 0.7]\np = softmax(z)\nloss L = p[1]\n")
    p = np_softmax(np.array([0.2, -1, 0.7]))
    partials = {(q.of, q.wrt): q for q in step.partials}
    own = partials["p[1]", "z[1]"]
    assert show(own.edge.formula).startswith("p[1]*(1 - ")  # the node itself: p[1]*(1 - p[1])
    assert own.value == pytest.approx(p[0] * (1 - p[0]), rel=1e-12)
    assert partials["p[1]", "z[3]"].value == pytest.approx(-p[0] * p[2], rel=1e-12)


# -- stability -------------------------------------------------------------------------------


def test_the_stable_forms_are_finite_at_logits_of_a_thousand():
    text = """
param z[3] = [1000, -1000, 0]
target y[3] = [0, 1, 0]
p = softmax(z)
s = logsigmoid(z)
lse = logsumexp(z)
loss L = cross_entropy_logits(z, y) + sum(s)/1000 + lse/1000
"""
    step = first_step(text)
    v = step.values
    assert [v["p[1]"], v["p[2]"], v["p[3]"]] == [1.0, 0.0, 0.0]  # e^−1000 is below a float
    assert [v["s[1]"], v["s[2]"], v["s[3]"]] == pytest.approx([0.0, -1000.0, -math.log(2)])
    assert v["lse"] == 1000.0
    # logsumexp(z) − z[2] = 1000 − (−1000); sum(s)/1000 = −1 − log(2)/1000; lse/1000 = 1
    assert step.loss == pytest.approx(2000 - 1 - math.log(2) / 1000 + 1, rel=1e-15)
    # ∂/∂z = softmax(z) − y + σ(−z)/1000 + softmax(z)/1000
    expected = [1 + 0 + 1 / 1000, -1 + 1 / 1000, 0 + 0.5 / 1000]
    assert [grads(step)[f"z[{k}]"] for k in (1, 2, 3)] == pytest.approx(expected, rel=1e-12)


def test_logsumexp_of_equal_large_logits():
    step = first_step("param z[2] = [1000, 1000]\nloss L = logsumexp(z)\n")
    assert step.loss == 1000 + math.log(2)
    assert [grads(step)["z[1]"], grads(step)["z[2]"]] == [0.5, 0.5]


def test_the_naive_softmax_overflows_where_the_written_out_one_does_not():
    naive = "param z[2] = [1000, 0]\np = exp(z)/sum(exp(z))\nloss L = p[1]\n"
    with pytest.raises(NumericFault):
        first_step(naive)
    assert first_step("param z[2] = [1000, 0]\np = softmax(z)\nloss L = p[1]\n").loss == 1.0


# -- limits and the example ------------------------------------------------------------------


def test_a_softmax_too_wide_to_write_out_points_at_logsumexp_once():
    text = "param z[100] = 0\np = softmax(z)\nloss L = sum(p)\n"
    with pytest.raises(NetworkError) as info:
        parse(text)
    assert "1,000,000" in str(info.value.message)
    assert info.value.hint == (
        "each of the 100 elements of softmax(z) holds logsumexp(z): write it once, "
        "lse = logsumexp(z), then exp(z - lse)"
    )
    parse("param z[100] = 0\nlse = logsumexp(z)\np = exp(z - lse)\nloss L = sum(p)\n")


def test_the_example_runs_and_checks():
    runner = CliRunner()
    run = runner.invoke(app, ["run", str(SOFTMAX), "--steps", "3"])
    assert run.exit_code == 0, run.output
    assert "∂L/∂p[2]" in run.stdout
    assert runner.invoke(app, ["check", str(SOFTMAX)]).exit_code == 0
    step = first_step(SOFTMAX.read_text("utf-8"))
    p = np_softmax(np.array([0.1 * 0.5 - 0.3, -0.2 * 0.5 - 0.4, 0.5 * 0.5 + 0.1]))
    assert step.loss == pytest.approx(-math.log(p[1]), rel=1e-12)
    assert sum(step.values[f"p[{k}]"] for k in (1, 2, 3)) == pytest.approx(1, rel=1e-15)
