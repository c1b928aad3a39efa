"""`bptrace present`: one self-contained HTML page whose numbers are the trace's, and the command's
errors. The page in a real browser: tests/test_present_browser.py."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from pathlib import Path

import pytest
from conftest import ROOT, load
from typer.testing import CliRunner

from bptrace.cli.app import app
from bptrace.views.layout import place
from bptrace.views.page import script_json

ENV = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}
TWO_LAYER = ROOT / "networks/two_layer.bp"


def invoke(*args):
    return CliRunner(env=ENV).invoke(app, [str(a) for a in args], prog_name="bptrace")


def present(network: Path, out: Path, *more) -> dict:
    """Write the page of `network` and return its embedded data."""
    result = invoke("present", network, "-o", out, *more)
    assert result.exit_code == 0, result.stderr
    return page_data(out.read_text("utf-8"))


def page_data(text: str) -> dict:
    found = re.search(r'<script type="application/json" id="data">(.*?)</script>', text, re.S)
    assert found, "no data in the page"
    return json.loads(found.group(1))


def json_trace(network: Path, *more) -> list[dict]:
    result = invoke("run", network, "--json", *more)
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def number(text: str) -> float:
    """Read a number as the page writes it: − for minus."""
    return float(text.replace("−", "-"))


def rounds_to(text: str, exact: float, digits: int = 4) -> bool:
    """Tell whether `text` is `exact` rounded to `digits` significant digits (half a unit in the
    last digit, either way)."""
    if exact == 0:
        return number(text) == 0
    unit = 10 ** (math.floor(math.log10(abs(exact))) - digits + 1)
    return abs(number(text) - exact) <= unit / 2 * (1 + 1e-9)


def test_the_first_forward_values_are_the_hand_worked_ones(tmp_path):
    """z₀ = x₀·w₀ + x₁·w₂ + b₀ = 0.5·0.1 + (−1)·0.3 + 0.1 = −0.15; a₀ = σ(−0.15)."""
    data = present(TWO_LAYER, tmp_path / "p.html")
    forward = data["steps"][0]["tables"][0]
    assert forward["name"] == "forward"
    rows = {row["cells"][0]: row["cells"] for row in forward["rows"]}
    assert rows["z₀"][-1] == "−0.15"
    assert rows["z₀"][2] == "0.5·0.1 + (−1)·0.3 + 0.1"
    assert rounds_to(rows["a₀"][-1], 1 / (1 + math.exp(0.15)))


def numbers(text: str) -> list[float]:
    """Read a value as the page writes it: a number, or samples as a list ([0.1, 0.2, …])."""
    items = text.strip("[]").replace("…", "").split(",")
    return [number(item) for item in items if item.strip()]


def agrees(text: str, exact) -> bool:
    """Tell whether the page's `text` is the trace's full-precision value (or samples), rounded."""
    exact = exact if isinstance(exact, list) else [exact]
    shown = numbers(text)
    return bool(shown) and all(rounds_to(str(a), b) for a, b in zip(shown, exact))


@pytest.mark.parametrize("network", ["two_layer.bp", "fanout.bp", "softmax.bp", "xor.bp"])
def test_every_number_on_the_page_is_the_traces(network, tmp_path):
    """Each node's value and gradient, each local partial and each update, at every step, is the
    number `run --json` writes at full precision, rounded to the page's 4 digits."""
    path = ROOT / "networks" / network
    data = present(path, tmp_path / "p.html", "--steps", "3")
    trace = [r for r in json_trace(path, "--steps", "3") if r["type"] == "step"]
    ids = {name: i for i, name in enumerate(data["names"])}
    edges = {tuple(e): i for i, e in enumerate(data["edges"])}
    assert len(data["steps"]) == len(trace) == 3
    for shown, record in zip(data["steps"], trace):
        assert shown["step"] == record["step"]
        for name, value in record["forward"].items():
            assert agrees(shown["values"][ids[name]], value), (name, value)
        for name, value in record["grads"].items():
            if shown["grads"][ids[name]] and name not in data["names"][: data["leaves"]]:
                assert agrees(shown["grads"][ids[name]], value), (name, value)
        partials = [(of, wrt, v) for of, by in record["partials"].items() for wrt, v in by.items()]
        assert len(shown["partials"]) == len(partials)
        for of, wrt, value in partials:
            assert agrees(shown["partials"][str(edges[(of, wrt)])]["value"], value), (of, wrt)
        for update in record["updates"]:
            i = ids[update["param"]]
            assert agrees(shown["values"][i], update["before"])
            assert agrees(shown["grads"][i], update["grad"])  # the batch's, with samples
            assert agrees(shown["after"][str(i)], update["after"])


def test_the_tables_say_what_the_terminal_says(tmp_path):
    """Every row of every table on the page is a line of `bptrace run` (wide enough not to wrap),
    its cells in order."""
    data = present(TWO_LAYER, tmp_path / "p.html")
    result = CliRunner(env={**ENV, "COLUMNS": "200"}).invoke(
        app, ["run", str(TWO_LAYER)], prog_name="bptrace"
    )
    lines = result.stdout.splitlines()
    tables = data["steps"][0]["tables"]
    assert [t["name"] for t in tables] == [
        "forward",
        "partials",
        "gradients",
        "chains",
        "updates",
        "summary",
    ]
    for table in tables:
        assert table["title"] in lines
        for row in table["rows"]:
            cells = [c for c in row["cells"] if c]
            assert any(_in_order(cells, line) for line in lines), cells


def _in_order(cells: list[str], line: str) -> bool:
    at = 0
    for cell in cells:
        at = line.find(cell, at)
        if at < 0:
            return False
        at += len(cell)
    return True


def test_each_piece_is_revealed_once_in_the_lectures_order(tmp_path):
    """Forward node by node (6), local partials edge by edge (14), gradients (6, the seed ∂L/∂L
    first), a chain per param (9), an update per param (9), then the summary."""
    data = present(TWO_LAYER, tmp_path / "p.html")
    kinds = [r["kind"] for r in data["steps"][0]["reveals"]]
    expected = ["value"] * 6 + ["partial"] * 14 + ["grad"] * 6 + ["chain"] * 9 + ["update"] * 9
    assert kinds == [*expected, "summary"]
    names = data["names"]
    forward = [names[r["of"]] for r in data["steps"][0]["reveals"] if r["kind"] == "value"]
    assert forward == ["z0", "a0", "z1", "a1", "a2", "L"]


def test_a_params_paths_are_those_run_focus_highlights(tmp_path):
    """w₀'s one path: w₀ → z₀ → a₀ → a₂ → L, by hand from two_layer.bp."""
    data = present(TWO_LAYER, tmp_path / "p.html")
    names = data["names"]
    focus = data["focus"][str(names.index("w0"))]
    assert {names[i] for i in focus["names"]} == {"w0", "z0", "a0", "a2", "L"}
    edges = {tuple(data["edges"][e]) for e in focus["edges"]}
    assert edges == {("z0", "w0"), ("a0", "z0"), ("a2", "a0"), ("L", "a2")}


def test_the_page_is_self_contained(tmp_path):
    """No address anywhere: no script, style, font or image from outside; a policy that lets the
    page load nothing, and run only its own script (its hash, computed here) and style."""
    present(TWO_LAYER, tmp_path / "p.html")
    text = (tmp_path / "p.html").read_text("utf-8")
    assert "://" not in text
    assert not re.search(r"\b(src|href)\s*=", text)
    assert "@import" not in text and "@font-face" not in text
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', text).group(1)
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    scripts = re.findall(r"<script>(.*?)</script>", text, re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode("utf-8")).digest()).decode()
    assert directives["script-src"] == f"'sha256-{digest}'"
    assert text.index("Content-Security-Policy") < text.index("<script")


@pytest.mark.parametrize(
    "hostile",
    ["</script><script>alert(1)</script>", "<!--<script>", "</SCRIPT >", "a&b>c", "\u2028\u2029"],
)
def test_no_text_can_end_the_data_early(hostile):
    text = script_json({"title": hostile, "names": [hostile]})
    assert "<" not in text and ">" not in text
    assert json.loads(text) == {"title": hostile, "names": [hostile]}


def test_a_hostile_file_name_is_shown_as_text(tmp_path):
    hostile = tmp_path / 'a<b>"c&d<!--' / "</script><x>.bp"
    hostile.parent.mkdir(parents=True)
    hostile.write_text(TWO_LAYER.read_text("utf-8"), "utf-8")
    data = present(hostile, tmp_path / "p.html")
    text = (tmp_path / "p.html").read_text("utf-8")
    assert data["title"] == f"bptrace present {hostile}"
    assert text.count("</script>") == 2  # the data's and the script's own
    assert "<x>" not in text


def test_the_page_goes_beside_the_current_folder_by_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("present", TWO_LAYER)
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "two_layer.html").is_file()
    assert result.stdout == ""
    assert result.stderr == "bptrace: wrote two_layer.html\n"


def test_an_unwritable_page_is_said_before_the_run_and_nothing_is_written(tmp_path):
    missing = tmp_path / "no" / "page.html"
    result = invoke("present", TWO_LAYER, "-o", missing)
    assert result.exit_code == 3
    assert result.stderr == f"bptrace: error: cannot write {missing}: no such directory\n"
    assert not missing.parent.exists()
    read_only = tmp_path / "page.html"
    read_only.write_text("old")
    read_only.chmod(0o444)
    result = invoke("present", TWO_LAYER, "-o", read_only)
    assert result.exit_code == 3
    assert result.stderr.endswith(f"cannot write {read_only}: the file is read-only\n")
    assert read_only.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.html"]  # no temporary left


def test_the_page_never_replaces_the_network(tmp_path):
    network = tmp_path / "n.bp"
    network.write_text(TWO_LAYER.read_text("utf-8"), "utf-8")
    result = invoke("present", network, "-o", network)
    assert result.exit_code == 2
    said = " ".join(re.sub("[│╭╮╰╯─]", " ", result.stderr).split())  # out of typer's box
    assert (
        "'--output': " in said and "is the network FILE: writing it there would replace it" in said
    )
    assert network.read_text("utf-8") == TWO_LAYER.read_text("utf-8")


def test_a_bad_network_is_said_with_its_place_and_no_page_is_written(tmp_path):
    bad = tmp_path / "bad.bp"
    bad.write_text("param w = 1\nloss L = w*q\n", "utf-8")
    result = invoke("present", bad, "-o", tmp_path / "p.html")
    assert result.exit_code == 4
    assert result.stderr.startswith(f"{bad}:2:12: error: unknown name 'q'")
    assert not (tmp_path / "p.html").exists()


def test_a_numeric_fault_writes_no_page(tmp_path):
    """exp(1000) overflows a float64 (its largest is about 1.8e308 = e^709.8)."""
    network = tmp_path / "big.bp"
    network.write_text("param w = 1000\nloss L = exp(w)\n", "utf-8")
    result = invoke("present", network, "-o", tmp_path / "p.html")
    assert result.exit_code == 5
    assert f"{network}:2:10: error: step 1" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.bp"]


def test_a_network_too_large_to_draw_is_refused(tmp_path):
    result = invoke("present", ROOT / "networks/mnist_like.bp", "-o", tmp_path / "p.html")
    assert result.exit_code == 2
    assert "a page draws at most 200 legibly: use bptrace run" in result.stderr
    assert not (tmp_path / "p.html").exists()


@pytest.mark.parametrize(
    ("args", "option"), [(["--steps", "0"], "--steps"), (["--lr", "-1"], "--lr")]
)
def test_bad_options_are_usage_errors(args, option, tmp_path):
    result = invoke("present", TWO_LAYER, "-o", tmp_path / "p.html", *args)
    assert result.exit_code == 2
    assert f"'{option}'" in result.stderr


def test_samples_from_a_csv_file_are_shown_as_lists(tmp_path):
    """Two samples: z = w·x with w = 2 is [2·1, 2·3] = [2, 6]; the mean of ½(z − y)² over
    y = [1, 5] is (½·1 + ½·1)/2 = 0.5."""
    network = tmp_path / "n.bp"
    network.write_text("input x = 0\ntarget y = 0\nparam w = 2\nz = w*x\nloss L = 1/2*(z - y)^2\n")
    csv = tmp_path / "d.csv"
    csv.write_text("x,y\n1,1\n3,5\n")
    data = present(network, tmp_path / "p.html", "--data", csv)
    names = data["names"]
    step = data["steps"][0]
    assert step["values"][names.index("z")] == "[2, 6]"
    assert step["values"][names.index("L")] == "[0.5, 0.5]"
    assert step["note"].startswith("2 samples: the loss and the gradients")


def test_a_loss_of_params_alone_has_no_gradients_table(tmp_path):
    """L = w·b: its local partials are the gradients (∂L/∂w = b = 3, ∂L/∂b = w = 2); as in the
    terminal, no table of sums over uses, only the seed ∂L/∂L = 1, is shown."""
    network = tmp_path / "n.bp"
    network.write_text("param w = 2\nparam b = 3\nloss L = w*b\n")
    data = present(network, tmp_path / "p.html")
    step = data["steps"][0]
    assert [t["name"] for t in step["tables"]] == [
        "forward",
        "partials",
        "chains",
        "updates",
        "summary",
    ]
    names = data["names"]
    assert step["grads"][names.index("w")] == "3" and step["grads"][names.index("b")] == "2"


def test_the_layout_runs_left_to_right_and_no_boxes_overlap(network):
    """Every edge goes from a column to a later one; no two boxes share a point; all of them lie
    inside the drawing."""
    graph = load(network)
    names = [*(leaf.name for leaf in graph.leaves), *(node.name for node in graph.nodes)]
    sizes = {name: (40.0 + 3 * len(name), 30.0) for name in names}
    placed = place(graph, sizes)
    boxes = placed.boxes
    assert set(boxes) == set(names)
    for node in graph.nodes:
        for edge in node.edges:
            assert boxes[edge.wrt].column < boxes[node.name].column
            assert boxes[edge.wrt].x + boxes[edge.wrt].width < boxes[node.name].x
    for a in names:
        box = boxes[a]
        assert (box.width, box.height) == sizes[a]
        assert 0 <= box.x and box.x + box.width <= placed.width
        assert 0 <= box.y and box.y + box.height <= placed.height
        for b in names:
            other = boxes[b]
            if a < b and box.column == other.column:
                assert box.y + box.height < other.y or other.y + other.height < box.y
