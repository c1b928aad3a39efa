"""`compare` and `mistakes` attacked: hostile --vs values, options that fight the --vs, settings
that change nothing, and text that must not be read as markup.

Numbers are worked out by hand from networks/simple.bp (x = 2, y = 1, w1 = 0.5, b1 = 0.1,
w2 = -0.3, b2 = 0.2: h = 1.1, g = -0.13, ∂L/∂g = -(y - g) = -1.13, ∂L/∂w1 = -1.13·w2·x = 0.678).
"""

from __future__ import annotations

from conftest import ROOT
from typer.testing import CliRunner

from bptrace.cli.app import app

SIMPLE = ROOT / "networks" / "simple.bp"


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "120"})


def test_a_mistakes_formula_with_indices_is_not_read_as_markup():
    # rich would take [i] and [j] for markup (italic) and print ∂h/∂v taken as W
    result = invoke("mistakes", ROOT / "networks" / "two_layer_matrix.bp")
    assert result.exit_code == 0, result.output
    assert "∂h[i]/∂v[j]" in result.output and "W[j,i])" in result.output
