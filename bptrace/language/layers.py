"""Expand vector statements into scalar statements: `z1 = W1 @ x + b1` becomes z1[1], z1[2], …

A layer is written in one line and runs as the scalar graph: each element is a name of its own
(`W1[2,1]` is row 2, column 1, counted from 1), and `W1 @ x` row i is the plain sum
`W1[i,1]*x[1] + W1[i,2]*x[2] + …`, so that every table shows ∂z1[i]/∂W1[i,j] = x[j]. Shapes are
checked here, before anything runs. A statement without a vector in it is returned as it is.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import product

from bptrace.errors import NetworkError, Span
from bptrace.language.diagnostics import did_you_mean
from bptrace.language.functions import LAYER_ARITY
from bptrace.language.syntax import (
    Assignment,
    Binary,
    Call,
    Declaration,
    Elements,
    Expr,
    Index,
    LayerDeclaration,
    Name,
    Neg,
    Num,
    Statement,
    Transpose,
)

Shape = tuple[int, ...]  # () a number, (n,) a vector, (rows, columns) a matrix


def expand(statements: tuple[Statement, ...], source: str) -> tuple[Statement, ...]:
    """Return the statements with every vector and matrix written out element by element."""
    return _Expander(statements, source).program()


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


def shape_text(shape: Shape) -> str:
    """Return a shape as a lecture writes it: 3 for a vector, 3×2 for a matrix, 1 for a number."""
    return "×".join(map(str, shape)) or "one number"


def shape_words(shape: Shape) -> str:
    """Return a shape in words: one number, a vector of 3, a 3×2 matrix."""
    if len(shape) == 2:
        return f"a {shape_text(shape)} matrix"
    return f"a vector of {shape[0]}" if shape else "one number"


def _indices(shape: Shape):
    """Yield every index of `shape`, row by row."""
    return product(*(range(1, n + 1) for n in shape))


class _Expander:
    def __init__(self, statements: tuple[Statement, ...], source: str) -> None:
        self.statements = statements
        self.lines = [line.removesuffix("\r") for line in source.split("\n")]  # as lexer.py counts
        self.shapes: dict[str, Shape] = {}  # every name defined so far, by its shape
        self.lines_of: dict[str, int] = {}
        self.later = {s.name: s.span for s in statements if isinstance(s, LayerDeclaration)}
        self.later.update((s.name, s.span) for s in statements if isinstance(s, Assignment))
        self.current = ""  # the name the statement being expanded defines
        self.shape_of: dict[int, Shape] = {}  # by id() of a subexpression, while expanding one

    def program(self) -> tuple[Statement, ...]:
        out: list[Statement] = []
        for s in self.statements:
            if isinstance(s, LayerDeclaration):
                self.define(s.name, s.shape, s.span)
                out.extend(self.declaration(s))
            elif isinstance(s, Declaration):
                self.define(s.name, (), s.span)
                out.append(s)
            elif isinstance(s, Assignment):
                self.shape_of.clear()
                self.current = s.name
                shape = self.shape(s.expr)
                self.define(s.name, shape, s.span)
                out.extend(self.assignment(s, shape))
            else:
                out.append(s)
        return tuple(out)

    def define(self, name: str, shape: Shape, span: Span) -> None:
        if name in self.shapes and (shape or self.shapes[name]):  # two numbers: graph.py says so
            raise NetworkError(
                f"'{name}' is already defined on line {self.lines_of[name]}",
                span,
                "each name is defined once; choose another name",
            )
        self.shapes.setdefault(name, shape)
        self.lines_of.setdefault(name, span.line)

    # -- statements ----------------------------------------------------------------------

    def declaration(self, s: LayerDeclaration) -> list[Declaration]:
        if isinstance(s.value, Elements):
            values = self.elements(s.value, s.shape, s.name)
        else:  # a number, or a draw: the same for every element (each element draws its own)
            values = [s.value] * _size(s.shape)
        return [
            Declaration(s.kind, element_name(s.name, index), value, s.span, s.keyword_span)
            for index, value in zip(_indices(s.shape), values, strict=True)
        ]

    def elements(self, e: Elements, shape: Shape, name: str) -> list[Expr]:
        """Return the values of a list, row by row, checked against the declared shape."""
        if len(e.items) != shape[0]:
            what = "rows" if len(shape) == 2 else "elements"
            raise NetworkError(
                f"'{name}' is {shape_words(shape)}, but the list has {len(e.items)} {what}",
                e.span,
                _list_hint(shape),
            )
        values: list[Expr] = []
        for item in e.items:
            if isinstance(item, Elements) != (len(shape) == 2):
                raise NetworkError(
                    f"'{name}' is {shape_words(shape)}: "
                    + ("each row is a list" if len(shape) == 2 else "an element is a number"),
                    item.span,
                    _list_hint(shape),
                )
            if isinstance(item, Elements):
                if len(item.items) != shape[1]:
                    raise NetworkError(
                        f"'{name}' is {shape_words(shape)}, but this row has "
                        f"{len(item.items)} element{'s' if len(item.items) > 1 else ''}",
                        item.span,
                        _list_hint(shape),
                    )
                for value in item.items:
                    if isinstance(value, Elements):
                        raise NetworkError(
                            f"'{name}' is {shape_words(shape)}: an element is a number",
                            value.span,
                            _list_hint(shape),
                        )
                    values.append(value)
            else:
                values.append(item)
        return values

    def assignment(self, s: Assignment, shape: Shape) -> list[Assignment]:
        if shape and s.is_loss:
            raise NetworkError(
                f"the loss must be one number, but '{s.name}' is {shape_words(shape)}",
                s.expr.span,
                f"add up its elements: loss {s.name} = sum(...), or mean(...)",
            )
        if not shape:
            expr = self.element(s.expr, ())
            return [s if expr is s.expr else Assignment(s.name, expr, s.is_loss, s.span)]
        return [
            Assignment(element_name(s.name, index), self.element(s.expr, index), False, s.span)
            for index in _indices(shape)
        ]

    # -- shapes --------------------------------------------------------------------------

    def shape(self, e: Expr) -> Shape:
        """Return the shape of `e`, or raise where two shapes do not fit together."""
        found = self.shape_of.get(id(e))
        if found is None:
            found = self.shape_of[id(e)] = self._shape(e)
        return found

    def _shape(self, e: Expr) -> Shape:
        kind = type(e)
        if kind is Num:
            return ()
        if kind is Name:
            return self.name_shape(e)
        if kind is Index:
            return self.index_shape(e)
        if kind is Transpose:
            shape = self.shape(e.operand)
            if not shape:
                self.known(e.operand)
                raise NetworkError(
                    f"{self.text(e)}: a transpose is of a vector or a matrix, "
                    f"but {self.text(e.operand)} is one number",
                    e.span,
                    "remove the '",
                )
            return shape[::-1]
        if kind is Neg:
            return self.shape(e.operand)
        if kind is Binary:
            if e.op == "@":
                return self.product_shape(e)
            return self.together(e, e.left, e.right)
        if e.fn in LAYER_ARITY:
            return self.layer_call_shape(e)
        if len(e.args) == 2:  # max(v, 0), elementwise like the rest
            return self.together(e, e.args[0], e.args[1])
        return self.shape(e.args[0])

    def name_shape(self, e: Name) -> Shape:
        shape = self.shapes.get(e.id)
        if shape is None and e.id in self.later and e.id != self.current:
            raise NetworkError(
                f"'{e.id}' is used before it is defined",
                e.span,
                f"it is defined on line {self.later[e.id].line}; move that line above this one",
            )
        return shape or ()  # an unknown name: graph.py says so, with its hints

    def known(self, e: Expr) -> None:
        """Refuse an unknown name where a vector is needed: it is unknown, not one number."""
        if type(e) is Name and e.id not in self.shapes:
            hint = did_you_mean(e.id, self.shapes) or "declare it, as in `param W1[3,2] = 0`"
            raise NetworkError(f"unknown name '{e.id}'", e.span, hint)

    def index_shape(self, e: Index) -> Shape:
        name = e.name.id
        shape = self.name_shape(e.name)
        self.known(e.name)
        if not shape:
            raise NetworkError(
                f"'{name}' is one number: it has no elements", e.span, f"write {name} alone"
            )
        if len(e.indices) != len(shape):
            form = f"{name}[ROW,COLUMN]" if len(shape) == 2 else f"{name}[I]"
            raise NetworkError(
                f"'{name}' is {shape_words(shape)}: write {len(shape)} "
                f"{'indices' if len(shape) == 2 else 'index'}, not {len(e.indices)}",
                e.span,
                f"an element is {form}, counted from 1",
            )
        for k, (index, size) in enumerate(zip(e.indices, shape, strict=True)):
            if index.value > size:
                what = ("row", "column")[k] if len(shape) == 2 else "element"
                raise NetworkError(
                    f"{what} {index.value} is out of range: '{name}' is {shape_words(shape)}",
                    index.span,
                    f"{what}s count from 1 to {size}",
                )
        return ()

    def together(self, e: Expr, left: Expr, right: Expr) -> Shape:
        """Return the shape of an elementwise operation: equal shapes, or one a number."""
        a, b = self.shape(left), self.shape(right)
        if not a or not b or a == b:
            return a or b
        what = f"{e.fn}(...)" if type(e) is Call else f"'{e.op}'"
        hint = "elementwise operations need equal shapes, or a number on one side"
        if a == b[::-1]:
            fixed = self.text(right.operand) if type(right) is Transpose else self.text(right) + "'"
            hint = f"one is the other's transpose: write {fixed}"
        raise NetworkError(
            f"{self.text(e)}: {what} needs equal shapes, but "
            f"{self.text(left)} is {shape_text(a)}, {self.text(right)} is {shape_text(b)}",
            right.span,
            hint,
        )

    def product_shape(self, e: Binary) -> Shape:
        """Return the shape of a @ b: vector·vector, matrix·vector, vector·matrix, matrix·matrix."""
        a, b = self.shape(e.left), self.shape(e.right)
        for side, shape in ((e.left, a), (e.right, b)):
            if not shape:
                self.known(side)
                raise NetworkError(
                    f"{self.text(e)}: @ multiplies vectors and matrices, but "
                    f"{self.text(side)} is one number",
                    side.span,
                    "to multiply by a number, write *",
                )
        if a[-1] == b[0]:
            return a[:-1] + b[1:]
        left, right = self.text(e.left), self.text(e.right)
        fits = [
            text
            for text, x, y in (
                (f"{left}' @ {right}", a[::-1], b),
                (f"{left} @ {right}'", a, b[::-1]),
                (f"{right} @ {left}", b, a),
            )
            if x[-1] == y[0] and (x, y) != (a, b)
        ]
        inner = f"{left} has {a[-1]} {'columns' if len(a) == 2 else 'elements'}"
        inner += f" and {right} {b[0]} {'rows' if len(b) == 2 else 'elements'}"
        hint = f"{inner}: they must be equal"
        if fits:
            hint += f"; did you mean {' or '.join(fits)}?"
        raise NetworkError(
            f"{self.text(e)}: {left} is {shape_text(a)}, {right} is {shape_text(b)}",
            e.right.span,
            hint,
        )

    def layer_call_shape(self, e: Call) -> Shape:
        if e.fn in self.shapes:  # a statement built from the plan of an earlier one (_template.py)
            raise NetworkError(
                f"'{e.fn}' is not a function", e.span, f"to multiply, write {e.fn}*(...)"
            )
        shapes = [self.shape(arg) for arg in e.args]
        for arg, shape in zip(e.args, shapes, strict=True):
            if not shape:
                self.known(arg)
                raise NetworkError(
                    f"{e.fn}(...) takes a vector or a matrix, but {self.text(arg)} is one number",
                    arg.span,
                    "write the number alone" if e.fn != "dot" else "for a product, write *",
                )
        if e.fn == "dot" and not (len(shapes[0]) == 1 and shapes[0] == shapes[1]):
            raise NetworkError(
                f"{self.text(e)}: dot needs two vectors of one length, but "
                f"{self.text(e.args[0])} is {shape_text(shapes[0])}, "
                f"{self.text(e.args[1])} is {shape_text(shapes[1])}",
                e.args[1].span,
                "for a matrix product, write @",
            )
        return ()

    def text(self, e: Expr) -> str:
        """Return an expression as written in the file, spaces shortened, for a message."""
        span = e.span
        if span.line != span.end_line:
            first = self.lines[span.line - 1][span.col - 1 :]
            rest = self.lines[span.line : span.end_line - 1]
            last = self.lines[span.end_line - 1][: span.end_col - 1]
            return " ".join(" ".join([first, *rest, last]).split())
        return self.lines[span.line - 1][span.col - 1 : span.end_col - 1]

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
            return self.layer_call(e)
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

    def layer_call(self, e: Call) -> Expr:
        """Return sum(v), mean(v) or dot(a, b) written out."""
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
            return Binary("/", total, Num(Fraction(_size(shape)), e.span), e.span)
        return total


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


def _list_hint(shape: Shape) -> str:
    if len(shape) == 2:
        rows, columns = shape
        row = f"[{', '.join(['0'] * columns)}]"
        return f"write {rows} rows of {columns}: [{', '.join([row] * rows)}], or one number for all"
    return f"write {shape[0]} numbers: [{', '.join(['0'] * shape[0])}], or one number for all"
