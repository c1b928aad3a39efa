"""The handout's networks, checked against values computed by hand (and independently in numpy)."""

from __future__ import annotations

import math

import pytest
from conftest import ROOT, load

from bptrace.engine.tracer import Final, Step, trace
from bptrace.language.printer import show

approx = lambda v: pytest.approx(v, rel=1e-12, abs=1e-12)  # noqa: E731


def steps_of(path, n=1, **kw):
    return list(trace(load(ROOT / "networks" / path), n, **kw))


def test_simple_step_one_matches_hand_computation():
    # h = 2·0.5 + 0.1 = 1.1; g = 1.1·(−0.3) + 0.2 = −0.13; L = ½(1 − (−0.13))² = ½·1.13² = 0.63845
    step = steps_of("simple.bp")[0]
    assert step.values["h"] == approx(1.1)
    assert step.values["g"] == approx(-0.13)
    assert step.loss == approx(0.63845)
    # ∂L/∂g = −(y − g) = −1.13; the rest by the chain rule with ∂g/∂h = w2 = −0.3, ∂h/∂w1 = x = 2
    assert step.grads["g"] == approx(-1.13)
    assert step.grads["h"] == approx(-1.13 * -0.3)
    expected = {"w1": 0.678, "b1": 0.339, "w2": -1.243, "b2": -1.13}
    assert {c.param: c.grad for c in step.chains} == {k: approx(v) for k, v in expected.items()}
    after = {"w1": 0.4322, "b1": 0.0661, "w2": -0.1757, "b2": 0.313}
    assert {u.param: u.after for u in step.updates} == {k: approx(v) for k, v in after.items()}


def test_simple_partials_are_the_handouts_boxes_in_backprop_order():
    step = steps_of("simple.bp")[0]
    got = [(p.of, p.wrt, p.value) for p in step.partials]
    assert got == [
        ("L", "g", approx(-1.13)),
        ("g", "h", approx(-0.3)),
        ("g", "w2", approx(1.1)),
        ("g", "b2", approx(1.0)),
        ("h", "w1", approx(2.0)),
        ("h", "b1", approx(1.0)),
    ]


def test_chain_products_list_each_factor():
    chain = {c.param: c for c in steps_of("simple.bp")[0].chains}["w1"]
    (path,) = chain.paths
    assert path.nodes == ("L", "g", "h", "w1")
    assert path.factors == (approx(-1.13), approx(-0.3), approx(2.0))
    assert path.value == approx(0.678)
    assert chain.paths_total == 1


def test_loss_shown_is_before_the_update_and_final_loss_uses_final_params():
    records = steps_of("simple.bp", 2)
    first, second, final = records
    assert isinstance(final, Final) and isinstance(second, Step)
    # Step 2 starts from step 1's updated params: g = (2·0.4322 + 0.0661)·(−0.1757) + 0.313
    g2 = (2 * 0.4322 + 0.0661) * -0.1757 + 0.313
    assert second.loss == approx(0.5 * (1 - g2) ** 2)
    assert {u.param: u.before for u in second.updates} == {u.param: u.after for u in first.updates}
    params = {u.param: u.after for u in second.updates}
    g3 = (2 * params["w1"] + params["b1"]) * params["w2"] + params["b2"]
    assert final.loss == approx(0.5 * (1 - g3) ** 2)
    assert final.params == params


def test_lr_argument_overrides_the_file_setting():
    step = steps_of("simple.bp", lr=1.0)[0]
    assert {u.param: u.after for u in step.updates}["w1"] == approx(0.5 - 0.678)


def test_two_layer_matches_backprop_written_out_by_hand():
    graph = load(ROOT / "networks" / "two_layer.bp")
    p = {leaf.name: leaf.value for leaf in graph.leaves}
    sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    z0 = p["x0"] * p["w0"] + p["x1"] * p["w2"] + p["b0"]
    z1 = p["x0"] * p["w1"] + p["x1"] * p["w3"] + p["b1"]
    a0, a1 = sig(z0), sig(z1)
    a2 = a0 * p["w4"] + a1 * p["w5"] + p["b2"]
    dL_da2 = -(p["y"] - a2)
    dL_dz0 = dL_da2 * p["w4"] * a0 * (1 - a0)
    dL_dz1 = dL_da2 * p["w5"] * a1 * (1 - a1)
    expected = {
        "w0": dL_dz0 * p["x0"],
        "w2": dL_dz0 * p["x1"],
        "b0": dL_dz0,
        "w1": dL_dz1 * p["x0"],
        "w3": dL_dz1 * p["x1"],
        "b1": dL_dz1,
        "w4": dL_da2 * a0,
        "w5": dL_da2 * a1,
        "b2": dL_da2,
    }
    step = next(trace(graph, 1))
    assert step.loss == approx(0.5 * (p["y"] - a2) ** 2)
    assert {c.param: c.grad for c in step.chains} == {k: approx(v) for k, v in expected.items()}
    # The handout's questions 1 and 2: 9 parameters, 14 local partials on loss-to-param paths.
    assert len(graph.params) == 9
    assert len(step.partials) == 14
    chains = {c.param: c.paths[0].nodes for c in step.chains}
    assert chains["w4"] == ("L", "a2", "w4")
    assert chains["w0"] == ("L", "a2", "a0", "z0", "w0")


def test_fanout_reused_node_sums_inside_a_node_and_over_paths():
    # b = a + a; c = b + b: ∂c/∂a = 4.
    step = next(trace(load("param a = 1.5\nb = a + a\nloss c = b + b\n"), 1))
    assert step.grads["a"] == 4.0
    # networks/fanout.bp: L = c·a = 4a², so ∂L/∂a = 8a = 24 at a = 3, over two paths of 12 each.
    step = steps_of("fanout.bp")[0]
    (chain,) = step.chains
    assert chain.grad == approx(24.0)
    assert chain.paths_total == 2
    assert [p.nodes for p in chain.paths] == [("L", "c", "b", "a"), ("L", "a")]
    assert [p.value for p in chain.paths] == [approx(12.0), approx(12.0)]


def test_param_that_cannot_affect_the_loss_has_zero_gradient_and_a_warning():
    graph = load("param w = 1\nparam unused = 2\nloss L = w^2\n")
    assert [w.message for w in graph.warnings] == ["param 'unused' cannot affect the loss 'L'"]
    step = next(trace(graph, 1))
    chain = {c.param: c for c in step.chains}["unused"]
    assert chain.grad == 0 and chain.paths_total == 0 and chain.paths == ()


def test_logistic_regression_gradient_is_p_minus_y_times_x():
    # For L = −(y·log p + (1 − y)·log(1 − p)) and p = σ(z), ∂L/∂z = p − y (the textbook result).
    step = steps_of("logistic.bp")[0]
    z = 1.5 * 0.2 + (-0.5) * (-0.4) + 0.1
    p = 1 / (1 + math.exp(-z))
    assert step.values["p"] == approx(p)
    assert step.loss == approx(-math.log(p))
    assert {c.param: c.grad for c in step.chains} == {
        "w1": approx((p - 1) * 1.5),
        "w2": approx((p - 1) * -0.5),
        "b": approx(p - 1),
    }
    formulas = {(q.of, q.wrt): show(q.edge.formula) for q in step.partials}
    assert formulas[("L", "p")] == "-(y/p - (1 - y)/(1 - p))"
    assert formulas[("p", "z")] == "p*(1 - p)"
