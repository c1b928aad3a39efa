"""Render the answers to the handout's five questions in the terminal, with rich."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.text import Text

from bptrace.engine.chains import MAX_LISTED_LENGTH, MAX_LISTED_PATHS
from bptrace.engine.explain import Explanation, ParamChain, conclusion, factors
from bptrace.engine.explain_layers import (
    Delta,
    Derivative,
    Grad,
    Hadamard,
    LayerAnswers,
    MatrixExpr,
    MatrixLine,
    Product,
    Ref,
    explain_layers,
)
from bptrace.engine.graph import Graph
from bptrace.language.printer import Notation, count_text, name_text, partial_text, show
from bptrace.language.syntax import Call, Name
from bptrace.views.terminal.steps import Heading, View, new_table, titled


def render_explain(graph: Graph, answers: Explanation, view: View, title: str) -> RenderableType:
    """Return the five answers, each under the handout's question."""
    n = view.notation
    loss = name_text(answers.loss, n)
    by = _by_layer(graph, answers, n)
    return Group(
        Heading(title),
        _question(1, "What is the dimension of the gradient (how many params are there)?"),
        _answer(f"{len(answers.params)}: one entry per param, {_gradient_vector(answers, n)}"),
        *by[0],
        _question(2, "How many partial derivatives does backprop compute for the whole gradient?"),
        _answer(
            f"{len(answers.partials)}: one per edge on a path from {loss} to a param, "
            "each computed once and reused by every chain through it."
        ),
        *by[1],
        titled(_partials_table(answers, view)),
        _question(
            f"3{n.dash}4",
            "What is each param's partial derivative, by the chain rule?",
        ),
        titled(_chains_table(answers, view)),
        *by[2],
        _question(5, "Do earlier params (nearer the inputs) have longer or shorter chains?"),
        _answer(conclusion(answers, lambda p: name_text(p, n), n.dash)),
        *by[3],
        Text(""),
    )


def _question(number: int | str, text: str) -> RenderableType:
    return Group(Text(""), Text(f"{number}. {text}", style="bold"))


def _answer(text: str) -> RenderableType:
    return Padding(Text(text), (0, 0, 0, 3))  # wrapped lines keep the indent


def _gradient_vector(answers: Explanation, n: Notation) -> str:
    entries = [
        partial_text(answers.loss, p, n) if p is not None else n.dots
        for p in answers.gradient_entries
    ]
    return f"{n.nabla}{name_text(answers.loss, n)} = ({', '.join(entries)})."


def _partials_table(answers: Explanation, view: View):
    n = view.notation
    table = new_table(
        f"The {len(answers.partials)} local partial derivatives, "
        f"backwards from {name_text(answers.loss, n)}",
        ("partial", "formula"),
    )
    for edge in view.pick(answers.partials):
        if edge is None:
            view.gap(table, answers.partials, 2)
            continue
        label = partial_text(edge.of, edge.wrt, n) + (
            " (direct)" if (edge.of, edge.wrt) in answers.direct else ""
        )
        table.add_row(label, show(edge.formula, n))
    return table


def _chains_table(answers: Explanation, view: View):
    n = view.notation
    table = new_table(
        "Chain rule: a product of local partials per path, summed over paths",
        ("gradient", "chain", "factors"),
        numeric_from=2,
    )
    for chain in view.pick(answers.written):
        if chain is None:
            view.gap(table, answers.written, 3, noun="params")
            continue
        _chain_rows(
            table,
            chain,
            answers.loss,
            n,
            answers.capped,
            None if view.max_rows is None else view.max_rows - 10,
        )
    return table


def _chain_rows(
    table,
    chain: ParamChain,
    loss: str,
    n: Notation,
    capped: bool = False,
    max_shown: int | None = None,
) -> None:
    label = f"{partial_text(loss, chain.param, n)} ="
    if chain.total == 0:
        table.add_row(label, Text("0: no path leads from the loss to it", style="dim"), "0")
        return
    if not chain.paths:
        paths = f"{count_text(chain.total, n)} path{'s' if chain.total > 1 else ''}"
        text = f"{paths} of more than {MAX_LISTED_LENGTH} factors: counted, not written"
        table.add_row(label, Text(text, style="dim"), factors(chain, n.dash))
        return
    # A table's worth, unless --all.
    shown = chain.paths if max_shown is None else chain.paths[:max_shown]
    for i, path in enumerate(shown):
        product = f" {n.times} ".join(partial_text(a, b, n) for a, b in zip(path, path[1:]))
        if len(path) == 2:
            # The edge itself: ∂L/∂w = ∂L/∂w would read as circular; beside other paths, a part.
            product += " (direct)"
        table.add_row(
            label if i == 0 else "", product if i == 0 else f"+ {product}", str(len(path) - 1)
        )
    if chain.total > len(shown):
        more = chain.total - len(shown)
        why = f"at most {MAX_LISTED_PATHS:,} are written" if capped else "--max-paths writes more"
        if len(shown) < len(chain.paths):
            why = f"--all writes the first {len(chain.paths):,}"
        table.add_row(
            "",
            Text(
                f"+ {n.dots} {count_text(more, n)} more path{'s' if more > 1 else ''} ({why})",
                style="dim",
            ),
            "",
        )
    if chain.total > 1:
        table.add_row(
            "",
            Text(f"sum over {count_text(chain.total, n)} paths", style="italic"),
            factors(chain, n.dash),
        )


# -- a network written with layers ---------------------------------------------------------------


def _by_layer(graph: Graph, answers: Explanation, n: Notation) -> list[list[RenderableType]]:
    """Return what each answer adds for a network with layers: nothing for one without."""
    if not graph.layers:
        return [[], [], [], []]
    by = explain_layers(graph, answers)
    return [
        [_answer(f"By layer: {_param_counts(by, n)}")],
        [_answer(f"By layer: {_partial_counts(by, n)}")],
        [
            _answer(
                "In matrix form, layer by layer back from the loss, where "
                f"{_delta_words(answers.loss, n)} of a layer z = W @ v + b:"
            ),
            *[_answer(f"  {_matrix_line(line, answers.loss, n)}") for line in by.lines],
        ],
        [_answer(f"By layer: {_chain_lengths(by, n)}")],
    ]


def _param_counts(by: LayerAnswers, n: Notation) -> str:
    """Return W₁: 3×2 = 6, b₁: 3, …: each layer's params, and their sum."""
    times = "×" if n.pretty else "x"
    parts = []
    for p in by.params:
        shape = times.join(map(str, p.shape))
        size = f"{shape} = {p.entries}" if len(p.shape) > 1 else str(p.entries)
        parts.append(f"{name_text(p.name, n)}: {size}")
    total = sum(p.entries for p in by.params)
    return f"{', '.join(parts)}; {' + '.join(str(p.entries) for p in by.params)} = {total}."


def _partial_counts(by: LayerAnswers, n: Notation) -> str:
    """Return ∂z₂/∂W₂: 3, …, grouped by the layer whose formula they differentiate."""
    totals: dict[str, int] = {}
    for g in by.partials:
        totals[g.of] = totals.get(g.of, 0) + g.count
    groups = []
    for of, total in totals.items():
        parts = [f"{partial_text(g.of, g.wrt, n)} {g.count}" for g in by.partials if g.of == of]
        groups.append(", ".join(parts) + (f" ({total})" if len(parts) > 1 else ""))
    sums = " + ".join(map(str, totals.values()))
    return f"{'; '.join(groups)}; {sums} = {sum(totals.values())}."


def _chain_lengths(by: LayerAnswers, n: Notation) -> str:
    """Return each param layer's factors per path, and which layer's chains are the longest."""
    reached = [p for p in by.params if p.longest]
    if not reached:
        return "no layer's params affect the loss."
    parts = []
    for p in reached:
        span = str(p.longest) if p.shortest == p.longest else f"{p.shortest}{n.dash}{p.longest}"
        parts.append(f"{name_text(p.name, n)} {span}")
    text = f"factors per path: {', '.join(parts)}."
    most, least = max(p.longest for p in reached), min(p.longest for p in reached)
    if most > least and reached[0].longest == most and reached[-1].longest == least:
        far = ", ".join(name_text(p.name, n) for p in reached if p.longest == most)
        near = ", ".join(name_text(p.name, n) for p in reached if p.longest == least)
        text += (
            f" The first layer's params ({far}) have the longest chains, the last layer's "
            f"({near}) the shortest: each layer between a param and the loss adds factors."
        )
    return text


def _delta_words(loss: str, n: Notation) -> str:
    return f"{_delta_mark('', n)} = {partial_text(loss, 'z', n)}"


def _delta_mark(mark: str, n: Notation) -> str:
    delta = "δ" if n.pretty else "delta"
    if not mark:
        return delta
    if mark.isdigit():
        return delta + (name_text(f"x{mark}", n)[1:] if n.pretty else mark)
    return f"{delta}_{name_text(mark, n)}"


def _matrix_line(line: MatrixLine, loss: str, n: Notation) -> str:
    left = _matrix(line.left, loss, n)
    stop = line.unrecognised
    if stop is None:
        return f"{left} = {_matrix(line.right, loss, n)}"
    why = (
        f"{name_text(stop.name, n)} = {show(stop.expr, n)} is not of a recognised pattern"
        if stop.expr is not None
        else f"{name_text(stop.name, n)} is not used in a recognised pattern"
    )
    if line.right is None:
        return f"{left}: {why} (z = W @ v + b, or f(z) elementwise); see the chains above."
    return f"{left} = {_matrix(line.right, loss, n)}, element by element: {why}."


def _matrix(e: MatrixExpr, loss: str, n: Notation, inner: bool = False) -> str:
    """Return a matrix expression: δ₁ xᵀ, (W₂ᵀ δ₂) ⊙ σ′(z₁)."""
    if isinstance(e, Ref):
        return name_text(e.name, n) + (("ᵀ" if n.pretty else "'") if e.transposed else "")
    if isinstance(e, Delta):
        return _delta_mark(e.mark, n)
    if isinstance(e, Grad):
        return partial_text(loss, e.name, n)
    if isinstance(e, Derivative):
        call = show(Call(e.fn, (Name(e.name),)), n)
        fn, paren, rest = call.partition("(")
        return f"{fn}{'′' if n.pretty else chr(39)}{paren}{rest}"
    if isinstance(e, Product):
        text = " ".join(_matrix(f, loss, n, True) for f in e.factors)
        return f"({text})" if inner else text
    if isinstance(e, Hadamard):
        dot = "⊙" if n.pretty else ".*"
        text = f"{_matrix(e.left, loss, n, True)} {dot} {_matrix(e.right, loss, n, True)}"
        return f"({text})" if inner else text
    text = " + ".join(_matrix(t, loss, n, True) for t in e.terms)
    return f"({text})" if inner else text
