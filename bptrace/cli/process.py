"""The process's edge: the standard streams, the signals that stop a run, and its tuning for speed.

Everything here touches the process as a whole; the core modules never do. No typer: the CLI
turns what this raises into exit codes.
"""

from __future__ import annotations

import sys
from typing import NamedTuple

from bptrace.errors import Span


def write_utf8(text: str) -> None:
    """Write `text` to stdout as UTF-8, whatever the locale, and flush it."""
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.buffer.flush()


def stderr():
    """Return a console writing to stderr, unhighlighted and never wrapped."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


class Said(NamedTuple):
    """What a diagnostic says about a place in a file (as a warning or a kink record does)."""

    span: Span
    message: str
    hint: str | None = None


def diagnose(err, filename: str, source: str, said: Said, severity: str = "error") -> None:
    """Print on `err` what `said` says, quoting the line of `source` it points at."""
    from rich.text import Text

    from bptrace.language.diagnostics import format_diagnostic

    line = format_diagnostic(filename, source, said.span, said.message, said.hint, severity)
    text = Text(line)
    colour = "bold red" if severity == "error" else "bold magenta"
    text.highlight_words([f"{severity}:"], colour)
    err.print(text)


def laid_out(out, renderable):
    """Return what printing `renderable` on `out` writes (colours as escape codes), to write later.

    Laying out the tables of a large network with --all takes long, and a signal must stop it at
    once; writing them must not be cut in half (see show_whole). A recording console (--export)
    lays them out as it prints: `renderable` comes back as it is.
    """
    from rich.console import Console

    if not isinstance(out, Console):
        return renderable
    with out.capture() as captured:
        out.print(renderable, crop=False)  # a line too wide stays whole: never a cut number
    return captured.get()


def write_laid_out(out, laid) -> None:
    """Write what `laid_out` returned."""
    if isinstance(laid, str):
        out.file.write(laid)
        out.file.flush()
    else:
        out.print(laid)


def show_whole(out, renderable, interrupts: Interrupts) -> None:
    """Print `renderable`: laid out where a signal stops the run at once, written whole."""
    laid = laid_out(out, renderable)
    with interrupts.writing():
        write_laid_out(out, laid)


_tuned = False  # set by tune(), from main: a library caller's process is never changed


def tune() -> None:
    """Tune this process, the command line's own, for runs: each graph built is then settled."""
    global _tuned
    _tuned = True


def settled(graph) -> None:
    """Settle the process for a run of `graph` if main tuned it; else change nothing."""
    if _tuned:
        settle(graph.samples is not None)


def settle(samples: bool = False) -> None:
    """Set the process for a run: the graph frozen, young objects collected rarely, and, with
    samples, the memory of freed arrays kept for the next step.

    Frozen, the graph is never walked again while the run goes on. A step's records are acyclic and
    reference counting frees them; collected every 700 allocations, as by default, the young ones
    of a large step are walked over and over (docs/performance.md). A cycle made by mistake is
    still collected, after 100,000 allocations.
    """
    import gc

    gc.freeze()
    gc.set_threshold(100_000, 10, 10)
    if samples:
        keep_freed_memory()


def keep_freed_memory() -> None:
    """Have glibc's malloc keep the memory of freed blocks for later ones, not give it back.

    A step with samples makes an array per value and partial, and frees the previous step's; by
    default glibc hands the freed memory at the top of the heap back to the system, and the next
    step page-faults all of it in again. Kept (trimmed only past 1 GB free, and blocks up to 32 MB
    from the heap, not their own mappings), the next step reuses it; peak memory is the same.
    Elsewhere than glibc, nothing.
    """
    import os

    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError, ValueError):  # not glibc: no such name, or no such library
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
    mallopt(m_trim_threshold, 1 << 30)
    mallopt(m_mmap_threshold, 32 << 20)  # the most glibc allows on a 64-bit system


# Ctrl-C; `timeout` and `kill`; a closed terminal or ssh session
STOPS = ("SIGINT", "SIGTERM", "SIGHUP")


def _stops() -> tuple:
    import signal

    return tuple(getattr(signal, name) for name in STOPS if hasattr(signal, name))


class signals_held:
    """Hold SIGINT, SIGTERM and SIGHUP while something short is written whole (a JSON line, the
    summary of a stopped run, a file renamed into place); they arrive the moment it is done.

    The previous signal mask is restored afterwards, so signals a parent blocked stay blocked. The
    price: while a reader has stopped reading, Ctrl-C waits for it (`kill -9` does not).
    """

    def __enter__(self) -> None:
        import signal

        self.previous = None
        if hasattr(signal, "pthread_sigmask"):
            self.previous = signal.pthread_sigmask(signal.SIG_BLOCK, set(_stops()))

    def __exit__(self, *exc) -> None:
        import signal

        if self.previous is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, self.previous)


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal; it exits with 128 + the signal's number (130: Ctrl-C)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @property
    def message(self) -> str:
        import signal

        if self.signum == signal.SIGINT:
            return "bptrace: interrupted"
        return f"bptrace: stopped by {signal.Signals(self.signum).name}"


class Interrupts:
    """Stop a run at once on Ctrl-C, SIGTERM or SIGHUP, but never halfway through writing output.

    A signal raises Interrupted wherever the run is, between two Python operations: a step of a big
    network may take minutes, and waiting for its end made `timeout` wait as long. While output is
    written (`writing()`) it waits for the write to end; a second signal stops even that at once.
    The signal is remembered too, and `check()` raises it again, in case code that swallows
    exceptions (a finaliser's) caught it. A signal that the parent ignores stays ignored.
    """

    def __enter__(self) -> Interrupts:
        import signal

        self.signum: int | None = None
        self.writes = 0
        self.previous = {}
        for sig in _stops():
            if signal.getsignal(sig) is not signal.SIG_IGN:
                try:
                    self.previous[sig] = signal.signal(sig, self._handle)
                except ValueError:  # not the main thread: leave Python's default
                    pass
        return self

    def _handle(self, signum, frame) -> None:
        first = self.signum is None
        if first:
            self.signum = signum
        if not (first and self.writes):
            raise Interrupted(self.signum)

    def writing(self) -> _Writing:
        """Return a context in which a signal waits until the output written in it is out."""
        return _Writing(self)

    def check(self) -> None:
        """Raise Interrupted if a signal came while it waited."""
        if self.signum is not None:
            raise Interrupted(self.signum)

    def __exit__(self, *exc) -> None:
        import signal

        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


class _Writing:
    """While output is written, a first signal waits; it stops the run when the writing is done."""

    __slots__ = ("interrupts",)

    def __init__(self, interrupts: Interrupts) -> None:
        self.interrupts = interrupts

    def __enter__(self) -> None:
        self.interrupts.writes += 1

    def __exit__(self, kind, *exc) -> None:
        self.interrupts.writes -= 1
        if kind is None:  # an exception on its way out already stops the run
            self.interrupts.check()


def tolerant_streams() -> None:
    """Set the standard streams so that neither a terminal that cannot show ∂ or σ, nor a stderr
    closed (`2>&-`) or full, changes how a run ends: a warning that cannot be shown must not cost
    the exit code or the output."""
    # closed: diagnostics go nowhere, and no file bptrace opens takes descriptor 2
    if sys.stderr is None:
        try:
            _to_devnull(2)
            sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
        except OSError:
            pass
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="replace")
            except (ValueError, OSError):
                pass
    if sys.stderr is not None:
        sys.stderr = _Forgiving(sys.stderr)


class _Forgiving:
    """stderr whose writes never fail: when one cannot be written (a full disk), /dev/null's."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._attempt(self._stream.write, text)
        return len(text)

    def flush(self) -> None:
        self._attempt(self._stream.flush)

    def _attempt(self, action, *args) -> None:
        try:
            action(*args)
        except OSError:
            try:  # what is still buffered, flushed at exit, goes nowhere instead of failing again
                _to_devnull(self._stream.fileno())
            except (OSError, ValueError):
                pass

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def silence_stdout() -> None:
    """Send what stdout still holds nowhere: its reader went away, or it cannot be written."""
    try:
        _to_devnull(sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _to_devnull(fd: int) -> None:
    """Point descriptor `fd` at /dev/null, where every write succeeds; OSError if it cannot."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    if devnull != fd:  # a closed `fd` is the lowest free one: /dev/null took its place already
        os.dup2(devnull, fd)
        os.close(devnull)


def notation(out, ascii_math: bool, graph):
    """Return the notation for math on `out`: slide math, or plain text where asked or where Unicode
    cannot show (there, `graph`'s names spelled in ASCII, no two alike)."""
    from dataclasses import replace

    from bptrace.language.printer import ASCII, BP, MATH, ascii_spellings

    if out.encoding.lower().startswith("utf"):
        return BP if ascii_math else MATH
    return replace(
        ASCII,
        spelled=ascii_spellings(
            [leaf.name for leaf in graph.leaves] + [node.name for node in graph.nodes]
        ),
    )
