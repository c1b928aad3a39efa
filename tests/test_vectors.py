"""Layers: vector and matrix statements expand into the scalar graph (language/layers.py).

Checked against the same network written out in scalars by hand, against central finite
differences, and against numpy's matrix arithmetic on random shapes and values.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import NETWORKS, ROOT, examples, finite_difference, load
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bptrace.cli.app import app
from bptrace.engine.tracer import Final, forward, trace
from bptrace.language.layers import expand
from bptrace.language.parser import parse
from bptrace.language.printer import ASCII, BP, MATH, name_text, show
from bptrace.views import latex

LAYERS = ROOT / "networks" / "layers.bp"

# networks/layers.bp written out by hand, one weight per line: wij is W1[i,j], vj is W2[1,j].
SCALAR = """
input  x1 = 0.5
input  x2 = -1
target y  = 1
param w11 = 0.1
param w12 = 0.3
param w21 = -0.2
param w22 = 0.4
param w31 = 0.5
param w32 = -0.1
param c1 = 0.1
param c2 = 0
param c3 = -0.1
param v1 = 0.5
param v2 = -0.6
param v3 = 0.2
param d = 0.2
set lr = 0.5
z1 = w11*x1 + w12*x2 + c1
z2 = w21*x1 + w22*x2 + c2
z3 = w31*x1 + w32*x2 + c3
h1 = sigmoid(z1)
h2 = sigmoid(z2)
h3 = sigmoid(z3)
out = v1*h1 + v2*h2 + v3*h3 + d
loss L = (y - out)^2/2
"""
SAME = {
    **{f"W1[{i},{j}]": f"w{i}{j}" for i in (1, 2, 3) for j in (1, 2)},
    **{f"b1[{i}]": f"c{i}" for i in (1, 2, 3)},
    **{f"W2[1,{j}]": f"v{j}" for j in (1, 2, 3)},
    "b2[1]": "d",
}


def test_layers_bp_trains_exactly_as_the_scalar_network_written_by_hand():
    layered = list(trace(load(LAYERS), 5))
    scalar = list(trace(load(SCALAR), 5))
    assert len(layered) == len(scalar) == 6
    for a, b in zip(layered[:-1], scalar[:-1], strict=True):
        assert a.loss == b.loss  # the same sums in the same order: the same floats
        grads = {c.param: c.grad for c in a.chains}
        assert grads == {k: {c.param: c.grad for c in b.chains}[v] for k, v in SAME.items()}
        assert [u.param for u in a.updates] == list(SAME)
    final_a, final_b = layered[-1], scalar[-1]
    assert isinstance(final_a, Final) and final_a.loss == final_b.loss


def test_layers_bp_first_step_by_hand():
    # z1 = W1·x + b1 = (0.05 − 0.3 + 0.1, −0.1 − 0.4 + 0, 0.25 + 0.1 − 0.1) = (−0.15, −0.5, 0.25)
    step = next(trace(load(LAYERS), 1))
    assert [step.values[f"z1[{i}]"] for i in (1, 2, 3)] == pytest.approx([-0.15, -0.5, 0.25])
    h = 1 / (1 + np.exp(-np.array([-0.15, -0.5, 0.25])))
    out = 0.5 * h[0] - 0.6 * h[1] + 0.2 * h[2] + 0.2
    assert step.loss == pytest.approx((1 - out) ** 2 / 2, rel=1e-12)
    # ∂z1[2]/∂W1[2,1] is x[1], as the lecture writes it
    partial = next(p for p in step.partials if (p.of, p.wrt) == ("z1[2]", "W1[2,1]"))
    assert show(partial.edge.formula) == "x[1]" and partial.value == 0.5


def test_layers_bp_gradients_match_central_differences():
    graph = load(LAYERS)
    params = graph.initial_params()
    step = next(trace(graph, 1))
    for chain in step.chains:
        numeric = finite_difference(graph, params, chain.param)
        assert chain.grad == pytest.approx(numeric, rel=1e-6, abs=1e-9), chain.param


def test_a_layer_expands_into_plain_sums_named_by_element():
    text = "input x[2] = [1, 2]\nparam W1[3,2] = 0\nparam b1[3] = 0\nz1 = W1 @ x + b1\n"
    statements = parse(text + "loss L = mean(z1)\n")
    # fmt: skip
    assert [s.name for s in statements] == [
        "x[1]",
        "x[2]",
        "W1[1,1]",
        "W1[1,2]",
        "W1[2,1]",
        "W1[2,2]",
        "W1[3,1]",
        "W1[3,2]",
        "b1[1]",
        "b1[2]",
        "b1[3]",
        "z1[1]",
        "z1[2]",
        "z1[3]",
        "L",
    ]
    exprs = {s.name: show(s.expr) for s in statements if hasattr(s, "expr")}
    assert exprs["z1[2]"] == "W1[2,1]*x[1] + W1[2,2]*x[2] + b1[2]"
    assert exprs["L"] == "(z1[1] + z1[2] + z1[3])/3"
    z1 = next(s for s in statements if s.name == "z1[1]")
    assert z1.span.line == 4  # each scalar statement points at the line it came from


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("x @ W", "x[1]*W[1,1] + x[2]*W[2,1]"),  # row-vector convention: W is 2×3 here
        ("W' @ x", "W[1,1]*x[1] + W[2,1]*x[2]"),
        ("x' @ W", "x[1]*W[1,1] + x[2]*W[2,1]"),  # a vector's transpose is the vector
        ("dot(x, x)", "x[1]*x[1] + x[2]*x[2]"),
        ("max(x, 0)", "max(x[1], 0)"),
        ("-x/2", "-x[1]/2"),
        ("W[2,3] + x[1]", "W[2,3] + x[1]"),
    ],
)
def test_each_vector_expression_writes_element_1(expression, expected):
    text = f"input x[2] = 0\nparam W[2,3] = 0\nv = {expression}\nloss L = sum(W)\n"
    v = next(s for s in parse(text) if s.name in ("v", "v[1]"))
    assert show(v.expr) == expected


def test_files_without_layers_are_left_as_they_are():
    for path in NETWORKS:
        text = path.read_text("utf-8")
        statements = parse(text)
        again = expand(statements, text)  # expansion finds nothing to do in a scalar network
        if path != LAYERS:
            assert all(a is b for a, b in zip(again, statements, strict=True)), path


def test_a_statement_built_from_the_plan_of_an_earlier_one_still_expands():
    text = "param h[2] = 1\nparam g = 3\na = sigmoid(g)\nb = sigmoid(h)\nloss L = a + sum(b)\n"
    assert [s.name for s in parse(text)][-3:] == ["b[1]", "b[2]", "L"]


def test_element_names_on_the_slide_in_ascii_and_in_latex():
    assert name_text("W1[2,1]", MATH) == "W₁[2,1]"
    assert name_text("W1[2,1]", BP) == name_text("W1[2,1]", ASCII) == "W1[2,1]"
    assert name_text("x[10]", MATH) == "x[10]"
    assert latex.name("W1[2,1]") == "W_{1}[2,1]"


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), prog_name="bptrace")


def test_every_command_runs_on_the_layered_network():
    run = invoke("run", str(LAYERS), "--steps", "2")
    assert run.exit_code == 0, run.output
    assert "∂z₁[2]/∂W₁[2,1]" in run.stdout
    assert invoke("check", str(LAYERS)).exit_code == 0
    nudge = invoke("nudge", str(LAYERS), "W1[2,1]")
    assert nudge.exit_code == 0 and "W₁[2,1]" in nudge.stdout
    assert invoke("explain", str(LAYERS)).exit_code == 0
    records = [
        json.loads(line) for line in invoke("run", str(LAYERS), "--json").stdout.splitlines()
    ]
    assert "W1[2,1]" in records[0]["params"]


# -- numpy's matrix arithmetic on random shapes and values ------------------------------------

sizes = st.integers(1, 3)
values = st.floats(-2, 2, allow_nan=False).map(lambda v: round(v, 3))


def literal(array: np.ndarray) -> str:
    return repr(array.tolist()).replace("'", "")


@settings(max_examples=examples(0.2))  # each example builds and runs a small network
@given(st.data(), sizes, sizes, sizes)
def test_expanded_forward_values_equal_numpys(data, m, k, n):
    def array(*shape):
        return np.array(
            data.draw(st.lists(values, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
        )

    A, B, v, u = array(m, k).reshape(m, k), array(k, n).reshape(k, n), array(k), array(m)
    text = f"""
const A[{m},{k}] = {literal(A)}
const B[{k},{n}] = {literal(B)}
const v[{k}] = {literal(v)}
input u[{m}] = {literal(u)}
param w = 1
P = A @ B
Q = B' @ A' - sigmoid(P')
q = A @ v + u*w
r = u @ A
s = A' @ u
t = tanh(q) * u - q/2 + q^2
e = A[{m},{k}] * exp(r[1])
loss L = w*(sum(t) + mean(P) + dot(r, s) + e)
"""
    values_ = forward(load(text), {"w": 1.0})
    q = A @ v + u
    expected = {
        "P": A @ B,
        "Q": B.T @ A.T - 1 / (1 + np.exp(-(A @ B).T)),
        "q": q,
        "r": u @ A,
        "s": A.T @ u,
        "t": np.tanh(q) * u - q / 2 + q**2,
    }
    for name, array_ in expected.items():
        for index in np.ndindex(array_.shape):
            got = values_[f"{name}[{','.join(str(i + 1) for i in index)}]"]
            assert got == pytest.approx(array_[index], rel=1e-12, abs=1e-12), (name, index)
    e = A[m - 1, k - 1] * np.exp((u @ A)[0])
    total = np.sum(expected["t"]) + np.mean(A @ B) + (u @ A) @ (A.T @ u) + e
    assert values_["L"] == pytest.approx(total, rel=1e-12, abs=1e-12)
