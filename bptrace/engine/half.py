"""The ½ of a squared-error loss under `set half`: found at the top of the loss, dropped or added.

The ½ is a factor of the whole loss, as the lecture writes it: 1/2*X, 0.5*X, (1/2)*X, X*1/2, X/2,
or the first factor of a longer product (1/2*X*Y); or a factor of every term of a sum, as
Mazur's E = ½(t₁ − o₁)² + ½(t₂ − o₂)² has it (½a + ½b = ½(a + b)). A ½ in some terms only is not
"the" ½: halving one term is not halving the loss.
"""

from __future__ import annotations

from fractions import Fraction

from bptrace.language.syntax import Binary, Expr, Neg, Num, walk

_HALF = Fraction(1, 2)


def without_half(e: Expr) -> Expr | None:
    """Return the loss expression `e` without its top-level ½, or None when it has none."""
    if isinstance(e, Neg):
        inner = without_half(e.operand)
        return None if inner is None else Neg(inner, e.span)
    if not isinstance(e, Binary):
        return None
    if e.op in ("+", "-"):  # ½a + ½b: a ½ in every term
        left, right = without_half(e.left), without_half(e.right)
        return None if left is None or right is None else Binary(e.op, left, right, e.span)
    if e.op == "*":
        if _is_half(e.left):
            return e.right
        if _is_half(e.right):
            return e.left
        left = without_half(e.left)  # (1/2*X)*Y: the ½ is the first factor of the product
        return None if left is None else Binary("*", left, e.right, e.span)
    if e.op == "/":
        if _is_num(e.right, 2):
            left = e.left
            # X*1/2 reads (X*1)/2: without the ½ it is X, not X*1
            if isinstance(left, Binary) and left.op == "*" and _is_num(left.right, 1):
                return left.left
            return left
        left = without_half(e.left)  # 1/2*X/m
        return None if left is None else Binary("/", left, e.right, e.span)
    return None


def with_half(e: Expr) -> Expr:
    """Return the loss expression `e` with a ½ in front, unless it has one already."""
    if without_half(e) is not None:
        return e
    return Binary("*", Binary("/", Num(Fraction(1)), Num(Fraction(2))), e)


def squares(e: Expr) -> bool:
    """Tell whether the loss `e` squares anything (X^2, X*X): whether a ½ in front of it is the
    squared error's, and not a halving of, say, a cross-entropy."""
    return any(
        isinstance(x, Binary)
        and ((x.op == "^" and _is_num(x.right, 2)) or (x.op == "*" and x.left == x.right))
        for x in walk(e)
    )


def _is_half(e: Expr) -> bool:
    """Tell whether `e` is ½ as written: 1/2 or 0.5."""
    if isinstance(e, Num):
        return e.value == _HALF
    return isinstance(e, Binary) and e.op == "/" and _is_num(e.left, 1) and _is_num(e.right, 2)


def _is_num(e: Expr, value: int) -> bool:
    return isinstance(e, Num) and e.value == value
