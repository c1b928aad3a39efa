"""Check gradients against central finite differences, node by node, along the training trajectory.

Tolerances follow torch.autograd.gradcheck: a step h = EPS·max(1, |x|) scaled to the value, and
agreement when |analytic − numeric| ≤ ATOL + RTOL·|numeric| + the rounding error of the quotient
(8·machine epsilon·|f|/h). Where the slopes just left and right of x differ by a jump that does not
halve with h, a kink (relu, abs, max, min, step, sign) lies within h of x and no difference quotient
proves anything; likewise where f(x + h) − f(x − h) does not halve with h (a jump of sign or step at
x, or a step too wide for f: cos at 1e300). Such a comparison is marked unstable and does not fail
the check.
"""

from __future__ import annotations

import heapq
import math
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from bptrace.engine.evaluate import LOAD, Trace, cone, rerun, traced
from bptrace.engine.graph import Edge, Graph, Node
from bptrace.engine.lazy import numpy
from bptrace.engine.tracer import Step, batch, forward, quiet, trace

EPS = 1e-6
ATOL = 1e-5
RTOL = 1e-3


@dataclass(slots=True)
class Comparison:
    """One derivative, analytic beside numeric; `status` is ok, mismatch or unstable."""

    analytic: float
    numeric: float
    status: str

    @property
    def abs_error(self) -> float:
        return abs(self.analytic - self.numeric)

    @property
    def rel_error(self) -> float:
        return (
            self.abs_error / abs(self.numeric)
            if self.numeric
            else (0.0 if not self.analytic else float("inf"))
        )


@dataclass(slots=True)
class PartialCheck:
    """A local derivative ∂of/∂wrt checked on its own node."""

    edge: Edge
    result: Comparison


@dataclass(slots=True)
class GradCheck:
    """∂L/∂param checked on the whole network, and the first wrong local derivative on its paths."""

    param: str
    result: Comparison
    culprit: PartialCheck | None


@dataclass(slots=True)
class CheckStep:
    """Every check made at one step of the training trajectory."""

    step: int
    grads: tuple[GradCheck, ...]
    # every local derivative on a loss-to-param path, from the loss back
    partials: tuple[PartialCheck, ...]

    @property
    def ok(self) -> bool:
        return all(g.result.status != "mismatch" for g in self.grads) and all(
            p.result.status != "mismatch" for p in self.partials
        )


def check(graph: Graph, steps: int = 1, lr: float | None = None) -> Iterator[CheckStep]:
    """Yield the checks of each step, made at the params that step starts from."""
    for record in trace(graph, steps, lr, max_paths=1):
        if isinstance(record, Step):
            yield _check_step(graph, record)
            if record.step == steps:
                return  # the checks are done: the loss after the last update is not needed


def compare(analytic: float, f, x: float) -> Comparison:
    """Compare `analytic` with the central difference of f at x, with a step scaled to x."""
    h = EPS * max(1.0, abs(x))
    here = f(x)
    steps = (h, h / 2, h / 4)
    ups, downs = [f(x + s) for s in steps], [f(x - s) for s in steps]
    up, down = ups[0], downs[0]
    numeric = (up - down) / (2 * h)
    analytic = float(analytic)
    # Rounding in f itself limits what any difference quotient can tell apart.
    noise = 8 * sys.float_info.epsilon * max(abs(up), abs(here), abs(down), 1.0) / h
    if (
        not all(map(math.isfinite, (here, *ups, *downs)))
        or _kink(steps, ups, downs, here, noise)
        or _unsettled(ups, downs)
    ):
        return Comparison(analytic, float(numeric), "unstable")
    return Comparison(
        analytic, float(numeric), "ok" if _close(analytic, numeric, noise) else "mismatch"
    )


def _kink(steps, ups, downs, here: float, noise: float) -> bool:
    """Tell whether a kink lies within h of x, where no difference quotient can be trusted.

    On a smooth curve the slopes left and right of x differ by about f''·s, which halves when the
    step s does. A kink of relu, abs, max or min within s of x breaks that: at x itself the jump
    stays the same as s shrinks, and a little way off it vanishes once s no longer reaches it.
    Three steps (h, h/2, h/4) tell every kink position from curvature.
    """
    wide, narrow, narrower = ((u - here) / s - (here - d) / s for s, u, d in zip(steps, ups, downs))
    if _close(wide, 0.0, noise):
        return False
    return not _halves(wide, narrow, 2 * noise) or not _halves(narrow, narrower, 4 * noise)


def _unsettled(ups, downs) -> bool:
    """Tell whether the change f(x + s) − f(x − s) fails to halve with the step s, beyond rounding.

    On a smooth curve it does (it is about 2·f'·s). It does not across a jump (sign or step at x:
    the change stays 2 however small s is), nor where the step is far wider than anything f can
    resolve (cos at 1e300, whose step of 1e294 spans 1e293 periods): there the difference quotient
    measures nothing, and the comparison is unstable, not a failure.
    """
    changes = [u - d for u, d in zip(ups, downs)]
    rounding = 8 * sys.float_info.epsilon * max(*map(abs, ups), *map(abs, downs), 1.0)
    return any(
        abs(small - big / 2) > 0.25 * abs(big) + rounding
        for big, small in zip(changes, changes[1:])
    )


def _halves(big: float, small: float, noise: float) -> bool:
    return abs(small - big / 2) <= 0.25 * abs(big) + ATOL + noise


def _close(a: float, b: float, noise: float = 0.0) -> bool:
    return abs(a - b) <= ATOL + RTOL * abs(b) + noise


def _check_step(graph: Graph, record: Step) -> CheckStep:
    params = {u.param: u.before for u in record.updates}
    nodes = {node.name: node for node in graph.nodes}
    partials = []
    with quiet(graph):  # numpy's error state, with samples only: floats never warn
        local = _Locals(record.values)
        for p in record.partials:  # in the step's order: from the loss back, layer by layer
            partials.append(PartialCheck(p.edge, local.compare(nodes[p.of], p.wrt, p.value)))
        network = _Network(graph, params)
        grads = []
        for chain in record.chains:
            result = compare(chain.grad, network.loss(chain.param), float(params[chain.param]))
            grads.append(
                GradCheck(
                    chain.param,
                    result,
                    _culprit(graph, chain.param, partials) if result.status == "mismatch" else None,
                )
            )
    return CheckStep(record.step, tuple(grads), tuple(partials))


class _Locals:
    """Compare local partials with the difference quotients of their own nodes, other inputs fixed.

    Each difference quotient reruns only the part of the node that depends on the input moved (see
    evaluate.cone), from the node run once: for a sum of n operands that is log n operations, not n.
    """

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values
        # Once per step, not per partial: a node of 10,000 operands has 10,000 partials.
        # np.ndim and np.size, without loading numpy for floats
        self.scalars = all(getattr(v, "ndim", 0) == 0 for v in values.values())
        self.samples = max(getattr(v, "size", 1) for v in values.values())
        # The node last traced (and whether per sample) and its traces, one per sample: a node's
        # partials come one after another, so one node's are kept at a time.
        self.node: tuple[str, bool] | None = None
        self.traces: list[Trace] = []

    def compare(self, node: Node, wrt: str, analytic) -> Comparison:
        """Compare one local partial with its difference quotient.

        With samples, each sample is compared on its own; the worst comparison stands for all.
        """
        per_sample = not (getattr(analytic, "ndim", 0) == 0 and self.scalars)
        traces = self._traces(node, per_sample)
        if not per_sample:
            return _local_at(traces[0], wrt, analytic)
        each = numpy().broadcast_to(analytic, (self.samples,))
        found = [_local_at(t, wrt, each[i]) for i, t in enumerate(traces)]
        return max(found, key=lambda c: (_RANK[c.status], c.abs_error))

    def _traces(self, node: Node, per_sample: bool) -> list[Trace]:
        if (node.name, per_sample) != self.node:
            self.node, self.traces = None, []  # the previous node's go first: they may be big
            self.traces = [traced(node.program, env) for env in self._envs(node, per_sample)]
            self.node = (node.name, per_sample)
        return self.traces

    def _envs(self, node: Node, per_sample: bool) -> list[dict[str, Any]]:
        """Return the node's inputs, or each sample's (the names it loads only)."""
        names = {arg for kind, arg, _ in node.program if kind == LOAD}
        if not per_sample:
            return [{name: self.values[name] for name in names}]
        columns = {name: numpy().broadcast_to(self.values[name], (self.samples,)) for name in names}
        return [{name: column[i] for name, column in columns.items()} for i in range(self.samples)]


_RANK = {"ok": 0, "unstable": 1, "mismatch": 2}


def _local_at(trace: Trace, wrt: str, analytic) -> Comparison:
    """Compare one partial with the difference quotient of the traced node, rerunning wrt's cone."""
    moved = cone(trace, (wrt,))

    def node_value(x: float) -> float:
        return float(rerun(moved, {wrt: float(x)}))

    at = trace.values[trace.loads[wrt][0]]  # the value wrt was loaded with
    return compare(analytic, node_value, float(at))


class _Network:
    """The loss as a function of one param, the others fixed, for ∂L/∂param's difference quotient.

    The network runs forward once; each difference quotient then reruns only the nodes downstream
    of the param, and of each only the cone of its inputs that change (see evaluate.cone).
    """

    def __init__(self, graph: Graph, params: dict[str, Any]) -> None:
        self.graph = graph
        self.values = forward(graph, params)  # as each difference quotient ran it whole, before
        used = graph.used_by_loss()
        self.traces = {
            node.name: traced(node.program, self.values)
            for node in graph.nodes
            if node.name in used
        }
        # Who uses each name: a param's downstream nodes, without a pass over every node per param.
        self.users: dict[str, list[int]] = {}
        for i, node in enumerate(graph.nodes):
            if node.name in used:
                for e in node.edges:
                    self.users.setdefault(e.wrt, []).append(i)

    def loss(self, param: str):
        """Return the loss as a function of `param`'s value."""
        graph = self.graph
        cones = [
            (graph.nodes[i].name, cone(self.traces[graph.nodes[i].name], moved))
            for i, moved in self._downstream(param)
        ]

        def loss(x: float) -> float:
            changed = {param: float(x)}
            for name, c in cones:
                changed[name] = rerun(c, changed)
            return float(batch(graph, changed.get(graph.loss, self.values[graph.loss])))

        return loss

    def _downstream(self, param: str) -> list[tuple[int, list[str]]]:
        """Return the nodes (by index) that depend on `param` and lead to the loss, in source order,
        each with the names it uses that change with `param`."""
        moved: dict[int, list[str]] = {}
        waiting: list[int] = []  # a heap: a node's changing inputs all come before it

        def reach(name: str) -> None:
            for i in self.users.get(name, ()):
                if i not in moved:
                    moved[i] = []
                    heapq.heappush(waiting, i)
                moved[i].append(name)

        reach(param)
        order = []
        while waiting:
            i = heapq.heappop(waiting)
            order.append((i, moved[i]))
            reach(self.graph.nodes[i].name)
        return order


def _culprit(graph: Graph, param: str, partials: list[PartialCheck]) -> PartialCheck | None:
    """Return the first mismatched local partial, from the loss back, on a path to `param`."""
    reaches = graph.depends_on((param,))
    for p in partials:
        if p.result.status == "mismatch" and p.edge.wrt in reaches:
            return p
    return None
