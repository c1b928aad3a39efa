"""What is shown is what was computed: at any width, no cell cuts a number, a name or a header word.

The oracle: the same command at 400 columns, where every table fits on one line a row. Every number
(and every word) printed at a narrow width must be one of those: a number cut in two (0.8931967 as
0.89 and 31967) would be two numbers the wide rendering never printed. And every one of those must
be printed narrow too: columns that do not fit follow in a table of their own, never dropped (but
by --pause, which names those it leaves out; there, no number may show more often than wide).
"""

from __future__ import annotations

import contextlib
import html
import io
import os
import re
from collections import Counter

import pytest
from conftest import ROOT, examples, load
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console
from rich.text import Text
from typer.testing import CliRunner

from bptrace.cli.app import app
from bptrace.engine.tracer import Step, trace
from bptrace.views.terminal import fit, stepper
from bptrace.views.terminal.steps import View

TWO_LAYER = (ROOT / "networks/two_layer.bp").read_text(encoding="utf-8")


@contextlib.contextmanager
def chdir(path):
    """Work in path for a while (contextlib.chdir is Python 3.11 and newer; bptrace runs 3.10)."""
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


NETWORKS = {
    "simple": (ROOT / "networks/simple.bp").read_text(encoding="utf-8"),
    "two_layer": TWO_LAYER,
    "adam": TWO_LAYER.replace("set lr = 0.5", "set lr = 0.1\nset optimizer = adam"),
    "momentum": TWO_LAYER.replace("set lr = 0.5", "set lr = 0.1\nset optimizer = momentum"),
}
NUMBER = re.compile(r"[−-]?\d+(?:\.\d+)?(?:e[−+-]?\d+)?")
WORD = re.compile(r"[A-Za-z]+")
NOTE = re.compile(r"Not shown at this width: .*? columns show (?:it|them)\.")


def tokens(text: str) -> tuple[Counter, Counter]:
    """Return the numbers and words of rendered text, the notes of columns left out taken away."""
    flat = NOTE.sub(" ", " ".join(text.replace("\xa0", " ").split()))
    return Counter(NUMBER.findall(flat)), Counter(WORD.findall(flat))


def assert_nothing_cut(narrow: str, wide: str, width: int, paused: bool = False) -> None:
    # at 400 columns every table shows in full, one line a row
    assert "Not shown at this width" not in wide
    (numbers, words), (all_numbers, all_words) = tokens(narrow), tokens(wide)
    cut = set(numbers) - set(all_numbers)
    assert not cut, f"numbers the wide rendering never printed: {cut}"
    cut = set(words) - set(all_words)
    assert not cut, f"words the wide rendering never printed: {cut}"
    if paused:  # columns left out, never repeated
        assert not {n: k for n, k in numbers.items() if k > all_numbers[n]}
    else:
        assert "Not shown at this width" not in narrow
        assert set(numbers) == set(all_numbers), f"left out: {set(all_numbers) - set(numbers)}"
    assert all(cell_len(line) <= width for line in narrow.splitlines())


def run(tmp_path, source: str, width: int, *args: str) -> str:
    (tmp_path / "net.bp").write_text(source, encoding="utf-8")
    env = {
        "COLUMNS": str(width),
        "LINES": "50",
        "NO_COLOR": "1",
        "TERM": "dumb",
        "FORCE_COLOR": None,
    }
    with chdir(tmp_path):  # titles name the file: net.bp, as short as a lecturer's
        result = CliRunner(env=env).invoke(
            app, [a.replace("NET", "net.bp") for a in args], prog_name="bptrace"
        )
    assert result.exit_code in (0, 6), result.output
    return result.stdout


def paused(source: str, width: int, precision: int) -> str:
    """Return what --pause shows of step 1, every key pressed at once."""

    class Enter:
        def wait(self) -> None:
            pass

    graph = load(source)
    step = next(s for s in trace(graph, 1) if isinstance(s, Step))
    out = Console(
        file=io.StringIO(), width=width, color_system=None, force_terminal=False, highlight=False
    )
    stepper.step_through(out, graph, step, View(precision=precision), Enter())
    return out.file.getvalue()


# The breaks of a formula, by hand: after a space, after a product's dot, after a division's slash.


def lines(text: str, width: int, formula: bool = True) -> list[str]:
    return [text[a:b] for a, b in fit.wrap(text, width, formula)]


def test_an_adam_update_wraps_between_its_numbers():
    formula = (
        "0.1·0.8931967/(√0.8168473 + 1e−08)"  # the issue's cell: it printed 0.1·0.89 and 967/(√0.
    )
    assert lines(formula, 40) == [formula]
    assert lines(formula, 20) == ["0.1·0.8931967/", "(√0.8168473 + 1e−08)"]
    # the operator ends its line
    assert lines(formula, 13) == [
        "0.1·",
        "0.8931967/",
        "(√0.8168473 +",
        "1e−08)",
    ]
    # too narrow: whole pieces still
    assert lines(formula, 1) == [
        "0.1·",
        "0.8931967/",
        "(√0.8168473 +",
        "1e−08)",
    ]
    assert fit.narrowest(formula, True) == len("(√0.8168473 +")


def test_a_line_ends_in_its_operator_and_a_partial_is_one_name():
    assert lines("(−1.13) · (−0.3) · (2)", 16) == ["(−1.13) ·", "(−0.3) · (2)"]
    assert fit.pieces("∂L/∂a₂ · ∂a₂/∂w₄") == ["∂L/∂a₂ ·", "∂a₂/∂w₄"]
    assert fit.pieces("dL/da2*da2/dw4") == ["dL/da2*", "da2/dw4"]
    assert fit.pieces("1/2·(y − g)²") == ["1/", "2·", "(y −", "g)²"]
    assert lines("after with numbers", 8, formula=False) == ["after", "with", "numbers"]


def test_columns_left_out_are_the_formulas_first_and_the_value_last():
    columns = [
        ["param", "w₀"],
        ["before", "0.1"],
        ["gradient", "−0.04942393"],
        ["after", "0.2"],
        ["after with numbers", "0.1 − 0.1·(−0.04942393)/(√0.002442725 + 1e−08)"],
    ]
    keep = [True, True, True, True, False]
    wide = fit.plan(columns, keep, 200)
    assert wide.one_line and wide.shown == (0, 1, 2, 3, 4)
    # 5 + 6 + 11 + 5 + 15 ("(√0.002442725 +") + 4 gaps of 3 = 54
    squeezed = fit.plan(columns, keep, 60)
    assert (
        squeezed.shown == (0, 1, 2, 3, 4)
        and not squeezed.one_line
        and sum(squeezed.widths) == 60 - 12
    )
    assert squeezed.needed == 54
    assert fit.plan(columns, keep, 53).shown == (0, 1, 2, 3)  # the formula goes first
    # then the gradient: the param after its update stays
    assert fit.plan(columns, keep, 25).shown == (
        0,
        1,
        3,
    )
    assert fit.plan(columns, keep, 3).shown == (0,)


def test_the_issue_adam_update_at_80_columns_loses_no_digit(tmp_path):
    text = run(
        tmp_path, NETWORKS["adam"], 80, "run", "NET", "--precision", "7", "--show", "updates"
    )
    # Step 1 of adam: m̂ = g and v̂ = g², so each param moves by α = 0.1 against its gradient's
    # sign.
    # ∂L/∂w₀ = −0.0494239 (the handout's), w₀ = 0.1 + 0.1
    assert "−0.04942393" in text and "0.2" in text
    assert "0.1·0.89" not in text and "after wi\n" not in text
    assert_nothing_cut(
        text,
        run(tmp_path, NETWORKS["adam"], 400, "run", "NET", "--precision", "7", "--show", "updates"),
        80,
    )
    wide = run(
        tmp_path,
        NETWORKS["adam"],
        100,
        "run",
        "NET",
        "--precision",
        "7",
        "--show",
        "updates",
        "--steps",
        "2",
    )
    assert "after with numbers" in wide  # room enough: the formula wraps between its numbers
    # √v̂ = |g| at step 1: 0.1 − 0.1·(g)/(√g² + ε)
    assert "0.1·(−0.04942393)/" in wide.replace("\n", " ")


def test_momentum_at_precision_10_splits_no_number(tmp_path):
    text = run(
        tmp_path, NETWORKS["momentum"], 80, "run", "NET", "-p", "10", "--show", "updates,chains"
    )
    assert "−0.0494239265" in text  # ∂L/∂w₀, whole (it printed −0.0494239 and 265 on the next line)
    # under the table: too wide beside it
    formulas = text[text.index("param   velocity with numbers") :]
    # velocity = μ·0 + g at step 1
    assert formulas.splitlines()[2] == "w₀      0.9 · 0 + (−0.0494239265)"
    assert_nothing_cut(
        text,
        run(
            tmp_path,
            NETWORKS["momentum"],
            400,
            "run",
            "NET",
            "-p",
            "10",
            "--show",
            "updates,chains",
        ),
        80,
    )


def test_a_column_too_wide_to_stand_beside_the_names_is_named_in_a_note(tmp_path):
    source = (
        "param w = 0.5\nparam a_long_param_name = 2\n"
        "loss a_rather_long_node_name = w*w + sigmoid(a_long_param_name)\n"
    )
    text = run(tmp_path, source, 40, "run", "NET", "--show", "forward")
    # 28 for the name, 3 between, 20 for σ(a_long_param_name): 51 columns; the numbers' formula
    # fits.
    assert "Not shown at this width: expression; 69 columns show it." in " ".join(text.split("\n"))
    assert "0.5·0.5 +" in text and "1.131" in text  # L = 0.25 + σ(2) = 0.25 + 0.8808 = 1.1308
    assert all(cell_len(line) <= 40 for line in text.splitlines())


COMMANDS = [
    ("run", "NET", "--steps", "2"),
    ("check", "NET"),
    ("explain", "NET"),
    ("graph", "NET", "--step", "1"),
    ("nudge", "NET", "w1"),
]


@settings(max_examples=examples(1 / 10))  # each example runs the CLI twice
@given(
    width=st.integers(40, 200),
    network=st.sampled_from(sorted(NETWORKS)),
    precision=st.integers(3, 10),
    command=st.sampled_from(COMMANDS),
    ascii_math=st.booleans(),
)
def test_no_width_cuts_a_number_name_or_header(
    tmp_path_factory, width, network, precision, command, ascii_math
):
    tmp_path = tmp_path_factory.mktemp("fit")
    source = NETWORKS[network]
    args = [
        *command,
        *(("--precision", str(precision)) if command[0] not in ("explain",) else ()),
        *(("--ascii",) if ascii_math else ()),
    ]
    assert_nothing_cut(
        run(tmp_path, source, width, *args), run(tmp_path, source, 400, *args), width
    )


@settings(max_examples=examples(1 / 20))  # each example pauses the CLI twice
@given(
    width=st.integers(40, 200),
    network=st.sampled_from(sorted(NETWORKS)),
    precision=st.integers(3, 10),
)
def test_no_width_cuts_a_number_while_paused(width, network, precision):
    source = NETWORKS[network]
    assert_nothing_cut(
        paused(source, width, precision), paused(source, 400, precision), width, paused=True
    )


@pytest.mark.parametrize("width", [40, 80])
def test_the_export_cuts_no_number(tmp_path, width):
    target = tmp_path / "t.html"
    args = ("run", "NET", "--precision", "10", "--export", str(target))
    shown = run(tmp_path, NETWORKS["adam"], width, *args)
    page = html.unescape(
        re.sub(r"<[^>]+>", "", target.read_text(encoding="utf-8").split("<body")[1])
    )
    assert tokens(page)[0] == tokens(shown)[0]  # the page holds what the terminal showed
    assert_nothing_cut(
        shown, run(tmp_path, NETWORKS["adam"], 400, "run", "NET", "--precision", "10"), width
    )


def test_a_title_too_long_for_its_rule_is_shown_whole(tmp_path):
    """rich's Rule cut it with an ellipsis: "Nudging w1 in a_network_with_a_rather_long_name.bp,
    at…"."""
    (tmp_path / "a_network_with_a_rather_long_name.bp").write_text(
        (ROOT / "networks/simple.bp").read_text("utf-8")
    )
    env = {"COLUMNS": "40", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}
    with chdir(tmp_path):
        for args, title in [
            (
                ["nudge", "w1"],
                "Nudging w1 in a_network_with_a_rather_long_name.bp, at its declared value",
            ),
            (["graph"], "Computational graph of a_network_with_a_rather_long_name.bp"),
        ]:
            result = CliRunner(env=env).invoke(
                app, [args[0], "a_network_with_a_rather_long_name.bp", *args[1:]]
            )
            assert result.exit_code == 0, result.output
            assert "…" not in result.stdout.split("\n\n")[0]
            assert " ".join(result.stdout.split("\n\n")[0].replace("─", " ").split()) == title
        short = CliRunner(env=env).invoke(
            app, ["run", str(ROOT / "networks/simple.bp"), "--show", "updates"]
        )
        # a title that fits stays in its rule
        assert short.stdout.startswith("─" * 16 + " Step 1 " + "─" * 16 + "\n")


def test_a_file_name_in_a_heading_is_text_not_markup(tmp_path):
    """rich reads [red] in a str title as a style: a file named "[red]y.bp" made the heading red."""
    (tmp_path / "[red]y.bp").write_text((ROOT / "networks/simple.bp").read_text("utf-8"))
    env = {"COLUMNS": "80", "NO_COLOR": None, "TERM": "xterm", "FORCE_COLOR": "1"}
    for command, title in [("explain", "Questions about "), ("graph", "Computational graph of ")]:
        with chdir(tmp_path):
            result = CliRunner(env=env).invoke(app, [command, "[red]y.bp"])
        assert result.exit_code == 0, result.output
        assert title + "[red]y.bp" in result.stdout.split("\n")[0]
        assert "\x1b[31m" not in result.stdout.split("\n")[0]


@given(
    st.lists(st.sampled_from(["w₁", "0.25", "·", " ", "+", "/", "x", "∂L/∂w"]), max_size=40),
    st.integers(1, 30),
    st.lists(
        st.tuples(st.integers(0, 60), st.integers(0, 60), st.sampled_from(["bold", "red"])),
        max_size=5,
    ),
)
def test_a_wrapped_cell_keeps_the_styles_each_line_had(words, width, styles):
    text = Text("".join(words))
    for start, end, style in styles:
        text.stylize(style, start, end)
    lines = fit.wrap(text.plain, width)
    got = fit._wrapped(text, width, True)
    if len(lines) == 1:  # a cell on one line is shown as it is
        assert got is text
        return
    assert got.plain == "\n".join(text.plain[a:b] for a, b in lines)
    sliced = [text[a:b] for a, b in lines]  # each line cut out on its own: slow, and plainly right
    offsets = [0]
    for line in sliced:
        offsets.append(offsets[-1] + len(line) + 1)
    expected = {
        (o + s.start, o + s.end, str(s.style))
        for o, line in zip(offsets, sliced)
        for s in line.spans
    }
    assert styled(got) == styled_at(expected)


def styled(text: Text) -> set[tuple[int, str]]:
    return styled_at({(s.start, s.end, str(s.style)) for s in text.spans})


def styled_at(spans) -> set[tuple[int, str]]:
    """Return which character has which style, however the spans are split."""
    return {(i, style) for start, end, style in spans for i in range(start, end)}
