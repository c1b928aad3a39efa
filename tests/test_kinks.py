"""`run` warns when a kink's argument is within rounding of 0: what a hand calculation puts exactly
at the kink (issue 17)."""

from __future__ import annotations

import json
from fractions import Fraction

import jsonschema
from conftest import load
from typer.testing import CliRunner

from bptrace.cli.app import app
from bptrace.engine.tracer import Step, trace

ENV = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}
LECTURE = (
    "input x = 3\nparam w = 0.1\nparam b = -0.3\nz = w*x + b\nh = relu(z)\nloss L = (h - 1)^2\n"
)


def invoke(*args):
    return CliRunner(env=ENV).invoke(app, list(args), prog_name="bptrace")


def kinks(text: str, steps: int = 1):
    return [near for r in trace(load(text), steps) if isinstance(r, Step) for near in r.kinks]


def test_the_lecture_example_is_warned_of_once_naming_node_step_value_and_function(tmp_path):
    f = tmp_path / "kink.bp"
    f.write_text(LECTURE)
    result = invoke("run", str(f), "--steps", "3")
    assert result.exit_code == 0, result.stderr
    # By hand z = 0.1·3 − 0.3 = 0; in floats 0.1·3 is 0.30000000000000004, and z = 2⁻⁵⁴ = 5.551e−17.
    assert result.stderr.count("warning") == 1
    assert (
        f"{f}:5:5: warning: step 1: relu's argument in node h is 5.551e-17, within rounding of 0"
        in result.stderr
    )
    assert "exactly 0" in result.stderr


def test_the_warning_is_in_the_json_step_record_and_valid(tmp_path):
    f = tmp_path / "kink.bp"
    f.write_text(LECTURE)
    result = invoke("run", str(f), "--steps", "2", "--json")
    assert result.exit_code == 0
    assert "within rounding of 0" in result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    validator = jsonschema.Draft202012Validator(json.loads(invoke("schema").stdout))
    for record in records:
        validator.validate(record)
    (warning,) = records[1]["warnings"]
    assert (warning["node"], warning["function"], warning["line"], warning["col"]) == (
        "h",
        "relu",
        5,
        5,
    )
    assert warning["value"] == 2.0**-54
    assert "warnings" not in records[2]


def test_the_bound_covers_the_distance_from_the_decimal_value():
    (near,) = kinks(LECTURE)
    exact = Fraction(1, 10) * 3 - Fraction(3, 10)  # 0, with the decimals as written
    assert abs(Fraction(near.value) - exact) <= Fraction(near.bound)
    assert near.bound < 1e-15  # and it stays a rounding error, not a size


def test_every_decimal_product_cancelled_to_zero_by_hand_is_warned_of_or_exactly_zero():
    # w·x + b with b = −w·x exactly as decimals: z is 0 by hand. Wherever floats leave it nonzero,
    # run warns.
    missed = []
    for tenths in range(1, 10):
        for x in range(1, 10):
            w = f"0.{tenths}"
            b = f"-{float(Fraction(tenths * x, 10))!r}"
            text = (
                f"input x = {x}\nparam w = {w}\nparam b = {b}\n"
                "z = w*x + b\nh = relu(z)\nloss L = (h - 1)^2\n"
            )
            z = float(w) * x + float(b)
            if z != 0 and not kinks(text):
                missed.append((w, x, z))
    assert missed == []


def test_no_warning_exactly_at_the_kink_or_for_a_value_small_but_exact():
    assert (
        kinks(
            "input x = 3\nparam w = 0.5\nparam b = -1.5\nz = w*x + b\nh = relu(z)\n"
            "loss L = (h - 1)^2\n"
        )
        == []
    )
    assert (
        kinks("input x = 3\nparam w = 1e-20\nparam b = 0\nh = relu(w*x + b)\nloss L = (h - 1)^2\n")
        == []
    )
    assert kinks("param w = 0.7\nloss L = abs(w - 0.5)\n") == []


def test_max_and_min_are_warned_of_when_their_arguments_tie_within_rounding():
    (near,) = kinks(
        "input x = 3\nparam w = 0.1\nparam b = 0.3\nloss L = max(w*x, b) + min(b, w*x)\n"
    )
    # once per node: the min of the same node is not repeated
    assert (near.fn, near.node) == (
        "max",
        "L",
    )
    assert near.value == 0.30000000000000004 - 0.3


def test_a_kink_of_a_number_alone_is_not_warned_of():
    assert kinks("param w = 0.3\nloss L = relu(1) + max(2, 2)*w\n") == []
