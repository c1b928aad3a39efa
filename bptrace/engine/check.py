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

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from bptrace.engine.evaluate import run
from bptrace.engine.graph import Edge, Graph
from bptrace.engine.tracer import Step, batch, forward, trace

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
    """∂L/∂param checked on the whole network, with the first wrong local derivative on its paths."""

    param: str
    result: Comparison
    culprit: PartialCheck | None


@dataclass(slots=True)
class CheckStep:
    """Every check made at one step of the training trajectory."""

    step: int
    grads: tuple[GradCheck, ...]
    partials: tuple[
        PartialCheck, ...
    ]  # every local derivative on a loss-to-param path, from the loss back

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
    noise = 8 * np.finfo(float).eps * max(abs(up), abs(here), abs(down), 1.0) / h
    if (
        not np.all(np.isfinite([here, *ups, *downs]))
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
    rounding = 8 * np.finfo(float).eps * max(*map(abs, ups), *map(abs, downs), 1.0)
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
    with np.errstate(all="ignore"):
        for p in record.partials:  # in the step's order: from the loss back, layer by layer
            partials.append(
                PartialCheck(p.edge, _local(nodes[p.of].program, p.wrt, record.values, p.value))
            )
        grads = []
        for chain in record.chains:

            def loss(x: float, name: str = chain.param) -> float:
                return float(batch(graph, forward(graph, {**params, name: float(x)})[graph.loss]))

            result = compare(chain.grad, loss, float(params[chain.param]))
            grads.append(
                GradCheck(
                    chain.param,
                    result,
                    _culprit(graph, chain.param, partials) if result.status == "mismatch" else None,
                )
            )
    return CheckStep(record.step, tuple(grads), tuple(partials))


def _local(program, wrt: str, values: dict[str, Any], analytic) -> Comparison:
    """Compare one local partial with the difference quotient of its own node, other inputs fixed.

    With samples, each sample is compared on its own; the worst comparison stands for all.
    """
    if np.ndim(analytic) == 0 and all(np.ndim(v) == 0 for v in values.values()):
        return _local_at(program, wrt, values, analytic)
    samples = max(np.size(v) for v in values.values())
    found = [
        _local_at(
            program,
            wrt,
            {k: np.broadcast_to(v, (samples,))[i] for k, v in values.items()},
            np.broadcast_to(analytic, (samples,))[i],
        )
        for i in range(samples)
    ]
    return max(found, key=lambda c: (_RANK[c.status], c.abs_error))


_RANK = {"ok": 0, "unstable": 1, "mismatch": 2}


def _local_at(program, wrt: str, values: dict[str, Any], analytic) -> Comparison:
    def node_value(x: float) -> float:
        return float(run(program, {**values, wrt: float(x)}))

    return compare(analytic, node_value, float(values[wrt]))


def _culprit(graph: Graph, param: str, partials: list[PartialCheck]) -> PartialCheck | None:
    """Return the first mismatched local partial, from the loss backwards, that lies on a path to `param`."""
    reaches = graph.depends_on((param,))
    for p in partials:
        if p.result.status == "mismatch" and p.edge.wrt in reaches:
            return p
    return None
