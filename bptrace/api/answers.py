"""The answers the API returns besides a run's records, as frozen dataclasses: the explanation of
a network's gradients (`bptrace explain`)."""

from __future__ import annotations

from dataclasses import dataclass


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
