"""Inputs at the limits: refused with a clear error or handled, never a RecursionError or a
traceback."""

from __future__ import annotations

from conftest import load
from typer.testing import CliRunner

from bptrace.cli.app import app
from bptrace.engine.chains import MAX_LISTED_LENGTH, plan_chains
from bptrace.language.parser import MAX_DEPTH, MAX_NESTING

ENV = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}


def run(tmp_path, text: str, *args):
    f = tmp_path / "limit.bp"
    f.write_text(text, encoding="utf-8")
    return str(f), CliRunner(env=ENV).invoke(app, ["run", str(f), *args], prog_name="bptrace")


def test_ten_thousand_nested_parentheses_are_refused_at_the_one_too_many(tmp_path):
    path, result = run(
        tmp_path, "param w = 1\nloss L = " + "(" * 10_000 + "w" + ")" * 10_000 + "\n"
    )
    assert result.exit_code == 4
    col = len("loss L = ") + MAX_NESTING + 1  # the 101st '('
    assert result.stderr.startswith(
        f"{path}:2:{col}: error: expression nested more than {MAX_NESTING} levels deep"
    )
    assert "RecursionError" not in result.stderr


def test_a_one_megabyte_line_is_refused_with_a_short_quote(tmp_path):
    path, result = run(tmp_path, "param w = 1\nloss L = " + "+".join(["w"] * 350_000) + "\n")
    assert result.exit_code == 4
    first, quote, underline = result.stderr.splitlines()[:3]
    # The 256th '+' would make 257 levels: refused there, without reading the rest of the line.
    assert (
        first == f"{path}:2:{len('loss L = ') + 2 * MAX_DEPTH}: error: expression is more than "
        f"{MAX_DEPTH} levels deep"
    )
    assert len(quote) < 120 and quote.startswith(" 2 | ...") and quote.endswith("...")
    assert underline.strip().startswith("|") and underline.strip().endswith(" ^")


def test_a_one_megabyte_comment_is_fine(tmp_path):
    _, result = run(tmp_path, "# " + "x" * 1_000_000 + "\nparam w = 1\nloss L = w^2\n")
    assert result.exit_code == 0


def test_the_widest_sum_allowed_works(tmp_path):
    terms = " + ".join(f"w{i}" for i in range(MAX_DEPTH - 1))
    params = "".join(f"param w{i} = 0.01\n" for i in range(MAX_DEPTH - 1))
    _, result = run(tmp_path, params + f"loss L = {terms}\n", "--show", "updates")
    assert result.exit_code == 0, result.stderr


def test_a_numeric_fault_shows_what_was_computed_before_it(tmp_path):
    path, result = run(tmp_path, "param w = 0.5\ninput x = 2\nh = x*w - 3\nloss L = log(h)\n")
    assert result.exit_code == 5
    out = result.stdout
    assert "Step 1: stopped" in out
    assert "2·0.5 − 3" in out and "−2" in out  # h = 2·0.5 − 3 = −2, by hand
    assert "log(−2)" in out and "nan" in out
    assert result.stderr.startswith(
        f"{path}:4:10: error: step 1: node L = log(h): log of -2: log needs a positive number"
    )


def test_paths_too_long_to_read_are_counted_not_listed(tmp_path):
    n = MAX_LISTED_LENGTH + 5
    lines = (
        ["param w = 0.5", "s0 = w"]
        + [f"s{i} = s{i - 1}*1" for i in range(1, n)]
        + [f"loss L = s{n - 1}"]
    )
    graph = load("\n".join(lines) + "\n")
    (plan,) = plan_chains(graph, 8)
    assert plan.total == 1 and plan.paths == ()
    _, result = run(tmp_path, "\n".join(lines) + "\n", "--show", "chains")
    assert result.exit_code == 0
    words = " ".join(result.stdout.split())  # the note may wrap inside its cell, beside the value
    assert (
        f"1 path of more than {MAX_LISTED_LENGTH:,} factors: counted" in words and "listed" in words
    )


def test_long_tables_show_their_ends_and_say_how_to_see_all(tmp_path):
    params = "".join(f"param w{i} = 0.01\n" for i in range(100))
    sums = (
        "s = "
        + " + ".join(f"w{i}" for i in range(50))
        + "\nt = "
        + " + ".join(f"w{i}" for i in range(50, 100))
    )
    text = params + sums + "\nloss L = s + t\n"
    _, result = run(tmp_path, text, "--show", "updates")
    assert result.exit_code == 0
    updates = result.stdout.split("Summary")[0]
    rows = [line.split()[0] for line in updates.splitlines() if line.startswith("w")]
    assert rows == [
        f"w{i}".translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))
        for i in [*range(50), *range(90, 100)]
    ]
    assert "… 40 more" in result.stdout and "--all shows every row" in result.stdout
    _, everything = run(tmp_path, text, "--show", "updates", "--all")
    assert (
        sum(line.startswith("w") for line in everything.stdout.split("Summary")[0].splitlines())
        == 100
    )


def test_the_path_search_does_not_wander_down_branches_too_long_to_list(tmp_path):
    # Every node uses w, so w has 3,000 paths of every length up to 3,001: only those of at most
    # MAX_LISTED_LENGTH edges can be listed, and finding the first 8 must not explore the rest.
    lines = (
        ["param w = 0.5", "n0 = w"]
        + [f"n{i} = n{i - 1}*0.5 + w" for i in range(1, 3000)]
        + ["loss L = n2999"]
    )
    (plan,) = plan_chains(load("\n".join(lines) + "\n"), 8)
    assert plan.total == 3000
    assert len(set(plan.paths)) == 8 and all(len(p) - 1 <= MAX_LISTED_LENGTH for p in plan.paths)
    assert all(p[0] == "L" and p[-1] == "w" for p in plan.paths)


def test_ten_thousand_params_are_handled(tmp_path):
    # 100 nodes of 100 weighted inputs each, summed into the loss: every gradient is x/100·(s/100 −
    # y)·…, and only the ends of each 10,000-row table are shown.
    lines = ["input x = 0.5", "target y = 1"]
    lines += [f"param w{j}_{k} = 0.01" for j in range(100) for k in range(100)]
    lines += [f"z{j} = " + " + ".join(f"w{j}_{k}*x" for k in range(100)) for j in range(100)]
    lines += ["s = " + " + ".join(f"z{j}" for j in range(100)), "loss L = 1/2*(y - s/100)^2"]
    _, result = run(tmp_path, "\n".join(lines) + "\n", "--show", "updates")
    assert result.exit_code == 0, result.stderr
    # s = 10,000 · 0.01 · 0.5 = 50, so ∂L/∂w = −(y − s/100)·x/100 = −(1 − 0.5)·0.005 = −0.0025 for
    # every w.
    assert "… 9,940 more" in result.stdout
    assert result.stdout.count("−0.0025") >= 60


def test_a_long_chain_table_is_cut_between_params_not_inside_one(tmp_path):
    lines = ["input x = 1"] + [f"param w{i} = 0.1" for i in range(30)]
    # two paths to each w: ~4 rows per param
    lines += [f"a{i} = w{i}*x + w{i}*w{i}" for i in range(30)]
    lines += ["s = " + " + ".join(f"a{i}*w{i}" for i in range(30)), "loss L = s^2"]
    _, result = run(tmp_path, "\n".join(lines) + "\n", "--show", "chains")
    assert result.exit_code == 0
    shown = sum(line.startswith("∂L/∂w") for line in result.stdout.splitlines())
    hidden = int(result.stdout.split("… ")[1].split(" more params")[0])
    assert shown + hidden == 30 and hidden > 0
    assert result.stdout.count("sum over the 2 paths") == shown  # every shown param is whole


def test_a_hundred_thousand_line_network_is_handled(tmp_path):
    # h0 = x·w, h_i = h_(i−1) + w, so h_99999 = 100,000·w (x = 1) and L = ½(h/100,000 − 1)² = ½(w −
    # 1)². By hand at w = 0.5: L = 0.125 and ∂L/∂w = w − 1 = −0.5, summed over 100,000 paths (one
    # through each h_i's own use of w); after one update w = 0.5 + 0.1·0.5 = 0.55 and L = ½(0.45)² =
    # 0.10125.
    n = 100_000
    lines = ["input x = 1", "param w = 0.5", "h0 = x*w"] + [
        f"h{i} = h{i - 1} + w" for i in range(1, n)
    ]
    lines.append(f"loss L = 1/2*(h{n - 1}/{n} - 1)^2")
    assert len(lines) > n
    _, result = run(
        tmp_path, "\n".join(lines) + "\n", "--show", "chains,updates", "--precision", "6"
    )
    assert result.exit_code == 0, result.stderr
    words = " ".join(result.stdout.split())
    assert "sum over the 100,000 paths −0.5" in words
    assert "w 0.5 −0.5 −0.05 0.55" in words
    assert "loss L 0.125 0.10125" in words and "w 0.5 0.55" in words


def test_the_default_view_summarises_many_params_and_long_paths_and_all_shows_them(tmp_path):
    # 40 params and a chain of 20 nodes, each using two params: w0's path has 21 factors.
    lines = [f"param w{i} = 0.5" for i in range(40)] + ["input x = 1", "h0 = x*w0 + w20"]
    lines += [f"h{i} = h{i - 1}*w{i} + w{i + 20}" for i in range(1, 20)] + ["loss L = h19^2"]
    f = tmp_path / "wide.bp"
    f.write_text("\n".join(lines) + "\n")
    wide = {**ENV, "COLUMNS": "250"}  # no wrapping: each row on one line
    short = CliRunner(env=wide).invoke(app, ["run", str(f)], prog_name="bptrace")
    assert short.exit_code == 0 and short.stderr == "", short.stderr
    head, chains = short.stdout.split("Forward pass")[0], short.stdout.split("Chain rule")[1]
    # 16 named, 24 counted
    assert "w₁₅ = 0.5, … and 24 more (--all shows every one)" in head and "w₁₆" not in head
    # 21 factors: 3, the gap, the last
    assert "∂L/∂h₁₉ · ∂h₁₉/∂h₁₈ · ∂h₁₈/∂h₁₇ · … 17 more … · ∂h₀/∂w₀ " in chains
    assert "(2) · (0.5) · (0.5) · … 17 more … · (1)" in chains
    assert (
        "Long paths are shortened, and some rows may be left out: --all shows everything." in chains
    )
    every = CliRunner(env=wide).invoke(app, ["run", str(f), "--all"], prog_name="bptrace").stdout
    assert (
        "w₃₉ = 0.5" in every.split("Forward pass")[0]
        and "more (--all" not in every
        and "more …" not in every
    )
    assert (
        "∂h₁₀/∂h₉" in every.split("Chain rule")[1]
        and "∂h₁₀/∂h₉" not in chains
        and "shortened" not in every
    )


def test_shortened_paths_are_explained_when_rows_are_left_out_too(tmp_path):
    # w0 to w11 on a chain 12 deep, then 60 params added to the loss directly: a gap after the long
    # paths.
    lines = [f"param w{i} = 0.5" for i in range(72)] + ["input x = 1", "h0 = x*w0"]
    lines += [f"h{i} = h{i - 1}*w{i}" for i in range(1, 12)]
    lines += ["loss L = h11^2 + " + " + ".join(f"w{i}" for i in range(12, 72))]
    _, result = run(tmp_path, "\n".join(lines) + "\n")
    chains = " ".join(result.stdout.split("Chain rule")[1].split())
    assert "more params" in chains and "more …" in chains
    assert (
        "Long paths are shortened, and some rows may be left out: --all shows everything." in chains
    )


def test_many_warnings_are_counted_after_the_first_ten(tmp_path):
    # w1 to w29 cannot affect the loss
    lines = [f"param w{i} = 0.5" for i in range(30)] + ["loss L = w0^2"]
    path, result = run(tmp_path, "\n".join(lines) + "\n", "--quiet")
    assert result.exit_code == 0
    # w1 to w10 in full: line, quote, underline, hint
    assert result.stderr.count(": warning: param") == 10
    assert f"{path}:2:7: warning: param 'w1' cannot affect the loss 'L'" in result.stderr
    assert "w11" not in result.stderr
    assert result.stderr.rstrip().endswith(
        f"{path}: warning: and 19 more warnings (the begin record of --json lists them all)"
    )
    begin = __import__("json").loads(
        CliRunner(env=ENV).invoke(app, ["run", path, "--json"]).stdout.splitlines()[0]
    )
    assert len(begin["warnings"]) == 29


def test_an_exponent_of_more_than_4300_digits_is_read_as_a_number(tmp_path):
    """Python refuses int() of a string of more than 4,300 digits; 1e-000…01 is 1e-1, a tenth, all
    the same."""
    zeros = "0" * 5000
    _, result = run(tmp_path, f"param w = 1e-{zeros}1\nloss L = w^2\n", "--json")
    assert result.exit_code == 0, result.stderr
    begin = __import__("json").loads(result.stdout.splitlines()[0])
    assert begin["params"] == {"w": 0.1}
    # 1e400: more than a float holds
    path, result = run(tmp_path, f"param w = 1e+{zeros}400\nloss L = w^2\n")
    assert result.exit_code == 4 and result.stderr.startswith(
        f"{path}:1:11: error: number 1e+00000000000000000... is too large"
    )


def test_one_chain_longer_than_the_table_is_shown_whole_without_a_gap_of_no_params(tmp_path):
    from test_chains import ladder

    # 3·2^6 − 2 = 190 paths
    _, result = run(tmp_path, ladder(6), "--show", "chains", "--max-paths", "100")
    assert result.exit_code == 0
    assert "0 more params" not in result.stdout and "Some rows are left out" not in result.stdout
    # a table's worth of paths shown (50), the 100 listed with --all
    words = " ".join(result.stdout.split())
    assert "and 140 more paths (not shown; --all shows the first 100)" in words
    assert words.count("∂L/∂a₆ · ") == 50
    _, result = run(tmp_path, ladder(6), "--show", "chains", "--max-paths", "100", "--all")
    words = " ".join(result.stdout.split())
    assert (
        "and 90 more paths (not listed; --max-paths shows more)" in words
        and words.count("∂L/∂a₆ · ") == 100
    )


def diamonds(depth: int) -> str:
    """a(i+1) = a(i)/2 + a(i)/2: 2^depth paths from the loss to w, each of 2·depth + 2 factors;
    ∂L/∂w = x = 1."""
    lines = ["param w = 0.5", "input x = 1", "a0 = x*w"]
    for i in range(depth):
        lines += [f"p{i} = a{i}*0.5", f"q{i} = a{i}*0.5", f"a{i + 1} = p{i} + q{i}"]
    return "\n".join([*lines, f"loss L = a{depth}"]) + "\n"


def test_more_paths_than_python_writes_digits_for_are_shown_by_magnitude_and_written_exactly(
    tmp_path,
):
    """2^14300 paths: 4,305 digits, more than Python turns into a string by default (log10(2)·14300
    = 4304.73, and 10^0.73 = 5.37)."""
    import json
    import sys

    from bptrace.engine.explain import explain
    from bptrace.engine.tracer import trace
    from bptrace.language.printer import MATH
    from bptrace.views import jsonl, latex, tables, writers

    graph = load(diamonds(14300))
    (traced,) = next(trace(graph, 1)).chains
    assert (
        "≈ 5.4·10⁴³⁰⁴ paths, each of more than 100"
        in tables.chain_rows(traced, "L", writers.Writer(MATH, 4))[0].cells[1]
    )
    # where --json stopped, exit 1
    (chain,) = json.loads(jsonl.line(jsonl.begin(graph, "d.bp", 1, 0.1, 8)))["chains"]
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        assert chain["paths_total"] == str(2**14300)
    finally:
        sys.set_int_max_str_digits(limit)
    assert r"$\approx 5.4 \cdot 10^{4304}$ paths of more than 100 factors" in latex.explanation(
        explain(graph), "diamonds"
    )


def test_more_paths_asked_for_than_a_trace_lists_say_why_they_are_not_listed(tmp_path):
    from test_chains import wide

    from bptrace.engine.tracer import trace
    from bptrace.language.printer import MATH
    from bptrace.views import tables, writers

    # 8^5 = 32,768 paths, 10,000 listed
    (chain,) = next(trace(load(wide(5, 8)), 1, max_paths=10**9)).chains
    rows = tables.chain_rows(chain, "L", writers.Writer(MATH, 4))
    assert (
        "… and 22,768 more paths (not listed; a trace lists at most 10,000 paths)"
        in rows[-2].cells[1]
    )
    path, result = run(tmp_path, wide(5, 8), "--show", "chains", "--max-paths", "1000000000")
    assert result.exit_code == 0
    words = " ".join(result.stdout.split())  # memory and time for what is shown: 50 rows
    assert "and 32,718 more paths (not shown; --all shows the first 10,000)" in words
    result = CliRunner(env=ENV).invoke(
        app, ["explain", path, "--max-paths", "1000000000"], prog_name="bptrace"
    )
    assert "… 32,718 more paths (--all writes the first 10,000)" in " ".join(result.stdout.split())
    from rich.table import Table

    from bptrace.engine.explain import explain
    from bptrace.views.terminal.explain import _chain_rows

    table = Table("gradient", "chain", "factors")
    (chain,) = explain(load(wide(5, 8)), max_paths=10**9).chains
    _chain_rows(table, chain, "L", MATH, capped=True)
    assert "22,768 more paths (at most 10,000 are written)" in str(list(table.columns[1].cells)[-2])
