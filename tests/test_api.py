"""The public Python API, through its public names only: `import bptrace` and what it lists.

Values are worked out by hand (networks/simple.bp, the handout's first network), traces compared
byte for byte with `bptrace run --json`, and the notebook HTML parsed.
"""

from __future__ import annotations

import html.parser
import math
import re
import subprocess
import sys

import pytest
from conftest import NETWORKS, ROOT
from typer.testing import CliRunner

import bptrace
from bptrace.cli.app import app

SIMPLE = str(ROOT / "networks" / "simple.bp")
ENV = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}

# networks/simple.bp by hand: x = 2, y = 1, w1 = 0.5, b1 = 0.1, w2 = −0.3, b2 = 0.2, lr = 0.1
H = 2 * 0.5 + 0.1  # 1.1
G = H * -0.3 + 0.2  # −0.13
L = 0.5 * (1 - G) ** 2  # ½·1.13² = 0.63845
DL_DG = -(1 - G)  # −1.13
GRADS = {
    "w1": DL_DG * -0.3 * 2,  # ∂L/∂g · ∂g/∂h · ∂h/∂w1 = −1.13 · −0.3 · 2 = 0.678
    "b1": DL_DG * -0.3 * 1,  # 0.339
    "w2": DL_DG * H,  # −1.243
    "b2": DL_DG,  # −1.13
}
BEFORE = {"w1": 0.5, "b1": 0.1, "w2": -0.3, "b2": 0.2}


def cli_json(*args: str) -> str:
    result = CliRunner(env=ENV).invoke(app, ["run", *args, "--json"], prog_name="bptrace")
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_import_bptrace_lists_a_small_public_surface():
    assert set(bptrace.__all__) == {
        "BptraceError",
        "Chain",
        "CheckedGrad",
        "CheckedPartial",
        "CheckedStep",
        "DataError",
        "Explanation",
        "FileError",
        "Network",
        "NetworkError",
        "NetworkWarning",
        "Nudge",
        "NudgeReport",
        "NumericFault",
        "Partial",
        "Run",
        "StepRecord",
        "Trace",
        "__version__",
        "example",
        "grade",
        "load",
        "parse",
    }
    for name in bptrace.__all__:
        assert getattr(bptrace, name) is not None
        assert name == "__version__" or getattr(bptrace, name).__doc__
    with pytest.raises(AttributeError):
        bptrace.no_such_name  # noqa: B018


def test_import_bptrace_loads_nothing_of_the_api_until_it_is_used():
    probe = "import bptrace, sys; print(sorted(m for m in sys.modules if m.startswith('bptrace')))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["['bptrace']"]


def test_a_step_holds_the_numbers_worked_out_by_hand():
    trace = bptrace.load(SIMPLE).run(steps=1)
    (step,) = trace
    assert step["step"] == 1
    assert step["loss"] == pytest.approx(0.63845, abs=1e-15)
    assert step["loss"] == pytest.approx(L, rel=1e-15)
    assert step["forward"]["h"] == pytest.approx(1.1) and step["forward"]["g"] == pytest.approx(G)
    assert step["grads"]["w1"] == pytest.approx(0.678, rel=1e-14)
    for param, grad in GRADS.items():
        assert step["grads"][param] == pytest.approx(grad, rel=1e-14)
    for update in step["updates"]:
        p = update["param"]
        assert update["before"] == BEFORE[p]
        assert update["after"] == pytest.approx(BEFORE[p] - 0.1 * GRADS[p], rel=1e-14)
    # each chain's one path: the product of the local partials on it
    chains = {c["param"]: c for c in step["chains"]}
    assert chains["w1"]["paths"] == [pytest.approx(0.678, rel=1e-14)]
    assert trace.losses == [step["loss"]]


def test_a_trace_runs_on_from_the_updated_params():
    trace = bptrace.load(SIMPLE).run(steps=2)
    after = {p: BEFORE[p] - 0.1 * GRADS[p] for p in BEFORE}  # w1 = 0.4322, …
    h = 2 * after["w1"] + after["b1"]
    g = h * after["w2"] + after["b2"]
    assert trace.losses[1] == pytest.approx(0.5 * (1 - g) ** 2, rel=1e-14)
    assert [u["before"] for u in trace[1]["updates"]] == pytest.approx(list(after.values()))
    assert trace.final["steps"] == 2
    final = {u["param"]: u["after"] for u in trace[1]["updates"]}
    assert trace.final["params"] == final
    h = 2 * final["w1"] + final["b1"]
    g = h * final["w2"] + final["b2"]
    assert trace.final["final_loss"] == pytest.approx(0.5 * (1 - g) ** 2, rel=1e-14)


def test_lr_replaces_the_files():
    (step,) = bptrace.load(SIMPLE).run(lr=0.5)
    assert {u["param"]: u["after"] for u in step["updates"]} == pytest.approx(
        {p: BEFORE[p] - 0.5 * GRADS[p] for p in BEFORE}
    )


@pytest.mark.parametrize("path", NETWORKS, ids=[p.name for p in NETWORKS])
def test_to_jsonl_is_byte_for_byte_what_run_json_writes(path):
    assert bptrace.load(str(path)).run(steps=3).to_jsonl() == cli_json(str(path), "--steps", "3")


def test_to_jsonl_matches_run_json_with_lr_seed_max_paths_and_data(tmp_path):
    path = str(ROOT / "networks" / "xor.bp")
    given = bptrace.load(path).run(steps=2, lr=0.3, seed=7, max_paths=1)
    assert given.to_jsonl() == cli_json(
        path, "--steps", "2", "--lr", "0.3", "--seed", "7", "--max-paths", "1"
    )
    csv = tmp_path / "data.csv"
    csv.write_text("x,y\n1,2\n3,4\n", encoding="utf-8")
    assert bptrace.load(SIMPLE).run(steps=2, data=csv).to_jsonl() == cli_json(
        SIMPLE, "--steps", "2", "--data", str(csv)
    )


def test_data_as_columns_is_the_csv_files():
    columns = {"x": [1.0, 3.0], "y": [2.0, 4.0]}
    (step,) = bptrace.load(SIMPLE).run(data=columns)
    # each sample's h = x·0.5 + 0.1, g = h·(−0.3) + 0.2; the loss their mean of ½(y − g)²
    gs = [(x * 0.5 + 0.1) * -0.3 + 0.2 for x in columns["x"]]
    assert step["loss"] == pytest.approx(
        sum(0.5 * (y - g) ** 2 for y, g in zip(columns["y"], gs)) / 2, rel=1e-14
    )
    assert step["forward"]["g"] == pytest.approx(gs)


def test_step_records_are_the_json_traces():
    import json

    trace = bptrace.load(SIMPLE).run(steps=2)
    lines = [json.loads(line) for line in trace.to_jsonl().splitlines()]
    assert lines[0] == trace.begin and lines[-1] == trace.final
    assert lines[1:-1] == [dict(step) for step in trace]
    assert isinstance(trace[0], bptrace.StepRecord) and len(trace) == 2


def test_check_finds_every_gradient_agreeing_with_finite_differences():
    (checked,) = bptrace.load(SIMPLE).check()
    assert isinstance(checked, bptrace.CheckedStep)
    assert checked.step == 1 and checked.ok
    grads = {g.param: g for g in checked.grads}
    for param, grad in GRADS.items():
        assert grads[param].analytic == pytest.approx(grad, rel=1e-14)
        assert grads[param].numeric == pytest.approx(grad, rel=1e-6)
        assert grads[param].status == "ok" and grads[param].culprit is None
    partials = {(p.of, p.wrt): p for p in checked.partials}
    assert partials[("g", "h")].formula == "w2"
    assert partials[("g", "h")].analytic == -0.3


def test_check_says_unstable_where_a_kink_lies_within_the_step_h():
    # |w| at w = 1e-7: backprop gives sign(w) = 1; the central difference with h = 1e-6 straddles
    # the kink at 0: (|1.1e-6| - |-0.9e-6|) / 2e-6 = 0.1. Neither is wrong: the check cannot tell.
    (checked,) = bptrace.parse("param w = 1e-7\nloss L = abs(w)\n").check()
    (grad,) = checked.grads
    assert grad.analytic == 1.0 and grad.numeric == pytest.approx(0.1, rel=1e-6)
    assert grad.status == "unstable" and checked.ok


def test_check_checks_each_step_asked():
    assert [c.step for c in bptrace.load(SIMPLE).check(steps=2)] == [1, 2]


def test_explain_gives_the_five_answers():
    answers = bptrace.load(SIMPLE).explain()
    assert answers.loss == "L"
    assert answers.params == ("w1", "b1", "w2", "b2")  # 1: ∇L has four entries
    assert bptrace.Partial("g", "h", "w2") in answers.partials  # 2: ∂g/∂h = w2
    chains = {c.param: c for c in answers.chains}
    assert chains["w1"] == bptrace.Chain("w1", (("L", "g", "h", "w1"),), 1, 3, 3)  # 3 and 4
    assert chains["w2"].paths == (("L", "g", "w2"),) and chains["w2"].longest == 2
    assert "w1, b1" in answers.conclusion  # 5: the longest chains lead to w1 and b1
    assert [c.paths for c in bptrace.load(SIMPLE).explain(["w2"]).chains if c.paths] == [
        (("L", "g", "w2"),)
    ]


def test_explain_refuses_a_name_that_is_not_a_param():
    with pytest.raises(ValueError, match="'h' is not a param"):
        bptrace.load(SIMPLE).explain(["h"])


def test_a_mistake_is_a_network_error_with_file_line_and_col(tmp_path):
    with pytest.raises(bptrace.NetworkError) as caught:
        bptrace.parse("param w = 0.5\nloss L = w*q\n", name="net.bp")
    error = caught.value
    assert (error.file, error.line, error.col) == ("net.bp", 2, 12)
    assert str(error).splitlines() == [
        "net.bp:2:12: error: unknown name 'q'",
        " 2 | loss L = w*q",
        "   |            ^",
        "  hint: declare it with `param`, `input`, `target` or `const`",
    ]
    assert isinstance(error, bptrace.BptraceError)
    broken = tmp_path / "broken.bp"
    broken.write_text("param w = 0.5\r\nloss L = w *\r\n", encoding="utf-8")
    with pytest.raises(bptrace.NetworkError) as caught:
        bptrace.load(broken)
    assert (caught.value.file, caught.value.line, caught.value.col) == (str(broken), 2, 13)


def test_parse_names_its_text_string_by_default():
    with pytest.raises(bptrace.NetworkError, match=r"^<string>:1:"):
        bptrace.parse("loss L = \n")


def test_bad_arguments_are_value_errors():
    net = bptrace.load(SIMPLE)
    for bad in ({"steps": 0}, {"lr": -1.0}, {"lr": math.nan}, {"max_paths": 0}):
        with pytest.raises(ValueError):
            net.run(**bad)
    with pytest.raises(ValueError):
        net.check(lr=math.inf)
    for columns in ({"x": [1.0, 2.0], "y": [1.0]}, {"x": [], "y": []}, {}):
        with pytest.raises(ValueError, match="as many samples each"):
            net.run(data=columns)


def test_a_run_whose_numbers_overflow_raises_numeric_fault():
    net = bptrace.parse("param w = 1e200\nloss L = w^2\n")
    with pytest.raises(bptrace.NumericFault):
        net.run(steps=3)


def test_warnings_are_records_with_line_and_col():
    net = bptrace.parse("input x = 1\nparam w = 2\nparam unused = 3\nloss L = (w*x)^2\n")
    assert [(w.line, w.col) for w in net.warnings] == [(3, 7)]
    assert "unused" in net.warnings[0].message


class Tags(html.parser.HTMLParser):
    """Check tags are balanced, and collect the text."""

    VOID = {"br", "hr", "img", "meta", "input", "link"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, (self.open, tag)
        self.open.pop()

    def handle_data(self, data):
        self.text.append(data)


def parsed(page: str) -> str:
    tags = Tags()
    tags.feed(page)
    tags.close()
    assert tags.open == []
    return " ".join(tags.text)


def test_a_step_shows_in_a_notebook_as_tables_of_its_numbers():
    (step,) = bptrace.load(SIMPLE).run()
    text = parsed(step._repr_html_())
    for shown in ("L = 0.63845", "1.1", "-0.13", "0.678", "0.339", "-1.243", "-1.13", "0.4322"):
        assert shown in text
    assert "∂L/∂w1" in text and "L → g → h → w1" in text


def test_the_explanation_shows_in_a_notebook():
    text = parsed(bptrace.load(SIMPLE).explain()._repr_html_())
    assert "4 entries" in text and "∂g/∂h" in text and "L → g → h → w1" in text
    assert "Longer." in text


def test_the_network_shows_in_a_notebook_as_its_graph_with_step_1s_numbers():
    page = bptrace.load(SIMPLE)._repr_html_()
    text = parsed(page)
    assert "<svg" in page and "graphviz" not in page.lower()
    for shown in ("0.678", "0.339", "1.1", "0.6385", "0.4322"):  # ∂L/∂w1, …, L, w1 after
        assert shown in text
    # two drawings on one page: each arrow finds its own marker
    ids = re.findall(r'<marker id="([^"]+)"', page + bptrace.load(SIMPLE)._repr_html_())
    assert len(set(ids)) == 2
    # no script runs in a notebook's output: nothing offers itself as a button to press
    assert "tabindex" not in page and 'role="button"' not in page


def test_notebook_html_escapes_hostile_names():
    hostile = '<script>alert("x")</script>&'
    net = bptrace.parse("param w = 0.5\nloss L = w^2\n", name=hostile)
    (step,) = net.run()
    for page in (net._repr_html_(), step._repr_html_()):
        assert "<script>" not in page
        assert "&lt;script&gt;" in page
        assert hostile in parsed(page)


def test_a_network_that_overflows_at_step_1_still_shows_its_graph():
    page = bptrace.parse("param w = 1e200\nloss L = w^4\n")._repr_html_()
    assert "<svg" in page and "w = " in parsed(page)


def test_a_trace_shows_in_a_notebook_as_its_losses():
    trace = bptrace.load(SIMPLE).run(steps=2)
    text = parsed(trace._repr_html_())
    assert "0.63845" in text and f"{trace.final['final_loss']:.6g}" in text


def test_a_network_too_large_to_draw_says_so():
    net = bptrace.load(ROOT / "networks" / "mnist_like.bp")
    text = parsed(net._repr_html_())
    assert "too many to draw" in text and "<svg" not in net._repr_html_()


def test_the_api_is_pure_no_typer_no_rich_even_once_used():
    probe = f"""
import sys
import bptrace
net = bptrace.load({SIMPLE!r})
trace = net.run(steps=2)
net.check(), net.explain()._repr_html_(), net._repr_html_(), trace[0]._repr_html_()
trace._repr_html_(), trace.to_jsonl()
print(sorted(m.split(".")[0] for m in sys.modules if m.split(".")[0] in ("typer", "rich", "click")))
print(sorted(m for m in sys.modules if m.startswith("bptrace.cli")))
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split("\n")[:2] == ["[]", "[]"]


def test_star_import_shadows_no_builtin():
    import builtins

    assert not set(bptrace.__all__) & set(dir(builtins))


@pytest.mark.parametrize("size", [2, 4, 9])
def test_a_files_set_batch_is_kept_as_run_json_keeps_it(tmp_path, size):
    # 2 of xor's 4 samples a step; 4 and 9 are all of them (the CLI warns: the API says nothing)
    text = (ROOT / "networks" / "xor.bp").read_text(encoding="utf-8")
    path = tmp_path / "batched.bp"
    path.write_text(text + f"set batch = {size}\n", encoding="utf-8")
    trace = bptrace.load(path).run(steps=3, seed=5)
    assert trace.to_jsonl() == cli_json(str(path), "--steps", "3", "--seed", "5")
    batches = [step.get("batch") for step in trace]
    assert batches == ([[0, 1], [2, 3], [0, 1]] if size == 2 else [None] * 3)


@pytest.mark.parametrize(
    "text, lr",
    [
        ("param w = 1e200\nloss L = w^2\n", None),  # w² overflows in step 1's forward pass
        (None, "1e100"),  # simple.bp diverges: the updates grow until a value overflows
    ],
)
def test_a_fault_carries_the_steps_before_it_as_run_json_writes_them(tmp_path, text, lr):
    path = tmp_path / "net.bp"
    path.write_text(text or (ROOT / "networks" / "simple.bp").read_text(encoding="utf-8"))
    with pytest.raises(bptrace.NumericFault) as caught:
        bptrace.load(path).run(steps=6, lr=None if lr is None else float(lr))
    result = CliRunner(env=ENV).invoke(
        app, ["run", str(path), "--steps", "6", "--json", *(("--lr", lr) if lr else ())]
    )
    assert result.exit_code == 5
    trace = caught.value.trace
    assert trace.to_jsonl() == result.stdout
    assert trace.final["final_loss"] is None and trace.final["error"]["kind"] == "numeric"
    assert len(trace) == trace.final["steps"] == (0 if text else trace.final["error"]["step"] - 1)
