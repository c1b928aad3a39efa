"""bptrace.views.terminal._grid lays tables out as rich's Table does: the same characters in the
same styles.

Each test renders a table both ways and compares them character by character, each character with
its style (segments may split differently: that changes no pixel)."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import NETWORKS, ROOT, examples, load
from hypothesis import given, note, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.errors import MarkupError
from rich.style import Style
from rich.table import Table
from rich.text import Text
from typer.testing import CliRunner

from bptrace.cli.app import app
from bptrace.engine import ops
from bptrace.engine.algebra import call
from bptrace.views.terminal import _grid, steps


def cells(segments) -> list[tuple[str, Style]]:
    """Return each character with its style (no style as the null style): what a terminal shows."""
    return [
        (ch, seg.style or Style.null()) for seg in segments if not seg.control for ch in seg.text
    ]


def both(table: Table, console: Console, width: int):
    options = console.options.update_width(width)
    fast = _grid.lines(table, console, options)
    return fast, list(console.render(table, options))


@pytest.fixture
def compared(monkeypatch):
    """Check every table the CLI lays out with grid against rich's own layout; count both kinds."""
    seen = {"fast": 0, "rich": 0}
    lines = _grid.lines

    def checked(table, console, options):
        fast = lines(table, console, options)
        if fast is None:
            seen["rich"] += 1
        else:
            seen["fast"] += 1
            assert cells(fast) == cells(console.render(table, options)), table.caption_title
        return fast

    monkeypatch.setattr(_grid, "lines", checked)
    return seen


RUNS = [
    ["run", "{net}", "--steps", "2"],
    ["run", "{net}", "--ascii", "--precision", "17", "--all"],
    ["explain", "{net}"],
    ["check", "{net}"],
]


@pytest.mark.parametrize("columns", ["80", "44", "200"])
def test_every_table_of_every_example_network_matches_rich(compared, monkeypatch, columns):
    monkeypatch.chdir(ROOT)
    env = {
        "COLUMNS": columns,
        "LINES": "50",
        "FORCE_COLOR": "1",
        "TERM": "xterm-256color",
        "NO_COLOR": None,
    }
    for path in NETWORKS:
        for args in RUNS:
            argv = [a.format(net=path.relative_to(ROOT)) for a in args]
            result = CliRunner(env=env).invoke(app, argv, prog_name="bptrace")
            # Every example network runs, and its gradients agree with finite differences.
            assert result.exit_code == 0, (argv, result.stderr)
        focus = next(leaf.name for leaf in load(path).leaves if leaf.kind == "param")
        result = CliRunner(env=env).invoke(
            app, ["run", str(path.relative_to(ROOT)), "--focus", focus], prog_name="bptrace"
        )
        assert result.exit_code == 0, result.stderr
    assert compared["fast"] > 30  # the tables that fit were laid out here, and checked
    if columns == "44":
        assert compared["rich"] > 0  # and those too wide went to rich


def test_a_check_that_finds_a_mismatch_matches_rich(compared, monkeypatch, tmp_path):
    """The tables of a check that fails (exit 6): a rule broken, sin'(u) = sin(u)."""
    broken = dataclasses.replace(ops.FUNCTIONS["sin"], partials=(lambda u: call("sin", u),))
    monkeypatch.setitem(ops.FUNCTIONS, "sin", broken)
    f = tmp_path / "sine.bp"
    f.write_text("param w = 0.7\ninput x = 2\nh = x*w\ns = sin(h)\nloss L = (s - 1)^2\n")
    env = {"COLUMNS": "80", "FORCE_COLOR": "1", "TERM": "xterm-256color", "NO_COLOR": None}
    result = CliRunner(env=env).invoke(app, ["check", str(f)], prog_name="bptrace")
    assert result.exit_code == 6 and "MISMATCH" in result.stdout, result.stderr
    assert compared["fast"] >= 1


def test_a_focused_row_and_a_summarised_table_match_rich(compared, tmp_path):
    params = "".join(f"param w{i} = 0.01\n" for i in range(100))
    sums = (
        "s = "
        + " + ".join(f"w{i}" for i in range(50))
        + "\nt = "
        + " + ".join(f"w{i}" for i in range(50, 100))
    )
    f = tmp_path / "wide.bp"
    f.write_text(params + sums + "\nloss L = s + t\n", encoding="utf-8")
    env = {"COLUMNS": "80", "FORCE_COLOR": "1", "TERM": "xterm-256color", "NO_COLOR": None}
    result = CliRunner(env=env).invoke(
        app, ["run", str(f), "--focus", "w3", "--show", "updates,partials"], prog_name="bptrace"
    )
    assert result.exit_code == 0, result.stderr
    assert "Some rows are left out" in result.stdout and "▸" in result.stdout
    assert compared["fast"] >= 3


def test_the_fast_layout_is_what_simple_bp_shows():
    console = Console(width=80, force_terminal=True, color_system="truecolor")
    table = steps.new_table("T", ("node", "value"), numeric_from=1)
    table.add_row("h", "1.1")
    table.add_row("loss L", "−0.13", style="bold yellow")
    fast = _grid.lines(table, console, console.options)
    assert fast is not None
    assert (
        "".join(s.text for s in fast)
        == "node     value\n──────────────\nh          1.1\nloss L   −0.13\n"
    )
    assert cells(fast)[-3] == ("1", console.get_style("bold yellow"))


def test_where_only_ascii_shows_the_rule_is_dashes_and_nothing_else_changes():
    """Not rich's ASCII box, which would put | between the columns: the same table with - for ─."""
    console = Console(width=80, force_terminal=True, color_system="truecolor")
    table = steps.new_table("t", ("node", "value"), numeric_from=1)
    table.add_row("h", "1.1")
    options = console.options
    options.encoding = "ascii"
    # fast, and rich's
    for laid_out in (
        _grid.lines(table, console, options),
        list(console.render(table, options)),
    ):
        assert "".join(s.text for s in laid_out) == "node   value\n------------\nh        1.1\n"


TEXTS = st.text(alphabet=st.sampled_from("ab1.−∂/₁² x·漢"), max_size=12) | st.text(
    alphabet=st.sampled_from("ab1 []/:smile\\\t\r\u2028"), max_size=8
)
STYLES = st.sampled_from(
    [None, None, None, "bold", "dim", "bold yellow", "italic", "bold red", "on blue"]
)


@st.composite
def tables(draw):
    n = draw(st.integers(1, 5))
    headers = draw(
        st.lists(
            st.text(alphabet=st.sampled_from("ab∂/₁ "), min_size=1, max_size=8),
            min_size=n,
            max_size=n,
        )
    )
    table = steps.new_table("t", headers, numeric_from=draw(st.integers(0, n)))
    for _ in range(draw(st.integers(0, 6))):
        row = [
            Text(t, style=draw(STYLES) or "") if draw(st.booleans()) else t
            for t in draw(st.lists(TEXTS, min_size=n, max_size=n))
        ]
        table.add_row(*row, style=draw(STYLES))
    if draw(st.booleans()):
        table.caption, table.caption_justify, table.caption_style = draw(TEXTS), "left", "dim"
    return table


@settings(max_examples=examples(2))  # cheap, and tables vary in many ways at once
@given(table=tables(), width=st.integers(1, 120), ascii_only=st.booleans())
def test_any_table_that_fits_matches_rich(table, width, ascii_only):
    console = Console(
        width=200, force_terminal=True, color_system="truecolor", legacy_windows=False
    )
    options = console.options.update_width(width)
    # a terminal that cannot show box characters, or --ascii: the rule is drawn with '-'
    if ascii_only:
        options.encoding = "ascii"
    note(repr([(c.header, c.justify, list(c.cells)) for c in table.columns]))
    note(repr([r.style for r in table.rows]) + repr(table.caption))
    try:
        slow = list(console.render(table, options))
    except MarkupError as refused:  # '[/]' in a cell or the caption: rich refuses it
        try:  # grid leaves it to rich, or refuses it with rich's own error (its caption is rich's)
            assert _grid.lines(table, console, options) is None
        except MarkupError as error:
            assert str(error) == str(refused)
        return
    fast = _grid.lines(table, console, options)
    if fast is not None:
        assert cells(fast) == cells(slow)


def _tricky():
    """Tables bptrace never makes, which grid must leave to rich or lay out exactly as rich does."""

    def table(*rows, **settings):
        t = steps.new_table("t", ("a", "b"), numeric_from=1)
        for row in rows:
            t.add_row(*row)
        for k, v in settings.items():
            setattr(t, k, v)
        return t

    late = table(("x", "1"))
    late.add_column("c")  # a column added after the rows
    empty = Table(box=_grid.HEAD, show_edge=False, pad_edge=False)
    return [
        table(("x\ty", "1")),
        table(("x\ry", "1")),
        table(("x\x07y", "1")),
        table(("abc\u2028defgh", "1")),
        table(("a\x85b", "1")),
        table((Text("x", style="bolt"), "1")),
        table(("x", "1"), highlight=True),
        table(("x", "1"), border_style="red"),
        late,
        empty,
    ]


@pytest.mark.parametrize(
    "table", _tricky(), ids=lambda t: repr([list(c.cells) for c in t.columns])[:40]
)
def test_what_bptrace_never_writes_is_left_to_rich_or_matches_it(table):
    console = Console(width=80, force_terminal=True, color_system="truecolor")
    fast = _grid.lines(table, console, console.options)
    assert fast is None or cells(fast) == cells(console.render(table, console.options))
