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
    fault: str  # what a non-finite result of this operation usually means
    convention: str = ""


def _sigmoid(x):
    # Two branches so that neither exp can overflow: exp of a non-positive number only.
    e = np.exp(-np.abs(x))
    return np.where(np.asarray(x) >= 0, 1 / (1 + e), e / (1 + e))[()]


def _step(x):
    return np.heaviside(x, 0.0)


OPERATORS: dict[str, Op] = {
    "+": Op("+", 2, np.add, (lambda a, b: ONE, lambda a, b: ONE), "overflow in +"),
    "-": Op("-", 2, np.subtract, (lambda a, b: ONE, lambda a, b: num(-1)), "overflow in -"),
    "*": Op("*", 2, np.multiply, (lambda a, b: b, lambda a, b: a), "overflow in *"),
    "/": Op(
        "/",
        2,
        np.divide,
        (lambda a, b: div(ONE, b), lambda a, b: neg(div(a, power(b, num(2))))),
        "division by zero",
    ),
    "^": Op(
        "^",
        2,
        np.power,
        (
            lambda a, b: mul(b, power(a, sub(b, ONE))),
            lambda a, b: mul(power(a, b), call("log", a)),
        ),
        "power is not a real number (a negative base needs a whole exponent) or overflows",
    ),
    "neg": Op("neg", 1, np.negative, (lambda a: num(-1),), "negation"),
}

FUNCTIONS: dict[str, Op] = {
    "sigmoid": Op(
        "sigmoid",
        1,
        _sigmoid,
        (lambda u: mul(call("sigmoid", u), sub(ONE, call("sigmoid", u))),),
        "sigmoid",
        "σ'(u) = σ(u)·(1 − σ(u))",
    ),
    "tanh": Op(
        "tanh", 1, np.tanh, (lambda u: sub(ONE, power(call("tanh", u), num(2))),), "tanh",
        "tanh'(u) = 1 − tanh(u)²",
    ),
    "relu": Op(
        "relu", 1, lambda x: np.maximum(x, 0.0), (lambda u: call("step", u),), "relu",
        "relu'(u) = step(u): 1 for u > 0, and 0 for u ≤ 0, including relu'(0) = 0",
    ),
    "exp": Op("exp", 1, np.exp, (lambda u: call("exp", u),), "exp overflows", "exp'(u) = exp(u)"),
    "log": Op(
        "log", 1, np.log, (lambda u: div(ONE, u),), "log of a number that is not positive",
        "log'(u) = 1/u (natural logarithm)",
    ),
    "sqrt": Op(
        "sqrt", 1, np.sqrt, (lambda u: div(ONE, mul(num(2), call("sqrt", u))),),
        "sqrt of a negative number", "sqrt'(u) = 1/(2·sqrt(u))",
    ),
    "sin": Op("sin", 1, np.sin, (lambda u: call("cos", u),), "sin", "sin'(u) = cos(u)"),
    "cos": Op("cos", 1, np.cos, (lambda u: neg(call("sin", u)),), "cos", "cos'(u) = −sin(u)"),
    "abs": Op(
        "abs", 1, np.abs, (lambda u: call("sign", u),), "abs",
        "abs'(u) = sign(u), so abs'(0) = 0",
    ),
    "max": Op(
        "max",
        2,
        np.maximum,
        (lambda a, b: sub(ONE, call("step", sub(b, a))), lambda a, b: call("step", sub(b, a))),
        "max",
        "on a tie max(a, b) sends the whole gradient to a: ∂/∂a = 1 − step(b − a), ∂/∂b = step(b − a)",
    ),
    "min": Op(
        "min",
        2,
        np.minimum,
        (lambda a, b: sub(ONE, call("step", sub(a, b))), lambda a, b: call("step", sub(a, b))),
        "min",
        "on a tie min(a, b) sends the whole gradient to a: ∂/∂a = 1 − step(a − b), ∂/∂b = step(a − b)",
    ),
    "step": Op(
        "step", 1, _step, (lambda u: ZERO,), "step",
        "step(u) is 1 for u > 0 and 0 otherwise; its derivative is taken as 0 everywhere",
    ),
    "sign": Op(
        "sign", 1, np.sign, (lambda u: ZERO,), "sign",
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
