"""The process's edge: read files, write diagnostics, hold signals and survive closed pipes.

Everything here touches the outside world; the core modules never do. No typer: the CLI turns
what this raises into exit codes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bptrace.errors import EXIT_FILE, EXIT_NETWORK, EXIT_USAGE, BptraceError, NetworkError, Span
from bptrace.language.diagnostics import escaped


class FileProblem(BptraceError):
    """A file that cannot be read or written; for one that is not UTF-8, where in it (a diagnostic quotes it)."""

    exit_code = EXIT_FILE

    def __init__(
        self,
        message: str,
        file: str | None = None,
        span: Span | None = None,
        text: str = "",
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message, self.file, self.span, self.text, self.hint = message, file, span, text, hint


class UsageProblem(BptraceError):
    """A command-line argument that does not fit the network, such as a param it does not have."""

    exit_code = EXIT_USAGE


MAX_BYTES = (
    256 << 20
)  # the most read of a file: 80 times a 100,000-node network (3 MB), 6 times 1M samples (40 MB)
_CHUNK = 1 << 20


def read(file: Path, kind: str = ".bp file") -> str:
    """Return the text of a UTF-8 file (a byte order mark left out), or raise FileProblem saying why it cannot be read.

    Read a chunk at a time, and never past MAX_BYTES or past a NUL byte: /dev/zero or an endless pipe is refused,
    not read whole.
    """
    chunks: list[bytes] = []
    size = 0
    try:
        with open(file, "rb") as stream:
            while chunk := stream.read(_CHUNK):
                if size < 2 and (b"".join(chunks) + chunk).startswith(
                    (b"\xff\xfe", b"\xfe\xff")
                ):  # UTF-16's BOM
                    raise FileProblem(
                        f"{shown(file)}: not UTF-8 text: it is UTF-16; save it as UTF-8 "
                        "(in most editors: Save As, then the encoding UTF-8)"
                    )
                if b"\x00" in chunk:
                    raise FileProblem(
                        f"{shown(file)}: a binary file, not a {kind} (it contains NUL bytes)"
                    )
                size += len(chunk)
                if size > MAX_BYTES:
                    raise FileProblem(
                        f"{shown(file)}: more than {MAX_BYTES >> 20} MB: too large for a {kind} "
                        f"(bptrace reads at most {MAX_BYTES >> 20} MB)"
                    )
                chunks.append(chunk)
    except IsADirectoryError:
        raise FileProblem(f"{shown(file)}: is a directory, not a {kind}") from None
    except FileNotFoundError:
        raise FileProblem(f"{shown(file)}: no such file") from None
    except OSError as e:
        raise FileProblem(f"{shown(file)}: cannot read: {e.strerror or e}") from None
    data = b"".join(chunks)
    del chunks
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _not_utf8(file, data, e.start) from None
    if (
        "\r" in text
    ):  # lines ended by a lone CR, as old Mac files are: each ends a line, as \n and \r\n do
        import re

        text = re.sub(r"\r(?!\n)", "\n", text)
    return text.removeprefix("\ufeff")


def _not_utf8(file: Path, data: bytes, at: int) -> FileProblem:
    """Return the problem of a byte that is not UTF-8, pointing at it in the text (the rest decoded as it can be)."""
    line = data.count(b"\n", 0, at) + 1
    col = len(data[data.rfind(b"\n", 0, at) + 1 : at].decode("utf-8", "replace")) + 1
    return FileProblem(
        f"not UTF-8 text: byte 0x{data[at]:02x} is not a character in UTF-8",
        shown(file),
        Span(line, col, line, col + 1),
        data.decode("utf-8", "replace"),  # what the diagnostic quotes: the byte shows as �
        "save the file as UTF-8 (in most editors: Save As, then the encoding UTF-8)",
    )


def shown(path: Path | str) -> str:
    """Return a file name as bptrace writes it anywhere: bytes that are not UTF-8 escaped (\\xff), so every output,
    JSON included, stays UTF-8."""
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def write_utf8(text: str) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.buffer.flush()


def stderr():
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def diagnose(
    err, filename: str, source: str, span, message: str, hint, severity: str = "error"
) -> None:
    from rich.text import Text

    from bptrace.language.diagnostics import format_diagnostic

    text = Text(format_diagnostic(filename, source, span, message, hint, severity))
    colour = "bold red" if severity == "error" else "bold magenta"
    text.highlight_words([f"{severity}:"], colour)
    err.print(text)


def report(error: BptraceError | RecursionError, filename: str, source: str) -> int:
    """Print `error` to stderr as a diagnostic and return its exit code."""
    err = stderr()
    if isinstance(error, RecursionError):
        err.print(
            f"{escaped(filename)}: error: the network is nested too deeply to process", markup=False
        )
        return EXIT_NETWORK
    if (
        isinstance(error, FileProblem) and error.span is not None
    ):  # in a file of its own: the network's, or --data's
        diagnose(err, error.file, error.text, error.span, error.message, error.hint)
    elif isinstance(error, NetworkError) or getattr(error, "span", None) is not None:
        diagnose(err, filename, source, error.span, error.message, getattr(error, "hint", None))
    else:
        err.print(
            f"bptrace: error: {escaped(str(error))}", markup=False
        )  # it may quote a file's name or a cell
    return error.exit_code


def settle(samples: bool = False) -> None:
    """Set the process for a run: the graph frozen, young objects collected rarely, and, with samples,
    the memory of freed arrays kept for the next step.

    Frozen, the graph is never walked again while the run goes on. A step's records are acyclic and
    reference counting frees them; collected every 700 allocations, as by default, the young ones
    of a 100,000-node step were walked so often that the step took a quarter longer, and its JSON
    a third. A cycle made by mistake is still collected, after 100,000 allocations.
    """
    import gc

    gc.freeze()
    gc.set_threshold(100_000, 10, 10)
    if samples:
        keep_freed_memory()


def keep_freed_memory() -> None:
    """Have glibc's malloc keep the memory of freed blocks for later ones, instead of giving it back.

    A step with samples makes an array per value and partial, and frees the previous step's; by
    default glibc hands the freed memory at the top of the heap back to the system, and the next step
    page-faults all of it in again: 6,700 faults a step of a 1,000-node network over 1,000 samples,
    about 40% of its time. Kept (trimmed only past 1 GB free, and blocks up to 32 MB from the heap, not
    their own mappings), the next step reuses it; peak memory is the same. Elsewhere than glibc, nothing.
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


def build(
    source: str, filename: str, seed: int | None = None, shuffles: bool | None = False, then=None
):
    """Return the graph of `source` (params drawn at random with `seed`), its warnings printed to stderr; a `seed`
    that neither draws a param nor shuffles samples (`shuffles`) is warned of (with None, the caller warns: see
    unused_seed). `then`, if given, makes the graph warned of from the one built: with --data's samples."""
    import gc

    from bptrace.engine.graph import build_graph
    from bptrace.language.parser import parse

    # Parsing allocates millions of small acyclic objects that all survive; the cycle collector
    # would walk them again and again (half the time of a 100,000-line network).
    gc.disable()
    try:
        graph = build_graph(parse(source), seed)
    finally:
        gc.enable()
    if then is not None:
        graph = then(graph)
    settle(graph.samples is not None)
    err = stderr()
    for w in graph.warnings[:MAX_WARNINGS]:
        diagnose(err, filename, source, w.span, w.message, w.hint, "warning")
    if (
        len(graph.warnings) > MAX_WARNINGS
    ):  # a generated network may have hundreds: the rest are counted
        more = len(graph.warnings) - MAX_WARNINGS
        err.print(
            f"{escaped(filename)}: warning: and {more:,} more warning{'s' if more > 1 else ''} "
            "(the begin record of --json lists them all)",
            markup=False,
        )
    if shuffles is not None:
        unused_seed(graph, seed, filename, shuffles)
    return graph


def unused_seed(graph, seed: int | None, filename: str, shuffles: bool = False) -> None:
    """Warn on stderr of a --seed that changes nothing: no param drawn at random, and no samples shuffled."""
    if seed is not None and graph.seed is None and not shuffles:
        also = ", and no samples are shuffled (--shuffle)" if graph.samples else ""
        stderr().print(
            f"bptrace: warning: --seed {seed} changes nothing: {escaped(filename)} draws no param at random "
            f"(uniform(...) or normal(...)){also}",
            markup=False,
        )


MAX_WARNINGS = 10  # shown in full on stderr


STOPS = (
    "SIGINT",
    "SIGTERM",
    "SIGHUP",
)  # Ctrl-C; `timeout` and `kill`; a closed terminal or ssh session


def _stops() -> tuple:
    import signal

    return tuple(getattr(signal, name) for name in STOPS if hasattr(signal, name))


class signals_held:
    """Hold SIGINT, SIGTERM and SIGHUP while something short is written whole (a JSON line, the summary of a
    stopped run, a file renamed into place); they arrive the moment it is done.

    The previous signal mask is restored afterwards, so signals a parent blocked stay blocked.
    The price: while a reader has stopped reading, Ctrl-C waits for it (`kill -9` does not).
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
    """The run was stopped by a signal; it exits with 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM)."""

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
    """Stop a run at once on Ctrl-C, SIGTERM or SIGHUP, but never halfway through writing a table or a line.

    A signal raises Interrupted wherever the run is, between two Python operations: a step of a big
    network may take minutes, and waiting for its end made `timeout` wait as long. While output is
    written (`writing()`) it waits for the write to end; a second signal stops even that at once. The
    signal is remembered too, and `check()` raises it again, in case code that swallows exceptions (a
    finaliser's) caught it. A signal that the parent ignores stays ignored.
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
    """Set the standard streams so that neither a terminal that cannot show ∂ or σ, nor a stderr closed (`2>&-`) or
    full, changes how a run ends: a warning that cannot be shown must not cost the exit code or the output."""
    if (
        sys.stderr is None
    ):  # closed: diagnostics go nowhere, and no file bptrace opens takes descriptor 2
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
    """stderr whose writes never fail: one that cannot be written (a full disk) is left for /dev/null, silently."""

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
    """Point descriptor `fd` at /dev/null, where every write succeeds; raise OSError if it cannot be opened."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    if devnull != fd:  # a closed `fd` is the lowest free one: /dev/null took its place already
        os.dup2(devnull, fd)
        os.close(devnull)


def notation(out, ascii_math: bool, graph):
    """Return the notation for math on `out`: slide math, or plain text where asked or where Unicode cannot
    show (there, `graph`'s names spelled in ASCII, no two alike)."""
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
