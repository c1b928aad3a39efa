"""`compare` and `mistakes` attacked: hostile --vs values, options that fight the --vs, settings
that change nothing, text that must not be read as markup, --ascii, labels and reasons a lecturer
would misread, the ½ where set half finds it, and numbers checked against formulas written out.

Numbers are worked out by hand from networks/simple.bp (x = 2, y = 1, w1 = 0.5, b1 = 0.1,
w2 = -0.3, b2 = 0.2: h = 1.1, g = -0.13, ∂L/∂g = -(y - g) = -1.13, ∂L/∂w1 = -1.13·w2·x = 0.678).
"""

from __future__ import annotations

import json
import math

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from bptrace.cli.app import app

SIMPLE = ROOT / "networks" / "simple.bp"


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "120"})


def test_an_escape_sequence_after_a_comment_in_a_vs_value_is_never_echoed():
    # `set tie = split # …` parses: the comment is dropped, and must not reach the terminal
    result = invoke("compare", SIMPLE, "--vs", "lr=0.2 # \x1b[2J\x1b]0;pwned\x07")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "B: with lr = 0.2." in result.output and "pwned" not in result.output
    doc = json.loads(invoke("compare", SIMPLE, "--vs", "lr=0.2 # x\x1b", "--json").stdout)
    assert doc["b"] == {"lr": "0.2"}


def test_a_vs_value_is_echoed_as_parsed_not_as_typed():
    result = invoke("compare", SIMPLE, "--vs", "  lr  =  1/5 ")
    assert result.exit_code == 0, result.output
    assert "B: with lr = 1/5." in result.output
    assert "0.3644" in result.output  # w1 after: 0.5 - 0.2·0.678


@pytest.mark.parametrize(("vs", "option"), [("lr=0.2", "--lr=0.3"), ("seed=7", "--seed=5")])
def test_an_option_that_sets_the_vs_setting_in_both_traces_is_a_usage_error(vs, option):
    # --lr and --seed win over the file's settings in both traces: B would silently equal A
    path = ROOT / "networks" / "xor.bp"
    result = invoke("compare", path, "--vs", vs, option)
    assert result.exit_code == 2, result.output
    name = vs.partition("=")[0]
    assert f"--vs {vs} and --{name}" in result.stderr and "both set" in result.stderr


@pytest.mark.parametrize(
    ("vs", "says"),
    [
        ("tie=split", "with tie = split: 'tie' changes nothing here: the network calls no max"),
        ("momentum=0.5", "'momentum' is a setting of the momentum optimizer"),
        ("momentum_form=nesterov", "'momentum_form' is a setting of the momentum optimizer"),
    ],
)
def test_a_vs_setting_that_changes_nothing_is_warned_of_as_run_warns_of_it(vs, says):
    result = invoke("compare", SIMPLE, "--vs", vs)
    assert result.exit_code == 0, result.output
    assert "No number differs" in result.output
    assert says in result.stderr


def test_a_vs_setting_the_file_has_already_is_warned_of():
    result = invoke("compare", SIMPLE, "--vs", "lr=1/10")
    assert result.exit_code == 0, result.output
    assert "--vs lr=1/10 changes nothing: " in result.stderr
    assert "simple.bp sets lr to it already" in result.stderr
    result = invoke("compare", SIMPLE, "--vs", "tie=first")
    assert "--vs tie=first changes nothing: tie = first is the default" in result.stderr


def test_a_setting_that_changes_numbers_warns_of_nothing():
    result = invoke("compare", SIMPLE, "--vs", "lr=0.2")
    assert result.exit_code == 0 and result.stderr == ""


def test_the_effect_of_a_momentum_form_is_that_forms_alone(tmp_path):
    path = tmp_path / "m.bp"
    path.write_text(
        "param w = 0.3\ninput x = 2\ntarget y = 1\nloss L = 1/2*(y - w*x)^2\n"
        "set optimizer = momentum\nset momentum = 0.5\n"
    )
    result = invoke("compare", path, "--vs", "momentum_form=nesterov")
    assert "momentum_form = nesterov: the params move by α·(g + μ·v)" in result.output
    assert "sutskever" not in result.output
    result = invoke("compare", path, "--vs", "momentum_form=sutskever")
    assert "nesterov" not in result.output and "α times pytorch's" in result.output


def test_an_error_about_a_vs_setting_does_not_speak_of_a_line_of_the_file():
    result = invoke("compare", ROOT / "networks" / "logistic.bp", "--vs", "half=false")
    assert result.exit_code == 2, result.output
    assert "has none" in result.stderr and "remove this line" not in result.stderr
    assert "write the loss as 1/2*X" in result.stderr
    result = invoke("compare", ROOT / "networks" / "xor.bp", "--vs", "batch=-1")
    assert result.exit_code == 2 and "(write --vs batch=1)" in result.stderr


def test_a_mistakes_formula_with_indices_is_not_read_as_markup():
    # rich would take [i] and [j] for markup (italic) and print ∂h/∂v taken as W
    result = invoke("mistakes", ROOT / "networks" / "two_layer_matrix.bp")
    assert result.exit_code == 0, result.output
    assert "∂h[i]/∂v[j]" in result.output and "W[j,i])" in result.output


@pytest.mark.parametrize(
    "loss", ["1/2*(y - g)*(y - g)", "(1/2)*(y - g)^2/1", "(y - g)^2*1/2", "0.5*(y - g)^2"]
)
def test_the_half_mistakes_find_the_half_where_set_half_finds_it(tmp_path, loss):
    # `set half = false` drops these ½s; the mistakes must see the same ½ (engine/half.py)
    path = tmp_path / "net.bp"
    path.write_text(SIMPLE.read_text().replace("1/2*(y - g)^2", loss))
    assert invoke("compare", path, "--vs", "half=false").exit_code == 0
    for mistake, factor in (("half-dropped", 2), ("half-doubled", 0.5)):
        result = invoke("mistakes", path, "--show", mistake, "--json")
        assert result.exit_code == 0, result.output
        (entry,) = json.loads(result.stdout)["mistakes"]
        assert entry["applicable"], entry["reason"]
        # ∂L/∂g = -(y - g) = -1.13 by hand; the student's is factor times it
        assert entry["first"]["subject"] == ["L", "g"]
        assert entry["right_value"] == pytest.approx(-1.13, rel=1e-12)
        assert entry["mistaken_value"] == pytest.approx(-1.13 * factor, rel=1e-12)


def test_a_ratio_that_overflows_is_no_factor():
    # w1 after: 0.5 - 1e308·0.678 = -6.78e307, finite; b1 after / 0.0661 overflows to -inf
    result = invoke("compare", SIMPLE, "--vs", "lr=1e308", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout, parse_constant=pytest.fail)
    ratios = {tuple(d["subject"]): d["ratio"] for d in doc["differences"]}
    assert ratios[("b1",)] is None and ratios[("w2",)] is None
    assert ratios[("w1",)] == pytest.approx((0.5 - 1e308 * 0.678) / (0.5 - 0.1 * 0.678))


def test_a_second_trace_stopping_at_its_final_loss_is_said_in_words():
    # the params after step 1 are ±1e308: the final loss overflows, after step 1
    result = invoke("compare", SIMPLE, "--vs", "lr=1e308")
    assert result.exit_code == 0, result.output
    assert "training stops after step 1, at the final loss: node g" in result.output
    assert "stops at after" not in result.output


def _mazur() -> str:
    """Return Mazur's network as docs/conventions.md writes it."""
    doc = (ROOT / "docs" / "conventions.md").read_text()
    start = doc.index("input i1 = 0.05")
    return doc[start : doc.index("```", start)]


def test_one_at_a_time_on_mazurs_example_is_the_figure_the_docs_give(tmp_path):
    path = tmp_path / "mazur.bp"
    path.write_text(_mazur())
    result = invoke("mistakes", path, "--show", "one-at-a-time", "--json")
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)["mistakes"]
    (final,) = [d for d in entry["differences"] if d["table"] == "final"]

    # By hand: the same network in plain Python, each weight in source order moved by its
    # gradient (central differences) at the weights moved so far.
    def sigma(z):
        return 1 / (1 + math.exp(-z))

    def error(w):
        h1 = sigma(w[0] * 0.05 + w[1] * 0.10 + 0.35)
        h2 = sigma(w[2] * 0.05 + w[3] * 0.10 + 0.35)
        o1 = sigma(w[4] * h1 + w[5] * h2 + 0.60)
        o2 = sigma(w[6] * h1 + w[7] * h2 + 0.60)
        return 0.5 * (0.01 - o1) ** 2 + 0.5 * (0.99 - o2) ** 2

    w = [0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55]
    for i in range(8):
        up, down = list(w), list(w)
        up[i] += 1e-6
        down[i] -= 1e-6
        w[i] -= 0.5 * (error(up) - error(down)) / 2e-6
    assert final["b"] == pytest.approx(error(w), abs=1e-11)
    # the docs' table gives it for this order
    row = next(
        line
        for line in (ROOT / "docs" / "conventions.md").read_text().splitlines()
        if "--show one-at-a-time" in line and line.startswith("|")
    )
    assert f"{final['b']:.9f}" in row


def test_no_mistake_is_made_on_a_network_without_params(tmp_path):
    # its loss has a ½, but no gradient of a param to spoil: "changes no number" would mislead
    path = tmp_path / "net.bp"
    path.write_text("input x = 2\nconst c = 3\nloss L = 1/2*(c*x - 1)^2\n")
    result = invoke("mistakes", path, "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)["mistakes"]
    assert all(not m["applicable"] and m["reason"] == "no param" for m in found)


@pytest.mark.parametrize(
    "args",
    [
        ("compare", SIMPLE, "--vs", "half=false"),
        ("compare", ROOT / "networks" / "xor.bp", "--vs", "reduction=sum"),
        ("mistakes", ROOT / "networks" / "two_layer_matrix.bp"),
        ("mistakes", SIMPLE, "--show", "half-dropped"),
        ("mistakes", ROOT / "networks" / "xor.bp", "--show", "mean-twice"),
        ("mistakes", ROOT / "networks" / "fanout.bp"),  # "not made here: the loss has no ½"
        ("mistakes", ROOT / "networks" / "fanout.bp", "--show", "half-dropped"),
        ("mistakes", ROOT / "networks" / "simple.bp", "--show", "sigmoid-missing"),
    ],
    ids=lambda a: " ".join(str(x).rsplit("/", 1)[-1] for x in a),
)
def test_ascii_output_is_ascii(args):
    # --ascii: a terminal that cannot show Unicode; ×2, →, ½, ∂L/∂g, σ′, α, μ, ─ included
    result = invoke(*args, "--ascii")
    assert result.exit_code == 0, result.output
    assert result.output.isascii(), [c for c in result.output if not c.isascii()][:5]


def test_ascii_spells_the_sentences_as_bp_text():
    result = invoke("compare", SIMPLE, "--vs", "half=false", "--ascii")
    assert "L   0.6385   1.277      x2" in result.output
    assert "1/2*(y - g)^2 -> (y - g)^2" in result.output.replace("\n", " ").replace("  ", " ")
    result = invoke("mistakes", SIMPLE, "--show", "half-dropped", "--ascii")
    assert "dL/dg = 1/2*2(y - g)*(-1) = -(y - g)" in result.output.replace("\n", " ")


def test_a_heading_too_long_for_the_width_is_ruled_in_ascii_with_ascii():
    import io

    from bptrace.views.terminal.steps import Heading, PipeConsole

    out = io.StringIO()
    PipeConsole(file=out, width=40, ascii_only=True).print(Heading("a title " * 10))
    assert out.getvalue().isascii() and out.getvalue().startswith("-" * 40)


@pytest.mark.parametrize(
    "vs", ["lr=" + "9" * 5000, "x" * 5000, "lr=" + "-" * 5000 + "1", "lr=" + "(" * 300 + "1"]
)
def test_a_very_long_vs_is_cut_short_where_it_is_echoed(vs):
    result = invoke("compare", SIMPLE, "--vs", vs)
    assert result.exit_code == 2, result.output
    assert len(result.stderr) < 300 and "..." in result.stderr
    assert "Traceback" not in result.output


def test_a_long_vs_that_works_is_cut_short_in_the_text_and_whole_in_the_json():
    value = "+".join(["1/100"] * 20)  # lr = 0.2
    result = invoke("compare", SIMPLE, "--vs", f"lr={value}")
    assert result.exit_code == 0, result.output
    assert "B: with lr = 1/100 + 1/100 + 1/100 + 1/100 + 1/100...." in result.output
    assert "0.3644" in result.output  # w1 after: 0.5 - 0.2·0.678
    doc = json.loads(invoke("compare", SIMPLE, "--vs", f"lr={value}", "--json").stdout)
    assert doc["b"]["lr"] == " + ".join(["1/100"] * 20)


def test_the_losss_direct_partial_is_marked_as_run_marks_it():
    # networks/fanout.bp: L = c*a with c = 4a, so the local ∂L/∂a = c and the gradient
    # ∂L/∂a = 8a. Step 2: a = 3 - 0.05·24 = 1.8 (A), 3 - 0.01·24 = 2.76 (B): c = 7.2 and 11.04
    result = invoke("compare", ROOT / "networks" / "fanout.bp", "--vs", "lr=0.01", "-n", "2")
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.output.splitlines()]
    assert ["∂L/∂a", "(direct)", "7.2", "11.04", "from", "c"] in rows
    assert ["∂L/∂a", "14.4", "22.08", "from", "local", "∂L/∂a", "(direct)"] in rows


def test_where_the_change_acted_it_acts_at_later_steps_too_beside_the_cause():
    from conftest import load

    from bptrace.engine.compare import compare
    from bptrace.engine.tracer import trace

    text = SIMPLE.read_text()
    a, b = load(text), load(text.replace("set lr = 0.1", "set lr = 0.2"))
    c = compare(a, trace(a, 2), b, trace(b, 2))
    by_key = {d.cell.key: d for d in c.differences}
    after = by_key[(2, "updates", ("w1",), "after")]
    gradient = by_key[(2, "updates", ("w1",), "gradient")]
    # step 2 in B by hand: w1 = 0.5 - 0.2·0.678 = 0.3644, b1 = 0.1 - 0.2·0.339 = 0.0322,
    # w2 = -0.3 + 0.2·1.243 = -0.0514, b2 = 0.2 + 0.2·1.13 = 0.426
    h = 2 * 0.3644 + 0.0322
    g = h * -0.0514 + 0.426
    grad_w1 = -(1 - g) * -0.0514 * 2
    assert gradient.b.value == pytest.approx(grad_w1, rel=1e-9)
    assert gradient.cause is not None and not gradient.acts  # the right formula, B's params
    # after: B's lr, 0.2, not A's, moves it: the change acts here as at step 1
    assert after.b.value == pytest.approx(0.3644 - 0.2 * grad_w1, rel=1e-9)
    assert after.b.value != pytest.approx(0.3644 - 0.1 * grad_w1, rel=1e-6)
    assert after.cause == (2, "leaves", ("w1",), "value") and after.acts
    result = invoke("compare", SIMPLE, "--vs", "lr=0.2", "-n", "2")
    assert "from w₁ and 1 more, and lr = 0.2 acts here" in result.output


def test_a_mistake_made_at_every_step_is_said_where_its_cause_is_too():
    # fanout.bp, overwrite-at-fork, step 2: ∂L/∂a = 9.6 (the mistake, by hand in test_mistakes)
    # differs from its cause's changed value and from the overwrite again
    path = ROOT / "networks" / "fanout.bp"
    result = invoke("mistakes", path, "--show", "overwrite-at-fork", "-n", "2", "--json")
    (entry,) = json.loads(result.stdout)["mistakes"]
    (grad,) = [
        d
        for d in entry["differences"]
        if d["step"] == 2 and d["table"] == "gradients" and d["subject"] == ["a"]
    ]
    # with += at a = 2.4 it would be 8·2.4 = 19.2; the student's is 9.6
    assert grad["b"] == pytest.approx(9.6) and grad["cause"] is not None and grad["acts"]


def _mazur_error(w, half=True):
    """Return Mazur's E at the weights `w` (w1..w8), by hand: with the ½ of each term or not."""

    def sigma(z):
        return 1 / (1 + math.exp(-z))

    h1 = sigma(w[0] * 0.05 + w[1] * 0.10 + 0.35)
    h2 = sigma(w[2] * 0.05 + w[3] * 0.10 + 0.35)
    o1 = sigma(w[4] * h1 + w[5] * h2 + 0.60)
    o2 = sigma(w[6] * h1 + w[7] * h2 + 0.60)
    factor = 0.5 if half else 1.0
    return factor * (0.01 - o1) ** 2 + factor * (0.99 - o2) ** 2


def test_a_half_in_every_term_of_a_sum_is_the_losss_half(tmp_path):
    # Mazur's E = ½(t1 − o1)² + ½(t2 − o2)²: --vs half=false drops both ½s (it was an error)
    path = tmp_path / "mazur.bp"
    path.write_text(_mazur())
    result = invoke("compare", path, "--vs", "half=false", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    got = {
        d["subject"][0]: d["b"]
        for d in doc["differences"]
        if d["table"] == "gradients" and d["subject"][0].startswith("w")
    }
    w = [0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55]
    for i in range(8):  # central differences of E without its ½s
        up, down = list(w), list(w)
        up[i] += 1e-6
        down[i] -= 1e-6
        slope = (_mazur_error(up, False) - _mazur_error(down, False)) / 2e-6
        assert got[f"w{i + 1}"] == pytest.approx(slope, rel=1e-6)
    # the mistakes find the same ½: ∂E/∂o1 = −(t1 − o1) right, −2(t1 − o1) with it dropped
    result = invoke("mistakes", path, "--show", "half-dropped", "--json")
    (entry,) = json.loads(result.stdout)["mistakes"]
    assert entry["applicable"] and entry["first"]["subject"] == ["E", "o1"]
    assert entry["mistaken_value"] == pytest.approx(2 * entry["right_value"], rel=1e-12)


def test_a_half_in_some_terms_only_is_not_the_losss_half(tmp_path):
    path = tmp_path / "net.bp"
    path.write_text(_mazur().replace("+ 1/2*(t2 - o2)^2", "+ (t2 - o2)^2"))
    result = invoke("compare", path, "--vs", "half=false")
    assert result.exit_code == 2 and "has none" in result.stderr


def test_a_very_long_show_is_cut_short_where_it_is_echoed():
    result = invoke("mistakes", SIMPLE, "--show", "a" * 5000)
    assert result.exit_code == 2 and len(result.stderr) < 400 and "..." in result.stderr


def test_the_json_lists_the_warnings_of_the_comparison():
    result = invoke("compare", SIMPLE, "--vs", "tie=split", "--vs", "lr=0.2", "--json")
    assert result.exit_code == 0, result.output
    (warning,) = json.loads(result.stdout)["warnings"]
    assert warning.startswith("with tie = split, lr = 0.2: 'tie' changes nothing here")
    assert (
        json.loads(invoke("compare", SIMPLE, "--vs", "lr=0.2", "--json").stdout)["warnings"] == []
    )


MOMENTUM = """param w = 0.3
param c = -0.2
input x = 2
target y = 1
loss L = 1/2*(y - w*x - c)^2
set optimizer = momentum
set momentum = 0.5
"""


def test_compare_nesterov_over_three_steps_is_pytorchs_formula(tmp_path):
    path = tmp_path / "m.bp"
    path.write_text(MOMENTUM)
    result = invoke("compare", path, "--vs", "momentum_form=nesterov", "-n", "3", "--json")
    assert result.exit_code == 0, result.output
    got = {
        (d["step"], d["subject"][0], d["column"]): d["b"]
        for d in json.loads(result.stdout)["differences"]
        if d["table"] == "updates"
    }
    # torch.optim.SGD(nesterov=True), written out: b = μb + g; p -= lr·(g + μb)
    w, c, bw, bc, mu, lr = 0.3, -0.2, 0.0, 0.0, 0.5, 0.1
    for step in (1, 2, 3):
        r = 1 - w * 2 - c
        gw, gc = -r * 2, -r
        bw, bc = mu * bw + gw, mu * bc + gc
        w, c = w - lr * (gw + mu * bw), c - lr * (gc + mu * bc)
        assert got[(step, "w", "after")] == pytest.approx(w, rel=1e-12)
        assert got[(step, "c", "after")] == pytest.approx(c, rel=1e-12)
        assert got[(step, "w", "direction")] == pytest.approx(gw + mu * bw, rel=1e-12)


def test_compare_sutskever_moves_the_params_as_pytorch_and_scales_the_velocity(tmp_path):
    path = tmp_path / "m.bp"
    path.write_text(MOMENTUM)
    result = invoke("compare", path, "--vs", "momentum_form=sutskever", "-n", "3", "--json")
    differences = json.loads(result.stdout)["differences"]
    assert {d["column"] for d in differences} == {"velocity"}  # no param moves otherwise
    assert all(d["ratio"] == pytest.approx(0.1, rel=1e-12) for d in differences)  # v·α


@pytest.mark.parametrize(
    ("vs", "says"),
    [
        ("seed=5", "draws no param at random"),
        ("reduction=sum", "has one sample"),
    ],
)
def test_a_setting_with_nothing_to_act_on_says_so(vs, says):
    result = invoke("compare", SIMPLE, "--vs", vs)
    assert result.exit_code == 0 and "No number differs" in result.output
    assert f"--vs {vs} changes nothing: " in result.stderr and says in result.stderr
    # where it has something to act on, it is not warned of
    result = invoke("compare", ROOT / "networks" / "xor.bp", "--vs", vs)
    assert result.exit_code == 0 and result.stderr == ""


def test_a_kink_within_rounding_of_0_is_warned_of_as_run_warns_of_it(tmp_path):
    # 0.1·3 − 0.3 is 0 by hand, 5.6e-17 in floats: relu_at_0 changes nothing here, and a lecturer
    # comparing relu_at_0 = 1 with 0 must hear why
    assert 0.1 * 3 - 0.3 != 0
    path = tmp_path / "net.bp"
    path.write_text(
        "param w = 0.1\ninput x = 3\nz = w*x - 0.3\nh = relu(z)\nloss L = 3*h\nset relu_at_0 = 1\n"
    )
    for args in (("compare", path, "--vs", "relu_at_0=0"), ("mistakes", path)):
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        assert "relu's argument in node h is 5.551e-17, within rounding of 0" in result.stderr
    result = invoke("compare", path, "--vs", "relu_at_0=0")
    assert "No number differs over 1 step (1 formula differs)." in result.output


def _two_layer_gradients(p):
    """Return networks/two_layer.bp's gradients at the params `p`, by hand (the chain rule)."""

    def sigma(z):
        return 1 / (1 + math.exp(-z))

    x0, x1, y = 0.5, -1, 1
    a0 = sigma(x0 * p["w0"] + x1 * p["w2"] + p["b0"])
    a1 = sigma(x0 * p["w1"] + x1 * p["w3"] + p["b1"])
    d2 = -(y - (a0 * p["w4"] + a1 * p["w5"] + p["b2"]))
    d0, d1 = d2 * p["w4"] * a0 * (1 - a0), d2 * p["w5"] * a1 * (1 - a1)
    return {"w0": d0 * x0, "w1": d1 * x0}


def test_two_numbers_that_differ_are_never_shown_alike():
    # one-at-a-time on two_layer.bp: w1 moves by its gradient at w0 moved first. Both w1 afters
    # are −0.228 at 4 digits; shown with the digits that tell them apart
    p = {"w0": 0.1, "w1": -0.2, "w2": 0.3, "w3": 0.4, "w4": 0.5, "w5": -0.6}
    p |= {"b0": 0.1, "b1": 0.0, "b2": 0.2}
    right = -0.2 - 0.5 * _two_layer_gradients(p)["w1"]
    moved = p | {"w0": 0.1 - 0.5 * _two_layer_gradients(p)["w0"]}
    wrong = -0.2 - 0.5 * _two_layer_gradients(moved)["w1"]
    assert f"{right:.4g}" == f"{wrong:.4g}" and right != pytest.approx(wrong, rel=1e-6)
    path = ROOT / "networks" / "two_layer.bp"
    result = invoke("mistakes", path, "--show", "one-at-a-time")
    row = next(line.split() for line in result.output.splitlines() if line.startswith("w₁ after"))
    a, b = (float(v.replace("−", "-")) for v in row[2:4])
    assert row[2] != row[3]
    assert a == pytest.approx(right, abs=1e-5) and b == pytest.approx(wrong, abs=1e-5)


def test_a_first_difference_after_the_last_update_is_said_in_words():
    # no setting reaches it from a file (each shows at a step first): a comparison made by hand,
    # whose only difference is the final loss of a 1-step run
    from bptrace.cli.differ import counted
    from bptrace.engine.cells import Cell
    from bptrace.engine.compare import Comparison, Difference
    from bptrace.language.printer import MATH
    from bptrace.views.differences import Names
    from bptrace.views.writers import Writer

    a, b = Cell(2, "final", ("L",), "value", 1.0), Cell(2, "final", ("L",), "value", 2.0)
    comparison = Comparison((Difference(a, b, None, 2.0),), 10, 1)
    said = counted(comparison, Names("L"), Writer(MATH, 4))
    assert said == "1 of 10 numbers differ over 1 step; the first after the last update: L."


@pytest.mark.parametrize(
    ("loss", "warned"),
    [
        ("-(y*log(p) + (1 - y)*log(1 - p))", True),  # cross-entropy: no squared error
        ("(y - p)^2", False),
        ("(y - p)*(y - p)", False),
        ("abs(y - p)", True),
    ],
)
def test_half_true_on_a_loss_that_squares_nothing_is_warned_of(tmp_path, loss, warned):
    path = tmp_path / "net.bp"
    path.write_text(
        f"param w = 0.2\ninput x = 1.5\ntarget y = 1\np = σ(w*x)\nloss L = {loss}\n", "utf-8"
    )
    result = invoke("compare", path, "--vs", "half=true")
    assert result.exit_code == 0, result.output
    assert ("squares nothing" in result.stderr) == warned
    path.write_text(path.read_text("utf-8") + "set half = true\n", "utf-8")
    result = invoke("run", path)
    assert result.exit_code == 0 and ("squares nothing" in result.stderr) == warned
