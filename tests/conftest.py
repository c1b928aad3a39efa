"""Shared helpers: load example networks, and central finite differences."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bptrace.graph import Graph, build
from bptrace.parser import parse
from bptrace.tracer import forward

ROOT = Path(__file__).resolve().parent.parent
NETWORKS = sorted((ROOT / "networks").glob("*.bp"))


def load(text_or_path: str | Path) -> Graph:
    """Build a graph from .bp text, or from a file path."""
    text = text_or_path.read_text("utf-8") if isinstance(text_or_path, Path) else text_or_path
    return build(parse(text))


def declared_params(graph: Graph) -> dict[str, float]:
    return graph.initial_params()


def loss_at(graph: Graph, params: dict[str, float]) -> float:
    return float(forward(graph, {k: np.float64(v) for k, v in params.items()})[graph.loss])  # unchecked


def finite_difference(graph: Graph, params: dict[str, float], name: str, eps: float = 1e-6) -> float:
    """Return the central difference (L(p + h) - L(p - h)) / 2h, h scaled to the param."""
    h = eps * max(1.0, abs(params[name]))
    up, down = dict(params), dict(params)
    up[name] += h
    down[name] -= h
    return (loss_at(graph, up) - loss_at(graph, down)) / (2 * h)


@pytest.fixture(params=NETWORKS, ids=[p.name for p in NETWORKS])
def network(request) -> Path:
    return request.param
