"""Every derivative rule in the math table, checked against central finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import examples
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bptrace.engine.algebra import simplify
from bptrace.engine.evaluate import compile_expr, run
from bptrace.engine.ops import FUNCTIONS, OPERATORS, derivative
from bptrace.language.parser import parse_expression
from bptrace.language.printer import show

# Each rule as a .bp expression in a and b, with the domain where it is smooth.
RULES = {
    "a + b": None,
    "a - b": None,
    "a * b": None,
    "a / b": lambda a, b: abs(b) > 0.1,
    "a ^ b": lambda a, b: a > 0.1,  # general power: both sides vary
    "a ^ 3": None,
    "a ^ (-2)": lambda a, b: abs(a) > 0.1,
    "a ^ 0.5": lambda a, b: a > 0.1,
    "2 ^ a": None,
    "-a": None,
    "sigmoid(a)": None,
    "σ(a)": None,
    "logsigmoid(a)": None,
    "logsigmoid(20*a)": None,  # far into both tails: e^−60 and −60
    "logaddexp(a, b)": None,
    "logaddexp(30*a, 30*b)": lambda a, b: abs(a - b) > 0.01,  # one side e^90 larger
    "tanh(a)": None,
    "exp(a)": None,
    "relu(a)": lambda a, b: abs(a) > 1e-3,
    "log(a)": lambda a, b: a > 0.1,
    "sqrt(a)": lambda a, b: a > 0.1,
    "sin(a)": None,
    "cos(a)": None,
    "abs(a)": lambda a, b: abs(a) > 1e-3,
    "max(a, b)": lambda a, b: abs(a - b) > 1e-3,
    "min(a, b)": lambda a, b: abs(a - b) > 1e-3,
    "step(a)": lambda a, b: abs(a) > 1e-3,
    "heaviside(a, b)": lambda a, b: abs(a) > 1e-3,
    "sign(a)": lambda a, b: abs(a) > 1e-3,
    # Compositions exercise the chain rule and the simplifier together.
    "sigmoid(a*b + 1)*tanh(b)": None,
    "exp(a - b)/(1 + exp(a - b))": None,
    "1/2*(b - a)^2": None,
    "log(1 + exp(a))*a - sqrt(b^2 + 1)": None,
    "a*a*a - 3*a*b + b/2": None,
    "max(a*a, b) + min(sin(a), cos(b))": lambda a, b: (
        abs(a * a - b) > 1e-3 and abs(math.sin(a) - math.cos(b)) > 1e-3
    ),
    # Exactly-zero and exactly-one derivatives the simplifier writes as 0 and 1 (issue 17).
    "(a/a)^2.5 + b": lambda a, b: abs(a) > 0.1,
    "max(a, a) + min(b, b)": None,
    "a*b/(a*b)": lambda a, b: abs(a * b) > 0.01,
    "a*b*a/(b*a^2) + (a*b)^2/(b*a)": lambda a, b: abs(a * b) > 0.01,
    "a - b + 2*a - 3*a + b + sign(b - b)": None,
}

values = st.floats(min_value=-3, max_value=3, allow_nan=False)


def value(expr, a, b):
    with np.errstate(all="ignore"):
        return float(run(compile_expr(expr), {"a": np.float64(a), "b": np.float64(b)}))


def central(expr, a, b, wrt, h=1e-6):
    if wrt == "a":
        return (value(expr, a + h, b) - value(expr, a - h, b)) / (2 * h)
    return (value(expr, a, b + h) - value(expr, a, b - h)) / (2 * h)


def test_every_operator_and_function_has_a_rule_here():
    covered = set()
    for text in RULES:
        e = parse_expression(text)
        from bptrace.language.syntax import Binary, Call, Neg, walk

        for node in walk(e):
            covered.add(
                node.op
                if isinstance(node, Binary)
                else node.fn
                if isinstance(node, Call)
                else "neg"
                if isinstance(node, Neg)
                else None
            )
    assert set(OPERATORS) | set(FUNCTIONS) <= covered


@pytest.mark.parametrize("text", RULES)
@settings(max_examples=examples(1 / 5))  # a fifth of the profile for each of the rules
@given(a=values, b=values)
def test_partial_matches_central_difference(text, a, b):
    smooth = RULES[text]
    assume(smooth is None or smooth(a, b))
    expr = parse_expression(text)
    assume(math.isfinite(value(expr, a, b)))
    for wrt in ("a", "b"):
        formula = derivative(simplify(expr), wrt)
        analytic = value(formula, a, b)
        numeric = central(expr, a, b, wrt)
        assert analytic == pytest.approx(numeric, rel=1e-4, abs=1e-5), (text, wrt, show(formula))


@pytest.mark.parametrize(
    "text, wrt, at, expected",
    [
        ("relu(a)", "a", 0.0, 0.0),  # relu'(0) = 0
        ("abs(a)", "a", 0.0, 0.0),  # abs'(0) = 0
        ("max(a, b)", "a", 1.0, 1.0),  # a tie sends the whole gradient to the first argument
        ("max(a, b)", "b", 1.0, 0.0),
        ("min(a, b)", "a", 1.0, 1.0),
        ("min(a, b)", "b", 1.0, 0.0),
        ("step(a)", "a", 0.0, 0.0),
        ("logsigmoid(a)", "a", 0.0, 0.5),  # 1 − σ(0)
        ("logsigmoid(a)", "a", 1000.0, 0.0),  # σ(−1000): e^−1000 is below the smallest float
        ("logsigmoid(a)", "a", -1000.0, 1.0),
        ("logaddexp(a, b)", "a", 1000.0, 0.5),  # a tie: e^a/(e^a + e^b) = 1/2
        ("logaddexp(a, b)", "b", 1000.0, 0.5),
    ],
)
def test_conventions_at_kinks(text, wrt, at, expected):
    formula = derivative(simplify(parse_expression(text)), wrt)
    assert value(formula, at, at) == expected


@pytest.mark.parametrize(
    "text, a, b, expected",
    [
        # log σ(z) = −log(1 + e^−z): e^1000 overflows a float, the table's value does not.
        ("logsigmoid(a)", 1000.0, 0.0, -math.exp(-1000.0)),  # −e^−1000 rounds to 0
        ("logsigmoid(a)", -1000.0, 0.0, -1000.0),  # −1000 − log(1 + e^−1000)
        ("logsigmoid(a)", 0.0, 0.0, -math.log(2)),
        ("logsigmoid(a)", 2.0, 0.0, math.log(1 / (1 + math.exp(-2.0)))),
        ("logaddexp(a, b)", 1000.0, 1000.0, 1000.0 + math.log(2)),
        ("logaddexp(a, b)", 1000.0, -1000.0, 1000.0),
        ("logaddexp(a, b)", -1000.0, -1000.5, -1000.0 + math.log(1 + math.exp(-0.5))),
        ("logaddexp(a, b)", 1.0, 2.0, math.log(math.e + math.e**2)),
    ],
)
def test_log_functions_are_finite_where_exp_overflows(text, a, b, expected):
    expr = parse_expression(text)
    assert value(expr, a, b) == pytest.approx(expected, rel=1e-14, abs=0)
    for wrt in ("a", "b"):
        assert math.isfinite(value(derivative(simplify(expr), wrt), a, b))
