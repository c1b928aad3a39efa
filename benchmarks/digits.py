"""A small set of 8×8 "digits", drawn from ten glyphs with shifts and noise, written as CSV.

    python benchmarks/digits.py 320 --seed 0 > networks/digits.csv

Each sample is one of ten hand-drawn 8×8 glyphs (the digits 0–9), its ink scaled by a random
strength, shifted by at most one pixel in each direction (the edge filled with blank), with
Gaussian noise added, clipped to [0, 1] and rounded to tenths. The header is `x[1],…,x[64]`
(the pixels row by row, as bptrace names the elements of `input x[64]`), then `y[1],…,y[10]`,
the one-hot target (y[d + 1] = 1 for the digit d). Generated, so there is no licence or download
to think about; the same seed gives the same bytes.
"""

from __future__ import annotations

import argparse

import numpy as np

GLYPHS = """
..####.. ...##... ..####.. ..####.. ....##.. .######. ..####.. .######. ..####.. ..####..
.#....#. ..###... .#....#. .#....#. ...###.. .#...... .#...... ......#. .#....#. .#....#.
.#....#. ...##... ......#. ......#. ..#.##.. .#...... .#...... .....#.. .#....#. .#....#.
.#....#. ...##... .....#.. ...###.. .#..##.. .#####.. .#####.. ....#... ..####.. ..#####.
.#....#. ...##... ....#... ......#. .######. ......#. .#....#. ...#.... .#....#. ......#.
.#....#. ...##... ...#.... ......#. ....##.. ......#. .#....#. ...#.... .#....#. ......#.
.#....#. ...##... ..#..... .#....#. ....##.. .#....#. .#....#. ...#.... .#....#. .#....#.
..####.. .######. .######. ..####.. ....##.. ..####.. ..####.. ...#.... ..####.. ..####..
"""


def glyphs() -> np.ndarray:
    """Return the ten glyphs as an array of shape (10, 8, 8), ink 1 and blank 0."""
    rows = [line.split() for line in GLYPHS.strip().splitlines()]
    return np.array([[[c == "#" for c in row[d]] for row in rows] for d in range(10)], float)


def digits(samples: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return `samples` images (samples × 64, in [0, 1]) and their one-hot targets (samples × 10).

    The digits take turns (0, 1, …, 9, 0, …), so every ten samples hold each digit once.
    """
    rng = np.random.default_rng(seed)
    shapes = glyphs()
    images = np.zeros((samples, 64))
    targets = np.zeros((samples, 10))
    for k in range(samples):
        d = k % 10
        image = shapes[d] * rng.uniform(0.7, 1.0)
        down, right = rng.integers(-1, 2, size=2)
        image = np.roll(image, (down, right), axis=(0, 1))
        # blank the row and column that the roll brought round from the other edge
        if down:
            image[0 if down > 0 else -1, :] = 0
        if right:
            image[:, 0 if right > 0 else -1] = 0
        image = np.clip(image + rng.normal(0, 0.15, size=(8, 8)), 0, 1)
        images[k] = np.round(image, 1).reshape(64)
        targets[k, d] = 1
    return images, targets


def csv_text(images: np.ndarray, targets: np.ndarray) -> str:
    """Return the samples as CSV: the header x[1],…,x[64],y[1],…,y[10], then one row a sample."""
    header = [f"x[{i}]" for i in range(1, images.shape[1] + 1)]
    header += [f"y[{i}]" for i in range(1, targets.shape[1] + 1)]
    lines = [",".join(header)]
    for row in np.hstack([images, targets]):
        lines.append(",".join(f"{v:g}" for v in row))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("samples", type=int, help="how many samples (the digits take turns)")
    parser.add_argument("--seed", type=int, default=0, help="the generator's seed (default 0)")
    args = parser.parse_args(argv)
    if args.samples < 1:
        parser.error("samples must be at least 1")
    print(csv_text(*digits(args.samples, args.seed)), end="")


if __name__ == "__main__":
    main()
