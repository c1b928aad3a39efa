"""Expand vector statements into scalar statements: `z1 = W1 @ x + b1` becomes z1[1], z1[2], …

A layer is written in one line and runs as the scalar graph: each element is a name of its own
(`W1[2,1]` is row 2, column 1, counted from 1), and `W1 @ x` row i is the plain sum
`W1[i,1]*x[1] + W1[i,2]*x[2] + …`, so that every table shows ∂z1[i]/∂W1[i,j] = x[j]. Shapes are
checked first (shapes.py). A statement without a vector in it is returned as it is.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import product

from bptrace.errors import NetworkError, Span
from bptrace.language.functions import LAYER_ARITY, VECTOR_FUNCTIONS
from bptrace.language.shapes import Shape, Shapes, shape_words, size
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
    names_in,
    walk,
)


def expand(statements: tuple[Statement, ...], source: str) -> tuple[Statement, ...]:
    """Return the statements with every vector and matrix written out element by element."""
    return _Expander(statements, source).program()


def expand_layers(
    statements: tuple[Statement, ...], source: str
) -> tuple[tuple[Statement, ...], tuple[Layer, ...]]:
    """Return the statements expanded (see expand), and each vector and matrix as written."""
    expander = _Expander(statements, source)
    return expander.program(), tuple(expander.layers)


def elements_named(e: Expr) -> Expr:
    """Return `e` with each element written h1[2] read as the name it is in a formula: 'h1[2]'."""
    kind = type(e)
    if kind is Index:
        return Name(element_name(e.name.id, tuple(int(k.value) for k in e.indices)), e.span)
    if kind is Binary:
        return Binary(e.op, elements_named(e.left), elements_named(e.right), e.span)
    if kind is Neg:
        return Neg(elements_named(e.operand), e.span)
    if kind is Call:
        return Call(e.fn, tuple(elements_named(a) for a in e.args), e.span)
    if kind is Transpose:
        return Transpose(elements_named(e.operand), e.span)
    return e


def element_name(name: str, index: tuple[int, ...]) -> str:
    """Return the name of one element: x[2], W1[2,1]."""
    return f"{name}[{','.join(map(str, index))}]"


# The scalar statements and the terms of their sums that the layers of one file may expand into.
# Each scalar is a node of its own in every table: 1,000,000 is ten times the largest network the
# benchmarks run (100,000 nodes: about 20 s and 0.65 GB a step).
MAX_EXPANDED = 1_000_000
# The terms of one written-out sum (a product's row times column, a sum, a mean, a dot): each term
# is a level of the element's expression, and the partials of a long sum take time quadratic in it
# (2,000 terms: 14 s; 5,000: deeper than Python recurses). A 784-input layer is 784.
MAX_TERMS = 1_024


def _indices(shape: Shape):
    """Yield every index of `shape`, row by row."""
    return product(*(range(1, n + 1) for n in shape))


class _Expander:
    """Expand each statement in turn, with the shapes of the names defined before it."""

    def __init__(self, statements: tuple[Statement, ...], source: str) -> None:
        self.statements = statements
        self.shapes = Shapes(statements, source)
        self.shape = self.shapes.shape
        self.spent = 0  # scalar statements and terms written so far, against MAX_EXPANDED
        self.written = 0  # terms of sums written out in the element being built, against MAX_TERMS
        self.layers: list[Layer] = []  # the vectors and matrices, in source order

    def terms(self, n: int, e: Expr) -> None:
        """Count the n terms of a written-out sum against the element's MAX_TERMS; refuse more, at
        the operation writing them."""
        self.written += n
        if self.written <= MAX_TERMS:
            return
        what = (
            f"a sum of {n:,} terms (at most {MAX_TERMS:,})"
            if n == self.written
            else f"one element of '{self.shapes.current}' holds more than {MAX_TERMS:,} terms"
        )
        raise NetworkError(
            f"{self.shapes.text(e)}: written out, {what}",
            e.span,
            "each element is written out as a plain sum: give each product a node of its own "
            "(h = W @ x), or use smaller layers",
        )

    def written_out(self, e: Expr, index: tuple[int, ...]) -> Expr:
        """Return element `index` of a statement's expression, its terms counted afresh."""
        self.written = 0
        return self.element(e, index)

    def spend(self, n: int, span: Span) -> None:
        """Count n more scalar statements or terms; refuse a file whose layers expand too far."""
        self.spent += n
        if self.spent > MAX_EXPANDED:
            raise NetworkError(
                f"the layers expand into more than {MAX_EXPANDED:,} scalar nodes and terms",
                span,
                "every element is a node of its own in every table: use smaller layers",
            )

    def program(self) -> tuple[Statement, ...]:
        out: list[Statement] = []
        for s in self.statements:
            if isinstance(s, LayerDeclaration):
                self.shapes.define(s.name, s.shape, s.span)
                self.constant(s.value)
                self.layers.append(Layer(s.name, s.kind, s.shape, None, s.span))
                out.extend(self.declaration(s))
            elif isinstance(s, Declaration):
                self.shapes.define(s.name, (), s.span)
                self.constant(s.value)
                out.append(s)
            elif isinstance(s, Setting):
                self.constant(s.value)
                out.append(s)
            elif isinstance(s, Assignment):
                self.shapes.statement(s.name)
                shape = self.shape(s.expr)
                self.shapes.define(s.name, shape, s.span)
                if shape:
                    self.layers.append(Layer(s.name, "node", shape, s.expr, s.span))
                out.extend(self.assignment(s, shape))
            else:
                out.append(s)
        return tuple(out)

    def constant(self, value) -> None:
        """Refuse a vector operation in a value, a sample, a draw's argument or a setting.

        A constant holds no names (graph.py says so, with the name), so `2 @ 3`, `sum(1)` or `(1)'`
        apply to numbers: the shape check says why that is wrong, before the scalar engine, which
        knows none of them, meets it.
        """
        if isinstance(value, (Elements, Samples)):
            items = value.items
        elif isinstance(value, Draw):
            items = value.args
        else:
            items = (value,)
        for item in items:
            if isinstance(item, Elements):
                self.constant(item)
            elif not names_in(item):
                self.shapes.statement("")
                self.shape(item)

    # -- statements ----------------------------------------------------------------------

    def declaration(self, s: LayerDeclaration) -> list[Declaration]:
        self.spend(size(s.shape), s.span)
        if isinstance(s.value, Elements):
            values = self.shapes.listed(s.value, s.shape, s.name)
        else:  # a number, or a draw: the same for every element (each element draws its own)
            values = [s.value] * size(s.shape)
        return [
            Declaration(s.kind, element_name(s.name, index), value, s.span, s.keyword_span)
            for index, value in zip(_indices(s.shape), values, strict=True)
        ]

    def assignment(self, s: Assignment, shape: Shape) -> list[Assignment]:
        if shape and s.is_loss:
            raise NetworkError(
                f"the loss must be one number, but '{s.name}' is {shape_words(shape)}",
                s.expr.span,
                f"add up its elements: loss {s.name} = sum(...), or mean(...)",
            )
        # Each element repeats the statement's operations (a product's terms: see product).
        self.spend(size(shape) * sum(1 for _ in walk(s.expr)), s.span)
        if not shape:
            expr = self.written_out(s.expr, ())
            return [s if expr is s.expr else Assignment(s.name, expr, s.is_loss, s.span)]
        return [
            Assignment(element_name(s.name, index), self.written_out(s.expr, index), False, s.span)
            for index in _indices(shape)
        ]

    # -- elements ------------------------------------------------------------------------

    def element(self, e: Expr, index: tuple[int, ...]) -> Expr:
        """Return the scalar expression of element `index` of `e` (its own shape's index)."""
        kind = type(e)
        if kind is Num:
            return e
        if kind is Name:
            return Name(element_name(e.id, index), e.span) if self.shape(e) else e
        if kind is Index:
            return elements_named(e)
        if kind is Transpose:
            return self.element(e.operand, index[::-1])
        if kind is Neg:
            operand = self.element(e.operand, index)
            return e if operand is e.operand else Neg(operand, e.span)
        if kind is Binary:
            if e.op == "@":
                return self.product(e, index)
            left, right = self.part(e.left, index), self.part(e.right, index)
            if left is e.left and right is e.right:
                return e
            return Binary(e.op, left, right, e.span)
        if e.fn in LAYER_ARITY:
            return self.layer_call(e, index)
        args = tuple(self.part(arg, index) for arg in e.args)
        if all(a is b for a, b in zip(args, e.args, strict=True)):
            return e
        return Call(e.fn, args, e.span)

    def part(self, e: Expr, index: tuple[int, ...]) -> Expr:
        """Return element `index` of an operand, or the operand itself where it is one number."""
        return self.element(e, index) if self.shape(e) else self.element(e, ())

    def product(self, e: Binary, index: tuple[int, ...]) -> Expr:
        """Return element `index` of a @ b: the plain sum of a's row times b's column."""
        a = self.shape(e.left)
        self.terms(a[-1], e)
        self.spend(a[-1], e.span)
        rows, columns = index[: len(a) - 1], index[len(a) - 1 :]
        terms = [
            Binary(
                "*",
                self.element(e.left, rows + (k,)),
                self.element(e.right, (k,) + columns),
                e.span,
            )
            for k in range(1, a[-1] + 1)
        ]
        return _added(terms, e.span)

    def layer_call(self, e: Call, index: tuple[int, ...] = ()) -> Expr:
        """Return sum(v), mean(v), dot(a, b), or element `index` of softmax(z) and the rest, written
        out."""
        self.terms(size(self.shape(e.args[0])), e)
        self.spend(size(self.shape(e.args[0])), e.span)
        if e.fn in VECTOR_FUNCTIONS:
            return self.vector_call(e, index)
        if e.fn == "dot":
            a, b = e.args
            terms = [
                Binary("*", self.element(a, (k,)), self.element(b, (k,)), e.span)
                for k in range(1, self.shape(a)[0] + 1)
            ]
            return _added(terms, e.span)
        shape = self.shape(e.args[0])
        total = _added([self.element(e.args[0], i) for i in _indices(shape)], e.span)
        if e.fn == "mean":
            return Binary("/", total, Num(Fraction(size(shape)), e.span), e.span)
        return total

    # softmax and cross-entropy go through logsumexp, written as logaddexp(a, b) = log(e^a + e^b)
    # (ops.py), which never overflows: exp(z[k])/(exp(z[1]) + …) would at z[k] = 710.
    def vector_call(self, e: Call, index: tuple[int, ...]) -> Expr:
        """Return softmax(z)[k] = exp(z[k] - logsumexp(z)), logsumexp(z), cross_entropy(p, y) =
        -(y[1]*log(p[1]) + …), or cross_entropy_logits(z, y) = cross_entropy(softmax(z), y)."""
        z = e.args[0]
        n = self.shape(z)[0]
        if e.fn == "cross_entropy":
            y = e.args[1]
            terms = [
                Binary(
                    "*",
                    self.element(y, (k,)),
                    Call("log", (self.element(z, (k,)),), e.span),
                    e.span,
                )
                for k in range(1, n + 1)
            ]
            return Neg(_added(terms, e.span), e.span)
        lse = self.logsumexp(z, e.span)
        if e.fn == "softmax":
            self.spend_softmax(e, n)
            return Call("exp", (Binary("-", self.element(z, index), lse, e.span),), e.span)
        if e.fn == "logsumexp":
            return lse
        # −Σ y[k]·log softmax(z)[k] = Σ y[k]·(logsumexp(z) − z[k])
        #                          = (Σ y[k])·logsumexp(z) − Σ y[k]·z[k], for any y
        y = e.args[1]
        targets = [self.element(y, (k,)) for k in range(1, n + 1)]
        scored = [
            Binary("*", target, self.element(z, (k,)), e.span)
            for k, target in enumerate(targets, 1)
        ]
        self.spend(2 * n, e.span)
        total = Binary("*", _added(targets, e.span), lse, e.span)
        return Binary("-", total, _added(scored, e.span), e.span)

    def spend_softmax(self, e: Call, n: int) -> None:
        """Count an element of softmax(z): n partials, each with about n terms of logsumexp(z)."""
        if self.spent + n * n > MAX_EXPANDED:
            z = self.shapes.text(e.args[0])
            raise NetworkError(
                f"the layers expand into more than {MAX_EXPANDED:,} scalar nodes and terms",
                e.span,
                f"each of the {n:,} elements of {self.shapes.text(e)} holds logsumexp({z}): "
                f"write it once, lse = logsumexp({z}), then exp({z} - lse)",
            )
        self.spent += n * n

    def logsumexp(self, z: Expr, span: Span) -> Expr:
        """Return log(exp(z[1]) + … + exp(z[n])) as logaddexp of halves: z[1] alone for n = 1."""
        parts = [self.element(z, (k,)) for k in range(1, self.shape(z)[0] + 1)]
        while len(parts) > 1:  # pairs, so that the nesting is log2(n) deep, not n
            paired = [Call("logaddexp", (a, b), span) for a, b in zip(parts[::2], parts[1::2])]
            parts = paired + parts[len(paired) * 2 :]
        return parts[0]


def _added(terms: list[Expr], span: Span) -> Expr:
    """Return t1 + t2 + … as the parser builds it: left to right."""
    total = terms[0]
    for term in terms[1:]:
        total = Binary("+", total, term, span)
    return total


def _size(shape: Shape) -> int:
    size = 1
    for n in shape:
        size *= n
    return size
