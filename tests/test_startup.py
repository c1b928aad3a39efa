"""Start-up: a command imports only what it needs (docs/performance.md has the figures)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

PROBE = """
import sys
from bptrace.cli.app import main
sys.argv = ["bptrace", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
loaded = ("numpy", "bptrace.engine.check", "ctypes")
print(*(name in sys.modules for name in loaded), file=sys.stderr)
"""


def loaded(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stderr.split()[-3:]


@pytest.mark.parametrize(
    "args",
    [
        ["run", "networks/simple.bp", "--steps", "5"],
        ["run", "networks/two_layer.bp", "--steps", "3", "--focus", "w1"],
        ["run", "networks/fanout.bp", "--format", "markdown"],
        ["--version"],
    ],
)
def test_a_network_of_plain_numbers_runs_without_loading_numpy(args):
    # numpy, `check`, and ctypes (see process.keep_freed_memory)
    assert loaded(*args) == [
        "False",
        "False",
        "False",
    ]


def test_samples_load_numpy_when_they_are_read():
    assert loaded("run", "networks/xor.bp", "--steps", "2")[0] == "True"


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's malloc is set only on Linux")
def test_samples_keep_freed_memory_for_the_next_step():
    import os

    glibc = (
        bool(os.confstr("CS_GNU_LIBC_VERSION"))
        if "CS_GNU_LIBC_VERSION" in os.confstr_names
        else False
    )
    # mallopt is called through ctypes
    assert loaded("run", "networks/xor.bp", "--steps", "2")[2] == str(glibc)


def test_keeping_freed_memory_is_nothing_without_glibc(monkeypatch):
    import ctypes
    import os

    from bptrace.cli import process

    def no_glibc(name):
        raise ValueError(name)

    def untouched(*args):
        raise AssertionError("the allocator was set")

    monkeypatch.setattr(os, "confstr", no_glibc)
    monkeypatch.setattr(ctypes, "CDLL", untouched)
    process.keep_freed_memory()


@pytest.mark.parametrize(
    "args",
    [
        ["graph", "networks/simple.bp"],
        ["run", "networks/simple.bp", "--json"],
        ["check", "networks/simple.bp"],
        ["nudge", "networks/simple.bp", "w1"],
    ],
)
def test_every_command_on_plain_numbers_runs_without_loading_numpy(args):
    assert loaded(*args)[0] == "False"


def test_a_network_without_layers_does_not_load_their_expansion():
    probe = PROBE.replace(
        'loaded = ("numpy", "bptrace.engine.check", "ctypes")',
        'loaded = ("bptrace.language.layers", "bptrace.language.shapes", '
        '"bptrace.language.patterns", "bptrace.engine.explain_layers", "bptrace.views.matrices")',
    )
    args = ["run", "networks/simple.bp", "--steps", "1"]
    done = subprocess.run(
        [sys.executable, "-c", probe, *args], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stderr.split()[-5:] == ["False"] * 5
    with_layers = ["run", "networks/layers.bp", "--steps", "1"]
    done = subprocess.run(
        [sys.executable, "-c", probe, *with_layers], cwd=ROOT, capture_output=True, text=True
    )
    assert done.stderr.split()[-5:-3] == ["True", "True"]  # the expansion and its shapes


def test_run_loads_no_more_of_the_api_than_it_trains_with():
    # `bptrace run` goes through bptrace.api: it needs the network and its run, not the answers
    # of check and explain (dataclasses: 3 ms of start-up), nudge or grading.
    probe = (
        "import sys\nfrom bptrace.cli.app import main\n"
        "sys.argv = ['bptrace', 'run', 'networks/simple.bp', '-q']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('bptrace.api')), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = done.stderr.splitlines()[-1]
    for unneeded in ("bptrace.api.answers", "bptrace.api.grading", "bptrace.api.comparing"):
        assert f"'{unneeded}'" not in loaded
    assert "'bptrace.api.network'" in loaded
