"""Check gradients against central finite differences, node by node, along the training trajectory.

Tolerances follow torch.autograd.gradcheck: a step h = EPS·max(1, |x|) scaled to the value, and
agreement when |analytic − numeric| ≤ ATOL + RTOL·|numeric|. Where the one-sided slopes
(f(x+h) − f(x))/h and (f(x) − f(x−h))/h disagree by that same rule, x sits on a kink (relu, abs,
max, min, step, sign) or near a pole, and no difference quotient proves anything: such a
comparison is marked unstable and does not fail the check.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from bptrace.evaluate import run
from bptrace.graph import Edge, Graph
from bptrace.tracer import Step, forward, trace

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
        return self.abs_error / abs(self.numeric) if self.numeric else (0.0 if not self.analytic else float("inf"))


@dataclass(slots=True)
class PartialCheck:
    """A local derivative ∂of/∂wrt checked on its own node."""

    edge: Edge
    result: Comparison


@dataclass(slots=True)
class GradCheck:
    """∂L/∂param checked on the whole network, with the first wrong local derivative on its paths."""

    param: str
    result: Comparison
    culprit: PartialCheck | None


@dataclass(slots=True)
class CheckStep:
    """Every check made at one step of the training trajectory."""

    step: int
    grads: tuple[GradCheck, ...]
    partials: tuple[PartialCheck, ...]  # every local derivative on a loss-to-param path, from the loss back

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


def compare(analytic: float, f, x: float) -> Comparison:
    """Compare `analytic` with the central difference of f at x, with a step scaled to x."""
    h = EPS * max(1.0, abs(x))
    up, here, down = f(x + h), f(x), f(x - h)
    numeric = (up - down) / (2 * h)
    analytic = float(analytic)
    # At a kink the slopes on either side differ (relu at 0: 1 and 0), and no difference proves anything.
    right, left = (up - here) / h, (here - down) / h
    if not (np.isfinite(right) and np.isfinite(left)) or not _close(right, left):
        return Comparison(analytic, float(numeric), "unstable")
    return Comparison(analytic, float(numeric), "ok" if _close(analytic, numeric) else "mismatch")


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= ATOL + RTOL * abs(b)


def _check_step(graph: Graph, record: Step) -> CheckStep:
    params = {u.param: u.before for u in record.updates}
    shown = {(p.of, p.wrt): p for p in record.partials}
    partials = []
    with np.errstate(all="ignore"):
        for node in reversed(graph.nodes):
            for edge in node.edges:
                if (edge.of, edge.wrt) in shown:
                    partials.append(PartialCheck(edge, _local(node.program, edge.wrt, record.values, shown[(edge.of, edge.wrt)].value)))
        grads = []
        for chain in record.chains:
            def loss(x: float, name: str = chain.param) -> float:
                return float(forward(graph, {**params, name: np.float64(x)})[graph.loss])

            result = compare(chain.grad, loss, float(params[chain.param]))
            grads.append(GradCheck(chain.param, result, _culprit(graph, chain.param, partials) if result.status == "mismatch" else None))
    return CheckStep(record.step, tuple(grads), tuple(partials))


def _local(program, wrt: str, values: dict[str, Any], analytic) -> Comparison:
    """Compare one local partial with the difference quotient of its own node, other inputs fixed."""

    def node_value(x: float) -> float:
        return float(run(program, {**values, wrt: np.float64(x)}))

    return compare(analytic, node_value, float(values[wrt]))


def _culprit(graph: Graph, param: str, partials: list[PartialCheck]) -> PartialCheck | None:
    """Return the first mismatched local partial, from the loss backwards, that lies on a path to `param`."""
    reaches = {param}
    for node in graph.nodes:
        if any(e.wrt in reaches for e in node.edges):
            reaches.add(node.name)
    for p in partials:
        if p.result.status == "mismatch" and p.edge.wrt in reaches:
            return p
    return None
