"""The benchmarks' networks: what benchmarks/generate.py promises of them."""

from __future__ import annotations

import re
import sys

import pytest
from conftest import ROOT

from bptrace.engine.graph import build_graph
from bptrace.language.parser import parse

sys.path.append(str(ROOT / "benchmarks"))  # last: bptrace's modules and the tests' come first
from generate import main, network  # noqa: E402


def earlier_nodes(text: str) -> list[tuple[int, list[int]]]:
    """Return each node hi's number i and the numbers of the nodes its expression reads."""
    found = []
    for line in text.splitlines():
        node = re.match(r"h(\d+) = (.*)", line)
        if node:
            found.append((int(node[1]), [int(j) for j in re.findall(r"\bh(\d+)\b", node[2])]))
    return found


@pytest.mark.parametrize("window", [1, 7, 50])
def test_with_a_window_a_node_reads_only_the_nodes_just_before_it(window):
    text = network(600, seed=3, window=window)
    nodes = earlier_nodes(text)
    assert len(nodes) == 600
    reads = [(i, j) for i, js in nodes for j in js]
    assert all(i - window <= j < i for i, j in reads)
    assert any(j < i - 1 for i, j in reads) or window == 1  # not only the previous node
    graph = build_graph(parse(text))  # a network bptrace runs, every param used
    assert len(graph.nodes) == 601  # and the loss


def test_without_a_window_a_node_reads_nodes_from_anywhere_before_it():
    reads = [(i, j) for i, js in earlier_nodes(network(600, seed=3)) for j in js]
    assert all(j < i for i, j in reads)
    assert max(i - j for i, j in reads) > 300  # far back, as no window of 50 would allow


def test_a_window_changes_nothing_but_the_nodes_read():
    assert network(300, window=10**6).splitlines()[1:] == network(300).splitlines()[1:]


def test_a_window_of_zero_is_refused(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["100", "--window", "0"])
    assert exit.value.code == 2
    assert "--window must be at least 1" in capsys.readouterr().err
