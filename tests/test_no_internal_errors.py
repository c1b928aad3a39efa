"""No input reaches exit 1: every shape the fuzzing of issue 17 found, and seeded fuzzers over
every command, one of them drawing the layer syntax.

Exit 1 means a bug in bptrace (README's exit-code table). The corpus below holds one case per
shape of input that once ended there; the fuzzer mutates networks, samples and options for every
command, seeded (derandomized) so that a failure shows again on the next run, and bounded in
examples."""

from __future__ import annotations

import os
import sys

import pytest
from conftest import NETWORKS, examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bptrace.cli.app import app

DOCUMENTED = {0, 2, 3, 4, 5, 6, 129, 130, 143}
# Half the profile's examples: each one runs a command, some several.
EXAMPLES = examples(1 / 2)
SOURCES = {p.name: p.read_text(encoding="utf-8") for p in NETWORKS}
LINE = "input x = 1\ntarget y = 2\nparam w = 0.5\nset lr = 0.1\nloss L = (w*x - y)^2\n"


def invoke(*argv: str):
    return CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1"}).invoke(app, list(argv))


def assert_no_internal_error(result) -> None:
    crashed = result.exception and not isinstance(result.exception, SystemExit)
    assert not crashed, repr(result.exception)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.exit_code in DOCUMENTED, (
        result.exit_code,
        result.stdout[-500:],
        result.stderr[-500:],
    )


def diamonds(n: int) -> str:
    """Return a chain of n diamonds: 2^n paths from the loss back to w."""
    lines = ["param w = 0.5", "h0 = w"]
    for i in range(1, n + 1):
        lines += [f"a{i} = h{i - 1}*1", f"b{i} = h{i - 1}*1", f"h{i} = (a{i} + b{i})/2"]
    return "\n".join(lines + [f"loss L = h{n}^2"]) + "\n"


# name: (files written into the temporary folder, argv with {dir} for the folder)
CORPUS = {
    "exponent of 5000 digits": (
        {"n.bp": "param w = 1e" + "9" * 5000 + "\nloss L = w^2\n"},
        ["run", "{dir}/n.bp"],
    ),
    "mantissa of 5000 digits": (
        {"n.bp": "param w = " + "9" * 5000 + "\nloss L = w^2\n"},
        ["run", "{dir}/n.bp"],
    ),
    "nudge by a subnormal": ({"n.bp": LINE}, ["nudge", "{dir}/n.bp", "w", "--by", "1e-320"]),
    "nudge a huge param": ({"n.bp": "param w = 1e306\nloss L = w\n"}, ["nudge", "{dir}/n.bp", "w"]),
    "nudge a tiny loss": (
        {"n.bp": "param w = 1\nloss L = w/1e306\n"},
        ["nudge", "{dir}/n.bp", "w", "--by", "1e300"],
    ),
    "csv with lone CR endings": (
        {"n.bp": LINE, "d.csv": "x,y\r1,2\r3,4\r"},
        ["run", "{dir}/n.bp", "--data", "{dir}/d.csv"],
    ),
    "csv with a CR in a field": (
        {"n.bp": LINE, "d.csv": 'x,y\n"1\r",2\n'},
        ["run", "{dir}/n.bp", "--data", "{dir}/d.csv"],
    ),
    "csv with a huge field": (
        {"n.bp": LINE, "d.csv": "x,y\n" + "1" * 140_000 + ",2\n"},
        ["run", "{dir}/n.bp", "--data", "{dir}/d.csv"],
    ),
    "csv without the target": (
        {"n.bp": LINE, "d.csv": "x\n1\n2\n"},
        ["run", "{dir}/n.bp", "--data", "{dir}/d.csv"],
    ),
    "csv without a header": (
        {"n.bp": LINE, "d.csv": "1,2\n1,3\n"},
        ["run", "{dir}/n.bp", "--data", "{dir}/d.csv"],
    ),
    "csv of NULs": (
        {"n.bp": LINE, "d.csv": "\x00" * 5000},
        ["run", "{dir}/n.bp", "--data", "{dir}/d.csv"],
    ),
    "escape in a line": (
        {"n.bp": "param w = 1\nloss L = w^2 \x1b]52;c;aGk=\x07\n"},
        ["run", "{dir}/n.bp"],
    ),
    "escape in a cell": (
        {"n.bp": LINE, "d.csv": "x,y\n\x1b[2J,2\n"},
        ["run", "{dir}/n.bp", "--data", "{dir}/d.csv"],
    ),
    "check at a jump": ({"n.bp": "param w = 0\nloss L = sign(w)\n"}, ["check", "{dir}/n.bp"]),
    "check where cos loses all digits": (
        {"n.bp": "param w = 1e300\nloss L = cos(w)\n"},
        ["check", "{dir}/n.bp"],
    ),
    "seed not a whole number": (
        {"n.bp": "set seed = 1.5\nparam w = uniform(-1, 1)\nloss L = w^2\n"},
        ["run", "{dir}/n.bp"],
    ),
    "samples without commas": (
        {"n.bp": "input x = [1 2 3]\nparam w = 1\nloss L = (w*x)^2\n"},
        ["run", "{dir}/n.bp"],
    ),
    "a count not a number": ({"n.bp": LINE}, ["run", "{dir}/n.bp", "--steps", "many"]),
    "precision with json": ({"n.bp": LINE}, ["run", "{dir}/n.bp", "--json", "--precision", "3"]),
    "batch size without samples": ({"n.bp": LINE}, ["run", "{dir}/n.bp", "--batch-size", "2"]),
    "2^60 paths listed": (
        {
            "n.bp": "\n".join(
                ["param w = 0.5", "h0 = w"]
                + [
                    f"h{i} = " + " + ".join(f"{k + 1}*h{i - 1}" for k in range(8))
                    for i in range(1, 21)
                ]
                + ["loss L = h20/1e18"]
            )
            + "\n"
        },
        ["explain", "{dir}/n.bp", "--max-paths", "1000000000"],
    ),
    # layers (tests/test_layers_hostile.py): vector operations where the scalar engine reads
    "@ in a param's value": ({"n.bp": "param w = 2 @ 3\nloss L = w\n"}, ["run", "{dir}/n.bp"]),
    "sum in a setting": (
        {"n.bp": "set lr = sum(1)\nparam w = 1\nloss L = w\n"},
        ["run", "{dir}/n.bp"],
    ),
    "an element in a sample": (
        {"n.bp": "input x[2] = 1\ninput q = [x[1], 2]\nparam w = 1\nloss L = w*q\n"},
        ["run", "{dir}/n.bp"],
    ),
    "a transpose in a draw": (
        {"n.bp": "input W[2,2] = 1\nparam w = uniform((W)', 1)\nloss L = w\n"},
        ["run", "{dir}/n.bp"],
    ),
    "an element inside a call in a value": (
        {"n.bp": "input x[2] = 1\nparam q = σ(x[1])\nloss L = q\n"},
        ["run", "{dir}/n.bp"],
    ),
    "a sum of 5000 terms": (
        {"n.bp": "param w[5000] = 1\nloss L = sum(w)\n"},
        ["check", "{dir}/n.bp"],
    ),
}


@pytest.mark.parametrize("name", list(CORPUS))
def test_no_shape_the_fuzzer_found_ends_in_exit_1(tmp_path, name):
    files, argv = CORPUS[name]
    for file, text in files.items():
        (tmp_path / file).write_bytes(text.encode("utf-8"))
    assert_no_internal_error(invoke(*(a.format(dir=tmp_path) for a in argv)))


def test_more_paths_than_an_int_may_print(tmp_path):
    """Python refuses to write an int of more than sys.get_int_max_str_digits() digits: 2^2200 has
    663."""
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)  # the least Python allows: 10^4300 paths made cheap
    try:
        (tmp_path / "n.bp").write_text(diamonds(2200))
        for argv in (
            ["explain"],
            ["explain", "--latex"],
            ["run", "--json"],
            ["run", "--show", "chains"],
        ):
            assert_no_internal_error(invoke(argv[0], str(tmp_path / "n.bp"), *argv[1:]))
    finally:
        sys.set_int_max_str_digits(limit)


def test_a_file_name_that_is_not_utf8(tmp_path):
    folder = os.fsencode(tmp_path)
    # as Python reads such a name from argv: lone surrogates
    name = os.fsdecode(folder + b"/\xff\xfe.bp")
    with open(os.fsencode(name), "w", encoding="utf-8") as f:
        f.write(LINE)
    export = os.fsdecode(folder + b"/\xff.html")
    for argv in (
        ["run", name, "--json"],
        ["run", name, "--format", "markdown"],
        ["explain", name, "--latex"],
        ["graph", name, "--format", "dot"],
        ["run", name, "--export", export],
        ["check", name],
    ):
        assert_no_internal_error(invoke(*argv))


# The seeded fuzzer: mutated networks and samples under every command and its options.
PIECES = [
    "(",
    ")",
    "*",
    "^",
    "-",
    "+",
    "/",
    ",",
    "=",
    "1e308",
    "1e-320",
    "0",
    ".",
    "x",
    "w1",
    "loss ",
    "param ",
    "max(",
    "min(",
    "abs(",
    "relu(",
    "step(",
    "sign(",
    "log(",
    "exp(",
    "sqrt(",
    "\n",
    "#",
    " ",
    "[1, 2]",
    "uniform(-1, 1)",
    "\x1b",
    "\u2028",
    "\x85",
    "\r",
    "\x00",
    "9" * 400,
    "set batch = 2\n",
    "set optimizer = adam\n",
]
COMMANDS = [
    ["run", "{net}", "--steps", "3"],
    ["run", "{net}", "--json", "--steps", "2"],
    [
        "run",
        "{net}",
        "--show",
        "forward,partials,gradients,chains,updates",
        "--all",
        "--precision",
        "10",
    ],
    ["run", "{net}", "--format", "markdown", "--blank", "partials", "--key", "{dir}/key.md"],
    ["run", "{net}", "--format", "latex", "--blank", "chains,updates"],
    ["run", "{net}", "--quiet", "--steps", "5"],
    ["run", "{net}", "--data", "{dir}/d.csv", "--batch-size", "2", "--shuffle", "--seed", "3"],
    ["run", "{net}", "--data", "{dir}/d.csv", "--sample", "1"],
    ["run", "{net}", "--export", "{dir}/out.svg", "--max-paths", "2"],
    ["check", "{net}", "--steps", "2"],
    ["explain", "{net}"],
    ["explain", "{net}", "--latex", "--max-paths", "1"],
    ["graph", "{net}", "--format", "dot", "--step", "1"],
    ["graph", "{net}", "--format", "mermaid"],
    ["nudge", "{net}", "w1"],
    ["nudge", "{net}", "b2", "--by", "1e-3", "--step", "2"],
    ["present", "{net}", "-o", "{dir}/p.html", "--steps", "2", "--data", "{dir}/d.csv"],
    ["export", "{net}", "--torch", "--steps", "2"],
    ["export", "{net}", "--torch", "--data", "{dir}/d.csv", "--batch-size", "2", "--shuffle"],
]


def csv_text(rng: st.DataObject) -> str:
    header = rng.draw(st.sampled_from(["x,y", "x1,x2,y", "y,x", "x", "x,y,z", "", "1,2"]))
    rows = rng.draw(
        st.lists(
            st.lists(
                st.sampled_from(["1", "-2.5", "", "1e308", "nan", "a", '"3"', "0,5"]),
                min_size=1,
                max_size=3,
            ),
            max_size=5,
        )
    )
    return "\n".join([header] + [",".join(r) for r in rows]) + rng.draw(
        st.sampled_from(["\n", "", "\r"])
    )


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_seeded_fuzzer_never_ends_in_exit_1(tmp_path, data):
    text = data.draw(st.sampled_from(sorted(SOURCES.values())))
    for where, cut, piece in data.draw(
        st.lists(st.tuples(st.floats(0, 1), st.integers(0, 4), st.sampled_from(PIECES)), max_size=3)
    ):
        i = int(where * len(text))
        text = text[:i] + piece + text[i + cut :]
    (tmp_path / "n.bp").write_text(text, encoding="utf-8")
    (tmp_path / "d.csv").write_text(csv_text(data), encoding="utf-8")
    argv = data.draw(st.sampled_from(COMMANDS))
    assert_no_internal_error(invoke(*(a.format(net=tmp_path / "n.bp", dir=tmp_path) for a in argv)))


# The layer syntax, drawn: declarations of every kind and shape, expressions over them, mutated.
LAYER_DECLARATIONS = [
    "input x[2] = [0.5, -1]",
    "target y[1] = [1]",
    "param W1[3,2] = [[0.1, 0.3],\n  [-0.2, 0.4], [0.5, -0.1]]",
    "param b1[3] = 0",
    "param W2[1,3] = uniform(-1, 1)",
    "param s = 2",
    "const c[2] = [1, 2]",
    "input t = [1, 2, 3]",
]
LAYER_OPERANDS = ["x", "y", "W1", "b1", "W2", "s", "c", "t", "2", "x[1]", "W1[2,1]", "b1[4]"]
LAYER_PIECES = ["[", "]", ",", "'", "@", "[1]", "[2,1]", "[0]", "[1e3]", "[-1]", "[[1, 2], [3]]"]
LAYER_PIECES += ["sum(", "dot(", "(", ")", "\n", "param ", "uniform(-1, 1)", "[99999999999]"]
LAYER_COMMANDS = [
    ["run", "{net}", "--json"],
    ["run", "{net}", "--format", "latex", "--blank", "partials"],
    ["run", "{net}", "--focus", "W1[2,1]", "--all"],
    ["run", "{net}", "--data", "{dir}/d.csv"],
    ["check", "{net}"],
    ["explain", "{net}", "--latex"],
    ["graph", "{net}", "--format", "mermaid"],
    ["nudge", "{net}", "W1[2,1]"],
    ["present", "{net}", "-o", "{dir}/p.html"],
    ["export", "{net}", "--torch"],
]


# A value, sample, draw or setting: a constant, where the scalar engine reads, drawn with layer
# operations too (once exit 1: `param q = 2 @ 3`).
CONSTANT_PLACES = ["param q = {}", "set lr = {}", "input q = [{}, 1]", "param q = uniform({}, 9)"]


def layer_expression(data: st.DataObject, depth: int = 0, operands=LAYER_OPERANDS) -> str:
    kind = data.draw(st.integers(0, 5 if depth < 3 else 0))
    if kind == 0:
        return data.draw(st.sampled_from(operands)) + data.draw(st.sampled_from(["", "'"]))
    if kind == 1:
        fn = data.draw(st.sampled_from(["σ", "relu", "sum", "mean", "log"]))
        return f"{fn}({layer_expression(data, depth + 1, operands)})"
    a, b = (layer_expression(data, depth + 1, operands) for _ in range(2))
    if kind == 2:
        return f"dot({a}, {b})"
    if kind == 3:
        return f"({a})'"
    return f"{a} {data.draw(st.sampled_from(['+', '-', '*', '/', '^', '@']))} {b}"


@settings(
    max_examples=examples(1 / 2),  # 150 CLI runs of small layer networks: about 1 s
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_seeded_layer_fuzzer_never_ends_in_exit_1(tmp_path, data):
    lines = data.draw(st.permutations(LAYER_DECLARATIONS))[: data.draw(st.integers(3, 8))]
    lines += [f"h = {layer_expression(data)}", f"loss L = sum({layer_expression(data)})"]
    if data.draw(st.booleans()):
        constant = layer_expression(data, 1, ["2", "1e3", "x[1]", "0.5"])
        lines.insert(-2, data.draw(st.sampled_from(CONSTANT_PLACES)).format(constant))
    text = "\n".join(lines) + "\n"
    for where, cut, piece in data.draw(
        st.lists(
            st.tuples(st.floats(0, 1), st.integers(0, 3), st.sampled_from(LAYER_PIECES)),
            max_size=2,
        )
    ):
        i = int(where * len(text))
        text = text[:i] + piece + text[i + cut :]
    (tmp_path / "n.bp").write_text(text, encoding="utf-8")
    header = data.draw(st.sampled_from(["x[1],x[2],t", "X[1,1],t", "x[1],y[1]", "x,t"]))
    (tmp_path / "d.csv").write_text(f"{header}\n1,2,3\n4,5,6\n", encoding="utf-8")
    argv = data.draw(st.sampled_from(LAYER_COMMANDS))
    assert_no_internal_error(invoke(*(a.format(net=tmp_path / "n.bp", dir=tmp_path) for a in argv)))
