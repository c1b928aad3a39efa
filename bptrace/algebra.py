"""Build expressions the way a lecturer simplifies them: fold numbers, drop zeros and ones.

Every constructor returns an expression equal in value to the plain operation. Numbers fold
exactly (as fractions), so 1/2*2*(-1) becomes exactly -1, but only into numbers a float can hold
(zero, or a normal float's magnitude): anything else stays unfolded, so that every formula prints
as valid .bp text that evaluates to the same value.
"""

from __future__ import annotations

import sys
from fractions import Fraction

from bptrace.printer import exact_text
from bptrace.syntax import Binary, Call, Expr, Name, Neg, Num

ZERO = Num(Fraction(0))
ONE = Num(Fraction(1))
_MAX_BITS = 2000  # beyond this a folded fraction is rounded to the nearest float
_LARGEST = Fraction(sys.float_info.max)
_SMALLEST = Fraction(sys.float_info.min)  # the smallest normal float


def foldable(v: Fraction) -> bool:
    """Tell whether `v` may stand as a folded number: zero, or a normal float's magnitude."""
    return v == 0 or _SMALLEST <= abs(v) <= _LARGEST


def num(value: Fraction | int | float) -> Num:
    """Return a number node, exact while short text can write it, else the nearest float."""
    v = Fraction(value)
    if v.numerator.bit_length() > _MAX_BITS or v.denominator.bit_length() > _MAX_BITS or exact_text(abs(v)) is None:
        v = Fraction(float(v))  # callers check foldable() first, so this cannot overflow; repr() is exact
    return Num(v)


def is_num(e: Expr, value: int | None = None) -> bool:
    """Tell whether `e` is a number (equal to `value` when given)."""
    return isinstance(e, Num) and (value is None or e.value == value)


def split(e: Expr) -> tuple[Fraction, list[Expr]]:
    """Return `e` as a numeric coefficient times a list of other factors."""
    if isinstance(e, Num):
        return e.value, []
    if isinstance(e, Neg):
        c, factors = split(e.operand)
        return -c, factors
    if isinstance(e, Binary) and e.op == "*":
        cl, fl = split(e.left)
        cr, fr = split(e.right)
        return cl * cr, fl + fr
    return Fraction(1), [e]


def product(coefficient: Fraction, factors: list[Expr]) -> Expr:
    """Return coefficient·f1·f2·…, written left to right with the number first."""
    if coefficient == 0:
        return ZERO
    if not factors:
        return num(coefficient)
    only = factors[0]
    if len(factors) == 1 and isinstance(only, Binary) and only.op == "/" and only.left == ONE and coefficient > 0:
        # c·(1/d) reads better as p/(q·d).
        p, q = coefficient.numerator, coefficient.denominator
        if foldable(Fraction(p)) and foldable(Fraction(q)):
            return Binary("/", num(p), mul(num(q), only.right))
    if abs(coefficient) == 1:
        body, rest = factors[0], factors[1:]
    else:
        body, rest = num(abs(coefficient)), factors
    for f in rest:  # left to right, so 2*a*b prints without parentheses
        body = Binary("*", body, f)
    return Neg(body) if coefficient < 0 else body


def mul(a: Expr, b: Expr) -> Expr:
    """Return a·b."""
    ca, fa = split(a)
    cb, fb = split(b)
    if not foldable(ca * cb):
        return Binary("*", a, b)
    return product(ca * cb, fa + fb)


def neg(a: Expr) -> Expr:
    """Return −a."""
    c, factors = split(a)
    return product(-c, factors)


def add(a: Expr, b: Expr) -> Expr:
    """Return a + b, combining like terms and writing a + (−b) as a − b."""
    ca, fa = split(a)
    cb, fb = split(b)
    if ca == 0:
        return b
    if cb == 0:
        return a
    if fa == fb and foldable(ca + cb):
        return product(ca + cb, fa)
    if cb < 0:
        return Binary("-", a, product(-cb, fb))
    return Binary("+", a, b)


def sub(a: Expr, b: Expr) -> Expr:
    """Return a − b."""
    return add(a, neg(b))


def div(a: Expr, b: Expr) -> Expr:
    """Return a / b."""
    if is_num(b, 1):
        return a
    if is_num(a, 0):
        return ZERO
    if isinstance(b, Num) and b.value != 0 and foldable(1 / b.value):
        return mul(num(1 / b.value), a)
    ca, fa = split(a)
    if ca != 1 and fa:
        return mul(num(ca), Binary("/", product(Fraction(1), fa), b))
    return Binary("/", a, b)


def power(a: Expr, b: Expr) -> Expr:
    """Return a^b."""
    if is_num(b, 1):
        return a
    if is_num(b, 0):
        return ONE
    if isinstance(a, Num) and isinstance(b, Num):
        e = b.value
        size = max(a.value.numerator.bit_length(), a.value.denominator.bit_length())
        if e.denominator == 1 and abs(e) * size <= _MAX_BITS and not (a.value == 0 and e < 0):
            folded = a.value ** int(e)
            if foldable(folded):
                return num(folded)
    return Binary("^", a, b)


def call(fn: str, *args: Expr) -> Expr:
    """Return fn(args…); calls are never folded, so exp(1) stays exp(1)."""
    return Call(fn, tuple(args))


_BUILD = {"+": add, "-": sub, "*": mul, "/": div, "^": power}


def simplify(e: Expr) -> Expr:
    """Rebuild `e` bottom-up through the simplifying constructors."""
    if isinstance(e, Binary):
        return _BUILD[e.op](simplify(e.left), simplify(e.right))
    if isinstance(e, Neg):
        return neg(simplify(e.operand))
    if isinstance(e, Call):
        return Call(e.fn, tuple(simplify(a) for a in e.args))
    if isinstance(e, Num):
        return num(e.value)
    return Name(e.id)


def replace(e: Expr, target: Expr, by: Expr) -> Expr:
    """Return `e` with every subexpression equal to `target` replaced by `by`."""
    if e == target:
        return by
    if isinstance(e, Binary):
        return Binary(e.op, replace(e.left, target, by), replace(e.right, target, by))
    if isinstance(e, Neg):
        return Neg(replace(e.operand, target, by))
    if isinstance(e, Call):
        return Call(e.fn, tuple(replace(a, target, by) for a in e.args))
    return e
