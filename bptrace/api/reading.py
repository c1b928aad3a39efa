"""Reading a network or its samples: UTF-8 text, with a size limit and a diagnostic for a byte that
is not UTF-8. Shared by `bptrace.load` and every command; it raises, it never prints."""

from __future__ import annotations

import os

from bptrace.errors import EXIT_FILE, BptraceError, Span


class FileError(BptraceError):
    """A file that cannot be read or written; for one that is not UTF-8, where in it (a diagnostic
    quotes it)."""

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

    def __str__(self) -> str:
        if self.span is None or self.file is None:
            return self.message
        from bptrace.language.diagnostics import format_diagnostic

        return format_diagnostic(self.file, self.text, self.span, self.message, self.hint)


MAX_BYTES = 256 << 20  # the most read of a file: far more than any network or samples need
_CHUNK = 1 << 20


def read(file: str | os.PathLike[str], kind: str = ".bp file") -> str:
    """Return the text of a UTF-8 file (a byte order mark left out), or raise FileError saying why
    it cannot be read.

    Read a chunk at a time, and never past MAX_BYTES or past a NUL byte: /dev/zero or an endless
    pipe is refused, not read whole.
    """
    a_path(file, kind)
    chunks: list[bytes] = []
    size = 0
    try:
        with open(file, "rb") as stream:
            while chunk := stream.read(_CHUNK):
                start = b"".join(chunks) + chunk if size < 2 else b""
                if start.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16's byte order mark
                    raise FileError(
                        f"{shown(file)}: not UTF-8 text: it is UTF-16; save it as UTF-8 "
                        "(in most editors: Save As, then the encoding UTF-8)"
                    )
                if b"\x00" in chunk:
                    raise FileError(
                        f"{shown(file)}: a binary file, not a {kind} (it contains NUL bytes)"
                    )
                size += len(chunk)
                if size > MAX_BYTES:
                    raise FileError(
                        f"{shown(file)}: more than {MAX_BYTES >> 20} MB: too large for a {kind} "
                        f"(bptrace reads at most {MAX_BYTES >> 20} MB)"
                    )
                chunks.append(chunk)
    except IsADirectoryError:
        raise FileError(f"{shown(file)}: is a directory, not a {kind}") from None
    except FileNotFoundError:
        raise FileError(f"{shown(file)}: no such file") from None
    except OSError as e:
        raise FileError(f"{shown(file)}: cannot read: {e.strerror or e}") from None
    data = b"".join(chunks)
    del chunks
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _not_utf8(file, data, e.start) from None
    if "\r" in text:  # \r\n and a lone CR (old Mac files) end a line as \n does
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.removeprefix("\ufeff")


def _not_utf8(file: str | os.PathLike[str], data: bytes, at: int) -> FileError:
    """Return the problem of a byte that is not UTF-8, pointing at it in the text (the rest decoded
    as it can be)."""
    line = data.count(b"\n", 0, at) + 1
    col = len(data[data.rfind(b"\n", 0, at) + 1 : at].decode("utf-8", "replace")) + 1
    return FileError(
        f"not UTF-8 text: byte 0x{data[at]:02x} is not a character in UTF-8",
        shown(file),
        Span(line, col, line, col + 1),
        data.decode("utf-8", "replace"),  # what the diagnostic quotes: the byte shows as �
        "save the file as UTF-8 (in most editors: Save As, then the encoding UTF-8)",
    )


def a_path(file: object, kind: str = ".bp file") -> None:
    """Raise ValueError unless `file` is a path: a str, bytes or os.PathLike (an int is refused,
    which open() would take as a descriptor, and read and close stdin, stdout or stderr)."""
    if not isinstance(file, (str, bytes, os.PathLike)):
        raise ValueError(f"a {kind} is named by its path, a str or os.PathLike; got {file!r}")
    path = os.fspath(file)
    if not path:
        raise ValueError(f"a {kind}'s path is empty")
    if "\0" in path if isinstance(path, str) else b"\0" in path:
        raise ValueError(f"a {kind}'s path cannot hold a NUL character: {shown(path)!r}")


def shown(path: str | bytes | os.PathLike[str]) -> str:
    """Return a file name as bptrace writes it anywhere: bytes that are not UTF-8 escaped (\\xff),
    so every output, JSON included, stays UTF-8."""
    return os.fsdecode(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
