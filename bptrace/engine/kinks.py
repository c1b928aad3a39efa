"""Find kinks decided by rounding: relu, step, heaviside, abs, sign, max or min near 0.

A lecturer computes z = w·x + b = 0.1·3 − 0.3 = 0 by hand, and relu′(z) = 0. In floats 0.1 is not
one tenth, z is 5.55e−17, and relu′(z) = 1. A kink's argument (for max and min, the difference of
their arguments) is *within rounding of 0* when it is not 0 but no larger than the rounding error it
may carry: half a unit in the last place of each value it is computed from (a decimal such as 0.1
is not exactly a float), and of each operation's result, carried through the operations by their
partial derivatives from the math table (the error of a·b is |b|·err(a) + |a|·err(b) + the
rounding of a·b); a node it reads carries the error of its own expression (one node back). That
is a bound to first order, not an estimate: a warning means the other side of the kink is within
reach of rounding, not that it is certainly there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from bptrace.engine.evaluate import compile_expr, constant, op_of, run
from bptrace.errors import Span
from bptrace.language.syntax import Call, Expr, Name, Num, children, walk

KINKS = ("relu", "step", "heaviside", "abs", "sign", "max", "min")
HALF_ULP = 2.0**-53  # the rounding of one operation, relative to its result
# an argument larger than this times its operands' size is far from rounding: no bound needed
SCREEN = 2.0**-30


@dataclass(frozen=True, slots=True)
class NearKink:
    """A kink's argument within rounding of 0 at a step: node, call, argument, error bound."""

    node: str
    call: Expr  # the relu(…), max(…, …) in the node's expression
    value: float  # the argument, or for max and min the first argument minus the second
    bound: float  # the rounding error the argument may carry
    step: int
    span: Span
    tie: str = "first"  # `set tie`: where max's and min's gradient goes on a tie

    @property
    def fn(self) -> str:
        return self.call.fn

    @property
    def message(self) -> str:
        """Return the warning: which kink, in which node, at which step, how close, how far off."""
        if self.fn in ("max", "min"):
            what = (
                f"{self.fn}'s arguments in node {self.node} differ by {self.value:.4g}, within "
                "rounding"
            )
        else:
            what = (
                f"{self.fn}'s argument in node {self.node} is {self.value:.4g}, within rounding "
                "of 0"
            )
        return f"step {self.step}: {what} (it may be off by {self.bound:.2g})"

    @property
    def hint(self) -> str:
        """Return what the warning means for the trace."""
        if self.fn in ("max", "min"):
            return (
                f"by hand they may be equal, where {self.fn} {_TIE_WORDS[self.tie]}: "
                "the derivatives and updates from here on may differ from a hand calculation"
            )
        return (
            f"by hand it may be exactly 0, on the other side of {self.fn}'s kink: the derivatives "
            "and updates "
            "from here on may differ from a hand calculation"
        )


_TIE_WORDS = {
    "first": "sends the whole gradient to its first argument",
    "split": "sends half the gradient to each argument",
    "last": "sends the whole gradient to its second argument",
}


@dataclass(frozen=True, slots=True)
class Kink:
    """A call of a kink function in a node, with what a step needs to examine it."""

    node: str
    call: Call
    # each argument the kink compares (max, min: both): a name, or its program
    args: tuple[Any, ...]
    # the names they read, and the names the nodes among those read: one node back
    reach: tuple[str, ...]
    size: float  # the largest constant among them, and 1
    tie: str = "first"  # `set tie`, for the warning's hint

    def examine(self, env, exprs: dict[str, Expr], step: int) -> NearKink | None:
        """Return the NearKink if the argument is within rounding of 0 at `env`, else None.

        `exprs` holds every node's expression: a node's value read in the argument carries the error
        of its own expression (one node back; its own inputs are taken as rounded once).
        """
        values = [env[a] if type(a) is str else run(a, env) for a in self.args]
        value = values[0] - values[1] if len(values) == 2 else values[0]
        if type(value) is not float or value == 0 or not math.isfinite(value):
            return None  # exactly at the kink (a lecturer's case), or samples (arrays): left alone
        if abs(value) > SCREEN * max([self.size, *map(abs, map(env.__getitem__, self.reach))]):
            return None  # far from rounding: the usual case, decided without a bound
        parts = self.call.args if self.call.fn in ("max", "min") else self.call.args[:1]
        errors = {}
        for part in parts:
            for name in _names(part):
                if name in exprs and name not in errors:
                    errors[name] = _rounded(exprs[name], env, {})[1]
        (a, ea), *rest = (_rounded(part, env, errors) for part in parts)
        # a comparison is exact: a and b carry it
        value, bound = (a - rest[0][0], ea + rest[0][1]) if rest else (a, ea)
        if value != 0 and abs(value) <= bound:
            return NearKink(self.node, self.call, value, bound, step, self.call.span, self.tie)
        return None


def kinks(node: str, expr: Expr, exprs: dict[str, Expr], tie: str = "first") -> tuple[Kink, ...]:
    """Return the kinks in a node's expression in reading order; `exprs`: earlier nodes' ones."""
    found = []
    for e in walk(expr):
        if isinstance(e, Call) and e.fn in KINKS:
            parts = e.args if e.fn in ("max", "min") else e.args[:1]
            reach = dict.fromkeys(n for p in parts for n in _names(p))
            constants = [c for p in parts for c in _constants(p)]
            for name in list(reach):
                if name in exprs:
                    reach.update(dict.fromkeys(_names(exprs[name])))
                    constants += _constants(exprs[name])
            args = tuple(p.id if isinstance(p, Name) else compile_expr(p) for p in parts)
            size = max([1.0, *map(abs, constants)])
            found.append(Kink(node, e, args, tuple(reach), size, tie))
    return tuple(found)


class Watch:
    """The kinks still to examine: a step returns its near ones, whose nodes are then done."""

    def __init__(self, found: list[Kink], exprs: dict[str, Expr]) -> None:
        self.exprs = exprs
        self._keep(found)

    def _keep(self, found: list[Kink]) -> None:
        self.kinks = found
        # Kinks of names alone (relu(z), max(a, b)) are screened in bulk: their arguments' names,
        # the second the first again for a kink of one argument (u − u = 0 marks it).
        self.named = [k for k in found if all(type(a) is str for a in k.args)]
        self.others = [k for k in found if not all(type(a) is str for a in k.args)]
        self.firsts = tuple(k.args[0] for k in self.named)
        self.seconds = tuple(k.args[-1] for k in self.named)

    def near(self, values, step: int) -> tuple[NearKink, ...]:
        """Return the kinks within rounding of 0 at this step (floats only), one per node."""
        # An argument larger than 2⁻³⁰ of every value of the step is far from rounding: most are, at
        # every step, and are screened here at C speed; the rest are examined one by one.
        limit = SCREEN * max(1.0, max(map(abs, values.values()), default=0.0))
        take = getattr(values, "take", None) or (lambda keys: [values[key] for key in keys])
        candidates = list(self.others)
        for kink, a, b in zip(self.named, take(self.firsts), take(self.seconds)):
            u = a if len(kink.args) == 1 else a - b
            if type(u) is not float or (u and -limit <= u <= limit):
                candidates.append(kink)
        if not candidates:
            return ()
        order = {id(k): i for i, k in enumerate(self.kinks)}
        found: list[NearKink] = []
        # in source order, the first of each node
        for kink in sorted(candidates, key=lambda k: order[id(k)]):
            if not any(near.node == kink.node for near in found):
                near = kink.examine(values, self.exprs, step)
                if near is not None:
                    found.append(near)
        if found:
            warned = {near.node for near in found}
            self._keep([kink for kink in self.kinks if kink.node not in warned])
        return tuple(found)


def _names(e: Expr) -> list[str]:
    return [n.id for n in walk(e) if isinstance(n, Name)]


def _constants(e: Expr) -> list[float]:
    return [constant(n.value) for n in walk(e) if isinstance(n, Num)]


def _rounded(e: Expr, env, errors: dict[str, float]) -> tuple[float, float]:
    """Return the value of `e` and a bound on its rounding error (first order), bottom-up.

    A name's value carries the error `errors` gives it, else half a unit in its last place (a
    decimal such as 0.1 is not a float, and a computed value was rounded at least once).
    """
    done: dict[int, tuple[float, float]] = {}
    stack: list[tuple[Expr, bool]] = [(e, False)]
    while stack:
        node, expanded = stack.pop()
        if isinstance(node, Num):
            v = constant(node.value)
            exact = node.value if isinstance(node.value, Fraction) else Fraction(v)
            done[id(node)] = (v, abs(float(Fraction(v) - exact)) if math.isfinite(v) else 0.0)
        elif isinstance(node, Name):
            v = float(env[node.id])
            done[id(node)] = (v, errors.get(node.id, abs(v) * HALF_ULP))
        elif not expanded:
            stack.append((node, True))
            stack.extend((c, False) for c in children(node))
        else:
            args = [done[id(c)] for c in children(node)]
            op = op_of(node)
            values = [v for v, _ in args]
            result = float(op.value(*values))
            error = abs(result) * HALF_ULP
            for slope, (_, err) in zip(_slopes(op, values), args):
                if err:
                    error += abs(slope) * err
            done[id(node)] = (result, error)
    return done[id(e)]


_PLACEHOLDERS = (Name("\0a"), Name("\0b"))
_SLOPE_PROGRAMS: dict[str, tuple] = {}


def _slopes(op, values: list[float]) -> list[float]:
    """Return the op's partial derivatives at `values`, from the math table's formulas."""
    programs = _SLOPE_PROGRAMS.get(op.name)
    if programs is None:
        args = _PLACEHOLDERS[: op.arity]
        programs = _SLOPE_PROGRAMS[op.name] = tuple(compile_expr(p(*args)) for p in op.partials)
    env = dict(zip(("\0a", "\0b"), values))
    slopes = []
    for program in programs:
        try:
            slopes.append(float(run(program, env)))
        except (ValueError, ZeroDivisionError, OverflowError):
            slopes.append(math.inf)
    return [s if math.isfinite(s) else math.inf for s in slopes]
