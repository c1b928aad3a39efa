"""The conventions (`set relu_at_0`, `tie`, `half`, `momentum_form`) against values worked out by
hand, by plain Python loops written here, and by finite differences; their defaults change
nothing."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import NETWORKS, ROOT, finite_difference, load
from typer.testing import CliRunner

from bptrace.cli.app import app
from bptrace.engine.conventions import CONVENTIONS
from bptrace.engine.evaluate import run
from bptrace.engine.graph import SETTINGS, build_graph
from bptrace.engine.ops import FUNCTIONS
from bptrace.engine.tracer import Step, trace
from bptrace.language.parser import parse
from bptrace.language.printer import show

ENV = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}


def invoke(*args):
    return CliRunner(env=ENV).invoke(app, list(args), prog_name="bptrace")


def first_step(graph) -> Step:
    return next(r for r in trace(graph, 1) if isinstance(r, Step))


def grads(graph, steps: int = 1) -> dict[str, float]:
    """Return the params' gradients at step `steps`."""
    record = [r for r in trace(graph, steps) if isinstance(r, Step)][-1]
    return {u.param: float(u.grad) for u in record.updates}


def partial(graph, of: str, wrt: str):
    return next(e for n in graph.nodes if n.name == of for e in n.edges if e.wrt == wrt)


# -- relu_at_0 ---------------------------------------------------------------------------------

# z = w·x + b = 0.5·2 − 1 = 0 exactly, in floats too: relu sits on its kink.
AT_KINK = """param w = 0.5
param b = -1
input x = 2
z = w*x + b
h = relu(z)
loss L = 3*h
"""


@pytest.mark.parametrize("c", [0.0, 0.25, 0.5, 1.0])
def test_relu_at_0_is_the_partial_at_the_kink(c):
    graph = load(AT_KINK + ("" if c == 0 else f"set relu_at_0 = {c}\n"))
    # by hand: ∂h/∂z at z = 0 is C; ∂L/∂w = 3·C·x = 6C, ∂L/∂b = 3·C
    edge = partial(graph, "h", "z")
    assert show(edge.formula) == ("step(z)" if c == 0 else f"heaviside(z, {c:g})")
    assert run(edge.program, {"z": 0.0}) == c
    got = grads(graph)
    assert got == {"w": 6 * c, "b": 3 * c}


def test_relu_at_0_written_as_a_fraction_is_exact():
    graph = load(AT_KINK + "set relu_at_0 = 1/3\n")
    assert show(partial(graph, "h", "z").formula) == "heaviside(z, 1/3)"
    assert grads(graph)["b"] == 3 * (1 / 3)


@pytest.mark.parametrize("c", [0.0, 0.3, 1.0])
def test_away_from_0_relu_at_0_changes_nothing_central_differences_agree(c):
    graph = load(AT_KINK + f"set relu_at_0 = {c}\n")
    edge = partial(graph, "h", "z")
    h = 1e-6
    relu = FUNCTIONS["relu"].value
    for z in np.linspace(-2, 2, 41):
        z = float(z) + 0.013  # never 0
        numeric = (relu(z + h) - relu(z - h)) / (2 * h)
        assert run(edge.program, {"z": z}) == pytest.approx(numeric, abs=1e-9)


def test_heaviside_is_numpys_and_its_partials():
    op = FUNCTIONS["heaviside"]
    for c in (0.0, 0.3, 1.0):
        assert op.value(0.0, c) == c == np.heaviside(0.0, c)
        assert op.value(-0.0, c) == c
        assert op.value(-1e-300, c) == 0.0
        assert op.value(5e-324, c) == 1.0
    assert op.value(np.array([-1.0, 0.0, 2.0]), 0.25).tolist() == [0.0, 0.25, 1.0]
    graph = load("param u = 0\nparam c = 0.3\nloss L = heaviside(u, c)\n")
    du, dc = (partial(graph, "L", name) for name in ("u", "c"))
    assert show(du.formula) == "0"
    h = 1e-6
    # ∂/∂c: 1 at u = 0, where heaviside(0, c) = c; 0 elsewhere, where c is not read
    for u in (0.0, 0.5, -0.5):
        numeric = (op.value(u, 0.3 + h) - op.value(u, 0.3 - h)) / (2 * h)
        assert run(dc.program, {"u": u, "c": 0.3}) == pytest.approx(numeric, abs=1e-9)
        if u:
            numeric_u = (op.value(u + h, 0.3) - op.value(u - h, 0.3)) / (2 * h)
            assert run(du.program, {"u": u, "c": 0.3}) == numeric_u == 0


# -- tie -----------------------------------------------------------------------------------------

# w1 = w2: the two units tie. m = 0.25·2 = 0.5, ∂L/∂m = −(y − m) = −0.5, ∂hᵢ/∂wᵢ = x = 2.
TIE = """param w1 = 0.25
param w2 = 0.25
input x = 2
target y = 1
h1 = w1*x
h2 = w2*x
m = {fn}(h1, h2)
loss L = 1/2*(y - m)^2
"""


@pytest.mark.parametrize(
    ("tie", "share"), [("first", (1, 0)), ("split", (0.5, 0.5)), ("last", (0, 1))]
)
@pytest.mark.parametrize("fn", ["max", "min"])
def test_a_tie_sends_the_gradient_as_set(fn, tie, share):
    graph = load(TIE.format(fn=fn) + f"set tie = {tie}\n")
    dm = -(1 - 0.5)
    assert grads(graph) == {"w1": dm * share[0] * 2, "w2": dm * share[1] * 2}


@pytest.mark.parametrize("fn", ["max", "min"])
def test_split_is_the_mean_of_the_one_sided_derivatives(fn):
    """max(a, b) at a = b: moving a up alone, max follows it (slope 1 for max, 0 for min); moving
    it down alone, max stays at b (0; min follows: 1). first takes the side on which a wins, last
    the side on which b wins, split their mean: the central difference."""
    text = f"param a = 1\nparam b = 1\nloss L = 3*{fn}(a, b)\n"
    graphs = {tie: load(text + f"set tie = {tie}\n") for tie in ("first", "split", "last")}
    params, h = {"a": 1.0, "b": 1.0}, 1e-6
    g = graphs["first"]
    from conftest import loss_at

    right = (loss_at(g, {"a": 1 + h, "b": 1.0}) - loss_at(g, params)) / h
    left = (loss_at(g, params) - loss_at(g, {"a": 1 - h, "b": 1.0})) / h
    wins_up = right if fn == "max" else left  # the side of a on which a is the one taken
    loses = left if fn == "max" else right
    assert grads(graphs["first"])["a"] == pytest.approx(wins_up, abs=1e-6)
    assert grads(graphs["last"])["a"] == pytest.approx(loses, abs=1e-6)
    assert grads(graphs["split"])["a"] == pytest.approx((left + right) / 2, abs=1e-6)
    assert grads(graphs["split"])["a"] == pytest.approx(finite_difference(g, params, "a"))
    for graph in graphs.values():  # along a = b = t, L = 3t: the two shares always add up to 3
        got = grads(graph)
        assert got["a"] + got["b"] == 3


def test_the_tie_leaves_logaddexp_and_softmax_alone():
    # logaddexp (and softmax, logsumexp, built from it) is smooth: σ(0) = 1/2 at a tie, whatever
    # the convention.
    text = "param a = 1\nparam b = 1\nloss L = logaddexp(a, b)\n"
    for tie in ("first", "split", "last"):
        graph = load(text + f"set tie = {tie}\n")
        assert grads(graph) == {"a": 0.5, "b": 0.5}


def test_a_tie_in_a_layer_follows_the_setting():
    text = (
        "param W[2,1] = [[1], [1]]\ninput x[1] = [2]\nz = W @ x\n"
        "loss L = max(z[1], z[2])\nset tie = split\n"
    )
    assert grads(load(text)) == {"W[1,1]": 1.0, "W[2,1]": 1.0}  # ½·x each


# -- half ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loss", "without"),
    [
        ("1/2*(y - w*x)^2", "(y - w*x)^2"),
        ("0.5*(y - w*x)^2", "(y - w*x)^2"),
        ("(1/2)*(y - w*x)^2", "(y - w*x)^2"),
        ("(y - w*x)^2*1/2", "(y - w*x)^2"),
        ("(y - w*x)^2/2", "(y - w*x)^2"),
        ("(y - w*x)^2*0.5", "(y - w*x)^2"),
        ("1/2*(y - w*x)*(y - w*x)", "(y - w*x)*(y - w*x)"),
        ("-1/2*(w*x - y)^2", "-1*(w*x - y)^2"),  # −½ read as (−1)/2: −1 is left
    ],
)
def test_half_false_drops_the_written_half(loss, without):
    text = f"param w = 0.3\ninput x = 2\ntarget y = 1\nloss L = {loss}\n"
    graph = load(text + "set half = false\n")
    assert show(graph.nodes[-1].expr) == without
    assert show(load(text + "set half = true\n").nodes[-1].expr) == show(load(text).nodes[-1].expr)
    halved = load(f"param w = 0.3\ninput x = 2\ntarget y = 1\nloss L = {without}\n")
    assert grads(graph) == grads(halved)


@pytest.mark.parametrize("network", ["two_layer.bp", "xor.bp", "layers.bp", "two_layer_matrix.bp"])
def test_without_the_half_every_gradient_doubles(network):
    text = (ROOT / "networks" / network).read_text("utf-8")
    written, dropped = load(text), load(text + "\nset half = false\n")
    for steps in (1,):
        by_hand = {p: 2 * g for p, g in grads(written, steps).items()}
        assert grads(dropped, steps) == by_hand  # times 2 is exact in floats
    # the loss without its ½, differentiated numerically
    params = dropped.initial_params()
    for p, g in grads(dropped).items():
        assert g == pytest.approx(finite_difference(dropped, params, p), rel=1e-5, abs=1e-8)


def test_half_true_adds_a_half_where_there_is_none():
    text = "param w = 0.3\ninput x = 2\ntarget y = 1\nloss L = (y - w*x)^2\n"
    graph = load(text + "set half = true\n")
    assert show(graph.nodes[-1].expr) == "1/2*(y - w*x)^2"
    # by hand: L = ½(y − wx)², ∂L/∂w = −(y − wx)·x = −(1 − 0.6)·2
    assert grads(graph)["w"] == pytest.approx(-0.8, rel=1e-15)
    assert grads(load(text))["w"] == pytest.approx(-1.6, rel=1e-15)


def test_the_forward_table_shows_the_loss_computed(tmp_path):
    path = tmp_path / "net.bp"
    path.write_text(
        (ROOT / "networks" / "simple.bp").read_text("utf-8") + "set half = false\n", "utf-8"
    )
    result = invoke("run", str(path), "--steps", "1", "--ascii")
    assert result.exit_code == 0, result.stderr
    loss_row = next(line for line in result.stdout.splitlines() if line.startswith("loss L"))
    assert "(y - g)^2" in loss_row and "1/2" not in loss_row


# -- momentum_form -------------------------------------------------------------------------------

MOMENTUM = """param w = 0.3
input x = 2
target y = 1
loss L = 1/2*(y - w*x)^2
set optimizer = momentum
set momentum = 0.6
set lr = 0.05
"""


def grad_at(w: float) -> float:
    """∂L/∂w of MOMENTUM's loss, by hand: −(y − w·x)·x."""
    return -(1 - w * 2) * 2


def updates(form: str, steps: int = 3):
    graph = load(MOMENTUM + f"set momentum_form = {form}\n")
    return [r.updates[0] for r in trace(graph, steps) if isinstance(r, Step)]


def test_pytorch_form_by_hand():
    w, v, mu, lr = 0.3, 0.0, 0.6, 0.05
    for u in updates("pytorch"):
        g = grad_at(w)
        v = mu * v + g
        w = w - lr * v
        assert (u.grad, u.state["velocity"], u.after) == pytest.approx((g, v, w), rel=1e-14)


def test_sutskever_form_by_hand_moves_as_pytorch_with_alpha_times_the_velocity():
    w, v, mu, lr = 0.3, 0.0, 0.6, 0.05
    sutskever, pytorch = updates("sutskever"), updates("pytorch")
    for u, p in zip(sutskever, pytorch):
        g = grad_at(w)
        v = mu * v + lr * g  # Sutskever et al. (2013) eq. 1-2, with v's sign turned
        w = w - v
        assert (u.grad, u.state["velocity"], u.after) == pytest.approx((g, v, w), rel=1e-14)
        assert u.after == pytest.approx(p.after, rel=1e-15, abs=0)
        assert u.state["velocity"] == pytest.approx(lr * p.state["velocity"], rel=1e-15)


def test_nesterov_form_is_pytorchs_sgd_with_nesterov():
    # torch.optim.SGD's algorithm, as its documentation writes it (dampening τ = 0):
    #   b_t = μ·b_(t−1) + g_t (b_1 = g_1);  g_t ← g_t + μ·b_t;  θ_t = θ_(t−1) − γ·g_t
    theta, b, mu, gamma = 0.3, None, 0.6, 0.05
    for u in updates("nesterov"):
        g = grad_at(theta)
        b = g if b is None else mu * b + g
        direction = g + mu * b
        theta = theta - gamma * direction
        assert u.grad == pytest.approx(g, rel=1e-14)
        assert u.state == pytest.approx({"velocity": b, "direction": direction}, rel=1e-14)
        assert u.after == pytest.approx(theta, rel=1e-14)


def test_the_update_table_shows_each_forms_formula(tmp_path):
    expected = {
        "pytorch": ("velocity = mu*velocity + gradient", "after = before - lr*velocity"),
        "sutskever": ("velocity = mu*velocity + lr*gradient", "after = before - velocity"),
        "nesterov": ("direction = gradient + mu*velocity", "after = before - lr*direction"),
    }
    for form, clauses in expected.items():
        path = tmp_path / f"{form}.bp"
        path.write_text(MOMENTUM + f"set momentum_form = {form}\n", "utf-8")
        result = CliRunner(env={**ENV, "COLUMNS": "200"}).invoke(
            app, ["run", str(path), "--steps", "1", "--ascii"]
        )
        assert result.exit_code == 0, result.stderr
        title = next(line for line in result.stdout.splitlines() if line.startswith("Update"))
        for clause in clauses:
            assert clause in title, (form, title)


def test_momentum_form_without_momentum_is_warned(tmp_path):
    path = tmp_path / "net.bp"
    path.write_text("param w = 2\nloss L = w^2\nset momentum_form = nesterov\n", "utf-8")
    result = invoke("run", str(path), "--steps", "1")
    assert result.exit_code == 0
    assert "3:5: warning: 'momentum_form' is a setting of the momentum optimizer" in result.stderr


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "where", "message", "hint"),
    [
        ("set tie = splt", "3:11", "'tie' must be first, split or last", "did you mean 'split'?"),
        ("set ties = split", "3:5", "unknown setting 'ties'", "did you mean 'tie'?"),
        ("set relu_at_0 = 1.5", "3:17", "relu_at_0 must be from 0 to 1", "relu′(0), the slope"),
        ("set relu_at_0 = -0.1", "3:17", "relu_at_0 must be from 0 to 1", "relu′(0), the slope"),
        ("set momentum_form = polyak", "3:21", "'momentum_form' must be pytorch, sutskever or", ""),
        ("set half = false", "3:12", "but the loss 'L' (line 2) has none", "write the loss as"),
        ("set half = no", "3:12", "'half' must be written, true or false", ""),
    ],
)
def test_a_bad_convention_is_a_network_error_at_its_place(tmp_path, line, where, message, hint):
    path = tmp_path / "net.bp"
    path.write_text(f"param w = 2\nloss L = w^2\n{line}\n", "utf-8")
    result = invoke("run", str(path))
    assert result.exit_code == 4
    assert result.stdout == ""
    assert f"net.bp:{where}: error: " in result.stderr and message in result.stderr
    assert f"hint: {hint}" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_convention_set_twice_is_an_error(tmp_path):
    path = tmp_path / "net.bp"
    path.write_text("param w = 2\nloss L = w^2\nset tie = split\nset tie = last\n", "utf-8")
    result = invoke("run", str(path))
    assert result.exit_code == 4
    assert "4:5: error: 'tie' is already set on line 3" in result.stderr


# -- defaults change nothing ----------------------------------------------------------------------

DEFAULTS_WRITTEN = (
    "\nset half = written\nset relu_at_0 = 0\nset tie = first\nset reduction = mean\n"
)


@pytest.mark.parametrize("network", NETWORKS, ids=[p.name for p in NETWORKS])
def test_setting_every_default_prints_the_same_bytes(network, tmp_path):
    text = network.read_text("utf-8")
    explicit = text + DEFAULTS_WRITTEN
    if "set reduction" in text:
        explicit = explicit.replace("set reduction = mean\n", "")
    if "optimizer = momentum" in text:
        explicit += "set momentum_form = pytorch\n"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    plain, written = tmp_path / "a" / network.name, tmp_path / "b" / network.name
    plain.write_text(text, "utf-8")
    written.write_text(explicit, "utf-8")
    for args in (["--steps", "2"], ["--steps", "2", "--json"]):
        a = CliRunner(env=ENV).invoke(app, ["run", str(plain), *args])
        b = CliRunner(env=ENV).invoke(app, ["run", str(written), *args])
        assert a.exit_code == b.exit_code == 0
        assert b.stdout.replace(str(written), str(plain)) == a.stdout
        assert b.stderr.replace(str(written), str(plain)) == a.stderr


# -- JSON ----------------------------------------------------------------------------------------


def test_json_lists_the_conventions_not_at_their_defaults(tmp_path):
    import jsonschema

    schema = json.loads(invoke("schema").stdout)
    validator = jsonschema.Draft202012Validator(schema)
    cases = {
        "": None,
        "set tie = first\n": None,
        "set tie = split\nset relu_at_0 = 0.5\n": {"relu_at_0": 0.5, "tie": "split"},
        "set half = false\nset optimizer = momentum\nset momentum_form = nesterov\n": {
            "half": "false",
            "momentum_form": "nesterov",
        },
    }
    for i, (settings, conventions) in enumerate(cases.items()):
        path = tmp_path / f"net{i}.bp"
        path.write_text((ROOT / "networks" / "simple.bp").read_text("utf-8") + settings, "utf-8")
        result = invoke("run", str(path), "--steps", "1", "--json")
        assert result.exit_code == 0, result.stderr
        records = [json.loads(line) for line in result.stdout.splitlines()]
        for record in records:
            validator.validate(record)
        assert records[0].get("conventions") == conventions
        if conventions and "momentum_form" in conventions:
            assert set(records[1]["updates"][0]["state"]) == {"velocity", "direction"}


# -- the table of conventions --------------------------------------------------------------------


def test_every_convention_is_a_setting_with_its_default():
    assert list(CONVENTIONS) == ["reduction", "half", "relu_at_0", "tie", "momentum_form"]
    for c in CONVENTIONS.values():
        assert SETTINGS[c.name] == c.default
        assert c.doc and c.effect and c.source
        assert c.allows(c.default)


def test_the_conventions_load_without_numpy():
    code = (
        "import sys; import bptrace.engine.conventions; "
        "assert 'numpy' not in sys.modules, 'numpy loaded'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_a_setting_appended_to_the_statements_is_as_if_the_file_set_it():
    # how `compare --vs` builds its second network: the file's statements, then the `set`
    text = (ROOT / "networks" / "two_layer.bp").read_text("utf-8")
    given = parse("set half = false\nset tie = split\nset relu_at_0 = 1/4\n")
    appended = build_graph((*parse(text), *given))
    written = load("set half = false\n" + text + "\nset tie = split\nset relu_at_0 = 0.25\n")
    assert grads(appended) == grads(written)
    assert show(appended.nodes[-1].expr) == show(written.nodes[-1].expr) == "(y - a2)^2"


def test_near_a_tie_the_warning_names_the_convention():
    # a − b = 0.1 + 0.2 − 0.3 is 5.6e−17 in floats, 0 by hand
    text = "param a = 0.1\nconst b = 0.3\nh = a + 0.2\nloss L = max(h, b)\nset tie = split\n"
    graph = load(text)
    record = next(r for r in trace(graph, 1) if isinstance(r, Step))
    assert record.kinks and "half the gradient to each argument" in record.kinks[0].hint
    assert not math.isnan(record.loss)


# -- docs/conventions.md -------------------------------------------------------------------------


def doc_networks() -> list[str]:
    doc = (ROOT / "docs" / "conventions.md").read_text("utf-8")
    blocks = doc.split("```")[1::2]
    return [b for b in blocks if re.search(r"^loss \w+ =", b, re.MULTILINE)]


def test_every_network_in_the_conventions_page_builds():
    assert len(doc_networks()) >= 4
    for text in doc_networks():
        assert load(text).loss


def test_the_published_example_after_one_update_as_the_page_says():
    (text,) = [t for t in doc_networks() if "w8 = 0.55" in t]
    final = [r for r in trace(load(text), 1)][-1]

    # the same network by hand: all weights from one backward pass, biases fixed
    def sigma(z):
        return 1 / (1 + math.exp(-z))

    w = [0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55]
    i1, i2, t1, t2, b1, b2 = 0.05, 0.10, 0.01, 0.99, 0.35, 0.60

    def forward(w):
        h1 = sigma(w[0] * i1 + w[1] * i2 + b1)
        h2 = sigma(w[2] * i1 + w[3] * i2 + b1)
        o1 = sigma(w[4] * h1 + w[5] * h2 + b2)
        o2 = sigma(w[6] * h1 + w[7] * h2 + b2)
        return h1, h2, o1, o2, 0.5 * (t1 - o1) ** 2 + 0.5 * (t2 - o2) ** 2

    h1, h2, o1, o2, _ = forward(w)
    d1, d2 = (o1 - t1) * o1 * (1 - o1), (o2 - t2) * o2 * (1 - o2)
    e1 = (d1 * w[4] + d2 * w[6]) * h1 * (1 - h1)
    e2 = (d1 * w[5] + d2 * w[7]) * h2 * (1 - h2)
    g = [e1 * i1, e1 * i2, e2 * i1, e2 * i2, d1 * h1, d1 * h2, d2 * h1, d2 * h2]
    after = forward([wi - 0.5 * gi for wi, gi in zip(w, g)])[-1]
    assert final.loss == pytest.approx(after, rel=1e-14)
    assert f"{final.loss:.9f}" == "0.291027774"
    doc = (ROOT / "docs" / "conventions.md").read_text("utf-8")
    assert "| 0.291027774 |" in doc and "0.298371109" in doc


def test_a_convention_of_functions_the_network_never_calls_is_warned(tmp_path):
    path = tmp_path / "net.bp"
    path.write_text("param w = 2\nloss L = w^2\nset tie = split\nset relu_at_0 = 1\n", "utf-8")
    result = invoke("run", str(path), "--steps", "1")
    assert result.exit_code == 0
    assert "3:5: warning: 'tie' changes nothing here: the network calls no max or min" in (
        result.stderr
    )
    assert "4:5: warning: 'relu_at_0' changes nothing here: the network calls no relu" in (
        result.stderr
    )
    path.write_text("param w = 2\nloss L = w^2\nset tie = first\n", "utf-8")
    assert invoke("run", str(path), "--steps", "1").stderr == ""
