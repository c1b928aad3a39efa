"""Render the answers to the handout's five questions in the terminal, with rich."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.text import Text

from bptrace.engine.chains import MAX_LISTED_LENGTH, MAX_LISTED_PATHS
from bptrace.engine.explain import Explanation, ParamChain, conclusion, factors
from bptrace.engine.graph import Graph
from bptrace.language.printer import Notation, count_text, name_text, partial_text, show
from bptrace.views.terminal.steps import Heading, View, new_table, titled


def render_explain(graph: Graph, answers: Explanation, view: View, title: str) -> RenderableType:
    """Return the five answers, each under the handout's question."""
    n = view.notation
    loss = name_text(answers.loss, n)
    return Group(
        Heading(title),
        _question(1, "What is the dimension of the gradient (how many params are there)?"),
        _answer(f"{len(answers.params)}: one entry per param, {_gradient_vector(answers, n)}"),
        _question(2, "How many partial derivatives does backprop compute for the whole gradient?"),
        _answer(
            f"{len(answers.partials)}: one per edge on a path from {loss} to a param, "
            "each computed once and reused by every chain through it."
        ),
        titled(_partials_table(answers, view)),
        _question(
            f"3{n.dash}4",
            "What is each param's partial derivative, by the chain rule?",
        ),
        titled(_chains_table(answers, view)),
        _question(5, "Do earlier params (nearer the inputs) have longer or shorter chains?"),
        _answer(conclusion(answers, lambda p: name_text(p, n), n.dash)),
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
