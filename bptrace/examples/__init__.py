"""The example networks that ship inside the package: a `pip install` has no networks/ folder.

Each NAME.bp here is a byte-for-byte copy of the repository's networks/NAME.bp (digits.csv too);
tests/test_examples.py fails when the two drift apart. Only the standard library: the CLI reads
these, and so may the Python API.
"""

from __future__ import annotations

# The order `bptrace examples` lists them in: the lecture's order, simplest first.
NAMES = (
    "simple",
    "two_layer",
    "two_layer_matrix",
    "layers",
    "softmax",
    "fanout",
    "logistic",
    "xor",
    "mnist_like",
)
# The samples an example trains on, read with --data (its comments say how).
DATA = {"mnist_like": ("digits.csv",)}


def text(name: str) -> str:
    """Return the text of the example NAME (one of NAMES)."""
    return raw(f"{name}.bp").decode("utf-8")


def raw(filename: str) -> bytes:
    """Return the bytes of a file shipped here: an example's .bp or the CSV it trains on."""
    # importlib.resources costs a run's start-up about 8 ms: only a bare name that is no file
    # reads an example
    from importlib.resources import files

    return files(__name__).joinpath(filename).read_bytes()


def description(name: str) -> str:
    """Return what the example NAME shows: the first sentence of its opening comment, its own
    file name left out."""
    said = []
    for line in text(name).split("\n"):
        if not line.startswith("#") or not line.strip("# "):
            break
        said.append(line.removeprefix("#").strip())
        if said[-1].endswith("."):
            break
    first = " ".join(said)
    _, dash, rest = first.partition(" — ")  # "networks/simple.bp — the handout's first network…"
    return (rest if dash else first).strip().removesuffix(".")


def named(word: str) -> str | None:
    """Return the example a bare name given for FILE means ('simple' or 'simple.bp'), or None."""
    name = word.removesuffix(".bp")
    return name if name in NAMES else None
