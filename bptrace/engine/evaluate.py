"""Evaluate expressions: compile each to a flat postfix program once, run it every step.

Values are Python floats (the math table computes on them with the math module, and with numpy
where math raises); the same programs run unchanged on numpy arrays (one value per sample).

A program can also be traced: run once keeping every instruction's value, then rerun for new
values of a few names, recomputing only what depends on them (check's finite differences).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bptrace.engine.lazy import numpy
from bptrace.engine.ops import FUNCTIONS, OPERATORS, Op
from bptrace.language.syntax import Binary, Expr, Name, Neg, Num, children

# An instruction is (kind, argument, arity): push a constant, load a name, or apply an op.
CONST, LOAD, APPLY = 0, 1, 2
Program = tuple[tuple[int, Any, int], ...]


def op_of(e: Expr) -> Op:
    """Return the math-table entry that computes node `e`."""
    if isinstance(e, Binary):
        return OPERATORS[e.op]
    if isinstance(e, Neg):
        return OPERATORS["neg"]
    return FUNCTIONS[e.fn]


def constant(value) -> float:
    """Return a number as a float: the nearest one, or ±inf beyond the largest."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def compile_expr(e: Expr) -> Program:
    """Return the postfix program of `e` (built without recursion)."""
    out: list[tuple[int, Any, int]] = []
    for node in _postorder(e):
        if isinstance(node, Num):
            out.append((CONST, constant(node.value), 0))
        elif isinstance(node, Name):
            out.append((LOAD, node.id, 0))
        else:
            out.append((APPLY, op_of(node).value, len(children(node))))
    return tuple(out)


def run(program: Program, env: Mapping[str, Any]) -> Any:
    """Return the value of a compiled program, names looked up in `env`."""
    # a name or a number alone, as most local partials are (∂h/∂w = x): no stack
    if len(program) == 1:
        kind, arg, _ = program[0]
        return env[arg] if kind == LOAD else arg
    stack: list[Any] = []
    push = stack.append
    for kind, arg, arity in program:
        if kind == CONST:
            push(arg)
        elif kind == LOAD:
            push(env[arg])
        elif arity == 1:
            stack[-1] = arg(stack[-1])
        else:
            right = stack.pop()
            stack[-1] = arg(stack[-1], right)
    return stack[0]


def find_fault(e: Expr, env: Mapping[str, Any]) -> tuple | None:
    """Return the innermost operation of `e` that turns finite inputs into a non-finite value.

    Returns (operation, its arguments, its result), and with samples the arguments of the first
    sample that fails and that sample's index: (operation, arguments, result, index).
    """
    np = numpy()  # only a run that went wrong gets here

    with np.errstate(all="ignore"):
        values: dict[int, Any] = {}
        order = list(_postorder(e))
        for node in order:
            if isinstance(node, Num):
                values[id(node)] = constant(node.value)
            elif isinstance(node, Name):
                values[id(node)] = env[node.id]
            else:
                args = tuple(values[id(c)] for c in children(node))
                result = op_of(node).value(*args)
                values[id(node)] = result
                # Per sample: the first sample whose arguments are finite but whose result is not.
                bad = np.isfinite(result) == False  # noqa: E712 - elementwise
                for a in args:
                    bad = bad & np.isfinite(a)
                if np.any(bad):
                    if np.ndim(bad) == 0:
                        return node, args, result
                    i = int(np.flatnonzero(bad)[0])
                    return node, tuple(a[i] if np.ndim(a) else a for a in args), result, i
    return None


def _postorder(e: Expr):
    """Yield the subexpressions of `e`, children before parents (without recursion)."""
    stack: list[tuple[Expr, bool]] = [(e, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded or not children(node):
            yield node
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in reversed(children(node)))


@dataclass(frozen=True, slots=True)
class Trace:
    """A program run once with every instruction's value kept, and how the instructions connect."""

    program: Program
    values: tuple[Any, ...]  # each instruction's value; the last is the program's
    args: tuple[tuple[int, ...], ...]  # the instructions each one takes its arguments from
    parents: tuple[int, ...]  # the instruction that takes each one as an argument (-1: the last)
    loads: dict[str, tuple[int, ...]]  # the instructions that load each name


@dataclass(frozen=True, slots=True)
class Cone:
    """The instructions of a trace depending on some names, in order: what changing them reruns."""

    trace: Trace
    steps: tuple[int, ...]


def traced(program: Program, env: Mapping[str, Any]) -> Trace:
    """Run a program as `run` does, keeping each instruction's value and its arguments' places."""
    values: list[Any] = []
    args: list[tuple[int, ...]] = []
    parents = [-1] * len(program)
    loads: dict[str, list[int]] = {}
    stack: list[int] = []  # the instructions whose values wait to be taken, as in run's stack
    for i, (kind, arg, arity) in enumerate(program):
        if kind == CONST:
            taken, value = (), arg
        elif kind == LOAD:
            taken, value = (), env[arg]
            loads.setdefault(arg, []).append(i)
        elif arity == 1:
            taken = (stack.pop(),)
            value = arg(values[taken[0]])
        else:
            right = stack.pop()
            taken = (stack.pop(), right)
            value = arg(values[taken[0]], values[right])
        for t in taken:
            parents[t] = i
        stack.append(i)
        values.append(value)
        args.append(taken)
    loaded = {name: tuple(at) for name, at in loads.items()}
    return Trace(program, tuple(values), tuple(args), tuple(parents), loaded)


def cone(trace: Trace, names) -> Cone:
    """Return the instructions of `trace` that depend on any of `names`.

    Each instruction has one parent (a postfix program is a tree), so the cone is the paths from
    the names' loads up to the last instruction: a name deep in a balanced tree of n operands
    reaches log n of them, and the walk stops where an earlier path joined.
    """
    marked: set[int] = set()
    for name in names:
        for i in trace.loads.get(name, ()):
            while i >= 0 and i not in marked:
                marked.add(i)
                i = trace.parents[i]
    return Cone(trace, tuple(sorted(marked)))  # arguments before the instructions that take them


def rerun(c: Cone, changed: Mapping[str, Any]) -> Any:
    """Return the traced program's value with the cone's names set as in `changed`.

    Only the cone is computed again, each instruction by the same operation on the same numbers as
    `run` would apply: the result is the one `run` returns, bit for bit.
    """
    program, kept, args = c.trace.program, c.trace.values, c.trace.args
    new: dict[int, Any] = {}
    for i in c.steps:
        kind, arg, arity = program[i]
        if kind == LOAD:
            new[i] = changed[arg]
        elif arity == 1:  # an APPLY: a constant depends on no name, so none is in a cone
            (a,) = args[i]
            new[i] = arg(new[a] if a in new else kept[a])
        else:
            a, b = args[i]
            new[i] = arg(new[a] if a in new else kept[a], new[b] if b in new else kept[b])
    last = len(program) - 1
    return new[last] if last in new else kept[last]
