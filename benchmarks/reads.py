"""What the machine charges Python for reading a list of floats, in order and at random, as it
grows.

python benchmarks/reads.py                       # the slots of 10,000 and of 100,000 nodes
python benchmarks/reads.py --sizes 1000,10000,100000

A step of the engine reads each node's arguments from a list of slots holding floats (about four
slots a node: its value, its partials' values). Where a node reads an earlier node picked at random,
the read lands anywhere in that list. This times the read alone, `total = total + v[i]` over every
slot once, with the slots taken in order or in a random order, and prints nanoseconds per read and
what the largest size costs per read against the next smaller one. In order, a read costs the same
at every size; at random, it costs more once the slots and their floats outgrow the caches: the
floor under the engine's growth from 10,000 to 100,000 nodes (docs/performance.md).

The sizes are timed in turns, a pass each, 15 rounds, and the median pass is taken, so that both
see the machine at the same moments."""

from __future__ import annotations

import argparse
import random
import statistics
import time

SLOTS_PER_NODE = 4


def total(values: list[float], order: list[int]) -> float:
    """Read values[i] for each i of `order` and add them up: the read, with as little else as Python
    allows."""
    s = 0.0
    for i in order:
        s = s + values[i]
    return s


def slots(nodes: int, shuffled: bool, seed: int = 0) -> tuple[list[float], list[int]]:
    """Return the slots of a network of `nodes` nodes (new floats, made in order) and the order to
    read them in."""
    rng = random.Random(seed)
    values = [rng.uniform(-4, 4) for _ in range(nodes * SLOTS_PER_NODE)]
    order = list(range(len(values)))
    if shuffled:
        rng.shuffle(order)
    # new ints, made in the order they are read, as the tape's are
    return values, [i + 0 for i in order]


def per_read(sizes: list[int], shuffled: bool, rounds: int = 15) -> dict[int, float]:
    """Return each size's median nanoseconds per read, the sizes timed in turns."""
    made = {n: slots(n, shuffled) for n in sizes}
    times: dict[int, list[float]] = {n: [] for n in sizes}
    for _ in range(rounds):
        for n, (values, order) in made.items():
            start = time.perf_counter()
            total(values, order)
            times[n].append((time.perf_counter() - start) / len(order) * 1e9)
    return {n: statistics.median(t) for n, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="10000,100000", help="network sizes (nodes), comma-separated"
    )
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    print(
        "| order | "
        + " | ".join(f"{n:,} nodes, ns/read" for n in sizes)
        + " | per read, largest/next |"
    )
    print("|---|" + "---|" * len(sizes) + "---|")
    for shuffled in (False, True):
        ns = per_read(sizes, shuffled)
        ratio = f"{ns[sizes[-1]] / ns[sizes[-2]]:.2f}×" if len(sizes) > 1 else "–"
        print(
            f"| {'random' if shuffled else 'in order'} | "
            + " | ".join(f"{ns[n]:.1f}" for n in sizes)
            + f" | {ratio} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
