"""The files `--key` and `--export` write: whole or untouched, and only ever a regular file
replaced."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from bptrace.cli.app import app

ENV = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}
SIMPLE = str(ROOT / "networks/simple.bp")
# How each option writes a file, and the name its file needs.
WRITERS = {
    "--key": (["-f", "markdown", "--blank", "forward", "--key"], "key.md"),
    "--export": (["--export"], "t.html"),
}


def invoke(*args):
    return CliRunner(env=ENV).invoke(app, list(args), prog_name="bptrace")


def write(option: str, target: Path):
    return invoke("run", SIMPLE, *WRITERS[option][0], str(target))


def written(option: str, tmp_path: Path) -> bytes:
    """Return what `option` writes to a fresh regular file."""
    plain = tmp_path / "plain" / WRITERS[option][1]
    plain.parent.mkdir()
    assert write(option, plain).exit_code == 0
    return plain.read_bytes()


@pytest.fixture(params=list(WRITERS))
def option(request) -> str:
    return request.param


def test_a_symlink_is_followed_to_its_file_and_stays_a_symlink(option, tmp_path):
    real = tmp_path / "real" / WRITERS[option][1]
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / WRITERS[option][1]
    link.symlink_to(real)
    result = write(option, link)
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes() == written(option, tmp_path)
    # no temporary left beside it
    assert sorted(p.name for p in real.parent.iterdir()) == [real.name]


def test_a_replaced_file_keeps_its_mode(option, tmp_path):
    target = tmp_path / WRITERS[option][1]
    target.write_text("old")
    target.chmod(0o640)
    assert write(option, target).exit_code == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.read_bytes() == written(option, tmp_path)


def test_a_read_only_file_is_refused_before_the_run_and_left_as_it_was(option, tmp_path):
    """Decided on the mode bits: as root, os.access allows every write."""
    target = tmp_path / WRITERS[option][1]
    target.write_text("old")
    target.chmod(0o444)
    result = write(option, target)
    assert result.exit_code == 3
    assert result.stderr.endswith(f"bptrace: error: cannot write {target}: the file is read-only\n")
    assert result.stdout == ""  # said before the run
    assert target.read_text() == "old" and stat.S_IMODE(target.stat().st_mode) == 0o444


def drained(reader: int) -> tuple[list[bytes], threading.Thread]:
    """Read `reader` to its end in a thread: the chunks read so far, and the thread (join it)."""
    got: list[bytes] = []

    def read_all() -> None:
        while chunk := os.read(reader, 65536):
            got.append(chunk)

    thread = threading.Thread(target=read_all, daemon=True)
    thread.start()
    return got, thread


def test_a_fifo_is_written_in_place_not_replaced(option, tmp_path):
    fifo = tmp_path / WRITERS[option][1]
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    # so that the reader sees no end of file until bptrace has written
    keep_open = os.open(fifo, os.O_WRONLY)
    os.set_blocking(reader, True)
    got, thread = drained(reader)
    try:
        result = write(option, fifo)
    finally:
        os.close(keep_open)
        thread.join(timeout=30)
        os.close(reader)
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert b"".join(got) == written(option, tmp_path)


def test_a_terminal_is_written_in_place():
    """A character device: a pseudo-terminal of the test's own, opened by bptrace, never renamed
    over."""
    master, slave = os.openpty()
    tty = os.ttyname(slave)
    assert stat.S_ISCHR(os.stat(tty).st_mode)
    got: list[bytes] = []

    def read_all() -> None:
        try:
            while chunk := os.read(master, 65536):
                got.append(chunk)
        except OSError:  # EIO: the terminal's last writer closed it
            pass

    thread = threading.Thread(target=read_all, daemon=True)
    thread.start()
    try:
        result = invoke("run", SIMPLE, "-f", "markdown", "--blank", "forward", "--key", tty)
        assert stat.S_ISCHR(os.stat(tty).st_mode)
    finally:
        os.close(slave)
        thread.join(timeout=30)
        os.close(master)
    assert result.exit_code == 0, result.stderr
    assert b"# bptrace run" in b"".join(got) and b"(answer key)" in b"".join(got)


def test_a_name_as_long_as_the_folder_allows_is_written(option, tmp_path):
    name = "a" * (255 - len(Path(WRITERS[option][1]).suffix)) + Path(WRITERS[option][1]).suffix
    result = write(option, tmp_path / name)
    assert result.exit_code == 0, result.stderr
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_a_name_too_long_is_a_file_error_before_the_run(option, tmp_path):
    name = "a" * (256 - len(Path(WRITERS[option][1]).suffix)) + Path(WRITERS[option][1]).suffix
    result = write(option, tmp_path / name)
    assert result.exit_code == 3, result.output
    assert "the name is longer than the 255 bytes a file name may have here" in result.stderr
    assert result.stdout == "" and list(tmp_path.iterdir()) == []


def test_an_interrupt_while_the_file_is_saved_leaves_no_temporary_behind(
    option, tmp_path, monkeypatch
):
    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    result = write(option, tmp_path / WRITERS[option][1])
    assert result.exit_code == 130
    assert list(tmp_path.iterdir()) == []


# In a child process: each option in a run long enough to be stopped, whose stdout shows it has
# begun.
LONG = {
    "--key": ["-f", "markdown", "--blank", "partials", "--steps", "2000000", "--key"],
    "--export": ["--every", "1000000000", "--steps", "2000000", "--export"],
}


def child(args: list[str], stdout, **options) -> subprocess.Popen:
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"}
    env.pop("FORCE_COLOR", None)
    return subprocess.Popen(
        [sys.executable, "-m", "bptrace", "run", SIMPLE, *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=env,
        **options,
    )


def said(err: bytes) -> list[str]:
    """Return the lines of stderr but a worksheet's warnings (with --blank forward, that it gives
    answers away)."""
    return [
        line for line in err.decode().splitlines() if "worksheet gives answers away" not in line
    ]


def wait_for(condition, what: str, seconds: float = 30) -> None:
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, f"no {what} after {seconds} s"
        time.sleep(0.05)


def ended(proc: subprocess.Popen, seconds: float = 15) -> tuple[int, bytes]:
    """Return the exit code and stderr of `proc`, killed (and the test failed) if it has not ended
    in time."""
    try:
        _, err = proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"still running {seconds} s after the signal")
    return proc.returncode, err


def test_a_signal_when_no_one_reads_the_fifo_ends_the_run_at_once_with_its_code(option, tmp_path):
    """The signal that stopped the run must not wait for a reader that may never come: it hung
    forever."""
    fifo = tmp_path / WRITERS[option][1]
    os.mkfifo(fifo)
    shown = tmp_path / "stdout"
    with open(shown, "wb") as stdout:
        proc = child([*LONG[option], str(fifo)], stdout)
    wait_for(lambda: shown.stat().st_size > 0, "output")
    proc.send_signal(signal.SIGTERM)
    code, err = ended(proc)
    assert code == 143  # the signal's, not the file's 3
    assert said(err) == [
        f"bptrace: error: cannot write {fifo}: no one is reading it",
        "bptrace: stopped by SIGTERM",
    ]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_signal_when_the_fifo_s_reader_has_stopped_reading_ends_the_run_soon(option, tmp_path):
    """A reader that holds the FIFO open but takes nothing: after a signal, given up on within
    seconds."""
    fifo = tmp_path / WRITERS[option][1]
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # never read: the pipe fills up
    shown = tmp_path / "stdout"
    try:
        with open(shown, "wb") as stdout:
            # each step recorded: the export grows as the run goes
            every_step = [
                "--steps",
                "2000000",
                "--export",
            ]
            proc = child([*(LONG[option] if option == "--key" else every_step), str(fifo)], stdout)
        # The file written after the signal is about as long as the output: more than the pipe holds
        # (64 KB).
        wait_for(lambda: shown.stat().st_size > 256 << 10, "256 KB of output")
        proc.send_signal(signal.SIGTERM)
        code, err = ended(proc)
    finally:
        os.close(reader)
    assert code == 143
    assert said(err) == [
        f"bptrace: error: cannot write {fifo}: its reader has taken nothing for 2 seconds",
        "bptrace: stopped by SIGTERM",
    ]


def test_a_fifo_is_waited_for_at_the_end_of_a_run_and_a_signal_stops_the_wait(option, tmp_path):
    fifo = tmp_path / WRITERS[option][1]
    os.mkfifo(fifo)
    whole = len(write(option, tmp_path / ("plain" + WRITERS[option][1])).stdout_bytes)
    shown = tmp_path / "stdout"
    with open(shown, "wb") as stdout:
        proc = child([*WRITERS[option][0], str(fifo)], stdout)
    # the run is done: the file is next
    wait_for(lambda: shown.stat().st_size == whole, "whole output")
    time.sleep(0.5)
    assert proc.poll() is None  # waiting for a reader, as `echo > fifo` does
    proc.send_signal(signal.SIGTERM)
    code, err = ended(proc)
    assert (code, said(err)) == (143, ["bptrace: stopped by SIGTERM"])


def test_a_fifo_whose_reader_comes_after_the_run_gets_the_whole_file(option, tmp_path):
    fifo = tmp_path / WRITERS[option][1]
    os.mkfifo(fifo)
    whole = len(write(option, tmp_path / ("plain" + WRITERS[option][1])).stdout_bytes)
    shown = tmp_path / "stdout"
    with open(shown, "wb") as stdout:
        proc = child([*WRITERS[option][0], str(fifo)], stdout)
    wait_for(lambda: shown.stat().st_size == whole, "whole output")  # the run is done
    with open(fifo, "rb") as reader:
        got = reader.read()
    code, err = ended(proc)
    assert (code, said(err)) == (0, [])
    assert got == written(option, tmp_path)


def test_a_pipe_named_by_dev_fd_is_written_in_place(option, tmp_path):
    """/dev/fd/N, /dev/stdout or bash's >(cmd): a link only the kernel can follow, to a pipe that
    is no file.
    --export's name must end in .html: a symlink of that name leads to it."""
    reader, writer = os.pipe()
    name = f"/dev/fd/{writer}"  # the child's descriptor: pass_fds keeps its number
    if option == "--export":
        (tmp_path / "t.html").symlink_to(name)
        name = str(tmp_path / "t.html")
    got, thread = drained(reader)
    try:
        proc = child([*WRITERS[option][0], name], subprocess.DEVNULL, pass_fds=(writer,))
        os.close(writer)
        code, err = ended(proc, 60)
        thread.join(timeout=30)
    finally:
        os.close(reader)
    assert (code, said(err)) == (0, [])
    assert b"".join(got) == written(option, tmp_path)


def test_a_fifo_that_became_a_file_before_it_was_opened_is_replaced_not_written_over(
    option, tmp_path, monkeypatch
):
    """Checked a FIFO, opened a regular file (someone swapped them between): renamed over as any
    file is."""
    from bptrace.cli import files

    target = tmp_path / WRITERS[option][1]
    os.mkfifo(target)
    checked = files._target
    calls = []

    def swapped_after_the_check(path):
        found = checked(path)
        calls.append(path)
        if len(calls) == 2:  # the check of save's, not writable's before the run
            target.unlink()
            # longer than the run: written over, its end would stay
            target.write_bytes(b"x" * 100_000)
        return found

    monkeypatch.setattr(files, "_target", swapped_after_the_check)
    result = write(option, target)
    assert result.exit_code == 0, result.stderr
    assert target.read_bytes() == written(option, tmp_path)
    assert [p.name for p in tmp_path.iterdir() if p.name != "plain"] == [target.name]


def test_a_sigterm_while_a_file_is_saved_waits_for_the_rename_then_ends_the_run_with_its_message(
    option, tmp_path
):
    """The signal arrives as the file's bytes are written (sent by the process to itself, at that
    moment): the file is whole, and the run still ends with 143 and says so."""
    target = tmp_path / WRITERS[option][1]
    code = f"""
import os, signal, sys
from bptrace.cli import files
from bptrace.cli.app import main
write_all = files._write_all
def signalled(*args):
    os.kill(os.getpid(), signal.SIGTERM)
    write_all(*args)
files._write_all = signalled
sys.argv = ["bptrace", "run", {SIMPLE!r}, *{WRITERS[option][0]!r}, {str(target)!r}]
main()
"""
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"}
    env.pop("FORCE_COLOR", None)
    done = subprocess.run(
        [sys.executable, "-c", code],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        timeout=60,
    )
    assert (done.returncode, said(done.stderr)) == (143, ["bptrace: stopped by SIGTERM"])
    assert target.read_bytes() == written(option, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, "plain"])
