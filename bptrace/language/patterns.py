"""The shape of a layer's formula as written: affine `W @ v + b`, elementwise `f(z)`, or neither.

Read from the formula alone, by its names: whether W is a matrix and v a vector, whether W is
used elsewhere, whether the numbers bear a form out, is each caller's own question (the matrix
view's, explain's). A transposed `W' @ v` is no product here: neither caller derives one.
"""

from __future__ import annotations

from dataclasses import dataclass

from bptrace.language.functions import LAYER_ARITY
from bptrace.language.syntax import Binary, Call, Expr, Index, Name, Transpose, children


@dataclass(frozen=True, slots=True)
class Product:
    """A term `W @ v`: a matrix times a vector, each by its name."""

    weights: str
    operand: str


@dataclass(frozen=True, slots=True)
class Affine:
    """`W @ v + b`, `b + W @ v`, or `W @ v` (bias None)."""

    weights: str
    operand: str
    bias: str | None


@dataclass(frozen=True, slots=True)
class Elementwise:
    """`f(z)`: a function of one number applied to each element of z."""

    fn: str
    operand: str


def terms(e: Expr) -> list[Expr]:
    """Return the terms of a sum a + b + …, the sum's own operands first to last."""
    if isinstance(e, Binary) and e.op == "+":
        return terms(e.left) + terms(e.right)
    return [e]


def product(e: Expr) -> Product | None:
    """Return the term `W @ v` that `e` is, both by name; None when it is not one."""
    if (
        isinstance(e, Binary)
        and e.op == "@"
        and isinstance(e.left, Name)
        and isinstance(e.right, Name)
    ):
        return Product(e.left.id, e.right.id)
    return None


def pattern(e: Expr | None) -> Affine | Elementwise | None:
    """Return what a formula is: W @ v + b (b on either side, or none), f(z); None otherwise."""
    if e is None:
        return None
    parts = terms(e)
    if len(parts) == 1 and (p := product(e)) is not None:
        return Affine(p.weights, p.operand, None)
    if len(parts) == 2:
        for left, right in (parts, parts[::-1]):
            if (p := product(left)) is not None and isinstance(right, Name):
                return Affine(p.weights, p.operand, right.id)
        return None
    if isinstance(e, Call) and e.fn not in LAYER_ARITY and len(e.args) == 1:
        (arg,) = e.args
        if isinstance(arg, Name):
            return Elementwise(e.fn, arg.id)
    return None


def names(e: Expr | None) -> list[str]:
    """Return the layer names a formula as written uses, in reading order (h1[2] uses h1)."""
    if e is None:
        return []
    if isinstance(e, Name):
        return [e.id]
    if isinstance(e, Index):
        return [e.name.id]
    if isinstance(e, Transpose):
        return names(e.operand)
    return [n for child in children(e) for n in names(child)]
