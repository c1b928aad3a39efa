"""Hostile file names in every output that quotes one: LaTeX, Markdown, DOT, Mermaid, SVG and HTML
stay as they should."""

from __future__ import annotations

import html.parser
import os
import re
import shutil
import subprocess
import unicodedata
import xml.etree.ElementTree as ET

import pydot
import pytest
from conftest import ROOT, assert_latex_compiles
from typer.testing import CliRunner

from bptrace.cli.app import app
from bptrace.language.diagnostics import escaped
from bptrace.views import drawing, latex

ENV = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb", "FORCE_COLOR": None}
HOSTILE = [
    "a\n\\immediate\\write18{touch pwned}%.bp",  # a line break, then a command
    "b\r\\input{secrets}.bp",
    "c\n\n\\end{document}.bp",  # a paragraph break ends a \section's argument
    "%$&#_^~|`<b>\"q'.bp",
    "[x](javascript:alert(1)){}();%%`.bp",
    '"\\"\\n.bp',  # a DOT string's quotes, backslashes and escapes
    # every other line break str.splitlines knows
    "d\u2028e\x85f\x0bg\x0ch\x1ci\x1dj\x1ek\u2029.bp",
    "rtl\u202egpj.bp",  # a bidi override
    "θ ﬁ 𝔁 é.bp",
    os.fsdecode(b"bytes\xff\xfe.bp"),  # not UTF-8
]
IDS = [
    "newline-command",
    "return-input",
    "paragraph",
    "specials",
    "markdown-link",
    "dot-quotes",
    "line-separators",
    "bidi",
    "unicode",
    "not-utf-8",
]


def invoke(*args):
    return CliRunner(env=ENV).invoke(app, list(args), prog_name="bptrace")


@pytest.fixture(params=HOSTILE, ids=IDS)
def files(request, tmp_path):
    """Return the same network under a plain name and under a hostile one."""
    source = (ROOT / "networks" / "simple.bp").read_text(encoding="utf-8")
    plain, hostile = tmp_path / "plain.bp", tmp_path / request.param
    for f in (plain, hostile):
        f.write_text(source, encoding="utf-8")
    return plain, hostile


def outputs(args, plain, hostile) -> tuple[list[str], list[str]]:
    """Return the lines two runs write, split where any reader would split them."""
    found = []
    for f in (plain, hostile):
        result = invoke(*[str(f) if a is None else a for a in args])
        assert result.exit_code == 0, result.output
        found.append(result.stdout.splitlines())
    return found[0], found[1]


def differing(plain: list[str], hostile: list[str]) -> list[int]:
    """Return which lines differ: a name may change the line it is on, never how many lines there
    are."""
    assert len(hostile) == len(plain)
    return [i for i, (a, b) in enumerate(zip(plain, hostile)) if a != b]


def test_explain_latex_keeps_the_name_in_its_comment(files):
    plain, hostile = outputs(["explain", None, "--latex"], *files)
    assert differing(plain, hostile) == [0]
    assert hostile[0] == "% bptrace explain " + escaped(str(files[1]))
    assert_latex_compiles("\n".join(hostile))


def test_latex_handouts_set_the_name_as_text(files):
    plain, hostile = outputs(["run", None, "--steps", "1", "-f", "latex"], *files)
    assert [hostile[i] for i in differing(plain, hostile)] == [
        h for h in hostile if h.startswith(r"\section*{")
    ]
    title = next(h for h in hostile if h.startswith(r"\section*{"))[len(r"\section*{") : -1]
    bare = re.sub(
        r"\\(textbackslash|textasciitilde|textasciicircum|textless|textgreater|textbar)\{\}|\\[&%$#_{}]",
        "",
        title,
    )
    assert not set(bare) & set("\\{}$&#^_~%<>|") and bare.isascii() and bare.isprintable(), bare
    if escaped(str(files[1])).isascii():  # (other letters are spelled in ASCII first: θ is theta)
        # a byte that is not UTF-8 too: \xff, as everywhere
        assert latex.text(escaped(str(files[1]))) in title
    assert_latex_compiles("\n".join(hostile))


def test_markdown_handouts_keep_the_name_in_the_heading(files):
    plain, hostile = outputs(["run", None, "--steps", "1", "-f", "markdown"], *files)
    assert differing(plain, hostile) == [0]
    # CommonMark's backslash escapes
    bare = re.sub(r"\\[!-/:-@\[-`{-~]", "", hostile[0].removeprefix("# "))
    assert not set(bare) & set("\\`*_{}[]<>|#$&~") and bare.isprintable(), bare


def test_dot_parses_back_with_the_same_nodes_and_edges(files):
    plain, hostile = outputs(["graph", None, "-f", "dot"], *files)
    assert differing(plain, hostile) == [0]  # the graph's name
    graphs = [pydot.graph_from_dot_data("\n".join(lines)) for lines in (plain, hostile)]
    assert all(len(g) == 1 for g in graphs)
    (a,), (b,) = graphs
    assert [n.get_name() for n in b.get_nodes()] == [n.get_name() for n in a.get_nodes()]
    assert [(e.get_source(), e.get_destination()) for e in b.get_edges()] == [
        (e.get_source(), e.get_destination()) for e in a.get_edges()
    ]


def test_mermaid_never_shows_the_file_name(files):
    plain, hostile = outputs(["graph", None, "-f", "mermaid"], *files)
    assert hostile == plain


@pytest.mark.parametrize("text", HOSTILE + ["∂L/∂h = w₂\nvalue 0.5"], ids=[*IDS, "label"])
def test_a_dot_string_reads_back_as_the_text(text):
    (graph,) = pydot.graph_from_dot_data(f"digraph {{ a [label={drawing._quote(text)}]; }}")
    label = graph.get_node("a")[0].get("label")
    unquoted = re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], label[1:-1])
    assert unquoted == "\n".join(escaped(part) for part in text.split("\n"))


@pytest.mark.parametrize("text", HOSTILE + ["∂L/∂h = w₂\nvalue 0.5"], ids=[*IDS, "label"])
def test_a_mermaid_label_is_quoted_with_no_raw_quote(text):
    label = drawing._mermaid_text(text)
    assert label[0] == label[-1] == '"' and '"' not in label[1:-1]
    inside = label[1:-1].replace("<br>", "")
    assert not set(re.sub(r"#(\w+);", "", inside)) & set("#<>`&") and inside.isprintable()
    assert label.count("<br>") == text.count("\n")


@pytest.mark.parametrize("suffix", [".svg", ".html"])
def test_exports_show_the_name_only_as_text(files, suffix, tmp_path):
    pages = []
    for f in files:
        target = tmp_path / f"{f.stem[:20]}{suffix}".replace("\n", "")
        assert invoke("run", str(f), "--steps", "1", "--export", str(target)).exit_code == 0
        pages.append(target.read_text(encoding="utf-8"))
    if suffix == ".svg":
        root = ET.fromstring(pages[1])  # well-formed XML: no control character made it in
        title = next(
            t
            for t in root.iter("{http://www.w3.org/2000/svg}text")
            if t.get("class", "").endswith("-title")
        )
        assert "".join(title.itertext()).replace("\xa0", " ") == "bptrace run " + escaped(
            str(files[1])
        )
    tags = [Tags(), Tags()]
    for page, found in zip(pages, tags):
        found.feed(page)
    assert tags[1].seen == tags[0].seen  # the same elements and attributes: none came from the name


class Tags(html.parser.HTMLParser):
    """Collect every start tag and its attribute names."""

    def __init__(self):
        super().__init__()
        self.seen = set()

    def handle_starttag(self, tag, attrs):
        self.seen.add((tag, tuple(name for name, _ in attrs)))


@pytest.mark.skipif(not shutil.which("pdflatex"), reason="pdflatex is not installed")
def test_latex_with_a_hostile_name_compiles_without_shell_escape(files, tmp_path):
    fragment = "\n".join(outputs(["explain", None, "--latex"], *files)[1]) + "\n"
    explained = (
        "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n"
        + fragment
        + "\\end{document}\n"
    )
    handout = "\n".join(outputs(["run", None, "--steps", "1", "-f", "latex"], *files)[1]) + "\n"
    for name, document in (("e.tex", explained), ("h.tex", handout)):
        (tmp_path / name).write_text(document, encoding="utf-8")
        run = subprocess.run(
            ["pdflatex", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error", name],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stdout[-2000:]
    assert not (tmp_path / "pwned").exists()


# Names NFKC makes one, which LaTeX would write alike, and é, whose accent LaTeX has no command for
# here.
LOOK_ALIKES = [("x", "𝔁"), ("fi", "ﬁ"), ("K", "𝒦"), ("𝒦", "𝓚"), ("a", "ａ"), ("e", "ℯ"), ("e", "é")]


def shows(latex: str) -> str:
    """Return what a name's LaTeX shows, near enough: \\mathit{fi} and fi both show fi."""
    return re.sub(r"\\math(?:it|rm)|[{}]", "", latex)


@pytest.mark.parametrize("pair", LOOK_ALIKES, ids=["-".join(p) for p in LOOK_ALIKES])
def test_latex_keeps_names_that_look_alike_apart_as_the_terminal_does(pair, tmp_path):
    a, b = pair
    assert unicodedata.normalize("NFKC", a) == unicodedata.normalize("NFKC", b) or b == "é"
    f = tmp_path / "alike.bp"
    f.write_text(f"param {a} = 1\nparam {b} = 2\nloss L = {a}*{b}\n", encoding="utf-8")
    explained = invoke("explain", str(f), "--latex").stdout
    gradient = re.findall(r"\\partial L\}\{\\partial (.+?)\}(?:, \\allowbreak |\\bigr)", explained)
    handout = invoke("run", str(f), "--steps", "1", "-f", "latex").stdout
    leaves = re.findall(
        r"\$(.+?) = [0-9.]+\$",
        next(line for line in handout.splitlines() if line.startswith("params:")),
    )
    for written in (gradient, leaves):
        assert len(written) == 2 and shows(written[0]) != shows(written[1]), written
    assert_latex_compiles(explained)
    assert_latex_compiles(handout)


@pytest.mark.parametrize(
    "text", ["a⑴", "b⒈", "c🄂", "dͺ"], ids=["parenthesized", "full-stop", "comma", "ypogegrammeni"]
)
def test_a_letter_latex_spells_is_spelled_in_letters_and_digits(text):
    written = latex.name(text)
    assert not set(written) & set("()., "), written


def test_visible_writes_each_invisible_character_as_its_escape():
    assert escaped("θ w_1 (a).bp") == "θ w_1 (a).bp"
    assert (
        escaped("a\nb\r\t\x00\x7f\x85\u2028\u2029\u202e\ufeff")
        == r"a\nb\r\t\x00\x7f\x85\u2028\u2029\u202e\ufeff"
    )
    # a file name that is not UTF-8: its bytes
    assert escaped(os.fsdecode(b"z\xff\xfe.bp")) == r"z\xff\xfe.bp"


# Names the language allows that mean something to an output: _ (Markdown emphasis, LaTeX
# subscript), letters LaTeX spells (θ, x̂), look-alikes, a mark on its own (ͅ after a letter) and
# leading underscores.
NAMES_SOURCE = """input _x = 2
target y_ = 1
param θ_1 = 0.5
param x̂ = 0.1
param 𝔁 = -0.3
param ﬁ = 0.2
param aͅ = 0.1
h__ = _x*θ_1 + x̂ + aͅ
g_ = h__*𝔁 + ﬁ
loss L_ = 1/2*(y_ - g_)^2
"""


@pytest.fixture
def names_file(tmp_path):
    f = tmp_path / "names.bp"
    f.write_text(NAMES_SOURCE, encoding="utf-8")
    return str(f)


def test_markdown_tables_keep_their_columns_whatever_the_names(names_file):
    result = invoke("run", names_file, "--steps", "1", "-f", "markdown")
    assert result.exit_code == 0, result.output
    for table in re.findall(r"(?m)(?:^\|.*\n)+", result.stdout):
        rows = [re.split(r"(?<!\\)\|", row) for row in table.splitlines()]
        assert len({len(cells) for cells in rows}) == 1, table
        assert not any(re.search(r"(?<!\\)[_`<>$]", cell) for cells in rows for cell in cells), (
            table
        )


def test_latex_outputs_stay_latex_whatever_the_names(names_file):
    for args in (
        ["run", names_file, "--steps", "1", "-f", "latex"],
        ["explain", names_file, "--latex"],
    ):
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        assert_latex_compiles(result.stdout)


def test_dot_and_mermaid_keep_every_node_whatever_the_names(names_file):
    dot = invoke("graph", names_file, "-f", "dot", "--step", "1").stdout
    (graph,) = pydot.graph_from_dot_data(dot)
    assert len([n for n in graph.get_nodes() if n.get_name() not in ("node", "edge")]) == 10
    assert len(graph.get_edges()) == 9
    mermaid = invoke("graph", names_file, "-f", "mermaid", "--step", "1").stdout
    labels = re.findall(r'\[\[?\(?("[^"]*")\)?\]?\]|\|("[^"]*")\|', mermaid)
    # every label quoted, no quote inside one
    assert len(labels) == 19 and mermaid.count('"') == 2 * 19
