"""Work grows with the size of an expression, not its square: counted, never timed (issue 17)."""

from __future__ import annotations

import sys

from conftest import ROOT, load

from bptrace.engine import ops
from bptrace.language.printer import show

sys.path.append(str(ROOT / "benchmarks"))  # last: bptrace's modules and the tests' come first
from operands import balanced  # noqa: E402  (the benchmark's wide nodes, written pairwise)


def network(n: int, pattern: str) -> str:
    params = [f"w{i}" for i in range(n)]
    return (
        "".join(f"param {p} = {i % 7 - 3}\n" for i, p in enumerate(params))
        + f"loss L = {balanced(params, pattern)}\n"
    )


def test_the_partials_of_a_sum_of_n_terms_take_about_n_log_n_steps(monkeypatch):
    calls = 0
    plain = ops.derivative

    def counted(*args):
        nonlocal calls
        calls += 1
        return plain(*args)

    monkeypatch.setattr(ops, "derivative", counted)
    n = 1024  # a balanced sum ten levels deep: each partial walks one path down, about 2·10 steps
    graph = load(network(n, "({} + {})"))
    edges = graph.nodes[0].edges
    assert [show(e.formula) for e in edges] == ["1"] * n
    assert calls <= 30 * n  # each partial walking the whole sum would take 2n steps: 2 million


def test_a_sum_of_many_terms_keeps_its_shape():
    # A balanced sum stays balanced when simplified: rebuilt left to right it would be 4,096 levels
    # deep, and the run would stop with "nested too deeply".
    graph = load(network(4096, "({} + {})"))
    assert len(graph.nodes[0].edges) == 4096


def test_partials_too_large_to_write_out_are_refused_at_once():
    import pytest

    from bptrace.engine.graph import MAX_PARTIALS
    from bptrace.errors import NetworkError

    # Each of the 4,096 partials of a balanced max holds about 4·4,096 operations: 67 million in
    # all, projected from the first one, before the others are built (at 10,000 names: 17.8 GB).
    with pytest.raises(NetworkError) as refused:
        load(network(4096, "max({}, {})"))
    assert "the local derivatives of 'L' would take about" in str(refused.value)
    assert f"at most {MAX_PARTIALS:,}" in str(refused.value)


def test_a_balanced_max_within_the_limit_is_still_derived():
    graph = load(network(128, "max({}, {})"))
    assert len(graph.nodes[0].edges) == 128
