"""Params that start at random: uniform(a, b) and normal(mean, sd), reproducible by seed."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from bptrace.cli.app import app
from bptrace.engine.graph import build_graph as build
from bptrace.language.parser import parse

NETWORK = (
    "param w = uniform(-1, 1)\nparam b = normal(0, 0.5)\nparam c = 0.3\ninput x = 2\n"
    "loss L = (w*x + b + c)^2\n"
)
ENV = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}


def invoke(*args):
    return CliRunner(env=ENV).invoke(app, list(args), prog_name="bptrace")


def test_params_are_drawn_in_source_order_from_numpys_generator():
    for seed in (0, 1, 42):
        rng = np.random.default_rng(seed)  # drawn independently: uniform for w, then normal for b
        w, b = rng.uniform(-1, 1), rng.normal(0, 0.5)
        graph = build(parse(NETWORK), seed)
        assert graph.initial_params() == {"w": w, "b": b, "c": 0.3}
        assert graph.seed == seed


def test_the_file_states_its_seed_and_the_command_line_overrides_it():
    assert (
        build(parse(NETWORK + "set seed = 7\n")).initial_params()
        == build(parse(NETWORK), 7).initial_params()
    )
    assert (
        build(parse(NETWORK + "set seed = 7\n"), 1).initial_params()
        == build(parse(NETWORK), 1).initial_params()
    )
    assert build(parse("param w = 1\nloss L = w^2\n")).seed is None  # nothing drawn


def test_the_trace_says_what_was_drawn(tmp_path):
    f = tmp_path / "init.bp"
    f.write_text(NETWORK)
    words = " ".join(invoke("run", str(f), "--seed", "5", "--show", "forward").stdout.split())
    assert "drawn with seed 5: w ~ uniform(−1, 1), b ~ normal(0, 0.5)." in words
    begin = json.loads(invoke("run", str(f), "--seed", "5", "--json").stdout.splitlines()[0])
    assert begin["seed"] == 5
    assert [leaf.get("drawn") for leaf in begin["leaves"]] == [
        "uniform(-1, 1)",
        "normal(0, 0.5)",
        None,
        None,
    ]


@pytest.mark.parametrize(
    "text, says",
    [
        (
            "param w = uniform(1, -1)\nloss L = w^2\n",
            "uniform(1, -1) needs its low end below its high end",
        ),
        (
            "param w = normal(0, -1)\nloss L = w^2\n",
            "normal(0, -1) needs a standard deviation of 0 or more",
        ),
        (
            "input x = uniform(0, 1)\nparam w = 1\nloss L = w*x\n",
            "only a param starts at a random value, not an input",
        ),
        ("param w = uniform(0, 1, 2)\nloss L = w^2\n", "uniform takes 2 arguments, got 3"),
        (
            "param w = uniform(0, 1)\nset seed = 1.5\nloss L = w^2\n",
            "seed must be a whole number, 0 or more",
        ),
        ("param w = 1\nloss L = uniform(0, w)\n", "unknown function 'uniform'"),
    ],
)
def test_bad_draws_are_refused(tmp_path, text, says):
    f = tmp_path / "bad.bp"
    f.write_text(text)
    result = invoke("run", str(f))
    assert result.exit_code == 4 and says in result.stderr
