"""Measure bptrace where it matters and print the figures (medians), with ratios to the floors.

    python benchmarks/run.py                      # N = 1,000 / 10,000 / 100,000 (a few minutes)
    python benchmarks/run.py --sizes 1000,10000   # quicker

Figures, per size N of a random network (benchmarks/generate.py):
  parse           reading the .bp text into statements (median of 3)
  parse+build     that and building the graph, every local derivative included (median of 3)
  engine          bptrace's forward+backward per node per step (the trace records, without a view),
                  the median of 5 to 20 steps, as are tape, json and batched
  tape            the same on the floor: a straight-line tape over Python floats (benchmarks/tape.py)
  micrograd       the same in micrograd 0.1.0, when installed (pip install -e '.[bench]'), on a
                  network of only what micrograd has (+ − × ÷ ^ relu); bptrace and the tape are
                  timed on that network too for its ratios
  batched         bptrace's forward+backward per node per sample, the input and target holding 1,000
                  samples (every step runs them all as numpy arrays); up to 10,000 nodes (100,000
                  would hold about 5 GB of arrays)
  json            a full --json trace per node per step, written to /dev/null
  render          the terminal's tables per row, every row shown (--all), on an 80-column console
  memory          peak RSS of `bptrace run --json` for 10 and for 1,000 steps (two_layer.bp)
  start-up        whole-process time of `bptrace --version` and `bptrace run networks/simple.bp
                  --steps 5`, beside a minimal typer app printing one small rich table; bptrace's
                  modules are byte-compiled first, as `pip install` does (with PYTHONDONTWRITEBYTECODE
                  set, an uncompiled copy would compile about 6,000 lines on every start)
"""

from __future__ import annotations

import argparse
import compileall
import gc
import io
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from generate import network  # noqa: E402
from tape import forward_backward, lower  # noqa: E402

from bptrace import jsonl  # noqa: E402
from bptrace.terminal import settle  # noqa: E402
from bptrace.graph import build  # noqa: E402
from bptrace.parser import parse  # noqa: E402
from bptrace.tracer import trace  # noqa: E402


def median_time(f, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def parse_and_build(text: str, repeat: int):
    """Return the median seconds to parse `text` and to parse and build it (collector off, as the CLI's), and the graph."""
    parsed, whole = [], []
    for _ in range(repeat):
        gc.disable()
        start = time.perf_counter()
        statements = parse(text)
        parsed.append(time.perf_counter() - start)
        graph = build(statements)
        whole.append(time.perf_counter() - start)
        gc.enable()
        del statements
    gc.collect()  # the graphs built before this one, before the collector freezes what is alive
    settle()
    return statistics.median(parsed), statistics.median(whole), graph


def built(text: str):
    gc.disable()
    try:
        return build(parse(text))
    finally:
        gc.enable()
        settle()  # the collector as the CLI sets it for a run


def engine_per_node(graph, nodes: int, steps: int) -> float:
    """Seconds per node of bptrace's trace, the median of steps 2 to steps + 1 (the first plans the run;
    the loss of the final params, one more forward pass after the last step, is not asked for)."""
    records = trace(graph, steps + 1)
    next(records)
    return median_time(lambda: next(records), steps) / nodes


def batched_per_sample(n: int, samples: int = 1000, steps: int = 5) -> float:
    """Seconds per node per sample of bptrace's trace with `samples` samples, the first step left out."""
    graph = built(network(n, samples=samples))
    return engine_per_node(graph, n, steps) / samples


def tape_per_node(graph, nodes: int, steps: int) -> float:
    ops, a, b, values, loss = lower(graph)
    return median_time(lambda: forward_backward(ops, a, b, list(values), loss), steps) / nodes


def micrograd_per_node(graph, nodes: int, steps: int) -> float | None:
    try:
        from micrograd.engine import Value
    except ImportError:
        return None
    from bptrace.syntax import Call, Name, Neg, Num

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * nodes + 1000))  # micrograd's topological sort recurses

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
                return x ** y
            return {"+": lambda: x + y, "-": lambda: x - y, "*": lambda: x * y, "/": lambda: x / y}[e.op]()

        for node in graph.nodes:
            env[node.name] = value(node.expr)
        env[graph.loss].backward()

    start = time.perf_counter()
    for _ in range(steps):
        one_step()
    return (time.perf_counter() - start) / steps / nodes


def json_per_node(graph, nodes: int, steps: int) -> float:
    """Seconds per node of a --json trace's step, the median of `steps`: the begin record and the first step left out."""
    sink = open(os.devnull, "w", encoding="utf-8")
    shape = jsonl.layout(graph, 8)
    sink.write(jsonl.line(jsonl.begin(graph, "net.bp", steps, 0.01, 8, shape)))
    step_line = jsonl.StepLines(graph, shape)  # as `bptrace run --json` writes them
    records = trace(graph, steps + 1)
    sink.write(step_line(next(records)))
    # As the engine figure: the final record's forward pass is left out of both.
    elapsed = median_time(lambda: sink.write(step_line(next(records))), steps)
    sink.close()
    return elapsed / nodes


def render_per_row(graph) -> tuple[float, int]:
    from bptrace.render import PipeConsole, View, render_step

    record = next(trace(graph, 1))
    console = PipeConsole(file=io.StringIO(), width=80, color_system=None)  # the CLI's console
    view = View(max_rows=None)
    start = time.perf_counter()
    console.print(render_step(graph, record, view))
    elapsed = time.perf_counter() - start
    rows = console.file.getvalue().count("\n")
    return elapsed / rows, rows


def peak_rss_mb(steps: int) -> float:
    code = (
        "import resource, sys; from bptrace.cli import main; sys.argv = ['bptrace', 'run', 'networks/two_layer.bp', "
        f"'--steps', '{steps}', '--json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return int(done.stderr.strip().splitlines()[-1]) / 1024


def process_seconds(argv: list[str], repeat: int) -> float:
    def once():
        subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    once()  # warm the file cache
    return median_time(once, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="network sizes, comma-separated")
    parser.add_argument("--repeat", type=int, default=5, help="repeats for the medians of small measurements")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"bptrace benchmarks — Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
    # Processes first: on Linux a child's peak RSS starts from its parent's, and big networks come later.
    low, high = peak_rss_mb(10), peak_rss_mb(1000)
    print(f"peak RSS, two_layer.bp --json: {low:.1f} MB for 10 steps, {high:.1f} MB for 1,000 ({high / low:.2f}×)")
    compileall.compile_dir(ROOT / "bptrace", quiet=1)  # what an installed copy runs: see the docstring
    typer_app = process_seconds([sys.executable, str(HERE / "minimal_app.py")], args.repeat)
    version = process_seconds([sys.executable, "-m", "bptrace", "--version"], args.repeat)
    simple = process_seconds([sys.executable, "-m", "bptrace", "run", "networks/simple.bp", "--steps", "5"], args.repeat)
    print(f"start-up (median of {args.repeat}): minimal typer app {typer_app * 1e3:.0f} ms; "
          f"bptrace --version {version * 1e3:.0f} ms ({version / typer_app:.2f}×); "
          f"bptrace run networks/simple.bp --steps 5 {simple * 1e3:.0f} ms ({simple / typer_app:.2f}×)\n", flush=True)
    print("| N | parse | parse+build | engine µs/node/step | tape µs/node/step | engine/tape | micrograd µs/node/step | "
          "engine/tape (basic) | micrograd/engine (basic) | batched ns/node/sample | json µs/node/step | json/engine | "
          "render µs/row |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    totals: dict[int, dict[str, float]] = {}  # per size: each figure as the cost of the whole network
    for n in sizes:
        text = network(n)
        steps = max(5, min(20, 200_000 // n))
        parse_only, parse_build, graph = parse_and_build(text, 3)
        engine = engine_per_node(graph, n, steps)
        floor = tape_per_node(graph, n, steps)
        basic = built(network(n, basic=True))
        engine_basic = engine_per_node(basic, n, steps)
        tape_basic = tape_per_node(basic, n, steps)
        micro = micrograd_per_node(basic, n, max(1, steps // 4))
        batched = f"{batched_per_sample(n) * 1e9:.1f}" if n <= 10_000 else "–"
        as_json = json_per_node(graph, n, max(3, steps // 4))
        row, _ = render_per_row(graph) if n <= 10_000 else (None, 0)  # 100,000 rows: minutes, and no one reads them
        micro_text = f"{micro * 1e6:.2f}" if micro else "not installed"
        micro_ratio = f"{micro / engine_basic:.2f}×" if micro else "–"
        print(f"| {n:,} | {parse_only:.2f} s | {parse_build:.2f} s | {engine * 1e6:.2f} | {floor * 1e6:.2f} | {engine / floor:.1f}× | {micro_text} | "
              f"{engine_basic / tape_basic:.1f}× | {micro_ratio} | {batched} | {as_json * 1e6:.2f} | {as_json / engine:.1f}× | "
              f"{f'{row * 1e6:.0f}' if row is not None else '–'} |", flush=True)
        totals[n] = {"parse": parse_only, "parse+build": parse_build, "engine": engine * n, "tape": floor * n,
                     "engine (basic)": engine_basic * n, "tape (basic)": tape_basic * n, "json": as_json * n}
    growth(totals)


def growth(totals: dict[int, dict[str, float]]) -> None:
    """Print what each figure of the largest network costs against the next smaller one (linear: the sizes' ratio)."""
    if len(totals) < 2:
        return
    small, large = sorted(totals)[-2:]
    ratios = ", ".join(f"{name} {totals[large][name] / totals[small][name]:.1f}×" for name in totals[large])
    print(f"\ngrowth from {small:,} to {large:,} nodes ({large / small:g}× the nodes): {ratios}")


if __name__ == "__main__":
    main()
