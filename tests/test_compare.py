"""`bptrace compare`: two traces of one network, cell by cell, and why each number changed.

Expected numbers are worked out by hand from networks/simple.bp: x = 2, y = 1, w1 = 0.5, b1 = 0.1,
w2 = -0.3, b2 = 0.2, so h = 1.1, g = -0.13, L = ½(1.13)² = 0.63845, ∂L/∂g = -(y - g) = -1.13,
and the gradients w1 0.678, b1 0.339, w2 -1.243, b2 -1.13.
"""

from __future__ import annotations

import json

import pytest
from conftest import LARGE, NETWORKS, ROOT, load
from typer.testing import CliRunner

from bptrace.cli.app import app
from bptrace.engine.compare import compare, same
from bptrace.engine.tracer import trace

SIMPLE = (ROOT / "networks" / "simple.bp").read_text()


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "120"})


def test_a_larger_lr_changes_only_the_updates_and_what_follows_from_them():
    a, b = load(SIMPLE), load(SIMPLE.replace("set lr = 0.1", "set lr = 0.2"))
    c = compare(a, trace(a, 1), b, trace(b, 1))
    first = c.first
    assert first is not None and first.cell.key == (1, "updates", ("w1",), "after")
    assert first.cause is None  # where the change acts
    assert first.b.value == pytest.approx(0.5 - 0.2 * 0.678, rel=1e-12)
    tables = {d.cell.table for d in c.differences if d.cell.step == 1}
    assert tables == {"updates"}  # the forward pass, partials and gradients of step 1 are the same
    after = [d for d in c.differences if d.cell.step == 2]  # the params after the step
    assert {d.cell.table for d in after} == {"leaves", "final"}
    assert all(d.cause is not None for d in after)


def test_a_loss_without_its_half_doubles_every_partial_of_the_loss_and_every_gradient():
    a, b = load(SIMPLE), load(SIMPLE.replace("1/2*", ""))
    c = compare(a, trace(a, 1), b, trace(b, 1))
    by_key = {d.cell.key: d for d in c.differences}
    loss = by_key[(1, "forward", ("L",), "value")]
    assert c.first is loss
    assert loss.b.value == pytest.approx(1.13**2, rel=1e-12)  # (y - g)² = 1.2769
    partial = by_key[(1, "partials", ("L", "g"), "value")]
    assert partial.b.value == pytest.approx(-2 * 1.13, rel=1e-12) and partial.ratio == 2
    assert partial.cause is None  # its formula changed: -(y - g) → -2·(y - g)
    for name in ("g", "h", "w1", "b1", "w2", "b2"):
        d = by_key[(1, "gradients", (name,), "value")]
        assert d.ratio == pytest.approx(2, rel=1e-12) and d.cause is not None
    assert by_key[(1, "gradients", ("g",), "value")].cause == (1, "partials", ("L", "g"), "value")
    assert (1, "partials", ("g", "h"), "value") not in by_key  # w2: the same at step 1


def test_the_same_settings_differ_nowhere():
    a = load(SIMPLE)
    c = compare(a, trace(a, 3), a, trace(a, 3))
    assert c.differences == () and c.first is None and c.steps == 3


def test_numbers_within_rounding_are_the_same_and_others_not():
    assert same(0.1 + 0.2, 0.3) and not same(0.3, 0.3000001) and same(float("nan"), float("nan"))


def test_the_cli_shows_the_first_divergence_and_the_reason():
    result = invoke("compare", ROOT / "networks" / "simple.bp", "--vs", "lr=0.2")
    assert result.exit_code == 0, result.output
    assert "first divergence: lr = 0.2 acts here" in result.output
    assert "9 of 33 numbers differ over 1 step" in result.output
    assert "0.3644" in result.output  # w1 after: 0.5 - 0.2·0.678


def test_json_is_one_strict_document_naming_the_first_divergence():
    result = invoke("compare", ROOT / "networks" / "simple.bp", "--vs", "lr=0.2", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout, parse_constant=pytest.fail)
    assert doc["first"] == {"step": 1, "table": "updates", "subject": ["w1"], "column": "after"}
    assert doc["b"] == {"lr": "0.2"}
    w1 = doc["differences"][0]
    assert w1["a"] == pytest.approx(0.4322) and w1["b"] == pytest.approx(0.3644)


def test_settings_that_change_nothing_say_so():
    result = invoke("compare", ROOT / "networks" / "simple.bp", "--vs", "lr=0.1")
    assert result.exit_code == 0 and "No number differs over 1 step." in result.output


@pytest.mark.parametrize(
    ("vs", "says"),
    [
        ("lr", "--vs takes SETTING=VALUE"),
        ("=1", "--vs takes SETTING=VALUE"),
        ("lrr=1", "unknown setting 'lrr' (did you mean 'lr'?)"),
        ("optimizer=adamw", "--vs optimizer=adamw:"),
        ("lr=-1", "--vs lr=-1:"),
    ],
)
def test_a_bad_setting_is_a_usage_error(vs, says):
    result = invoke("compare", ROOT / "networks" / "simple.bp", "--vs", vs)
    assert result.exit_code == 2, result.output
    assert says in result.stderr and "Traceback" not in result.output


def test_a_setting_given_twice_is_a_usage_error():
    result = invoke("compare", ROOT / "networks" / "simple.bp", "--vs", "lr=1", "--vs", "lr=2")
    assert result.exit_code == 2 and "sets 'lr' twice" in result.stderr


@pytest.mark.parametrize("path", NETWORKS, ids=lambda p: p.name)
def test_compare_works_on_every_example_network(path):
    result = invoke("compare", path, "--vs", "lr=0.07", "--steps", "2")
    assert result.exit_code == 0, result.output
    assert "numbers differ over 2 steps" in result.output


def test_compare_works_on_the_large_example_with_its_data():
    assert LARGE == ("mnist_like.bp",)
    path, data = ROOT / "networks" / "mnist_like.bp", ROOT / "networks" / "digits.csv"
    result = invoke("compare", path, "--data", data, "--vs", "lr=0.05")
    assert result.exit_code == 0, result.output
    assert "first divergence" in result.output
