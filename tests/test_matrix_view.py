"""The matrix view (--view matrix): the scalar records arranged as the layers' vectors and matrices.

Every number it arranges is a scalar record's; the chain rule in matrix form is checked against
them with numpy: ∂L/∂W = δ·xᵀ (an outer product), ∂L/∂b = δ, δ1 = (W2ᵀ δ2) ⊙ σ′(z1).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ROOT, examples
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bptrace.cli.app import app
from bptrace.engine.graph import build_graph
from bptrace.engine.tracer import Step, trace
from bptrace.language.parser import parse_layered
from bptrace.views.matrices import arrange, cells

LAYERS = ROOT / "networks" / "layers.bp"
ENV = {"COLUMNS": "100", "NO_COLOR": "1", "FORCE_COLOR": None, "TERM": "dumb"}


def layered(text: str):
    statements, layers = parse_layered(text)
    return build_graph(statements, None, layers)


def steps(graph, n: int) -> list[Step]:
    return [r for r in trace(graph, n) if isinstance(r, Step)]


def column(g) -> np.ndarray:
    return np.array([v for (v,) in g.values], dtype=float)


def matrix(g) -> np.ndarray:
    return np.array(g.values, dtype=float)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def two_layer(n0: int, n1: int, n2: int, numbers: list[float], lr: float = 0.1) -> str:
    """Return a 2-layer network of shapes n0 → n1 → n2 with the numbers as its data and params."""
    it = iter(numbers)

    def vector(n: int) -> str:
        return "[" + ", ".join(f"{next(it):.6f}" for _ in range(n)) + "]"

    def rows(r: int, c: int) -> str:
        return "[" + ", ".join(vector(c) for _ in range(r)) + "]"

    return (
        f"input x[{n0}] = {vector(n0)}\n"
        f"target y[{n2}] = {vector(n2)}\n"
        f"param W1[{n1},{n0}] = {rows(n1, n0)}\n"
        f"param b1[{n1}] = {vector(n1)}\n"
        f"param W2[{n2},{n1}] = {rows(n2, n1)}\n"
        f"param b2[{n2}] = {vector(n2)}\n"
        f"set lr = {lr}\n"
        "z1 = W1 @ x + b1\n"
        "h1 = sigmoid(z1)\n"
        "z2 = W2 @ h1 + b2\n"
        "loss L = sum((y - z2)^2)/2\n"
    )


def assert_records_arranged(graph, step: Step) -> None:
    """Assert every cell of the matrix view holds its scalar record's number, by name."""
    m = arrange(graph, step)
    updates = {u.param: u for u in step.updates}
    chains = {c.param: c.grad for c in step.chains}
    for layer, g in m.data:
        assert all(v == step.values[name] for name, v in cells(g)), layer.name
    params = [p for n in m.nodes for p in n.params] + list(m.params)
    # each param once
    assert sorted(p.layer.name for p in params) == sorted(
        la.name for la in graph.layers if la.kind == "param"
    )
    for node in m.nodes:
        assert all(v == step.values[name] for name, v in cells(node.value))
        assert all(v == step.grads[name] for name, v in cells(node.delta))
    for p in params:
        for name, v in cells(p.grad):
            assert v == updates[name].grad == step.grads[name] == chains[name]
        assert all(v == step.values[name] == updates[name].before for name, v in cells(p.before))
        assert all(v == updates[name].after for name, v in cells(p.after))


def assert_chain_rule_in_matrix_form(graph, step: Step) -> None:
    """Assert ∂L/∂W = δ·xᵀ and ∂L/∂b = δ per layer, and δ1 = (W2ᵀ δ2) ⊙ σ′(z1), with numpy."""
    m = arrange(graph, step)
    nodes = {n.layer.name: n for n in m.nodes}
    data = {la.name: g for la, g in m.data}
    by_param = {p.layer.name: (n, p) for n in m.nodes for p in n.params}
    assert set(by_param) == {"W1", "b1", "W2", "b2"}  # all four read from a δ
    for w, b, z, v in (("W1", "b1", "z1", "x"), ("W2", "b2", "z2", "h1")):
        node, pw = by_param[w]
        assert node.layer.name == z and pw.outer.node == z and pw.outer.vector == v
        vector = data[v] if v in data else nodes[v].value
        assert pw.vector == vector
        delta = column(node.delta)
        np.testing.assert_allclose(
            matrix(pw.grad), np.outer(delta, column(vector)), rtol=1e-12, atol=1e-15
        )
        node_b, pb = by_param[b]
        assert node_b is node and pb.bias == z and pb.outer is None
        np.testing.assert_allclose(column(pb.grad), delta, rtol=1e-12, atol=1e-15)
    # δ2 = z2 − y for L = Σ(y − z2)²/2; δ1 from δ2 backwards through W2 and σ.
    z1, z2 = column(nodes["z1"].value), column(nodes["z2"].value)
    delta2 = column(nodes["z2"].delta)
    np.testing.assert_allclose(delta2, z2 - column(data["y"]), rtol=1e-12, atol=1e-15)
    w2 = matrix(by_param["W2"][1].before)
    expected = (w2.T @ delta2) * sigmoid(z1) * (1 - sigmoid(z1))
    np.testing.assert_allclose(column(nodes["z1"].delta), expected, rtol=1e-9, atol=1e-15)
    # and the forward pass: z1 = W1 x + b1
    w1, b1 = matrix(by_param["W1"][1].before), column(by_param["b1"][1].before)
    np.testing.assert_allclose(z1, w1 @ column(data["x"]) + b1, rtol=1e-12, atol=1e-15)


def test_layers_bp_arranges_the_scalar_records_and_the_chain_rule_holds_in_matrix_form():
    graph = layered(LAYERS.read_text("utf-8"))
    for step in steps(graph, 3):
        assert_records_arranged(graph, step)
        assert_chain_rule_in_matrix_form(graph, step)


def test_layers_bp_by_hand():
    step = steps(layered(LAYERS.read_text("utf-8")), 1)[0]
    m = arrange(layered(LAYERS.read_text("utf-8")), step)
    z1 = m.nodes[0]
    assert z1.layer.name == "z1" and z1.value.names == (("z1[1]",), ("z1[2]",), ("z1[3]",))
    # z1 = W1 @ x + b1 with x = (0.5, −1): 0.05 − 0.3 + 0.1, −0.1 − 0.4 + 0, 0.25 + 0.1 − 0.1
    assert column(z1.value) == pytest.approx([-0.15, -0.5, 0.25])
    w1 = z1.params[0]
    assert w1.grad.names[1] == ("W1[2,1]", "W1[2,2]")  # row 2 holds the weights into z1[2]
    # ∂L/∂W1[2,2] = δz1[2]·x[2] = −δz1[2]
    assert w1.grad.values[1][1] == pytest.approx(-z1.delta.values[1][0])


sizes = st.integers(1, 3)
numbers = st.lists(st.floats(-2, 2, allow_nan=False), min_size=40, max_size=40)


@settings(max_examples=examples(0.2))  # a whole network traced per example
@given(sizes, sizes, sizes, numbers)
def test_random_layered_networks_match_the_scalar_records_and_numpy(n0, n1, n2, values):
    graph = layered(two_layer(n0, n1, n2, values))
    for step in steps(graph, 2):
        assert_records_arranged(graph, step)
        assert_chain_rule_in_matrix_form(graph, step)


@pytest.mark.parametrize(
    ("loss", "outer"),
    [
        ("sum(z)", True),
        ("sum(z) + sum(W*W)", False),  # W is used by the loss too: ∂L/∂W is more than δ·xᵀ
    ],
)
def test_the_outer_product_is_claimed_only_where_w_is_used_in_that_term_alone(loss, outer):
    text = (
        "input x[2] = [1, 2]\nparam W[2,2] = [[1, 2], [3, 4]]\nparam b[2] = 0\n"
        f"z = W @ x + b\nloss L = {loss}\n"
    )
    graph = layered(text)
    step = steps(graph, 1)[0]
    assert_records_arranged(graph, step)
    m = arrange(graph, step)
    claimed = {p.layer.name: p.outer for n in m.nodes for p in n.params}
    assert ("W" in claimed and claimed["W"] is not None) == outer
    if not outer:
        w = next(p for p in m.params if p.layer.name == "W")
        # ∂L/∂W = δ·xᵀ + 2W, δ = 1: the records' numbers, shown without the claim
        assert matrix(w.grad) == pytest.approx(
            np.outer([1, 1], [1, 2]) + 2 * np.array(w.before.values)
        )


def test_a_row_vector_product_is_shown_without_the_outer_product_claim():
    text = "input x[2] = [1, 2]\nparam W[2,3] = 1\nz = x @ W\nloss L = sum(z)\n"
    graph = layered(text)
    step = steps(graph, 1)[0]
    assert_records_arranged(graph, step)
    m = arrange(graph, step)
    assert [p.layer.name for p in m.params] == ["W"] and m.params[0].outer is None


def invoke(*args):
    return CliRunner(env=ENV).invoke(app, list(args), prog_name="bptrace")


def test_view_matrix_prints_each_layer_with_its_delta_outer_product_and_update():
    result = invoke("run", str(LAYERS), "--view", "matrix", "--steps", "2")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for heading in (
        "Step 1: layers",
        "Step 2: layers",
        "z₁ = W₁ @ x + b₁    (z₁: 3, W₁: 3 × 2, x: 2, b₁: 3)",
        "h₁ = σ(z₁)",
        "δz₁ = ∂L/∂z₁ =",
        "∂L/∂W₁ = δz₁ · xᵀ   (an outer product)",
        "∂L/∂W₂ = δz₂ · h₁ᵀ",
        "∂L/∂b₁ = δz₁ =",
        "W₁ ← W₁ − α·∂L/∂W₁    (α = 0.5)",
        "Summary",
    ):
        assert heading in out
    assert "Forward pass" not in out  # the scalar tables are --view scalar's (or both's)


def test_view_both_prints_the_tables_then_the_layers_and_scalar_is_the_default():
    both = invoke("run", str(LAYERS), "--view", "both", "--ascii").stdout
    assert both.index("Forward pass") < both.index("Step 1: layers")
    assert "dL/dW1 = delta_z1 * x'" in both
    default = invoke("run", str(LAYERS)).stdout
    assert default == invoke("run", str(LAYERS), "--view", "scalar").stdout
    assert "layers" not in default.replace("networks/layers.bp", "")


def test_view_matrix_of_a_network_without_layers_is_a_usage_error():
    result = invoke("run", str(ROOT / "networks" / "simple.bp"), "--view", "matrix")
    assert result.exit_code == 2
    assert "has none; declare one (param W1[3,2] = ...), or drop --view" in result.stderr
    assert result.stdout == ""


def test_view_matrix_with_a_matrix_per_sample_json_or_an_unknown_view_is_a_usage_error(
    tmp_path,
):
    net = tmp_path / "net.bp"
    net.write_text(
        "input x[2,2] = [[1, 2], [3, 4]]\nparam W[2,2] = 1\nM = W @ x\nloss L = sum(M)\n",
        encoding="utf-8",
    )
    csv = tmp_path / "samples.csv"
    csv.write_text('"x[1,1]","x[1,2]","x[2,1]","x[2,2]"\n1,2,3,4\n0,1,0,1\n', encoding="utf-8")
    result = invoke("run", str(net), "--view", "matrix", "--data", str(csv))
    assert result.exit_code == 2, result.stdout
    assert "but x of" in result.stderr and "is a matrix itself, one per sample" in result.stderr
    assert invoke("run", str(LAYERS), "--view", "matrix", "--json").exit_code == 2
    result = invoke("run", str(LAYERS), "--view", "matrices")
    assert result.exit_code == 2 and "unknown view 'matrices'" in result.stderr


def test_the_lecture_docs_show_real_matrix_output(monkeypatch):
    monkeypatch.chdir(ROOT)
    command = "bptrace run networks/layers.bp --view matrix"
    doc = (ROOT / "docs" / "lecture.md").read_text(encoding="utf-8")
    sample = doc.split(f"$ {command}\n")[1].split("```")[0]
    env = {**ENV, "COLUMNS": "80"}
    out = CliRunner(env=env).invoke(app, command.split()[1:], prog_name="bptrace").stdout
    assert out.startswith(sample.rstrip() + "\n")  # the step; the summary follows


def test_matrix_nodes_other_optimisers_and_scalar_params(tmp_path):
    text = (
        "input x[2] = [1, 2]\nconst C[2,2] = [[1, 0], [0, 1]]\nparam A[2,2] = [[1, 2], [3, 4]]\n"
        "param s = 0.5\nM = A @ C\nu = A' @ x\nloss L = sum(M)*s + sum(u)\n"
        "set optimizer = momentum\n"
    )
    graph = layered(text)
    step = steps(graph, 1)[0]
    assert_records_arranged(graph, step)
    a = arrange(graph, step).params[0]
    # L = s·ΣA + Σ(Aᵀx): ∂L/∂A[i,j] = s + x[i]
    assert matrix(a.grad) == pytest.approx(np.array([[1.5, 1.5], [2.5, 2.5]]))
    net = tmp_path / "net.bp"
    net.write_text(text, encoding="utf-8")
    result = invoke("run", str(net), "--view", "matrix")
    assert result.exit_code == 0, result.stderr
    assert "A ← A after a momentum step (--view scalar: terms)" in result.stdout
    assert "Scalar params, in the tables (--view both): s" in result.stdout
