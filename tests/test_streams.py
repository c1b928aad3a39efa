"""Standard output closed, full or gone mid-run, standard error the same: every command ends with
its documented code."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from bptrace.cli.app import app

SIMPLE = str(ROOT / "networks/simple.bp")
FULL = "/dev/full"


@contextmanager
def stdout_to(mode: str):
    """Yield the keyword arguments that send a child's stdout where `mode` says: a pipe whose reader
    has gone (`| true`), a full disk, or nowhere (`>&-`)."""
    if mode == "gone":
        reader, writer = os.pipe()
        os.close(reader)  # every write fails with EPIPE at once: `| true`, deterministically
        try:
            yield {"stdout": writer}
        finally:
            os.close(writer)
    elif mode == "full":
        if not os.path.exists(FULL):
            pytest.skip("needs /dev/full")
        # opened, never written by path: bptrace only sees a descriptor
        with open(FULL, "w") as full:
            yield {"stdout": full}
    else:
        yield {"stdout": None, "preexec_fn": lambda: os.close(1)}


def bptrace(*args: str, **streams) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
    env.pop("FORCE_COLOR", None)
    streams.setdefault("stderr", subprocess.PIPE)
    return subprocess.run([sys.executable, "-m", "bptrace", *args], env=env, timeout=60, **streams)


@pytest.mark.parametrize("mode", ["gone", "full"])
@pytest.mark.parametrize("option", ["--key", "--export"])
def test_a_file_written_beside_a_failing_stdout_is_still_whole(option, mode, tmp_path):
    """A worksheet's key or an export is complete or absent: a reader gone (`| head`) ends quietly
    with 0, a full disk with 3, and the file holds the whole run."""
    suffix = ".md" if option == "--key" else ".html"
    written, reference = tmp_path / f"written{suffix}", tmp_path / f"reference{suffix}"
    args = [
        "run",
        SIMPLE,
        "--steps",
        "20",
        *(["-f", "markdown", "--blank", "partials"] if option == "--key" else []),
    ]
    done = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1"}).invoke(
        app, [*args, option, str(reference)]
    )
    assert done.exit_code == 0
    with stdout_to(mode) as stdout:
        done = bptrace(*args, option, str(written), **stdout)
    assert done.returncode == {"gone": 0, "full": 3}[mode], done.stderr
    assert (
        done.stderr
        == {
            "gone": b"",
            "full": b"bptrace: error: cannot write the output: No space left on device\n",
        }[mode]
    )
    assert written.read_bytes() == reference.read_bytes()


# Each writer of stdout: JSON lines, documents, typer's --version and --help (the tables' console:
# test_cli.py).
COMMANDS = {
    "run --json": ["run", SIMPLE, "--json"],
    "run --format": ["run", SIMPLE, "--format", "markdown"],
    "explain --latex": ["explain", SIMPLE, "--latex"],
    "graph --format dot": ["graph", SIMPLE, "--format", "dot"],
    "schema": ["schema"],
    "export --torch": ["export", SIMPLE, "--torch"],
    "--version": ["--version"],
    "--help": ["run", "--help"],
}
ENDINGS = {  # how each way of losing stdout ends: README's exit codes, and `| true` quiet
    "gone": (0, b""),
    "full": (3, b"bptrace: error: cannot write the output: No space left on device\n"),
    "closed": (3, b"bptrace: error: cannot write the output: standard output is closed\n"),
}


@pytest.mark.parametrize("mode", list(ENDINGS))
@pytest.mark.parametrize("command", list(COMMANDS))
def test_an_output_that_cannot_be_written_ends_with_the_documented_code(command, mode):
    with stdout_to(mode) as stdout:
        done = bptrace(*COMMANDS[command], **stdout)
    assert (done.returncode, done.stderr) == ENDINGS[mode]


@contextmanager
def stderr_to(mode: str):
    if mode == "full":
        if not os.path.exists(FULL):
            pytest.skip("needs /dev/full")
        with open(FULL, "w") as full:
            yield {"stderr": full}
    else:
        yield {"stderr": None, "preexec_fn": lambda: os.close(2)}


# a numeric fault after the first step
@pytest.mark.parametrize(
    "text, args, code",
    [
        ("param w = 1\nparam u = 2\nloss L = w^2\n", [], 0),  # a warning: u cannot affect the loss
        (
            "param w = 0.5\nset lr = 1\nloss L = log(w)\n",
            ["--json"],
            5,
        ),
        ("param w = 1\nloss L = w +\n", [], 4),  # an invalid network
    ],
    ids=["warning", "numeric fault", "invalid"],
)
def test_a_stderr_closed_or_full_changes_neither_the_exit_code_nor_the_output(
    text, args, code, tmp_path
):
    net = tmp_path / "net.bp"
    net.write_text(text)
    shown = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1"}).invoke(app, ["run", str(net), *args])
    assert shown.exit_code == code and shown.stderr  # something to say on stderr
    for mode in ("closed", "full"):
        with stderr_to(mode) as stderr:
            done = bptrace("run", str(net), *args, stdout=subprocess.PIPE, **stderr)
        assert (done.returncode, done.stdout) == (code, shown.stdout_bytes), mode


def test_silencing_stdout_leaves_no_descriptor_open():
    """Pointing stdout at /dev/null (its reader gone, or the disk full) opens /dev/null once and
    closes it."""
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc")
    count = "len(os.listdir('/proc/self/fd'))"
    code = (
        f"import os, sys; from bptrace.cli import process; n = {count}; process.silence_stdout(); "
        f"print({count} - n, file=sys.stderr)"
    )
    reader, writer = os.pipe()
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], stdout=writer, stderr=subprocess.PIPE, timeout=60
        )
    finally:
        os.close(writer)
        os.close(reader)
    assert (done.returncode, done.stderr) == (0, b"0\n")
