"""`bptrace run --pause`: a live step-through, driven through a pseudo-terminal as a lecturer
would."""

from __future__ import annotations

import codecs
import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest
from conftest import ROOT
from rich.cells import cell_len
from typer.testing import CliRunner

from bptrace.cli.app import app

pytestmark = pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX")


_TOKEN = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])|\x1b[^\[]|[\x00-\x1f]|[^\x00-\x1f\x1b]+")


class Screen:
    """A terminal's cells, as far as bptrace writes to them: text, newlines, the cursor moved up, to
    a column or home, the screen or a line erased; colours ignored. It notes every line written
    past the right edge (a terminal would wrap it)."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.cells = [[" "] * width for _ in range(height)]
        self.row = self.col = 0
        self.overflow: list[str] = []

    def feed(self, text: str) -> None:
        for match in _TOKEN.finditer(text):
            token, code = match.group(0), match.group(2)
            if code:
                n = int(match.group(1) or 1) if match.group(1).isdigit() else 1
                if code == "A":
                    self.row = max(0, self.row - n)
                elif code == "G":
                    self.col = n - 1
                elif code == "H":
                    self.row = self.col = 0
                elif code == "J":
                    self.cells = [[" "] * self.width for _ in range(self.height)]
                elif code == "K":
                    self.cells[self.row] = [" "] * self.width
            elif token == "\r":
                self.col = 0
            elif token == "\n":
                self._down()
            elif token[0] >= " ":
                for char in token:
                    wide = cell_len(char)
                    if self.col + wide > self.width:
                        self.overflow.append(self.lines()[self.row])
                        self.col = 0
                        self._down()
                    self.cells[self.row][self.col : self.col + wide] = [char] + [""] * (wide - 1)
                    self.col += wide

    def _down(self) -> None:
        if self.row == self.height - 1:
            self.cells = [*self.cells[1:], [" "] * self.width]
        else:
            self.row += 1

    def lines(self) -> list[str]:
        return ["".join(row).rstrip() for row in self.cells]

    def __str__(self) -> str:
        return "\n".join(self.lines()).rstrip("\n")


class Lecture:
    """bptrace running on a pseudo-terminal of 80×40 (or another size): press keys, read what the
    screen gained."""

    def __init__(self, *args: str, width: int = 80, height: int = 40) -> None:
        try:
            self.master, slave = pty.openpty()
        except OSError as error:  # a machine without pseudo-terminals cannot run these tests
            pytest.skip(f"no pseudo-terminal: {error}")
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
        env = {**os.environ, "TERM": "xterm", "NO_COLOR": "1", "COLUMNS": str(width)}
        env.pop("LINES", None)
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
        self.screen = ""  # everything read, escape sequences and all
        self.terminal = Screen(width, height)  # what the terminal shows now
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")  # a read may end mid-glyph

    def until(self, text: str, timeout: float = 20) -> str:
        """Read until `text` has appeared; return everything read since the last call."""
        start, end = len(self.screen), time.monotonic() + timeout
        while text not in self.screen[start:] and time.monotonic() < end:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    self._read()
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
                self._read()
            except OSError:
                break
        return self.screen[start:]

    def _read(self) -> None:
        text = self.decoder.decode(os.read(self.master, 65536))
        self.screen += text
        self.terminal.feed(text)

    def shows(self, key: str, text: str) -> str:
        """Press `key`, wait until `text` has come and nothing more comes; return the screen."""
        self.press(key)
        self.until(text)
        self.settle()
        return str(self.terminal)

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


# Presenter controls. simple.bp by hand: h = x·w₁ + b₁ = 2·0.5 + 0.1 = 1.1, g = h·w₂ + b₂ =
# 1.1·(−0.3) + 0.2 = −0.13, L = ½(y − g)² = ½·1.13² = 0.638 45, ∂L/∂g = −(y − g) = −1.13, and with
# α = 0.1: b₂ = 0.2 − 0.1·(−1.13) = 0.313.
BACK, TAB, END, PAGE_UP, BACKSPACE = "\x1b[D", "\t", "\x1b[F", "\x1b[5~", "\x7f"


def test_back_draws_each_screen_again_as_it_was():
    lecture = Lecture("networks/simple.bp", "--pause")
    lecture.until("Forward pass")
    lecture.settle()
    opening = str(lecture.terminal)
    assert "1.1" not in opening
    one = lecture.shows("\r", "1.1")
    two = lecture.shows("\r", "−0.13")
    three = lecture.shows("\r", "0.6385")
    formula = lecture.shows("\r", "−(y − g)")
    assert "−1.13" not in formula
    lecture.shows("\r", "−1.13")
    # ←, Backspace, Page Up: each draws the screen before, the cleared screen filled anew
    assert lecture.shows(BACK, "\x1b[2J") == formula  # the number blank again
    assert lecture.shows(BACKSPACE, "\x1b[2J") == three
    assert lecture.shows(PAGE_UP, "\x1b[2J") == two
    assert lecture.shows(BACK, "\x1b[2J") == one
    back = lecture.shows(BACK, "\x1b[2J")
    assert "1.1" not in back and "Forward pass" in back
    assert "nothing before it" in lecture.shows(BACK, "nothing before it")
    # and forward again, a piece at a time, from there
    assert lecture.shows("\r", "1.1").splitlines()[-1].split() == [
        "h",
        "x·w₁",
        "+",
        "b₁",
        "2·0.5",
        "+",
        "0.1",
        "1.1",
    ]
    lecture.press("q")
    lecture.until("Stopped (q).")
    assert lecture.close() == 0


def test_tab_reveals_the_rest_of_the_table_and_end_the_rest_of_the_step():
    lecture = Lecture("networks/simple.bp", "--pause", "--steps", "2")
    lecture.until("Forward pass")
    lecture.press("\r")
    lecture.until("1.1")
    screen = lecture.shows(TAB, "Local derivatives")
    assert "−0.13" in screen and "0.6385" in screen  # the rest of the forward pass
    assert "−(y − g)" not in screen  # and of the next table its title and header alone
    screen = lecture.shows(TAB, "Chain rule")
    assert "−1.13" in screen and "Chain rule" in screen.splitlines()[-3]  # no chain yet
    screen = lecture.shows(END, "Step 2")
    assert "0.313" in screen  # the last update of step 1
    assert screen.splitlines()[-3:][0] == "Forward pass"  # step 2: its first title and header alone
    screen = lecture.shows(BACK, "\x1b[2J")
    assert "Step 2" not in screen and "0.313" not in screen
    lecture.press("q")
    lecture.until("Stopped (q).")
    assert lecture.close() == 0


def simple_after(steps: int) -> tuple[float, float]:
    """Return simple.bp's h and g after `steps` steps of gradient descent, worked out by hand."""
    x, y, w1, b1, w2, b2, lr = 2.0, 1.0, 0.5, 0.1, -0.3, 0.2, 0.1
    for _ in range(steps):
        h = x * w1 + b1
        g = h * w2 + b2
        dg = g - y  # ∂L/∂g of ½(y − g)²
        dh = dg * w2
        w1, b1, w2, b2 = w1 - lr * dh * x, b1 - lr * dh, w2 - lr * dg * h, b2 - lr * dg
    h = x * w1 + b1
    return h, h * w2 + b2


def test_g_goes_to_a_step_computing_those_before_it():
    h, g = simple_after(2)  # step 3's forward pass
    assert f"{h:.4g}" == "0.8558"
    lecture = Lecture("networks/simple.bp", "--pause", "--steps", "3")
    lecture.until("Forward pass")
    for key in "g3":
        lecture.press(key)
    screen = lecture.shows("\r", "Step 3")
    assert "Step 1" not in screen and "Forward pass" in screen  # a screen of its own
    screen = lecture.shows("\r", f"{h:.4g}")
    assert f"{h:.4g}" in screen.splitlines()[-1]
    screen = lecture.shows("\r", f"{g:.4g}")
    # back to where the lecture was before g
    screen = lecture.shows(BACK, "\x1b[2J")
    assert "Step 3" in screen and f"{g:.4g}" not in screen
    screen = lecture.shows(BACK, "\x1b[2J")
    assert "Step 3" in screen and f"{h:.4g}" not in screen
    screen = lecture.shows(BACK, "\x1b[2J")
    assert "Step 3" not in screen and "Step 1" in screen
    lecture.press("q")
    lecture.until("Stopped (q).")
    assert lecture.close() == 0


@pytest.mark.parametrize(
    "typed, says",
    [
        ("9", "There is no step 9: this run has steps 1 to 3."),
        ("0", "There is no step 0: this run has steps 1 to 3."),
        ("x2", "'x2' is not a step number: this run has steps 1 to 3."),
        ("", "No step number typed: this run has steps 1 to 3."),
    ],
)
def test_g_with_a_bad_number_says_so_on_the_status_line(typed, says):
    lecture = Lecture("networks/simple.bp", "--pause", "--steps", "3")
    lecture.until("Forward pass")
    for key in "g" + typed:
        lecture.press(key)
    screen = lecture.shows("\r", says)
    assert screen.splitlines()[-1] == says
    assert "Traceback" not in lecture.screen
    screen = lecture.shows("\r", "1.1")  # the lecture goes on, the message wiped
    assert says not in screen
    lecture.press("q")
    lecture.until("Stopped (q).")
    assert lecture.close() == 0


def test_g_takes_backspace_and_esc():
    lecture = Lecture("networks/simple.bp", "--pause", "--steps", "3")
    lecture.until("Forward pass")
    for key in ("g", "9", BACKSPACE, "2"):
        lecture.press(key)
    lecture.until("Enter: 2")
    screen = lecture.shows("\r", "Step 2")
    assert "Step 1" not in screen
    lecture.press("g")
    lecture.until("Go to step")
    lecture.press("\x1b")  # Esc: never mind, and not quit
    lecture.settle()
    assert "Go to step" not in str(lecture.terminal)
    h, _ = simple_after(1)
    assert "Go to step" not in lecture.shows("\r", f"{h:.4g}")  # step 2's h
    lecture.press("q")
    lecture.until("Stopped (q).")
    assert lecture.close() == 0


def test_question_mark_shows_the_keys_until_the_next_piece():
    lecture = Lecture("networks/simple.bp", "--pause", width=120)
    lecture.until("Forward pass")
    screen = lecture.shows("?", "q: quit")
    assert "Tab: rest of table" in screen.splitlines()[-1]
    assert "End: rest of step" in screen.splitlines()[-1]
    screen = lecture.shows("\r", "1.1")
    assert "Tab" not in screen and screen.splitlines()[-1].startswith("h ")
    lecture.press("q")
    lecture.until("Stopped (q).")
    assert lecture.close() == 0


def test_ctrl_c_while_typing_a_step_leaves_the_terminal_as_it_was():
    lecture = Lecture("networks/simple.bp", "--pause", "--steps", "3")
    before = termios.tcgetattr(lecture.master)[3]
    lecture.until("Forward pass")
    lecture.press("g")
    lecture.until("Go to step")
    lecture.press("\x03")
    lecture.until("bptrace: interrupted")
    assert termios.tcgetattr(lecture.master)[3] == before
    assert lecture.close() == 130


# two_layer.bp's step, row by row: 6 forward nodes; 14 local derivatives, each its formula and then
# its number: 28; 9 params' chains (one path each); 9 updates: 6 + 28 + 9 + 9 = 52 keys. A table
# at a time: forward, partials, chains, updates: 4. A step at a time: 1. One more shows the summary.
@pytest.mark.parametrize("by, keys", [("row", 52), ("table", 4), ("step", 1)])
def test_by_sets_the_keys_a_step_takes(by, keys):
    lecture = Lecture("networks/two_layer.bp", "--pause", "--by", by, width=100)
    lecture.until("Forward pass")
    for _ in range(keys - 1):
        lecture.press("\r")
    lecture.settle()
    assert "0.5976" not in lecture.screen  # b₂'s update: 0.2 − 0.5·(−0.7952) = 0.5976
    screen = lecture.shows("\r", "0.5976")
    assert "Summary" not in screen
    lecture.shows("\r", "Summary")
    assert lecture.close() == 0


def test_by_table_reveals_a_table_at_a_key():
    lecture = Lecture("networks/simple.bp", "--pause", "--by", "table")
    lecture.until("Forward pass")
    screen = lecture.shows("\r", "Local derivatives")
    assert "0.6385" in screen and "−(y − g)" not in screen
    screen = lecture.shows("\r", "Chain rule")
    assert "−1.13" in screen  # the number at once, no formula first
    lecture.press("q")
    lecture.until("Stopped (q).")
    assert lecture.close() == 0


def test_compact_fits_each_table_of_two_layer_on_100_by_30():
    lecture = Lecture(
        "networks/two_layer.bp", "--pause", "--compact", "--by", "table", width=100, height=30
    )
    lecture.until("Forward pass")
    # The rows by hand: 6 nodes; 14 edges (3 into each z, 1 into each a, 5 into a₂, 1 into L); 9
    # params, each a chain of one path, and an update.
    rows = {"Forward pass": 6, "Local derivatives": 14, "Chain rule": 9, "Update": 9}
    for title, last in zip(rows, ("0.3162", "−1", "−0.7952", "0.5976")):
        screen = lecture.shows("\r", last).splitlines()
        if screen[0].startswith("Enter or space"):  # the lecture's first screen: the keys above
            screen = screen[1:]
        assert "Step 1" in screen[0]  # the table's screen from the step's heading on: it all fits
        titles = [line for line in screen if line.startswith(tuple(rows))]
        assert len(titles) == 1 and titles[0].startswith(title)  # one table a screen
        body = screen[[set(line) == {"─"} for line in screen].index(True) + 1 :]  # under the header
        assert len([line for line in body if not line.startswith(" ")]) == rows[title]
    assert lecture.terminal.overflow == []  # no line wider than 100 columns
    # the numbers under each formula, not in a column of their own
    assert "= (−0.7952) · (0.5) · (0.2486) · (0.5)" in lecture.screen
    assert "with numbers" not in lecture.screen
    lecture.shows("\r", "Summary")
    assert lecture.close() == 0


def test_compact_row_by_row_begins_each_table_on_a_clear_screen():
    lecture = Lecture("networks/two_layer.bp", "--pause", "--compact", width=100, height=30)
    lecture.until("Forward pass")
    screen = lecture.shows(TAB, "0.3162")  # the forward pass whole, alone
    assert "Local derivatives" not in screen
    screen = lecture.shows("\r", "−(y − a₂)")  # a new screen: the first derivative's formula
    assert "Forward pass" not in screen and "Local derivatives" in screen
    assert "−0.7952" not in screen
    screen = lecture.shows(BACK, "\x1b[2J")
    assert "0.3162" in screen and "Local derivatives" not in screen
    lecture.press("q")
    lecture.until("Stopped (q).")
    assert lecture.close() == 0


def test_export_with_pause_holds_what_was_revealed_and_no_more(tmp_path):
    saved = tmp_path / "lecture.html"
    lecture = Lecture("networks/simple.bp", "--pause", "--export", str(saved))
    lecture.until("Forward pass")
    for shown in ("1.1", "−0.13", "0.6385", "−(y − g)"):
        lecture.shows("\r", shown)
    lecture.shows(BACK, "\x1b[2J")  # going back hides nothing already revealed
    lecture.press("q")
    lecture.until("Stopped (q).")
    assert lecture.close() == 0
    html = saved.read_text("utf-8")
    for shown in ("1.1", "−0.13", "0.6385", "Local derivatives", "−(y − g)"):
        assert shown in html
    for never in ("−1.13", "Chain rule", "0.313", "Summary"):  # ∂L/∂g's number never came
        assert never not in html


def test_export_with_pause_of_a_whole_run(tmp_path):
    saved = tmp_path / "lecture.svg"
    lecture = Lecture("networks/simple.bp", "--pause", "--by", "step", "--export", str(saved))
    lecture.until("Forward pass")
    lecture.shows("\r", "0.313")
    lecture.shows("\r", "Summary")
    assert lecture.close() == 0
    svg = saved.read_text("utf-8")
    assert svg.startswith("<svg") and "0.313" in svg and "Summary" in svg


@pytest.mark.parametrize(
    "args, says",
    [
        (["--by", "table"], "use it with --pause"),
        (["--compact"], "use it with --pause"),
        (["--by", "slide", "--pause"], "unknown piece 'slide'; choose from row, table, step"),
        (["--compact", "--by", "step", "--pause"], "--by step reveals a whole step at once"),
        (["--pause", "--json"], "cannot be used with --format or --json"),
    ],
)
def test_pause_options_without_pause_or_together_are_usage_errors(args, says):
    result = CliRunner().invoke(app, ["run", str(ROOT / "networks/simple.bp"), *args])
    assert result.exit_code == 2
    assert says in " ".join(result.stderr.replace("│", "").split())


def test_help_names_the_presenter_options():
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["run", "--help"])
    text = " ".join(result.stdout.replace("│", "").split())
    assert "--by" in text and "--compact" in text and "Tab the rest of the table" in text


def test_a_numeric_fault_ahead_shows_the_steps_before_it_then_exits_5(tmp_path):
    # w: 3 → 3 − 2·4·3³ = −213 → … until w⁴ overflows at step 6 (tests/test_cli.py's network).
    bad = tmp_path / "diverge.bp"
    bad.write_text("param w = 3\nset lr = 2\nloss L = w^4\n")
    lecture = Lecture(str(bad), "--pause", "--steps", "20", "--by", "step", "--show", "updates")
    lecture.until("Update")
    assert "−213" in lecture.shows("\r", "Step 2")
    for _ in range(4):
        lecture.press("\r")
    lecture.until("step 6: node L = w^4: overflow")
    assert "Step 5" in lecture.screen and "Traceback" not in lecture.screen
    assert lecture.close() == 5


@pytest.mark.parametrize(
    "sent, asks",
    [
        ("\r", "next"),
        ("\x1b[6~", "next"),  # Page Down, as clickers send
        ("\x1b[D", "back"),
        ("\x7f", "back"),  # Backspace
        ("\x1b[5~", "back"),  # Page Up
        ("\t", "table"),
        ("\x1b[F", "step"),  # End, as xterm sends it
        ("\x1b[4~", "step"),  # End, as the Linux console and tmux send it
        ("g", "goto"),
        ("?", "help"),
        ("\x1b[A", None),  # ↑ asks for nothing
        ("x", None),
    ],
)
def test_each_key_asks_for_what_the_help_says(sent, asks):
    from bptrace.views.terminal.keys import Keys

    class Sent(Keys):
        def _key(self) -> str:
            return sent

    assert Sent().action() == asks
