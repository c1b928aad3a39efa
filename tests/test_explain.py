"""`bptrace explain`: the handout's five questions, answered from the network alone, in text and
LaTeX."""

from __future__ import annotations

import re

import pytest
from conftest import NETWORKS, ROOT, assert_latex_compiles, load
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from bptrace.cli.app import app
from bptrace.engine.explain import conclusion, explain
from bptrace.language.parser import parse_expression
from bptrace.views import latex

ENV = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}


def invoke(*args):
    return CliRunner(env=ENV).invoke(app, list(args), prog_name="bptrace")


def test_the_handouts_questions_for_the_two_layer_network():
    # Worked out from the handout's diagram: 6 weights and 3 biases; the loss uses a2 (1 partial),
    # a2 uses a0, a1, w4, w5, b2 (5), each a_i its z_i (2), each z_i two weights and a bias (6): 14.
    answers = explain(load(ROOT / "networks/two_layer.bp"))
    assert len(answers.params) == 9
    assert len(answers.partials) == 14
    chains = {c.param: c for c in answers.chains}
    assert chains["w4"].paths == (("L", "a2", "w4"),) and chains["w4"].longest == 2
    assert chains["w0"].paths == (("L", "a2", "a0", "z0", "w0"),) and chains["w0"].longest == 4
    assert {c.param for c in answers.longest_chains} == {"w0", "w1", "w2", "w3", "b0", "b1"}
    assert {c.param for c in answers.shortest_chains} == {"w4", "w5", "b2"}


def test_the_simple_network_needs_six_local_partials():
    # ∂L/∂g, ∂g/∂h, ∂g/∂w2, ∂g/∂b2, ∂h/∂w1, ∂h/∂b1: the handout's boxes.
    answers = explain(load(ROOT / "networks/simple.bp"))
    assert [(e.of, e.wrt) for e in answers.partials] == [
        ("L", "g"),
        ("g", "h"),
        ("g", "w2"),
        ("g", "b2"),
        ("h", "w1"),
        ("h", "b1"),
    ]
    assert {c.param: c.longest for c in answers.chains} == {"w1": 3, "b1": 3, "w2": 2, "b2": 2}


def test_a_reused_node_gives_paths_of_different_lengths():
    # fanout.bp: b = a + a, c = b + b, L = c·a: a reaches L through c (3 edges) and directly (1).
    (chain,) = explain(load(ROOT / "networks/fanout.bp")).chains
    assert chain.total == 2 and (chain.shortest, chain.longest) == (1, 3)
    assert chain.paths == (("L", "c", "b", "a"), ("L", "a"))


def test_params_that_no_path_reaches_are_not_compared():
    answers = explain(load("param w = 1\nparam unused = 2\nloss L = w^2\n"))
    assert {c.param: c.total for c in answers.chains} == {"w": 1, "unused": 0}
    assert [c.param for c in answers.longest_chains] == ["w"]


def test_explain_for_chosen_params_writes_only_their_chains_but_compares_all():
    result = invoke("explain", str(ROOT / "networks/two_layer.bp"), "w4")
    assert result.exit_code == 0, result.stderr
    chains = [
        line.split()[0] for line in result.stdout.splitlines() if re.match(r"∂L/∂\S+ =", line)
    ]
    assert chains == ["∂L/∂w₄"]
    assert (
        "The longest paths (4 factors) lead to w₀, w₁, w₂, w₃, b₀, b₁; the shortest (2) to w₄, w₅, "
        "b₂." in " ".join(result.stdout.split())
    )


def test_an_unknown_param_is_a_usage_error_with_a_suggestion():
    result = invoke("explain", str(ROOT / "networks/two_layer.bp"), "w9", "W4")
    assert result.exit_code == 2
    assert "'w9' is not a param" in result.stderr


# -- LaTeX -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", NETWORKS, ids=[p.stem for p in NETWORKS])
def test_latex_of_every_example_would_compile(path):
    result = invoke("explain", str(path), "--latex")
    assert result.exit_code == 0, result.stderr
    assert_latex_compiles(result.stdout)
    assert r"\usepackage{amsmath}" in result.stdout.splitlines()[1]


def test_latex_writes_the_handouts_chain_for_w0():
    text = latex.explanation(explain(load(ROOT / "networks/two_layer.bp")), "two_layer")
    d = lambda a, b: rf"\frac{{\partial {a}}}{{\partial {b}}}"  # noqa: E731
    w0 = (
        rf"{d('L', 'w_{0}')} &= {d('L', 'a_{2}')} \cdot {d('a_{2}', 'a_{0}')} "
        rf"\cdot {d('a_{0}', 'z_{0}')} \cdot {d('z_{0}', 'w_{0}')}"
    )
    assert w0 + r" && \text{4 factors} \\" in text
    assert r"\item The gradient has 9 entries" in text


@pytest.mark.parametrize(
    "name, expected",
    [
        ("w1", "w_{1}"),
        ("w_1", r"\mathit{w\_1}"),
        ("θ", r"\theta"),
        ("x̂", r"\hat{x}"),
        ("ŷ", r"\hat{y}"),
        ("loss", r"\mathit{loss}"),
        ("L", "L"),
        ("b12", "b_{12}"),
        ("λ2", r"\lambda_{2}"),
        ("h_out", r"\mathit{h\_out}"),
    ],
)
def test_names_in_latex(name, expected):
    assert latex.name(name) == expected


@pytest.mark.parametrize(
    "bp, expected",
    [
        ("-(y - g)", r"-\left(y - g\right)"),
        ("a0*(1 - a0)", r"a_{0} \cdot \left(1 - a_{0}\right)"),
        ("1/2*(y - g)^2", r"\frac{1}{2} \cdot {\left(y - g\right)}^{2}"),
        ("w/L", r"\frac{w}{L}"),
        (
            "sigmoid(z)*(1 - sigmoid(z))",
            r"\sigma\left(z\right) \cdot \left(1 - \sigma\left(z\right)\right)",
        ),
        ("sqrt(x)/abs(x)", r"\frac{\sqrt{x}}{\left\lvert x \right\rvert}"),
        (
            "relu(x) + step(x)",
            r"\operatorname{relu}\left(x\right) + \operatorname{step}\left(x\right)",
        ),
        ("x^-1", r"{x}^{-1}"),
        ("2.5e-8*x", r"2.5 \times 10^{-8} \cdot x"),
        ("a - -b", r"a - \left(-b\right)"),
    ],
)
def test_formulas_in_latex(bp, expected):
    assert latex.formula(parse_expression(bp)) == expected


NAMES = st.sampled_from(["x", "w1", "θ", "x̂", "h_out", "b12"])
LEAVES = st.one_of(NAMES.map(str), st.sampled_from(["2", "0.5", "1/3"]))


@st.composite
def expressions(draw, depth=3):
    if depth == 0 or draw(st.booleans()):
        return draw(LEAVES)
    kind = draw(st.sampled_from(["+", "-", "*", "/", "^", "neg", "fn"]))
    a = draw(expressions(depth=depth - 1))
    if kind == "neg":
        return f"-({a})"
    if kind == "fn":
        fn = draw(
            st.sampled_from(
                [
                    "sigmoid",
                    "tanh",
                    "relu",
                    "exp",
                    "log",
                    "sqrt",
                    "sin",
                    "cos",
                    "abs",
                    "step",
                    "sign",
                ]
            )
        )
        return f"{fn}({a})"
    b = draw(expressions(depth=depth - 1))
    return f"({a}) {kind} ({b})"


@given(expressions())
def test_every_formula_is_balanced_latex(text):
    assert_latex_compiles("$" + latex.formula(parse_expression(text)) + "$")


def test_question_5_compares_shortest_and_longest_paths():
    # a reaches L directly (1 edge) and through c (2 edges); b only through c (2 edges).
    answers = explain(load("param a = 1\nparam b = 2\nc = a*b\nloss L = c + a\n"))
    assert [c.param for c in answers.longest_chains] == ["a", "b"]
    assert [c.param for c in answers.shortest_chains] == ["a"]


@pytest.mark.skipif(not __import__("shutil").which("pdflatex"), reason="pdflatex is not installed")
@pytest.mark.parametrize("path", NETWORKS, ids=[p.stem for p in NETWORKS])
def test_explain_latex_compiles_with_pdflatex(path, tmp_path):
    fragment = invoke("explain", str(path), "--latex").stdout
    document = (
        "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n"
        + fragment
        + "\\end{document}\n"
    )
    (tmp_path / "e.tex").write_text(document, encoding="utf-8")
    run = __import__("subprocess").run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "e.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-2000:]


def test_a_local_partial_of_the_loss_is_marked_direct_where_the_gradient_of_that_name_differs():
    # fanout: L = c·a with c = 4a. The edge's ∂L/∂a = c = 12, the gradient ∂L/∂a = 8a = 24: two
    # numbers, so every view that lists the local partial marks it (direct); ∂L/∂c, c's only path,
    # is both at once.
    graph = load(ROOT / "networks" / "fanout.bp")
    assert explain(graph).direct == {("L", "a")}
    assert explain(load(ROOT / "networks" / "simple.bp")).direct == frozenset()
    assert r"\left.\frac{\partial L}{\partial a}\right|_{\text{direct}} &= c" in latex.explanation(
        explain(graph), "fanout"
    )
    table = (
        CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1"})
        .invoke(app, ["run", str(ROOT / "networks" / "fanout.bp")])
        .stdout
    )
    assert re.search(r"∂L/∂a \(direct\)\s+c\s+12\n", table) and re.search(r"∂L/∂c\s+a\s+3\n", table)


def test_a_single_direct_path_is_marked_so_it_does_not_read_as_circular(tmp_path):
    # L = w²: the gradient is the one local partial ∂L/∂w = 2w; "∂L/∂w = ∂L/∂w" would say nothing.
    f = tmp_path / "square.bp"
    f.write_text("param w = 3\nloss L = w^2\n")
    graph = load(f)
    assert (
        r"\frac{\partial L}{\partial w} &= \left.\frac{\partial L}{\partial "
        r"w}\right|_{\text{direct}}" in latex.explanation(explain(graph), "square")
    )
    runner = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1"})
    assert re.search(
        r"∂L/∂w =\s+∂L/∂w \(direct\)\s+1\n", runner.invoke(app, ["explain", str(f)]).stdout
    )
    # 2w at w = 3
    assert re.search(
        r"∂L/∂w\s+∂L/∂w \(direct\)\s+\(6\)\s+6\n", runner.invoke(app, ["run", str(f)]).stdout
    )


@pytest.mark.parametrize("n, whole", [(12, True), (13, False)])
def test_question_one_writes_the_gradient_out_whole_up_to_twelve_params(tmp_path, n, whole):
    net = tmp_path / "many.bp"
    net.write_text(
        "".join(f"param p{i} = 1\n" for i in range(1, n + 1))
        + "loss L = "
        + " + ".join(f"p{i}" for i in range(1, n + 1))
        + "\n"
    )
    out = (
        CliRunner(env={"COLUMNS": "400", "NO_COLOR": "1"})
        .invoke(app, ["explain", str(net), "--ascii"])
        .stdout
    )
    entries = (
        ", ".join(f"dL/dp{i}" for i in range(1, n + 1))
        if whole
        else f"dL/dp1, dL/dp2, dL/dp3, ..., dL/dp{n}"
    )
    assert f"{n}: one entry per param, grad L = ({entries})." in out


def test_question_five_says_which_params_have_paths_of_both_lengths(tmp_path):
    """h = x·w + b reaches the loss directly (3 factors: ∂L/∂out·∂out/∂h·∂h/∂w) and through r, m and
    a too (6)."""
    net = tmp_path / "skip.bp"
    net.write_text(
        "input x = 1.5\ntarget y = 2\nparam w = 0.8\nparam v = -0.5\nparam b = 0.1\nh = x*w + b\n"
        "r = relu(h*v + 1)\nm = max(h, r)\na = abs(m - h*h)\nout = a + r*h\nloss L = (out - y)^2\n"
    )
    out = " ".join(CliRunner().invoke(app, ["explain", str(net), "--ascii"]).stdout.split())
    assert (
        "The longest paths (6 factors) lead to w, b; the shortest (3) to w, v, b. w, b have paths "
        "of both lengths." in out
    )


SOFTMAX = (
    "input x = 1\ntarget y1 = 1\ntarget y2 = 0\ntarget y3 = 0\n"
    "param w1 = 0.1\nparam w2 = 0.2\nparam w3 = 0.3\nparam b1 = 0\nparam b2 = 0\nparam b3 = 0\n"
    "z1 = x*w1 + b1\nz2 = x*w2 + b2\nz3 = x*w3 + b3\ne1 = exp(z1)\ne2 = exp(z2)\ne3 = exp(z3)\n"
    "s = e1 + e2 + e3\np1 = e1/s\np2 = e2/s\np3 = e3/s\n"
    "loss L = -(y1*log(p1) + y2*log(p2) + y3*log(p3))\n"
)


def test_question_five_says_every_param_has_paths_of_both_lengths_when_each_does(tmp_path):
    """Softmax over three classes: w1 reaches L through p1 straight from e1 (L, p1, e1, z1, w1: 4
    factors) and through s from p1, p2 and p3 (5 factors); so does every param. None is farther from
    the loss than another."""
    net = tmp_path / "softmax.bp"
    net.write_text(SOFTMAX)
    answers = explain(load(SOFTMAX))
    assert {(c.param, c.shortest, c.longest, c.total) for c in answers.chains} == {
        (p, 4, 5, 4) for p in ("w1", "w2", "w3", "b1", "b2", "b3")
    }
    out = " ".join(CliRunner().invoke(app, ["explain", str(net), "--ascii"]).stdout.split())
    assert (
        "Neither: every param has paths of 4 factors and of 5, so no param is farther from the "
        "loss "
        "than another."
    ) in out
    assert "the shortest (4)" not in out and "Longer." not in out
    assert "every param has paths of 4 factors and of 5" in latex.explanation(answers, "softmax")


def test_question_five_says_when_the_same_params_have_the_longest_and_the_shortest_paths():
    # a reaches L directly (1 factor) and through e, d and c (4); b only through e and d (3
    # factors).
    answers = explain(load("param a = 1\nparam b = 2\nc = a*2\nd = c*b\ne = d*2\nloss L = e + a\n"))
    text = conclusion(answers, str)
    assert text.startswith(
        "Both the longest paths (4 factors) and the shortest (1) lead to a; the other params' "
        "paths lie between."
    )
