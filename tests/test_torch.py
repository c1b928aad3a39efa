"""`bptrace export --torch`: the PyTorch script computes bptrace's losses and gradients.

Each script is run with this venv's python in a subprocess, from a folder of its own, and its
JSON lines are compared with `bptrace run --json` on the same network and options: the two
compute every number apart (PyTorch's autograd, bptrace's table of partials), so agreement to
1e-12 checks the script's expressions, conventions, reduction, optimiser and batches.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from bptrace.cli.app import app
from bptrace.engine.ops import FUNCTIONS
from bptrace.views import torch_script

ENV = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}
HAS_TORCH = importlib.util.find_spec("torch") is not None
needs_torch = pytest.mark.skipif(
    not HAS_TORCH, reason="torch is not installed: pip install 'bptrace[torch]'"
)
TOLERANCE = 1e-12  # relative, and absolute near 0


def invoke(*args):
    return CliRunner(env=ENV).invoke(app, list(args), prog_name="bptrace")


def exported(network, *options) -> str:
    result = invoke("export", str(network), "--torch", *options)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def traced(network, *options) -> list[tuple[float, dict[str, float]]]:
    """Return bptrace's loss and gradients at each step, from `run --json`."""
    result = invoke("run", str(network), "--json", *options)
    assert result.exit_code == 0, result.stderr
    steps = [json.loads(line) for line in result.stdout.splitlines()]
    return [
        (s["loss"], {u["param"]: u["grad"] for u in s["updates"]})
        for s in steps
        if s["type"] == "step"
    ]


def ran(script: str, folder) -> list[dict]:
    """Run the script with torch alone: bptrace cannot be imported, the cwd a folder of its own."""
    (folder / "net.py").write_text(script, encoding="utf-8")
    guard = "import runpy, sys; sys.modules['bptrace'] = None; runpy.run_path('net.py')"
    done = subprocess.run(
        [sys.executable, "-I", "-c", guard],
        cwd=folder,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def difference(a: float, b: float) -> float:
    """Return |a − b| relative to |b|, or absolute where |b| < 1 (near 0)."""
    return abs(a - b) / max(abs(b), 1.0)


def assert_agree(network, tmp_path, *options) -> float:
    """Check the script's losses and gradients against bptrace's; return the largest difference."""
    expected = traced(network, *options)
    got = ran(exported(network, *options), tmp_path)
    assert [line["step"] for line in got] == list(range(1, len(expected) + 1))
    worst = 0.0
    for line, (loss, grads) in zip(got, expected):
        assert list(line["grads"]) == list(grads)  # every param, in source order
        pairs = [(line["loss"], loss)] + [(line["grads"][p], g) for p, g in grads.items()]
        for a, b in pairs:
            assert math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE), (line["step"], a, b)
            worst = max(worst, difference(a, b))
    return worst


@needs_torch
@pytest.mark.parametrize(
    "name", sorted(p.name for p in (ROOT / "networks").glob("*.bp") if p.name != "mnist_like.bp")
)
def test_every_example_network_agrees(name, tmp_path):
    assert_agree(ROOT / "networks" / name, tmp_path, "--steps", "4")


@needs_torch
def test_mnist_like_on_its_digits_agrees_batch_by_batch(tmp_path):
    data = str(ROOT / "networks/digits.csv")
    assert_agree(ROOT / "networks/mnist_like.bp", tmp_path, "--data", data, "--steps", "3")


def write(tmp_path, text: str):
    path = tmp_path / "net.bp"
    path.write_text(text, encoding="utf-8")
    work = tmp_path / "run"
    work.mkdir(exist_ok=True)
    return path, work


# relu(w·x − 1) is exactly 0 at the third sample (0.5·2 − 1): its slope there is relu_at_0.
RELU_AT_0 = """
input  x = [3, -1, 2]
target y = [1, 0, 2]
param w = 0.5
param v = 1.5
set relu_at_0 = {c}
h = relu(w*x - 1)
loss L = (v*h + w - y)^2
"""


@needs_torch
@pytest.mark.parametrize("c", ["0", "1", "0.25"])
def test_relu_at_an_exact_0_takes_the_set_slope(c, tmp_path):
    network, work = write(tmp_path, RELU_AT_0.format(c=c))
    assert_agree(network, work, "--steps", "3")


# max(a, b) and min(a, b) tie at step 1 (a = b = 1): which param gets the gradient is `tie`.
TIE = """
input  x = 2
target y = 5
param a = 1
param b = 1
param c = 0.5
set tie = {tie}
m = max(a, b)
n = min(a*c, b*c)
loss L = (m*x + n - y)^2
"""


@needs_torch
@pytest.mark.parametrize("tie", ["first", "split", "last"])
def test_max_and_min_ties_follow_the_set_tie(tie, tmp_path):
    network, work = write(tmp_path, TIE.format(tie=tie))
    assert_agree(network, work, "--steps", "3")


def test_a_tie_is_split_as_written_not_as_torch_would_by_default(tmp_path):
    """The script of tie = first gives max's gradient to its first argument alone."""
    network, _ = write(tmp_path, TIE.format(tie="first"))
    assert "torch.where(a >= b, a, b)" in exported(network)
    network, _ = write(tmp_path, TIE.format(tie="split"))
    assert "torch.maximum(a, b)" in exported(network)


TRAINED = """
input  x = [0.5, -1, 2, 0.25, -0.75, 1.5, 3]
target y = [1, 0, 2, 0.5, -1, 1, 2]
param w = 0.3
param b = -0.2
param u = 0.7
set optimizer = {optimizer}
{more}
h = tanh(w*x + b)
loss L = 1/2*(u*h - y)^2
"""


@needs_torch
@pytest.mark.parametrize(
    "optimizer, more",
    [
        ("sgd", ""),
        ("sgd", "set reduction = sum"),
        ("momentum", ""),
        ("momentum", "set momentum_form = nesterov\nset momentum = 0.8"),
        ("momentum", "set momentum_form = sutskever"),
        ("adam", ""),
        ("adam", "set beta1 = 0.8\nset beta2 = 0.99\nset eps = 1e-6\nset reduction = sum"),
    ],
)
def test_each_optimizer_and_reduction_trains_alike(optimizer, more, tmp_path):
    network, work = write(tmp_path, TRAINED.format(optimizer=optimizer, more=more))
    assert_agree(network, work, "--steps", "5", "--lr", "0.05")


@needs_torch
@pytest.mark.parametrize(
    "options",
    [
        ("--batch-size", "3"),  # in order, wrapping around: 0-2, 3-5, 6 0 1, …
        ("--batch-size", "3", "--shuffle", "--seed", "5"),  # a fresh permutation each pass
        ("--batch-size", "2", "--shuffle"),
    ],
)
def test_mini_batches_are_the_same_samples(options, tmp_path):
    network, work = write(tmp_path, TRAINED.format(optimizer="momentum", more=""))
    assert_agree(network, work, "--steps", "7", *options)


def test_shuffled_batches_are_written_as_index_lists(tmp_path):
    """Batches of 3 of 7 samples, shuffled: each pass holds every sample once, the last batch 1."""
    network, _ = write(tmp_path, TRAINED.format(optimizer="sgd", more=""))
    script = exported(network, "--steps", "6", "--batch-size", "3", "--shuffle")
    line = next(s for s in script.splitlines() if s.startswith("BATCHES = "))
    rows = json.loads(line.removeprefix("BATCHES = "))
    assert [len(r) for r in rows] == [3, 3, 1, 3, 3, 1]
    assert sorted(rows[0] + rows[1] + rows[2]) == list(range(7))
    assert sorted(rows[3] + rows[4] + rows[5]) == list(range(7))


EVERY_FUNCTION = """
input  x = [0.5, -1.5, 2, 0]
target y = [1, 0, 2, 0.5]
param a = 0.3
param b = 0.8
param c = 0.5
z = a*x + b
f = sigmoid(z) + logsigmoid(z) + tanh(z) + exp(z/4) + log(1 + z^2) + sqrt(1 + b^2)
g = sin(z) * cos(a) + abs(z) + sign(z) + logaddexp(z, a) + step(z) + heaviside(x, c)
k = relu(z) + max(z, a) + min(z, b) + 2^a - (-z)^3/7
loss L = (f + g + k - y)^2
"""


def test_every_function_of_the_math_table_has_a_counterpart():
    assert set(torch_script.TORCH) == set(FUNCTIONS)


@needs_torch
def test_a_network_calling_every_function_agrees(tmp_path):
    network, work = write(tmp_path, EVERY_FUNCTION)
    assert_agree(network, work, "--steps", "3", "--lr", "0.01")


def test_a_function_without_a_counterpart_is_refused_by_name(tmp_path, monkeypatch):
    monkeypatch.delitem(torch_script.TORCH, "sin")
    network, _ = write(tmp_path, "param w = 1\nloss L = sin(w)^2\n")
    result = invoke("export", str(network), "--torch")
    assert result.exit_code == 4
    assert "sin() has no PyTorch counterpart" in result.stderr
    assert "net.bp:2:" in result.stderr
    assert result.stdout == ""


HOSTILE = """
param W[2,2] = [[0.1, 0.2], [0.3, 0.4]]
param α = 0.5
param ﬁ = 0.25
param fi = 0.75
param lambda = 1.5
param torch = -0.5
input  x[2] = [1, -2]
target y = 1
p = W @ x
print = α*p[1] + ﬁ*p[2] + fi*lambda + torch
loss L = (print - y)^2
"""


@needs_torch
def test_hostile_names_become_distinct_python_identifiers(tmp_path):
    network, work = write(tmp_path, HOSTILE)
    script = exported(network)
    compile(script, "net.py", "exec")
    for name in ("W_1_2", "u3b1", "ufb01", "lambda_", "torch_", "print_"):
        assert f"{name} =" in script
    assert_agree(network, work, "--steps", "2")


@needs_torch
def test_the_script_is_deterministic(tmp_path):
    network = ROOT / "networks/xor.bp"
    first = exported(network, "--steps", "3")
    assert exported(network, "--steps", "3") == first
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert ran(first, tmp_path / "a") == ran(first, tmp_path / "b")


def test_the_script_imports_torch_and_the_standard_library_only():
    script = exported(ROOT / "networks/two_layer.bp")
    imports = [line for line in script.splitlines() if line.startswith(("import", "from"))]
    assert imports == ["import json", "import math", "import torch"]


def test_export_without_a_framework_is_a_usage_error():
    result = invoke("export", str(ROOT / "networks/simple.bp"))
    assert result.exit_code == 2
    assert "--torch" in result.stderr


@needs_torch
def test_a_long_sum_is_continued_on_lines_of_its_own(tmp_path, monkeypatch):
    """Python's compiler stops at a sum of about 2,000 terms: a long one is written in parts."""
    monkeypatch.setattr(torch_script, "TERMS_A_LINE", 1)
    network = ROOT / "networks/layers.bp"
    script = exported(network)
    assert "    z1_1 = z1_1 + " in script
    assert_agree(network, tmp_path, "--steps", "3")


# By hand, at a = b = 1 and w = 0.5: m = max(a, b) = 1 and h = relu(2w − 1) = relu(0) = 0, so
# L = m² + (h + w)² = 1.25; ∂L/∂m = 2m = 2 goes to a and b as `tie` says; ∂L/∂w = 2(h + w)·(C·2 + 1)
# with C = relu′(0): 1 for C = 0 (torch.relu's own), 1.5 for C = 0.25, 3 for C = 1.
BY_HAND = """
param a = 1
param b = 1
param w = 0.5
set tie = {tie}
set relu_at_0 = {c}
m = max(a, b)
h = relu(2*w - 1)
loss L = m^2 + (h + w)^2
"""


@needs_torch
@pytest.mark.parametrize(
    "tie, c, grads",
    [
        ("first", "0", {"a": 2.0, "b": 0.0, "w": 1.0}),
        ("split", "0.25", {"a": 1.0, "b": 1.0, "w": 1.5}),
        ("last", "1", {"a": 0.0, "b": 2.0, "w": 3.0}),
    ],
)
def test_the_script_prints_the_gradients_worked_out_by_hand(tie, c, grads, tmp_path):
    network, work = write(tmp_path, BY_HAND.format(tie=tie, c=c))
    (line,) = ran(exported(network), work)
    assert line == {"step": 1, "loss": 1.25, "grads": grads}
