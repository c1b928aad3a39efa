"""Start-up: a command imports only what it needs (docs/performance.md has the figures)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT

PROBE = """
import sys
from bptrace.cli import main
sys.argv = ["bptrace", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print("numpy" in sys.modules, "bptrace.check" in sys.modules, file=sys.stderr)
"""


def loaded(*args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stderr.split()[-2:]


@pytest.mark.parametrize("args", [
    ["run", "networks/simple.bp", "--steps", "5"],
    ["run", "networks/two_layer.bp", "--steps", "3", "--focus", "w1"],
    ["run", "networks/fanout.bp", "--format", "markdown"],
    ["--version"],
])
def test_a_network_of_plain_numbers_runs_without_loading_numpy(args):
    assert loaded(*args) == ["False", "False"]


def test_samples_load_numpy_when_they_are_read():
    assert loaded("run", "networks/xor.bp", "--steps", "2")[0] == "True"
