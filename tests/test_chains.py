"""Chain-rule paths: counted exactly without enumerating them, listed up to a cap, summing to the gradient."""

from __future__ import annotations

import pytest

from bptrace.chains import count_paths, plan_chains
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
