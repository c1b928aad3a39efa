"""The syntax tree of a .bp file: expressions and statements, each carrying its span.

Expression nodes are never changed once built; they are plain (not frozen) dataclasses only because
frozen ones cost more per field to construct, and a big network has millions of fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction

from bptrace.errors import NOWHERE, Span

# A number is kept exact (Fraction) when its text allows it, so that 1/2*2 folds to exactly 1.
Number = Fraction | float


@dataclass(slots=True, unsafe_hash=True)
class Num:
    """A number literal."""

    value: Number
    span: Span = field(default=NOWHERE, compare=False)


@dataclass(slots=True, unsafe_hash=True)
class Name:
    """A use of a named value: a param, input, target, const or node."""

    id: str
    span: Span = field(default=NOWHERE, compare=False)


@dataclass(slots=True, eq=True)
class Neg:
    """Unary minus."""

    operand: Expr
    span: Span = field(default=NOWHERE, compare=False)
    hashed: int = field(default=0, init=False, repr=False, compare=False)  # see __hash__

    def __hash__(self) -> int:
        # Kept once worked out: formulas share big subexpressions; hashing one again walks it all.
        if not self.hashed:
            self.hashed = hash((self.operand,)) or 1
        return self.hashed


@dataclass(slots=True, eq=True)
class Binary:
    """A binary operator: + - * / ^."""

    op: str
    left: Expr
    right: Expr
    span: Span = field(default=NOWHERE, compare=False)
    hashed: int = field(default=0, init=False, repr=False, compare=False)  # see __hash__

    def __hash__(self) -> int:
        # Kept once worked out: formulas share big subexpressions; hashing one again walks it all.
        if not self.hashed:
            self.hashed = (
                hash(
                    (
                        self.op,
                        self.left,
                        self.right,
                    )
                )
                or 1
            )
        return self.hashed


@dataclass(slots=True, eq=True)
class Call:
    """A call of a built-in function, by its canonical name."""

    fn: str
    args: tuple[Expr, ...]
    span: Span = field(default=NOWHERE, compare=False)
    hashed: int = field(default=0, init=False, repr=False, compare=False)  # see __hash__

    def __hash__(self) -> int:
        # Kept once worked out: formulas share big subexpressions; hashing one again walks it all.
        if not self.hashed:
            self.hashed = (
                hash(
                    (
                        self.fn,
                        self.args,
                    )
                )
                or 1
            )
        return self.hashed


Expr = Num | Name | Neg | Binary | Call


def children(e: Expr) -> tuple[Expr, ...]:
    """Return the direct subexpressions of `e`."""
    if isinstance(e, Binary):
        return (e.left, e.right)
    if isinstance(e, Neg):
        return (e.operand,)
    if isinstance(e, Call):
        return e.args
    if isinstance(e, Transpose):
        return (e.operand,)
    return ()


def walk(e: Expr) -> Iterator[Expr]:
    """Yield `e` and all its subexpressions, parents first, left to right."""
    stack = [e]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(children(node)))


def names_in(e: Expr) -> tuple[Name, ...]:
    """Return every name use in `e` in reading order (`walk`, written out: it runs per node)."""
    found: list[Name] = []
    stack = [e]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is Name:
            found.append(node)
        elif kind is Binary:
            stack.append(node.right)
            stack.append(node.left)
        elif kind is Neg:
            stack.append(node.operand)
        elif kind is Call:
            stack.extend(reversed(node.args))
        elif kind is Index:  # h1[2] in a constant, where no layer was expanded: a name's use
            found.append(node.name)
        elif kind is Transpose:
            stack.append(node.operand)
    return tuple(found)


@dataclass(frozen=True, slots=True)
class Samples:
    """`[v1, v2, …]`: one value per sample, for an input or a target."""

    items: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Draw:
    """`uniform(a, b)` or `normal(mean, sd)`: a param's initial value drawn at random."""

    dist: str
    args: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Declaration:
    """`param|input|target|const NAME = VALUE`: a constant expression, or for data samples."""

    kind: str
    name: str
    value: Expr | Samples | Draw
    span: Span  # the name
    keyword_span: Span


@dataclass(frozen=True, slots=True)
class Setting:
    """`set NAME = VALUE`."""

    name: str
    value: Expr
    span: Span  # the setting's name


@dataclass(frozen=True, slots=True)
class Assignment:
    """`[loss] NAME = EXPR`: one node of the graph."""

    name: str
    expr: Expr
    is_loss: bool
    span: Span  # the name


Statement = Declaration | Setting | Assignment


# -- layers: vectors and matrices, expanded into the statements above by layers.py -------------


@dataclass(slots=True, eq=True)
class Index:
    """`h1[2]` or `W1[2,1]`: one element of a vector or matrix, counted from 1."""

    name: Name
    indices: tuple[Num, ...]
    span: Span = field(default=NOWHERE, compare=False)


@dataclass(slots=True, eq=True)
class Transpose:
    """`W'`: a matrix's transpose (a vector's is the vector itself)."""

    operand: Expr
    span: Span = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, slots=True)
class Elements:
    """`[0.5, -1]` or `[[1, 2], [3, 4]]`: the values of a vector, or of a matrix row by row."""

    items: tuple[Expr | Elements, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class LayerDeclaration:
    """`param W1[3,2] = VALUE`: a declaration of a vector or matrix, one value per element."""

    kind: str
    name: str
    shape: tuple[int, ...]
    value: Expr | Elements | Draw
    span: Span  # the name
    keyword_span: Span


@dataclass(frozen=True, slots=True)
class Layer:
    """A vector or matrix as written, before its expansion into scalars: what a view groups.

    `kind` is a declaration's (param, input, target, const) or "node"; a node keeps its formula
    as written (`W1 @ x + b1`), its elements the statements z1[1], z1[2], ….
    """

    name: str
    kind: str
    shape: tuple[int, ...]
    expr: Expr | None  # a node's formula as written; None for a declaration
    span: Span  # the name
