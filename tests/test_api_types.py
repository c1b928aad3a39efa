"""The public API is typed (PEP 561: bptrace/py.typed): code written against it type-checks under
`mypy --strict`, and a call that cannot be right is caught before it runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import ROOT

CLIENT = """
import bptrace

net: bptrace.Network = bptrace.load("networks/simple.bp")
trace: bptrace.Trace = net.run(steps=2, lr=0.1)
loss: float = trace.losses[0]
record: bptrace.StepRecord = trace[0]
run: bptrace.Run = net.with_seed(1).with_settings(lr=0.2).steps(3)
for step in run:
    print(step["loss"])
end: dict[str, object] | None = run.end
checked: list[bptrace.CheckedStep] = net.check()
ok: bool = checked[0].ok and checked[0].grads[0].status == "ok"
answers: bptrace.Explanation = net.explain()
chains: tuple[bptrace.Chain, ...] = answers.chains
dot: str = net.draw("dot", step=2)
sheet: str = net.handout(blank=["partials"])
document: dict[str, object] = net.compare({"lr": 0.2})
graded: dict[str, object] = bptrace.grade(["ann.csv"], network=net)
try:
    bptrace.parse("loss L = q")
except bptrace.NetworkError as error:
    where: tuple[str, int, int] = (error.file, error.line, error.col)
"""


def mypy(tmp_path: Path, code: str, *options: str) -> subprocess.CompletedProcess[str]:
    client = tmp_path / "client.py"
    client.write_text(textwrap.dedent(code), encoding="utf-8")
    # the package as imported from the source tree; the API's own errors are checked below
    env = {**os.environ, "MYPYPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"), *options, client],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )


def test_code_using_the_api_type_checks_strictly(tmp_path):
    checked = mypy(tmp_path, CLIENT, "--strict", "--follow-imports=silent")
    assert checked.returncode == 0, checked.stdout


def test_a_call_that_cannot_be_right_is_a_type_error(tmp_path):
    wrong = 'import bptrace\nbptrace.load("net.bp").run(steps="2")\n'
    checked = mypy(tmp_path, wrong, "--follow-imports=silent")
    assert checked.returncode == 1
    assert 'Argument "steps" to "run" of "Network" has incompatible type "str"' in checked.stdout


def test_the_api_itself_type_checks(tmp_path):
    command = ["mypy", "--cache-dir", str(tmp_path / "cache"), "--follow-imports=silent"]
    checked = subprocess.run(
        [sys.executable, "-m", *command, "bptrace/api"], capture_output=True, text=True, cwd=ROOT
    )
    assert checked.returncode == 0, checked.stdout


def test_the_package_says_it_is_typed():
    assert (ROOT / "bptrace" / "py.typed").is_file()
