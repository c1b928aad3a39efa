"""`bptrace plot`: the loss by step (and params' values) drawn to SVG or PNG with matplotlib.

The expected curves come from gradient descent on networks/simple.bp written out below in plain
Python: h = x·w1 + b1, g = h·w2 + b2, L = ½(y − g)², so ∂L/∂g = g − y, ∂L/∂w2 = (g − y)·h,
∂L/∂b2 = g − y, ∂L/∂w1 = (g − y)·w2·x, ∂L/∂b1 = (g − y)·w2.
"""

from __future__ import annotations

import ast
import json
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from conftest import ROOT, load
from typer.testing import CliRunner

from bptrace.cli.app import app
from bptrace.engine.tracer import Batches, trace
from bptrace.views.series import collect

pytest.importorskip("matplotlib", reason="bptrace plot draws with matplotlib: bptrace[plot]")

from bptrace.views import plot as drawing  # noqa: E402 - after the skip: it needs matplotlib

SIMPLE = ROOT / "networks" / "simple.bp"
XOR = ROOT / "networks" / "xor.bp"
SVG = "{http://www.w3.org/2000/svg}"


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "120"})


def by_hand(steps: int, lr: float = 0.1) -> tuple[list[float], list[float]]:
    """Return simple.bp's loss and w1 at steps 1 … steps + 1 (the last: after the last update)."""
    x, y = 2.0, 1.0
    w1, b1, w2, b2 = 0.5, 0.1, -0.3, 0.2
    losses, w1s = [], []
    for _ in range(steps + 1):
        h = x * w1 + b1
        g = h * w2 + b2
        losses.append(0.5 * (y - g) ** 2)
        w1s.append(w1)
        dg = g - y
        w1, b1, w2, b2 = w1 - lr * dg * w2 * x, b1 - lr * dg * w2, w2 - lr * dg * h, b2 - lr * dg
    return losses, w1s


def test_the_series_is_the_loss_and_params_of_each_step_and_the_final_loss():
    losses, w1s = by_hand(5)
    assert losses[0] == pytest.approx(0.5 * 1.13**2)  # g = 1.1·(−0.3) + 0.2 = −0.13
    series = collect(trace(load(SIMPLE), 5), "", ("w1",))
    assert series.steps == (1, 2, 3, 4, 5, 6)
    assert series.losses == pytest.approx(losses, rel=1e-12)
    assert series.params["w1"] == pytest.approx(w1s, rel=1e-12)
    assert series.stopped is None and not series.batched


def test_the_series_holds_the_losses_run_json_writes():
    result = invoke("run", XOR, "--steps", 20, "--json")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    written = [r["loss"] for r in lines if r["type"] == "step"] + [lines[-1]["final_loss"]]
    series = collect(trace(load(XOR), 20), "")
    assert list(series.losses) == written  # JSON keeps full precision: the same floats


def test_mini_batches_draw_each_steps_batch_loss_and_not_the_final_one():
    text = "input x = [1, 2, 3, 4]\ntarget y = [2, 4, 6, 8]\nparam w = 0\nset lr = 0.01\n"
    series = collect(trace(load(text + "loss L = 1/2*(y - w*x)^2"), 3, batches=Batches(2)), "")
    # step 1: w = 0, samples 1 and 2: (½·2² + ½·4²)/2 = 5
    assert series.steps == (1, 2, 3) and series.losses[0] == pytest.approx(5.0)
    assert series.batched
    fig = drawing.figure([series], drawing.Labels("batches"))
    assert fig.axes[0].get_ylabel() == "loss L (each step's batch)"


def test_the_figure_plots_exactly_the_series():
    losses, w1s = by_hand(8)
    series = collect(trace(load(SIMPLE), 8), "", ("w1",))
    fig = drawing.figure([series], drawing.Labels("simple"), ("w1",))
    loss_axes, param_axes = fig.axes
    (loss,) = [line for line in loss_axes.get_lines() if line.get_gid() == "loss-1"]
    assert list(loss.get_xdata()) == list(range(1, 10))
    assert list(loss.get_ydata()) == pytest.approx(losses, rel=1e-12)
    (w1,) = param_axes.get_lines()
    assert list(w1.get_ydata()) == pytest.approx(w1s, rel=1e-12)
    assert loss_axes.get_ylabel() == "loss L" and param_axes.get_xlabel() == "step"


def texts(svg: ET.Element) -> list[str]:
    return [("".join(t.itertext())).strip() for t in svg.iter(f"{SVG}text")]


def test_an_svg_is_valid_xml_with_a_legend_naming_each_compared_run(tmp_path):
    out = tmp_path / "curve.svg"
    result = invoke("plot", SIMPLE, "-n", 10, "--compare", "optimizer=sgd,momentum,adam", "-o", out)
    assert result.exit_code == 0, result.output
    svg = ET.parse(out).getroot()
    assert svg.tag == f"{SVG}svg"
    shown = texts(svg)
    for name in ("optimizer = sgd", "optimizer = momentum", "optimizer = adam"):
        assert name in shown
    assert {"step", "loss L", f"{SIMPLE}: 10 steps, lr = 0.1"} <= set(shown)  # what all share
    ids = {e.get("id") for e in svg.iter()}
    assert {"loss-1", "loss-2", "loss-3"} <= ids
    assert list(tmp_path.iterdir()) == [out]  # no temporary left behind


def vertices(svg: ET.Element, gid: str) -> list[tuple[float, float]]:
    """Return the points of the path drawn in the group `gid`, in the SVG's coordinates."""
    (group,) = [e for e in svg.iter(f"{SVG}g") if e.get("id") == gid]
    numbers = [
        float(n)
        for n in group.find(f"{SVG}path").get("d").replace("M", " ").replace("L", " ").split()
    ]
    return list(zip(numbers[::2], numbers[1::2]))


def test_the_svg_draws_the_losses_worked_out_by_hand(tmp_path):
    losses, _ = by_hand(8)
    out = tmp_path / "curve.svg"
    assert invoke("plot", SIMPLE, "-n", 8, "-o", out).exit_code == 0
    points = vertices(ET.parse(out).getroot(), "loss-1")
    # the axes map step and loss to the page each by a scale and a shift: found from the first
    # point and the last, they must carry every point drawn to a step and its loss
    (x1, y1), (x9, y9) = points[0], points[-1]
    assert len(points) >= 3
    for x, y in points:
        step = 1 + (x - x1) / (x9 - x1) * 8
        assert step == pytest.approx(round(step), abs=1e-4)
        loss = losses[0] + (y - y1) / (y9 - y1) * (losses[8] - losses[0])
        assert loss == pytest.approx(losses[round(step) - 1], abs=1e-5)


def test_the_same_plot_is_the_same_bytes(tmp_path):
    a, b = tmp_path / "a.svg", tmp_path / "b.svg"
    for out in (a, b):
        assert invoke("plot", SIMPLE, "-n", 5, "--params", "w1", "-o", out).exit_code == 0
    assert a.read_bytes() == b.read_bytes()


def test_a_png_is_a_png_of_the_documented_size(tmp_path):
    out = tmp_path / "curve.PNG"
    assert invoke("plot", SIMPLE, "-n", 5, "-o", out).exit_code == 0
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (round(6.4 * 150), round(4.0 * 150))
    with_params = tmp_path / "params.png"
    assert invoke("plot", SIMPLE, "-n", 5, "--params", "w1,b1", "-o", with_params).exit_code == 0
    assert struct.unpack(">II", with_params.read_bytes()[16:24]) == (960, round(6.6 * 150))


def test_a_run_a_fault_stops_is_drawn_up_to_it_and_named_so(tmp_path):
    out = tmp_path / "curve.svg"
    result = invoke("plot", SIMPLE, "-n", 40, "--compare", "lr=0.1,10", "-o", out, "--log")
    assert result.exit_code == 0
    assert "warning: with lr = 10, training stops at step 6" in result.stderr
    shown = texts(ET.parse(out).getroot())
    assert "lr = 10 (stops at step 6)" in shown and f"{SIMPLE}: 40 steps" in shown


def test_without_compare_a_fault_stops_plot_as_it_stops_run_after_drawing(tmp_path):
    out = tmp_path / "curve.png"
    result = invoke("plot", SIMPLE, "-n", 40, "--lr", 10, "-o", out)
    assert result.exit_code == 5
    assert "step 6: node L" in result.stderr and "training diverges" in result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # the curve up to the fault


@pytest.mark.parametrize(
    "args, says",
    [
        (["--compare", "lrr=0.1,0.5"], "--compare lrr=0.1: unknown setting 'lrr' (did you mean"),
        (["--compare", "optimizer=sgd,adamw"], "'optimizer' must be sgd, momentum or adam"),
        (["--compare", "optimizer"], "--compare takes SETTING=V1,V2,…"),
        (["--compare", "lr=0.1,,0.5"], "--compare takes SETTING=V1,V2,…"),
        (["--compare", "lr=0.1,0.1"], "gives lr = 0.1 twice"),
        (["--compare", "lr=0.1,0.5", "--lr", "0.2"], "give one of them"),
        (["--compare", "lr=0.1,0.5", "--compare", "optimizer=adam"], "give it once"),
        (["--params", "w1,w11"], "'w11' is not a param of networks/simple.bp; did you mean 'w1'?"),
        (["--params", "x"], "'x' is an input of networks/simple.bp, not a param"),
        (["--params", "w1,"], "takes params' names, comma-separated"),
    ],
)
def test_bad_input_is_a_usage_error_and_writes_nothing(tmp_path, args, says):
    out = tmp_path / "curve.svg"
    result = invoke("plot", "networks/simple.bp", "-o", out, *args)
    assert result.exit_code == 2, result.output
    assert says in " ".join(result.stderr.replace("│", "").split())
    assert "Traceback" not in result.output and list(tmp_path.iterdir()) == []


def test_an_unknown_picture_format_is_refused_before_anything_runs(tmp_path):
    result = invoke("plot", SIMPLE, "-o", tmp_path / "curve.jpg")
    said = " ".join(result.stderr.replace("│", "").split())
    assert result.exit_code == 2 and "must end in .svg or .png" in said
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_cannot_be_written_is_exit_3_and_left_as_it_was(tmp_path):
    kept = tmp_path / "kept.svg"
    kept.write_text("as it was")
    kept.chmod(0o444)
    result = invoke("plot", SIMPLE, "-o", kept)
    assert result.exit_code == 3
    assert result.stderr.endswith(f"cannot write {kept}: the file is read-only\n")
    assert kept.read_text() == "as it was" and list(tmp_path.iterdir()) == [kept]
    nowhere = tmp_path / "missing" / "curve.png"
    result = invoke("plot", SIMPLE, "-o", nowhere)
    assert result.exit_code == 3 and "no such directory" in result.stderr


def test_without_matplotlib_plot_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` fails
    result = invoke("plot", SIMPLE, "-o", tmp_path / "curve.svg")
    assert result.exit_code == 2
    assert "pip install 'bptrace[plot]'" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_only_the_plot_view_imports_matplotlib():
    importers = set()
    for path in (ROOT / "bptrace").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n.split(".")[0] == "matplotlib" for n in names):
                importers.add(path.relative_to(ROOT).as_posix())
    assert importers == {"bptrace/views/plot.py"}


def test_run_never_loads_matplotlib():
    from test_startup import PROBE

    probe = PROBE.replace(
        'loaded = ("numpy", "bptrace.engine.check", "ctypes")',
        'loaded = ("matplotlib", "bptrace.views.plot", "bptrace.cli.plot")',
    )
    for args in (["run", "networks/xor.bp", "--steps", "2", "-q"], ["--help"]):
        done = subprocess.run(
            [sys.executable, "-c", probe, *args], cwd=ROOT, capture_output=True, text=True
        )
        assert done.stderr.split()[-3:] == ["False"] * 3


def test_runs_that_all_stop_at_step_1_draw_nothing_and_exit_5(tmp_path):
    network = tmp_path / "zero.bp"
    network.write_text("param w = 0\nloss L = 1/w\n")
    out = tmp_path / "curve.svg"
    result = invoke("plot", network, "--compare", "lr=0.1,0.2", "-o", out)
    assert result.exit_code == 5
    assert "with lr = 0.2, training stops at step 1" in result.stderr
    assert "zero.bp:2:10: error: step 1: node L = 1/w: division by zero" in result.stderr
    assert not out.exists()
