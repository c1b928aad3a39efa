"""Parse each shape of statement once: a big network repeats a few, with other names and numbers.

A statement's shape is its tokens with each name and number written as its kind (a function's or a
distribution's name, a keyword and an operator stay as they are); the lexer writes it down as it
scans. Two statements of the same shape parse the same way, since the parser's decisions read only
kinds and those texts. So the first one's syntax tree, with each name, number and span written as
the offsets of its tokens, is a plan that builds every later one from its own tokens: the same tree
the parser would build, without the descent through its rules. Only a statement that parsed without
an error becomes a plan; a number too large for a float is refused when a plan reads it, with the
same message.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

from bptrace.errors import Span
from bptrace.language.lexer import Token
from bptrace.language.syntax import (
    Assignment,
    Binary,
    Call,
    Declaration,
    Expr,
    Index,
    Name,
    Neg,
    Num,
    Statement,
    Transpose,
)
from bptrace.language.syntax import walk as subexpressions

_new = tuple.__new__  # Span(…) at C speed

# A plan's expression is a postfix list of steps, each a tuple whose first item says which, offsets
# counting from the statement's first token: (NAME, k), (NUM, first, last, k, sign), (BINARY, first,
# last, op), (NEG, first, last), (CALL, first, last, fn, number of arguments), and (WRAPPED, first,
# last, k) for a name in parentheses, whose span covers them. first and last are the tokens its
# span covers.
NAME, NUM, BINARY, NEG, CALL, WRAPPED = range(6)
_EXPRESSIONS = (Name, Num, Binary, Neg, Call)
LAYER_SYNTAX = (Index, Transpose)


def plan(statement: Statement, tokens: list[Token], i: int, end: int) -> tuple | None:
    """Return the plan of a statement parsed from tokens i to `end` (its newline); else None."""
    expr = statement.expr if type(statement) is Assignment else getattr(statement, "value", None)
    if type(expr) in _EXPRESSIONS + LAYER_SYNTAX and any(
        type(e) in LAYER_SYNTAX for e in subexpressions(expr)
    ):
        return None  # an element or a transpose: parsed each time (layers are few statements)
    starts = {(t.line, t.col): k - i for k, t in enumerate(tokens[i:end], i)}
    ends = {(t.line, t.end): k - i for k, t in enumerate(tokens[i:end], i)}
    steps: list[tuple] = []

    def inside(first: int, last: int, kind: str) -> int:
        return next(k for k in range(first, last + 1) if tokens[i + k].kind == kind)

    def walk(e: Expr) -> None:  # postfix: a node after its operands
        kind = type(e)
        first, last = starts[(e.span.line, e.span.col)], ends[(e.span.end_line, e.span.end_col)]
        if kind is Name:
            steps.append(
                (NAME, first)
                if first == last
                else (WRAPPED, first, last, inside(first, last, "name"))
            )
        # a literal, maybe with signs and parentheses around it: its one number token
        elif kind is Num:
            # (−0 is 0: the value cannot tell)
            signs = sum(tokens[i + k].text == "-" for k in range(first, last + 1))
            steps.append((NUM, first, last, inside(first, last, "number"), -1 if signs % 2 else 1))
        elif kind is Binary:
            walk(e.left)
            walk(e.right)
            steps.append((BINARY, first, last, e.op))
        elif kind is Neg:
            walk(e.operand)
            steps.append((NEG, first, last))
        else:
            for a in e.args:
                walk(a)
            steps.append((CALL, first, last, e.fn, len(e.args)))

    if type(statement) is Assignment:
        walk(statement.expr)
        return (Assignment, starts[statement.span[:2]], statement.is_loss, tuple(steps))
    # not samples, nor a draw
    if type(statement) is Declaration and type(statement.value) in _EXPRESSIONS:
        walk(statement.value)
        return (
            Declaration,
            starts[statement.span[:2]],
            statement.kind,
            tuple(steps),
            starts[statement.keyword_span[:2]],
        )
    return None


def build_statement(
    plan: tuple, tokens: list[Token], i: int, number: Callable[[Token], Fraction]
) -> Statement:
    """Return the statement `plan` makes of the tokens from i on, as the parser would."""
    stack: list[Expr] = []
    push = stack.append
    for step in plan[3]:
        kind = step[0]
        if kind == NAME:
            t = tokens[i + step[1]]
            push(Name(t.text, _new(Span, (t.line, t.col, t.line, t.end))))
            continue
        start, end = tokens[i + step[1]], tokens[i + step[2]]
        span = _new(Span, (start.line, start.col, end.line, end.end))
        if kind == BINARY:
            right = stack.pop()
            stack[-1] = Binary(step[3], stack[-1], right, span)
        elif kind == NUM:
            value = number(tokens[i + step[3]])
            push(Num(-value if step[4] < 0 else value, span))
        elif kind == CALL:
            n = step[4]
            args = tuple(stack[-n:])
            del stack[-n:]
            push(Call(step[3], args, span))
        elif kind == NEG:
            stack[-1] = Neg(stack[-1], span)
        else:
            push(Name(tokens[i + step[3]].text, span))
    name = tokens[i + plan[1]]
    if plan[0] is Assignment:
        return Assignment(name.text, stack[0], plan[2], name.span)
    return Declaration(plan[2], name.text, stack[0], name.span, tokens[i + plan[4]].span)
