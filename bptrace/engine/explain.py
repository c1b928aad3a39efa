"""Answer the handout's five questions for any network, symbolically: only the chain rule."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bptrace.engine.chains import ChainFinder, direct_edges, distances, edges_on_paths, longest
from bptrace.engine.graph import Edge, Graph


@dataclass(frozen=True, slots=True)
class ParamChain:
    """∂L/∂param as the chain rule writes it: a product of local partials per path, summed."""

    param: str
    paths: tuple[tuple[str, ...], ...]  # the listed paths, each from the loss down to the param
    total: int  # every path, counted exactly
    shortest: int  # factors on the shortest path (0 when no path reaches the param)
    longest: int  # factors on the longest path


# question 1 writes ∇L out whole up to this many params (a two-layer network's nine, say)
VECTOR_ENTRIES = 12


@dataclass(frozen=True, slots=True)
class Explanation:
    """The five answers: the gradient's dimension, the local partials, each chain, their lengths."""

    loss: str
    params: tuple[str, ...]  # question 1: one gradient entry per param
    partials: tuple[Edge, ...]  # question 2: each computed once, from the loss backwards
    chains: tuple[ParamChain, ...]  # questions 3 to 5, one per param
    asked: tuple[str, ...]  # the params whose chains to write out (all by default)
    # partials ∂L/∂name that are not the gradient ∂L/∂name (see chains)
    direct: frozenset[tuple[str, str]] = frozenset()
    # Fewer paths listed than --max-paths asked for: a trace lists at most MAX_LISTED_PATHS.
    capped: bool = False

    @property
    def gradient_entries(self) -> tuple[str | None, ...]:
        """Question 1's ∇L by entries: each param, or past VECTOR_ENTRIES three, None, the last."""
        p = self.params
        return p if len(p) <= VECTOR_ENTRIES else (*p[:3], None, p[-1])

    @property
    def written(self) -> tuple[ParamChain, ...]:
        """Questions 3 and 4: the chains of the params asked about."""
        return tuple(c for c in self.chains if c.param in self.asked)

    @property
    def longest_chains(self) -> tuple[ParamChain, ...]:
        """Question 5: the chains whose longest path has the most factors (unreached params out)."""
        reached = [c for c in self.chains if c.total]
        most = max((c.longest for c in reached), default=0)
        return tuple(c for c in reached if c.longest == most)

    @property
    def shortest_chains(self) -> tuple[ParamChain, ...]:
        """The chains whose shortest path has the fewest factors."""
        reached = [c for c in self.chains if c.total]
        least = min((c.shortest for c in reached), default=0)
        return tuple(c for c in reached if c.shortest == least)


def explain(graph: Graph, params: tuple[str, ...] = (), max_paths: int = 8) -> Explanation:
    """Return the answers for `graph`; `params` picks whose chains to write (default: all)."""
    finder = ChainFinder(graph, max_paths)
    near, far = distances(graph), longest(graph)
    asked = params or graph.params
    chains = tuple(
        ParamChain(
            p,
            finder.plan(p).paths if p in asked else (),
            finder.totals[p],
            near.get(p, 0),
            far.get(p, 0),
        )
        for p in graph.params
    )
    return Explanation(
        graph.loss,
        graph.params,
        edges_on_paths(graph),
        chains,
        asked,
        direct_edges(graph),
        finder.capped,
    )


def factors(chain: ParamChain, dash: str = "–") -> str:
    """Return the factors on a chain's paths: 4, or 2–4 when its paths differ in length."""
    if chain.shortest == chain.longest:
        return str(chain.longest)
    return f"{chain.shortest}{dash}{chain.longest}"


def conclusion(answers: Explanation, written: Callable[[str], str], dash: str = "–") -> str:
    """Return the answer to question 5: which params have the longest chains, and why."""
    longest, shortest = answers.longest_chains, answers.shortest_chains
    if not longest:
        return "No param affects the loss: there are no chains."
    names = lambda chains: ", ".join(written(c.param) for c in chains)  # noqa: E731
    most, least = longest[0].longest, shortest[0].shortest
    if len(answers.chains) == 1:
        only = answers.chains[0]
        return (
            f"There is one param, {written(only.param)}, so nothing to compare: its chain has "
            f"{factors(only, dash)} "
            "factors per path, one per edge between the param and the loss."
        )
    if most == least:
        return (
            f"Every path has {most} factor{'s' if most > 1 else ''}: no param is farther from "
            "the loss than another."
        )
    # the same params have both the longest and the shortest paths: no order to tell
    if longest == shortest:
        if len(longest) == sum(1 for c in answers.chains if c.total):
            return (
                f"Neither: every param has paths of {least} factor{'s' if least > 1 else ''} and "
                f"of {most}, "
                "so no param is farther from the loss than another."
            )
        return (
            f"Both the longest paths ({most} factors) and the shortest ({least}) lead to "
            f"{names(longest)}; "
            "the other params' paths lie between. A chain has one factor per edge between its "
            "param and the loss."
        )
    # a param with paths of both lengths, through a skip connection say
    both = [c for c in longest if c in shortest]
    also = (
        f" {names(both)} {'has paths' if len(both) == 1 else 'have paths'} of both lengths."
        if both
        else ""
    )
    return (
        f"Longer. The longest paths ({most} factors) lead to {names(longest)}; the shortest "
        f"({least}) to {names(shortest)}.{also} "
        "A chain has one factor per edge between its param and the loss, so params nearer the "
        "inputs, "
        "farther from the loss, have longer chains."
    )
