"""The built-in examples at the command line: a bare name given for FILE that no file has
(`bptrace run simple`) reads the example of that name, `bptrace examples` lists them, and
`bptrace examples --copy NAME` writes one to the current folder to edit."""

from __future__ import annotations

import os
from pathlib import Path

from bptrace import examples
from bptrace.cli import files, process
from bptrace.language.diagnostics import did_you_mean, escaped

# Who "the handout" is, for a user who has only the package.
HANDOUT = (
    '"the handout" is the backpropagation lecture handout these examples come from: its first '
    'network (simple), its "more complicated network" (two_layer) and its five questions '
    "(bptrace explain)."
)


def network(file: Path) -> tuple[str, str]:
    """Return the text of the network FILE and the name bptrace calls it by.

    When no file has that name and it is a bare example's name ('simple' or 'simple.bp'), return
    the built-in example's, named as its file is, and say so on stderr. Otherwise raise FileError
    as files.read does; a missing file's names the example it comes close to.
    """
    try:
        return files.read(file), files.shown(file)
    except files.FileError as problem:
        if os.path.lexists(file):
            raise
        given = str(file)
        name = examples.named(given) if os.sep not in given and "/" not in given else None
        if name is None:
            hint = _hint(file)
            raise problem if hint is None else files.FileError(f"{problem}; {hint}") from None
    process.stderr().print(
        f"bptrace: no file '{escaped(files.shown(file))}'; using the built-in example {name}.bp "
        f"(bptrace examples --copy {name} to edit it)",
        markup=False,
    )
    return examples.text(name), f"{name}.bp"


def samples(data: Path) -> str:
    """Return the text of the --data file; when no file has that name and it is the bare name of
    the samples an example trains on (digits.csv), theirs, said on stderr."""
    try:
        return files.read(data, "CSV file")
    except files.FileError:
        given = str(data)
        owner = [name for name, shipped in examples.DATA.items() if given in shipped]
        if os.path.lexists(data) or not owner:
            raise
    process.stderr().print(
        f"bptrace: no file '{escaped(given)}'; using the samples built in with the example "
        f"{owner[0]} (bptrace examples --copy {owner[0]} writes them here)",
        markup=False,
    )
    return examples.raw(given).decode("utf-8")


def _hint(file: Path) -> str | None:
    """Return which built-in example a missing FILE may mean, if one comes close."""
    name = examples.named(file.name)  # networks/simple.bp, from the README, without networks/
    if name is not None:
        return f"for the built-in example, give its name alone: {name} (bptrace examples)"
    close = did_you_mean(file.name.removesuffix(".bp"), examples.NAMES)
    if close is None:
        return None
    return f"{close.removesuffix('?')} (a built-in example; bptrace examples lists them)?"


def listing() -> str:
    """Return the examples, one a line with what it shows, and how to run and copy one."""
    width = max(map(len, examples.NAMES))
    lines = [
        f"{name:<{width}}  {examples.description(name)}{_trains_on(name)}"
        for name in examples.NAMES
    ]
    return "\n".join(
        [
            "Built-in example networks: bptrace run NAME runs one, "
            "bptrace examples --copy NAME writes it here to edit.",
            "",
            *lines,
            "",
            HANDOUT,
            "",
        ]
    )


def _trains_on(name: str) -> str:
    data = examples.DATA.get(name)
    return f" (samples: --data {', '.join(data)}, which --copy writes too)" if data else ""


def copy(name: str, folder: Path, force: bool = False) -> list[Path]:
    """Write the example NAME (and the samples it trains on) into `folder` and return the paths
    written; raise FileError, before writing any, if one exists and `force` is not given."""
    if name not in examples.NAMES:
        raise ValueError(name)  # the CLI checks the name first
    names = (f"{name}.bp", *examples.DATA.get(name, ()))
    paths = [folder / n for n in names]
    there = [p for p in paths if os.path.lexists(p)]
    if there and not force:
        raise files.FileError(
            f"{files.shown(there[0])} exists already; bptrace leaves it as it is "
            "(--force replaces it)"
        )
    for n, path in zip(names, paths):
        files.save(path, examples.raw(n))
    return paths
