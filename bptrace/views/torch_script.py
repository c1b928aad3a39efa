"""Write a network as a standalone PyTorch script that trains it as bptrace does (export --torch).

The script builds the same scalar graph (params as float64 tensors that autograd follows, the
nodes' expressions, the loss and its reduction), trains it with the same optimiser on the same
batches, and prints each step's loss and every param's gradient as a JSON line. Where PyTorch's own
derivative differs from bptrace's convention (relu′(0), max's and min's tie) the script writes
the function with torch.where, whose gradient goes to the branch it picks: docs/torch.md.
"""

from __future__ import annotations

import json
import keyword
import unicodedata
from dataclasses import dataclass

from bptrace.engine.evaluate import constant
from bptrace.engine.graph import Graph
from bptrace.errors import NetworkError
from bptrace.language.syntax import Binary, Call, Expr, Name, Neg, Num, names_in
from bptrace.views.torch_optimizers import optimizer_code


@dataclass(frozen=True, slots=True)
class Export:
    """What the script runs: the steps, the learning rate, and each step's samples (None: all)."""

    steps: int
    lr: float
    rows: tuple[tuple[int, ...], ...] | None = None
    command: str = ""  # the command that wrote it, for the script's docstring


# Each function of the math table (engine/ops.py) as the script computes it, by convention value
# where its derivative has one. A function missing here is refused by name.
TORCH: dict[str, str] = {
    "sigmoid": "torch.sigmoid({0})",
    "logsigmoid": "torch.nn.functional.logsigmoid({0})",
    "tanh": "torch.tanh({0})",
    "exp": "torch.exp({0})",
    "log": "torch.log({0})",
    "sqrt": "torch.sqrt({0})",
    "sin": "torch.sin({0})",
    "cos": "torch.cos({0})",
    "abs": "torch.abs({0})",  # abs′(0) = sign(0) = 0 in both
    "sign": "torch.sign({0})",  # its derivative is 0 in both
    "logaddexp": "torch.logaddexp({0}, {1})",
    "step": "step({0})",
    "heaviside": "heaviside({0}, {1})",
    "relu": "relu({0})",
    "max": "maximum({0}, {1})",
    "min": "minimum({0}, {1})",
}

# The helpers the script defines for the functions above that need one, by convention value.
_HELPERS: dict[str, str] = {
    "step": '''
def step(u):
    """1 above 0, 0 elsewhere (0 at 0), as bptrace's step; its derivative is 0 everywhere."""
    return (u > 0).to(torch.float64)
''',
    "heaviside": '''
def heaviside(u, c):
    """0 below 0, c at 0, 1 above, as bptrace's: no gradient to u, and to c at u = 0 only."""
    u, c = torch.as_tensor(u, dtype=torch.float64), torch.as_tensor(c, dtype=torch.float64)
    return torch.where(u > 0, 1.0, torch.where(u < 0, 0.0, c))
''',
}

_RELU = {
    # torch.relu's derivative at 0 is 0, bptrace's default
    0.0: '''
def relu(u):
    """relu(u); relu′(0) = 0, as torch.relu's and bptrace's default."""
    return torch.relu(u)
''',
    "other": '''
def relu(u):
    """relu(u) with relu′(0) = {c!r} (`set relu_at_0`); torch.relu's is 0.

    torch.where sends the gradient to the branch it picks: u above 0 (slope 1), {c!r}·u at 0
    (slope {c!r}, value 0), and zeros below (slope 0).
    """
    return torch.where(u > 0, u, torch.where(u == 0, {c!r} * u, torch.zeros_like(u)))
''',
}

# max and min under each `set tie`: torch.maximum and torch.minimum split a tie's gradient in
# halves; torch.where(cond, a, b) gives the whole of it to a where cond holds, to b elsewhere.
_TIES = {
    "split": ("torch.maximum(a, b)", "torch.minimum(a, b)", "half to each, as torch's own"),
    "first": ("torch.where(a >= b, a, b)", "torch.where(a <= b, a, b)", "all to the first"),
    "last": ("torch.where(a > b, a, b)", "torch.where(a < b, a, b)", "all to the last"),
}


def torch_script(graph: Graph, export: Export, filename: str) -> str:
    """Return the PyTorch script training `graph` as bptrace's trace does."""
    used = graph.used_by_loss()
    nodes = [node for node in graph.nodes if node.name in used]
    ids = _identifiers([leaf.name for leaf in graph.leaves] + [node.name for node in nodes])
    calls = sorted({e.fn for node in nodes for e in _calls(node.expr)})
    for node in nodes:
        for e in _calls(node.expr):
            if e.fn not in TORCH:
                raise NetworkError(
                    f"{e.fn}() has no PyTorch counterpart the export knows: the script cannot "
                    "compute it",
                    e.span if e.span.line else node.span,
                    f"export a network without {e.fn}",
                )
    samples = graph.samples
    batched = [leaf for leaf in graph.leaves if isinstance(leaf.value, tuple)]
    out = [_header(graph, export, filename)]
    out += ["\n" + _helper(fn, graph) for fn in calls if _helper(fn, graph)]
    out.append("\n\n# params: float64 tensors whose gradients autograd computes\n")
    out += [
        f"{ids[leaf.name]} = param({leaf.value!r})\n"
        for leaf in graph.leaves
        if leaf.kind == "param"
    ]
    fixed = [leaf for leaf in graph.leaves if leaf.kind != "param" and leaf not in batched]
    if fixed:
        out.append("\n# inputs, targets and consts of one value\n")
        out += [f"{ids[leaf.name]} = number({leaf.value!r})\n" for leaf in fixed]
    if batched:
        out.append(f"\n# the samples: one value per sample ({samples} of them)\n")
        out.append("SAMPLES = {\n")
        for leaf in batched:
            out.append(f"    {ids[leaf.name]!r}: number({list(leaf.value)!r}),\n")
        out.append("}\n")
    args = ", ".join(ids[leaf.name] for leaf in batched)
    doc = "each sample's loss" if batched else "the loss"
    out.append(f'\n\ndef forward({args}):\n    """Return {doc}, the nodes in source order."""\n')
    for node in nodes:
        out += _assignments(ids[node.name], node.expr, ids, node.name)
    out.append(f"    return {ids[graph.loss]}\n")
    out.append(_params_dict(graph, ids))
    out.append(optimizer_code(graph, export.lr))
    out.append(_loop(graph, export, batched))
    return "".join(out)


def _header(graph: Graph, export: Export, filename: str) -> str:
    settings = graph.settings
    said = [f"optimizer {settings['optimizer']}", f"lr {export.lr!r}"]
    if graph.samples is not None:
        said.append(f"reduction {settings['reduction']}")
    filename, command = _in_docstring(filename), _in_docstring(export.command)
    return f'''#!/usr/bin/env python3
"""{filename}, as a PyTorch script: the same network, trained as bptrace trains it.

Written by `{command or "bptrace export --torch"}`.
It runs {export.steps} step(s) ({", ".join(said)}) and prints, for each, a JSON line: the
step, the loss and every param's gradient, as full-precision floats. It needs torch only;
docs/torch.md says how it matches bptrace's conventions where PyTorch's own differ.
"""

import json
import math

import torch


def param(value):
    """Return a trained param: a float64 tensor that autograd follows."""
    return torch.tensor(value, dtype=torch.float64, requires_grad=True)


def number(value):
    """Return data: a float64 tensor of one value, or of one value per sample."""
    return torch.tensor(value, dtype=torch.float64)
'''


def _in_docstring(text: str) -> str:
    """Return `text` as a docstring may hold it: backslashes, quotes and control characters
    escaped as JSON escapes them (a file name may hold \"\"\" or a line break)."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _helper(fn: str, graph: Graph) -> str:
    """Return the definition the script needs for `fn` under the graph's conventions, or ""."""
    if fn == "relu":
        c = float(graph.settings["relu_at_0"])
        return _RELU[0.0] if c == 0 else _RELU["other"].replace("{c!r}", repr(c))
    if fn in ("max", "min"):
        tie = str(graph.settings["tie"])
        formula = _TIES[tie][0 if fn == "max" else 1]
        word = "maximum" if fn == "max" else "minimum"
        return f'''
def {word}(a, b):
    """{fn}(a, b); on a tie (a = b) the gradient goes {_TIES[tie][2]} (`set tie = {tie}`)."""
    return {formula}
'''
    return _HELPERS.get(fn, "")


def _params_dict(graph: Graph, ids: dict[str, str]) -> str:
    pairs = "".join(f"    {name!r}: {ids[name]},\n" for name in graph.params)
    return f"\n\n# each param by its name in the .bp file\nPARAMS = {{\n{pairs}}}\n"


def _loop(graph: Graph, export: Export, batched: list) -> str:
    if not batched:
        reduce = "    loss = forward()\n"
        rows = ""
    else:
        batches = (
            "\n# the samples each step trains on, numbered from 0, as bptrace picks them\n"
            f"BATCHES = {[list(r) for r in export.rows]!r}\n"
            if export.rows is not None
            else f"\nBATCHES = [list(range({graph.samples}))] * {export.steps}  # all of them\n"
        )
        total = (
            "losses.sum() / len(rows)" if graph.settings["reduction"] == "mean" else "losses.sum()"
        )
        what = "mean" if graph.settings["reduction"] == "mean" else "sum"
        rows = batches
        reduce = (
            "    rows = BATCHES[k - 1]\n"
            "    batch = {name: values[rows] for name, values in SAMPLES.items()}\n"
            "    # a loss the samples do not change counts once for each\n"
            "    losses = torch.broadcast_to(forward(**batch), (len(rows),))\n"
            f"    loss = {total}  # the {what} over the batch's samples\n"
        )
    return f"""{rows}
for k in range(1, {export.steps} + 1):
    optimizer.zero_grad()
{reduce}    if loss.requires_grad:  # False for a network without params
        loss.backward()
    grads = {{
        name: p.grad.item() if p.grad is not None else 0.0 for name, p in PARAMS.items()
    }}
    print(json.dumps({{"step": k, "loss": loss.item(), "grads": grads}}))
    optimizer.step()
"""


# the precedence of each form: its text needs parentheses inside a form that binds tighter
_ATOM, _POWER, _NEG, _TIMES, _PLUS = 5, 4, 3, 2, 1
_BINARY = {"+": _PLUS, "-": _PLUS, "*": _TIMES, "/": _TIMES}


# Terms of a sum written on one line at most: Python's compiler nests a long sum a level a term,
# and stops at about 2,000 (a RecursionError). A longer sum is continued on the next lines.
TERMS_A_LINE = 500


def _assignments(target: str, e: Expr, ids: dict[str, str], name: str) -> list[str]:
    """Return the lines computing `e` into `target`: a long sum in lines of TERMS_A_LINE terms,
    added in the order written (((a + b) + c) + d as t = a + b + c, then t = t + d)."""
    spine, whole = [], e
    while isinstance(e, Binary) and e.op in "+-":
        spine.append(e)
        e = e.left
    if len(spine) <= TERMS_A_LINE:
        return [f"    {target} = {_expr(whole, ids)}  # {name}\n"]
    lines = [f"    {target} = {_wrapped(e, ids, _PLUS)}\n"]
    spine.reverse()
    for at in range(0, len(spine), TERMS_A_LINE):
        terms = "".join(
            f" {b.op} {_wrapped(b.right, ids, _PLUS + 1)}" for b in spine[at : at + TERMS_A_LINE]
        )
        lines.append(f"    {target} = {target}{terms}\n")
    lines[-1] = lines[-1][:-1] + f"  # {name}\n"
    return lines


def _expr(e: Expr, ids: dict[str, str]) -> str:
    """Return `e` as Python over torch tensors, evaluated in the order bptrace evaluates it."""
    return _form(e, ids)[0]


def _form(e: Expr, ids: dict[str, str]) -> tuple[str, int]:
    if isinstance(e, Num):
        value = constant(e.value)
        return (repr(value), _ATOM) if value >= 0 else (f"({value!r})", _ATOM)
    if isinstance(e, Name):
        return ids[e.id], _ATOM
    if isinstance(e, Neg):
        return f"-{_wrapped(e.operand, ids, _NEG)}", _NEG
    if isinstance(e, Binary):
        if e.op == "^":
            # x^2 is x·x in bptrace, as torch's pow of 2.0 computes it
            left, right = _wrapped(e.left, ids, _ATOM), _wrapped(e.right, ids, _ATOM)
            return f"{left} ** {right}", _POWER
        level = _BINARY[e.op]
        # left to right as written: a - (b - c) and a + (b + c) keep their parentheses
        left, right = _wrapped(e.left, ids, level), _wrapped(e.right, ids, level + 1)
        return f"{left} {e.op} {right}", level
    if isinstance(e, Call):
        args = [_form(a, ids)[0] for a in e.args]
        # torch's functions take tensors: a number, or an expression of numbers, becomes one
        args = [a if names_in(arg) else f"number({a})" for a, arg in zip(args, e.args)]
        return TORCH[e.fn].format(*args), _ATOM
    raise TypeError(f"cannot export {type(e).__name__}")  # pragma: no cover - no other nodes


def _wrapped(e: Expr, ids: dict[str, str], least: int) -> str:
    text, level = _form(e, ids)
    return text if level >= least else f"({text})"


def _calls(e: Expr):
    """Yield every call in `e`."""
    stack = [e]
    while stack:
        node = stack.pop()
        if isinstance(node, Call):
            yield node
            stack.extend(node.args)
        elif isinstance(node, Binary):
            stack.extend((node.left, node.right))
        elif isinstance(node, Neg):
            stack.append(node.operand)


# names the script itself defines or imports: a network's name never takes one
_TAKEN = frozenset(
    {"json", "torch", "param", "number", "forward", "step", "heaviside", "relu", "maximum"}
    | {"minimum", "PARAMS", "SAMPLES", "BATCHES", "optimizer", "loss", "losses", "grads", "rows"}
    | {"batch", "name", "values", "p", "k", "Adam", "Sutskever", "NoParams", "math"}
    | {"print", "list", "range", "len", "dict", "float", "enumerate"}
)


def _identifiers(names: list[str]) -> dict[str, str]:
    """Return a distinct ASCII Python identifier for each name: W1[1,2] → W1_1_2, σ → u3c3."""
    ids: dict[str, str] = {}
    taken = set(_TAKEN)
    for name in names:
        text = "".join(_spelled(ch) for ch in unicodedata.normalize("NFC", name))
        text = text.replace("[", "_").replace("]", "").replace(",", "_")
        if not text or text[0].isdigit():
            text = "_" + text
        while keyword.iskeyword(text) or text in taken:
            text += "_"
        taken.add(text)
        ids[name] = text
    return ids


def _spelled(ch: str) -> str:
    """Return a character of a name as ASCII identifier text."""
    if ch.isascii() and (ch.isalnum() or ch in "_[],"):
        return ch
    return f"u{ord(ch):x}"
