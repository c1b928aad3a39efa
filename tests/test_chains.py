"""Chain-rule paths: counted exactly without enumerating them, listed up to a cap, summing to the
gradient."""

from __future__ import annotations

import pytest
from conftest import declared_params, finite_difference, load

from bptrace.engine.chains import (
    MAX_LISTED_PATHS,
    count_paths,
    edges_on_paths,
    listed_per_param,
    plan_chains,
)
from bptrace.engine.tracer import trace


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
    assert float(chain.grad) == pytest.approx(
        finite_difference(graph, declared_params(graph), "w"), rel=1e-6
    )


def test_the_local_partials_go_from_the_loss_back_layer_by_layer():
    """two_layer.bp: L, then a2 (a0 w4 a1 w5 b2 in its expression's order), then the hidden units'
    σ, unit 0 first, then their weighted sums (x0 and x1 are inputs: no partial is needed towards
    them)."""
    from conftest import ROOT

    graph = load(ROOT / "networks" / "two_layer.bp")
    order = [(e.of, e.wrt) for e in edges_on_paths(graph)]
    assert order == [
        ("L", "a2"),
        ("a2", "a0"),
        ("a2", "w4"),
        ("a2", "a1"),
        ("a2", "w5"),
        ("a2", "b2"),
        ("a0", "z0"),
        ("a1", "z1"),
        ("z0", "w0"),
        ("z0", "w2"),
        ("z0", "b0"),
        ("z1", "w1"),
        ("z1", "w3"),
        ("z1", "b1"),
    ]


@pytest.mark.parametrize("seed", range(5))
def test_a_nodes_partials_come_after_every_partial_into_it(seed):
    """Backprop order on random networks: ∂L/∂node is complete before the node's own partials are
    used."""
    import sys

    from conftest import ROOT

    sys.path.append(str(ROOT / "benchmarks"))
    from generate import network

    order = [(e.of, e.wrt) for e in edges_on_paths(load(network(300, seed=seed)))]
    first_own = {}
    for i, (of, _) in enumerate(order):
        first_own.setdefault(of, i)
    assert all(i < first_own[wrt] for i, (_, wrt) in enumerate(order) if wrt in first_own)


def wide(layers: int, branches: int) -> str:
    """Each layer a(i+1) sums `branches` scaled copies of a(i): branches^layers paths from the loss
    back to a(0), and as many to w (whose only user is a0)."""
    lines = ["param w = 0.5", "input x = 1", "a0 = x*w"]
    for i in range(layers):
        lines += [f"b{i}_{j} = a{i}*{1 + j / 100}" for j in range(branches)]
        lines.append(f"a{i + 1} = " + " + ".join(f"b{i}_{j}" for j in range(branches)))
    lines.append(f"loss L = a{layers}*1e-18")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("asked", "params", "listed"),
    [
        (8, 1, 8),
        (10**9, 1, MAX_LISTED_PATHS),
        (10**9, 1000, MAX_LISTED_PATHS // 1000),
        (100, 1000, 10),
        (10**9, 2000, 8),
        (8, 100_000, 8),
        (3, 10, 3),
    ],
)
def test_a_trace_lists_at_most_ten_thousand_paths_in_all_and_never_fewer_than_eight_a_param(
    asked, params, listed
):
    assert MAX_LISTED_PATHS == 10_000
    assert listed_per_param(asked, params) == listed


def test_a_billion_paths_asked_of_two_to_the_sixty_lists_ten_thousand_distinct_ones():
    graph = load(wide(20, 8))
    (plan,) = plan_chains(graph, max_paths=10**9)
    assert plan.total == 8**20 == 2**60
    assert len(plan.paths) == len(set(plan.paths)) == MAX_LISTED_PATHS
    # L, 2 a layer, a0, w
    assert all(len(p) == 2 * 20 + 3 and p[0] == "L" and p[-2:] == ("a0", "w") for p in plan.paths)


def test_a_billion_paths_asked_for_are_written_within_a_bounded_memory(tmp_path):
    """Listing every path asked for took 24 GB; bounded, the trace fits in 2 GB of address space
    (numpy included)."""
    import json
    import resource
    import subprocess
    import sys

    network = tmp_path / "wide.bp"
    network.write_text(wide(20, 8), encoding="utf-8")
    limit = 2 * 1024**3

    def bounded() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    done = subprocess.run(
        [sys.executable, "-m", "bptrace", "run", str(network), "--json", "--max-paths", str(10**9)],
        capture_output=True,
        text=True,
        preexec_fn=bounded,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    begin, step, _ = map(json.loads, done.stdout.splitlines())
    assert begin["max_paths"] == 10**9  # as asked
    (chain,) = begin["chains"]
    assert chain["paths_total"] == 2**60 and len(chain["paths"]) == MAX_LISTED_PATHS
    assert len(step["chains"][0]["paths"]) == MAX_LISTED_PATHS


@pytest.mark.parametrize(
    ("count", "pretty", "plain"),
    [
        (3 * 2**60 - 2, "3,458,764,513,820,540,926", "3,458,764,513,820,540,926"),
        (10**24 - 1, "999,999,999,999,999,999,999,999", "999,999,999,999,999,999,999,999"),
        (10**24, "≈ 1.0·10²⁴", "~1.0e24"),
        (996 * 10**28, "≈ 1.0·10³¹", "~1.0e31"),  # 9.96 rounds up to the next power of ten
        (12 * 10**4303 + 5, "≈ 1.2·10⁴³⁰⁴", "~1.2e4304"),
    ],
    ids=["2^60", "24 digits", "25 digits", "rounded up", "4305 digits"],
)
def test_counts_past_24_digits_are_shown_by_their_order_of_magnitude(count, pretty, plain):
    from bptrace.language.printer import BP, MATH, count_text

    assert count_text(count, MATH) == pretty and count_text(count, BP) == plain
