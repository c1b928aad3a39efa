"""Work out the shape of each vector expression, and refuse shapes that do not fit together.

A shape is () for a number, (n,) for a vector, (rows, columns) for a matrix. Each error points at
the operand and prints both shapes, as the lecture writes them: `W1 @ x: W1 is 3×2, x is 3`.
"""

from __future__ import annotations

from bptrace.errors import NetworkError, Span
from bptrace.language.diagnostics import did_you_mean
from bptrace.language.functions import LAYER_ARITY, VECTOR_FUNCTIONS
from bptrace.language.syntax import (
    Assignment,
    Binary,
    Call,
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


def shape_text(shape: Shape) -> str:
    """Return a shape as a lecture writes it: 3 for a vector, 3×2 for a matrix."""
    return "×".join(map(str, shape)) or "one number"


def shape_words(shape: Shape) -> str:
    """Return a shape in words: one number, a vector of 3, a 3×2 matrix."""
    if len(shape) == 2:
        return f"a {shape_text(shape)} matrix"
    return f"a vector of {shape[0]}" if shape else "one number"


def size(shape: Shape) -> int:
    """Return the number of elements of `shape`."""
    count = 1
    for n in shape:
        count *= n
    return count


class Shapes:
    """The shape of every name defined so far, and of the expressions over them."""

    def __init__(self, statements: tuple[Statement, ...], source: str) -> None:
        self.lines = [line.removesuffix("\r") for line in source.split("\n")]  # as lexer.py counts
        self.names: dict[str, Shape] = {}  # every name defined so far, by its shape
        self.lines_of: dict[str, int] = {}
        self.later = {s.name: s.span for s in statements if isinstance(s, LayerDeclaration)}
        self.later.update((s.name, s.span) for s in statements if isinstance(s, Assignment))
        self.current = ""  # the name the statement being expanded defines
        self.shape_of: dict[int, Shape] = {}  # by id() of a subexpression of that statement

    def statement(self, name: str) -> None:
        """Start on the statement that defines `name`."""
        self.current = name
        self.shape_of.clear()

    def define(self, name: str, shape: Shape, span: Span) -> None:
        """Record a name's shape; a layer defined twice is refused here (a number by graph.py)."""
        if name in self.names and (shape or self.names[name]):  # two numbers: graph.py says so
            raise NetworkError(
                f"'{name}' is already defined on line {self.lines_of[name]}",
                span,
                "each name is defined once; choose another name",
            )
        self.names.setdefault(name, shape)
        self.lines_of.setdefault(name, span.line)

    def listed(self, e: Elements, shape: Shape, name: str) -> list[Expr]:
        """Return the values of a list, row by row, checked against the declared shape."""
        if len(shape) == 2 and not any(isinstance(item, Elements) for item in e.items):
            raise NetworkError(  # [1, 2, 3, 4] for a 2×2 matrix: not '4 rows'
                f"'{name}' is {shape_words(shape)}: each row is a list",
                e.items[0].span,
                _list_hint(shape),
            )
        if len(e.items) != shape[0]:
            what = "row" if len(shape) == 2 else "element"
            raise NetworkError(
                f"'{name}' is {shape_words(shape)}, but the list has {_count(len(e.items), what)}",
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
                        f"{_count(len(item.items), 'element')}",
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
        shape = self.names.get(e.id)
        if shape is None and e.id == self.current:  # before its elements are named h[1], h[2], …
            raise NetworkError(
                f"'{e.id}' is used in its own definition", e.span, "a graph has no cycles"
            )
        if shape is None and e.id in self.later:
            raise NetworkError(
                f"'{e.id}' is used before it is defined",
                e.span,
                f"it is defined on line {self.later[e.id].line}; move that line above this one",
            )
        return shape or ()  # an unknown name: graph.py says so, with its hints

    def known(self, e: Expr) -> None:
        """Refuse an unknown name where a vector is needed: it is unknown, not one number."""
        if type(e) is Name and e.id not in self.names:
            hint = did_you_mean(e.id, self.names) or "declare it, as in `param W1[3,2] = 0`"
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
                raise NetworkError(  # the index as written: 1e300, not its 301 digits
                    f"{what} {self.text(index)} is out of range: '{name}' is {shape_words(shape)}",
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
        if e.fn in self.names:  # a statement built from the plan of an earlier one (_template.py)
            raise NetworkError(
                f"'{e.fn}' is not a function", e.span, f"to multiply, write {e.fn}*(...)"
            )
        shapes = [self.shape(arg) for arg in e.args]
        if e.fn in VECTOR_FUNCTIONS:
            return self.vector_call_shape(e, shapes)
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

    def vector_call_shape(self, e: Call, shapes: list[Shape]) -> Shape:
        """Return the shape of softmax(z), z's own, or of logsumexp and a cross-entropy: ()."""
        for arg, shape in zip(e.args, shapes, strict=True):
            if len(shape) != 1:
                self.known(arg)
                raise NetworkError(
                    f"{e.fn}(...) takes a vector, but {self.text(arg)} is {shape_words(shape)}",
                    arg.span,
                    "give it a vector of one score per class, as z = W @ h + b",
                )
        if len(shapes) == 2 and shapes[0] != shapes[1]:
            first, second = (self.text(arg) for arg in e.args)
            raise NetworkError(
                f"{self.text(e)}: {e.fn} needs two vectors of one length, but "
                f"{first} is {shape_text(shapes[0])}, {second} is {shape_text(shapes[1])}",
                e.args[1].span,
                "one target per class: y[k] is the probability of class k",
            )
        return shapes[0] if e.fn == "softmax" else ()

    def text(self, e: Expr) -> str:
        """Return an expression as written in the file, spaces shortened, for a message."""
        span = e.span
        if span.line != span.end_line:
            first = self.lines[span.line - 1][span.col - 1 :]
            rest = self.lines[span.line : span.end_line - 1]
            last = self.lines[span.end_line - 1][: span.end_col - 1]
            return " ".join(" ".join([first, *rest, last]).split())
        return self.lines[span.line - 1][span.col - 1 : span.end_col - 1]


def _list_hint(shape: Shape) -> str:
    if len(shape) == 2:
        rows, columns = shape
        row = f"[{_listed('0', columns)}]"
        return (
            f"write {_count(rows, 'row')} of {columns}: [{_listed(row, rows)}], "
            "or one number for all"
        )
    return f"write {_count(shape[0], 'number')}: [{_listed('0', shape[0])}], or one number for all"


def _listed(item: str, n: int) -> str:
    """Return n items, as a list is written; a long one shortened (a hint of 900,000 zeros is
    not one)."""
    return ", ".join([item] * n) if n <= 8 else f"{item}, {item}, …, {item}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
