"""`bptrace check`: gradients against finite differences, and a wrong rule located node by node."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import NETWORKS, ROOT, load
from typer.testing import CliRunner

from bptrace.cli.app import app
from bptrace.engine import ops
from bptrace.engine.algebra import call
from bptrace.engine.check import check, compare

ENV = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}


def invoke(*args):
    return CliRunner(env=ENV).invoke(app, list(args), prog_name="bptrace")


@pytest.mark.parametrize("path", NETWORKS, ids=[p.name for p in NETWORKS])
def test_every_example_passes_along_its_trajectory(path):
    result = invoke("check", str(path), "--steps", "3")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "MISMATCH" not in result.stdout
    assert "All gradients agree" in result.stdout
    assert result.stdout.count("Gradient check, step") == 3


def test_compare_follows_the_documented_tolerance():
    # f(x) = x², f'(3) = 6: within atol + rtol·|6| = 1e-5 + 6e-3 of 6 is ok, beyond is a mismatch.
    square = lambda x: x * x  # noqa: E731
    assert compare(6.0, square, 3.0).status == "ok"
    assert compare(6.005, square, 3.0).status == "ok"
    assert compare(6.007, square, 3.0).status == "mismatch"
    # At relu's kink the difference quotient depends on h: unstable, not a failure.
    relu = lambda x: max(x, 0.0)  # noqa: E731
    assert compare(0.0, relu, 0.0).status == "unstable"


@pytest.fixture
def wrong_sine(monkeypatch):
    """Break one rule of the math table: sin'(u) = sin(u) instead of cos(u)."""
    broken = dataclasses.replace(ops.FUNCTIONS["sin"], partials=(lambda u: call("sin", u),))
    monkeypatch.setitem(ops.FUNCTIONS, "sin", broken)


NETWORK = """\
param w = 0.7
input x = 2
h = x*w
s = sin(h)
loss L = (s - 1)^2
"""


def test_a_wrong_rule_is_detected_and_located(wrong_sine, tmp_path):
    f = tmp_path / "sine.bp"
    f.write_text(NETWORK)
    result = invoke("check", str(f))
    assert result.exit_code == 6
    assert "MISMATCH" in result.stdout
    lines = result.stderr.splitlines()
    # Points at node s (line 4) and names its local derivative and formula.
    assert lines[0].startswith(f"{f}:4:5: error: step 1: dL/dw is ")
    # sin(h) written as the node s
    assert "the first wrong local derivative is ds/dh = s, " in lines[0]
    assert lines[1:3] == [" 4 | s = sin(h)", "   |     ^~~~~~"]


def test_the_located_rule_is_the_only_wrong_partial(wrong_sine):
    (step,) = check(load(NETWORK))
    wrong = [(p.edge.of, p.edge.wrt) for p in step.partials if p.result.status == "mismatch"]
    assert wrong == [("s", "h")]
    (grad,) = step.grads
    assert grad.result.status == "mismatch"
    assert (grad.culprit.edge.of, grad.culprit.edge.wrt) == ("s", "h")


def test_check_follows_the_training_trajectory():
    graph = load(ROOT / "networks" / "fanout.bp")
    steps = list(check(graph, 3))
    # L = 4a², ∂L/∂a = 8a, with a = 3, then 3 − 0.05·24 = 1.8, then 1.8 − 0.05·14.4 = 1.08.
    assert [s.grads[0].result.analytic for s in steps] == pytest.approx([24.0, 14.4, 8.64])
    assert [s.grads[0].result.numeric for s in steps] == pytest.approx([24.0, 14.4, 8.64], rel=1e-6)


def test_a_kink_is_reported_unstable_and_does_not_fail(tmp_path):
    f = tmp_path / "kink.bp"
    # relu'(0) = 0 by convention
    f.write_text("param w = 0\nparam b = 0.5\nloss L = relu(w) + b^2\n")
    result = invoke("check", str(f))
    assert result.exit_code == 0
    assert "unstable" in result.stdout
    assert result.stderr == ""
    # Not "all agree": ∂L/∂w and its local ∂L/∂w could not be checked; the summary says so, not the
    # opposite.
    assert "All gradients agree" not in result.stdout
    assert (
        "No gradient disagrees with finite differences, but 2 comparisons could not be made"
        in " ".join(result.stdout.split())
    )


def test_a_local_derivative_at_a_kink_is_not_listed_as_disagreeing(tmp_path):
    f = tmp_path / "kink.bp"
    f.write_text("input x = 2\nparam w = 0\nh = relu(w*x)\nloss L = (h - 1)^2\n")
    result = invoke("check", str(f))
    assert result.exit_code == 0
    assert (
        "disagree," not in result.stdout
        and "Local derivatives finite differences cannot check here" in result.stdout
    )
    assert "2 comparisons could not be made" in " ".join(result.stdout.split())  # ∂L/∂w and ∂h/∂w


def test_a_wrong_gradient_near_a_minimum_is_still_a_mismatch():
    # f(w) = ½(1 − 100w)², f'(0.0105) = −100·(1 − 1.05) = 5: curvature is not a kink.
    f = lambda w: 0.5 * (1 - 100 * w) ** 2  # noqa: E731
    assert compare(5.0, f, 0.0105).status == "ok"
    assert compare(999.0, f, 0.0105).status == "mismatch"
    g = lambda w: 50 * (w - 1) ** 2  # noqa: E731 - at its minimum, f' = 0
    assert compare(0.0, g, 1.0).status == "ok"
    assert compare(999.0, g, 1.0).status == "mismatch"


def test_rounding_in_a_large_loss_is_not_blamed_on_a_correct_derivative():
    # 1e8 + (w − 1)² at w = 0.5: f' = −1, but the quotient carries rounding of about 1e8·2e-16/1e-6.
    assert compare(-1.0, lambda w: 1e8 + (w - 1) ** 2, 0.5).status == "ok"


def test_a_wrong_local_derivative_fails_even_when_no_gradient_shows_it(wrong_sine, tmp_path):
    f = tmp_path / "hidden.bp"
    # ∂L/∂m = z = 0
    f.write_text("param w = 0.7\ninput z = 0\nm = sin(w)\nloss L = z*m + (w - 1)^2\n")
    result = invoke("check", str(f))
    assert result.exit_code == 6
    assert "All gradients agree" not in result.stdout
    assert result.stderr.startswith(f"{f}:3:5: error: step 1: the local derivative dm/dw = m is ")


def test_check_does_not_need_the_loss_after_the_last_update(tmp_path):
    f = tmp_path / "final.bp"
    f.write_text("param w = 1\na = log(w)\nloss L = a + w\n")  # after one step at lr 1, w = −1
    result = invoke("check", str(f), "--lr", "1")
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("offset", [0.0, 0.1, 0.3, 0.5, 0.63, 0.9, -0.4, -0.99])
def test_a_kink_within_the_step_is_unstable_wherever_it_lies(offset):
    # abs has its kink at 0; at x = offset·h the central difference straddles it: (|x+h| − |x−h|)/2h
    # is offset, not sign(x) = ±1. Whatever the offset, that is unstable, never a mismatch.
    x = offset * 1e-6
    expected = 0.0 if x == 0 else (1.0 if x > 0 else -1.0)
    assert compare(expected, abs, x).status == "unstable"


def test_a_kink_just_beyond_the_step_is_checked_normally():
    # At x = 1.01·h the difference quotient no longer reaches the kink: slope 1, exactly right.
    assert compare(1.0, abs, 1.01e-6).status == "ok"
    assert compare(-1.0, abs, 1.01e-6).status == "mismatch"


def test_a_table_with_both_kinds_is_titled_for_both(wrong_sine, tmp_path):
    # sin's rule broken (a mismatch) and abs at 0 (a kink): the table lists both and says it holds
    # both.
    f = tmp_path / "both.bp"
    f.write_text("param w = 0.7\nparam v = 0\ns = sin(w)\nloss L = (s - 1)^2 + abs(v)\n")
    result = invoke("check", str(f))
    assert result.exit_code == 6
    assert (
        "Local derivatives that disagree, or that finite differences cannot check here"
        in result.stdout
    )
    assert "MISMATCH" in result.stdout and "unstable" in result.stdout


def test_the_check_begins_with_its_title_and_keeps_a_blank_line_between_steps():
    out = invoke("check", str(ROOT / "networks" / "simple.bp"), "--steps", "2").stdout.splitlines()
    assert out[0] == "Gradient check, step 1: analytic beside central differences"
    second = out.index("Gradient check, step 2: analytic beside central differences")
    assert out[second - 1] == ""


@pytest.mark.parametrize(
    "text",
    [
        "param w = 0\nloss L = sign(w)\n",
        "param w = 1e300\nloss L = cos(w)\n",
        "param w = 0\nloss L = step(w)\n",
    ],
)
def test_a_jump_or_a_step_that_loses_all_precision_is_unstable_not_a_failure(text, tmp_path):
    f = tmp_path / "jump.bp"
    f.write_text(text)
    result = invoke("check", str(f), "--lr", "0")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "MISMATCH" not in result.stdout and "unstable" in result.stdout


def test_a_jump_is_unstable_and_a_smooth_wrong_slope_is_still_a_mismatch():
    import math

    sign = lambda x: (x > 0) - (x < 0)  # noqa: E731 - a jump of 2 at 0: (sign(h) − sign(−h))/2h = 1/h
    assert compare(0.0, sign, 0.0).status == "unstable"
    assert compare(0.0, sign, 0.5).status == "ok"  # flat away from the jump
    # step 1e294: 1e293 periods
    assert compare(-math.sin(1e300), math.cos, 1e300).status == "unstable"
    assert compare(-math.sin(1.0), math.cos, 1.0).status == "ok"
    assert compare(math.sin(1.0), math.cos, 1.0).status == "mismatch"


def test_check_reads_samples_from_data_and_checks_every_one(tmp_path):
    """--data gives check the CSV's samples: the gradients are the mean over them."""
    import re

    data = tmp_path / "samples.csv"
    data.write_text("x[1],x[2],y[1]\n0.5,-1,1\n1,2,0\n-1,0.5,0.5\n")
    network = str(ROOT / "networks" / "layers.bp")
    alone, sampled = invoke("check", network), invoke("check", network, "--data", str(data))
    assert alone.exit_code == 0 and sampled.exit_code == 0
    assert "All gradients agree" in sampled.stdout

    def first_grad(out: str) -> str:
        return re.search(r"∂L/∂W₁\[1,1\]\s+(\S+)", out)[1]

    # the file's one sample is the CSV's first; with all three the gradient is another number
    assert first_grad(alone.stdout) != first_grad(sampled.stdout)
    missing = tmp_path / "missing.csv"
    missing.write_text("x[1],y[1]\n0.5,1\n")
    assert invoke("check", network, "--data", str(missing)).exit_code == 3
