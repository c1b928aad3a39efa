"""Measure bptrace where it matters and print the figures (medians), with ratios to the floors.

    python benchmarks/run.py                      # N = 1,000 / 10,000 / 100,000 (a few minutes)
    python benchmarks/run.py --sizes 1000,10000   # quicker
    python benchmarks/run.py --window 1000        # nodes read only the 1,000 before them

Figures, per size N of a random network (benchmarks/generate.py):
  parse           reading the .bp text into statements (median of 3, in a fresh process: see
                  in_child)
  parse+build     that and building the graph, every local derivative included (median of 3)
  engine          bptrace's forward+backward per node per step (the trace records, without a view),
                  the median of 15 to 25 steps; these and the tape's and json's are timed in turns,
                  a block of steps of each size at a time, figure by figure, five rounds (see
                  alternating), each figure of each size in a process of its own that holds one
                  network, as the CLI's does (see Worker)
  tape            the same on the floor: a straight-line tape over Python floats
                  (benchmarks/tape.py)
  micrograd       the same in micrograd 0.1.0, when installed (pip install -e '.[bench]'), on a
                  network of only what micrograd has (+ − × ÷ ^ relu), the mean of its steps (in a
                  fresh process, after the turns); bptrace and the tape are timed on that network
                  too for its ratios
  batched         bptrace's forward+backward per node per sample, the input and target holding 1,000
                  samples (every step runs them all as numpy arrays), the median of 5 steps in a
                  fresh process; up to 10,000 nodes (100,000 would hold about 5 GB of arrays)
  json            a full --json trace per node per step, written to /dev/null
  growth          what each figure of the largest size costs against the next smaller one
  render          the terminal's tables per row, every row shown (--all), on an 80-column console
                  (in a fresh process)
  memory          peak RSS of `bptrace run --json` for 10 and for 1,000 steps (two_layer.bp)
  start-up        whole-process time of `bptrace --version` and `bptrace run networks/simple.bp
                  --steps 5`, beside a minimal typer app printing one small rich table, the median
                  of 9 with the three commands in turns; bptrace's modules are byte-compiled first,
                  as `pip install` does (with PYTHONDONTWRITEBYTECODE set, an uncompiled copy
                  would compile about 6,000 lines on every start)
"""

from __future__ import annotations

import argparse
import compileall
import gc
import io
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from generate import network  # noqa: E402
from tape import forward_backward, lower  # noqa: E402

from bptrace.cli.process import settle  # noqa: E402
from bptrace.engine.graph import build_graph  # noqa: E402
from bptrace.engine.tracer import trace  # noqa: E402
from bptrace.language.parser import parse  # noqa: E402
from bptrace.views import jsonl  # noqa: E402


def timed(f) -> float:
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def parse_and_build(text: str, repeat: int) -> tuple[float, float]:
    """Return the median seconds to parse `text` and to parse and build it (collector off, as the
    CLI's)."""
    parsed, whole = [], []
    for _ in range(repeat):
        gc.disable()
        start = time.perf_counter()
        statements = parse(text)
        parsed.append(time.perf_counter() - start)
        build_graph(statements)
        whole.append(time.perf_counter() - start)
        gc.enable()
        del statements
    return statistics.median(parsed), statistics.median(whole)


def built(text: str):
    gc.disable()
    try:
        graph = build_graph(parse(text))
    finally:
        gc.enable()
    settle(graph.samples is not None)  # the process as the CLI sets it for a run
    return graph


def engine_steps(graph) -> Callable[[], float]:
    """Return a function that runs one more step of bptrace's trace and returns its seconds.

    The first step, which also plans the run, is left out; so is the loss of the final params
    (one more forward pass after the last step), never asked for."""
    records = trace(graph, 10**9)
    next(records)
    return lambda: timed(records.__next__)


def batched_per_sample(
    n: int, window: int | None = None, samples: int = 1000, steps: int = 5
) -> float:
    """Seconds per node per sample of bptrace's trace with `samples` samples, the first step left
    out."""
    graph = built(network(n, samples=samples, window=window))
    step = engine_steps(graph)
    return statistics.median(step() for _ in range(steps)) / n / samples


def tape_steps(graph) -> Callable[[], float]:
    """Return a function that runs the floor's forward+backward pass once; return its seconds."""
    ops, a, b, values, loss = lower(graph)
    return lambda: timed(lambda: forward_backward(ops, a, b, list(values), loss))


def micrograd_per_node(nodes: int, steps: int, window: int | None = None) -> float | None:
    """Seconds per node of a micrograd step on the basic network of `nodes` nodes (None: not
    installed)."""
    try:
        from micrograd.engine import Value
    except ImportError:
        return None
    from bptrace.language.syntax import Call, Name, Neg, Num

    graph = built(network(nodes, basic=True, window=window))

    # micrograd's topological sort recurses
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * nodes + 1000))

    def one_step() -> None:
        env = {leaf.name: Value(float(leaf.value)) for leaf in graph.leaves}

        def value(e):
            if isinstance(e, Name):
                return env[e.id]
            if isinstance(e, Num):
                return float(e.value)
            if isinstance(e, Neg):
                return -value(e.operand)
            if isinstance(e, Call):
                return value(e.args[0]).relu()
            x, y = value(e.left), value(e.right)
            if e.op == "^":
                return x**y
            return {"+": lambda: x + y, "-": lambda: x - y, "*": lambda: x * y, "/": lambda: x / y}[
                e.op
            ]()

        for node in graph.nodes:
            env[node.name] = value(node.expr)
        env[graph.loss].backward()

    start = time.perf_counter()
    for _ in range(steps):
        one_step()
    return (time.perf_counter() - start) / steps / nodes


def json_steps(graph) -> Callable[[], float]:
    """Return a function that writes one more step of a --json trace to /dev/null and returns its
    seconds.

    The begin record and the first step are left out, and, as for the engine, the final record's
    forward pass."""
    sink = open(os.devnull, "w", encoding="utf-8")
    shape = jsonl.layout(graph, 8)
    sink.write(jsonl.line(jsonl.begin(graph, "net.bp", 10**9, 0.01, 8, shape)))
    step_line = jsonl.StepLines(graph, shape)  # as `bptrace run --json` writes them
    records = trace(graph, 10**9)
    sink.write(step_line(next(records)))
    return lambda: timed(lambda: sink.write(step_line(next(records))))


FIGURES = {  # what times a step of each figure, and on which network
    "engine": (engine_steps, False),
    "tape": (tape_steps, False),
    "engine (basic)": (engine_steps, True),
    "tape (basic)": (tape_steps, True),
    "json": (json_steps, False),
}


def serve(figure: str, n: int, window: int | None = None) -> None:
    """Build the network of `n` nodes and time blocks of steps of `figure` on it, as a Worker asks:
    a line with k in, one untimed step and k timed ones run, their seconds out as a JSON line."""
    make, basic = FIGURES[figure]
    step = make(built(network(n, basic=basic, window=window)))
    print("ready", flush=True)
    for line in sys.stdin:
        step()  # untimed: brings the block's data back into the caches
        print(json.dumps([step() for _ in range(int(line))]), flush=True)


class Worker:
    """A process that holds one network and times one figure's steps on it (see serve).

    Each figure of each size has a process of its own, as a run of the CLI holds one network. In
    one process holding them all, a step's cost depended on what the benchmark had built there
    before it: graphs built and thrown away leave holes in the heap that the steps' floats then
    fill, scattered (that made the engine at 10,000 nodes 1.5 times the floor instead of 1.2),
    and which network was built after which changed the growth from 10,000 to 100,000 nodes from
    11× to 15×."""

    def __init__(self, figure: str, n: int, window: int | None = None) -> None:
        code = (
            f"import sys; sys.path.insert(0, {str(HERE)!r}); import run; "
            f"run.serve({figure!r}, {n}, {window})"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ready(self) -> None:
        if self.process.stdout.readline().strip() != "ready":
            raise SystemExit(f"a benchmark worker failed (exit code {self.process.wait()})")

    def block(self, k: int) -> list[float]:
        """Return the seconds of each of k steps, run back to back after an untimed one."""
        self.process.stdin.write(f"{k}\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def alternating(
    blocks: dict[tuple[str, int], Callable[[int], list[float]]], steps: dict[int, int], rounds: int
) -> dict[tuple[str, int], float]:
    """Time each (figure, size)'s `steps[size]` steps in a block, the blocks in turn, `rounds`
    times; return each one's median step.

    The machine's speed drifts by 2× within minutes: timed one size after the other, the sizes
    would be measured at different speeds, and their ratio (the growth) would be the drift's. In
    turns, each figure of each size is timed across the same minutes. Within a block the steps
    run back to back, as in a run, after one untimed step that brings the block's data back into
    the caches."""
    times: dict[tuple[str, int], list[float]] = {key: [] for key in blocks}
    for _ in range(rounds):
        for key, block in blocks.items():
            times[key] += block(steps[key[1]])
    return {key: statistics.median(seconds) for key, seconds in times.items()}


def render_per_row(n: int, window: int | None = None) -> float:
    """Seconds per printed line of the terminal's tables of a step of the network of `n` nodes,
    every row shown."""
    from bptrace.views.terminal.steps import PipeConsole, View, render_step

    graph = built(network(n, window=window))
    record = next(trace(graph, 1))
    console = PipeConsole(file=io.StringIO(), width=80, color_system=None)  # the CLI's console
    view = View(max_rows=None)
    start = time.perf_counter()
    console.print(render_step(graph, record, view))
    elapsed = time.perf_counter() - start
    return elapsed / console.file.getvalue().count("\n")


def peak_rss_mb(steps: int) -> float:
    code = (
        "import resource, sys; from bptrace.cli.app import main; sys.argv = ['bptrace', 'run', "
        "'networks/two_layer.bp', "
        f"'--steps', '{steps}', '--json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return int(done.stderr.strip().splitlines()[-1]) / 1024


def in_child(call: str):
    """Return what `call` (of a function of this module, as `run.f(…)`) returns, run in a fresh
    Python process.

    Parsing and the batched steps are timed each in a process of its own, on a heap like the
    CLI's, not on one that holds every network and trace of this run (which made parsing 100,000
    lines take 2.4 s instead of 1.5, and a batched step a third longer)."""
    code = (
        f"import json, sys; sys.path.insert(0, {str(HERE)!r}); import run; "
        f"print(json.dumps({call}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.splitlines()[-1])


def process_seconds(commands: dict[str, list[str]], repeat: int) -> dict[str, float]:
    """Return each command's median whole-process seconds, the commands run in turns (see
    alternating)."""

    def once(argv: list[str]) -> float:
        return timed(
            lambda: subprocess.run(
                argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
            )
        )

    for argv in commands.values():
        once(argv)  # warm the file cache
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, argv in commands.items():
            times[name].append(once(argv))
    return {name: statistics.median(seconds) for name, seconds in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="1000,10000,100000", help="network sizes, comma-separated"
    )
    parser.add_argument(
        "--repeat", type=int, default=9, help="repeats for the medians of the start-up times"
    )
    parser.add_argument(
        "--window",
        type=int,
        metavar="K",
        help="networks whose nodes read one of the K nodes before them "
        "(generate.py --window; default: any earlier node)",
    )
    args = parser.parse_args()
    if args.window is not None and args.window < 1:
        parser.error("--window must be at least 1")
    sizes, window = [int(s) for s in args.sizes.split(",")], args.window
    shape = f"; each node reads one of the {window:,} before it" if window else ""
    print(f"bptrace benchmarks — Python {sys.version.split()[0]}, {os.cpu_count()} CPUs{shape}\n")
    # Processes first: on Linux a child's peak RSS starts from its parent's, and big networks come
    # later.
    low, high = peak_rss_mb(10), peak_rss_mb(1000)
    print(
        f"peak RSS, two_layer.bp --json: {low:.1f} MB for 10 steps, {high:.1f} MB for 1,000 "
        f"({high / low:.2f}×)"
    )
    # what an installed copy runs: see the docstring
    compileall.compile_dir(ROOT / "bptrace", quiet=1)
    started = process_seconds(
        {
            "typer": [sys.executable, str(HERE / "minimal_app.py")],
            "version": [sys.executable, "-m", "bptrace", "--version"],
            "run": [sys.executable, "-m", "bptrace", "run", "networks/simple.bp", "--steps", "5"],
        },
        args.repeat,
    )
    typer_app, version, simple = started["typer"], started["version"], started["run"]
    print(
        f"start-up (median of {args.repeat}, in turns): minimal typer app {typer_app * 1e3:.0f} "
        "ms; "
        f"bptrace --version {version * 1e3:.0f} ms ({version / typer_app:.2f}×); "
        f"bptrace run networks/simple.bp --steps 5 {simple * 1e3:.0f} ms "
        f"({simple / typer_app:.2f}×)\n",
        flush=True,
    )
    print(
        "| N | parse | parse+build | engine µs/node/step | tape µs/node/step | engine/tape | "
        "micrograd µs/node/step | "
        "engine/tape (basic) | micrograd/engine (basic) | batched ns/node/sample | json "
        "µs/node/step | json/engine | "
        "render µs/row |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    steps = {n: max(5, min(20, 200_000 // n)) for n in sizes}
    # built side by side
    workers = {(figure, n): Worker(figure, n, window) for figure in FIGURES for n in sizes}
    for worker in workers.values():
        worker.ready()
    per_step = alternating(
        {key: worker.block for key, worker in workers.items()},
        {n: max(3, steps[n] // 4) for n in sizes},
        rounds=5,
    )
    for worker in workers.values():
        worker.close()
    # per size: each figure as the cost of the whole network
    totals: dict[int, dict[str, float]] = {}
    for n in sizes:
        parse_only, parse_build = in_child(
            f"run.parse_and_build(run.network({n}, window={window}), 3)"
        )
        engine, floor, as_json = (per_step[name, n] / n for name in ("engine", "tape", "json"))
        engine_basic, tape_basic = (
            per_step[name, n] / n for name in ("engine (basic)", "tape (basic)")
        )
        micro = in_child(f"run.micrograd_per_node({n}, {max(1, steps[n] // 4)}, {window})")
        batched = (
            f"{in_child(f'run.batched_per_sample({n}, {window})') * 1e9:.1f}"
            if n <= 10_000
            else "–"
        )
        # 100,000 rows: minutes, and no one reads them
        row = in_child(f"run.render_per_row({n}, {window})") if n <= 10_000 else None
        micro_text = f"{micro * 1e6:.2f}" if micro else "not installed"
        micro_ratio = f"{micro / engine_basic:.2f}×" if micro else "–"
        print(
            f"| {n:,} | {parse_only:.2f} s | {parse_build:.2f} s | {engine * 1e6:.2f} | "
            f"{floor * 1e6:.2f} | {engine / floor:.1f}× | {micro_text} | "
            f"{engine_basic / tape_basic:.1f}× | {micro_ratio} | {batched} | {as_json * 1e6:.2f} | "
            f"{as_json / engine:.1f}× | "
            f"{f'{row * 1e6:.0f}' if row is not None else '–'} |",
            flush=True,
        )
        totals[n] = {
            "parse": parse_only,
            "parse+build": parse_build,
            **{name: per_step[name, n] for name in FIGURES},
        }
    growth(totals)


def growth(totals: dict[int, dict[str, float]]) -> None:
    """Print what each figure of the largest network costs against the next smaller one (linear: the
    sizes' ratio)."""
    if len(totals) < 2:
        return
    small, large = sorted(totals)[-2:]
    ratios = ", ".join(
        f"{name} {totals[large][name] / totals[small][name]:.1f}×" for name in totals[large]
    )
    print(f"\ngrowth from {small:,} to {large:,} nodes ({large / small:g}× the nodes): {ratios}")


if __name__ == "__main__":
    main()
