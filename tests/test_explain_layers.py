"""`bptrace explain` for a network written with layers: the answers by layer, the matrix form,
and networks/two_layer_matrix.bp trains exactly as the handout's two_layer.bp."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from conftest import ROOT, assert_latex_compiles
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bptrace.cli.app import app
from bptrace.engine.explain import explain
from bptrace.engine.explain_layers import Grad, explain_layers, layer_of
from bptrace.engine.graph import build_graph
from bptrace.engine.tracer import trace
from bptrace.language.parser import parse_layered

ENV = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}
LAYERS = ROOT / "networks" / "layers.bp"


def invoke(*args):
    return CliRunner(env=ENV).invoke(app, list(args), prog_name="bptrace")


def load_layered(text: str):
    statements, layers = parse_layered(text)
    return build_graph(statements, layers=layers)


def answers_of(text: str):
    graph = load_layered(text)
    answers = explain(graph)
    return graph, answers, explain_layers(graph, answers)


def test_layers_bp_counts_by_hand():
    # x is 2, z1 = W1 @ x + b1 is 3, z2 = W2 @ h1 + b2 is 1.
    # Params: W1 3×2 = 6, b1 3, W2 1×3 = 3, b2 1: 13.
    # Partials: ∂L/∂z2[1] (1); z2[1] on W2[1,j], h1[j] (3 + 3) and b2[1] (1); each h1[i] on z1[i]
    # (3); each z1[i] on W1[i,1], W1[i,2] (6) and b1[i] (3): 1 + 7 + 3 + 9 = 20.
    graph, answers, by = answers_of(LAYERS.read_text("utf-8"))
    assert [(p.name, p.shape, p.entries) for p in by.params] == [
        ("W1", (3, 2), 6),
        ("b1", (3,), 3),
        ("W2", (1, 3), 3),
        ("b2", (1,), 1),
    ]
    assert len(answers.params) == 6 + 3 + 3 + 1
    assert [(g.of, g.wrt, g.count) for g in by.partials] == [
        ("L", "z2", 1),
        ("z2", "W2", 3),
        ("z2", "h1", 3),
        ("z2", "b2", 1),
        ("h1", "z1", 3),
        ("z1", "W1", 6),
        ("z1", "b1", 3),
    ]
    assert len(answers.partials) == 20
    # W1 and b1: L → z2 → h1 → z1 → param, 4 factors; W2 and b2: L → z2 → param, 2.
    assert [(p.name, p.shortest, p.longest) for p in by.params] == [
        ("W1", 4, 4),
        ("b1", 4, 4),
        ("W2", 2, 2),
        ("b2", 2, 2),
    ]


def test_layers_bp_matrix_form():
    result = invoke("explain", str(LAYERS))
    assert result.exit_code == 0, result.stderr
    lines = [line.strip() for line in result.stdout.splitlines()]
    for expected in (
        "δ₂ = ∂L/∂z₂",
        "∂L/∂W₂ = δ₂ h₁ᵀ",
        "∂L/∂b₂ = δ₂",
        "δ₁ = (W₂ᵀ δ₂) ⊙ σ′(z₁)",
        "∂L/∂W₁ = δ₁ xᵀ",
        "∂L/∂b₁ = δ₁",
    ):
        assert expected in lines, expected
    assert "By layer: W₁: 3×2 = 6, b₁: 3, W₂: 1×3 = 3, b₂: 1; 6 + 3 + 3 + 1 = 13." in lines


def test_plain_text_matrix_form():
    result = invoke("explain", str(LAYERS), "--ascii")
    assert result.exit_code == 0, result.stderr
    assert "delta1 = (W2' delta2) .* sigmoid'(z1)" in [
        x.strip() for x in result.stdout.splitlines()
    ]


def test_a_formula_of_no_recognised_pattern_is_said_to_be_one():
    text = (
        "input x[2] = [1, 2]\nparam W[2,2] = 0.1\nparam b[2] = 0\n"
        "z = W @ x + b\nh = z * z\nloss L = sum(h)\n"
    )
    _, _, by = answers_of(text)
    stopped = [(x.left.name, x.right, x.unrecognised.name) for x in by.lines if x.unrecognised]
    # h's own line, and δ = ∂L/∂z left element by element rather than derived
    assert stopped == [("h", None, "h"), ("z", Grad("z"), "h")]
    result = invoke_text(text)
    assert "h = z·z is not of a recognised pattern" in " ".join(result.split())


def invoke_text(text: str, *args) -> str:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "net.bp"
        path.write_text(text, "utf-8")
        result = invoke("explain", str(path), *args)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_a_network_without_layers_has_no_layer_answers():
    result = invoke("explain", str(ROOT / "networks" / "two_layer.bp"))
    assert "By layer" not in result.stdout and "matrix form" not in result.stdout


@st.composite
def layered_networks(draw):
    sizes = draw(st.lists(st.integers(1, 4), min_size=2, max_size=4))
    lines = [f"input x[{sizes[0]}] = 0.5", f"target y[{sizes[-1]}] = 1"]
    previous = "x"
    for k, (a, b) in enumerate(zip(sizes, sizes[1:]), 1):
        lines += [f"param W{k}[{b},{a}] = 0.1", f"param b{k}[{b}] = 0"]
        lines.append(f"z{k} = W{k} @ {previous} + b{k}")
        fn = draw(st.sampled_from(["sigmoid", "tanh", "relu"]))
        lines.append(f"h{k} = {fn}(z{k})")
        previous = f"h{k}"
    lines.append(f"loss L = sum((y - {previous})^2)/2")
    return sizes, "\n".join(lines) + "\n"


@settings(max_examples=25, deadline=None)
@given(layered_networks())
def test_the_counts_by_layer_add_up_to_the_scalar_answers(network):
    sizes, text = network
    graph, answers, by = answers_of(text)
    entries = sum(b * a + b for a, b in zip(sizes, sizes[1:]))  # each W is b×a, each bias b
    assert sum(p.entries for p in by.params) == len(answers.params) == entries
    assert sum(g.count for g in by.partials) == len(answers.partials)
    chains = {c.param: c for c in answers.chains}
    for p in by.params:
        elements = [c for name, c in chains.items() if layer_of(name) == p.name]
        assert p.longest == max(c.longest for c in elements)
    # L → h_k → z_k → W_k: 3 factors for the last layer; each layer before it adds 2, z → h → z
    layers = len(sizes) - 1
    assert by.params[0].longest == 3 + 2 * (layers - 1)
    assert by.params[-1].longest == 3


# -- LaTeX -----------------------------------------------------------------------------------------


def test_latex_for_a_layered_network_is_valid():
    result = invoke("explain", str(LAYERS), "--latex")
    assert result.exit_code == 0, result.stderr
    assert_latex_compiles(result.stdout)
    assert (
        r"\delta_{1} &= \left(W_{2}^{\top} \delta_{2}\right) \odot \sigma'\left(z_{1}\right)"
        in (result.stdout)
    )


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_latex_for_a_layered_network_compiles_with_pdflatex(tmp_path):
    for network in ("layers.bp", "softmax.bp"):
        result = invoke("explain", str(ROOT / "networks" / network), "--latex")
        document = (
            "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n"
            f"{result.stdout}\\end{{document}}\n"
        )
        (tmp_path / "doc.tex").write_text(document, "utf-8")
        run = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
            cwd=tmp_path,
            capture_output=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stdout.decode(errors="replace")[-2000:]


# -- the handout's network written with matrices ---------------------------------------------------

# two_layer.bp's z0 = x0*w0 + x1*w2 + b0 is row 1 of W1 @ x + b1, z1 = x0*w1 + x1*w3 + b1 row 2;
# a2 = a0*w4 + a1*w5 + b2 is W2 @ a1 + b2.
SAME = {
    "W1[1,1]": "w0",
    "W1[1,2]": "w2",
    "W1[2,1]": "w1",
    "W1[2,2]": "w3",
    "b1[1]": "b0",
    "b1[2]": "b1",
    "W2[1,1]": "w4",
    "W2[1,2]": "w5",
    "b2[1]": "b2",
}


def test_two_layer_matrix_trains_as_two_layer_bit_for_bit():
    matrix = list(trace(load_layered((ROOT / "networks/two_layer_matrix.bp").read_text()), 5))
    scalar = list(trace(load_layered((ROOT / "networks/two_layer.bp").read_text()), 5))
    assert len(matrix) == len(scalar) == 6
    for a, b in zip(matrix[:-1], scalar[:-1], strict=True):
        assert a.loss == b.loss
        grads = {c.param: c.grad for c in b.chains}
        assert {c.param: c.grad for c in a.chains} == {k: grads[v] for k, v in SAME.items()}
        updates = {u.param: (u.before, u.grad, u.after) for u in b.updates}
        assert {u.param: (u.before, u.grad, u.after) for u in a.updates} == {
            k: updates[v] for k, v in SAME.items()
        }
    assert matrix[-1].loss == scalar[-1].loss
