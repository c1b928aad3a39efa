"""`bptrace run --json`: strict JSON Lines, valid against the shipped schema, streamed, and in step
with the tables."""

from __future__ import annotations

import functools
import json
import operator
import os
import re
import signal
import subprocess
import sys

import jsonschema
import numpy as np
import pytest
from conftest import NETWORKS, ROOT, examples, load
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_properties import networks as random_networks
from typer.testing import CliRunner

from bptrace.cli.app import app
from bptrace.engine.tracer import trace
from bptrace.language.printer import MATH, format_number
from bptrace.views import jsonl

SIMPLE = str(ROOT / "networks" / "simple.bp")
ENV = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}


def invoke(*args):
    return CliRunner(env=ENV).invoke(app, list(args), prog_name="bptrace")


def strict(text: str) -> dict:
    """Parse one line as RFC 8259 JSON: NaN, Infinity and -Infinity tokens are refused."""

    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(invoke("schema").stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def records(*args) -> list[dict]:
    result = invoke("run", *args, "--json")
    assert result.exit_code == 0, result.stderr
    return [strict(line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize("path", NETWORKS, ids=[p.name for p in NETWORKS])
def test_every_line_of_every_example_is_strict_json_valid_against_the_schema(path, validator):
    lines = records(str(path), "--steps", "3")
    for record in lines:
        validator.validate(record)
    assert [r["type"] for r in lines] == ["begin", "step", "step", "step", "end"]
    assert [r["step"] for r in lines[1:-1]] == [1, 2, 3]
    assert lines[-1]["steps"] == 3 and "error" not in lines[-1]


def test_schema_rejects_what_it_should_and_allows_growth(validator):
    step = records(SIMPLE)[1]
    missing = {k: v for k, v in step.items() if k != "grads"}
    assert not validator.is_valid(missing)
    assert not validator.is_valid({**step, "loss": "nan"})  # only "NaN" spells a NaN
    assert validator.is_valid({**step, "new_key": [1, 2]})  # consumers ignore unknown keys
    assert validator.is_valid({"type": "histogram", "bins": []})  # and unknown record types


def test_numbers_are_full_precision_and_match_the_engine():
    lines = records(SIMPLE, "--steps", "2")
    steps = [r for r in trace(load(ROOT / "networks" / "simple.bp"), 2) if hasattr(r, "updates")]
    for record, engine in zip(lines[1:3], steps):
        assert record["loss"] == float(engine.loss)  # bit for bit, not rounded for display
        assert record["grads"] == {k: float(v) for k, v in engine.grads.items()}
        assert [u["after"] for u in record["updates"]] == [float(u.after) for u in engine.updates]
    # The handout's numbers, by hand: ½·1.13² and the four gradients.
    first = lines[1]
    assert first["loss"] == pytest.approx(0.63845, abs=1e-15)
    assert {c["param"]: c["grad"] for c in first["chains"]} == pytest.approx(
        {"w1": 0.678, "b1": 0.339, "w2": -1.243, "b2": -1.13}, abs=1e-15
    )
    by_hand = {
        "L": {"g": -1.13},
        "g": {"h": -0.3, "w2": 1.1, "b2": 1.0},
        "h": {"w1": 2.0, "b1": 1.0},
    }
    assert list(first["partials"]) == ["L", "g", "h"]  # backprop's order: from the loss back
    assert {of: pytest.approx(d, abs=1e-15) for of, d in by_hand.items()} == first["partials"]
    assert lines[0]["chains"][0] == {
        "param": "w1",
        "paths_total": 1,
        "paths": [["L", "g", "h", "w1"]],
    }
    assert first["chains"][0]["paths"] == [pytest.approx(-1.13 * -0.3 * 2.0, abs=1e-15)]
    assert lines[0]["nodes"][2]["partials"] == {"y": "y - g", "g": "-(y - g)"}  # L = 1/2*(y - g)^2


@pytest.mark.parametrize("path", NETWORKS, ids=[p.name for p in NETWORKS])
def test_each_paths_product_is_its_partials_multiplied_as_the_engine_does(path):
    lines = records(str(path), "--steps", "2")
    begin, steps = lines[0], lines[1:3]
    engine = [r for r in trace(load(path), 2) if hasattr(r, "updates")]
    for record, step in zip(steps, engine):
        for listed, chain, written in zip(begin["chains"], step.chains, record["chains"]):
            assert listed["paths"] == [list(p.nodes) for p in chain.paths]
            assert listed["paths_total"] == chain.paths_total
            assert written["paths"] == [jsonl.number(p.value) for p in chain.paths]  # bit for bit
            # a consumer's join gives the same
            for nodes, value in zip(listed["paths"], written["paths"]):
                factors = [np.array(record["partials"][a][b]) for a, b in zip(nodes, nodes[1:])]
                assert np.array_equal(functools.reduce(operator.mul, factors), value)


def test_json_and_tables_show_the_same_numbers():
    lines = records(SIMPLE, "--steps", "3")
    table = invoke("run", SIMPLE, "--steps", "3").stdout
    steps = table.split("Step ")[1:]
    for record, text in zip(lines[1:4], steps):
        shown = lambda v: re.escape(format_number(v, 4, MATH))  # noqa: E731
        for u in record["updates"]:
            name = re.escape(u["param"].replace("1", "₁").replace("2", "₂"))
            row = rf"{name}\s+{shown(u['before'])}\s+{shown(u['grad'])}\s+\S+\s+{shown(u['after'])}"
            assert re.search(row, text), row
        assert re.search(rf"loss L .*\s{shown(record['loss'])}\n", text)


def test_begin_describes_the_graph():
    begin = records(SIMPLE)[0]
    assert begin["loss"] == "L" and begin["lr"] == 0.1 and begin["steps"] == 1
    assert begin["params"] == {"w1": 0.5, "b1": 0.1, "w2": -0.3, "b2": 0.2}
    assert begin["nodes"][0] == {
        "name": "h",
        "kind": "node",
        "expr": "x*w1 + b1",
        "uses": ["x", "w1", "b1"],
        "partials": {"x": "w1", "w1": "x", "b1": "1"},
        "line": 12,
    }
    assert begin["nodes"][-1]["kind"] == "loss"


def test_non_finite_values_are_strings_and_reported(tmp_path, validator):
    f = tmp_path / "k.bp"
    f.write_text("param w = -2\nconst k = 2\nloss L = w^k\n")  # ∂L/∂k = L·log(w) is NaN for w < 0
    result = invoke("run", str(f), "--json")
    assert result.exit_code == 0
    step = strict(result.stdout.splitlines()[1])
    validator.validate(step)
    assert step["grads"]["k"] == "NaN"
    assert step["grads"]["w"] == -4.0  # 2w, by hand
    assert "dL/dk is not a finite number" in result.stderr


def test_non_finite_values_of_samples_are_reported_too(tmp_path, validator):
    f = tmp_path / "k.bp"
    # ∂L/∂k = L·log(w): NaN per sample
    f.write_text("param w = -2\nconst k = 2\ninput x = [1, 3]\nloss L = x*w^k\n")
    result = invoke("run", str(f), "--json")
    assert result.exit_code == 0
    step = strict(result.stdout.splitlines()[1])
    validator.validate(step)
    assert step["grads"]["w"] == [-4.0, -12.0]  # 2xw, by hand
    assert "dL/dk is not a finite number" in result.stderr and "dL/dw" not in result.stderr


def test_a_run_that_stops_early_still_ends_with_an_end_record(tmp_path, validator):
    f = tmp_path / "diverge.bp"
    f.write_text("param w = 3\nset lr = 2\nloss L = w^4\n")
    result = invoke("run", str(f), "--steps", "20", "--json")
    assert result.exit_code == 5
    lines = [strict(line) for line in result.stdout.splitlines()]
    for record in lines:
        validator.validate(record)
    end = lines[-1]
    assert end["type"] == "end" and end["steps"] == 5 and end["final_loss"] is None
    assert (
        end["error"]["kind"] == "numeric"
        and end["error"]["step"] == 6
        and end["error"]["where"] == "node L = w^4"
    )
    assert (end["error"]["line"], end["error"]["col"]) == (3, 10)
    assert end["params"] == {"w": lines[-2]["updates"][0]["after"]}
    assert "step 6" in result.stderr


def test_nothing_but_json_on_stdout_even_with_warnings(tmp_path):
    f = tmp_path / "unused.bp"
    f.write_text("param w = 1\nparam u = 2\nloss L = w^2\n")
    result = invoke("run", str(f), "--json")
    assert result.exit_code == 0
    assert "warning" in result.stderr
    for line in result.stdout.splitlines():
        strict(line)


def run_process(*args, **kw):
    return subprocess.Popen(
        [sys.executable, "-m", "bptrace", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kw,
    )


def test_head_closes_the_pipe_and_the_run_exits_quietly_and_promptly():
    proc = run_process("run", SIMPLE, "--steps", "100000", "--json")
    first = [proc.stdout.readline() for _ in range(3)]
    proc.stdout.close()  # what `| head -n 3` does
    _, err = proc.communicate(timeout=30)
    assert [strict(line.decode())["type"] for line in first] == ["begin", "step", "step"]
    assert proc.returncode == 0
    assert err == b""


def test_ctrl_c_writes_an_end_record_saying_so():
    proc = run_process(
        "run",
        str(ROOT / "networks" / "two_layer.bp"),
        "--steps",
        "1000000",
        "--json",
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    first = [proc.stdout.readline() for _ in range(3)]  # begin, then steps: the run is under way
    proc.send_signal(signal.SIGINT)
    # Through the same buffered reader: communicate() would skip its buffer.
    out = b"".join(first) + proc.stdout.read()
    err = proc.stderr.read()
    proc.wait(timeout=30)
    lines = [strict(line) for line in out.decode().splitlines()]  # every line whole
    last = lines[-1]
    assert proc.returncode == 130
    assert last["type"] == "end" and last["error"]["kind"] == "interrupted"
    assert last["steps"] == lines[-2]["step"]  # every computed step was written
    assert last["error"]["message"] == f"interrupted after step {last['steps']}"
    assert last["params"] == {u["param"]: u["after"] for u in lines[-2]["updates"]}
    assert err.decode().endswith("bptrace: interrupted\n")


def test_records_are_streamed_not_collected():
    # Memory cannot grow with --steps when at most the current step's records are alive.
    # (Counting live records is exact; tracemalloc would also count CPython's tuple free list.)
    import gc

    from bptrace.engine._tape import Slots
    from bptrace.engine.tracer import Step

    def counted() -> tuple[int, int]:
        objects = gc.get_objects()
        return (
            sum(isinstance(o, Step) for o in objects),
            sum(isinstance(o, Slots) for o in objects),
        )

    graph = load(ROOT / "networks" / "two_layer.bp")
    # records earlier tests in this process still hold (a CliRunner's result, say) are no leak here
    gc.collect()
    steps, slots = counted()
    alive = []
    for record in trace(graph, 300):
        if hasattr(record, "updates"):
            jsonl.line(jsonl.step(graph, record))
            if record.step % 100 == 0:
                alive.append(counted())
    # one step, and its values, gradients and partials
    assert alive == [(steps + 1, slots + 3)] * 3


def test_the_example_in_docs_json_md_is_the_real_output(monkeypatch):
    monkeypatch.chdir(ROOT)
    doc = (ROOT / "docs" / "json.md").read_text(encoding="utf-8")
    example = doc.split("## A complete example")[1].split("```json\n")[1].split("```")[0]
    assert example == invoke("run", "networks/simple.bp", "--json").stdout


@pytest.mark.skipif(not __import__("shutil").which("jq"), reason="jq is not installed")
def test_the_jq_one_liners_in_docs_json_md_work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "trace.jsonl").write_text(invoke("run", SIMPLE, "--steps", "3", "--json").stdout)
    doc = (
        (ROOT / "docs" / "json.md")
        .read_text(encoding="utf-8")
        .split("## jq one-liners")[1]
        .split("## From Python")[0]
    )
    commands = [block.split("```")[0].strip() for block in doc.split("```sh\n")[1:]]
    outputs = [
        subprocess.run(c, shell=True, capture_output=True, text=True, check=True).stdout
        for c in commands
    ]
    assert outputs[0].splitlines()[0] == "[1,0.6384499999999999]"
    assert outputs[1].splitlines()[0] == "0.43220000000000003"  # 0.5 − 0.1·0.678
    assert json.loads(outputs[2]) == {
        "nodes": ["L", "g", "h", "w1"],
        "factors": [-1.13, -0.3, 2],
        "value": 0.6779999999999999,
    }
    # w2 at each step: 0.1·1.243 nearer 0
    assert outputs[3].split() == [
        "-0.3",
        "-0.1757",
        "-0.09656201250749998",
    ]
    assert outputs[4].splitlines()[0] == "1,0.6384499999999999"
    assert outputs[5].strip() == "true"


def test_a_fault_in_step_one_ends_with_the_initial_params(tmp_path, validator):
    f = tmp_path / "log.bp"
    f.write_text("param w = 0.5\ninput x = 2\nh = x*w - 3\nloss L = log(h)\n")
    result = invoke("run", str(f), "--json")
    assert result.exit_code == 5
    begin, end = (strict(line) for line in result.stdout.splitlines())
    validator.validate(end)
    assert end["steps"] == 0 and end["params"] == begin["params"] == {"w": 0.5}
    assert end["error"]["step"] == 1 and (end["error"]["line"], end["error"]["col"]) == (4, 10)


def test_a_fault_after_the_last_step_is_marked_final(tmp_path, validator):
    f = tmp_path / "final.bp"
    f.write_text("param w = 0.5\nset lr = 1\nloss L = log(w)\n")  # w: 0.5 − 1·(1/0.5) = −1.5
    end = strict(invoke("run", str(f), "--json").stdout.splitlines()[-1])
    validator.validate(end)
    assert end["steps"] == 1 and end["error"]["final"] is True and "step" not in end["error"]
    assert end["params"] == {"w": -1.5}


def test_json_is_utf8_whatever_the_locale(tmp_path):
    f = tmp_path / "greek.bp"
    f.write_text("param θ = 0.5\nparam α = 0.25\nloss L = θ^2 + α^2\n", encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "LC_ALL": "C"}
    out = subprocess.run(
        [sys.executable, "-m", "bptrace", "run", str(f), "--json"], capture_output=True, env=env
    ).stdout
    begin = strict(out.decode("utf-8").splitlines()[0])
    assert begin["params"] == {"θ": 0.5, "α": 0.25}


def test_sigterm_also_ends_with_an_end_record():
    proc = run_process(
        "run", str(ROOT / "networks" / "two_layer.bp"), "--steps", "1000000", "--json"
    )
    [proc.stdout.readline() for _ in range(3)]  # begin, then steps: the run is under way
    proc.terminate()
    out = proc.stdout.read()
    proc.stderr.read()
    proc.wait(timeout=30)
    last = strict(out.decode().splitlines()[-1])
    assert last["type"] == "end" and last["error"]["kind"] == "interrupted"


def test_signals_a_parent_blocked_stay_blocked_while_writing():
    # Writing a line holds SIGINT and SIGTERM, then restores the mask it found: a SIGTERM the
    # parent blocked must not end the run.
    proc = run_process(
        "run",
        SIMPLE,
        "--steps",
        "200",
        "--json",
        preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM}),
    )
    proc.stdout.readline()
    proc.terminate()
    out = proc.stdout.read()
    proc.stderr.read()
    proc.wait(timeout=60)
    assert proc.returncode == 0
    assert strict(out.decode().splitlines()[-1])["steps"] == 200


@pytest.mark.parametrize("args", [("--batch-size", "1"), ()], ids=["a batch of one", "one sample"])
def test_one_sample_is_an_array_of_one_number(tmp_path, validator, args):
    f = tmp_path / "one.bp"
    samples = "[1, 2, 3]" if args else "[3]"
    f.write_text(
        f"input x = {samples}\ntarget y = {samples.replace('1', '2').replace('3', '6')}\n"
        "param w = 0.5\nloss L = (y - x*w)^2\n"
    )
    result = invoke("run", str(f), "--json", *args)
    assert result.exit_code == 0, result.stderr
    lines = [strict(line) for line in result.stdout.splitlines()]
    for record in lines:
        validator.validate(record)
    step = lines[1]
    # by hand
    assert step["forward"] == {"L": [(6 - 3 * 0.5) ** 2] if not args else [(2 - 0.5) ** 2]}
    assert step["grads"]["w"] == ([-2 * 3 * 4.5] if not args else [-2 * 1 * 1.5])


def _written_both_ways(graph, steps: int, max_paths: int = 8):
    """Each step's line from the fast writer and from its record; and whether the fast one filled
    its template."""
    shape = jsonl.layout(graph, max_paths)
    write = jsonl.StepLines(graph, shape)
    pairs = []
    with np.errstate(all="ignore"):
        for record in trace(graph, steps, max_paths=max_paths):
            if hasattr(record, "updates"):
                pairs.append((write(record), jsonl.line(jsonl.step(graph, record, shape))))
    return pairs, write.count > 0


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("path", NETWORKS, ids=[p.name for p in NETWORKS])
def test_the_fast_writer_writes_each_step_as_its_record_does(path, optimizer):
    """`run --json` fills a template with each step's numbers; the line must be the record's,
    character for character. With samples it writes the record itself (no template), which must
    hold as well."""
    graph = load(f"set optimizer = {optimizer}\n" + path.read_text())
    pairs, templated = _written_both_ways(graph, 4)
    assert [fast for fast, _ in pairs] == [slow for _, slow in pairs]
    # the template was used, or the test would prove nothing
    assert templated == (graph.samples is None)


@pytest.mark.parametrize("max_paths", [0, 1])
def test_the_fast_writer_lists_as_many_paths_as_asked(max_paths):
    pairs, templated = _written_both_ways(load(ROOT / "networks" / "fanout.bp"), 3, max_paths)
    assert [fast for fast, _ in pairs] == [slow for _, slow in pairs] and templated
    assert all(len(c["paths"]) <= max_paths for fast, _ in pairs for c in strict(fast)["chains"])


def test_the_fast_writer_leaves_what_is_not_a_plain_float_to_the_records():
    """numpy's float64 would be written np.float64(…) by its repr, True as True, an int as an int
    where the record writes a float: a record holding any of them is written by the records, as
    valid JSON."""
    import dataclasses

    graph = load(ROOT / "networks" / "simple.bp")
    shape = jsonl.layout(graph, 8)
    write = jsonl.StepLines(graph, shape)
    first, second = [r for r in trace(graph, 2) if hasattr(r, "updates")]
    write(first)  # the template is made
    u = second.updates[0]
    odd = [
        dataclasses.replace(second, loss=np.float64(second.loss)),
        dataclasses.replace(second, updates=(dataclasses.replace(u, lr=1),) + second.updates[1:]),
        dataclasses.replace(
            second, updates=(dataclasses.replace(u, grad=True),) + second.updates[1:]
        ),
        dataclasses.replace(second, values={**second.values.copy(), "h": 2}),
    ]
    for record in odd:
        fast = write(record)
        assert fast == jsonl.line(jsonl.step(graph, record, shape))
        strict(fast)
    # and the template is still good
    assert write(second) == jsonl.line(jsonl.step(graph, second, shape))


def test_the_fast_writer_writes_non_finite_steps_the_slow_way_and_then_carries_on():
    # ∂(w^k)/∂k = w^k·log(w) is NaN while w < 0; step 1 moves w from -0.3 by -0.5·(2w - 1) = 0.8, to
    # 0.5.
    graph = load("param w = -0.3\nconst k = 2\nset lr = 0.5\nloss L = w^k - w\n")
    pairs, templated = _written_both_ways(graph, 6)
    texts = [fast for fast, _ in pairs]
    assert texts == [slow for _, slow in pairs] and templated
    assert '"NaN"' in texts[0] and '"NaN"' not in texts[-1]  # both kinds of step were written


@settings(
    max_examples=examples(1 / 5),  # each example traces a network twice
    suppress_health_check=[HealthCheck.too_slow],
)
@given(text=random_networks(), optimizer=st.sampled_from(["sgd", "momentum", "adam"]))
def test_the_fast_writer_agrees_on_random_networks(text, optimizer):
    from bptrace.errors import NumericFault

    try:
        pairs, _ = _written_both_ways(load(f"set optimizer = {optimizer}\n" + text), 3)
    except NumericFault:
        assume(False)  # a step that cannot be computed is not written at all
    assert [fast for fast, _ in pairs] == [slow for _, slow in pairs]


LINE_BREAKS = (
    "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # every character str.splitlines ends a line at
)


@pytest.mark.parametrize("ch", list(LINE_BREAKS), ids=lambda c: f"U+{ord(c):04X}")
def test_no_character_splitlines_splits_at_is_written_raw(ch, tmp_path):
    f = tmp_path / f"a{ch}b.bp"
    f.write_text((ROOT / "networks" / "simple.bp").read_text(encoding="utf-8"), encoding="utf-8")
    result = invoke("run", str(f), "--json", "--steps", "2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    records = [strict(text) for text in lines]
    assert [r["type"] for r in records] == ["begin", "step", "step", "end"]  # one line per record
    assert records[0]["network"] == str(f)  # escaped, not left out


def test_a_record_is_one_line_whatever_its_strings_hold():
    record = {"type": "begin", "network": "x" + LINE_BREAKS + "θ", LINE_BREAKS: [LINE_BREAKS]}
    text = jsonl.line(record)
    assert text.endswith("\n") and text[:-1].splitlines() == [text[:-1]]
    assert json.loads(text) == record


def test_a_count_of_more_digits_than_python_reads_back_is_a_string_of_its_digits(validator):
    from bptrace.views.jsonl import paths_count

    assert paths_count(10**4300 - 1) == 10**4300 - 1  # 4,300 nines: json.loads reads it back
    assert json.loads(json.dumps(paths_count(10**4300 - 1))) == 10**4300 - 1
    assert paths_count(10**4300) == "1" + "0" * 4300
    begin = records(str(ROOT / "networks" / "simple.bp"))[0]
    begin["chains"][0]["paths_total"] = "1" + "0" * 4300
    assert validator.is_valid(begin)
    begin["chains"][0]["paths_total"] = "1000"  # a count that fits an integer is written as one
    assert not validator.is_valid(begin)


def test_a_line_made_in_pieces_is_the_one_json_dumps_writes(monkeypatch):
    # A step of a million samples was one json.dumps call of forty seconds that no signal could
    # stop; `line` makes the same text a chunk of numbers at a time. Chunks of 3 here: every array
    # is cut.
    monkeypatch.setattr(jsonl, "CHUNK", 3)
    graph = load(
        "input x = [0.5, -1, 2, 0.25, 3, -0.5, 1]\ntarget y = [1, 0, 1, 0, 1, 0, 1]\n"
        "param w = 0.3\n"
        "param b = 0.1\nh = σ(x*w + b)\nloss L = (y - h)^2\n"
    )
    step = next(trace(graph, 1))
    for record in (
        jsonl.begin(graph, "n.bp", 1, 0.1, 8),
        jsonl.step(graph, step),
        {"a": [], "b": {}, "c": [[1.5] * 7, {"d": "é"}]},
    ):
        assert (
            jsonl.line(record)
            == json.dumps(record, ensure_ascii=False, allow_nan=False, separators=(", ", ": "))
            + "\n"
        )
    with pytest.raises(ValueError):  # strict JSON still: a nan is refused, never written
        jsonl.line({"x": [1.0] * 5 + [float("nan")]})


def test_a_signal_before_the_begin_record_is_written_writes_no_end_record(monkeypatch):
    # A trace starts with its begin record: a signal while it was made left an end record alone.
    from bptrace.cli.process import Interrupted
    from bptrace.views import jsonl

    def interrupted(*args, **kwargs):
        raise Interrupted(signal.SIGINT)

    monkeypatch.setattr(jsonl, "begin", interrupted)
    result = invoke("run", str(ROOT / "networks" / "simple.bp"), "--json")
    assert result.exit_code == 130
    assert result.stdout == ""
    assert result.stderr == "bptrace: interrupted\n"
