"""Parse .bp tokens into statements. Each parse function's docstring is its grammar rule (EBNF)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction

from bptrace.errors import NetworkError, Span
from bptrace.language import _template
from bptrace.language.diagnostics import FUNCTION_HINTS, did_you_mean
from bptrace.language.functions import ALIASES, ARITY, LAYER_ARITY
from bptrace.language.lexer import KEYWORDS, Token, scan, tokenize
from bptrace.language.syntax import (
    Assignment,
    Binary,
    Call,
    Declaration,
    Draw,
    Elements,
    Expr,
    Index,
    Layer,
    LayerDeclaration,
    Name,
    Neg,
    Num,
    Samples,
    Setting,
    Statement,
    Transpose,
    children,
)

# a param's random start
DISTRIBUTIONS = {
    "uniform": "uniform(LOW, HIGH)",
    "normal": "normal(MEAN, SD)",
}
MAX_NESTING = 100  # parentheses, calls and prefix signs inside one another
MAX_DEPTH = 256  # levels of the expression tree, operators in a chain included
DECLARATION_KINDS = ("param", "input", "target", "const")
_FUNCTION_LIST = tuple(ARITY) + tuple(ALIASES)  # in order, for suggestions
_FUNCTION_NAMES = frozenset(_FUNCTION_LIST)
# names whose text the parser reads: part of a shape
_SPECIAL_NAMES = _FUNCTION_NAMES | frozenset(DISTRIBUTIONS) | frozenset(LAYER_ARITY)
_SUM, _PRODUCT, _POWER = frozenset("+-"), frozenset("*/@"), frozenset(("^", "**"))
_AFTER_NAME = _POWER | frozenset(("(", "[", "'"))  # a name before these is more than a name
_AFTER_NUMBER = _POWER | frozenset("'")  # and a number before these more than a number
_new = tuple.__new__  # Span(…) at C speed


def parse(text: str) -> tuple[Statement, ...]:
    """Return the statements of a .bp program, in source order."""
    return parse_layered(text)[0]


def parse_layered(text: str) -> tuple[tuple[Statement, ...], tuple[Layer, ...]]:
    """Return the statements of a .bp program, and its vectors and matrices as written (or ())."""
    tokens, shapes, ends = scan(text, _SPECIAL_NAMES)
    parser = _Parser(tokens)
    statements = parser.program(shapes, ends)
    if not parser.layered:
        return statements, ()
    from bptrace.language.layers import expand_layers  # only a network with layers needs it

    return expand_layers(statements, text)


def parse_expression(text: str) -> Expr:
    """Return the expression in `text`, which must hold exactly one expression (a formula)."""
    p = _Parser(tokenize(text))
    p.skip_newlines()
    e = p.expression()
    p.skip_newlines()
    p.expect_kind("end", "the end of the expression")
    if not p.layered:
        return e
    from bptrace.language.layers import elements_named

    return elements_named(e)  # a formula's W1[2,1] is the element's name


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.nesting = 0
        self.defined: set[str] = set()  # names defined by earlier statements, for better hints
        # each number's value by its text: a big network repeats a few
        self.numbers: dict[str, Fraction] = {}
        self.layered = False  # a vector or matrix is written somewhere: expand it (layers.py)

    # -- token helpers -------------------------------------------------------------------

    def advance(self) -> Token:
        t = self.tokens[self.i]
        self.i += 1
        return t

    def at(self, *texts: str) -> bool:
        t = self.tokens[self.i]
        return t.text in texts and (t.kind == "op" or t.kind == "keyword")

    def skip_newlines(self) -> None:
        while self.tokens[self.i].kind == "newline":
            self.advance()

    def expect_kind(self, kind: str, what: str) -> Token:
        if self.tokens[self.i].kind != kind:
            raise self.unexpected(what)
        return self.advance()

    def expect_op(self, text: str, what: str, hint: str | None = None) -> Token:
        if not self.at(text):
            # Side-by-side operands inside an expression are a missing '*'; before '=' they are not.
            raise self.unexpected(what, hint, product=text != "=")
        return self.advance()

    def unexpected(self, what: str, hint: str | None = None, product: bool = True) -> NetworkError:
        t = self.tokens[self.i]
        found = "the end of the line" if t.kind in ("newline", "end") else f"'{t.text}'"
        if product:
            hint = self.product_hint() or hint
        return NetworkError(f"expected {what}, found {found}", t.span, hint)

    def product_hint(self) -> str | None:
        """Return a hint when two operands stand side by side, as in `2w` or `(a)(b)`."""
        prev, t = self.tokens[self.i - 1] if self.i else None, self.tokens[self.i]
        if prev is None or not (prev.kind in ("number", "name") or prev.text == ")"):
            return None
        if not (t.kind in ("number", "name") or t.text == "("):
            return None
        left = prev.text if prev.kind in ("number", "name") else "(...)"
        right = t.text if t.kind in ("number", "name") else "(...)"
        return f"write {left}*{right} for a product: bptrace has no implicit multiplication"

    # -- statements ----------------------------------------------------------------------

    def program(
        self, shapes: list[tuple[str, ...]] | None = None, ends: list[int] | None = None
    ) -> tuple[Statement, ...]:
        """program = { [ statement ] NEWLINE } ;

        With each line's shape and the index of its newline (lexer.scan), a statement of a shape
        seen before is built from that one's plan (see _template.py).
        """
        statements: list[Statement] = []
        tokens = self.tokens
        plans: dict[tuple, tuple] = {}  # by shape
        line = 0  # lines are counted as newline tokens are
        while tokens[self.i].kind != "end":
            if tokens[self.i].kind == "newline":
                self.i += 1
                line += 1
                continue
            i = self.i
            key, end = (shapes[line], ends[line]) if shapes is not None else (None, -1)
            plan = plans.get(key)
            if plan is not None:
                statements.append(_template.build_statement(plan, tokens, i, self.number))
                self.i = end
            else:
                statements.append(self.statement())
            self.defined.add(statements[-1].name)
            if tokens[self.i].kind != "newline":
                raise self.trailing(statements[-1])
            if plan is None and self.i == end:
                plan = _template.plan(statements[-1], tokens, i, end)
                if plan is not None:
                    plans[key] = plan
        return tuple(statements)

    def trailing(self, statement: Statement | None = None) -> NetworkError:
        t = self.tokens[self.i]
        # uniform(-1, 1)*2
        if (
            isinstance(getattr(statement, "value", None), Draw)
            and t.kind == "op"
            and t.text in ("*", "/", "+", "-", "^", "**")
        ):
            dist = statement.value.dist
            want = (
                "the range you want: uniform(-2, 2) is twice uniform(-1, 1)"
                if dist == "uniform"
                else "the mean and spread you want: normal(1, 2) is 1 + 2*normal(0, 1)"
            )
            return NetworkError(
                f"unexpected '{t.text}' after {dist}(...)",
                t.span,
                f"a param drawn at random is {DISTRIBUTIONS[dist]} alone: give {want}",
            )
        if t.text == ")":
            return NetworkError("unmatched ')'", t.span, "remove it or add a '(' before it")
        before, after = self.tokens[self.i - 1], self.tokens[self.i + 1]
        if t.text == "," and before.kind == "number" and after.kind == "number":
            return NetworkError(
                "unexpected ',' in a number",
                t.span,
                f"use a decimal point: {before.text}.{after.text}",
            )
        hint = self.product_hint() or "one statement per line"
        if t.text == "[":  # (W @ x)[1]
            hint = (
                "only a name has elements: give the expression a node of its own (h = ...), "
                "then write h[1]"
            )
        return NetworkError(f"unexpected '{t.text}' after the expression", t.span, hint)

    def statement(self) -> Statement:
        """statement = declaration | setting | assignment ;"""
        t = self.tokens[self.i]
        if t.kind == "keyword" and t.text in DECLARATION_KINDS:
            return self.declaration()
        if t.kind == "keyword" and t.text == "set":
            return self.setting()
        if t.kind == "name" and self.tokens[self.i + 1].kind == "name":
            close = did_you_mean(t.text, KEYWORDS)
            if close or self.tokens[self.i + 2].text == "=":
                hint = close or f"keywords are {', '.join(KEYWORDS)}"
                raise NetworkError(f"unknown keyword '{t.text}'", t.span, hint)
        if t.kind == "keyword" and t.text == "loss" or t.kind == "name":
            return self.assignment()
        hint = (
            "a statement is `NAME = EXPR`, `loss NAME = EXPR`, `param NAME = VALUE`, "
            "… or `set NAME = VALUE`"
        )
        if t.kind == "op" and t.text in "+-*/^":
            hint = "to continue an expression on the next line, wrap it in parentheses"
        if t.kind == "name":
            hint = did_you_mean(t.text, KEYWORDS) or hint
        raise self.unexpected("a name or a keyword (param, input, target, const, loss, set)", hint)

    def declaration(self) -> Declaration | LayerDeclaration:
        """declaration = ( "param" | "input" | "target" | "const" ) NAME "=" ( expr | samples ) ;"""
        keyword = self.advance()
        name = self.defined_name()
        if self.at("["):
            return self.layer_declaration(keyword, name)
        self.expect_op(
            "=", f"'=' after '{name.text}'", f"write `{keyword.text} {name.text} = VALUE`"
        )
        t = self.tokens[self.i]
        if self.at("["):
            value = self.samples()
        elif t.kind == "name" and t.text in DISTRIBUTIONS and self.tokens[self.i + 1].text == "(":
            value = self.draw()
        else:
            value = self.expression()
        return Declaration(keyword.text, name.text, value, name.span, keyword.span)

    def layer_declaration(self, keyword: Token, name: Token) -> LayerDeclaration:
        """layer_declaration = KIND NAME sizes "=" ( expr | elements | draw ) ;"""
        self.layered = True
        shape = self.sizes()
        self.expect_op(
            "=", f"'=' after '{name.text}[...]'", f"write `{keyword.text} {name.text}[3,2] = VALUE`"
        )
        t = self.tokens[self.i]
        if self.at("["):
            value = self.elements()
        elif t.kind == "name" and t.text in DISTRIBUTIONS and self.tokens[self.i + 1].text == "(":
            value = self.draw()
        else:
            value = self.expression()
        return LayerDeclaration(keyword.text, name.text, shape, value, name.span, keyword.span)

    def sizes(self) -> tuple[int, ...]:
        """sizes = "[" NUMBER [ "," NUMBER ] "]" ;   (* a length; a matrix's rows, columns *)"""
        opening = self.advance()
        sizes = [self.whole("a size", "a vector is x[2], a matrix W[3,2] (rows, columns)")]
        while self.at(","):
            self.advance()
            sizes.append(self.whole("a size", "a vector is x[2], a matrix W[3,2] (rows, columns)"))
        closing = self.expect_op("]", "',' or ']'", "a vector is x[2], a matrix W[3,2]")
        if len(sizes) > 2:
            raise NetworkError(
                f"{len(sizes)} sizes, but a layer holds a vector or a matrix",
                opening.span.to(closing.span),
                "a vector is x[2], a matrix W[3,2] (rows, columns)",
            )
        return tuple(sizes)

    def whole(self, what: str, hint: str) -> int:
        """Return a whole number of 1 or more: a size or an index, counted from 1."""
        t = self.tokens[self.i]
        if t.kind != "number":
            raise self.unexpected(what, hint, product=False)
        self.i += 1
        value = self.number(t)
        if value.denominator != 1 or value < 1:
            raise NetworkError(f"{what} is a whole number from 1, not {t.text}", t.span, hint)
        return int(value)

    def elements(self) -> Elements:
        """elements = "[" ( expr | elements ) { "," ( expr | elements ) } [ "," ] "]" ;"""
        opening = self.advance()
        items: list = []
        while not self.at("]"):
            items.append(self.nested(self.elements if self.at("[") else self.sum))
            if not self.at(","):
                break
            self.advance()
        closing = self.expect_op("]", "',' or ']'", "a matrix is written [[1, 2], [3, 4]]")
        if not items:
            raise NetworkError(
                "no elements in '[]'", opening.span.to(closing.span), "write them, as in [0, 1]"
            )
        return Elements(tuple(items), opening.span.to(closing.span))

    def draw(self) -> Draw:
        """draw = ( "uniform" | "normal" ) "(" expr "," expr ")" ;"""
        name = self.advance()
        self.advance()  # (
        args = [self.nested(self.sum)]
        while self.at(","):
            self.advance()
            args.append(self.nested(self.sum))
        close = self.expect_op(")", "')' or ','", f"write {DISTRIBUTIONS[name.text]}")
        span = name.span.to(close.span)
        if len(args) != 2:
            raise NetworkError(
                f"{name.text} takes 2 arguments, got {len(args)}",
                span,
                f"write {DISTRIBUTIONS[name.text]}",
            )
        return Draw(name.text, tuple(args), span)

    def samples(self) -> Samples:
        """samples = "[" expr { "," expr } [ "," ] "]" ;"""
        opening = self.advance()
        items = []
        while not self.at("]"):
            items.append(self.nested(self.sum))
            if not self.at(","):
                break
            self.advance()
        if not self.at("]") and self.product_hint():  # [1 2 3]: samples side by side, not a product
            t = self.tokens[self.i]
            raise NetworkError(
                f"expected ',' or ']', found '{t.text}'",
                t.span,
                "separate samples with commas, as in [1, 2, 3]",
            )
        closing = self.expect_op("]", "',' or ']'", "samples are written [0, 1, 1, 0]")
        if not items:
            raise NetworkError(
                "no samples in '[]'",
                opening.span.to(closing.span),
                "write at least one value, as in [0, 1]",
            )
        return Samples(tuple(items), opening.span.to(closing.span))

    def setting(self) -> Setting:
        """setting = "set" NAME "=" expr ;"""
        self.advance()
        name = self.expect_kind("name", "the name of a setting, such as lr")
        self.expect_op("=", f"'=' after '{name.text}'", f"write `set {name.text} = VALUE`")
        return Setting(name.text, self.expression(), name.span)

    def assignment(self) -> Assignment:
        """assignment = [ "loss" ] NAME "=" expr ;"""
        is_loss = self.at("loss")
        if is_loss:
            self.advance()
        name, equals = self.tokens[self.i], self.tokens[self.i + 1]
        if (
            name.kind == "name"
            and name.text not in _FUNCTION_NAMES
            and equals.text == "="
            and equals.kind == "op"
        ):
            # `h = …`, the commonest statement: what defined_name and expect_op accept, inline.
            self.i += 2
        else:
            name = self.defined_name()
            what = (
                f"a loss is written `loss {name.text} = EXPR`"
                if is_loss
                else f"a node is written `{name.text} = EXPR`"
            )
            self.expect_op("=", f"'=' after '{name.text}'", what)
        return Assignment(name.text, self.expression(), is_loss, name.span)

    def defined_name(self) -> Token:
        t, before = self.tokens[self.i], self.tokens[self.i - 1] if self.i else None
        if t.text == "=" and before is not None and before.kind == "keyword":
            example = "L = EXPR" if before.text == "loss" else "NAME = VALUE"
            raise self.unexpected("a name", f"write `{before.text} {example}`")
        if t.kind == "keyword":
            raise NetworkError(
                f"'{t.text}' is a keyword and cannot be a name", t.span, "choose another name"
            )
        if t.kind == "name" and t.text in _FUNCTION_NAMES:
            raise NetworkError(
                f"'{t.text}' is a function and cannot be a name", t.span, "choose another name"
            )
        return self.expect_kind("name", "a name")

    # -- expressions ---------------------------------------------------------------------

    def expression(self) -> Expr:
        """expr = term { ( "+" | "-" ) term } ;"""
        first = self.i
        e = self.sum()
        # each level of the tree takes a token at least: fewer cannot be too deep
        if self.i - first >= MAX_DEPTH:
            _check_depth(e)
        return e

    def sum(self) -> Expr:
        """Parse `expression`'s rule, without its check of depth."""
        return self.left_binary(self.term, _SUM)

    def term(self) -> Expr:
        """term = unary { ( "*" | "/" | "@" ) unary } ;"""
        return self.left_binary(self.unary, _PRODUCT)

    def left_binary(self, operand: Callable[[], Expr], ops: frozenset[str]) -> Expr:
        """Parse `operand { op operand }` for the operators `ops`, grouping to the left."""
        e = operand()
        chain = 0
        tokens = self.tokens
        # self.at(*ops), inline: the hottest loop
        while (t := tokens[self.i]).kind == "op" and t.text in ops:
            self.i += 1
            if t.text == "@":  # a layer: parse() expands it into scalars
                self.layered = True
            chain += 1
            if chain + self.nesting >= MAX_DEPTH:
                self.too_deep(t)
            right = operand()
            left, end = e.span, right.span
            e = Binary(
                t.text, e, right, _new(Span, (left.line, left.col, end.end_line, end.end_col))
            )
        return e

    def too_deep(self, op: Token):
        """Refuse a chain of operators deeper than MAX_DEPTH (n operators make n + 1 levels)."""
        raise NetworkError(
            f"expression is more than {MAX_DEPTH} levels deep",
            op.span,
            "split it into several nodes",
        )

    def unary(self) -> Expr:
        """unary = ( "-" | "+" ) unary | power ;"""
        t = self.tokens[self.i]
        if t.kind == "op" and t.text in _SUM:
            sign = self.advance()
            operand = self.nested(self.unary)
            if sign.text == "+":
                return operand
            if isinstance(operand, Num):  # -3 is the number −3, as printed formulas write it
                return Num(-operand.value, sign.span.to(operand.span))
            return Neg(operand, sign.span.to(operand.span))
        kind = t.kind
        if kind == "name" and t.text not in _FUNCTION_NAMES:
            after = self.tokens[self.i + 1].text
            # a name alone, the commonest operand: what power() and atom() return
            if after not in _AFTER_NAME:
                self.i += 1
                return Name(t.text, _new(Span, (t.line, t.col, t.line, t.end)))
        # a number alone, likewise
        elif kind == "number" and self.tokens[self.i + 1].text not in _AFTER_NUMBER:
            self.i += 1
            return Num(self.number(t), _new(Span, (t.line, t.col, t.line, t.end)))
        return self.power()

    def power(self) -> Expr:
        """power = atom { "'" } [ ( "^" | "**" ) unary ] ;

        So ^ is right-associative and binds tighter than a sign; W' is W's transpose.
        """
        base = self.atom()
        while self.at("'"):  # W': a transpose
            self.layered = True
            base = Transpose(base, base.span.to(self.advance().span))
        t = self.tokens[self.i]
        if t.kind == "op" and t.text in _POWER:
            self.advance()
            exponent = self.nested(self.unary)
            return Binary("^", base, exponent, base.span.to(exponent.span))
        return base

    def atom(self) -> Expr:
        """atom = NUMBER | NAME | call | "(" expr ")" ;"""
        t = self.tokens[self.i]
        if t.kind == "name":
            if self.tokens[self.i + 1].text == "(":
                return self.call()
            if t.text in _FUNCTION_NAMES:
                raise NetworkError(f"'{t.text}' is a function", t.span, f"call it as {t.text}(...)")
            if self.tokens[self.i + 1].text == "[":
                return self.index()
            self.i += 1
            return Name(t.text, _new(Span, (t.line, t.col, t.line, t.end)))
        if t.kind == "number":
            self.i += 1
            return Num(self.number(t), _new(Span, (t.line, t.col, t.line, t.end)))
        if self.at("("):
            opening = self.advance()
            e = self.nested(self.sum)
            closing = self.expect_op(")", "')'", "close the parenthesis")
            return replace(e, span=opening.span.to(closing.span))  # underline the parentheses too
        if t.kind == "keyword":
            raise NetworkError(
                f"'{t.text}' is a keyword and cannot be used in an expression", t.span
            )
        if t.text in ("[", "]"):
            raise NetworkError(
                f"unexpected '{t.text}' in an expression",
                t.span,
                "use ( and ) for grouping; [ ] hold the samples of an input or target: "
                "input x = [0, 1]",
            )
        hint = None
        before = self.tokens[self.i - 1] if self.i else None
        if t.kind in ("newline", "end") and before is not None and before.kind == "op":
            hint = "to continue an expression on the next line, wrap it in parentheses"
        elif t.text == "=" and before is not None and before.text == "=":
            hint = "write one '=': a statement defines a name, it does not compare"
        elif t.text in ("*", "**") and before is not None and before.text in ("*", "**"):
            hint = "for a power write ^ (or **): w^2"
        elif t.text == "'":
            hint = "words are written without quotes (set optimizer = adam); W' is a transpose"
        raise self.unexpected("a number, a name or '('", hint)

    def index(self) -> Index:
        """index = NAME "[" NUMBER [ "," NUMBER ] "]" ;   (* an element, from 1: W1[2,1] *)"""
        self.layered = True
        t = self.advance()
        name = Name(t.text, t.span)
        self.advance()  # [
        hint = f"an element is {t.text}[2], or {t.text}[2,1] (row, column), counted from 1"
        indices = [Num(Fraction(self.whole("an index", hint)), self.tokens[self.i - 1].span)]
        while self.at(","):
            self.advance()
            indices.append(
                Num(Fraction(self.whole("an index", hint)), self.tokens[self.i - 1].span)
            )
        closing = self.expect_op("]", "',' or ']'", hint)
        return Index(name, tuple(indices), t.span.to(closing.span))

    def call(self) -> Expr:
        """call = FUNCTION "(" expr { "," expr } ")" ;"""
        name = self.advance()
        fn = ALIASES.get(name.text, name.text)
        layer = fn in LAYER_ARITY and fn not in self.defined  # sum(v), mean(v), dot(a, b)
        self.layered = self.layered or layer
        if not layer and fn not in ARITY and name.text in self.defined:
            raise NetworkError(
                f"'{name.text}' is not a function",
                name.span,
                f"to multiply, write {name.text}*(...)",
            )
        if not layer and fn not in ARITY:
            hint = (
                FUNCTION_HINTS.get(name.text.lower())
                or did_you_mean(name.text, _FUNCTION_LIST)
                or f"known functions: {', '.join(ARITY)}"
            )
            raise NetworkError(f"unknown function '{name.text}'", name.span, hint)
        self.i += 1  # (
        arity = LAYER_ARITY[fn] if layer else ARITY[fn]
        tokens = self.tokens
        if self.at(")"):
            span = name.span.to(tokens[self.i].span)
            raise NetworkError(f"{name.text} takes {_arguments(arity)}, got 0", span)
        args = [self.nested(self.sum)]
        while (t := tokens[self.i]).text == "," and t.kind == "op":
            self.i += 1
            args.append(self.nested(self.sum))
        if t.text == ")" and t.kind == "op":
            self.i += 1
        else:
            self.expect_op(")", "')' or ','", "close the call's parenthesis")  # raises
        span = _new(Span, (name.line, name.col, t.line, t.end))  # name.span.to(t.span)
        if len(args) != arity:
            raise NetworkError(f"{name.text} takes {_arguments(arity)}, got {len(args)}", span)
        return Call(fn, tuple(args), span)

    def number(self, t: Token) -> Fraction:
        value = self.numbers.get(t.text)
        if value is None:
            value = self.numbers[t.text] = _number(t)
        return value

    def nested(self, rule):
        self.nesting += 1
        # raises; else the rule runs, and the count is restored however it ends
        if self.nesting > MAX_NESTING:
            raise NetworkError(
                f"expression nested more than {MAX_NESTING} levels deep",
                self.tokens[self.i - 1].span,  # the '(', sign or operator that went past the limit
                "split it into several nodes",
            )
        try:
            return rule()
        finally:
            self.nesting -= 1


def _arguments(n: int) -> str:
    return "1 argument" if n == 1 else f"{n} arguments"


def _number(t: Token) -> Fraction:
    try:
        value = float(t.text)
    except ValueError:  # pragma: no cover - the lexer only produces valid numbers
        value = float("nan")
    if value != value or value in (float("inf"), float("-inf")):
        shown = t.text if len(t.text) <= 20 else t.text[:20] + "..."
        raise NetworkError(
            f"number {shown} is too large", t.span, "numbers must fit a 64-bit float"
        )
    mantissa, _, exponent = t.text.lower().partition("e")
    if abs(value) < sys.float_info.min:
        return Fraction(value)  # zero or subnormal: the float itself, as the forward pass sees it
    # A finite, normal value has a small exponent, but its digits may be padded with zeros: 1e-0…01.
    digits = exponent.lstrip("+-").lstrip("0")
    if len(mantissa) <= 40 and len(digits) <= 3 and (not digits or int(digits) <= 400):
        power = int(digits or "0") * (-1 if exponent.startswith("-") else 1)
        return Fraction(mantissa) * Fraction(10) ** power  # exact: 0.1 stays one tenth
    return Fraction(value)


def _check_depth(e: Expr) -> None:
    stack = [(e, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise NetworkError(
                f"expression is more than {MAX_DEPTH} levels deep",
                e.span,
                "split it into several nodes",
            )
        stack.extend((c, depth + 1) for c in children(node))
