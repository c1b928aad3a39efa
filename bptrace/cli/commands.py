"""What each command does between reading its file and exiting: build, trace, and print.

The CLI (cli.py) declares the options and maps errors to exit codes; process.py and files.py touch
the outside world; these functions tie the pure core to the views. No typer here.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from bptrace.cli import files, process
from bptrace.language.diagnostics import escaped


@dataclass(frozen=True, slots=True)
class TableRun:
    """How `bptrace run` shows its tables in the terminal."""

    steps: int
    lr: float | None
    precision: int
    sections: tuple[str, ...]
    max_paths: int
    ascii_math: bool = False
    all_rows: bool = False
    export: Path | None = None
    focus: str | None = None  # a param whose paths are highlighted
    sample: int | None = None  # with samples: the one to show, numbered from 1
    every: int = 1  # show the tables of every K-th step (and always the first and the last)
    quiet: bool = False  # show no step's tables, only the summary and the loss curve
    seed: int | None = None  # for params drawn at random: uniform(…), normal(…); None: the file's
    batch_size: int | None = (
        None  # samples per step; None: the file's `set batch`, else all of them
    )
    data: Path | None = None  # a CSV file whose columns replace inputs and targets
    shuffle: bool = False  # shuffle the samples on each pass (with the seed)


def build(source: str, filename: str, how: TableRun):
    """Return the run's graph: built with the run's seed, its inputs and targets from --data when given."""
    then = None
    if how.data is not None:
        from bptrace.engine.data import read_csv, with_data

        def then(graph):
            wanted = tuple(leaf.name for leaf in graph.leaves if leaf.kind in ("input", "target"))
            return with_data(
                graph,
                read_csv(process.read(how.data, "CSV file"), process.shown(how.data), wanted),
                process.shown(how.data),
            )

    graph = process.build(source, filename, how.seed, shuffles=None, then=then)
    process.unused_seed(
        graph, how.seed, filename, how.shuffle
    )  # with the data's samples, which --shuffle may shuffle
    return graph


def batches(graph, how: TableRun, warn: bool = True):
    """Return the mini-batches a run trains on, or None for all the samples at every step.

    A batch as large as the samples, or larger, is all of them (said on stderr, with `warn`).
    """
    from bptrace.engine.tracer import Batches

    size = how.batch_size or int(graph.settings["batch"])
    if graph.samples is None:
        if how.batch_size or how.shuffle:
            raise process.UsageProblem(
                "--batch-size and --shuffle pick samples, but the inputs and targets hold one value each"
            )
        return None
    if how.shuffle and not size:
        raise process.UsageProblem(
            "--shuffle shuffles mini-batches: give --batch-size B (or `set batch = B`) too"
        )
    if not size:
        return None
    if size >= graph.samples:
        if warn:
            given = "--batch-size" if how.batch_size else "`set batch`"
            samples = (
                f"the {graph.samples} samples: every step trains on all of them"
                if graph.samples > 1
                else "the one sample: every step trains on it"
            )
            process.stderr().print(
                f"bptrace: warning: a batch of {size} ({given}) is not smaller than {samples}",
                markup=False,
            )
        return None
    seed = how.seed if how.seed is not None else int(graph.settings["seed"])
    return Batches(size, how.shuffle, seed)


def run_tables(source: str, filename: str, how: TableRun) -> None:
    """Print every step's tables as they are computed (or reveal them on key presses, with --pause)."""
    from bptrace.engine.tracer import Step, trace
    from bptrace.errors import NumericFault
    from bptrace.views.terminal.steps import (
        output,
        render_curve,
        render_final,
        render_step,
        render_stopped,
    )

    graph = build(source, filename, how)
    out = output(how.ascii_math)
    view = _view(graph, how, out, filename)
    if how.export is not None:
        from bptrace.views.terminal.export import Recorder

        files.writable(how.export)

        out = Recorder(out, f"bptrace run {escaped(filename)}")
    first, last, losses = None, None, []
    progress = _progress(how)
    try:
        with process.Interrupts() as interrupts, progress:
            task = progress.add_task("training", total=how.steps)
            try:
                for record in trace(graph, how.steps, how.lr, how.max_paths, batches(graph, how)):
                    if isinstance(record, Step):
                        first, last = first or record, record
                        losses.append(float(record.loss))
                        _warn_of_kinks(record, filename, source)
                        k = record.step
                        if not how.quiet and (k == 1 or k % how.every == 0 or k == how.steps):
                            show_whole(out, render_step(graph, record, view), interrupts)
                        progress.advance(task)
                    else:
                        with interrupts.writing():
                            out.print(render_final(graph, first, record, view))
                            if how.steps > 1:
                                # With mini-batches every point is a batch's loss: the final loss over all samples is not one.
                                points = (
                                    losses
                                    if record.start_loss is not None
                                    else [*losses, float(record.loss)]
                                )
                                out.print(
                                    render_curve(
                                        points,
                                        view,
                                        getattr(out, "width", 80),
                                        batched=record.start_loss is not None,
                                    )
                                )
                    interrupts.check()
            except KeyboardInterrupt:
                if (
                    how.quiet or how.every > 1
                ) and first is not None:  # the steps it hid: how far they went
                    _interrupted_summary(
                        out,
                        graph,
                        first,
                        last,
                        losses,
                        view,
                        batches(graph, how, warn=False) is not None,
                    )
                raise
            except NumericFault as fault:
                if "forward" in how.sections and fault.computed is not None:
                    out.print(
                        render_stopped(graph, fault, view)
                    )  # everything computed up to the fault
                if len(losses) > 2:  # how the loss went until then: up, as a rule
                    out.print(
                        render_curve(
                            losses,
                            view,
                            getattr(out, "width", 80),
                            batched=batches(graph, how, warn=False) is not None,
                            stopped=True,
                        )
                    )
                raise
    except BaseException as stop:
        if how.export is not None:  # what was shown, up to a fault or an interrupt too
            _save_stopped(how.export, out.exported(how.export), stop)
        raise
    if how.export is not None:
        files.save(how.export, out.exported(how.export))
        if out.lost is not None:  # the export is whole: now say that the terminal is not
            raise out.lost


def _save_stopped(path: Path, text: str, stop: BaseException) -> None:
    """Save what a run stopped by `stop` wrote. After a signal, a FIFO's reader is not waited for, and a file that
    cannot be written is said on stderr while the signal ends the run, with its exit code and its message."""
    if not isinstance(stop, KeyboardInterrupt):
        files.save(path, text)
        return
    try:
        files.save(path, text, wait=False)
    except process.FileProblem as problem:
        process.report(problem, "", "")


def _warn_of_kinks(record, filename: str, source: str) -> None:
    """Warn on stderr of each kink whose argument is within rounding of 0 (once per node: see kinks.py)."""
    for near in record.kinks:
        process.diagnose(
            process.stderr(), filename, source, near.span, near.message, near.hint, "warning"
        )


def _interrupted_summary(out, graph, first, last, losses: list[float], view, batched: bool) -> None:
    """Print the summary of a run stopped by a signal after `last`: the params after it, and the loss curve."""
    from bptrace.engine.tracer import Final
    from bptrace.views.terminal.steps import render_curve, render_final

    params = {u.param: u.after for u in last.updates}
    with process.signals_held():  # a second signal waits for the summary: it is short
        out.print(render_final(graph, first, Final(last.step, None, params), view))
        if len(losses) > 1:
            out.print(
                render_curve(losses, view, getattr(out, "width", 80), batched=batched, stopped=True)
            )


def laid_out(out, renderable):
    """Return the text printing `renderable` on `out` writes (its colours as escape codes), to write with `write`.

    Laying out the tables of 6,000 nodes with --all takes half a minute, and a signal must stop it at
    once; writing them must not be cut in half (see show_whole). A recording console (--export) lays
    them out as it prints: `renderable` comes back as it is.
    """
    from rich.console import Console

    if not isinstance(out, Console):
        return renderable
    with out.capture() as captured:
        out.print(renderable)
    return captured.get()


def write(out, shown) -> None:
    """Write what `laid_out` returned."""
    if isinstance(shown, str):
        out.file.write(shown)
        out.file.flush()
    else:
        out.print(shown)


def show_whole(out, renderable, interrupts: process.Interrupts) -> None:
    """Print `renderable`: laid out where a signal stops the run at once, written with signals waiting."""
    shown = laid_out(out, renderable)
    with interrupts.writing():
        write(out, shown)


LONG_RUN = 100  # steps; a run this long with its tables left out shows a progress bar on stderr


def _progress(how: TableRun):
    """Return a progress bar on stderr when tables are left out of a long run and stderr is a terminal."""
    from contextlib import nullcontext

    if (how.quiet or how.every > 1) and how.steps >= LONG_RUN and sys.stderr.isatty():
        from rich.progress import Progress

        return Progress(console=process.stderr(), transient=True)

    class _Silent(nullcontext):
        def add_task(self, *args, **kwargs):
            return 0

        def advance(self, *args):
            pass

    return _Silent()


def run_paused(source: str, filename: str, how: TableRun) -> None:
    """Reveal each step a piece at a time, on Enter or space; q stops. Ctrl-C stops at once."""
    from bptrace.engine.tracer import Step, trace
    from bptrace.errors import NumericFault
    from bptrace.views.terminal.stepper import Keys, Quit, step_through
    from bptrace.views.terminal.steps import output, render_final, render_stopped

    graph = build(source, filename, how)
    out = output(how.ascii_math)
    view = _view(graph, how, out, filename)
    out.print(
        "Enter or space: next · q: quit"
        if view.notation.pretty
        else "Enter or space: next, q: quit",
        style="dim",
    )
    first = None
    with Keys() as keys:
        try:
            for record in trace(graph, how.steps, how.lr, how.max_paths, batches(graph, how)):
                if isinstance(record, Step):
                    first = first or record
                    step_through(out, graph, record, view, keys)
                else:
                    keys.wait()
                    out.print(render_final(graph, first, record, view))
        except Quit:
            out.print("Stopped (q).", style="dim")
        except NumericFault as fault:
            if "forward" in how.sections and fault.computed is not None:
                out.print(render_stopped(graph, fault, view))
            raise


def _view(graph, how: TableRun, out, filename: str):
    from bptrace.views.terminal.steps import MAX_ROWS, View

    focus = frozenset()
    if how.focus is not None:
        check_params(graph, (how.focus,), filename)
        focus = graph.depends_on((how.focus,)) & graph.used_by_loss()
    sample = None
    if how.sample is not None:
        if batches(graph, how, warn=False) is not None:
            raise process.UsageProblem(
                "--sample shows one sample of every step, but with mini-batches each step runs other samples"
            )
        if graph.samples is None:
            raise process.UsageProblem(
                f"--sample picks one of the samples, but the inputs and targets of {filename} hold one value each"
            )
        if not 1 <= how.sample <= graph.samples:
            has = f"samples 1 to {graph.samples}" if graph.samples > 1 else "one sample, sample 1"
            raise process.UsageProblem(f"--sample {how.sample}: {filename} has {has}")
        sample = how.sample - 1
    notation = process.notation(out, how.ascii_math, graph)
    return View(
        how.sections, how.precision, notation, None if how.all_rows else MAX_ROWS, focus, sample
    )


def run_handout(
    source: str, filename: str, how: TableRun, form: str, blanks: frozenset[str], key: Path | None
) -> None:
    """Write the tables as Markdown or LaTeX as they are computed; with blanks, the filled-in key to `key`."""
    import itertools

    from bptrace.engine.tracer import trace
    from bptrace.views import handout
    from bptrace.views.terminal.steps import MAX_ROWS

    graph = build(source, filename, how)
    if key is not None:
        files.writable(key)
    write = handout.markdown if form == "markdown" else handout.latex_document
    max_rows = None if how.all_rows else MAX_ROWS
    sheet = handout.Sheet(how.sections, blanks, how.precision, max_rows, how.ascii_math)
    err = process.stderr()
    for leak in handout.leaks(graph, sheet, how.steps):
        err.print(f"bptrace: warning: the worksheet gives answers away: {leak}", markup=False)
    records = trace(graph, how.steps, how.lr, how.max_paths, batches(graph, how))
    answers: Iterator[str] = itertools.repeat("")
    if key is not None:  # the key has the same chunks with nothing blank: both advance together
        records, key_records = itertools.tee(records)
        answers = write(
            graph,
            key_records,
            replace(sheet, blank=frozenset()),
            f"bptrace run {escaped(filename)} (answer key)",
        )
    worksheet = write(
        graph,
        records,
        sheet,
        f"bptrace run {escaped(filename)}" + (" (worksheet)" if blanks else ""),
    )
    filled: list[str] = []
    lost: OSError | None = (
        None  # stdout gone (`| head`) or full: the key is still made whole and saved, then that is said
    )

    def show(chunk: str) -> None:
        nonlocal lost
        if lost is None:
            try:
                process.write_utf8(chunk)  # Markdown and LaTeX files are UTF-8, whatever the locale
            except OSError as error:
                if key is None:
                    raise
                lost = error

    with process.Interrupts() as interrupts:
        try:
            for chunk, answer in zip(worksheet, answers):
                with interrupts.writing():
                    show(chunk)
                filled.append(answer)
        except BaseException as stop:
            show(handout.ending(form))  # a document that stopped early is still well formed
            if key is not None:  # and its key holds the same steps
                _save_stopped(key, "".join(filled) + handout.ending(form), stop)
            raise
    if key is not None:
        files.save(key, "".join(filled))
    if lost is not None:
        raise lost


def run_json(source: str, filename: str, how: TableRun) -> None:
    from bptrace.engine.tracer import Step, trace
    from bptrace.errors import NumericFault
    from bptrace.views import jsonl

    graph = build(source, filename, how)
    err = process.stderr()

    def write(record: dict | str) -> None:
        # UTF-8 whatever the locale (RFC 8259), flushed at once for `tail -f` and pipes, with
        # SIGINT and SIGTERM held until the line is out, so no line is ever cut in half.
        data = (record if isinstance(record, str) else jsonl.line(record)).encode("utf-8")
        with process.signals_held():
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()

    steps, lr, max_paths = how.steps, how.lr, how.max_paths
    rate = graph.settings["lr"] if lr is None else lr
    reported: set[str] = set()
    last = None  # the last step written: where an error or an interrupt leaves the params

    def stopped() -> tuple[int, dict]:
        """Return the last step written and the params after it (the declared ones before any)."""
        if last is None:
            return 0, graph.initial_params()
        return last.step, {u.param: u.after for u in last.updates}

    try:
        with process.Interrupts() as interrupts:
            shape = jsonl.layout(
                graph, max_paths
            )  # the names and paths every record shares, worked out once
            picked = batches(graph, how)
            write(jsonl.begin(graph, filename, steps, rate, max_paths, shape, picked))
            step_line = jsonl.StepLines(graph, shape)
            for record in trace(graph, steps, lr, max_paths, picked):
                interrupts.check()  # a signal during the final evaluation counts too
                if not isinstance(record, Step):
                    write(jsonl.end(record))
                    continue
                text = step_line(
                    record
                )  # a signal while it is made stops the run without this step
                with interrupts.writing():  # once written, the end record counts it
                    write(text)
                    last = record
                _warn_of_kinks(record, filename, source)
                for what in jsonl.non_finite(record, graph.loss):
                    if what not in reported:
                        reported.add(what)
                        err.print(
                            f"bptrace: warning: step {record.step}: {what} is not a finite number; "
                            "the trace writes it as a string",
                            markup=False,
                        )
                interrupts.check()  # after the write: every step computed is in the trace
    except NumericFault as fault:
        error = {"kind": "numeric", "message": str(fault), "where": fault.where}
        error.update({"final": True} if fault.final else {"step": fault.step})
        if fault.hint:
            error["hint"] = fault.hint
        if fault.span is not None and fault.span.line:
            error.update(line=fault.span.line, col=fault.span.col)
        write(jsonl.end_with_error(*stopped(), error))
        raise
    except KeyboardInterrupt:
        done, params = stopped()
        write(
            jsonl.end_with_error(
                done, params, {"kind": "interrupted", "message": f"interrupted after step {done}"}
            )
        )
        raise


def check(
    source: str,
    steps: int,
    lr,
    precision: int,
    filename: str,
    seed: int | None = None,
    ascii_math: bool = False,
) -> int:
    """Print the check of each step; report each mismatch on stderr; return how many there were."""
    from bptrace.engine.check import check as check_steps
    from bptrace.language.printer import show
    from bptrace.views.terminal.steps import View, output, render_check

    graph = process.build(source, filename, seed)
    out = output(ascii_math)
    view = View(precision=precision, notation=process.notation(out, ascii_math, graph))
    err = process.stderr()
    failures = unstable = 0
    nodes = {node.name: node for node in graph.nodes}
    with process.Interrupts() as interrupts:
        for checked in check_steps(graph, steps, lr):
            shown = laid_out(out, render_check(graph, checked, view))
            with interrupts.writing():  # a step's table and its errors together
                write(out, shown)
                unstable += sum(
                    c.result.status == "unstable" for c in (*checked.grads, *checked.partials)
                )
                blamed = set()
                for g in checked.grads:
                    if g.result.status != "mismatch":
                        continue
                    failures += 1
                    message = (
                        f"step {checked.step}: dL/d{g.param} is {g.result.analytic:.9g} by backprop "
                        f"but {g.result.numeric:.9g} by finite differences"
                    )
                    if g.culprit is None:
                        err.print(f"bptrace: error: {message}", markup=False)
                        continue
                    edge, local = g.culprit.edge, g.culprit.result
                    blamed.add((edge.of, edge.wrt))
                    message += (
                        f"; the first wrong local derivative is d{edge.of}/d{edge.wrt} = {show(edge.formula)}, "
                        f"{local.analytic:.9g} instead of {local.numeric:.9g}"
                    )
                    process.diagnose(err, filename, source, nodes[edge.of].expr.span, message, None)
                for p in (
                    checked.partials
                ):  # a wrong local derivative fails the check even when no gradient shows it
                    edge, local = p.edge, p.result
                    if local.status == "mismatch" and (edge.of, edge.wrt) not in blamed:
                        failures += 1
                        message = (
                            f"step {checked.step}: the local derivative d{edge.of}/d{edge.wrt} = {show(edge.formula)} "
                            f"is {local.analytic:.9g}, but {local.numeric:.9g} by finite differences"
                        )
                        process.diagnose(
                            err, filename, source, nodes[edge.of].expr.span, message, None
                        )
    if not failures:
        said = "All gradients agree with finite differences"
        if unstable:
            said = (
                f"No gradient disagrees with finite differences, but {unstable} comparison{'s' if unstable > 1 else ''} "
                "could not be made: within the step h lies a kink, or a value where the function is not defined, "
                "and a finite difference cannot tell"
            )
        times, minus, at_most = (
            view.notation.times,
            view.notation.minus,
            "≤" if view.notation.pretty else "<=",
        )
        out.print(
            f"{said} (step h = {EPS_TEXT}{times}max(1, |x|), "
            f"|analytic {minus} numeric| {at_most} {ATOL_TEXT} + {RTOL_TEXT}{times}|numeric|).",
            markup=False,
            highlight=False,
        )
    return failures


EPS_TEXT, ATOL_TEXT, RTOL_TEXT = "1e-6", "1e-5", "1e-3"


def explain(
    source: str,
    params: tuple[str, ...],
    latex: bool,
    max_paths: int,
    ascii_math: bool,
    all_rows: bool,
    filename: str,
) -> None:
    from bptrace.engine.explain import explain as answer

    graph = process.build(source, filename)
    check_params(graph, params, filename)
    answers = answer(graph, params, max_paths)
    title = f"bptrace explain {escaped(filename)}"
    if latex:
        from bptrace.views.latex import explanation, spellings

        names = [leaf.name for leaf in graph.leaves] + [node.name for node in graph.nodes]
        process.write_utf8(explanation(answers, title, spellings(names)))
        return
    from bptrace.views.terminal.explain import render_explain
    from bptrace.views.terminal.steps import MAX_ROWS, View, output

    out = output(ascii_math)
    view = View(
        precision=4,
        notation=process.notation(out, ascii_math, graph),
        max_rows=None if all_rows else MAX_ROWS,
    )
    out.print(render_explain(graph, answers, view, f"Questions about {escaped(filename)}"))


def graph(
    source: str,
    form: str,
    step: int | None,
    lr,
    precision: int,
    ascii_math: bool,
    all_rows: bool,
    filename: str,
    seed: int | None = None,
) -> None:
    from bptrace.engine.tracer import Step, trace
    from bptrace.views.drawing import Labels, dot, mermaid
    from bptrace.views.terminal.steps import MAX_ROWS, View, output

    graph = process.build(source, filename, seed)
    out = output(ascii_math)
    notation = process.notation(out, ascii_math, graph)
    record = None
    if step is not None:
        for record in trace(graph, step, lr, max_paths=1):
            if isinstance(record, Step) and record.step == step:
                break
    labels = Labels(notation, record, precision)
    title = Path(filename).stem
    if form == "dot":
        process.write_utf8(dot(graph, labels, title))
    elif form == "mermaid":
        process.write_utf8(mermaid(graph, labels))
    else:
        from bptrace.views.terminal.graph import render_graph

        when = f" at step {step}" if step else ""
        view = View(precision=precision, notation=notation, max_rows=None if all_rows else MAX_ROWS)
        out.print(
            render_graph(graph, labels, view, f"Computational graph of {escaped(filename)}{when}")
        )


def nudge(
    source: str,
    param: str,
    by: float,
    step: int,
    lr,
    precision: int,
    ascii_math: bool,
    filename: str,
    seed: int | None = None,
) -> None:
    from bptrace.engine.nudge import nudge as nudged
    from bptrace.views.terminal.nudge import render_nudge
    from bptrace.views.terminal.steps import View, output

    graph = process.build(source, filename, seed)
    check_params(graph, (param,), filename)
    report = nudged(graph, param, by, step, lr)
    out = output(ascii_math)
    view = View(precision=precision, notation=process.notation(out, ascii_math, graph))
    when = "its declared value" if step == 1 else f"step {step}"
    out.print(
        render_nudge(report, graph.loss, view, f"Nudging {param} in {escaped(filename)}, at {when}")
    )


def check_params(graph, params, filename: str) -> None:
    from bptrace.language.diagnostics import did_you_mean

    for name in params:
        if name not in graph.params:
            hint = (
                did_you_mean(name, graph.params)
                or f"its params are {', '.join(graph.params) or 'none'}"
            )
            raise process.UsageProblem(f"'{name}' is not a param of {filename}; {hint}")
