"""The chain rule's paths: every route from the loss back to a param, counted, listed to a cap."""

from __future__ import annotations

from dataclasses import dataclass

from bptrace.engine.graph import Edge, Graph

# longest path (in edges) a chain lists; longer ones are only counted: no one reads them
MAX_LISTED_LENGTH = 100
# Paths a trace lists over all its params (never fewer than 8 a param): see listed_per_param.
MAX_LISTED_PATHS = 10_000


@dataclass(frozen=True, slots=True)
class ChainPlan:
    """The paths from the loss to one param: the first few listed, all of them counted."""

    param: str
    paths: tuple[tuple[str, ...], ...]  # each path lists names from the loss to the param
    total: int  # exact, however large


def users(graph: Graph) -> dict[str, list[str]]:
    """Return, for every name, the nodes whose expressions use it (in source order)."""
    used_by: dict[str, list[str]] = {leaf.name: [] for leaf in graph.leaves}
    for node in graph.nodes:
        used_by[node.name] = []
        for edge in node.edges:
            used_by[edge.wrt].append(node.name)
    return used_by


def count_paths(graph: Graph) -> dict[str, int]:
    """Return, for every name, how many distinct paths lead from the loss to it."""
    count = dict.fromkeys((leaf.name for leaf in graph.leaves), 0)
    count.update(dict.fromkeys((node.name for node in graph.nodes), 0))
    count[graph.loss] = 1
    for node in reversed(graph.nodes):
        if count[node.name]:
            for edge in node.edges:
                count[edge.wrt] += count[node.name]
    return count


def direct_edges(graph: Graph) -> frozenset[tuple[str, str]]:
    """Return the edges that leave the loss for a name the loss also reaches through other nodes.

    Such an edge's local partial ∂L/∂name is not the gradient ∂L/∂name, which sums every path: views
    mark it "(direct)", so that the two never read as one number.
    """
    paths = count_paths(graph)
    loss = next(node for node in graph.nodes if node.name == graph.loss)
    return frozenset((e.of, e.wrt) for e in loss.edges if paths[e.wrt] > 1)


def listed_per_param(max_paths: int, params: int) -> int:
    """Return how many paths each param's chain lists when `max_paths` are asked for: at most
    MAX_LISTED_PATHS in all, shared among the `params`, never fewer than 8 (the default) a param.

    No one reads more, and the listed paths are held in memory and written at every step: a network
    of 2^60 paths asked for a billion of them must not list a billion.
    """
    return min(max_paths, max(8, MAX_LISTED_PATHS // max(params, 1)))


def plan_chains(graph: Graph, max_paths: int) -> tuple[ChainPlan, ...]:
    """Return each param's chain plan, at most `max_paths` paths listed per param."""
    finder = ChainFinder(graph, max_paths)
    return tuple(finder.plan(param) for param in graph.params)


class ChainFinder:
    """Find a param's chain plan when it is first asked for, and keep it.

    A view of a big network shows a few params' chains: only those are ever walked.
    """

    def __init__(self, graph: Graph, max_paths: int) -> None:
        self.loss = graph.loss
        self.max_paths = max_paths  # as asked for
        self.limit = listed_per_param(max_paths, len(graph.params))  # as listed
        self.totals = count_paths(graph)
        self.used_by = users(graph)
        self.near = distances(graph)
        self.found: dict[str, ChainPlan] = {}

    @property
    def capped(self) -> bool:
        """Tell whether fewer paths are listed per param than asked for (see listed_per_param)."""
        return self.limit < self.max_paths

    def plan(self, param: str) -> ChainPlan:
        plan = self.found.get(param)
        if plan is None:
            paths = _first_paths(self.loss, param, self.used_by, self.near, self.limit)
            plan = self.found[param] = ChainPlan(param, paths, self.totals[param])
        return plan


def edges_on_paths(graph: Graph, leads_to_param: frozenset[str] | None = None) -> tuple[Edge, ...]:
    """Return the edges on some loss-to-param path, from the loss backwards, layer by layer: the
    local partials backprop needs, a node's after every node that uses it.

    A node's layer is its longest path from the loss (a node is always in a later layer than the
    nodes that use it); within a layer, nodes come in source order: a two-layer network's unit
    0 before its unit 1.
    """
    if leads_to_param is None:
        leads_to_param = graph.leads_to_params()
    far = longest(graph)
    # in source order, which the stable sort keeps within a layer
    reached = [node for node in graph.nodes if node.name in far]
    layers = sorted(range(len(reached)), key=[far[node.name] for node in reached].__getitem__)
    from_loss = {graph.loss}
    shown = []
    for node in map(reached.__getitem__, layers):
        if node.name in from_loss:
            for edge in node.edges:
                if edge.wrt in leads_to_param:
                    from_loss.add(edge.wrt)
                    shown.append(edge)
    return tuple(shown)


def longest(graph: Graph) -> dict[str, int]:
    """Return, for every name the loss depends on, the most edges on a path from the loss to it."""
    far = {graph.loss: 0}
    for node in reversed(graph.nodes):
        if node.name in far:
            d = far[node.name] + 1
            for edge in node.edges:
                if far.get(edge.wrt, 0) < d:
                    far[edge.wrt] = d
    return far


def distances(graph: Graph) -> dict[str, int]:
    """Return, for every name the loss depends on, the fewest edges on a path from the loss."""
    near = {graph.loss: 0}
    for node in reversed(graph.nodes):  # a reverse topological order: every user comes first
        if node.name in near:
            for edge in node.edges:
                near[edge.wrt] = min(near.get(edge.wrt, near[node.name] + 1), near[node.name] + 1)
    return near


def _first_paths(
    loss: str, param: str, used_by, near: dict[str, int], limit: int
) -> tuple[tuple[str, ...], ...]:
    """Return the first `limit` paths from the loss to `param`, found by walking up from the param.

    A user is followed only when the loss can be reached from it within MAX_LISTED_LENGTH edges
    (by its distance to the loss), so no branch of the walk is a dead end: the work is
    proportional to the paths listed, however many paths there are.
    """
    if param not in near or near[param] > MAX_LISTED_LENGTH or limit <= 0:
        return ()
    # (name, entry it came from, edges so far)
    entries: list[tuple[str, int, int]] = [(param, -1, 0)]
    stack = [0]
    found: list[tuple[str, ...]] = []
    while stack and len(found) < limit:
        i = stack.pop()
        name, _, length = entries[i]
        if name == loss:
            path = []
            while i >= 0:
                path.append(entries[i][0])
                i = entries[i][1]
            found.append(tuple(path))  # from the loss down to the param
            continue
        for user in reversed(used_by[name]):
            # Longer paths are counted in the total, but no one reads a product that long.
            if user in near and length + 1 + near[user] <= MAX_LISTED_LENGTH:
                entries.append((user, i, length + 1))
                stack.append(len(entries) - 1)
    return tuple(found)
