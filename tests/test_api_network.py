"""The API's network changed (`with_seed`, `with_data`, `with_settings`, `variant`), run a step at
a time (`steps`), nudged, drawn and read from files, through public names only.

Values are worked out by hand on networks/simple.bp (the handout's first network); where the API
and `bptrace run` must agree, they are compared byte for byte.
"""

from __future__ import annotations

import json

import pytest
from conftest import ROOT
from typer.testing import CliRunner

import bptrace
from bptrace.cli.app import app

SIMPLE = str(ROOT / "networks" / "simple.bp")
ENV = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}

# networks/simple.bp by hand: x = 2, y = 1, w1 = 0.5, b1 = 0.1, w2 = −0.3, b2 = 0.2, lr = 0.1
H = 2 * 0.5 + 0.1  # 1.1
G = H * -0.3 + 0.2  # −0.13
L = 0.5 * (1 - G) ** 2  # 0.63845
DL_DW2 = -(1 - G) * H  # ∂L/∂g · ∂g/∂w2 = −1.13 · 1.1 = −1.243

# a line through samples: g = w·x + b, L = ½(y − g)² averaged over the samples
LINE = (
    "input x = 1\ntarget y = 2\nparam w = 0.5\nparam b = 0\ng = w*x + b\nloss L = 1/2*(y - g)^2\n"
)
SAMPLES = {"x": [1.0, 2.0, 3.0, 4.0], "y": [2.0, 4.0, 6.0, 8.0]}


def cli(*args: str) -> str:
    result = CliRunner(env=ENV).invoke(app, list(args), prog_name="bptrace")
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_a_run_computes_each_step_only_when_asked_for():
    run = bptrace.load(SIMPLE).steps(1_000_000)
    assert run.begin["steps"] == 1_000_000 and run.end is None
    first, second = next(run), next(run)
    assert (first["step"], second["step"]) == (1, 2) and run.end is None
    assert first["loss"] == pytest.approx(L, rel=1e-15)


def test_a_run_iterated_to_its_end_is_the_trace():
    net = bptrace.load(SIMPLE)
    run = net.steps(3, lr=0.2)
    steps = list(run)
    trace = net.run(3, lr=0.2)
    assert steps == list(trace) and run.begin == trace.begin and run.end == trace.final
    assert run.end["steps"] == 3


def test_with_settings_replaces_the_files_set_lines():
    net = bptrace.load(SIMPLE)
    (step,) = net.with_settings(lr=0.2).run()
    w2 = next(u for u in step["updates"] if u["param"] == "w2")
    assert w2["lr"] == 0.2 and w2["after"] == pytest.approx(-0.3 - 0.2 * DL_DW2, rel=1e-14)
    assert net.run()[0]["updates"] != step["updates"]  # the network itself is unchanged
    sgd_l = net.with_settings(reduction="sum").run()[0]["loss"]
    assert sgd_l == pytest.approx(L, rel=1e-15)  # one sample: sum and mean agree


def test_with_settings_refuses_what_cannot_be_set():
    net = bptrace.load(SIMPLE)
    with pytest.raises(ValueError, match="lrr"):
        net.with_settings(lrr=0.1)
    with pytest.raises(ValueError, match="half"):
        net.with_settings(half="sometimes")


def test_with_data_runs_on_the_columns_and_keeps_them_through_other_changes():
    net = bptrace.parse(LINE, "line.bp").with_data(SAMPLES)
    assert net.samples == 4
    # g = 0.5·x, y − g = 1.5·x; ∂L/∂w = mean(−(y − g)·x) = −1.5·mean(x²) = −1.5·7.5 = −11.25
    (step,) = net.with_settings(lr=0.01).run()
    assert step["grads"]["w"] == pytest.approx([-1.5, -6.0, -13.5, -24.0])  # −1.5·x², per sample
    w = next(u for u in step["updates"] if u["param"] == "w")
    assert w["grad"] == pytest.approx(-11.25, rel=1e-14) and w["lr"] == 0.01
    assert net.with_seed(3).samples == 4


def test_with_data_reads_a_csv_file_as_data_does(tmp_path):
    csv = tmp_path / "line.csv"
    csv.write_text("x,y\n" + "".join(f"{x},{y}\n" for x, y in zip(*SAMPLES.values())))
    bp = tmp_path / "line.bp"
    bp.write_text(LINE)
    net = bptrace.load(bp)
    assert net.with_data(csv).run(2).to_jsonl() == cli(
        "run", str(bp), "--data", str(csv), "-n", "2", "--json"
    )


def test_batches_and_shuffling_are_run_s(tmp_path):
    bp = tmp_path / "line.bp"
    bp.write_text(LINE)
    net = bptrace.load(bp).with_data(SAMPLES)
    trace = net.with_seed(7).run(4, batch_size=2, shuffle=True)
    assert trace.begin["batch"]["size"] == 2
    csv = tmp_path / "line.csv"
    csv.write_text("x,y\n" + "".join(f"{x},{y}\n" for x, y in zip(*SAMPLES.values())))
    args = ["run", str(bp), "--data", str(csv), "-n", "4", "-b", "2", "--shuffle", "--seed", "7"]
    expected = cli(*args, "--json").replace(str(csv), "data")
    assert trace.to_jsonl() == expected
    with pytest.raises(ValueError, match="pick samples"):
        bptrace.load(SIMPLE).run(batch_size=2)
    with pytest.raises(ValueError, match="shuffles mini-batches"):
        net.run(shuffle=True)


def test_a_variant_is_run_variant_s():
    net = bptrace.load(SIMPLE)
    ann = net.variant("ann")
    assert ann.params != net.params and ann.params == net.variant("ann").params
    assert ann.run(2).to_jsonl() == cli("run", SIMPLE, "--variant", "ann", "-n", "2", "--json")


def test_with_seed_draws_the_params_written_at_random():
    net = bptrace.parse("param w = uniform(-1, 1)\nloss L = w^2\n")
    assert net.with_seed(1).params == net.with_seed(1).params != net.with_seed(2).params
    assert -1 <= net.with_seed(1).params["w"] <= 1


def test_nudge_predicts_the_loss_change_by_the_gradient():
    report = bptrace.load(SIMPLE).nudge("w2", by=1e-3)
    assert isinstance(report, bptrace.NudgeReport)
    assert report.grad == pytest.approx(DL_DW2, rel=1e-14) and report.loss == pytest.approx(L)
    nudged = report.asked
    g = H * (-0.3 + 1e-3) + 0.2
    assert nudged.predicted == pytest.approx(DL_DW2 * 1e-3, rel=1e-12)
    assert nudged.actual == pytest.approx(0.5 * (1 - g) ** 2 - L, rel=1e-9)
    assert [n.by for n in report.nudges] == pytest.approx([1e-2, 1e-3, 1e-4, 1e-5])


def test_nudge_refuses_what_it_cannot_do():
    net = bptrace.load(SIMPLE)
    for bad in ({"param": "h"}, {"param": "w2", "by": 0.0}, {"param": "w2", "by": float("nan")}):
        with pytest.raises(ValueError):
            net.nudge(**bad)
    with pytest.raises(ValueError, match="unchanged"):
        net.nudge("w2", by=1e-300)


def test_draw_writes_what_graph_format_writes():
    net = bptrace.load(SIMPLE)
    for form in ("dot", "mermaid"):
        assert net.draw(form) == cli("graph", SIMPLE, "-f", form)
        at = net.draw(form, step=2)
        assert at == cli("graph", SIMPLE, "-f", form, "--step", "2") and at != net.draw(form)
    assert "h -> g" in net.draw("dot") or '"h" -> "g"' in net.draw("dot")
    with pytest.raises(ValueError, match="dot or mermaid"):
        net.draw("png")


def test_load_refuses_what_the_command_line_refuses(tmp_path):
    binary = tmp_path / "binary.bp"
    binary.write_bytes(b"param w = 1\x00\n")
    with pytest.raises(bptrace.FileError, match="NUL bytes"):
        bptrace.load(binary)
    with pytest.raises(bptrace.FileError, match="no such file"):
        bptrace.load(tmp_path / "missing.bp")
    with pytest.raises(bptrace.FileError, match="is a directory"):
        bptrace.load(tmp_path)
    utf16 = tmp_path / "utf16.bp"
    utf16.write_text("param w = 1\n", encoding="utf-16")
    with pytest.raises(bptrace.FileError, match="UTF-16"):
        bptrace.load(utf16)
    latin = tmp_path / "latin.bp"
    latin.write_bytes(b"param w = 1\n# caf\xe9\nloss L = w^2\n")
    with pytest.raises(bptrace.FileError) as caught:
        bptrace.load(latin)
    assert caught.value.span[:2] == (2, 6)  # line 2, the 6th character: é's byte
    assert str(caught.value).startswith(f"{latin}:2:6: error: not UTF-8 text: byte 0xe9")
    assert isinstance(caught.value, bptrace.BptraceError)


def test_a_crlf_file_s_columns_are_the_same_in_the_api_and_the_cli(tmp_path):
    broken = tmp_path / "broken.bp"
    broken.write_bytes(b"param w = 0.5\r\nloss L = w *\r\n")
    with pytest.raises(bptrace.NetworkError) as caught:
        bptrace.load(broken)
    result = CliRunner(env=ENV).invoke(app, ["run", str(broken)], prog_name="bptrace")
    assert result.stderr.startswith(f"{broken}:{caught.value.line}:{caught.value.col}: error:")


def test_json_records_from_the_api_are_strict_json():
    for record in bptrace.load(SIMPLE).run(2):
        json.dumps(record, allow_nan=False)


def test_compare_is_compare_json_s_document_and_says_what_changed():
    net = bptrace.load(SIMPLE)
    doc = net.compare({"lr": 0.2}, steps=2)
    assert doc == json.loads(cli("compare", SIMPLE, "--vs", "lr=0.2", "-n", "2", "--json"))
    first = doc["first"]
    assert (first["step"], first["table"], first["subject"]) == (1, "updates", ["w1"])
    w1 = next(d for d in doc["differences"] if d["subject"] == ["w1"] and d["step"] == 1)
    # w1 ← w1 − lr·∂L/∂w1, with ∂L/∂w1 = −1.13 · −0.3 · 2 = 0.678
    assert (w1["a"], w1["b"]) == (
        pytest.approx(0.5 - 0.1 * 0.678),
        pytest.approx(0.5 - 0.2 * 0.678),
    )


def test_compare_refuses_a_setting_it_cannot_make():
    net = bptrace.load(SIMPLE)
    with pytest.raises(ValueError, match="unknown setting 'lrr'"):
        net.compare({"lrr": 0.2})
    with pytest.raises(ValueError, match="both set lr"):
        net.compare({"lr": 0.2}, lr=0.3)


def test_a_setting_that_changes_nothing_is_said_without_command_line_words():
    doc = bptrace.load(SIMPLE).compare({"lr": 0.1})
    assert doc["differences"] == [] and doc["first"] is None
    assert doc["warnings"] == [f"lr = 0.1 changes nothing: {SIMPLE} sets lr to it already"]


def test_mistakes_is_mistakes_json_s_document():
    net = bptrace.load(SIMPLE)
    doc = net.mistakes()
    assert doc == json.loads(cli("mistakes", SIMPLE, "--json"))
    flipped = net.mistakes(mistake="sign-flipped")
    assert flipped == json.loads(cli("mistakes", SIMPLE, "--show", "sign-flipped", "--json"))
    (entry,) = flipped["mistakes"]
    # w ← w + lr·∂L/∂w: w1 = 0.5 + 0.1 · 0.678 = 0.5678
    assert entry["first"]["subject"] == ["w1"] and entry["mistaken_value"] == pytest.approx(0.5678)
    assert entry["right_value"] == pytest.approx(0.5 - 0.0678)
    with pytest.raises(ValueError, match="no mistake 'sign-flip'"):
        net.mistakes(mistake="sign-flip")


def test_handout_is_run_format_s_document_under_its_own_title():
    net = bptrace.load(SIMPLE)
    for form in ("markdown", "latex"):
        ours = net.handout(2, form=form).splitlines()
        theirs = cli("run", SIMPLE, "-n", "2", "-f", form).splitlines()
        assert len(ours) == len(theirs)
        differing = [(a, b) for a, b in zip(ours, theirs) if a != b]
        assert len(differing) == 1 and f"bptrace run {SIMPLE}" in differing[0][1]  # the title


def test_a_worksheet_leaves_the_blank_tables_answers_out():
    net = bptrace.load(SIMPLE)
    key, sheet = net.handout(), net.handout(blank=["partials"])
    assert "| ∂g/∂h | w₂ | −0.3 |" in key  # ∂g/∂h = w2 = −0.3
    assert "| ∂g/∂h |  |  |" in sheet and "| ∂g/∂h | w₂ |" not in sheet
    assert sheet.splitlines()[0].endswith("(worksheet)")
    with pytest.raises(ValueError, match="no table 'partial'"):
        net.handout(blank=["partial"])
    with pytest.raises(ValueError, match="markdown, latex or csv"):
        net.handout(form="html")


def test_grade_is_grade_json_s_document(tmp_path):
    # a worksheet with the partials (and the gradients from them) blank, filled in by hand: right
    # everywhere but ∂g/∂h, written as +0.3 (the sign lost: ∂g/∂h = w2 = −0.3); its key made
    # again from the network the worksheet names
    sheet = cli("run", SIMPLE, "-f", "csv", "--blank", "partials")
    answers = {
        "partials.L/g": "-1.13",  # −(y − g) = −(1 − (−0.13))
        "partials.g/h": "0.3",
        "partials.g/w2": "1.1",  # h
        "partials.g/b2": "1",
        "partials.h/w1": "2",  # x
        "partials.h/b1": "1",
        "gradients.L": "1",
        "gradients.g": "-1.13",
        "gradients.h": "0.339",  # −1.13 · −0.3
    }
    for cell, value in answers.items():
        sheet = sheet.replace(f"1.{cell}.value,\n", f"1.{cell}.value,{value}\n")
    ann = tmp_path / "ann.csv"
    ann.write_text(sheet, encoding="utf-8")
    doc = bptrace.grade([ann], network=SIMPLE)
    assert doc == json.loads(cli("grade", str(ann), "--network", SIMPLE, "--json"))
    (graded,) = doc["worksheets"]
    assert (graded["cells"], graded["right"], graded["wrong"]) == (9, 8, 1)
    assert [(a["cell"], a["answer_value"], a["expected_value"]) for a in graded["problems"]] == [
        ("1.partials.g/h.value", 0.3, pytest.approx(-0.3))
    ]
    assert bptrace.grade([ann], network=bptrace.load(SIMPLE)) == doc
    missing = bptrace.grade([tmp_path / "nobody.csv"], network=SIMPLE)
    assert missing["worksheets"] == [] and "no such file" in json.dumps(missing)
    with pytest.raises(ValueError, match="a key or a network"):
        bptrace.grade([ann])


def test_a_built_in_example_needs_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # as a pip user is: no networks/ here
    net = bptrace.example("simple")
    assert net.name == "simple.bp" and net.params == {"w1": 0.5, "b1": 0.1, "w2": -0.3, "b2": 0.2}
    assert net.run()[0]["loss"] == pytest.approx(L, rel=1e-15)
    assert bptrace.example("two_layer.bp").name == "two_layer.bp"
    with pytest.raises(ValueError, match="did you mean 'simple'"):
        bptrace.example("simpel")
    with pytest.raises(bptrace.FileError, match=r"bptrace\.example\('simple'\)"):
        bptrace.load("networks/simple.bp")


def test_training_goes_on_from_a_runs_params():
    net = bptrace.load(SIMPLE)
    run = net.steps(100)
    assert run.params == net.params  # before any step: the starting ones
    for record in run:
        if record["step"] == 3:
            break
    after = {u["param"]: u["after"] for u in record["updates"]}
    assert run.params == after
    # three steps, then three more from where they left off, are six steps
    assert net.with_params(run.params).run(3).final == net.run(6).final | {"steps": 3}
    assert net.with_params({"w2": 1.0}).params == {**net.params, "w2": 1.0}
    for bad in ({"w3": 1.0}, {"w2": "1"}, {"w2": float("inf")}, {"w2": True}):
        with pytest.raises(ValueError):
            net.with_params(bad)


def test_a_worksheet_made_in_python_grades_as_one_made_by_run(tmp_path):
    net = bptrace.load(SIMPLE)
    ann = net.variant("ann")
    sheet = ann.handout(form="csv", blank="updates")
    assert sheet.splitlines()[0].startswith("# bptrace worksheet {")
    assert '"variant": "ann"' in sheet.splitlines()[0]
    keyed = ann.handout(form="csv", blank="updates", key=True)
    assert keyed.splitlines()[:2] == sheet.splitlines()[:2]  # the same record, the same cells
    key = dict(line.split(",") for line in keyed.splitlines()[2:])
    # w1 ← w1 − α·∂L/∂w1, ann's numbers
    before, lr = ann.params["w1"], 0.1
    grad = float(key["1.updates.w1.gradient"])
    assert float(key["1.updates.w1.after"]) == pytest.approx(before - lr * grad, abs=1e-4)
    filled = "".join(
        line + (key[line.rstrip(",")] if line.endswith(",") else "") + "\n"
        for line in sheet.splitlines()
    )
    (tmp_path / "ann.csv").write_text(filled, encoding="utf-8")
    graded = bptrace.grade(tmp_path / "ann.csv", network=net)  # one path; its variant remade
    (result,) = graded["worksheets"]
    assert result["variant"] == "ann" and result["score"] == 1.0 and result["wrong"] == 0
    markdown = ann.handout(blank=["partials"])
    assert markdown.startswith(f"# {SIMPLE} (worksheet, variant ann)\n<!-- bptrace worksheet")


def test_samples_that_cannot_be_used_are_value_errors_naming_the_column(tmp_path):
    net = bptrace.parse(LINE, "line.bp")
    with pytest.raises(ValueError, match=r"data\['x'\] must be a list of numbers; it holds 'a'"):
        net.with_data({"x": [1, "a"], "y": [1, 2]})
    with pytest.raises(ValueError, match=r"data\['x'\] must be a list of numbers"):
        net.with_data({"x": 1.0, "y": [1.0]})
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("a,y\n1,2\n", encoding="utf-8")
    with pytest.raises(bptrace.DataError, match="'a' is not an input or target") as caught:
        net.with_data(wrong)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, bptrace.BptraceError)
