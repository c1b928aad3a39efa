"""Whatever a student types: random bytes and mutated networks never produce a traceback."""

from __future__ import annotations

import re

from conftest import NETWORKS, examples
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bptrace.cli.app import app

# Half the profile's examples: each one runs the CLI on a file.
EXAMPLES = examples(1 / 2)
DOCUMENTED = {0, 3, 4, 5}  # success, unreadable file, invalid network, numeric fault
POSITIONED = re.compile(r"^\S+:\d+:\d+: error: \S")
ONE_LINE = re.compile(r"^bptrace: error: \S.*$")
SOURCES = [p.read_text(encoding="utf-8") for p in NETWORKS]
# Pieces a student might type, slip or paste: tokens of the language and its usual accidents.
# an exponent past int()'s 4,300 digits
PIECES = [
    "(",
    ")",
    "*",
    "^",
    "**",
    "-",
    "+",
    "/",
    ",",
    "=",
    "1e",
    "0.5",
    ".",
    "x",
    "w1",
    "loss ",
    "param ",
    "σ(",
    "sigmoid(",
    "max(",
    "\n",
    "#",
    " ",
    "\t",
    "×",
    "²",
    "1e999",
    "0/0",
    "log(-1)",
    "λ",
    "\x00",
    "\r\n",
    "\r",
    "\x1b",
    "1e-" + "0" * 5000 + "1",
]


def run_on(tmp_path, data: bytes):
    path = tmp_path / "fuzz.bp"
    path.write_bytes(data)
    result = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1"}).invoke(
        app, ["run", str(path), "--steps", "2"]
    )
    return str(path), result


def assert_reported(path: str, result) -> None:
    assert not (result.exception and not isinstance(result.exception, SystemExit)), repr(
        result.exception
    )
    assert "Traceback" not in result.stdout + result.stderr
    assert result.exit_code in DOCUMENTED, (result.exit_code, result.stderr)
    # Warnings (with their quoted lines) may come before the error: the error is the first line that
    # says so.
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    first = errors[0] if errors else ""
    if result.exit_code == 4:
        assert first.startswith(path) and POSITIONED.match(first), result.stderr
        assert result.stdout == ""  # nothing half written
    # unreadable: one line, or pointing at the first byte that is not UTF-8
    elif result.exit_code == 3:
        assert (ONE_LINE.match(first) and result.stderr.splitlines()[-1] == first) or (
            first.startswith(path) and POSITIONED.match(first) and "not UTF-8" in first
        ), result.stderr
        assert result.stdout == ""
    elif result.exit_code == 5:
        assert POSITIONED.match(first) or ONE_LINE.match(first), result.stderr


@settings(
    max_examples=EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.binary(max_size=300))
def test_random_bytes(tmp_path, data):
    assert_reported(*run_on(tmp_path, data))


@settings(
    max_examples=EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    source=st.sampled_from(SOURCES),
    edits=st.lists(
        st.tuples(st.floats(0, 1), st.integers(0, 6), st.sampled_from(PIECES)),
        min_size=1,
        max_size=4,
    ),
)
# Found in CI: warnings (w3 no longer used) come before the numeric fault's error on stderr.
@example(
    source=SOURCES[[p.name for p in NETWORKS].index("two_layer.bp")], edits=[(0.875, 2, "0/0")]
)
def test_mutated_example_networks(tmp_path, source, edits):
    text = source
    for where, cut, piece in edits:
        i = int(where * len(text))
        text = text[:i] + piece + text[i + cut :]  # replace a few characters with a likely slip
    assert_reported(*run_on(tmp_path, text.encode("utf-8", "surrogatepass")))


@settings(
    max_examples=EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(pieces=st.lists(st.sampled_from(PIECES), max_size=30))
def test_token_soup(tmp_path, pieces):
    text = "".join(pieces)
    assert_reported(
        *run_on(
            tmp_path, ("param w = 1\n" + text + "\nloss L = w^2\n").encode("utf-8", "surrogatepass")
        )
    )


# a cell past the csv module's 131,072 characters
CSV_PIECES = [
    "x",
    "y",
    "w",
    ",",
    ";",
    "\t",
    "\n",
    "\r",
    "\r\n",
    '"',
    "1",
    "2.5",
    "1,5",
    "-",
    "e",
    "inf",
    "nan",
    " ",
    "\x1b",
    "#",
    "x,y\n",
    "7" * 140_000,
]


@settings(
    max_examples=EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(pieces=st.lists(st.sampled_from(CSV_PIECES), max_size=20))
# lone CR line ends (csv.Error before)
@example(pieces=["x,y\n", "1", ",", "2", "\r", "3", ",", "4"])
@example(pieces=[";"])  # separators alone: empty (an IndexError before)
def test_csv_soup(tmp_path, pieces):
    net = tmp_path / "line.bp"
    net.write_text("input x = 0\ntarget y = 0\nparam w = 1\nloss L = 1/2*(y - w*x)^2\n")
    data = tmp_path / "fuzz.csv"
    data.write_bytes("".join(pieces).encode("utf-8"))
    result = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1"}).invoke(
        app, ["run", str(net), "--data", str(data), "--show", "updates"]
    )
    assert not (result.exception and not isinstance(result.exception, SystemExit)), repr(
        result.exception
    )
    assert result.exit_code in DOCUMENTED, (result.exit_code, result.stderr)
    assert "\x1b" not in result.stderr
