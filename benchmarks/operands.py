"""Measure one node with many operands: `run` and `check` of a single expression of N params.

python benchmarks/operands.py                    # N = 1,000 / 10,000 (a few minutes) python
benchmarks/operands.py --sizes 100,1000   # quicker python benchmarks/operands.py --timeout 60
# give up on a run after 60 s

Shapes, each one `loss L = …` over params w0 … w(N−1): sum     a balanced tree of +: ((w0 + w1) +
(w2 + w3)) + … max     a balanced tree of max: max(max(w0, w1), max(w2, w3)) … chain   a
left-leaning chain of *, + and max, 99 levels deep whatever N (the parser's nesting limit)

Each command runs in a fresh process, under `ulimit -v 4000000` (4 GB) and the timeout; the
figures are its wall time and peak RSS (from /usr/bin/time), or how it stopped. The files go to a
temporary directory, removed afterwards."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

SHAPES = ("sum", "max", "chain")


def balanced(names: list[str], pattern: str) -> str:
    """Return the names combined pairwise, level by level, with `pattern` ("({} + {})")."""
    while len(names) > 1:
        names = [
            pattern.format(*names[i : i + 2]) if i + 1 < len(names) else names[i]
            for i in range(0, len(names), 2)
        ]
    return names[0]


def network(shape: str, n: int) -> str:
    """Return the .bp text of one loss node of `shape` over n params."""
    params = [f"w{i}" for i in range(n)]
    lines = [f"param {p} = {(i * 37) % 101 / 100 - 0.5:.2f}" for i, p in enumerate(params)]
    if shape == "sum":
        expr = balanced(params, "({} + {})")
    elif shape == "max":
        expr = balanced(params, "max({}, {})")
    else:
        expr = params[0]
        for i, p in enumerate(params[1:99]):
            expr = (
                f"({expr})*{p}"
                if i % 3 == 0
                else f"({expr}) + {p}"
                if i % 3 == 1
                else f"max({expr}, {p})"
            )
    return "\n".join(lines + [f"loss L = {expr}"]) + "\n"


def measure(command: list[str], timeout: float) -> str:
    """Return the wall time and peak memory of `command` in a fresh process, or how it stopped."""
    line = " ".join(command)
    script = (
        f"ulimit -v 4000000; exec /usr/bin/time -f '%e %M' timeout -k 5 {timeout} {line} "
        "> /dev/null"
    )
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
    if done.returncode == 124:
        return f"over {timeout:g} s"
    try:
        seconds, kb = last.split()
        figure = f"{float(seconds):.2f} s, {int(kb) / 1024:.0f} MB"
    except ValueError:
        return f"exit {done.returncode}: {last[:60]}"
    return figure if done.returncode in (0, 6) else f"{figure} (exit {done.returncode})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="1000,10000", help="comma-separated N (default 1000,10000)"
    )
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds per command (default 120)"
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    python = sys.executable
    print(f"{'shape':<6} {'N':>7}   {'run':<24} {'check':<24}")
    with tempfile.TemporaryDirectory() as tmp:
        for shape in SHAPES:
            for n in sizes:
                path = Path(tmp) / f"{shape}{n}.bp"
                path.write_text(network(shape, n))
                figures = [
                    measure([python, "-m", "bptrace", command, str(path)], args.timeout)
                    for command in ("run", "check")
                ]
                print(f"{shape:<6} {n:>7,}   {figures[0]:<24} {figures[1]:<24}", flush=True)


if __name__ == "__main__":
    main()
