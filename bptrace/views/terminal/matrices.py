"""Render a step's layers as vectors and matrices, with rich: the matrix view (views/matrices.py).

Each vector node shows its forward values and δ = ∂L/∂node beside them; a param read from a δ
shows its gradient as the outer product δ·vᵀ (or as δ itself, for a bias), each factor's numbers
beside it, then its update, all as the same numbers the scalar tables show. With samples each
vector is a matrix, one column per sample, and ∂L/∂W = (1/m)·Δ·Xᵀ. A vector or matrix larger than
BIG rows or columns is summarised (its shape, norm, least and greatest, a corner), unless --all.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.text import Text

from bptrace.engine.graph import Graph
from bptrace.engine.tracer import Step
from bptrace.language.printer import Notation, format_number, name_text, show
from bptrace.views.matrices import (
    Grid,
    MatrixStep,
    NodeView,
    ParamView,
    arrange,
    named_in,
    summary,
)
from bptrace.views.terminal.steps import Heading, View

Lines = list[str]
BIG = 8  # rows or columns beyond which a vector or matrix is summarised (--all: every cell)
CORNER = (4, 5)  # the rows and columns of a summarised one's top-left block


def render_matrices(graph: Graph, step: Step, view: View) -> RenderableType:
    """Return one step's layers as vectors and matrices."""
    m = arrange(graph, step)
    w = _Writer(view, graph, m)
    # The numbers are the scalar records' (views/matrices.py arranges them): nothing is computed.
    parts: list[RenderableType] = [Heading(f"Step {step.step}: layers{_samples(m)}")]
    if m.data:
        data = []
        for layer, g in m.data:
            data += [f"{w.name(layer.name)} =", w.block(g, of=layer.name), "  "]
        parts += [Text(""), _text(_beside(*data[:-1]))]
    for node in m.nodes:
        parts += w.node(node, m)
    for p in m.params:
        parts += [Text(""), Text(w.shapes(p.layer.name, (p.layer,)), style="bold")]
        parts += w.param(p, m)
    scalars = [w.name(p) for p in graph.params if "[" not in p]  # an element's name has one
    if scalars:
        parts += [
            Text(""),
            Text(f"Scalar params, in the tables (--view both): {', '.join(scalars)}"),
        ]
        parts[-1].stylize("dim")
    return Group(*parts, Text(""))


class _Writer:
    """Write vectors, matrices and their labels in the view's notation and precision."""

    def __init__(self, view: View, graph: Graph, m: MatrixStep) -> None:
        self.n: Notation = view.notation
        self.precision = view.precision
        self.whole = view.max_rows is None  # --all: every cell of a big vector or matrix
        self.only = view.block  # --block: one layer's rows and columns, whole
        self.samples, self.scale = m.samples, m.scale
        self.loss, self.layers = graph.loss, graph.layers
        self.optimizer = str(graph.settings["optimizer"])

    def name(self, name: str) -> str:
        return name_text(name, self.n)

    def delta(self, node: str) -> str:
        """Return δ of a node: δz₁ (delta_z1 in plain text); with samples, their matrix Δz₁."""
        if self.samples is not None:
            return f"Δ{self.name(node)}" if self.n.pretty else f"Delta_{self.name(node)}"
        return f"δ{self.name(node)}" if self.n.pretty else f"delta_{self.name(node)}"

    def mean(self) -> str:
        """Return where 1/m enters ∂L/∂W = (1/m)·Δ·Xᵀ: "1/4·" (mean), or nothing (sum)."""
        if self.samples is None or self.scale == 1.0:
            return ""
        return f"1/{self.samples}{self.n.times}"

    def reduced(self, what: str) -> str:
        """Return what a batch's gradient is of its samples': the mean of …, or the sum."""
        how = "sum" if self.scale == 1.0 else "mean"
        return f"the {how} of the {self.samples} samples' {what}"

    def grad(self, name: str) -> str:
        d = self.n.partial
        return f"{d}{self.name(self.loss)}/{d}{self.name(name)}"

    def transposed(self, name: str) -> str:
        return self.name(name) + ("ᵀ" if self.n.pretty else "'")

    def shapes(self, title: str, layers) -> str:
        """Return a heading: the formula, then each layer's shape (z₁: 3 · W₁: 3×2 …)."""
        by = " × " if self.n.pretty else "x"
        sizes = [f"{self.name(la.name)}: {by.join(map(str, la.shape))}" for la in layers]
        return f"{title}    ({', '.join(sizes)})"

    def block(self, g: Grid | tuple, row: bool = False, of: str = "", part: str = "") -> Lines:
        """Return a vector or matrix as bracketed lines, its columns right-aligned; `row`: it
        transposed (a vector laid out as a row, vᵀ; with samples, Xᵀ). A big one is summarised;
        one of layer `of` that --block names shows the block's rows and columns (`part`: "rows"
        or "columns" of the block for a δ or a vector beside it), whole."""
        values = g.values if isinstance(g, Grid) else g
        if self.only is not None and of == self.only.name:
            return self.cut(values, row, part)
        if row:
            values = tuple(zip(*values, strict=True))
        if not self.whole and (len(values) > BIG or len(values[0]) > BIG):
            return self.summarised(values)
        cells = [[format_number(v, self.precision, self.n) for v in r] for r in values]
        return self.bracketed(cells)

    def cut(self, values: tuple, row: bool, part: str) -> Lines:
        """Return the rows and columns of `values` that --block names, with where they lie."""
        b = self.only
        (r1, r2), columns = b.rows, b.columns
        if part == "columns":  # a vector beside W: its elements are W's columns
            (r1, r2), columns = columns or (1, len(values)), None
        if part != "rows" and columns is not None:
            values = tuple(r[columns[0] - 1 : columns[1]] for r in values)
        values = values[r1 - 1 : r2]
        if row:
            values = tuple(zip(*values, strict=True))
        cells = [[format_number(v, self.precision, self.n) for v in r] for r in values]
        if part:  # a δ or a vector beside the layer: the layer's own lines say which block
            if not self.whole and (len(values) > BIG or len(values[0]) > BIG):
                return self.summarised(values)  # its samples, many: a corner, as elsewhere
            return self.bracketed(cells)
        return [*self.bracketed(cells), f"{b.text()} (--block)"]

    def summarised(self, values: tuple) -> Lines:
        """Return a big vector or matrix's top-left corner, ⋯ and ⋮ for the rest, and under it
        its shape, Frobenius norm, least and greatest cell."""
        n, (rows, columns) = self.n, CORNER
        number = lambda v: format_number(v, self.precision, n)  # noqa: E731
        cells = [[number(v) for v in r[:columns]] for r in values[:rows]]
        wide, tall = len(values[0]) > columns, len(values) > rows
        across, down, corner = ("⋯", "⋮", "⋱") if n.pretty else ("...", ":", "")
        if wide:
            cells = [[*r, across] for r in cells]
        if tall:
            cells.append([down] * len(cells[0]))
            if wide:
                cells[-1][-1] = corner
        s = summary(Grid((), values))
        by = " × " if n.pretty else "x"
        norm = f"‖·‖ = {number(s.norm)}" if n.pretty else f"norm {number(s.norm)}"
        shape = f"{s.rows}{by}{s.columns}"
        caption = f"{shape}, {norm}, min {number(s.low)}, max {number(s.high)}"
        return [*self.bracketed(cells), caption]

    def bracketed(self, cells: list[list[str]]) -> Lines:
        widths = [max(cell_len(r[j]) for r in cells) for j in range(len(cells[0]))]
        lines = ["  ".join(c.rjust(wd) for c, wd in zip(r, widths, strict=True)) for r in cells]
        if not self.n.pretty or len(lines) == 1:
            return [f"[ {line} ]" for line in lines]
        edges = [("⎡", "⎤")] + [("⎢", "⎥")] * (len(lines) - 2) + [("⎣", "⎦")]
        return [f"{a} {line} {b}" for (a, b), line in zip(edges, lines, strict=True)]

    def node(self, node: NodeView, m: MatrixStep) -> list[RenderableType]:
        layer = node.layer
        named = named_in(layer, self.layers)
        title = f"{self.name(layer.name)} = {show(layer.expr, self.n)}"
        parts: list[RenderableType] = [Text(""), Text(self.shapes(title, named), style="bold")]
        delta = f"{self.delta(layer.name)} = {self.grad(layer.name)} ="
        if self.samples is not None:  # column j: sample j's loss, differentiated
            d = self.n.partial
            each = f"{d}{self.name(self.loss)}ⱼ/{d}{self.name(layer.name)}"
            if not self.n.pretty:
                each = f"{d}{self.name(self.loss)}_j/{d}{self.name(layer.name)}"
            delta = f"{self.delta(layer.name)} (column j: {each}) ="
        value = _beside(f"  {self.name(layer.name)} =", self.block(node.value, of=layer.name))
        deltas = _beside("    " + delta, self.block(node.delta, of=layer.name))
        parts.append(_Fit(_beside(value, deltas), value + deltas))
        for p in node.params:
            parts += self.param(p, m, node)
        return parts

    def param(self, p: ParamView, m: MatrixStep, node: NodeView | None = None) -> list:
        """Return ∂L/∂param, as δ·vᵀ or δ where the node says so, and its update."""
        name, n = p.layer.name, self.n
        parts: list[RenderableType] = []
        if p.outer is not None and node is not None:
            label = f"{self.grad(name)} = {self.mean()}{self.delta(node.layer.name)} {n.times} "
            label += self.transposed(p.outer.vector)
            what = "(an outer product)"
            if self.samples is not None:
                what = f"({self.reduced('outer products')})"
            parts.append(Text("  " + label + "   " + what))
            factors = [
                "=",
                self.block(node.delta, of=name, part="rows"),
                n.times,
                self.block(p.vector, row=True, of=name, part="columns"),
            ]
            if self.mean():
                factors.insert(1, f"1/{self.samples} {n.times}")
            parts.append(
                _Fit(
                    _beside("  ", self.block(p.grad, of=name), *factors),
                    _beside("  ", self.block(p.grad, of=name)) + _beside("  ", *factors),
                )
            )
        elif p.bias is not None and node is not None:
            label = f"  {self.grad(name)} = {self.delta(node.layer.name)} ="
            if self.samples is not None:
                how = "sum" if self.scale == 1.0 else "mean"
                label = (
                    f"  {self.grad(name)} = the {how} of {self.delta(node.layer.name)}'s columns ="
                )
            parts.append(_text(_beside(label, self.block(p.grad, of=name))))
        else:
            parts.append(_text(_beside(f"  {self.grad(name)} =", self.block(p.grad, of=name))))
        parts += self.update(p, m.lr)
        return parts

    def update(self, p: ParamView, lr: float) -> list[RenderableType]:
        """Return param ← param − α·∂L/∂param with its numbers (sgd), or before and after."""
        n, name, of = self.n, self.name(p.layer.name), p.layer.name
        before, after = self.block(p.before, of=of), ["=", self.block(p.after, of=of)]
        if self.optimizer != "sgd":  # its terms are in the scalar view's updates table
            line = f"  {name} {n.arrow} {name} after a {self.optimizer} step (--view scalar: terms)"
            after = ["→" if n.pretty else "->", self.block(p.after, of=of)]
            return [
                Text(line),
                _Fit(_beside("  ", before, *after), _beside("  ", before) + _beside("  ", *after)),
            ]
        alpha = f"{n.alpha} = {format_number(lr, self.precision, n)}"
        line = f"  {name} {n.arrow} {name} {n.minus} {n.alpha}{n.times}{self.grad(p.layer.name)}"
        times = f"{n.minus} {format_number(lr, self.precision, n)} {n.times}"
        step = [times, self.block(p.grad, of=of)]
        return [
            Text(f"{line}    ({alpha})"),
            _Fit(
                _beside("  ", before, *step, *after),
                _beside("  ", before) + _beside("  ", *step) + _beside("  ", *after),
            ),
        ]


def _samples(m: MatrixStep) -> str:
    """Return what a heading says of the samples: how many, one a column; a batch's numbers."""
    if m.samples is None:
        return ""
    if m.indices is None:
        return f", {m.samples} samples (column j: sample j)"
    numbers = [str(i + 1) for i in m.indices]
    if len(numbers) > 6:
        numbers = [*numbers[:3], "…", numbers[-1]]
    return f", a batch of {m.samples} samples (the columns: samples {', '.join(numbers)})"


@dataclass(frozen=True, slots=True)
class _Fit:
    """Lines laid out the first way that fits the width: side by side, else one under another."""

    wide: Lines
    narrow: Lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        fits = max(cell_len(line) for line in self.wide) <= options.max_width
        yield _text(self.wide if fits else self.narrow)


def _beside(*parts: str | Lines) -> Lines:
    """Return blocks of lines side by side, each centred on the tallest, a space between."""
    blocks = [[p] if isinstance(p, str) else p for p in parts]
    height = max(len(b) for b in blocks)
    out = [""] * height
    for k, b in enumerate(blocks):
        width = max(cell_len(line) for line in b)
        top = (height - len(b)) // 2
        for i in range(height):
            line = b[i - top] if 0 <= i - top < len(b) else ""
            out[i] += ("" if k == 0 else " ") + line + " " * (width - cell_len(line))
    return [line.rstrip() for line in out]


def _text(lines: Lines) -> Text:
    # A line wider than the terminal stays whole, for the terminal to fold: never a cut number.
    return Text("\n".join(lines), no_wrap=True, overflow="ignore")
