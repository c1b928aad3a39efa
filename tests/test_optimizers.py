"""Optimisers against their papers' formulas, applied by hand to gradients found by finite
differences."""

from __future__ import annotations

import json
import math
import re

import pytest
from conftest import ROOT, finite_difference, load
from typer.testing import CliRunner

from bptrace.cli.app import app
from bptrace.engine.tracer import diverged, trace
from bptrace.language.printer import format_number

SIMPLE = (ROOT / "networks" / "simple.bp").read_text(encoding="utf-8")
ENV = {"COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}


def with_optimizer(settings: str):
    return load(SIMPLE + settings)


def gradients_along(graph, steps):
    """Yield (step, params before it, their gradients by central differences)."""
    for record in trace(graph, steps):
        if hasattr(record, "updates"):
            params = {u.param: float(u.before) for u in record.updates}
            yield record, params, {p: finite_difference(graph, params, p) for p in params}


def test_momentum_follows_the_velocity_formula():
    # velocity_t = μ·velocity_(t−1) + g_t, after = before − α·velocity_t (PyTorch's SGD with
    # momentum).
    graph, mu, alpha = with_optimizer("set optimizer = momentum\nset momentum = 0.8\n"), 0.8, 0.1
    velocity = {}
    for record, params, grads in gradients_along(graph, 3):
        for u in record.updates:
            velocity[u.param] = mu * velocity.get(u.param, 0.0) + grads[u.param]
            assert float(u.state["velocity"]) == pytest.approx(
                velocity[u.param], rel=1e-6, abs=1e-9
            )
            assert float(u.after) == pytest.approx(
                params[u.param] - alpha * velocity[u.param], rel=1e-6, abs=1e-9
            )


def test_adam_follows_algorithm_1_of_kingma_and_ba():
    graph = load(SIMPLE.replace("set lr = 0.1", "set lr = 0.01") + "set optimizer = adam\n")
    alpha, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    m, v = {}, {}
    for record, params, grads in gradients_along(graph, 4):
        t = record.step
        for u in record.updates:
            g = grads[u.param]
            m[u.param] = b1 * m.get(u.param, 0.0) + (1 - b1) * g
            v[u.param] = b2 * v.get(u.param, 0.0) + (1 - b2) * g * g
            m_hat, v_hat = m[u.param] / (1 - b1**t), v[u.param] / (1 - b2**t)
            assert float(u.state["m_hat"]) == pytest.approx(m_hat, rel=1e-6)
            assert float(u.after) == pytest.approx(
                params[u.param] - alpha * m_hat / (math.sqrt(v_hat) + eps), rel=1e-6
            )


def test_adams_first_step_moves_every_param_by_the_learning_rate():
    # At t = 1, m̂ = g and v̂ = g², so the step is α·g/(|g| + ε): α in the direction against g.
    ((record, *_),) = [next(gradients_along(with_optimizer("set optimizer = adam\n"), 1))]
    for u in record.updates:
        assert float(u.before - u.after) == pytest.approx(
            0.1 * math.copysign(1, float(u.grad)), rel=1e-6
        )


def test_sgd_is_unchanged_by_the_table():
    record = next(trace(load(SIMPLE), 1))
    # the handout's
    assert [float(u.after) for u in record.updates] == pytest.approx(
        [0.4322, 0.0661, -0.1757, 0.313]
    )
    assert all(u.state == {} for u in record.updates)


def test_a_steps_updates_read_as_a_sequence_of_records():
    # w1 = 2, L = w1²·w2/2 with w2 = 3: ∂L/∂w1 = w1·w2 = 6, ∂L/∂w2 = w1²/2 = 2; sgd at lr 0.1 moves
    # them to 1.4 and 2.8.
    graph = load("param w1 = 2\nparam w2 = 3\nset lr = 0.1\nloss L = w1^2*w2/2\n")
    first, second = [r for r in trace(graph, 2) if hasattr(r, "updates")]
    updates = first.updates
    assert len(updates) == 2 and [u.param for u in updates] == ["w1", "w2"]
    assert [(u.before, u.grad, u.lr) for u in updates] == [(2.0, 6.0, 0.1), (3.0, 2.0, 0.1)]
    assert [u.after for u in updates] == pytest.approx([1.4, 2.8])
    assert updates[-1] is updates[1] is list(updates)[1]  # one record per param, made once
    assert updates[:1] == (updates[0],) and updates[5:] == ()
    with pytest.raises(IndexError):
        updates[2]
    # the next step starts where this one ended
    assert [u.before for u in second.updates] == [u.after for u in updates]


def test_the_update_table_shows_the_optimizers_state(tmp_path):
    f = tmp_path / "m.bp"
    f.write_text(SIMPLE + "set optimizer = momentum\n")
    out = (
        CliRunner(env=ENV).invoke(app, ["run", str(f), "--steps", "2", "--show", "updates"]).stdout
    )
    words = " ".join(out.split())
    assert (
        "velocity = μ·velocity + gradient, after = before − α·velocity (α = 0.1, μ = 0.9)" in words
    )
    # Step 2 for w1: velocity = 0.9·0.678 + 0.2989 = 0.9091, after = 0.4322 − 0.1·0.9091 = 0.3413.
    assert "w₁ 0.4322 0.2989 0.9091 0.09091 0.3413 0.9 · 0.678 + 0.2989" in words


@pytest.mark.parametrize(
    "setting, says",
    [
        ("set optimizer = rmsprop", "'optimizer' must be sgd, momentum or adam"),
        ("set momentum = 1", "momentum must be at least 0 and less than 1"),
        ("set eps = 0", "eps must be more than 0"),
    ],
)
def test_settings_out_of_range_are_refused(tmp_path, setting, says):
    f = tmp_path / "s.bp"
    f.write_text(SIMPLE + setting + "\n")
    result = CliRunner(env=ENV).invoke(app, ["run", str(f)])
    assert result.exit_code == 4 and says in result.stderr


def test_a_setting_of_another_optimizer_is_a_warning(tmp_path):
    f = tmp_path / "s.bp"
    f.write_text(SIMPLE + "set beta1 = 0.8\n")
    result = CliRunner(env=ENV).invoke(app, ["run", str(f)])
    assert result.exit_code == 0
    assert (
        "warning: 'beta1' is a setting of the adam optimizer, and this network trains with sgd"
        in result.stderr
    )


def test_a_fault_after_the_loss_grew_says_training_diverges():
    """simple.bp at lr 3: the loss grows from the handout's 0.6385 (1/2·(1 − (−0.13))²) until a
    value overflows."""
    from bptrace.errors import NumericFault

    steps = []
    with pytest.raises(NumericFault) as fault:
        for record in trace(load(SIMPLE), 50, lr=3.0):
            steps.append(float(record.loss))
    assert steps[0] == pytest.approx(0.5 * 1.13**2) and all(b > a for a, b in zip(steps, steps[1:]))
    assert fault.value.step == len(steps) + 1
    assert fault.value.hint == (
        f"the loss grew from 0.6385 at step 1 to {format_number(steps[-1], 4)} at step "
        f"{len(steps)}: "
        "training diverges; try a smaller lr"
    )


def test_a_fault_without_the_loss_growing_gets_no_divergence_hint():
    from bptrace.errors import NumericFault

    # L = (w − 1/2)² + log(w − 1/5) at w = 1: ∂L/∂w = 1 + 1/0.8 = 2.25, so lr 1/2 moves w to −0.125
    # and log faults at step 2.
    with pytest.raises(NumericFault) as fault:
        list(trace(load("param w = 1\nloss L = (w - 1/2)^2 + log(w - 1/5)\n"), 3, lr=0.5))
    assert fault.value.step == 2 and fault.value.hint is None
    assert diverged([(1, 1.0), (4, 0.5)], 0.1) is None  # the loss fell
    assert diverged([(1, 1.0), (4, 2.0)], 0.0) is None  # no lr, no divergence by it
    assert diverged([(1, 1.0), (4, math.nan)], 0.1) is None
    assert diverged([(1, 1.0), (4, 2.0)], 0.1).startswith(
        "the loss grew from 1 at step 1 to 2 at step 4"
    )


def test_the_cli_shows_the_loss_curve_and_the_hint_when_training_diverges():
    result = CliRunner(env=ENV).invoke(
        app, ["run", str(ROOT / "networks" / "simple.bp"), "--lr", "3", "-n", "50", "-q"]
    )
    assert result.exit_code == 5
    # the curve ends at the step before
    failed = int(re.search(r"error: step (\d+):", result.stderr)[1])
    assert f"Loss at steps 1 to {failed - 1} (log scale, lowest 0.6385" in result.stdout
    assert (
        "hint: the loss grew from 0.6385 at step 1 to " in result.stderr
        and f" at step {failed - 1}: " in result.stderr
    )
    end = CliRunner(env=ENV).invoke(
        app, ["run", str(ROOT / "networks" / "simple.bp"), "--lr", "3", "-n", "50", "--json"]
    )
    assert json.loads(end.stdout.splitlines()[-1])["error"]["hint"].endswith(
        "training diverges; try a smaller lr"
    )


def test_with_mini_batches_a_fault_names_its_sample_among_all_and_claims_no_divergence():
    """A batch of one: step k runs sample k. Step 3's sample 3 (x = −1) takes log below 0, whatever
    the lr: its loss is over another sample than step 1's, so no divergence is claimed."""
    from bptrace.engine.tracer import Batches
    from bptrace.errors import NumericFault

    graph = load(
        "input x = [1, 3, -1]\ntarget y = [2, 9, 1]\nparam w = 1\n"
        "loss L = (y - w*x)^2 + log(w*x + 1.01)\n"
    )
    with pytest.raises(NumericFault) as fault:
        list(trace(graph, 5, lr=0.001, batches=Batches(1)))
    # sample 3 of the 3, not the batch's first
    assert fault.value.step == 3 and "sample 3: log of -" in str(fault.value)
    assert fault.value.hint is None


def test_an_updates_fault_says_training_diverges_once():
    from bptrace.errors import NumericFault

    with pytest.raises(NumericFault) as fault:
        list(trace(load("param w = 0.1\nloss L = 1e307*abs(sin(w))\n"), 50, lr=5.0))
    assert fault.value.where == "update of w" and str(fault.value).endswith(
        "training diverges; try a smaller lr"
    )
    assert fault.value.hint is None
