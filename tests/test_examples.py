"""The built-in examples: shipped inside the package as copies of networks/, run by a bare name
(`bptrace run simple`), listed and copied by `bptrace examples`, and there after `pip install .`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from bptrace import examples
from bptrace.cli import options
from bptrace.cli.app import app

SHIPPED = ROOT / "bptrace" / "examples"
NETWORKS = ROOT / "networks"
ENV = {"COLUMNS": "80", "NO_COLOR": "1", "FORCE_COLOR": None, "TERM": "dumb"}
# simple.bp by hand: h = 2·0.5 + 0.1 = 1.1, g = 1.1·(−0.3) + 0.2 = −0.13,
# L = ½·(1 − (−0.13))² = ½·1.2769 = 0.63845, shown to 4 digits.
SIMPLE_LOSS = "0.6385"


def invoke(*args):
    return CliRunner(env=ENV).invoke(app, [str(a) for a in args], prog_name="bptrace")


def note(name: str, given: str | None = None) -> str:
    return (
        f"bptrace: no file '{given or name}'; using the built-in example {name}.bp "
        f"(bptrace examples --copy {name} to edit it)\n"
    )


@pytest.fixture
def empty(tmp_path, monkeypatch) -> Path:
    """An empty current folder, as a `pip install` user has: no networks/ in it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- the shipped copies ---------------------------------------------------------------------


def test_the_shipped_examples_are_byte_identical_to_networks():
    shipped = {p.name for p in SHIPPED.iterdir() if p.suffix in (".bp", ".csv")}
    in_repo = {p.name for p in NETWORKS.iterdir() if p.suffix in (".bp", ".csv")}
    assert shipped == in_repo, "copy the file into bptrace/examples/ (or remove it from both)"
    for name in sorted(shipped):
        assert (SHIPPED / name).read_bytes() == (NETWORKS / name).read_bytes(), (
            f"bptrace/examples/{name} differs from networks/{name}: copy one over the other"
        )


def test_every_shipped_network_is_listed_once_and_its_data_is_shipped():
    assert sorted(examples.NAMES) == sorted(p.stem for p in SHIPPED.glob("*.bp"))
    assert len(set(examples.NAMES)) == len(examples.NAMES)
    for name, data in examples.DATA.items():
        assert name in examples.NAMES
        for csv in data:
            assert (SHIPPED / csv).is_file()
            assert csv in examples.text(name)  # its comments say it trains on it


def test_the_package_data_names_the_shipped_files():
    pyproject = (ROOT / "pyproject.toml").read_text("utf-8")
    assert re.search(r'^"bptrace\.examples" = \["\*\.bp", "\*\.csv"\]', pyproject, re.M)


@pytest.mark.parametrize("name", examples.NAMES)
def test_each_example_has_a_one_line_description_from_its_opening_comment(name):
    said = examples.description(name)
    assert said and "\n" not in said and not said.startswith(("#", "networks/"))
    first = (NETWORKS / f"{name}.bp").read_text("utf-8").split("\n", 1)[0]
    assert first.startswith(f"# networks/{name}.bp — ")
    assert said.startswith(first.removeprefix(f"# networks/{name}.bp — ").rstrip(".:")[:30])


def test_a_description_by_hand():
    assert (
        examples.description("simple")
        == "the handout's first network: one hidden node, no activation"
    )
    assert examples.description("two_layer") == (
        'the handout\'s "more complicated network": two inputs, a hidden layer of two sigmoid '
        "units, one linear output, squared-error loss"
    )


# --- a bare name for FILE -------------------------------------------------------------------


@pytest.mark.parametrize("given", ["simple", "simple.bp"])
def test_run_with_a_bare_example_name_runs_the_built_in_one_and_says_so(empty, given):
    result = invoke("run", given, "--quiet")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == note("simple", given)
    assert SIMPLE_LOSS in result.stdout
    assert list(empty.iterdir()) == []  # nothing written


def test_the_built_in_runs_as_its_file_does(empty):
    built_in = invoke("run", "simple", "--steps", "3")
    from_file = invoke("run", NETWORKS / "simple.bp", "--steps", "3")
    assert built_in.stdout == from_file.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["explain", "simple"],
        ["graph", "simple"],
        ["nudge", "simple", "w1"],
        ["check", "simple"],
        ["compare", "simple", "--vs", "half=false"],
        ["mistakes", "simple"],
        ["present", "simple"],
        ["plot", "simple", "-o", "loss.svg", "--steps", "3"],
    ],
    ids=lambda a: a[0],
)
def test_every_command_taking_file_takes_a_built_in_name(empty, args):
    if args[0] == "plot":
        pytest.importorskip("matplotlib")
    result = invoke(*args)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith(note("simple"))
    if args[0] == "present":
        assert (empty / "simple.html").is_file()  # FILE's name with .html, as for simple.bp


def test_grade_network_takes_a_built_in_name(empty):
    made = invoke("run", "simple", "--format", "markdown", "--blank", "updates")
    assert made.exit_code == 0, made.stderr
    (empty / "sheet.md").write_text(made.stdout, "utf-8")
    result = invoke("grade", "sheet.md", "--network", "simple")
    assert note("simple") in result.stderr
    assert "no such file" not in result.stderr
    assert result.exit_code == 0, result.stderr  # blanks left blank are grades, not errors


def test_a_file_of_that_name_wins(empty):
    (empty / "simple").write_text("input x = 3\nparam w = 2\nloss L = x*w\n", "utf-8")
    result = invoke("run", "simple", "--quiet")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert "6" in result.stdout and SIMPLE_LOSS not in result.stdout  # L = 3·2


def test_a_folder_of_that_name_is_not_passed_over(empty):
    (empty / "simple").mkdir()
    result = invoke("run", "simple")
    assert result.exit_code == 3
    assert result.stderr == "bptrace: error: simple: is a directory, not a .bp file\n"


@pytest.mark.parametrize(
    "given, said",
    [
        ("simpel", "simpel: no such file; did you mean 'simple' (a built-in example; "),
        (
            "networks/two_layer.bp",  # the README's path, for a user without networks/
            "networks/two_layer.bp: no such file; for the built-in example, give its name alone: "
            "two_layer (bptrace examples)",
        ),
        ("sub/simple", "sub/simple: no such file; for the built-in example, give its name alone"),
        ("nothing_like_it", "nothing_like_it: no such file\n"),
    ],
)
def test_a_name_that_is_neither_a_file_nor_an_example(empty, given, said):
    result = invoke("run", given)
    assert result.exit_code == 3
    assert result.stderr.startswith(f"bptrace: error: {said}")
    assert "using the built-in" not in result.stderr


def test_a_missing_file_at_a_terminal_suggests_the_examples(monkeypatch):
    monkeypatch.setattr(options, "_at_a_terminal", lambda: True)
    result = invoke("run")
    assert result.exit_code == 2
    said = " ".join(result.stderr.replace("│", " ").split())
    assert "Missing argument 'FILE'" in said
    assert "`bptrace run simple`; `bptrace examples` lists them" in said


def test_a_missing_file_off_a_terminal_is_only_missing(monkeypatch):
    monkeypatch.setattr(options, "_at_a_terminal", lambda: False)
    result = invoke("run")
    assert result.exit_code == 2
    assert "Missing argument 'FILE'" in result.stderr
    assert "bptrace examples" not in result.stderr


# --- bptrace examples -----------------------------------------------------------------------


def test_examples_lists_each_with_one_line():
    result = invoke("examples")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    for name in examples.NAMES:
        (line,) = [line for line in lines if line.split(" ", 1)[0] == name]
        assert examples.description(name) in line
    assert "lecture handout" in result.stdout  # "the handout" explained for a pip user


def test_copy_writes_the_example_here_and_says_so(empty):
    result = invoke("examples", "--copy", "two_layer")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "bptrace: wrote two_layer.bp\n"
    assert [p.name for p in empty.iterdir()] == ["two_layer.bp"]
    assert (empty / "two_layer.bp").read_bytes() == (NETWORKS / "two_layer.bp").read_bytes()
    ran = invoke("run", "two_layer.bp", "--quiet")  # the copy, not the built-in: no note
    assert ran.exit_code == 0 and ran.stderr == ""


def test_copy_writes_the_samples_an_example_trains_on(empty):
    result = invoke("examples", "--copy", "mnist_like.bp")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "bptrace: wrote mnist_like.bp\nbptrace: wrote digits.csv\n"
    assert (empty / "digits.csv").read_bytes() == (NETWORKS / "digits.csv").read_bytes()


def test_copy_refuses_to_overwrite_and_force_replaces(empty):
    (empty / "digits.csv").write_text("mine\n", "utf-8")
    result = invoke("examples", "--copy", "mnist_like")
    assert result.exit_code == 3
    assert result.stderr == (
        "bptrace: error: digits.csv exists already; bptrace leaves it as it is "
        "(--force replaces it)\n"
    )
    assert [p.name for p in empty.iterdir()] == ["digits.csv"]  # nothing written, not even .bp
    assert (empty / "digits.csv").read_text("utf-8") == "mine\n"
    forced = invoke("examples", "--copy", "mnist_like", "--force")
    assert forced.exit_code == 0, forced.stderr
    assert (empty / "digits.csv").read_bytes() == (NETWORKS / "digits.csv").read_bytes()


@pytest.mark.parametrize(
    "args, said",
    [
        (["--copy", "two_layr"], "did you mean 'two_layer'?"),
        (["--copy", "nothing"], "no built-in example 'nothing'"),
        (["--force"], "use it with --copy"),
    ],
)
def test_examples_usage_errors(empty, args, said):
    result = invoke("examples", *args)
    assert result.exit_code == 2
    assert said in " ".join(result.stderr.replace("│", " ").split())
    assert list(empty.iterdir()) == []


# --- what --help points at ------------------------------------------------------------------

COMMANDS = [c.name or c.callback.__name__ for c in app.registered_commands]


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_points_at_nothing_a_pip_user_lacks(command):
    result = invoke(*([command] if command else []), "--help")
    assert result.exit_code == 0
    assert "docs/" not in result.stdout and "networks/" not in result.stdout
    assert "handout's" not in result.stdout  # the handout's questions: a pip user has no handout


# --- after `pip install .` ------------------------------------------------------------------


@pytest.mark.install
def test_a_fresh_pip_install_runs_the_built_in_examples(tmp_path):
    """`pip install .` (not editable) into a new venv, then the main job from an empty folder.

    About 15 s (pip builds a wheel and installs typer, rich and numpy from its index);
    `-m "not install"` leaves it out.
    """
    source = tmp_path / "source"  # the package alone: no networks/, no tests/
    shutil.copytree(
        ROOT / "bptrace", source / "bptrace", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    installed = subprocess.run(
        [bindir / "python", "-m", "pip", "install", "--quiet", source],
        capture_output=True,
        text=True,
    )
    assert installed.returncode == 0, installed.stderr
    here = tmp_path / "empty"
    here.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(COLUMNS="80", NO_COLOR="1", TERM="dumb")

    def bptrace(*args):
        return subprocess.run(
            [bindir / "bptrace", *args], cwd=here, env=env, capture_output=True, text=True
        )

    ran = bptrace("run", "simple", "--quiet")
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr == note("simple")
    assert SIMPLE_LOSS in ran.stdout
    listed = bptrace("examples")
    assert listed.returncode == 0, listed.stderr
    assert all(re.search(rf"^{n} ", listed.stdout, re.M) for n in examples.NAMES)
    copied = bptrace("examples", "--copy", "two_layer")
    assert copied.returncode == 0, copied.stderr
    assert (here / "two_layer.bp").read_bytes() == (NETWORKS / "two_layer.bp").read_bytes()
    assert bptrace("run", "two_layer.bp", "--quiet").returncode == 0
    # the API, typed (PEP 561), from the installed package
    probe = (
        "import pathlib, bptrace; "
        "assert (pathlib.Path(bptrace.__file__).parent / 'py.typed').is_file(); "
        "print(bptrace.parse('param w = 3\\nloss L = w^2\\n').run().losses)"
    )
    api = subprocess.run(
        [bindir / "python", "-c", probe], cwd=here, env=env, capture_output=True, text=True
    )
    assert api.returncode == 0, api.stderr
    assert api.stdout == "[9.0]\n"  # L = w² = 3²


def test_the_samples_an_example_trains_on_are_built_in_too(empty):
    result = invoke("run", "mnist_like", "--data", "digits.csv", "--quiet", "--steps", "1")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == note("mnist_like") + (
        "bptrace: no file 'digits.csv'; using the samples built in with the example mnist_like "
        "(bptrace examples --copy mnist_like writes them here)\n"
    )
    with_file = invoke(
        "run", NETWORKS / "mnist_like.bp", "--data", NETWORKS / "digits.csv", "--quiet", "-n", "1"
    )
    assert result.stdout == with_file.stdout


@pytest.mark.parametrize("given", ["digits", "other.csv", "sub/digits.csv"])
def test_other_missing_samples_are_missing(empty, given):
    result = invoke("run", "simple", "--data", given)
    assert result.exit_code == 3
    assert result.stderr.endswith(f"bptrace: error: {given}: no such file\n")


def test_the_top_help_says_a_built_in_name_will_do():
    said = " ".join(invoke("--help").stdout.split())
    assert "try `bptrace run simple`; `bptrace examples` lists them" in said
    assert "examples List the example networks built into bptrace" in said.replace("│", "")
