"""The chain rule's paths: every route from the loss back to a parameter, counted exactly, listed up to a cap."""

from __future__ import annotations

from dataclasses import dataclass

from bptrace.graph import Graph


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


def plan_chains(graph: Graph, max_paths: int) -> tuple[ChainPlan, ...]:
    """Return each param's chain plan, at most `max_paths` paths listed per param."""
    totals = count_paths(graph)
    used_by = users(graph)
    deps = {node.name: [e.wrt for e in node.edges] for node in graph.nodes}
    plans = []
    for param in graph.params:
        reaches = _ancestors(param, used_by)
        plans.append(ChainPlan(param, _first_paths(graph.loss, param, deps, reaches, max_paths), totals[param]))
    return tuple(plans)


def _ancestors(name: str, used_by: dict[str, list[str]]) -> set[str]:
    seen, todo = {name}, [name]
    while todo:
        for user in used_by[todo.pop()]:
            if user not in seen:
                seen.add(user)
                todo.append(user)
    return seen


def _first_paths(loss: str, param: str, deps, reaches: set[str], limit: int) -> tuple[tuple[str, ...], ...]:
    if loss not in reaches or limit <= 0:
        return ()
    found: list[tuple[str, ...]] = []
    stack: list[tuple[str, ...]] = [(loss,)]
    while stack and len(found) < limit:
        path = stack.pop()
        last = path[-1]
        if last == param:
            found.append(path)
            continue
        nxt = [d for d in deps.get(last, ()) if d in reaches]
        stack.extend(path + (d,) for d in reversed(nxt))
    return tuple(found)
