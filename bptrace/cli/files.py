"""Files: the network and --data read (by bptrace.api's reader, with its size and NUL limits), and
what a run writes.

A regular file written (--key, --export) is replaced whole; a FIFO, pipe or terminal is written in
place, and no file the run reads or standard output's is ever replaced. No typer here.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bptrace.api.reading import FileError, read, shown
from bptrace.cli.process import signals_held

__all__ = ["FileError", "overwritten", "read", "save", "shown", "writable"]


def save(path: Path, text: str | bytes, wait: bool = True) -> None:
    """Write `text` (as UTF-8; bytes as they are) to `path`, or raise FileError: a regular file
    at once (a temporary file renamed over it, its mode kept), a symlink's file in its place, and a
    FIFO, terminal or other device in place (opened, not replaced).

    A FIFO nobody reads is waited for, as a shell's `>` waits, while a signal may still stop the
    wait; once a signal has stopped the run (`wait` False), it is not: no one is reading it, and
    that is said at once. Nor, then, is a reader that takes nothing for PATIENCE seconds.
    """
    import os
    import stat

    target, status = _target(path)
    data = text.encode("utf-8") if isinstance(text, str) else text
    if status is not None and not stat.S_ISREG(status.st_mode):
        out = _opened_in_place(target, path, wait)
        if out is not None:
            try:
                try:
                    _write_all(out, data, None if wait else PATIENCE)
                finally:
                    os.close(out)
            except OSError as error:
                raise FileError(f"cannot write {shown(path)}: {error.strerror or error}") from None
            return
        target, status = _target(path)  # a regular file (or none) now: replaced as any other
        if status is not None and not stat.S_ISREG(status.st_mode):
            raise FileError(f"cannot write {shown(path)}: it changed while bptrace opened it")
    # Ctrl-C and SIGTERM wait for the rename: the file is whole or as it was, and no temporary is
    # left behind.
    with signals_held():
        out, temporary = _temporary(target.parent, path)
        try:
            try:
                if status is not None:
                    os.fchmod(out, stat.S_IMODE(status.st_mode))
                    if (status.st_uid, status.st_gid) != (os.geteuid(), os.getegid()):
                        try:
                            os.fchown(out, status.st_uid, status.st_gid)
                        except OSError:  # not ours to give away: the file becomes the writer's
                            pass
                _write_all(out, data)
            finally:
                os.close(out)
            os.replace(temporary, target)
        except BaseException as error:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            if isinstance(error, OSError):
                raise FileError(f"cannot write {shown(path)}: {error.strerror or error}") from None
            raise


def _opened_in_place(target: Path, path: Path, wait: bool) -> int | None:
    """Return a descriptor writing the FIFO or device `target`, blocking if `wait` (else written
    with PATIENCE); None if it has become a regular file or gone since it was looked at: that one is
    replaced, not written over."""
    import errno
    import os
    import stat

    flags = os.O_WRONLY | os.O_NOCTTY
    try:
        try:
            # a FIFO nobody reads: ENXIO at once, never a wait
            out = os.open(target, flags | os.O_NONBLOCK)
        except OSError as error:
            if not (error.errno == errno.ENXIO and wait and stat.S_ISFIFO(os.stat(target).st_mode)):
                raise
            # until a reader comes: a signal raises Interrupted out of the wait
            out = os.open(target, flags)
    except FileNotFoundError:
        return None
    except OSError as error:
        if error.errno == errno.ENXIO and _is_fifo(target):
            raise FileError(f"cannot write {shown(path)}: no one is reading it") from None
        raise FileError(f"cannot write {shown(path)}: {error.strerror or error}") from None
    if stat.S_ISREG(os.fstat(out).st_mode):
        os.close(out)
        return None
    if wait:
        os.set_blocking(out, True)  # written whole, however slowly its reader reads
    return out


def _is_fifo(path: Path) -> bool:
    import os
    import stat

    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)
    except OSError:
        return False


# Seconds a FIFO's reader may take nothing, once a signal has stopped the run, before it is
# given up.
PATIENCE = 2


def _write_all(fd: int, data: bytes, patience: float | None = None) -> None:
    """Write all of `data` to `fd`; with `patience` (`fd` non-blocking), raise TimeoutError when its
    reader has taken nothing for that many seconds."""
    import os
    import select

    ready = select.poll()
    ready.register(fd, select.POLLOUT)
    view = memoryview(data)
    while view:
        if patience is not None and not ready.poll(patience * 1000):
            raise TimeoutError(f"its reader has taken nothing for {patience} seconds")
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:  # room for less than a pipe's atomic write: wait for more
            continue


def _temporary(folder: Path, path: Path) -> tuple[int, Path]:
    """Return a new file in `folder`, open for writing, and its name, short as `path` may need."""
    import os
    import secrets

    while True:
        temporary = folder / f".bptrace-{secrets.token_hex(4)}.tmp"
        try:
            return os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), temporary
        except FileExistsError:
            continue
        except OSError as error:
            raise FileError(f"cannot write {shown(path)}: {error.strerror or error}") from None


def _target(path: Path):
    """Return the name writing `path` writes through, and its file's stat (None if there is none
    yet); raise FileError if it is nothing bptrace may write: a directory, a read-only file, a
    name too long.

    The name is `path` itself for a FIFO or a device, and the file a symlink leads to for a regular
    file, renamed over in its folder. The type comes from `path`: /dev/stdout, /dev/fd/N and bash's
    >(cmd) name a pipe through a link only the kernel follows (realpath makes it
    /proc/PID/fd/pipe:[N], which is no file).
    """
    import os
    import stat

    def refuse(reason: str) -> FileError:
        return FileError(f"cannot write {shown(path)}: {reason}")

    target = Path(os.path.realpath(path))
    folder = target.parent
    try:
        longest = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        longest = 255
    if len(os.fsencode(target.name)) > longest:
        raise refuse(f"the name is longer than the {longest} bytes a file name may have here")
    try:
        status = os.stat(path)
    except FileNotFoundError:
        status = None
    except OSError as error:
        raise refuse(error.strerror or str(error)) from None
    if status is not None and stat.S_ISDIR(status.st_mode):
        raise refuse("is a directory")
    if status is not None and not stat.S_ISREG(status.st_mode):
        if stat.S_ISCHR(status.st_mode) or stat.S_ISFIFO(status.st_mode):
            return Path(path), status  # written in place: a terminal, a FIFO, a pipe, a device
        raise refuse("not a file, a FIFO or a terminal")
    if not folder.is_dir():
        raise refuse("no such directory")
    if not os.access(folder, os.W_OK):
        raise refuse("permission denied")
    # As root, os.access allows everything: the mode bits say whether the file is to be written.
    if status is not None and (not status.st_mode & 0o222 or not os.access(target, os.W_OK)):
        raise refuse("the file is read-only")
    return target, status


def overwritten(path: Path, inputs: dict[str, Path | None]) -> str | None:
    """Return which file the run reads or writes (one of `inputs`, or standard output's) writing
    `path` would replace; None if none. Only a regular file can be replaced: /dev/null or a terminal
    cannot."""
    import os

    try:
        if not path.is_file():
            return None
    except OSError:  # a name too long, a loop of symlinks: `writable` says so
        return None
    for what, given in inputs.items():
        if given is not None and given.exists() and path.samefile(given):
            return what
    try:
        if os.path.samestat(os.fstat(sys.stdout.fileno()), os.stat(path)):
            return "where standard output goes"
    except (OSError, ValueError):  # no real stdout (a test's): nothing to compare
        pass
    return None


def writable(path: Path) -> None:
    """Raise FileError now if `path` cannot be written later (save): before the run, not after."""
    _target(path)
