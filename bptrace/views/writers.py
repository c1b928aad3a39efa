"""Writers: how a table's cells are written, as Unicode (or ASCII) math or as LaTeX.

views/tables.py builds the rows; a Writer turns each name, formula, partial and number into text, in
the glyphs of its Notation, so the terminal, Markdown and LaTeX handouts share every row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bptrace.language.printer import (
    Notation,
    count_text,
    format_value,
    name_text,
    partial_text,
    show,
)
from bptrace.language.syntax import Expr
from bptrace.views import latex

# The slide glyphs of the sentences bptrace writes about math (a mistake's formulas, what a
# convention changes) and their spelling in .bp text, for --ascii.
PROSE_ASCII = str.maketrans(
    {
        "∂": "d",
        "·": "*",
        "−": "-",
        "½": "1/2",
        "²": "^2",
        "×": "x",
        "Σ": "sum",
        "α": "lr",
        "μ": "mu",
        "σ": "sigmoid",
        "ᵀ": "^T",
        "ᵢ": "_i",
        "′": "'",
        "₁": "1",
        "₂": "2",
        "←": "<-",
        "→": "->",
    }
)


def prose(text: str, notation: Notation) -> str:
    """Return a sentence about math in the glyphs of `notation`: as written, or in .bp text."""
    return text if notation.pretty else text.translate(PROSE_ASCII)


@dataclass(frozen=True, slots=True)
class Writer:
    """Write a cell's names, formulas, partials and numbers as text, in the glyphs of a Notation."""

    notation: Notation
    precision: int
    shown: tuple[int, ...] | None = None  # with samples: those shown as columns (numbered from 0)
    reduction: str = "mean"  # how the batch's gradient comes from the samples': mean or sum
    numbers: tuple[int, ...] | None = None  # with mini-batches: each position's sample, from 0

    def name(self, name: str) -> str:
        return name_text(name, self.notation)

    def prose(self, text: str) -> str:
        """Return a sentence about math (a mistake's formula, a ratio ×2) in this notation."""
        return prose(text, self.notation)

    def expr(self, e: Expr, value_of: Callable[[str], str] | None = None) -> str:
        return show(e, self.notation, value_of)

    def inline(self, name: str) -> str:
        """Return a name inside prose: $w_{1}$ in LaTeX."""
        return self.name(name)

    def partial(self, of: str, wrt: str) -> str:
        return partial_text(of, wrt, self.notation)

    def inline_partial(self, of: str, wrt: str) -> str:
        """Return ∂of/∂wrt inside prose: in $…$ in LaTeX."""
        return self.partial(of, wrt)

    def count(self, n: int) -> str:
        """Return a count of paths: exact, or past 24 digits its order of magnitude."""
        return count_text(n, self.notation)

    def number(self, v) -> str:
        """Return a number; an array (one value per sample) as a short list, [0, 1, 1, 0]."""
        return format_value(v, self.precision, self.notation)

    def loss_label(self, name: str) -> str:
        """Return the loss's name in a table's first column: loss L (LaTeX tables add the word)."""
        return f"loss {name}"

    def note(self, text: str) -> str:
        """Return prose inside a math cell."""
        return text

    def math(self, text: str) -> str:
        """Return math inside prose: in $…$ in LaTeX."""
        return text

    def scaled(self, factor: str, word: str) -> str:
        """Return math times a word of prose: α·gradient."""
        return f"{factor}{self.notation.times}{word}"

    @property
    def times(self) -> str:
        return f" {self.notation.times} "

    @property
    def implicit_times(self) -> str:
        """Return the product of a symbol and what follows it: β₁·m (LaTeX: a space)."""
        return self.notation.times

    @property
    def tight_times(self) -> str:
        """Return the product of two numbers without spaces: 0.001·(0.5) (LaTeX keeps them)."""
        return self.notation.times

    def paren(self, number: str) -> str:
        """Return a negative number in parentheses, as a factor."""
        return f"({number})" if number.startswith(("-", "−")) else number

    def update_title(self, lead: str, clauses: list[str], given: list[str]) -> str:
        """Return an update table's title: its formulas, then the settings they use."""
        return f"{lead}  {',  '.join(clauses)}   ({', '.join(given)})"

    def values(self, v) -> tuple[str, ...]:
        """Return a value's cells: one, or one per shown sample."""
        if self.shown is None:
            return (self.number(v),)
        import numpy as np

        a = np.asarray(v)
        return tuple(self.number(a[i] if a.ndim else a) for i in self.shown)

    def value_headers(self, header: str = "value") -> tuple[str, ...]:
        if self.shown is None:
            return (header,)
        return tuple(f"sample {(self.numbers[i] if self.numbers else i) + 1}" for i in self.shown)

    @property
    def one_sample(self) -> bool:
        """Tell whether a single set of values is shown, so numbers can be written into formulas."""
        return self.shown is None or len(self.shown) == 1

    def at(self, v):
        """Return the value a formula with numbers shows: the one shown sample's."""
        return v if self.shown is None or not _ndim(v) else v[self.shown[0]]


@dataclass(frozen=True, slots=True)
class TexWriter(Writer):
    """Write cells as LaTeX math, in the glyphs of latex.TEX (its `spelled`: look-alike names)."""

    def name(self, name: str) -> str:
        return latex.name(name, self.notation.spelled)

    def expr(self, e: Expr, value_of: Callable[[str], str] | None = None) -> str:
        return latex.formula(e, value_of, self.notation.spelled)

    def inline(self, name: str) -> str:
        return self.math(self.name(name))

    def partial(self, of: str, wrt: str) -> str:
        return latex.partial(of, wrt, self.notation.spelled)

    def inline_partial(self, of: str, wrt: str) -> str:
        return self.math(self.partial(of, wrt))

    def count(self, n: int) -> str:
        return latex.count(n)

    def number(self, v) -> str:
        if _ndim(v):
            import numpy as np

            items = [self.number(x) for x in np.asarray(v)[:6]]
            more = r", \ldots" if np.size(v) > 6 else ""
            return f"[{', '.join(items)}{more}]"
        return latex.number(format_value(v, self.precision, self.notation))

    def loss_label(self, name: str) -> str:
        return name

    def note(self, text: str) -> str:
        return rf"\text{{{text}}}"

    def math(self, text: str) -> str:
        return f"${text}$"

    def scaled(self, factor: str, word: str) -> str:
        return f"${factor} {self.notation.times}$ {word}"

    @property
    def implicit_times(self) -> str:
        return " "

    @property
    def tight_times(self) -> str:
        return self.times

    def paren(self, number: str) -> str:
        return rf"\left({number}\right)" if number.startswith("-") else number

    def update_title(self, lead: str, clauses: list[str], given: list[str]) -> str:
        return f"{lead}: {', '.join(clauses)}, with {', '.join(map(self.math, given))}"


def _ndim(v) -> int:
    """Return a value's dimensions: 0 for a number, 1 for samples (numpy loads only for these)."""
    if isinstance(v, (float, int)):
        return 0
    ndim = getattr(v, "ndim", None)
    if ndim is None:
        import numpy as np

        ndim = np.ndim(v)
    return ndim
