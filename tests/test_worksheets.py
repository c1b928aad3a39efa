"""`bptrace run --format markdown|latex`: the tables for handouts, and worksheets with their answer
keys."""

from __future__ import annotations

import re

import pytest
from conftest import NETWORKS, ROOT, assert_latex_compiles
from typer.testing import CliRunner

from bptrace.cli.app import app
from bptrace.views.handout import SCAFFOLD

ENV = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}
SIMPLE = str(ROOT / "networks/simple.bp")


def invoke(*args):
    return CliRunner(env=ENV).invoke(app, list(args), prog_name="bptrace")


def md_tables(text: str) -> dict[str, list[list[str]]]:
    """Return each Markdown table under its ### title (the Summary under ## Summary), as rows of
    cells."""
    found, title = {}, None
    for line in text.splitlines():
        if line.startswith("#"):
            title = line.lstrip("# ")
        elif line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            found.setdefault(title, []).append(cells)
    return found


def test_markdown_has_the_handouts_numbers_in_well_formed_tables():
    result = invoke("run", SIMPLE, "--format", "markdown")
    assert result.exit_code == 0, result.stderr
    tables = md_tables(result.stdout)
    for rows in tables.values():
        assert len({len(r) for r in rows}) == 1  # every row has the header's number of cells
    chain = {r[0]: r for r in tables["Chain rule, one product per path"]}
    assert chain["∂L/∂w₁"][2:] == ["(−1.13) · (−0.3) · (2)", "0.678"]  # the handout's ∂L/∂w1
    update = {r[0]: r for r in tables["Update  after = before − α·gradient   (α = 0.1)"]}
    assert update["w₁"][-1] == "0.4322"


def test_markdown_escapes_what_markdown_would_eat(tmp_path):
    f = tmp_path / "m.bp"
    f.write_text("param w_1 = 0.5\ninput x = 2\nloss L = (x*w_1)^2\n")
    out = invoke("run", str(f), "-f", "markdown").stdout
    assert "w\\_1" in out and "w_1" not in out.replace("w\\_1", "")


@pytest.mark.parametrize("form", ["markdown", "latex"])
def test_a_worksheet_blanks_exactly_the_answer_columns_and_the_key_fills_them(tmp_path, form):
    key = tmp_path / f"key.{form}"
    worksheet = invoke("run", SIMPLE, "-f", form, "--blank", "forward,updates", "--key", str(key))
    assert worksheet.exit_code == 0, worksheet.stderr
    plain = invoke("run", SIMPLE, "-f", form).stdout
    answers = key.read_text(encoding="utf-8")
    assert answers.replace(" (answer key)", "") == plain  # the key is the run itself
    if form == "markdown":
        sheet, full = md_tables(worksheet.stdout), md_tables(answers)
        assert "Summary" in full and "Summary" not in sheet  # its final values would be the answers
        del full["Summary"]
        for title, rows in full.items():
            table = (
                "forward"
                if title == "Forward pass"
                else "updates"
                if title.startswith("Update")
                else None
            )
            headers = rows[0]
            # after the header and alignment rows
            for blank_row, row in zip(sheet[title][2:], rows[2:]):
                for header, b, a in zip(headers, blank_row, row):
                    assert b == ("" if table and header not in SCAFFOLD[table] else a), (
                        title,
                        header,
                    )
    else:
        # 3 nodes × 2 columns, 4 params × 3
        assert worksheet.stdout.count(r"\hspace{2.5cm}") == 3 * 2 + 4 * 3


@pytest.mark.parametrize("path", NETWORKS, ids=[p.stem for p in NETWORKS])
def test_every_latex_handout_would_compile(path, tmp_path):
    result = invoke(
        "run",
        str(path),
        "-f",
        "latex",
        "--steps",
        "2",
        "--blank",
        "partials,chains",
        "--key",
        str(tmp_path / "k.tex"),
    )
    assert result.exit_code == 0, result.stderr
    assert_latex_compiles(result.stdout)
    assert_latex_compiles((tmp_path / "k.tex").read_text(encoding="utf-8"))


def test_a_numeric_fault_still_closes_the_document_and_its_key(tmp_path):
    f = tmp_path / "fault.bp"
    # w = 0.5 − 1·2 = −1.5 after step 1
    f.write_text("param w = 0.5\nset lr = 1\nloss L = log(w)\n")
    key = tmp_path / "key.tex"
    result = invoke(
        "run", str(f), "--steps", "3", "-f", "latex", "--blank", "forward", "--key", str(key)
    )
    assert result.exit_code == 5
    for document in (result.stdout, key.read_text(encoding="utf-8")):
        assert document.rstrip().endswith(r"\end{document}") and r"\subsection*{Step 1}" in document
        assert r"\subsection*{Step 2}" not in document
        assert_latex_compiles(document)


def test_a_later_step_of_a_worksheet_does_not_give_the_blanked_updates_away():
    out = invoke("run", SIMPLE, "--steps", "2", "-f", "markdown", "--blank", "updates").stdout
    step2 = out.split("## Step 2")[1]
    assert "params: w₁ = ?, b₁ = ?, w₂ = ?, b₂ = ?" in step2  # not 0.4322, the answer of step 1
    update = md_tables("## Step 2" + step2)
    rows = next(rows for title, rows in update.items() if title.startswith("Update"))
    assert all(row[1] == "" for row in rows[2:])  # nor as "before"


OPTIMIZED = [(p, "") for p in NETWORKS] + [
    (ROOT / "networks/simple.bp", "momentum"),
    (ROOT / "networks/xor.bp", "adam"),
]


@pytest.mark.skipif(not __import__("shutil").which("pdflatex"), reason="pdflatex is not installed")
@pytest.mark.parametrize(
    "path, optimizer", OPTIMIZED, ids=[f"{p.stem}-{o or 'sgd'}" for p, o in OPTIMIZED]
)
def test_latex_handouts_compile_with_pdflatex(path, optimizer, tmp_path):
    network = tmp_path / "net.bp"
    network.write_text(
        path.read_text(encoding="utf-8") + (f"set optimizer = {optimizer}\n" if optimizer else ""),
        encoding="utf-8",
    )
    (tmp_path / "h.tex").write_text(
        invoke("run", str(network), "-f", "latex", "--steps", "2").stdout, encoding="utf-8"
    )
    run = __import__("subprocess").run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "h.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-2000:]


@pytest.mark.skipif(not __import__("shutil").which("pdflatex"), reason="pdflatex is not installed")
def test_a_worksheet_of_four_samples_fits_the_page(tmp_path):
    """xor.bp's tables have a column per sample: four blank ones at 2.5 cm each ran 79pt past the
    margin."""
    sheet = invoke(
        "run",
        str(ROOT / "networks/xor.bp"),
        "-f",
        "latex",
        "--blank",
        "forward,partials,chains,updates",
    ).stdout
    (tmp_path / "w.tex").write_text(sheet, encoding="utf-8")
    run = __import__("subprocess").run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "w.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-2000:]
    assert "Overfull \\hbox" not in (tmp_path / "w.log").read_text(encoding="latin-1")


@pytest.mark.skipif(not __import__("shutil").which("pdflatex"), reason="pdflatex is not installed")
def test_a_long_formula_wraps_in_its_column_instead_of_running_off_the_page(tmp_path, monkeypatch):
    """The whole network in the loss: ∂L/∂w is σ's derivative times the rest, about 90 characters of
    formula."""
    monkeypatch.chdir(tmp_path)  # the title holds the file's path as given: a short one
    (tmp_path / "long.bp").write_text(
        "input x0 = [0, 0, 1, 1]\ninput x1 = [0, 1, 0, 1]\ntarget y = [0, 1, 1, 0]\nparam w = 0.5\n"
        "param b = 0.1\nloss L = 1/2*(y - sigmoid(x0*w + x1*w + b))^2\n"
    )
    handout = invoke("run", "long.bp", "-f", "latex").stdout
    # the partials' formula column wraps; short ones stay `l`
    assert r"\begin{longtable}{lp{5cm}rrrr}" in handout
    (tmp_path / "h.tex").write_text(handout, encoding="utf-8")
    # as for any longtable: the first pass measures the columns, the second sets them
    for _ in range(2):
        run = __import__("subprocess").run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "h.tex"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stdout[-2000:]
    assert "Overfull \\hbox" not in (tmp_path / "h.log").read_text(encoding="latin-1")


@pytest.mark.parametrize(
    "args, says",
    [
        (["--blank", "forward"], "use it with --format markdown, latex or csv"),
        (["-f", "markdown", "--key", "k.md"], "use it with --blank"),
        (["-f", "markdown", "--json"], "cannot be used with --json"),
        (["-f", "markdown", "--blank", "fowrard"], "did you mean 'forward'"),
        (["-f", "pdf"], "choose from text, markdown, latex"),
    ],
)
def test_worksheet_usage_errors(args, says):
    result = invoke("run", SIMPLE, *args)
    assert result.exit_code == 2 and says in " ".join(result.stderr.replace("│", "").split())


def test_a_worksheet_blanks_the_optimizers_state_and_the_batch_means_too(tmp_path):
    f = tmp_path / "m.bp"
    f.write_text(
        (ROOT / "networks/xor.bp").read_text(encoding="utf-8") + "set optimizer = momentum\n"
    )
    tables = md_tables(invoke("run", str(f), "-f", "markdown", "--blank", "updates,chains").stdout)
    for title, rows in tables.items():
        if title.startswith("Update") or title.startswith("Chain"):
            kept = SCAFFOLD["updates" if title.startswith("Update") else "chains"]
            for row in rows[2:]:
                assert all(
                    cell == "" for header, cell in zip(rows[0], row) if header not in kept
                ), (title, row)


def test_an_unwritable_key_is_a_file_error_before_the_worksheet_is_written(tmp_path):
    key = tmp_path / "missing" / "key.md"
    result = invoke("run", SIMPLE, "--format", "markdown", "--blank", "forward", "--key", str(key))
    assert result.exit_code == 3
    assert result.stderr == f"bptrace: error: cannot write {key}: no such directory\n"
    assert result.stdout == ""


def test_handouts_show_each_nodes_summed_gradient_as_the_terminal_does_and_blank_it_with_partials(
    tmp_path,
):
    """fanout.bp at a = 3: b = 2a, c = 2b, L = c·a, so ∂L/∂c = a = 3 and ∂L/∂b = ∂L/∂c · ∂c/∂b = 3·2
    = 6."""
    fanout = str(ROOT / "networks/fanout.bp")
    handout = invoke("run", fanout, "--format", "markdown").stdout
    titles = re.findall(r"^### (.*)$", handout, re.M)
    assert (
        titles.index("Gradients ∂L/∂node, summed over each node's uses")
        == titles.index("Local derivatives, backwards from L") + 1
    )
    assert "| ∂L/∂b | ∂L/∂c · ∂c/∂b | (3) · (2) | 6 |" in handout
    key = tmp_path / "key.md"
    sheet = invoke(
        "run", fanout, "--format", "markdown", "--blank", "partials", "--key", str(key)
    ).stdout
    assert (
        "| ∂L/∂b |  |  |  |" in sheet
        and "| ∂L/∂b | ∂L/∂c · ∂c/∂b | (3) · (2) | 6 |" in key.read_text(encoding="utf-8")
    )
    # Blank chains, and the summed gradients would give each chain's answer away: they are blank
    # too.
    assert (
        "| ∂L/∂b |  |  |  |"
        in invoke("run", fanout, "--format", "markdown", "--blank", "chains").stdout
    )
    assert (
        "| ∂L/∂b | ∂L/∂c · ∂c/∂b | (3) · (2) | 6 |"
        in invoke("run", fanout, "--format", "markdown", "--blank", "forward").stdout
    )
    assert (
        "Gradients"
        not in invoke("run", fanout, "--format", "markdown", "--show", "forward,chains").stdout
    )


def test_a_direct_edge_of_the_loss_is_marked_in_the_summed_gradients_too(tmp_path):
    """L = g + h with g = 2h: ∂L/∂h sums the direct edge (1) and the path through g (1·2), 3 =
    ∂(3h)/∂h."""
    net = tmp_path / "direct.bp"
    net.write_text("param a = 3\nh = a*a\ng = 2*h\nloss L = g + h\n")
    handout = invoke("run", str(net), "--format", "markdown").stdout
    assert "| ∂L/∂h (direct) | 1 | 1 |" in handout  # the local partial, in the partials table
    assert (
        "| ∂L/∂h | ∂L/∂L · ∂L/∂h (direct) + ∂L/∂g · ∂g/∂h | (1) · (1) + (1) · (2) | 3 |" in handout
    )


def test_an_answer_key_never_replaces_the_network_or_the_worksheet(tmp_path):
    import subprocess
    import sys

    net = tmp_path / "net.bp"
    net.write_text((ROOT / "networks/simple.bp").read_text())
    result = invoke(
        "run", str(net), "--format", "markdown", "--blank", "forward", "--key", str(net)
    )
    assert (
        result.exit_code == 2
        and "is the network FILE: writing it there would replace it"
        in " ".join(result.stderr.replace("│", " ").split())
    )
    assert net.read_text() == (ROOT / "networks/simple.bp").read_text()
    sheet = tmp_path / "ws.md"
    with open(sheet, "w") as out:  # `--key ws.md > ws.md`: the key would take the worksheet's place
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "bptrace",
                "run",
                str(net),
                "--format",
                "markdown",
                "--blank",
                "forward",
                "--key",
                str(sheet),
            ],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
        )
    assert done.returncode == 2 and "is where standard output goes" in " ".join(
        done.stderr.replace("│", " ").split()
    )


def test_blank_partials_blank_the_numbers_the_chains_substitute_for_them(tmp_path):
    """simple.bp's chain for w1 with numbers is (−1.13)·(−0.3)·(2): the values of ∂L/∂g, ∂g/∂h and
    ∂h/∂w1."""
    key = tmp_path / "key.md"
    sheet = invoke(
        "run", SIMPLE, "--format", "markdown", "--blank", "partials", "--key", str(key)
    ).stdout
    assert "(−1.13) · (−0.3) · (2)" in key.read_text(encoding="utf-8")
    assert "(−1.13)" not in sheet
    assert "| ∂L/∂w₁ | ∂L/∂g · ∂g/∂h · ∂h/∂w₁ |  | 0.678 |" in sheet  # the chain and its value stay


@pytest.mark.parametrize(
    "args, says",
    [
        (
            ["networks/two_layer.bp", "--blank", "forward"],
            "the local derivatives use node values, which the blank forward pass asks for (∂a₀/∂z₀ "
            "= a₀·(1 − a₀))",
        ),
        (
            ["networks/logistic.bp", "--blank", "forward"],
            "the local derivatives use node values, which the blank forward pass asks for (∂p/∂z = "
            "p·(1 − p))",
        ),
        (
            ["networks/simple.bp", "--blank", "forward", "--ascii"],
            "the local derivatives use node values, which the blank forward pass asks for (dg/dw2 "
            "= h)",
        ),
        (
            ["networks/simple.bp", "--blank", "chains"],
            "the updates show each gradient, which the blank chains ask for",
        ),
        (
            ["networks/simple.bp", "--blank", "updates", "--steps", "2"],
            "from step 2 on, the values shown come from the params",
        ),
    ],
)
def test_a_worksheet_that_gives_its_answers_away_is_warned_of(args, says):
    result = invoke("run", str(ROOT / args[0]), "--format", "markdown", *args[1:])
    assert (
        result.exit_code == 0
        and f"bptrace: warning: the worksheet gives answers away: {says}" in result.stderr
    )


@pytest.mark.parametrize(
    "args",
    [
        ["networks/simple.bp", "--blank", "forward,partials"],
        ["networks/two_layer.bp", "--blank", "chains,updates"],
        ["networks/simple.bp", "--blank", "updates"],
    ],
)
def test_the_documented_worksheets_give_nothing_away(args):
    assert (
        "warning"
        not in invoke("run", str(ROOT / args[0]), "--format", "markdown", *args[1:]).stderr
    )
