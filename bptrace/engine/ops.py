"""The math table: every operator and function with its value and its partial derivatives.

Each partial is a formula builder: given the argument expressions it returns the derivative of
the operation with respect to one argument, as an expression a student can read. Numbers come
from evaluating those formulas, so a formula and its value can never disagree.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from bptrace.engine.algebra import ONE, ZERO, add, call, div, mul, neg, num, power, sub
from bptrace.engine.conventions import DEFAULTS
from bptrace.engine.lazy import numpy
from bptrace.language.syntax import Binary, Call, Expr, Name, Neg, Num, children

Partial = Callable[..., Expr]


@dataclass(frozen=True, slots=True)
class Op:
    """One operation: its name, arity, numeric function, partials and what makes it not finite."""

    name: str
    arity: int
    value: Callable[..., Any]  # a float in, a float out; an array of samples in, an array out
    partials: tuple[Partial, ...]
    fault: Callable[..., str]  # given the finite arguments, why the result is not finite
    # The convention its partials follow (engine/conventions.py), or "" for none; `partials`
    # holds them under its default, and `under` returns them under any value of it.
    convention: str = ""
    under: Callable[[Any], tuple[Partial, ...]] | None = None

    def partials_under(self, conventions: Mapping[str, Any]) -> tuple[Partial, ...]:
        """Return its partials under `conventions` (a setting's value by name)."""
        if not self.convention:
            return self.partials
        value = conventions[self.convention]
        return self.partials if value == DEFAULTS[self.convention] else self.under(value)

    @property
    def raw(self) -> Callable[..., float]:
        """Return what the tape calls on floats: `value`'s own fast function, without its checks.

        It returns the same float as `value` wherever that is finite and its arguments are, and a
        nan wherever an argument is one; elsewhere it may raise or return anything. The tape checks
        the values records read afterwards, and where one is not finite it runs the step again with
        `value` itself. A nan must pass through even where `value` would not look at it: the tape
        does not check the intermediate values it computes on the way (relu of a nan that is then
        0 would hide it).
        """
        return self.value.raw


def _sigmoid_array(x):
    np = numpy()

    # Two branches so that neither exp can overflow: exp of a non-positive number only.
    e = np.exp(-np.abs(x))
    return np.where(np.asarray(x) >= 0, 1 / (1 + e), e / (1 + e))[()]


def _sigmoid_float(x: float) -> float:
    e = math.exp(-abs(x))
    return 1 / (1 + e) if x >= 0 else e / (1 + e)


# Each operation computes on a plain Python float with the math module (a numpy scalar operation
# costs far more), and on anything else, or wherever math raises (log of a negative, an
# overflow, 1/0), with numpy, whose inf and nan the run then reports. The tests check that the two
# agree: bit for bit for arithmetic and the piecewise functions, within the last bit for tanh, exp,
# log, sin, cos and sigmoid, whose C-library and numpy implementations may differ there.
# numpy is imported where it is first needed: a network of plain numbers may never load it.
def on_arrays(f: Callable[..., Any]) -> Callable[..., Any]:
    """Return what computes `f` on arrays of samples: numpy's function for a table operation."""
    slow = getattr(f, "slow", f)
    if isinstance(slow, str):
        return getattr(numpy(), slow)
    return slow


def _unary(fast, slow: str | Callable[..., Any]):
    """Return an op of one argument: `fast` on floats, `slow` (numpy's, or its name) elsewhere."""

    def op(x):
        if type(x) is float:
            try:
                return fast(x)
            except (ValueError, OverflowError, ZeroDivisionError):
                pass
            np = numpy()

            with np.errstate(all="ignore"):  # the inf or nan is the answer; the run reports it
                # a float in, a float out: later operations stay on the fast path
                return float(on_arrays(op)(np.float64(x)))
        return on_arrays(op)(x)

    op.raw = getattr(fast, "raw", fast)  # what the tape calls on floats: see Op.raw
    op.slow = slow  # and on arrays
    return op


def _binary(fast, slow: str | Callable[..., Any], raw=None):
    """Return an operation of two arguments, as `_unary` does."""

    def op(a, b):
        if type(a) is float and type(b) is float:
            try:
                value = fast(a, b)
                # (−8)**(1/3) is a complex number in Python: numpy's nan instead
                if type(value) is float:
                    return value
            except (ValueError, OverflowError, ZeroDivisionError):
                pass
            np = numpy()

            with np.errstate(all="ignore"):
                return float(on_arrays(op)(np.float64(a), np.float64(b)))
        return on_arrays(op)(a, b)

    op.raw = raw or getattr(fast, "raw", fast)
    op.slow = slow
    return op


def _nan_first(fast):
    """Return `fast` made to pass a nan argument through, as numpy does (max(nan, 1) is nan).

    `fast` must pass a nan through itself (see Op.raw), for the tape, which calls it as it is.
    """

    def op(*args):
        for a in args:
            if a != a:
                raise ValueError  # numpy's answer
        return fast(*args)

    op.raw = fast
    return op


def _square(a: float, b: float) -> float:
    """x^2 as x·x (as numpy computes it, bit for bit); numpy's own power for any other exponent."""
    if b == 2.0:
        return a * a
    raise ValueError  # numpy's power differs from the C library's in the last bit: use numpy's


def _power_float(a: float, b: float) -> float:
    """x^y on floats as `^` computes it, for the tape (under its np.errstate: NUMPY_ON_FLOATS)."""
    np = numpy()

    return a * a if b == 2.0 else float(np.power(a, b))


NUMPY_ON_FLOATS = frozenset({_power_float})  # the only raw functions that call numpy, on floats too


def _heaviside(x):
    np = numpy()

    return np.heaviside(x, 0.0)


def _relu_array(x):
    np = numpy()

    return np.maximum(x, 0.0)


def _logsigmoid_array(x):
    np = numpy()

    # log σ(x) = −log(1 + e^−x) = −(max(−x, 0) + log(1 + e^−|x|)): exp of a non-positive number
    # only. The outer minus gives −0.0 where log σ(x) rounds to 0 from below (x = 1e308).
    return (-(np.maximum(-np.asarray(x), 0.0) + np.log1p(np.exp(-np.abs(x)))))[()]


def _logsigmoid_float(x: float) -> float:
    return -((-x if x < 0 else 0.0) + math.log1p(math.exp(-abs(x))))  # a nan: exp(nan) is nan


def _logaddexp_float(a: float, b: float) -> float:
    """log(e^a + e^b) as numpy computes it: the larger plus log(1 + e^−difference), never over."""
    if a == b:
        return a + _LOG2  # inf + inf, and −inf with −inf, where the difference is a nan
    d = a - b
    if d > 0:
        return a + math.log1p(math.exp(-d))
    if d <= 0:
        return b + math.log1p(math.exp(d))
    return d  # a nan


def _heaviside_raw(x: float, c: float) -> float:
    """heaviside(x, c) as numpy's: 0 below 0, c at 0, 1 above; a nan for a nan (see Op.raw)."""
    if c != c:
        return c  # numpy's is 0 or 1 away from 0: `value` hands a nan to numpy
    return 1.0 if x > 0 else 0.0 if x < 0 else c if x == 0 else x  # the last `x`: a nan


_LOG2 = math.log(2)
_sigmoid = _unary(_sigmoid_float, _sigmoid_array)
# the last `x`: a nan
_step = _unary(_nan_first(lambda x: 1.0 if x > 0 else 0.0 if x <= 0 else x), _heaviside)


def _n(x) -> str:
    np = numpy()

    # + 0.0 turns −0.0 into 0.0: "division by zero: 0/0", not "(-0)/0".
    return (
        f"{float(x) + 0.0:.6g}"
        if np.ndim(x) == 0
        else np.array2string(np.asarray(x) + 0.0, precision=6)
    )


def _p(x) -> str:
    text = _n(x)
    return f"({text})" if text.startswith("-") else text


def _overflow(symbol: str):
    return lambda a, b: f"overflow: {_n(a)} {symbol} {_p(b)} is too large for a float"


def _divide_fault(a, b) -> str:
    np = numpy()

    if np.any(np.asarray(b) == 0):
        return f"division by zero: {_p(a)}/0"
    return f"overflow: {_p(a)}/{_p(b)} is too large for a float"


def _power_fault(a, b) -> str:
    np = numpy()

    if np.any((np.asarray(a) < 0) & (np.asarray(b) != np.round(b))):
        return f"a negative base needs a whole exponent: {_p(a)}^{_p(b)} is not a real number"
    if np.any((np.asarray(a) == 0) & (np.asarray(b) < 0)):
        return f"0 to a negative power: 0^{_p(b)}"
    return f"overflow: {_p(a)}^{_p(b)} is too large for a float"


def _never(name: str):
    return lambda *args: f"{name}({', '.join(_n(a) for a in args)}) is not finite"


def _exact(c: Fraction | float) -> Num:
    """Return a setting's number as a formula writes it: as written, or a float's shortest text."""
    return num(c if isinstance(c, Fraction) else Fraction(repr(c)))


# max's and min's partials under each `set tie`: on a tie (b − a = 0) the whole gradient goes to
# the first argument, half to each (heaviside(0, 1/2) = 1/2), or the whole to the last.
_HALF = num(Fraction(1, 2))
_TIES: dict[str, dict[str, tuple[Partial, ...]]] = {
    "max": {
        "first": (
            lambda a, b: sub(ONE, call("step", sub(b, a))),
            lambda a, b: call("step", sub(b, a)),
        ),
        "split": (
            lambda a, b: call("heaviside", sub(a, b), _HALF),
            lambda a, b: call("heaviside", sub(b, a), _HALF),
        ),
        "last": (
            lambda a, b: call("step", sub(a, b)),
            lambda a, b: sub(ONE, call("step", sub(a, b))),
        ),
    },
    "min": {
        "first": (
            lambda a, b: sub(ONE, call("step", sub(a, b))),
            lambda a, b: call("step", sub(a, b)),
        ),
        "split": (
            lambda a, b: call("heaviside", sub(b, a), _HALF),
            lambda a, b: call("heaviside", sub(a, b), _HALF),
        ),
        "last": (
            lambda a, b: call("step", sub(b, a)),
            lambda a, b: sub(ONE, call("step", sub(b, a))),
        ),
    },
}


OPERATORS: dict[str, Op] = {
    "+": Op(
        "+",
        2,
        value=_binary(operator.add, "add"),
        partials=(lambda a, b: ONE, lambda a, b: ONE),
        fault=_overflow("+"),
    ),
    "-": Op(
        "-",
        2,
        value=_binary(operator.sub, "subtract"),
        partials=(lambda a, b: ONE, lambda a, b: num(-1)),
        fault=_overflow("-"),
    ),
    "*": Op(
        "*",
        2,
        value=_binary(operator.mul, "multiply"),
        partials=(lambda a, b: b, lambda a, b: a),
        fault=_overflow("*"),
    ),
    "/": Op(
        "/",
        2,
        value=_binary(operator.truediv, "divide"),
        partials=(lambda a, b: div(ONE, b), lambda a, b: neg(div(a, power(b, num(2))))),
        fault=_divide_fault,
    ),
    "^": Op(
        "^",
        2,
        value=_binary(_square, "power", raw=_power_float),
        partials=(
            lambda a, b: mul(b, power(a, sub(b, ONE))),
            # d(c^v)/dv = c^v·log(c); for the bases 0 and 1 that is exactly 0 (where it exists).
            lambda a, b: (
                ZERO
                if isinstance(a, Num) and a.value in (0, 1)
                else mul(power(a, b), call("log", a))
            ),
        ),
        fault=_power_fault,
    ),
    "neg": Op(
        "neg",
        1,
        value=_unary(operator.neg, "negative"),
        partials=(lambda a: num(-1),),
        fault=_never("-"),
    ),
}

# A function's convention, where its derivative needs one, is a comment at its partials.
FUNCTIONS: dict[str, Op] = {
    "sigmoid": Op(
        "sigmoid",
        1,
        value=_sigmoid,
        partials=(lambda u: mul(call("sigmoid", u), sub(ONE, call("sigmoid", u))),),
        fault=_never("sigmoid"),
    ),
    "logsigmoid": Op(
        "logsigmoid",
        1,
        value=_unary(_logsigmoid_float, _logsigmoid_array),  # log σ(u), without an overflow
        # d log σ(u)/du = 1 − σ(u) = σ(−u)
        partials=(lambda u: call("sigmoid", neg(u)),),
        fault=_never("logsigmoid"),
    ),
    "tanh": Op(
        "tanh",
        1,
        value=_unary(math.tanh, "tanh"),
        partials=(lambda u: sub(ONE, power(call("tanh", u), num(2))),),
        fault=_never("tanh"),
    ),
    "relu": Op(
        "relu",
        1,
        value=_unary(_nan_first(lambda x: 0.0 if x <= 0.0 else x), _relu_array),
        # relu'(u) = step(u): 1 for u > 0, and 0 for u ≤ 0, including relu'(0) = 0; under
        # `set relu_at_0 = C`, heaviside(u, C): relu'(0) = C.
        partials=(lambda u: call("step", u),),
        fault=_never("relu"),
        convention="relu_at_0",
        under=lambda c: (lambda u: call("heaviside", u, _exact(c)),),
    ),
    "exp": Op(
        "exp",
        1,
        value=_unary(math.exp, "exp"),
        partials=(lambda u: call("exp", u),),
        fault=lambda u: f"overflow: exp({_n(u)}) is too large for a float",
    ),
    "log": Op(
        "log",
        1,
        value=_unary(math.log, "log"),  # the natural logarithm
        partials=(lambda u: div(ONE, u),),
        fault=lambda u: f"log of {_n(u)}: log needs a positive number",
    ),
    "sqrt": Op(
        "sqrt",
        1,
        value=_unary(math.sqrt, "sqrt"),
        partials=(lambda u: div(ONE, mul(num(2), call("sqrt", u))),),
        fault=lambda u: f"sqrt of {_n(u)}: sqrt needs a number ≥ 0",
    ),
    "sin": Op(
        "sin",
        1,
        value=_unary(math.sin, "sin"),
        partials=(lambda u: call("cos", u),),
        fault=_never("sin"),
    ),
    "cos": Op(
        "cos",
        1,
        value=_unary(math.cos, "cos"),
        partials=(lambda u: neg(call("sin", u)),),
        fault=_never("cos"),
    ),
    "abs": Op(
        "abs",
        1,
        value=_unary(abs, "abs"),
        partials=(lambda u: call("sign", u),),  # sign(0) = 0, so abs'(0) = 0
        fault=_never("abs"),
    ),
    "max": Op(
        "max",
        2,
        value=_binary(_nan_first(lambda a, b: a if a > b else b if a <= b else a + b), "maximum"),
        # On a tie the whole gradient goes to a: step(0) = 0 (under `set tie`, see _TIES).
        partials=_TIES["max"]["first"],
        fault=_never("max"),
        convention="tie",
        under=_TIES["max"].__getitem__,
    ),
    "min": Op(
        "min",
        2,
        value=_binary(_nan_first(lambda a, b: a if a < b else b if a >= b else a + b), "minimum"),
        # On a tie the whole gradient goes to a: step(0) = 0 (under `set tie`, see _TIES).
        partials=_TIES["min"]["first"],
        fault=_never("min"),
        convention="tie",
        under=_TIES["min"].__getitem__,
    ),
    "logaddexp": Op(
        "logaddexp",
        2,
        value=_binary(_logaddexp_float, "logaddexp"),  # log(e^a + e^b), without an overflow
        # ∂/∂a = e^a/(e^a + e^b) = σ(a − b): a softmax of two
        partials=(
            lambda a, b: call("sigmoid", sub(a, b)),
            lambda a, b: call("sigmoid", sub(b, a)),
        ),
        fault=_never("logaddexp"),
    ),
    "step": Op(
        "step",
        1,
        value=_step,  # 1 for u > 0, 0 otherwise
        partials=(lambda u: ZERO,),  # taken as 0 everywhere, at 0 too
        fault=_never("step"),
    ),
    "heaviside": Op(
        "heaviside",
        2,
        value=_binary(_nan_first(_heaviside_raw), "heaviside"),  # 0 for u < 0, c at 0, 1 for u > 0
        partials=(
            lambda u, c: ZERO,  # taken as 0 everywhere, at 0 too, as step's
            # c counts at u = 0 only: 1 there, 0 elsewhere
            lambda u, c: sub(call("heaviside", u, ONE), call("step", u)),
        ),
        fault=_never("heaviside"),
    ),
    "sign": Op(
        "sign",
        1,
        value=_unary(
            _nan_first(lambda x: 1.0 if x > 0 else -1.0 if x < 0 else 0.0 if x == 0 else x),
            "sign",
        ),
        partials=(lambda u: ZERO,),  # −1, 0 or 1: taken as 0 everywhere, at 0 too
        fault=_never("sign"),
    ),
}


def derivative(
    e: Expr,
    wrt: str,
    uses: dict[int, frozenset[str]] | None = None,
    conventions: Mapping[str, Any] = DEFAULTS,
) -> Expr:
    """Return ∂e/∂wrt as a simplified expression (chain rule over the math table).

    `uses`, shared by the calls for each name of one expression, remembers the names under each
    subexpression: a part that does not use `wrt` is skipped unread, so the partials of a sum of
    n terms cost n steps in all, not n each. `conventions` (engine/conventions.py) picks relu′(0)
    and max's and min's gradient on a tie.
    """
    if isinstance(e, Num):
        return ZERO
    if isinstance(e, Name):
        return ONE if e.id == wrt else ZERO
    if uses is not None and wrt not in names_under(e, uses):
        return ZERO
    if isinstance(e, Neg):
        op, args = OPERATORS["neg"], (e.operand,)
    elif isinstance(e, Binary):
        op, args = OPERATORS[e.op], (e.left, e.right)
    elif isinstance(e, Call):
        op, args = FUNCTIONS[e.fn], e.args
    else:  # pragma: no cover - the syntax tree has no other node types
        raise TypeError(f"cannot differentiate {type(e).__name__}")
    total: Expr = ZERO
    for i, (partial, arg) in enumerate(zip(op.partials_under(conventions), args)):
        inner = derivative(arg, wrt, uses, conventions)
        if inner != ZERO:
            # The product rule keeps the factors where they stand: ∂(a·b) = ∂a·b + a·∂b, so the
            # partials of w·h₁·h₂ read w·h₂ and w·h₁, in the order written.
            term = (
                mul(inner, partial(*args))
                if op is _TIMES and i == 0
                else mul(partial(*args), inner)
            )
            total = add(total, term)
    return total


_TIMES = OPERATORS["*"]


def names_under(e: Expr, uses: dict[int, frozenset[str]]) -> frozenset[str]:
    """Return the names `e` uses, remembered in `uses` by subexpression (without recursion)."""
    found = uses.get(id(e))
    if found is not None:
        return found
    stack = [e]
    while stack:
        node = stack[-1]
        if isinstance(node, Name):
            uses[id(node)] = frozenset((node.id,))
            stack.pop()
            continue
        parts = children(node)
        missing = [c for c in parts if id(c) not in uses]
        if missing:
            stack.extend(missing)
            continue
        stack.pop()
        uses[id(node)] = frozenset().union(*(uses[id(c)] for c in parts))
    return uses[id(e)]
