"""`bptrace compare`: two traces of one network, cell by cell, and why each number changed.

Expected numbers are worked out by hand from networks/simple.bp: x = 2, y = 1, w1 = 0.5, b1 = 0.1,
w2 = -0.3, b2 = 0.2, so h = 1.1, g = -0.13, L = ½(1.13)² = 0.63845, ∂L/∂g = -(y - g) = -1.13,
and the gradients w1 0.678, b1 0.339, w2 -1.243, b2 -1.13.
"""

from __future__ import annotations

import json
import math

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
    assert "5 of 29 numbers differ over 1 step" in result.output
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


# `bptrace mistakes`: the right trace beside each student's mistake, with the compare engine.


def mistakes_json(path, *args):
    result = invoke("mistakes", path, "--json", *args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout, parse_constant=pytest.fail)
    return {m["id"]: m for m in doc["mistakes"]}


def test_each_mistake_on_simple_departs_where_worked_out_by_hand():
    found = mistakes_json(ROOT / "networks" / "simple.bp")
    flipped = found["sign-flipped"]  # w1 ← w1 + α·∂L/∂w1 = 0.5 + 0.1·0.678
    assert flipped["first"] == {"step": 1, "table": "updates", "subject": ["w1"], "column": "after"}
    assert flipped["right_value"] == pytest.approx(0.4322)
    assert flipped["mistaken_value"] == pytest.approx(0.5678)
    dropped = found["half-dropped"]  # ∂L/∂g = -2(y - g) = -2.26
    assert dropped["first"]["table"] == "partials" and dropped["first"]["subject"] == ["L", "g"]
    assert dropped["mistaken_value"] == pytest.approx(-2.26)
    doubled = found["half-doubled"]  # ∂L/∂g = ½·(-(y - g)) = -0.565
    assert doubled["mistaken_value"] == pytest.approx(-0.565)
    # one at a time: w1 first, with the step's own gradient 0.678; then b1's gradient with
    # w1 = 0.4322: h = 2·0.4322 + 0.1 = 0.9644, g = -0.3·0.9644 + 0.2 = -0.08932,
    # ∂L/∂b1 = -(1 - g)·w2·1 = -1.08932·(-0.3) = 0.326796, so b1 = 0.1 - 0.0326796; then w2's with
    # both new: h = 2·0.4322 + 0.0673204, g = -0.3·h + 0.2, ∂L/∂w2 = -(1 - g)·h. The gradients
    # table lists w2 before b1 (backprop's order), so w2's is the first to differ.
    h = 2 * 0.4322 + (0.1 - 0.1 * 0.326796)
    one = found["one-at-a-time"]
    assert one["first"]["subject"] == ["w2"]
    assert one["mistaken_value"] == pytest.approx(-(1 - (-0.3 * h + 0.2)) * h, rel=1e-9)
    assert not found["sigmoid-from-z"]["applicable"]
    assert found["sigmoid-from-z"]["reason"] == "no sigmoid in this network"
    assert not found["mean-twice"]["applicable"]


def test_the_mistakes_table_names_each_and_says_where_none_can_be_made():
    result = invoke("mistakes", ROOT / "networks" / "simple.bp")
    assert result.exit_code == 0, result.output
    assert "not made here: no sigmoid in this network" in result.output
    assert "sign-flipped" in result.output and "0.5678" in result.output


def test_show_gives_the_students_formula_where_the_mistake_acts():
    result = invoke("mistakes", ROOT / "networks" / "two_layer.bp", "--show", "sigmoid-from-z")
    assert result.exit_code == 0, result.output
    # z0 = 0.5·0.1 + (-1)·0.3 + 0.1 = -0.15, and z0·(1 - z0) = -0.15·1.15 = -0.1725
    assert "z₀·(1 − z₀)" in result.output and "−0.1725" in result.output
    assert "first divergence" in result.output


def test_an_unknown_mistake_is_a_usage_error_with_a_suggestion():
    result = invoke("mistakes", ROOT / "networks" / "simple.bp", "--show", "sigmoid")
    assert result.exit_code == 2
    assert "did you mean 'sigmoid-from-z'?" in result.stderr


@pytest.mark.parametrize("path", NETWORKS, ids=lambda p: p.name)
def test_mistakes_works_on_every_example_network(path):
    found = mistakes_json(path, "--steps", "2")
    assert any(m["applicable"] for m in found.values())
    for m in found.values():  # a mistake that can be made changes some number, first somewhere
        assert (m["first"] is not None) if m["applicable"] else m["reason"]


def test_mistakes_works_on_the_large_example_with_its_data():
    path, data = ROOT / "networks" / "mnist_like.bp", ROOT / "networks" / "digits.csv"
    found = mistakes_json(path, "--data", data)
    assert found["mean-twice"]["applicable"] and found["mean-twice"]["first"] is not None


DIVERGES = """\
input x = 2
target y = 1
param w = 3
loss L = 1/2*(y - exp(w*x))^2
set lr = 0.001
"""


def test_a_mistake_that_makes_training_fail_is_compared_up_to_the_fault(tmp_path):
    # ∂L/∂w = -(y - e^(wx))·x·e^(wx) = 321,750 at w = 3: the right step moves w to 3 - 321.75,
    # the flipped one to 3 + 321.75, where e^(2w) overflows at step 2
    path = tmp_path / "diverges.bp"
    path.write_text(DIVERGES)
    found = mistakes_json(path, "--steps", "3")
    flipped = found["sign-flipped"]
    assert flipped["mistaken_value"] == pytest.approx(
        3 + 0.001 * (math.exp(6) - 1) * 2 * math.exp(6)
    )
    assert flipped["fails"]["step"] == 2 and "step 2" in flipped["fails"]["message"]
    text = invoke("mistakes", path, "--steps", "3")
    assert text.exit_code == 0 and "then training stops at step 2" in text.output


def test_a_comparison_whose_second_run_fails_says_where(tmp_path):
    path = tmp_path / "diverges.bp"
    # y = 1000: ∂L/∂w = -(1000 - e⁶)·2·e⁶ ≈ -481,000, so lr = 0.001 moves w to about 484, and
    # e^(2w) overflows at step 2; lr = 1e-9 moves it by 0.0005
    path.write_text(DIVERGES.replace("y = 1", "y = 1000").replace("lr = 0.001", "lr = 1e-9"))
    result = invoke("compare", path, "--vs", "lr=-100", "--steps", "3")
    assert result.exit_code == 2  # a negative lr is refused, as in the file
    result = invoke("compare", path, "--vs", "lr=0.001", "-n", "3", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["fails"]["step"] == 2
    result = invoke("compare", path, "--vs", "lr=0.001", "-n", "3")
    assert result.exit_code == 0 and "training stops at step 2" in result.output
