"""Chain-rule paths: counted exactly without enumerating them, listed up to a cap, summing to the gradient."""

from __future__ import annotations

import pytest

from bptrace.chains import count_paths, edges_on_paths, plan_chains
from bptrace.tracer import trace
from conftest import declared_params, finite_difference, load


def ladder(rungs: int) -> str:
    """Each rung a(i+1) = a(i)*w + (a(i) + w) doubles the paths from the loss back to a(0)."""
    lines = ["param w = 0.5", "input x = 1", "a0 = x*w"]
    for i in range(rungs):
        lines += [f"p{i} = a{i}*w", f"q{i} = a{i} + w", f"a{i + 1} = p{i} + q{i}"]
    lines.append(f"loss L = a{rungs}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("rungs", [1, 2, 3, 10, 60])
def test_path_count_is_exact(rungs):
    # Paths from L to a(i) number 2^(n-i); w is reached from a(0) (2^n paths) and from each
    # p(i) and q(i) (2^(n-i-1) each), so 2^n + sum_{i<n} 2^(n-i) = 3·2^n − 2 in all.
    graph = load(ladder(rungs))
    assert count_paths(graph)["w"] == 3 * 2**rungs - 2
    assert count_paths(graph)["a0"] == 2**rungs


def test_listed_paths_are_capped_and_distinct_while_the_gradient_stays_exact():
    graph = load(ladder(60))
    (plan,) = plan_chains(graph, max_paths=8)
    assert len(plan.paths) == 8 and len(set(plan.paths)) == 8
    assert all(p[0] == "L" and p[-1] == "w" for p in plan.paths)
    step = next(trace(graph, 1, max_paths=8))
    (chain,) = step.chains
    assert chain.paths_total == 3 * 2**60 - 2


def test_small_ladder_lists_every_path_and_they_sum_to_the_gradient():
    graph = load(ladder(3))
    step = next(trace(graph, 1, max_paths=100))
    (chain,) = step.chains
    assert len(chain.paths) == chain.paths_total == 22
    assert sum(float(p.value) for p in chain.paths) == pytest.approx(float(chain.grad), rel=1e-12)
    assert float(chain.grad) == pytest.approx(finite_difference(graph, declared_params(graph), "w"), rel=1e-6)


def test_the_local_partials_go_from_the_loss_back_layer_by_layer():
    """two_layer.bp: L, then a2 (a0 w4 a1 w5 b2 in its expression's order), then the hidden units' σ, unit 0 first,
    then their weighted sums (x0 and x1 are inputs: no partial is needed towards them)."""
    from conftest import ROOT

    graph = load(ROOT / "networks" / "two_layer.bp")
    order = [(e.of, e.wrt) for e in edges_on_paths(graph)]
    assert order == [("L", "a2"), ("a2", "a0"), ("a2", "w4"), ("a2", "a1"), ("a2", "w5"), ("a2", "b2"), ("a0", "z0"),
                     ("a1", "z1"), ("z0", "w0"), ("z0", "w2"), ("z0", "b0"), ("z1", "w1"), ("z1", "w3"), ("z1", "b1")]


@pytest.mark.parametrize("seed", range(5))
def test_a_nodes_partials_come_after_every_partial_into_it(seed):
    """Backprop order on random networks: ∂L/∂node is complete before the node's own partials are used."""
    import sys

    from conftest import ROOT

    sys.path.append(str(ROOT / "benchmarks"))
    from generate import network

    order = [(e.of, e.wrt) for e in edges_on_paths(load(network(300, seed=seed)))]
    first_own = {}
    for i, (of, _) in enumerate(order):
        first_own.setdefault(of, i)
    assert all(i < first_own[wrt] for i, (_, wrt) in enumerate(order) if wrt in first_own)
