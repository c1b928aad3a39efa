"""Shared helpers: load example networks, and central finite differences."""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

import numpy as np
import pytest
import typer.testing
from hypothesis import settings

from bptrace.engine.graph import Graph, build_graph
from bptrace.engine.tracer import batch, forward
from bptrace.language.parser import parse
from bptrace.views.latex import GREEK

# Hypothesis profiles, picked by the environment variable HYPOTHESIS_PROFILE:
#   ci   the default (README's test command, CI): 300 examples a property, as the suite always had;
#   dev  a tenth of that, for a quick local run: HYPOTHESIS_PROFILE=dev python -m pytest
# A property whose examples cost more (a whole network, a CLI run) asks for a share of the
# profile's count with `examples(share)`, and says why. No deadline: speed is for benchmarks.
settings.register_profile("ci", max_examples=300, deadline=None)
settings.register_profile("dev", max_examples=30, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# typer's CliRunner builds the app's click command from its signatures at every invoke: half the
# time of a short CLI test. The command is the same each time: build it once.
typer.testing._get_command = functools.cache(typer.testing._get_command)


def examples(share: float) -> int:
    """Return `share` of the loaded profile's examples per property (at least one)."""
    return max(1, round(settings.default.max_examples * share))


ROOT = Path(__file__).resolve().parent.parent
# Networks too large for the tests run on every example (finite differences, LaTeX, every path):
# tests/test_mnist_like.py checks networks/mnist_like.bp (1,210 params) on its own.
LARGE = ("mnist_like.bp",)
NETWORKS = sorted(p for p in (ROOT / "networks").glob("*.bp") if p.name not in LARGE)
# Layers with a square W on a hidden layer (W2 @ h), where a transpose can go missing.
SQUARE = """
input  x[2] = [1, 2]
target y[2] = [1, 0]
param W1[2,2] = [[0.1, 0.2],
                 [0.3, 0.4]]
param W2[2,2] = [[0.5, -0.6],
                 [0.7, 0.8]]
set lr = 0.1
h = W1 @ x
g = W2 @ h
loss L = 1/2*sum((y - g)^2)
"""


def load(text_or_path: str | Path) -> Graph:
    """Build a graph from .bp text, or from a file path."""
    text = text_or_path.read_text("utf-8") if isinstance(text_or_path, Path) else text_or_path
    return build_graph(parse(text))


def declared_params(graph: Graph) -> dict[str, float]:
    return graph.initial_params()


def loss_at(graph: Graph, params: dict[str, float]) -> float:
    values = forward(graph, {k: np.float64(v) for k, v in params.items()})  # unchecked
    return float(batch(graph, values[graph.loss]))  # the batch's loss: the mean over samples


def finite_difference(
    graph: Graph, params: dict[str, float], name: str, eps: float = 1e-6
) -> float:
    """Return the central difference (L(p + h) - L(p - h)) / 2h, h scaled to the param."""
    h = eps * max(1.0, abs(params[name]))
    up, down = dict(params), dict(params)
    up[name] += h
    down[name] -= h
    return (loss_at(graph, up) - loss_at(graph, down)) / (2 * h)


@pytest.fixture(params=NETWORKS, ids=[p.name for p in NETWORKS])
def network(request) -> Path:
    return request.param


# What bptrace's LaTeX may use: amsmath and the standard article class, nothing else.
LATEX_COMMANDS = {
    "documentclass",
    "usepackage",
    "renewcommand",
    "arraystretch",
    "endhead",
    "section",
    "subsection",
    "paragraph",
    "mbox",
    "hline",
    "hspace",
    "multicolumn",
    "textbackslash",
    "textasciitilde",
    "textasciicircum",
    "textless",
    "textgreater",
    "textbar",
    "infty",
    "alpha",
    "{",
    "}",
    "$",
    "frac",
    "partial",
    "cdot",
    "left",
    "right",
    "bigl",
    "bigr",
    "allowbreak",
    "nabla",
    "ldots",
    "cdots",
    "text",
    "quad",
    "begin",
    "end",
    "item",
    "sigma",
    "top",  # explain's matrix form: W^{\top}, a \odot b
    "odot",
    "tanh",
    "exp",
    "log",
    "sin",
    "cos",
    "max",
    "min",
    "sqrt",
    "lvert",
    "rvert",
    "operatorname",
    "times",
    "hat",
    "bar",
    "tilde",
    "dot",
    "mathit",
    "mathrm",
    "_",
    "%",
    "&",
    "#",
    *GREEK.values(),
}
LATEX_ENVIRONMENTS = {"enumerate", "align*", "document", "longtable"}


def assert_latex_compiles(text: str) -> None:
    """Check what a LaTeX run would trip over: braces, environments, commands, math delimiters."""
    body = "\n".join(line for line in text.splitlines() if not line.startswith("%"))
    depth = 0
    for i, ch in enumerate(body):
        if ch in "{}" and i and body[i - 1] == "\\":
            continue  # \{ and \} are characters
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0, f"'}}' without '{{' at {i}: {body[max(0, i - 40) : i + 1]}"
    assert depth == 0, "unbalanced braces"
    stack = []
    for kind, env in re.findall(r"\\(begin|end)\{([^}]*)\}", body):
        assert env in LATEX_ENVIRONMENTS, env
        if kind == "begin":
            stack.append(env)
        else:
            assert stack.pop() == env
    assert not stack
    commands = set(re.findall(r"\\([A-Za-z]+|[^A-Za-z\s])", body)) - {"\\"}
    assert commands <= LATEX_COMMANDS, commands - LATEX_COMMANDS
    assert body.count(r"\left") == body.count(r"\right")
    for line in body.splitlines():  # math opens and closes on the same line, cell by cell
        assert line.replace(r"\$", "").count("$") % 2 == 0, line
    assert "\u2013" not in body and all(ord(ch) < 128 for ch in body), "non-ASCII reaches LaTeX"
