"""The shape of a layer's formula (language/patterns.py), read from formulas written by hand.

Both the matrix view and explain's matrix form ask it; each adds its own conditions (shapes, a
param used nowhere else, numbers that bear the form out), tested in their own files.
"""

from __future__ import annotations

import pytest

from bptrace.language import patterns
from bptrace.language.parser import parse_layered
from bptrace.language.patterns import Affine, Elementwise, Product

NETWORK = """\
input  x[2] = [0.5, -1]
param W[3,2] = [[1, 2], [3, 4], [5, 6]]
param U[2,3] = [[1, 2, 3], [4, 5, 6]]
param V[3,3] = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
param b[3] = [1, 2, 3]
param c[3] = [1, 2, 3]
param k = 2
z = {formula}
loss L = sum(z)
"""


def formula(text: str):
    """Return the formula `z = text` as written, as the layer records keep it."""
    _, layers = parse_layered(NETWORK.format(formula=text))
    (z,) = [layer for layer in layers if layer.name == "z"]
    return z.expr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("W @ x + b", Affine("W", "x", "b")),  # bias on the right
        ("b + W @ x", Affine("W", "x", "b")),  # bias on the left
        ("W @ x", Affine("W", "x", None)),  # no bias
        ("(W @ x) + (b)", Affine("W", "x", "b")),  # brackets change nothing
        ("U' @ x + b", None),  # a transposed W: neither view derives it
        ("W @ x + b + c", None),  # two biases: no longer W @ v + b
        ("W @ x - b", None),  # a difference
        ("W @ x + V @ b", None),  # two products
        # k is a scalar: by its names alone still W @ v + b; that b is a vector is the caller's to
        # check (explain and the matrix view each do).
        ("W @ x + k", Affine("W", "x", "k")),
        ("W @ x + 1", None),  # a number added
        ("2 * (W @ x)", None),
        ("V @ (b + c)", None),  # the operand not a name
        ("b + c", None),
    ],
)
def test_affine_formulas_are_recognised_by_their_form(text, expected):
    assert patterns.pattern(formula(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sigmoid(b)", Elementwise("sigmoid", "b")),
        ("σ(b)", Elementwise("sigmoid", "b")),  # a function by its canonical name
        ("tanh(c)", Elementwise("tanh", "c")),
        ("relu(W @ x)", None),  # the operand not a name
        ("softmax(b)", None),  # a function of the whole vector, not of each element
        ("sigmoid(b) * 2", None),
        ("b", None),
    ],
)
def test_elementwise_formulas_are_recognised_by_their_form(text, expected):
    assert patterns.pattern(formula(text)) == expected


def test_no_formula_is_no_pattern():
    assert patterns.pattern(None) is None


def test_the_terms_of_a_sum_are_its_operands_first_to_last():
    parts = patterns.terms(formula("W @ x + b + c"))
    assert [patterns.product(t) for t in parts] == [Product("W", "x"), None, None]
    assert [patterns.names(t) for t in parts] == [["W", "x"], ["b"], ["c"]]
    assert patterns.terms(formula("W @ x - b")) == [formula("W @ x - b")]


def test_a_product_is_a_matrix_times_a_vector_both_by_name():
    assert patterns.product(formula("V @ b")) == Product("V", "b")
    assert patterns.product(formula("U' @ x")) is None
    assert patterns.product(formula("V @ (b + c)")) is None
    assert patterns.product(formula("b")) is None


def test_the_names_a_formula_uses_in_reading_order():
    # h1[2] uses h1, W' uses W, a name used twice is named twice.
    assert patterns.names(formula("-(U' @ x) + b + W @ x")) == ["U", "x", "b", "W", "x"]
    assert patterns.names(formula("b[2] * c + sigmoid(b)")) == ["b", "c", "b"]
    assert patterns.names(None) == []
