"""Build expressions the way a lecturer simplifies them: fold numbers, drop zeros and ones.

Every constructor returns an expression equal in value to the plain operation. Numbers fold
exactly (as fractions), so 1/2*2*(-1) becomes exactly -1, but only into numbers a float can hold
(zero, or a normal float's magnitude): anything else stays unfolded, so that every formula prints
as valid .bp text that evaluates to the same value.
"""

from __future__ import annotations

import sys
from fractions import Fraction

from bptrace.language.printer import exact_text
from bptrace.language.syntax import Binary, Call, Expr, Name, Neg, Num

ZERO = Num(Fraction(0))
ONE = Num(Fraction(1))
# the coefficient of a plain factor: tested by identity, to skip Fraction arithmetic
UNIT = Fraction(1)
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
    if (
        v.numerator.bit_length() > _MAX_BITS
        or v.denominator.bit_length() > _MAX_BITS
        or exact_text(abs(v)) is None
    ):
        # callers check foldable() first, so this cannot overflow; repr() is exact
        v = Fraction(float(v))
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
        if foldable(cl * cr):  # 1e20·1e300 stays as written: 1e320 is more than a float holds
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
    """Return coefficient·f1·f2·…, with quotients gathered into one fraction: y·(1/p) is y/p.

    Whole powers of one base add up and cancel: v·v is v², w·v/(w·v) is 1, w/w² is 1/w. The formula
    then leaves out a factor x/x that is nan at x = 0 (see docs/language.md: Simplification).
    """
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
    if len(top) + len(bottom) > 1:
        top, bottom = _cancel(top, bottom)
    if not bottom:
        return _chain(coefficient, top)
    # p/q·top/bottom is written (p·top)/(q·bottom): 2·(1/(2·L))·w becomes w/L.
    numerator = _chain(Fraction(coefficient.numerator), top)
    return Binary("/", numerator, _chain(Fraction(coefficient.denominator), bottom))


def _base(f: Expr) -> tuple[Expr, int]:
    """Return `f` as base^k with k a whole number (k = 1 for anything but a whole power)."""
    if isinstance(f, Binary) and f.op == "^" and isinstance(f.right, Num):
        k = f.right.value
        if isinstance(k, Fraction) and k.denominator == 1 and abs(k) <= _MAX_BITS:
            return f.left, int(k)
    return f, 1


def _cancel(top: list[Expr], bottom: list[Expr]) -> tuple[list[Expr], list[Expr]]:
    """Return the factors above and below the line, each base's whole powers added, in order."""
    powers: dict[Expr, int] = {}
    for f in top:
        b, k = _base(f)
        powers[b] = powers.get(b, 0) + k
    for f in bottom:
        b, k = _base(f)
        powers[b] = powers.get(b, 0) - k
    up = [b if k == 1 else power(b, num(k)) for b, k in powers.items() if k > 0]
    down = [b if k == -1 else power(b, num(-k)) for b, k in powers.items() if k < 0]
    return up, down


def _chain(coefficient: Fraction, factors: list[Expr]) -> Expr:
    """Return coefficient·f1·f2·… left to right, the number first; −1 becomes a minus."""
    if not factors:
        return num(coefficient)
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
    """Return a + b, combining like terms and writing a + (−b) as a − b.

    Terms keep the order they first appear in: 1 − step(u) + step(u) is 1, a − b + 2·a is 3·a − b.
    A sum with nothing to combine keeps its shape: a balanced sum of 10,000 terms stays balanced.
    """
    if a == ZERO:
        return b
    if b == ZERO:
        return a
    left, right = _terms(a), _terms(b)
    terms: dict[tuple[Expr, ...], Fraction] = {}
    for c, factors in left + right:
        key = tuple(factors)
        total = terms.get(key, 0) + c
        if not foldable(total):
            return _joined(left + right)
        terms[key] = total
    if len(terms) == len(left) + len(right):  # nothing combined: a + b as it stands
        cb, fb = split(b)
        if cb < 0:
            return Binary("-", a, product(-cb, fb))
        return Binary("+", a, b)
    return _joined([(c, list(f)) for f, c in terms.items() if c != 0])


def _terms(e: Expr) -> list[tuple[Fraction, list[Expr]]]:
    """Return `e` as a sum of terms, each a coefficient and its factors (without recursion)."""
    found: list[tuple[Fraction, list[Expr]]] = []
    stack = [(e, 1)]
    while stack:
        node, sign = stack.pop()
        if isinstance(node, Binary) and node.op in "+-":
            stack.append((node.right, -sign if node.op == "-" else sign))
            stack.append((node.left, sign))
            continue
        c, factors = split(node)
        if c != 0:
            found.append((c if sign > 0 else -c, factors))
    return found


def _joined(terms: list[tuple[Fraction, list[Expr]]]) -> Expr:
    """Return the terms added left to right, a negative one written as a subtraction."""
    if not terms:
        return ZERO
    c, factors = terms[0]
    total = product(c, factors)
    for c, factors in terms[1:]:
        total = (
            Binary("-", total, product(-c, factors))
            if c < 0
            else Binary("+", total, product(c, factors))
        )
    return total


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
    if is_num(b, 0) or is_num(a, 1):  # 1^b is 1 for every b, in floats too (1^nan is 1)
        return ONE
    if (
        isinstance(a, Binary)
        and a.op == "^"
        and isinstance(a.right, Num)
        and isinstance(b, Num)
        and b.value.denominator == 1
    ):
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
    """Return fn(args…); a piecewise function of numbers folds exactly (step(0) is 0), no other."""
    fold = _PIECEWISE.get(fn)
    if fold is not None and all(isinstance(a, Num) for a in args):
        return num(fold(*(a.value for a in args)))
    return Call(fn, tuple(args))


# What the piecewise functions give on exact numbers: the math table's values (ops.py) on fractions.
_PIECEWISE = {
    "step": lambda u: 1 if u > 0 else 0,
    "heaviside": lambda u, c: 1 if u > 0 else c if u == 0 else 0,
    "sign": lambda u: (u > 0) - (u < 0),
    "relu": lambda u: u if u > 0 else 0,
    "abs": abs,
    "max": lambda a, b: a if a > b else b,
    "min": lambda a, b: a if a < b else b,
}


_BUILD = {"+": add, "-": sub, "*": mul, "/": div, "^": power}


def simplify(e: Expr) -> Expr:
    """Rebuild `e` bottom-up through the simplifying constructors."""
    if isinstance(e, Binary):
        return _BUILD[e.op](simplify(e.left), simplify(e.right))
    if isinstance(e, Neg):
        return neg(simplify(e.operand))
    if isinstance(e, Call):
        return call(e.fn, *(simplify(a) for a in e.args))
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
    """Return `e` with each name in `names` renamed; numbers keep their values, spans go."""
    if isinstance(e, Name):
        return Name(names.get(e.id, e.id))
    if isinstance(e, Binary):
        return Binary(e.op, rename(e.left, names), rename(e.right, names))
    if isinstance(e, Neg):
        return Neg(rename(e.operand, names))
    if isinstance(e, Call):
        return Call(e.fn, tuple(rename(a, names) for a in e.args))
    return Num(e.value)
