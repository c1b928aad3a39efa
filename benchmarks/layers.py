"""Time 100 steps of networks/mnist_like.bp (64-16-10, softmax) in bptrace, numpy and PyTorch.

    python benchmarks/layers.py                  # networks/digits.csv, 100 steps of 32
    python benchmarks/layers.py --repeat 5       # medians of 5 (default 3)

Figures, each the median of --repeat runs, for 100 steps of mini-batches of 32 (the file's
`set batch`), the same start (the file's params drawn with its seed) and the same batches (the
samples in order, 32 at a time, as bptrace takes them without --shuffle):
  engine      bptrace's trace() in this process, every step's record made (values, gradients,
              local partials, updates; the records views read a few of at a time are not read)
  build       what comes before it: parsing the .bp, expanding its layers, building the graph,
              reading the CSV
  cli         the whole `bptrace run … --quiet` as a subprocess: start-up, build, 100 steps, the
              summary printed
  numpy       the same forward and backward by hand, with matrices (`numpy_steps`)
  torch       the same forward in PyTorch float64, its gradients by autograd, one thread, when
              torch is importable (pip install torch; not a dependency of bptrace)
Before timing, the three are checked to agree on every step's loss and on the final loss over
all the samples, to 1e-12 relative, and the largest relative gap of the final params is printed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NETWORK = ROOT / "networks" / "mnist_like.bp"
DATA = ROOT / "networks" / "digits.csv"
SHAPES = {"W1": (16, 64), "b1": (16,), "W2": (10, 16), "b2": (10,)}
TOLERANCE = 1e-12


def build(network: Path = NETWORK, data: str | None = None):
    """Return the graph of `network` holding the samples of a CSV text (networks/digits.csv)."""
    from bptrace.engine.data import read_csv, with_data
    from bptrace.engine.graph import build_graph
    from bptrace.language.parser import parse

    graph = build_graph(parse(network.read_text("utf-8")))
    text = DATA.read_text("utf-8") if data is None else data
    return with_data(graph, read_csv(text, "digits.csv"), "digits.csv")


def arrays(named: dict[str, float]) -> dict[str, np.ndarray]:
    """Return params named as bptrace names them (W1[2,1], b1[3]) as numpy arrays, W1[1,0]…"""
    out = {name: np.zeros(shape) for name, shape in SHAPES.items()}
    for key, value in named.items():
        name, index = key.rstrip("]").split("[")
        out[name][tuple(int(i) - 1 for i in index.split(","))] = value
    return out


def samples(graph) -> tuple[np.ndarray, np.ndarray]:
    """Return the graph's inputs (samples × 64) and one-hot targets (samples × 10)."""
    values = {leaf.name: leaf.value for leaf in graph.leaves}
    x = np.array([values[f"x[{i}]"] for i in range(1, 65)], float).T
    y = np.array([values[f"y[{i}]"] for i in range(1, 11)], float).T
    return x, y


def batches(n: int, size: int, steps: int) -> list[np.ndarray]:
    """Return each step's sample numbers: the next `size`, in order, wrapping round (bptrace's)."""
    return [np.arange(k * size, (k + 1) * size) % n for k in range(steps)]


def numpy_loss(p: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
    """Return the mean cross-entropy of the samples x, y under params p."""
    h = np.tanh(x @ p["W1"].T + p["b1"])
    e = np.exp(h @ p["W2"].T + p["b2"])
    prob = e / e.sum(axis=1, keepdims=True)
    return float(np.mean(-np.sum(y * np.log(prob), axis=1)))


def numpy_step(p: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray):
    """Return a batch's mean loss and each param's gradient, forward and backward by hand."""
    n = len(x)
    h = np.tanh(x @ p["W1"].T + p["b1"])
    e = np.exp(h @ p["W2"].T + p["b2"])
    s = e.sum(axis=1, keepdims=True)
    prob = e / s
    loss = np.mean(-np.sum(y * np.log(prob), axis=1))
    # ∂L/∂z2[k] = Σm −y[m]/p[m]·∂p[m]/∂z2[k] = p[k]·Σy − y[k]; divided by n: the batch's mean
    dz2 = (prob * y.sum(axis=1, keepdims=True) - y) / n
    dz1 = (dz2 @ p["W2"]) * (1 - h * h)  # tanh' = 1 − tanh²
    grads = {"W1": dz1.T @ x, "b1": dz1.sum(axis=0), "W2": dz2.T @ h, "b2": dz2.sum(axis=0)}
    return float(loss), grads


def numpy_steps(p, x, y, picks, lr):
    """Train by sgd on the batches `picks`: return each step's loss and gradients, the params."""
    p = {name: value.copy() for name, value in p.items()}
    steps = []
    for pick in picks:
        loss, grads = numpy_step(p, x[pick], y[pick])
        steps.append((loss, grads))
        for name in p:
            p[name] -= lr * grads[name]
    return steps, p


def torch_steps(p, x, y, picks, lr):
    """Train by sgd in PyTorch float64, gradients by autograd; return the losses and the params."""
    import torch

    t = {
        name: torch.tensor(value, dtype=torch.float64, requires_grad=True)
        for name, value in p.items()
    }
    tx, ty = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    losses = []
    for pick in picks:
        index = torch.from_numpy(pick)
        xb, yb = tx[index], ty[index]
        h = torch.tanh(xb @ t["W1"].T + t["b1"])
        e = torch.exp(h @ t["W2"].T + t["b2"])
        prob = e / e.sum(dim=1, keepdim=True)
        loss = torch.mean(-torch.sum(yb * torch.log(prob), dim=1))
        loss.backward()
        with torch.no_grad():
            for value in t.values():
                value -= lr * value.grad
                value.grad = None
        losses.append(loss.item())
    return losses, {name: value.detach().numpy().copy() for name, value in t.items()}


def engine_steps(graph, steps: int, size: int):
    """Run bptrace's trace(): return each step's loss and the final loss over all the samples."""
    from bptrace.engine.tracer import Batches, Step, trace

    losses, final = [], None
    for record in trace(graph, steps, batches=Batches(size)):
        if isinstance(record, Step):
            losses.append(float(record.loss))
        else:
            final = record
    return losses, float(final.loss), arrays(final.params)


def torch_available() -> str | None:
    """Return torch's version when it can be imported, else None."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch.__version__


def timed(run, repeat: int) -> float:
    """Return the median wall time of `repeat` calls of run()."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def gap(a: float, b: float) -> float:
    """Return the relative difference of a and b."""
    return abs(a - b) / max(abs(a), abs(b))


def agree(name: str, losses: list[float], final: float, reference) -> None:
    """Exit with a message unless every loss is the reference's to TOLERANCE relative."""
    ref_losses, ref_final = reference
    worst = max(gap(a, b) for a, b in zip([*losses, final], [*ref_losses, ref_final]))
    if len(losses) != len(ref_losses) or worst > TOLERANCE:
        sys.exit(f"{name} disagrees with bptrace: a relative gap of {worst:.2e} in the losses")
    print(
        f"  {name:<6} agrees with bptrace on all {len(losses)} losses and the final loss: "
        f"largest relative gap {worst:.1e}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--steps", type=int, default=100, help="training steps (default 100)")
    args = parser.parse_args(argv)
    steps = args.steps

    start = time.perf_counter()
    graph = build()
    built = time.perf_counter() - start
    size, lr = int(graph.settings["batch"]), float(graph.settings["lr"])
    x, y = samples(graph)
    p0 = arrays(graph.initial_params())
    picks = batches(len(x), size, steps)
    print(
        f"{NETWORK.relative_to(ROOT)}: {len(x)} samples of networks/digits.csv, {steps} steps "
        f"of mini-batches of {size}, lr {lr}, {len(graph.nodes)} scalar nodes, "
        f"{sum(v.size for v in p0.values())} params"
    )

    # the same start, the same batches: the same losses
    losses, final, params = engine_steps(graph, steps, size)
    print(f"  loss over all samples: {numpy_loss(p0, x, y):.4f} before, {final:.4f} after")
    by_hand, p_numpy = numpy_steps(p0, x, y, picks, lr)
    agree("numpy", [loss for loss, _ in by_hand], numpy_loss(p_numpy, x, y), (losses, final))
    version = torch_available()
    if version is not None:
        t_losses, p_torch = torch_steps(p0, x, y, picks, lr)
        agree("torch", t_losses, numpy_loss(p_torch, x, y), (losses, final))
    for name, other in [("numpy", p_numpy)] + ([("torch", p_torch)] if version else []):
        worst = max(
            float(np.max(np.abs(params[k] - other[k]) / np.maximum(np.abs(params[k]), 1e-300)))
            for k in params
        )
        print(f"  final params, bptrace against {name}: largest relative gap {worst:.1e}")

    engine = timed(lambda: engine_steps(graph, steps, size), args.repeat)
    command = [sys.executable, "-m", "bptrace", "run", str(NETWORK), "--data", str(DATA)]
    command += ["--steps", str(steps), "--quiet"]
    cli = timed(lambda: subprocess.run(command, check=True, capture_output=True), args.repeat)
    numpy_time = timed(lambda: numpy_steps(p0, x, y, picks, lr), args.repeat)
    print(f"\n{steps} steps of {size}, medians of {args.repeat}:")
    print(f"  build (parse, layers, graph, CSV)  {built:8.3f} s")
    print(f"  engine (trace(), records)          {engine:8.3f} s")
    print(f"  cli (bptrace run … --quiet)        {cli:8.3f} s   (the whole process)")
    print(
        f"  numpy by hand                      {numpy_time * 1000:8.2f} ms   "
        f"engine/numpy {engine / numpy_time:,.0f}×"
    )
    if version is not None:
        torch_time = timed(lambda: torch_steps(p0, x, y, picks, lr), args.repeat)
        print(
            f"  torch {version} float64, 1 thread {torch_time * 1000:8.2f} ms   "
            f"engine/torch {engine / torch_time:,.0f}×, torch/numpy "
            f"{torch_time / numpy_time:.1f}×"
        )
    else:
        print("  torch: not installed, skipped (pip install torch to compare; not a dependency)")


if __name__ == "__main__":
    main()
