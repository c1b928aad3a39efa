"""`bptrace run --export`: what the terminal shows, in colour, saved as HTML or SVG for slides."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from bptrace.cli.app import app

ENV = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}
SIMPLE = str(ROOT / "networks/simple.bp")


def invoke(*args):
    return CliRunner(env=ENV).invoke(app, list(args), prog_name="bptrace")


def test_html_holds_the_terminal_text_in_colour(tmp_path):
    target = tmp_path / "trace.html"
    plain = invoke("run", SIMPLE)
    result = invoke("run", SIMPLE, "--export", str(target))
    assert result.exit_code == 0, result.stderr
    # the terminal sees the same thing with or without --export
    assert result.stdout == plain.stdout
    page = target.read_text(encoding="utf-8")
    text = html.unescape(re.sub(r"<[^>]+>", "", page.split("<body")[1]))
    for line in plain.stdout.splitlines():
        assert line.rstrip() in text
    # colours, although this terminal has none (NO_COLOR)
    assert re.search(r"color: #[0-9a-f]{6}", page)


def test_svg_is_well_formed_and_titled(tmp_path):
    target = tmp_path / "trace.svg"
    result = invoke("run", SIMPLE, "--show", "chains", "--export", str(target))
    assert result.exit_code == 0, result.stderr
    root = ET.fromstring(target.read_text(encoding="utf-8"))
    assert root.tag.endswith("svg")
    words = "".join(t.text or "" for t in root.iter() if t.tag.endswith("text")).replace(
        "\xa0", " "
    )
    assert "bptrace run" in words and "∂L/∂w₁" in words and "0.678" in words


@pytest.mark.parametrize(
    "args, says",
    [
        (["--export", "t.png"], "must end in .html or .svg"),
        (["--export", "t.svg", "--json"], "cannot be used with --json"),
    ],
)
def test_export_usage_errors(args, says):
    result = invoke("run", SIMPLE, *args)
    assert result.exit_code == 2 and says in " ".join(result.stderr.replace("│", "").split())


def test_an_unwritable_export_is_a_file_error_before_the_run_with_nothing_left_behind(tmp_path):
    target = tmp_path / "missing" / "t.html"
    result = invoke("run", SIMPLE, "--export", str(target), "--steps", "400")
    assert result.exit_code == 3
    assert result.stderr == f"bptrace: error: cannot write {target}: no such directory\n"
    assert result.stdout == ""  # said before a long run, not after it
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "t.html").mkdir()
    assert (
        "t.html: is a directory"
        in invoke("run", SIMPLE, "--export", str(tmp_path / "t.html")).stderr
    )


def test_an_export_that_fails_when_written_is_still_a_file_error(tmp_path, monkeypatch):
    """The folder was there when the run began, and a write can still fail (a full disk): exit 3,
    nothing left."""
    from bptrace.cli import files

    def full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files, "_write_all", full)
    result = invoke("run", SIMPLE, "--export", str(tmp_path / "t.html"))
    assert result.exit_code == 3
    assert f"cannot write {tmp_path / 't.html'}: No space left on device" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_numeric_fault_still_exports_what_was_shown(tmp_path):
    f = tmp_path / "fault.bp"
    f.write_text("param w = 0.5\nset lr = 1\nloss L = log(w)\n")
    target = tmp_path / "t.html"
    result = invoke("run", str(f), "--steps", "3", "--export", str(target))
    assert result.exit_code == 5
    assert "Step 1" in target.read_text(encoding="utf-8")
