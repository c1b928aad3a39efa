"""A file name that is not UTF-8 (b'\\xff.bp'): written everywhere as \\xff, so every output stays
UTF-8."""

from __future__ import annotations

import html
import json
import os

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from bptrace.cli.app import app

NAME = "\\xff"  # how bptrace writes the byte 0xff of a name: escaped, as Python and GNU tools do
# What is run, and where the name shows, as each output spells it.
CASES = {
    "run --json": (
        ["run", "{net}", "--json"],
        "stdout",
        lambda out: json.loads(out.splitlines()[0])["network"],
    ),
    "run --format markdown": (
        ["run", "{net}", "-f", "markdown"],
        "stdout",
        lambda out: out.replace("\\\\", "\\"),
    ),
    "run --format latex": (
        ["run", "{net}", "-f", "latex"],
        "stdout",
        lambda out: out.replace(r"\textbackslash{}", "\\"),
    ),
    "explain": (["explain", "{net}"], "stdout", str),
    "explain --latex": (
        ["explain", "{net}", "--latex"],
        "stdout",
        lambda out: out.replace(r"\textbackslash{}", "\\"),
    ),
    "graph --format dot": (
        ["graph", "{net}", "-f", "dot"],
        "stdout",
        lambda out: out.replace("\\\\", "\\"),
    ),
    "run --export, itself so named": (
        ["run", "{net}", "--export", "\udcfe.html"],
        b"\xfe.html",
        html.unescape,
    ),
    "run --export svg": (
        ["run", "{net}", "--export", "{dir}/t.svg"],
        "t.svg",
        lambda out: html.unescape(out).replace("\xa0", " "),
    ),
    "--key": (
        ["run", "{net}", "-f", "markdown", "--blank", "partials", "--key", "{dir}/k.md"],
        "k.md",
        lambda out: out.replace("\\\\", "\\"),
    ),
    "a diagnostic": (["run", "{bad}"], "stderr", str),
    "a missing file": (["run", "\udcfe.bp"], "stderr", str),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_name_that_is_not_utf8_is_written_escaped_and_never_crashes(case, tmp_path, monkeypatch):
    # names as given, short: no folder's underscores escaped, no title cut
    monkeypatch.chdir(tmp_path)
    with open(b"\xff.bp", "wb") as net:
        net.write((ROOT / "networks/simple.bp").read_bytes())
    with open(b"\xff\xfe.bp", "wb") as bad:
        bad.write(b"param w = 1\nloss L = w +\n")
    args, where, read = CASES[case]
    given = {"net": os.fsdecode(b"\xff.bp"), "bad": os.fsdecode(b"\xff\xfe.bp"), "dir": "."}
    result = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1"}).invoke(
        app, [a.format(**given) for a in args]
    )
    assert result.exit_code == {"a diagnostic": 4, "a missing file": 3}.get(case, 0), repr(
        result.exception
    )
    if where in ("stdout", "stderr"):
        out = result.stdout_bytes if where == "stdout" else result.stderr_bytes
    else:
        with open(where, "rb") as written:
            out = written.read()
    shown = read(out.decode("utf-8"))  # strict: nothing but UTF-8 is ever written
    # (HTML has no title)
    escaped = {
        "a diagnostic": "\\xff\\xfe.bp:2:13: error:",
        "a missing file": "\\xfe.bp: no such file",
        "graph --format dot": 'digraph "\\xff"',  # the stem is the title
        "run --export, itself so named": "Step 1",
    }.get(case, f"{NAME}.bp")
    assert escaped in shown, shown[:300]
    assert "\ufffd" not in shown and "?" not in shown.split("\n")[0]
