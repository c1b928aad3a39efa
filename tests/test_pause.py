"""`bptrace run --pause`: a live step-through, driven through a pseudo-terminal as a lecturer
would."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from bptrace.cli.app import app

pytestmark = pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX")


class Lecture:
    """bptrace running on a pseudo-terminal of 80×40: press keys, read what the screen gained."""

    def __init__(self, *args: str) -> None:
        try:
            self.master, slave = pty.openpty()
        except OSError as error:  # a machine without pseudo-terminals cannot run these tests
            pytest.skip(f"no pseudo-terminal: {error}")
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 80, 0, 0))
        env = {**os.environ, "TERM": "xterm", "NO_COLOR": "1", "COLUMNS": "80"}
        env.pop("FORCE_COLOR", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bptrace", "run", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=ROOT,
            close_fds=True,
            # Its own session with the pseudo-terminal as controlling terminal, so Ctrl-C sends
            # SIGINT.
            start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
        os.close(slave)
        self.screen = ""

    def until(self, text: str, timeout: float = 20) -> str:
        """Read until `text` has appeared; return everything read since the last call."""
        start, end = len(self.screen), time.monotonic() + timeout
        while text not in self.screen[start:] and time.monotonic() < end:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    self.screen += os.read(self.master, 65536).decode("utf-8", "replace")
                except OSError:
                    break
        assert text in self.screen[start:], (
            f"{text!r} never appeared; screen ends with {self.screen[-500:]!r}"
        )
        return self.screen[start:]

    def settle(self) -> str:
        """Read what arrives within a moment: to show that nothing more came without a key."""
        start = len(self.screen)
        while select.select([self.master], [], [], 0.3)[0]:
            try:
                self.screen += os.read(self.master, 65536).decode("utf-8", "replace")
            except OSError:
                break
        return self.screen[start:]

    def press(self, key: str) -> None:
        os.write(self.master, key.encode())

    def close(self) -> int:
        try:
            return self.process.wait(timeout=20)
        finally:
            os.close(self.master)


def test_each_piece_waits_for_a_key_and_stays_on_screen():
    lecture = Lecture("networks/simple.bp", "--pause")
    lecture.until("Forward pass")
    assert "2·0.5 + 0.1" not in lecture.settle()  # nothing revealed before the first key
    lecture.press("\r")
    assert "2·0.5 + 0.1" in lecture.until("1.1")  # h = x·w₁ + b₁ = 1.1, the handout's first node
    assert "1.1·(−0.3)" not in lecture.settle()
    lecture.press(" ")  # space advances too
    lecture.until("−0.13")
    lecture.press("\x1b[A")  # other keys do nothing: ↑ here
    lecture.press("x")
    assert "0.6385" not in lecture.settle()
    lecture.press("\r")
    lecture.until("0.6385")
    # A local derivative: its formula first, then on the next key the same row again with its value.
    lecture.press("\r")
    shown = lecture.until("−(y − g)")
    assert "−1.13" not in shown
    lecture.press("\r")
    assert "\x1b[1A" in lecture.until("−1.13")  # the cursor goes back up to fill in the number
    lecture.press("q")
    lecture.until("Stopped (q).")
    assert lecture.close() == 0


def test_a_whole_run_ends_with_the_summary():
    lecture = Lecture("networks/simple.bp", "--pause", "--show", "updates")
    lecture.until("Update")
    for key in ("\r", "\x1b[C", "\x1b[6~", "\x1b[B"):  # Enter, →, Page Down, ↓: what clickers send
        lecture.press(key)
    lecture.until("0.313")  # b₂ = 0.2 + 0.1·1.13, the handout's last update
    lecture.press("\r")
    lecture.until("Summary")
    assert lecture.close() == 0


def test_ctrl_c_stops_at_once_and_leaves_the_terminal_as_it_was():
    lecture = Lecture("networks/simple.bp", "--pause")
    before = termios.tcgetattr(lecture.master)[3]
    lecture.until("Forward pass")
    # keys arrive one by one meanwhile
    assert not termios.tcgetattr(lecture.master)[3] & termios.ICANON
    lecture.press("\x03")
    lecture.until("bptrace: interrupted")
    assert termios.tcgetattr(lecture.master)[3] == before  # line editing and echo are back
    assert lecture.close() == 130


@pytest.mark.parametrize(
    "sig, code, says",
    [(signal.SIGTERM, 143, "stopped by SIGTERM"), (signal.SIGHUP, 129, "stopped by SIGHUP")],
)
def test_sigterm_and_sighup_leave_the_terminal_as_it_was(sig, code, says):
    # `kill`, or the ssh session closing, while the lecture waits for a key: echo and line editing
    # come back.
    lecture = Lecture("networks/simple.bp", "--pause")
    before = termios.tcgetattr(lecture.master)[3]
    lecture.until("Forward pass")
    lecture.process.send_signal(sig)
    lecture.until(f"bptrace: {says}")
    assert termios.tcgetattr(lecture.master)[3] == before
    assert lecture.close() == code


def test_pause_refuses_politely_without_a_terminal():
    result = CliRunner().invoke(
        app, ["run", str(ROOT / "networks/simple.bp"), "--pause"], input="\n"
    )
    assert result.exit_code == 2
    assert "stdin is not one" in " ".join(result.stderr.replace("│", "").split())


def test_a_long_quiet_run_shows_a_progress_bar_on_a_terminal():
    lecture = Lecture("networks/xor.bp", "--steps", "3000", "--quiet")
    lecture.until("training")  # rich's bar, on stderr, cleared when the run ends
    lecture.until("Summary")
    assert lecture.close() == 0


def test_no_progress_bar_when_stderr_is_not_a_terminal():
    result = CliRunner().invoke(
        app, ["run", str(ROOT / "networks/xor.bp"), "--steps", "300", "--quiet"]
    )
    assert result.exit_code == 0 and result.stderr == ""


def test_a_signal_that_comes_before_the_wait_for_a_key_still_stops_it(monkeypatch):
    # The race of a busy machine: Ctrl-C lands just before os.read() is called. Its C handler runs
    # at once, but the Python handler that stops the run only after read() returns: at the next key.
    # The same happens when another thread takes the signal while the main thread reads, as here,
    # which makes the race certain: the main thread blocks SIGTERM, a helper thread receives it.
    import threading

    from bptrace.cli.process import Interrupted, Interrupts
    from bptrace.views.terminal.keys import Keys

    master, slave = pty.openpty()
    monkeypatch.setattr(sys, "stdin", os.fdopen(slave, "rb", buffering=0))
    go, done, rescued = threading.Event(), threading.Event(), threading.Event()

    def helper() -> None:
        go.wait()
        time.sleep(0.5)  # the main thread is waiting for a key by now
        os.kill(os.getpid(), signal.SIGTERM)
        if not done.wait(10):  # a key, in case the wait did not stop: it then ends on it
            rescued.set()
            os.write(master, b"\r")

    thread = threading.Thread(target=helper, daemon=True)
    thread.start()
    try:
        with Interrupts(), Keys() as keys:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
            go.set()
            with pytest.raises(Interrupted):
                keys.wait()
            done.set()
        thread.join()
        assert not rescued.is_set(), "the wait for a key ended on the next key, not on the signal"
    finally:
        done.set()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        os.close(master)
