"""Read a lecturer's key presses from the terminal, one at a time, and name what each asks for.

Enter, space, → ↓ and Page Down (what clickers send) ask for the next piece; ← Backspace and Page Up
for the screen before; Tab for the rest of the table, End for the rest of the step; g starts a step
number; ? asks for the keys; q or Esc alone quits. Other keys ask for nothing.
"""

from __future__ import annotations

import os
import sys

# What each key asks for: its bytes on a terminal (xterm's and the application mode's sequences),
# and on Windows (msvcrt's two-character codes).
NEXT = ("\r", "\n", " ", "\x1b[C", "\x1b[B", "\x1b[6~", "\x1bOC", "\x1bOB")
NEXT += ("\x00M", "\x00P", "\xe0M", "\xe0P", "\x00Q", "\xe0Q")
BACK = ("\x7f", "\x08", "\x1b[D", "\x1bOD", "\x1b[5~", "\x00K", "\xe0K", "\x00I", "\xe0I")
END = ("\x1b[F", "\x1bOF", "\x1b[4~", "\x1b[8~", "\x00O", "\xe0O")
ACTIONS = {
    **dict.fromkeys(NEXT, "next"),
    **dict.fromkeys(BACK, "back"),
    "\t": "table",
    **dict.fromkeys(END, "step"),
    "g": "goto",
    "G": "goto",
    "?": "help",
}
QUIT = ("q", "Q", "\x1b")  # q, or Esc alone
ERASE = ("\x7f", "\x08")  # Backspace, in a step number being typed


class Quit(Exception):
    """The lecturer pressed q."""


class Keys:
    """Read single key presses from the terminal on stdin, without echo, restoring it afterwards.

    A signal must stop a wait for a key at once. Python runs its handler between two operations, so
    a signal arriving just before os.read() would wait inside it for the next key; here a key is
    read only once select() says one is there, and select() also watches the pipe that the C-level
    handler writes each signal to (signal.set_wakeup_fd), which wakes it whenever the signal came.
    """

    def __enter__(self) -> Keys:
        self.fd = sys.stdin.fileno()
        self.saved = None
        self.wakeup = None
        if os.name == "posix":
            import termios
            import tty

            self.saved = termios.tcgetattr(self.fd)
            try:
                tty.setcbreak(self.fd)  # keys arrive one by one; Ctrl-C still interrupts
                self._watch_signals()
            except BaseException:  # a signal right now: __exit__ will not be called
                self.__exit__()
                raise
        return self

    def _watch_signals(self) -> None:
        import signal

        read, write = os.pipe()
        os.set_blocking(read, False)
        os.set_blocking(write, False)
        try:
            self.previous_wakeup = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        except ValueError:  # not the main thread, where no handler runs anyway
            os.close(read)
            os.close(write)
            return
        self.wakeup = (read, write)

    def __exit__(self, *exc) -> None:
        if self.wakeup is not None:
            import signal

            signal.set_wakeup_fd(self.previous_wakeup)
            for fd in self.wakeup:
                os.close(fd)
            self.wakeup = None
        if self.saved is not None:
            import termios

            try:
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)
            except termios.error:  # the terminal is gone (SIGHUP): nothing left to restore
                pass
            self.saved = None

    def wait(self) -> None:
        """Return on Enter, space, → ↓ or Page Down (as clickers send); raise Quit on q or Esc."""
        while self.action() != "next":
            pass

    def action(self) -> str | None:
        """Return what the next key asks for (see ACTIONS), None for a key that asks for nothing;
        raise Quit on q or Esc, or when stdin ends."""
        key = self.key()
        if key in QUIT:
            raise Quit
        return ACTIONS.get(key)

    def key(self) -> str:
        """Return the next key as the terminal sends it; raise Quit when stdin ends."""
        key = self._key()
        if not key:
            raise Quit
        return key

    def _key(self) -> str:
        if os.name != "posix":  # pragma: no cover - Windows
            import msvcrt

            key = msvcrt.getwch()
            return key + msvcrt.getwch() if key in ("\x00", "\xe0") else key
        import select

        watched = [self.fd] if self.wakeup is None else [self.fd, self.wakeup[0]]
        while self.fd not in select.select(watched, [], [])[0]:
            os.read(self.wakeup[0], 64)  # a signal's byte: its handler runs next and stops the run
        key = os.read(self.fd, 1).decode("utf-8", "replace")
        if key == "\x03":  # Ctrl-C as a byte: the terminal sends no SIGINT (stty -isig)
            raise KeyboardInterrupt
        if key == "\x1b":  # Esc alone, or the start of an arrow key's sequence
            while select.select([self.fd], [], [], 0.05)[0]:
                key += os.read(self.fd, 1).decode("utf-8", "replace")
                if key[-1].isalpha() or key[-1] == "~":
                    break
        return key
