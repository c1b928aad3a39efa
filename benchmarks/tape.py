"""The floor: a straight-line tape over Python floats, the least a forward+backward pass can cost.

Each primitive operation is one entry of parallel lists (op code, operand slots); values and
adjoints are plain lists of floats. No per-node objects, no records: what bptrace records on top
of this is its own cost, which benchmarks/run.py measures against this.
"""

from __future__ import annotations

import math

from bptrace.engine.graph import Graph
from bptrace.language.syntax import Binary, Name, Neg, Num


def lower(graph: Graph) -> tuple[list[str], list[int], list[int], list[float], int]:
    """Return the graph as a tape: ops, operand slots a and b, leaves' values, the loss's slot."""
    ops, a, b, values, slot = [], [], [], [], {}
    for leaf in graph.leaves:
        slot[leaf.name] = len(values)
        ops.append("leaf"), a.append(-1), b.append(-1), values.append(float(leaf.value))

    def emit(e) -> int:
        if isinstance(e, Name):
            return slot[e.id]
        if isinstance(e, Num):
            ops.append("leaf"), a.append(-1), b.append(-1), values.append(float(e.value))
            return len(values) - 1
        if isinstance(e, Binary):
            i, j = emit(e.left), emit(e.right)
            op = e.op
        elif isinstance(e, Neg):
            i, j, op = emit(e.operand), -1, "neg"
        else:
            i, j, op = emit(e.args[0]), emit(e.args[1]) if len(e.args) > 1 else -1, e.fn
        ops.append(op), a.append(i), b.append(j), values.append(0.0)
        return len(values) - 1

    for node in graph.nodes:
        slot[node.name] = emit(node.expr)
    return ops, a, b, values, slot[graph.loss]


def forward_backward(ops, a, b, values, loss) -> list[float]:
    """Fill `values` in place and return every slot's adjoint ∂loss/∂slot."""
    v = values
    for k, op in enumerate(ops):
        if op == "leaf":
            continue
        x = v[a[k]]
        if op == "+":
            v[k] = x + v[b[k]]
        elif op == "-":
            v[k] = x - v[b[k]]
        elif op == "*":
            v[k] = x * v[b[k]]
        elif op == "/":
            v[k] = x / v[b[k]]
        elif op == "^":
            v[k] = x ** v[b[k]]
        elif op == "neg":
            v[k] = -x
        elif op == "relu":
            v[k] = x if x > 0 else 0.0
        elif op == "tanh":
            v[k] = math.tanh(x)
        elif op == "sigmoid":
            v[k] = 1 / (1 + math.exp(-x))
        elif op == "exp":
            v[k] = math.exp(x)
        elif op == "log":
            v[k] = math.log(x)
        elif op == "sqrt":
            v[k] = math.sqrt(x)
        elif op == "sin":
            v[k] = math.sin(x)
        elif op == "cos":
            v[k] = math.cos(x)
        elif op == "abs":
            v[k] = abs(x)
        elif op == "max":
            v[k] = max(x, v[b[k]])
        elif op == "min":
            v[k] = min(x, v[b[k]])
    g = [0.0] * len(v)
    g[loss] = 1.0
    for k in range(len(ops) - 1, -1, -1):
        op, d = ops[k], g[k]
        if op == "leaf" or d == 0.0:
            continue
        i, j, x = a[k], b[k], v[a[k]]
        if op == "+":
            g[i] += d
            g[j] += d
        elif op == "-":
            g[i] += d
            g[j] -= d
        elif op == "*":
            g[i] += d * v[j]
            g[j] += d * x
        elif op == "/":
            g[i] += d / v[j]
            g[j] -= d * x / v[j] ** 2
        elif op == "^":
            g[i] += d * v[j] * x ** (v[j] - 1)
            g[j] += d * v[k] * math.log(x) if x > 0 else 0.0
        elif op == "neg":
            g[i] -= d
        elif op == "relu":
            g[i] += d if x > 0 else 0.0
        elif op == "tanh":
            g[i] += d * (1 - v[k] ** 2)
        elif op == "sigmoid":
            g[i] += d * v[k] * (1 - v[k])
        elif op == "exp":
            g[i] += d * v[k]
        elif op == "log":
            g[i] += d / x
        elif op == "sqrt":
            g[i] += d / (2 * v[k])
        elif op == "sin":
            g[i] += d * math.cos(x)
        elif op == "cos":
            g[i] -= d * math.sin(x)
        elif op == "abs":
            g[i] += d * (1.0 if x > 0 else -1.0 if x < 0 else 0.0)
        elif op == "max":
            (g.__setitem__(i, g[i] + d) if x >= v[j] else g.__setitem__(j, g[j] + d))
        elif op == "min":
            (g.__setitem__(i, g[i] + d) if x <= v[j] else g.__setitem__(j, g[j] + d))
    return g
