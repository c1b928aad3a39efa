"""Write the step-through (stepthrough.py) as one self-contained HTML page: no server, no network.

The graph is SVG, placed by layout.py; the texts travel as one JSON object in a
<script type="application/json"> element, every `<` in it escaped, so no name or value can end the
script; present.js and present.css, beside this module, are inlined, and a Content-Security-Policy
lets the page load nothing at all, nor run any script but its own.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import unicodedata
from importlib.resources import files
from string import Template

from bptrace.engine.graph import Graph
from bptrace.views import layout
from bptrace.views.stepthrough import Look, edges, names
from bptrace.views.writers import Writer

FONT_SIZE = 15.0  # the graph's text, in SVG units (pixels at a scale of 1)
CHAR_WIDTH = 0.6 * FONT_SIZE  # a monospace font's advance
LINE = 19.0  # one line of a box
PAD = 5.0  # inside a box, around its lines
AFTER = {True: " → ", False: " -> "}  # a param's value, then after the update


def text_width(text: str) -> float:
    """Return the width of `text` in the graph's monospace font: wide characters count twice."""
    cells = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        cells += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return cells * CHAR_WIDTH


def box_lines(graph: Graph, data: dict, look: Look) -> dict[str, list[tuple[str, str, str]]]:
    """Return each box's lines as (label, role, longest text of that role over the steps)."""
    w = Writer(look.notation, look.precision)
    every = names(graph)
    kinds = {leaf.name: leaf.kind for leaf in graph.leaves}
    exprs = {node.name: node.expr for node in graph.nodes}
    steps = data["steps"]

    def longest(role: str, i: int) -> str:
        if role == "after":
            texts = [s["after"].get(i, "") for s in steps]
        else:
            texts = [s[role][i] for s in steps]
        return max(texts, key=text_width, default="")

    lines: dict[str, list[tuple[str, str, str]]] = {}
    gradient = lambda name: f"{w.partial(graph.loss, name)} = "  # noqa: E731
    arrow = AFTER[look.notation.pretty]
    for i, name in enumerate(every):
        if name in kinds:
            head = (f"{kinds[name]} {w.name(name)} = ", "values", longest("values", i))
            if kinds[name] == "param":  # w = 0.5 → 0.6839 once updated
                lines[name] = [
                    (head[0], "values", head[2] + arrow + longest("after", i)),
                    (gradient(name), "grads", longest("grads", i)),
                ]
            else:
                lines[name] = [head]
        else:
            loss = "loss " if name == graph.loss else ""
            lines[name] = [
                (f"{loss}{w.name(name)} = {w.expr(exprs[name])}", "", ""),
                ("value ", "values", longest("values", i)),
                (gradient(name), "grads", longest("grads", i)),
            ]
    return lines


def svg(graph: Graph, data: dict, look: Look) -> str:
    """Return the graph as SVG: a box per name, a curve per edge, the texts' places left empty for
    present.js to fill in at each step."""
    w = Writer(look.notation, look.precision)
    lines = box_lines(graph, data, look)
    sizes = {
        name: (
            2 * PAD + max(text_width(label + longest) for label, _, longest in box),
            2 * PAD + LINE * len(box),
        )
        for name, box in lines.items()
    }
    placed = layout.place(graph, sizes)
    ids = {name: i for i, name in enumerate(names(graph))}
    kinds = {leaf.name: leaf.kind for leaf in graph.leaves}
    arrow = html.escape(AFTER[look.notation.pretty])
    out = [
        f'<svg id="graph" viewBox="0 0 {placed.width:.0f} {placed.height:.0f}" '
        f'font-size="{FONT_SIZE:g}" role="group" aria-label="computational graph">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" '
        'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>',
    ]
    labels = []
    for e, (of, wrt) in enumerate(edges(graph)):
        (x0, y0), (x1, y1) = placed.boxes[wrt].right, placed.boxes[of].left
        bend = (x1 - x0) / 2
        mx, my = (x0 + x1) / 2, (y0 + y1) / 2  # the curve's middle, by symmetry
        out.append(
            f'<g class="edge" id="e{e}" data-edge="{e}">'
            f'<path d="M {x0:.1f} {y0:.1f} C {x0 + bend:.1f} {y0:.1f} {x1 - bend:.1f} {y1:.1f} '
            f'{x1:.1f} {y1:.1f}" marker-end="url(#arrow)"/></g>'
        )
        # drawn after the boxes, over any they cross
        labels.append(
            f'<text class="partial" id="p{e}" data-edge="{e}" x="{mx:.1f}" y="{my - 4:.1f}" '
            'text-anchor="middle"></text>'
        )
    for name, box in placed.boxes.items():
        i = ids[name]
        kind = kinds.get(name, "loss" if name == graph.loss else "node")
        # every box is reached with Tab (its formula with numbers shows); a param's is a button
        focusable = ' tabindex="0"' + (
            ' role="button" aria-pressed="false"' if kind == "param" else ""
        )
        out.append(
            f'<g class="box {kind}" id="n{i}" data-name="{i}" '
            f'data-label="{html.escape(w.name(name), quote=True)}"{focusable} '
            f'aria-label="{html.escape(lines[name][0][0].rstrip(" ="), quote=True)}">'
            f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" '
            f'height="{box.height:.1f}" rx="6"/>'
        )
        for k, (label, role, _) in enumerate(lines[name]):
            y = box.y + PAD + LINE * k + LINE * 0.75
            shown = f'<tspan class="{role}" id="{role[0]}{i}"></tspan>' if role else ""
            if kind == "param" and k == 0:  # the value after the update, shown once it is made
                shown += f'<tspan class="part">{arrow}<tspan id="a{i}"></tspan></tspan>'
            # a line hidden until its number is revealed: a node's value and every gradient
            cls = "head" if k == 0 else "part"
            out.append(
                f'<text class="{cls}" x="{box.x + PAD:.1f}" y="{y:.1f}"><tspan class="label">'
                f"{html.escape(label)}</tspan>{shown}</text>"
            )
        out.append("</g>")
    out += labels
    out.append("</svg>")
    return "\n".join(out)


def script_json(data: dict) -> str:
    """Return `data` as JSON to put inside a <script> element: every <, > and & escaped (\\u003c),
    so that no `</script>` or `<!--` in a name, a file name or a value can end it early."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _asset(name: str) -> str:
    return files("bptrace.views").joinpath(f"assets/{name}").read_text(encoding="utf-8")


def _hash(text: str) -> str:
    return (
        "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"
    )


# Nothing may be loaded from anywhere, and only the page's own script and style run.
CSP = (
    "default-src 'none'; script-src {script}; style-src {style}; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)


def page(graph: Graph, data: dict, look: Look) -> str:
    """Return the whole page: the graph, the controls, the data and the script that plays it."""
    script, style = _asset("present.js"), _asset("present.css")
    policy = CSP.format(script=_hash(script), style=_hash(style))
    title = html.escape(data["title"])
    return Template(_asset("present.html")).substitute(
        policy=policy,
        title=title,
        svg=svg(graph, data, look),
        data=script_json(data),
        script=script,
        style=style,
    )
