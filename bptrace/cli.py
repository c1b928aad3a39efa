"""The command line: read files, call the pure core, print results to stdout and diagnostics to stderr."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from bptrace import __version__
from bptrace.errors import (
    EXIT_CHECK,
    EXIT_FILE,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_NETWORK,
    BptraceError,
    NetworkError,
)

app = typer.Typer(
    name="bptrace",
    help="Trace backpropagation step by step: forward values, local derivatives, chain-rule products and updates.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class FileProblem(BptraceError):
    """A .bp file that cannot be read as text."""

    exit_code = EXIT_FILE


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bptrace {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Trace backpropagation step by step through a network written in a .bp file."""


def _at_least(low: int, high: int | None = None):
    def check(value: int) -> int:
        if value < low or (high is not None and value > high):
            raise typer.BadParameter(f"must be a whole number from {low} to {high}" if high else f"must be at least {low}")
        return value

    return check


@app.command()
def run(
    file: Annotated[Path, typer.Argument(help="The .bp network to train.", show_default=False, metavar="FILE")],
    steps: Annotated[int, typer.Option("--steps", "-n", metavar="N", callback=_at_least(1), help="Training steps to run.")] = 1,
    lr: Annotated[Optional[float], typer.Option("--lr", metavar="A", help="Learning rate α (0 or more); overrides `set lr` in the file.", show_default="the file's, or 0.1")] = None,
    precision: Annotated[int, typer.Option("--precision", "-p", metavar="P", callback=_at_least(1, 17), help="Significant digits shown, 1 to 17 (the engine keeps full float64).")] = 4,
    show: Annotated[str, typer.Option("--show", metavar="TABLES", show_default=False, help="Tables to show, comma-separated, from forward,partials,chains,updates (default: all four).")] = "forward,partials,chains,updates",
    max_paths: Annotated[int, typer.Option("--max-paths", metavar="K", callback=_at_least(1), help="Chain-rule paths listed per parameter; the rest, and any path of more than 100 factors, are counted exactly.")] = 8,
    ascii_math: Annotated[bool, typer.Option("--ascii", help="Write math in plain ASCII (dL/dw1, *, sigmoid) instead of ∂L/∂w₁, ·, σ.")] = False,
    json_lines: Annotated[bool, typer.Option("--json", help="Write the trace as JSON Lines (see `bptrace schema`) instead of tables.")] = False,
    all_rows: Annotated[bool, typer.Option("--all", help="Show every row of every table; by default a table of more than 60 rows shows its first 50 and last 10.")] = False,
    export: Annotated[Optional[Path], typer.Option("--export", metavar="FILE", help="Also save what the terminal shows, in colour, as FILE.html or FILE.svg (for slides).", show_default=False)] = None,
    form: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help="text (the terminal), markdown or latex (tables for handouts and worksheets).")] = "text",
    blank: Annotated[Optional[str], typer.Option("--blank", metavar="TABLES", help="Make a worksheet: leave the answer columns of these tables empty (markdown or latex).", show_default=False)] = None,
    key: Annotated[Optional[Path], typer.Option("--key", metavar="FILE", help="With --blank, also write the answer key (the same tables, filled in) to FILE.", show_default=False)] = None,
) -> None:
    """Train the network in FILE and print every step's forward pass, local derivatives, chain rule and updates."""
    from bptrace.render import SECTIONS

    sections = _sections(show, SECTIONS)
    _check_lr(lr)
    if export is not None and export.suffix.lower() not in (".html", ".svg"):
        raise typer.BadParameter(f"'{export}' must end in .html or .svg", param_hint="'--export'")
    if export is not None and json_lines:
        raise typer.BadParameter("exports the tables; it cannot be used with --json", param_hint="'--export'")
    if form not in RUN_FORMATS:
        raise typer.BadParameter(f"unknown format '{form}'; choose from {', '.join(RUN_FORMATS)}", param_hint="'--format'")
    if form != "text" and (json_lines or export is not None):
        raise typer.BadParameter("writes the tables as text; it cannot be used with --json or --export", param_hint="'--format'")
    blanks = frozenset(_sections(blank, SECTIONS, "--blank")) if blank is not None else frozenset()
    if blanks and form == "text":
        raise typer.BadParameter("makes a worksheet: use it with --format markdown or latex", param_hint="'--blank'")
    if key is not None and not blanks:
        raise typer.BadParameter("is the answer key of a worksheet: use it with --blank", param_hint="'--key'")
    if form != "text":
        _guarded(file, lambda source: _run_handout(source, steps, lr, precision, sections, max_paths, all_rows, str(file), form, blanks, key))
    elif json_lines:
        _guarded(file, lambda source: _run_json(source, steps, lr, max_paths, str(file)))
    else:
        _guarded(file, lambda source: _run(source, steps, lr, precision, sections, max_paths, ascii_math, all_rows, str(file), export))


def _check_lr(lr: float | None) -> None:
    if lr is not None and not (_finite(lr) and lr >= 0):
        raise typer.BadParameter("must be a finite number, 0 or more", param_hint="'--lr'")


def _guarded(file: Path, command):
    """Read FILE and run `command` on its text, turning every way it can stop into a message and an exit code."""
    source = ""
    try:
        source = _read(file)
        return command(source)
    except (BptraceError, RecursionError) as error:
        raise typer.Exit(_report(error, str(file), source)) from None
    except KeyboardInterrupt:
        _stderr().print("bptrace: interrupted", markup=False)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as Unix tools do.
        _silence_stdout()
        raise typer.Exit(0) from None
    except OSError as error:  # the output cannot be written: a full disk, a closed terminal
        _silence_stdout()
        _stderr().print(f"bptrace: error: cannot write the output: {error.strerror or error}", markup=False)
        raise typer.Exit(EXIT_FILE) from None


def _run(source: str, steps: int, lr, precision: int, sections, max_paths: int, ascii_math: bool, all_rows: bool, filename: str, export: Path | None = None) -> None:
    from bptrace.errors import NumericFault
    from bptrace.render import MAX_ROWS, PipeConsole, View, render_final, render_step, render_stopped
    from bptrace.tracer import Step, trace

    graph = _build(source, filename)
    out = PipeConsole(highlight=False, soft_wrap=False)
    if export is not None:
        from bptrace.export import Recorder

        out = Recorder(out, f"bptrace run {filename}")
    view = View(sections, precision, _notation(out.out if export else out, ascii_math), None if all_rows else MAX_ROWS)
    first = None
    try:
        with _Interrupts() as interrupts:
            try:
                for record in trace(graph, steps, lr, max_paths):
                    if isinstance(record, Step):
                        first = first or record
                        out.print(render_step(graph, record, view))
                    else:
                        out.print(render_final(graph, first, record, view))
                    interrupts.check()
            except NumericFault as fault:
                if "forward" in sections and fault.computed is not None:
                    out.print(render_stopped(graph, fault, view))  # everything computed up to the fault
                raise
    finally:
        if export is not None:  # what was shown, up to a fault or an interrupt too
            try:
                out.save(export)
            except OSError as error:
                raise FileProblem(f"cannot write {export}: {error.strerror or error}") from None


RUN_FORMATS = ("text", "markdown", "latex")


def _run_handout(source: str, steps: int, lr, precision: int, sections, max_paths: int, all_rows: bool, filename: str,
                 form: str, blanks: frozenset[str], key: Path | None) -> None:
    """Write the tables as Markdown or LaTeX as they are computed; with blanks, the filled-in key to `key`."""
    import itertools

    from bptrace import handout
    from bptrace.render import MAX_ROWS
    from bptrace.tracer import trace

    graph = _build(source, filename)
    write = handout.markdown if form == "markdown" else handout.latex_document
    max_rows = None if all_rows else MAX_ROWS
    sheet = handout.Sheet(sections, blanks, precision, max_rows)
    worksheet_records, key_records = itertools.tee(trace(graph, steps, lr, max_paths))
    worksheet = write(graph, worksheet_records, sheet, f"bptrace run {filename}" + (" (worksheet)" if blanks else ""))
    # The key has the same chunks with nothing blank, so both advance together, a record apart at most.
    answers = write(graph, key_records, handout.Sheet(sections, frozenset(), precision, max_rows), f"bptrace run {filename} (answer key)")
    filled: list[str] = []
    with _Interrupts() as interrupts:
        try:
            for chunk, answer in zip(worksheet, answers if key is not None else itertools.repeat("")):
                _write_utf8(chunk)  # Markdown and LaTeX files are UTF-8, whatever the locale
                filled.append(answer)
                interrupts.check()
        except BaseException:
            _write_utf8(handout.ending(form))  # a document that stopped early is still well formed
            raise
    if key is not None:
        _save(key, "".join(filled))


def _write_utf8(text: str) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.buffer.flush()


def _save(path: Path, text: str) -> None:
    """Write `text` to `path` at once (a temporary file renamed), or raise FileProblem."""
    import os

    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise FileProblem(f"cannot write {path}: {error.strerror or error}") from None


def _run_json(source: str, steps: int, lr, max_paths: int, filename: str) -> None:
    from bptrace import jsonl
    from bptrace.errors import NumericFault
    from bptrace.tracer import Step, trace

    graph = _build(source, filename)
    err = _stderr()

    def write(record: dict) -> None:
        # UTF-8 whatever the locale (RFC 8259), flushed at once for `tail -f` and pipes, with
        # SIGINT and SIGTERM held until the line is out, so no line is ever cut in half.
        data = jsonl.line(record).encode("utf-8")
        with _signals_held():
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()

    rate = graph.settings["lr"] if lr is None else lr
    done, reported = 0, set()
    params = graph.initial_params()
    try:
        with _Interrupts() as interrupts:
            write(jsonl.begin(graph, filename, steps, rate, max_paths))
            for record in trace(graph, steps, lr, max_paths):
                interrupts.check()  # a signal during the final evaluation counts too
                if not isinstance(record, Step):
                    write(jsonl.end(record))
                    continue
                write(jsonl.step(graph, record))
                done, params = record.step, {u.param: u.after for u in record.updates}
                for what in jsonl.non_finite(record, graph.loss):
                    if what not in reported:
                        reported.add(what)
                        err.print(f"bptrace: warning: step {record.step}: {what} is not a finite number; "
                                  "the trace writes it as a string", markup=False)
                interrupts.check()  # after the write: every step computed is in the trace
    except NumericFault as fault:
        error = {"kind": "numeric", "message": str(fault), "where": fault.where}
        error.update({"final": True} if fault.final else {"step": fault.step})
        if fault.span is not None and fault.span.line:
            error.update(line=fault.span.line, col=fault.span.col)
        write(jsonl.end_with_error(done, params, error))
        raise
    except KeyboardInterrupt:
        write(jsonl.end_with_error(done, params, {"kind": "interrupted", "message": f"interrupted after step {done}"}))
        raise


def _build(source: str, filename: str):
    """Return the graph of `source`, its warnings printed to stderr."""
    import gc

    from bptrace.graph import build
    from bptrace.parser import parse

    # Parsing allocates millions of small acyclic objects that all survive; the cycle collector
    # would walk them again and again (half the time of a 100,000-line network). Frozen, the
    # graph is never walked again while the run goes on.
    gc.disable()
    try:
        graph = build(parse(source))
    finally:
        gc.enable()
    gc.freeze()
    err = _stderr()
    for w in graph.warnings:
        _diagnose(err, filename, source, w.span, w.message, w.hint, "warning")
    return graph


class _signals_held:
    """Hold SIGINT and SIGTERM while a line is written; they arrive the moment it is out.

    The previous signal mask is restored afterwards, so signals a parent blocked stay blocked.
    The price: while a reader has stopped reading, Ctrl-C waits for it (`kill -9` does not).
    """

    def __enter__(self) -> None:
        import signal

        self.previous = None
        if hasattr(signal, "pthread_sigmask"):
            self.previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})

    def __exit__(self, *exc) -> None:
        import signal

        if self.previous is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, self.previous)


class _Interrupts:
    """Defer Ctrl-C to the next step boundary, so no table or JSON line is cut in half.

    A second Ctrl-C stops at once. A SIGINT that the parent ignores stays ignored.
    """

    def __enter__(self) -> _Interrupts:
        import signal

        self.pending = False
        self.previous = {}
        for sig in (signal.SIGINT, signal.SIGTERM):  # `timeout` and `kill` stop a run as Ctrl-C does
            if signal.getsignal(sig) is not signal.SIG_IGN:
                try:
                    self.previous[sig] = signal.signal(sig, self._handle)
                except ValueError:  # not the main thread: leave Python's default
                    pass
        return self

    def _handle(self, signum, frame) -> None:
        if self.pending:
            raise KeyboardInterrupt
        self.pending = True

    def check(self) -> None:
        if self.pending:
            raise KeyboardInterrupt

    def __exit__(self, *exc) -> None:
        import signal

        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


@app.command()
def check(
    file: Annotated[Path, typer.Argument(help="The .bp network to check.", show_default=False, metavar="FILE")],
    steps: Annotated[int, typer.Option("--steps", "-n", metavar="N", callback=_at_least(1), help="Check at each of the first N steps of training.")] = 1,
    lr: Annotated[Optional[float], typer.Option("--lr", metavar="A", help="Learning rate α along the way; overrides `set lr`.", show_default="the file's, or 0.1")] = None,
    precision: Annotated[int, typer.Option("--precision", "-p", metavar="P", callback=_at_least(1, 17), help="Significant digits shown.")] = 6,
) -> None:
    """Compare every gradient with central finite differences, node by node, and exit 6 on any mismatch."""
    _check_lr(lr)
    if _guarded(file, lambda source: _check(source, steps, lr, precision, str(file))):
        raise typer.Exit(EXIT_CHECK)


def _check(source: str, steps: int, lr, precision: int, filename: str) -> int:
    """Print the check of each step; report each mismatch on stderr; return how many there were."""
    from bptrace.check import check as check_steps
    from bptrace.printer import ASCII, MATH, show
    from bptrace.render import PipeConsole, View, render_check

    graph = _build(source, filename)
    out = PipeConsole(highlight=False, soft_wrap=False)
    view = View(precision=precision, notation=MATH if out.encoding.lower().startswith("utf") else ASCII)
    err = _stderr()
    failures = 0
    nodes = {node.name: node for node in graph.nodes}
    with _Interrupts() as interrupts:
        for checked in check_steps(graph, steps, lr):
            out.print(render_check(graph, checked, view))
            blamed = set()
            for g in checked.grads:
                if g.result.status != "mismatch":
                    continue
                failures += 1
                message = (f"step {checked.step}: dL/d{g.param} is {g.result.analytic:.9g} by backprop "
                           f"but {g.result.numeric:.9g} by finite differences")
                if g.culprit is None:
                    err.print(f"bptrace: error: {message}", markup=False)
                    continue
                edge, local = g.culprit.edge, g.culprit.result
                blamed.add((edge.of, edge.wrt))
                message += (f"; the first wrong local derivative is d{edge.of}/d{edge.wrt} = {show(edge.formula)}, "
                            f"{local.analytic:.9g} instead of {local.numeric:.9g}")
                _diagnose(err, filename, source, nodes[edge.of].expr.span, message, None)
            for p in checked.partials:  # a wrong local derivative fails the check even when no gradient shows it
                edge, local = p.edge, p.result
                if local.status == "mismatch" and (edge.of, edge.wrt) not in blamed:
                    failures += 1
                    message = (f"step {checked.step}: the local derivative d{edge.of}/d{edge.wrt} = {show(edge.formula)} "
                               f"is {local.analytic:.9g}, but {local.numeric:.9g} by finite differences")
                    _diagnose(err, filename, source, nodes[edge.of].expr.span, message, None)
            interrupts.check()
    if not failures:
        out.print(f"All gradients agree with finite differences "
                  f"(step h = {EPS_TEXT}·max(1, |x|), |analytic − numeric| ≤ {ATOL_TEXT} + {RTOL_TEXT}·|numeric|).",
                  markup=False, highlight=False)
    return failures


EPS_TEXT, ATOL_TEXT, RTOL_TEXT = "1e-6", "1e-5", "1e-3"


@app.command()
def explain(
    file: Annotated[Path, typer.Argument(help="The .bp network to explain.", show_default=False, metavar="FILE")],
    params: Annotated[Optional[list[str]], typer.Argument(help="Params whose chains to write (default: every param).", show_default=False, metavar="[PARAM]...")] = None,
    latex: Annotated[bool, typer.Option("--latex", help="Write the answers as LaTeX (amsmath) to paste into slides.")] = False,
    max_paths: Annotated[int, typer.Option("--max-paths", metavar="K", callback=_at_least(1), help="Chain-rule paths written per parameter; the rest are counted exactly.")] = 8,
    ascii_math: Annotated[bool, typer.Option("--ascii", help="Write math in plain ASCII (dL/dw1) instead of ∂L/∂w₁.")] = False,
    all_rows: Annotated[bool, typer.Option("--all", help="Show every row of every table.")] = False,
) -> None:
    """Answer the handout's five questions for FILE: gradient size, local partials, each chain and its length."""
    _guarded(file, lambda source: _explain(source, tuple(params or ()), latex, max_paths, ascii_math, all_rows, str(file)))


def _explain(source: str, params: tuple[str, ...], latex: bool, max_paths: int, ascii_math: bool, all_rows: bool, filename: str) -> None:
    from bptrace.explain import explain as answer

    graph = _build(source, filename)
    _check_params(graph, params, filename)
    answers = answer(graph, params, max_paths)
    title = f"bptrace explain {filename}"
    if latex:
        from bptrace.latex import explanation

        typer.echo(explanation(answers, title), nl=False)
        return
    from bptrace.render import MAX_ROWS, PipeConsole, View
    from bptrace.render_explain import render_explain

    out = PipeConsole(highlight=False, soft_wrap=False)
    view = View(precision=4, notation=_notation(out, ascii_math), max_rows=None if all_rows else MAX_ROWS)
    out.print(render_explain(graph, answers, view, f"Questions about {filename}"))


GRAPH_FORMATS = ("text", "dot", "mermaid")


@app.command()
def graph(
    file: Annotated[Path, typer.Argument(help="The .bp network to draw.", show_default=False, metavar="FILE")],
    form: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help="text (the terminal), dot (Graphviz) or mermaid.")] = "text",
    step: Annotated[Optional[int], typer.Option("--step", metavar="K", callback=lambda v: v if v is None else _at_least(1)(v), help="Annotate nodes with their value and ∂L/∂node, and edges with their local derivative, at step K.", show_default=False)] = None,
    lr: Annotated[Optional[float], typer.Option("--lr", metavar="A", help="Learning rate α for the steps before K; overrides `set lr`.", show_default="the file's, or 0.1")] = None,
    precision: Annotated[int, typer.Option("--precision", "-p", metavar="P", callback=_at_least(1, 17), help="Significant digits shown.")] = 4,
    ascii_math: Annotated[bool, typer.Option("--ascii", help="Write math in plain ASCII (dL/dw1) instead of ∂L/∂w₁.")] = False,
    all_rows: Annotated[bool, typer.Option("--all", help="Show every node of every layer (text format).")] = False,
) -> None:
    """Draw the computational graph of FILE, layered from inputs and params to the loss."""
    if form not in GRAPH_FORMATS:
        raise typer.BadParameter(f"unknown format '{form}'; choose from {', '.join(GRAPH_FORMATS)}", param_hint="'--format'")
    _check_lr(lr)
    _guarded(file, lambda source: _graph(source, form, step, lr, precision, ascii_math, all_rows, str(file)))


def _graph(source: str, form: str, step: int | None, lr, precision: int, ascii_math: bool, all_rows: bool, filename: str) -> None:
    from bptrace.drawing import Labels, dot, mermaid
    from bptrace.render import MAX_ROWS, PipeConsole, View
    from bptrace.tracer import Step, trace

    graph = _build(source, filename)
    out = PipeConsole(highlight=False, soft_wrap=False)
    notation = _notation(out, ascii_math)
    record = None
    if step is not None:
        for record in trace(graph, step, lr, max_paths=1):
            if isinstance(record, Step) and record.step == step:
                break
    labels = Labels(notation, record, precision)
    title = Path(filename).stem
    if form == "dot":
        typer.echo(dot(graph, labels, title), nl=False)
    elif form == "mermaid":
        typer.echo(mermaid(graph, labels), nl=False)
    else:
        from bptrace.render_graph import render_graph

        when = f" at step {step}" if step else ""
        view = View(precision=precision, notation=notation, max_rows=None if all_rows else MAX_ROWS)
        out.print(render_graph(graph, labels, view, f"Computational graph of {filename}{when}"))


@app.command()
def nudge(
    file: Annotated[Path, typer.Argument(help="The .bp network.", show_default=False, metavar="FILE")],
    param: Annotated[str, typer.Argument(help="The param to nudge.", show_default=False, metavar="PARAM")],
    by: Annotated[float, typer.Option("--by", metavar="D", help="The nudge Δ added to the param (not 0); 10Δ, Δ/10 and Δ/100 are shown too.")] = 1e-3,
    step: Annotated[int, typer.Option("--step", metavar="K", callback=_at_least(1), help="Nudge the param as it is at step K of training.")] = 1,
    lr: Annotated[Optional[float], typer.Option("--lr", metavar="A", help="Learning rate α for the steps before K; overrides `set lr`.", show_default="the file's, or 0.1")] = None,
    precision: Annotated[int, typer.Option("--precision", "-p", metavar="P", callback=_at_least(1, 17), help="Significant digits shown.")] = 4,
    ascii_math: Annotated[bool, typer.Option("--ascii", help="Write math in plain ASCII (dL/dw1) instead of ∂L/∂w₁.")] = False,
) -> None:
    """Change PARAM a little: the gradient's predicted loss change beside the actual one, from the forward pass."""
    if not (_finite(by) and by != 0):
        raise typer.BadParameter("must be a finite number other than 0", param_hint="'--by'")
    _check_lr(lr)
    _guarded(file, lambda source: _nudge(source, param, by, step, lr, precision, ascii_math, str(file)))


def _nudge(source: str, param: str, by: float, step: int, lr, precision: int, ascii_math: bool, filename: str) -> None:
    from bptrace.nudge import nudge as nudged
    from bptrace.render import PipeConsole, View
    from bptrace.render_nudge import render_nudge

    graph = _build(source, filename)
    _check_params(graph, (param,), filename)
    report = nudged(graph, param, by, step, lr)
    out = PipeConsole(highlight=False, soft_wrap=False)
    view = View(precision=precision, notation=_notation(out, ascii_math))
    when = "its declared value" if step == 1 else f"step {step}"
    out.print(render_nudge(report, graph.loss, view, f"Nudging {param} in {filename}, at {when}"))


def _check_params(graph, params, filename: str) -> None:
    from bptrace.diagnostics import did_you_mean

    for name in params:
        if name not in graph.params:
            hint = did_you_mean(name, graph.params) or f"its params are {', '.join(graph.params) or 'none'}"
            raise typer.BadParameter(f"'{name}' is not a param of {filename}; {hint}", param_hint="PARAM")


def _notation(out, ascii_math: bool):
    """Return the notation for math on `out`: slide math, or plain text where asked or where Unicode cannot show."""
    from bptrace.printer import ASCII, BP, MATH

    return ASCII if not out.encoding.lower().startswith("utf") else BP if ascii_math else MATH


@app.command()
def schema() -> None:
    """Print the JSON Schema of the records `bptrace run --json` writes."""
    from importlib.resources import files

    typer.echo(files("bptrace").joinpath("schema/trace.schema.json").read_text(encoding="utf-8"), nl=False)


def _report(error: BptraceError | RecursionError, filename: str, source: str) -> int:
    """Print `error` to stderr as a diagnostic and return its exit code."""
    err = _stderr()
    if isinstance(error, RecursionError):
        err.print(f"{filename}: error: the network is nested too deeply to process", markup=False)
        return EXIT_NETWORK
    if isinstance(error, NetworkError) or getattr(error, "span", None) is not None:
        _diagnose(err, filename, source, error.span, error.message, getattr(error, "hint", None))
    else:
        err.print(f"bptrace: error: {error}", markup=False)
    return error.exit_code


def _read(file: Path) -> str:
    try:
        data = file.read_bytes()
    except IsADirectoryError:
        raise FileProblem(f"{file}: is a directory, not a .bp file") from None
    except FileNotFoundError:
        raise FileProblem(f"{file}: no such file") from None
    except OSError as e:
        raise FileProblem(f"{file}: cannot read: {e.strerror or e}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FileProblem(f"{file}: not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})") from None
    if "\x00" in text:
        raise FileProblem(f"{file}: a binary file, not a .bp file (it contains NUL bytes)")
    return text.removeprefix("\ufeff")


def _sections(show: str, known: tuple[str, ...], option: str = "--show") -> tuple[str, ...]:
    from bptrace.diagnostics import did_you_mean

    chosen = tuple(s.strip() for s in show.split(",") if s.strip())
    for s in chosen:
        if s not in known:
            hint = did_you_mean(s, known) or f"choose from {','.join(known)}"
            raise typer.BadParameter(f"unknown table '{s}'; {hint}", param_hint=f"'{option}'")
    if not chosen:
        raise typer.BadParameter(f"choose at least one of {','.join(known)}", param_hint=f"'{option}'")
    return tuple(s for s in known if s in chosen)


def _finite(x: float) -> bool:
    return x == x and abs(x) != float("inf")


def _stderr():
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _diagnose(err, filename: str, source: str, span, message: str, hint, severity: str = "error") -> None:
    from rich.text import Text

    from bptrace.diagnostics import format_diagnostic

    text = Text(format_diagnostic(filename, source, span, message, hint, severity))
    colour = "bold red" if severity == "error" else "bold magenta"
    text.highlight_words([f"{severity}:"], colour)
    err.print(text)


def main() -> None:
    """Run the command line, mapping interrupts, closed pipes and bugs to quiet exits with codes."""
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    _tolerant_streams()
    try:
        app(prog_name="bptrace")
    except KeyboardInterrupt:
        print("bptrace: interrupted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        _silence_stdout()
        sys.exit(0)
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001 - the last line of defence: no traceback reaches a user
        print(f"bptrace: internal error: {type(e).__name__}: {e}\nplease report this with the .bp file", file=sys.stderr)
        sys.exit(EXIT_INTERNAL)


def _tolerant_streams() -> None:
    # A terminal that cannot show ∂ or σ must still not crash the run.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="replace")
            except (ValueError, OSError):
                pass


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
