"""Broken .bp files, each carrying the diagnostic bptrace should print, and the file errors.

Every tests/bad/*.bp file starts with header comments:

    # expect: LINE:COL: error: MESSAGE
    # expect-hint: HINT            (optional)

LINE counts the header lines themselves; COL counts characters (a tab is one column).
"""

from __future__ import annotations

import os
import threading
import traceback
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bptrace.api import reading
from bptrace.cli.app import app

BAD = Path(__file__).parent / "bad"
BAD_FILES = sorted(BAD.glob("*.bp"))
TAB = 4  # diagnostics expand tabs to this width
EXIT_FILE = 3
EXIT_NETWORK = 4

# Keep rich from colouring the output whatever the environment says.
PLAIN = {"FORCE_COLOR": None, "TTY_COMPATIBLE": None, "TTY_INTERACTIVE": None, "COLUMNS": "80"}


def invoke(path: str):
    result = CliRunner().invoke(app, ["run", path], env=PLAIN)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        detail = "".join(traceback.format_exception(*result.exc_info))
        pytest.fail(f"bptrace raised instead of reporting:\n{detail}\nstderr:\n{result.stderr}")
    return result


def source_lines(text: str) -> list[str]:
    """The file's lines as bptrace numbers them: split at \\n only, a trailing \\r dropped."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def expectations(text: str) -> tuple[str, str | None]:
    expect = hint = None
    for line in source_lines(text):
        if line.startswith("# expect: "):
            expect = line.removeprefix("# expect: ")
        elif line.startswith("# expect-hint: "):
            hint = line.removeprefix("# expect-hint: ")
        else:
            break
    assert expect is not None, (
        "the file must start with a `# expect: LINE:COL: error: MESSAGE` line"
    )
    return expect, hint


def check_quote(err: list[str], lines: list[str], line_no: int, col: int) -> None:
    """The diagnostic quotes source line `line_no` and puts its caret under column `col`."""
    assert 1 <= line_no <= len(lines), f"test data: line {line_no} is not in the file"
    raw = lines[line_no - 1]
    gutter = f" {line_no} | "
    assert len(err) >= 3, "the diagnostic must quote the source line and underline it"
    if len(raw) > 100:  # a long line is quoted as a window around the culprit, marked with ...
        quoted = err[1][len(gutter) :]
        caret = err[2].index("^") - len(gutter)
        assert quoted[caret] == raw[col - 1], "the caret is not under the culprit"
        assert quoted.strip(".") in raw, "the window is not part of the source line"
        return
    assert err[1].rstrip() == (gutter + raw.expandtabs(TAB)).rstrip(), (
        "quotes the wrong source line"
    )
    blank = f" {' ' * len(str(line_no))} | "
    assert err[2].startswith(blank), f"underline gutter: {err[2]!r}"
    underline = err[2][len(blank) :]
    assert underline.count("^") == 1 and set(underline.strip()) <= {"^", "~"}, (
        f"underline: {underline!r}"
    )
    assert underline.strip().startswith("^")
    want = len(raw[: col - 1].expandtabs(TAB))
    got = underline.index("^")
    assert got == want, (
        f"caret under display column {got + 1} of the quoted line, expected {want + 1}:\n"
        + "\n".join(err[1:3])
    )
    assert len(underline.rstrip()) <= len(raw.expandtabs(TAB)) + 1, "underline runs past the line"


@pytest.mark.parametrize("bad", BAD_FILES, ids=[p.name for p in BAD_FILES])
def test_bad_network(bad: Path) -> None:
    path = str(bad)
    text = bad.read_bytes().decode("utf-8").removeprefix("\ufeff")
    expect, hint = expectations(text)
    result = invoke(path)
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    err = result.stderr.split("\n")
    assert err[0] == f"{path}:{expect}", f"stderr was:\n{result.stderr}"
    assert result.exit_code == EXIT_NETWORK, (
        f"exit code {result.exit_code}; stderr was:\n{result.stderr}"
    )
    assert result.stdout == "", "nothing may be written to stdout when the network is broken"
    line_no, col = (int(n) for n in expect.split(":")[:2])
    check_quote(err, source_lines(text), line_no, col)
    if hint is not None:
        assert len(err) > 3 and err[3] == f"  hint: {hint}", f"stderr was:\n{result.stderr}"


def test_there_are_enough_bad_files() -> None:
    assert len(BAD_FILES) >= 30


def test_empty_file(tmp_path: Path) -> None:
    f = tmp_path / "empty.bp"
    f.write_bytes(b"")
    result = invoke(str(f))
    assert result.exit_code == EXIT_NETWORK
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"{f}:1:1: error: no loss: mark one node with `loss`",
        "  hint: write `loss L = EXPR`",
    ]


def _missing(tmp_path: Path) -> Path:
    return tmp_path / "nowhere.bp"


def _directory(tmp_path: Path) -> Path:
    d = tmp_path / "folder.bp"
    d.mkdir()
    return d


def _latin1(tmp_path: Path) -> Path:
    f = tmp_path / "latin1.bp"
    f.write_bytes("# réseau\nparam w = 2\nloss L = w^2\n".encode("latin-1"))
    return f


def _nul(tmp_path: Path) -> Path:
    f = tmp_path / "binary.bp"
    f.write_bytes(b"param w = 2\x00\nloss L = w^2\n")
    return f


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (_missing, "no such file"),
        (_directory, "is a directory"),
        (_nul, "NUL bytes"),
    ],
    ids=["missing", "directory", "nul_bytes"],
)
def test_file_error(tmp_path: Path, make, says: str) -> None:
    path = str(make(tmp_path))
    result = invoke(path)
    assert result.exit_code == EXIT_FILE, (
        f"exit code {result.exit_code}; stderr was:\n{result.stderr}"
    )
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"expected a one-line message, got:\n{result.stderr}"
    assert path in lines[0] and says in lines[0] and "error" in lines[0]


def _feed(fifo: Path, block: bytes, most: int) -> tuple[threading.Thread, list[int]]:
    """Start writing `block` into `fifo` again and again, `most` bytes at most; return the thread
    and what it wrote."""
    written = [0]

    def write() -> None:
        with open(fifo, "wb", buffering=0) as out:
            try:
                while written[0] < most:
                    written[0] += out.write(block)
            except BrokenPipeError:  # the reader stopped reading: what we want
                pass

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread, written


@pytest.mark.parametrize("option", [None, "--data"])
def test_an_endless_stream_is_read_up_to_the_limit_not_whole(
    tmp_path: Path, monkeypatch, option
) -> None:
    """A pipe of comment lines that never ends (as /dev/zero never does): refused at MAX_BYTES, 1 MB
    here."""
    monkeypatch.setattr(reading, "MAX_BYTES", 1 << 20)
    fifo = tmp_path / "endless"
    os.mkfifo(fifo)
    thread, written = _feed(fifo, b"# " + b"a" * 65_532 + b"\n", 64 << 20)
    net = tmp_path / "net.bp"
    net.write_text("input x = 1\nparam w = 1\nloss L = w*x\n")
    args = ["run", str(net), "--data", str(fifo)] if option else ["run", str(fifo)]
    result = CliRunner().invoke(app, args, env=PLAIN)
    thread.join(10)
    kind = "CSV file" if option else ".bp file"
    assert result.exit_code == EXIT_FILE and result.stdout == ""
    assert (
        result.stderr
        == f"bptrace: error: {fifo}: more than 1 MB: too large for a {kind} (bptrace reads at most "
        "1 MB)\n"
    )
    assert written[0] < 4 << 20  # the limit, a chunk of 1 MB past it, and what the pipe holds


def test_a_stream_of_nul_bytes_is_refused_at_its_first_chunk(tmp_path: Path) -> None:
    """What /dev/zero gives: binary from the first byte, refused after one chunk (1 MB), not 256 MB
    later."""
    fifo = tmp_path / "zeros"
    os.mkfifo(fifo)
    thread, written = _feed(fifo, bytes(65_536), 64 << 20)
    result = invoke(str(fifo))
    thread.join(10)
    assert result.exit_code == EXIT_FILE
    assert (
        result.stderr
        == f"bptrace: error: {fifo}: a binary file, not a .bp file (it contains NUL bytes)\n"
    )
    assert written[0] < 4 << 20


def test_warning_goes_to_stderr_and_the_run_succeeds(tmp_path: Path) -> None:
    f = tmp_path / "unused_param.bp"
    f.write_text("param w = 2\nparam b = 1\nloss L = (w - 1)^2\n", encoding="utf-8")
    result = invoke(str(f))
    assert result.exit_code == 0, f"stderr was:\n{result.stderr}"
    assert "Traceback" not in result.stdout + result.stderr
    err = result.stderr.split("\n")
    assert err[0] == f"{f}:2:7: warning: param 'b' cannot affect the loss 'L'"
    check_quote(err, source_lines(f.read_text(encoding="utf-8")), 2, 7)
    assert "error" not in result.stderr
    assert "warning:" not in result.stdout
    assert "Step 1" in result.stdout and "w" in result.stdout


def test_a_network_without_a_param_is_warned_of(tmp_path: Path) -> None:
    """`input w` where `param w` was meant: the run computes the loss and trains nothing."""
    f = tmp_path / "no_param.bp"
    f.write_text("input x = 1\ninput w = 2\nloss L = (x*w - 1)^2\n", encoding="utf-8")
    result = invoke(str(f))
    assert result.exit_code == 0
    err = result.stderr.split("\n")
    assert err[0] == f"{f}:3:6: warning: the network has no param: training changes nothing"
    check_quote(err, source_lines(f.read_text(encoding="utf-8")), 3, 6)
    assert "`param w = 0.5`" in result.stderr
    f.write_text("input x = 1\nparam w = 2\nloss L = (x*w - 1)^2\n", encoding="utf-8")
    assert "warning" not in invoke(str(f)).stderr  # with one param, nothing to warn of


def test_a_file_not_in_utf8_points_at_the_byte_and_says_how_to_save_it(tmp_path: Path) -> None:
    f = _latin1(tmp_path)  # "# réseau": é is the byte 0xe9 in Latin-1, at line 1, column 4
    result = invoke(str(f))
    assert result.exit_code == EXIT_FILE and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{f}:1:4: error: not UTF-8 text: byte 0xe9 is not a character in UTF-8",
        " 1 | # r\ufffdseau",
        "   |    ^",
        "  hint: save the file as UTF-8 (in most editors: Save As, then the encoding UTF-8)",
    ]
    utf16 = tmp_path / "utf16.bp"
    utf16.write_text("param w = 2\nloss L = w^2\n", encoding="utf-16")
    result = invoke(str(utf16))
    assert result.exit_code == EXIT_FILE
    assert (
        result.stderr
        == f"bptrace: error: {utf16}: not UTF-8 text: it is UTF-16; save it as UTF-8 (in most "
        "editors: Save As, then the encoding UTF-8)\n"
    )


def test_control_characters_in_a_quoted_line_are_shown_escaped_with_the_caret_under_the_culprit(
    tmp_path: Path,
) -> None:
    """An OSC 52 clipboard write in a comment, and ESC in code after a tab: written \\x1b, \\x07,
    never raw."""
    f = tmp_path / "esc.bp"
    f.write_bytes(b"param w = 1 2 # \x1b]52;c;aGk=\x07\nloss L = w\n")
    result = invoke(str(f))
    assert result.exit_code == EXIT_NETWORK
    assert result.stderr.splitlines() == [
        f"{f}:1:13: error: unexpected '2' after the expression",
        r" 1 | param w = 1 2 # \x1b]52;c;aGk=\x07",
        "   |             ^",
        "  hint: write 1*2 for a product: bptrace has no implicit multiplication",
    ]
    # ESC, then C1 CSI and a bidi override
    f.write_bytes(b"param w = 1\n\tx\x1b = 2  # \xc2\x9b\xe2\x80\xae\nloss L = w\n")
    result = invoke(str(f))
    assert result.exit_code == EXIT_NETWORK
    # The tab is 4 columns and x one: the caret at display column 6, under the backslash of \x1b.
    assert result.stderr.splitlines()[:3] == [
        f"{f}:2:3: error: unexpected character U+001B",
        r" 2 |     x\x1b = 2  # \x9b\u202e",
        "   |      ^~~~",
    ]


def test_control_characters_in_a_file_name_or_a_csv_cell_are_shown_escaped(tmp_path: Path) -> None:
    net = tmp_path / "net.bp"
    net.write_text("input x = 0\ntarget y = 0\nparam w = 1\nloss L = (y - w*x)^2\n")
    data = tmp_path / "cells.csv"
    data.write_bytes(b"x,y\n1,\x1b[31mred\n")
    result = CliRunner().invoke(app, ["run", str(net), "--data", str(data)], env=PLAIN)
    assert result.exit_code == EXIT_FILE
    assert (
        result.stderr
        == f"bptrace: error: {data}: line 2, column 'y': '\\x1b[31mred' is not a number\n"
    )
    named = tmp_path / "a\x1b[2Jb.bp"
    named.write_text("loss L = w\n")
    result = invoke(str(named))
    assert result.exit_code == EXIT_NETWORK and "\x1b" not in result.stderr
    assert result.stderr.startswith(f"{tmp_path}/a\\x1b[2Jb.bp:1:10: error: unknown name 'w'")


def test_lines_ended_by_a_lone_cr_are_lines(tmp_path: Path) -> None:
    """An old Mac file: each CR ends a line, so the error is on line 2, not in one long line."""
    f = tmp_path / "mac.bp"
    f.write_bytes(b"param w = 2\rloss L = v^2\r")
    result = invoke(str(f))
    assert result.exit_code == EXIT_NETWORK
    assert result.stderr.splitlines()[:3] == [
        f"{f}:2:10: error: unknown name 'v'",
        " 2 | loss L = v^2",
        "   |          ^",
    ]
    f.write_bytes(b"param w = 2\rinput x = 3\r\nloss L = (w*x)^2\r")
    assert invoke(str(f)).exit_code == 0
