"""The command line: exit codes, stdout for results, stderr for diagnostics, terminals of every
kind."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from conftest import NETWORKS, ROOT
from rich.cells import cell_len
from typer.testing import CliRunner

from bptrace import __version__
from bptrace.cli.app import app

SIMPLE = str(ROOT / "networks" / "simple.bp")
ENV = {"COLUMNS": "80", "NO_COLOR": "1", "FORCE_COLOR": None, "TERM": "dumb"}


def invoke(*args, env=None):
    return CliRunner(env={**ENV, **(env or {})}).invoke(app, list(args), prog_name="bptrace")


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout == f"bptrace {__version__}\n"


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["-h"]])
def test_help(args):
    result = invoke(*args)
    assert result.exit_code == 0
    assert "Usage" in result.stdout


@pytest.mark.parametrize(
    "command", [[], ["run"], ["explain"], ["graph"], ["nudge"], ["check"], ["schema"]]
)
def test_help_shows_flags_without_a_type_as_they_take_no_value(command):
    out = invoke(*command, "--help", env={"COLUMNS": "200"}).stdout
    # no <bool> between the flag and its help
    assert re.search(r"--help\s+-h\s+Show this message", out)
    assert "<bool>" not in out
    if command == ["run"]:
        assert re.search(r"--ascii\s+Write math", out) and re.search(
            r"--steps\s+-n\s+N\s+Training steps", out
        )


def test_run_prints_four_tables_and_a_summary_to_stdout_only():
    result = invoke("run", SIMPLE, "--steps", "2")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    for title in (
        "Step 1",
        "Step 2",
        "Forward pass",
        "Local derivatives",
        "Chain rule",
        "Update",
        "Summary",
    ):
        assert title in out
    # Hand-computed values from the handout network (see test_handout.py), at 4 significant digits.
    assert re.search(r"∂L/∂g · ∂g/∂h · ∂h/∂w₁\s+\(−1\.13\) · \(−0\.3\) · \(2\)\s+0\.678", out)
    assert re.search(r"w₁\s+0\.5\s+0\.678\s+0\.0678\s+0\.4322", out)


def test_precision_shows_more_digits():
    out = invoke("run", SIMPLE, "--precision", "6").stdout
    assert "0.63845" in out  # ½·1.13² exactly, as by hand


def test_show_selects_tables():
    out = invoke("run", SIMPLE, "--show", "updates,chains").stdout
    assert "Chain rule" in out and "Update" in out
    assert "Forward pass" not in out and "Local derivatives" not in out


def test_lr_option_overrides_the_file():
    out = invoke("run", SIMPLE, "--lr", "1", "--show", "updates").stdout
    assert "α = 1)" in out
    assert re.search(r"w₁\s+0\.5\s+0\.678\s+0\.678\s+−0\.178", out)


@pytest.mark.parametrize(
    "args",
    [
        ["run", SIMPLE, "--steps", "0"],
        ["run", SIMPLE, "--show", "forwrd"],
        ["run", SIMPLE, "--show", ","],
        ["run", SIMPLE, "--lr", "nan"],
        ["run", SIMPLE, "--precision", "0"],
        ["run"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2_on_stderr(args):
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args, names",
    [
        (["--json", "--show", "forward"], "'--show'"),
        (["--json", "--precision", "2"], "'--precision'"),
        (["--json", "--ascii"], "'--ascii'"),
        (["--json", "--all"], "'--all'"),
        (["--json", "--every", "2"], "'--every'"),
        (["--json", "--quiet"], "'--quiet'"),
        (["--json", "--format", "markdown"], "'--format': writes the tables as markdown"),
    ],
)
def test_an_option_json_would_ignore_is_refused_and_named(args, names):
    result = invoke("run", SIMPLE, *args)
    assert result.exit_code == 2 and result.stdout == ""
    # the option given, not a pair
    assert names in " ".join(result.stderr.replace("│", " ").split())


def test_precision_with_json_says_it_cannot_be_used_with_json():
    result = invoke("run", SIMPLE, "--json", "--precision", "2")
    said = " ".join(result.stderr.replace("│", " ").split())
    assert result.exit_code == 2 and "'--precision' cannot be used with --json" in said
    # the value is fine; the pair is not
    assert "Invalid value" not in said and "shapes the tables" not in said


@pytest.mark.parametrize(
    "args, says",
    [
        (["run", SIMPLE, "--lr", "abc"], "Invalid value for '--lr': 'abc' is not a number"),
        (
            ["run", SIMPLE, "--steps", "1.5"],
            "Invalid value for '--steps' / '-n': '1.5' is not a whole number",
        ),
        (["nudge", SIMPLE, "w1", "--by", "0,1"], "Invalid value for '--by': '0,1' is not a number"),
        (["check", SIMPLE, "--seed", "x"], "Invalid value for '--seed': 'x' is not a whole number"),
        (
            ["run", SIMPLE, "--lr", "\x1b[2J"],
            "Invalid value for '--lr': '\\x1b[2J' is not a number",
        ),
    ],
)
def test_a_value_that_is_not_a_number_is_named_with_its_option(args, says):
    result = invoke(*args)
    said = " ".join(result.stderr.replace("│", " ").split())
    assert result.exit_code == 2 and result.stdout == "" and says in said
    assert "Input should be" not in said and "\x1b" not in result.stderr


def test_every_and_quiet_together_are_refused():
    result = invoke("run", SIMPLE, "--steps", "4", "--every", "2", "--quiet")
    assert result.exit_code == 2 and result.stdout == ""
    assert "'--every': shows every K-th step's tables, but --quiet shows none" in " ".join(
        result.stderr.replace("│", " ").split()
    )


def test_json_takes_show_naming_all_four_tables_in_any_order():
    assert (
        invoke("run", SIMPLE, "--json", "--show", "updates,forward,partials,chains").exit_code == 0
    )


def test_numeric_fault_exits_5_after_printing_the_steps_that_worked(tmp_path):
    bad = tmp_path / "diverge.bp"
    bad.write_text("param w = 3\nset lr = 2\nloss L = w^4\n")
    result = invoke("run", str(bad), "--steps", "20", "--show", "updates")
    assert result.exit_code == 5
    assert "Step 1" in result.stdout
    # w: 3 → −213 → 7.7e7 → … until w^4 overflows; the diagnostic points at the power in the source.
    assert result.stderr.startswith(
        f"{bad}:3:10: error: step 6: node L = w^4: overflow: (-5.27612e+224)^4"
    )
    assert result.stderr.splitlines()[1:3] == [" 3 | loss L = w^4", "   |          ^~~"]
    # 3^4
    assert result.stderr.splitlines()[3].startswith("  hint: the loss grew from 81 at step 1 to ")
    assert result.stderr.splitlines()[3].endswith(" at step 5: training diverges; try a smaller lr")


def test_log_of_negative_names_step_node_and_operation(tmp_path):
    bad = tmp_path / "log.bp"
    bad.write_text("param w = 0.5\nh = w - 1\nloss L = log(h)\n")
    result = invoke("run", str(bad))
    assert result.exit_code == 5
    assert "Step 1: stopped" in result.stdout  # the forward pass up to the fault
    assert result.stderr.splitlines() == [
        f"{bad}:3:10: error: step 1: node L = log(h): log of -0.5: log needs a positive number",
        " 3 | loss L = log(h)",
        "   |          ^~~~~~",
    ]


@pytest.mark.parametrize("path", NETWORKS, ids=[p.name for p in NETWORKS])
def test_example_networks_fit_80_columns(path):
    result = invoke("run", str(path), "--steps", "2")
    assert result.exit_code == 0
    widths = [cell_len(line) for line in result.stdout.splitlines()]
    assert max(widths) <= 80


def run_process(*args, env=None):
    full_env = {**os.environ, "COLUMNS": "80", **(env or {})}
    full_env.pop("FORCE_COLOR", None)
    return subprocess.run(
        [sys.executable, "-m", "bptrace", *args], capture_output=True, env=full_env, timeout=60
    )


def test_python_dash_m_and_version():
    result = run_process("--version")
    assert result.returncode == 0
    assert result.stdout.decode() == f"bptrace {__version__}\n"


def test_plain_ascii_terminal_does_not_crash_and_writes_ascii_math(tmp_path):
    greek = tmp_path / "greek.bp"
    greek.write_text("param α = 1\nloss L = σ(α)^2\n", encoding="utf-8")
    for path in (SIMPLE, str(greek)):
        result = run_process("run", path, env={"PYTHONIOENCODING": "ascii", "LC_ALL": "C"})
        assert result.returncode == 0, result.stderr
        result.stdout.decode("ascii")  # nothing but ASCII reached the terminal
    assert b"dL/dw1" in run_process("run", SIMPLE, env={"PYTHONIOENCODING": "ascii"}).stdout
    # Names the terminal cannot show are spelled out, not replaced by '?'.
    out = run_process("run", str(greek), env={"PYTHONIOENCODING": "ascii"}).stdout.decode("ascii")
    assert "dL/dalpha" in out and "?" not in out


def test_on_a_plain_ascii_terminal_two_names_never_look_alike(tmp_path):
    """ŷ is y where nothing else is; beside a y it is y_hat, and ℒ beside L keeps its code point."""
    hat = tmp_path / "hat.bp"
    hat.write_text(
        "input y = 2\nparam ŷ = 1\nparam θ = 1\nparam ℒ = 0\nparam L = 0\n"
        "loss E = (y - ŷ)^2 + θ + ℒ + L\n",
        encoding="utf-8",
    )
    out = run_process("run", str(hat), env={"PYTHONIOENCODING": "ascii"}).stdout.decode("ascii")
    assert "(y - y_hat)^2 + theta + L_u2112 + L" in out and "dE/dy_hat" in out
    alone = tmp_path / "alone.bp"
    alone.write_text("param ŷ = 1\nloss E = ŷ^2\n", encoding="utf-8")
    assert "dE/dy " in run_process(
        "run", str(alone), env={"PYTHONIOENCODING": "ascii"}
    ).stdout.decode("ascii")


def test_no_color_keeps_colour_codes_out_even_on_a_terminal():
    result = invoke(
        "run", SIMPLE, env={"NO_COLOR": "1", "FORCE_COLOR": "1", "TERM": "xterm-256color"}
    )
    colour = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-7]|9[0-7]|38;)")
    assert not colour.search(result.stdout)
    coloured = invoke(
        "run", SIMPLE, env={"NO_COLOR": None, "FORCE_COLOR": "1", "TERM": "xterm-256color"}
    )
    assert colour.search(coloured.stdout)  # the check above can fail


def test_ascii_flag_writes_plain_math():
    out = invoke("run", SIMPLE, "--ascii").stdout
    assert "dL/dg * dg/dh * dh/dw1" in out
    assert "∂" not in out and "·" not in out


@pytest.mark.parametrize(
    "command",
    [
        ["run", SIMPLE, "--steps", "2"],
        ["check", SIMPLE],
        ["explain", SIMPLE],
        ["graph", SIMPLE],
        ["nudge", SIMPLE, "w1"],
        ["run", SIMPLE, "--all", "--precision", "17"],
    ],
)
def test_ascii_flag_writes_nothing_but_ascii(command):
    """Math, rules and table lines alike: what a terminal without Unicode gets, on one with it."""
    result = invoke(*command, "--ascii")
    assert result.exit_code == 0, result.output
    assert result.stdout.isascii() and "-----" in result.stdout
    assert not invoke(*command).stdout.isascii()  # without it, Unicode: the check above can fail


def test_closed_pipe_stops_quietly_with_exit_0():
    proc = subprocess.Popen(
        [sys.executable, "-m", "bptrace", "run", SIMPLE, "--steps", "5000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.readline()
    proc.stdout.close()  # like `| head -n 1`
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert err == b""


def test_ctrl_c_ends_a_long_run_with_a_short_message_and_130():
    import signal

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bptrace",
            "run",
            str(ROOT / "networks" / "two_layer.bp"),
            "--steps",
            "1000000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    proc.stdout.readline()  # the run is under way
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err == b"bptrace: interrupted\n"


@pytest.mark.parametrize(
    "nodes, args, after",
    [(3000, ["check"], 3), (6000, ["run", "--all"], 8)],
    ids=["check", "run --all"],
)
def test_sigterm_stops_a_long_step_in_its_middle_with_143(tmp_path, nodes, args, after):
    # A check of 3,000 nodes spends a minute or more in its first step (a finite difference per
    # param, each a forward pass); the tables of 6,000 nodes with --all take half a minute to lay
    # out. Waiting for the step's end, `timeout` waited as long. They stop within a moment now; 10 s
    # leave room for a busy machine.
    import time

    sys.path.append(str(ROOT / "benchmarks"))
    from generate import network

    f = tmp_path / "big.bp"
    f.write_text(network(nodes))
    proc = subprocess.Popen(
        [sys.executable, "-m", "bptrace", args[0], str(f), *args[1:]],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(after)  # for --all, while the tables are laid out: the step is computed by then
    proc.terminate()
    try:
        _, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 143  # 128 + SIGTERM's 15
    assert err == b"bptrace: stopped by SIGTERM\n"


def test_an_interrupted_quiet_run_shows_its_summary_and_curve():
    import signal
    import time

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bptrace",
            "run",
            str(ROOT / "networks" / "xor.bp"),
            "--steps",
            "100000000",
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "80", "NO_COLOR": "1"},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err == b"bptrace: interrupted\n"
    text = out.decode()
    done = int(re.search(r"Interrupted after ([0-9]+) steps", text)[1])
    assert re.search(rf"Loss at steps 1 to {done:,} ", text)
    # the start only: the loss where it stopped was never computed
    assert re.search(r"\nloss L +\S+ *\n", text)
    assert re.search(r"\nb₂ +\S+ +\S+ *\n", text)  # each param from its start to where it stopped


@pytest.mark.parametrize(
    "text, code, says",
    [
        # Constants beyond any float fold without crashing; the forward pass reports the overflow.
        ("param w = 1\nloss L = w*1e300*1e300\n", 5, "overflow"),
        ("param w = 1\nloss L = w*(1e300)^7\n", 5, "step 1: node L"),
        # A non-finite derivative with respect to a const never touches training.
        ("param w = -2\nconst k = 2\nloss L = w^k\n", 0, ""),
        ("param w = 1\ninput x = 0\nloss L = w*sqrt(x)\n", 0, ""),
        # A fault in the final forward pass says so, rather than naming a step that did not run.
        ("param w = 0.5\nset lr = 1\nloss L = log(w)\n", 5, "after step 1, with the final params"),
        # −1·0 is −0.0 in floating point; a student reads 0/0, not (-0)/0.
        ("param w = -1\nloss L = w*0/0\n", 5, "division by zero: 0/0\n"),
    ],
)
def test_numeric_edge_cases(tmp_path, text, code, says):
    f = tmp_path / "n.bp"
    f.write_text(text)
    result = invoke("run", str(f))
    assert result.exit_code == code, result.stderr
    if code == 0:
        assert result.stderr == ""
    else:
        assert says in result.stderr


def test_learning_rate_is_shown_even_without_params(tmp_path):
    f = tmp_path / "c.bp"
    f.write_text("const c = 2\nloss L = c*c\n")
    assert "(α = 0.1)" in invoke("run", str(f), "--show", "updates").stdout


def test_distinct_names_never_look_alike(tmp_path):
    f = tmp_path / "s.bp"
    f.write_text("param w1 = 1\nparam w_1 = 2\nloss L = w1*w_1\n")
    assert "w₁·w_1" in invoke("run", str(f), "--show", "forward").stdout


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("mode", [[], ["--json"]])
def test_a_full_disk_is_a_clear_error_not_an_internal_one(mode):
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "bptrace", "run", SIMPLE, "--steps", "50", *mode],
            stdout=full,
            stderr=subprocess.PIPE,
            timeout=60,
        )
    assert result.returncode == 3
    assert result.stderr.decode().startswith(
        "bptrace: error: cannot write the output: No space left on device"
    )


def test_focus_marks_exactly_the_rows_on_the_params_paths():
    # simple.bp: w1 reaches L through h and g, so the path is w1 → h → g → L (worked out by hand).
    result = invoke("run", str(ROOT / "networks/simple.bp"), "--focus", "w1")
    assert result.exit_code == 0, result.stderr
    marked = [
        line.split()[1] + (" " + line.split()[2] if line.split()[1] == "loss" else "")
        for line in result.stdout.splitlines()
        if line.startswith("▸")
    ]
    assert marked == [
        "h",
        "g",
        "loss L",  # forward
        "∂L/∂g",
        "∂g/∂h",
        "∂h/∂w₁",  # local derivatives on the path
        "∂L/∂L",
        "∂L/∂g",
        "∂L/∂h",  # gradients of the nodes on the path, from the seed ∂L/∂L = 1
        "∂L/∂w₁",  # its chain
        "w₁",  # its update
        "w₁",  # and its row in the summary
    ]


def test_focus_on_an_unknown_param_is_a_usage_error():
    result = invoke("run", str(ROOT / "networks/simple.bp"), "--focus", "w3")
    assert result.exit_code == 2 and "'w3' is not a param" in result.stderr


def test_every_k_shows_the_first_the_kth_and_the_last_step():
    out = invoke(
        "run", str(ROOT / "networks/simple.bp"), "--steps", "7", "--every", "3", "--show", "updates"
    ).stdout
    assert [line.split()[2] for line in out.splitlines() if " Step " in line] == [
        "1",
        "3",
        "6",
        "7",
    ]


def test_quiet_shows_only_the_summary_and_the_loss_curve():
    out = invoke("run", str(ROOT / "networks/simple.bp"), "--steps", "5", "--quiet").stdout
    assert " Step " not in out and "Summary" in out
    # The handout's losses: 0.6385 at the start, 0.07684 after 5 steps (see the summary).
    assert "Loss over 5 steps (linear scale, lowest 0.07684, highest 0.6385)" in out
    assert "0.6385  █" in out and "▁  0.07684" in out


def test_a_loss_that_spans_decades_is_drawn_on_a_log_scale():
    from bptrace.views.curve import curve

    drawn = curve([1.0, 0.1, 0.01, 0.001])
    assert drawn.log and drawn.bars == "█▆▃▁"  # equal steps on a log scale
    flat = curve([0.5, 0.4, 0.3])
    assert not flat.log and flat.bars == "█▅▁"


@pytest.mark.parametrize("path", NETWORKS, ids=[p.name for p in NETWORKS])
@pytest.mark.parametrize("command", [["run", "--steps", "2"], ["explain"], ["check"], ["graph"]])
def test_no_line_ends_in_spaces_to_carry_into_slides(path, command):
    for columns in ("44", "80"):
        result = invoke(command[0], str(path), *command[1:], env={"COLUMNS": columns})
        assert result.exit_code == 0, result.stderr
        padded = [line for line in result.stdout.splitlines() if line != line.rstrip()]
        assert padded == [], (columns, padded[:3])


@pytest.mark.parametrize("layout", ["grid", "rich"])
def test_the_note_under_a_narrow_table_is_one_line(layout, monkeypatch):
    # A summary of 1,000 params is a narrow table: rich wraps a caption at the table's width.
    import io

    from rich.console import Console

    from bptrace.views.terminal import _grid
    from bptrace.views.terminal.steps import new_table, titled

    if layout == "rich":
        monkeypatch.setattr(_grid, "lines", lambda *args: None)
    table = new_table("After 1 step", ("", "start", "final"), numeric_from=1)
    table.add_row("w₉₉₉", "−0.039", "−0.039")
    table.caption, table.caption_style = "Some rows are left out: --all shows every row.", "dim"
    console = Console(file=io.StringIO(), width=80, color_system=None)
    console.print(titled(table))
    assert "Some rows are left out: --all shows every row.\n" in console.file.getvalue()


def test_a_seed_that_changes_nothing_is_warned_of():
    said = invoke("run", SIMPLE, "--seed", "4").stderr
    assert (
        said
        == "bptrace: warning: --seed 4 changes nothing: "
        + SIMPLE
        + " draws no param at random (uniform(...) or normal(...))\n"
    )
    # xor.bp draws its weights
    assert "warning" not in invoke("run", str(ROOT / "networks" / "xor.bp"), "--seed", "4").stderr
    assert "warning" not in invoke("run", SIMPLE).stderr


def test_a_value_or_a_file_name_with_control_characters_is_shown_escaped(tmp_path):
    """`--format ESC[2J` (clear the screen) and a file named with ESC[31m: written \\x1b, never sent
    raw."""
    result = invoke("run", SIMPLE, "--format", "\x1b[2Jx")
    said = " ".join(result.stderr.replace("│", " ").split())
    assert (
        result.exit_code == 2
        and "unknown format '\\x1b[2Jx'" in said
        and "\x1b" not in result.stderr
    )
    named = tmp_path / "n\x1b[31m.bp"
    named.write_text((ROOT / "networks" / "simple.bp").read_text())
    out = invoke("explain", str(named), env={"COLUMNS": "400"}).stdout
    assert "Questions about" in out and "n\\x1b[31m.bp" in out and "\x1b" not in out


def test_a_signal_between_a_step_and_its_loss_still_shows_every_step_in_the_curve():
    """The summary of an interrupted run reads its last step even when the signal came before that
    step's loss was noted: the curve counts as many steps as the summary says were done."""
    import io

    from conftest import load
    from rich.console import Console

    from bptrace.cli import runs
    from bptrace.engine.tracer import Step, trace
    from bptrace.views.terminal.steps import View

    graph = load(ROOT / "networks" / "simple.bp")
    steps = [r for r in trace(graph, 3) if isinstance(r, Step)]
    losses = [float(s.loss) for s in steps[:2]]  # step 3 taken, its loss not yet noted
    out = Console(file=io.StringIO(), width=80, color_system=None)
    so_far = runs._SoFar(steps[0], steps[2], losses, False)
    runs._interrupted_summary(out, graph, View(), so_far)
    text = out.file.getvalue()
    assert "Interrupted after 3 steps" in text
    assert re.search(r"Loss at steps 1 to 3 ", text)


def test_pause_with_stdin_closed_is_a_usage_error_not_an_internal_one():
    done = subprocess.run(
        [sys.executable, "-m", "bptrace", "run", str(ROOT / "networks" / "simple.bp"), "--pause"],
        capture_output=True,
        env={**os.environ, "COLUMNS": "80", "NO_COLOR": "1"},
        preexec_fn=lambda: os.close(0),
        timeout=60,
    )
    assert done.returncode == 2 and done.stdout == b""
    assert b"reads keys from a terminal" in done.stderr and b"internal error" not in done.stderr
