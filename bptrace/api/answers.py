"""The answers the API returns besides a run's records, as frozen dataclasses: a network's
warnings, the explanation of its gradients (`bptrace explain`) and their check by finite
differences (`bptrace check`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NetworkWarning:
    """Something legal but probably unintended in a network, at its line and column."""

    message: str
    line: int
    col: int
    hint: str | None = None


@dataclass(frozen=True, slots=True)
class Partial:
    """A local partial ∂of/∂wrt and its formula."""

    of: str
    wrt: str
    formula: str


@dataclass(frozen=True, slots=True)
class Chain:
    """∂loss/∂param by the chain rule: its listed paths (loss first), every path counted, and the
    factors on its shortest and longest path."""

    param: str
    paths: tuple[tuple[str, ...], ...]
    paths_total: int
    shortest: int
    longest: int


@dataclass(frozen=True, slots=True)
class Explanation:
    """The five answers: ∇loss's entries (`params`), the local partials, each param's chain and
    its lengths, and which params have the longest chains (`conclusion`)."""

    loss: str
    params: tuple[str, ...]
    partials: tuple[Partial, ...]
    chains: tuple[Chain, ...]
    conclusion: str

    def _repr_html_(self) -> str:
        from bptrace.views.notebook import explanation_html

        return explanation_html(self)


@dataclass(frozen=True, slots=True)
class CheckedPartial:
    """A local partial ∂of/∂wrt at one step: by its formula (`analytic`) beside central finite
    differences (`numeric`); `status` is "ok", "mismatch" or "unstable" (a kink within h)."""

    of: str
    wrt: str
    formula: str
    analytic: float
    numeric: float
    status: str

    @classmethod
    def of_check(cls, checked) -> CheckedPartial:
        """Return the engine's check of a partial as this record."""
        from bptrace.language.printer import show

        edge, result = checked.edge, checked.result
        return cls(
            edge.of, edge.wrt, show(edge.formula), result.analytic, result.numeric, result.status
        )


@dataclass(frozen=True, slots=True)
class CheckedGrad:
    """∂loss/∂param at one step: by backprop (`analytic`) beside central finite differences
    (`numeric`), and on a mismatch the first wrong local partial on its paths (`culprit`)."""

    param: str
    analytic: float
    numeric: float
    status: str
    culprit: CheckedPartial | None


@dataclass(frozen=True, slots=True)
class CheckedStep:
    """Every check made at one step: each param's gradient and each local partial on a path from
    the loss to a param (from the loss back); `ok` when none is a mismatch."""

    step: int
    ok: bool
    grads: tuple[CheckedGrad, ...]
    partials: tuple[CheckedPartial, ...]

    @classmethod
    def of_check(cls, checked) -> CheckedStep:
        """Return the engine's checks of a step as this record."""
        grads = tuple(
            CheckedGrad(
                g.param,
                g.result.analytic,
                g.result.numeric,
                g.result.status,
                None if g.culprit is None else CheckedPartial.of_check(g.culprit),
            )
            for g in checked.grads
        )
        partials = tuple(map(CheckedPartial.of_check, checked.partials))
        return cls(checked.step, checked.ok, grads, partials)
