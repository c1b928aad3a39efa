"""Samples: inputs and targets that hold one value per sample, a batch's mean (or summed) loss and
gradients."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pytest
from conftest import ROOT, load
from typer.testing import CliRunner

from bptrace.cli.app import app
from bptrace.engine.tracer import Step, batch, forward, trace

ENV = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}
# L_i = ½(y_i − w·x_i)² with w = 1: residuals 1, 2, 3, so L_i = 0.5, 2, 4.5 and ∂L_i/∂w = −(y_i −
# w·x_i)·x_i = −1, −4, −9.
LINE = "input x = [1, 2, 3]\ntarget y = [2, 4, 6]\nparam w = 1\nloss L = 1/2*(y - w*x)^2\n"


def invoke(*args):
    return CliRunner(env=ENV).invoke(app, list(args), prog_name="bptrace")


def first_step(text: str) -> Step:
    return next(trace(load(text), 1))


def test_the_batch_loss_and_gradient_are_means_worked_out_by_hand():
    step = first_step(LINE)
    assert step.samples == 3
    assert list(step.values["L"]) == pytest.approx([0.5, 2, 4.5])
    assert step.loss == pytest.approx(7 / 3)
    assert list(step.grads["w"]) == pytest.approx([-1, -4, -9])
    (update,) = step.updates
    assert update.grad == pytest.approx(-14 / 3)
    assert update.after == pytest.approx(1 + 0.1 * 14 / 3)


def test_reduction_sum_adds_the_samples_up():
    step = first_step(LINE + "set reduction = sum\n")
    assert step.loss == pytest.approx(7)
    assert step.updates[0].grad == pytest.approx(-14)
    assert step.chains[0].grad == pytest.approx(-14)


def test_one_value_for_every_sample_is_broadcast():
    # b = 1 for every sample; L_i = (x_i·w + b)², ∂L_i/∂w = 2(x_i·w + b)·x_i = 2·2·1, 2·3·2 = 4, 12
    # at w = 1.
    step = first_step("input x = [1, 2]\ninput b = 1\nparam w = 1\nloss L = (x*w + b)^2\n")
    assert list(step.grads["w"]) == pytest.approx([4, 12])
    assert step.updates[0].grad == pytest.approx(8)


def test_the_batch_gradient_is_the_finite_difference_of_the_batch_loss():
    graph = load(
        "input x = [0.5, -1, 2, 0]\ntarget y = [1, 0, 1, 0]\nparam w = 0.3\nparam b = -0.2\n"
        "p = sigmoid(w*x + b)\nloss L = -(y*log(p) + (1 - y)*log(1 - p))\n"
    )
    step = next(trace(graph, 1))

    params = {u.param: u.before for u in step.updates}
    for u in step.updates:
        h = 1e-6

        def loss(v, name=u.param):
            return float(batch(graph, forward(graph, {**params, name: np.float64(v)})[graph.loss]))

        numeric = (loss(u.before + h) - loss(u.before - h)) / (2 * h)
        assert u.grad == pytest.approx(numeric, rel=1e-6, abs=1e-9)


def test_check_passes_on_a_batch():
    f = ROOT / "networks" / "xor.bp"
    result = invoke("check", str(f), "--steps", "3")
    assert result.exit_code == 0, result.stdout + result.stderr


def test_the_tables_show_samples_side_by_side_and_say_what_is_a_mean(tmp_path):
    f = tmp_path / "line.bp"
    f.write_text(LINE)
    out = invoke("run", str(f)).stdout
    words = " ".join(out.split())
    assert (
        "3 samples: the loss and the gradients that update the params are the mean over them."
        in words
    )
    assert "sample 1   sample 2   sample 3" in out
    assert "∂L/∂w ∂L/∂w (direct) −1 −4 −9 −4.667" in words  # per sample, then the batch mean
    assert "w 1 −4.667 −0.4667 1.467" in words


def test_one_sample_can_be_shown_with_its_numbers(tmp_path):
    f = tmp_path / "line.bp"
    f.write_text(LINE)
    words = " ".join(invoke("run", str(f), "--sample", "3", "--show", "forward").stdout.split())
    assert "showing sample 3" in words
    assert "loss L 1/2·(y − w·x)² 1/2·(6 − 1·3)² 4.5" in words


def test_more_samples_than_columns_say_how_to_see_the_rest(tmp_path):
    f = tmp_path / "many.bp"
    f.write_text("input x = [1, 2, 3, 4, 5, 6]\nparam w = 1\nloss L = (w*x)^2\n")
    out = invoke("run", str(f), "--show", "forward").stdout
    assert "showing samples 1, 2, 3, 4, … (--sample i shows sample i)" in " ".join(out.split())
    assert "sample 4" in out and "sample 5" not in out


def test_json_has_one_number_per_sample_and_validates(tmp_path):
    f = tmp_path / "line.bp"
    f.write_text(LINE)
    lines = [json.loads(x) for x in invoke("run", str(f), "--json").stdout.splitlines()]
    schema = json.loads(invoke("schema").stdout)
    for record in lines:
        jsonschema.validate(record, schema)
    begin, step = lines[0], lines[1]
    assert begin["version"] == 3 and begin["samples"] == 3 and begin["reduction"] == "mean"
    assert {x["name"]: x["value"] for x in begin["leaves"]}["x"] == [1.0, 2.0, 3.0]
    assert step["grads"]["w"] == pytest.approx([-1, -4, -9])
    assert step["chains"][0]["grad"] == pytest.approx(-14 / 3)
    assert list(step["forward"].values())[-1] == pytest.approx([0.5, 2, 4.5])


def test_samples_that_are_not_constants_are_refused(tmp_path):
    f = tmp_path / "n.bp"
    f.write_text("param w = 1\ninput x = [1, w]\nloss L = w*x\n")
    result = invoke("run", str(f))
    assert (
        result.exit_code == 4
        and "a sample of x must be a constant, but uses the name 'w'" in result.stderr
    )


def test_xor_learns_as_the_readme_says():
    # README and networks/xor.bp: from seed 3 the loss is first under 0.01 at step 345 (lr 5, full
    # batch).
    losses = [
        float(r.loss) for r in trace(load(ROOT / "networks" / "xor.bp"), 345) if isinstance(r, Step)
    ]
    assert losses[343] >= 0.01 > losses[344]
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "takes the loss under 0.01 at step 345" in readme


@pytest.mark.parametrize("extra", [[], ["--sample", "2"], ["--json"]])
def test_a_batch_as_large_as_the_samples_is_all_of_them_and_says_so(extra):
    xor = str(ROOT / "networks" / "xor.bp")  # 4 samples
    whole = invoke("run", xor, "--steps", "2", *extra)
    result = invoke("run", xor, "--steps", "2", "--batch-size", "9", *extra)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == whole.stdout  # every step on all 4 samples, as without --batch-size
    assert (
        "a batch of 9 (--batch-size) is not smaller than the 4 samples: every step trains on all "
        "of them" in " ".join(result.stderr.split())
    )
    assert result.stderr.count("bptrace: warning: a batch") == 1
