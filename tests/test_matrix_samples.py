"""The matrix view with samples: X with one column per sample, Δ the per-sample δs as columns,
∂L/∂W = (1/m)·Δ·Xᵀ and ∂L/∂b = the mean of Δ's columns; and big layers summarised.

The expected numbers come from numpy: a forward and backward pass over the CSV's samples written
out by hand in matrix form, independent of the scalar engine.
"""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pytest
from conftest import ROOT
from typer.testing import CliRunner

from bptrace.cli.app import app
from bptrace.cli.commands import load_network
from bptrace.engine.tracer import Batches, Step, trace
from bptrace.language.printer import MATH, format_number
from bptrace.views.matrices import arrange, summary

LAYERS = ROOT / "networks" / "layers.bp"
MNIST = ROOT / "networks" / "mnist_like.bp"
DIGITS = ROOT / "networks" / "digits.csv"
ENV = {"COLUMNS": "100", "NO_COLOR": "1", "FORCE_COLOR": None, "TERM": "dumb"}
# four samples of layers.bp's x (2) and y (1): one a row here, one a column in the view
SAMPLES = np.array([[0.5, -1, 1], [1, 2, 0], [-1, 0.5, 0.5], [0.3, 0.7, 0.1]])
W1 = np.array([[0.1, 0.3], [-0.2, 0.4], [0.5, -0.1]])
B1 = np.array([0.1, 0, -0.1])
W2 = np.array([[0.5, -0.6, 0.2]])
B2 = np.array([0.2])


def csv_of_samples(tmp_path):
    path = tmp_path / "samples.csv"
    rows = "\n".join(",".join(str(v) for v in row) for row in SAMPLES)
    path.write_text("x[1],x[2],y[1]\n" + rows + "\n", encoding="utf-8")
    return path


def network(tmp_path, extra: str = ""):
    text = LAYERS.read_text("utf-8") + extra
    return load_network(text, "layers.bp", None, csv_of_samples(tmp_path), False)._graph


def first_step(graph, batches=None) -> Step:
    return next(r for r in trace(graph, 1, batches=batches) if isinstance(r, Step))


def grid(g) -> np.ndarray:
    return np.array(g.values, dtype=float)


def by_hand(x: np.ndarray, y: np.ndarray, scale: float):
    """Return Δ1, Δ2, ∂L/∂W1, ∂L/∂b1, ∂L/∂W2, ∂L/∂b2 of layers.bp, samples as columns."""
    z1 = W1 @ x + B1[:, None]
    h1 = 1 / (1 + np.exp(-z1))
    z2 = W2 @ h1 + B2[:, None]
    delta2 = z2 - y  # L = Σ(y − z2)²/2 per sample
    delta1 = (W2.T @ delta2) * h1 * (1 - h1)
    grads = (
        scale * delta1 @ x.T,
        scale * delta1.sum(axis=1),
        scale * delta2 @ h1.T,
        scale * delta2.sum(axis=1),
    )
    return delta1, delta2, grads


def views(graph, step):
    m = arrange(graph, step)
    nodes = {n.layer.name: n for n in m.nodes}
    params = {p.layer.name: (n, p) for n in m.nodes for p in n.params}
    return m, nodes, params


@pytest.mark.parametrize(("reduction", "scale"), [("mean", 1 / 4), ("sum", 1.0)])
def test_samples_are_columns_and_the_gradient_is_the_mean_of_outer_products(
    tmp_path, reduction, scale
):
    graph = network(tmp_path, f"\nset reduction = {reduction}\n")
    step = first_step(graph)
    m, nodes, params = views(graph, step)
    assert m.samples == 4 and m.scale == scale
    data = {layer.name: g for layer, g in m.data}
    x, y = SAMPLES[:, :2].T, SAMPLES[:, 2:].T  # one column per sample
    np.testing.assert_array_equal(grid(data["x"]), x)
    np.testing.assert_array_equal(grid(data["y"]), y)
    delta1, delta2, (gw1, gb1, gw2, gb2) = by_hand(x, y, scale)
    np.testing.assert_allclose(grid(nodes["z1"].delta), delta1, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grid(nodes["z2"].delta), delta2, rtol=1e-12, atol=1e-15)
    for name, expected in (("W1", gw1), ("b1", gb1[:, None]), ("W2", gw2), ("b2", gb2[:, None])):
        node, p = params[name]
        np.testing.assert_allclose(grid(p.grad), expected, rtol=1e-12, atol=1e-15)
        # and the engine's batch gradient is (1/m)·Δ·Xᵀ of the view's own columns, by numpy
        if p.outer is not None:
            product = scale * grid(node.delta) @ grid(p.vector).T
            np.testing.assert_allclose(grid(p.grad), product, rtol=1e-12, atol=1e-15)
        else:
            assert p.bias == node.layer.name
            means = scale * grid(node.delta).sum(axis=1, keepdims=True)
            np.testing.assert_allclose(grid(p.grad), means, rtol=1e-12, atol=1e-15)
    assert params["W1"][1].outer.vector == "x" and params["W2"][1].outer.vector == "h1"


def test_a_mini_batch_shows_its_samples_as_the_columns(tmp_path):
    graph = network(tmp_path)
    steps = [r for r in trace(graph, 2, batches=Batches(2)) if isinstance(r, Step)]
    m, nodes, params = views(graph, steps[1])  # the second batch: samples 3 and 4
    assert m.samples == 2 and m.indices == (2, 3) and m.scale == 1 / 2
    x = SAMPLES[2:, :2].T
    np.testing.assert_array_equal(grid(dict((la.name, g) for la, g in m.data)["x"]), x)
    product = 0.5 * grid(nodes["z1"].delta) @ x.T
    np.testing.assert_allclose(grid(params["W1"][1].grad), product, rtol=1e-12, atol=1e-15)


def invoke(*args, env=ENV):
    return CliRunner(env=env).invoke(app, [str(a) for a in args], prog_name="bptrace")


def test_view_matrix_with_samples_says_where_one_over_m_enters(tmp_path):
    csv = csv_of_samples(tmp_path)
    out = invoke("run", LAYERS, "--view", "matrix", "--data", csv, env={**ENV, "COLUMNS": "140"})
    assert out.exit_code == 0, out.stderr
    for line in (
        "Step 1: layers, 4 samples (column j: sample j)",
        "Δz₁ (column j: ∂Lⱼ/∂z₁) =",
        "∂L/∂W₁ = 1/4·Δz₁ · xᵀ   (the mean of the 4 samples' outer products)",
        "= 1/4 ·",
        "∂L/∂b₁ = the mean of Δz₁'s columns =",
    ):
        assert line in out.stdout, line
    ascii_out = invoke("run", LAYERS, "--view", "matrix", "--data", csv, "--ascii").stdout
    assert "dL/dW1 = 1/4*Delta_z1 * x'" in ascii_out


def mnist_step():
    graph = load_network(MNIST.read_text("utf-8"), "mnist_like.bp", None, DIGITS, False)._graph
    return graph, first_step(graph, Batches(32))


def test_big_layers_are_summarised_and_their_norms_are_numpys():
    graph, step = mnist_step()
    m, nodes, params = views(graph, step)
    w1 = params["W1"][1]
    assert grid(w1.before).shape == (16, 64) and grid(nodes["z1"].delta).shape == (16, 32)
    for g in (w1.before, w1.grad, nodes["z1"].value, nodes["z1"].delta):
        s, a = summary(g), grid(g)
        assert (s.rows, s.columns) == a.shape
        assert s.norm == pytest.approx(np.linalg.norm(a, "fro"), rel=1e-12)
        assert (s.low, s.high) == (a.min(), a.max())
    result = invoke("run", MNIST, "--data", DIGITS, "--view", "matrix", "--steps", "2")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    one_step = out.split("Step 2: layers")[0]
    assert len(one_step.splitlines()) <= 250  # not 16·64 numbers a line each: corners and norms
    number = lambda v: format_number(v, 4, MATH)  # noqa: E731
    w1_before = grid(w1.before)
    assert f"16 × 64, ‖·‖ = {number(np.linalg.norm(w1_before))}" in one_step
    assert "⋯" in out and "⋮" in out


def test_all_shows_every_cell_of_a_big_layer():
    graph, step = mnist_step()
    w1 = grid(views(graph, step)[2]["W1"][1].before)
    env = {**ENV, "COLUMNS": "2000"}
    result = invoke("run", MNIST, "--data", DIGITS, "--view", "matrix", "--all", env=env)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "‖·‖" not in out and "⋯" not in out
    row = [format_number(v, 4, MATH) for v in w1[0]]  # W1's first row, all 64 of it
    assert any(row == line.split()[-65:-1] for line in out.splitlines())


def json_steps(*args) -> tuple[list[dict], list[dict]]:
    result = invoke("run", *args, "--json")
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return lines, [r for r in lines if r["type"] == "step"]


def element(layer: str, at: tuple[int, ...]) -> str:
    return f"{layer}[{','.join(str(i + 1) for i in at)}]"


def assert_layers_are_the_scalar_fields(record: dict) -> None:
    """Assert each element of `layers` is the number of its scalar name in the same record."""
    before = {u["param"]: u["before"] for u in record["updates"]}
    for name, layer in record["layers"].items():
        values, grads = np.array(layer["values"]), np.array(layer["grads"])
        shape = tuple(layer["shape"])
        assert values.shape[: len(shape)] == shape == grads.shape[: len(shape)]
        for at in np.ndindex(shape):
            scalar = element(name, at)
            value = before[scalar] if layer["kind"] == "param" else None
            if layer["kind"] == "node":
                value = record["forward"][scalar]
            if value is not None:
                assert values[at].tolist() == value
            assert grads[at].tolist() == record["grads"][scalar]


def test_json_carries_each_layer_as_nested_lists_equal_to_the_scalar_fields(tmp_path, validator):
    lines, steps = json_steps(LAYERS, "--steps", "2")
    for record in lines:
        validator.validate(record)
    w1 = steps[0]["layers"]["W1"]
    assert w1["kind"] == "param" and w1["shape"] == [3, 2]
    assert w1["values"] == W1.tolist()  # as layers.bp declares it, row by row
    assert steps[0]["layers"]["x"]["values"] == [0.5, -1.0]
    for record in steps:
        assert list(record["layers"]) == ["x", "y", "W1", "b1", "W2", "b2", "z1", "h1", "z2"]
        assert_layers_are_the_scalar_fields(record)
    # with samples: each element a list, one number per sample
    csv = csv_of_samples(tmp_path)
    lines, steps = json_steps(LAYERS, "--data", csv, "--batch-size", "2", "--steps", "2")
    for record in lines:
        validator.validate(record)
    x = np.array(steps[1]["layers"]["x"]["values"])
    np.testing.assert_array_equal(x, SAMPLES[2:, :2].T)  # the second batch: samples 3 and 4
    for record in steps:
        assert_layers_are_the_scalar_fields(record)


def test_json_of_a_network_without_layers_has_no_layers_field():
    lines, steps = json_steps(ROOT / "networks" / "simple.bp", "--steps", "2")
    assert all("layers" not in r for r in lines)


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(invoke("schema").stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_sample_with_the_matrix_view_alone_is_refused_as_it_would_be_ignored(tmp_path):
    from typer.testing import CliRunner

    from bptrace.cli.app import app

    data = tmp_path / "l.csv"
    data.write_text("x[1],x[2],y[1]\n0.5,-1,1\n1,2,0\n")
    layers = str(ROOT / "networks" / "layers.bp")
    runner = CliRunner()
    refused = runner.invoke(
        app, ["run", layers, "--data", str(data), "--view", "matrix", "--sample", "2"]
    )
    assert refused.exit_code == 2 and "--view both" in " ".join(refused.output.split())
    both = runner.invoke(
        app, ["run", layers, "--data", str(data), "--view", "both", "--sample", "2"]
    )
    assert both.exit_code == 0


def test_block_shows_a_layers_rows_and_columns_whole_with_the_scalar_records_numbers():
    """--block W1[r1:r2,c1:c2]: those cells of ∂L/∂W1, as the scalar engine computed them."""
    from conftest import load
    from typer.testing import CliRunner

    from bptrace.cli.app import app
    from bptrace.engine.tracer import Batches, Step, trace
    from bptrace.language.printer import MATH, format_number

    path = ROOT / "networks" / "mnist_like.bp"
    data = str(ROOT / "networks" / "digits.csv")
    args = ["run", str(path), "--data", data, "--view", "matrix", "--precision", "6"]
    shown = CliRunner().invoke(app, [*args, "--block", "W1[2:3,10:12]"])
    assert shown.exit_code == 0, shown.output
    text = shown.output
    grads = text[text.index("∂L/∂W₁ = ") : text.index("W₁ ←")]
    rows = [line for line in grads.splitlines() if line.lstrip().startswith(("⎡", "⎣"))]
    # the first grid on each line is ∂L/∂W1's block: 2 rows, 3 columns
    cells = [row.split("⎤")[0].split("⎦")[0].strip("⎡⎣ ").split() for row in rows[:2]]
    graph = load(path)
    from bptrace.engine.data import read_csv, with_data

    graph = with_data(graph, read_csv(open(data).read(), data), data)
    # `set batch = 32`: step 1 trains on samples 1 to 32
    step = next(r for r in trace(graph, 1, batches=Batches(32)) if isinstance(r, Step))
    grads = {u.param: u.grad for u in step.updates}  # the batch's: its samples' mean
    expected = [
        [format_number(grads[f"W1[{i},{j}]"], 6, MATH) for j in (10, 11, 12)] for i in (2, 3)
    ]
    assert cells == expected
    assert "W1[2:3,10:12] (--block)" in text


@pytest.mark.parametrize(
    "spec, says",
    [
        ("W1[2:4,1:1]", "rows 2:4 of 'W1': it has 3"),
        ("z9[1:2]", "'z9' is not a layer"),
        ("W1", "write a layer's rows and columns"),
        ("b1[1:2,1:1]", "'b1' is a vector"),
        ("W1[1:2]", "'W1' is a matrix"),
    ],
)
def test_a_block_outside_the_layers_is_a_usage_error(spec, says):
    from typer.testing import CliRunner

    from bptrace.cli.app import app

    layers = str(ROOT / "networks" / "layers.bp")
    done = CliRunner().invoke(app, ["run", layers, "--view", "matrix", "--block", spec])
    assert done.exit_code == 2 and says in " ".join(done.output.split())


def test_block_without_the_matrix_view_is_refused():
    from typer.testing import CliRunner

    from bptrace.cli.app import app

    layers = str(ROOT / "networks" / "layers.bp")
    done = CliRunner().invoke(app, ["run", layers, "--block", "W1[1:2,1:2]"])
    assert done.exit_code == 2 and "--view matrix" in " ".join(done.output.split())


def test_a_matrix_line_wider_than_the_terminal_is_written_whole_not_cut():
    """Grids side by side may pass the width: the line is written whole, for the terminal to fold
    (mnist_like's Δz₁ and xᵀ captions at 100 columns once lost xᵀ's `max 1`)."""
    import re

    from typer.testing import CliRunner

    from bptrace.cli.app import app

    path, data = str(ROOT / "networks" / "mnist_like.bp"), str(ROOT / "networks" / "digits.csv")
    done = CliRunner(env={"COLUMNS": "100", "NO_COLOR": "1"}).invoke(
        app, ["run", path, "--data", data, "--view", "matrix"]
    )
    assert done.exit_code == 0
    captions = re.findall(r"(\d+ × \d+), ‖·‖ = \S+, min (\S+), max (\S*)$", done.output, re.M)
    assert captions and all(high for _, _, high in captions)  # every caption ends in its number
    assert ("32 × 64", "0", "1") in captions  # the samples' x, each pixel from 0 to 1
