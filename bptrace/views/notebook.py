"""HTML for notebooks (Jupyter's _repr_html_): a step's record, the explanation, the graph as SVG.

A step is written from its JSON record (jsonl.py) and the trace's begin record, so a notebook shows
the numbers the JSON trace holds; the graph is the SVG `bptrace present` draws (page.py), its
texts filled in with one step's numbers. Every name and text is escaped: a name may hold `<` or `&`.
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Iterable, Mapping
from typing import Any

from bptrace.engine.graph import Graph
from bptrace.engine.tracer import Step

DIGITS = 6  # significant digits shown; the records keep full precision
SAMPLES_SHOWN = 4  # of a value per sample, the first few, then …

# Scoped to the wrapper, so that a notebook's other outputs keep their look.
_STYLE = (
    "<style>"
    ".bptrace-graph svg{{max-width:100%;font-family:monospace}}"
    ".bptrace-graph .edge path{{fill:none;stroke:#8c8c8c;stroke-width:1.4}}"
    ".bptrace-graph marker path{{fill:#8c8c8c}}"
    ".bptrace-graph .partial{{font-size:13px;paint-order:stroke;stroke:#fff;stroke-width:4px}}"
    ".bptrace-graph .box rect{{fill:#fff;stroke:#555;stroke-width:1.2}}"
    ".bptrace-graph .box.param rect{{fill:#fff2cc}}"
    ".bptrace-graph .box.loss rect{{stroke-width:3}}"
    ".bptrace-graph .head .label{{font-weight:bold}}"
    "</style>"
)


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def number(value: Any) -> str:
    """Return a number as a notebook shows it: DIGITS significant digits; per sample, the first
    few; "NaN" and "Infinity" as the JSON trace writes them."""
    if isinstance(value, list):
        shown = ", ".join(number(v) for v in value[:SAMPLES_SHOWN])
        return f"[{shown}{', …' if len(value) > SAMPLES_SHOWN else ''}]"
    if isinstance(value, float):
        return f"{value:.{DIGITS}g}"
    return str(value)


def table(caption: str, headers: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    """Return an HTML table, every cell escaped."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    title = f'<caption style="text-align:left;font-weight:bold">{_e(caption)}</caption>'
    return f"<table>{title}<tr>{head}</tr>{body}</table>"


def step_html(record: Mapping[str, Any], begin: Mapping[str, Any]) -> str:
    """Return a step's record as HTML: the loss, then the forward, partials, chains and updates."""
    loss = begin["loss"]
    exprs = {node["name"]: node for node in begin["nodes"]}
    paths = {c["param"]: c["paths"] for c in begin["chains"]}
    parts = [
        f'<div class="bptrace-step"><p><b>{_e(begin["network"])}, step {record["step"]}</b>: '
        f"{_e(loss)} = {_e(number(record['loss']))}</p>",
        table(
            "forward",
            ("node", "expression", "value"),
            ((n, exprs[n]["expr"], number(v)) for n, v in record["forward"].items()),
        ),
        table(
            "partials",
            ("partial", "formula", "value"),
            (
                (f"∂{of}/∂{wrt}", exprs[of]["partials"][wrt], number(v))
                for of, wrts in record["partials"].items()
                for wrt, v in wrts.items()
            ),
        ),
        table(
            "chains",
            ("gradient", "path", "product"),
            (
                (f"∂{loss}/∂{c['param']}" if i == 0 else "", " → ".join(path), number(product))
                for c in record["chains"]
                for i, (path, product) in enumerate(zip(paths[c["param"]], c["paths"]))
            ),
        ),
        table(
            "updates",
            ("param", "before", f"∂{loss}/∂param", "lr", "after"),
            (
                (u["param"], *(number(u[k]) for k in ("before", "grad", "lr", "after")))
                for u in record["updates"]
            ),
        ),
        "</div>",
    ]
    return "".join(parts)


def explanation_html(answers: Any) -> str:
    """Return the five answers as HTML (answers: the API's Explanation)."""
    loss = answers.loss
    n = len(answers.params)
    chains = [c for c in answers.chains if c.paths]
    return "".join(
        [
            '<div class="bptrace-explain"><ol>',
            f"<li>∇{_e(loss)} has {n} entr{'y' if n == 1 else 'ies'}, one per param: "
            f"{_e(', '.join(answers.params))}.</li>",
            "<li>"
            + table(
                "local partials, from the loss backwards",
                ("partial", "formula"),
                ((f"∂{p.of}/∂{p.wrt}", p.formula) for p in answers.partials),
            )
            + "</li>",
            "<li>"
            + table(
                "the chain rule, a product per path",
                ("gradient", "path"),
                (
                    (f"∂{loss}/∂{c.param}" if i == 0 else "", " → ".join(path))
                    for c in chains
                    for i, path in enumerate(c.paths)
                ),
            )
            + "</li>",
            "<li>"
            + table(
                "factors per path",
                ("param", "paths", "shortest", "longest"),
                ((c.param, c.paths_total, c.shortest, c.longest) for c in answers.chains),
            )
            + "</li>",
            f"<li>{_e(answers.conclusion)}</li>",
            "</ol></div>",
        ]
    )


def trace_html(begin: Mapping[str, Any], losses: list[Any], end: Mapping[str, Any]) -> str:
    """Return a run as HTML: the loss at each step, then the final loss and params."""
    loss = begin["loss"]
    rows = [(k, number(v)) for k, v in enumerate(losses, 1)]
    final = end["final_loss"]
    params = ", ".join(f"{p} = {number(v)}" for p, v in end["params"].items())
    return (
        f'<div class="bptrace-trace"><p><b>{_e(begin["network"])}</b>, {len(losses)} '
        f"step{'s' if len(losses) != 1 else ''}</p>"
        + table("the loss at each step", ("step", loss), rows)
        + f"<p>after the last update: {_e(loss)} = {_e(number(final))}; {_e(params)}</p></div>"
    )


MAX_NAMES = 200  # as `bptrace present`: past this many boxes no drawing is legible
_ids = itertools.count(1)


def graph_html(graph: Graph, title: str, step: Step | None) -> str:
    """Return the graph as SVG in HTML, each box filled in with `step`'s numbers (None: none)."""
    from bptrace.views.page import svg
    from bptrace.views.stepthrough import Look, step_data

    drawn = len(graph.leaves) + len(graph.nodes)
    if drawn > MAX_NAMES:
        return (
            f"<p><b>{_e(title)}</b>: {drawn:,} inputs, params and nodes, too many to draw legibly "
            f"(at most {MAX_NAMES}); run it and look at the steps.</p>"
        )
    look = Look()
    shown = [step_data(graph, step, look)] if step is not None else []
    drawing = svg(graph, {"steps": shown}, look)
    # Several drawings share a notebook's page: each its own ids, so each arrow finds its marker.
    own = f"bptrace{next(_ids)}-"
    drawing = drawing.replace(' id="', f' id="{own}').replace("url(#", f"url(#{own}")
    # no script runs here: a box is no button to press, nor a stop for the Tab key
    drawing = drawing.replace(' tabindex="0"', "").replace(
        ' role="button" aria-pressed="false"', ""
    )
    if shown:
        data = shown[0]
        texts = {
            f"{role[0]}{i}": t for role in ("values", "grads") for i, t in enumerate(data[role])
        }
        texts |= {f"a{i}": t for i, t in data["after"].items()}
        texts |= {f"p{e}": p["value"] for e, p in data["partials"].items()}
        # each empty place the page's script would fill: <tspan id="v3"></tspan>, <text id="p0" …>
        place = re.compile(rf'(id="{own}([vgap]\d+)"[^>]*>)(?=</t)')
        drawing = place.sub(lambda m: m[1] + _e(texts.get(m[2], "")), drawing)
    when = f", step {step.step}" if step is not None else ""
    caption = f"<p><b>{_e(title)}</b>{_e(when)}</p>"
    return f'<div class="bptrace-graph">{_STYLE.format()}{caption}{drawing}</div>'
