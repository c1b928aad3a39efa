"""Formulas read as a lecturer writes them, each valid .bp that evaluates to the value shown."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ROOT, declared_params, finite_difference, load

from bptrace.engine.evaluate import compile_expr, run
from bptrace.engine.tracer import batch, trace
from bptrace.language.parser import parse, parse_expression
from bptrace.language.printer import MATH, ascii_spellings, show


def formulas(path):
    graph = load(ROOT / "networks" / path)
    return {(e.of, e.wrt): show(e.formula) for n in graph.nodes for e in n.edges}


def test_simple_formulas_are_the_handouts():
    f = formulas("simple.bp")
    assert f[("h", "w1")] == "x"
    assert f[("h", "b1")] == "1"
    assert f[("g", "h")] == "w2"
    assert f[("g", "w2")] == "h"
    assert f[("L", "g")] in ("-(y - g)", "g - y")


def test_sigmoid_derivative_is_written_in_terms_of_the_node():
    f = formulas("two_layer.bp")
    assert f[("a0", "z0")] == "a0*(1 - a0)"
    assert f[("a2", "a0")] == "w4"
    assert f[("z0", "w0")] == "x0"


@pytest.mark.parametrize(
    "node, wrt, expected",
    [
        ("t = tanh(z)", "z", "1 - t^2"),
        ("e = exp(z)", "z", "e"),
        ("e = exp(2*z)", "z", "2*e"),
        ("s = sqrt(z)", "z", "1/(2*s)"),
        ("q = z^2", "z", "2*z"),
        ("q = 3*z", "z", "3"),
        ("q = z/4", "z", "0.25"),
        ("q = z/3", "z", "1/3"),
        ("q = z*w", "w", "z"),
        ("q = z + z", "z", "2"),
        ("q = log(z)", "z", "1/z"),
        ("q = relu(z)", "z", "step(z)"),
        # Exactly zero, exactly one: no rounding noise and no step(0) left over (issue 17).
        ("h = (z/z)^2.5", "z", "0"),
        ("m = max(z, z)", "z", "1"),
        ("m = min(z, z) + step(z - z)", "z", "1"),
        ("q = z*w/(z*w)", "z", "0"),
        ("q = z*w/(w*z)", "w", "0"),
        ("q = z/z^3", "z", "-2/z^3"),
        ("q = z*w*z/(w*z^3)", "w", "0"),
        ("q = z - w + 2*z - 3*z + w", "z", "0"),
    ],
)
def test_formulas_are_simplified(node, wrt, expected):
    graph = load(f"param z = 0.5\nparam w = 2\nloss {node}\n")
    (edge,) = [e for e in graph.nodes[0].edges if e.wrt == wrt]
    assert show(edge.formula) == expected


def test_sibling_partials_keep_the_factors_in_the_order_written():
    graph = load("param z = 0.5\nparam a = 2\nparam w = 3\nloss L = z*a*w\n")
    f = {e.wrt: show(e.formula) for e in graph.nodes[0].edges}
    assert f == {"z": "a*w", "a": "z*w", "w": "z*a"}


def test_simplified_partials_are_what_is_computed():
    graph = load(
        "param w = 0.7\nparam v = 0.3\nh = (w/w)^2.5\nm = max(w, w)\nq = w*v/(w*v)\n"
        "loss L = h + m + q\n"
    )
    step = next(trace(graph, 1))
    got = {(p.of, p.wrt): (show(p.edge.formula), p.value) for p in step.partials}
    assert got[("h", "w")] == ("0", 0.0)
    assert got[("m", "w")] == ("1", 1.0)
    assert got[("q", "w")] == ("0", 0.0) and got[("q", "v")] == ("0", 0.0)


def test_every_formula_of_every_network_reparses_and_gives_exactly_its_value(network):
    graph = load(network)
    for step in trace(graph, 3):
        if not hasattr(step, "partials"):
            continue
        for node in graph.nodes:
            for edge in node.edges:
                text = show(edge.formula)
                reparsed = parse_expression(text)
                with np.errstate(all="ignore"):
                    again, value = (
                        run(compile_expr(reparsed), step.values),
                        run(edge.program, step.values),
                    )
                    # per sample, with samples
                    assert np.array_equal(again, value, equal_nan=True), text
                show(edge.formula, MATH)  # the slide form renders too
        for p in step.partials:
            again = run(compile_expr(parse_expression(show(p.edge.formula))), step.values)
            assert np.array_equal(np.broadcast_to(again, np.shape(p.value)), p.value)


def test_parse_print_parse_is_stable(network):
    statements = parse(network.read_text("utf-8"))
    for s in statements:
        e = getattr(s, "expr", None) or s.value
        # samples, a draw's arguments
        for item in getattr(e, "items", None) or getattr(e, "args", None) or (e,):
            text = show(item)
            assert parse_expression(text) == item
            assert show(parse_expression(text)) == text


@pytest.mark.parametrize(
    "text, expected",
    [
        ("-2^2", -4.0),  # ^ binds tighter than unary minus
        ("2^3^2", 512.0),  # and is right-associative
        ("2**3", 8.0),
        ("(-2)^2", 4.0),
        (".5 + 1e-3", 0.501),
        ("2^-1", 0.5),
        ("10 - 4 - 3", 3.0),
        ("12/3/2", 2.0),
        ("-+-3", 3.0),
        ("max(1, 2) - min(1, 2)", 1.0),
    ],
)
def test_precedence_and_associativity(text, expected):
    assert float(run(compile_expr(parse_expression(text)), {})) == expected


def test_whole_network_gradients_match_finite_differences(network):
    graph = load(network)
    params = declared_params(graph)
    step = next(trace(graph, 1))
    for chain in step.chains:
        numeric = finite_difference(graph, params, chain.param)
        assert float(chain.grad) == pytest.approx(numeric, rel=1e-5, abs=1e-7), chain.param
        # The sum over the listed paths is the gradient when none were left out.
        # with samples, per sample and then the batch's mean
        if chain.paths_total == len(chain.paths):
            total = batch(graph, sum(p.value for p in chain.paths))
            assert float(total) == pytest.approx(float(chain.grad), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("p, q", [(2 * 10**300 + 1, 2), (10**45 + 1, 4), (123456789, 1000)])
def test_a_number_is_written_as_text_that_reads_back_as_itself(p, q):
    # 10^300 + 1/2 has 302 digits: written in full, the parser (exact up to 40 digits) read back
    # 1e300.
    from fractions import Fraction

    from bptrace.language.printer import number_text

    text = number_text(Fraction(p, q))
    assert show(parse_expression(text)) == text
    assert float(parse_expression(text).value) == float(Fraction(p, q))


# nothing alike: accents dropped, letters spelled
@pytest.mark.parametrize(
    "names, spelled",
    [
        (
            ["ŷ", "θ", "β2"],
            {"ŷ": "y", "θ": "theta", "β2": "beta2"},
        ),
        (["y", "ŷ"], {"ŷ": "y_hat"}),  # beside a y, the accent is spelled out
        (["ŷ", "ý"], {"ŷ": "y_hat", "ý": "y_acute"}),  # neither takes y from the other
        (["x̄", "x"], {"x̄": "x_bar"}),
        (["L", "ℒ"], {"ℒ": "L_u2112"}),  # no accent to spell: the code point
        (["y", "y_hat", "ŷ"], {"ŷ": "y_u0177"}),
        (["y", "y_hat", "ŷ", "y_u0177"], {"ŷ": "y_2"}),
    ],
)
def test_names_spelled_in_ascii_never_look_alike(names, spelled):
    assert ascii_spellings(names) == spelled
    shown = [spelled.get(n, n) for n in names]
    assert len(set(shown)) == len(shown) and all(s.isascii() for s in shown)
