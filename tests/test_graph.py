"""`bptrace graph`: the computational graph, layered, as terminal text, Graphviz DOT and Mermaid."""

from __future__ import annotations

import re

import pydot
import pytest
from conftest import NETWORKS, ROOT, load
from typer.testing import CliRunner

from bptrace.cli.app import app
from bptrace.views.drawing import layers

ENV = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}
# The edges of networks/simple.bp, read off its three statements: h = x*w1 + b1, g = h*w2 + b2, L =
# ½(y − g)².
SIMPLE_EDGES = {
    ("x", "h"),
    ("w1", "h"),
    ("b1", "h"),
    ("h", "g"),
    ("w2", "g"),
    ("b2", "g"),
    ("y", "L"),
    ("g", "L"),
}


def invoke(*args):
    return CliRunner(env=ENV).invoke(app, list(args), prog_name="bptrace")


def test_layers_go_from_leaves_to_the_loss():
    # two_layer.bp: z uses only leaves, a = σ(z), a2 uses a0 and a1, L uses a2.
    assert layers(load(ROOT / "networks/two_layer.bp")) == [
        ["x0", "x1", "y", "w0", "w1", "w2", "w3", "w4", "w5", "b0", "b1", "b2"],
        ["z0", "z1"],
        ["a0", "a1"],
        ["a2"],
        ["L"],
    ]


def test_a_node_sits_above_its_highest_input():
    # c uses a leaf and b, which is in layer 2: c goes to layer 3, not 2.
    graph = load("param w = 1\na = w*2\nb = a + 1\nc = b*w\nloss L = c + a\n")
    assert layers(graph) == [["w"], ["a"], ["b"], ["c"], ["L"]]


def _dot_edges(text: str) -> tuple[set[str], set[tuple[str, str]], dict]:
    (parsed,) = pydot.graph_from_dot_data(text)
    nodes = {n.get_name().strip('"') for n in parsed.get_nodes()} - {"node", "edge"}
    edges = {
        (e.get_source().strip('"'), e.get_destination().strip('"')) for e in parsed.get_edges()
    }
    labels = {
        (e.get_source().strip('"'), e.get_destination().strip('"')): e.get_label().strip('"')
        for e in parsed.get_edges()
    }
    return nodes, edges, labels


def test_dot_parses_back_to_the_networks_nodes_and_edges():
    result = invoke("graph", str(ROOT / "networks/simple.bp"), "--format", "dot", "--ascii")
    assert result.exit_code == 0, result.stderr
    nodes, edges, labels = _dot_edges(result.stdout)
    assert nodes == {"x", "y", "w1", "b1", "w2", "b2", "h", "g", "L"}
    assert edges == SIMPLE_EDGES
    assert labels[("w1", "h")] == "dh/dw1 = x" and labels[("g", "L")] == "dL/dg = -(y - g)"


@pytest.mark.parametrize("path", NETWORKS, ids=[p.stem for p in NETWORKS])
def test_dot_of_every_example_parses_with_one_edge_per_local_partial(path):
    graph = load(path)
    nodes, edges, _ = _dot_edges(invoke("graph", str(path), "-f", "dot", "--step", "2").stdout)
    assert nodes == {leaf.name for leaf in graph.leaves} | {node.name for node in graph.nodes}
    assert edges == {(e.wrt, e.of) for node in graph.nodes for e in node.edges}


def test_dot_at_a_step_carries_the_handouts_numbers():
    # The handout's first step: ∂L/∂w1 = 0.678, ∂L/∂g = −1.13 (g = −0.13), ∂h/∂w1 = x = 2.
    out = invoke("graph", str(ROOT / "networks/simple.bp"), "-f", "dot", "--step", "1").stdout
    assert "∂L/∂w₁ = 0.678" in out
    assert '"g" [shape=ellipse, label="g = h·w₂ + b₂\\nvalue −0.13\\n∂L/∂g = −1.13"]' in out
    assert '"w1" -> "h" [label="∂h/∂w₁ = x = 2"]' in out


def test_names_that_need_quoting_survive_dot():
    graph_text = "param θ = 1\ninput x̂ = 2\nloss L = θ*x̂\n"
    path = ROOT / "tests" / "golden" / ".quoting.bp"
    try:
        path.write_text(graph_text, encoding="utf-8")
        nodes, edges, _ = _dot_edges(invoke("graph", str(path), "-f", "dot").stdout)
    finally:
        path.unlink()
    assert nodes == {"θ", "x̂", "L"} and edges == {("θ", "L"), ("x̂", "L")}


def test_mermaid_declares_every_node_and_every_edge():
    out = invoke("graph", str(ROOT / "networks/simple.bp"), "-f", "mermaid", "--ascii").stdout
    lines = out.splitlines()
    assert lines[0] == "flowchart LR"
    declared = dict(re.findall(r'^  (n\d+)[\[(]+"([^"]*)"', out, re.M))
    names = {node_id: label.split(" = ")[0].split()[-1] for node_id, label in declared.items()}
    edges = {
        (names[a], names[b])
        for a, b in re.findall(r"^  (n\d+) -->\|\"[^\"]*\"\| (n\d+)$", out, re.M)
    }
    assert edges == SIMPLE_EDGES
    assert '[["loss L = 1/2*(y - g)^2"]]' in out  # the loss stands out
    assert all(line.count('"') % 2 == 0 for line in lines)


def test_an_unknown_format_is_a_usage_error():
    result = invoke("graph", str(ROOT / "networks/simple.bp"), "--format", "png")
    assert result.exit_code == 2 and "choose from text, dot, mermaid" in " ".join(
        result.stderr.replace("│", "").split()
    )


def test_a_step_that_never_comes_is_a_numeric_fault_not_a_drawing(tmp_path):
    f = tmp_path / "div.bp"
    # w = 0.5 − 1·2 = −1.5 after step 1
    f.write_text("param w = 0.5\nset lr = 1\nloss L = log(w)\n")
    result = invoke("graph", str(f), "--step", "3")
    assert result.exit_code == 5 and result.stdout == ""


def test_an_edge_from_the_loss_that_is_not_the_whole_gradient_says_direct():
    # fanout.bp: L = c·a, and a also reaches L through c: the edge's ∂L/∂a = c = 12 is not ∂L/∂a =
    # 24.
    out = invoke("graph", str(ROOT / "networks/fanout.bp"), "--step", "1").stdout
    assert "∂L/∂a (direct) = c = 12" in out and "∂L/∂c = a = 3" in out


@pytest.mark.skipif(not __import__("shutil").which("dot"), reason="Graphviz is not installed")
@pytest.mark.parametrize("path", NETWORKS, ids=[p.stem for p in NETWORKS])
def test_graphviz_renders_the_dot(path):
    dot = invoke("graph", str(path), "-f", "dot", "--step", "1").stdout
    run = __import__("subprocess").run(
        ["dot", "-Tsvg"], input=dot, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0 and "<svg" in run.stdout, run.stderr


def test_a_nan_local_derivative_is_drawn_without_a_numpy_warning(tmp_path):
    # L = w^k with w = −2: ∂L/∂k = L·log(w) is not a number, and training does not need it.
    f = tmp_path / "wk.bp"
    f.write_text("param w = -2\nconst k = 2\nloss L = w^k\n")
    result = invoke("graph", str(f), "--step", "1")
    assert result.exit_code == 0 and "∂L/∂k = L·log(w) = nan" in result.stdout
    assert result.stderr == ""
