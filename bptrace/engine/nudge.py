"""Nudge one param and compare the gradient's prediction of the loss change with the actual change.

The prediction ∂L/∂p·Δ is the first-order Taylor term; the actual change comes from running the
forward pass again. Their difference is about ½·∂²L/∂p²·Δ²: it shrinks a hundred times when Δ
shrinks ten times, which is what it means for the gradient to be the best linear prediction.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

from bptrace.engine.graph import Graph
from bptrace.engine.tracer import Step, batch, forward, quiet, trace
from bptrace.errors import BadArgument, NumericFault
from bptrace.language.printer import BP, Notation, format_number

SCALES = (10.0, 1.0, 0.1, 0.01)  # the asked Δ and its neighbours, to show how the error shrinks


@dataclass(frozen=True, slots=True)
class Nudge:
    """The loss after changing the param by `by`: predicted from the gradient, and actual."""

    by: float
    value: float  # the param after the nudge
    predicted: float  # ∂L/∂p·Δ
    actual: float  # L(p + Δ) − L(p)

    @property
    def error(self) -> float:
        return self.actual - self.predicted


@dataclass(frozen=True, slots=True)
class NudgeReport:
    """A param at one step of training, its gradient, and nudges of several sizes."""

    param: str
    step: int
    value: float
    loss: float
    grad: float
    by: float  # the nudge asked for
    nudges: tuple[Nudge, ...]  # Δ·10, Δ, Δ/10, Δ/100

    @property
    def asked(self) -> Nudge:
        return self.nudges[SCALES.index(1.0)]


def nudge(
    graph: Graph, param: str, by: float, step: int = 1, lr: float | None = None
) -> NudgeReport:
    """Return the nudges of `param` by Δ = `by` (and 10Δ, Δ/10, Δ/100) at step `step`'s params."""
    record = next(
        r for r in trace(graph, step, lr, max_paths=1) if isinstance(r, Step) and r.step == step
    )
    params = {u.param: u.before for u in record.updates}
    grad = next(u.grad for u in record.updates if u.param == param)  # the batch's, with samples
    value = params[param]
    if value + by == value:
        raise BadArgument(
            f"--by {by:g} leaves {param} = {value:g} unchanged: a float64 holds about 16 "
            "significant digits",
            f"try --by {suggested(value):g} (a thousandth of {param}, as the default 0.001 is of a "
            "param near 1)",
        )
    checked = graph.used_by_loss()
    nudges = []
    with quiet(graph):  # numpy's error state, with samples only: floats never warn
        for scale in SCALES:
            d = by * scale
            moved = params[param] + d
            try:
                if not math.isfinite(moved):
                    raise NumericFault(
                        step,
                        f"nudging {param} by {d:g}",
                        f"{param} + Δ = {moved} is not a finite number",
                    )
                loss = batch(
                    graph,
                    forward(graph, {**params, param: float(moved)}, checked, step)[graph.loss],
                )
            except NumericFault as fault:
                if scale == 1.0:  # the nudge asked for: say where it fails
                    raise NumericFault(
                        step,
                        f"with {param} nudged to {float(moved):g}, {fault.where}",
                        fault.detail,
                        fault.span,
                    ) from None
                loss = math.nan  # a neighbour the user did not ask for: shown as not finite
            nudges.append(Nudge(d, float(moved), float(grad * d), float(loss - record.loss)))
    return NudgeReport(
        param, step, float(params[param]), float(record.loss), float(grad), by, tuple(nudges)
    )


def suggested(value: float) -> float:
    """Return a nudge that shows a param's curve: the power of ten near a thousandth of it."""
    return 10.0 ** (math.floor(math.log10(max(1.0, abs(value)))) - 3)


def rounding(report: NudgeReport) -> float:
    """Return about how far rounding puts L(p + Δ) − L(p) off: a few float64 units of the losses."""
    return (
        4
        * sys.float_info.epsilon
        * max(
            [abs(report.loss)]
            + [abs(report.loss + n.actual) for n in report.nudges if math.isfinite(n.actual)]
        )
    )


def _rounding_only(report: NudgeReport, nudge: Nudge) -> bool:
    """Tell whether a nudge's error is within rounding (ten times it): no curve shows in it."""
    return abs(nudge.error) <= 10 * rounding(report)


def _all_rounding(report: NudgeReport) -> bool:
    return all(_rounding_only(report, n) for n in report.nudges if math.isfinite(n.error))


def _tiny(report: NudgeReport) -> bool:
    """Tell whether Δ is below 1e-4 of the param's scale, max(1, |p|): too small for a curve."""
    return abs(report.by) < 1e-4 * max(1.0, abs(report.value))


def too_small(report: NudgeReport) -> bool:
    """Tell whether the errors the verdict compares are rounding's, not the curve's.

    They are Δ/10's (Δ's being larger), or all of them with a Δ so small that no curve could show (a
    straight line's are rounding's at any Δ).
    """
    if not math.isfinite(report.asked.error):
        return False
    if _all_rounding(report):
        return _tiny(report)
    return _rounding_only(report, report.nudges[SCALES.index(1.0) + 1])


def exact(report: NudgeReport) -> bool:
    """Tell whether the prediction is exact up to rounding: all errors rounding's, Δ not tiny."""
    return math.isfinite(report.asked.error) and _all_rounding(report) and not _tiny(report)


def _shrinks(report: NudgeReport) -> float:
    """Return how many times smaller the error is with Δ/10 than with Δ."""
    asked, smaller = report.asked, report.nudges[SCALES.index(1.0) + 1]
    return abs(asked.error) / abs(smaller.error) if smaller.error else float("inf")


def smooth(report: NudgeReport) -> bool:
    """Tell whether the error shrinks like Δ², as where the loss is smooth (~100 times for Δ/10)."""
    return math.isfinite(report.asked.error) and 30 <= _shrinks(report) <= 300


def how_the_error_shrinks(
    report: NudgeReport, delta: str = "Δ", squared: str = "Δ²", notation: Notation = BP
) -> str:
    """Return what the errors of Δ and Δ/10 say: Δ², exact (linear), or else (a kink)."""
    asked = report.asked
    if not math.isfinite(asked.error):
        return (
            f"{delta} is too large: the prediction or the loss is not a finite number. Try a "
            "smaller --by."
        )
    if too_small(report):
        return (
            f"{delta} is too small to tell: the loss changes by only "
            f"{format_number(asked.actual, 3, notation)}, while rounding a "
            f"loss of {format_number(report.loss, 4, notation)} puts it off by about "
            f"{format_number(rounding(report), 1, notation)}, so the "
            "errors measure rounding, not the curve. Try a larger --by."
        )
    if report.grad == 0 and asked.actual == 0:
        return "The loss does not depend on this param here: nudging it changes nothing."
    if exact(report):
        return (
            "The loss changes linearly with this param here: the prediction is exact, up to "
            "rounding."
        )
    ratio = _shrinks(report)
    if smooth(report):
        return (
            f"With {delta} ten times smaller the error is {ratio:.0f} times smaller: it shrinks "
            f"like {squared}, "
            "so the gradient is the best straight-line prediction of the loss."
        )
    if 300 < ratio < float("inf"):
        return (
            f"With {delta} ten times smaller the error is {ratio:.3g} times smaller, more than the "
            "100 of a curve: "
            "the loss bends less than a parabola here (its second derivative is about 0), or "
            f"{delta} crosses a "
            f"kink that {delta}/10 does not."
        )
    return (
        f"With {delta} ten times smaller the error is {ratio:.3g} times smaller, not about 100: "
        "the loss is not smooth near this point (a kink of relu, abs, max or min?), or rounding "
        "dominates."
    )
