"""Hostile input to the layer syntax: what once ended in exit 1, or worked only in one spelling.

The diagnostics themselves are in tests/bad/layer_*.bp; here are the cases that need a command
line, a data file or a value computed by hand.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from bptrace.cli.app import app
from bptrace.engine.data import read_csv

# A 1×2 input matrix X and a target y; L = (X[1,1]*w[1] + X[1,2]*w[2] - y)^2.
MATRIX_INPUT = "input X[1,2] = 0\ntarget y = 0\nparam w[2] = 0.5\nloss L = (sum(X @ w) - y)^2\n"


def invoke(*argv: str):
    return CliRunner(env={"COLUMNS": "100", "NO_COLOR": "1"}).invoke(app, list(argv))


@pytest.mark.parametrize(
    "header",
    [
        "X[1,1],X[1,2],y",  # the comma inside the brackets is the name's, not a separator
        '"X[1,1]","X[1,2]",y',
        "X[1,1];X[1,2];y",
        "X[1,1]\tX[1,2]\ty",
    ],
)
def test_a_matrix_elements_column_is_one_column_whatever_separates_the_cells(header):
    sep = ";" if ";" in header else "\t" if "\t" in header else ","
    text = f"{header}\n1{sep}2{sep}3\n4{sep}5{sep}6\n"
    assert read_csv(text, "d.csv") == {
        "X[1,1]": (1.0, 4.0),
        "X[1,2]": (2.0, 5.0),
        "y": (3.0, 6.0),
    }


def test_a_matrix_input_takes_its_samples_from_unquoted_element_columns(tmp_path):
    (tmp_path / "n.bp").write_text(MATRIX_INPUT)
    (tmp_path / "d.csv").write_text("X[1,1],X[1,2],y\n1,2,3\n")
    result = invoke("run", str(tmp_path / "n.bp"), "--data", str(tmp_path / "d.csv"), "--json")
    assert result.exit_code == 0, result.output
    step = [json.loads(line) for line in result.stdout.splitlines()][1]
    # by hand: 1*0.5 + 2*0.5 - 3 = -1.5, L = 2.25; ∂L/∂w[1] = 2*(-1.5)*1 = -3, ∂L/∂w[2] = -6
    assert step["loss"] == pytest.approx(2.25)
    grads = {u["param"]: u["grad"] for u in step["updates"]}
    assert grads == pytest.approx({"w[1]": -3.0, "w[2]": -6.0})


@pytest.mark.parametrize(
    "net, says",
    [
        ("param w = 2 @ 3\nloss L = w\n", "@ multiplies vectors and matrices"),
        ("param w = sum(1)\nloss L = w\n", "sum(...) takes a vector or a matrix"),
        ("input x[2] = 1\nparam w = x[1]\nloss L = w\n", "uses the name 'x'"),
        ("input x[2] = 1\nparam w = 1\nset lr = x[1]\nloss L = w\n", "uses the name 'x'"),
        ("param w = uniform(1 @ 2, 3)\nloss L = w\n", "@ multiplies vectors and matrices"),
        ("param w = 1\ninput q = [sum(1), 2]\nloss L = w*q\n", "sum(...) takes"),
        ("param w = 1\ninput q = [x[1], 2]\nloss L = w*q\n", "uses the name 'x'"),
        ("param w[2] = dot(1, 2)\nloss L = sum(w)\n", "dot(...) takes"),
    ],
)
def test_a_vector_operation_in_a_constant_is_a_network_error_not_a_bug(tmp_path, net, says):
    """Once exit 1: KeyError '@' or 'sum', or AttributeError: 'Index' object has no 'fn'."""
    (tmp_path / "n.bp").write_text(net)
    result = invoke("run", str(tmp_path / "n.bp"))
    assert result.exit_code == 4, result.output
    assert says in result.stderr
    assert "internal error" not in result.stderr


def wide_layers(inputs: int, units: int) -> str:
    """Return an inputs-units-1 network, its hidden layer one node a unit: relu(W1 @ x + b1)."""
    return (
        f"input x[{inputs}] = 0.5\n"
        f"param W1[{units},{inputs}] = 0.01\n"
        f"param b1[{units}] = 0\n"
        "h = relu(W1 @ x + b1)\n"
        "loss L = sum(h)^2\n"
    )


def test_the_partials_of_all_the_nodes_are_bounded_not_only_each_nodes(tmp_path, monkeypatch):
    """Each h[i] = relu(W1[i,1]*x[1] + … + b1[i]) has 2n + 1 partials, each step(…) of the whole
    sum: n² operations a node, under MAX_PARTIALS, but a 784-16 layer took 6 GB (a MemoryError,
    exit 1, under 4 GB). The whole network's partials are bounded too (exit 4, at the node)."""
    from bptrace.engine import graph

    monkeypatch.setattr(graph, "MAX_PARTIALS_IN_ALL", 100_000)
    (tmp_path / "n.bp").write_text(wide_layers(100, 16))  # about 60,000 operations a node
    result = invoke("run", str(tmp_path / "n.bp"))
    assert result.exit_code == 4, result.output
    assert "n.bp:4:1: error: the local derivatives of the network would take more than" in (
        result.stderr
    )
    assert "write one layer per node" in result.stderr
    (tmp_path / "n.bp").write_text(wide_layers(10, 3))  # about 6,000 in all: runs
    assert invoke("run", str(tmp_path / "n.bp")).exit_code == 0


@pytest.mark.parametrize(
    "net, says, where",
    [
        (
            "param w[5000] = 1\nloss L = sum(w)\n",
            "sum(w): written out, a sum of 5,000 terms",
            "2:10",
        ),
        (
            "param w[2000] = 1\ninput x[2000] = 1\nloss L = relu(w @ x)\n",
            "w @ x: written out, a sum of 2,000 terms",
            "3:15",
        ),
        (
            "param w[3000] = 1\nloss L = dot(w, w)\n",
            "dot(w, w): written out, a sum of 3,000",
            "2:10",
        ),
    ],
)
def test_a_written_out_sum_longer_than_max_terms_is_refused_at_once(tmp_path, net, says, where):
    """A sum of 5,000 terms was 'the network is nested too deeply to process', without a line; one
    of 2,000 to 4,000 took 14 to 86 s before a run or an error."""
    (tmp_path / "n.bp").write_text(net)
    result = invoke("run", str(tmp_path / "n.bp"))
    assert result.exit_code == 4, result.output
    assert f"n.bp:{where}: error: {says}" in result.stderr
    assert "use smaller layers" in result.stderr


def test_the_terms_of_nested_sums_count_together_in_one_element(tmp_path):
    """sum(A @ B) of a 30×1000 and a 1000×30 matrix: one node of 900 sums of 1,000 terms, each
    sum under the limit; it ran for more than 2 minutes."""
    (tmp_path / "n.bp").write_text(
        "param A[30,1000] = 0.01\nparam B[1000,30] = 0.01\nloss L = sum(A @ B)\n"
    )
    result = invoke("run", str(tmp_path / "n.bp"))
    assert result.exit_code == 4, result.output
    assert "n.bp:3:14: error: A @ B: written out, one element of 'L' holds more than 1,024" in (
        result.stderr
    )


@pytest.mark.parametrize(
    "net, where",
    [
        ("input x[2] = 1\nparam q = σ(x[1])\nloss L = q\n", "2:13"),
        ("param q = σ(2')\nloss L = q\n", "1:13"),
        ("input W[2,2] = 1\nparam q = exp((W)')\nloss L = q\n", "2:15"),
    ],
)
def test_an_element_or_a_transpose_inside_a_declared_value_is_a_network_error(tmp_path, net, where):
    """The parser's plans (_template.py) walked a declaration's value as scalar syntax: exit 1,
    AttributeError: 'Index' object has no attribute 'args'."""
    (tmp_path / "n.bp").write_text(net)
    result = invoke("run", str(tmp_path / "n.bp"))
    assert result.exit_code == 4, result.output
    assert f"n.bp:{where}: error: " in result.stderr


@pytest.mark.parametrize("command", [["run", "--focus", "W1"], ["nudge", "W1"]])
def test_a_layers_name_on_the_command_line_is_told_to_name_an_element(command):
    """`--focus W1` listed the 13 params of layers.bp; W1 is a 3×2 layer of them."""
    from conftest import ROOT

    result = invoke(command[0], str(ROOT / "networks" / "layers.bp"), *command[1:])
    assert result.exit_code == 2, result.output
    assert "'W1' is a layer: name one of its elements, W1[1,1] to W1[3,2]" in result.stderr


def test_products_chained_in_one_node_are_refused_and_run_a_node_each(tmp_path):
    """Each element of S @ S @ S @ x writes out the elements of S @ S @ S, each those of S @ S:
    8·(8 + 8·(8 + 8·8)) terms for 8×8 matrices. A node a product runs, and its loss is numpy's."""
    import numpy as np

    s = np.arange(64).reshape(8, 8) / 100
    values = ", ".join("[" + ", ".join(map(str, row)) + "]" for row in s.tolist())
    head = f"param S[8,8] = [{values}]\ninput x[8] = 1\n"
    (tmp_path / "n.bp").write_text(head + "loss L = sum(S @ S @ S @ x)\n")
    result = invoke("run", str(tmp_path / "n.bp"))
    assert result.exit_code == 4, result.output
    assert "give each product a node of its own" in result.stderr
    (tmp_path / "n.bp").write_text(head + "A = S @ S\nB = A @ S\nloss L = sum(B @ x)\n")
    result = invoke("run", str(tmp_path / "n.bp"), "--json")
    assert result.exit_code == 0, result.output
    step = json.loads(result.stdout.splitlines()[1])
    assert step["loss"] == pytest.approx(float((s @ s @ s @ np.ones(8)).sum()))
