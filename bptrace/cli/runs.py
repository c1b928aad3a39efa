"""What `bptrace run` does: train the network and show each step, as tables, a handout or JSON.

tracing.py declares the options and exits.py maps errors to exit codes; these functions train
through bptrace.api (Network.steps) and tie its records to the views, through process.py's
streams and signals and files.py's files. No typer here.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from bptrace.cli import files, process
from bptrace.cli.commands import UsageProblem, check_params, load_network
from bptrace.language.diagnostics import escaped

if TYPE_CHECKING:
    from bptrace.api import Network, Run


class RunOptions(NamedTuple):
    """What `bptrace run` was asked: how to train, and how to show the steps."""

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
    batch_size: int | None = None  # samples per step; None: the file's `set batch`, else all

    data: Path | None = None  # a CSV file whose columns replace inputs and targets
    shuffle: bool = False  # shuffle the samples on each pass (with the seed)
    form: str = "text"  # text (the terminal), markdown, latex or csv (a worksheet's cells)
    blanks: frozenset[str] = frozenset()  # with a --format: the tables left blank
    key: Path | None = None  # with blanks: where the answer key goes
    view: str = "scalar"  # scalar (the tables), matrix (the layers' vectors and matrices), both
    block: str | None = None  # the matrix view: W1[1:4,1:8], one layer's rows and columns whole
    variant: str | None = None  # a student's ID: the params drawn afresh for them (variants.py)
    by: str = "row"  # --pause: what a key reveals, a row, a table or a step
    compact: bool = False  # --pause: each table a screen of its own, for a projector


def _loaded(source: str, filename: str, how: RunOptions) -> Network:
    """Return the network to run: its params drawn for the variant, with one."""
    net = load_network(source, filename, how.seed, how.data, how.shuffle)
    return net if how.variant is None else net.variant(how.variant)


def training(net: Network, how: RunOptions) -> Run:
    """Return the run `how` asks of `net`, computed a step at a time as it is iterated.

    A batch as large as the samples, or larger, is all of them: said on stderr.
    """
    run = net.steps(how.steps, how.lr, how.max_paths, how.batch_size, how.shuffle)
    graph = net._graph
    size = how.batch_size or int(graph.settings["batch"])
    if graph.samples is not None and size and size >= graph.samples:
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
    return run


def worksheet_made(filename: str, how: RunOptions, sheet) -> dict:
    """Return how a worksheet was made: what `bptrace grade --network` needs to make its key."""
    from bptrace.api.handouts import made

    optional = {
        "lr": how.lr,
        "seed": how.seed,
        "variant": how.variant,
        "data": how.data and files.shown(how.data),
        "batch_size": how.batch_size,
        "shuffle": how.shuffle or None,
    }
    return made(filename, sheet, how.steps, how.max_paths, optional)


def run_tables(source: str, filename: str, how: RunOptions) -> None:
    """Print every step's tables as they are computed."""
    from bptrace.engine.tracer import Step
    from bptrace.errors import NumericFault
    from bptrace.views.terminal.steps import (
        output,
        render_curve,
        render_final,
        render_stopped,
    )

    net = _loaded(source, filename, how)
    graph, run = net._graph, training(net, how)
    out = output(how.ascii_math)
    view = _view(graph, how, out, filename, run)
    shown = _shown(graph, how, filename)
    if how.export is not None:
        from bptrace.views.terminal.export import Recorder

        files.writable(how.export)

        out = Recorder(out, f"bptrace run {escaped(filename)}")
    first, last, losses = None, None, []
    progress = _progress(how)
    try:
        with process.Interrupts() as interrupts, progress:
            task = progress.add_task("training", total=how.steps)
            picked = run.batches
            try:
                for record in run._engine:
                    if isinstance(record, Step):
                        first, last = first or record, record
                        losses.append(float(record.loss))
                        _warn_of_kinks(record, filename, source)
                        k = record.step
                        if not how.quiet and (k == 1 or k % how.every == 0 or k == how.steps):
                            for render in shown:
                                process.show_whole(out, render(graph, record, view), interrupts)
                        progress.advance(task)
                    else:
                        with interrupts.writing():
                            out.print(render_final(graph, first, record, view))
                            if how.steps > 1:
                                # With mini-batches every point is a batch's loss: the final
                                # loss, over all samples, is not one.
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
                if (how.quiet or how.every > 1) and first is not None:  # how far the hidden went
                    so_far = _SoFar(first, last, losses, picked is not None)
                    _interrupted_summary(out, graph, view, so_far)
                raise
            except NumericFault as fault:
                if "forward" in how.sections and fault.computed is not None:
                    out.print(render_stopped(graph, fault, view))  # all computed up to the fault
                if len(losses) > 2:  # how the loss went until then: up, as a rule
                    out.print(
                        render_curve(
                            losses,
                            view,
                            getattr(out, "width", 80),
                            batched=picked is not None,
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


def _shown(graph, how: RunOptions, filename: str) -> tuple:
    """Return what each shown step renders: its tables, its layers (--view matrix), or both."""
    from bptrace.views.terminal.steps import render_step

    if how.view == "scalar":
        return (render_step,)
    if not graph.layers:
        raise UsageProblem(
            f"--view {how.view} shows the vectors and matrices of a network written with layers, "
            f"but {filename} has none; declare one (param W1[3,2] = ...), or drop --view"
        )
    from bptrace.views.matrices import batchable

    matrix = batchable(graph) if graph.samples is not None else None
    if matrix is not None:
        raise UsageProblem(
            f"--view {how.view} shows the samples as the columns of a matrix, but "
            f"{escaped(matrix.name)} of {filename} is a matrix itself, one per sample; "
            "use --view scalar"
        )
    from bptrace.views.terminal.matrices import render_matrices

    return (render_matrices,) if how.view == "matrix" else (render_step, render_matrices)


def _save_stopped(path: Path, text: str, stop: BaseException) -> None:
    """Save what a run stopped by `stop` wrote. After a signal, a FIFO's reader is not waited for,
    and a file that cannot be written is said on stderr while the signal ends the run, with its exit
    code and its message."""
    if not isinstance(stop, KeyboardInterrupt):
        files.save(path, text)
        return
    try:
        files.save(path, text, wait=False)
    except files.FileError as problem:
        process.stderr().print(f"bptrace: error: {escaped(str(problem))}", markup=False)


def _warn_of_kinks(record, filename: str, source: str) -> None:
    """Warn on stderr of each kink whose argument is within rounding of 0 (once per node)."""
    for near in record.kinks:
        process.diagnose(process.stderr(), filename, source, near, "warning")


class _SoFar(NamedTuple):
    """How far a run went: its first and last steps, the loss of each, and whether in batches."""

    first: object  # the tracer's Step records
    last: object
    losses: list[float]
    batched: bool


def _interrupted_summary(out, graph, view, so_far: _SoFar) -> None:
    """Print the summary of a run a signal stopped: its last params, and the loss curve."""
    from bptrace.engine.tracer import Final
    from bptrace.views.terminal.steps import render_curve, render_final

    last, losses = so_far.last, so_far.losses
    if len(losses) < last.step:  # the signal came between taking the last step and noting its loss
        losses = [*losses, float(last.loss)]
    params = {u.param: u.after for u in last.updates}
    with process.signals_held():  # a second signal waits for the summary: it is short
        out.print(render_final(graph, so_far.first, Final(last.step, None, params), view))
        if len(losses) > 1:
            width = getattr(out, "width", 80)
            out.print(render_curve(losses, view, width, batched=so_far.batched, stopped=True))


LONG_RUN = 100  # steps; a run this long with its tables left out shows a progress bar on stderr


def _progress(how: RunOptions):
    """Return a progress bar on stderr when a long run leaves its tables out, on a terminal."""
    if (how.quiet or how.every > 1) and how.steps >= LONG_RUN and sys.stderr.isatty():
        from rich.progress import Progress

        return Progress(console=process.stderr(), transient=True)
    return _NoProgress()


class _NoProgress(nullcontext):
    """A progress bar that shows nothing: rich's Progress(disable=True) would load rich.progress."""

    def add_task(self, *args, **kwargs) -> int:
        return 0

    def advance(self, *args) -> None:
        pass


def run_paused(source: str, filename: str, how: RunOptions) -> None:
    """Reveal each step a piece at a time as the keys ask, back and forth; q stops, Ctrl-C stops at
    once. With --export, save what was revealed, up to a fault or an interrupt too."""
    from bptrace.errors import NumericFault
    from bptrace.views.terminal.keys import Keys
    from bptrace.views.terminal.presenter import Pace, Presenter
    from bptrace.views.terminal.steps import output, render_stopped

    net = _loaded(source, filename, how)
    graph, run = net._graph, training(net, how)
    out = output(how.ascii_math)
    view = _view(graph, how, out, filename, run)
    if how.export is not None:
        files.writable(how.export)
    records = run._engine
    title = f"bptrace run {escaped(filename)}"
    with Keys() as keys:
        lecture = Presenter(out, graph, view, records, keys, Pace(how.by, how.compact, how.steps))
        try:
            lecture.present()
        except BaseException as stop:
            if isinstance(stop, NumericFault) and "forward" in how.sections:
                if stop.computed is not None:
                    out.print(render_stopped(graph, stop, view))
            if how.export is not None:  # what was revealed, up to a fault or an interrupt too
                _save_stopped(how.export, lecture.exported(how.export, title), stop)
            raise
    if how.export is not None:
        files.save(how.export, lecture.exported(how.export, title))


def _view(graph, how: RunOptions, out, filename: str, run: Run):
    from bptrace.views.terminal.steps import MAX_ROWS, View

    focus = frozenset()
    if how.focus is not None:
        check_params(graph, (how.focus,), filename)
        focus = graph.depends_on((how.focus,)) & graph.used_by_loss()
    sample = None
    if how.sample is not None:
        if run.batches is not None:
            raise UsageProblem(
                "--sample shows one sample of every step, but with mini-batches each step runs "
                "other samples"
            )
        if graph.samples is None:
            raise UsageProblem(
                f"--sample picks one of the samples, but the inputs and targets of {filename} "
                "hold one value each"
            )
        if not 1 <= how.sample <= graph.samples:
            has = f"samples 1 to {graph.samples}" if graph.samples > 1 else "one sample, sample 1"
            raise UsageProblem(f"--sample {how.sample}: {filename} has {has}")
        sample = how.sample - 1
    block = None
    if how.block is not None:
        from bptrace.views.matrices import block_of

        try:
            block = block_of(how.block, graph.layers)
        except ValueError as problem:
            raise UsageProblem(f"--block {how.block}: {problem}") from None
    notation = process.notation(out, how.ascii_math, graph)
    rows = None if how.all_rows else MAX_ROWS
    return View(how.sections, how.precision, notation, rows, focus, sample, block)


def run_handout(source: str, filename: str, how: RunOptions) -> None:
    """Write the tables as Markdown or LaTeX as they are computed; with blanks, the key to `key`."""
    import itertools

    from bptrace.api.handouts import title, writer
    from bptrace.views import handout
    from bptrace.views.terminal.steps import MAX_ROWS

    net = _loaded(source, filename, how)
    graph = net._graph
    form, blanks, key = how.form, how.blanks, how.key
    if key is not None:
        files.writable(key)
    max_rows = None if how.all_rows else MAX_ROWS
    sheet = handout.Sheet(how.sections, blanks, how.precision, max_rows, how.ascii_math)
    document = writer(form, worksheet_made(filename, how, sheet))
    err = process.stderr()
    for leak in handout.leaks(graph, sheet, how.steps):
        err.print(f"bptrace: warning: the worksheet gives answers away: {leak}", markup=False)
    records = training(net, how)._engine
    name = f"bptrace run {escaped(filename)}"
    answers: Iterator[str] = itertools.repeat("")
    if key is not None:  # the key has the same chunks with nothing blank: both advance together
        records, key_records = itertools.tee(records)
        keyed = replace(sheet, blank=frozenset())
        answers = document(graph, key_records, keyed, title(name, True, how.variant, key=True))
    worksheet = document(graph, records, sheet, title(name, bool(blanks), how.variant))
    filled: list[str] = []
    # stdout gone (`| head`) or full: the key is still made whole and saved, then that is said
    lost: OSError | None = None

    def put(chunk: str) -> None:
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
                    put(chunk)
                filled.append(answer)
        except BaseException as stop:
            put(handout.ending(form))  # a document that stopped early is still well formed
            if key is not None:  # and its key holds the same steps
                _save_stopped(key, "".join(filled) + handout.ending(form), stop)
            raise
    if key is not None:
        files.save(key, "".join(filled))
    if lost is not None:
        raise lost


def run_json(source: str, filename: str, how: RunOptions) -> None:
    """Write the trace as JSON Lines, a line per step, each written whole as it is computed."""
    from bptrace.engine.tracer import Step
    from bptrace.errors import NumericFault
    from bptrace.views import jsonl

    net = _loaded(source, filename, how)
    graph = net._graph
    err = process.stderr()

    def write_line(record: dict | str) -> None:
        # UTF-8 whatever the locale (RFC 8259), flushed at once for `tail -f` and pipes, with
        # SIGINT and SIGTERM held until the line is out, so no line is ever cut in half.
        data = (record if isinstance(record, str) else jsonl.line(record)).encode("utf-8")
        with process.signals_held():
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()

    reported: set[str] = set()
    run = training(net, how)
    last = None  # the last step written: where an interrupt leaves the params
    begun = False  # a trace is a begin record first: none written, no end record either

    try:
        with process.Interrupts() as interrupts:
            write_line(run.begin)
            begun = True
            for record in run._engine:
                interrupts.check()  # a signal during the final evaluation counts too
                if not isinstance(record, Step):
                    write_line(run.end)
                    continue
                # a signal while it is made stops the run without this step
                text = run._line(record)
                with interrupts.writing():  # once written, the end record counts it
                    write_line(text)
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
    except NumericFault:
        write_line(run.end)  # the error, and the params after the last step
        raise
    except KeyboardInterrupt:
        if begun:
            done, params = run._stopped(last)
            said = {"kind": "interrupted", "message": f"interrupted after step {done}"}
            write_line(jsonl.end_with_error(done, params, said))
        raise
