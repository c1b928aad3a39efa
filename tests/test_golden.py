"""Exact text of the rendered tables, on a pinned console: 80 columns, no colour.

Regenerate after an intended change with

    BPTRACE_REGEN_GOLDEN=1 python -m pytest tests/test_golden.py

then read every line of `git diff tests/golden` before committing it.
"""

from __future__ import annotations

import os

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from bptrace.cli.app import app

GOLDEN = ROOT / "tests" / "golden"
CASES = {
    "simple_2_steps": ["run", "networks/simple.bp", "--steps", "2"],
    "two_layer": ["run", "networks/two_layer.bp"],
    "fanout": ["run", "networks/fanout.bp", "--steps", "2"],
    "simple_ascii": ["run", "networks/simple.bp", "--ascii", "--show", "forward,chains"],
    "explain_two_layer": ["explain", "networks/two_layer.bp"],
    "explain_fanout_ascii": ["explain", "networks/fanout.bp", "--ascii"],
    "explain_two_layer_latex": ["explain", "networks/two_layer.bp", "--latex"],
    "graph_simple": ["graph", "networks/simple.bp"],
    "graph_two_layer_step_1": ["graph", "networks/two_layer.bp", "--step", "1"],
    "graph_fanout_mermaid": ["graph", "networks/fanout.bp", "--format", "mermaid"],
}


@pytest.mark.parametrize("name", CASES)
def test_rendered_output_matches_golden(name, monkeypatch):
    monkeypatch.chdir(ROOT)
    env = {"COLUMNS": "80", "LINES": "50", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}
    result = CliRunner(env=env).invoke(app, CASES[name], prog_name="bptrace")
    assert result.exit_code == 0, result.stderr
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("BPTRACE_REGEN_GOLDEN"):
        path.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == path.read_text(encoding="utf-8")


def test_the_readme_shows_the_real_first_step():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sample = readme.split("(colour and bold on a real terminal):\n\n```\n")[1].split("```")[0]
    first_step = (
        (GOLDEN / "simple_2_steps.txt").read_text(encoding="utf-8").split("─" * 36 + " Step 2")[0]
    )
    assert sample.rstrip() == first_step.rstrip()


def test_the_readme_check_sample_is_real(monkeypatch):
    monkeypatch.chdir(ROOT)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sample = readme.split("$ bptrace check networks/two_layer.bp\n")[1].split("…")[0]
    env = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}
    out = (
        CliRunner(env=env)
        .invoke(app, ["check", "networks/two_layer.bp"], prog_name="bptrace")
        .stdout
    )
    assert sample.strip() in out


@pytest.mark.parametrize(
    "command",
    [
        "bptrace graph networks/simple.bp --step 1",
        "bptrace nudge networks/simple.bp w1",
        "bptrace compare networks/simple.bp --vs half=false",
        "bptrace mistakes networks/two_layer.bp",
        "bptrace mistakes networks/two_layer.bp --show sigmoid-from-z",
    ],
)
def test_the_lecture_docs_show_real_output(command, monkeypatch):
    monkeypatch.chdir(ROOT)
    doc = (ROOT / "docs" / "lecture.md").read_text(encoding="utf-8")
    sample = doc.split(f"$ {command}\n")[1].split("```")[0]
    env = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}
    out = CliRunner(env=env).invoke(app, command.split()[1:], prog_name="bptrace").stdout
    assert sample.rstrip() == out.rstrip()


@pytest.mark.parametrize(
    "command, fence",
    [
        ("bptrace explain networks/simple.bp --latex", "```latex\n"),
        ("bptrace graph networks/simple.bp -f mermaid", "```mermaid\n"),
    ],
)
def test_the_lecture_docs_show_real_latex_and_mermaid(command, fence, monkeypatch):
    monkeypatch.chdir(ROOT)
    doc = (ROOT / "docs" / "lecture.md").read_text(encoding="utf-8")
    sample = doc.split(fence)[1].split("```")[0]
    out = CliRunner().invoke(app, command.split()[1:], prog_name="bptrace").stdout
    assert sample == out
