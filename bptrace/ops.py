"""The math table: every operator and function with its value and its partial derivatives.

Each partial is a formula builder: given the argument expressions it returns the derivative of
the operation with respect to one argument, as an expression a student can read. Numbers come
from evaluating those formulas, so a formula and its value can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bptrace.algebra import ONE, ZERO, add, call, div, mul, neg, num, power, sub
from bptrace.syntax import Binary, Call, Expr, Name, Neg, Num

Partial = Callable[..., Expr]


@dataclass(frozen=True, slots=True)
class Op:
    """One operation: its name, arity, numeric function, partials and derivative convention."""

    name: str
    arity: int
    value: Callable[..., np.ndarray]
    partials: tuple[Partial, ...]
    fault: Callable[..., str]  # given the finite arguments, why the result is not finite
    convention: str = ""


def _sigmoid(x):
    # Two branches so that neither exp can overflow: exp of a non-positive number only.
    e = np.exp(-np.abs(x))
    return np.where(np.asarray(x) >= 0, 1 / (1 + e), e / (1 + e))[()]


def _step(x):
    return np.heaviside(x, 0.0)


def _n(x) -> str:
    # + 0.0 turns −0.0 into 0.0: "division by zero: 0/0", not "(-0)/0".
    return f"{float(x) + 0.0:.6g}" if np.ndim(x) == 0 else np.array2string(np.asarray(x) + 0.0, precision=6)


def _p(x) -> str:
    text = _n(x)
    return f"({text})" if text.startswith("-") else text


def _overflow(symbol: str):
    return lambda a, b: f"overflow: {_n(a)} {symbol} {_p(b)} is too large for a float"


def _divide_fault(a, b) -> str:
    if np.any(np.asarray(b) == 0):
        return f"division by zero: {_p(a)}/0"
    return f"overflow: {_p(a)}/{_p(b)} is too large for a float"


def _power_fault(a, b) -> str:
    if np.any((np.asarray(a) < 0) & (np.asarray(b) != np.round(b))):
        return f"a negative base needs a whole exponent: {_p(a)}^{_p(b)} is not a real number"
    if np.any((np.asarray(a) == 0) & (np.asarray(b) < 0)):
        return f"0 to a negative power: 0^{_p(b)}"
    return f"overflow: {_p(a)}^{_p(b)} is too large for a float"


def _never(name: str):
    return lambda *args: f"{name}({', '.join(_n(a) for a in args)}) is not finite"


OPERATORS: dict[str, Op] = {
    "+": Op("+", 2, np.add, (lambda a, b: ONE, lambda a, b: ONE), _overflow("+")),
    "-": Op("-", 2, np.subtract, (lambda a, b: ONE, lambda a, b: num(-1)), _overflow("-")),
    "*": Op("*", 2, np.multiply, (lambda a, b: b, lambda a, b: a), _overflow("*")),
    "/": Op(
        "/",
        2,
        np.divide,
        (lambda a, b: div(ONE, b), lambda a, b: neg(div(a, power(b, num(2))))),
        _divide_fault,
    ),
    "^": Op(
        "^",
        2,
        np.power,
        (
            lambda a, b: mul(b, power(a, sub(b, ONE))),
            # d(c^v)/dv = c^v·log(c); for the bases 0 and 1 that is exactly 0 (where it exists).
            lambda a, b: ZERO if isinstance(a, Num) and a.value in (0, 1) else mul(power(a, b), call("log", a)),
        ),
        _power_fault,
    ),
    "neg": Op("neg", 1, np.negative, (lambda a: num(-1),), _never("-")),
}

FUNCTIONS: dict[str, Op] = {
    "sigmoid": Op(
        "sigmoid",
        1,
        _sigmoid,
        (lambda u: mul(call("sigmoid", u), sub(ONE, call("sigmoid", u))),),
        _never("sigmoid"),
        "σ'(u) = σ(u)·(1 − σ(u))",
    ),
    "tanh": Op(
        "tanh", 1, np.tanh, (lambda u: sub(ONE, power(call("tanh", u), num(2))),), _never("tanh"),
        "tanh'(u) = 1 − tanh(u)²",
    ),
    "relu": Op(
        "relu", 1, lambda x: np.maximum(x, 0.0), (lambda u: call("step", u),), _never("relu"),
        "relu'(u) = step(u): 1 for u > 0, and 0 for u ≤ 0, including relu'(0) = 0",
    ),
    "exp": Op("exp", 1, np.exp, (lambda u: call("exp", u),), lambda u: f"overflow: exp({_n(u)}) is too large for a float",
        "exp'(u) = exp(u)",
    ),
    "log": Op(
        "log", 1, np.log, (lambda u: div(ONE, u),), lambda u: f"log of {_n(u)}: log needs a positive number",
        "log'(u) = 1/u (natural logarithm)",
    ),
    "sqrt": Op(
        "sqrt", 1, np.sqrt, (lambda u: div(ONE, mul(num(2), call("sqrt", u))),),
        lambda u: f"sqrt of {_n(u)}: sqrt needs a number ≥ 0", "sqrt'(u) = 1/(2·sqrt(u))",
    ),
    "sin": Op("sin", 1, np.sin, (lambda u: call("cos", u),), _never("sin"), "sin'(u) = cos(u)"),
    "cos": Op("cos", 1, np.cos, (lambda u: neg(call("sin", u)),), _never("cos"), "cos'(u) = −sin(u)"),
    "abs": Op(
        "abs", 1, np.abs, (lambda u: call("sign", u),), _never("abs"),
        "abs'(u) = sign(u), so abs'(0) = 0",
    ),
    "max": Op(
        "max",
        2,
        np.maximum,
        (lambda a, b: sub(ONE, call("step", sub(b, a))), lambda a, b: call("step", sub(b, a))),
        _never("max"),
        "on a tie max(a, b) sends the whole gradient to a: ∂/∂a = 1 − step(b − a), ∂/∂b = step(b − a)",
    ),
    "min": Op(
        "min",
        2,
        np.minimum,
        (lambda a, b: sub(ONE, call("step", sub(a, b))), lambda a, b: call("step", sub(a, b))),
        _never("min"),
        "on a tie min(a, b) sends the whole gradient to a: ∂/∂a = 1 − step(a − b), ∂/∂b = step(a − b)",
    ),
    "step": Op(
        "step", 1, _step, (lambda u: ZERO,), _never("step"),
        "step(u) is 1 for u > 0 and 0 otherwise; its derivative is taken as 0 everywhere",
    ),
    "sign": Op(
        "sign", 1, np.sign, (lambda u: ZERO,), _never("sign"),
        "sign(u) is −1, 0 or 1; its derivative is taken as 0 everywhere",
    ),
}

# Other spellings a user may write, mapped to the canonical function name.
ALIASES = {"σ": "sigmoid"}


def derivative(e: Expr, wrt: str) -> Expr:
    """Return ∂e/∂wrt as a simplified expression (chain rule over the math table)."""
    if isinstance(e, Num):
        return ZERO
    if isinstance(e, Name):
        return ONE if e.id == wrt else ZERO
    if isinstance(e, Neg):
        op, args = OPERATORS["neg"], (e.operand,)
    elif isinstance(e, Binary):
        op, args = OPERATORS[e.op], (e.left, e.right)
    elif isinstance(e, Call):
        op, args = FUNCTIONS[e.fn], e.args
    else:  # pragma: no cover - the syntax tree has no other node types
        raise TypeError(f"cannot differentiate {type(e).__name__}")
    total: Expr = ZERO
    for partial, arg in zip(op.partials, args):
        inner = derivative(arg, wrt)
        if inner != ZERO:
            total = add(total, mul(partial(*args), inner))
    return total
