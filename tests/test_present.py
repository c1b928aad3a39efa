"""`bptrace present`: one self-contained HTML page whose numbers are the trace's, and the command's
errors. The page in a real browser: tests/test_present_browser.py."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from bptrace.cli.app import app

ENV = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}
TWO_LAYER = ROOT / "networks/two_layer.bp"


def invoke(*args):
    return CliRunner(env=ENV).invoke(app, [str(a) for a in args], prog_name="bptrace")


def present(network: Path, out: Path, *more) -> dict:
    """Write the page of `network` and return its embedded data."""
    result = invoke("present", network, "-o", out, *more)
    assert result.exit_code == 0, result.stderr
    return page_data(out.read_text("utf-8"))


def page_data(text: str) -> dict:
    found = re.search(r'<script type="application/json" id="data">(.*?)</script>', text, re.S)
    assert found, "no data in the page"
    return json.loads(found.group(1))


def json_trace(network: Path, *more) -> list[dict]:
    result = invoke("run", network, "--json", *more)
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def number(text: str) -> float:
    """Read a number as the page writes it: − for minus."""
    return float(text.replace("−", "-"))


def rounds_to(text: str, exact: float, digits: int = 4) -> bool:
    """Tell whether `text` is `exact` rounded to `digits` significant digits (half a unit in the
    last digit, either way)."""
    if exact == 0:
        return number(text) == 0
    unit = 10 ** (math.floor(math.log10(abs(exact))) - digits + 1)
    return abs(number(text) - exact) <= unit / 2 * (1 + 1e-9)


def test_the_first_forward_values_are_the_hand_worked_ones(tmp_path):
    """z₀ = x₀·w₀ + x₁·w₂ + b₀ = 0.5·0.1 + (−1)·0.3 + 0.1 = −0.15; a₀ = σ(−0.15)."""
    data = present(TWO_LAYER, tmp_path / "p.html")
    forward = data["steps"][0]["tables"][0]
    assert forward["name"] == "forward"
    rows = {row["cells"][0]: row["cells"] for row in forward["rows"]}
    assert rows["z₀"][-1] == "−0.15"
    assert rows["z₀"][2] == "0.5·0.1 + (−1)·0.3 + 0.1"
    assert rounds_to(rows["a₀"][-1], 1 / (1 + math.exp(0.15)))


def numbers(text: str) -> list[float]:
    """Read a value as the page writes it: a number, or samples as a list ([0.1, 0.2, …])."""
    items = text.strip("[]").replace("…", "").split(",")
    return [number(item) for item in items if item.strip()]


def agrees(text: str, exact) -> bool:
    """Tell whether the page's `text` is the trace's full-precision value (or samples), rounded."""
    exact = exact if isinstance(exact, list) else [exact]
    shown = numbers(text)
    return bool(shown) and all(rounds_to(str(a), b) for a, b in zip(shown, exact))


@pytest.mark.parametrize("network", ["two_layer.bp", "fanout.bp", "softmax.bp", "xor.bp"])
def test_every_number_on_the_page_is_the_traces(network, tmp_path):
    """Each node's value and gradient, each local partial and each update, at every step, is the
    number `run --json` writes at full precision, rounded to the page's 4 digits."""
    path = ROOT / "networks" / network
    data = present(path, tmp_path / "p.html", "--steps", "3")
    trace = [r for r in json_trace(path, "--steps", "3") if r["type"] == "step"]
    ids = {name: i for i, name in enumerate(data["names"])}
    edges = {tuple(e): i for i, e in enumerate(data["edges"])}
    assert len(data["steps"]) == len(trace) == 3
    for shown, record in zip(data["steps"], trace):
        assert shown["step"] == record["step"]
        for name, value in record["forward"].items():
            assert agrees(shown["values"][ids[name]], value), (name, value)
        for name, value in record["grads"].items():
            if shown["grads"][ids[name]] and name not in data["names"][: data["leaves"]]:
                assert agrees(shown["grads"][ids[name]], value), (name, value)
        partials = [(of, wrt, v) for of, by in record["partials"].items() for wrt, v in by.items()]
        assert len(shown["partials"]) == len(partials)
        for of, wrt, value in partials:
            assert agrees(shown["partials"][str(edges[(of, wrt)])]["value"], value), (of, wrt)
        for update in record["updates"]:
            i = ids[update["param"]]
            assert agrees(shown["values"][i], update["before"])
            assert agrees(shown["grads"][i], update["grad"])  # the batch's, with samples
            assert agrees(shown["after"][str(i)], update["after"])
