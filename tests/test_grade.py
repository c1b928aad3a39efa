"""`bptrace grade`: worksheets graded against their key, wrong cells explained, and `--variant`.

The right answers are worked out by hand here (networks/simple.bp, the handout's first network),
never copied from bptrace's output.
"""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal

import pytest
from conftest import ROOT, SQUARE, load
from typer.testing import CliRunner

import bptrace
from bptrace.cli.app import app
from bptrace.engine.tracer import trace
from bptrace.engine.variants import check_id, choices, drawn, variant
from bptrace.views import grading, worksheet
from bptrace.views.cell_ids import read_number

ENV = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}
SIMPLE = ROOT / "networks/simple.bp"
ALL = "forward,partials,chains,updates"


def invoke(*args):
    return CliRunner(env=ENV).invoke(app, [str(a) for a in args], prog_name="bptrace")


def by_hand(x=2.0, y=1.0, w1=0.5, b1=0.1, w2=-0.3, b2=0.2, lr=0.1) -> dict[str, float]:
    """Return every answer of simple.bp's step 1, worked out as on the handout."""
    h = x * w1 + b1
    g = h * w2 + b2
    loss = 0.5 * (y - g) ** 2
    dg = -(y - g)  # ∂L/∂g
    dh = dg * w2  # ∂L/∂h = ∂L/∂g · ∂g/∂h
    grads = {"w1": dh * x, "b1": dh * 1, "w2": dg * h, "b2": dg * 1}
    before = {"w1": w1, "b1": b1, "w2": w2, "b2": b2}
    answers = {
        "1.forward.h.value": h,
        "1.forward.g.value": g,
        "1.forward.L.value": loss,
        "1.partials.L/g.value": dg,
        "1.partials.g/h.value": w2,
        "1.partials.g/w2.value": h,
        "1.partials.g/b2.value": 1,
        "1.partials.h/w1.value": x,
        "1.partials.h/b1.value": 1,
        "1.gradients.L.value": 1,
        "1.gradients.g.value": dg,
        "1.gradients.h.value": dh,
    }
    for p, grad in grads.items():
        answers[f"1.chains.{p}.value"] = grad
    for p, grad in grads.items():
        answers[f"1.updates.{p}.gradient"] = grad
        answers[f"1.updates.{p}.alpha_gradient"] = lr * grad
        answers[f"1.updates.{p}.after"] = before[p] - lr * grad
    return answers


HAND = by_hand()


def made(tmp_path, *args, network=SIMPLE, name="sheet"):
    """Make a worksheet and its key; return the worksheet's path and the key's."""
    sheet, key = tmp_path / f"{name}.md", tmp_path / f"{name}-key.md"
    result = invoke("run", network, "-f", "markdown", "--blank", ALL, "--key", key, *args)
    assert result.exit_code == 0, result.stderr
    sheet.write_text(result.stdout, encoding="utf-8")
    return sheet, key


def fill(sheet_text: str, answers: dict[str, str]) -> str:
    """Return the worksheet with `answers` typed into its empty cells, by cell id."""
    doc = worksheet.read(sheet_text)
    lines = sheet_text.split("\n")
    cells = doc.cells(frozenset(doc.meta["blank"]))
    for cell in sorted(cells, key=lambda c: (c.line, -c.col)):  # right to left in a line
        if cell.id in answers:
            line = lines[cell.line - 1]
            lines[cell.line - 1] = (
                line[: cell.col - 1] + answers[cell.id] + " " + line[cell.col - 1 :]
            )
    return "\n".join(lines)


def written(v: float) -> str:
    """Return a number as a student writes it: 4 significant digits."""
    return f"{v:.4g}"


def grades(*args) -> dict:
    result = invoke("grade", *args, "--json")
    return json.loads(result.stdout, parse_constant=_refuse)


def _refuse(name):
    raise ValueError(f"not strict JSON: {name}")


# -- grading ------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["key", "network"])
def test_a_worksheet_filled_in_right_by_hand_scores_every_cell(tmp_path, source):
    sheet, key = made(tmp_path)
    sheet.write_text(fill(sheet.read_text("utf-8"), {k: written(v) for k, v in HAND.items()}))
    given = ("--key", key) if source == "key" else ("--network", SIMPLE)
    result = invoke("grade", sheet, *given)
    assert result.exit_code == 0, result.stderr
    assert f"Score: {len(HAND)} of {len(HAND)} cells right (100%)" in result.stdout
    assert "Cells not right" not in result.stdout


def test_the_answers_bptrace_asks_for_are_the_ones_worked_out_by_hand(tmp_path):
    sheet, key = made(tmp_path)
    document = worksheet.read(sheet.read_text("utf-8"))
    asked = [c.id for c in document.cells(frozenset(document.meta["blank"]))]
    assert asked == list(HAND)  # every answer, in the worksheet's order
    answers = grading.key_of(worksheet.read(key.read_text("utf-8")).cells(), 4)
    for ident, value in HAND.items():
        assert answers[ident].value == pytest.approx(value, rel=5e-4, abs=1e-12), ident


def test_typos_and_unanswered_cells_are_named(tmp_path):
    sheet, _ = made(tmp_path)
    answers = {k: written(v) for k, v in HAND.items()}
    answers["1.forward.g.value"] = "-0.31"  # digits swapped: −0.13 is right
    answers["1.chains.w1.value"] = "0.l78"  # not a number
    del answers["1.updates.b2.after"]
    sheet.write_text(fill(sheet.read_text("utf-8"), answers))
    result = invoke("grade", sheet, "--network", SIMPLE)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert re.search(r"1\.forward\.g\.value\s+-0\.31\s+−0\.13\s+no known mistake explains it", out)
    assert re.search(r"1\.chains\.w1\.value\s+0\.l78\s+0\.678\s+not a number", out)
    assert re.search(r"1\.updates\.b2\.after\s+0\.313\s+unanswered", out)
    assert f"Score: {len(HAND) - 3} of {len(HAND)} cells right" in out
    assert "2 wrong, 1 unanswered" in out


def test_numbers_are_read_as_students_write_them():
    assert read_number("-0.13") == read_number("−0.13") == read_number(" − 0.13 ") == -0.13
    assert read_number("1.2e-3") == read_number("1.2e−03") == read_number("1,2E-3") == 0.0012
    assert read_number("1.2·10^-3") == read_number("1.2×10⁻³") == pytest.approx(0.0012)
    assert read_number("1,5") == 1.5 and read_number("**0.5**") == 0.5 and read_number(".5") == 0.5
    for text in ("", "abc", "0.l3", "1,234.5", "nan", "inf", "1/2", "1.2.3"):
        assert read_number(text) is None, text


def test_tolerance_edges():
    def expected(text: str, precision: int = 4) -> grading.Expected:
        cell = worksheet.read_csv(f"cell,value\nc,{text}\n").entries["c"]
        return grading.key_of([cell], precision)["c"]

    loss = expected("0.6385")  # 1%: 0.006385; one unit in the 4th digit: 0.0001
    assert grading.close(0.6385 + 0.0063, loss, 0.01)
    assert not grading.close(0.6385 + 0.0065, loss, 0.01)
    assert grading.close(0.6385 - 0.0001, loss, 0.0)  # one unit in the last digit shown
    assert not grading.close(0.6385 - 0.00012, loss, 0.0)
    one = expected("1")  # shown as 1 at 4 digits: 1.000, so one unit is 0.001, not 1
    assert grading.close(1.001, one, 0.0) and not grading.close(1.0012, one, 0.0)
    assert not grading.close(2, one, 0.01)
    zero = expected("0")
    assert grading.close(0.0001, zero, 0.01) and not grading.close(0.00011, zero, 0.01)
    # With no precision given, the key's own: the most digits any of its cells shows.
    cells = worksheet.read_csv("cell,value\na,0.06385\nb,1\n").entries.values()
    assert {e.precision for e in grading.key_of(cells).values()} == {4}


def test_rtol_is_an_option(tmp_path):
    sheet, key = made(tmp_path)
    answers = {k: written(v) for k, v in HAND.items()}
    answers["1.forward.L.value"] = "0.65"  # 1.8% off the key's 0.6385
    sheet.write_text(fill(sheet.read_text("utf-8"), answers))
    assert grades(sheet, "--key", key)["worksheets"][0]["wrong"] == 1
    assert grades(sheet, "--key", key, "--rtol", "0.02")["worksheets"][0]["wrong"] == 0


def test_the_csv_form(tmp_path):
    blank = invoke("run", SIMPLE, "-f", "csv", "--blank", ALL)
    assert blank.exit_code == 0, blank.stderr
    lines = blank.stdout.splitlines()
    assert lines[0].startswith("# bptrace worksheet {") and lines[1] == "cell,value"
    assert [line.removesuffix(",") for line in lines[2:]] == list(HAND)
    rows = [f"{k},{written(v)}" for k, v in HAND.items()]
    rows[0] = '1.forward.h.value,"1,1"'  # a decimal comma, in quotes
    rows[1] = "1.forward.g.value,−0.13"
    rows[2] = "1.forward.L.value,"  # unanswered
    rows[3] = "1.partials.L/g.value,+1.13"  # the sign: wrong
    filled = tmp_path / "filled.csv"
    filled.write_text("\n".join(lines[:2] + rows) + "\n", encoding="utf-8")
    got = grades(filled, "--network", SIMPLE)["worksheets"][0]
    assert (got["right"], got["wrong"], got["unanswered"]) == (len(HAND) - 2, 1, 1)
    # the same, against a CSV key and a Markdown key
    key = tmp_path / "key.csv"
    invoke("run", SIMPLE, "-f", "csv", "--blank", ALL, "--key", key)
    assert grades(filled, "--key", key)["worksheets"][0]["wrong"] == 1
    _, markdown_key = made(tmp_path)
    assert grades(filled, "--key", markdown_key)["worksheets"][0]["wrong"] == 1


def test_the_class_summary_is_strict_json_with_its_counts(tmp_path):
    sheet, key = made(tmp_path)
    blank = sheet.read_text("utf-8")
    answers = {k: written(v) for k, v in HAND.items()}
    files = []
    for i, changed in enumerate(
        [{}, {"1.forward.g.value": "0.13"}, {"1.forward.g.value": "0.13", "1.forward.L.value": ""}]
    ):
        f = tmp_path / f"student{i}.md"
        f.write_text(fill(blank, {**answers, **changed}), encoding="utf-8")
        files.append(f)
    result = invoke("grade", *files, "--key", key, "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout, parse_constant=_refuse)  # one document
    assert document["bptrace"] == "grade" and document["rtol"] == 0.01
    sheets = document["worksheets"]
    assert [(s["right"], s["wrong"], s["unanswered"]) for s in sheets] == [
        (28, 0, 0),
        (27, 1, 0),
        (26, 1, 1),
    ]
    assert sheets[1]["problems"][0]["cell"] == "1.forward.g.value"
    assert sheets[1]["problems"][0]["answer_value"] == 0.13
    assert sheets[1]["problems"][0]["expected_value"] == pytest.approx(HAND["1.forward.g.value"])
    summary = document["summary"]
    assert summary["worksheets"] == 3
    assert summary["mean_score"] == pytest.approx((28 + 27 + 26) / 3 / 28)
    assert summary["cells"][0] == {
        "cell": "1.forward.g.value",
        "wrong": 2,
        "unanswered": 0,
        "mistake": None,
        "key": "−0.13",
    }
    assert summary["cells"][1]["cell"] == "1.forward.L.value"
    assert summary["unexplained"] == 2
    # and as tables
    table = invoke("grade", *files, "--key", key)
    assert "Class summary" in table.stdout and "3 worksheets graded" in table.stdout


# -- mistakes -----------------------------------------------------------------------------------


def suspect(ident: str, source: str, lr: float | None = None) -> grading.Suspect:
    """Return the answers a student makes with a network as written in `source` (a mistake)."""
    graph = load(source)
    meta = dict(worksheet.DEFAULTS)
    document = worksheet.key_document(graph, trace(graph, 1, lr), meta, None)
    return grading.Suspect(ident, ident, grading.key_of(document.cells(), 4))


def test_a_wrong_cell_is_explained_by_the_mistakes_whose_trace_gives_it():
    text = SIMPLE.read_text("utf-8")
    no_half = text.replace("loss L = 1/2*(y - g)^2", "loss L = (y - g)^2")
    assert no_half != text
    suspects = [
        suspect("half-dropped", no_half),
        suspect("sign-flipped", text, lr=-0.1),  # after = before + α·gradient
        suspect("half-dropped-again", no_half),
    ]
    key = suspect("right", text).answers
    # By hand: without the ½, ∂L/∂g = −2(y − g) = −2.26; with the sign flipped,
    # w1 after = 0.5 + 0.1·0.678 = 0.5678.
    student = {
        "1.partials.L/g.value": "-2.26",
        "1.updates.w1.after": "0.5678",
        "1.forward.h.value": "1.2",
    }
    given = {
        c.id: c
        for c in worksheet.read_csv(
            "cell,value\n" + "".join(f"{k},{v}\n" for k, v in student.items())
        ).entries.values()
    }
    graded = {g.expected.cell.id: g for g in grading.grade(list(key.values()), given, suspects)}
    assert graded["1.partials.L/g.value"].mistakes == ("half-dropped", "half-dropped-again")
    assert graded["1.updates.w1.after"].mistakes == ("sign-flipped",)
    assert graded["1.forward.h.value"].why == grading.UNEXPLAINED  # no mistake changes h
    # A mistake that leaves a cell right explains no wrong answer there.
    assert (
        grading.explain_cell("1.forward.h.value", 1.1, key["1.forward.h.value"], suspects, 0.01)
        == ()
    )


# -- variants -----------------------------------------------------------------------------------


def test_variants_differ_by_id_and_repeat_for_the_same_id(tmp_path):
    alice, alice_key = made(tmp_path, "--variant", "alice", name="alice")
    again, _ = made(tmp_path, "--variant", "alice", name="again")
    bob, _ = made(tmp_path, "--variant", "bob", name="bob")
    assert alice.read_text("utf-8") == again.read_text("utf-8")
    assert "(worksheet, variant alice)" in alice.read_text("utf-8").splitlines()[0]
    assert "(answer key, variant alice)" in alice_key.read_text("utf-8").splitlines()[0]
    givens = [worksheet.read(f.read_text("utf-8")).givens[1][0] for f in (alice, bob)]
    assert givens[0] != givens[1]


def test_a_variants_params_are_one_decimal_near_the_written_values_and_its_key_is_right(tmp_path):
    graph = variant(load(SIMPLE), "s1042")
    params = graph.initial_params()
    written_params = {"w1": 0.5, "b1": 0.1, "w2": -0.3, "b2": 0.2}
    for p, v in params.items():
        w = written_params[p]
        assert v != 0 and (v > 0) == (w > 0) and abs(v - w) <= 0.5 + 1e-12
        assert Decimal(repr(v)) == Decimal(repr(v)).quantize(Decimal("0.1"))
        # the documented draw: sha256 of the ID and the name, modulo the choices
        digest = hashlib.sha256(f"bptrace variant\0s1042\0{p}".encode()).digest()
        grid = [round(k / 10, 1) for k in range(-100, 101) if k and abs(k / 10 - w) <= 0.5 + 1e-9]
        grid = [g for g in grid if (g > 0) == (w > 0)]
        assert v == grid[int.from_bytes(digest[:8], "big") % len(grid)]
    sheet, key = made(tmp_path, "--variant", "s1042")
    hand = by_hand(**params)
    answers = grading.key_of(worksheet.read(key.read_text("utf-8")).cells(), 4)
    for ident, value in hand.items():
        assert answers[ident].value == pytest.approx(value, rel=5e-4, abs=1e-12), ident
    # graded again from the network: the worksheet names its variant
    sheet.write_text(fill(sheet.read_text("utf-8"), {k: written(v) for k, v in hand.items()}))
    got = grades(sheet, "--network", SIMPLE)["worksheets"][0]
    assert got["variant"] == "s1042" and got["right"] == len(hand)


def test_variant_choices_keep_zero_possible_only_where_it_is_written():
    assert 0 not in choices(0.5) and min(choices(0.5)) == Decimal("0.1")
    assert Decimal(0) in choices(0)
    assert choices(-3) == [Decimal(k) / 10 for k in range(-45, -14)]  # ±half of 3: 1.5
    assert drawn("x", "w", float("inf")) == float("inf")
    assert check_id("ana-lopez") is None and check_id("s1042") is None
    assert check_id("ana lopez") and check_id("") and check_id("x" * 65)


# -- errors -------------------------------------------------------------------------------------


def test_bad_input_is_an_error_with_its_place_never_a_traceback(tmp_path):
    sheet, key = made(tmp_path)
    other, other_key = made(tmp_path, network=ROOT / "networks/two_layer.bp", name="other")
    junk = tmp_path / "junk.md"
    junk.write_text("hello\n")
    broken = tmp_path / "broken.md"
    text = sheet.read_text("utf-8").replace(
        "| h | x·w₁ + b₁ |  |  |", "| h | x·w₁ + b₁ | 1 | 2 | 3 |"
    )
    broken.write_text(text, encoding="utf-8")
    alice, _ = made(tmp_path, "--variant", "alice", name="alice")
    latex = tmp_path / "sheet.tex"
    latex.write_text(invoke("run", SIMPLE, "-f", "latex", "--blank", ALL).stdout)
    cases = [
        ((tmp_path / "missing.md", "--key", key), 3, "missing.md: no such file"),
        ((junk, "--key", key), 4, "junk.md:1:1: error: no bptrace tables here"),
        ((other, "--key", key), 4, "a worksheet of another network?"),
        ((sheet, "--key", other_key), 4, "sheet.md:12:"),
        ((broken, "--key", key), 4, "this row has 5 cells, but its table's header has 4"),
        ((alice, "--key", key), 4, "step 1's given numbers are not the key's"),
        ((sheet,), 2, "missing the key"),
        ((sheet, "--key", key, "--rtol", "-1"), 2, "--rtol"),
        ((sheet, "--key", tmp_path / "nokey.md"), 3, "nokey.md: no such file"),
        ((latex, "--key", key), 4, "a LaTeX worksheet is for paper"),
    ]
    for args, code, says in cases:
        result = invoke("grade", *args)
        assert result.exit_code == code, (args, result.stderr)
        assert says in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr + result.stdout


def test_a_bad_worksheet_among_many_is_said_and_the_others_are_graded(tmp_path):
    sheet, key = made(tmp_path)
    result = invoke("grade", tmp_path / "gone.md", sheet, "--key", key, "--json")
    assert result.exit_code == 3
    document = json.loads(result.stdout, parse_constant=_refuse)
    assert [w["file"] for w in document["worksheets"]] == [str(sheet)]
    assert document["failed"][0]["file"].endswith("gone.md")


def test_a_csv_cell_that_is_not_the_keys_is_named_with_a_hint(tmp_path):
    f = tmp_path / "typo.csv"
    f.write_text("cell,value\n1.forward.h.value,1.1\n1.forward.hh.value,3\n")
    result = invoke("grade", f, "--network", SIMPLE)
    assert result.exit_code == 4
    assert "typo.csv:3:1: error: the key has no cell '1.forward.hh.value'" in result.stderr
    assert "did you mean '1.forward.h.value'?" in result.stderr


def test_a_broken_network_is_its_own_diagnostic(tmp_path):
    sheet, _ = made(tmp_path)
    bad = tmp_path / "bad.bp"
    bad.write_text("param w = 1\nloss L = 2w\n")
    result = invoke("grade", sheet, "--network", bad)
    assert result.exit_code == 4
    assert "bad.bp:2:11: error:" in result.stderr


def test_a_bad_variant_id_is_a_usage_error():
    result = invoke("run", SIMPLE, "-f", "markdown", "--blank", ALL, "--variant", "ana lopez")
    assert result.exit_code == 2 and "--variant" in result.stderr


def test_a_cell_worked_out_from_the_students_own_wrong_cell_is_carried_forward(tmp_path):
    sheet, _ = made(tmp_path)
    answers = {k: written(v) for k, v in HAND.items()}
    g, x, w2, lr = -0.31, 2.0, -0.3, 0.1  # the student's g: −0.13 with its digits swapped
    dg = -(1 - g)  # ∂L/∂g = −(y − g), from their g
    answers |= {
        "1.forward.g.value": "-0.31",
        "1.forward.L.value": written(0.5 * (1 - g) ** 2),
        "1.partials.L/g.value": written(dg),
        "1.gradients.g.value": written(dg),
        "1.chains.w1.value": written(dg * w2 * x),
        "1.updates.w1.gradient": written(dg * w2 * x),
        "1.updates.w1.alpha_gradient": written(lr * dg * w2 * x),
        "1.updates.w1.after": written(0.5 - lr * dg * w2 * x),
        "1.chains.w2.value": "7",  # not from their numbers either
    }
    sheet.write_text(fill(sheet.read_text("utf-8"), answers))
    got = grades(sheet, "--network", SIMPLE)
    why = {p["cell"]: p["carried_from"] for p in got["worksheets"][0]["problems"]}
    assert why == {
        "1.forward.g.value": None,
        "1.forward.L.value": "1.forward.g.value",
        "1.partials.L/g.value": "1.forward.g.value",
        "1.gradients.g.value": "1.partials.L/g.value",
        "1.chains.w1.value": "1.partials.L/g.value",
        "1.chains.w2.value": None,
        "1.updates.w1.gradient": "1.chains.w1.value",
        "1.updates.w1.alpha_gradient": "1.updates.w1.gradient",
        "1.updates.w1.after": "1.updates.w1.alpha_gradient",
    }
    assert got["summary"]["carried"] == 7 and got["summary"]["unexplained"] == 2


def test_the_default_tolerance_is_the_documented_one():
    import inspect

    from bptrace.cli import teaching as cli

    assert inspect.signature(cli.grade).parameters["rtol"].default == grading.RTOL == 0.01
    assert "The default rtol is 0.01" in (ROOT / "docs/grading.md").read_text("utf-8")


def test_the_sample_in_the_docs_is_real_output(tmp_path, monkeypatch):
    """docs/grading.md's run: variant bob of simple.bp, a sign lost in g, the loss worked out from
    it, and α·gradient off by a factor of 10."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "simple.bp").write_text(SIMPLE.read_text("utf-8"), encoding="utf-8")
    result = invoke("run", "simple.bp", "-f", "markdown", "--blank", ALL, "--variant", "bob")
    hand = by_hand(**variant(load(SIMPLE), "bob").initial_params())
    answers = {k: written(v) for k, v in hand.items()}
    g = -hand["1.forward.g.value"]
    answers["1.forward.g.value"] = written(g)
    answers["1.forward.L.value"] = written(0.5 * (1 - g) ** 2)
    answers["1.updates.w1.alpha_gradient"] = written(10 * hand["1.updates.w1.alpha_gradient"])
    (tmp_path / "bob.md").write_text(fill(result.stdout, answers), encoding="utf-8")
    shown = CliRunner(env=ENV | {"COLUMNS": "80"}).invoke(
        app, ["grade", "bob.md", "--network", "simple.bp"], prog_name="bptrace"
    )
    doc = (ROOT / "docs/grading.md").read_text("utf-8")
    sample = doc.split("α·gradient off by 10:\n\n```\n")[1].split("```")[0]
    assert shown.stdout.strip("\n") == sample.strip("\n")


# -- the mistakes, wired in ---------------------------------------------------------------------


def test_grade_names_the_mistakes_module_gives_it_through_the_cli(tmp_path, monkeypatch):
    """A stand-in for bptrace/engine/mistakes.py (its interface: MISTAKES, not_applicable, and
    trace(…, mistake=m)): one mistake, the update's sign flipped, traced with lr negated."""
    import sys
    import types
    from dataclasses import dataclass

    from bptrace.engine import tracer

    @dataclass(frozen=True)
    class Mistake:
        id: str
        title: str

    flipped = Mistake("sign-flipped", "the sign of the update flipped")
    stand_in = types.ModuleType("bptrace.engine.mistakes")
    stand_in.MISTAKES = {flipped.id: flipped}
    stand_in.not_applicable = lambda graph, mistake: None
    monkeypatch.setitem(sys.modules, "bptrace.engine.mistakes", stand_in)
    plain = tracer.trace

    def trace(graph, steps, lr=None, max_paths=8, batches=None, mistake=None):
        if mistake is None:
            return plain(graph, steps, lr, max_paths, batches)
        return plain(graph, steps, -(lr or graph.settings["lr"]), max_paths, batches)

    monkeypatch.setattr(tracer, "trace", trace)
    sheet, _ = made(tmp_path)
    answers = {k: written(v) for k, v in HAND.items()}
    answers["1.updates.w1.after"] = written(0.5 + 0.1 * HAND["1.chains.w1.value"])  # + for −
    sheet.write_text(fill(sheet.read_text("utf-8"), answers))
    got = grades(sheet, "--network", SIMPLE)
    (problem,) = got["worksheets"][0]["problems"]
    assert problem["mistakes"] == ["sign-flipped"] and problem["why"] == "sign-flipped"
    assert got["summary"]["mistakes"] == [
        {
            "mistake": "sign-flipped",
            "title": "the sign of the update flipped",
            "cells": 1,
            "worksheets": 1,
        }
    ]
    table = invoke("grade", sheet, "--network", SIMPLE).stdout
    assert re.search(r"1\.updates\.w1\.after\s+0\.5678\s+0\.4322\s+sign-flipped\n", table)
    assert "\nsign-flipped: the sign of the update flipped\n" in table


def test_a_worksheet_filled_in_with_each_mistake_is_graded_as_that_mistake(tmp_path):
    """Each known mistake, on every example network it applies to: a worksheet filled in as a
    student making it would is graded wrong exactly where it departs, each cell naming it."""
    from conftest import NETWORKS

    from bptrace.api.grading import key_made as _made
    from bptrace.engine import mistakes
    from bptrace.engine.graph import build_graph
    from bptrace.language.parser import parse_layered

    square = tmp_path / "square.bp"  # W2 @ h with W2 square: where a transpose can go missing
    square.write_text(SQUARE)
    shown, applicable = set(), set()
    for network in [*NETWORKS, square]:
        statements, layers = parse_layered(network.read_text("utf-8"))
        graph = build_graph(statements, None, layers)  # with its layers, as the CLI builds it
        blank_sheet, _ = made(tmp_path, network=network, name=network.stem)
        for mistake in mistakes.MISTAKES.values():
            if mistakes.not_applicable(graph, mistake) is not None:
                continue
            applicable.add(mistake.id)
            meta = worksheet.read(blank_sheet.read_text("utf-8")).meta
            theirs, _ = _made(graph, meta, mistake)
            answers = {c.id: c.text for c in theirs.cells(frozenset(meta["blank"]))}
            sheet = tmp_path / f"{network.stem}-{mistake.id}.md"
            sheet.write_text(fill(blank_sheet.read_text("utf-8"), answers), encoding="utf-8")
            got = grades(sheet, "--network", network)["worksheets"][0]
            for problem in got["problems"]:
                assert problem["status"] == "wrong", (network.stem, mistake.id, problem)
                assert mistake.id in problem["mistakes"], (network.stem, mistake.id, problem)
            if got["problems"]:
                shown.add(mistake.id)
    assert shown == applicable == set(mistakes.MISTAKES)  # each departs from the key somewhere


def test_the_csv_of_a_network_with_matrices_quotes_ids_with_commas(tmp_path):
    network = tmp_path / "square.bp"
    network.write_text(SQUARE)
    key = tmp_path / "key.csv"
    sheet = invoke("run", network, "-f", "csv", "--blank", ALL, "--key", key)
    assert sheet.exit_code == 0, sheet.stderr
    assert '"1.updates.W1[1,2].after",\n' in sheet.stdout
    document = worksheet.read(key.read_text("utf-8"))
    assert "1.updates.W1[1,2].after" in document.entries
    # W1[1,2] after = 0.2 − 0.1·∂L/∂W1[1,2]; ∂L/∂W1[1,2] = (W2ᵀ(g − y))[1]·x[2], by hand:
    h = [0.1 * 1 + 0.2 * 2, 0.3 * 1 + 0.4 * 2]
    g = [0.5 * h[0] - 0.6 * h[1], 0.7 * h[0] + 0.8 * h[1]]
    dg = [g[0] - 1, g[1] - 0]
    dh1 = 0.5 * dg[0] + 0.7 * dg[1]
    after = read_number(document.entries["1.updates.W1[1,2].after"].text)
    assert after == pytest.approx(0.2 - 0.1 * dh1 * 2, rel=5e-4)
    got = grades(key, "--network", network)["worksheets"][0]  # its own key: all right
    assert got["right"] == got["cells"] > 0


def test_a_variant_runs_in_every_view_with_the_same_params(tmp_path):
    params = variant(load(SIMPLE), "alice").initial_params()
    begin = json.loads(invoke("run", SIMPLE, "--json", "--variant", "alice").stdout.splitlines()[0])
    assert begin["params"] == params
    text = invoke("run", SIMPLE, "--variant", "alice").stdout
    assert f"w₁ = {params['w1']:g}" in text
    assert "(variant alice)" in invoke("run", SIMPLE, "-f", "markdown", "--variant", "alice").stdout


def test_the_lecture_docs_show_a_class_graded_for_real(tmp_path, monkeypatch):
    """docs/lecture.md's run: Ann's worksheet filled in as sigmoid-from-z gives it, Ben's as
    half-dropped does, with ∂a₀/∂z₀ left empty."""
    from bptrace.api.grading import key_made as _made
    from bptrace.engine.graph import build_graph
    from bptrace.engine.mistakes import MISTAKES
    from bptrace.language.parser import parse_layered

    monkeypatch.chdir(tmp_path)
    (tmp_path / "networks").mkdir()
    network = tmp_path / "networks" / "two_layer.bp"
    network.write_text((ROOT / "networks" / "two_layer.bp").read_text("utf-8"), "utf-8")
    made = invoke(
        "run", "networks/two_layer.bp", "-f", "markdown", "--show", "forward,partials,chains",
        "--blank", "partials,chains",
    )  # fmt: skip
    assert made.exit_code == 0 and made.stderr == ""  # no answers given away
    sheet = made.stdout
    statements, layers = parse_layered(network.read_text("utf-8"))
    graph = build_graph(statements, None, layers)
    meta = worksheet.read(sheet).meta
    for name, mistake in (("ann", "sigmoid-from-z"), ("ben", "half-dropped")):
        theirs, _ = _made(graph, meta, MISTAKES[mistake])
        answers = {c.id: c.text for c in theirs.cells(frozenset(meta["blank"]))}
        if name == "ben":
            del answers["1.partials.a0/z0.value"]
        (tmp_path / f"{name}.md").write_text(fill(sheet, answers), encoding="utf-8")
    command = "bptrace grade ann.md ben.md --network networks/two_layer.bp"
    doc = (ROOT / "docs" / "lecture.md").read_text(encoding="utf-8")
    sample = doc.split(f"$ {command}\n")[1].split("```")[0]
    env = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}
    out = CliRunner(env=env).invoke(app, command.split()[1:], prog_name="bptrace").stdout
    assert sample.rstrip() == out.rstrip()


def test_a_worksheet_named_twice_is_graded_once(tmp_path):
    sheet, key = made(tmp_path)
    got = grades(sheet, sheet, "--key", key)
    assert len(got["worksheets"]) == 1 and got["summary"]["worksheets"] == 1


def test_failed_says_the_message_and_stderr_the_diagnostic(tmp_path):
    # docs/grading.md: `error` is the message; stderr has the full diagnostic (line quoted)
    sheet, key = made(tmp_path)
    latin = tmp_path / "latin.md"
    latin.write_bytes(b"# sheet\nx = 2\xe9\n")
    error = "not UTF-8 text: byte 0xe9 is not a character in UTF-8"
    result = invoke("grade", latin, sheet, "--key", key, "--json")
    assert result.exit_code == 3
    assert json.loads(result.stdout)["failed"] == [{"file": str(latin), "error": error}]
    assert f"latin.md:2:6: error: {error}" in result.stderr
    assert bptrace.grade([latin], key=key)["failed"] == [{"file": str(latin), "error": error}]


@pytest.mark.parametrize(
    "option, value",
    [
        ("steps", "x"),
        ("steps", 0),
        ("blank", 3),
        ("show", ["nope"]),
        ("precision", -1),
        ("max_paths", 0),
        ("ascii", "no"),
        ("lr", "x"),
        ("seed", "x"),
        ("variant", 5),
        ("variant", "a b"),
    ],
)
def test_a_damaged_worksheet_comment_is_the_worksheets_error(tmp_path, option, value):
    # each was an internal error (TypeError, ValueError from inside) or graded as if written so
    sheet, key = made(tmp_path)
    text = sheet.read_text()
    meta = json.loads(re.search(r"<!-- bptrace worksheet (.*) -->", text)[1])
    damaged = tmp_path / "damaged.md"
    damaged.write_text(text.replace(json.dumps(meta), json.dumps({**meta, option: value})))
    assert damaged.read_text() != text
    result = invoke("grade", damaged, "--network", SIMPLE)
    assert result.exit_code == 4, result.stderr
    said = f"damaged.md:2:1: error: the worksheet's bptrace comment is damaged: its {option} is"
    assert said in result.stderr
    assert "internal error" not in result.stderr
    failed = bptrace.grade([damaged], network=SIMPLE)["failed"]
    assert [f["error"].split(",")[0] for f in failed] == [
        f"the worksheet's bptrace comment is damaged: its {option} is {value!r}"
    ]


def test_the_api_grades_a_worksheet_named_twice_once_as_grade_does(tmp_path):
    sheet, _ = made(tmp_path)
    other, _ = made(tmp_path, name="other")
    twice = [sheet, str(sheet), other, tmp_path / "." / "sheet.md"]
    document = bptrace.grade(twice, network=SIMPLE)
    assert [w["file"] for w in document["worksheets"]] == [str(sheet), str(other)]
    assert document["summary"]["worksheets"] == 2
    cli = json.loads(invoke("grade", *map(str, twice), "--network", SIMPLE, "--json").stdout)
    assert cli["summary"]["worksheets"] == 2
