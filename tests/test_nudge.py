"""`bptrace nudge`: the gradient's prediction of a loss change beside the change itself."""

from __future__ import annotations

import pytest
from conftest import ROOT, load
from typer.testing import CliRunner

from bptrace.cli.app import app
from bptrace.engine.nudge import nudge

ENV = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}


def invoke(*args):
    return CliRunner(env=ENV).invoke(app, list(args), prog_name="bptrace")


def test_the_error_is_the_second_order_term_worked_out_by_hand():
    # simple.bp: L = ½(y − g)², g = (x·w1 + b1)·w2 + b2, so L is quadratic in w1 with
    # ∂²L/∂w1² = (x·w2)² = (2·(−0.3))² = 0.36: the error of the prediction is exactly ½·0.36·Δ².
    report = nudge(load(ROOT / "networks/simple.bp"), "w1", 1e-3)
    assert report.grad == pytest.approx(0.678)  # the handout's ∂L/∂w1
    assert [n.by for n in report.nudges] == pytest.approx([1e-2, 1e-3, 1e-4, 1e-5])
    for n in report.nudges:
        assert n.predicted == pytest.approx(0.678 * n.by, rel=1e-12)
        assert n.error == pytest.approx(0.18 * n.by**2, rel=1e-4)


def test_a_later_step_nudges_the_trained_value():
    # After one update w1 = 0.5 − 0.1·0.678 = 0.4322 (the handout's first update).
    report = nudge(load(ROOT / "networks/simple.bp"), "w1", 1e-3, step=2)
    assert report.value == pytest.approx(0.4322)


def test_the_cli_says_how_the_error_shrinks():
    result = invoke("nudge", str(ROOT / "networks/simple.bp"), "w1", "--by", "0.001")
    assert result.exit_code == 0, result.stderr
    words = " ".join(result.stdout.split())
    assert "ΔL ≈ ∂L/∂w₁ · Δ = 0.678 · 0.001 = 0.000678" in words
    assert "the error is 100 times smaller: it shrinks like Δ²" in words
    assert "the loss curves away from it" in words
    assert "0.50001" in words  # Δ/100 is visible in the nudged value


# an inflection: the error goes like Δ³
@pytest.mark.parametrize(
    "text, says",
    [
        ("param w = 2\nloss L = 3*w\n", "changes linearly"),  # no second-order term at all
        ("param w = 0\ninput x = 1\nloss L = relu(w*x) + w\n", "not smooth"),  # relu's kink at 0
        (
            "param w = 0\nloss L = tanh(w)\n",
            "bends less than a parabola",
        ),
    ],
)
def test_linear_losses_and_kinks_are_told_apart(tmp_path, text, says):
    f = tmp_path / "n.bp"
    f.write_text(text)
    result = invoke("nudge", str(f), "w")
    assert result.exit_code == 0 and says in " ".join(result.stdout.split())
    # a kink does not curve, and a line has no error to explain
    assert "curves away" not in result.stdout


@pytest.mark.parametrize(
    "args, says",
    [
        (["w9"], "not a param"),
        (["w1", "--by", "0"], "other than 0"),
        (["w1", "--by", "nan"], "finite"),
    ],
)
def test_bad_arguments_are_usage_errors(args, says):
    result = invoke("nudge", str(ROOT / "networks/simple.bp"), *args)
    assert result.exit_code == 2 and says in " ".join(result.stderr.replace("│", "").split())


def test_a_neighbour_out_of_range_is_shown_not_fatal_and_the_asked_one_says_where(tmp_path):
    f = tmp_path / "log.bp"
    f.write_text("param w = 0.5\nloss L = log(w)\n")
    # 10Δ = −1 takes w to −0.5: log of a negative
    fine = invoke("nudge", str(f), "w", "--by", "-0.1")
    assert fine.exit_code == 0 and "nan" in fine.stdout
    bad = invoke("nudge", str(f), "w", "--by", "-1")
    assert (
        bad.exit_code == 5 and "with w nudged to -0.5, node L = log(w): log of -0.5" in bad.stderr
    )


def test_a_param_the_loss_ignores_is_said_to_change_nothing(tmp_path):
    f = tmp_path / "u.bp"
    f.write_text("param w = 1\nparam unused = 2\nloss L = w^2\n")
    words = " ".join(invoke("nudge", str(f), "unused").stdout.split())
    assert "does not depend on this param" in words and "curves away" not in words


def test_a_nudge_too_small_to_tell_says_so_instead_of_a_verdict():
    """simple.bp's w1 at --by 1e-9: ΔL ≈ 0.678e-9, only ~6 digits above the rounding of L = 0.6385
    (about 6e-16)."""
    out = " ".join(
        invoke("nudge", str(ROOT / "networks/simple.bp"), "w1", "--by", "1e-9").stdout.split()
    )
    assert (
        "Δ is too small to tell: the loss changes by only 6.78e−10, while rounding a loss of 0.6385"
        in out
    )
    assert "kink" not in out and "exact" not in out
    simple = str(ROOT / "networks/simple.bp")
    # L is quadratic in w1 with ∂²L/∂w1² = (∂g/∂w1)² = (x·w2)² = 0.36: the error at Δ/10 is
    # 0.18·(Δ/10)², which is rounding's (about 6e-16) up to Δ = 1e-6, and 1.8e-13 at Δ = 1e-5, three
    # hundred roundings.
    for by in ("1e-8", "1e-7", "1e-6"):
        assert "too small to tell" in " ".join(
            invoke("nudge", simple, "w1", "--by", by).stdout.split()
        ), by
    assert "shrinks like Δ²" in " ".join(
        invoke("nudge", simple, "w1", "--by", "1e-5").stdout.split()
    )


# errors 1e-6 and 1e-8, above a rounding of about 1e-9
# a straight line, however large the loss
# a flat point: ΔL = Δ² = 1e-14, Δ/10's 1e-16 is rounding
@pytest.mark.parametrize(
    "loss, param, by, says",
    [
        (
            "1000000 + w^2",
            "w = 0.5",
            "0.001",
            "shrinks like Δ²",
        ),
        (
            "1000000 + 3*w",
            "w = 0.5",
            "0.001",
            "exact, up to rounding",
        ),
        (
            "1 + w^2",
            "w = 0",
            "1e-7",
            "too small to tell",
        ),
        ("1 + w^2", "w = 0", "0.001", "shrinks like Δ²"),
    ],
)
def test_the_verdict_reads_the_curve_only_above_rounding(tmp_path, loss, param, by, says):
    net = tmp_path / "n.bp"
    net.write_text(f"param {param}\nloss L = {loss}\n")
    assert says in " ".join(invoke("nudge", str(net), "w", "--by", by).stdout.split())


def test_a_subnormal_nudge_is_a_usage_error_with_a_hint(tmp_path):
    f = tmp_path / "sq.bp"
    f.write_text("param w = 0.5\nloss L = w*w\n")
    # below 2.2e-308, the smallest normal float64
    result = invoke("nudge", str(f), "w", "--by", "1e-320")
    assert result.exit_code == 2
    assert "subnormal" in " ".join(result.stderr.replace("│", "").split())


def test_a_nudge_that_leaves_the_param_unchanged_is_a_usage_error_saying_how_large_one_must_be(
    tmp_path,
):
    f = tmp_path / "big.bp"
    f.write_text("param w = 1e306\nloss L = w/1e306\n")
    # 1e306 + 0.001 is 1e306: float64 spacing there is 2^965 ≈ 2.5e290
    result = invoke("nudge", str(f), "w")
    assert result.exit_code == 2, result.output
    words = " ".join(result.stderr.split())
    assert "--by 0.001 leaves w = 1e+306 unchanged" in words and "try --by 1e+303" in words


def test_the_nudge_the_hint_suggests_for_a_huge_param_shows_its_line(tmp_path):
    """L = w/1e306 is a straight line: ΔL = Δ/1e306, so Δ = 1e303 (a thousandth of w) changes L by
    0.001, exactly as predicted."""
    f = tmp_path / "big.bp"
    f.write_text("param w = 1e306\nloss L = w/1e306\n")
    result = invoke("nudge", str(f), "w", "--by", "1e303")
    assert result.exit_code == 0, result.output
    assert "exact, up to rounding" in " ".join(result.stdout.split())


def test_a_nudge_past_the_largest_float_is_a_numeric_fault(tmp_path):
    f = tmp_path / "big.bp"
    f.write_text("param w = 1e308\nloss L = w/1e308\n")
    result = invoke("nudge", str(f), "w", "--by", "1e308")  # 2e308 is past 1.8e308: inf
    assert result.exit_code == 5
    assert "w + Δ = inf is not a finite number" in result.stderr


def test_an_input_named_as_the_param_to_nudge_is_said_to_be_an_input():
    from typer.testing import CliRunner

    from bptrace.cli.app import app

    result = CliRunner().invoke(app, ["nudge", str(ROOT / "networks" / "layers.bp"), "x[1]"])
    said = " ".join(result.output.split())
    assert result.exit_code == 2
    assert "'x[1]' is an input of" in said and "not a param" in said and "b2[1]'?" not in said
