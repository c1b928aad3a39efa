"""The public Python API: read a network, run it, check it, explain it (docs/api.md).

The names `bptrace.__all__` lists are public and follow semantic versioning; every module,
these included, is private. Pure: it prints nothing and never exits. A mistake in a network is
raised as NetworkError, which carries file:line:col; a file that cannot be read as FileError; a
run whose numbers stop being finite as NumericFault.
"""

from bptrace.api.answers import (
    Chain,
    CheckedGrad,
    CheckedPartial,
    CheckedStep,
    Explanation,
    Partial,
)
from bptrace.api.network import Network, load, parse
from bptrace.api.problems import NetworkError, NetworkWarning
from bptrace.api.reading import FileError
from bptrace.api.records import Run, StepRecord, Trace
from bptrace.errors import BptraceError, NumericFault

__all__ = [
    "BptraceError",
    "Chain",
    "CheckedGrad",
    "CheckedPartial",
    "CheckedStep",
    "Explanation",
    "FileError",
    "Network",
    "NetworkError",
    "NetworkWarning",
    "Nudge",
    "NudgeReport",
    "NumericFault",
    "Partial",
    "Run",
    "StepRecord",
    "Trace",
    "grade",
    "load",
    "parse",
]


def __getattr__(name: str):
    # loaded on first use: `bptrace run` needs neither nudge's records nor grading
    if name in ("Nudge", "NudgeReport"):
        from bptrace.engine import nudge

        return getattr(nudge, name)
    if name == "grade":  # grading's views too
        from bptrace.api.grading import grade

        return grade
    raise AttributeError(f"module 'bptrace.api' has no attribute {name!r}")
