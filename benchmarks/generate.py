"""Write a large random .bp network: N nodes over every operator and function, values bounded.

python benchmarks/generate.py 10000 > /tmp/net10k.bp python benchmarks/generate.py 10000 --seed 3
--out /tmp/net10k.bp

Node i combines node i−1 with a random earlier node or param, so every node reaches the loss and
paths multiply as in a real network. The earlier node is any of them, or with --window K one of the
last K (as a layer reads the layers just below it). Every template maps values in [−4, 4] back into
[−4, 4], so a network of any size has finite values and gradients (no log of a negative, no
overflow)."""

from __future__ import annotations

import argparse
import random
import sys

# {a} and {b} are earlier values, {w} a param. Each stays within [−4, 4] for inputs within [−4, 4].
TEMPLATES = (
    "tanh({a}*{w} + {b})",
    "sigmoid({a} - {b})",
    "{a}*{b}/(1 + {a}^2)",
    "exp(-{a}^2)",
    "log(1 + {a}^2)",
    "sqrt(1 + {a}^2) - 1",
    "sin({a}) + cos({b})",
    "(abs({a}) - {b})/2",
    "max({a}, {b})",
    "min({a}, {w})",
    "relu({a})*{w}",
    "-{a}",
    "({a}/2)^2",
    "{a} - {b}*{w}/4",
)
# Only what micrograd has (+ − × ÷, powers by a number, relu), for comparing engines on the same
# network.
BASIC = (
    "({a}*{w} + {b})/4",
    "(relu({a}) - {b})/2",
    "{a}*{b}/4",
    "({a}/2)^2",
    "({a} - {b}*{w})/2",
    "-{a}",
    "{a}/(1 + {b}^2)",
)


def network(
    n: int, seed: int = 0, basic: bool = False, samples: int = 0, window: int | None = None
) -> str:
    """Return the text of a random network of `n` nodes (about n/10 params), ending in a loss.

    With `samples`, the input x and the target y hold that many samples, in [−1, 1] and [0, 0.5].
    With `window`, a node's random earlier node is one of the `window` nodes before it."""
    rng = random.Random(seed)
    templates = BASIC if basic else TEMPLATES
    n_params = max(2, n // 10)
    x, y = "0.5", "0.25"
    if samples:
        x = "[" + ", ".join(f"{rng.uniform(-1, 1):.3f}" for _ in range(samples)) + "]"
        y = "[" + ", ".join(f"{rng.uniform(0, 0.5):.3f}" for _ in range(samples)) + "]"
    options = (
        f" --seed {seed}"
        + (" --basic" if basic else "")
        + (f" --samples {samples}" if samples else "")
        + (f" --window {window}" if window else "")
    )
    lines = [
        f"# {n} random nodes: python benchmarks/generate.py {n}{options}",
        f"input x = {x}",
        f"target y = {y}",
    ]
    lines += [f"param w{j} = {rng.uniform(-1, 1):.3f}" for j in range(n_params)]
    lines.append("set lr = 0.01")
    previous = "x"
    unused = [f"w{j}" for j in reversed(range(n_params))]  # every param is used at least once
    for i in range(n):
        template = templates[i % len(templates)] if i < len(templates) else rng.choice(templates)
        earlier = (
            f"h{rng.randrange(max(0, i - window) if window else 0, i)}"
            if i and rng.random() < 0.7
            else "x"
        )
        w = unused.pop() if unused and "{w}" in template else f"w{rng.randrange(n_params)}"
        other = (
            unused.pop()
            if unused and "{w}" not in template and "{b}" in template
            else rng.choice((earlier, w))
        )
        lines.append(f"h{i} = " + template.format(a=previous, b=other, w=w))
        previous = f"h{i}"
    lines.append(f"loss L = 1/2*(y - {previous})^2")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("nodes", type=int, help="number of nodes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="file to write (default: stdout)")
    parser.add_argument(
        "--basic", action="store_true", help="only + - * / ^ and relu (what micrograd has)"
    )
    parser.add_argument(
        "--samples",
        type=int,
        default=0,
        help="samples of the input and target (default: one value each)",
    )
    parser.add_argument(
        "--window",
        type=int,
        help="a node reads one of the K nodes before it (default: any earlier node)",
        metavar="K",
    )
    args = parser.parse_args(argv)
    if args.window is not None and args.window < 1:
        parser.error("--window must be at least 1")
    text = network(args.nodes, args.seed, args.basic, args.samples, args.window)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
