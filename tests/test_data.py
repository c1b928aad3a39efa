"""Samples from CSV files (--data) and mini-batches (--batch-size, set batch, --shuffle)."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pytest
from conftest import ROOT, load
from typer.testing import CliRunner

from bptrace.cli.app import app
from bptrace.engine.tracer import Batches, Step, trace

ENV = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}
LINE = "input x = 0\ntarget y = 0\nparam w = 1\nloss L = 1/2*(y - w*x)^2\n"


def invoke(*args):
    return CliRunner(env=ENV).invoke(app, list(args), prog_name="bptrace")


@pytest.fixture
def files(tmp_path):
    (tmp_path / "line.bp").write_text(LINE)
    (tmp_path / "five.csv").write_text("x,y\n1,2\n2,4\n3,6\n4,8\n5,10\n")
    return tmp_path


def test_csv_columns_replace_the_inputs_and_targets(files):
    # x = 1..5, y = 2x, w = 1: ∂L_i/∂w = −(y_i − x_i)·x_i = −x_i², mean −(1+4+9+16+25)/5 = −11.
    lines = [
        json.loads(x)
        for x in invoke(
            "run", str(files / "line.bp"), "--data", str(files / "five.csv"), "--json"
        ).stdout.splitlines()
    ]
    assert lines[0]["samples"] == 5
    assert lines[1]["grads"]["w"] == pytest.approx([-1, -4, -9, -16, -25])
    assert lines[1]["updates"][0]["grad"] == pytest.approx(-11)


@pytest.mark.parametrize(
    "csv, says",
    [
        (
            "x,z\n1,2\n",
            "the column 'z' is not an input or target of the network; the inputs and targets are "
            "x, y",
        ),
        ("x,Y\n1,2\n", "did you mean 'y'?"),
        (
            "x,w\n1,2\n",
            "the column 'w' is a param of the network; only inputs and targets take data",
        ),
        ("x,y\n1,two\n", "line 2, column 'y': 'two' is not a number"),
        ("x,y\n1,2,3\n", "line 2: 3 cells, but the header names 2 columns"),
        ("x,x\n1,2\n", "the column 'x' appears twice"),
        ("x,y\n", "no samples: the header row is the only row"),
        ("", "empty"),
        (";\n\t;\n", "empty"),  # separators alone
        ("x,y\n1,inf\n", "inf is not a finite number"),
        ("x,y\n1\n", "line 2: 1 cell, but the header names 2 columns"),
        ("x;y\n1,5;3\n", "line 2, column 'x': '1,5' is not a number: use a decimal point, 1.5"),
        (
            "# a network\nparam w = 1\n",
            "a .bp network, not a CSV file of samples: give the network as FILE",
        ),
        ("input x = 0\ntarget y = 0\n", "a .bp network, not a CSV file of samples"),
    ],
)
def test_bad_data_files_are_file_errors(files, csv, says):
    (files / "bad.csv").write_text(csv)
    result = invoke("run", str(files / "line.bp"), "--data", str(files / "bad.csv"))
    assert result.exit_code == 3 and says in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    "text",
    ["x;y\n1;2\n2;4\n3;6\n4;8\n5;10\n", "x\ty\n1\t2\n2\t4\n3\t6\n4\t8\n5\t10\n"],
    ids=["semicolons", "tabs"],
)
def test_cells_separated_by_semicolons_or_tabs_are_read_as_commas_are(files, text):
    """What a spreadsheet set for decimal commas writes, and a table copied as text: five.csv's
    numbers."""
    (files / "other.csv").write_text(text)
    run = [
        json.loads(x)
        for x in invoke(
            "run", str(files / "line.bp"), "--data", str(files / "other.csv"), "--json"
        ).stdout.splitlines()
    ]
    # as in test_csv_columns_replace_the_inputs_and_targets
    assert run[1]["updates"][0]["grad"] == pytest.approx(-11)


@pytest.mark.parametrize(
    "text", ["1,1\n2,2\n", "1;2\n3;4\n", "\n1.5\t2\n"], ids=["commas", "semicolons", "tabs"]
)
def test_a_csv_without_a_header_row_is_told_to_start_with_the_networks_names(files, text):
    """A first row of numbers is samples, not names (no .bp name is a number): not 'the column '1'
    appears twice'."""
    (files / "bare.csv").write_text(text)
    result = invoke("run", str(files / "line.bp"), "--data", str(files / "bare.csv"))
    first = [c for c in text.splitlines() if c][0].replace(";", ",").replace("\t", ",")
    line = 1 if text[0] != "\n" else 2
    assert result.exit_code == 3 and result.stderr == (
        f"bptrace: error: {files / 'bare.csv'}: line {line} holds numbers ({first}), not names: "
        "start the file with a header row naming the inputs and targets: x,y\n"
    )


def test_lone_cr_line_endings_are_read_as_old_mac_files_end_their_lines(files):
    """five.csv's numbers with lines ended by CR alone: the same gradient, −11."""
    (files / "mac.csv").write_bytes(b"x,y\r1,2\r2,4\r3,6\r4,8\r5,10\r")
    run = [
        json.loads(x)
        for x in invoke(
            "run", str(files / "line.bp"), "--data", str(files / "mac.csv"), "--json"
        ).stdout.splitlines()
    ]
    assert run[0]["samples"] == 5 and run[1]["updates"][0]["grad"] == pytest.approx(-11)


# a CR inside a cell ends its line
# blank lines counted
@pytest.mark.parametrize(
    "data, says",
    [
        (
            b"x,y\n1,2\r5\n3,4\n",
            "line 3: 1 cell, but the header names 2 columns",
        ),
        (
            b"x,y\n1," + b"2" * 140_000 + b"\n",
            "line 2: a cell of more than 131,072 characters; a cell holds one number",
        ),
        (
            b"x,y\n\n1,2\n\n3,four\n",
            "line 5, column 'y': 'four' is not a number",
        ),
    ],
    ids=["cr_in_a_cell", "cell_too_long", "blank_lines_counted"],
)
def test_csv_the_csv_module_refuses_is_a_file_error_at_its_line(files, data, says):
    (files / "bad.csv").write_bytes(data)
    result = invoke("run", str(files / "line.bp"), "--data", str(files / "bad.csv"))
    assert (
        result.exit_code == 3 and result.stderr == f"bptrace: error: {files / 'bad.csv'}: {says}\n"
    )


def test_a_list_in_the_file_must_match_the_data(files):
    (files / "two.bp").write_text(
        "input x = 0\ntarget y = [1, 2]\nparam w = 1\nloss L = (y - w*x)^2\n"
    )
    (files / "x.csv").write_text("x\n1\n2\n3\n")
    result = invoke("run", str(files / "two.bp"), "--data", str(files / "x.csv"))
    assert result.exit_code == 3 and "3 samples, but 'y' (line 2) holds 2" in result.stderr


def test_batches_take_the_next_samples_in_order_wrapping_around():
    graph = load(
        "input x = [1, 2, 3, 4, 5]\ntarget y = [2, 4, 6, 8, 10]\nparam w = 1\nset lr = 0\n"
        "loss L = 1/2*(y - w*x)^2\n"
    )
    steps = [r for r in trace(graph, 4, batches=Batches(2)) if isinstance(r, Step)]
    assert [r.indices for r in steps] == [(0, 1), (2, 3), (4, 0), (1, 2)]
    # With lr = 0, w stays 1 and each batch's gradient is the mean of −x_i² over its two samples.
    assert [float(r.updates[0].grad) for r in steps] == pytest.approx([-2.5, -12.5, -13, -6.5])


def test_shuffled_batches_take_each_sample_once_a_pass_and_repeat_with_the_seed():
    graph = load("input x = [1, 2, 3, 4, 5, 6]\nparam w = 1\nloss L = w*x\n")
    first = [r.indices for r in trace(graph, 6, batches=Batches(2, True, 7)) if isinstance(r, Step)]
    again = [r.indices for r in trace(graph, 6, batches=Batches(2, True, 7)) if isinstance(r, Step)]
    assert first == again
    assert (
        sorted(i for b in first[:3] for i in b)
        == list(range(6))
        == sorted(i for b in first[3:] for i in b)
    )
    rng = np.random.default_rng(7)  # numpy's own permutations, pass by pass
    assert [i for b in first for i in b] == [*rng.permutation(6), *rng.permutation(6)]


def test_set_batch_in_the_file_and_the_summary_over_all_samples(files):
    (files / "b.bp").write_text(
        "input x = [1, 2, 3, 4]\ntarget y = [2, 4, 6, 8]\nparam w = 1\nset batch = 2\n"
        "loss L = 1/2*(y - w*x)^2\n"
    )
    out = invoke("run", str(files / "b.bp"), "--steps", "2", "--show", "updates").stdout
    words = " ".join(out.split())
    assert (
        "a batch of 2 of the 4 samples (1, 2)" in words
        and "a batch of 2 of the 4 samples (3, 4)" in words
    )
    # Before training, over all four samples: mean of ½(x_i)² = (1 + 4 + 9 + 16)/8 = 3.75.
    assert "loss L (all samples) 3.75" in words
    assert "--batch-size" in invoke("run", "--help").stdout


def test_the_json_names_each_steps_batch(files):
    lines = [
        json.loads(x)
        for x in invoke(
            "run",
            str(files / "line.bp"),
            "--data",
            str(files / "five.csv"),
            "-b",
            "2",
            "--steps",
            "2",
            "--json",
        ).stdout.splitlines()
    ]
    assert [r.get("batch") for r in lines[1:3]] == [[0, 1], [2, 3]]
    # how they were picked, for a grader to redo
    assert lines[0]["batch"] == {
        "size": 2,
        "shuffle": False,
    }
    assert "start_loss" in lines[-1]
    shuffled = [
        json.loads(x)
        for x in invoke(
            "run",
            str(files / "line.bp"),
            "--data",
            str(files / "five.csv"),
            "-b",
            "2",
            "--shuffle",
            "--seed",
            "7",
            "--json",
        ).stdout.splitlines()
    ]
    assert shuffled[0]["batch"] == {"size": 2, "shuffle": True, "seed": 7}
    everything = [
        json.loads(x)
        for x in invoke(
            "run", str(files / "line.bp"), "--data", str(files / "five.csv"), "--json"
        ).stdout.splitlines()
    ]
    assert "batch" not in everything[0] and "batch" not in everything[1]
    schema = json.loads(invoke("schema").stdout)
    for record in lines + shuffled + everything:
        jsonschema.validate(record, schema)


def test_shuffled_batches_never_hold_a_sample_twice():
    # 4 samples in batches of 3: each pass is a permutation cut into 3 + 1.
    graph = load("input x = [1, 2, 3, 4]\nparam w = 1\nloss L = w*x\n")
    picked = [
        r.indices for r in trace(graph, 6, batches=Batches(3, True, 0)) if isinstance(r, Step)
    ]
    assert [len(b) for b in picked] == [3, 1, 3, 1, 3, 1]
    assert all(len(set(b)) == len(b) for b in picked)
    assert sorted(picked[0] + picked[1]) == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "args, says",
    [
        (["--batch-size", "2"], "the inputs and targets hold one value each"),
        (["--shuffle"], "the inputs and targets hold one value each"),
    ],
)
def test_batch_options_without_samples_are_usage_errors(files, args, says):
    result = invoke("run", str(files / "line.bp"), *args)
    assert result.exit_code == 2 and says in result.stderr


def test_a_column_the_network_declares_missing_from_the_csv_is_named_not_trained_on_its_placeholder(
    files,
):
    """line.bp's target y = 0 would be every sample's target, with no word: refused, naming the
    column."""
    (files / "x.csv").write_text("x\n1\n2\n")
    result = invoke("run", str(files / "line.bp"), "--data", str(files / "x.csv"))
    assert result.exit_code == 3 and result.stdout == ""
    assert result.stderr == (
        f"bptrace: error: {files / 'x.csv'}: no column for the target 'y' (line 2): the header "
        "names x; "
        "add the column, or declare a value every sample shares with `const`\n"
    )
    (files / "w.bp").write_text("input z = 0\n" + LINE)
    (files / "z.csv").write_text("z\n1\n")
    said = invoke("run", str(files / "w.bp"), "--data", str(files / "z.csv")).stderr
    assert (
        "no column for the input 'x' (line 2) and the target 'y' (line 3): the header names z; add "
        "a column for each" in said
    )


def test_set_batch_without_samples_is_warned_of_at_its_line_as_batch_size_is_refused(files):
    (files / "b.bp").write_text(LINE + "set batch = 2\n")
    result = invoke("run", str(files / "b.bp"), "--show", "updates")
    assert result.exit_code == 0
    assert result.stderr.splitlines()[:3] == [
        f"{files / 'b.bp'}:5:5: warning: `set batch` picks mini-batches of samples, but the inputs "
        "and targets hold one value each",
        " 5 | set batch = 2",
        "   |     ^~~~~",
    ]
    with_data = invoke(
        "run", str(files / "b.bp"), "--data", str(files / "five.csv"), "--show", "updates"
    )
    # the samples are the data's: batches of 2 of 5
    assert with_data.exit_code == 0 and with_data.stderr == ""
    assert "a batch of 2 of the 5 samples (1, 2)" in " ".join(with_data.stdout.split())


def test_sample_and_shuffle_need_what_they_act_on(files):
    data = ["--data", str(files / "five.csv")]
    assert "give --batch-size B" in invoke("run", str(files / "line.bp"), *data, "--shuffle").stderr
    assert (
        "with mini-batches each step runs other samples"
        in invoke("run", str(files / "line.bp"), *data, "-b", "2", "--sample", "1").stderr
    )


def test_a_fault_in_one_sample_names_the_sample(tmp_path):
    f = tmp_path / "f.bp"
    f.write_text("input x = [1, -1, 2]\nparam w = 1\nloss L = log(w*x)\n")
    result = invoke("run", str(f))
    assert (
        result.exit_code == 5 and "step 1: node L = log(w*x): sample 2: log of -1" in result.stderr
    )
    end = json.loads(invoke("run", str(f), "--json").stdout.splitlines()[-1])
    assert end["type"] == "end" and end["error"]["kind"] == "numeric"


def test_graph_and_a_too_wide_draw(tmp_path):
    out = invoke("graph", str(ROOT / "networks" / "xor.bp")).stdout
    assert "input x₀ = [0, 0, 1, 1]" in out
    f = tmp_path / "u.bp"
    f.write_text("param w = uniform(-1e308, 1e308)\nloss L = w^2\n")
    assert "spans more than a float can hold" in invoke("run", str(f)).stderr


def test_each_step_shows_the_loss_training_lowers_under_the_forward_pass(files):
    # x = 1..5, y = 2x, w = 1: L_i = 1/2·(2x_i − x_i)² = x_i²/2; mean (1+4+9+16+25)/10 = 5.5, sum
    # 27.5; the first batch of 2 (samples 1 and 2): (1/2 + 2)/2 = 1.25.
    line, five = str(files / "line.bp"), str(files / "five.csv")
    out = invoke("run", line, "--data", five).stdout
    assert "The mean over the 5 samples, what training lowers: L = 5.5\n" in out
    assert (
        "The mean over the batch's 2 samples, what training lowers: L = 1.25\n"
        in invoke("run", line, "--data", five, "-b", "2").stdout
    )
    (files / "sum.bp").write_text(LINE + "set reduction = sum\n")
    assert (
        "The sum over the 5 samples, what training lowers: L = 27.5\n"
        in invoke("run", str(files / "sum.bp"), "--data", five).stdout
    )
    # one value: the table's
    assert "what training lowers" not in invoke("run", str(ROOT / "networks" / "simple.bp")).stdout


def test_one_sample_is_said_as_one_not_as_a_mean_over_them(files):
    """x = 1, y = 2, w = 1: L = 1/2·(2 − 1)² = 0.5, the one sample's loss."""
    (files / "one.csv").write_text("x,y\n1,2\n")
    out = " ".join(
        invoke("run", str(files / "line.bp"), "--data", str(files / "one.csv")).stdout.split()
    )
    assert "1 sample: the loss and the gradients that update the params are that sample's." in out
    assert "The loss of the one sample, what training lowers: L = 0.5" in out
    assert "over them" not in out and "1 samples" not in out and "the 1 sample" not in out
    batch = " ".join(
        invoke(
            "run", str(files / "line.bp"), "--data", str(files / "five.csv"), "-b", "1"
        ).stdout.split()
    )
    assert (
        "a batch of 1 of the 5 samples (1): the loss and the gradients that update the params are "
        "that sample's." in batch
    )
    assert "The loss of the batch's one sample, what training lowers: L = 0.5" in batch
    (files / "y1.bp").write_text(
        "input x = [1, 2]\ntarget y = [1]\nparam w = 1\nloss L = (y - w*x)^2\n"
    )
    assert (
        "error: 'y' has 1 sample, but 'x' (line 1) has 2"
        in invoke("run", str(files / "y1.bp")).stderr
    )
    said = invoke(
        "run", str(files / "line.bp"), "--data", str(files / "one.csv"), "--sample", "2"
    ).stderr
    assert said.endswith("line.bp has one sample, sample 1\n")


def test_a_column_named_hash_is_a_column_and_a_bp_file_is_named_as_such(files):
    (files / "numbered.csv").write_text("#,x,y\n1,1,2\n")
    assert (
        "the column '#' is not an input or target"
        in invoke("run", str(files / "line.bp"), "--data", str(files / "numbered.csv")).stderr
    )
    said = invoke("run", str(files / "line.bp"), "--data", str(files / "line.bp")).stderr
    assert said.startswith(
        f"bptrace: error: {files / 'line.bp'}: a .bp network, not a CSV file of samples"
    )


def test_a_data_file_not_in_utf8_points_at_the_byte_in_the_data_file(files):
    """What a spreadsheet may save: Latin-1, é the byte 0xe9 on line 2, column 3 of the CSV (not of
    the network)."""
    (files / "latin1.csv").write_bytes("x;y\n1;é\n".encode("latin-1"))
    result = invoke("run", str(files / "line.bp"), "--data", str(files / "latin1.csv"))
    assert result.exit_code == 3 and result.stdout == ""
    assert (
        result.stderr.splitlines()[0]
        == f"{files / 'latin1.csv'}:2:3: error: not UTF-8 text: byte 0xe9 is not a character in "
        "UTF-8"
    )
    assert "hint: save the file as UTF-8" in result.stderr
    assert (
        invoke("run", str(files / "line.bp"), "--data", str(files / "none.csv")).stderr
        == f"bptrace: error: {files / 'none.csv'}: no such file\n"
    )


@pytest.mark.parametrize("form", ["markdown", "latex"])
def test_a_handouts_summary_with_mini_batches_starts_from_the_loss_over_all_samples(files, form):
    """five.csv at w = 1: the loss over all 5 samples is 5.5 (as the terminal says), step 1's batch
    of 2 only 1.25."""
    out = invoke(
        "run",
        str(files / "line.bp"),
        "--data",
        str(files / "five.csv"),
        "-b",
        "2",
        "--format",
        form,
    ).stdout
    row = (
        "| **loss L (all samples)** | **5.5** |"
        if form == "markdown"
        else r"loss $L\text{ (all samples)}$ & $5.5$ &"
    )
    assert row in out


def test_handouts_say_which_samples_a_step_trains_on_and_the_loss_it_lowers(files):
    """five.csv at w = 1: L = 5.5 over all 5 samples, 1.25 over the first batch of 2 (samples 1 and
    2)."""
    line, five = str(files / "line.bp"), str(files / "five.csv")
    out = invoke("run", line, "--data", five, "--format", "markdown").stdout
    assert (
        "5 samples: the loss and the gradients that update the params are the mean over them."
        in out
    )
    assert "The mean over the 5 samples, what training lowers: L = 5.5\n" in out
    batch = invoke("run", line, "--data", five, "-b", "2", "--format", "latex").stdout
    assert (
        "A batch of 2 of the 5 samples (1, 2): the loss" in batch
        and "what training lowers: $L = 1.25$" in batch
    )
    sheet = invoke("run", line, "--data", five, "--format", "markdown", "--blank", "forward").stdout
    # an answer of the blank forward pass
    assert "what training lowers: L = \n" in sheet and "5.5" not in sheet


def test_a_handouts_note_of_a_batch_of_many_samples_is_plain_latex(files):
    (files / "twelve.csv").write_text("x,y\n" + "".join(f"{i},{2 * i}\n" for i in range(1, 13)))
    out = invoke(
        "run",
        str(files / "line.bp"),
        "--data",
        str(files / "twelve.csv"),
        "-b",
        "10",
        "--format",
        "latex",
    ).stdout
    assert "A batch of 10 of the 12 samples (1, 2, 3, 4, 5, 6, 7, 8, ...): the loss" in out
    assert "textbackslash" not in out


def test_a_seed_without_shuffle_or_draws_is_warned_of_with_the_datas_samples_in_mind(files):
    line, five = str(files / "line.bp"), str(files / "five.csv")
    said = invoke("run", line, "--data", five, "-b", "2", "--seed", "7").stderr
    assert said.endswith(
        "draws no param at random (uniform(...) or normal(...)), and no samples are shuffled "
        "(--shuffle)\n"
    )
    assert (
        "warning"
        not in invoke("run", line, "--data", five, "-b", "2", "--seed", "7", "--shuffle").stderr
    )
