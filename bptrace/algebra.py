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
UNIT = Fraction(1)  # the coefficient of a plain factor: tested by identity, to skip Fraction arithmetic
_MAX_BITS = 2000  # beyond this a folded fraction is rounded to the nearest float
_LARGEST = Fraction(sys.float_info.max)
_SMALLEST = Fraction(sys.float_info.min)  # the smallest normal float


def foldable(v: Fraction) -> bool:
    """Tell whether `v` may stand as a folded number: zero, or a normal float's magnitude."""
    return v == 0 or _SMALLEST <= abs(v) <= _LARGEST


def num(value: Fraction | int | float) -> Num:
    """Return a number node, exact while short text can write it, else the nearest float."""
    v = value if type(value) is Fraction else Fraction(value)
    if v.denominator < 2**53 and -(2**53) < v.numerator < 2**53:
        return Num(v)  # p/q of float-sized integers always has exact short text
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
    if isinstance(e, Binary) and e.op == "/":
        # −3·b/(2·w) is −3/2 times b/w: the sign and numbers come out, so a + −x can read a − x.
        ct, ft = split(e.left)
        cb, fb = split(e.right)
        if cb != 0 and foldable(ct / cb):
            if not fb:
                return ct / cb, ft
            return ct / cb, [Binary("/", _chain(Fraction(1), ft), _chain(Fraction(1), fb))]
    return UNIT, [e]


def product(coefficient: Fraction, factors: list[Expr]) -> Expr:
    """Return coefficient·f1·f2·…, with quotients gathered into one fraction: y·(1/p) is y/p."""
    if coefficient == 0:
        return ZERO
    top: list[Expr] = []
    bottom: list[Expr] = []
    for f in factors:
        if isinstance(f, Binary) and f.op == "/":
            ct, ft = split(f.left)
            cb, fb = split(f.right)
            if cb != 0 and foldable(coefficient * ct / cb):
                coefficient = coefficient * ct / cb
                top += ft
                bottom += fb
                continue
        top.append(f)
    if coefficient == 0:
        return ZERO
    if not bottom:
        return _chain(coefficient, top)
    # p/q·top/bottom is written (p·top)/(q·bottom): 2·(1/(2·L))·w becomes w/L.
    numerator = _chain(Fraction(coefficient.numerator), top)
    return Binary("/", numerator, _chain(Fraction(coefficient.denominator), bottom))


def _chain(coefficient: Fraction, factors: list[Expr]) -> Expr:
    """Return coefficient·f1·f2·… left to right, the number first; −1 becomes a minus sign.

    Repeated factors become powers: v·(m·v − y)·v is v²·(m·v − y).
    """
    if not factors:
        return num(coefficient)
    if len(factors) > 1:
        counts: dict[Expr, int] = {}
        for f in factors:
            counts[f] = counts.get(f, 0) + 1
        factors = [f if k == 1 else power(f, num(k)) for f, k in counts.items()]
    if abs(coefficient) == 1:
        body, rest = factors[0], factors[1:]
    else:
        body, rest = num(coefficient), factors
    for f in rest:  # left to right, so 2*a*b prints without parentheses
        body = Binary("*", body, f)
    return Neg(body) if coefficient == -1 else body


def mul(a: Expr, b: Expr) -> Expr:
    """Return a·b."""
    if a == ONE:  # the chain rule multiplies by 1 at every sum it passes: keep that cheap
        return b
    if b == ONE:
        return a
    ca, fa = split(a)
    cb, fb = split(b)
    c = cb if ca is UNIT else ca if cb is UNIT else ca * cb
    if c is not UNIT and not foldable(c):
        return Binary("*", a, b)
    return product(c, fa + fb)


def neg(a: Expr) -> Expr:
    """Return −a."""
    c, factors = split(a)
    return product(-c, factors)


def add(a: Expr, b: Expr) -> Expr:
    """Return a + b, combining like terms and writing a + (−b) as a − b."""
    if a == ZERO:
        return b
    if b == ZERO:
        return a
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
    return product(Fraction(1), [Binary("/", a, b)])


def power(a: Expr, b: Expr) -> Expr:
    """Return a^b."""
    if is_num(b, 1):
        return a
    if is_num(b, 0):
        return ONE
    if isinstance(a, Binary) and a.op == "^" and isinstance(a.right, Num) and isinstance(b, Num) and b.value.denominator == 1:
        return power(a.left, num(a.right.value * b.value))  # (x^2)^3 is x^6 for a whole outer power
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


def rename(e: Expr, names: dict[str, str]) -> Expr:
    """Return `e` with each name in `names` renamed; numbers keep their values, spans are dropped."""
    if isinstance(e, Name):
        return Name(names.get(e.id, e.id))
    if isinstance(e, Binary):
        return Binary(e.op, rename(e.left, names), rename(e.right, names))
    if isinstance(e, Neg):
        return Neg(rename(e.operand, names))
    if isinstance(e, Call):
        return Call(e.fn, tuple(rename(a, names) for a in e.args))
    return Num(e.value)
